"""Deployment candidates (TP x EP x DP x PP) for one scenario, and the memory check that decides
which are feasible at a concurrency.

HBM machines: TP in powers of two inside the scale-up domain (a bare chip id may use up to 8),
EP in {1, TP} for MoE models, PP in a short ladder of stages. MoE models add attention
data-parallel groups (DP = EP = TP: every chip one attention rank holding its own sequences' KV,
the routed experts spread over the group); where the scale-up domain is one node of at most 8
chips, also wide-EP groups of 16, 32 and 64 chips whose all-to-alls cross the scale-out network.
Plain TP keeps whole attention heads on a chip: an attention rank's chips must divide the heads.
SRAM machines: each stage is one system (a bare SRAM chip: the smallest TP group that holds the
largest layer), PP from the layer-boundary minimum upward. Stage weights and KV come from the
scenario's layer partition — the same one :func:`tokenfrontier.placement.deploy` uses — and the
memory check applies the scenario's one capacity rule per stage, so ``deploy``, ``predict``,
``frontier`` and the calculator agree on what fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidInputError
from .placement import stage_group
from .scenario import Scenario

__all__ = ["Candidates", "MemoryFit", "candidates", "memory_check", "smallest_pipeline"]

Array = NDArray[np.float64]
_HBM_PP = (1, 2, 3, 4, 6, 8, 12, 16)
_BARE_CHIP_TP = 8
_WIDE_EP = (16, 32, 64)  # multi-node attention-DP groups for one-node scale-up domains
_NODE_DOMAIN = 8


@dataclass(frozen=True)
class Candidates:
    """Arrays of one entry per candidate deployment."""

    tp: Array
    pp: Array
    ep: Array
    stage_weight_bytes: Array  # the largest stage's weights
    dp: Array | None = None  # attention data-parallel ranks per stage group (None: all 1)

    def __post_init__(self) -> None:
        if self.dp is None:
            object.__setattr__(self, "dp", np.ones_like(self.tp))

    def __len__(self) -> int:
        return len(self.tp)


@dataclass(frozen=True)
class MemoryFit:
    """The capacity rule applied to candidates x concurrencies.

    ``code``: 0 feasible, 1 weights do not fit, 2 KV does not fit (and no offload room).
    ``max_sequences``: sequences whose KV fits (main memory + offload tier) per candidate.
    """

    ok: NDArray[np.bool_]
    offload_fraction: Array
    code: NDArray[np.int_]
    max_sequences: Array
    main_sequences: Array


def _powers(limit: int) -> list[int]:
    out = [1]
    while out[-1] * 2 <= limit:
        out.append(out[-1] * 2)
    if limit not in out:
        out.append(limit)
    return out


def _sram_pipeline(
    scen: Scenario, group: int, pp: int | None, systems: int | None, kv_bytes: float
) -> list[int]:
    cap = group * scen.capacity_per_chip
    min_pp = scen.min_stages(cap)
    system = scen.system
    if pp:
        return [pp]
    if systems:
        return [systems * (system.chips // group if not system.implicit else 1)]
    if not min_pp:
        return [1]
    kv_pp = math.ceil((scen.layer_bytes.sum() + kv_bytes) / cap)
    top = min(max(2 * min_pp, 2 * kv_pp), scen.n_items)
    return list(range(min_pp, max(top, min_pp) + 1))


def candidates(
    scen: Scenario,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    systems: int | None = None,
    kv_bytes: float = 0.0,
    dp: int | None = None,
) -> Candidates:
    """All (tp, pp, ep, dp) to consider; explicit values pin that axis.

    ``kv_bytes`` (KV of every concurrent sequence) extends an SRAM machine's stage range far
    enough to hold it in SRAM rather than an offload tier. ``dp`` > 1 (attention data-parallel)
    needs a MoE model and puts the experts over the whole group (EP = TP).
    """
    system = scen.system
    moe = bool(scen.model.n_experts)
    if dp is not None and (isinstance(dp, bool) or int(dp) != dp or dp < 1):
        raise InvalidInputError(f"dp must be a whole number >= 1 (attention data-parallel ranks), got {dp}")
    if dp is not None and dp > 1 and not moe:
        raise InvalidInputError(
            f"dp={dp}: attention data-parallel shards a MoE model's experts over the group; "
            f"{scen.arch.id} is dense (serve more replicas instead)"
        )
    if scen.sram:
        if dp is not None and dp > 1:
            raise InvalidInputError(f"dp={dp}: attention data-parallel is modelled on HBM machines only")
        group = tp or stage_group(scen)
        tps, pps = [group], _sram_pipeline(scen, group, pp, systems, kv_bytes)
    else:
        domain = system.scale_up_domain_chips if not system.implicit else _BARE_CHIP_TP
        tps = [tp] if tp else _powers(domain)
        if not tp and moe and not system.implicit and domain <= _NODE_DOMAIN:
            tps += list(_WIDE_EP)  # wide EP across nodes (attention DP only, below)
        if systems and not pp:
            pps = [max(1, systems * system.chips // (tp or system.chips))]
            tps = [tp or system.chips]
        else:
            pps = [pp] if pp else list(_HBM_PP)
    rows = []
    for t in tps:
        for e, d in _layouts(scen, t, ep, dp, explicit=bool(tp or systems), heads=not systems):
            rows += [(t, p, e, d) for p in pps]
    if not rows:
        raise InvalidInputError(
            f"no deployment of {scen.arch.id} on {system.id} with dp={dp}: dp must divide tp "
            "(attention ranks of tp / dp chips)"
        )
    arr = np.array(rows, dtype=float)
    per_pp = {p: _stage_max(scen, int(p)) for p in set(arr[:, 1])}
    stage = np.array([per_pp[p] for p in arr[:, 1]])
    return Candidates(arr[:, 0], arr[:, 1], arr[:, 2], stage, arr[:, 3])


def _layouts(
    scen: Scenario, t: int, ep: int | None, dp: int | None, explicit: bool, heads: bool = True
) -> list[tuple[int, int]]:
    """(ep, dp) pairs for a stage group of ``t`` chips: plain TP (dp = 1) inside the scale-up
    domain, and attention DP (dp = ep = t) for MoE models, the only layout beyond the domain.
    A pinned ``tp`` with no layout left raises the first reason. ``heads``: an attention rank
    must hold whole heads (off for ``systems=``: a whole system per stage, heads split unevenly
    with padding, as the placement that counts systems assumes)."""
    moe = bool(scen.model.n_experts)
    n_heads = scen.model.n_heads if heads else 0
    out: list[tuple[int, int]] = []
    why: list[str] = []
    dps = [dp] if dp else ([1, t] if moe and t > 1 and not scen.sram else [1])
    for d in dps:
        if t % d:
            why.append(f"dp={d} must divide tp={t} (attention ranks of tp / dp chips)")
            continue
        ranks = t // d
        if n_heads and not scen.sram and n_heads % ranks:
            why.append(
                f"tp={t} with dp={d}: attention ranks of {ranks} chips must divide "
                f"{scen.arch.id}'s {n_heads} attention heads (each chip holds whole heads); pick a "
                "tp that divides them" + (", or attention data-parallel (--dp)" if moe else "")
            )
            continue
        if d == 1 and t > scen.hw.scale_up_domain and not explicit:
            continue  # plain TP stays inside the scale-up domain
        if d > 1:
            if ep and ep != t:
                why.append(
                    f"ep={ep} with dp={d}: attention data-parallel spreads the experts over the "
                    f"whole group (ep = tp = {t})"
                )
                continue
            out.append((t, d))
            continue
        for e in [ep] if ep else ([1, t] if moe and t > 1 else [1]):
            if e > t or t % e:
                raise InvalidInputError(f"ep={e} must divide tp={t} (experts split inside TP)")
            out.append((e, 1))
    if explicit and not out and why:
        raise InvalidInputError(why[0])
    return out


def _stage_max(scen: Scenario, pp: int) -> float:
    if pp > scen.n_items:
        return math.inf
    return float(scen.stage_weight_bytes(pp).max())


def memory_check(scen: Scenario, cand: Candidates, concurrency: Array, context: float) -> MemoryFit:
    """Apply the capacity rule per pipeline stage to every candidate x concurrency.

    Every stage holds its layers' weights and its layers' share of every in-flight sequence's
    KV at ``context`` tokens; KV that does not fit spills to an offload tier where one exists.
    Per attention rank (tp / dp chips; the whole stage group when dp = 1): the dense weights,
    1/dp of the routed experts, and ceil(C / dp) sequences' KV, each KV byte replicated by
    :meth:`~tokenfrontier.scenario.Scenario.kv_replication`.
    """
    conc = np.asarray(concurrency, dtype=float)
    n = len(cand)
    main_seq = np.zeros(n)
    max_seq = np.zeros(n)
    frac = np.zeros((n, conc.size))
    weights_fit = np.zeros(n, dtype=bool)
    kv_fit = np.zeros((n, conc.size), dtype=bool)
    off_per_system = scen.hw.offload_bytes_per_system
    dp_all = np.asarray(cand.dp, dtype=float)
    for p in np.unique(cand.pp):
        rows = np.flatnonzero(cand.pp == p)
        if p > scen.n_items:
            continue
        w_s = scen.stage_weight_bytes(int(p))  # (stages,)
        e_s = scen.stage_expert_bytes(int(p))  # (stages,)
        kv_s = scen.stage_kv_bytes(int(p), context)  # (stages,)
        dp = dp_all[rows, None]  # (rows, 1)
        ranks = cand.tp[rows, None] / dp
        cap = ranks * scen.capacity_per_chip  # one attention rank (rows, 1)
        # a rank holds the dense weights and 1/dp of the experts (exact w_s when dp = 1)
        free = cap - (w_s[None, :] - e_s[None, :] * (1.0 - 1.0 / dp))  # (rows, stages)
        weights_fit[rows] = (free > 0).all(axis=1)
        off = off_per_system * (ranks / scen.system.chips)  # per stage of one rank
        kv_r = kv_s[None, :] * scen.kv_replication(cand.tp[rows, None], dp)  # (rows, stages)
        holds_kv = kv_r > 0  # a stage with no KV layers (e.g. MTP alone) limits nothing
        safe_kv = np.where(holds_kv, kv_r, 1.0)
        per_rank = np.floor(np.min(np.where(holds_kv, np.maximum(free, 0) / safe_kv, np.inf), axis=1))
        main_seq[rows] = per_rank * dp[:, 0]
        per_rank_off = np.floor(
            np.min(np.where(holds_kv, (np.maximum(free, 0) + off) / safe_kv, np.inf), axis=1)
        )
        max_seq[rows] = per_rank_off * dp[:, 0]
        per = conc[None, None, :] / dp[:, :, None]  # the busiest rank's sequences
        per = np.where(dp[:, :, None] > 1, np.ceil(per), per)
        need = per * kv_r[:, :, None]  # (rows, stages, conc)
        over = np.maximum(need - np.maximum(free, 0)[:, :, None], 0.0)  # (rows, stages, conc)
        kv_fit[rows] = (over <= off[:, :, None] * (1 + 1e-12)).all(axis=1)
        share = np.where(need > 0, over / np.maximum(need, 1e-30), 0.0)
        frac[rows] = share.max(axis=1)
    code = np.where(~weights_fit[:, None], 1, np.where(~kv_fit, 2, 0))
    ok = code == 0
    return MemoryFit(ok, np.where(ok, frac, 0.0), code, max_seq, main_seq)


def smallest_pipeline(cand: Candidates, feasible: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Mask keeping, per (tp, ep, dp), only the feasible candidate with the fewest stages.

    ``feasible`` is one entry per candidate, or candidates x concurrencies (one choice per
    column). ``predict`` uses pipeline stages for capacity only; ``frontier`` sweeps them all.
    """
    feas = np.asarray(feasible, dtype=bool).reshape(len(cand), -1)
    keep = np.zeros(feas.shape, dtype=bool)
    dp = np.asarray(cand.dp)
    for t, e, d in {(t, e, d) for t, e, d in zip(cand.tp, cand.ep, dp, strict=True)}:
        idx = np.flatnonzero((cand.tp == t) & (cand.ep == e) & (dp == d))
        # the first feasible candidate with the fewest stages, per column
        stages = np.where(feas[idx], cand.pp[idx][:, None], np.inf)
        cols = np.flatnonzero(feas[idx].any(axis=0))
        keep[idx[np.argmin(stages, axis=0)[cols]], cols] = True
    return keep.reshape(np.shape(feasible))
