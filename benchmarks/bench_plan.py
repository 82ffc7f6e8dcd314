"""Speed of capacity planning, serial and on a local process pool (run by hand, not in CI).

    python benchmarks/bench_plan.py [--model llama-3.3-70b] [--on all] [--repeat 3]
                                    [--requests 1000] [--executors serial,process] [--workers N]

``tokenfrontier.plan`` for one model on every catalog system (11 entries) and one SLO: 10 QPS
Poisson, ISL/OSL 2,000/300, P99 TTFT <= 2 s, P99 TPOT <= 50 ms, 1,000 requests per simulation,
3 finalists per hardware (the README's ``plan`` example). Each run is a fresh interpreter, as
the command is (cold caches; the time excludes importing the package): the analytic sweep of
every deployment x batch cap, then the simulated confirmation with replica stepping. Best of
``--repeat`` per executor (runs alternate between executors so load drifts hit both alike),
the CPU seconds it used (median; with its worker processes), and a check that every executor's
plan is the same. The default executor (``api_plan.PROCESS_FROM``) is picked from these timings.

Issue 13's target: under 30 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RUN = """
import hashlib, json, os, time
import tokenfrontier as tf
c0, t0 = os.times(), time.perf_counter()
r = tf.plan({model!r}, {on!r}, qps=10, isl=2000, osl=300, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05,
            requests={requests!r}, executor={kind!r}, workers={workers!r})
s, c1 = time.perf_counter() - t0, os.times()
cpu = sum(c1[:4]) - sum(c0[:4])  # user + system, this process and its workers
d = r.to_dict()
same = {{k: v for k, v in d.items() if k not in ("executor", "workers", "executor_reason")}}
digest = hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()[:12]
sims = sum(f["simulations"] for f in r.fleets)
print(json.dumps({{"s": s, "cpu": cpu, "workers": r.workers, "digest": digest, "sims": sims,
                  "hardware": len(r.fleets) + len(r.infeasible)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama-3.3-70b")
    ap.add_argument("--on", default="all", help="hardware ids, comma-separated, or all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=1000, help="requests per simulation (default 1000)")
    ap.add_argument("--executors", default="serial,process", help="comma-separated: serial, process, ray")
    ap.add_argument("--workers", type=int, default=None, help="process / Ray workers (default: all cores)")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.executors.split(",") if k.strip()]
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for _ in range(args.repeat):
        for kind in kinds:
            code = RUN.format(model=args.model, on=args.on, kind=kind, requests=args.requests,
                              workers=None if kind == "serial" else args.workers)  # fmt: skip
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 check=True).stdout  # fmt: skip
            runs[kind].append(json.loads(out.strip().splitlines()[-1]))
    first = runs[kinds[0]][0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(
        f"plan {args.model} on {first['hardware']} hardware entries, one SLO, {args.requests:,} requests per "
        f"simulation ({first['sims']} simulations for the chosen fleets; target < 30 s); a fresh "
        f"interpreter per run, best of {args.repeat}:"
    )
    base = min(r["s"] for r in runs[kinds[0]])
    for kind in kinds:
        times = sorted(r["s"] for r in runs[kind])
        w = runs[kind][0]["workers"]
        mid, cpu = times[len(times) // 2], sorted(r["cpu"] for r in runs[kind])[len(times) // 2]
        print(f"  {kind:8s} {w:3d} worker{'s' * (w != 1):1s}  best {times[0]:6.2f} s, median {mid:6.2f} s "
              f"({base / times[0]:.2f}x {kinds[0]}), CPU {cpu:.2f} s")  # fmt: skip
    digests = {r["digest"] for rs in runs.values() for r in rs}
    print(f"plans identical across executors and runs: {len(digests) == 1}")


if __name__ == "__main__":
    main()
