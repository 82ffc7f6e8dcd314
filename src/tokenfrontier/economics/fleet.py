"""Fleet planner: MW of critical IT -> systems -> tokens/s at a frontier point -> revenue and
cost per year, with the cooling flow and the sensitivity to the colocation rate.

Systems = MW x 1,000 / kW per system; model copies = systems / systems per copy; capacity =
copies x chips per copy x tok/s per chip; tokens per year = capacity x 3600 x utilisation x
8,760 (the TCO preset's share of hours serving; :mod:`.pricing`); revenue = tokens per year x
$/Mtok; cost = TCO $/hour x 8,760 x systems. Cooling flow = LPM per kW x kW.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..results import Result
from ..specs import System
from ..units import check_number
from .pricing import served_tokens_per_hour
from .tco import TcoInputs, apply_overrides, tco

__all__ = ["COLOCATION_RATES", "Fleet", "fleet"]

COLOCATION_RATES = (130.0, 140.0, 165.0, 200.0)  # $/kW/month: market range, SPEC preset, premium
HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class Fleet(Result):
    system: str
    mw: float
    kw_per_system: float
    systems: int
    systems_per_copy: float
    copies: int
    tok_s: float
    tok_s_per_user: float
    tokens_per_year: float
    usd_per_mtok_price: float
    revenue_usd_per_year: float
    cost_usd_per_year: float
    cooling_lpm: float
    colocation_sensitivity: tuple[dict[str, float], ...]

    title = "fleet"

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "mw": self.mw,
            "kw_per_system": self.kw_per_system,
            "systems": self.systems,
            "systems_per_copy": self.systems_per_copy,
            "copies": self.copies,
            "tok_s": self.tok_s,
            "tok_s_per_user": self.tok_s_per_user,
            "tokens_per_year": self.tokens_per_year,
            "usd_per_mtok_price": self.usd_per_mtok_price,
            "revenue_usd_per_year": self.revenue_usd_per_year,
            "cost_usd_per_year": self.cost_usd_per_year,
            "margin": 1 - self.cost_usd_per_year / self.revenue_usd_per_year
            if self.revenue_usd_per_year
            else None,
            "cooling_lpm": self.cooling_lpm,
            "colocation_sensitivity": list(self.colocation_sensitivity),
        }

    def explain(self) -> str:
        """The formulas and intermediate values."""
        return "\n".join(
            [
                f"systems = {self.mw:g} MW x 1000 / {self.kw_per_system:g} kW = {self.systems:,}",
                f"copies = systems / {self.systems_per_copy:g} systems per copy = {self.copies:,}",
                f"capacity = copies x chips per copy x tok/s per chip = {self.tok_s:,.0f} tok/s",
                "tokens/yr = capacity x 3600 x utilisation x 8760 (serving only that share of hours)",
                f"revenue/yr = {self.tokens_per_year:,.3g} tokens x ${self.usd_per_mtok_price:g}/Mtok",
                "cost/yr = TCO $/h per system x 8760 x systems (colocation rate varied below)",
                "cooling flow = LPM per kW x kW per system x systems",
            ]
        )

    def human_rows(self) -> list[tuple[str, Any]]:
        d = self.to_dict()
        rows: list[tuple[str, Any]] = [
            ("power", f"{self.mw:g} MW at {self.kw_per_system:g} kW per {self.system}"),
            ("systems", f"{self.systems:,}"),
            ("model copies", f"{self.copies:,} x {self.systems_per_copy:g} systems"),
            ("capacity (Mtok/s)", float(self.tok_s) / 1e6),
            ("tok/s per user", float(self.tok_s_per_user)),
            ("revenue ($M/yr)", float(self.revenue_usd_per_year) / 1e6),
            ("cost ($M/yr)", float(self.cost_usd_per_year) / 1e6),
            ("margin", "-" if d["margin"] is None else f"{d['margin']:.1%}"),
            ("cooling flow (L/min)", round(self.cooling_lpm)),
        ]
        for s in self.colocation_sensitivity:
            rows.append(
                (f"  colocation ${s['colocation_usd_per_kw_month']:g}/kW/mo",
                 f"cost ${s['cost_usd_per_year'] / 1e6:,.1f}M/yr, margin {s['margin']:.1%}")
            )  # fmt: skip
        return rows


def fleet(
    system: System,
    inputs: TcoInputs,
    *,
    mw: float,
    chips_per_copy: int,
    tok_s_per_chip: float,
    tok_s_per_user: float,
    usd_per_mtok: float,
    kw_per_system: float | None = None,
    colocation_rates: tuple[float, ...] = COLOCATION_RATES,
) -> Fleet:
    """Plan a fleet of ``system`` on ``mw`` MW serving at one frontier point."""
    check_number(mw, "MW", 0, 1e5, lo_open=True, unit="MW")
    check_number(usd_per_mtok, "price per Mtok", 0, 1e4, lo_open=True, unit="$")
    base = tco(system, inputs)
    if kw_per_system is not None:  # given: used as is (a default applies only when absent)
        kw = check_number(kw_per_system, "kW per system", 0, 1e4, lo_open=True, unit="kW")
    elif base.inputs.power_kw is not None:
        kw = base.inputs.power_kw
    else:
        raise InvalidInputError(f"{system.id}: no power figure; pass --kw-per-system")
    systems = int(mw * 1000 // kw)
    per_copy = chips_per_copy / system.chips
    copies = int(systems // per_copy) if per_copy else 0
    if copies < 1:
        raise InvalidInputError(
            f"{mw:g} MW at {kw:g} kW per system is {systems:,} system(s), fewer than one model copy "
            f"({per_copy:g} systems)"
        )
    tok_s = copies * chips_per_copy * tok_s_per_chip
    tokens_year = served_tokens_per_hour(tok_s, base.inputs.utilization) * HOURS_PER_YEAR  # x u
    revenue = tokens_year / 1e6 * usd_per_mtok
    sens = []
    for rate in colocation_rates:
        t = tco(system, apply_overrides(base.inputs, {"colocation_usd_per_kw_month": rate}))
        cost = t.total_usd_per_hour * HOURS_PER_YEAR * systems
        sens.append(
            {
                "colocation_usd_per_kw_month": rate,
                "cost_usd_per_year": cost,
                "margin": 1 - cost / revenue if revenue else float("nan"),
            }
        )
    return Fleet(
        system=system.id,
        mw=mw,
        kw_per_system=kw,
        systems=systems,
        systems_per_copy=per_copy,
        copies=copies,
        tok_s=tok_s,
        tok_s_per_user=tok_s_per_user,
        tokens_per_year=tokens_year,
        usd_per_mtok_price=usd_per_mtok,
        revenue_usd_per_year=revenue,
        cost_usd_per_year=base.total_usd_per_hour * HOURS_PER_YEAR * systems,
        cooling_lpm=base.inputs.cooling_lpm_per_kw * kw * systems,
        colocation_sensitivity=tuple(sens),
    )
