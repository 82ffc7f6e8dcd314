"""A scenario: one model (weight and KV dtype) on one hardware entry under one efficiency
profile, resolved once and handed to placement, candidates, serving policies and economics.

It holds what every question about that pair needs and nothing re-derives: the normalized
architecture, the per-model step terms (:class:`~tokenfrontier.step.ModelTerms`), the
per-chip hardware terms (:class:`~tokenfrontier.step.HardwareTerms`), the weight bytes of each
placement item (layers; the input embedding rides with the first, LM head, final norm and MTP
with the last), the KV bytes per layer, the layer partitions into pipeline stages (computed
once per stage count), the routed-expert share of each item (attention data-parallel replicates
the rest), the KV replication rule under TP and **one capacity rule**: weights + KV may fill
``chip.memory_fraction`` of each chip's main memory (``usable_memory_fraction`` in the chip's
catalog entry). Scenarios are cached: building the same one twice returns the same object.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arch import ModelArch
from .footprint import kv_bytes_per_layer, layer_weight_bytes
from .profiles import Profile, resolve_profile
from .specs import System
from .step import HardwareTerms, ModelTerms, expert_bytes_of, kv_replication

__all__ = ["Scenario", "balanced_stages", "build_scenario", "pack_layers"]

Array = NDArray[np.float64]
_CACHE: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_CACHE_LIMIT = 512


def pack_layers(items: Array, capacity: float) -> list[int]:
    """Greedy contiguous packing; returns stage sizes (item counts). Optimal stage count.

    An item larger than ``capacity`` gets a stage of its own.
    """
    csum = np.concatenate([[0.0], np.cumsum(items)])
    n, start, stages = len(items), 0, []
    while start < n:
        end = int(np.searchsorted(csum, csum[start] + capacity * (1 + 1e-12), side="right")) - 1
        end = min(max(end, start + 1), n)
        stages.append(end - start)
        start = end
    return stages


def balanced_stages(items: Array, n: int) -> list[int]:
    """Contiguous partition into at most ``n`` stages minimising the largest stage."""
    lo, hi = float(items.max()), float(items.sum())
    while hi - lo > 1e-9 * hi:  # the largest stage to a relative 1e-9
        mid = 0.5 * (lo + hi)
        if len(pack_layers(items, mid)) <= n:
            hi = mid
        else:
            lo = mid
    stages = pack_layers(items, hi)
    # greedy packing may use fewer stages than asked: split the heaviest multi-item stages
    # (this never raises the largest stage) so n systems really hold n stages
    while len(stages) < min(n, len(items)):
        bounds = np.cumsum([0, *stages])
        sizes = [items[a:b].sum() if b - a > 1 else -1.0 for a, b in itertools.pairwise(bounds)]
        k = int(np.argmax(sizes))
        half = stages[k] // 2
        stages[k : k + 1] = [stages[k] - half, half]
    return stages


@dataclass(frozen=True, eq=False)
class Scenario:
    """One model x hardware x profile, resolved. Bytes, seconds, FLOP/s."""

    arch: ModelArch
    system: System
    model: ModelTerms
    hw: HardwareTerms
    layer_bytes: Array  # weight bytes per placement item (main layers, then MTP layers)
    layer_expert_bytes: Array  # routed-expert bytes of each item (the rest is dense)
    _stages: dict[Any, Any] = field(default_factory=dict, repr=False)  # partitions, KV per layer

    # -- identity -----------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self.hw.profile

    @property
    def weights(self) -> str:
        return self.model.weights

    @property
    def kv_dtype(self) -> str:
        return self.model.kv_dtype

    @property
    def sram(self) -> bool:
        return self.hw.sram

    # -- the capacity rule --------------------------------------------------------------
    @property
    def memory_fraction(self) -> float:
        """Share of each chip's main memory that weights + KV may fill."""
        return self.system.chip.memory_fraction

    @property
    def capacity_per_chip(self) -> float:
        """Bytes of one chip's main memory that weights + KV may fill."""
        return self.system.chip.usable_memory_bytes

    def capacity_rule(self) -> str:
        chip = self.system.chip
        stated = "catalog" if chip.usable_memory_fraction is not None else f"default for {chip.kind}"
        return (
            f"weights + KV may fill {self.memory_fraction:.0%} ({stated}) of each "
            f"{chip.id} {chip.main_memory.name}: {self.capacity_per_chip / 1e9:.2f} GB of "
            f"{chip.main_memory.usable_bytes / 1e9:.2f} GB per chip"
        )

    def kv_replication(self, tp: ArrayLike, dp: ArrayLike = 1.0) -> Array:
        """Copies of each KV byte in an attention rank of ``tp / dp`` chips (KV shards by KV
        heads only: ranks / min(ranks, KV heads); MLA: every rank holds the whole latent)."""
        if self.sram:  # a chip group for capacity: KV spread by tokens, not heads
            return np.ones(np.broadcast_shapes(np.shape(tp), np.shape(dp)))
        return kv_replication(self.model, tp, dp)

    def kv_rule(self) -> str:
        """The KV replication rule in words."""
        if self.sram:
            return "KV is not replicated: an SRAM stage group spreads a layer's KV over its chips"
        kvh = self.model.kv_heads
        what = "one shared latent (MLA)" if kvh == 1 else f"{kvh} KV heads" if kvh else "KV heads"
        return (
            f"KV shards by KV heads only: {self.arch.id} has {what}, so an attention rank of r "
            f"chips keeps r / min(r, {kvh or 'heads'}) copies of every KV byte (per-chip KV = "
            "its rank's sequences' KV / min(r, KV heads)); attention data-parallel (dp ranks of "
            "tp / dp chips) gives each rank only its own batch / dp sequences' KV"
        )

    # -- weights and KV per layer ------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.layer_bytes)

    def kv_layer_bytes(self, context: float, full_attention: bool = False) -> Array:
        """KV bytes of one sequence at ``context`` per placement item (MTP layers hold none)."""
        key = ("kv", float(context), full_attention, self.kv_dtype)
        if key not in self._stages:
            out = np.zeros(self.n_items)
            n_main = len(self.arch.main_layers)
            out[:n_main] = kv_bytes_per_layer(self.arch, float(context), self.kv_dtype, full_attention)
            self._stages[key] = out
        return self._stages[key]  # type: ignore[no-any-return]

    def kv_bytes(self, context: ArrayLike) -> Array:
        """KV bytes of one sequence at ``context`` tokens (windows honored)."""
        return self.model.kv(context)

    # -- pipeline stages ---------------------------------------------------------------
    def stages(self, n: int) -> tuple[int, ...]:
        """Items per stage of the balanced contiguous partition into ``n`` stages (cached)."""
        n = int(n)
        if n not in self._stages:
            if n <= 1:
                self._stages[n] = (self.n_items,)
            else:
                self._stages[n] = tuple(balanced_stages(self.layer_bytes, min(n, self.n_items)))
        return self._stages[n]

    def _bounds(self, n: int) -> Array:
        return np.cumsum([0, *self.stages(n)])

    def stage_weight_bytes(self, n: int) -> Array:
        """Weight bytes of each of the ``n`` stages (cached)."""
        key = ("weights", int(n))
        if key not in self._stages:
            csum = np.concatenate([[0.0], np.cumsum(self.layer_bytes)])
            self._stages[key] = np.diff(csum[self._bounds(n)])
        return self._stages[key]  # type: ignore[no-any-return]

    def stage_expert_bytes(self, n: int) -> Array:
        """Routed-expert weight bytes of each of the ``n`` stages (cached)."""
        key = ("experts", int(n))
        if key not in self._stages:
            csum = np.concatenate([[0.0], np.cumsum(self.layer_expert_bytes)])
            self._stages[key] = np.diff(csum[self._bounds(n)])
        return self._stages[key]  # type: ignore[no-any-return]

    def stage_kv_bytes(self, n: int, context: float, full_attention: bool = False) -> Array:
        """KV bytes of one sequence at ``context`` held by each of the ``n`` stages."""
        csum = np.concatenate([[0.0], np.cumsum(self.kv_layer_bytes(context, full_attention))])
        return np.diff(csum[self._bounds(n)])

    def min_stages(self, stage_capacity: float) -> int:
        """Fewest contiguous stages of ``stage_capacity`` bytes that hold the weights; 0 if a
        single item is larger than a stage."""
        key = ("min", float(stage_capacity))
        if key not in self._stages:
            fits = self.layer_bytes.max() <= stage_capacity
            self._stages[key] = len(pack_layers(self.layer_bytes, stage_capacity)) if fits else 0
        return self._stages[key]  # type: ignore[no-any-return]


