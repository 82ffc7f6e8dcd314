"""Trace replay: read a request trace (CSV or JSONL, optionally gzipped) into :class:`Requests`.

Three column schemas are recognised by their column names (the first that matches wins):

=========  ================================  =====================  ======================
schema     arrival                           input tokens           output tokens
=========  ================================  =====================  ======================
plain      ``arrival_s`` (seconds)           ``input_tokens``       ``output_tokens``
Mooncake   ``timestamp`` (milliseconds)      ``input_length``       ``output_length``
Azure      ``TIMESTAMP`` (seconds, or an     ``ContextTokens``      ``GeneratedTokens``
           ISO date-time string)
=========  ================================  =====================  ======================

Optional columns, in any schema: ``session_id`` (any string or number; mapped to ints 0, 1, ...
in order of first appearance; empty = no session) and prefix-block hashes, ``hash_ids``
(Mooncake: a JSON list of ints, one per :data:`~.workload.BLOCK_TOKENS`-token block) or
``prefix_blocks`` (a JSON list, or in CSV a space- or ``;``-separated list of ints).

Every row is a root request (``follows = -1``) arriving at its own time: arrivals are made
relative to the first row and given in seconds; ``time_scale`` multiplies the gaps (0.5 replays
the trace at twice the rate). Rows must be in arrival order. Lengths must be integers >= 0; a
length of 0 (a request that generated nothing) becomes 1 token, since a simulated request reads
and emits at least one, and ``stats["zero_lengths_raised"]`` counts them. "Row N" in an error is
the N-th request of the file, counting from 1 (a CSV header is not a row; blank lines are
skipped).

Bundled traces (``catalog/traces/``, see ``SOURCES.md`` there) are read by name:
``read_trace("mooncake_conversation")`` and ``read_trace("mooncake_synthetic")``.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import gzip
import itertools
import json
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError
from .workload import CHUNK, Chunk, Requests, Source

__all__ = ["BUNDLED_TRACES", "TRACE_DIR", "TraceSource", "read_trace", "trace_source"]

TRACE_DIR = Path(__file__).resolve().parents[1] / "catalog" / "traces"
#: Bundled trace name -> file (in :data:`TRACE_DIR`).
BUNDLED_TRACES = {
    "mooncake_conversation": TRACE_DIR / "mooncake_conversation.jsonl.gz",
    "mooncake_synthetic": TRACE_DIR / "mooncake_synthetic.jsonl.gz",
}
_JSONL = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_CSV = (".csv", ".csv.gz")
_SESSION = "session_id"
_BLOCKS = ("hash_ids", "prefix_blocks")
_ONE_OBJECT = "expected one JSON object per line"


@dataclass(frozen=True)
class _Schema:
    name: str
    arrival: str
    input: str
    output: str
    seconds_per_unit: float
    datetimes: bool = False  # the arrival column may hold ISO date-time strings

    @property
    def required(self) -> tuple[str, str, str]:
        return (self.arrival, self.input, self.output)


_SCHEMAS = (
    _Schema("plain", "arrival_s", "input_tokens", "output_tokens", 1.0),
    _Schema("Mooncake", "timestamp", "input_length", "output_length", 1e-3),
    _Schema("Azure", "TIMESTAMP", "ContextTokens", "GeneratedTokens", 1.0, datetimes=True),
)


def read_trace(
    path: str | os.PathLike[str], *, limit: int | None = None, time_scale: float = 1.0
) -> Requests:
    """Requests replaying the trace at ``path`` (a file, or a bundled name such as
    ``"mooncake_conversation"``): the first ``limit`` rows, gaps between arrivals x ``time_scale``."""
    src = trace_source(path, limit=limit, time_scale=time_scale)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers: the cyclic collector would triple the read time
    try:
        req = src.materialize()
    finally:
        if was_enabled:
            gc.enable()
    isl, osl, rows = req.isl, req.osl, len(req)
    duration = float(req.arrival_s[-1])
    stats = {
        "rows": float(rows),
        "duration_s": duration,
        "requests_per_s": rows / duration if duration > 0 else float("inf"),
        "p50_input": float(np.median(isl)),
        "mean_input": float(isl.mean()),
        "p50_output": float(np.median(osl)),
        "mean_output": float(osl.mean()),
        "sessions": float(req.session.max() + 1),
        "zero_lengths_raised": float(src.zeros),
    }
    return replace(req, stats=stats)


def trace_source(
    path: str | os.PathLike[str], *, limit: int | None = None, time_scale: float = 1.0
) -> TraceSource:
    """The trace at ``path`` read lazily, :data:`~.workload.CHUNK` rows at a time (see
    :func:`read_trace`; no ``stats``)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInputError(f"trace limit must be a whole number of rows >= 1 (or None), got {limit!r}")
    if not (isinstance(time_scale, int | float) and np.isfinite(time_scale) and time_scale >= 0):
        raise InvalidInputError(
            f"trace time_scale must be a finite number >= 0 (1 = as recorded), got {time_scale!r}"
        )
    file = _resolve(path)
    lower = file.name.lower()
    if not lower.endswith(_JSONL + _CSV):
        raise InvalidInputError(
            f"trace {file.name}: unknown format; name the file .csv or .jsonl (optionally .gz), "
            f"or use a bundled trace ({', '.join(BUNDLED_TRACES)})"
        )
    return TraceSource(file, limit, float(time_scale))


