"""Gross margin of serving against a price card, per workload and per frontier point.

Revenue per hour = sum over token types of tokens/hour x card $/Mtok / 1e6, on the tokens the
cost result counts (``Cost.tokens_per_hour_by_type``: ``plain`` = fresh input + output,
``agentic`` = the prompt split into cache reads, cache writes and fresh input by SPEC §5's mix).
Gross margin = 1 - cost $/hour / revenue $/hour = 1 - cost $/Mtok / revenue $/Mtok. The 80%
interval of cost $/Mtok (from the throughput interval) gives the margin's: margin low = 1 -
cost high / revenue, margin high = 1 - cost low / revenue.

Utilisation (option, TCO pricing): the systems serve ``u`` of the hours and draw power only
then, so cost $/Mtok = TCO $/hour at utilisation u / (tokens/hour x u); it never rises with u.
Without the option the TCO preset's utilisation applies, by the same rule (:mod:`.pricing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import MAX_USD_PER_MTOK
from ..errors import InvalidInputError
from ..results import Result, render_table
from ..specs import System, TcoInputs
from .cost import Cost
from .pricing import TOKEN_TYPES, Card, served_tokens_per_hour
from .tco import apply_overrides, tco

__all__ = [
    "WORKLOADS",
    "Margins",
    "card_from_prices",
    "margin_of",
    "point_margins",
    "usd_per_mtok_at_utilization",
]

#: Workloads a margin is computed for: name -> the cost mix that counts its tokens.
WORKLOADS = {"plain": "workload", "agentic": "agentic"}


def card_from_prices(prices: dict[str, float], token_share: dict[str, float]) -> Card:
    """A card from $/Mtok per token type; a missing type is one error naming it."""
    missing = [t for t in TOKEN_TYPES if t not in prices]
    if missing:
        raise InvalidInputError(
            f"price card lacks {', '.join(missing)}: give $/Mtok for each of {', '.join(TOKEN_TYPES)}"
        )
    for t, v in prices.items():
        if t not in TOKEN_TYPES:
            raise InvalidInputError(f"price card: unknown token type '{t}'; valid: {', '.join(TOKEN_TYPES)}")
        if not 0 < v <= MAX_USD_PER_MTOK:
            raise InvalidInputError(f"price card: {t} must be in (0, {MAX_USD_PER_MTOK:g}] $/Mtok, got {v}")
    return Card(dict(prices), dict(token_share))


def margin_of(cost: Cost, card: Card, workload: str) -> dict[str, Any]:
    """Revenue and gross margin of one priced serving point (module docstring)."""
    tok = cost.tokens_per_hour_by_type
    revenue_h = sum(n * card.usd_per_mtok[t] / 1e6 for t, n in tok.items())
    if not revenue_h > 0:
        raise InvalidInputError("margin: no revenue (no tokens served)")
    revenue_mtok = revenue_h / (cost.tokens_per_hour / 1e6)
    out = {
        "workload": workload,
        "usd_per_hour": cost.usd_per_hour,
        "tokens_per_hour": cost.tokens_per_hour,
        "tokens_per_hour_by_type": dict(tok),
        "cost_usd_per_mtok": cost.usd_per_mtok,
        "cost_usd_per_mtok_low": cost.usd_per_mtok_low,
        "cost_usd_per_mtok_high": cost.usd_per_mtok_high,
        "revenue_usd_per_hour": revenue_h,
        "revenue_usd_per_mtok": revenue_mtok,
        "gross_margin": 1 - cost.usd_per_hour / revenue_h,
        "gross_margin_low": None,
        "gross_margin_high": None,
    }
    if cost.usd_per_mtok_low is not None and cost.usd_per_mtok_high is not None:
        out["gross_margin_low"] = 1 - cost.usd_per_mtok_high / revenue_mtok
        out["gross_margin_high"] = 1 - cost.usd_per_mtok_low / revenue_mtok
    return out


def revenue_per_mtok(card: Card, workload: str, output_share: float) -> float:
    """Card revenue per Mtok when ``output_share`` of the tokens are output and the rest prompt
    (fresh input for ``plain``; split by the card's agentic mix for ``agentic``)."""
    if workload == "plain":
        prompt = card.usd_per_mtok["input"]
    else:
        rest = [t for t in TOKEN_TYPES if t != "output"]
        total = sum(card.token_share[t] for t in rest)
        prompt = sum(card.token_share[t] / total * card.usd_per_mtok[t] for t in rest)
    return output_share * card.usd_per_mtok["output"] + (1 - output_share) * prompt


def point_margins(records: list[dict[str, Any]], card: Card, workload: str) -> list[dict[str, Any]]:
    """Margin of every priced frontier point (records with ``usd_per_mtok``)."""
    out = []
    for r in records:
        if r.get("usd_per_mtok") is None:
            continue
        tot = r["total_tok_s_per_chip"]
        rev = revenue_per_mtok(card, workload, r["output_tok_s_per_chip"] / tot if tot else 0.0)
        row = {k: r[k] for k in ("hardware", "deployment", "chips", "concurrency", "tok_s_per_user")}
        row.update(
            cost_usd_per_mtok=r["usd_per_mtok"],
            revenue_usd_per_mtok=rev,
            gross_margin=1 - r["usd_per_mtok"] / rev,
            gross_margin_low=None,
            gross_margin_high=None,
        )
        lo, hi = r.get("total_tok_s_per_chip_low"), r.get("total_tok_s_per_chip_high")
        if lo and hi:  # more tokens, fewer dollars per token: the bounds swap
            row["gross_margin_low"] = 1 - r["usd_per_mtok"] * tot / lo / rev
            row["gross_margin_high"] = 1 - r["usd_per_mtok"] * tot / hi / rev
        out.append(row)
    return out


def usd_per_mtok_at_utilization(
    system: System, inputs: TcoInputs, tokens_per_hour: float, utilization: float
) -> float:
    """$ per Mtok when the systems serve ``utilization`` of the hours (per system)."""
    if not 0 < utilization <= 1:
        raise InvalidInputError(f"--utilization must be in (0, 1], got {utilization}")
    if not tokens_per_hour > 0:
        raise InvalidInputError("no tokens served: cannot price per token")
    t = tco(system, apply_overrides(inputs, {"utilization": utilization}))
    return t.total_usd_per_hour / (served_tokens_per_hour(tokens_per_hour / 3600, utilization) / 1e6)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


@dataclass(frozen=True)
class Margins(Result):
    """Gross margins of one serving point per workload, and (option) per frontier point."""

    model: str
    hardware: str
    card: str
    card_usd_per_mtok: dict[str, float]
    basis: str
    workloads: tuple[dict[str, Any], ...]
    points: tuple[dict[str, Any], ...] = ()
    points_workload: str = ""

    title = "gross margin vs price card"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "card": self.card,
            "card_usd_per_mtok": self.card_usd_per_mtok,
            "price_basis": self.basis,
            "workloads": list(self.workloads),
            "points": list(self.points),
            "points_workload": self.points_workload,
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.points or self.workloads))

    def human_rows(self) -> list[tuple[str, Any]]:  # pragma: no cover - __str__ is a table
        return []

    def __str__(self) -> str:
        prices = ", ".join(f"{t} {v:g}" for t, v in self.card_usd_per_mtok.items())
        head = (
            f"{self.title}: {self.model} on {self.hardware}, card '{self.card}' ($/Mtok: {prices}); "
            f"cost {self.basis}"
        )
        body = render_table(
            (
                "workload",
                "cost $/Mtok",
                "cost 80% interval",
                "revenue $/Mtok",
                "gross margin",
                "margin 80% interval",
            ),
            [
                (
                    w["workload"],
                    f"{w['cost_usd_per_mtok']:.4f}",
                    "-"
                    if w["cost_usd_per_mtok_low"] is None
                    else f"{w['cost_usd_per_mtok_low']:.4f}-{w['cost_usd_per_mtok_high']:.4f}",
                    f"{w['revenue_usd_per_mtok']:.4f}",
                    _pct(w["gross_margin"]),
                    "-"
                    if w["gross_margin_low"] is None
                    else f"{_pct(w['gross_margin_low'])} to {_pct(w['gross_margin_high'])}",
                )
                for w in self.workloads
            ],
        )
        out = f"{head}\n{body}"
        if self.points:
            out += f"\n\nper frontier point ({self.points_workload} workload)\n" + render_table(
                (
                    "hardware",
                    "deployment",
                    "chips",
                    "conc.",
                    "tok/s/user",
                    "cost $/Mtok",
                    "revenue $/Mtok",
                    "margin",
                    "80% interval",
                ),
                [
                    (
                        p["hardware"],
                        p["deployment"],
                        p["chips"],
                        p["concurrency"],
                        float(p["tok_s_per_user"]),
                        f"{p['cost_usd_per_mtok']:.4f}",
                        f"{p['revenue_usd_per_mtok']:.4f}",
                        _pct(p["gross_margin"]),
                        "-"
                        if p["gross_margin_low"] is None
                        else f"{_pct(p['gross_margin_low'])} to {_pct(p['gross_margin_high'])}",
                    )
                    for p in self.points
                ],
            )
        return out

    def explain(self) -> str:
        """The formulas."""
        return __doc__ or ""
