"""``simulate``: one deployment (or identical replicas behind a round-robin router) serving a
request stream, event by event, with step times from the step model.

The deployment is the scenario's (``tp``/``pp``/``ep`` given, or the fastest feasible one the
analytic model picks for the stream's typical request at its peak concurrency); its KV room is
the capacity rule's, per pipeline stage. Requests are routed by chain: a root request goes to
the next replica in turn and everything that follows it (the next turn of its session, the next
request of a closed-loop user) stays on that replica, so its prefix cache can serve it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..candidates import candidates, memory_check
from ..errors import InvalidInputError
from ..predict import predict_one
from ..scenario import Scenario
from ..serving import PrefillPool, SpecDecode, Workload
from ..step import prefill_time, total
from .cache import CacheTier, PrefixCache
from .engine import POLICIES, Emit, EngineConfig, Prepared, RemotePrefill, run_engine
from .steptable import StepTable
from .workload import BLOCK_TOKENS, Source

__all__ = ["Profile", "SimConfig", "profile", "simulate_requests"]

#: Host-DRAM cache tier bandwidth per chip when the caller adds one (PCIe Gen5 x16, one way).
HOST_BYTES_PER_S_PER_CHIP = 64e9


@dataclass(frozen=True)
class SimConfig:
    """How the engines schedule and cache. Tokens, bytes, seconds."""

    policy: str = "chunked-mixed"
    token_budget: int = 8192
    max_seqs: int = 1024
    replicas: int = 1
    prefix_cache: bool = True
    host_cache_bytes: float = 0.0  # an extra host-DRAM tier per replica (GPU servers)
    seed: int = 0
    timeline_points: int = 2000
    admission: str = "reserve"  # "reserve" (the capacity rule) or "on-demand" (vLLM-like)
    preemption: str = "recompute"  # on-demand: "recompute" or "swap" (to host memory)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InvalidInputError(
                f"scheduling policy '{self.policy}' unknown; valid: {', '.join(POLICIES)}"
            )
        if self.token_budget < 1 or self.max_seqs < 1 or self.replicas < 1:
            raise InvalidInputError("token budget, max sequences and replicas must be >= 1")
        if self.admission not in ("reserve", "on-demand"):
            raise InvalidInputError(f"KV admission '{self.admission}' unknown; valid: reserve, on-demand")
        if self.preemption not in ("recompute", "swap"):
            raise InvalidInputError(f"preemption '{self.preemption}' unknown; valid: recompute, swap")
        if not (np.isfinite(self.host_cache_bytes) and self.host_cache_bytes >= 0):
            raise InvalidInputError(f"host cache must be >= 0 bytes, got {self.host_cache_bytes}")


@dataclass(frozen=True)
class Profile:
    """What sizing a run needs from its whole stream, gathered in one pass (bounded memory:
    exact medians from counts per length). Tokens, seconds, bytes."""

    requests: int
    p50_isl: float
    p50_osl: float
    p50_total: float  # median prompt + output
    max_isl: int
    max_total: int
    min_kv_need: float  # KV bytes of the shortest request at its full length
    min_kv_prompt: float
    roots: int
    root_first_s: float
    root_last_s: float
    followers: bool  # some requests follow others (closed loop, sessions)
    delay_sum_s: float
    over_context: int  # requests longer than the model's window
    max_context: int


class _Median:
    """Exact median of non-negative integers from their counts (numpy's definition)."""

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, v: NDArray[np.int64]) -> None:
        c = np.bincount(v, minlength=len(self.counts))
        if len(c) > len(self.counts):
            c[: len(self.counts)] += self.counts
            self.counts = c
        else:
            self.counts += c

    def value(self) -> float:
        cum = np.cumsum(self.counts)
        n = int(cum[-1])
        a = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
        b = int(np.searchsorted(cum, n // 2, side="right"))
        return float(a) if a == b else (float(a) + float(b)) / 2


def profile(scen: Scenario, src: Source, max_context: int) -> Profile:
    """One pass over ``src`` (see :class:`Profile`)."""
    med = [_Median(), _Median(), _Median()]
    n = roots = over = max_isl = max_total = 0
    first, last, delay = math.inf, -math.inf, 0.0
    followers = False
    min_need = min_prompt = math.inf
    for c in src.chunks():
        total = c.isl + c.osl
        for m, v in zip(med, (c.isl, c.osl, total), strict=True):
            m.add(v)
        n += len(c)
        is_root = np.isfinite(c.arrival_s)
        roots += int(is_root.sum())
        followers = followers or not bool(is_root.all())
        if is_root.any():
            first = min(first, float(c.arrival_s[is_root].min()))
            last = max(last, float(c.arrival_s[is_root].max()))
        delay += float(c.delay_s.sum())
        max_isl, max_total = max(max_isl, int(c.isl.max())), max(max_total, int(total.max()))
        over += int((total > max_context).sum())
        min_need = min(min_need, float(np.min(scen.kv_bytes(total.astype(float)))))
        min_prompt = min(min_prompt, float(np.min(scen.kv_bytes(c.isl.astype(float)))))
    if not n:
        raise InvalidInputError("workload: no requests")
    return Profile(n, med[0].value(), med[1].value(), med[2].value(), max_isl, max_total, min_need,
                   min_prompt,
                   roots, first, last, followers, delay, over, max_context)  # fmt: skip


def _deployment(
    scen: Scenario,
    prof: Profile,
    tp: int | None,
    pp: int | None,
    ep: int | None,
    spec: SpecDecode | None,
    dp: int | None = None,
) -> tuple[int, int, int, int]:
    isl, osl = int(prof.p50_isl), int(prof.p50_osl)
    w = Workload(isl, osl)
    conc = max(1, _peak_concurrency(prof))
    p = predict_one(scen, workload=w, concurrency=conc, tp=tp, pp=pp, ep=ep, spec=spec, policy="queued",
                    dp=dp)  # fmt: skip
    rate = _root_rate(prof)
    if rate is not None and p.feasible and not (tp and pp):
        # open loop: requests in flight = arrival rate x request time (Little's law), twice
        for _ in range(2):
            latency = (p.ttft_s or 0.0) + (osl - 1) * (p.tpot_s or 0.0)
            conc = max(1, round(rate * latency) + 1)
            p = predict_one(
                scen, workload=w, concurrency=conc, tp=tp, pp=pp, ep=ep, spec=spec, policy="queued", dp=dp
            )
    if not p.feasible:
        pins = f" at TP{tp} PP{pp}" if (tp or pp) else ""
        raise InvalidInputError(f"simulate: no deployment of {scen.arch.id} on {scen.system.id}{pins} "
                                f"holds one request: {p.explanation}")  # fmt: skip
    d = p.deployment
    return int(d["tp"]), int(d["pp"]), int(d["ep"]), int(d["dp"])


def _root_rate(prof: Profile) -> float | None:
    """Arrival rate of an open loop's requests (None for closed loops and sessions)."""
    if prof.followers:
        return None
    span = prof.root_last_s - prof.root_first_s
    return (prof.roots - 1) / span if span > 0 else None


def _peak_concurrency(prof: Profile) -> int:
    """Requests in flight to size the deployment for: a closed loop's users; otherwise Little's
    law on the roots' arrival rate x how long a chain lasts (its pauses), at least 1."""
    n_roots = prof.roots
    span = prof.root_last_s - prof.root_first_s
    if span <= 0:
        return n_roots  # everyone starts at once: a closed loop
    chain_pause = prof.delay_sum_s / n_roots
    rate = n_roots / span
    busy = max(chain_pause, 1.0)  # at least a second of serving per chain
    return int(max(1, min(n_roots, round(rate * busy))))


def _kv_room(scen: Scenario, tp: int, pp: int, ep: int, context: float, dp: int = 1) -> tuple[float, float]:
    """(main-memory KV bytes, offload-tier KV bytes) of one model copy under the capacity rule,
    counted in whole-sequence KV bytes (per-stage limits folded in)."""
    cand = candidates(scen, tp=tp, pp=pp, ep=ep, dp=dp)
    fit = memory_check(scen, cand, np.array([1.0]), context)
    kv_seq = float(scen.kv_bytes(context))
    main = float(fit.main_sequences[0]) * kv_seq
    total = float(fit.max_sequences[0]) * kv_seq
    if not np.isfinite(main):
        main = total = 1e30
    return main, max(total - main, 0.0)


def _decode_steps(
    osl: NDArray[np.int64], spec: SpecDecode | None, rng: np.random.Generator
) -> NDArray[np.int64]:
    after_first = np.maximum(osl - 1, 0).astype(float)
    if spec is None:
        return after_first.astype(np.int64)
    if spec.acceptance_lengths:
        probs = np.asarray(spec.acceptance_lengths)
        values = 1.0 + np.arange(len(probs))
    else:
        a, k = spec.acceptance, spec.k
        probs = np.array([(a**i) * (1 - a) for i in range(k)] + [a**k])
        values = 1.0 + np.arange(k + 1)
    mean = float((probs * values).sum())
    var = float((probs * values**2).sum()) - mean**2
    # steps to emit n tokens at i.i.d. tokens per step: normal approximation (renewal theorem)
    mu = after_first / mean
    sd = np.sqrt(np.maximum(after_first * var / mean**3, 0.0))
    draw = np.ceil(mu + sd * rng.standard_normal(len(mu)))
    return np.where(
        after_first > 0, np.clip(draw, np.ceil(after_first / values.max()), after_first), 0
    ).astype(np.int64)


def _remote(
    scen: Scenario, pool: PrefillPool, prof: Profile, tp: int, pp: int, workers: int
) -> RemotePrefill:
    pre = pool.scenario
    lens = np.unique(np.geomspace(1.0, float(prof.max_isl) + 1, 64).round())
    latency = total(prefill_time(pre.model, pre.hw, tp=pool.tp, pp=pool.pp, ep=pool.ep, tokens=lens,
                                 dp=pool.dp))  # fmt: skip
    link = min(scen.hw.io * tp * pp, pool.egress_bytes_per_s)
    hop = max(scen.system.hop_latency_s, pre.system.hop_latency_s)
    slots = workers * pool.pp * pool.dp  # each attention rank of a worker prefills its own prompt
    return RemotePrefill(slots, lens, np.asarray(latency, dtype=float), link, hop)


def _prepared(scen: Scenario, src: Source, spec: SpecDecode | None, seed: int, replicas: int,
              replica: int) -> Iterator[Prepared]:  # fmt: skip
    """The stream's chunks with KV sizes and decode steps, marked for ``replica`` (a chain's
    root goes to the next replica in turn; its followers stay with it)."""
    rng = np.random.default_rng(seed)  # the same draws for every replica: the same requests
    prof = scen.hw.profile
    if spec is None and prof.spec_k:  # the profile's own speculation (a vendor API's era)
        spec = SpecDecode(k=prof.spec_k, acceptance=prof.spec_acceptance)
    for c in src.chunks():
        yield Prepared(
            chunk=c,
            kv_need=np.asarray(scen.kv_bytes((c.isl + c.osl).astype(float)), dtype=float),
            kv_prompt=np.asarray(scen.kv_bytes(c.isl.astype(float)), dtype=float),
            decode_steps=_decode_steps(c.osl, spec, rng),
            mine=(c.chain % replicas) == replica,
        )


def simulate_requests(
    scen: Scenario,
    src: Source,
    cfg: SimConfig,
    emit: Emit,
    *,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    spec: SpecDecode | None = None,
    pool: PrefillPool | None = None,
    prefill_workers: int = 1,
    prof: Profile | None = None,
    dp: int | None = None,
) -> tuple[list[tuple[float, int, float, int]], dict[str, float]]:
    """Run every replica in turn over the stream ``src``, handing finished rows to ``emit``;
    returns the timeline (t, running, KV bytes, waiting; replica after replica) and the
    deployment facts. ``prof``: the stream's :func:`profile` when the caller has it.

    With ``pool`` every replica has its own ``prefill_workers`` prefill workers in front of it.
    """
    if prof is None:
        prof = profile(scen, src, 1 << 62)
    # the engine runs one batch per replica: attention data-parallel only when asked for (its
    # prompts then prefill at the group's rate, not on one rank)
    tp_, pp_, ep_, dp_ = _deployment(scen, prof, tp, pp, ep, spec, dp or 1)
    max_ctx = float(prof.max_total)
    typical = float(prof.p50_total)
    main, offload = _kv_room(scen, tp_, pp_, ep_, typical, dp_)
    per_seq_min = prof.min_kv_prompt if cfg.admission == "on-demand" else prof.min_kv_need
    max_b = int(min(cfg.max_seqs, max(1, (main + offload) // max(per_seq_min, 1.0))))
    table = StepTable.build(
        scen, tp=tp_, pp=pp_, ep=ep_, max_batch=max(max_b, 1), max_context=max_ctx, spec=spec, dp=dp_
    )
    k_max = int(max_ctx // BLOCK_TOKENS) + 2
    kv_of_tokens = np.asarray(scen.kv_bytes(np.arange(k_max, dtype=float) * BLOCK_TOKENS), dtype=float)
    systems_per_copy = tp_ * pp_ / scen.system.chips
    link = scen.hw.offload_bandwidth * max(systems_per_copy, 1.0) if scen.hw.offload_bandwidth else 0.0
    points = max(cfg.timeline_points, 1)
    every = max(1, int(2 * prof.requests / points))
    busy = moving = 0.0
    timeline: list[tuple[float, int, float, int]] = []
    for r in range(cfg.replicas):
        use_cache = cfg.prefix_cache and pool is None  # a prefill pool keeps no prefix cache here
        cache = _cache(scen, cfg, main, tp_ * pp_, systems_per_copy) if use_cache else None
        ecfg = EngineConfig(policy=cfg.policy, token_budget=cfg.token_budget, max_seqs=max_b,
                            kv_capacity_bytes=main, offload_capacity_bytes=offload,
                            link_bytes_per_s=link or HOST_BYTES_PER_S_PER_CHIP * tp_ * pp_,
                            admission=cfg.admission, preemption=cfg.preemption)  # fmt: skip
        remote = _remote(scen, pool, prof, tp_, pp_, prefill_workers) if pool is not None else None
        chunks = _prepared(scen, src, spec, cfg.seed, cfg.replicas, r)
        timeline += run_engine(r, chunks, table, ecfg, kv_of_tokens, cache, emit, timeline_every=every,
                               timeline_cap=8 * points, pool=remote)  # fmt: skip
        if remote is not None:
            busy += remote.busy_s
            moving += remote.transfer_s
    prefill_chips = pool.chips_per_worker * prefill_workers if pool is not None else 0
    facts = {"tp": tp_, "pp": pp_, "ep": ep_, "dp": dp_, "chips_per_replica": tp_ * pp_ + prefill_chips,
             "decode_chips_per_replica": tp_ * pp_, "prefill_chips_per_replica": prefill_chips,
             "replicas": cfg.replicas, "kv_main_bytes": main, "kv_offload_bytes": offload, "max_batch": max_b,
             "prefill_busy_s": busy, "kv_transfer_s": moving}  # fmt: skip
    return timeline, facts


def _cache(scen: Scenario, cfg: SimConfig, main: float, chips: int, systems: float) -> PrefixCache:
    tiers = [CacheTier("device", main, float("inf"))]
    if cfg.host_cache_bytes > 0:
        tiers.append(CacheTier("host", cfg.host_cache_bytes, HOST_BYTES_PER_S_PER_CHIP * chips, 5e-6))
    for tier in scen.system.offload:
        scale = max(systems, 1.0)
        tiers.append(CacheTier(tier.name, tier.usable_bytes * scale, tier.bandwidth_bytes_per_s * scale,
                               tier.latency_s))  # fmt: skip
    return PrefixCache(tiers)
