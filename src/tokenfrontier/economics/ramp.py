"""Datacenter ramp: MW online by quarter against what a capacity contract needs (SPEC §5).

Per quarter (end-of-quarter MW): systems = MW x 1,000 / kW per system; needed MW = the
contract's schedule (``mw_per_year`` delivered evenly over each year from ``start_year`` to
``end_year``, held after); shortfall = needed - online (negative = surplus); billed MW =
min(online, needed); revenue = billed systems x contract $/system-hour x 2,190 h (a quarter of
8,760); forgone = shortfall systems x the same rate. With a serving point: tokens/s = model
copies on the systems online x chips per copy x tok/s per chip (as ``fleet``), token revenue =
tokens served in the quarter x $/Mtok, tokens served = tok/s x 3,600 x utilisation u per hour
(the one utilisation rule of ``economics.pricing``: the fleet serves a share u of its hours).

Ramp tables are CSV (``quarter,mw_online[,note]``, ``#`` comment lines); the bundled ones are
``catalog/ramps/base.csv`` and ``high.csv`` with every assumption in their comments.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import CATALOG_DIR
from ..errors import InvalidInputError
from ..results import Result, render_table
from ..units import read_text
from .pricing import served_tokens_per_hour

__all__ = ["RAMPS_DIR", "Ramp", "needed_mw", "ramp", "read_ramp"]

RAMPS_DIR = CATALOG_DIR / "ramps"
HOURS_PER_QUARTER = 8760.0 / 4
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def _quarter_index(text: str, path: Path, line: int) -> int:
    m = _QUARTER.match(text.strip())
    if not m:
        raise InvalidInputError(f"{path}: row {line}: quarter {text!r} is not like 2026Q1")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def read_ramp(table: str | Path) -> list[dict[str, Any]]:
    """Rows of a ramp table: a bundled name (``base``, ``high``) or a CSV path."""
    bundled = {p.stem: p for p in RAMPS_DIR.glob("*.csv")}
    path = bundled[str(table)] if str(table) in bundled else Path(table)
    if not path.exists():
        raise InvalidInputError(
            f"ramp table '{table}': no such file; give a CSV path or a bundled table: "
            + ", ".join(sorted(bundled))
        )
    text = read_text(path, "ramp table (CSV)", InvalidInputError)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = {"quarter", "mw_online"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidInputError(
            f"{path}: ramp table needs columns quarter,mw_online; lacks {', '.join(sorted(missing))}"
        )
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(reader, start=1):
        q = _quarter_index(raw["quarter"] or "", path, i)
        try:
            mw = float(raw["mw_online"])
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{path}: row {i} ({raw['quarter']}): mw_online {raw['mw_online']!r} is not a number"
            ) from None
        if not math.isfinite(mw) or mw < 0:
            raise InvalidInputError(
                f"{path}: row {i} ({raw['quarter']}): mw_online must be >= 0 MW, got {raw['mw_online']}"
            )
        if rows and q <= rows[-1]["index"]:
            raise InvalidInputError(
                f"{path}: row {i}: quarter {raw['quarter']} does not come after {rows[-1]['quarter']}; "
                "sort the quarters in increasing order, each once"
            )
        rows.append(
            {
                "quarter": raw["quarter"].strip(),
                "index": q,
                "mw_online": mw,
                "note": (raw.get("note") or "").strip(),
            }
        )
    if not rows:
        raise InvalidInputError(f"{path}: ramp table has no rows (need quarter,mw_online lines)")
    return rows


def needed_mw(index: int, mw_per_year: float, start_year: int, end_year: int) -> float:
    """MW the contract needs by the end of quarter ``index`` (year x 4 + quarter - 1)."""
    quarters = index - start_year * 4 + 1
    total_quarters = (end_year - start_year + 1) * 4
    return mw_per_year / 4 * min(max(quarters, 0), total_quarters)


@dataclass(frozen=True)
class Ramp(Result):
    """MW online vs needed by quarter, with systems, revenue and (option) tokens. USD, MW."""

    table: str
    system: str
    kw_per_system: float
    usd_per_system_hour: float
    schedule: dict[str, float]
    serving: dict[str, Any] | None
    rows: tuple[dict[str, Any], ...]

    title = "datacenter ramp vs contract"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "system": self.system,
            "kw_per_system": self.kw_per_system,
            "usd_per_system_hour": self.usd_per_system_hour,
            "schedule": self.schedule,
            "serving": self.serving,
            "quarters": list(self.rows),
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def human_rows(self) -> list[tuple[str, Any]]:  # pragma: no cover - __str__ is a table
        return []

    def __str__(self) -> str:
        s = self.schedule
        head = (
            f"{self.title}: {self.table}; {self.system} at {self.kw_per_system:g} kW, "
            f"${self.usd_per_system_hour:.2f}/system-hour; contract needs {s['mw_per_year']:g} MW/yr "
            f"{s['start_year']:g}-{s['end_year']:g}"
        )
        tok = self.serving is not None
        headers = ["quarter", "MW online", "MW needed", "short(-)/surplus MW", "systems", "revenue $M",
                   "forgone $M"] + (["Mtok/s", "token rev $M"] if tok else [])  # fmt: skip
        body = []
        for r in self.rows:
            row: list[Any] = [r["quarter"], round(r["mw_online"], 2), round(r["mw_needed"], 2),
                              round(-r["shortfall_mw"], 2), f"{r['systems']:,}",
                              float(r["revenue_usd"]) / 1e6, float(r["forgone_usd"]) / 1e6]  # fmt: skip
            if tok:
                row += [float(r["tok_s"]) / 1e6, float(r["token_revenue_usd"]) / 1e6]
            body.append(row)
        out = f"{head}\n{render_table(headers, body)}"
        if tok and self.serving:
            sv = self.serving
            out += (
                f"\ntokens: {sv['model']} on {sv['hardware']}, {sv['chips_per_copy']} chips per copy, "
                f"{sv['tok_s_per_chip']:,.1f} tok/s per chip at {sv['tok_s_per_user']:,.1f} tok/s per user, "
                f"${sv['usd_per_mtok']:g}/Mtok, serving {sv.get('utilization', 1.0):.0%} of hours"
            )
        return out

    def explain(self) -> str:
        """The formulas."""
        return __doc__ or ""


def ramp(
    table: str | Path = "base",
    *,
    system: str,
    kw_per_system: float,
    usd_per_system_hour: float,
    mw_per_year: float = 250.0,
    start_year: int = 2026,
    end_year: int = 2028,
    serving: dict[str, Any] | None = None,
    chips_per_system: int = 1,
) -> Ramp:
    """MW online by quarter (``table``) vs the contract schedule (module docstring).

    ``serving`` (option): ``chips_per_copy``, ``tok_s_per_chip``, ``usd_per_mtok``,
    ``utilization`` (share of hours serving, default 1) and labels ``model``, ``hardware``,
    ``tok_s_per_user``) of one serving point.
    """
    if not kw_per_system > 0:
        raise InvalidInputError(f"kW per system must be > 0, got {kw_per_system}")
    if not mw_per_year > 0:
        raise InvalidInputError(f"--mw-per-year must be > 0 MW, got {mw_per_year}")
    if end_year < start_year:
        raise InvalidInputError(f"schedule end year {end_year} is before its start year {start_year}")
    rows = []
    for r in read_ramp(table):
        need = needed_mw(r["index"], mw_per_year, start_year, end_year)
        systems = int(r["mw_online"] * 1000 // kw_per_system)
        billed_mw = min(r["mw_online"], need)
        short = need - r["mw_online"]
        rate_q = usd_per_system_hour * HOURS_PER_QUARTER * 1000 / kw_per_system  # $ per MW-quarter
        out = {
            "quarter": r["quarter"],
            "mw_online": r["mw_online"],
            "mw_needed": need,
            "shortfall_mw": short,
            "systems": systems,
            "revenue_usd": billed_mw * rate_q,
            "forgone_usd": max(short, 0.0) * rate_q,
            "note": r["note"],
        }
        if serving:
            per_copy = serving["chips_per_copy"] / chips_per_system
            copies = int(systems // per_copy) if per_copy else 0
            tok_s = copies * serving["chips_per_copy"] * serving["tok_s_per_chip"]
            out["tok_s"] = tok_s
            served = served_tokens_per_hour(tok_s, serving.get("utilization", 1.0)) * HOURS_PER_QUARTER
            out["token_revenue_usd"] = served / 1e6 * serving["usd_per_mtok"]
        rows.append(out)
    schedule = {"mw_per_year": mw_per_year, "start_year": start_year, "end_year": end_year}
    return Ramp(str(table), system, kw_per_system, usd_per_system_hour, schedule, serving, tuple(rows))
