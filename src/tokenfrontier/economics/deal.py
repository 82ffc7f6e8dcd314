"""Deal economics: implied $/system-hour of a capacity contract, project cash flows, IRR, NPV.

Implied rate = contract value / (term years x 8,760 h x systems), systems = MW x 1,000 / kW per
system. Yearly cash flows (year 0 = build): year 0 pays capex for every system and receives the
customer prepay; lock-in years earn contract / term (year 1 less the prepay, repaid in capacity)
minus operating cost (electricity, colocation, support from the TCO preset); years after the
lock-in until the end of hardware life earn the post-term EBITDA margin on the same annual
revenue (negative = running at a loss until shutdown). IRR solves NPV = 0; NPV at the discount
rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..results import Result
from ..specs import System
from ..units import check_number
from .tco import Tco

__all__ = ["Deal", "deal", "irr", "npv"]

HOURS_PER_YEAR = 8760.0


def npv(rate: float, flows: np.ndarray) -> float:
    """Net present value of yearly ``flows`` (year 0 first) at ``rate``."""
    t = np.arange(len(flows))
    return float(np.sum(flows / (1 + rate) ** t))


def irr(flows: np.ndarray) -> float | None:
    """Internal rate of return (the real root of NPV closest to 10%), None if none exists."""
    f = np.asarray(flows, dtype=float)
    scale = np.abs(f).sum()
    f = f[: np.flatnonzero(np.abs(f) > 1e-12 * scale)[-1] + 1] if scale else f
    try:
        roots = np.roots(f[::-1])
    except np.linalg.LinAlgError:
        return None
    x = roots[np.isclose(roots.imag, 0) & (roots.real > 0)].real
    if x.size == 0:
        return None
    rates = 1 / x - 1
    rates = rates[(rates > -0.999) & (rates < 1e3)]
    rates = np.array([r for r in rates if abs(npv(float(r), f)) <= 1e-6 * scale])
    if rates.size == 0:
        return None
    return float(rates[np.argmin(np.abs(rates - 0.1))])


@dataclass(frozen=True)
class Deal(Result):
    """A capacity contract's implied rate and project returns."""

    system: str
    contract_usd: float
    mw: float
    years: float
    kw_per_system: float
    systems: float
    implied_usd_per_system_hour: float
    capex_per_system_usd: float
    operating_usd_per_system_hour: float
    prepay_usd: float
    cash_flows_usd: tuple[float, ...]
    irr: float | None
    discount_rate: float
    npv_usd: float

    title = "deal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "contract_usd": self.contract_usd,
            "mw": self.mw,
            "years": self.years,
            "kw_per_system": self.kw_per_system,
            "systems": self.systems,
            "implied_usd_per_system_hour": self.implied_usd_per_system_hour,
            "capex_per_system_usd": self.capex_per_system_usd,
            "operating_usd_per_system_hour": self.operating_usd_per_system_hour,
            "prepay_usd": self.prepay_usd,
            "cash_flows_usd": list(self.cash_flows_usd),
            "irr": self.irr,
            "discount_rate": self.discount_rate,
            "npv_usd": self.npv_usd,
        }

    def explain(self) -> str:
        """The formulas and intermediate values."""
        return "\n".join(
            [
                f"systems = {self.mw:g} MW x 1000 / {self.kw_per_system:g} kW = {self.systems:,.0f}",
                f"implied $/system-hour = {self.contract_usd:,.0f} / ({self.years:g} y x 8760 h x "
                f"{self.systems:,.0f}) = {self.implied_usd_per_system_hour:.4f}",
                f"year 0 = -capex {self.capex_per_system_usd:,.0f} x systems + prepay {self.prepay_usd:,.0f}",
                f"lock-in years = contract / term - operating {self.operating_usd_per_system_hour:.4f}"
                " $/h x 8760 x systems (year 1 less the prepay)",
                "later years = post-term EBITDA margin x annual contract revenue",
                "IRR: NPV(IRR) = 0; NPV = sum(flow_t / (1 + rate)^t)",
            ]
        )

    def human_rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [
            (
                "contract",
                f"${self.contract_usd / 1e9:,.2f}B for {self.mw:g} MW over {self.years:g} y",
            ),
            ("systems", f"{self.systems:,.0f} x {self.system} at {self.kw_per_system:g} kW"),
            ("implied $ per system-hour", round(self.implied_usd_per_system_hour, 2)),
            ("capex per system ($)", round(self.capex_per_system_usd)),
            ("operating $ per system-hour", round(self.operating_usd_per_system_hour, 2)),
            ("prepay ($M)", float(self.prepay_usd) / 1e6),
            ("IRR", "none" if self.irr is None else f"{self.irr:.1%}"),
            (f"NPV at {self.discount_rate:.0%} ($M)", float(self.npv_usd) / 1e6),
        ]
        rows += [(f"  cash flow year {i} ($M)", float(c) / 1e6)
                 for i, c in enumerate(self.cash_flows_usd)]  # fmt: skip
        return rows


