"""Total cost of ownership of one system per hour (SPEC §5 method).

Capital: upfront capex (server, service, networking, storage, software, installation) paid
back as a level monthly annuity at the WACC over the useful life;
WACC = equity share x equity cost + (1 - equity share) x debt cost.
Operating: electricity $/kWh x utilisation x PUE x all-in kW (per hour), colocation $/kW/month
x kW, remote hands and internet per month. A month is 730 hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..catalog import Catalog, default_catalog
from ..errors import CatalogError, InvalidInputError, UnknownIdError
from ..results import Result
from ..specs import TCO_CAPEX_LINES, System, TcoInputs, validation_message

__all__ = ["HOURS_PER_MONTH", "RentalRate", "Tco", "TcoInputs", "load_presets", "preset_for", "tco"]

HOURS_PER_MONTH = 730.0
_CAPEX_LINES = TCO_CAPEX_LINES


def load_presets(catalog: Catalog | None = None) -> dict[str, TcoInputs]:
    """TCO presets of the catalog (``catalog/prices`` plus user folders), ``extends`` resolved."""
    out: dict[str, TcoInputs] = {}
    for pid, entry in (catalog or default_catalog()).tco_presets.items():
        try:
            out[pid] = TcoInputs.model_validate(entry.data)
        except ValidationError as exc:
            raise CatalogError(
                f"{entry.path}: invalid TCO preset: {validation_message(exc, TcoInputs)}"
            ) from None
    return out


def preset_for(system: System, name: str | None = None, catalog: Catalog | None = None) -> TcoInputs:
    """The named preset, or the system's own (first preset naming it), or ``default``."""
    presets = load_presets(catalog)
    if name is not None:
        if name not in presets:
            raise UnknownIdError("TCO preset", name, presets)
        return presets[name]
    for p in presets.values():
        if p.system == system.id:
            return p
    return presets["default"]


def apply_overrides(inputs: TcoInputs, overrides: dict[str, Any]) -> TcoInputs:
    """A copy with ``overrides`` applied and re-validated (bad values are clear errors)."""
    fields = set(TcoInputs.model_fields) - {"id", "system", "sources", "notes"}
    unknown = set(overrides) - fields
    if unknown:
        raise InvalidInputError(
            f"unknown TCO input(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(fields))}"
        )
    try:
        return TcoInputs.model_validate({**inputs.model_dump(), **overrides})
    except ValidationError as exc:
        raise InvalidInputError(f"TCO input {validation_message(exc, TcoInputs)}") from None


