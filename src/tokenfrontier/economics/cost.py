"""$ per million tokens for a serving point, plain or for an agentic token mix.

Plain: $/Mtok = deployment $/hour / (tokens per hour / 1e6), over input + output tokens (and
over output tokens alone). Agentic mix (SPEC §5): one request slot costs $/hour / concurrency;
output tokens take 1 / (tok/s/user) seconds of it, every non-output token (cache read, cache
write, fresh input) 1 / (multiple x tok/s/user) with the cache-read multiple 5-20x; blended
$/Mtok weights the types by their token share; margin compares with the selling card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..results import Result
from .pricing import TOKEN_TYPES, Card, HourlyRate

__all__ = ["Cost", "cost_of"]


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
    gross_margin: float | None = None
    mix: str = "workload"
    derivation: str = ""
    prediction: dict[str, Any] = field(default_factory=dict)

    title = "cost"

    def to_dict(self) -> dict[str, Any]:
        return {
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
            "gross_margin": self.gross_margin,
            "prediction": self.prediction,
        }

    def explain(self) -> str:
        """Inputs, formulas and intermediate values behind every $ figure."""
        p = self.prediction
        chips, user = p.get("chips"), p.get("tok_s_per_user") or 0.0
        lines = [
            f"$ per chip-hour: {self.usd_per_chip_hour:.4f} ({self.basis})",
            f"deployment $/h = {self.usd_per_chip_hour:.4f} x {chips} chips = {self.usd_per_hour:.4f}",
            f"tokens/h = {p.get('total_tok_s_per_chip', 0):,.1f} tok/s/chip x {chips} x 3600 = "
            f"{self.tokens_per_hour:,.0f}",
            f"$/Mtok (input + output) = {self.usd_per_hour:.4f} / ({self.tokens_per_hour:,.0f} / 1e6)"
            f" = {self.tokens_per_hour and self.usd_per_hour / (self.tokens_per_hour / 1e6):.6f}",
        ]
        if self.mix == "agentic":
            out = self.usd_per_mtok_by_type["output"]
            lines += [
                f"slot $/s = deployment $/h / 3600 / concurrency {p.get('concurrency')}",
                f"output $/Mtok = slot $/s / {user:,.1f} tok/s/user x 1e6 = {out:.6f}",
                f"non-output $/Mtok = output $/Mtok / cache-read multiple = "
                f"{self.usd_per_mtok_by_type['cache_read']:.6f}",
                "blended = sum(token share x $/Mtok): "
                + ", ".join(f"{t} {s:.4f}" for t, s in self.token_share_by_type.items())
                + f" -> {self.usd_per_mtok:.6f}",
                f"revenue (card) {self.revenue_usd_per_mtok:.4f} $/Mtok; margin = 1 - cost/revenue",
            ]
        return "\n".join(lines) + "\n--- hourly rate ---\n" + self.derivation

    def human_rows(self) -> list[tuple[str, Any]]:
        p = self.prediction
        rows: list[tuple[str, Any]] = [
            ("model / hardware", f"{p.get('model')} on {p.get('hardware')}"),
            ("deployment", f"{p.get('chips')} chips at concurrency {p.get('concurrency')}"),
            ("tok/s per user", round(p.get("tok_s_per_user") or 0.0, 1)),
            ("price basis", self.basis),
            ("$ per hour (deployment)", round(self.usd_per_hour, 2)),
            (f"$ per Mtok ({self.mix}, blended)", round(self.usd_per_mtok, 4)),
            ("$ per Mtok, all cost on output", round(self.usd_per_mtok_output, 4)),
        ]
        for t, v in self.usd_per_mtok_by_type.items():
            share = self.spend_share_by_type.get(t)
            extra = f"  ({share:.1%} of spend)" if share is not None else ""
            rows.append((f"  $ per Mtok {t}", f"{v:.4f}{extra}"))
        if self.gross_margin is not None:
            rows.append(("revenue $ per Mtok (card)", round(self.revenue_usd_per_mtok or 0, 4)))
            rows.append(("gross margin", f"{self.gross_margin:.1%}"))
        return rows


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
) -> Cost:
    """Cost of a feasible :class:`~tokenfrontier.predict.Prediction`."""
    if not pred.feasible:
        raise InvalidInputError(f"cannot price an infeasible deployment: {pred.explanation}")
    if not 1 <= cache_read_multiple <= 100:
        raise InvalidInputError(
            f"cache-read multiple must be in 1..100 (SPEC: 5-20), got {cache_read_multiple}"
        )
    usd_h = rate.usd_per_hour(pred.chips)
    tokens_h = pred.total_tok_s_per_chip * pred.chips * 3600
    out_h = pred.output_tok_s_per_chip * pred.chips * 3600
    summary = {
        "model": pred.model,
        "hardware": pred.hardware,
        "chips": pred.chips,
        "concurrency": concurrency,
        "tok_s_per_user": pred.tok_s_per_user,
        "total_tok_s_per_chip": pred.total_tok_s_per_chip,
        "deployment": pred.deployment,
    }
    common = dict(
        usd_per_hour=usd_h,
        usd_per_chip_hour=rate.usd_per_chip_hour,
        basis=rate.basis,
        tokens_per_hour=tokens_h,
        usd_per_mtok=usd_h / (tokens_h / 1e6),
        usd_per_mtok_output=usd_h / (out_h / 1e6),
        derivation=rate.derivation,
        prediction=summary,
    )
    if mix == "workload":
        per_tok = usd_h / (tokens_h / 1e6)
        by_type = {"input": per_tok, "output": per_tok}
        share = {"input": isl / (isl + osl), "output": osl / (isl + osl)} if isl + osl else {}
        return Cost(**common, usd_per_mtok_by_type=by_type, token_share_by_type=share)
    if mix != "agentic":
        raise InvalidInputError(f"--mix '{mix}' unknown; valid: workload, agentic")
    card = card or _default_card()
    slot_usd_s = usd_h / 3600 / concurrency
    per_output = slot_usd_s / pred.tok_s_per_user * 1e6
    per_other = per_output / cache_read_multiple
    by_type = {t: (per_output if t == "output" else per_other) for t in TOKEN_TYPES}
    share = card.token_share
    blended = sum(share[t] * by_type[t] for t in TOKEN_TYPES)
    spend = {t: share[t] * by_type[t] / blended for t in TOKEN_TYPES}
    revenue = card.revenue_per_mtok()
    common["usd_per_mtok"] = blended
    return Cost(
        **common,
        usd_per_mtok_by_type=by_type,
        spend_share_by_type=spend,
        token_share_by_type=dict(share),
        revenue_usd_per_mtok=revenue,
        gross_margin=(revenue - blended) / revenue if revenue > 0 else None,
        mix="agentic",
    )


def _default_card() -> Card:
    from .pricing import load_card

    return load_card()