_ROW = re.compile(r"\brow (\d+)\b(?! has it)")


class TraceSource(Source):
    """A trace file read chunk by chunk: every row a root request. Session ids map to 0, 1, ...
    across the whole file (the map, one entry per session, is kept)."""

    def __init__(self, file: Path, limit: int | None, time_scale: float) -> None:
        self.file, self.limit, self.time_scale = file, limit, time_scale
        self.label = file.name
        self.zeros = 0  # lengths of 0 raised to 1 (counted by the last full pass)
        self.name = f"trace {self.label.split('.')[0]}"
        self.stats: dict[str, float] = {}
        with contextlib.suppress(InvalidInputError):  # errors surface when the trace is read
            first = next(self._batches(), None)
            if first is not None:
                self.name += f" ({_schema(first[0], self.label).name} schema)"
        if time_scale != 1:
            self.name += f", time x{time_scale:g}"

    def _batches(self) -> Iterator[tuple[list[str], Columns, int]]:
        label = self.label
        if label.lower().endswith(_JSONL):
            yield from _jsonl_batches(self.file, label, self.limit)
        else:
            yield from _csv_batches(self.file, label, self.limit)

    def chunks(self) -> Iterator[Chunk]:
        label = self.label
        ids: dict[Any, int] = {}
        origin: dict[str, Any] = {}
        last = None
        offset = zeros = 0
        schema = header = None
        for hdr, columns, rows in self._batches():
            if header is None:
                header, schema = hdr, _schema(hdr, label)
            assert schema is not None
            try:
                chunk, last, z = _parse(header, schema, columns, rows, label, ids, origin, last, offset,
                                        self.time_scale)  # fmt: skip
            except InvalidInputError as exc:
                if not offset:
                    raise
                msg = _ROW.sub(functools.partial(_shift_row, offset=offset), str(exc))
                raise InvalidInputError(msg) from None
            zeros += z
            yield chunk
            offset += rows
        if header is None:
            raise InvalidInputError(f"trace {label}: empty trace (no rows); expected at least one request")
        self.zeros = zeros


def _shift_row(m: re.Match[str], offset: int) -> str:
    return f"row {int(m.group(1)) + offset}"


def _parse(
    header: list[str],
    schema: _Schema,
    columns: Columns,
    rows: int,
    label: str,
    ids: dict[Any, int],
    origin: dict[str, Any],
    last: float | None,
    offset: int,
    time_scale: float,
) -> tuple[Chunk, float, int]:
    """One batch of rows as a chunk (row numbers in errors count from the batch's first row)."""
    seconds = _arrivals(columns(schema.arrival), schema, label, origin)
    if not np.isfinite(seconds).all():
        row = int(np.argmin(np.isfinite(seconds))) + 1
        raise InvalidInputError(
            f"trace {label} row {row}: arrival time is not a finite number; arrivals must be finite"
        )
    if last is not None and seconds[0] < last:  # the previous batch's last row is row 0 here
        raise InvalidInputError(
            f"trace {label} row 1: arrival {seconds[0]:g} s is before row 0's {last:g} s; rows must be "
            "sorted by arrival time"
        )
    if rows > 1 and (np.diff(seconds) < 0).any():
        row = int(np.argmax(np.diff(seconds) < 0)) + 2
        raise InvalidInputError(
            f"trace {label} row {row}: arrival {seconds[row - 1]:g} s is before row {row - 1}'s "
            f"{seconds[row - 2]:g} s; rows must be sorted by arrival time"
        )
    isl = _lengths(columns(schema.input), schema.input, label)
    osl = _lengths(columns(schema.output), schema.output, label)
    zeros = int((isl == 0).sum() + (osl == 0).sum())
    np.maximum(isl, 1, out=isl)
    np.maximum(osl, 1, out=osl)
    session = (
        _sessions(columns(_SESSION), label, ids) if _SESSION in header else np.full(rows, -1, dtype=np.int64)
    )
    block_column = next((c for c in _BLOCKS if c in header), None)
    blocks = _blocks(columns(block_column), block_column, label) if block_column else None
    first = origin.setdefault("first", float(seconds[0]))
    index = np.arange(offset, offset + rows, dtype=np.int64)
    chunk = Chunk(
        start=offset,
        arrival_s=(seconds - first) * float(time_scale),
        isl=isl,
        osl=osl,
        next=np.full(rows, -1, dtype=np.int64),
        delay_s=np.zeros(rows),
        session=session,
        chain=index,
        blocks=blocks,
    )
    return chunk, float(seconds[-1]), zeros


