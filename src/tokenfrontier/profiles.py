"""Efficiency profiles: the few physical, calibrated parameters of the step model.

One TOML file per hardware family x serving stack in ``catalog/profiles/``. Each states which
calibration rows fitted it and the fit error. Resolution order for (family, framework):
exact match, then the family's default profile, then the same stack fitted on another
family of the same memory kind, then the default for the memory kind (``hbm`` / ``sram``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .catalog import CATALOG_DIR, read_toml
from .errors import CatalogError, UnknownIdError
from .specs import Chip

__all__ = ["Profile", "load_profiles", "resolve_profile"]

PROFILE_DIR = CATALOG_DIR / "profiles"


class Profile(BaseModel):
    """Achievable fractions and latency floors of one hardware family on one serving stack."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    families: tuple[str, ...]
    framework: str
    bandwidth_efficiency: float = Field(gt=0, le=1)
    flops_efficiency: float = Field(gt=0, le=1)
    decode_flops_efficiency: float = Field(default=0.1, gt=0, le=1)
    kernel_latency_s: float = Field(ge=0)
    layer_latency_s_per_sqrt_gb: float = Field(default=0.0, ge=0)
    collective_latency_s: float = Field(ge=0)
    step_overhead_s: float = Field(ge=0)
    request_overhead_s: float = Field(default=0.0, ge=0)
    era: str = ""  # software era of vendor-API rows it was fitted on ("2024"); "" = current
    fitted: bool = False
    fitted_on: str = ""
    fit_rows: int = 0
    fit_error: dict[str, float] = Field(default_factory=dict)
    derived_from: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""


_ALIASES = {
    "tensorrt-llm": "trt",
    "trtllm": "trt",
    "trt-llm": "trt",
    "dynamo-trt": "trt",
    "cerebras": "cerebras-inference",
}


def _kind(p: Profile) -> str:
    return "sram" if p.layer_latency_s_per_sqrt_gb > 0 else "hbm"


def _load(path: Path) -> Profile:
    raw = read_toml(path)
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"{path}: invalid profile: {loc}: {first['msg']}") from None


@functools.cache
def load_profiles(folder: str = str(PROFILE_DIR)) -> dict[str, Profile]:
    """All profiles in ``folder`` by id."""
    return {p.id: p for p in map(_load, sorted(Path(folder).glob("*.toml")))}


def resolve_profile(
    chip: Chip,
    framework: str | None = None,
    profiles: dict[str, Profile] | None = None,
    era: str = "",
) -> Profile:
    """The profile for ``chip`` on ``framework`` (``None`` = the family's default stack).

    ``era`` picks a profile fitted on an older software era of a vendor API ("2024") where
    one exists; otherwise the current one.
    """
    profiles = profiles if profiles is not None else load_profiles()
    fw = (framework or "").strip().lower()
    fw = _ALIASES.get(fw, fw)
    ordered = sorted(profiles.values(), key=lambda p: (p.era != era, p.era != "", p.id))
    for p in ordered:
        if fw and p.framework == fw and chip.family in p.families:
            return p
    for p in ordered:
        if p.framework == "default" and chip.family in p.families:
            return p
    for p in ordered:  # the same stack measured on another family of the same memory kind
        if fw and p.framework == fw and p.fitted and _kind(p) == chip.kind:
            return p
    kind_default = f"{chip.kind}-default"
    if kind_default in profiles:
        return profiles[kind_default]
    raise UnknownIdError("profile", f"{chip.family}/{fw or 'default'}", profiles)
