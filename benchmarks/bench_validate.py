"""Speed of ``tokenfrontier validate`` on a large measured CSV (run by hand, not in CI).

    python benchmarks/bench_validate.py [ROWS]

Builds a CSV of ROWS rows (default 100,000) in a temporary folder by repeating the bundled
calibration rows with perturbations: serving rows get a concurrency drawn from 1..1024 and
ISL/OSL from a few common values (so rows share scenarios and deployments in realistic groups),
every measured number is scaled by a random factor, and one row in a thousand names an unknown
model (a skipped row). Then times ``tokenfrontier validate --measured FILE`` as a whole process
(start-up, reading, predicting, the summary on stdout) and prints rows/s.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tokenfrontier.validation import BUNDLED_CALIBRATION, read_measured

ISL = (1024, 2048, 8192)
OSL = (256, 1024, 2048)
MEASURED = ("tok_s_per_gpu", "output_tok_s_per_gpu", "tok_s_per_user", "ttft_ms", "tpot_ms")


def build_csv(path: Path, n: int, seed: int = 0) -> None:
    base = read_measured(BUNDLED_CALIBRATION)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), n)
    conc = rng.integers(1, 1025, n)
    isl = rng.choice(ISL, n)
    osl = rng.choice(OSL, n)
    scale = rng.uniform(0.7, 1.3, (n, len(MEASURED)))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(base[0]))
        w.writeheader()
        for i in range(n):
            row = dict(base[picks[i]])
            if (row.get("tp") or "").strip():  # serving row; single-stream rows keep their shape
                row.update(concurrency=str(conc[i]), isl=str(isl[i]), osl=str(osl[i]))
            for j, col in enumerate(MEASURED):
                if row.get(col):
                    row[col] = f"{float(row[col]) * scale[i, j]:.4g}"
            if i % 1000 == 999:
                row["model"] = "no-such-model"
            w.writerow(row)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "measured.csv"
        build_csv(path, n)
        cmd = [sys.executable, "-m", "tokenfrontier.views.cli", "validate", "--measured", str(path)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"validate failed ({done.returncode}): {done.stderr.strip()}")
    print(done.stdout.splitlines()[0])
    print(f"validate, {n:,} rows, whole process: {wall:.2f} s = {n / wall:,.0f} rows/s")


if __name__ == "__main__":
    main()
