"""Step times for the simulator, tabulated once per deployment from the step model.

The simulator never has its own performance model: a decode step of ``b`` sequences at mean
context ``ctx`` costs what :func:`tokenfrontier.step.decode_step` says (tabulated over b and a
log-spaced context grid, linear in context between grid points), and a prompt's prefill work is
:func:`tokenfrontier.step.prefill_time` at one stage group less its per-step latency and
overhead — the same quantities the analytic ``closed-loop`` policy uses — so analytic and
simulated answers cannot drift apart. A step that carries prefill tokens grows by their share
of their prompt's work divided by the pipeline stages (each stage does its layers' part).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..scenario import Scenario
from ..serving import SpecDecode
from ..serving.closed_loop import draft_cost
from ..step import decode_step, prefill_time, total, vendor_speculation

__all__ = ["StepTable"]

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class StepTable:
    """Decode-step seconds by (batch, context) and prefill work by prompt length, one deployment."""

    tp: int
    pp: int
    ep: int
    ctx_grid: Floats  # tokens, log-spaced
    decode_s: Floats  # (batch + 1, len(ctx_grid)): one step of b sequences (b = 0: an empty step)
    offload_s: Floats  # same shape: extra seconds when all KV is in the offload tier
    len_grid: Floats  # prompt lengths for the prefill work table
    prefill_work_s: Floats  # one prompt's prefill work on one stage group (seconds)
    fixed_s: float  # latency + overhead of a step with no decodes (prefill-only steps)
    tokens_per_step: float  # emitted per sequence per step (speculative decoding: > 1)
    dp: int = 1  # attention data-parallel ranks (prefill work is per prompt: 1/dp of the group's)

    @classmethod
    def build(
        cls,
        scen: Scenario,
        *,
        tp: int,
        pp: int,
        ep: int,
        max_batch: int,
        max_context: float,
        spec: SpecDecode | None = None,
        dp: int = 1,
    ) -> StepTable:
        m, hw = scen.model, scen.hw
        ctx = np.unique(np.geomspace(1.0, max(float(max_context), 2.0), 48).round())
        b = np.arange(max_batch + 1, dtype=float)[:, None]
        q = spec.k + 1 if spec else 1
        tokens_per_step = spec.tokens_per_step if spec else 1.0
        vendor_draft: Any = 0.0
        if spec is None:  # the profile's own speculative decoding (a vendor API's era), if any
            q, tokens_per_step, vendor_draft = vendor_speculation(m, hw, tp)
        kw = dict(tp=tp, pp=pp, ep=ep, batch=np.maximum(b, 1.0), context=ctx[None, :], dp=dp)
        parts = decode_step(m, hw, **kw, tokens_per_seq=q)
        step = total(parts) + vendor_draft
        if spec is not None:
            spec.check(scen.arch)
            step = step + draft_cost(scen, spec, kw)
        off = decode_step(m, hw, **kw, tokens_per_seq=q, offload_fraction=1.0)["offload"]
        lens = np.unique(np.geomspace(1.0, max(float(max_context), 2.0), 64).round())
        pf = prefill_time(m, hw, tp=tp, pp=1, ep=ep, tokens=lens, dp=dp)
        work = (total(pf) - pf["overhead"] - pf["latency"]) / dp
        one = decode_step(m, hw, tp=tp, pp=pp, ep=ep, batch=1.0, context=1.0, dp=dp)
        return cls(
            tp=tp,
            pp=pp,
            ep=ep,
            ctx_grid=ctx,
            decode_s=np.ascontiguousarray(step, dtype=float),
            offload_s=np.ascontiguousarray(off, dtype=float),
            len_grid=lens,
            prefill_work_s=np.asarray(work, dtype=float),
            fixed_s=float(one["latency"] + one["overhead"] + one["pipeline"]),
            tokens_per_step=tokens_per_step,
            dp=dp,
        )

    @property
    def max_batch(self) -> int:
        return self.decode_s.shape[0] - 1

    def prefill_work(self, tokens: float | Floats) -> Floats:
        """Prefill work (seconds on one stage group) of prompts of ``tokens`` tokens."""
        return np.asarray(np.interp(tokens, self.len_grid, self.prefill_work_s))
