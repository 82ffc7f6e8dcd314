"""Price every frontier point: $/hour of the chips used and $ per Mtok of the tokens served.

usd_per_mtok = $ per chip-hour x chips / (total tok/s per chip x chips x 3600 / 1e6).
"""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog
from ..errors import InvalidInputError
from ..specs import System
from .pricing import HourlyRate, hourly_rate

__all__ = ["price_points"]


def price_points(
    records: list[dict[str, Any]],
    systems: dict[str, System],
    *,
    rental: bool = False,
    preset: str | None = None,
    catalog: Catalog | None = None,
) -> list[str]:
    """Add ``usd_per_hour`` and ``usd_per_mtok`` to each record in place; return notes."""
    rates: dict[str, HourlyRate | None] = {}
    notes = []
    for hw_id, system in systems.items():
        try:
            rates[hw_id] = hourly_rate(system, rental=rental, preset=preset, catalog=catalog)
        except InvalidInputError as exc:
            rates[hw_id] = None
            notes.append(f"{hw_id}: not priced ({exc})")
    for r in records:
        rate = rates.get(r["hardware"])
        if rate is None:
            r["usd_per_hour"] = r["usd_per_mtok"] = None
            continue
        r["usd_per_hour"] = rate.usd_per_hour(r["chips"])
        tokens_h = r["total_tok_s_per_chip"] * r["chips"] * 3600
        r["usd_per_mtok"] = r["usd_per_hour"] / (tokens_h / 1e6)
        r["price_basis"] = rate.basis
    return notes
