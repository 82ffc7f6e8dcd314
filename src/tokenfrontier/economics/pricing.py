"""Hourly price of hardware: TCO (a preset, with overrides), rental, or a given $/hour; and the
selling-price card with the agentic token mix (SPEC §5)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..specs import System
from .tco import PRICES_DIR, apply_overrides, preset_for, tco

__all__ = ["TOKEN_TYPES", "Card", "HourlyRate", "hourly_rate", "load_card", "rental_rates"]

TOKEN_TYPES = ("cache_read", "cache_write", "input", "output")


@dataclass(frozen=True)
class HourlyRate:
    """$ per chip-hour and where it comes from."""

    usd_per_chip_hour: float
    basis: str  # "tco:<preset>", "rental", "given"
    derivation: str

    def usd_per_hour(self, chips: float) -> float:
        return self.usd_per_chip_hour * chips


@functools.cache
def rental_rates() -> dict[str, tuple[float, float]]:
    with (PRICES_DIR / "rental.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    return {k: (float(v[0]), float(v[1])) for k, v in raw["usd_per_chip_hour"].items()}


def hourly_rate(
    system: System,
    *,
    usd_per_hour: float | None = None,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    rental: bool = False,
) -> HourlyRate:
    """Price one chip-hour of ``system``.

    ``usd_per_hour`` is per system. Without it: rental when asked, else the TCO preset (the
    system's own, or ``default`` from its catalog price and power), else rental if the chip has
    a rate.
    """
    if usd_per_hour is not None:
        if not usd_per_hour >= 0:
            raise InvalidInputError(f"--usd-per-hour must be >= 0, got {usd_per_hour}")
        return HourlyRate(usd_per_hour / system.chips, "given", f"${usd_per_hour:g}/h per {system.id}")
    rates = rental_rates()
    if rental:
        if system.chip.id not in rates:
            raise InvalidInputError(
                f"no rental rate for chip '{system.chip.id}'; known: {', '.join(sorted(rates))}; "
                "pass --usd-per-hour"
            )
        lo, hi = rates[system.chip.id]
        mid = (lo + hi) / 2
        return HourlyRate(mid, "rental", f"rental ${lo:g}-{hi:g} per chip-hour, midpoint ${mid:g}")
    inputs = preset_for(system, preset)
    if overrides:
        inputs = apply_overrides(inputs, overrides)
    try:
        t = tco(system, inputs)
    except InvalidInputError:
        if preset is None and not overrides and system.chip.id in rates:
            return hourly_rate(system, rental=True)
        raise
    return HourlyRate(t.usd_per_chip_hour, f"tco:{inputs.id}", t.explain())


@dataclass(frozen=True)
class Card:
    """Selling prices ($/Mtok by token type) and the agentic token-count mix."""

    usd_per_mtok: dict[str, float]
    token_share: dict[str, float]

    def revenue_per_mtok(self) -> float:
        return sum(self.token_share[t] * self.usd_per_mtok[t] for t in TOKEN_TYPES)


@functools.cache
def _card_raw() -> dict[str, Any]:
    with (PRICES_DIR / "card-default.toml").open("rb") as fh:
        return tomllib.load(fh)


def load_card(prices: dict[str, float] | None = None) -> Card:
    """The default card with ``prices`` overriding $/Mtok per token type.

    Token shares of the agentic mix = spend share / price of the *default* card, normalised
    (the published mix is a spend mix under published prices).
    """
    raw = _card_raw()
    base = {k: float(v) for k, v in raw["usd_per_mtok"].items()}
    spend = {k: float(v) for k, v in raw["agentic_spend_share"].items()}
    tokens = {k: spend[k] / base[k] for k in TOKEN_TYPES}
    total = sum(tokens.values())
    share = {k: v / total for k, v in tokens.items()}
    card = dict(base)
    for k, v in (prices or {}).items():
        if k not in TOKEN_TYPES:
            raise InvalidInputError(f"price card: unknown token type '{k}'; valid: {TOKEN_TYPES}")
        if not v >= 0:
            raise InvalidInputError(f"price card: {k} must be >= 0, got {v}")
        card[k] = float(v)
    return Card(card, share)
