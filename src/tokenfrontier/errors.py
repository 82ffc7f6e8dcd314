"""Typed errors. Every user-facing failure is a :class:`TokenFrontierError`.

The CLI prints ``str(error)`` on one line and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CatalogError",
    "ConfigError",
    "InvalidInputError",
    "TokenFrontierError",
    "UnknownIdError",
]


class TokenFrontierError(Exception):
    """Base class of every error tokenfrontier raises on bad input."""


class InvalidInputError(TokenFrontierError, ValueError):
    """A value is out of range or malformed (negative size, absurd context, ...)."""


class UnknownIdError(TokenFrontierError, KeyError):
    """A model, chip, system or profile id is not in the catalog."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        valid = sorted(valid)
        close = difflib.get_close_matches(name.lower(), valid, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        msg = f"unknown {kind} '{name}': {hint}valid {kind} ids: {', '.join(valid)}"
        super().__init__(msg)
        self.kind, self.name, self.valid, self.close = kind, name, valid, close

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownIdError], tuple[str, str, list[str]]]:
        """Pickle by the constructor's arguments, so the error crosses process boundaries
        (process pools, Ray) intact."""
        return (UnknownIdError, (self.kind, self.name, self.valid))


class CatalogError(TokenFrontierError):
    """A catalog TOML file is malformed or inconsistent."""


class ConfigError(TokenFrontierError):
    """A model config.json is malformed or lacks a field the normalizer needs."""
