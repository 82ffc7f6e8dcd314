"""Cross-validated residuals -> the 80% prediction intervals every prediction carries.

    python benchmarks/crossval.py            # prints the table, writes catalog/intervals.toml

Residual = log(predicted / measured) of a row the fit did not see, on the bundled measured sets
(calibration.csv + max_throughput.csv + disagg.csv; disaggregated rows pool into their own level):
- each fitted profile: 5-fold cross-validation (rows assigned to folds at random, seed 0);
- ``transfer``: fit one hardware family of a stack, predict another (TensorRT-LLM Hopper <->
  Blackwell);
- ``default``: leave a whole stack out (vLLM, SGLang, TensorRT-LLM) and predict it with the
  defaults of what remains.
The 10th / 90th percentiles per metric become the interval bounds (see
``tokenfrontier.intervals``); the printout also shows median APE and how many held-out rows fall
inside the interval built from the other folds' residuals.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from tokenfrontier.calibration import calibrate
from tokenfrontier.catalog import default_catalog
from tokenfrontier.intervals import INTERVALS_FILE, level_of
from tokenfrontier.validation import read_measured, validate

METRICS = ("tok_s_per_user", "tok_s_per_gpu", "ttft_ms", "tpot_ms")
Residuals = dict[str, dict[str, list[float]]]


def _write(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        names = list(dict.fromkeys(k for r in rows for k in r))  # the three files' columns
        w = csv.DictWriter(fh, fieldnames=names, restval="")
        w.writeheader()
        w.writerows(rows)


def _residuals(
    fit: list[dict[str, str]], test: list[dict[str, str]], out: Residuals, force: str = ""
) -> None:
    if not fit or not test:
        return
    cat = default_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        _write(fit, Path(tmp) / "fit.csv")
        _write(test, Path(tmp) / "test.csv")
        fitted = {p.id: p for p in calibrate(Path(tmp) / "fit.csv", Path(tmp) / "prof")}
        v = validate(Path(tmp) / "test.csv", profiles=fitted)
    for row in v.rows:
        if row.get("status") != "predicted":
            continue
        prof = fitted[row["profile"]]
        level = force or level_of(prof, cat.chip(row["hardware"]))
        if row.get("kind") == "disaggregated" and not force:
            level = "disaggregated"  # the level validate reads for these rows
        for m in METRICS:
            pred, meas = row.get(f"pred_{m}"), row.get(m)
            if pred and meas and float(meas) > 0 and pred > 0:
                out[level][m].append(math.log(pred / float(meas)))


def main() -> None:
    rows = read_measured("measured")
    out: Residuals = defaultdict(lambda: defaultdict(list))
    folds = np.random.default_rng(0).integers(0, 5, len(rows))
    for f in range(5):
        _residuals([r for r, k in zip(rows, folds, strict=True) if k != f],
                   [r for r, k in zip(rows, folds, strict=True) if k == f], out)  # fmt: skip
    trt = [r for r in rows if r["framework"] == "trt"]
    hopper = ("h100", "h200")
    _residuals(
        [r for r in trt if r["hardware"] in hopper], [r for r in trt if r["hardware"] not in hopper], out
    )
    _residuals(
        [r for r in trt if r["hardware"] not in hopper], [r for r in trt if r["hardware"] in hopper], out
    )
    for stack in ("vllm", "sglang", "trt"):
        rest = [r for r in rows if r["framework"] != stack]
        _residuals(rest, [r for r in rows if r["framework"] == stack], out, force="default")
    lines = [
        "# 80% prediction intervals: 10th/90th percentiles of log(predicted / measured), held-out rows.",
        "# Written by `python benchmarks/crossval.py` (see tokenfrontier.intervals).",
        "",
    ]
    print(f"{'level':34s} {'metric':15s} {'n':>4s} {'median APE %':>12s} {'q10':>7s} {'q90':>7s}")
    for level in sorted(out):
        lines.append(f'["{level}"]')
        for m in METRICS:
            r = np.array(out[level][m])
            if not len(r):
                continue
            q10, q90 = np.percentile(r, [10, 90])
            ape = 100 * float(np.median(np.abs(np.exp(r) - 1)))  # |pred - meas| / meas
            print(f"{level:34s} {m:15s} {len(r):4d} {ape:12.1f} {q10:7.3f} {q90:7.3f}")
            lines.append(
                f"{m} = {{ n = {len(r)}, q10 = {q10:.4f}, q90 = {q90:.4f}, median_ape_pct = {ape:.1f} }}"
            )
        lines.append("")
    INTERVALS_FILE.write_text("\n".join(lines))
    print(f"wrote {INTERVALS_FILE}")


if __name__ == "__main__":
    main()
