"""Closed-loop steady state (policy ``closed-loop``): TTFT, TPOT, tok/s/user and tok/s/chip.

Closed loop at concurrency C, prompt/output lengths uniform in [spread L, L]. Per decode step
C/osl new requests arrive; prefilling each stalls every pipeline stage for that stage's share
of the prompt's prefill work (stages overlap, so a step grows by (C/osl) x work / pp — the
``prefill`` component). TTFT = fixed request overhead + prefill of one prompt + queueing behind
the other C - 1 requests' prefills (M/D/1 on a stage's prefill utilisation) + half a decode
step. (In a closed loop a faster machine raises the arrival rate, so TTFT at C > 1 may grow
with speed; throughput and TPOT never get worse.) Throughput per chip = C (isl + osl) / request
time / chips. Speculative decoding verifies k + 1 tokens per step and drafts with the model's
MTP layers or a draft model. A prefill pool (:mod:`.pools`) removes the stall, adds the KV
transfer to TTFT, and counts its chips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..step import COMPONENTS, ModelTerms, decode_step, prefill_time, total, vendor_speculation
from .policy import Array, Deployments, Metrics, register_policy
from .pools import PrefillPool, apply_pool

if TYPE_CHECKING:
    from ..scenario import Scenario
    from .workload import SpecDecode, Workload

__all__ = ["ClosedLoop", "broadcast", "draft_cost", "steady_state"]


def broadcast(out: Metrics) -> Metrics:
    """Every metric as a float array of the common grid shape."""
    arrays = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    return {k: a if a.shape == shape else np.broadcast_to(a, shape) for k, a in arrays.items()}


def draft_cost(scen: Scenario, spec: SpecDecode, ctx: dict[str, Any]) -> Array:
    """Time to draft ``k`` tokens with a draft model or the model's MTP layers."""
    m, hw = scen.model, scen.hw
    if isinstance(spec.draft, ModelTerms):
        parts = decode_step(spec.draft, hw, **ctx)
        return spec.k * (total(parts) - parts["overhead"])
    parts = decode_step(m, hw, **ctx)
    per_layer = (total(parts) - parts["overhead"] - parts["pipeline"]) / m.n_layers
    return spec.k * len(scen.arch.mtp_layers) * per_layer


