"""The wafer calculator (any hardware, CS-3 by default) and its feasibility phase diagram.

Systems needed for one copy = the fewest systems whose layer-boundary placement (SPEC §4) holds
the weights plus the KV of every concurrent request at ISL + OSL tokens in the *usable* part of
each system's main memory (``usable_fraction`` x capacity). One function, :func:`fit`, answers
both "how many systems" and "does it fit at all" (and, if not, what ran out and by how much)
with that one rule. Interactivity comes from the performance model at that deployment (not a
curve fit); cost per Mtok from the system's TCO with the given $ per system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..arch import Layer, ModelArch
from ..errors import InvalidInputError
from ..footprint import kv_bytes, weight_bytes
from ..placement import Deployment, deploy
from ..results import Result
from ..scenario import build_scenario
from ..specs import DTYPE_BYTES, System
from ..units import check_number

__all__ = [
    "Calculation",
    "Fit",
    "PhaseDiagram",
    "custom_arch",
    "fit",
    "phase_diagram",
    "systems_needed",
    "usable_system",
]

_MAX_SYSTEMS = 100_000


def custom_arch(
    total_params: float,
    active_params: float | None = None,
    layers: int = 80,
    kv_bytes_per_token: float = 327_680.0,
    name: str = "custom",
) -> ModelArch:
    """A model from headline numbers: total/active parameters, layers, KV bytes per token (BF16).

    MoE when active < total: top-8 routing over max(64, 1.25 x 8 x total / active) experts
    (enough that the dense remainder stays positive); attention FLOPs from a hidden size
    estimated as sqrt(active per layer / 12).
    """
    total_params = check_number(total_params, "custom model: total_params", 0, 1e15, lo_open=True)
    layers = int(check_number(layers, "custom model: layers", 1, 10_000, integer=True))
    kv_bytes_per_token = check_number(kv_bytes_per_token, "custom model: kv_bytes_per_token", 0, 1e9)
    active = total_params if active_params is None else active_params
    check_number(active, "custom model: active_params", 0, total_params, lo_open=True)
    per_layer_total, per_layer_active = total_params / layers, active / layers
    hidden = max(int(math.sqrt(per_layer_active / 12)), 64)
    k = 8 if active < total_params else 0
    n_exp = max(64, math.ceil(1.25 * k * total_params / active)) if k else 0
    expert = (per_layer_total - per_layer_active) / (n_exp - k) if n_exp else 0.0
    dense = per_layer_total - expert * n_exp
    layer = Layer(
        attention="full", window=0, compress_ratio=1,
        kv_elems=max(round(kv_bytes_per_token / layers / 2), 0), index_elems=0,
        attn_topk=0, attn_flop_per_token=4 * hidden, attention_params=0,
        dense_ffn_params=int(dense), expert_params=int(expert * n_exp),
        shared_expert_params=0, router_params=0, norm_params=0, n_experts=n_exp, top_k=k,
    )  # fmt: skip
    return ModelArch(
        id=name, model_type="custom", hidden_size=hidden, vocab_size=0,
        layers=(layer,) * layers, embedding_params=0, lm_head_params=0, final_norm_params=0,
        mtp_extra_params=0, max_context=10**8, native_dtypes=dict.fromkeys(
            ("attention", "ffn", "experts", "embedding", "other"), "bf16"),
        approximations=("custom model from headline numbers",),
    )  # fmt: skip


def usable_system(system: System, usable_fraction: float) -> System:
    """``system`` whose capacity rule lets weights + KV fill ``usable_fraction`` of main memory
    (the catalog's ``usable_memory_fraction`` replaced; unchanged when equal)."""
    if not 0 < usable_fraction <= 1:
        raise InvalidInputError(f"usable memory fraction must be in (0, 1], got {usable_fraction}")
    if usable_fraction == system.chip.memory_fraction:
        return system
    chip = system.chip.model_copy(update={"usable_memory_fraction": usable_fraction})
    return system.model_copy(update={"chip": chip})


@dataclass(frozen=True)
class Fit:
    """Systems holding weights + every request's KV, or what ran out. Bytes."""

    systems: int  # 0: no number of systems holds them
    deployment: Deployment
    usable_fraction: float
    usable_bytes_per_system: float
    weight_bytes: float
    kv_bytes: float
    short_of: str = ""
    shortfall_bytes: float = 0.0

    @property
    def fits(self) -> bool:
        return self.systems > 0


def fit(
    arch: ModelArch,
    system: System,
    weights: str,
    kv_dtype: str,
    context: int,
    concurrency: int,
    usable_fraction: float | None = None,
) -> Fit:
    """The calculator's one capacity rule: the fewest systems whose layer-boundary placement
    holds the weights + ``concurrency`` sequences' KV at ``context`` in ``usable_fraction`` of
    each system's main memory; when none does, what ran out and by how many bytes."""
    if usable_fraction is None:
        usable_fraction = system.chip.memory_fraction
    sys_ = usable_system(system, usable_fraction)
    items = build_scenario(arch, sys_, weights=weights, kv_dtype=kv_dtype).layer_bytes
    d = deploy(arch, sys_, weights, kv_dtype, context)
    cap = d.capacity_bytes_per_system
    w_total, kv_total = float(items.sum()), concurrency * d.kv_bytes_per_sequence

    def answer(n: int, dep: Deployment, short_of: str = "", short: float = 0.0) -> Fit:
        return Fit(n, dep, usable_fraction, cap, w_total, kv_total, short_of, short)

    if d.binding_constraint == "layer_size":
        return answer(
            0, d, f"one system's usable memory for the largest layer ({items.max() / 1e9:,.1f} GB;"
            " layers are never split across systems)", float(items.max()) - cap,
        )  # fmt: skip
    limit = len(arch.layers)
    n = min(limit, max(d.min_systems, math.ceil((w_total + kv_total) / cap)))
    low = n - 1  # the largest count known (or assumed) too small
    while True:
        d = deploy(arch, sys_, weights, kv_dtype, context, systems=n)
        if d.max_concurrent_sequences >= concurrency:
            break
        if n >= limit:
            free = [cap - w for w in d.weight_bytes_per_system]
            need = [concurrency * k for k in d.kv_bytes_per_sequence_per_system]
            short = max((k - f for k, f in zip(need, free, strict=True)), default=kv_total)
            return answer(
                0, d, f"usable memory for the KV cache of {concurrency:,} request(s) at "
                f"{context:,} tokens, even with {limit} systems (one per layer at most)", float(short),
            )  # fmt: skip
        low, n = n, min(limit, n + max(1, n // 20))
    while n - low > 1:  # the stride may have overshot: the fewest systems that hold it
        mid = (low + n) // 2
        m = deploy(arch, sys_, weights, kv_dtype, context, systems=mid)
        if m.max_concurrent_sequences >= concurrency:
            n, d = mid, m
        else:
            low = mid
    return answer(n, d)


def systems_needed(
    arch: ModelArch,
    system: System,
    weights: str,
    kv_dtype: str,
    context: int,
    concurrency: int,
    usable_fraction: float | None = None,
) -> tuple[int, Any]:
    """(systems, deployment) of :func:`fit`; 0 systems when nothing fits."""
    f = fit(arch, system, weights, kv_dtype, context, concurrency, usable_fraction)
    return f.systems, f.deployment


@dataclass(frozen=True)
class Calculation(Result):
    """The calculator's answer for one model, workload and hardware.

    Infeasible: ``systems_needed``, ``capacity_bytes`` and ``capex_usd`` are ``None``;
    ``short_of`` says what ran out and ``shortfall_bytes`` by how much.
    """

    model: str
    hardware: str
    feasible: bool
    explanation: str
    systems_needed: int | None
    weight_bytes: float
    kv_bytes: float
    capacity_bytes: float | None
    layers_per_system: tuple[int, ...]
    capex_usd: float | None
    tok_s_per_user: float | None
    usd_per_mtok: float | None
    usd_per_mtok_by_type: dict[str, float] = field(default_factory=dict)
    usd_per_hour: float | None = None
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # 80%, from predict
    notes: tuple[str, ...] = ()
    derivation: str = ""
    usable_fraction: float = 1.0
    usable_bytes_per_system: float | None = None
    short_of: str | None = None
    shortfall_bytes: float | None = None

    title = "wafer calculator"

    def explain(self) -> str:
        """How every figure was obtained."""
        usable = (
            f"{self.usable_fraction:.0%} of each system's main memory "
            f"({(self.usable_bytes_per_system or 0) / 1e9:,.1f} GB) is usable"
        )
        if not self.feasible:
            return "\n".join([
                f"{usable}; no number of systems holds weights "
                f"({self.weight_bytes / 1e9:,.1f} GB) + every request's KV "
                f"({self.kv_bytes / 1e9:,.1f} GB)",
                f"ran out: {self.short_of}, short by {(self.shortfall_bytes or 0) / 1e9:,.1f} GB",
            ])  # fmt: skip
        lines = [
            f"{usable} (the performance model's memory utilisation)",
            f"systems = fewest n whose layer-boundary placement holds weights "
            f"({self.weight_bytes / 1e9:,.1f} GB) + every request's KV ({self.kv_bytes / 1e9:,.1f} GB)"
            f" in usable memory -> {self.systems_needed}",
            f"capex = {self.systems_needed} x $ per system = ${self.capex_usd or 0:,.0f}",
            "tok/s per user = 1 / TPOT of the step model at that deployment (tokenfrontier predict)",
            "$ per Mtok = deployment $/h / (tokens per hour / 1e6); by type: agentic mix, "
            "money-conserving (tokenfrontier cost --mix agentic --explain)",
        ]
        return "\n".join(lines) + ("\n--- hourly rate ---\n" + self.derivation if self.derivation else "")

    def to_dict(self) -> dict[str, Any]:
        cap = self.capacity_bytes
        d: dict[str, Any] = {
            "model": self.model,
            "hardware": self.hardware,
            "feasible": self.feasible,
            "explanation": self.explanation,
            "systems_needed": self.systems_needed,
            "weight_bytes": self.weight_bytes,
            "kv_bytes": self.kv_bytes,
            "capacity_bytes": cap,
            "usable_fraction": self.usable_fraction,
            "usable_bytes_per_system": self.usable_bytes_per_system,
            "memory_composition": {
                "weights": self.weight_bytes / cap if cap else None,
                "kv": self.kv_bytes / cap if cap else None,
            },
            "layers_per_system": list(self.layers_per_system),
            "capex_usd": self.capex_usd,
            "usd_per_hour": self.usd_per_hour,
            **{
                f"{k}_{end}": v[n] for k, v in self.intervals.items() for n, end in enumerate(("low", "high"))
            },
            "tok_s_per_user": self.tok_s_per_user,
            "usd_per_mtok": self.usd_per_mtok,
            "usd_per_mtok_by_type": self.usd_per_mtok_by_type,
            "notes": list(self.notes),
        }
        if not self.feasible:
            d["short_of"] = self.short_of
            d["shortfall_bytes"] = self.shortfall_bytes
        return d

    def human_rows(self) -> list[tuple[str, Any]]:
        usable = self.usable_bytes_per_system or 0.0
        rows: list[tuple[str, Any]] = [
            ("model / hardware", f"{self.model} on {self.hardware}"),
            ("usable memory per system (GB)", f"{usable / 1e9:,.1f} ({self.usable_fraction:.0%})"),
        ]
        if not self.feasible:
            rows += [
                ("feasible", False),
                ("ran out", self.short_of),
                ("short by (GB)", f"{(self.shortfall_bytes or 0) / 1e9:,.1f}"),
                ("weights (GB)", f"{self.weight_bytes / 1e9:,.1f}"),
                ("KV, all requests (GB)", f"{self.kv_bytes / 1e9:,.1f}"),
            ]
            return rows + [("note", n) for n in self.notes]
        cap = self.capacity_bytes or 0.0
        rows += [
            ("systems needed", self.systems_needed),
            ("weights (GB)", f"{self.weight_bytes / 1e9:,.1f} ({self.weight_bytes / cap:.0%})"),
            ("KV, all requests (GB)", f"{self.kv_bytes / 1e9:,.1f} ({self.kv_bytes / cap:.0%})"),
            ("layers per system", ", ".join(map(str, self.layers_per_system[:12]))
             + (" ..." if len(self.layers_per_system) > 12 else "")),
            ("capex ($M)", round((self.capex_usd or 0.0) / 1e6, 2)),
        ]  # fmt: skip
        if self.tok_s_per_user is not None:
            rows.append(("tok/s per user", float(self.tok_s_per_user)))
        if self.usd_per_mtok is not None:
            rows.append(("$ per Mtok (workload)", f"{self.usd_per_mtok:.4f}"))
        rows += [(f"  $ per Mtok {k} (agentic)", f"{v:.4f}")
                 for k, v in self.usd_per_mtok_by_type.items()]  # fmt: skip
        rows.append(("why", self.explanation))
        rows += [("note", n) for n in self.notes]
        return rows


@dataclass
class PhaseDiagram:
    """Systems needed over ISL x model size, with catalog models marked."""

    isl: np.ndarray
    params: np.ndarray
    systems: np.ndarray  # shape (params, isl)
    markers: list[dict[str, Any]]
    hardware: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "hardware": self.hardware,
            "isl": self.isl.tolist(),
            "total_params": self.params.tolist(),
            "systems": self.systems.tolist(),
            "catalog_models": self.markers,
        }

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    def to_frame(self) -> Any:
        import pandas as pd

        rows = [
            {"total_params": p, "isl": s, "systems": int(self.systems[i, j])}
            for i, p in enumerate(self.params)
            for j, s in enumerate(self.isl)
        ]
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        frame = self.to_frame().pivot(index="total_params", columns="isl", values="systems")
        return f"<p>systems of {self.hardware} for one copy</p>" + frame.to_html()

    def __str__(self) -> str:
        from ..results import render_table

        head = ["params \\ ISL", *[_tok(s) for s in self.isl]]
        rows = [[f"{p / 1e9:,.0f}B", *self.systems[i].astype(int).tolist()]
                for i, p in enumerate(self.params)]  # fmt: skip
        marks = "\n".join(f"  {m['model']}: {m['total_params'] / 1e9:,.0f}B, systems "
                          + ", ".join(str(x) for x in m["systems"]) for m in self.markers)  # fmt: skip
        return (
            f"systems of {self.hardware} needed for one copy (weights + KV of one request, BF16)\n"
            + render_table(head, rows)
            + "\ncatalog models (same ISL columns):\n"
            + marks
        )


def _tok(n: float) -> str:
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k"


PHASE_ISL = np.array([16e3, 32e3, 64e3, 128e3, 256e3, 512e3, 1e6, 2e6, 4e6, 10e6])
PHASE_PARAMS = np.array([100e9, 200e9, 400e9, 700e9, 1e12, 2e12, 4e12])


def phase_diagram(
    system: System,
    catalog_models: list[ModelArch],
    concurrency: int = 1,
    kv_dtype: str = "bf16",
    weights: str = "bf16",
    usable_fraction: float | None = None,
) -> PhaseDiagram:
    """Systems for weights + KV over ISL x size, vectorized.

    Synthetic models follow a dense-GQA scaling: layers = 126 (P / 405B)^(1/3) (Llama 3.1 405B
    has 126), 8 KV heads x 128 dims per layer. Systems = ceil(bytes / usable system memory)
    (``usable_fraction`` x capacity, the calculator's rule) — the layer-boundary rounding is
    ignored here (the calculator applies it for one point).
    """
    frac = system.chip.memory_fraction if usable_fraction is None else usable_fraction
    cap = usable_system(system, frac).usable_memory_bytes
    wb, kb = DTYPE_BYTES[weights], DTYPE_BYTES[kv_dtype]
    layers = np.round(126 * (PHASE_PARAMS / 405e9) ** (1 / 3))
    kv_tok = layers * 2 * 8 * 128 * kb
    need = PHASE_PARAMS[:, None] * wb + concurrency * kv_tok[:, None] * PHASE_ISL[None, :]
    grid = np.ceil(need / cap)
    markers = []
    for arch in catalog_models:
        w = weight_bytes(arch, weights)
        kv = concurrency * np.asarray(kv_bytes(arch, PHASE_ISL, kv_dtype))
        markers.append(
            {
                "model": arch.id,
                "total_params": sum(layer.params for layer in arch.layers) + arch.embedding_params,
                "systems": np.ceil((w + kv) / cap).astype(int).tolist(),
            }
        )
    return PhaseDiagram(PHASE_ISL, PHASE_PARAMS, grid, markers, system.id)
