"""Results that render themselves: terminal tables, Jupyter HTML, pandas and JSON.

A result is a frozen dataclass with ``to_dict()`` (JSON-safe, SI units), ``to_frame()``
(pandas, imported lazily), ``__str__`` (human table: decimal GB, ms, TFLOP/s) and
``_repr_html_``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Result",
    "Table",
    "cell_text",
    "first_non_finite",
    "render_table",
    "to_jsonable",
    "usd_per_mtok_text",
]


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats to plain JSON values."""
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, dict):
        return to_jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def first_non_finite(value: Any, path: str = "") -> str | None:
    """Where in a result (``a.b[2].c``) the first NaN or infinity sits; ``None`` if nowhere.

    The CLI refuses such a result instead of letting JSON turn the number into ``null``.
    """
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, dict):
        return first_non_finite(value.to_dict(), path)
    if isinstance(value, dict):
        for k, v in value.items():
            found = first_non_finite(v, f"{path}.{k}" if path else str(k))
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = first_non_finite(v, f"{path}[{i}]")
            if found:
                return found
        return None
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return first_non_finite(value.tolist(), path)
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(result)"
    return None


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[cell_text(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_num(row[i]) for row in rows) if rows else False for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    line = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), line, *(fmt(r) for r in cells[1:])])


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def cell_text(v: Any) -> str:
    """How a table cell prints ``v`` (two decimals below 1,000, whole numbers with commas above):
    figures printed beside a table value (its interval bounds) use the same, so rounding keeps
    their order."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "-"
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def usd_per_mtok_text(v: float | None) -> str | None:
    """$/Mtok as a table cell: four decimals (cheap tokens differ in the third and fourth)."""
    return None if v is None else f"{v:.4f}"


class Result:
    """Mixin for single results: subclasses define ``to_dict`` and ``human_rows``."""

    title: str = ""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def human_rows(self) -> list[tuple[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(to_jsonable(self.to_dict()), indent=indent)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        flat = {k: v for k, v in to_jsonable(self.to_dict()).items()}
        return pd.DataFrame([flat])

    def __str__(self) -> str:
        body = render_table(("quantity", "value"), self.human_rows())
        return f"{self.title}\n{body}" if self.title else body

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:right'>{html.escape(cell_text(v))}</td></tr>"
            for k, v in self.human_rows()
        )
        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{cap}{rows}</table>"


class Table:
    """A list-like result: rows of dicts (SI units) plus human headers/formatters."""

    def __init__(
        self,
        records: list[dict[str, Any]],
        columns: Sequence[tuple[str, str, Any]],
        title: str = "",
        extra: dict[str, Any] | None = None,
        records_key: str = "rows",
    ) -> None:
        """``columns``: (key, human header, formatter(value) -> shown value)."""
        self.records = records
        self.columns = columns
        self.title = title
        self.extra = extra or {}
        self.records_key = records_key

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.records[i]

    def to_dict(self) -> Any:
        if self.extra:
            return {**self.extra, self.records_key: self.records}
        return self.records

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(to_jsonable(self.to_dict()), indent=indent)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(to_jsonable(self.records))

    def _shown(self) -> tuple[list[str], list[list[Any]]]:
        headers = [h for _, h, _ in self.columns]
        rows = [[f(r.get(k)) if f else r.get(k) for k, _, f in self.columns] for r in self.records]
        return headers, rows

    def __str__(self) -> str:
        headers, rows = self._shown()
        body = render_table(headers, rows)
        return f"{self.title}\n{body}" if self.title else body

    def _repr_html_(self) -> str:
        headers, rows = self._shown()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell_text(v))}</td>" for v in row) + "</tr>" for row in rows
        )
        cap = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{cap}<tr>{head}</tr>{body}</table>"
