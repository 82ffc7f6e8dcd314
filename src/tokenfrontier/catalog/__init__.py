"""The catalog: chips, systems, efficiency profiles and prices as TOML data; models as Hugging
Face ``config.json`` files.

Bundled files live beside this module (``chips/``, ``systems/``, ``profiles/``, ``prices/``,
``models/``). Users add their own with :meth:`Catalog.with_paths` (a TOML file, a
``config.json`` or a folder searched recursively; the CLI's ``--catalog PATH``) or the
``TOKENFRONTIER_CATALOG`` environment variable (folders separated by ``:``). A later entry
replaces an earlier one with the same id. ``extends = "cs-3"`` starts from an entry of the same
kind and overrides keys, which is how what-if machines (a CS-3 with 10x I/O, more SRAM, a faster
clock) and price variants are written.

What a TOML file is comes from its keys, never from its name or folder, so any folder works as
it is, including the one ``tokenfrontier calibrate --out DIR`` writes. Each kind has
*distinctive keys*: the fields of its schema that no other kind has (:data:`KIND_KEYS`):

- chip: ``vendor``, ``family``, ``kind``, ``memory``, ``dense_flops_per_s``, ... (:class:`Chip`)
- system: ``chip``, ``chips``, ``scale_up_domain_chips``, ``offload``, ``power_w``, ... (:class:`System`)
- profile: ``families``, ``framework``, ``bandwidth_efficiency``, ... (:class:`Profile`)
- tco (a TCO preset): ``server_usd``, ``equity_cost``, ``pue``, ``utilization``, ``system``, ...
  (:class:`~tokenfrontier.specs.TcoInputs`)
- card (a selling-price card): ``usd_per_mtok``, ``agentic_spend_share``
- rental (rental rates): ``usd_per_chip_hour`` (chip id -> [low, high] USD per chip-hour)

A file with distinctive keys of exactly one kind is that kind. A file with none (only ``id``,
``name``, ``extends``, ``sources``, ``notes`` and the keys chips and systems share) is the kind of
the entry it ``extends``. Anything else — no kind, or two — is a :class:`CatalogError` naming the
file.
"""

from __future__ import annotations

import functools
import math
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import CatalogError, UnknownIdError
from ..specs import Chip, Profile, System, TcoInputs, validation_message
from ..units import read_text

__all__ = [
    "CARD_TOKEN_TYPES",
    "CATALOG_DIR",
    "KINDS",
    "KIND_KEYS",
    "MAX_USD_PER_MTOK",
    "Catalog",
    "PriceTable",
    "default_catalog",
    "kind_of",
    "read_toml",
]

