"""Frozen catalog specs: chips, memory tiers, systems and efficiency profiles. SI units throughout.

The catalog TOML files (``catalog/chips/*.toml``, ``catalog/systems/*.toml``,
``catalog/profiles/*.toml`` and the user's own) are validated into these models; unknown keys are
errors (``extra="forbid"``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "DEFAULT_MEMORY_FRACTION",
    "DTYPE_BYTES",
    "MAX_FLOPS_PER_S",
    "MIN_FLOPS_PER_S",
    "TCO_CAPEX_LINES",
    "Chip",
    "MemoryTier",
    "Profile",
    "System",
    "TcoInputs",
    "field_range",
    "validation_message",
]

#: Bytes per element of each storage dtype. ``mxfp4``: 4-bit values + one 8-bit scale per 32.
DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "mxfp4": 4.25 / 8,
}


#: Share of main memory weights + KV may fill when a chip's catalog entry does not say:
#: HBM GPUs 0.9 (vLLM's default ``gpu_memory_utilization``; the rest is the CUDA context,
#: activations and communication buffers), SRAM machines 0.95 (activations and routing buffers).
DEFAULT_MEMORY_FRACTION: dict[str, float] = {"hbm": 0.9, "sram": 0.95}


#: Physical ceilings of catalog numbers (generous: 100x-1000x beyond today's largest machines).
MAX_FLOPS_PER_S = 1e19
MIN_FLOPS_PER_S = 1e9  # and floors: a rate below these is a units mistake (GFLOP/s, MB/s)
_MIN_BYTES_PER_S = 1e6
_MAX_BYTES = 1e16  # 10 PB in one memory tier
_MAX_BYTES_PER_S = 1e18
_MAX_USD = 1e10
_MAX_LATENCY_S = 1.0


class _Frozen(BaseModel):
    """Frozen, unknown keys forbidden, numbers finite and of the declared type (no ``"1e9"``
    strings, no ``true`` for a count); tuples may be written as TOML arrays."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)


def _tuple(**kw: Any) -> Any:
    return Field(strict=False, **kw)


def field_range(model: type[BaseModel], name: str) -> str | None:
    """The valid range of a numeric field as text (``(0, 1e+16]``), ``None`` if unconstrained."""
    from .units import range_text

    info = model.model_fields.get(name)
    if info is None:
        return None
    lo = hi = None
    lo_open = hi_open = False
    for m in info.metadata:
        if isinstance(m, at.Gt):
            lo, lo_open = float(m.gt), True  # type: ignore[arg-type]
        elif isinstance(m, at.Ge):
            lo = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, at.Lt):
            hi, hi_open = float(m.lt), True  # type: ignore[arg-type]
        elif isinstance(m, at.Le):
            hi = float(m.le)  # type: ignore[arg-type]
    if lo is None and hi is None:
        return None
    return range_text(lo, hi, lo_open, hi_open)


def _nested(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel], str] | None:
    """The model and field name a validation error location points at (through nested tiers)."""
    current, name = model, None
    for part in loc:
        if not isinstance(part, str):
            continue
        if current is None or part not in current.model_fields:
            return None
        name = part
        ann = current.model_fields[part].annotation
        args = getattr(ann, "__args__", ()) or (ann,)
        nxt = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        current = nxt[0] if nxt else current
        if nxt:
            name = None
    return (current, name) if name else None