def _layer_items(arch: ModelArch, weights: str) -> Array:
    per_layer, first, last = layer_weight_bytes(arch, weights)
    items = per_layer.copy()
    items[0] += first
    items[-1] += last
    return items


def _cached(key: tuple[Any, ...], keep: tuple[Any, ...], make: Any) -> Any:
    hit = _CACHE.get(key)
    if hit is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        hit = _CACHE[key] = (*keep, make())  # keep the keyed objects alive while cached
    return hit[-1]


def build_scenario(
    arch: ModelArch,
    system: System,
    *,
    weights: str = "native",
    kv_dtype: str = "bf16",
    activations: str | None = None,
    framework: str | None = None,
    profile: Profile | None = None,
    profiles: dict[str, Profile] | None = None,
) -> Scenario:
    """The scenario for ``arch`` on ``system`` (cached: the same inputs give the same object).

    ``profile`` pins the efficiency profile; otherwise it is resolved for the chip and
    ``framework`` from ``profiles`` (default: the catalog's). Model terms, layer sizes and
    stage partitions are shared by every scenario of the same model and dtypes.
    """
    prof = profile or resolve_profile(system.chip, framework, profiles)
    mkey = ("model", id(arch), weights, kv_dtype, activations)
    m = _cached(mkey, (arch,), lambda: ModelTerms.build(arch, weights, kv_dtype, activations))
    items = _cached(("items", id(arch), weights), (arch,), lambda: _layer_items(arch, weights))
    experts = _cached(
        ("experts", id(arch), weights), (arch,),
        lambda: np.array([expert_bytes_of(arch, layer, weights) for layer in arch.layers]),
    )  # fmt: skip
    stages = _cached(("stages", id(arch), weights), (arch,), dict)

    def make() -> Scenario:
        hw = HardwareTerms.build(system, prof, m)
        return Scenario(arch=arch, system=system, model=m, hw=hw, layer_bytes=items,
                        layer_expert_bytes=experts, _stages=stages)  # fmt: skip

    key = ("scenario", id(arch), id(system), weights, kv_dtype, activations, id(prof))
    return _cached(key, (arch, system, prof), make)  # type: ignore[no-any-return]