CATALOG_DIR = Path(__file__).parent
BUNDLED_FOLDERS = ("chips", "systems", "profiles", "prices")
_MERGED_TABLES = ("dense_flops_per_s",)
_COMMON_KEYS = frozenset({"id", "name", "extends", "sources", "notes"})
#: The inputs of a TCO preset (the fields of :class:`tokenfrontier.specs.TcoInputs`).
TCO_KEYS = frozenset(TcoInputs.model_fields)
_SCHEMA_KEYS: dict[str, frozenset[str]] = {
    "chip": frozenset(Chip.model_fields),
    "system": frozenset(System.model_fields),
    "profile": frozenset(Profile.model_fields),
    "tco": TCO_KEYS,
    "card": frozenset({"id", "usd_per_mtok", "agentic_spend_share", "sources", "notes"}),
    "rental": frozenset({"usd_per_chip_hour", "sources", "notes"}),
}
#: Kinds of catalog TOML, in the order they are added (a system needs its chip first).
KINDS = tuple(_SCHEMA_KEYS)
#: The distinctive keys of each kind: fields of its schema that no other kind has.
KIND_KEYS: dict[str, frozenset[str]] = {
    kind: keys - _COMMON_KEYS - frozenset().union(*(v for k, v in _SCHEMA_KEYS.items() if k != kind))
    for kind, keys in _SCHEMA_KEYS.items()
}
_EXTENDABLE = ("chip", "system", "tco")
#: Token types of a price card, and the highest price a card may state ($ per Mtok).
CARD_TOKEN_TYPES = ("cache_read", "cache_write", "input", "output")
MAX_USD_PER_MTOK = 1e4
_KIND_NAMES = {
    "chip": "chip",
    "system": "system",
    "profile": "efficiency profile",
    "tco": "TCO preset",
    "card": "price card",
    "rental": "rental-rate table",
}


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file (UTF-8, with or without BOM) as a dict; malformed, unreadable or non-UTF-8
    files and an ``id`` / ``extends`` that is not a string are a :class:`CatalogError`."""
    text = read_text(path, "catalog TOML file", CatalogError)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: malformed TOML: {exc}") from None
    for key in ("id", "extends"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            raise CatalogError(f"{path}: '{key}' must be one entry id (a non-empty string), got {raw[key]!r}")
    return raw


def kind_of(path: Path, raw: dict[str, Any]) -> str | None:
    """The kind of a catalog TOML from its distinctive keys (see the module docstring).

    ``None`` when it has none (an ``extends``-only file: the kind of the entry it extends).
    Keys of two kinds are a :class:`CatalogError` naming the file.
    """
    found = {k: sorted(keys & raw.keys()) for k, keys in KIND_KEYS.items() if keys & raw.keys()}
    if len(found) > 1:
        which = " and ".join(f"a {_KIND_NAMES[k]} ({', '.join(v)})" for k, v in found.items())
        raise CatalogError(f"{path}: ambiguous catalog entry: it has keys of {which}")
    return next(iter(found), None)


def _known_keys_only(path: Path, raw: dict[str, Any], kind: str) -> None:
    unknown = sorted(set(raw) - _SCHEMA_KEYS[kind])
    if unknown:
        raise CatalogError(
            f"{path}: invalid {_KIND_NAMES[kind]}: unknown key(s) {', '.join(unknown)}; valid: "
            + ", ".join(sorted(_SCHEMA_KEYS[kind]))
        )


def _no_kind(path: Path) -> CatalogError:
    return CatalogError(
        f"{path}: not a catalog entry: none of its keys says what it is (a chip has e.g. 'memory' "
        "and 'dense_flops_per_s', a system 'chip', a profile 'families' and 'framework', a TCO "
        "preset 'server_usd' or 'equity_cost', a price card 'usd_per_mtok', rental rates "
        "'usd_per_chip_hour'; or 'extends' names an existing entry)"
    )


@dataclass(frozen=True)
class PriceTable:
    """A TCO preset or price card as written in TOML, ``extends`` resolved.

    The economics layer validates it (``economics.tco.load_presets``,
    ``economics.pricing.load_card``) and names ``path`` in its errors.
    """

    id: str
    path: Path
    data: dict[str, Any]


class Catalog:
    """Chips, systems, model configs, efficiency profiles and prices by id. Immutable once built."""

    def __init__(
        self,
        chips: dict[str, Chip],
        systems: dict[str, System],
        models: dict[str, Path],
        profiles: dict[str, Profile] | None = None,
        tco_presets: dict[str, PriceTable] | None = None,
        price_cards: dict[str, PriceTable] | None = None,
        rental_rates: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self._chips = dict(chips)
        self._systems = dict(systems)
        self._models = dict(models)
        self._profiles = dict(profiles or {})
        self._tco = dict(tco_presets or {})
        self._cards = dict(price_cards or {})
        self._rental = dict(rental_rates or {})
        self._implicit: dict[str, System] = {}  # one-chip systems made from chip ids, once each

    # -- construction -------------------------------------------------------------------
    @classmethod
    def load(cls, paths: Iterable[str | Path] = ()) -> Catalog:
        """The bundled catalog plus the given files/folders (later entries override)."""
        cat = cls({}, {}, {})
        files = [p for sub in BUNDLED_FOLDERS for p in sorted((CATALOG_DIR / sub).glob("*.toml"))]
        cat._add_toml_files(files)
        cat._models.update({p.stem: p for p in sorted((CATALOG_DIR / "models").glob("*.json"))})
        return cat.with_paths(paths)

    def with_paths(self, paths: Iterable[str | Path]) -> Catalog:
        """A new catalog with user TOML / config.json files or folders added."""
        new = Catalog(
            self._chips, self._systems, self._models, self._profiles, self._tco, self._cards,
            self._rental,
        )  # fmt: skip
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

    def _ids(self, kind: str) -> set[str]:
        if kind == "chip":
            return set(self._chips)
        return set(self._systems) if kind == "system" else set(self._tco)

    def _add_toml_files(self, files: list[Path]) -> None:
        self._implicit.clear()  # (while building) a chip file may replace a chip
        entries = [(p, read_toml(p)) for p in files]
        kinds = {p: kind_of(p, raw) for p, raw in entries}
        # extends-only files take the kind of the entry they extend (here or in this batch)
        pending = [(p, raw) for p, raw in entries if kinds[p] is None]
        while pending:
            ids = {
                k: self._ids(k) | {str(r.get("id")) for p, r in entries if kinds[p] == k} for k in _EXTENDABLE
            }
            left = []
            for path, raw in pending:
                match = [k for k in _EXTENDABLE if raw.get("extends") in ids[k]]
                if len(match) > 1:
                    raise CatalogError(
                        f"{path}: ambiguous catalog entry: it extends '{raw['extends']}', which is "
                        f"both a {_KIND_NAMES[match[0]]} and a {_KIND_NAMES[match[1]]}"
                    )
                if match:
                    kinds[path] = match[0]
                else:
                    left.append((path, raw))
            if len(left) == len(pending):
                path, raw = left[0]
                if "extends" in raw:
                    raise CatalogError(
                        f"{path}: extends '{raw['extends']}', which is no chip, system or TCO "
                        "preset in the catalog"
                    )
                raise _no_kind(path)
            pending = left
        add = {
            "chip": self._add_chip,
            "system": self._add_system,
            "profile": self._add_profile,
            "tco": self._add_tco,
            "card": self._add_card,
            "rental": self._add_rental,
        }
        for kind in KINDS:
            batch = [(p, raw) for p, raw in entries if kinds[p] == kind]
            for path, raw in _extends_order(batch):
                add[kind](path, raw)

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
            raise CatalogError(f"{path}: invalid chip: {validation_message(exc, Chip)}") from None
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
            raise CatalogError(f"{path}: invalid system: {validation_message(exc, System)}") from None
        self._systems[system.id] = system

    def _add_profile(self, path: Path, raw: dict[str, Any]) -> None:
        try:
            profile = Profile.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{path}: invalid profile: {validation_message(exc, Profile)}") from None
        self._profiles[profile.id] = profile

    def _add_tco(self, path: Path, raw: dict[str, Any]) -> None:
        if "extends" in raw:
            base = self._tco.get(raw["extends"])
            if base is None:
                raise UnknownIdError("TCO preset", str(raw["extends"]), self._tco)
            raw = self._merge_base(path, raw, base.data)
        pid = raw.get("id")
        if not isinstance(pid, str):
            raise CatalogError(f"{path}: a TCO preset needs an 'id' string")
        try:
            TcoInputs.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"{path}: invalid TCO preset: {validation_message(exc, TcoInputs)}") from None
        self._tco[pid] = PriceTable(pid, path, raw)

    def _add_card(self, path: Path, raw: dict[str, Any]) -> None:
        _known_keys_only(path, raw, "card")
        cid = raw.get("id")
        if not isinstance(cid, str):
            raise CatalogError(f"{path}: a price card needs an 'id' string")
        for key in ("usd_per_mtok", "agentic_spend_share"):
            table = raw.get(key)
            ok = (
                isinstance(table, dict)
                and set(table) == set(CARD_TOKEN_TYPES)
                and all(
                    isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= MAX_USD_PER_MTOK
                    for v in table.values()
                )
            )
            if not ok:
                missing = sorted(set(CARD_TOKEN_TYPES) - set(table)) if isinstance(table, dict) else []
                lacks = f"lacks {', '.join(missing)}; " if missing else ""
                raise CatalogError(
                    f"{path}: price card '{cid}': [{key}] {lacks}needs a number in "
                    f"(0, {MAX_USD_PER_MTOK:g}] for each of " + ", ".join(CARD_TOKEN_TYPES)
                )
        self._cards[cid] = PriceTable(cid, path, raw)

    def _add_rental(self, path: Path, raw: dict[str, Any]) -> None:
        _known_keys_only(path, raw, "rental")
        table = raw["usd_per_chip_hour"]
        if not isinstance(table, dict):
            raise CatalogError(f"{path}: 'usd_per_chip_hour' must be a table of chip = [low, high]")
        for chip_id, pair in table.items():
            ok = (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
                and all(math.isfinite(v) for v in pair)
                and 0 <= pair[0] <= pair[1] <= 1e4
            )
            if not ok:
                raise CatalogError(
                    f"{path}: usd_per_chip_hour.{chip_id}: expected [low, high] USD per chip-hour with "
                    f"0 <= low <= high <= 10000, got {pair!r}"
                )
            self._rental[chip_id] = (float(pair[0]), float(pair[1]))

    # -- lookup -------------------------------------------------------------------------
    @property
    def chips(self) -> dict[str, Chip]:
        return dict(self._chips)

    @property
    def systems(self) -> dict[str, System]:
        return dict(self._systems)

    @property
    def profiles(self) -> dict[str, Profile]:
        """Efficiency profiles by id (see :func:`tokenfrontier.profiles.resolve_profile`)."""
        return dict(self._profiles)

    @property
    def tco_presets(self) -> dict[str, PriceTable]:
        """TCO presets by id, ``extends`` resolved, in load order (validated by the economics)."""
        return dict(self._tco)

    @property
    def price_cards(self) -> dict[str, PriceTable]:
        """Selling-price cards ($/Mtok by token type and the agentic mix) by id."""
        return dict(self._cards)

    @property
    def rental_rates(self) -> dict[str, tuple[float, float]]:
        """Rental rates by chip id: (low, high) USD per chip-hour."""
        return dict(self._rental)

    def profile(self, profile_id: str) -> Profile:
        """A profile by id."""
        key = profile_id.strip()
        if key in self._profiles:
            return self._profiles[key]
        raise UnknownIdError("profile", profile_id, self._profiles)

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
        if key in self._implicit:
            return self._implicit[key]  # the same object every time: scenarios cache by identity
        if key in self._chips:
            chip = self._chips[key]
            system = self._implicit[key] = System(
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
            return system
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


def _extends_order(entries: list[tuple[Path, dict[str, Any]]]) -> list[tuple[Path, dict[str, Any]]]:
    """Entries with an entry of this batch they extend placed after it (stable otherwise)."""
    done: list[tuple[Path, dict[str, Any]]] = []
    left = list(entries)
    while left:
        waiting = {str(r.get("id")) for _, r in left}
        # an entry may extend the existing entry it replaces (id = extends = "cs-3")
        ready = [
            (p, r) for p, r in left if r.get("extends") not in waiting or r.get("extends") == r.get("id")
        ]
        if not ready:
            path, raw = left[0]
            raise CatalogError(f"{path}: 'extends' forms a cycle ('{raw.get('extends')}')")
        done += ready
        left = [e for e in left if e not in ready]
    return done


@functools.cache
def _cached(env: str) -> Catalog:
    return Catalog.load([p for p in env.split(":") if p])


def default_catalog() -> Catalog:
    """The bundled catalog plus folders named in ``TOKENFRONTIER_CATALOG`` (cached)."""
    return _cached(os.environ.get("TOKENFRONTIER_CATALOG", ""))
