"""$ per million tokens for a serving point, plain or for an agentic token mix.

Two methods share the deployment's $/hour among token types; both conserve money: for the
deployment that serves the traffic,
``sum over token types of tokens/hour[type] x $/token[type] == deployment $/hour``.

Tokens per hour come from the served workload (the prediction): output tokens/h = output
tok/s per chip x chips x 3600 x u (= request rate x output tokens per request); input tokens/h =
(total - output) tok/s per chip x chips x 3600 x u (= request rate x prompt tokens per request).
u is the utilisation, the share of the hours the deployment serves (the TCO preset's; 1 for a
rental or given $/hour): the $/hour accrues every hour (electricity already scaled by u in the
TCO), tokens only while serving (:mod:`.pricing` states the rule once).

**work** (the default): every pool's $/hour (decode, and the prefill pool of a disaggregated
deployment, each on its own hardware) is shared among the token types in proportion to
tokens/hour x the seconds of that pool's time each token causes (:mod:`.work`):
$/token[t] = sum over pools of pool $/h x w[pool][t] / sum over types(tokens/h x w[pool][t]).
Fresh input pays prefill compute, cache writes prefill plus writing their KV, cache reads the
KV they keep resident and the attention reads they add (and their reload over the tier link),
output tokens the decode slot time.

**card-multiple** (a price-card convention, kept for comparison): the rule below.

Plain (``workload``): every token costs the same, $/Mtok = deployment $/hour / (tokens per
hour / 1e6), over input + output tokens (and, as a second figure, over output tokens alone).

Agentic mix (SPEC §5): the prompt tokens are split among cache reads, cache writes and fresh
input in the proportions of the agentic token mix (SPEC §5's spend mix divided by the card's
prices, normalised, restricted to those three types); output tokens stay as served. Each
non-output token is weighted 1 / (cache-read multiple, 5-20) of an output token's machine
time. The deployment's $/hour is shared out in proportion to tokens/hour x weight:
$/token[type] = weight[type] x $/hour / sum(tokens/hour x weight), so the types add back up to
the $/hour. Blended $/Mtok = $/hour / (tokens/hour / 1e6); the card's revenue is priced on
the same tokens, margin = 1 - $/hour / revenue per hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..results import Result
from .pricing import TOKEN_TYPES, UTILISATION_RULE, Card, HourlyRate
from .work import PoolWork

__all__ = [
    "METHODS",
    "Cost",
    "PricedPool",
    "agentic_tokens_per_hour",
    "cost_of",
    "mix_throughput_factor",
    "share_out",
    "share_pools",
]

METHODS = ("work", "card-multiple")


@dataclass(frozen=True)
class PricedPool:
    """One pool's $/hour and the work per token it does (see :mod:`.work`)."""

    work: PoolWork
    usd_per_hour: float
    chips: float
    basis: str
    workers: float = 1.0


def share_pools(
    pools: list[PricedPool], tokens_per_hour: dict[str, float]
) -> tuple[dict[str, float], list[str]]:
    """$ per token by type: each pool's $/hour shared in proportion to tokens/hour x its work
    per token. Conserves money: sum(tokens_per_hour[t] x result[t]) == sum of pools' $/hour.
    A pool no served token works on (e.g. a prefill pool under an all-cache-read mix) is shared
    in proportion to tokens (noted)."""
    out = {t: 0.0 for t in tokens_per_hour}
    notes = []
    for pool in pools:
        w = {t: pool.work.seconds_per_token[t] for t in tokens_per_hour}
        if not sum(tokens_per_hour[t] * w[t] for t in w) > 0:
            w = {t: 1.0 for t in w}
            notes.append(f"{pool.work.role} pool: no served token works on it; shared per token")
        for t, v in share_out(pool.usd_per_hour, tokens_per_hour, w).items():
            out[t] += v
    return out, notes