@dataclass(frozen=True)
class Tco(Result):
    """$/hour of one system and the figures derived from it."""

    system: str
    chips: int
    inputs: TcoInputs
    capex_usd: float
    wacc: float
    monthly_payment_usd: float
    capital_usd_per_hour: float
    electricity_usd_per_hour: float
    colocation_usd_per_hour: float
    support_usd_per_hour: float
    dense_pflops: float
    memory_tb_per_s: float

    title = "TCO per system"

    @property
    def operating_usd_per_hour(self) -> float:
        return self.electricity_usd_per_hour + self.colocation_usd_per_hour + self.support_usd_per_hour

    @property
    def total_usd_per_hour(self) -> float:
        return self.capital_usd_per_hour + self.operating_usd_per_hour

    @property
    def usd_per_chip_hour(self) -> float:
        return self.total_usd_per_hour / self.chips

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "preset": self.inputs.id,
            "basis": f"tco:{self.inputs.id}",
            "chips": self.chips,
            "capex_usd": self.capex_usd,
            "wacc": self.wacc,
            "monthly_payment_usd": self.monthly_payment_usd,
            "capital_usd_per_hour": self.capital_usd_per_hour,
            "operating_usd_per_hour": self.operating_usd_per_hour,
            "electricity_usd_per_hour": self.electricity_usd_per_hour,
            "colocation_usd_per_hour": self.colocation_usd_per_hour,
            "support_usd_per_hour": self.support_usd_per_hour,
            "total_usd_per_hour": self.total_usd_per_hour,
            "usd_per_chip_hour": self.usd_per_chip_hour,
            "capital_share": self.capital_usd_per_hour / self.total_usd_per_hour,
            "dense_pflops": self.dense_pflops,
            "usd_per_hour_per_pflop": self.total_usd_per_hour / self.dense_pflops,
            "upfront_usd_per_pflop": self.capex_usd / self.dense_pflops,
            "upfront_usd_per_tb_per_s": self.capex_usd / self.memory_tb_per_s,
            "cooling_lpm": self.inputs.cooling_lpm_per_kw * (self.inputs.power_kw or 0.0),
            "inputs": self.inputs.model_dump(),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        d = self.to_dict()
        return [
            ("system", f"{self.system} (preset {self.inputs.id})"),
            ("capex", f"${self.capex_usd:,.0f}"),
            ("WACC", f"{self.wacc:.3%}"),
            ("capital ($/h)", round(d["capital_usd_per_hour"], 2)),
            ("operating ($/h)", round(d["operating_usd_per_hour"], 2)),
            ("total ($/h)", round(d["total_usd_per_hour"], 2)),
            ("per chip ($/h)", round(d["usd_per_chip_hour"], 3)),
            ("capital share", f"{d['capital_share']:.1%}"),
            ("$/h per dense PFLOP", round(d["usd_per_hour_per_pflop"], 3)),
            ("upfront $ per dense PFLOP", f"${d['upfront_usd_per_pflop']:,.0f}"),
            ("upfront $ per TB/s", f"${d['upfront_usd_per_tb_per_s']:,.2f}"),
        ]

    def explain(self) -> str:
        """The derivation: inputs, formulas and intermediate values."""
        i = self.inputs
        r = self.wacc / 12
        n = i.useful_life_years * 12
        kw = i.power_kw or 0.0
        lines = [
            f"TCO of {self.system}, preset '{i.id}' (SPEC §5 method; a month is 730 h)",
            "capex = "
            + " + ".join(f"{k[:-4]} {getattr(i, k) or 0:,.0f}" for k in _CAPEX_LINES)
            + f" = ${self.capex_usd:,.0f}",
            f"WACC = {i.equity_share:.0%} x {i.equity_cost:.2%} + {1 - i.equity_share:.0%} x "
            f"{i.debt_cost:.2%} = {self.wacc:.4%}",
            f"monthly payment = capex x r / (1 - (1 + r)^-n), r = WACC/12 = {r:.6f}, "
            f"n = {n:.0f} months -> ${self.monthly_payment_usd:,.2f}",
            f"capital $/h = {self.monthly_payment_usd:,.2f} / 730 = {self.capital_usd_per_hour:.4f}",
            f"electricity $/h = {i.electricity_usd_per_kwh} $/kWh x {i.utilization:.0%} x PUE "
            f"{i.pue} x {kw:g} kW = {self.electricity_usd_per_hour:.4f}",
            f"colocation $/h = {i.colocation_usd_per_kw_month} $/kW/month x {kw:g} kW / 730 = "
            f"{self.colocation_usd_per_hour:.4f}",
            f"support $/h = ({i.remote_hands_usd_per_month} + {i.internet_usd_per_month}) / 730 = "
            f"{self.support_usd_per_hour:.4f}",
            f"total $/h = {self.capital_usd_per_hour:.4f} + {self.operating_usd_per_hour:.4f} = "
            f"{self.total_usd_per_hour:.4f}",
            f"per dense PFLOP: {self.total_usd_per_hour:.4f} / {self.dense_pflops:g} PF; "
            f"upfront $/PFLOP = {self.capex_usd:,.0f} / {self.dense_pflops:g}; "
            f"upfront $/(TB/s) = {self.capex_usd:,.0f} / {self.memory_tb_per_s:,.1f}",
        ]
        lines += [f"source: {s}" for s in i.sources]
        return "\n".join(lines)


_NOT_APPLICABLE = "a rental rate covers capital and operating cost together"


