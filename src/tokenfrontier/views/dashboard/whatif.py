"""What-if hardware: scale a system's I/O, main memory and clock without writing TOML."""

from __future__ import annotations

from ...errors import InvalidInputError
from ...specs import System

__all__ = ["whatif_system"]


def whatif_system(system: System, io_x: float = 1.0, memory_x: float = 1.0, clock_x: float = 1.0) -> System:
    """``system`` with scale-out (and offload link) x ``io_x``, main-memory capacity x
    ``memory_x`` and compute and on-chip bandwidth x ``clock_x``. Identity returns ``system``."""
    for name, v in (("I/O", io_x), ("memory", memory_x), ("clock", clock_x)):
        if not 0.1 <= v <= 100:
            raise InvalidInputError(f"what-if {name} multiplier must be in 0.1..100, got {v}")
    if io_x == memory_x == clock_x == 1.0:
        return system
    chip = system.chip
    main = chip.main_memory
    new_main = main.model_copy(
        update={
            "capacity_bytes": main.capacity_bytes * memory_x,
            "usable_capacity_bytes": main.usable_capacity_bytes * memory_x
            if main.usable_capacity_bytes
            else None,
            "bandwidth_bytes_per_s": main.bandwidth_bytes_per_s * (clock_x if chip.kind == "sram" else 1),
        }
    )
    new_chip = chip.model_copy(
        update={
            "id": f"{chip.id}-whatif",
            "memory": (new_main, *chip.memory[1:]),
            "dense_flops_per_s": {k: v * clock_x for k, v in chip.dense_flops_per_s.items()},
            "scale_out_bytes_per_s": chip.scale_out_bytes_per_s * io_x,
        }
    )
    offload = tuple(
        t.model_copy(update={"bandwidth_bytes_per_s": t.bandwidth_bytes_per_s * io_x}) for t in system.offload
    )
    label = f"I/O x{io_x:g}, memory x{memory_x:g}, clock x{clock_x:g}"
    return system.model_copy(
        update={
            "id": f"{system.id}-whatif",
            "name": f"{system.name} ({label})",
            "chip": new_chip,
            "scale_out_bytes_per_s": system.io_bytes_per_s * io_x,
            "offload": offload,
            "notes": f"what-if: {label}",
        }
    )
