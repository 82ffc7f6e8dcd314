"""Out-of-sample check of the disaggregated physics (issue 11): fit ``calibrate`` on every
measured row except one slice of ``disagg.csv``, predict the held-out disaggregated rows.

    python benchmarks/disagg_holdout.py                    # every split below
    python benchmarks/disagg_holdout.py --split mi355x     # one split (one fit, ~a minute)

Splits (each one fit of all three measured sets minus the held-out rows): leave one disaggregated
hardware out (``gb200-nvl72``, ``mi355x``: that platform's disagg rows are not fitted; with the
platform's only stack gone, its rows are predicted from the family's or memory kind's default
profile, as a user would get) and leave one model out (``deepseek-r1``, ``gpt-oss-120b``: that
model's disagg rows). Prints, per split, the median absolute percentage error of each metric over
the held-out rows that could be predicted (and how many rows could not).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tokenfrontier.calibration import calibrate
from tokenfrontier.profiles import canonical_framework, known_frameworks
from tokenfrontier.validation import read_measured, validate

SETS = ("calibration", "max_throughput", "disagg")
METRICS = ("tok_s_per_user", "tok_s_per_gpu", "ttft_ms", "tpot_ms")
SPLITS = {  # name -> (column, value) of the held-out disaggregated rows
    "gb200-nvl72": ("hardware", "gb200-nvl72"),
    "mi355x": ("hardware", "mi355x"),
    "deepseek-r1": ("model", "deepseek-r1"),
    "gpt-oss-120b": ("model", "gpt-oss-120b"),
}


def _write(rows: list[dict[str, str]], path: Path) -> None:
    names = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)


def run_split(name: str) -> dict[str, Any]:
    """Fit without the split's disaggregated rows; median APE per metric on those rows."""
    col, value = SPLITS[name]
    fit: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    for s in SETS:
        for r in read_measured(s):
            held = s == "disagg" and (r.get(col) or "").strip() == value
            (test if held else fit).append(r)
    with tempfile.TemporaryDirectory() as tmp:
        _write(fit, Path(tmp) / "fit.csv")
        profiles = {p.id: p for p in calibrate(Path(tmp) / "fit.csv", Path(tmp) / "prof")}
        stacks = known_frameworks(profiles)
        asked = []
        for r in test:  # a stack no profile knows: the family's default, as a user would get
            r = dict(r)
            if canonical_framework(r.get("framework")) not in stacks:
                r["framework"] = "default"
            asked.append(r)
        _write(asked, Path(tmp) / "test.csv")
        v = validate(Path(tmp) / "test.csv", profiles=profiles)
    out: dict[str, Any] = {"rows": len(test), "skipped": sum(r["status"] != "predicted" for r in v.rows)}
    for m in METRICS:
        errs = [r[f"ape_{m}"] for r in v.rows if r.get(f"ape_{m}") is not None]
        out[m] = round(100 * float(np.median(errs)), 1) if errs else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=sorted(SPLITS), action="append", help="only these splits")
    args = ap.parse_args()
    names = args.split or list(SPLITS)
    print(f"{'held out':<14} {'rows':>5} {'skipped':>7} " + " ".join(f"{m:>15}" for m in METRICS))
    for name in names:
        res = run_split(name)
        cells = " ".join(f"{res[m] if res[m] is not None else '-':>15}" for m in METRICS)
        print(f"{name:<14} {res['rows']:>5} {res['skipped']:>7} {cells}", flush=True)
    print("(median absolute percentage error, %, over the held-out disaggregated rows)")


if __name__ == "__main__":
    main()