@dataclass(frozen=True)
class Cost(Result):
    """Cost of one serving point. USD, tokens."""

    usd_per_hour: float
    usd_per_chip_hour: float
    basis: str
    tokens_per_hour: float
    usd_per_mtok: float
    usd_per_mtok_output: float
    usd_per_mtok_by_type: dict[str, float]
    spend_share_by_type: dict[str, float] = field(default_factory=dict)
    token_share_by_type: dict[str, float] = field(default_factory=dict)
    revenue_usd_per_mtok: float | None = None
    usd_per_mtok_low: float | None = None  # 80% interval from the throughput interval
    usd_per_mtok_high: float | None = None
    gross_margin: float | None = None
    tokens_per_hour_by_type: dict[str, float] = field(default_factory=dict)
    revenue_usd_per_hour: float | None = None
    cache_read_multiple: float | None = None
    mix: str = "workload"
    derivation: str = ""
    prediction: dict[str, Any] = field(default_factory=dict)
    method: str = "card-multiple"
    usd_per_hour_by_pool: dict[str, float] = field(default_factory=dict)
    work_s_per_token: dict[str, dict[str, float]] = field(default_factory=dict)  # pool -> type -> s
    usd_per_mtok_by_type_low: dict[str, float] = field(default_factory=dict)
    usd_per_mtok_by_type_high: dict[str, float] = field(default_factory=dict)
    work_formula: str = ""
    notes: tuple[str, ...] = ()
    pool_workers: dict[str, float] = field(default_factory=dict)
    mix_throughput_factor: float = 1.0  # tokens/h of the mix / tokens/h of the prediction (work)
    utilization: float = 1.0  # share of the hours the deployment serves (see .pricing)

    title = "cost"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "mix": self.mix,
            "basis": self.basis,
            "usd_per_hour": self.usd_per_hour,
            "usd_per_chip_hour": self.usd_per_chip_hour,
            "tokens_per_hour": self.tokens_per_hour,
            "usd_per_mtok": self.usd_per_mtok,
            "usd_per_mtok_output": self.usd_per_mtok_output,
            "usd_per_mtok_by_type": self.usd_per_mtok_by_type,
            "spend_share_by_type": self.spend_share_by_type,
            "token_share_by_type": self.token_share_by_type,
            "revenue_usd_per_mtok": self.revenue_usd_per_mtok,
            "usd_per_mtok_low": self.usd_per_mtok_low,
            "usd_per_mtok_high": self.usd_per_mtok_high,
            "gross_margin": self.gross_margin,
            "tokens_per_hour_by_type": self.tokens_per_hour_by_type,
            "usd_per_hour_by_type": self.usd_per_hour_by_type,
            "revenue_usd_per_hour": self.revenue_usd_per_hour,
            "cache_read_multiple": self.cache_read_multiple,
            "usd_per_hour_by_pool": self.usd_per_hour_by_pool,
            "usd_per_hour_by_pool_and_type": self.usd_per_hour_by_pool_and_type,
            "work_s_per_token": self.work_s_per_token,
            "usd_per_mtok_by_type_low": self.usd_per_mtok_by_type_low,
            "usd_per_mtok_by_type_high": self.usd_per_mtok_by_type_high,
            "mix_throughput_factor": self.mix_throughput_factor,
            "utilization": self.utilization,
            "notes": list(self.notes),
            "prediction": self.prediction,
        }

    @property
    def usd_per_hour_by_type(self) -> dict[str, float]:
        """$/hour attributed to each token type (tokens/hour x $/token); sums to $/hour."""
        return {t: n * self.usd_per_mtok_by_type[t] / 1e6 for t, n in self.tokens_per_hour_by_type.items()}

    @property
    def usd_per_hour_by_pool_and_type(self) -> dict[str, dict[str, float]]:
        """$/hour of each pool attributed to each token type (work method: tokens/h x w over the
        pool's sum; a pool no token works on, per token). Sums to ``usd_per_hour``."""
        tok = self.tokens_per_hour_by_type
        if not self.work_s_per_token:
            return {pool: dict(self.usd_per_hour_by_type) for pool in self.usd_per_hour_by_pool}
        out = {}
        for pool, w in self.work_s_per_token.items():
            units = {t: tok[t] * w[t] for t in tok}
            if not sum(units.values()) > 0:
                units = dict(tok)
            total = sum(units.values())
            usd = self.usd_per_hour_by_pool[pool]
            out[pool] = {t: usd * u / total if total > 0 else 0.0 for t, u in units.items()}
        return out

    def explain(self) -> str:
        """Inputs, formulas and intermediate values behind every $ figure."""
        p = self.prediction
        chips = p.get("chips")
        tok = self.tokens_per_hour_by_type
        out_h = tok.get("output", 0.0)
        k = self.mix_throughput_factor
        u = self.utilization
        pred_h, pred_out_h = self.tokens_per_hour / k, out_h / k
        lines = [
            f"$ per chip-hour: {self.usd_per_chip_hour:.4f} ({self.basis})",
            f"deployment $/h = {self.usd_per_chip_hour:.4f} x {chips} chips = {self.usd_per_hour:.4f}",
            UTILISATION_RULE,
            f"tokens/h = {p.get('total_tok_s_per_chip', 0):,.1f} tok/s/chip x {chips} x 3600 x {u:g} = "
            f"{pred_h:,.0f} (request rate x (prompt + output) tokens per request)",
            f"output tokens/h = {p.get('output_tok_s_per_chip', 0):,.1f} tok/s/chip x {chips} x 3600"
            f" x {u:g} = {pred_out_h:,.0f}; prompt tokens/h = {pred_h - pred_out_h:,.0f}",
        ]
        if k != 1.0:
            lines.append(
                f"tokens/h of the mix = {pred_h:,.0f} x {k:.4f} (work per predicted token / work per "
                f"mix token on the limiting pool) = {self.tokens_per_hour:,.0f}"
            )
        lines += [
            f"$/Mtok (input + output) = {self.usd_per_hour:.4f} / ({self.tokens_per_hour:,.0f} / 1e6)"
            f" = {self.tokens_per_hour and self.usd_per_hour / (self.tokens_per_hour / 1e6):.6f}",
        ]
        if self.method == "work":
            lines += [
                "method: work. Each pool's $/h is shared among token types in proportion to "
                "tokens/h x w, w = seconds of one worker of the pool per token:",
                self.work_formula,
                "tokens/h by type: " + ", ".join(f"{t} {n:,.0f}" for t, n in tok.items()),
            ]
            for pool, w in self.work_s_per_token.items():
                busy = sum(tok[t] * w[t] for t in tok)
                hour = 3600 * self.pool_workers.get(pool, 1.0)
                lines.append(
                    f"{pool} pool ${self.usd_per_hour_by_pool[pool]:,.4f}/h over sum(tokens/h x w) = "
                    f"{busy:,.1f} worker-s/h ({busy / hour:.0%} of its {hour:,.0f}; idle time is "
                    "shared in the same proportions): "
                    + ", ".join(f"{t} {100 * tok[t] * w[t] / busy if busy else 0:.1f}%" for t in tok)
                )
            lines += [
                "$/token[t] = sum over pools of pool $/h x w[t] / sum(tokens/h x w) -> $/Mtok: "
                + ", ".join(f"{t} {v:.6f}" for t, v in self.usd_per_mtok_by_type.items()),
                "check: sum(tokens/h x $/token) = "
                + " + ".join(f"{v:.4f}" for v in self.usd_per_hour_by_type.values())
                + f" = {sum(self.usd_per_hour_by_type.values()):.4f} $/h (= all pools' $/h)",
                f"blended $/Mtok = $/h / (tokens/h / 1e6) = {self.usd_per_mtok:.6f}",
            ]
            if self.revenue_usd_per_hour is not None:
                lines.append(
                    f"revenue at the card = {self.revenue_usd_per_hour:.4f} $/h "
                    f"({self.revenue_usd_per_mtok or 0:.4f} $/Mtok); margin = 1 - $/h / revenue $/h"
                )
            lines += [f"note: {n}" for n in self.notes]
        elif self.mix == "agentic":
            m = self.cache_read_multiple or 1.0
            units = out_h + sum(n for t, n in tok.items() if t != "output") / m
            lines += [
                "prompt tokens split by the agentic mix (SPEC §5 spend shares / card prices, "
                "normalised over cache_read, cache_write, input): "
                + ", ".join(f"{t} {n:,.0f}/h" for t, n in tok.items() if t != "output"),
                f"weights: output 1, every other token 1 / cache-read multiple {m:g}",
                f"$ per output token = deployment $/h / sum(tokens/h x weight) = "
                f"{self.usd_per_hour:.4f} / {units:,.0f} -> "
                f"{self.usd_per_mtok_by_type['output']:.6f} $/Mtok; other types 1/{m:g} of that = "
                f"{self.usd_per_mtok_by_type['cache_read']:.6f} $/Mtok",
                "check: sum(tokens/h x $/token) = "
                + " + ".join(f"{v:.4f}" for v in self.usd_per_hour_by_type.values())
                + f" = {sum(self.usd_per_hour_by_type.values()):.4f} $/h (= deployment $/h)",
                "blended $/Mtok = deployment $/h / (tokens/h / 1e6) = sum(token share x $/Mtok) = "
                f"{self.usd_per_mtok:.6f}",
                f"revenue at the card = sum(tokens/h x card $/Mtok / 1e6) = "
                f"{self.revenue_usd_per_hour or 0:.4f} $/h ({self.revenue_usd_per_mtok or 0:.4f} $/Mtok);"
                " margin = 1 - deployment $/h / revenue $/h",
            ]
        return "\n".join(lines) + "\n--- hourly rate ---\n" + self.derivation

    def _band(self) -> str:
        lo, hi = self.usd_per_mtok_low, self.usd_per_mtok_high
        return f" [80%: {lo:.4f}-{hi:.4f}]" if lo is not None and hi is not None else ""

    def human_rows(self) -> list[tuple[str, Any]]:
        p = self.prediction
        rows: list[tuple[str, Any]] = [
            ("model / hardware", f"{p.get('model')} on {p.get('hardware')}"),
            ("deployment", f"{p.get('chips')} chips at concurrency {p.get('concurrency')}"),
            ("tok/s per user", round(p.get("tok_s_per_user") or 0.0, 1)),
            ("price basis", self.basis),
            ("utilisation", f"{self.utilization:.0%} of hours serving"),
            ("cost method", self.method),
            ("$ per hour (deployment)", round(self.usd_per_hour, 2)),
            (f"$ per Mtok ({self.mix}, blended)", f"{self.usd_per_mtok:.4f}" + self._band()),
            ("$ per Mtok, all cost on output", f"{self.usd_per_mtok_output:.4f}"),
        ]
        if self.mix_throughput_factor != 1.0:
            k = self.mix_throughput_factor
            rows.append(("tokens/h vs the prediction", f"x{k:.3f} (the mix needs less prefill)"))
        for t, v in self.usd_per_mtok_by_type.items():
            parts = []
            if t in self.token_share_by_type:
                parts.append(f"{self.token_share_by_type[t]:.1%} of tokens")
            if t in self.spend_share_by_type:
                parts.append(f"{self.spend_share_by_type[t]:.1%} of spend")
            extra = f"  ({', '.join(parts)})" if parts else ""
            lo, hi = self.usd_per_mtok_by_type_low.get(t), self.usd_per_mtok_by_type_high.get(t)
            band = f" [80%: {lo:.4f}-{hi:.4f}]" if lo is not None and hi is not None else ""
            rows.append((f"  $ per Mtok {t}", f"{v:.4f}{band}{extra}"))
        if len(self.usd_per_hour_by_pool) > 1:
            for pool, usd in self.usd_per_hour_by_pool.items():
                rows.append((f"  $ per hour, {pool} pool", round(usd, 2)))
        if self.gross_margin is not None:
            rows.append(("revenue $ per Mtok (card)", f"{self.revenue_usd_per_mtok or 0:.4f}"))
            rows.append(("gross margin", f"{self.gross_margin:.1%}"))
        return rows


