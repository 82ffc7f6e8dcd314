"""Out-of-sample check of the SRAM single-stream physics (issue 11): fit on one SRAM machine,
predict the other.

    python benchmarks/sram_holdout.py          # fit on the SRAM rows of the split (seconds)
    python benchmarks/sram_holdout.py --all    # fit on every other row too (GPU rows: slower)

Splits on the bundled ``calibration`` rows:

(a) every row except Groq's -> predict the Groq rows (the wafer's fit and the LPU's catalog
    facts: chips a deployment needs from 230 MB of SRAM, chip crossings at the hop latency);
(b) every row except CS-3's -> predict the CS-3 rows;
(c) CS-3 Llama 3.1 8B only -> predict CS-3 Llama 3.1 70B (an unseen model on the wafer).

Only the profiles fitted on the split's rows predict (no bundled profile), and a held-out row
whose stack no fitted profile knows is asked for with its stack left open (the memory kind's
default of the row's software era), as ``benchmarks/crossval.py`` does. GPU rows do not inform
an SRAM prediction (the SRAM defaults derive from SRAM profiles only), so by default only the
SRAM rows are fitted; ``--all`` fits every row of the split. Prints the APE of tok/s per user
per held-out row, the predicted/measured ratio, and the median APE per split.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from tokenfrontier.calibration import calibrate
from tokenfrontier.profiles import canonical_framework, known_frameworks
from tokenfrontier.validation import read_measured, validate

Row = dict[str, str]
SRAM = ("cs-3", "groq-lpu1")


def _write(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def split(rows: list[Row], fit: Callable[[Row], bool], test: Callable[[Row], bool], name: str) -> float:
    """Fit ``calibrate`` on the rows ``fit`` keeps, predict the rows ``test`` keeps; print each
    held-out row and return the median APE (%) of tok/s per user."""
    with tempfile.TemporaryDirectory() as tmp:
        _write([r for r in rows if fit(r)], Path(tmp) / "fit.csv")
        profiles = {p.id: p for p in calibrate(Path(tmp) / "fit.csv", Path(tmp) / "prof")}
        stacks = known_frameworks(profiles)
        held = [dict(r) for r in rows if test(r)]
        for r in held:
            if canonical_framework(r["framework"]) not in stacks:
                r["framework"] = "default"  # a stack no fitted profile knows: left open
        _write(held, Path(tmp) / "test.csv")
        v = validate(Path(tmp) / "test.csv", profiles=profiles)
    print(f"\n{name}")
    apes = []
    for raw, pred in zip(held, v.rows, strict=True):
        label = f"  {raw['hardware']:<10} {raw['model']:<27} {raw['date'] or 'undated':<10}"
        value = pred.get("pred_tok_s_per_user")
        if pred.get("status") != "predicted" or not value:
            print(f"{label} not predicted: {pred.get('reason', pred.get('status'))}")
            continue
        meas = float(raw["tok_s_per_user"])
        ape = abs(value / meas - 1) * 100
        apes.append(ape)
        print(
            f"{label} measured {meas:7.0f}  predicted {value:7.0f}  x{value / meas:5.2f}  "
            f"APE {ape:5.1f}%  ({pred['profile']})"
        )
    med = statistics.median(apes) if apes else float("nan")
    print(f"  median APE {med:.1f}% over {len(apes)} rows")
    return med


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="fit on every row of the split, GPU rows too")
    args = ap.parse_args(argv)
    rows = read_measured("calibration")
    keep: Callable[[Row], bool] = (lambda r: True) if args.all else (lambda r: r["hardware"] in SRAM)

    def on(hw: str) -> Callable[[Row], bool]:
        return lambda r: r["hardware"] == hw

    split(rows, lambda r: keep(r) and not on("groq-lpu1")(r), on("groq-lpu1"), "(a) fit without Groq -> Groq")
    split(rows, lambda r: keep(r) and not on("cs-3")(r), on("cs-3"), "(b) fit without CS-3 -> CS-3")
    split(
        rows,
        lambda r: on("cs-3")(r) and r["model"] == "llama-3.1-8b",
        lambda r: on("cs-3")(r) and r["model"] == "llama-3.1-70b",
        "(c) fit CS-3 Llama 3.1 8B -> CS-3 Llama 3.1 70B",
    )


if __name__ == "__main__":
    main()
