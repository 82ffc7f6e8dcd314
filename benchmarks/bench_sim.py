"""Speed of the request-level simulator (run by hand, not in CI).

    python benchmarks/bench_sim.py [--requests 200000] [--agentic 1000000]

1. simulated requests per second of wall time: a closed loop of 256 users, ISL/OSL 1k/1k, on
   one DGX H100 (llama-3.1-8b, the deployment the simulator picks: TP8), prefix cache off;
   best of 3 (``tokenfrontier.simulate`` end to end: workload, step table, engine, summary).
2. a 1-million-request agentic-coding trace (``tokenfrontier.sim.agentic``, when installed):
   wall time to generate it and to simulate it on Llama 4 Maverick (1M-token context: the
   agentic prompts reach ~1M tokens), 2 x 24-wafer CS-3 copies (``--replicas``; the README's
   worked example: the fewest wafers that keep up with this stream at its P99 SLO).
3. peak resident memory of the process (``resource.getrusage``): here the per-request table is
   kept in memory; ``benchmarks/bench_sim_memory.py`` measures runs that stream it to a file.

Issue 10's targets: >= 50,000 simulated requests/s; 1M agentic requests in < 60 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import resource
import sys
import time
from typing import Any

import tokenfrontier as tf


def closed_loop(requests: int) -> tuple[float, float]:
    """(best wall seconds, simulated requests per second)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        sim = tf.simulate("llama-3.1-8b", "dgx-h100", workload="closed", isl=1024, osl=1024, concurrency=256,
                          requests=requests, prefix_cache=False)  # fmt: skip
        best = min(best, time.perf_counter() - t0)
        assert sim.summary["completed"] == requests
    return best, requests / best


def agentic(requests: int, replicas: int) -> tuple[float, float, Any] | None:
    """(generate seconds, simulate seconds, summary) or None without the generator."""
    if importlib.util.find_spec("tokenfrontier.sim.agentic") is None:
        return None
    from tokenfrontier.sim.agentic import agentic as generate

    t0 = time.perf_counter()
    req = generate(requests=requests, seed=0)
    t1 = time.perf_counter()
    sim = tf.simulate("llama-4-maverick-17b-128e", "cs-3", workload=req, tp=1, pp=24,
                      replicas=replicas)  # fmt: skip
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, sim


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss / 1e3  # bytes on macOS, KiB elsewhere


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="closed-loop requests (200,000)")
    parser.add_argument(
        "--agentic", type=int, default=1_000_000, help="agentic requests (1,000,000; 0 skips)"
    )
    parser.add_argument("--replicas", type=int, default=2, help="CS-3 copies for the agentic run (2)")
    opts = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    secs, rate = closed_loop(opts.requests)
    print(f"closed loop 1k/1k, 256 users, llama-3.1-8b on dgx-h100: {opts.requests:,} requests in "
          f"{secs:.2f} s = {rate:,.0f} simulated requests/s (target >= 50,000)")  # fmt: skip
    print(f"peak memory after the closed loop: {peak_rss_mb():,.0f} MB")
    found = agentic(opts.agentic, opts.replicas) if opts.agentic > 0 else None
    if opts.agentic <= 0:
        print("agentic: skipped (--agentic 0)")
    elif found is None:
        print("agentic: tokenfrontier.sim.agentic is not installed; skipped")
    else:
        gen, run, sim = found
        s = sim.summary
        d = sim.deployment
        print(f"agentic coding, {opts.agentic:,} requests ({sim.workload}), {sim.model} on cs-3 "
              f"{d['replicas']} x TP{d['tp']} PP{d['pp']}: generate {gen:.1f} s + simulate {run:.1f} s = "
              f"{gen + run:.1f} s (target < 60 s); {s['completed']:,} completed, "
              f"{s['cache']['cached_token_share']:.1%} of prompt tokens from cache, P99 TTFT "
              f"{s['ttft_s']['p99'] * 1e3:,.0f} ms, P99 TPOT {s['tpot_s']['p99'] * 1e3:,.1f} ms")  # fmt: skip
        print(f"peak memory: {peak_rss_mb():,.0f} MB")