def deal(
    system: System,
    system_tco: Tco,
    *,
    contract_usd: float,
    mw: float,
    years: float,
    kw_per_system: float | None = None,
    prepay_fraction: float = 0.04,
    hardware_life_years: int = 5,
    post_term_ebitda_margin: float = -0.10,
    discount_rate: float = 0.13,
    capex_per_system_usd: float | None = None,
) -> Deal:
    """Price a capacity contract on ``system`` (see the module docstring)."""
    check_number(contract_usd, "contract value", 0, 1e13, lo_open=True, unit="$")
    check_number(mw, "MW", 0, 1e5, lo_open=True, unit="MW")
    check_number(years, "contract term", 0, 30, lo_open=True, unit="years")
    check_number(prepay_fraction, "prepay fraction", 0, 1, hi_open=True)
    check_number(discount_rate, "discount rate", -1, 1, lo_open=True)
    check_number(post_term_ebitda_margin, "post-term EBITDA margin", -1, 1)
    check_number(hardware_life_years, "hardware life", 1, 30, integer=True, unit="years")
    if hardware_life_years < years:
        raise InvalidInputError(
            f"hardware life ({hardware_life_years} years) must be at least the contract term "
            f"({years:g} years)"
        )
    if kw_per_system is not None:  # given: used as is (a default applies only when absent)
        kw = check_number(kw_per_system, "kW per system", 0, 1e4, lo_open=True, unit="kW")
    elif system_tco.inputs.power_kw is not None:
        kw = system_tco.inputs.power_kw
    else:
        raise InvalidInputError(f"{system.id}: no power figure; pass --kw-per-system")
    n = mw * 1000 / kw
    if n < 1:
        raise InvalidInputError(
            f"{mw:g} MW at {kw:g} kW per system is {n:.3g} systems; a deal needs at least one system"
        )
    implied = contract_usd / (years * HOURS_PER_YEAR * n)
    if capex_per_system_usd is not None:
        capex = check_number(capex_per_system_usd, "capex per system", 0, 1e10, unit="$")
    else:
        capex = system_tco.capex_usd
    opex_h = system_tco.operating_usd_per_hour
    annual_rev = contract_usd / years
    prepay = prepay_fraction * contract_usd
    flows = np.zeros(hardware_life_years + 1)
    flows[0] = -capex * n + prepay
    term = int(np.ceil(years))
    for y in range(1, hardware_life_years + 1):
        if y <= term:
            frac = min(1.0, years - (y - 1))
            flows[y] = frac * (annual_rev - opex_h * HOURS_PER_YEAR * n)
        else:
            flows[y] = post_term_ebitda_margin * annual_rev
    flows[1] -= prepay
    return Deal(
        system=system.id,
        contract_usd=contract_usd,
        mw=mw,
        years=years,
        kw_per_system=kw,
        systems=n,
        implied_usd_per_system_hour=implied,
        capex_per_system_usd=capex,
        operating_usd_per_system_hour=opex_h,
        prepay_usd=prepay,
        cash_flows_usd=tuple(float(f) for f in flows),
        irr=irr(flows),
        discount_rate=discount_rate,
        npv_usd=npv(discount_rate, flows),
    )
