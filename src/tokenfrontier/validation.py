"""Measured data: ``validate`` predicts each row of a measured CSV without fitting anything and
reports absolute percentage errors (``calibration.calibrate`` fits profiles on the same rows).

CSV schema (``shared/data/measured/calibration.csv``): model, hardware, framework, precision,
tp, ep, isl, osl, concurrency, tok_s_per_gpu, output_tok_s_per_gpu, tok_s_per_user, ttft_ms,
tpot_ms, date, source. Serving rows use lengths uniform in [0.8 L, L]; rows with empty ``tp``
are single-stream vendor speeds and use the deployment ``predict`` would choose.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import CATALOG_DIR, Catalog, default_catalog
from .errors import InvalidInputError, TokenFrontierError
from .predict import Prediction, choose, predict_one, prediction_at
from .profiles import Profile, resolve_profile
from .resolve import get_model, get_system
from .results import Result, render_table
from .scenario import Scenario, build_scenario
from .serving import Workload
from .sweep import Layout, Sweep, layout, sweep
from .units import MAX_CONTEXT_TOKENS, check_number, read_text

__all__ = [
    "BUNDLED_CALIBRATION",
    "BUNDLED_MEASURED",
    "METRICS",
    "ROW_ERRORS",
    "Groups",
    "Picked",
    "RowPlan",
    "Validation",
    "cell_number",
    "check_row",
    "error_stats",
    "pick_groups",
    "pick_groups_batch",
    "pick_rows",
    "plan_groups",
    "plan_row",
    "predict_row",
    "prediction_of",
    "read_measured",
    "row_era",
    "row_kind",
    "validate",
    "validate_rows",
]

BUNDLED_CALIBRATION = CATALOG_DIR / "measured" / "calibration.csv"
#: Bundled measured sets by name (copies of ``shared/data/measured/*.csv``); ``measured`` is all
#: of them, the set the bundled profiles are fitted on.
BUNDLED_MEASURED: dict[str, tuple[Path, ...]] = {
    "calibration": (BUNDLED_CALIBRATION,),
    "max_throughput": (CATALOG_DIR / "measured" / "max_throughput.csv",),
    "disagg": (CATALOG_DIR / "measured" / "disagg.csv",),
}
BUNDLED_MEASURED["measured"] = (
    BUNDLED_MEASURED["calibration"] + BUNDLED_MEASURED["max_throughput"] + BUNDLED_MEASURED["disagg"]
)
REQUIRED = ("model", "hardware", "framework", "precision", "concurrency")
#: (CSV column, prediction column, Prediction attribute, scale to CSV units)
METRICS = (
    ("tok_s_per_user", "pred_tok_s_per_user", "tok_s_per_user", 1.0),
    ("tok_s_per_gpu", "pred_tok_s_per_gpu", "total_tok_s_per_chip", 1.0),
    ("output_tok_s_per_gpu", "pred_output_tok_s_per_gpu", "output_tok_s_per_chip", 1.0),
    ("ttft_ms", "pred_ttft_ms", "ttft_s", 1e3),
    ("tpot_ms", "pred_tpot_ms", "tpot_s", 1e3),
)
_DEFAULT_SINGLE_STREAM = (1000, 1000)  # prompt/output of a hosted-API speed test (tokens)


def read_measured(path: str | Path) -> list[dict[str, str]]:
    """Rows of a measured CSV; a missing file or column is a clear error.

    A bundled name (:data:`BUNDLED_MEASURED`: ``calibration``, ``max_throughput``, ``disagg``,
    or ``measured`` for all three) reads the bundled copies of ``shared/data/measured``.
    """
    name = str(path)
    if name in BUNDLED_MEASURED and not Path(path).exists():
        return [row for f in BUNDLED_MEASURED[name] for row in _read_csv(f)]
    return _read_csv(Path(path))


def _read_csv(path: Path) -> list[dict[str, str]]:
    text = read_text(path, "measured CSV")
    try:
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInputError(
                f"{path}: measured CSV lacks column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"
            )
        rows = [{k: v if isinstance(v, str) else "" for k, v in r.items() if k is not None} for r in reader]
    except csv.Error as exc:
        raise InvalidInputError(f"{path}: malformed CSV: {exc}") from None
    if not rows:
        raise InvalidInputError(f"{path}: measured CSV has no rows")
    return rows


def cell_number(row: dict[str, str], key: str) -> float | None:
    """A numeric cell; ``None`` when empty. Text and NaN/infinity are an :class:`InvalidInputError`."""
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise InvalidInputError(f"column '{key}': cannot read {v!r} as a number") from None
    if not math.isfinite(x):
        raise InvalidInputError(f"column '{key}': {v!r} is not a finite number")
    return x


#: Valid range of each numeric column: (low, high, integer, unit). Empty cells are allowed.
ROW_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "tp": (1, 100_000, True, "chips"),
    "ep": (1, 100_000, True, ""),
    "isl": (1, MAX_CONTEXT_TOKENS, True, "tokens"),
    "osl": (1, MAX_CONTEXT_TOKENS, True, "tokens"),
    "concurrency": (1, 1_000_000, True, "requests"),
    "tok_s_per_user": (0, 1e7, False, "tok/s"),
    "tok_s_per_gpu": (0, 1e7, False, "tok/s"),
    "output_tok_s_per_gpu": (0, 1e7, False, "tok/s"),
    "ttft_ms": (0, 1e7, False, "ms"),
    "tpot_ms": (0, 1e7, False, "ms"),
}


def check_row(row: dict[str, str]) -> None:
    """Reject a measured row with a missing id or a number outside its physical range.

    Counts (tp, ep, lengths, concurrency) are integers >= 1; measured speeds and times > 0.
    Callers skip the row and record the message as its reason.
    """
    for key in ("model", "hardware", "framework"):
        if not (row.get(key) or "").strip():
            raise InvalidInputError(f"column '{key}' is empty")
    for key, (lo, hi, integer, unit) in ROW_RANGES.items():
        text = (row.get(key) or "").strip()
        if text:
            check_number(text, f"column '{key}'", lo, hi, lo_open=not integer, integer=integer, unit=unit)


#: Weights when a row leaves ``precision`` empty (the vendor chose): what the vendor serves by
#: default — Cerebras 16-bit weights (SPEC §3 deployment table), Groq 8-bit (the 2024 Groq rows'
#: own label) — else the checkpoint as shipped.
DEFAULT_PRECISION = {"wse": "bf16", "lpu": "fp8"}


def _weights(model: str, precision: str, family: str = "") -> str:
    p = precision.strip().lower()
    if not p:
        return DEFAULT_PRECISION.get(family, "native")
    if p == "fp4" and model.startswith("gpt-oss"):
        return "native"  # gpt-oss's own MXFP4 checkpoint
    if p in ("fp4", "nvfp4"):
        return "fp4"
    if p in ("fp8", "bf16", "fp16", "mxfp4", "int8"):
        return p
    raise InvalidInputError(
        f"precision '{precision}' unknown; valid: fp4, nvfp4, fp8, int8, bf16, fp16, mxfp4 "
        "(empty = the vendor's default)"
    )


def row_era(row: dict[str, str]) -> str:
    """Software era of a single-stream vendor-API row: "2024" for rows dated before 2025;
    "" (current) for later or undated ones (the measured README marks those current-era).
    Serving sweeps state their stack and version, so they carry no era."""
    if (row.get("tp") or "").strip():
        return ""
    date = (row.get("date") or "").strip()
    return "2024" if date and date < "2025" else ""


#: Concurrencies a maximum-throughput row is searched over (the load is the stack's to choose).
MAX_THROUGHPUT_LADDER = (64, 1024, 16384)  # throughput grows with the batch: the largest that fits wins


def row_kind(row: dict[str, str]) -> str:
    """``max-throughput`` (no concurrency, a TP or a throughput given: the best throughput the
    deployment reaches; with no TP the best deployment too), ``single-stream`` (no TP, only a
    per-user speed: a vendor API), ``disaggregated`` (the disagg.csv schema), or ``serving`` (a
    sweep point; with no TP the stack chose the deployment)."""
    if (row.get("decode_gpus") or "").strip():
        return "disaggregated"
    has = {k: bool((row.get(k) or "").strip()) for k in ("tp", "concurrency", "tok_s_per_gpu")}
    if not has["concurrency"] and (has["tp"] or has["tok_s_per_gpu"]):
        return "max-throughput"  # with no TP the stack also chose the deployment
    if not has["tp"] and not has["tok_s_per_gpu"]:
        return "single-stream"
    return "serving"


@dataclass(frozen=True)
class RowPlan:
    """What a measured row asks for: its scenario, workload, concurrency and pinned deployment.

    ``objective``: ``user`` picks predict's deployment (fastest per user), ``throughput`` the
    best total tok/s per chip (what a stack chooses when a row leaves TP or the load open).
    ``concurrency`` 0 = the best over :data:`MAX_THROUGHPUT_LADDER`.
    """

    scen: Scenario
    workload: Workload
    concurrency: int
    tp: int | None
    ep: int | None
    pp: int | None
    objective: str = "user"
    pool: Any = None  # a PrefillPool for disaggregated rows
    spec: Any = None  # a SpecDecode (MTP) for disaggregated rows
    dp: int | None = None  # attention data-parallel ranks (disaggregated rows that state it)

    @property
    def concurrencies(self) -> tuple[int, ...]:
        return MAX_THROUGHPUT_LADDER if self.concurrency == 0 else (self.concurrency,)

    def group_key(self) -> tuple[Any, ...]:
        """Rows with the same key share one sweep over their concurrencies. Candidates on an
        SRAM machine with free stages depend on the largest concurrency, so those rows key by
        their own concurrency too."""
        w = self.workload
        key = (id(self.scen), w.isl, w.osl, w.spread, self.tp, self.ep, self.pp, self.objective,
               id(self.pool), id(self.spec), self.dp)  # fmt: skip
        if (self.scen.sram and self.pp is None) or self.concurrency == 0:
            return (*key, self.concurrency)
        return key

    def with_profile(self, prof: Profile) -> RowPlan:
        """The same row under another profile (what :func:`plan_row` gives when the row's
        profile resolves to ``prof``)."""
        s = self.scen
        scen = build_scenario(s.arch, s.system, weights=s.weights, kv_dtype=s.kv_dtype, profile=prof)
        if self.pool is not None:
            pre = self.pool.scenario
            pre = build_scenario(
                pre.arch, pre.system, weights=pre.weights, kv_dtype=pre.kv_dtype, profile=prof
            )
            return replace(self, scen=scen, pool=replace(self.pool, scenario=pre))
        return replace(self, scen=scen)


def plan_row(row: dict[str, str], catalog: Catalog, profiles: dict[str, Profile] | None = None) -> RowPlan:
    """Check a measured row and resolve what it asks for (errors name the problem)."""
    if row_kind(row) == "disaggregated":
        return _plan_disaggregated(row, catalog, profiles)
    check_row(row)
    model, hw = row["model"].strip(), row["hardware"].strip()
    arch = get_model(model, catalog)
    system = get_system(hw, catalog)
    tp = cell_number(row, "tp")
    ep = cell_number(row, "ep")
    isl, osl = cell_number(row, "isl"), cell_number(row, "osl")
    kind = row_kind(row)
    if isl is None or osl is None:
        isl, osl = _DEFAULT_SINGLE_STREAM
    # serving sweeps draw lengths uniform in [0.8 L, L]; vendor speeds and max-throughput tables
    # use fixed lengths
    workload = Workload(int(isl), int(osl), 0.8 if kind == "serving" else 1.0)
    measured_conc = cell_number(row, "concurrency")
    conc = 1 if measured_conc is None else int(measured_conc)  # empty: one stream
    if kind == "max-throughput":
        conc = 0
    objective = "user" if kind == "single-stream" or tp is not None else "throughput"
    prof = resolve_profile(system.chip, row["framework"], profiles, row_era(row))
    tp_i = int(tp) if tp else None
    ep_i = int(ep) if ep else None
    if tp_i and ep_i and (ep_i > tp_i or tp_i % ep_i):
        ep_i = tp_i if ep_i > tp_i else 1  # attention-DP layouts: experts over the TP group
    kv_dtype = "fp8" if arch.model_type == "deepseek_v4" else "bf16"
    weights = _weights(model, row["precision"], system.chip.family)
    scen = build_scenario(arch, system, weights=weights, kv_dtype=kv_dtype,
                          profile=prof)  # fmt: skip
    # measured sweeps state TP (and EP), not attention DP: plain TP where the row pins TP
    return RowPlan(scen, workload, conc, tp_i, ep_i, 1 if tp_i else None, objective, dp=1 if tp_i else None)


#: MTP drafting in the disaggregated rows: one drafted token accepted 85% of the time (DeepSeek-V3
#: technical report: 85-90% acceptance of the second token; the rows do not state k).
MTP_DRAFT_K, MTP_ACCEPTANCE = 1, 0.85


def _plan_disaggregated(
    row: dict[str, str], catalog: Catalog, profiles: dict[str, Profile] | None
) -> RowPlan:
    """A disagg.csv row as deployed: each pool's worker is a group of g = GPUs / workers chips.
    ``*_dp_attention`` true (MoE): attention data-parallel over the g chips (dp = g, each GPU an
    attention rank with its own requests' KV) with the routed experts over all g (EP g) — the
    rows' ``*_tp`` / ``*_ep`` columns then describe a rank, not the group. Otherwise TP g with
    the row's EP when it divides g (else EP g for MoE models)."""
    from .serving import SpecDecode
    from .sweep import build_pool

    for key in (
        "prefill_workers",
        "prefill_gpus",
        "decode_workers",
        "decode_gpus",
        "isl",
        "osl",
        "concurrency",
    ):
        if not (row.get(key) or "").strip():
            raise InvalidInputError(f"disaggregated row: column '{key}' is empty")
    num = {k: int(float(row[k])) for k in ("prefill_workers", "prefill_gpus", "decode_workers", "decode_gpus",
                                             "isl", "osl", "concurrency")}  # fmt: skip
    if min(num.values()) < 1:
        raise InvalidInputError("disaggregated row: counts and lengths must be >= 1")
    model, hw = row["model"].strip(), row["hardware"].strip()
    arch = get_model(model, catalog)
    system = get_system(hw, catalog)
    prof = resolve_profile(system.chip, row["framework"], profiles)
    kv_dtype = "fp8" if arch.model_type == "deepseek_v4" else "bf16"
    weights = _weights(model, row["precision"], system.chip.family)
    scen = build_scenario(arch, system, weights=weights, kv_dtype=kv_dtype, profile=prof)
    workload = Workload(num["isl"], num["osl"], 0.8)
    g_pre = max(1, num["prefill_gpus"] // num["prefill_workers"])
    g_dec = max(1, num["decode_gpus"] // num["decode_workers"])
    dp_pre = g_pre if _dp_attention(row, "prefill", arch.is_moe) else 1
    dp_dec = g_dec if _dp_attention(row, "decode", arch.is_moe) else 1
    ep_dec = g_dec
    ep_row = cell_number(row, "decode_ep")
    if dp_dec == 1 and ep_row and g_dec % int(ep_row) == 0:
        ep_dec = int(ep_row)
    if not arch.is_moe:
        ep_dec = 1
    pool = build_pool(scen, workload, tp=g_pre, workers=num["prefill_workers"],
                      decode_workers=num["decode_workers"], dp=dp_pre)  # fmt: skip
    spec = None
    if (row.get("spec_decoding") or "").strip().lower() == "mtp":
        spec = SpecDecode(k=MTP_DRAFT_K, acceptance=MTP_ACCEPTANCE)
    conc = max(1, -(-num["concurrency"] // num["decode_workers"]))  # per decode copy
    return RowPlan(scen, workload, conc, g_dec, ep_dec, 1, "user", pool, spec, dp_dec)


def _dp_attention(row: dict[str, str], pool: str, moe: bool) -> bool:
    """Whether a disagg.csv pool ran attention data-parallel (``<pool>_dp_attention``)."""
    value = (row.get(f"{pool}_dp_attention") or "").strip().lower()
    if value not in ("", "true", "false", "1", "0"):
        raise InvalidInputError(
            f"disaggregated row: {pool}_dp_attention must be true or false, got {value!r}"
        )
    return moe and value in ("true", "1")


def predict_row(
    row: dict[str, str], catalog: Catalog, profiles: dict[str, Profile] | None = None
) -> Prediction:
    """Predict one measured row with the deployment it states (or predict's choice).

    Uses the ``queued`` serving policy: a server whose KV cannot hold the row's concurrency
    runs what fits and queues the rest, as the measured stacks do.
    """
    plan = plan_row(row, catalog, profiles)
    if plan.objective == "user" and plan.concurrency:
        return predict_one(
            plan.scen, workload=plan.workload, concurrency=plan.concurrency, tp=plan.tp, ep=plan.ep,
            pp=plan.pp, policy="queued", pool=plan.pool, spec=plan.spec, dp=plan.dp,
        )  # fmt: skip
    return prediction_of(pick_groups([None], {plan.group_key(): [(0, plan)]})[0])


#: Errors that skip one row (with the reason) rather than stop the run.
ROW_ERRORS = (TokenFrontierError, ValueError, ArithmeticError, KeyError, TypeError)
#: One row's outcome: the chosen point (sweep, concurrency column, candidate or -1) or its error.
Picked = tuple[RowPlan, Sweep, int, int] | Exception


#: Rows that share one sweep: (row index, plan) of each, by :meth:`RowPlan.group_key`.
Groups = dict[tuple[Any, ...], list[tuple[int, RowPlan]]]


def plan_groups(
    rows: list[dict[str, str]], catalog: Catalog, profiles: dict[str, Profile] | None = None
) -> tuple[list[Exception | None], Groups]:
    """Plan every row: each row's error (``None`` when planned), and the planned rows grouped."""
    errors: list[Exception | None] = [None] * len(rows)
    groups: Groups = {}
    for n, raw in enumerate(rows):
        try:
            plan = plan_row(raw, catalog, profiles)
        except ROW_ERRORS as exc:
            errors[n] = exc
            continue
        groups.setdefault(plan.group_key(), []).append((n, plan))
    return errors, groups


def pick_groups(
    errors: list[Exception | None],
    groups: Groups,
    progress: Callable[[int, int], None] | None = None,
    layouts: dict[tuple[Any, ...], Layout] | None = None,
) -> list[Picked]:
    """Each planned row's point, one ``queued`` sweep per group over all its concurrencies and
    the choice of :func:`~tokenfrontier.predict.choose` at the row's own concurrency; rows
    with an error keep it. A group whose sweep fails is retried row by row, so each row keeps
    its own outcome, as :func:`predict_row` would meet it.

    ``layouts``: a cache, by group key, of each group's :class:`~tokenfrontier.sweep.Layout`
    (what the profile does not change), for callers that pick the same groups under many
    profiles (:meth:`RowPlan.with_profile` keeps everything else of a plan)."""
    out: list[Picked] = [exc if exc is not None else ValueError("not predicted") for exc in errors]
    done = sum(exc is not None for exc in errors)
    for key, members in groups.items():
        first = members[0][1]
        try:
            sw, conc, _ = _group_sweep(key, members, layouts)
            chosen = choose(sw, first.objective)
        except ROW_ERRORS:
            for n, plan in members:
                try:
                    sw1 = sweep(plan.scen, plan.workload, list(plan.concurrencies), tp=plan.tp,
                                ep=plan.ep, pp=plan.pp, policy="queued", pool=plan.pool,
                                spec=plan.spec, dp=plan.dp)  # fmt: skip
                    out[n] = _pick(plan, sw1, choose(sw1, plan.objective), list(plan.concurrencies))
                except ROW_ERRORS as exc:
                    out[n] = exc
        else:
            for n, plan in members:
                out[n] = _pick(plan, sw, chosen, conc)
        done += len(members)
        if progress is not None:
            progress(done, len(out))
    return out


def _group_sweep(
    key: tuple[Any, ...], members: list[tuple[int, RowPlan]], layouts: dict[tuple[Any, ...], Layout] | None
) -> tuple[Sweep, list[int], Layout]:
    """One ``queued`` sweep of a group over all its rows' concurrencies, its layout taken from
    (or added to) the ``layouts`` cache."""
    first = members[0][1]
    conc = sorted({c for _, p in members for c in p.concurrencies})
    lay = layouts.get(key) if layouts is not None else None
    if lay is None:
        lay = layout(first.scen, first.workload, conc, tp=first.tp, ep=first.ep, pp=first.pp, dp=first.dp)
        if layouts is not None:
            layouts[key] = lay
    sw = sweep(first.scen, first.workload, conc, policy="queued", pool=first.pool, spec=first.spec, reuse=lay)
    return sw, conc, lay


def pick_groups_batch(
    errors: list[Exception | None],
    groups: Groups,
    batch: int,
    layouts: dict[tuple[Any, ...], Layout] | None = None,
) -> list[list[Picked]]:
    """:func:`pick_groups` for plans whose profile is a batch of ``batch`` profiles: its fitted
    fields are arrays of shape (batch, 1, 1), so every metric gains a leading profile axis (what
    ``calibrate`` uses to evaluate the profiles of a finite-difference Jacobian together). The
    picks under each profile, as :func:`pick_groups` gives them under that profile alone. A
    group whose sweep fails raises: the caller evaluates the profiles one at a time instead."""
    outs: list[list[Picked]] = [
        [exc if exc is not None else ValueError("not predicted") for exc in errors] for _ in range(batch)
    ]
    for key, members in groups.items():
        first = members[0][1]
        sw, conc, lay = _group_sweep(key, members, layouts)
        grid = (batch, *np.shape(lay.deps.offload_fraction))
        if any(v.shape != grid for v in sw.metrics.values()):
            raise ValueError(f"metrics of a batch of {batch} profiles are not of shape {grid}")
        chosen = choose(sw, first.objective)  # (batch, concurrencies)
        for b, out in enumerate(outs):
            swb = replace(sw, metrics={k: v[b] for k, v in sw.metrics.items()})
            for n, plan in members:
                out[n] = _pick(plan, swb, chosen[b], conc)
    return outs


def _pick(plan: RowPlan, sw: Sweep, chosen: Any, conc: list[int]) -> Picked:
    """The row's (sweep, column, candidate): its own concurrency, or for a max-throughput row
    the concurrency whose chosen deployment gives the most total tok/s per chip."""
    if plan.concurrency:
        j = conc.index(plan.concurrency)
        return (plan, sw, j, int(chosen[j]))
    tput = sw.metrics["total_tok_s_per_chip"]
    best_j, best = 0, -1.0
    for j, i in enumerate(chosen):
        if i >= 0 and float(tput[i, j]) > best:
            best_j, best = j, float(tput[i, j])
    return (plan, sw, best_j, int(chosen[best_j]))


def pick_rows(
    rows: list[dict[str, str]],
    catalog: Catalog,
    profiles: dict[str, Profile] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Picked]:
    """Each row's point exactly as :func:`predict_row` picks it (or the row's error), with one
    sweep per group of rows sharing a scenario, workload and pinned deployment.
    ``progress(rows done, rows)`` is called after each group."""
    errors, groups = plan_groups(rows, catalog, profiles)
    return pick_groups(errors, groups, progress)


def prediction_of(picked: Picked) -> Prediction:
    """The :class:`Prediction` of a picked row (its error raised again)."""
    if isinstance(picked, Exception):
        raise picked
    plan, sw, j, i = picked
    return prediction_at(sw, j, i, workload=plan.workload, concurrency=int(sw.concurrency[j]),
                         given=bool(plan.tp or plan.pp), pool=plan.pool,
                         max_throughput=not plan.concurrency)  # fmt: skip


def _ape(pred: float | None, meas: float | None) -> float | None:
    if pred is None or meas is None or meas <= 0:
        return None
    return abs(pred - meas) / meas


@dataclass(frozen=True)
class Validation(Result):
    """Per-row predictions and error summaries (absolute percentage errors)."""

    rows: tuple[dict[str, Any], ...]
    summary: dict[str, Any]

    title = "validation"

    def to_dict(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "summary": self.summary}

    def human_rows(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self.summary["overall"].items()]

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def __str__(self) -> str:
        head = ("group", "rows", "metric", "median APE %", "mean APE %", "in 80% interval %")
        out = []
        groups = [
            ("all rows", self.summary["overall"]),
            *self.summary["by_kind"].items(),
            *((f"interval level {k}", v) for k, v in self.summary.get("by_interval_level", {}).items()),
            *self.summary["by_hardware_model"].items(),
        ]
        for group, stats in groups:
            for metric, s in stats.items():
                out.append(
                    (group, s["n"], metric, s["median_ape_pct"], s["mean_ape_pct"], s.get("in_interval_pct"))
                )
        skipped = sum(1 for r in self.rows if r.get("skipped_reason"))
        return f"validation: {len(self.rows)} rows, {skipped} skipped, no parameter fitted\n" + render_table(
            head, out
        )


def error_stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    out = {}
    for col, _pred_col, _, _ in METRICS:
        errs = [r[f"ape_{col}"] for r in rows if r.get(f"ape_{col}") is not None]
        if errs:
            out[col] = {
                "n": len(errs),
                "median_ape_pct": round(100 * float(np.median(errs)), 1),
                "mean_ape_pct": round(100 * float(np.mean(errs)), 1),
            }
            inside = [r[f"in_interval_{col}"] for r in rows if f"in_interval_{col}" in r]
            if inside:  # share of measurements inside the 80% interval
                out[col]["in_interval_pct"] = round(100 * float(np.mean(inside)), 1)
    return out


def validate(
    path: str | Path,
    catalog: Catalog | None = None,
    profiles: dict[str, Profile] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Validation:
    """Predict every row of a measured CSV with the bundled profiles; nothing is fitted.

    ``progress(rows done, rows)`` is called as groups of rows are predicted.
    """
    cat = catalog or default_catalog()
    profiles = cat.profiles if profiles is None else profiles
    raws = read_measured(path)
    out_rows = []
    for raw, picked in zip(raws, pick_rows(raws, cat, profiles, progress), strict=True):
        row: dict[str, Any] = dict(raw)
        row["kind"] = row_kind(raw)
        row["status"] = "skipped"
        try:
            pred = prediction_of(picked)
        except TokenFrontierError as exc:
            row["skipped_reason"] = str(exc)
            out_rows.append(row)
            continue
        except (ValueError, ArithmeticError, KeyError, TypeError) as exc:  # one bad row, not all
            row["skipped_reason"] = f"could not predict this row ({type(exc).__name__}: {exc})"
            out_rows.append(row)
            continue
        if not pred.feasible:
            row["skipped_reason"] = f"infeasible: {pred.explanation}"
            out_rows.append(row)
            continue
        row["status"] = "predicted"
        row["pred_chips"] = pred.chips
        row["pred_concurrency"] = pred.pools[0]["concurrency_per_worker"] if pred.pools else None
        row["pred_deployment"] = pred.deployment
        row["profile"] = pred.profile
        row["binding"] = pred.binding_constraint
        for col, pred_col, attr, scale0 in METRICS:
            value = getattr(pred, attr)
            scale = scale0 * _per_decode_gpu(raw, pred, attr)
            row[pred_col] = None if value is None else value * scale
            meas = cell_number(raw, col)
            row[f"ape_{col}"] = _ape(row[pred_col], meas)
            if attr in pred.intervals and meas is not None:
                lo, hi = (b * scale for b in pred.intervals[attr])
                row[f"{pred_col}_low"], row[f"{pred_col}_high"] = lo, hi
                row[f"in_interval_{col}"] = bool(lo <= meas <= hi)
        row["interval_level"] = pred.interval_level
        out_rows.append(row)
    summary = {
        "overall": error_stats(out_rows),
        "by_kind": {
            k: error_stats(r for r in out_rows if r["kind"] == k)
            for k in ("serving", "max-throughput", "single-stream", "disaggregated")
            if any(r["kind"] == k for r in out_rows)
        },
        # the groups of the profile fallback chain the 80% intervals come from (tokenfrontier.intervals)
        "by_interval_level": {
            lvl: error_stats(r for r in out_rows if r.get("interval_level") == lvl)
            for lvl in sorted({r["interval_level"] for r in out_rows if r.get("interval_level")})
        },
        "by_hardware_model": {
            f"{h} x {m}": error_stats(r for r in out_rows if (r["hardware"], r["model"]) == (h, m))
            for h, m in sorted({(r["hardware"], r["model"]) for r in out_rows})
        },
    }
    return Validation(tuple(out_rows), summary)


def _per_decode_gpu(raw: dict[str, str], pred: Prediction, attr: str) -> float:
    """disagg.csv states output tok/s per *decode* GPU (tok_s_per_gpu = output x (ISL + OSL) /
    OSL x decode GPUs / all GPUs, to 0.2% on every row), while a prediction's per-chip figures
    count both pools: the factor that turns the prediction into the row's convention."""
    if attr != "output_tok_s_per_chip" or row_kind(raw) != "disaggregated" or len(pred.pools) < 2:
        return 1.0
    return pred.chips / max(pred.pools[0]["chips"], 1)


def validate_rows(
    rows: list[dict[str, str]], cat: Catalog, profiles: dict[str, Profile]
) -> list[dict[str, Any]]:
    """The feasible rows with their absolute percentage errors (rows that cannot be predicted
    by a :class:`TokenFrontierError` are left out)."""
    out = []
    for raw, picked in zip(rows, pick_rows(rows, cat, profiles), strict=True):
        row: dict[str, Any] = dict(raw)
        if isinstance(picked, TokenFrontierError):
            continue
        pred = prediction_of(picked)
        if not pred.feasible:
            continue
        for col, _pred_col, attr, scale0 in METRICS:
            value = getattr(pred, attr)
            scale = scale0 * _per_decode_gpu(raw, pred, attr)
            row[f"ape_{col}"] = _ape(None if value is None else value * scale, cell_number(raw, col))
        out.append(row)
    return out
