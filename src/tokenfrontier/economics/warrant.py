"""A customer equity warrant as data, and its contra-revenue (SPEC §5).

Equity given to a customer is contra-revenue recognised over the agreement at the grant-date
value: value of a tranche = shares x grant-date $ per share; contra-revenue per year = value of
the recognised tranches / agreement years. ``max`` recognises every tranche (the published
~$2.74B), ``vested`` only the vested ones, ``none`` nothing. Warrants live in
``catalog/deals/*.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalog import CATALOG_DIR
from ..errors import CatalogError, InvalidInputError, UnknownIdError
from ..results import Result
from ..specs import validation_message
from ..units import read_text

__all__ = ["RECOGNITION", "Tranche", "Warrant", "WarrantValue", "load_warrant", "warrant_value"]

DEALS_DIR = CATALOG_DIR / "deals"
RECOGNITION = ("max", "vested", "none")


class Tranche(BaseModel):
    """One vesting tranche: shares and the condition that vests them."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    name: str
    shares: int = Field(ge=0)
    condition: str
    vested: bool


class Warrant(BaseModel):
    """A warrant: shares, exercise and grant-date prices (USD), the agreement it rides on."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    id: str
    shares: int = Field(gt=0)
    exercise_usd: float = Field(ge=0)
    grant_date_usd_per_share: float = Field(gt=0)
    agreement_years: float = Field(gt=0, le=30)
    expected_revenue_usd: float = Field(gt=0)
    tranches: tuple[Tranche, ...]
    sources: tuple[str, ...]
    notes: str = ""


def load_warrant(name: str = "cerebras-openai", folder: Path | None = None) -> Warrant:
    """The warrant ``name`` from ``catalog/deals`` (or ``folder``); tranche shares must add up."""
    folder = folder or DEALS_DIR
    known = {p.stem.removesuffix("-warrant"): p for p in sorted(folder.glob("*-warrant.toml"))}
    if name not in known:
        raise UnknownIdError("warrant", name, known)
    path = known[name]
    try:
        raw = tomllib.loads(read_text(path, "warrant TOML", CatalogError))
        w = Warrant.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: malformed TOML: {exc}") from None
    except ValidationError as exc:
        raise CatalogError(f"{path}: invalid warrant: {validation_message(exc, Warrant)}") from None
    total = sum(t.shares for t in w.tranches)
    if total != w.shares:
        raise CatalogError(f"{path}: tranche shares add up to {total:,}, not the warrant's {w.shares:,}")
    return w


@dataclass(frozen=True)
class WarrantValue(Result):
    """Grant-date value of a warrant's tranches and the contra-revenue it books. USD."""

    warrant: str
    recognition: str
    usd_per_share: float
    tranches: tuple[dict[str, Any], ...]
    max_usd: float
    recognised_usd: float
    agreement_years: float
    contra_revenue_usd_per_year: float
    share_of_expected_revenue: float

    title = "warrant"

    def to_dict(self) -> dict[str, Any]:
        return {
            "warrant": self.warrant,
            "recognition": self.recognition,
            "usd_per_share": self.usd_per_share,
            "tranches": list(self.tranches),
            "max_usd": self.max_usd,
            "recognised_usd": self.recognised_usd,
            "agreement_years": self.agreement_years,
            "contra_revenue_usd_per_year": self.contra_revenue_usd_per_year,
            "share_of_expected_revenue": self.share_of_expected_revenue,
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [
            (f"  {t['name']} ({t['shares']:,} sh{', vested' if t['vested'] else ''})",
             f"${t['value_usd'] / 1e6:,.0f}M")
            for t in self.tranches
        ]  # fmt: skip
        return [
            ("warrant", f"{self.warrant} at ${self.usd_per_share:g}/share (grant date)"),
            *rows,
            ("maximum contra-revenue ($M)", round(self.max_usd / 1e6)),
            (f"recognised ({self.recognition}) ($M)", round(self.recognised_usd / 1e6)),
            (
                f"per year over {self.agreement_years:g} y ($M)",
                float(self.contra_revenue_usd_per_year) / 1e6,
            ),
            ("share of expected revenue", f"{self.share_of_expected_revenue:.1%}"),
        ]


def warrant_value(w: Warrant, recognition: str = "max") -> WarrantValue:
    """Value the tranches at the grant-date price; contra-revenue per year of the agreement."""
    if recognition not in RECOGNITION:
        raise InvalidInputError(f"--warrant '{recognition}' unknown; valid: {', '.join(RECOGNITION)}")
    per_share = w.grant_date_usd_per_share  # the published per-share value of the warrant
    tranches: tuple[dict[str, Any], ...] = tuple(
        {"name": t.name, "shares": t.shares, "condition": t.condition, "vested": t.vested,
         "value_usd": t.shares * per_share}
        for t in w.tranches
    )  # fmt: skip
    max_usd = w.shares * per_share
    if recognition == "max":
        rec = max_usd
    elif recognition == "vested":
        rec = sum(t["value_usd"] for t in tranches if t["vested"])
    else:
        rec = 0.0
    return WarrantValue(
        warrant=w.id,
        recognition=recognition,
        usd_per_share=per_share,
        tranches=tranches,
        max_usd=max_usd,
        recognised_usd=rec,
        agreement_years=w.agreement_years,
        contra_revenue_usd_per_year=rec / w.agreement_years,
        share_of_expected_revenue=rec / w.expected_revenue_usd,
    )