# -- files ---------------------------------------------------------------------------------------
def _resolve(path: str | os.PathLike[str]) -> Path:
    if isinstance(path, str) and path in BUNDLED_TRACES:
        return BUNDLED_TRACES[path]
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(
            f"trace {os.fspath(path)!r}: no such file; give a .csv or .jsonl (optionally .gz) file "
            f"or a bundled trace name ({', '.join(BUNDLED_TRACES)})"
        )
    return file


def _open(file: Path) -> TextIO:
    if file.name.lower().endswith(".gz"):
        return gzip.open(file, "rt", encoding="utf-8-sig", newline="")
    return open(file, encoding="utf-8-sig", newline="")


def _reading(label: str, exc: Exception) -> InvalidInputError:
    if isinstance(exc, UnicodeDecodeError):
        why = f"not UTF-8 text (byte {exc.start}: {exc.reason})"
    elif isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        why = f"not a valid gzip file ({exc})"
    else:
        why = f"cannot be read ({exc.__class__.__name__}: {exc})"
    return InvalidInputError(f"trace {label}: {why}; expected UTF-8 CSV or JSONL, optionally gzipped")


Columns = Callable[[str], list[Any]]  # column name -> its raw values, one per row


def _jsonl_batches(file: Path, label: str, limit: int | None) -> Iterator[tuple[list[str], Columns, int]]:
    header: list[str] | None = None
    offset = 0
    try:
        with _open(file) as f:
            lines_iter = itertools.islice((ln for ln in f if ln.strip()), limit)
            while True:
                try:
                    lines = list(itertools.islice(lines_iter, CHUNK))
                except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
                    raise _reading(label, exc) from None
                if not lines:
                    return
                rows = _json_rows(lines, label, offset)
                if header is None:
                    header = list(rows[0])
                yield header, _json_columns(rows, label), len(rows)
                offset += len(rows)
    except OSError as exc:
        raise _reading(label, exc) from None


def _json_rows(lines: list[str], label: str, offset: int) -> list[Any]:
    try:
        rows = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        rows = []
        for i, line in enumerate(lines):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"trace {label} row {offset + i + 1}: not valid JSON ({exc.msg}); {_ONE_OBJECT}"
                ) from None
    if len(rows) != len(lines) or not all(type(r) is dict for r in rows):
        i = next((i for i, r in enumerate(rows) if type(r) is not dict), len(rows) - 1)
        raise InvalidInputError(f"trace {label} row {offset + i + 1}: not a JSON object; {_ONE_OBJECT}")
    return list(rows)


def _json_columns(rows: list[Any], label: str) -> Columns:
    def columns(name: str) -> list[Any]:
        if name == _SESSION or name in _BLOCKS:  # optional: a row without it has none
            return [r.get(name) for r in rows]
        try:
            return [r[name] for r in rows]
        except KeyError:
            i = next(i for i, r in enumerate(rows) if name not in r)
            raise InvalidInputError(
                f"trace {label} row {i + 1}: no '{name}' key (row 1 has it); every row needs the same columns"
            ) from None

    return columns


def _csv_batches(file: Path, label: str, limit: int | None) -> Iterator[tuple[list[str], Columns, int]]:
    offset = 0
    try:
        with _open(file) as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            width = len(header)
            index = {name: i for i, name in enumerate(header)}
            rows_iter = itertools.islice((r for r in reader if r), limit)
            while True:
                rows = list(itertools.islice(rows_iter, CHUNK))
                if not rows:
                    return
                short = next((i for i, row in enumerate(rows) if len(row) != width), None)
                if short is not None:
                    raise InvalidInputError(
                        f"trace {label} row {offset + short + 1}: {len(rows[short])} fields, the header has "
                        f"{width}; every row needs one value per column"
                    )

                def columns(name: str, rows: list[list[str]] = rows) -> list[Any]:
                    i = index[name]
                    return [row[i] for row in rows]

                yield header, columns, len(rows)
                offset += len(rows)
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise _reading(label, exc) from None
    except csv.Error as exc:
        raise InvalidInputError(
            f"trace {label}: malformed CSV ({exc}); expected a header row, then one row per request"
        ) from None