def steady_state(
    scen: Scenario,
    *,
    tp: Array,
    pp: Array,
    ep: Array,
    concurrency: Array,
    offload_fraction: Array | float,
    workload: Workload,
    spec: SpecDecode | None = None,
    pool: PrefillPool | None = None,
    dp: Array | float = 1.0,
) -> Metrics:
    """Closed-loop metrics at ``concurrency`` sequences in flight (arrays broadcast).

    ``dp`` attention ranks: a prompt's own latency is its prefill alone on its rank (experts over
    the group); its stall work is 1/dp of the group's time to prefill dp prompts at once."""
    m, hw = scen.model, scen.hw
    if spec is not None:
        spec.check(scen.arch)
    c = np.asarray(concurrency, dtype=float)
    tp, pp = np.asarray(tp, dtype=float), np.asarray(pp, dtype=float)
    isl, osl = workload.isl_mean, workload.osl_mean
    dp = np.asarray(dp, dtype=float)
    pf = prefill_time(m, hw, tp=tp, pp=pp, ep=ep, tokens=isl, dp=dp, alone=True)
    t_pf = total(pf)
    # one prompt's prefill work on one stage group (its dp ranks prefill dp prompts at once);
    # each of pp stages does 1/pp of it
    pf_one = prefill_time(m, hw, tp=tp, pp=1, ep=ep, tokens=isl, dp=dp)
    stage_work = (total(pf_one) - pf_one["overhead"] - pf_one["latency"]) / dp / pp
    tokens_per_step = spec.tokens_per_step if spec else 1.0
    q = spec.k + 1 if spec else 1
    vendor_draft: Array | float = 0.0
    if spec is None:  # the profile's own speculative decoding (a vendor API's era), if any
        q, tokens_per_step, vendor_draft = vendor_speculation(m, hw, tp)
    ctx: dict[str, Any] = dict(tp=tp, pp=pp, ep=ep, batch=c, context=workload.decode_context, dp=dp)
    parts = decode_step(m, hw, **ctx, tokens_per_seq=q, offload_fraction=offload_fraction)
    base = total(parts) + (draft_cost(scen, spec, ctx) if spec else vendor_draft)
    chips = tp * pp
    extra: dict[str, Array] = {}
    if pool is not None:
        stall = 0.0 * c
        step = base + stall
        per_token = step / tokens_per_step
        extra = apply_pool(scen, pool, tp=tp, pp=pp, concurrency=c, per_token=per_token, isl=isl,
                           osl=osl, dp=dp, step=step)  # fmt: skip
        ttft, req_rate = extra.pop("ttft_s"), extra.pop("request_rate")  # all decode copies
        chips = extra.pop("chips")  # every chip of both pools
        t_pf = extra.pop("prefill_s")
    else:
        # the other C - 1 users' prompts arriving per decode step = their request rate x step
        # time, and the stall lengthens the step: a fixed point, reached in a few iterations (the
        # first assumes every request is decoding, (C - 1) x tokens per step / OSL). A request's
        # own prompt is in its TTFT, not in its decode steps.
        cap = 1.0 / np.maximum(stage_work, 1e-30)  # prompts per second a stage can prefill
        next_step = 0.5 * base / tokens_per_step  # the first token waits for the next step
        others = (c - 1) / c
        arrivals = (c - 1) * tokens_per_step / osl
        for _ in range(6):
            stall = arrivals * stage_work
            step = base + stall
            per_token = step / tokens_per_step
            req = t_pf + osl * per_token
            rho = np.minimum((c - 1) / req * stage_work, 0.9)  # a stage busy with other prompts
            wait = stage_work * rho / (2 * (1 - rho))  # M/D/1 behind their per-stage prefill work
            ttft = t_pf + wait + next_step + hw.profile.request_overhead_s
            req_rate = np.minimum(c / (ttft + (osl - 1) * per_token), cap)
            arrivals = req_rate * step * others
        # beyond the prefill ceiling the closed loop waits for prefill (Little's law gives TTFT)
        ttft = np.maximum(ttft, c / req_rate - (osl - 1) * per_token)
    parts = {**parts, "prefill": np.asarray(stall)}
    out: Metrics = {
        "ttft_s": ttft,
        "tpot_s": per_token,
        "tok_s_per_user": 1.0 / per_token,
        "output_tok_s_per_chip": req_rate * osl / chips,
        "total_tok_s_per_chip": req_rate * (isl + osl) / chips,
        "chips": chips,
        "request_rate": req_rate,
        "prefill_s": t_pf,
        "step_s": step,
        "served_concurrency": c,
    }
    scale = per_token / step  # breakdown per emitted token when speculating
    for k in (*COMPONENTS, "prefill"):
        out[f"step_{k}_s"] = parts[k] * scale
    if spec or q > 1:
        out["step_draft_s"] = per_token - (total(parts) + parts["prefill"]) * scale
    out.update(extra)
    return out


class ClosedLoop:
    """Every one of C sequences is resident and decoding; the capacity rule must hold at C."""

    name = "closed-loop"
    description = "C sequences always in flight; KV of all C must fit (main memory or offload tier)"

    def evaluate(
        self,
        scen: Scenario,
        deps: Deployments,
        workload: Workload,
        *,
        spec: SpecDecode | None = None,
        pool: PrefillPool | None = None,
    ) -> Metrics:
        out = steady_state(
            scen, tp=deps.tp, pp=deps.pp, ep=deps.ep, concurrency=deps.concurrency,
            offload_fraction=deps.offload_fraction, workload=workload, spec=spec, pool=pool,
            dp=deps.dp,
        )  # fmt: skip
        out["feasible"] = np.asarray(deps.fits, dtype=float)
        return broadcast(out)


register_policy(ClosedLoop())
