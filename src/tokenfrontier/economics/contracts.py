"""The table of large AI cloud contracts (SPEC §5) as data, with its arithmetic audited.

Implied annual revenue = value / term years; $ per MW-year = implied annual revenue / MW. A
row's published "implied annual revenue" is flagged when it is further from value / years than
:data:`TOLERANCE_USD_B` ($0.05B: the figures are printed to $0.1B, so a correct cell is within
half a unit of the last printed digit). The published file is ``catalog/published/contracts.csv``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..catalog import CATALOG_DIR
from ..errors import InvalidInputError
from ..results import Table
from ..units import read_text

__all__ = [
    "CONTRACTS_CSV",
    "TOLERANCE_USD_B",
    "ContractTable",
    "audit_contracts",
    "contracts",
    "read_contracts",
]

CONTRACTS_CSV = CATALOG_DIR / "published" / "contracts.csv"
#: Largest |published - value / years| a cell may show and still agree ($B per year).
TOLERANCE_USD_B = 0.05 + 1e-9
_NUMBERS = ("value_usd_b", "years", "implied_usd_b_per_year", "mw")
_MARGINS = ("ebit_yr1_term_pct", "ebit_yr1_accounting_pct", "ebit_yr1_6yr_pct")


def _number(text: str, column: str, deal: str, path: Path) -> float:
    try:
        x = float(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{path}: deal '{deal}': {column} {text!r} is not a number") from None
    if not x > 0 or x != x or x == float("inf"):
        raise InvalidInputError(f"{path}: deal '{deal}': {column} must be a positive number, got {text}")
    return x


def read_contracts(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows of a contracts CSV (the bundled one by default); numbers as floats, margins as
    tuples of percents (one per chip generation). Lines starting with ``#`` are comments."""
    p = Path(path) if path is not None else CONTRACTS_CSV
    text = read_text(p, "contracts CSV", InvalidInputError)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    need = {"deal", "announced", *_NUMBERS}
    missing = sorted(need - set(reader.fieldnames or ()))
    if missing:
        raise InvalidInputError(f"{p}: contracts CSV lacks column(s) {', '.join(missing)}")
    rows = []
    for raw in reader:
        deal = raw["deal"]
        row: dict[str, Any] = {"deal": deal, "announced": raw["announced"], "chip": raw.get("chip", "")}
        for col in _NUMBERS:
            row[col] = _number(raw[col], col, deal, p)
        for col in _MARGINS:
            cell = (raw.get(col) or "").strip()
            row[col] = tuple(float(v) for v in cell.split("|")) if cell else ()
        rows.append(row)
    if not rows:
        raise InvalidInputError(f"{p}: contracts CSV has no rows")
    return rows


def audit_contracts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with implied annual revenue, $ per MW-year and the arithmetic check."""
    out = []
    for r in rows:
        implied_b = r["value_usd_b"] / r["years"]
        published = r["implied_usd_b_per_year"]
        agrees = abs(published - implied_b) <= TOLERANCE_USD_B
        reason = "" if agrees else (
            f"published {published:g} but {r['value_usd_b']:g} / {r['years']:g} = {implied_b:.2f}"
        )  # fmt: skip
        match = [o["deal"] for o in rows if abs(o["value_usd_b"] / o["years"] - published) <= TOLERANCE_USD_B]
        if not agrees and match:
            reason += f" (the published cell matches {', '.join(match)}'s value / years)"
        out.append(
            {
                "deal": r["deal"],
                "announced": r["announced"],
                "chip": r["chip"],
                "value_usd": r["value_usd_b"] * 1e9,
                "years": r["years"],
                "mw": r["mw"],
                "implied_usd_per_year": implied_b * 1e9,
                "published_implied_usd_per_year": published * 1e9,
                "usd_per_mw_year": implied_b * 1e9 / r["mw"],
                "agrees": agrees,
                "tolerance_usd_per_year": TOLERANCE_USD_B * 1e9,
                "reason": reason,
                "ebit_yr1_term": [m / 100 for m in r["ebit_yr1_term_pct"]],
                "ebit_yr1_accounting": [m / 100 for m in r["ebit_yr1_accounting_pct"]],
                "ebit_yr1_6yr": [m / 100 for m in r["ebit_yr1_6yr_pct"]],
            }
        )
    return out


def _whole(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _pcts(v: list[float]) -> str:
    return " | ".join(f"{x:.1%}" for x in v) or "-"


def contracts(path: str | Path | None = None) -> ContractTable:
    """The audited contract table (SI units: $, $/year, $/MW-year; margins as fractions)."""
    records = audit_contracts(read_contracts(path))
    flagged = [r["deal"] for r in records if not r["agrees"]]
    columns = [
        ("deal", "deal", None),
        ("announced", "announced", None),
        ("value_usd", "value $B", lambda v: round(v / 1e9, 1)),
        ("years", "years", _whole),
        ("mw", "MW", _whole),
        ("implied_usd_per_year", "value/years $B", lambda v: round(v / 1e9, 2)),
        ("published_implied_usd_per_year", "published $B/yr", lambda v: round(v / 1e9, 2)),
        ("usd_per_mw_year", "$M per MW-yr", lambda v: round(v / 1e6, 2)),
        ("ebit_yr1_accounting", "EBIT yr1 (acct)", _pcts),
        ("agrees", "arithmetic", lambda v: "ok" if v else "FLAG"),
    ]
    note = (
        f"{len(records) - len(flagged)} of {len(records)} rows agree with value / years within "
        f"${TOLERANCE_USD_B:.2f}B/yr (half the printed $0.1B)"
    )
    return ContractTable(
        records,
        columns,
        title=f"large AI cloud contracts (SPEC §5): {note}",
        extra={"tolerance_usd_per_year": TOLERANCE_USD_B * 1e9, "flagged": flagged},
        records_key="contracts",
    )


class ContractTable(Table):
    """The contract table; its text ends with one line per flagged row."""

    def __str__(self) -> str:
        lines = [f"  {r['deal']}: {r['reason']}" for r in self.records if not r["agrees"]]
        return super().__str__() + ("\nflagged:\n" + "\n".join(lines) if lines else "")

    def explain(self) -> str:
        """The formulas."""
        return (
            "implied annual revenue = value / years; $ per MW-year = value / years / MW; a row is "
            f"flagged when |published - value / years| > ${TOLERANCE_USD_B:.2f}B"
        )