@dataclass(frozen=True)
class RentalRate(Result):
    """$/hour of one system priced by rental or a given rate instead of TCO.

    The JSON keys are those of :class:`Tco`; figures a rate does not determine (capex, WACC,
    the capital/operating split, upfront $ per PFLOP, the inputs) are ``null``.
    """

    system: str
    chips: int
    basis: str  # "rental" or "given"
    usd_per_hour: float
    derivation: str
    dense_pflops: float

    title = "hourly rate per system"

    @property
    def total_usd_per_hour(self) -> float:
        return self.usd_per_hour

    @property
    def usd_per_chip_hour(self) -> float:
        return self.usd_per_hour / self.chips

    def to_dict(self) -> dict[str, Any]:
        none = dict.fromkeys(
            (
                "capex_usd", "wacc", "monthly_payment_usd", "capital_usd_per_hour",
                "operating_usd_per_hour", "electricity_usd_per_hour", "colocation_usd_per_hour",
                "support_usd_per_hour",
            )
        )  # fmt: skip
        return {
            "system": self.system,
            "preset": None,
            "basis": self.basis,
            "chips": self.chips,
            **none,
            "total_usd_per_hour": self.usd_per_hour,
            "usd_per_chip_hour": self.usd_per_chip_hour,
            "capital_share": None,
            "dense_pflops": self.dense_pflops,
            "usd_per_hour_per_pflop": self.usd_per_hour / self.dense_pflops,
            "upfront_usd_per_pflop": None,
            "upfront_usd_per_tb_per_s": None,
            "cooling_lpm": None,
            "inputs": None,
            "derivation": self.derivation,
            "not_applicable": _NOT_APPLICABLE,
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        return [
            ("system", f"{self.system} ({self.basis})"),
            ("rate", self.derivation),
            ("total ($/h)", f"{self.usd_per_hour:,.2f}"),
            ("per chip ($/h)", f"{self.usd_per_chip_hour:,.3f}"),
            ("capital / operating", f"n/a ({_NOT_APPLICABLE})"),
            ("$/h per dense PFLOP", f"{self.usd_per_hour / self.dense_pflops:,.3f}"),
        ]

    def explain(self) -> str:
        """Where the rate comes from."""
        return "\n".join(
            [
                f"hourly rate of {self.system}: {self.derivation}",
                f"total $/h = {self.usd_per_chip_hour:.4f} $/chip-hour x {self.chips} chips = "
                f"{self.usd_per_hour:.4f}",
                f"per dense PFLOP: {self.usd_per_hour:.4f} / {self.dense_pflops:g} PF",
                f"capital / operating split, capex, upfront $ per PFLOP: not applicable ({_NOT_APPLICABLE})",
            ]
        )


def tco(system: System, inputs: TcoInputs) -> Tco:
    """TCO of one ``system``; server price and power default to the system's catalog figures."""
    fill: dict[str, Any] = {}
    if inputs.server_usd is None:
        if system.price_usd is None:
            raise InvalidInputError(
                f"{system.id} has no price in the catalog; pass --set server_usd=... "
                "(or use rental pricing with --usd-per-hour)"
            )
        fill["server_usd"] = system.price_usd
    if inputs.power_kw is None:
        watts = system.power_w or (
            system.chips * system.chip.board_power_w * 1.3 if system.chip.board_power_w else None
        )
        if watts is None:
            raise InvalidInputError(
                f"{system.id} has no power figure in the catalog; pass --set power_kw=..."
            )
        fill["power_kw"] = watts / 1000
    if fill:
        inputs = inputs.model_copy(update=fill)
    r = inputs.wacc / 12
    n = inputs.useful_life_years * 12
    # annuity r / (1 - (1 + r)^-n), written to stay exact for a tiny monthly rate
    payment = inputs.capex_usd * r / -math.expm1(-n * math.log1p(r))
    kw = float(inputs.power_kw or 0.0)
    chip = system.chip
    pflops = system.chips * chip.peak_flops("bf16") / 1e15
    return Tco(
        system=system.id,
        chips=system.chips,
        inputs=inputs,
        capex_usd=inputs.capex_usd,
        wacc=inputs.wacc,
        monthly_payment_usd=payment,
        capital_usd_per_hour=payment / HOURS_PER_MONTH,
        electricity_usd_per_hour=inputs.electricity_usd_per_kwh * inputs.utilization * inputs.pue * kw,
        colocation_usd_per_hour=inputs.colocation_usd_per_kw_month * kw / HOURS_PER_MONTH,
        support_usd_per_hour=(inputs.remote_hands_usd_per_month + inputs.internet_usd_per_month)
        / HOURS_PER_MONTH,
        dense_pflops=pflops,
        memory_tb_per_s=system.chips * chip.main_memory.bandwidth_bytes_per_s / 1e12,
    )
