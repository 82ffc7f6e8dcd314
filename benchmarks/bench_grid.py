"""Speed of ``tokenfrontier sweep`` (run by hand, not in CI; issue 13's figures).

    python benchmarks/bench_grid.py [--repeats 3]

1. analytic cells per second on one core (wall, and per CPU second, which a busy machine does
   not distort): a ``predict`` grid (2 models x 3 HBM systems x 2
   weight dtypes x 2 serving policies x 2 workloads x 128 concurrencies = 6,144 cells) through
   the serial executor, end to end: grid validation, batched evaluation (one vectorized sweep
   per model x hardware x options) and the Parquet store. Best of ``--repeats``.
2. a 200-cell ``simulate`` sweep (llama-3.1-8b on 2 systems x 2 workloads x 50 concurrencies,
   1,000 requests a cell) on 2 local processes vs serial, run in turn (serial, process, serial,
   ...) so drift on a shared machine hits both; the median of the pairwise ratios.

Each timed run writes into a fresh folder (nothing is skipped). The process pool is started
inside the timed region, as ``tokenfrontier sweep`` does.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tokenfrontier.grid import evaluate_cell, load_grid, sweep_grid

ANALYTIC: dict[str, Any] = {
    "command": "predict",
    "models": ["llama-3.1-70b", "qwen3-30b-a3b"],
    "hardware": ["dgx-h100", "dgx-h200", "dgx-b300"],
    "weights": ["native", "fp8"],
    "policies": ["closed-loop", "queued"],
    "concurrency": list(range(1, 513, 4)),
    "workloads": [{"name": "chat", "isl": 1024, "osl": 256}, {"name": "rag", "isl": 8192, "osl": 512}],
}
SIMULATE: dict[str, Any] = {
    "command": "simulate",
    "models": ["llama-3.1-8b"],
    "hardware": ["dgx-h100", "dgx-b300"],
    "concurrency": list(range(4, 204, 4)),
    "workloads": [{"name": "chat", "isl": 1024, "osl": 256}, {"name": "rag", "isl": 4096, "osl": 256}],
    "simulate": {"requests": 1000},
}


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(grid: Any, root: Path, tag: str, **kw: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one sweep into a fresh folder."""
    out = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=root))
    c0, t0 = _cpu_s(), time.perf_counter()
    run = sweep_grid(grid, out / "results", progress=False, **kw)
    dt, cpu = time.perf_counter() - t0, _cpu_s() - c0
    assert run.computed == run.cells and run.failed == 0, run
    return dt, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        analytic = load_grid(ANALYTIC)
        _timed(analytic, root, "warm", executor_kind="serial")  # imports, catalog, scenario caches
        runs = [_timed(ANALYTIC, root, "a", executor_kind="serial") for _ in range(args.repeats)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        n = len(analytic.cells)
        print(f"analytic: {n:,} predict cells, serial (1 core), end to end (best of {args.repeats}): "
              f"{wall:.3f} s wall = {n / wall:,.0f} cells/s; {cpu:.3f} CPU s = {n / cpu:,.0f} cells per "
              "CPU second")  # fmt: skip

        sim = load_grid(SIMULATE)
        for c in sim.cells[:: len(SIMULATE["concurrency"])]:  # warm each model x hardware x workload
            evaluate_cell(c)
        serial, procs = [], []
        for _ in range(args.repeats):
            serial.append(_timed(sim, root, "s", executor_kind="serial"))
            procs.append(_timed(sim, root, "p", executor_kind="process", workers=2))
        ratios = [s[0] / p[0] for s, p in zip(serial, procs, strict=True)]
        med = statistics.median
        print(f"simulate: {len(sim.cells)} cells, serial {med(s[0] for s in serial):.2f} s, "
              f"2 processes {med(p[0] for p in procs):.2f} s (medians of {args.repeats}); "
              f"speed-up {med(ratios):.2f}x (median of paired ratios "
              f"{', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
        cpu_s, cpu_p = med(s[1] for s in serial), med(p[1] for p in procs)
        print(f"  CPU seconds: serial {cpu_s:.2f}, 2 processes {cpu_p:.2f} (parent + workers); on 2 "
              f"idle cores the pool's bound is 2 x {cpu_s:.2f} / {cpu_p:.2f} = "
              f"{2 * cpu_s / cpu_p:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