def agentic_tokens_per_hour(
    input_per_hour: float, output_per_hour: float, token_share: dict[str, float]
) -> dict[str, float]:
    """Tokens per hour by type: the prompt tokens split among cache read, cache write and
    fresh input in the proportions of ``token_share`` (renormalised over those three types);
    output tokens as served."""
    rest = [t for t in TOKEN_TYPES if t != "output"]
    total = sum(token_share[t] for t in rest)
    if not total > 0:
        raise InvalidInputError("agentic mix: the cache-read, cache-write and input shares sum to 0")
    split = {t: input_per_hour * token_share[t] / total for t in rest}
    return {t: output_per_hour if t == "output" else split[t] for t in TOKEN_TYPES}


def share_out(
    usd_per_hour: float, tokens_per_hour: dict[str, float], weight: dict[str, float]
) -> dict[str, float]:
    """$ per token by type: ``usd_per_hour`` shared in proportion to tokens/hour x weight.

    Conserves money: sum(tokens_per_hour[t] x result[t]) == usd_per_hour.
    """
    units = sum(tokens_per_hour[t] * weight[t] for t in tokens_per_hour)
    if not units > 0:
        raise InvalidInputError("no tokens served: cannot price per token")
    return {t: usd_per_hour * weight[t] / units for t in tokens_per_hour}


