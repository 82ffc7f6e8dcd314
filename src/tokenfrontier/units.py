"""Parsing and formatting at the edges. Inside, everything is SI (bytes, s, FLOP/s)."""

from __future__ import annotations

import re

from .errors import InvalidInputError

__all__ = ["MAX_CONTEXT_TOKENS", "format_bytes", "parse_context", "parse_positive_int"]

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
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: expected a positive integer, got {text!r}") from None
    if value <= 0 or value > limit:
        raise InvalidInputError(f"{name}: must be between 1 and {limit:,}, got {text!r}")
    return value


def format_bytes(n: float, binary: bool = False) -> str:
    """Format bytes as decimal GB (default) or GiB."""
    if binary:
        return f"{n / 2**30:,.1f} GiB"
    return f"{n / 1e9:,.1f} GB"
