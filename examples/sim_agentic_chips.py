"""Chips needed to serve one agentic-coding stream at a P99 SLO, with and without the prefix
cache (the README's worked example; needs ``tokenfrontier.sim.agentic``).

    python examples/sim_agentic_chips.py [--requests 50000] [--ttft-ms 2000] [--tpot-ms 20]

For each hardware, deployments are tried in order of chips (TP x PP x replicas) and the first
whose simulated P99 TTFT and P99 TPOT meet the limits, with every request completed, is kept.
Each row prints the ``tokenfrontier simulate`` command that reproduces it.
About 20 minutes on a 2-core machine (the searches that find nothing try every deployment up
to 256 chips). Use enough requests for the stream to reach steady state: sessions grow turn by
turn, and a 5,000-request run (~2,000 simulated seconds) ends before the long contexts pile up.
"""

from __future__ import annotations

import argparse
from typing import Any

import tokenfrontier as tf
from tokenfrontier.catalog import default_catalog
from tokenfrontier.errors import InvalidInputError

MODEL = "llama-4-maverick-17b-128e"  # 1M-token context: the agentic prompts reach ~1M tokens
#: (TP, PP) per model copy tried on each hardware; copies are then replicated
SPACES: dict[str, list[tuple[int, int]]] = {
    "cs-3": [(1, pp) for pp in range(1, 65)],
    "cs-3-10x-io": [(1, pp) for pp in range(1, 65)],
    "gb300-nvl72": [(tp, pp) for tp in (1, 2, 4, 8, 16, 36, 72) for pp in (1, 2, 3, 4) if tp * pp <= 72],
    "hgx-b200": [(tp, pp) for tp in (1, 2, 4, 8) for pp in (1, 2, 3, 4)],
}
MAX_CHIPS = 256


def smallest(
    model: str, hw: str, cache: bool, n: int, ttft: float, tpot: float, catalog: Any
) -> tuple[Any, dict[str, int]] | None:
    options = sorted((tp * pp * r, r, tp, pp) for tp, pp in SPACES[hw] for r in range(1, MAX_CHIPS + 1)
                     if tp * pp * r <= MAX_CHIPS)  # fmt: skip
    for _, reps, tp, pp in options:
        try:
            sim = tf.simulate(model, hw, workload="agentic", requests=n, prefix_cache=cache, replicas=reps,
                              tp=tp, pp=pp, slo_ttft_s=ttft, slo_tpot_s=tpot, catalog=catalog)  # fmt: skip
        except InvalidInputError:  # this deployment cannot hold the weights and one request
            continue
        s = sim.summary
        if s["completed"] == s["requests"] and s["ttft_s"]["p99"] <= ttft and s["tpot_s"]["p99"] <= tpot:
            return sim, {"tp": tp, "pp": pp, "replicas": reps}
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--ttft-ms", type=float, default=2000.0)
    parser.add_argument("--tpot-ms", type=float, default=20.0)
    opts = parser.parse_args()
    catalog = default_catalog().with_paths(["examples/whatif"])
    print("| hardware | prefix cache | chips (replicas x TP x PP) | P50 / P99 TTFT (ms) | P99 TPOT (ms) "
          "| prompt tokens from cache | requests hitting KVSS | KV reload time (s, all requests) "
          "| output tok/s per chip |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for hw in SPACES:
        for cache in (True, False):
            found = smallest(
                opts.model, hw, cache, opts.requests, opts.ttft_ms / 1e3, opts.tpot_ms / 1e3, catalog
            )
            if found is None:
                print(f"| {hw} | {'on' if cache else 'off'} | none up to {MAX_CHIPS} chips | | | | | | |")
                continue
            sim, d = found
            s = sim.summary
            kvss = s["cache"]["tiers"].get("kvss", {}).get("request_hit_rate")
            dep = f"{d['replicas']} x TP{d['tp']} x PP{d['pp']}"
            print(f"| {hw} | {'on' if cache else 'off'} | {sim.chips} ({dep}) "
                  f"| {s['ttft_s']['p50'] * 1e3:,.0f} / {s['ttft_s']['p99'] * 1e3:,.0f} "
                  f"| {s['tpot_s']['p99'] * 1e3:.1f} | {s['cache']['cached_token_share']:.1%} "
                  f"| {'-' if kvss is None else f'{kvss:.1%}'} | {s['cache']['reload_s_total']:,.1f} "
                  f"| {s['output_tok_s_per_chip']:,.0f} |")  # fmt: skip
            extra = " --catalog examples/whatif" if hw.endswith("10x-io") else ""
            flags = "" if cache else " --no-prefix-cache"
            print(f"<!-- tokenfrontier simulate {opts.model} --on {hw}{extra} --workload agentic --requests "
                  f"{opts.requests} --tp {d['tp']} --pp {d['pp']} --replicas {d['replicas']}{flags} "
                  f"--slo-ttft-ms {opts.ttft_ms:g} --slo-tpot-ms {opts.tpot_ms:g} -->")  # fmt: skip
