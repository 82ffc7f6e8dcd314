"""Speed of the vectorized core and of a full frontier (run by hand, not in CI).

    python benchmarks/bench_core.py

1. configurations/s: one ``evaluate`` call over N (tp, pp, ep, concurrency) configurations of
   gpt-oss-120b on H200 (serving metrics + step breakdown for every configuration).
2. a frontier of gpt-oss-120b over 11 hardware entries, every parallelism and concurrencies
   1-4096, ISL/OSL 1k/1k (best of 5 runs, wall-clock).
"""

from __future__ import annotations

import time

import numpy as np

import tokenfrontier as tf
from tokenfrontier.scenario import build_scenario
from tokenfrontier.serving import Deployments, Workload, evaluate

HARDWARE = (
    "cs-3,gb300-nvl72,gb200-nvl72,hgx-b200,dgx-b300,dgx-h100,dgx-h200,mi355x,mi300x,"
    "groq-lp30-rack,trn3-ultraserver,tpu-v8i,r200"
)


def configs_per_second(n: int = 200_000) -> float:
    arch = tf.get_model("gpt-oss-120b")
    system = tf.get_system("h200")
    scen = build_scenario(arch, system, framework="vllm")
    rng = np.random.default_rng(0)
    tp = 2.0 ** rng.integers(0, 4, n)
    pp = rng.integers(1, 5, n).astype(float)
    conc = 2.0 ** rng.integers(0, 13, n)
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        deps = Deployments.grid(tp=tp, pp=pp, ep=np.ones(n), concurrency=conc)
        evaluate(scen, deps, Workload(1024, 1024))
        best = min(best, time.perf_counter() - t0)
    return n / best


def frontier_seconds() -> tuple[float, int, int]:
    best, f = np.inf, None
    for _ in range(5):
        t0 = time.perf_counter()
        f = tf.frontier("gpt-oss-120b", HARDWARE, isl=1024, osl=1024)
        best = min(best, time.perf_counter() - t0)
    return best, f.points_evaluated, len(HARDWARE.split(","))  # type: ignore[union-attr]


if __name__ == "__main__":
    print(f"vectorized core: {configs_per_second():,.0f} configurations/s")
    secs, evaluated, n_hw = frontier_seconds()
    print(f"frontier: {n_hw} hardware entries, {evaluated:,} configurations in {secs:.3f} s")
