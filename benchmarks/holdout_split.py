"""Out-of-sample check on the bundled measured sets: fit on one slice, validate on the rest.

    python benchmarks/holdout_split.py

Splits: fit vLLM on H100 rows -> validate H200 rows (an unseen GPU); fit vLLM on ISL/OSL
1k/1k + 1k/8k -> validate 8k/1k rows (an unseen workload shape); fit CS-3 on Llama 3.1 8B ->
validate Llama 3.1 70B (an unseen model on the wafer); on the TensorRT-LLM maximum-throughput
tables: fit Hopper -> validate Blackwell (an unseen generation), fit Llama 3.1 -> validate Llama 4
Scout (an unseen MoE model). Bundled profiles fitted on the same stack are dropped first, so no
test row informs the prediction. Prints median APEs. The systematic splits of issue 11 (leave
one hardware / model / stack out, fit old -> predict new, over all three measured sets, with
nested 80% intervals) are in ``benchmarks/crossval.py``.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from tokenfrontier.calibration import calibrate
from tokenfrontier.profiles import load_profiles
from tokenfrontier.validation import read_measured, validate


def _write(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def split(rows, fit_pred, name: str) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        fit = [r for r in rows if fit_pred(r)]
        test = [r for r in rows if not fit_pred(r)]
        _write(fit, Path(tmp) / "fit.csv")
        _write(test, Path(tmp) / "test.csv")
        fitted = {p.id: p for p in calibrate(Path(tmp) / "fit.csv", Path(tmp) / "prof")}
        stacks = {r["framework"] for r in rows}
        # bundled profiles that saw any row of these stacks (and every derived default) go
        kept = {k: p for k, p in load_profiles().items() if p.framework not in stacks and p.fitted}
        profiles = {**kept, **fitted}
        v = validate(Path(tmp) / "test.csv", profiles=profiles)
        s = v.summary["overall"]
        print(
            f"{name}: fit {len(fit)} rows, test {len(test)} rows: "
            + ", ".join(
                f"{k} {s[k]['median_ape_pct']}%" for k in ("tok_s_per_user", "tok_s_per_gpu") if k in s
            )
        )


def main() -> None:
    rows = read_measured("calibration")
    vllm = [r for r in rows if r["framework"] == "vllm"]
    split(vllm, lambda r: r["hardware"] == "h100", "fit H100 -> test H200")
    split(vllm, lambda r: r["hardware"] == "h200", "fit H200 -> test H100")
    split(vllm, lambda r: r["isl"] != "8192", "fit 1k-prompt rows -> test 8k-prompt rows")
    cs3 = [r for r in rows if r["hardware"] == "cs-3"]
    split(cs3, lambda r: r["model"] == "llama-3.1-8b", "fit CS-3 Llama 8B -> test CS-3 Llama 70B")
    trt = read_measured("max_throughput")
    split(
        trt, lambda r: r["hardware"] in ("h100", "h200"), "TRT max throughput: fit Hopper -> test Blackwell"
    )
    split(
        trt,
        lambda r: r["hardware"] in ("b200", "gb200-nvl72"),
        "TRT max throughput: fit Blackwell -> test Hopper",
    )
    split(
        trt,
        lambda r: r["model"].startswith("llama-3.1"),
        "TRT max throughput: fit Llama 3.1 -> test Llama 4 Scout",
    )


if __name__ == "__main__":
    main()
