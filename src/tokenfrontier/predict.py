"""``predict``: serving metrics of one model on one hardware entry at one concurrency.

One point of :func:`tokenfrontier.sweep.sweep` on a scenario. With parallelism left open it
evaluates every candidate deployment (vectorized) and keeps the
fastest feasible one (highest tok/s/user; fewer chips on ties), and says which it chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .candidates import Candidates, smallest_pipeline
from .intervals import PREDICTED, bounds, interval_source, level_of, level_reason
from .profiles import Profile
from .results import Result, cell_text
from .scenario import Scenario
from .serving import LIMITS, PrefillPool, SpecDecode, Workload
from .step import COMPONENTS
from .sweep import Sweep, sweep

__all__ = ["BINDING_NAMES", "Prediction", "binding_of", "choose", "predict_one", "prediction_at"]

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
    policy: str = "closed-loop"
    pools: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default=())
    interval_level: str = ""  # the fallback-chain level the 80% intervals come from
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # attr -> (low, high)
    derivation: str = ""

    title = "prediction"

    def explain(self) -> str:
        """How the figures were obtained: capacity rule, profile, formulas, interval source."""
        return self.derivation

    def _interval_text(self) -> str:
        parts = []
        shown = (("tok_s_per_user", "tok/s/user", 1.0), ("total_tok_s_per_chip", "tok/s/chip", 1.0),
                 ("ttft_s", "TTFT ms", 1e3))  # fmt: skip
        for attr, label, scale in shown:
            if attr in self.intervals:
                lo, hi = self.intervals[attr]
                # the table's own format: rounding is monotone, so lo <= value <= hi still reads so
                parts.append(f"{label} {cell_text(lo * scale)}-{cell_text(hi * scale)}")
        return f"{'; '.join(parts)} ({self.interval_level})"

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
            "policy": self.policy,
            "pools": [dict(p) for p in self.pools],
            "notes": list(self.notes),
            "interval_level": self.interval_level,
            **{
                f"{k}_{end}": v[n] for k, v in self.intervals.items() for n, end in enumerate(("low", "high"))
            },
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
                    f"TP{d['tp']} EP{d['ep']}"
                    + (f" DP{d['dp']}" if d.get("dp", 1) > 1 else "")
                    + f" PP{d['pp']} = {d['tp'] * d['pp']} chips, "
                    f"{d['weights']} weights, {d['kv_dtype']} KV",
                )
            )
        for p in self.pools[1:]:
            rows.append(
                (
                    f"{p['role']} pool",
                    f"{p['workers']} x TP{p['tp']} PP{p['pp']} on {p['hardware']} = {p['chips']} chips "
                    f"({p['utilization']:.0%} busy)",
                )
            )
        if len(self.pools) > 1:
            rows.append(("chips, both pools", self.chips))  # per-chip figures divide by these
        if self.feasible:
            rows += [
                # unrounded, printed by the table (``cell_text``) as the interval bounds are: a value
                # rounded first (106.214 -> 106.2 -> "106.20") could print outside a bound "106.21"
                ("TTFT (ms)", (self.ttft_s or 0.0) * 1e3),
                ("TPOT (ms)", (self.tpot_s or 0.0) * 1e3),
                ("tok/s per user", self.tok_s_per_user or 0.0),
                ("output tok/s per chip", self.output_tok_s_per_chip or 0.0),
                ("total tok/s per chip", self.total_tok_s_per_chip or 0.0),
            ]
            if self.intervals:
                rows.append(("80% interval", self._interval_text()))
            rows += [
                (f"  step: {k} (ms)", round(v * 1e3, 4)) for k, v in self.step_breakdown_s.items() if v > 0
            ]
        rows += [("why", self.explanation), ("profile", self.profile)]
        rows += [("note", n) for n in self.notes]
        return rows


def _explain(code: np.ndarray, scen: Scenario, ctx: float, pp: np.ndarray) -> tuple[str, str]:
    hw = scen.hw
    if len(pp) and pp.min() > scen.n_items:
        return "systems", (
            f"PP{int(pp.min())} asks for more pipeline stages than {scen.arch.id}'s {scen.n_items} "
            "layers (layers are never split across stages)"
        )
    if (code == 2).any():
        kv = float(scen.kv_bytes(ctx)) / 1e9
        return "kv_capacity", (
            f"weights fit but the KV cache of the requested concurrency ({kv:.2f} GB per "
            f"sequence at {ctx:,.0f} tokens) does not fit in free {hw.system.chip.main_memory.name}"
            + ("" if hw.offload_bytes_per_system else " and there is no offload tier")
        )
    return "weight_capacity", (
        f"weights ({scen.model.weight_bytes / 1e9:.1f} GB) do not fit the deployments considered "
        f"({scen.capacity_per_chip / 1e9:.2f} GB per chip usable, "
        f"{scen.memory_fraction:.0%} of {hw.system.chip.main_memory.name})"
    )


def choose(sw: Sweep, objective: str = "user") -> np.ndarray:
    """The candidate ``predict`` chooses at each concurrency of a sweep (-1 where none is feasible);
    with metrics of a batch of profiles along a leading axis, the choice under each.

    Feasible candidates only; on HBM the fewest pipeline stages per (TP, EP) (stages are for
    capacity only; on SRAM the stages are the machine); then the highest tok/s/user (objective
    ``user``) or total tok/s per chip (``throughput``: what a stack picks for a load it is
    given), and fewer chips on ties (the first candidate on exact ties).
    """
    res = sw.metrics
    ok = res["feasible"] > 0  # (candidates, concurrencies), or (profiles, candidates, concurrencies)
    usable = ok
    if not sw.scen.sram:
        usable = usable & _smallest_pipeline(sw.cand, ok)
    goal = res["tok_s_per_user"] if objective == "user" else res["total_tok_s_per_chip"]
    score = np.where(usable, goal - 1e-9 * res["chips"], -np.inf)
    return np.where(ok.any(axis=-2), np.argmax(score, axis=-2), -1)


def _smallest_pipeline(cand: Candidates, ok: np.ndarray) -> np.ndarray:
    """:func:`~tokenfrontier.candidates.smallest_pipeline` of a candidates x concurrencies mask,
    or of each slice of a batch of profiles' masks along a leading axis (computed once where
    the slices agree, as they do when feasibility does not depend on the profile)."""
    if ok.ndim < 3:
        return smallest_pipeline(cand, ok)
    if (ok == ok[:1]).all():
        return np.broadcast_to(smallest_pipeline(cand, ok[0]), ok.shape)
    return np.stack([smallest_pipeline(cand, o) for o in ok])


def predict_one(
    scen: Scenario,
    *,
    workload: Workload,
    concurrency: int,
    tp: int | None = None,
    ep: int | None = None,
    pp: int | None = None,
    systems: int | None = None,
    spec: SpecDecode | None = None,
    pool: PrefillPool | None = None,
    policy: str = "closed-loop",
    dp: int | None = None,
) -> Prediction:
    """Predict serving metrics; see the module docstring for the deployment choice."""
    sw = sweep(scen, workload, [concurrency], tp=tp, pp=pp, ep=ep, systems=systems, spec=spec,
               pool=pool, policy=policy, dp=dp)  # fmt: skip
    return prediction_at(sw, 0, int(choose(sw)[0]), workload=workload, concurrency=concurrency,
                         given=bool(tp or pp or systems), pool=pool)  # fmt: skip


def prediction_at(
    sw: Sweep,
    j: int,
    i: int,
    *,
    workload: Workload,
    concurrency: int,
    given: bool,
    pool: PrefillPool | None = None,
    max_throughput: bool = False,
) -> Prediction:
    """The :class:`Prediction` of candidate ``i`` (``-1``: none feasible, see :func:`choose`) at
    the ``j``-th concurrency of ``sw``; ``given``: the deployment was pinned by the caller;
    ``max_throughput``: the load was chosen for the best throughput (the interval level of a
    maximum-throughput question, ``tokenfrontier.intervals``)."""
    scen = sw.scen
    arch, system, prof = scen.arch, scen.system, scen.profile
    cand, res = sw.cand, {k: v[:, j] for k, v in sw.metrics.items()}
    notes = [] if prof.fitted else [_profile_note(prof)]
    base: dict[str, Any] = dict(
        model=arch.id, hardware=system.id, profile=prof.id, candidates_evaluated=len(cand),
        policy=sw.policy,
    )  # fmt: skip
    if workload.isl + workload.osl > arch.max_context:
        notes.append(
            f"ISL + OSL = {workload.isl + workload.osl:,} tokens exceeds {arch.id}'s context "
            f"window of {arch.max_context:,}"
        )
    if i < 0:
        binding, why = _explain(sw.fit.code[:, j], scen, workload.kv_context, sw.cand.pp)
        return Prediction(
            **base, feasible=False, binding_constraint=binding, explanation=why,
            deployment={}, chips=0, ttft_s=None, tpot_s=None, tok_s_per_user=None,
            output_tok_s_per_chip=None, total_tok_s_per_chip=None, step_breakdown_s={},
            notes=(*notes, f"capacity rule: {scen.capacity_rule()}"),
        )  # fmt: skip
    breakdown = {k: float(res[f"step_{k}_s"][i]) for k in (*COMPONENTS, "prefill")}
    if "step_draft_s" in res:
        breakdown["draft"] = float(res["step_draft_s"][i])
    binding = binding_of(breakdown)
    explanation = f"decode step dominated by {binding}"
    frac = float(sw.deps.offload_fraction[i, j])
    if frac > 0 and res["served_concurrency"][i] >= concurrency:
        notes.append(f"{frac:.0%} of the KV cache lives in the offload tier")
    if res["served_concurrency"][i] < concurrency:
        notes.append(
            f"KV holds {int(res['served_concurrency'][i])} of {concurrency} requests; the server "
            "runs those and queues the rest"
        )
    pools: list[dict[str, Any]] = []
    tp_i, pp_i, dp_i = int(cand.tp[i]), int(cand.pp[i]), int(np.asarray(cand.dp)[i])
    decode_pool = {"role": "decode", "hardware": system.id, "tp": tp_i, "pp": pp_i,
                   "ep": int(cand.ep[i]), "dp": dp_i, "workers": 1, "chips": tp_i * pp_i,
                   "concurrency_per_worker": concurrency}  # fmt: skip
    rep = float(scen.kv_replication(tp_i, dp_i))
    if dp_i > 1:
        notes.append(
            f"attention data-parallel: {dp_i} attention ranks of {tp_i // dp_i} chip(s), each with "
            f"the dense weights and its own ~{concurrency / dp_i:,.4g} sequences' KV; routed "
            f"experts over all {tp_i} chips (EP{tp_i}), two all-to-alls per MoE layer"
            + (" over the scale-out network" if tp_i > scen.hw.scale_up_domain else "")
        )
    if rep > 1:
        notes.append(
            f"KV replicated {rep:g}x inside each attention rank of {tp_i // dp_i} chips "
            f"({scen.arch.id} has {scen.model.kv_heads} KV head(s) to shard by)"
        )
    if pool is not None:
        limit = LIMITS[int(res["limited_by"][i])]
        pre = pool.scenario.system
        decode_pool["workers"] = pool.decode_workers
        decode_pool["chips"] = tp_i * pp_i * pool.decode_workers
        notes.append(
            f"{pool.decode_workers * concurrency:,} requests in flight: {concurrency:,} per decode "
            f"copy x {pool.decode_workers}; chips and per-chip figures count both pools"
        )
        pools = [
            decode_pool,
            {"role": "prefill", "hardware": pre.id, "tp": pool.tp, "pp": pool.pp, "ep": pool.ep,
             "workers": int(res["prefill_workers"][i]), "chips": int(res["prefill_chips"][i]),
             "utilization": float(res["prefill_utilization"][i]),
             "link_utilization": float(res["link_utilization"][i]),
             "kv_transfer_s": float(res["kv_transfer_s"][i]),
             "wait_s": float(res["prefill_wait_s"][i]), "limited_by": limit},
        ]  # fmt: skip
        move, remote = float(res["kv_transfer_s"][i]), float(res["remote_prefill_s"][i])
        notes.append(
            f"disaggregated: {int(res['prefill_workers'][i])} prefill worker(s) on {pre.id} "
            f"TP{pool.tp} PP{pool.pp} ({int(res['prefill_chips'][i])} chips, "
            f"{float(res['prefill_utilization'][i]):.0%} busy) feed {pool.decode_workers} decode "
            f"cop{'y' if pool.decode_workers == 1 else 'ies'}; one prompt prefills in "
            f"{remote * 1e3:.1f} ms after {float(res['prefill_wait_s'][i]) * 1e3:.1f} ms in the "
            f"queue and its KV ({float(scen.kv_bytes(workload.isl_mean)) / 1e9:.2f} GB) "
            f"crosses the link in {move * 1e3:.1f} ms ({float(res['link_utilization'][i]):.0%} of "
            f"the link busy); throughput limited by the {limit}"
        )
        if limit != "decode pool":
            binding = limit
            explanation = f"the {limit} cannot keep up with the decode pool's demand"
    else:
        pools = [decode_pool]
    deployment = {
        "hardware": system.id,
        "tp": tp_i,
        "ep": int(cand.ep[i]),
        "dp": dp_i,
        "pp": pp_i,
        "systems": tp_i * pp_i / system.chips,
        "weights": scen.weights,
        "kv_dtype": scen.kv_dtype,
        "compute_dtype": scen.hw.compute_dtype,
        "chosen": "given" if given else "fastest feasible",
    }
    level = level_of(prof, system.chip, scen.arch.id, disaggregated=pool is not None,
                     max_throughput=max_throughput)  # fmt: skip
    return Prediction(
        **base,
        feasible=True,
        binding_constraint=binding,
        explanation=explanation,
        deployment=deployment,
        chips=round(float(res["chips"][i])),
        ttft_s=float(res["ttft_s"][i]),
        tpot_s=float(res["tpot_s"][i]),
        tok_s_per_user=float(res["tok_s_per_user"][i]),
        output_tok_s_per_chip=float(res["output_tok_s_per_chip"][i]),
        total_tok_s_per_chip=float(res["total_tok_s_per_chip"][i]),
        step_breakdown_s=breakdown,
        pools=tuple(pools),
        notes=tuple(notes),
        interval_level=level,
        intervals=_intervals(level, res, i),
        derivation=_derivation(scen, level, sw.policy, pool is not None),
    )


def _derivation(scen: Scenario, level: str, policy: str, pooled: bool) -> str:
    prof, chip = scen.profile, scen.system.chip
    how = (
        "fitted on this family and stack" if prof.fitted and chip.family in prof.families
        else f"the same stack fitted on another family: {prof.derived_from or prof.id}"
        if prof.fitted
        else f"a default (derived from: {prof.derived_from or 'priors'})"
    )  # fmt: skip
    lines = [
        f"capacity rule: {scen.capacity_rule()}; each request reserves KV for ISL + OSL",
        scen.kv_rule(),
        f"profile {prof.id} ({how}); fallback order: exact family x stack -> same stack on "
        "another family of the vendor, nearest generation first (x the generation factor stacks "
        "measured on both show) -> the family's default -> the vendor's default on another "
        "family -> the same stack of another vendor -> the memory kind's default",
        "TPOT = decode step (weights + KV reads at achievable bandwidth: dense weights / (tp / dp) "
        "chips, touched experts / tp, KV of batch / dp sequences x replication / (tp / dp); "
        "compute beyond them, TP all-reduces inside an attention rank, EP all-to-alls, per-layer "
        "latency, pipeline hops, offload, overhead) + prefill stall of the "
        "other users' prompts / pp, divided by tokens per step with speculative decoding",
        "tok/s per user = 1 / TPOT; tok/s per chip = request rate x tokens per request / chips",
        f"serving policy: {policy}"
        + ("; prefill runs in its own pool (chips of both pools)" if pooled else ""),
        f"80% interval: level '{level}': {level_reason(level, prof, scen.arch.id, scen.system.chip.id)} "
        "(catalog/intervals.toml, benchmarks/crossval.py)"
        + (f"; {src}" if (src := interval_source(level)) else ""),
        "formulas: docs/methods.md",
    ]
    return "\n".join(lines)


def _intervals(level: str, res: dict[str, Any], i: int) -> dict[str, tuple[float, float]]:
    """80% intervals of the predicted figures (``tokenfrontier.intervals``)."""
    out = {}
    for attr, metric in PREDICTED.items():
        b = bounds(level, metric, float(res[attr][i]))
        if b is not None:
            out[attr] = b
    return out


def _profile_note(prof: Profile) -> str:
    if prof.derived_from:
        return f"profile '{prof.id}' is derived from fitted profile(s): {prof.derived_from}"
    return f"profile '{prof.id}' is not fitted to measurements"


# `tokenfrontier.predict` is this module; calling it calls the API function `tokenfrontier.api.predict`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
