"""Hourly price of hardware: TCO (a preset, with overrides), rental, or a given $/hour; and the
selling-price card with the agentic token mix (SPEC §5).

Utilisation rule (one place; every $/Mtok in the package uses it): a deployment is paid for
every hour but serves tokens only a share u of them. Tokens served per hour (averaged over
every hour paid for) = tok/s while serving x 3600 x u; capital, colocation and support accrue
every hour; electricity scales with u (the TCO's electricity line). So
$/Mtok = TCO $/h(u) / (tok/s x 3600 x u / 1e6), which never rises with u. u is the TCO
preset's ``utilization``; a rental or given $/hour is a price per serving hour (u = 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import CARD_TOKEN_TYPES, MAX_USD_PER_MTOK, Catalog, default_catalog
from ..errors import CatalogError, InvalidInputError, UnknownIdError
from ..specs import System
from ..units import check_number
from .tco import apply_overrides, preset_for, tco

__all__ = [
    "TOKEN_TYPES",
    "UTILISATION_RULE",
    "Card",
    "HourlyRate",
    "hourly_rate",
    "load_card",
    "rental_rates",
    "served_tokens_per_hour",
]

#: The rule in one line, for ``--explain`` output.
UTILISATION_RULE = (
    "utilisation u: tokens/h = tok/s while serving x 3600 x u; capital, colocation and support "
    "accrue every hour, electricity scales with u (TCO); rental or given $/h: u = 1"
)


def served_tokens_per_hour(tok_s: float, utilization: float) -> float:
    """Tokens served per hour averaged over every hour paid for: ``tok_s`` (while serving)
    x 3600 x ``utilization`` (share of the hours the deployment serves)."""
    if not 0 < utilization <= 1:
        raise InvalidInputError(f"utilisation must be in (0, 1] (share of hours serving), got {utilization}")
    return tok_s * 3600 * utilization


TOKEN_TYPES = CARD_TOKEN_TYPES


@dataclass(frozen=True)
class HourlyRate:
    """$ per chip-hour and where it comes from."""

    usd_per_chip_hour: float
    basis: str  # "tco:<preset>", "rental", "given"
    derivation: str
    utilization: float = 1.0  # share of the hours the deployment serves (TCO input; else 1)

    def usd_per_hour(self, chips: float) -> float:
        return self.usd_per_chip_hour * chips

    def tokens_per_hour(self, tok_s: float) -> float:
        """Tokens served per hour paid for at ``tok_s`` while serving (module docstring)."""
        return served_tokens_per_hour(tok_s, self.utilization)


def rental_rates(catalog: Catalog | None = None) -> dict[str, tuple[float, float]]:
    """(low, high) USD per chip-hour by chip id, from the catalog's rental tables."""
    return (catalog or default_catalog()).rental_rates


def hourly_rate(
    system: System,
    *,
    usd_per_hour: float | None = None,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    rental: bool = False,
    catalog: Catalog | None = None,
    utilization: float | None = None,
) -> HourlyRate:
    """Price one chip-hour of ``system``.

    ``usd_per_hour`` is per system. Without it: rental when asked, else the TCO preset (the
    system's own, or ``default`` from its catalog price and power), else rental if the chip has
    a rate. Presets and rental rates come from ``catalog`` (default: the default catalog).
    ``utilization`` replaces the TCO preset's (a rental or given rate is per serving hour: u = 1).
    """
    if usd_per_hour is not None:
        check_number(usd_per_hour, "--usd-per-hour", 0, 1e7, unit="$ per system-hour")
        return HourlyRate(usd_per_hour / system.chips, "given", f"${usd_per_hour:g}/h per {system.id}")
    rates = rental_rates(catalog)
    if rental:
        if system.chip.id not in rates:
            raise InvalidInputError(
                f"no rental rate for chip '{system.chip.id}'; known: {', '.join(sorted(rates))}; "
                "pass --usd-per-hour"
            )
        lo, hi = rates[system.chip.id]
        mid = (lo + hi) / 2
        return HourlyRate(mid, "rental", f"rental ${lo:g}-{hi:g} per chip-hour, midpoint ${mid:g}")
    inputs = preset_for(system, preset, catalog)
    if overrides:
        inputs = apply_overrides(inputs, overrides)
    if utilization is not None:
        served_tokens_per_hour(1.0, utilization)  # (0, 1] or one clear error
        inputs = apply_overrides(inputs, {"utilization": utilization})
    try:
        t = tco(system, inputs)
    except InvalidInputError:
        if preset is None and not overrides and system.chip.id in rates:
            return hourly_rate(system, rental=True, catalog=catalog)  # per serving hour: u = 1
        raise
    return HourlyRate(t.usd_per_chip_hour, f"tco:{inputs.id}", t.explain(), inputs.utilization)


@dataclass(frozen=True)
class Card:
    """Selling prices ($/Mtok by token type) and the agentic token-count mix."""

    usd_per_mtok: dict[str, float]
    token_share: dict[str, float]

    def revenue_per_mtok(self) -> float:
        return sum(self.token_share[t] * self.usd_per_mtok[t] for t in TOKEN_TYPES)


def _positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= MAX_USD_PER_MTOK


def _card_tables(catalog: Catalog | None, card: str) -> tuple[dict[str, float], dict[str, float]]:
    cards = (catalog or default_catalog()).price_cards
    if card not in cards:
        raise UnknownIdError("price card", card, cards)
    entry = cards[card]
    tables = []
    for key in ("usd_per_mtok", "agentic_spend_share"):
        table = entry.data.get(key)
        if isinstance(table, dict) and set(table) == set(TOKEN_TYPES) and all(map(_positive, table.values())):
            tables.append({k: float(v) for k, v in table.items()})
        else:
            raise CatalogError(
                f"{entry.path}: price card '{card}': [{key}] needs a number in (0, {MAX_USD_PER_MTOK:g}] "
                "for each of " + ", ".join(TOKEN_TYPES)
            )
    return tables[0], tables[1]


def load_card(
    prices: dict[str, float] | None = None, catalog: Catalog | None = None, card: str = "default"
) -> Card:
    """The catalog's price card ``card`` with ``prices`` overriding $/Mtok per token type.

    Token shares of the agentic mix = spend share / price of the catalog card, normalised
    (the published mix is a spend mix under published prices).
    """
    base, spend = _card_tables(catalog, card)
    tokens = {k: spend[k] / base[k] for k in TOKEN_TYPES}
    total = sum(tokens.values())
    share = {k: v / total for k, v in tokens.items()}
    prices_out = dict(base)
    for k, v in (prices or {}).items():
        if k not in TOKEN_TYPES:
            raise InvalidInputError(f"price card: unknown token type '{k}'; valid: {TOKEN_TYPES}")
        prices_out[k] = check_number(v, f"--price {k}", 0, MAX_USD_PER_MTOK, unit="$ per Mtok")
    return Card(prices_out, share)
