"""What ``app.py`` hands each page module: Streamlit and its URL-backed input helpers, so every
page's inputs live in the URL (share a view by copying it) and every table downloads as CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Kit"]


@dataclass(frozen=True)
class Kit:
    """The page toolkit; each helper is defined in ``app.py`` (see its docstrings there)."""

    st: Any  #: the streamlit module
    choice: Callable[..., str]  #: selectbox seeded from the URL
    tokens: Callable[..., int | None]  #: a token count ("8k", "1M"), None with a message if bad
    number: Callable[..., float]  #: number input seeded from the URL, checked against its range
    known: Callable[[str, str, list[str]], list[str]]  #: URL ids that exist (the rest named)
    param: Callable[[str, str], str]  #: a raw URL parameter
    remember: Callable[..., None]  #: write values back to the URL
    hardware: Callable[[str], Any]  #: a catalog system with the sidebar's what-if multipliers
    csv_button: Callable[[Any, str], None]  #: download a frame as CSV
    catalog: Any  #: the catalog the pages read
