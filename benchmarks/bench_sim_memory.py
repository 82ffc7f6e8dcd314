"""Memory of the request-level simulator with a streamed per-request table (run by hand).

    python benchmarks/bench_sim_memory.py [--sizes 100000 300000 1000000] [--replicas 2]

Each run is a fresh Python process (so each peak is its own): an agentic-coding stream of N
requests (``workload="agentic"``, generated lazily) on Llama 4 Maverick, ``--replicas`` x
24-wafer CS-3 copies, the per-request table streamed to a Parquet file (``requests_out=``).
Reported per run: wall (and CPU) time of ``tokenfrontier.simulate`` and the peak resident memory of the
process (``resource.getrusage``), and that peak less the process's resident memory just before
the simulation (the libraries imported). Issue 10: memory grows with the requests in flight,
not with the requests simulated; 1M agentic requests in < 60 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import pandas, pyarrow.parquet  # loaded before the baseline: the libraries are not the simulation
import tokenfrontier as tf
from tokenfrontier.sim import agentic, engine, run, stream  # noqa: F401

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e3
    return float("nan")

n, replicas, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = rss_mb()
t0, c0 = time.perf_counter(), time.process_time()
sim = tf.simulate("llama-4-maverick-17b-128e", "cs-3", workload="agentic", requests=n, tp=1, pp=24,
                  replicas=replicas, requests_out=out)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
s = sim.summary
print(json.dumps({"requests": n, "wall_s": wall, "cpu_s": cpu, "base_mb": base, "peak_mb": peak,
                  "completed": s["completed"],
                  "rows": pyarrow.parquet.ParquetFile(out).metadata.num_rows,
                  "p99_ttft_ms": s["ttft_s"]["p99"] * 1e3, "workload": sim.workload}))
"""


def run(n: int, replicas: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(replicas), f"{tmp}/requests.parquet"],
                              check=True, capture_output=True, text=True)  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--replicas", type=int, default=2, help="CS-3 copies (2)")
    opts = parser.parse_args()
    for n in opts.sizes:
        r = run(n, opts.replicas)
        print(f"agentic {n:>9,} requests, {opts.replicas} x CS-3 (PP24), table streamed to Parquet: "
              f"{r['wall_s']:5.1f} s ({r['cpu_s']:.1f} s CPU), peak RSS {r['peak_mb']:6,.0f} MB "
              f"({r['peak_mb'] - r['base_mb']:+5,.0f} MB over "
              f"the {r['base_mb']:,.0f} MB after imports); {r['rows']:,} rows written, "
              f"P99 TTFT {r['p99_ttft_ms']:,.0f} ms")  # fmt: skip