def validation_message(err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line for a pydantic error: where, what, and the field's valid range when it has one."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if first["loc"] and "input" in first and first["type"] not in ("missing", "extra_forbidden"):
        shown = repr(first["input"])
        msg += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
    target = _nested(model, tuple(first["loc"])) if model is not None else None
    rng = field_range(*target) if target is not None else None
    if first["loc"] and first["loc"][0] == "dense_flops_per_s":
        rng = f"[{MIN_FLOPS_PER_S:g}, {MAX_FLOPS_PER_S:g}] FLOP/s"
    if rng:
        msg += f" (valid: {rng})"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{loc}: {msg}{more}"


class MemoryTier(_Frozen):
    """One memory tier of a chip or system (HBM, on-chip SRAM, an offload DDR node, ...)."""

    name: str
    technology: str = ""
    capacity_bytes: float = Field(gt=0, le=_MAX_BYTES)
    usable_capacity_bytes: float | None = Field(default=None, gt=0, le=_MAX_BYTES)
    bandwidth_bytes_per_s: float = Field(ge=_MIN_BYTES_PER_S, le=_MAX_BYTES_PER_S)
    latency_s: float = Field(default=0.0, ge=0, le=_MAX_LATENCY_S)
    notes: str = ""

    @property
    def usable_bytes(self) -> float:
        """Capacity available to the model (the usable figure where the vendor gives one)."""
        return self.usable_capacity_bytes or self.capacity_bytes


class Chip(_Frozen):
    """One accelerator chip (or wafer). ``memory[0]`` is the tier that holds the weights."""

    id: str
    name: str
    vendor: str
    family: str
    kind: Literal["hbm", "sram"]
    memory: tuple[MemoryTier, ...] = _tuple(min_length=1)
    dense_flops_per_s: dict[str, float]
    marketed_flops_per_s: float | None = Field(default=None, gt=0, le=100 * MAX_FLOPS_PER_S)
    marketed_dtype: str | None = None
    sparsity_factor: float | None = Field(default=None, ge=1, le=100)
    scale_up_bytes_per_s: float = Field(default=0.0, ge=0, le=_MAX_BYTES_PER_S)  # 0 = none
    scale_out_bytes_per_s: float = Field(default=0.0, ge=0, le=_MAX_BYTES_PER_S)  # 0 = none
    board_power_w: float | None = Field(default=None, gt=0, le=1e6)
    price_usd: float | None = Field(default=None, ge=0, le=_MAX_USD)
    process_node: str = ""
    usable_memory_fraction: float | None = Field(default=None, gt=0, le=1)
    #: cores of a spatial mesh the weights spread over (WSE-3: 900,000); 1 = the chip is one tile
    cores: int = Field(default=1, ge=1, le=10_000_000)
    sources: tuple[str, ...] = _tuple(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> Chip:
        if not self.dense_flops_per_s:
            raise ValueError("dense_flops_per_s needs at least one dtype")
        for dtype, value in self.dense_flops_per_s.items():
            if dtype not in DTYPE_BYTES:
                raise ValueError(f"dense_flops_per_s: unknown dtype '{dtype}'")
            if not (math.isfinite(value) and MIN_FLOPS_PER_S <= value <= MAX_FLOPS_PER_S):
                raise ValueError(
                    f"dense_flops_per_s.{dtype} must be in [{MIN_FLOPS_PER_S:g}, {MAX_FLOPS_PER_S:g}] "
                    f"FLOP/s, got {value!r}"
                )
        for name in ("scale_up_bytes_per_s", "scale_out_bytes_per_s"):
            value = getattr(self, name)
            if 0 < value < _MIN_BYTES_PER_S:
                raise ValueError(
                    f"{name} must be 0 (none) or in [{_MIN_BYTES_PER_S:g}, {_MAX_BYTES_PER_S:g}] "
                    f"bytes/s, got {value!r}"
                )
        return self

    @property
    def main_memory(self) -> MemoryTier:
        return self.memory[0]

    @property
    def memory_fraction(self) -> float:
        """The one capacity rule: share of main memory that weights + KV may fill.

        The rest holds activations, runtime buffers and fragmentation. Stated per chip in the
        catalog (``usable_memory_fraction``); absent, the memory kind's default applies.
        """
        if self.usable_memory_fraction is not None:
            return self.usable_memory_fraction
        return DEFAULT_MEMORY_FRACTION[self.kind]

    @property
    def usable_memory_bytes(self) -> float:
        """Main memory that weights + KV may fill (usable capacity x ``memory_fraction``)."""
        return self.main_memory.usable_bytes * self.memory_fraction

    def peak_flops(self, dtype: str) -> float:
        """Dense FLOP/s for ``dtype``; a dtype without tensor cores runs at the best wider rate.

        FP4 weights on a chip without FP4 units are dequantized and computed at FP8 (or BF16).
        """
        for d in _fallback_chain(dtype):
            if d in self.dense_flops_per_s:
                return self.dense_flops_per_s[d]
        return max(self.dense_flops_per_s.values())


def _fallback_chain(dtype: str) -> tuple[str, ...]:
    chains = {
        "fp4": ("fp4", "fp8", "int8", "bf16", "fp16"),
        "mxfp4": ("fp4", "fp8", "int8", "bf16", "fp16"),
        "fp8": ("fp8", "int8", "bf16", "fp16"),
        "int8": ("int8", "fp8", "bf16", "fp16"),
        "bf16": ("bf16", "fp16"),
        "fp16": ("fp16", "bf16"),
    }
    return chains.get(dtype, (dtype, "bf16"))


class System(_Frozen):
    """What one buys and powers: ``chips`` chips in scale-up domains, plus offload tiers."""

    id: str
    name: str
    chip: Chip
    chips: int = Field(ge=1, le=1_000_000)
    scale_up_domain_chips: int = Field(ge=1, le=1_000_000)
    scale_out_bytes_per_s: float | None = Field(default=None, ge=_MIN_BYTES_PER_S, le=_MAX_BYTES_PER_S)
    hop_latency_s: float = Field(default=5e-6, ge=0, le=_MAX_LATENCY_S)
    offload: tuple[MemoryTier, ...] = _tuple(default=())
    power_w: float | None = Field(default=None, gt=0, le=1e9)
    price_usd: float | None = Field(default=None, ge=0, le=_MAX_USD)
    implicit: bool = False
    sources: tuple[str, ...] = _tuple(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> System:
        if self.scale_up_domain_chips > self.chips:
            raise ValueError("scale_up_domain_chips cannot exceed chips")
        return self

    @property
    def memory_bytes(self) -> float:
        """Main-tier memory of the whole system (usable capacity)."""
        return self.chips * self.chip.main_memory.usable_bytes

    @property
    def usable_memory_bytes(self) -> float:
        """Main-tier memory of the whole system that weights + KV may fill (capacity rule)."""
        return self.chips * self.chip.usable_memory_bytes

    @property
    def io_bytes_per_s(self) -> float:
        """Scale-out bandwidth leaving the system (per direction)."""
        if self.scale_out_bytes_per_s is not None:
            return self.scale_out_bytes_per_s
        return self.chips * self.chip.scale_out_bytes_per_s


class Profile(_Frozen):
    """Achievable fractions and latency floors of one hardware family on one serving stack.

    The few physical, calibrated parameters of the step model (see :mod:`tokenfrontier.profiles`).
    """

    id: str
    families: tuple[str, ...] = Field(strict=False)
    framework: str = Field(min_length=1)
    bandwidth_efficiency: float = Field(ge=1e-3, le=1)
    flops_efficiency: float = Field(ge=1e-3, le=1)
    decode_flops_efficiency: float = Field(default=0.1, ge=1e-4, le=1)
    kernel_latency_s: float = Field(ge=0, le=_MAX_LATENCY_S)
    #: SRAM machines: time a token's activations take to cross one tile (core, or chip where a
    #: chip is one tile) of the region a layer occupies, summed over the layer's crossings
    #: (broadcast, reductions); 0 on HBM machines
    mesh_hop_latency_s: float = Field(default=0.0, ge=0, le=_MAX_LATENCY_S)
    #: SRAM machines of one-tile chips (Groq LPU): one crossing of a chip boundary (inside a
    #: layer's chip group, and between pipeline stages), fitted where rows see crossings;
    #: 0 = the system's catalog ``hop_latency_s``
    link_latency_s: float = Field(default=0.0, ge=0, le=_MAX_LATENCY_S)
    #: the vendor's own speculative decoding (SRAM vendor APIs): drafted tokens per verify step
    #: (0 = none), per-token acceptance and the draft's depth in layers of the target's latency
    spec_k: int = Field(default=0, ge=0, le=16)
    spec_acceptance: float = Field(default=0.0, ge=0, lt=1)
    spec_draft_layers: float = Field(default=0.0, ge=0, le=1000)
    collective_latency_s: float = Field(ge=0, le=_MAX_LATENCY_S)
    #: fixed cost of one MoE dispatch or combine all-to-all (its own kernels: DeepEP, NCCL
    #: all-to-all), besides the bytes it moves; the all-reduce's is ``collective_latency_s``
    a2a_latency_s: float = Field(default=20e-6, ge=0, le=_MAX_LATENCY_S)
    step_overhead_s: float = Field(ge=0, le=10.0)
    request_overhead_s: float = Field(default=0.0, ge=0, le=100.0)
    #: squared coefficient of variation of the arrivals at a disaggregated prefill pool (1 =
    #: Poisson, an M/D/1 queue; a closed-loop benchmark whose users start together and run
    #: near-equal requests arrives in bunches, > 1); sets the queueing wait in ``serving.pools``
    arrival_scv: float = Field(default=1.0, ge=0, le=1000.0)
    #: decode steps between a disaggregated request's KV arriving and its first token leaving
    #: the decode worker (0.5: it joins the batch at the next step boundary; a scheduler that
    #: polls transfers and admits through several queues takes more iterations)
    handoff_steps: float = Field(default=0.5, ge=0, le=1000.0)
    #: batch formation at a disaggregated prefill worker (the passes a prompt waits through
    #: before and around its own), in units of the worker's fixed per-pass cost: TTFT adds
    #: ``prefill_passes`` x the worker's one-token pass (weights read, kernel and step overheads)
    prefill_passes: float = Field(default=0.0, ge=0, le=1000.0)
    era: str = ""  # software era of vendor-API rows it was fitted on ("2024"); "" = current
    fitted: bool = False
    fitted_on: str = ""
    fit_rows: int = Field(default=0, ge=0)
    fitted_models: tuple[str, ...] = _tuple(default=())  # model ids of the fitted rows
    fitted_chips: tuple[str, ...] = _tuple(default=())  # chip ids of the fitted rows' hardware
    fit_error: dict[str, float] = Field(default_factory=dict)
    derived_from: str = ""
    sources: tuple[str, ...] = _tuple(default=())
    notes: str = ""


#: Capex lines of a TCO preset (upfront USD per system).
TCO_CAPEX_LINES = (
    "server_usd",
    "service_usd",
    "networking_usd",
    "storage_usd",
    "software_usd",
    "installation_usd",
)


class TcoInputs(BaseModel):
    """Inputs of the TCO model (``economics.tco``): a TCO preset of the catalog. USD, fractions
    (0.8 = 80%), kW, years; validated when the catalog loads the preset."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)

    id: str = "custom"
    system: str | None = None
    server_usd: float | None = Field(default=None, ge=0, le=_MAX_USD)
    service_usd: float = Field(default=0.0, ge=0, le=_MAX_USD)
    networking_usd: float = Field(default=0.0, ge=0, le=_MAX_USD)
    storage_usd: float = Field(default=0.0, ge=0, le=_MAX_USD)
    software_usd: float = Field(default=0.0, ge=0, le=_MAX_USD)
    installation_usd: float = Field(default=0.0, ge=0, le=_MAX_USD)
    equity_cost: float = Field(ge=0, le=1)
    debt_cost: float = Field(ge=0, le=1)
    equity_share: float = Field(ge=0, le=1)
    useful_life_years: float = Field(ge=0.1, le=30)
    electricity_usd_per_kwh: float = Field(ge=0, le=10)
    utilization: float = Field(ge=0, le=1)
    pue: float = Field(ge=1, le=3)
    colocation_usd_per_kw_month: float = Field(ge=0, le=10_000)
    power_kw: float | None = Field(default=None, gt=0, le=100_000)
    remote_hands_usd_per_month: float = Field(default=0.0, ge=0, le=1e7)
    internet_usd_per_month: float = Field(default=0.0, ge=0, le=1e7)
    cooling_lpm_per_kw: float = Field(default=0.0, ge=0, le=1_000)
    sources: tuple[str, ...] = Field(default=(), strict=False)
    notes: str = ""

    @model_validator(mode="after")
    def _wacc_sane(self) -> TcoInputs:
        if self.wacc <= 0:
            raise ValueError("WACC must be positive (equity and debt costs are both 0)")
        return self

    @property
    def wacc(self) -> float:
        return self.equity_share * self.equity_cost + (1 - self.equity_share) * self.debt_cost

    @property
    def capex_usd(self) -> float:
        return sum(getattr(self, k) or 0.0 for k in TCO_CAPEX_LINES)
