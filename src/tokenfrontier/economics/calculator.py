"""The wafer calculator (any hardware, CS-3 by default) and its feasibility phase diagram.

Systems needed for one copy = the fewest systems whose layer-boundary placement (SPEC §4) holds
the weights plus the KV of every concurrent request at ISL + OSL tokens. Interactivity comes
from the performance model at that deployment (not a curve fit); cost per Mtok from the
system's TCO with the given $ per system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..arch import Layer, ModelArch
from ..errors import InvalidInputError
from ..footprint import kv_bytes, weight_bytes
from ..placement import deploy
from ..results import Result
from ..specs import DTYPE_BYTES, System

__all__ = ["Calculation", "PhaseDiagram", "custom_arch", "phase_diagram", "systems_needed"]

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
    if not total_params > 0 or layers < 1 or kv_bytes_per_token < 0:
        raise InvalidInputError(
            "custom model: total params and layers must be > 0 and KV bytes per token >= 0"
        )
    active = total_params if active_params is None else active_params
    if not 0 < active <= total_params:
        raise InvalidInputError("custom model: active params must be in (0, total params]")
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


def systems_needed(
    arch: ModelArch, system: System, weights: str, kv_dtype: str, context: int, concurrency: int
) -> tuple[int, Any]:
    """(systems, deployment) holding weights + ``concurrency`` sequences' KV at ``context``."""
    first = deploy(arch, system, weights, kv_dtype, context)
    if first.binding_constraint == "layer_size":
        return 0, first
    kv_total = concurrency * first.kv_bytes_per_sequence
    total = sum(first.weight_bytes_per_system) + kv_total
    n = max(first.min_systems, math.ceil(total / first.capacity_bytes_per_system))
    limit = len(arch.layers)
    while n <= limit:
        d = deploy(arch, system, weights, kv_dtype, context, systems=n)
        if d.max_concurrent_sequences >= concurrency:
            return n, d
        n += max(1, n // 20)
    return 0, deploy(arch, system, weights, kv_dtype, context, systems=limit)


@dataclass(frozen=True)
class Calculation(Result):
    """The calculator's answer for one model, workload and hardware."""

    model: str
    hardware: str
    feasible: bool
    explanation: str
    systems_needed: int
    weight_bytes: float
    kv_bytes: float
    capacity_bytes: float
    layers_per_system: tuple[int, ...]
    capex_usd: float
    tok_s_per_user: float | None
    usd_per_mtok: float | None
    usd_per_mtok_by_type: dict[str, float] = field(default_factory=dict)
    usd_per_hour: float | None = None
    notes: tuple[str, ...] = ()
    derivation: str = ""

    title = "wafer calculator"

    def explain(self) -> str:
        """How every figure was obtained."""
        lines = [
            f"systems = fewest n whose layer-boundary placement holds weights "
            f"({self.weight_bytes / 1e9:,.1f} GB) + every request's KV ({self.kv_bytes / 1e9:,.1f} GB)"
            f" -> {self.systems_needed}",
            f"capex = {self.systems_needed} x $ per system = ${self.capex_usd:,.0f}",
            "tok/s per user = 1 / TPOT of the step model at that deployment (tokenfrontier predict)",
            "$ per Mtok = deployment $/h / (tokens per hour / 1e6); by type: agentic slot method",
        ]
        return "\n".join(lines) + ("\n--- hourly rate ---\n" + self.derivation if self.derivation else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "feasible": self.feasible,
            "explanation": self.explanation,
            "systems_needed": self.systems_needed,
            "weight_bytes": self.weight_bytes,
            "kv_bytes": self.kv_bytes,
            "capacity_bytes": self.capacity_bytes,
            "memory_composition": {
                "weights": self.weight_bytes / self.capacity_bytes if self.capacity_bytes else None,
                "kv": self.kv_bytes / self.capacity_bytes if self.capacity_bytes else None,
            },
            "layers_per_system": list(self.layers_per_system),
            "capex_usd": self.capex_usd,
            "usd_per_hour": self.usd_per_hour,
            "tok_s_per_user": self.tok_s_per_user,
            "usd_per_mtok": self.usd_per_mtok,
            "usd_per_mtok_by_type": self.usd_per_mtok_by_type,
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        cap = self.capacity_bytes or 1.0
        rows: list[tuple[str, Any]] = [
            ("model / hardware", f"{self.model} on {self.hardware}"),
            ("systems needed", self.systems_needed),
            ("weights (GB)", f"{self.weight_bytes / 1e9:,.1f} ({self.weight_bytes / cap:.0%})"),
            ("KV, all requests (GB)", f"{self.kv_bytes / 1e9:,.1f} ({self.kv_bytes / cap:.0%})"),
            ("layers per system", ", ".join(map(str, self.layers_per_system[:12]))
             + (" ..." if len(self.layers_per_system) > 12 else "")),
            ("capex ($M)", round(self.capex_usd / 1e6, 2)),
        ]  # fmt: skip
        if self.tok_s_per_user is not None:
            rows.append(("tok/s per user", round(self.tok_s_per_user, 1)))
        if self.usd_per_mtok is not None:
            rows.append(("$ per Mtok (workload)", round(self.usd_per_mtok, 4)))
        rows += [(f"  $ per Mtok {k} (agentic)", round(v, 4))
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
) -> PhaseDiagram:
    """Systems for weights + KV over ISL x size, vectorized.

    Synthetic models follow a dense-GQA scaling: layers = 126 (P / 405B)^(1/3) (Llama 3.1 405B
    has 126), 8 KV heads x 128 dims per layer. Systems = ceil(bytes / system memory) — the
    layer-boundary rounding is ignored here (the calculator applies it for one point).
    """
    cap = system.memory_bytes
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
