"""Closed-loop serving estimate: TTFT, TPOT, tok/s/user and tok/s/chip for arrays of
deployments, with speculative decoding and disaggregated prefill.

Closed loop at concurrency C, prompt/output lengths uniform in [spread L, L] (mean
(1 + spread)/2 L; the measured data's convention is spread = 0.8). Per decode step C/osl new
requests arrive; prefilling each stalls the running decodes for its prefill work, so TPOT =
decode step + (C/osl) x prefill work ("prefill" in the breakdown). TTFT = fixed request
overhead + prefill of one prompt + queueing behind the other C - 1 requests' prefills (M/D/1)
+ half a decode step. (In a closed loop a faster machine raises the arrival rate, so TTFT at
C > 1 may grow with speed; throughput and TPOT never get worse.)
Throughput per chip = C (isl + osl) / request time / chips. Disaggregated serving removes the
stall and adds the KV transfer to TTFT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidInputError
from .step import COMPONENTS, HardwareTerms, ModelTerms, decode_step, prefill_time, total

__all__ = ["Disaggregation", "SpecDecode", "Workload", "evaluate"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Workload:
    """Nominal prompt and output lengths, spread of the uniform length distribution."""

    isl: int
    osl: int
    spread: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.spread <= 1:
            raise InvalidInputError(f"length spread must be in (0, 1], got {self.spread}")

    @property
    def isl_mean(self) -> float:
        return self.isl * (1 + self.spread) / 2

    @property
    def osl_mean(self) -> float:
        return max(self.osl * (1 + self.spread) / 2, 1.0)


@dataclass(frozen=True)
class SpecDecode:
    """Speculative decoding: ``k`` drafted tokens, per-token acceptance ``acceptance``.

    ``acceptance_lengths`` (probabilities of accepting 0..k drafts) overrides the rate.
    ``draft`` is ``"mtp"`` (the model's own MTP head) or a :class:`ModelTerms` draft model.
    """

    k: int
    acceptance: float = 0.7
    draft: object = "mtp"
    acceptance_lengths: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 16:
            raise InvalidInputError(f"speculative k must be 1..16, got {self.k}")
        if not 0 <= self.acceptance <= 1:
            raise InvalidInputError(f"acceptance rate must be in [0, 1], got {self.acceptance}")
        if self.acceptance_lengths:
            if len(self.acceptance_lengths) != self.k + 1:
                raise InvalidInputError("acceptance_lengths needs k + 1 probabilities (0..k)")
            if abs(sum(self.acceptance_lengths) - 1) > 1e-6 or min(self.acceptance_lengths) < 0:
                raise InvalidInputError("acceptance_lengths must be probabilities summing to 1")

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens emitted per verify step (accepted drafts + the verifier's token)."""
        if self.acceptance_lengths:
            return 1.0 + sum(i * p for i, p in enumerate(self.acceptance_lengths))
        a = self.acceptance
        return float(self.k + 1) if a == 1 else (1 - a ** (self.k + 1)) / (1 - a)


@dataclass(frozen=True)
class Disaggregation:
    """Prefill on another deployment; KV shipped to the decode side over the network."""

    prefill_model: ModelTerms
    prefill_hw: HardwareTerms
    tp: int
    pp: int
    link_bytes_per_s: float  # slower of the two sides' scale-out
    hop_latency_s: float


def _draft_cost(m: ModelTerms, hw: HardwareTerms, spec: SpecDecode, ctx: dict) -> Array:
    """Time to draft ``k`` tokens."""
    if isinstance(spec.draft, ModelTerms):
        parts = decode_step(spec.draft, hw, **ctx)
        return spec.k * (total(parts) - parts["overhead"])
    n_mtp = max(len(m.arch.mtp_layers), 1)
    parts = decode_step(m, hw, **ctx)
    per_layer = (total(parts) - parts["overhead"] - parts["pipeline"]) / m.n_layers
    return spec.k * n_mtp * per_layer


def evaluate(
    m: ModelTerms,
    hw: HardwareTerms,
    *,
    tp: Array,
    pp: Array,
    ep: Array,
    concurrency: Array,
    workload: Workload,
    offload_fraction: Array | float = 0.0,
    spec: SpecDecode | None = None,
    disagg: Disaggregation | None = None,
) -> dict[str, Array]:
    """Serving metrics for arrays of (tp, pp, ep, concurrency) on one model and hardware."""
    c = np.asarray(concurrency, dtype=float)
    isl, osl = workload.isl_mean, workload.osl_mean
    ctx_dec = isl + osl / 2
    pf = prefill_time(m, hw, tp=tp, pp=pp, ep=ep, tokens=isl)
    t_pf = total(pf)
    arrivals = c / osl  # prompts arriving per decode step
    stall = arrivals * (t_pf - pf["overhead"] - pf["latency"]) if disagg is None else 0.0 * c
    q = spec.k + 1 if spec else 1
    ctx: dict[str, Any] = dict(tp=tp, pp=pp, ep=ep, batch=c, context=ctx_dec)
    parts = decode_step(m, hw, **ctx, tokens_per_seq=q, offload_fraction=offload_fraction)
    parts = {**parts, "prefill": np.asarray(stall)}
    step = total(parts) + parts["prefill"]
    if spec:
        step = step + _draft_cost(m, hw, spec, ctx)
        per_token = step / spec.tokens_per_step
    else:
        per_token = step
    if disagg is not None:
        d = disagg
        dpf = prefill_time(d.prefill_model, d.prefill_hw, tp=d.tp, pp=d.pp, ep=1, tokens=isl)
        kv_move = m.kv(isl) / d.link_bytes_per_s + d.hop_latency_s
        t_pf = total(dpf) + kv_move
        rho = np.zeros_like(c)
        extra = {"kv_transfer_s": kv_move + 0.0 * c, "remote_prefill_s": total(dpf) + 0.0 * c}
    else:
        extra = {}
        req = t_pf + osl * per_token
        rho = np.minimum((c - 1) / req * t_pf, 0.9)  # the other requests' prefills
    ttft = t_pf * (1 + rho / (2 * (1 - rho))) + 0.5 * per_token
    ttft = ttft + hw.profile.request_overhead_s
    req_time = ttft + (osl - 1) * per_token
    chips = np.asarray(tp, dtype=float) * np.asarray(pp, dtype=float)
    req_rate = c / req_time
    out = {
        "ttft_s": ttft,
        "tpot_s": per_token,
        "tok_s_per_user": 1.0 / per_token,
        "output_tok_s_per_chip": req_rate * osl / chips,
        "total_tok_s_per_chip": req_rate * (isl + osl) / chips,
        "chips": chips,
        "prefill_s": t_pf,
        "step_s": step,
    }
    scale = per_token / step  # breakdown per emitted token when speculating
    for k in (*COMPONENTS, "prefill"):
        out[f"step_{k}_s"] = parts[k] * scale
    if spec:
        out["step_draft_s"] = per_token - (total(parts) + parts["prefill"]) * scale
    out.update(extra)
    shape = np.broadcast_shapes(*(np.shape(v) for v in out.values()))
    return {k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in out.items()}
