"""Disaggregated serving: a prefill pool beside the decode pool, with the KV link between them.

Prefill workers (model copies of ``tp x pp`` chips on their own hardware) prefill prompts and
ship each prompt's KV to a decode copy over the network. A worker with ``pp`` stages has ``pp``
prompts in flight, so it prefills ``pp / W`` prompts per second (``W`` = one prompt's prefill
work on one stage group). The pool either has a given number of workers or is sized to keep up
with the decode pool's demand (``ceil(request rate / worker rate)``). The link between pools is
the slower of the decode pool's ingress (every decode stage receives its layers' share of the KV
over its own scale-out link) and the prefill pool's egress, with the catalog's hop latency.
The k x C requests form a closed population: TTFT is the no-wait value until the prefill pool or
the link saturates, then Little's law (asymptotic bounds), so it never rises with more workers.
When the prefill pool or the link cannot keep up, they limit throughput and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..scenario import Scenario
from ..step import prefill_time, total

__all__ = ["LIMITS", "PrefillPool", "apply_pool"]

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

    def prefill_s(self, tokens: float) -> float:
        """Latency of prefilling one prompt on one worker (seconds)."""
        return float(_prefill_s(self, tokens))

    def prompts_per_s(self, tokens: float) -> float:
        """Prompts one worker prefills per second with its stages (and attention ranks) busy."""
        return float(_prompts_per_s(self, tokens))


def _prefill_s(pool: PrefillPool, tokens: float) -> Array:
    """:meth:`PrefillPool.prefill_s` as an array (one per profile of a batch of profiles)."""
    scen = pool.scenario
    return total(prefill_time(scen.model, scen.hw, tp=pool.tp, pp=pool.pp, ep=pool.ep,
                              tokens=tokens, dp=pool.dp, alone=True))  # fmt: skip


def _prompts_per_s(pool: PrefillPool, tokens: float) -> Array:
    """:meth:`PrefillPool.prompts_per_s` as an array (one per profile of a batch of profiles)."""
    scen = pool.scenario
    work = total(prefill_time(scen.model, scen.hw, tp=pool.tp, pp=1, ep=pool.ep, tokens=tokens,
                              dp=pool.dp))  # fmt: skip
    return np.asarray(pool.pp * pool.dp / work)


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
) -> dict[str, Array]:
    """TTFT, request rate and chips of the decode deployments fed by ``pool``."""
    kv = float(scen.kv_bytes(isl))
    ingress = scen.hw.io * tp * pp  # one decode copy: every stage receives its share
    link = np.minimum(ingress, pool.egress_bytes_per_s)
    hop = max(scen.system.hop_latency_s, pool.scenario.system.hop_latency_s)
    move = kv / link + hop
    remote = _prefill_s(pool, isl)
    ttft0 = remote + move + 0.5 * per_token + scen.profile.request_overhead_s
    in_flight = pool.decode_workers * concurrency  # requests cycling through both pools
    think = (osl - 1) * per_token  # time a request spends decoding after its first token
    demand = in_flight / (ttft0 + think)  # requests/s when nothing waits
    mu = _prompts_per_s(pool, isl)
    kv_rate = pool.decode_workers * ingress / max(kv, 1.0)  # prompts/s the decode side can take in
    if pool.workers is None:  # as many workers as the decode pool (and the link) can use
        workers = np.maximum(np.ceil(np.minimum(demand, kv_rate) / mu - 1e-9), 1.0)
    else:
        workers = np.full(np.shape(demand), float(pool.workers))
    link_capacity = np.minimum(pool.decode_workers * ingress, workers * pool.egress_bytes_per_s)
    link_rate = link_capacity / max(kv, 1.0)
    rate = np.minimum(np.minimum(demand, workers * mu), link_rate)
    limited = np.where(rate < demand * (1 - 1e-9), np.where(workers * mu <= link_rate, 1, 2), 0)
    # closed population (asymptotic bounds): below saturation nothing waits; at saturation the
    # served rate sets TTFT by Little's law. Never below ttft0, never rising with more workers.
    ttft = np.maximum(ttft0, in_flight / rate - think)
    decode_chips = pool.decode_workers * tp * pp
    prefill_chips = workers * pool.chips_per_worker
    return {
        "ttft_s": ttft,
        "request_rate": rate,
        "chips": decode_chips + prefill_chips,
        "decode_chips": decode_chips + 0.0 * rate,
        "prefill_chips": prefill_chips,
        "prefill_workers": workers,
        "kv_transfer_s": move + 0.0 * rate,
        "remote_prefill_s": remote + 0.0 * rate,
        "prefill_s": remote + move + 0.0 * rate,
        "link_utilization": rate * kv / link_capacity,
        "prefill_utilization": rate / (workers * mu),
        "limited_by": limited.astype(float),
    }
