"""Parsing and formatting at the edges. Inside, everything is SI (bytes, s, FLOP/s)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from .errors import InvalidInputError, TokenFrontierError

__all__ = [
    "MAX_CONTEXT_TOKENS",
    "check_number",
    "format_bytes",
    "parse_context",
    "parse_positive_int",
    "range_text",
    "read_text",
]

#: Contexts above this are rejected as absurd (no model has a 100M-token window).
MAX_CONTEXT_TOKENS = 100_000_000

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "ki": 1_024, "mi": 1_048_576}
_CTX_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(k|m|ki|mi)?\s*$", re.IGNORECASE)


def parse_context(text: str | int, name: str = "context") -> int:
    """Parse a token count: ``8192``, ``128k`` (=128,000), ``128Ki`` (=131,072), ``1M``."""
    if isinstance(text, bool):
        raise InvalidInputError(f"{name}: expected a token count, got {text!r}")
    if isinstance(text, int):
        value = text
    else:
        m = _CTX_RE.match(str(text))
        if not m:
            raise InvalidInputError(
                f"{name}: cannot read {text!r} as a token count "
                "(use an integer, or a suffix: 128k = 128,000, 128Ki = 131,072, 1M)"
            )
        value = round(float(m.group(1)) * _SUFFIX[(m.group(2) or "").lower()])
    if value <= 0:
        raise InvalidInputError(f"{name}: must be a positive number of tokens, got {text!r}")
    if value > MAX_CONTEXT_TOKENS:
        raise InvalidInputError(
            f"{name}: {value:,} tokens is beyond any model (limit {MAX_CONTEXT_TOKENS:,}); check the units"
        )
    return value


def parse_positive_int(text: str | int, name: str, limit: int = 1_000_000) -> int:
    """Parse a positive integer count (chips, concurrency, ...) with a sanity limit."""
    wrong = f"{name}: expected a positive integer (1 to {limit:,}), got {text!r}"
    if isinstance(text, bool) or (
        isinstance(text, float) and not (math.isfinite(text) and text == int(text))
    ):
        raise InvalidInputError(wrong)
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InvalidInputError(wrong) from None
    if value <= 0 or value > limit:
        raise InvalidInputError(f"{name}: must be between 1 and {limit:,}, got {text!r}")
    return value


def format_bytes(n: float, binary: bool = False) -> str:
    """Format bytes as decimal GB (default) or GiB."""
    if binary:
        return f"{n / 2**30:,.1f} GiB"
    return f"{n / 1e9:,.1f} GB"


def read_text(path: str | Path, what: str, error: type[TokenFrontierError] = InvalidInputError) -> str:
    """A text file's contents: UTF-8, with or without a byte-order mark.

    Anything else (UTF-16, Latin-1 with accents, random bytes, NUL bytes) and unreadable paths
    are one ``error`` naming the file and ``what`` it should be.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: {what} is not UTF-8 text (byte {exc.start}: 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise error(f"{path}: {what} contains NUL bytes (UTF-16 or binary?); save it as UTF-8")
    return text


def range_text(lo: float | None, hi: float | None, lo_open: bool = False, hi_open: bool = False) -> str:
    """An interval as text: ``(0, 1]``, ``>= 0``, ``<= 30``."""
    if lo is None and hi is None:
        return "any finite number"
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_number(
    value: object,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
    unit: str = "",
    error: type[TokenFrontierError] = InvalidInputError,
) -> float:
    """``value`` as a finite number in the range, or an ``error`` naming ``name`` and the range.

    Accepts numbers and numeric text; bools, NaN, infinities and (``integer``) fractions are errors.
    """
    rng = range_text(lo, hi, lo_open, hi_open) + (f" {unit}" if unit else "")
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise error(f"{name}: expected {kind} in {rng}, got {value!r}")
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise error(f"{name}: expected {kind} in {rng}, got {value!r}") from None
    if not math.isfinite(x):
        raise error(f"{name}: must be a finite number in {rng}, got {value!r}")
    bad_lo = lo is not None and (x <= lo if lo_open else x < lo)
    bad_hi = hi is not None and (x >= hi if hi_open else x > hi)
    if bad_lo or bad_hi:
        raise error(f"{name}: must be in {rng}, got {value!r}")
    if integer and x != int(x):
        raise error(f"{name}: must be a whole number in {rng}, got {value!r}")
    return x
