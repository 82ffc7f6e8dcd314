"""Deployment candidates (TP x EP x PP) for one model on one hardware entry, and the memory
check that decides which are feasible at a concurrency.

HBM machines: TP in powers of two inside the scale-up domain (a bare chip id may use up to 8),
EP in {1, TP} for MoE models, PP in a short ladder of stages. SRAM machines: each stage is one
system (a bare SRAM chip: the smallest TP group that holds the largest layer), PP from the
layer-boundary minimum upward. Stage weights come from the same contiguous layer partition as
:func:`tokenfrontier.placement.deploy`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidInputError
from .footprint import layer_weight_bytes
from .placement import _balanced, pack_layers
from .step import HardwareTerms, ModelTerms

__all__ = ["Candidates", "candidates", "memory_check", "smallest_pipeline"]

Array = NDArray[np.float64]
_HBM_PP = (1, 2, 3, 4, 6, 8, 12, 16)
_BARE_CHIP_TP = 8


@dataclass(frozen=True)
class Candidates:
    tp: Array
    pp: Array
    ep: Array
    stage_weight_bytes: Array

    def __len__(self) -> int:
        return len(self.tp)


def _items(m: ModelTerms) -> Array:
    per_layer, first, last = layer_weight_bytes(m.arch, m.weights)
    items = per_layer.copy()
    items[0] += first
    items[-1] += last
    return items


def _stage_max(items: Array, pp: int) -> float:
    if pp <= 1:
        return float(items.sum())
    if pp > len(items):
        return math.inf
    stages = _balanced(items, pp, float(items.sum()))
    bounds = np.cumsum([0, *stages])
    return max(float(items[a:b].sum()) for a, b in itertools.pairwise(bounds))


def _powers(limit: int) -> list[int]:
    out = [1]
    while out[-1] * 2 <= limit:
        out.append(out[-1] * 2)
    if limit not in out:
        out.append(limit)
    return out


def candidates(
    m: ModelTerms,
    hw: HardwareTerms,
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
    items = _items(m)
    system = hw.system
    chip_cap = hw.capacity_per_chip * hw.profile.memory_utilization
    if system.chip.kind == "sram":
        group = system.chips
        if system.implicit:
            group = max(1, math.ceil(items.max() / chip_cap))
        tps = [tp or group]
        fits = items.max() <= tps[0] * chip_cap
        min_pp = len(pack_layers(items, tps[0] * chip_cap)) if fits else 0
        if pp:
            pps = [pp]
        elif systems:
            pps = [systems * (system.chips // tps[0] if not system.implicit else 1)]
        elif min_pp:
            kv_pp = math.ceil((items.sum() + kv_bytes) / (tps[0] * chip_cap))
            top = min(max(2 * min_pp, kv_pp + 1), len(items))
            pps = list(range(min_pp, max(top, min_pp) + 1))
        else:
            pps = [1]
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
        eps = [ep] if ep else ([1, t] if m.n_experts and t > 1 else [1])
        for e in eps:
            if e > t or t % e:
                raise InvalidInputError(f"ep={e} must divide tp={t} (experts split inside TP)")
            rows += [(t, p, e) for p in pps]
    arr = np.array(rows, dtype=float)
    per_pp = {int(p): _stage_max(items, int(p)) for p in set(arr[:, 1])}
    stage = np.array([per_pp[int(p)] for p in arr[:, 1]])
    return Candidates(arr[:, 0], arr[:, 1], arr[:, 2], stage)


def memory_check(
    m: ModelTerms,
    hw: HardwareTerms,
    cand: Candidates,
    concurrency: Array,
    context: float,
) -> tuple[NDArray[np.bool_], Array, Array]:
    """(feasible, offload fraction, code) per candidate x concurrency.

    code: 0 feasible, 1 weights do not fit, 2 KV does not fit (and no offload room).
    """
    cap = cand.tp * hw.capacity_per_chip * hw.profile.memory_utilization
    free = (cap - cand.stage_weight_bytes)[:, None]
    need = np.asarray(concurrency, dtype=float)[None, :] * m.kv(context) / cand.pp[:, None]
    weights_fit = (free > 0) & np.isfinite(free)
    over = np.maximum(need - np.maximum(free, 0), 0)
    off_room = hw.offload_bytes_per_system * (cand.tp / hw.system.chips)[:, None]
    kv_fit = (over <= 0) | (over <= off_room)
    frac = np.where(need > 0, over / np.maximum(need, 1e-30), 0.0)
    frac = np.where(over <= 0, 0.0, frac)
    code = np.where(~weights_fit, 1, np.where(~kv_fit, 2, 0))
    return code == 0, frac, code


def smallest_pipeline(cand: Candidates, feasible: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Mask keeping, per (tp, ep), only the feasible candidate with the fewest stages.

    ``predict`` uses pipeline stages for capacity only; ``frontier`` sweeps them all.
    """
    keep = np.zeros(len(cand), dtype=bool)
    for t, e in {(t, e) for t, e in zip(cand.tp, cand.ep, strict=True)}:
        idx = np.flatnonzero((cand.tp == t) & (cand.ep == e) & feasible)
        if idx.size:
            keep[idx[np.argmin(cand.pp[idx])]] = True
    return keep
