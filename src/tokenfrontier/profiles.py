"""Efficiency profiles: the few physical, calibrated parameters of the step model.

One TOML file per hardware family x serving stack in ``catalog/profiles/``; users add their own
through the catalog (``--catalog DIR``, ``TOKENFRONTIER_CATALOG``), for example the folder
``tokenfrontier calibrate --out DIR`` writes. Each states which calibration rows fitted it and
the fit error. Resolution order for (family, framework), nearest first:

1. exact match (family x stack);
2. the same stack fitted on another family **of the same vendor** and memory kind (software
   transfers across generations better than another stack's efficiency), its compute
   efficiencies scaled by the generation factor that other stacks measured on both families show
   (:func:`across_generations`);
3. the family's default profile (geometric mean of its fitted stacks);
4. the vendor's default on another family of the same memory kind (a vendor's software maturity
   carries across its generations better than another vendor's: AMD predicted through NVIDIA's
   profiles is about 2x off in ``benchmarks/crossval.py``);
5. the same stack fitted on another vendor's family (x the generation factor where one exists);
6. the default for the memory kind (``hbm`` / ``sram``).
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import ValidationError

from .catalog import CATALOG_DIR, default_catalog, read_toml
from .errors import CatalogError, UnknownIdError
from .specs import Chip, Profile, validation_message

__all__ = [
    "GENERATION_FIELDS",
    "PROFILE_DIR",
    "Profile",
    "across_generations",
    "canonical_framework",
    "known_frameworks",
    "load_profiles",
    "resolve_profile",
    "vendors_of",
]

PROFILE_DIR = CATALOG_DIR / "profiles"


_ALIASES = {
    "tensorrt-llm": "trt",
    "trtllm": "trt",
    "trt-llm": "trt",
    "dynamo-trt": "trt",
    "dynamo-sglang": "sglang",
    "sglang-disagg": "sglang",
    "dynamo-vllm": "vllm",
    "cerebras": "cerebras-inference",
}


def canonical_framework(name: str | None) -> str:
    """A serving-stack name as profiles spell it: lower case, aliases resolved ("" = none)."""
    fw = (name or "").strip().lower()
    return _ALIASES.get(fw, fw)


def known_frameworks(profiles: dict[str, Profile]) -> list[str]:
    """Stacks ``--framework`` accepts: the frameworks of ``profiles`` plus the stacks named in
    the alias table (``trt`` and its spellings: known, not measured, so they resolve to the
    memory kind's default profile, whose id the prediction reports)."""
    names = {p.framework for p in profiles.values()}
    return sorted(names | set(_ALIASES) | set(_ALIASES.values()))


def vendors_of(families: tuple[str, ...]) -> set[str]:
    """Vendors of the catalog chips of ``families`` (a family names one vendor's chips)."""
    return {c.vendor for c in default_catalog().chips.values() if c.family in families}


def _generation_gap(chip: Chip, families: tuple[str, ...]) -> float:
    """How far ``chip`` is from the nearest chip of ``families``: |log| of the ratio of their
    dense BF16 FLOP/s (a vendor's generations differ mostly in peak compute)."""
    mine = chip.dense_flops_per_s.get("bf16", 0.0)
    theirs = [
        c.dense_flops_per_s.get("bf16", 0.0) for c in default_catalog().chips.values() if c.family in families
    ]
    gaps = [abs(math.log(mine / t)) for t in theirs if mine > 0 and t > 0]
    return min(gaps, default=math.inf)


def _kind(p: Profile) -> str:
    return "sram" if p.mesh_hop_latency_s > 0 else "hbm"


#: Efficiencies a hardware generation changes for every stack alike (the fraction of peak the
#: tensor cores reach); latencies and overheads belong to the stack.
GENERATION_FIELDS = ("flops_efficiency", "decode_flops_efficiency")
_GENERATION_CACHE: dict[tuple[object, ...], tuple[Profile, tuple[Profile, ...]]] = {}


def across_generations(p: Profile, family: str, profiles: dict[str, Profile]) -> Profile:
    """Stack ``p`` (fitted on another family) carried to ``family``: its compute efficiencies
    times the generation factor other stacks measured on both families — per field, the
    geometric mean over those stacks of (efficiency on ``family``) / (efficiency on ``p``'s
    family). With no stack measured on both, ``p`` unchanged. ``derived_from`` names the factor;
    the id stays ``p``'s (the prediction interval level is ``transfer``)."""
    source = p.families[0] if p.families else ""
    current = [q for q in profiles.values() if q.fitted and not q.era and q.framework != p.framework]
    pairs = [
        (a, b)
        for a in current
        if family in a.families
        for b in current
        if b.framework == a.framework and source in b.families
    ]
    if not pairs or p.era:
        return p
    key = (id(p), family, *(id(x) for pair in pairs for x in pair))
    hit = _GENERATION_CACHE.get(key)
    if hit is not None and hit[1][0] is p:
        return hit[0]
    factors = {
        f: math.exp(sum(math.log(getattr(a, f) / getattr(b, f)) for a, b in pairs) / len(pairs))
        for f in GENERATION_FIELDS
    }
    stacks = ", ".join(sorted({a.framework for a, _ in pairs}))
    note = (
        f"{p.id} x the {family}/{source} generation factor measured on {stacks} ("
        + ", ".join(f"{f} x{v:.2f}" for f, v in factors.items())
        + ")"
    )
    update: dict[str, object] = {f: min(max(getattr(p, f) * v, 1e-3), 1.0) for f, v in factors.items()}
    out = p.model_copy(update={**update, "derived_from": note})
    _GENERATION_CACHE[key] = (out, (p, *(x for pair in pairs for x in pair)))
    return out


def _load(path: Path) -> Profile:
    raw = read_toml(path)
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"{path}: invalid profile: {validation_message(exc, Profile)}") from None


