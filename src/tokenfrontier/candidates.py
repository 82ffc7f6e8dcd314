"""Deployment candidates (TP x EP x PP) for one scenario, and the memory check that decides
which are feasible at a concurrency.

HBM machines: TP in powers of two inside the scale-up domain (a bare chip id may use up to 8),
EP in {1, TP} for MoE models, PP in a short ladder of stages. SRAM machines: each stage is one
system (a bare SRAM chip: the smallest TP group that holds the largest layer), PP from the
layer-boundary minimum upward. Stage weights and KV come from the scenario's layer partition —
the same one :func:`tokenfrontier.placement.deploy` uses — and the memory check applies the
scenario's one capacity rule per stage, so ``deploy``, ``predict``, ``frontier`` and the
calculator agree on what fits.
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


@dataclass(frozen=True)
class Candidates:
    """Arrays of one entry per candidate deployment."""

    tp: Array
    pp: Array
    ep: Array
    stage_weight_bytes: Array  # the largest stage's weights

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
) -> Candidates:
    """All (tp, pp, ep) to consider; explicit values pin that axis.

    ``kv_bytes`` (KV of every concurrent sequence) extends an SRAM machine's stage range far
    enough to hold it in SRAM rather than an offload tier.
    """
    system = scen.system
    if scen.sram:
        group = tp or stage_group(scen)
        tps, pps = [group], _sram_pipeline(scen, group, pp, systems, kv_bytes)
    else:
        domain = system.scale_up_domain_chips if not system.implicit else _BARE_CHIP_TP
        tps = [tp] if tp else _powers(domain)
        if systems and not pp:
            pps = [max(1, systems * system.chips // (tp or system.chips))]
            tps = [tp or system.chips]
        else:
            pps = [pp] if pp else list(_HBM_PP)
    rows = []
    for t in tps:
        eps = [ep] if ep else ([1, t] if scen.model.n_experts and t > 1 else [1])
        for e in eps:
            if e > t or t % e:
                raise InvalidInputError(f"ep={e} must divide tp={t} (experts split inside TP)")
            rows += [(t, p, e) for p in pps]
    arr = np.array(rows, dtype=float)
    per_pp = {p: _stage_max(scen, int(p)) for p in set(arr[:, 1])}
    stage = np.array([per_pp[p] for p in arr[:, 1]])
    return Candidates(arr[:, 0], arr[:, 1], arr[:, 2], stage)


def _stage_max(scen: Scenario, pp: int) -> float:
    if pp > scen.n_items:
        return math.inf
    return float(scen.stage_weight_bytes(pp).max())


def memory_check(scen: Scenario, cand: Candidates, concurrency: Array, context: float) -> MemoryFit:
    """Apply the capacity rule per pipeline stage to every candidate x concurrency.

    Every stage holds its layers' weights and its layers' share of every in-flight sequence's
    KV at ``context`` tokens; KV that does not fit spills to an offload tier where one exists.
    """
    conc = np.asarray(concurrency, dtype=float)
    n = len(cand)
    main_seq = np.zeros(n)
    max_seq = np.zeros(n)
    frac = np.zeros((n, conc.size))
    weights_fit = np.zeros(n, dtype=bool)
    kv_fit = np.zeros((n, conc.size), dtype=bool)
    off_per_system = scen.hw.offload_bytes_per_system
    for p in np.unique(cand.pp):
        rows = np.flatnonzero(cand.pp == p)
        if p > scen.n_items:
            continue
        w_s = scen.stage_weight_bytes(int(p))  # (stages,)
        kv_s = scen.stage_kv_bytes(int(p), context)  # (stages,)
        cap = cand.tp[rows, None] * scen.capacity_per_chip  # (rows, 1)
        free = cap - w_s[None, :]  # (rows, stages)
        weights_fit[rows] = (free > 0).all(axis=1)
        off = off_per_system * (cand.tp[rows] / scen.system.chips)[:, None]  # per stage
        holds_kv = (kv_s > 0)[None, :]  # a stage with no KV layers (e.g. MTP alone) limits nothing
        safe_kv = np.where(holds_kv, kv_s[None, :], 1.0)
        main_seq[rows] = np.floor(np.min(np.where(holds_kv, np.maximum(free, 0) / safe_kv, np.inf), axis=1))
        max_seq[rows] = np.floor(
            np.min(np.where(holds_kv, (np.maximum(free, 0) + off) / safe_kv, np.inf), axis=1)
        )
        need = conc[None, None, :] * kv_s[None, :, None]  # (1, stages, conc)
        over = np.maximum(need - np.maximum(free, 0)[:, :, None], 0.0)  # (rows, stages, conc)
        kv_fit[rows] = (over <= off[:, :, None] * (1 + 1e-12)).all(axis=1)
        share = np.where(need > 0, over / np.maximum(need, 1e-30), 0.0)
        frac[rows] = share.max(axis=1)
    code = np.where(~weights_fit[:, None], 1, np.where(~kv_fit, 2, 0))
    ok = code == 0
    return MemoryFit(ok, np.where(ok, frac, 0.0), code, max_seq, main_seq)


def smallest_pipeline(cand: Candidates, feasible: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Mask keeping, per (tp, ep), only the feasible candidate with the fewest stages.

    ``feasible`` is one entry per candidate, or candidates x concurrencies (one choice per
    column). ``predict`` uses pipeline stages for capacity only; ``frontier`` sweeps them all.
    """
    feas = np.asarray(feasible, dtype=bool).reshape(len(cand), -1)
    keep = np.zeros(feas.shape, dtype=bool)
    for t, e in {(t, e) for t, e in zip(cand.tp, cand.ep, strict=True)}:
        idx = np.flatnonzero((cand.tp == t) & (cand.ep == e))
        # the first feasible candidate with the fewest stages, per column
        stages = np.where(feas[idx], cand.pp[idx][:, None], np.inf)
        cols = np.flatnonzero(feas[idx].any(axis=0))
        keep[idx[np.argmin(stages, axis=0)[cols]], cols] = True
    return keep.reshape(np.shape(feasible))
