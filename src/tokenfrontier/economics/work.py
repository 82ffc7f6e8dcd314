"""Physical work each token type causes on each pool: seconds of one pool worker per token.

The work-based cost method (``cost.cost_of(method="work")``) shares every pool's $/hour among
the token types in proportion to tokens/hour x the seconds of that pool's time each token
causes, so money is conserved pool by pool. Per decode step of ``T`` seconds (the predicted
TPOT, per emitted token) on a decode worker with ``B`` sequences decoding, the prediction's
step breakdown splits ``T`` into attention reads (``kv`` + ``offload``), colocated prefill
(``prefill``) and the slot time (everything else: weights, matmuls, communication, latency,
overhead, drafts). Context per sequence ``ctx = ISL + OSL / 2`` tokens. With ``phi`` the share
of the worker's KV memory (capacity rule less weights) the in-flight requests fill:

- attention read + residency per resident token per step:
  ``r = (kv + offload + phi x slot) / (B x ctx)``; the memory share ``phi`` of the slot time is
  paid by the KV that holds the slots (bytes x seconds), the rest by the tokens they emit.
- output token: ``(1 - phi) x slot / B + (OSL - 1) / 2 x r`` (its own KV is read on average
  for half the remaining steps).
- every prompt token stays resident and is read on all ``OSL`` steps: ``OSL x r``; on top,
  fresh input: prefill ``p`` = one prompt's prefill work on the worker / ISL
  (:func:`tokenfrontier.step.prefill_time`, less its fixed latency and overhead);
  cache write: ``p`` + writing its KV (bytes / memory bandwidth, and / tier bandwidth where the
  system has a KV tier); cache read: no prefill, plus reloading its KV over the tier link
  (bytes / tier bandwidth) where the system has a KV tier (the cached prefix is assumed to wait
  between turns in that tier).
- a prefill pool (disaggregated): fresh input and cache writes cost ``p`` on that pool (plus
  the KV write); cache reads and output tokens cost it nothing.

Units: seconds of one worker of the pool (all its chips) per token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..scenario import Scenario
from ..step import prefill_time, total
from .pricing import TOKEN_TYPES

__all__ = ["PoolWork", "decode_work", "prefill_work"]


@dataclass(frozen=True)
class PoolWork:
    """Work per token on one pool. Seconds of one worker of the pool per token, by type."""

    role: str
    hardware: str
    seconds_per_token: dict[str, float]
    terms: dict[str, float]  # the intermediate figures behind the coefficients (SI)

    def formula(self) -> str:
        """The per-type formulas with this pool's numbers."""
        t = self.terms
        if not t:  # given coefficients, not derived here
            return f"{self.role} pool on {self.hardware}: " + ", ".join(
                f"{k} {v:.4g} s" for k, v in self.seconds_per_token.items()
            )
        if self.role == "prefill":
            return (
                f"{self.role} pool on {self.hardware}: p = prefill work per prompt token "
                f"{t['prefill_s_per_token']:.4g} s; input = p; cache_write = p + KV write "
                f"{t['kv_write_s_per_token']:.3g} s; cache_read = output = 0"
            )
        return "\n".join(
            [
                f"{self.role} pool on {self.hardware}: T = {t['step_s'] * 1e3:.4g} ms per step, "
                f"B = {t['batch']:.4g} sequences decoding, ctx = {t['context']:,.0f} tokens, "
                f"KV memory filled phi = {t['phi']:.1%} "
                f"({t['kv_in_flight_bytes'] / 1e9:,.2f} of {t['kv_capacity_bytes'] / 1e9:,.2f} GB)",
                f"  step: attention reads kv + offload = {t['read_s'] * 1e3:.4g} ms, colocated "
                f"prefill {t['prefill_step_s'] * 1e3:.4g} ms, slot (rest) = {t['slot_s'] * 1e3:.4g} ms",
                f"  r = (reads + phi x slot) / (B x ctx) = {t['r_s']:.4g} s per resident token-step",
                f"  output = (1 - phi) x slot / B + (OSL - 1) / 2 x r = "
                f"{self.seconds_per_token['output']:.4g} s",
                f"  every prompt token: OSL x r = {t['resident_s']:.4g} s; + fresh input: prefill "
                f"p = {t['prefill_s_per_token']:.4g} s; + cache write: p + KV write "
                f"{t['kv_write_s_per_token']:.3g} s; + cache read: tier reload "
                f"{t['reload_s_per_token']:.3g} s",
            ]
        )