def load_profiles(folder: str | Path | None = None) -> dict[str, Profile]:
    """Profiles by id: the default catalog's (bundled plus ``TOKENFRONTIER_CATALOG`` folders),
    or, given ``folder``, every ``*.toml`` in it read as a profile."""
    if folder is None:
        return default_catalog().profiles
    return {p.id: p for p in map(_load, sorted(Path(folder).glob("*.toml")))}


def resolve_profile(
    chip: Chip,
    framework: str | None = None,
    profiles: dict[str, Profile] | None = None,
    era: str = "",
) -> Profile:
    """The profile for ``chip`` on ``framework`` (``None`` = the family's default stack).

    A ``framework`` that no profile names (after aliases) is an :class:`UnknownIdError` listing
    the known stacks; a known stack not fitted on this family falls back as described in the
    module docstring, and the chosen profile's id says which it is.
    ``era`` picks a profile fitted on an older software era of a vendor API ("2024") where
    one exists; otherwise the current one.
    ``profiles`` defaults to the default catalog's (:func:`load_profiles`); pass
    ``catalog.profiles`` to resolve against a catalog with user folders added.
    """
    profiles = profiles if profiles is not None else load_profiles()
    fw = canonical_framework(framework)
    if fw and fw not in known_frameworks(profiles):
        raise UnknownIdError("framework", str(framework).strip(), known_frameworks(profiles))
    ordered = sorted(profiles.values(), key=lambda p: (p.era != era, p.era != "", p.id))
    for p in ordered:
        if fw and p.framework == fw and chip.family in p.families:
            return p
    same_vendor = sorted(
        (p for p in ordered if vendors_of(p.families) == {chip.vendor}),  # not kind defaults
        key=lambda p: _generation_gap(chip, p.families),
    )  # stable: the nearest generation first, then the order above
    for p in same_vendor:  # the same stack measured on another family of this vendor
        if fw and p.framework == fw and p.fitted and _kind(p) == chip.kind:
            return across_generations(p, chip.family, profiles)
    for p in ordered:  # the family's other stacks
        if p.framework == "default" and chip.family in p.families:
            return p
    for p in same_vendor:  # the vendor's stacks on another family (its software maturity)
        if p.framework == "default" and _kind(p) == chip.kind:
            return p
    for p in ordered:  # the same stack measured on another vendor's family
        if fw and p.framework == fw and p.fitted and _kind(p) == chip.kind:
            return across_generations(p, chip.family, profiles)
    for kind_default in (f"{chip.kind}-default-{era}" if era else "", f"{chip.kind}-default"):
        if kind_default in profiles:  # the memory kind's default of the row's era first
            return profiles[kind_default]
    raise UnknownIdError("profile", f"{chip.family}/{fw or 'default'}", profiles)
