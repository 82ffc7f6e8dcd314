"""tokenfrontier: LLM inference speed, footprint and cost on GPUs and SRAM machines.

The public API lives in :mod:`tokenfrontier.api` and :mod:`tokenfrontier.economics.api` and is
re-exported here lazily so that ``import tokenfrontier`` (and ``tokenfrontier --help``) stays fast.
Five API functions share their name with the module that implements them (``footprint``,
``frontier``, ``predict``, ``reproduce``, ``roofline``): ``tokenfrontier.footprint`` is that
module, and calling it calls the API function, so ``tf.footprint("llama-3.1-8b")`` and
``import tokenfrontier.footprint`` both work (:mod:`tokenfrontier.callable_module`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time the names resolve on first use
    from .api import (
        calibrate,
        deploy,
        design,
        footprint,
        frontier,
        gemm,
        get_model,
        get_system,
        hardware,
        load_sweep,
        models,
        plan,
        predict,
        reproduce,
        roofline,
        server_search,
        simulate,
        sweep_grid,
        validate,
    )
    from .economics.api import calculator, cost, deal, fleet, phase, tco

__version__ = "0.1.0"

__all__ = [
    "calculator",
    "calibrate",
    "cost",
    "deal",
    "deploy",
    "design",
    "fleet",
    "footprint",
    "frontier",
    "gemm",
    "get_model",
    "get_system",
    "hardware",
    "load_sweep",
    "models",
    "phase",
    "plan",
    "predict",
    "reproduce",
    "roofline",
    "server_search",
    "simulate",
    "sweep_grid",
    "tco",
    "validate",
]
#: API names that are also modules of this package (callable modules).
CALLABLE_MODULES = frozenset({"design", "footprint", "frontier", "plan", "predict", "reproduce", "roofline"})
ECONOMICS = frozenset({"calculator", "cost", "deal", "fleet", "phase", "tco"})


def __getattr__(name: str) -> Any:
    if name in CALLABLE_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ECONOMICS:
        return getattr(importlib.import_module(f"{__name__}.economics.api"), name)
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.api"), name)
    raise AttributeError(f"module 'tokenfrontier' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