def _prefill_per_token(scen: Scenario, tp: int, pp: int, ep: int, isl: float) -> float:
    """Seconds one worker is busy prefilling one prompt token (a prompt of ``isl`` tokens)."""
    pf = prefill_time(scen.model, scen.hw, tp=tp, pp=1, ep=ep, tokens=max(isl, 1.0))
    work = float(total(pf) - pf["overhead"] - pf["latency"]) / pp
    return work / max(isl, 1.0)


def _kv_per_token(scen: Scenario, ctx: float) -> float:
    return float(scen.kv_bytes(max(ctx, 1.0))) / max(ctx, 1.0)


def _tier(scen: Scenario, chips: int) -> tuple[float, str]:
    """Bandwidth (bytes/s) to the system's lowest KV tier for one worker of ``chips``, and its name."""
    tiers = scen.system.offload
    if not tiers:
        return 0.0, ""
    systems = max(chips / scen.system.chips, 1.0)
    return scen.hw.offload_bandwidth * systems, tiers[-1].name


def decode_work(
    pred: Any, scen: Scenario, isl: float, osl: float, *, reload_fraction: float = 1.0
) -> PoolWork:
    """Work per token on the decode (or colocated) pool of a feasible prediction."""
    pool = next(p for p in pred.pools if p["role"] == "decode") if pred.pools else None
    if pool is None:
        raise InvalidInputError("work-based cost needs the prediction's decode pool")
    tp, pp, ep, workers = int(pool["tp"]), int(pool["pp"]), int(pool["ep"]), int(pool["workers"])
    chips = tp * pp
    step = float(pred.tpot_s)
    b = pred.step_breakdown_s
    read = float(b.get("kv", 0.0) + b.get("offload", 0.0))
    pre_step = float(b.get("prefill", 0.0))
    slot = max(step - read - pre_step, 0.0)
    # sequences decoding per worker: output tokens per second of one worker x step time
    colocated = len(pred.pools) == 1
    decode_chips = pred.chips if colocated else pool["chips"]
    batch = max(pred.output_tok_s_per_chip * pred.chips / workers * step, 1e-9)
    ctx = isl + osl / 2
    kvb = _kv_per_token(scen, ctx)
    capacity = chips * scen.capacity_per_chip - float(scen.layer_bytes.sum())
    in_flight = float(pool["concurrency_per_worker"]) * float(scen.kv_bytes(isl + osl))
    phi = min(max(in_flight / capacity, 0.0), 1.0) if capacity > 0 else 1.0
    r = (read + phi * slot) / (batch * ctx)
    bw = chips * scen.hw.bandwidth
    tier_bw, _ = _tier(scen, chips)
    tier_s = kvb / tier_bw if tier_bw > 0 else 0.0
    p = _prefill_per_token(scen, tp, pp, ep, isl) if colocated else 0.0
    write = kvb / bw + tier_s
    reload = reload_fraction * tier_s
    resident = osl * r
    seconds = {
        "cache_read": resident + reload,
        "cache_write": resident + (p + write if colocated else 0.0),
        "input": resident + p,
        "output": (1 - phi) * slot / batch + max(osl - 1, 0.0) / 2 * r,
    }
    terms = dict(step_s=step, batch=batch, context=ctx, phi=phi, kv_in_flight_bytes=in_flight,
                 kv_capacity_bytes=capacity, read_s=read, prefill_step_s=pre_step, slot_s=slot, r_s=r,
                 resident_s=resident, prefill_s_per_token=p, reload_s_per_token=reload,
                 kv_write_s_per_token=write if colocated else 0.0, kv_bytes_per_token=kvb,
                 decode_chips=float(decode_chips))  # fmt: skip
    return PoolWork("decode", scen.system.id, {t: seconds[t] for t in TOKEN_TYPES}, terms)


def prefill_work(pred: Any, scen: Scenario, isl: float, osl: float) -> PoolWork:
    """Work per token on the prefill pool of a disaggregated prediction."""
    pool = next(p for p in pred.pools if p["role"] == "prefill")
    tp, pp, ep = int(pool["tp"]), int(pool["pp"]), int(pool["ep"])
    p = _prefill_per_token(scen, tp, pp, ep, isl)
    kvb = _kv_per_token(scen, isl + osl / 2)
    tier_bw, _ = _tier(scen, tp * pp)
    write = kvb / (tp * pp * scen.hw.bandwidth) + (kvb / tier_bw if tier_bw > 0 else 0.0)
    seconds = {"cache_read": 0.0, "cache_write": p + write, "input": p, "output": 0.0}
    terms = {"prefill_s_per_token": p, "kv_write_s_per_token": write, "kv_bytes_per_token": kvb}
    return PoolWork("prefill", scen.system.id, {t: seconds[t] for t in TOKEN_TYPES}, terms)
