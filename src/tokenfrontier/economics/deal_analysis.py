"""A deal, complete: EBIT margin by contract year and the NPV/IRR tornado (SPEC §5).

EBIT by year (``by_year``), for each year of the lock-in (a part year pro rata):
revenue = contract / term; warrant contra-revenue = recognised warrant value / agreement years;
operating cost = TCO operating $/hour x 8,760 x systems; depreciation = capex x systems / life,
with life by the three conventions of SPEC's contract table: the contract term, the accounting
life (the hardware life, 5 years) and 6 years. EBIT = revenue - contra - opex - depreciation.
The published table's margin is EBIT before the warrant / revenue; with the warrant it is
(EBIT - contra) / (revenue - contra).

Tornado (``tornado``): the deal's NPV and IRR with one input at a time at its low and its high
value, the others at base, sorted by NPV swing. Inputs: $/system-hour (the contract value scaled
with it), utilisation (the TCO input: share of hours the systems draw power, so electricity; a
take-or-pay contract's revenue does not move with it), WACC (the NPV discount rate; IRR does not
depend on it) and useful life (years of hardware life; years after the lock-in earn the
post-term EBITDA margin).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..catalog import Catalog
from ..errors import InvalidInputError
from ..results import Result, render_table
from ..specs import System, TcoInputs
from .deal import HOURS_PER_YEAR, Deal, deal
from .tco import apply_overrides, tco
from .warrant import WarrantValue

__all__ = [
    "CONVENTIONS",
    "DealYears",
    "Tornado",
    "by_year",
    "default_ranges",
    "published_ebit_check",
    "tornado",
]

#: Depreciation conventions of SPEC's contract table: name -> life in years (None = the term).
CONVENTIONS: dict[str, float | None] = {"term": None, "accounting": 5.0, "6-yr": 6.0}


@dataclass(frozen=True)
class DealYears(Result):
    """EBIT by contract year under three depreciation conventions. USD; margins as fractions."""

    deal: Deal
    warrant: WarrantValue | None
    accounting_life_years: float
    rows: tuple[dict[str, Any], ...]

    title = "deal: EBIT by contract year"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deal": self.deal.to_dict(),
            "warrant": self.warrant.to_dict() if self.warrant else None,
            "accounting_life_years": self.accounting_life_years,
            "years": list(self.rows),
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def human_rows(self) -> list[tuple[str, Any]]:  # pragma: no cover - __str__ is a table
        return []

    def __str__(self) -> str:
        d = self.deal
        w = self.warrant
        head = (
            f"{self.title}: ${d.contract_usd / 1e9:,.2f}B for {d.mw:g} MW over {d.years:g} y, "
            f"{d.systems:,.0f} x {d.system}, capex ${d.capex_per_system_usd * d.systems / 1e9:,.2f}B"
        )
        if w:
            head += (
                f"; warrant ({w.recognition}) ${w.recognised_usd / 1e9:,.2f}B over {w.agreement_years:g} y"
            )
        body = render_table(
            (
                "year",
                "depreciation",
                "revenue $M",
                "warrant $M",
                "opex $M",
                "depr. $M",
                "EBIT margin",
                "with warrant",
            ),
            [
                (
                    r["year"],
                    r["convention"],
                    round(r["revenue_usd"] / 1e6),
                    round(r["contra_revenue_usd"] / 1e6),
                    round(r["opex_usd"] / 1e6),
                    round(r["depreciation_usd"] / 1e6),
                    f"{r['ebit_margin']:.1%}",
                    _pct(r["ebit_margin_with_warrant"]),
                )
                for r in self.rows
            ],
        )
        return f"{head}\n{body}"

    def explain(self) -> str:
        """The formulas."""
        return _EXPLAIN


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


_EXPLAIN = (
    "revenue/yr = contract / term; contra-revenue/yr = recognised warrant value / agreement years\n"
    "opex/yr = TCO operating $/h x 8760 x systems; depreciation/yr = capex x systems / life\n"
    "life: term = the contract term, accounting = hardware life, 6-yr = 6 years\n"
    "EBIT margin = (revenue - opex - depreciation) / revenue (the published table's convention)\n"
    "with warrant = (revenue - contra - opex - depreciation) / (revenue - contra)"
)


def by_year(d: Deal, warrant: WarrantValue | None = None, *, accounting_life_years: float = 5.0) -> DealYears:
    """EBIT by contract year of ``d`` under the three conventions (module docstring)."""
    if not 0 < accounting_life_years <= 30:
        raise InvalidInputError(f"accounting life must be in (0, 30] years, got {accounting_life_years}")
    capex = d.capex_per_system_usd * d.systems
    annual_rev = d.contract_usd / d.years
    opex = d.operating_usd_per_system_hour * HOURS_PER_YEAR * d.systems
    contra = warrant.contra_revenue_usd_per_year if warrant else 0.0
    rows = []
    for y in range(1, math.ceil(d.years) + 1):
        frac = min(1.0, d.years - (y - 1))
        for name, life in CONVENTIONS.items():
            life_y = d.years if life is None else (accounting_life_years if name == "accounting" else life)
            rev, c, o = frac * annual_rev, frac * contra, frac * opex
            dep = frac * capex / life_y
            ebit = rev - o - dep
            rows.append(
                {
                    "year": y,
                    "convention": name,
                    "life_years": life_y,
                    "revenue_usd": rev,
                    "contra_revenue_usd": c,
                    "opex_usd": o,
                    "depreciation_usd": dep,
                    "ebit_usd": ebit,
                    "ebit_margin": ebit / rev,
                    "ebit_with_warrant_usd": ebit - c,
                    # None: the warrant's contra-revenue exceeds the year's revenue
                    "ebit_margin_with_warrant": (ebit - c) / (rev - c) if rev > c else None,
                }
            )
    return DealYears(d, warrant, accounting_life_years, tuple(rows))


@dataclass(frozen=True)
class Tornado(Result):
    """NPV and IRR of a deal with one input at a time at its low and high value. USD."""

    base_npv_usd: float
    base_irr: float | None
    discount_rate: float
    bars: tuple[dict[str, Any], ...]

    title = "deal: NPV/IRR sensitivity (tornado)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_npv_usd": self.base_npv_usd,
            "base_irr": self.base_irr,
            "discount_rate": self.discount_rate,
            "bars": list(self.bars),
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.bars))

    def human_rows(self) -> list[tuple[str, Any]]:  # pragma: no cover - __str__ is a table
        return []

    def __str__(self) -> str:
        def irr(x: float | None) -> str:
            return "none" if x is None else f"{x:.1%}"

        head = (
            f"{self.title}: base NPV at {self.discount_rate:.0%} ${self.base_npv_usd / 1e6:,.0f}M, "
            f"IRR {irr(self.base_irr)}"
        )
        body = render_table(
            ("input", "base", "low", "high", "NPV low $M", "NPV high $M", "IRR low", "IRR high", "swing $M"),
            [
                (b["label"], b["base_shown"], b["low_shown"], b["high_shown"], round(b["npv_low_usd"] / 1e6),
                 round(b["npv_high_usd"] / 1e6), irr(b["irr_low"]), irr(b["irr_high"]),
                 round(b["swing_usd"] / 1e6))
                for b in self.bars
            ],
        )  # fmt: skip
        return f"{head}\n{body}"

    def explain(self) -> str:
        """What each input moves."""
        return (
            "$/hour: contract value scaled with the rate; utilisation: TCO electricity only "
            "(take-or-pay revenue); WACC: the NPV discount rate (IRR unchanged); useful life: "
            "hardware life in years (post-term years earn the post-term EBITDA margin). "
            "Bars sorted by |NPV high - NPV low|."
        )


def default_ranges(d: Deal, inputs: TcoInputs, life: int) -> dict[str, tuple[float, float, float]]:
    """(base, low, high) per input: $/hour +-20%, utilisation 60-100%, WACC +-3 points,
    useful life -1/+1 year (never below the term)."""
    rate = d.implied_usd_per_system_hour
    return {
        "usd_per_hour": (rate, 0.8 * rate, 1.2 * rate),
        "utilization": (inputs.utilization, 0.6, 1.0),
        "wacc": (d.discount_rate, d.discount_rate - 0.03, d.discount_rate + 0.03),
        "useful_life_years": (float(life), float(max(math.ceil(d.years), life - 1)), float(life + 1)),
    }


_LABELS = {
    "usd_per_hour": "$ per system-hour",
    "utilization": "utilisation",
    "wacc": "WACC (discount rate)",
    "useful_life_years": "useful life (years)",
}
_SHOW: dict[str, Callable[[float], str]] = {
    "usd_per_hour": lambda v: f"{v:.2f}",
    "utilization": lambda v: f"{v:.0%}",
    "wacc": lambda v: f"{v:.1%}",
    "useful_life_years": lambda v: f"{v:g}",
}


def tornado(
    system: System,
    inputs: TcoInputs,
    *,
    ranges: dict[str, tuple[float, float]] | None = None,
    **deal_kwargs: Any,
) -> Tornado:
    """Swing the deal's NPV and IRR over each input (module docstring); ``ranges`` overrides
    the default (low, high) of any input by name."""
    life = int(deal_kwargs.pop("hardware_life_years", 5))
    base_tco = tco(system, inputs)
    base = deal(system, base_tco, hardware_life_years=life, **deal_kwargs)
    spans = default_ranges(base, inputs, life)
    for k, (lo, hi) in (ranges or {}).items():
        if k not in spans:
            raise InvalidInputError(f"tornado: unknown input '{k}'; valid: {', '.join(spans)}")
        if not lo <= hi:
            raise InvalidInputError(f"tornado: {k} low {lo:g} is above high {hi:g}")
        spans[k] = (spans[k][0], lo, hi)

    def run(name: str, value: float) -> Deal:
        kw = dict(deal_kwargs)
        t, lf = base_tco, life
        if name == "usd_per_hour":
            kw["contract_usd"] = base.contract_usd * value / base.implied_usd_per_system_hour
        elif name == "utilization":
            t = tco(system, apply_overrides(inputs, {"utilization": value}))
        elif name == "wacc":
            kw["discount_rate"] = value
        else:
            lf = round(value)
        return deal(system, t, hardware_life_years=lf, **kw)

    bars: list[dict[str, Any]] = []
    for name, (b, lo, hi) in spans.items():
        d_lo, d_hi = run(name, lo), run(name, hi)
        bars.append(
            {
                "input": name,
                "label": _LABELS[name],
                "base": b,
                "low": lo,
                "high": hi,
                "base_shown": _SHOW[name](b),
                "low_shown": _SHOW[name](lo),
                "high_shown": _SHOW[name](hi),
                "npv_low_usd": d_lo.npv_usd,
                "npv_high_usd": d_hi.npv_usd,
                "irr_low": d_lo.irr,
                "irr_high": d_hi.irr,
                "swing_usd": abs(d_hi.npv_usd - d_lo.npv_usd),
            }
        )
    bars.sort(key=lambda r: -r["swing_usd"])
    return Tornado(base.npv_usd, base.irr, base.discount_rate, tuple(bars))


def published_ebit_check(catalog: Catalog, deal_name: str = "Cerebras–OpenAI") -> list[dict[str, Any]]:
    """Year-1 EBIT margin of a contract-table deal on CS-3 by the three conventions, ours
    (SPEC §5 TCO inputs, no warrant) beside the published cells (agree within 0.05 points)."""
    from .contracts import read_contracts
    from .tco import preset_for

    row = next(r for r in read_contracts() if r["deal"] == deal_name)
    cs3 = catalog.system("cs-3")
    d = deal(cs3, tco(cs3, preset_for(cs3, None, catalog)), contract_usd=row["value_usd_b"] * 1e9,
             mw=row["mw"], years=row["years"])  # fmt: skip
    pub = {"term": row["ebit_yr1_term_pct"], "accounting": row["ebit_yr1_accounting_pct"],
           "6-yr": row["ebit_yr1_6yr_pct"]}  # fmt: skip
    out = []
    for r in by_year(d).rows:
        if r["year"] == 1:
            p = pub[r["convention"]][0] / 100
            agrees = abs(r["ebit_margin"] - p) <= 0.0005 + 1e-12
            out.append({"deal": deal_name, "convention": r["convention"], "published": p,
                        "ours": r["ebit_margin"], "agrees": agrees})  # fmt: skip
    return out
