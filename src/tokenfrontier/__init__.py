"""tokenfrontier: LLM inference speed, footprint and cost on GPUs and SRAM machines.

The public API lives in :mod:`tokenfrontier.api` and is re-exported here lazily so that
``import tokenfrontier`` (and ``tokenfrontier --help``) stays fast. Some API functions share a
name with the core module that implements them (``footprint``, ``frontier``, ...); the package
attribute is always the API function.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "calculator",
    "calibrate",
    "cost",
    "deal",
    "deploy",
    "fleet",
    "footprint",
    "frontier",
    "gemm",
    "get_model",
    "get_system",
    "hardware",
    "models",
    "phase",
    "predict",
    "reproduce",
    "roofline",
    "tco",
    "validate",
]
_API = frozenset(__all__)
_ECONOMICS = frozenset({"calculator", "cost", "deal", "fleet", "phase", "tco"})


def _lookup(name: str) -> Any:
    if name in _ECONOMICS:
        from .economics import api as econ

        return getattr(econ, name)
    from . import api

    return getattr(api, name)


class _Package(types.ModuleType):
    def __getattribute__(self, name: str) -> Any:
        if name in _API:
            return _lookup(name)
        return super().__getattribute__(name)


def __getattr__(name: str) -> Any:
    if name in _API:
        return _lookup(name)
    raise AttributeError(f"module 'tokenfrontier' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
