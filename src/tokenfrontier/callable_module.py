"""Modules that are also the API function of the same name.

``tokenfrontier.footprint`` is a module (``import tokenfrontier.footprint as m`` gives it), and
``tokenfrontier.footprint("llama-3.1-8b")`` calls :func:`tokenfrontier.api.footprint`, as the
README's Python API shows. The same holds for ``frontier``, ``plan``, ``predict``, ``reproduce`` and
``roofline``: each of those modules ends with ``CallableModule.install(__name__)``.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["API_MODULE", "CallableModule", "api_function"]

#: Where the API functions live.
API_MODULE = "tokenfrontier.api"


def api_function(module_name: str) -> Callable[..., Any]:
    """The API function named like the last part of ``module_name``.

    Imported on first call, not at install time: :mod:`tokenfrontier.api` imports these modules.
    """
    return getattr(importlib.import_module(API_MODULE), module_name.rpartition(".")[2])


class CallableModule(types.ModuleType):
    """A module whose call is the API function of the same name (``tokenfrontier.api.<name>``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return api_function(self.__name__)(*args, **kwargs)

    @staticmethod
    def install(module_name: str) -> None:
        """Make the (already imported) module ``module_name`` callable."""
        sys.modules[module_name].__class__ = CallableModule
