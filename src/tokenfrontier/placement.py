"""Deployment of one model copy on a system: how many systems, which layers where, KV room.

Method (SPEC §4), on a :class:`~tokenfrontier.scenario.Scenario` and its one capacity rule
(weights + KV may fill the chip's ``usable_memory_fraction`` of main memory): weights are
placed strictly on layer boundaries across systems (pipeline stages); inside a system the
chips share each layer (tensor parallel in the scale-up domain). The input embedding rides
with the first stage; LM head, final norm and MTP layers with the last. The minimum system
count is a contiguous bin packing of the layers (weights only), then the layers are
rebalanced over that many systems to minimise the largest stage. What is left in each system
is room for KV cache, each sequence's KV as the system's tensor-parallel group holds it (KV
shards by KV heads only, so a rank of more chips than KV heads keeps copies: MLA's one latent
sits whole on every chip, ``Scenario.kv_replication``, as ``predict`` counts it; an SRAM stage
group spreads KV unreplicated); one sequence's KV moves on/off each system over its own scale-out link
in parallel. When main memory cannot hold one sequence's KV, an offload tier (the CS-3 KVSS)
takes it, at the offload link's bandwidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .arch import ModelArch
from .results import Result
from .scenario import Scenario, build_scenario
from .specs import System

__all__ = ["Deployment", "deploy", "deploy_scenario", "stage_group"]


@dataclass(frozen=True)
class Deployment(Result):
    """One copy of a model on ``systems`` systems. Bytes in bytes, times in seconds."""

    model: str
    hardware: str
    weights_dtype: str
    kv_dtype: str
    context: int
    feasible: bool
    binding_constraint: str
    explanation: str
    min_systems: int
    systems: int
    chips_per_system: int
    layers_per_system: tuple[int, ...]
    weight_bytes_per_system: tuple[float, ...]
    capacity_bytes_per_system: float
    kv_bytes_per_sequence: float
    kv_bytes_per_sequence_per_system: tuple[float, ...]
    free_memory_bytes_per_system: float
    max_concurrent_sequences: int
    kv_tier: str
    offload_max_concurrent_sequences: int | None
    kv_transfer_s: float | None
    offload_read_s: float | None
    notes: tuple[str, ...] = field(default=())

    title = "deployment"

    @property
    def chips(self) -> int:
        return self.systems * self.chips_per_system

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "weights_dtype": self.weights_dtype,
            "kv_dtype": self.kv_dtype,
            "context": self.context,
            "feasible": self.feasible,
            "binding_constraint": self.binding_constraint,
            "explanation": self.explanation,
            "min_systems": self.min_systems,
            "systems": self.systems,
            "chips_per_system": self.chips_per_system,
            "chips": self.chips,
            "layers_per_system": list(self.layers_per_system),
            "weight_bytes_per_system": list(self.weight_bytes_per_system),
            "capacity_bytes_per_system": self.capacity_bytes_per_system,
            "free_memory_bytes_per_system": self.free_memory_bytes_per_system,
            "kv_bytes_per_sequence": self.kv_bytes_per_sequence,
            "kv_bytes_per_sequence_per_system": list(self.kv_bytes_per_sequence_per_system),
            "max_concurrent_sequences": self.max_concurrent_sequences,
            "kv_tier": self.kv_tier,
            "offload_max_concurrent_sequences": self.offload_max_concurrent_sequences,
            "kv_transfer_s": self.kv_transfer_s,
            "offload_read_s": self.offload_read_s,
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        gb = [f"{b / 1e9:.1f}" for b in self.weight_bytes_per_system]
        rows: list[tuple[str, Any]] = [
            ("model", self.model),
            ("hardware", self.hardware),
            ("weights / KV dtype", f"{self.weights_dtype} / {self.kv_dtype}"),
            ("feasible", self.feasible),
            ("binding constraint", self.binding_constraint),
            ("minimum systems", self.min_systems),
            ("systems used", self.systems),
            ("chips per system", self.chips_per_system),
            ("layers per system", _compact(self.layers_per_system)),
            ("weights per system (GB)", _compact(gb)),
            ("free memory, smallest (GB)", round(self.free_memory_bytes_per_system / 1e9, 2)),
            (
                f"KV per sequence @ {self.context:,} (GB)",
                round(self.kv_bytes_per_sequence / 1e9, 3),
            ),
            ("max concurrent sequences", self.max_concurrent_sequences),
            ("KV tier", self.kv_tier),
        ]
        if self.offload_max_concurrent_sequences is not None:
            rows.append(("max sequences in offload tier", self.offload_max_concurrent_sequences))
        if self.kv_transfer_s is not None:
            rows.append(("KV move, one sequence (ms)", round(self.kv_transfer_s * 1e3, 3)))
        if self.offload_read_s is not None:
            rows.append(("KV read from offload (ms)", round(self.offload_read_s * 1e3, 3)))
        rows.append(("why", self.explanation))
        rows += [("note", n) for n in self.notes]
        return rows


def _compact(values: Any) -> str:
    vals = [str(v) for v in values]
    if len(vals) > 8:
        return ", ".join(vals[:3]) + f", ... ({len(vals)} systems), " + vals[-1]
    return ", ".join(vals)


def deploy(
    arch: ModelArch,
    system: System,
    weights: str = "native",
    kv_dtype: str = "bf16",
    context: int = 8192,
    full_attention: bool = False,
    systems: int | None = None,
) -> Deployment:
    """Place one copy of ``arch`` on ``system`` (see module docstring for the method)."""
    scen = build_scenario(arch, system, weights=weights, kv_dtype=kv_dtype)
    return deploy_scenario(scen, context, full_attention, systems)


def stage_group(scen: Scenario) -> int:
    """Chips that share one pipeline stage: the whole system, or for a bare chip too small to
    hold the largest layer, the smallest tensor-parallel group that does."""
    system = scen.system
    if system.implicit and scen.layer_bytes.max() > scen.capacity_per_chip:
        return math.ceil(scen.layer_bytes.max() / scen.capacity_per_chip)
    return system.chips


def deploy_scenario(
    scen: Scenario, context: int = 8192, full_attention: bool = False, systems: int | None = None
) -> Deployment:
    """Place one copy of the scenario's model on its hardware under the one capacity rule."""
    arch, system = scen.arch, scen.system
    items = scen.layer_bytes
    chips_per = stage_group(scen)
    cap = chips_per * scen.capacity_per_chip
    notes: list[str] = []
    if chips_per != system.chips:
        notes.append(f"a layer exceeds one chip; each stage is a group of {chips_per} chips (TP)")
    kv_items = scen.kv_layer_bytes(context, full_attention)
    ctx = dict(
        model=arch.id,
        hardware=system.id,
        weights_dtype=scen.weights,
        kv_dtype=scen.kv_dtype,
        context=int(context),
        chips_per_system=chips_per,
        capacity_bytes_per_system=cap,
        kv_bytes_per_sequence=float(kv_items.sum()),
    )
    if context > arch.max_context:
        notes.append(f"context {context:,} exceeds the model's window of {arch.max_context:,}")
    if items.max() > cap:
        return _infeasible(
            ctx,
            "layer_size",
            f"the largest layer needs {items.max() / 1e9:.1f} GB but one system holds "
            f"{cap / 1e9:.1f} GB ({scen.memory_fraction:.0%} of its memory), and layers are "
            "never split across systems",
            notes,
        )
    min_n = scen.min_stages(cap)
    n = systems or min_n
    if n < min_n:
        return _infeasible(
            ctx,
            "systems",
            f"weights need at least {min_n} systems of {system.id} "
            f"({scen.memory_fraction:.0%} of memory usable); {n} given",
            notes,
            min_n,
        )
    if n > len(items):
        return _infeasible(ctx, "systems", f"{n} systems but only {len(items)} layers to place", notes, min_n)
    if systems is None:  # not pinned: as many systems as it takes to hold one sequence's KV too
        n = _systems_for_one_sequence(scen, n, cap, context, full_attention, chips_per)
        if n > min_n:
            notes.append(f"{n} systems (not the weights' minimum of {min_n}) to hold one sequence's KV")
    stages = scen.stages(n)
    w_sys = [float(w) for w in scen.stage_weight_bytes(n)]
    rep = float(scen.kv_replication(chips_per))  # copies of a KV byte over the stage's TP group
    if rep > 1:
        notes.append(f"KV held {rep:g}x over the TP{chips_per} group of a stage: {scen.kv_rule()}")
    kv_sys = [float(k) * rep for k in scen.stage_kv_bytes(n, context, full_attention)]
    free = [cap - w for w in w_sys]
    fits = [int(f // k) if k > 0 else 10**9 for f, k in zip(free, kv_sys, strict=True)]
    max_seq = min(fits)
    io = system.io_bytes_per_s * (chips_per if system.implicit else 1)
    kv_move = max(kv_sys) / io if io > 0 else None
    off_seq, off_read, tier = None, None, "main"
    if system.offload:
        off_cap = sum(t.usable_bytes for t in system.offload)
        off_bw = min(t.bandwidth_bytes_per_s for t in system.offload)
        off_seq = min(int(off_cap // k) if k > 0 else 10**9 for k in kv_sys)
        off_read = max(kv_sys) / off_bw
    if max_seq < 1 and off_seq:
        tier = system.offload[0].name
    feasible = max_seq >= 1 or bool(off_seq)
    if not feasible:
        need = max(k - f for k, f in zip(kv_sys, free, strict=True))
        binding, why = (
            "kv_capacity",
            f"one sequence's KV at {context:,} tokens needs {max(kv_sys) / 1e9:.2f} GB on the "
            f"busiest system but only {min(free) / 1e9:.2f} GB is free "
            f"(short by {need / 1e9:.2f} GB); add systems or offload KV",
        )
    elif tier != "main":
        binding, why = (
            "kv_capacity",
            f"KV for one sequence does not fit in {system.chip.main_memory.name}; "
            f"it lives in the {tier} tier and crosses a "
            f"{min(t.bandwidth_bytes_per_s for t in system.offload) / 1e9:.0f} GB/s link",
        )
    else:
        binding, why = (
            "weight_capacity",
            f"weights ({sum(w_sys) / 1e9:.1f} GB) need {min_n} system(s) of "
            f"{cap / 1e9:.1f} GB usable ({scen.memory_fraction:.0%}), placed on layer boundaries",
        )
    return Deployment(
        **ctx,  # type: ignore[arg-type]
        feasible=feasible,
        binding_constraint=binding,
        explanation=why,
        min_systems=min_n,
        systems=n,
        layers_per_system=tuple(stages),
        weight_bytes_per_system=tuple(w_sys),
        kv_bytes_per_sequence_per_system=tuple(kv_sys),
        free_memory_bytes_per_system=float(min(free)),
        max_concurrent_sequences=int(min(max_seq, 10**9)),
        kv_tier=tier,
        offload_max_concurrent_sequences=off_seq,
        kv_transfer_s=kv_move,
        offload_read_s=off_read,
        notes=(*notes, f"capacity rule: {scen.capacity_rule()}"),
    )


def _systems_for_one_sequence(
    scen: Scenario, n: int, cap: float, context: int, full_attention: bool, chips_per: int
) -> int:
    """The fewest systems from ``n`` up whose stages hold their weights and one sequence's KV
    (as the stage's TP group replicates it; or ``n`` when none does, or an offload tier takes
    the KV)."""
    if scen.system.offload:
        return n
    rep = float(scen.kv_replication(chips_per))
    for m in range(n, scen.n_items + 1):
        free = cap - scen.stage_weight_bytes(m)
        if (free >= rep * scen.stage_kv_bytes(m, context, full_attention)).all():
            return m
    return n


def _infeasible(ctx: dict[str, Any], binding: str, why: str, notes: list[str], min_n: int = 0) -> Deployment:
    return Deployment(
        **ctx,
        feasible=False,
        binding_constraint=binding,
        explanation=why,
        min_systems=min_n,
        systems=0,
        layers_per_system=(),
        weight_bytes_per_system=(),
        kv_bytes_per_sequence_per_system=(),
        free_memory_bytes_per_system=0.0,
        max_concurrent_sequences=0,
        kv_tier="none",
        offload_max_concurrent_sequences=None,
        kv_transfer_s=None,
        offload_read_s=None,
        notes=tuple(notes),
    )
