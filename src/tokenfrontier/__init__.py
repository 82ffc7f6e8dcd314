"""tokenfrontier: LLM inference speed, footprint and cost on GPUs and SRAM machines.

The public API lives in :mod:`tokenfrontier.api` and is re-exported here lazily so that
``import tokenfrontier`` (and ``tokenfrontier --help``) stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "deploy",
    "footprint",
    "gemm",
    "get_model",
    "get_system",
    "hardware",
    "models",
    "reproduce",
    "roofline",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tokenfrontier' has no attribute {name!r}")