# -- columns -------------------------------------------------------------------------------------
def _schema(header: Sequence[str], label: str) -> _Schema:
    found = set(header)
    for schema in _SCHEMAS:
        if found.issuperset(schema.required):
            return schema
    best = max(_SCHEMAS, key=lambda s: len(found.intersection(s.required)))
    missing = [c for c in best.required if c not in found]
    expected = "; ".join(f"{s.name}: {', '.join(s.required)}" for s in _SCHEMAS)
    raise InvalidInputError(
        f"trace {label}: missing columns {', '.join(missing)} (closest: {best.name} schema); "
        f"found {', '.join(header) or 'none'}; expected one of [{expected}]"
    )


def _numbers(values: list[Any], column: str, label: str, expect: str = "a number") -> NDArray[np.float64]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        for i, v in enumerate(values):
            try:
                float(v)
            except (ValueError, TypeError):
                raise InvalidInputError(
                    f"trace {label} row {i + 1}: {column} {v!r} is not a number; expected {expect}"
                ) from None
        raise


def _arrivals(values: list[Any], schema: _Schema, label: str, origin: dict[str, Any]) -> NDArray[np.float64]:
    """Arrival times in seconds; date-times relative to the file's first one (``origin`` keeps it
    from batch to batch)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(values, dtype=np.float64) * schema.seconds_per_unit
    except (ValueError, TypeError):
        if not schema.datetimes:
            _numbers(values, schema.arrival, label, "a time in seconds")  # raises, naming the row
    try:  # ISO date-times: numpy parses naive ones in one pass
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stamps = np.array(values, dtype="datetime64[ns]")
        if "epoch" in origin and "stamp" not in origin:
            origin["stamp"] = np.datetime64(round(origin["epoch"] * 1e9), "ns")
        return (stamps - origin.setdefault("stamp", stamps[0])) / np.timedelta64(1, "s")
    except (ValueError, TypeError, UserWarning, DeprecationWarning):
        pass
    out = np.empty(len(values))
    for i, v in enumerate(values):  # zone-aware or odd forms; naive times are read as UTC
        try:
            when = v if isinstance(v, int | float) else datetime.fromisoformat(str(v).strip())
        except ValueError:
            raise InvalidInputError(
                f"trace {label} row {i + 1}: {schema.arrival} {v!r} is neither seconds nor an ISO date-time "
                "(e.g. 2023-11-16 18:15:46.680590)"
            ) from None
        if isinstance(when, datetime):
            out[i] = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        else:
            out[i] = float(when)
    if "stamp" in origin and "epoch" not in origin:
        origin["epoch"] = float((origin["stamp"] - np.datetime64(0, "ns")) / np.timedelta64(1, "s"))
    return out - origin.setdefault("epoch", out[0])


def _lengths(values: list[Any], column: str, label: str) -> NDArray[np.int64]:
    x = _numbers(values, column, label, "an integer token count >= 0")
    bad = ~np.isfinite(x) | (x < 0) | (x != np.floor(x))
    if bad.any():
        i = int(np.argmax(bad))
        why = "is negative" if np.isfinite(x[i]) and x[i] < 0 else "is not a whole number"
        raise InvalidInputError(
            f"trace {label} row {i + 1}: {column} {values[i]!r} {why}; token counts are integers >= 0"
        )
    return x.astype(np.int64)


def _sessions(values: list[Any], label: str, ids: dict[Any, int]) -> NDArray[np.int64]:
    try:
        return np.fromiter(
            (-1 if v is None or v == "" else ids.setdefault(v, len(ids)) for v in values),
            dtype=np.int64,
            count=len(values),
        )
    except TypeError:
        i = next(i for i, v in enumerate(values) if not isinstance(v, str | int | float | type(None)))
        raise InvalidInputError(
            f"trace {label} row {i + 1}: {_SESSION} {values[i]!r} is not a string or number"
        ) from None


def _blocks(values: list[Any], column: str, label: str) -> tuple[tuple[int, ...], ...]:
    lists = all(type(v) is list for v in values)
    if lists and set(map(type, itertools.chain.from_iterable(values))) <= {int}:
        return tuple(map(tuple, values))  # JSON lists of ints (the fast path)
    out: list[tuple[int, ...]] = []
    for i, v in enumerate(values):
        try:
            if v is None or v == "":
                out.append(())
            elif isinstance(v, str):
                out.append(tuple(int(h) for h in v.replace(";", " ").split()))
            elif isinstance(v, list) and all(type(h) is int for h in v):
                out.append(tuple(v))
            else:
                raise ValueError
        except ValueError:
            raise InvalidInputError(
                f"trace {label} row {i + 1}: {column} {v!r} is not a list of integer block hashes "
                "(a JSON list, or in CSV integers separated by spaces or ';')"
            ) from None
    return tuple(out)
