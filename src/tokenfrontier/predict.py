"""``predict``: serving metrics of one model on one hardware entry at one concurrency.

With parallelism left open it evaluates every candidate deployment (vectorized) and keeps the
fastest feasible one (highest tok/s/user; fewer chips on ties), and says which it chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arch import ModelArch
from .candidates import candidates, memory_check, smallest_pipeline
from .profiles import Profile, resolve_profile
from .results import Result
from .serving import Disaggregation, SpecDecode, Workload, evaluate
from .specs import System
from .step import COMPONENTS, HardwareTerms, ModelTerms

__all__ = ["BINDING_NAMES", "Prediction", "binding_of", "predict_one"]

BINDING_NAMES = {
    "memory": "memory bandwidth",
    "compute": "compute",
    "tp_comm": "scale-up interconnect (TP all-reduce)",
    "ep_comm": "scale-up interconnect (EP all-to-all)",
    "latency": "latency floor (per-layer kernels / dataflow)",
    "pipeline": "pipeline hops between stages",
    "offload": "offload link (KV in the offload tier)",
    "overhead": "host scheduling and sampling overhead",
    "draft": "speculative drafting",
    "prefill": "prefill interference (new prompts stall decoding)",
}


def binding_of(breakdown: dict[str, float]) -> str:
    """Name the resource that dominates a decode step breakdown."""
    roof_key = "compute" if breakdown.get("compute", 0.0) > 0 else "memory"
    groups = {roof_key: breakdown["weights"] + breakdown["kv"] + breakdown["compute"]}
    for k in (*COMPONENTS[3:], "prefill"):
        groups[k] = breakdown.get(k, 0.0)
    if "draft" in breakdown:
        groups["draft"] = breakdown["draft"]
    return BINDING_NAMES[max(groups, key=lambda k: groups[k])]


@dataclass(frozen=True)
class Prediction(Result):
    """One serving prediction. Times in seconds; throughput in tokens/s."""

    model: str
    hardware: str
    feasible: bool
    binding_constraint: str
    explanation: str
    deployment: dict[str, Any]
    chips: int
    ttft_s: float | None
    tpot_s: float | None
    tok_s_per_user: float | None
    output_tok_s_per_chip: float | None
    total_tok_s_per_chip: float | None
    step_breakdown_s: dict[str, float]
    profile: str
    candidates_evaluated: int
    notes: tuple[str, ...] = field(default=())

    title = "prediction"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "feasible": self.feasible,
            "binding_constraint": self.binding_constraint,
            "explanation": self.explanation,
            "chips": self.chips,
            "deployment": self.deployment,
            "ttft_s": self.ttft_s,
            "tpot_s": self.tpot_s,
            "tok_s_per_user": self.tok_s_per_user,
            "output_tok_s_per_chip": self.output_tok_s_per_chip,
            "total_tok_s_per_chip": self.total_tok_s_per_chip,
            "step_breakdown_s": self.step_breakdown_s,
            "profile": self.profile,
            "candidates_evaluated": self.candidates_evaluated,
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        d = self.deployment
        rows: list[tuple[str, Any]] = [
            ("model", self.model),
            ("hardware", self.hardware),
            ("feasible", self.feasible),
            ("binding constraint", self.binding_constraint),
        ]
        if d:
            rows.append(
                (
                    "deployment",
                    f"TP{d['tp']} EP{d['ep']} PP{d['pp']} = {self.chips} chips, "
                    f"{d['weights']} weights, {d['kv_dtype']} KV",
                )
            )
        if self.feasible:
            rows += [
                ("TTFT (ms)", round((self.ttft_s or 0.0) * 1e3, 2)),
                ("TPOT (ms)", round((self.tpot_s or 0.0) * 1e3, 3)),
                ("tok/s per user", round(self.tok_s_per_user or 0.0, 1)),
                ("output tok/s per chip", round(self.output_tok_s_per_chip or 0.0, 1)),
                ("total tok/s per chip", round(self.total_tok_s_per_chip or 0.0, 1)),
            ]
            rows += [
                (f"  step: {k} (ms)", round(v * 1e3, 4)) for k, v in self.step_breakdown_s.items() if v > 0
            ]
        rows += [("why", self.explanation), ("profile", self.profile)]
        rows += [("note", n) for n in self.notes]
        return rows


def _explain(code: np.ndarray, m: ModelTerms, hw: HardwareTerms, ctx: float) -> tuple[str, str]:
    if (code == 2).any():
        kv = float(m.kv(ctx)) / 1e9
        return "kv_capacity", (
            f"weights fit but the KV cache of the requested concurrency ({kv:.2f} GB per "
            f"sequence at {ctx:,.0f} tokens) does not fit in free {hw.system.chip.main_memory.name}"
            + ("" if hw.offload_bytes_per_system else " and there is no offload tier")
        )
    return "weight_capacity", (
        f"weights ({m.weight_bytes / 1e9:.1f} GB) do not fit the deployments considered "
        f"({hw.capacity_per_chip / 1e9:.2f} GB per chip, "
        f"{hw.profile.memory_utilization:.0%} usable)"
    )


def predict_one(
    arch: ModelArch,
    system: System,
    *,
    weights: str,
    kv_dtype: str,
    workload: Workload,
    concurrency: int,
    framework: str | None = None,
    tp: int | None = None,
    ep: int | None = None,
    pp: int | None = None,
    systems: int | None = None,
    spec: SpecDecode | None = None,
    disagg: Disaggregation | None = None,
    activations: str | None = None,
    profile: Profile | None = None,
) -> Prediction:
    """Predict serving metrics; see the module docstring for the deployment choice."""
    m = ModelTerms.build(arch, weights, kv_dtype, activations)
    prof = profile or resolve_profile(system.chip, framework)
    hw = HardwareTerms.build(system, prof, m)
    ctx = workload.isl_mean + workload.osl_mean / 2
    cand = candidates(m, hw, tp, pp, ep, systems, kv_bytes=concurrency * float(m.kv(ctx)))
    conc = np.array([float(concurrency)])
    ok, frac, code = memory_check(m, hw, cand, conc, ctx)
    notes = [] if prof.fitted else [_profile_note(prof)]
    base: dict[str, Any] = dict(
        model=arch.id, hardware=system.id, profile=prof.id, candidates_evaluated=len(cand)
    )
    if not ok.any():
        binding, why = _explain(code, m, hw, ctx)
        return Prediction(
            **base, feasible=False, binding_constraint=binding, explanation=why,
            deployment={}, chips=0, ttft_s=None, tpot_s=None, tok_s_per_user=None,
            output_tok_s_per_chip=None, total_tok_s_per_chip=None, step_breakdown_s={},
            notes=tuple(notes),
        )  # fmt: skip
    res = evaluate(
        m, hw, tp=cand.tp, pp=cand.pp, ep=cand.ep, concurrency=conc[0], workload=workload,
        offload_fraction=frac[:, 0], spec=spec, disagg=disagg,
    )  # fmt: skip
    usable = ok[:, 0]
    if not hw.sram:  # HBM: pipeline stages for capacity only; SRAM: stages are the machine
        usable = usable & smallest_pipeline(cand, ok[:, 0])
    score = np.where(usable, res["tok_s_per_user"] - 1e-9 * res["chips"], -np.inf)
    i = int(np.argmax(score))
    breakdown = {k: float(res[f"step_{k}_s"][i]) for k in (*COMPONENTS, "prefill")}
    if "step_draft_s" in res:
        breakdown["draft"] = float(res["step_draft_s"][i])
    binding = binding_of(breakdown)
    if frac[i, 0] > 0:
        notes.append(f"{frac[i, 0]:.0%} of the KV cache lives in the offload tier")
    if disagg is not None:
        move = float(res["kv_transfer_s"][i])
        notes.append(
            f"disaggregated: prefill on {disagg.prefill_hw.system.id} "
            f"TP{disagg.tp} PP{disagg.pp} takes {float(res['remote_prefill_s'][i]) * 1e3:.1f} ms; "
            f"the prompt's KV ({float(m.kv(workload.isl_mean)) / 1e9:.2f} GB) crosses "
            f"{disagg.link_bytes_per_s / 1e9:.0f} GB/s in {move * 1e3:.1f} ms; "
            + ("the link limits TTFT" if move > float(res["remote_prefill_s"][i])
               else "prefill compute limits TTFT")
        )  # fmt: skip
    deployment = {
        "hardware": system.id,
        "tp": int(cand.tp[i]),
        "ep": int(cand.ep[i]),
        "pp": int(cand.pp[i]),
        "systems": _systems(system, int(cand.tp[i] * cand.pp[i])),
        "weights": weights,
        "kv_dtype": kv_dtype,
        "compute_dtype": hw.compute_dtype,
        "chosen": "given" if (tp or pp or systems) else "fastest feasible",
    }
    return Prediction(
        **base,
        feasible=True,
        binding_constraint=binding,
        explanation=f"decode step dominated by {binding}",
        deployment=deployment,
        chips=int(res["chips"][i]),
        ttft_s=float(res["ttft_s"][i]),
        tpot_s=float(res["tpot_s"][i]),
        tok_s_per_user=float(res["tok_s_per_user"][i]),
        output_tok_s_per_chip=float(res["output_tok_s_per_chip"][i]),
        total_tok_s_per_chip=float(res["total_tok_s_per_chip"][i]),
        step_breakdown_s=breakdown,
        notes=tuple(notes),
    )


def _profile_note(prof: Profile) -> str:
    if prof.derived_from:
        return f"profile '{prof.id}' is derived from fitted profile(s): {prof.derived_from}"
    return f"profile '{prof.id}' is not fitted to measurements"


def _systems(system: System, chips: int) -> float:
    return chips / system.chips


# `tokenfrontier.predict` is this module; calling it calls the API function `tokenfrontier.api.predict`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
