"""Simulated serving (policy ``simulated``): every deployment x concurrency is run through the
request-level simulator as a closed loop, with the same step model.

Per grid cell: ``REQUESTS_PER_USER`` x C requests of the workload's lengths (uniform in
[spread L, L]), chunked-mixed scheduling, KV reserved for the full length (the capacity rule),
no prefix cache (the benchmark convention). Reported: mean TTFT and TPOT of the requests after
the first fifth, steady-state throughput, and the step breakdown of the analytic closed loop at
the same point (the simulator has no per-component times). Slower than ``closed-loop`` (a
simulation per cell); meant for ``predict`` and small sweeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..serving.closed_loop import broadcast, steady_state
from ..serving.policy import Deployments, Metrics, register_policy
from .run import SimConfig, simulate_requests
from .stream import MemorySink
from .workload import closed_loop

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..serving.pools import PrefillPool
    from ..serving.workload import SpecDecode, Workload

__all__ = ["REQUESTS_PER_USER", "Simulated"]

REQUESTS_PER_USER = 24  # closed-loop requests simulated per user (the first fifth is warm-up)


class Simulated:
    """Closed loop, request by request (see the module docstring)."""

    name = "simulated"
    description = "each deployment and concurrency simulated request by request (closed loop)"

    def evaluate(
        self,
        scen: Scenario,
        deps: Deployments,
        workload: Workload,
        *,
        spec: SpecDecode | None = None,
        pool: PrefillPool | None = None,
    ) -> Metrics:
        out = broadcast(
            steady_state(
                scen,
                tp=deps.tp,
                pp=deps.pp,
                ep=deps.ep,
                concurrency=deps.concurrency,
                offload_fraction=deps.offload_fraction,
                workload=workload,
                spec=spec,
                pool=pool,
                dp=deps.dp,
            )
        )
        out = {k: np.array(v, dtype=float) for k, v in out.items()}
        fits = np.broadcast_to(deps.fits, out["tpot_s"].shape)
        tp, pp, ep, conc, dp = (
            np.broadcast_to(x, fits.shape) for x in (deps.tp, deps.pp, deps.ep, deps.concurrency, deps.dp)
        )
        workers = np.broadcast_to(out.get("prefill_workers", np.ones(fits.shape)), fits.shape)
        cfg = SimConfig(prefix_cache=False, max_seqs=int(conc.max()) if conc.size else 1)
        for idx in zip(*np.nonzero(fits), strict=True):
            c = int(conc[idx])
            req = closed_loop(c, REQUESTS_PER_USER * c, workload.isl, workload.osl, spread=workload.spread)
            sink = MemorySink()
            _, facts = simulate_requests(scen, req, cfg, sink, tp=int(tp[idx]), pp=int(pp[idx]),
                                         ep=int(ep[idx]), dp=int(dp[idx]), spec=spec, pool=pool,
                                         prefill_workers=int(workers[idx]))  # fmt: skip
            res = sink.columns()
            arrival, first, finish = res["arrival_s"], res["first_token_s"], res["finish_s"]
            warm = np.arange(len(req)) >= len(req) // 5
            done = warm & np.isfinite(finish)
            ttft = float(np.mean((first - arrival)[done]))
            tpot = float(np.mean(((finish - first) / np.maximum(req.osl - 1, 1))[done]))
            span = float(np.nanmax(finish) - np.nanmin(arrival))
            lo, hi = np.nanmin(arrival) + 0.2 * span, np.nanmin(arrival) + 0.8 * span
            window = np.isfinite(finish) & (finish >= lo) & (finish < hi)
            chips = float(facts["chips_per_replica"])
            rate = float(window.sum() / max(hi - lo, 1e-12))
            out["ttft_s"][idx] = ttft
            if tpot > 0:  # one output token per request has no TPOT: keep the step model's
                out["tpot_s"][idx], out["tok_s_per_user"][idx] = tpot, 1.0 / tpot
            out["request_rate"][idx] = rate
            out["total_tok_s_per_chip"][idx] = float((req.isl + req.osl)[window].sum()) / (hi - lo) / chips
            out["output_tok_s_per_chip"][idx] = float(req.osl[window].sum()) / (hi - lo) / chips
        out["feasible"] = fits.astype(float)
        return out


register_policy(Simulated())
