"""Resolve user arguments: model ids/paths to architectures, hardware ids to systems, choices."""

from __future__ import annotations

from collections.abc import Sequence

from .arch import ModelArch, load_arch
from .catalog import Catalog, default_catalog
from .errors import InvalidInputError
from .specs import System

__all__ = ["catalog_or_default", "check_choice", "get_model", "get_system"]


def catalog_or_default(catalog: Catalog | None) -> Catalog:
    return catalog or default_catalog()


def get_model(model: str | ModelArch, catalog: Catalog | None = None) -> ModelArch:
    """A normalized model from a catalog id, a config.json path or an arch."""
    if isinstance(model, ModelArch):
        return model
    cat = catalog_or_default(catalog)
    path = cat.model_path(model)
    key = model.strip().lower()
    return load_arch(path, key if key in cat.model_ids else path.stem)


def get_system(hw: str | System, catalog: Catalog | None = None) -> System:
    """A system from an id (a chip id gives a one-chip system)."""
    return hw if isinstance(hw, System) else catalog_or_default(catalog).system(hw)


def check_choice(value: str, valid: Sequence[str], what: str) -> str:
    if value not in valid:
        raise InvalidInputError(f"{what} '{value}' is not supported; valid: {', '.join(valid)}")
    return value
