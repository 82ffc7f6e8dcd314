"""Disaggregated serving: a prefill pool beside the decode pool, with the KV link between them.

Prefill workers (model copies of ``tp x pp`` chips on their own hardware) prefill prompts and
ship each prompt's KV to a decode copy over the network. A worker with ``pp`` stages has ``pp``
prompts in flight, so it prefills ``pp / W`` prompts per second (``W`` = one prompt's prefill
work on one stage group). The pool either has a given number of workers or is sized to keep up
with the decode pool's demand (``ceil(request rate / worker rate)``). The link between pools is
the slower of the decode pool's ingress (every decode stage receives its layers' share of the KV
over its own scale-out link) and the prefill pool's egress, with the catalog's hop latency.
The k x C requests form a closed population: TTFT adds a G/D/c wait for a prefill worker (the
arrival burstiness is the profile's ``arrival_scv``; batch formation at the worker, in the
worker's fixed per-pass cost, its ``prefill_passes``) until the prefill pool or the link saturates, then
Little's law, so it never rises with more workers or a faster link.
When the prefill pool or the link cannot keep up, they limit throughput and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..scenario import Scenario
from ..step import prefill_time, total

__all__ = ["LIMITS", "RHO_CAP", "PrefillPool", "apply_pool", "erlang_c", "queue_wait"]

Array = NDArray[np.float64]
#: ``limited_by`` codes of a disaggregated deployment
LIMITS = {0: "decode pool", 1: "prefill pool", 2: "KV link between pools"}


@dataclass(frozen=True)
class PrefillPool:
    """Prefill workers for a decode pool of ``decode_workers`` copies."""

    scenario: Scenario
    tp: int
    pp: int
    ep: int = 1
    workers: int | None = None  # None: sized to keep up with the decode pool
    decode_workers: int = 1
    dp: int = 1  # attention data-parallel ranks per worker: dp prompts prefill at once

    @property
    def chips_per_worker(self) -> int:
        return self.tp * self.pp

    @property
    def egress_bytes_per_s(self) -> float:
        """Scale-out bandwidth leaving one prefill worker."""
        return self.scenario.hw.io * self.tp * self.pp

    def prefill_s(self, tokens: float) -> Array:
        """Latency of prefilling one prompt on one worker (seconds; an array with one value per
        profile when the scenario carries a batch of profiles, else 0-d)."""
        scen = self.scenario
        return total(prefill_time(scen.model, scen.hw, tp=self.tp, pp=self.pp, ep=self.ep,
                                  tokens=tokens, dp=self.dp, alone=True))  # fmt: skip

    def prompts_per_s(self, tokens: float) -> Array:
        """Prompts one worker prefills per second with its stages (and attention ranks) busy
        (an array as :meth:`prefill_s`)."""
        scen = self.scenario
        work = total(prefill_time(scen.model, scen.hw, tp=self.tp, pp=1, ep=self.ep, tokens=tokens,
                                  dp=self.dp))  # fmt: skip
        return np.asarray(self.pp * self.dp / work)


def queue_wait(
    service_s: Array | float, rho: Array, arrival_scv: float = 1.0, servers: Array | float = 1.0
) -> Array:
    """Mean wait (seconds) in a queue shared by ``servers`` servers of fixed service time
    ``service_s`` at utilization ``rho``, arrivals with squared coefficient of variation
    ``arrival_scv``: the Allen-Cunneen G/D/c approximation, Erlang C(c, c rho) / (c (1 - rho))
    x service x scv / 2 (:func:`erlang_c`). One server: Kingman's G/D/1, service x rho /
    (1 - rho) x scv / 2 (scv 1 = Poisson arrivals, the exact M/D/1 value)."""
    c = np.asarray(servers, dtype=float)
    rho = np.asarray(rho, dtype=float)
    return erlang_c(c, rho) / (c * (1.0 - rho)) * service_s * arrival_scv / 2.0


def erlang_c(servers: Array, rho: Array) -> Array:
    """Probability that an arrival waits in an M/M/c queue of ``servers`` servers at
    utilization ``rho`` (Erlang C; ``rho`` at one server): from Erlang B's recursion
    B(k) = a B(k-1) / (k + a B(k-1)), a = c rho, then C = B / (1 - rho (1 - B))."""
    c, rho = np.broadcast_arrays(np.asarray(servers, dtype=float), np.asarray(rho, dtype=float))
    a = c * rho
    b = np.ones_like(a)
    for k in range(1, int(np.max(c, initial=1.0)) + 1):
        b = np.where(k <= c, a * b / (k + a * b), b)
    return b / (1.0 - rho * (1.0 - b))


#: Utilization at which the queueing wait stops growing: beyond it the closed loop saturates
#: and Little's law sets TTFT (as in the aggregated model, ``closed_loop``).
RHO_CAP = 0.9


def apply_pool(
    scen: Scenario,
    pool: PrefillPool,
    *,
    tp: Array,
    pp: Array,
    concurrency: Array,
    per_token: Array,
    isl: float,
    osl: float,
    dp: Array | float = 1.0,
    step: Array | float | None = None,
) -> dict[str, Array]:
    """TTFT, request rate and chips of the decode deployments fed by ``pool``.

    TTFT = request overhead + wait for a prefill worker + remote prefill + ``prefill_passes``
    x the worker's one-token pass + KV hand-off + ``handoff_steps`` decode steps (0.5: the
    request joins the decode batch at the next step boundary). ``prefill_passes`` is batch
    formation at the prefill worker (the scheduler's passes a prompt waits through before and
    around its own; from the deployment's profile, like ``arrival_scv``: the request
    simulator has neither), counted in the worker's fixed per-pass cost: its one-token pass
    (weights read, kernel and step overheads), which scales with the model, not the prompt
    length.
    The wait is a G/D/c queue shared by the c prefill workers (a router hands a
    prompt to the first free one; Allen-Cunneen, :func:`queue_wait`, the profile's
    ``arrival_scv``; service = one prompt's share of a worker, 1 / its prompt rate; utilization
    rho = served rate / pool capacity, capped at :data:`RHO_CAP`; never more than the closed
    population allows: every other request in flight ahead, shared by the
    workers, (in flight - 1) / workers x service — one request alone never waits), solved with
    the closed loop's rate (a longer TTFT lowers the rate it sees): the fixed point is found by
    bisection, so TTFT never rises with more workers or a faster link. The hand-off moves one
    prompt's KV from the prefill rank that holds it to the decode attention rank that will hold
    it (``tp / dp`` chips per stage, each receiving its share, KV replicated as the rank stores
    it), the slower of the two ends, plus the hop latency. ``step`` is the decode step (default
    ``per_token``)."""
    kv = float(scen.kv_bytes(isl))
    dp = np.asarray(dp, dtype=float)
    ranks_dec = tp / dp  # chips of one decode attention rank (per stage)
    rep_dec = scen.kv_replication(tp, dp)  # copies of each KV byte inside that rank
    rep_pre = float(pool.scenario.kv_replication(pool.tp, pool.dp))
    ranks_pre = pool.tp / pool.dp
    into = kv * rep_dec / (scen.hw.io * ranks_dec * pp)  # receiving one prompt's KV
    out_of = kv * rep_pre / (pool.scenario.hw.io * ranks_pre * pool.pp)  # sending it
    hop = max(scen.system.hop_latency_s, pool.scenario.system.hop_latency_s)
    move = np.maximum(into, out_of) + hop
    ingress = scen.hw.io * tp * pp / rep_dec  # KV bytes/s one decode copy takes in (all ranks)
    egress = pool.egress_bytes_per_s / rep_pre  # and one prefill worker sends
    remote = np.asarray(pool.prefill_s(isl), dtype=float)
    admit = scen.profile.handoff_steps * (per_token if step is None else np.asarray(step, dtype=float))
    # batch formation at the prefill worker: the profile's passes x the worker's one-token pass
    batching = scen.profile.prefill_passes * np.asarray(pool.prefill_s(1.0), dtype=float)
    ttft0 = remote + batching + move + admit + scen.profile.request_overhead_s
    in_flight = pool.decode_workers * concurrency  # requests cycling through both pools
    think = (osl - 1) * per_token  # time a request spends decoding after its first token
    mu = np.asarray(pool.prompts_per_s(isl), dtype=float)
    kv_rate = pool.decode_workers * ingress / max(kv, 1.0)  # prompts/s the decode side can take in
    if pool.workers is None:  # as many workers as the decode pool (and the link) can use
        demand0 = in_flight / (ttft0 + think)  # requests/s when nothing waits
        workers = np.maximum(np.ceil(np.minimum(demand0, kv_rate) / mu - 1e-9), 1.0)
    else:
        workers = np.full(np.shape(ttft0 + think), float(pool.workers))
    link_capacity = np.minimum(pool.decode_workers * ingress, workers * egress)
    link_rate = link_capacity / max(kv, 1.0)
    capacity = np.minimum(workers * mu, link_rate)  # prompts/s the pool and the link can serve
    service = 1.0 / mu  # one prompt's share of a worker (seconds)
    scv = scen.profile.arrival_scv

    # a closed population: at most every other request in flight is ahead, shared by the workers
    most = np.maximum(in_flight - 1.0, 0.0) / workers * service

    def wait_at(ttft: Array) -> Array:
        rho = np.minimum(in_flight / (ttft + think) / capacity, RHO_CAP)
        return np.minimum(queue_wait(service, rho, scv, workers), most)

    # fixed point ttft = ttft0 + wait(rate(ttft)); the right side falls as ttft grows: bisect
    lo = ttft0 + 0.0 * capacity
    hi = ttft0 + np.minimum(queue_wait(service, np.asarray(RHO_CAP), scv, workers), most)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = mid - ttft0 - wait_at(mid) > 0
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    ttft_q = hi
    demand = in_flight / (ttft_q + think)
    rate = np.minimum(demand, capacity)
    limited = np.where(rate < demand * (1 - 1e-9), np.where(workers * mu <= link_rate, 1, 2), 0)
    # closed population: at saturation the served rate sets TTFT by Little's law (never below
    # the queueing value, never rising with more workers)
    ttft = np.maximum(ttft_q, in_flight / rate - think)
    decode_chips = pool.decode_workers * tp * pp
    prefill_chips = workers * pool.chips_per_worker
    zero = 0.0 * rate
    return {
        "ttft_s": ttft,
        "request_rate": rate,
        "chips": decode_chips + prefill_chips,
        "decode_chips": decode_chips + zero,
        "prefill_chips": prefill_chips,
        "prefill_workers": workers,
        "kv_transfer_s": move + zero,
        "remote_prefill_s": remote + zero,
        "prefill_wait_s": ttft_q - ttft0 + zero,
        "prefill_s": remote + move + zero,
        "link_utilization": rate * kv / link_capacity,
        "prefill_utilization": rate / (workers * mu),
        "limited_by": limited.astype(float),
    }