def mix_throughput_factor(
    pools: list[PricedPool], predicted: dict[str, float], mix: dict[str, float]
) -> tuple[float, str]:
    """How many more tokens/h the pools serve for ``mix`` than for the prediction's own traffic
    (every prompt token prefilled as fresh input), from the work per token on each pool: the
    smallest over pools of (work per predicted token) / (work per mix token), and that pool.
    1 when the mix is the prediction's traffic, or no pool does work for both."""
    n_pred, n_mix = sum(predicted.values()), sum(mix.values())
    best, name = float("inf"), ""
    for pool in pools:
        w = pool.work.seconds_per_token
        per_pred = sum(predicted[t] * w[t] for t in predicted) / n_pred
        per_mix = sum(mix[t] * w[t] for t in mix) / n_mix
        if per_mix > 0 and per_pred > 0 and per_pred / per_mix < best:
            best, name = per_pred / per_mix, pool.work.role
    if set(mix) == set(predicted) and all(abs(mix[t] - predicted[t]) <= 1e-12 * n_pred for t in mix):
        return 1.0, name
    if not best < float("inf") or abs(best - 1.0) < 1e-9:  # no pool does work for both, or no change
        return 1.0, name
    return best, name


def cost_of(
    pred: Any,
    rate: HourlyRate,
    *,
    mix: str = "workload",
    card: Card | None = None,
    cache_read_multiple: float = 10.0,
    concurrency: int = 1,
    isl: float = 0.0,
    osl: float = 0.0,
    method: str = "card-multiple",
    pools: list[PricedPool] | None = None,
    measured: dict[str, float] | None = None,
) -> Cost:
    """Cost of a feasible :class:`~tokenfrontier.predict.Prediction` (method: module docstring).

    ``method="work"`` needs ``pools`` (each pool's $/hour and work per token; built by
    :func:`tokenfrontier.economics.api.cost`); their $/hour sum is the deployment's $/hour.
    Token counts come from the prediction's served throughput, or, with ``measured`` (tokens per
    hour by type, e.g. a simulation's), from those (``mix`` is then ``"simulated"``).
    """
    if not pred.feasible:
        raise InvalidInputError(f"cannot price an infeasible deployment: {pred.explanation}")
    if not 1 <= cache_read_multiple <= 100:
        raise InvalidInputError(
            f"cache-read multiple must be in 1..100 (SPEC: 5-20), got {cache_read_multiple}"
        )
    if measured is not None:
        mix = "simulated"
    elif mix not in ("workload", "agentic"):
        raise InvalidInputError(f"--mix '{mix}' unknown; valid: workload, agentic")
    if method not in METHODS:
        raise InvalidInputError(f"--method '{method}' unknown; valid: {', '.join(METHODS)}")
    if method == "work" and not pools:
        raise InvalidInputError("cost method 'work' needs the pools' $/hour and work per token")
    work = method == "work" and pools
    usd_h = sum(p.usd_per_hour for p in pools) if work and pools else rate.usd_per_hour(pred.chips)
    u = rate.utilization
    tokens_h = rate.tokens_per_hour(pred.total_tok_s_per_chip * pred.chips)
    out_h = rate.tokens_per_hour(pred.output_tok_s_per_chip * pred.chips)
    in_h = max(tokens_h - out_h, 0.0)
    summary = {
        "model": pred.model,
        "hardware": pred.hardware,
        "chips": pred.chips,
        "concurrency": concurrency,
        "tok_s_per_user": pred.tok_s_per_user,
        "total_tok_s_per_chip": pred.total_tok_s_per_chip,
        "output_tok_s_per_chip": pred.output_tok_s_per_chip,
        "deployment": pred.deployment,
    }
    common: dict[str, Any] = dict(
        usd_per_hour=usd_h,
        usd_per_chip_hour=usd_h / pred.chips,
        basis=rate.basis,
        tokens_per_hour=tokens_h,
        usd_per_mtok=usd_h / (tokens_h / 1e6),
        usd_per_mtok_output=usd_h / (out_h / 1e6),
        derivation=rate.derivation,
        prediction=summary,
        method=method,
        utilization=u,
    )
    band = getattr(pred, "intervals", {}).get("total_tok_s_per_chip")
    scale_lo = scale_hi = None
    if band:  # more tokens per hour, fewer dollars per token: the bounds swap
        scale = rate.tokens_per_hour(pred.chips) / 1e6
        common["usd_per_mtok_low"] = usd_h / (band[1] * scale)
        common["usd_per_mtok_high"] = usd_h / (band[0] * scale)
        scale_lo = common["usd_per_mtok_low"] / common["usd_per_mtok"]
        scale_hi = common["usd_per_mtok_high"] / common["usd_per_mtok"]
    if measured is not None:
        tok = {t: float(measured.get(t, 0.0)) * u for t in TOKEN_TYPES}  # per serving hour x u
        tokens_h, out_h = sum(tok.values()), tok["output"]
        if not (tokens_h > 0 and out_h > 0):
            raise InvalidInputError("no output tokens served: cannot price per token")
        common.update(tokens_per_hour=tokens_h, usd_per_mtok=usd_h / (tokens_h / 1e6),
                      usd_per_mtok_output=usd_h / (out_h / 1e6))  # fmt: skip
        weight = {t: 1.0 if t == "output" else 1.0 / cache_read_multiple for t in TOKEN_TYPES}
    elif mix == "workload":
        tok = {"input": in_h, "output": out_h}
        weight = {"input": 1.0, "output": 1.0}
    else:
        card = card or _default_card()
        tok = agentic_tokens_per_hour(in_h, out_h, card.token_share)
        weight = {t: 1.0 if t == "output" else 1.0 / cache_read_multiple for t in TOKEN_TYPES}
    notes: list[str] = []
    if method == "work" and pools:
        k, bottleneck = mix_throughput_factor(pools, {"input": in_h, "output": out_h}, tok)
        if measured is not None:
            k = 1.0  # counted, not derived from the prediction
        if k != 1.0:
            tok = {t: n * k for t, n in tok.items()}
            tokens_h, out_h = tokens_h * k, out_h * k
            notes.append(
                f"the prediction prefills every prompt token; this mix needs {1 / k:.3f}x that work per "
                f"token on the {bottleneck} pool, so the same hardware serves {k:.3f}x the tokens/h"
            )
            common.update(tokens_per_hour=tokens_h, usd_per_mtok=usd_h / (tokens_h / 1e6),
                          usd_per_mtok_output=usd_h / (out_h / 1e6))  # fmt: skip
            for end in ("low", "high"):
                if f"usd_per_mtok_{end}" in common:
                    common[f"usd_per_mtok_{end}"] /= k
        common["mix_throughput_factor"] = k
        per_tok, more = share_pools(pools, tok)
        notes += more
        common["usd_per_hour_by_pool"] = {p.work.role: p.usd_per_hour for p in pools}
        common["work_s_per_token"] = {
            p.work.role: {t: p.work.seconds_per_token[t] for t in tok} for p in pools
        }
        common["pool_workers"] = {p.work.role: p.workers for p in pools}
        common["work_formula"] = "\n".join(p.work.formula() for p in pools)
        spend = {t: tok[t] * per_tok[t] / usd_h if usd_h > 0 else 0.0 for t in tok}
    else:
        per_tok = share_out(usd_h, tok, weight)
        units = sum(tok[t] * weight[t] for t in tok)
        spend = {t: tok[t] * weight[t] / units for t in tok}
        common["usd_per_hour_by_pool"] = {"all": usd_h}
    by_type = {t: v * 1e6 for t, v in per_tok.items()}
    if scale_lo is not None and scale_hi is not None:
        common["usd_per_mtok_by_type_low"] = {t: v * scale_lo for t, v in by_type.items()}
        common["usd_per_mtok_by_type_high"] = {t: v * scale_hi for t, v in by_type.items()}
    common["notes"] = tuple(notes)
    if mix in ("workload", "simulated"):
        return Cost(
            **common,
            mix=mix,
            usd_per_mtok_by_type=by_type,
            spend_share_by_type=spend if method == "work" or measured is not None else {},
            token_share_by_type={t: v / tokens_h for t, v in tok.items()},
            tokens_per_hour_by_type=tok,
        )
    assert card is not None
    revenue_h = sum(tok[t] * card.usd_per_mtok[t] / 1e6 for t in TOKEN_TYPES)
    return Cost(
        **common,
        usd_per_mtok_by_type=by_type,
        spend_share_by_type=spend,
        token_share_by_type={t: tok[t] / tokens_h for t in TOKEN_TYPES},
        tokens_per_hour_by_type=tok,
        revenue_usd_per_mtok=revenue_h / (tokens_h / 1e6),
        revenue_usd_per_hour=revenue_h,
        gross_margin=1 - usd_h / revenue_h if revenue_h > 0 else None,
        cache_read_multiple=cache_read_multiple if method == "card-multiple" else None,
        mix="agentic",
    )


def _default_card() -> Card:
    from .pricing import load_card

    return load_card()
