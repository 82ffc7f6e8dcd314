"""Queued serving (policy ``queued``): a server whose KV holds only b < C sequences runs b and
queues the rest.

Throughput and TPOT are the closed loop's at b = min(C, max sequences whose KV fits); TTFT adds
the wait for a slot, (C / b - 1) request times. With b = C it equals ``closed-loop``. This is
how a measured benchmark at a concurrency the server cannot hold behaves (vLLM, SGLang and
TensorRT-LLM admit what fits and queue the rest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .closed_loop import broadcast, steady_state
from .policy import Deployments, Metrics, register_policy

if TYPE_CHECKING:
    from ..scenario import Scenario
    from .pools import PrefillPool
    from .workload import SpecDecode, Workload

__all__ = ["Queued"]


class Queued:
    """Admit what the KV capacity holds; queue the rest."""

    name = "queued"
    description = "runs min(C, sequences whose KV fits); the rest wait for a slot (TTFT grows)"

    def evaluate(
        self,
        scen: Scenario,
        deps: Deployments,
        workload: Workload,
        *,
        spec: SpecDecode | None = None,
        pool: PrefillPool | None = None,
    ) -> Metrics:
        c = np.asarray(deps.concurrency, dtype=float)
        b = np.maximum(np.minimum(c, deps.max_sequences), 1.0)
        # offload share at b: what main memory cannot hold of b sequences' KV stays offloaded
        at_b = np.clip(1.0 - deps.main_sequences / b, 0.0, 1.0)
        frac = np.where(b < c, at_b, deps.offload_fraction)
        out = steady_state(
            scen, tp=deps.tp, pp=deps.pp, ep=deps.ep, concurrency=b, offload_fraction=frac,
            workload=workload, spec=spec, pool=pool, dp=deps.dp,
        )  # fmt: skip
        request_s = out["ttft_s"] + (workload.osl_mean - 1) * out["tpot_s"]
        out["ttft_s"] = out["ttft_s"] + (c / b - 1) * request_s
        out["feasible"] = np.asarray(deps.weights_fit & (deps.max_sequences >= 1), dtype=float)
        return broadcast(out)


register_policy(Queued())
