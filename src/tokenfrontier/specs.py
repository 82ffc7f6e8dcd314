"""Frozen catalog specs: chips, memory tiers, systems and efficiency profiles. SI units throughout.

The catalog TOML files (``catalog/chips/*.toml``, ``catalog/systems/*.toml``,
``catalog/profiles/*.toml`` and the user's own) are validated into these models; unknown keys are
errors (``extra="forbid"``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DEFAULT_MEMORY_FRACTION", "DTYPE_BYTES", "Chip", "MemoryTier", "Profile", "System"]

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


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemoryTier(_Frozen):
    """One memory tier of a chip or system (HBM, on-chip SRAM, an offload DDR node, ...)."""

    name: str
    technology: str = ""
    capacity_bytes: float = Field(gt=0)
    usable_capacity_bytes: float | None = Field(default=None, gt=0)
    bandwidth_bytes_per_s: float = Field(gt=0)
    latency_s: float = Field(default=0.0, ge=0)
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
    memory: tuple[MemoryTier, ...] = Field(min_length=1)
    dense_flops_per_s: dict[str, float]
    marketed_flops_per_s: float | None = Field(default=None, gt=0)
    marketed_dtype: str | None = None
    sparsity_factor: float | None = Field(default=None, ge=1)
    scale_up_bytes_per_s: float = Field(default=0.0, ge=0)
    scale_out_bytes_per_s: float = Field(default=0.0, ge=0)
    board_power_w: float | None = Field(default=None, gt=0)
    price_usd: float | None = Field(default=None, ge=0)
    process_node: str = ""
    usable_memory_fraction: float | None = Field(default=None, gt=0, le=1)
    sources: tuple[str, ...] = Field(min_length=1)
    notes: str = ""

    @model_validator(mode="after")
    def _check(self) -> Chip:
        if not self.dense_flops_per_s:
            raise ValueError("dense_flops_per_s needs at least one dtype")
        for dtype, value in self.dense_flops_per_s.items():
            if dtype not in DTYPE_BYTES:
                raise ValueError(f"dense_flops_per_s: unknown dtype '{dtype}'")
            if value <= 0:
                raise ValueError(f"dense_flops_per_s.{dtype} must be > 0")
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
    chips: int = Field(ge=1)
    scale_up_domain_chips: int = Field(ge=1)
    scale_out_bytes_per_s: float | None = Field(default=None, gt=0)
    hop_latency_s: float = Field(default=5e-6, ge=0)
    offload: tuple[MemoryTier, ...] = ()
    power_w: float | None = Field(default=None, gt=0)
    price_usd: float | None = Field(default=None, ge=0)
    implicit: bool = False
    sources: tuple[str, ...] = Field(min_length=1)
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
