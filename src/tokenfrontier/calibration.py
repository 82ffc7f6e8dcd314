"""Measured data: ``validate`` predicts each row of a measured CSV without fitting anything;
``calibrate`` fits the few physical parameters of one efficiency profile per hardware family x
serving stack and writes them as TOML, each stating the rows it was fitted on and the error.

CSV schema (``shared/data/measured/calibration.csv``): model, hardware, framework, precision,
tp, ep, isl, osl, concurrency, tok_s_per_gpu, output_tok_s_per_gpu, tok_s_per_user, ttft_ms,
tpot_ms, date, source. Serving rows use lengths uniform in [0.8 L, L]; rows with empty ``tp``
are single-stream vendor speeds and use the deployment ``predict`` would choose.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .api import get_model, get_system
from .catalog import CATALOG_DIR, Catalog, default_catalog
from .errors import InvalidInputError, TokenFrontierError
from .predict import Prediction, predict_one
from .profiles import Profile, resolve_profile
from .results import Result, render_table
from .serving import Workload

__all__ = ["METRICS", "Validation", "calibrate", "read_measured", "validate"]

BUNDLED_CALIBRATION = CATALOG_DIR / "measured" / "calibration.csv"
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

    ``calibration`` names the bundled calibration set (a copy of
    ``shared/data/measured/calibration.csv``).
    """
    path = Path(path)
    if str(path) == "calibration" and not path.exists():
        path = BUNDLED_CALIBRATION
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read measured CSV: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInputError(
            f"{path}: measured CSV lacks column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    rows = list(reader)
    if not rows:
        raise InvalidInputError(f"{path}: measured CSV has no rows")
    return rows


def _num(row: dict[str, str], key: str) -> float | None:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise InvalidInputError(f"column '{key}': cannot read {v!r} as a number") from None
    return x if math.isfinite(x) else None


def _weights(model: str, precision: str) -> str:
    p = precision.strip().lower()
    if p == "fp4" and model.startswith("gpt-oss"):
        return "native"  # gpt-oss's own MXFP4 checkpoint
    if p in ("fp4", "nvfp4"):
        return "fp4"
    if p in ("fp8", "bf16", "fp16", "mxfp4", "int8"):
        return p
    raise InvalidInputError(f"precision '{precision}' unknown; valid: fp4, fp8, bf16, mxfp4")


def predict_row(
    row: dict[str, str], catalog: Catalog, profiles: dict[str, Profile] | None = None
) -> Prediction:
    """Predict one measured row with the deployment it states (or predict's choice)."""
    model, hw = row["model"].strip(), row["hardware"].strip()
    arch = get_model(model, catalog)
    system = get_system(hw, catalog)
    tp = _num(row, "tp")
    ep = _num(row, "ep")
    isl, osl = _num(row, "isl"), _num(row, "osl")
    single = tp is None
    if isl is None or osl is None:
        isl, osl = _DEFAULT_SINGLE_STREAM
    workload = Workload(int(isl), int(osl), 1.0 if single else 0.8)
    conc = int(_num(row, "concurrency") or 1)
    prof = resolve_profile(system.chip, row["framework"], profiles)
    tp_i = int(tp) if tp else None
    ep_i = int(ep) if ep else None
    if tp_i and ep_i and (ep_i > tp_i or tp_i % ep_i):
        ep_i = tp_i if ep_i > tp_i else 1  # attention-DP layouts: experts over the TP group
    kw: dict[str, Any] = dict(
        weights=_weights(model, row["precision"]),
        kv_dtype="fp8" if arch.model_type == "deepseek_v4" else "bf16",
        workload=workload,
        tp=tp_i,
        ep=ep_i,
        pp=1 if tp_i else None,
        profile=prof,
    )
    pred = predict_one(arch, system, concurrency=conc, **kw)
    if pred.feasible or pred.binding_constraint != "kv_capacity" or conc == 1:
        return pred
    return _queued(arch, system, conc, workload, kw) or pred


def _queued(arch: Any, system: Any, conc: int, workload: Workload, kw: dict[str, Any]) -> Prediction | None:
    """A server whose KV holds only b < C requests runs b and queues the rest: throughput and
    TPOT are those at b; TTFT adds the wait, (C / b - 1) request times."""
    lo, hi, best = 1, conc - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        p = predict_one(arch, system, concurrency=mid, **kw)
        if p.feasible:
            best, lo = (mid, p), mid + 1
        else:
            hi = mid - 1
    if best is None:
        return None
    b, p = best
    assert p.ttft_s is not None and p.tpot_s is not None
    request_s = p.ttft_s + (workload.osl_mean - 1) * p.tpot_s
    note = f"KV holds {b} of {conc} requests; the server runs {b} and queues the rest"
    return replace(p, ttft_s=p.ttft_s + (conc / b - 1) * request_s, notes=(*p.notes, note))


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

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def __str__(self) -> str:
        head = ("group", "rows", "metric", "median APE %", "mean APE %")
        out = []
        groups = [
            ("all rows", self.summary["overall"]),
            *self.summary["by_kind"].items(),
            *self.summary["by_hardware_model"].items(),
        ]
        for group, stats in groups:
            for metric, s in stats.items():
                out.append((group, s["n"], metric, s["median_ape_pct"], s["mean_ape_pct"]))
        skipped = sum(1 for r in self.rows if r.get("skipped_reason"))
        return f"validation: {len(self.rows)} rows, {skipped} skipped, no parameter fitted\n" + render_table(
            head, out
        )


def _stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
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
    return out


def validate(
    path: str | Path,
    catalog: Catalog | None = None,
    profiles: dict[str, Profile] | None = None,
) -> Validation:
    """Predict every row of a measured CSV with the bundled profiles; nothing is fitted."""
    cat = catalog or default_catalog()
    out_rows = []
    for raw in read_measured(path):
        row: dict[str, Any] = dict(raw)
        row["kind"] = "single-stream" if not (raw.get("tp") or "").strip() else "serving"
        try:
            pred = predict_row(raw, cat, profiles)
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
        row["pred_chips"] = pred.chips
        row["pred_deployment"] = pred.deployment
        row["profile"] = pred.profile
        for col, pred_col, attr, scale in METRICS:
            value = getattr(pred, attr)
            row[pred_col] = None if value is None else value * scale
            row[f"ape_{col}"] = _ape(row[pred_col], _num(raw, col))
        out_rows.append(row)
    summary = {
        "overall": _stats(out_rows),
        "by_kind": {
            k: _stats(r for r in out_rows if r["kind"] == k)
            for k in ("serving", "single-stream")
            if any(r["kind"] == k for r in out_rows)
        },
        "by_hardware_model": {
            f"{h} x {m}": _stats(r for r in out_rows if (r["hardware"], r["model"]) == (h, m))
            for h, m in sorted({(r["hardware"], r["model"]) for r in out_rows})
        },
    }
    return Validation(tuple(out_rows), summary)


# -- calibration ---------------------------------------------------------------------------

#: Starting point of every fit (a prior, not a fitted value): typical GPU serving stack and a
#: dataflow machine with microsecond-scale per-layer latency.
_PRIORS: dict[str, dict[str, Any]] = {
    "hbm": dict(
        bandwidth_efficiency=0.8, flops_efficiency=0.4, decode_flops_efficiency=0.2,
        kernel_latency_s=5e-6, collective_latency_s=10e-6, step_overhead_s=1e-3,
        request_overhead_s=0.02, memory_utilization=0.9,
    ),
    "sram": dict(
        bandwidth_efficiency=0.8, flops_efficiency=0.3, decode_flops_efficiency=0.3,
        kernel_latency_s=1e-6, layer_latency_s_per_sqrt_gb=10e-6, collective_latency_s=1e-6,
        step_overhead_s=50e-6, request_overhead_s=0.0, memory_utilization=0.95,
    ),
}  # fmt: skip

_PRIOR_WEIGHT = 0.3  # per parameter, against one log-error residual per measured metric

_HBM_PARAMS = (
    ("bandwidth_efficiency", 0.3, 1.0),
    ("flops_efficiency", 0.05, 1.0),
    ("kernel_latency_s", 0.0, 50e-6),
    ("collective_latency_s", 0.0, 200e-6),
    ("step_overhead_s", 0.0, 20e-3),
    ("decode_flops_efficiency", 0.005, 1.0),
    ("request_overhead_s", 0.0, 0.1),
)
_SRAM_PARAMS = (
    ("kernel_latency_s", 0.0, 50e-6),
    ("layer_latency_s_per_sqrt_gb", 0.0, 200e-6),
)


def _residuals(rows: list[dict[str, str]], cat: Catalog, prof: Profile) -> np.ndarray:
    res = []
    for raw in rows:
        try:
            pred = predict_row(raw, cat, {prof.id: prof})
        except TokenFrontierError:
            continue
        for col, _, attr, scale in METRICS[:2] + METRICS[3:4]:
            meas = _num(raw, col)
            value = getattr(pred, attr) if pred.feasible else None
            if meas and meas > 0:
                weight = 0.5 if col == "ttft_ms" else 1.0
                p = value * scale if value else meas * 10
                res.append(weight * math.log(p / meas))
    return np.array(res)


def calibrate(path: str | Path, out_dir: str | Path, catalog: Catalog | None = None) -> list[Profile]:
    """Fit one profile per (hardware family, framework) present in ``path``; write TOML."""
    from scipy.optimize import least_squares

    cat = catalog or default_catalog()
    rows = read_measured(path)
    if str(path) == "calibration" and not Path(path).exists():
        path = BUNDLED_CALIBRATION
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for r in rows:
        chip = cat.chip(r["hardware"].strip())
        groups.setdefault((chip.family, chip.kind, r["framework"].strip()), []).append(r)
    written = []
    for (family, kind, fw), grp in sorted(groups.items()):
        start = Profile(id="prior", families=(), framework="prior", **_PRIORS[kind])
        params = _HBM_PARAMS if kind == "hbm" else _SRAM_PARAMS
        names = [p[0] for p in params]
        lo = np.array([p[1] for p in params])
        hi = np.array([p[2] for p in params])
        x0 = np.clip([getattr(start, n) for n in names], lo + 1e-12, hi - 1e-12)
        scale = np.maximum(hi, 1e-9)

        def make(x: np.ndarray, _start: Profile = start, _fw: str = fw, _fam: str = family,
                 _names: list[str] = names) -> Profile:  # fmt: skip
            upd = dict(zip(_names, (float(v) for v in x), strict=True))
            return _start.model_copy(
                update={**upd, "id": f"{_fam}-{_fw}", "families": (_fam,), "framework": _fw}
            )

        prior = np.array([_PRIORS[kind][n] for n in names])
        floor = 0.01 * hi  # keeps the log prior finite for parameters that may reach 0

        def objective(z: np.ndarray, _g: list = grp, _p: np.ndarray = prior,
                      _f: np.ndarray = floor, _s: np.ndarray = scale) -> np.ndarray:  # fmt: skip
            x = z * _s
            data = _residuals(_g, cat, make(x))
            # weak log-normal prior: only binds a parameter the data cannot identify
            return np.concatenate([data, _PRIOR_WEIGHT * np.log((x + _f) / (_p + _f))])

        fit = least_squares(
            objective,
            x0 / scale,
            bounds=(lo / scale, hi / scale),
            x_scale="jac",
            max_nfev=200,
        )
        prof = make(fit.x * scale)
        errs = _stats(validate_rows(grp, cat, {prof.id: prof}))
        prof = prof.model_copy(
            update={
                "fitted": True,
                "fitted_on": f"{Path(path).name}: {family} x {fw}, "
                + ", ".join(sorted({r["model"] for r in grp})),
                "fit_rows": len(grp),
                "fit_error": {f"{k}_median_ape_pct": v["median_ape_pct"] for k, v in errs.items()},
                "notes": "fitted by `tokenfrontier calibrate`",
            }
        )
        written.append(prof)
    written += _defaults(written)
    for prof in written:  # write only once every fit has succeeded
        _write(prof, Path(out_dir))
    return written


def _defaults(fitted: list[Profile]) -> list[Profile]:
    """Family defaults and memory-kind defaults: geometric means of the fitted profiles."""
    out = []
    by_family: dict[str, list[Profile]] = {}
    for p in fitted:
        by_family.setdefault(p.families[0], []).append(p)
    groups: list[tuple[str, tuple[str, ...], list[Profile]]] = [
        (f"{fam}-default", (fam,), ps) for fam, ps in sorted(by_family.items())
    ]
    hbm = [p for p in fitted if p.layer_latency_s_per_sqrt_gb == 0]
    sram = [p for p in fitted if p.layer_latency_s_per_sqrt_gb > 0]
    groups += [("hbm-default", (), hbm), ("sram-default", (), sram)]
    for pid, families, ps in groups:
        if not ps:
            continue
        fields: dict[str, Any] = {
            name: float(np.exp(np.mean([np.log(max(getattr(p, name), 1e-12)) for p in ps])))
            for name in _PRIORS["sram" if ps[0].layer_latency_s_per_sqrt_gb else "hbm"]
        }
        if not ps[0].layer_latency_s_per_sqrt_gb:
            fields["layer_latency_s_per_sqrt_gb"] = 0.0
        out.append(
            Profile(
                id=pid,
                families=families,
                framework="default",
                **fields,
                fitted=False,
                derived_from=", ".join(p.id for p in ps),
                notes="geometric mean of the fitted profiles it derives from; used for stacks "
                "and families never measured",
            )
        )
    return out


def validate_rows(
    rows: list[dict[str, str]], cat: Catalog, profiles: dict[str, Profile]
) -> list[dict[str, Any]]:
    out = []
    for raw in rows:
        row: dict[str, Any] = dict(raw)
        try:
            pred = predict_row(raw, cat, profiles)
        except TokenFrontierError:
            continue
        if not pred.feasible:
            continue
        for col, _pred_col, attr, scale in METRICS:
            value = getattr(pred, attr)
            row[f"ape_{col}"] = _ape(None if value is None else value * scale, _num(raw, col))
        out.append(row)
    return out


def _write(prof: Profile, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Efficiency profile {prof.id}: written by `tokenfrontier calibrate`."]
    for key, value in prof.model_dump().items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {_toml(value)}")
    lines.append("\n[fit_error]")
    lines += [f"{k} = {v}" for k, v in prof.fit_error.items()]
    path = out_dir / f"{prof.id}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)
