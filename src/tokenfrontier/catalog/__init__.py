"""The catalog: chips and systems as TOML data, models as Hugging Face ``config.json`` files.

Bundled files live beside this module. Users add their own with :meth:`Catalog.with_paths`
(a TOML file, a ``config.json`` or a folder of them) or the ``TOKENFRONTIER_CATALOG``
environment variable (folders separated by ``:``). A TOML file with a ``chip`` key is a
system, otherwise a chip. ``extends = "cs-3"`` starts from a catalog entry and overrides keys,
which is how what-if machines (a CS-3 with 10x I/O, more SRAM, a faster clock) are written.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import CatalogError, UnknownIdError
from ..specs import Chip, System

__all__ = ["CATALOG_DIR", "Catalog", "default_catalog", "read_toml"]

CATALOG_DIR = Path(__file__).parent
_MERGED_TABLES = ("dense_flops_per_s",)


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{loc}: {first['msg']}{more}"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; malformed or unreadable files are a :class:`CatalogError`."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None


class Catalog:
    """Chips, systems and model configs by id. Immutable once built."""

    def __init__(
        self,
        chips: dict[str, Chip],
        systems: dict[str, System],
        models: dict[str, Path],
    ) -> None:
        self._chips = dict(chips)
        self._systems = dict(systems)
        self._models = dict(models)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def load(cls, paths: Iterable[str | Path] = ()) -> Catalog:
        """The bundled catalog plus the given files/folders (later entries override)."""
        cat = cls({}, {}, {})
        files = sorted((CATALOG_DIR / "chips").glob("*.toml"))
        files += sorted((CATALOG_DIR / "systems").glob("*.toml"))
        cat._add_toml_files(files)
        cat._models.update({p.stem: p for p in sorted((CATALOG_DIR / "models").glob("*.json"))})
        return cat.with_paths(paths)

    def with_paths(self, paths: Iterable[str | Path]) -> Catalog:
        """A new catalog with user TOML / config.json files or folders added."""
        new = Catalog(self._chips, self._systems, self._models)
        tomls: list[Path] = []
        for raw in paths:
            path = Path(raw).expanduser()
            if path.is_dir():
                tomls += sorted(path.rglob("*.toml"))
                new._models.update({p.stem: p for p in sorted(path.rglob("*.json"))})
            elif path.suffix == ".toml":
                if not path.exists():
                    raise CatalogError(f"{path}: catalog file not found")
                tomls.append(path)
            elif path.suffix == ".json":
                if not path.exists():
                    raise CatalogError(f"{path}: model config not found")
                new._models[path.stem] = path
            else:
                raise CatalogError(f"{path}: not a catalog folder, .toml or .json file")
        new._add_toml_files(tomls)
        return new

    def _add_toml_files(self, files: list[Path]) -> None:
        raws = [(p, read_toml(p)) for p in files]
        # chips first, then systems, so a user system may use a user chip
        for path, raw in sorted(raws, key=lambda pr: "chip" in pr[1]):
            if "chip" in raw or (raw.get("extends") in self._systems):
                self._add_system(path, raw)
            else:
                self._add_chip(path, raw)

    def _merge_base(self, path: Path, raw: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        merged = {**base, **raw}
        for key in _MERGED_TABLES:
            if key in raw and key in base:
                merged[key] = {**base[key], **raw[key]}
        merged.pop("extends", None)
        if "id" not in raw:
            raise CatalogError(f"{path}: an entry that extends another needs its own 'id'")
        return merged

    def _add_chip(self, path: Path, raw: dict[str, Any]) -> None:
        if "extends" in raw:
            base = self._chips.get(raw["extends"])
            if base is None:
                raise UnknownIdError("chip", str(raw["extends"]), self._chips)
            raw = self._merge_base(path, raw, base.model_dump())
        try:
            chip = Chip.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{path}: invalid chip: {_describe(exc)}") from None
        self._chips[chip.id] = chip

    def _add_system(self, path: Path, raw: dict[str, Any]) -> None:
        raw = dict(raw)
        if "extends" in raw:
            base = self._systems.get(raw["extends"])
            if base is None:
                raise UnknownIdError("system", str(raw["extends"]), self._systems)
            base_raw = base.model_dump()
            base_raw["chip"] = base.chip.id
            raw = self._merge_base(path, raw, base_raw)
        chip_id = raw.get("chip")
        if not isinstance(chip_id, str):
            raise CatalogError(f"{path}: 'chip' must be a chip id string")
        if chip_id not in self._chips:
            raise CatalogError(
                f"{path}: system uses unknown chip '{chip_id}'; valid chips: "
                + ", ".join(sorted(self._chips))
            )
        raw["chip"] = self._chips[chip_id]
        try:
            system = System.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{path}: invalid system: {_describe(exc)}") from None
        self._systems[system.id] = system

    # -- lookup -------------------------------------------------------------------------
    @property
    def chips(self) -> dict[str, Chip]:
        return dict(self._chips)

    @property
    def systems(self) -> dict[str, System]:
        return dict(self._systems)

    @property
    def model_ids(self) -> list[str]:
        return sorted(self._models)

    def hardware_ids(self) -> list[str]:
        return sorted(set(self._chips) | set(self._systems))

    def chip(self, chip_id: str) -> Chip:
        key = chip_id.strip().lower()
        if key in self._chips:
            return self._chips[key]
        if key in self._systems:
            return self._systems[key].chip
        raise UnknownIdError("chip", chip_id, self._chips)

    def system(self, hw_id: str) -> System:
        """A system by id; a bare chip id gives an implicit one-chip system."""
        key = hw_id.strip().lower()
        if key in self._systems:
            return self._systems[key]
        if key in self._chips:
            chip = self._chips[key]
            return System(
                id=chip.id,
                name=chip.name,
                chip=chip,
                chips=1,
                scale_up_domain_chips=1,
                power_w=chip.board_power_w,
                price_usd=chip.price_usd,
                implicit=True,
                sources=chip.sources,
                notes="one chip used as the unit of deployment",
            )
        raise UnknownIdError("hardware", hw_id, self.hardware_ids())

    def model_path(self, model: str) -> Path:
        """Path of a model config: a catalog id or a path to a config.json."""
        key = model.strip().lower()
        if key in self._models:
            return self._models[key]
        path = Path(model).expanduser()
        if path.suffix == ".json" or os.sep in model or path.exists():
            if path.is_dir():
                if not (path / "config.json").exists():
                    raise CatalogError(f"{path}: folder has no config.json")
                path = path / "config.json"
            if not path.exists():
                raise UnknownIdError("model", model, self._models)
            return path
        raise UnknownIdError("model", model, self._models)


@functools.cache
def _cached(env: str) -> Catalog:
    return Catalog.load([p for p in env.split(":") if p])


def default_catalog() -> Catalog:
    """The bundled catalog plus folders named in ``TOKENFRONTIER_CATALOG`` (cached)."""
    return _cached(os.environ.get("TOKENFRONTIER_CATALOG", ""))
