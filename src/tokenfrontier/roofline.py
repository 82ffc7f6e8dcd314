"""Roofline: ridge points per chip and dtype, GEMM arithmetic intensity and boundedness.

Ridge point = peak dense FLOP/s / main-memory bandwidth (FLOP/byte). A GEMM
C(MxN) = A(MxK) B(KxN) with every operand through main memory has FLOPs = 2MNK and
bytes = (MK + KN + MN) b; it is memory-bound on a chip when its intensity is below the
ridge. Attainable FLOP/s = min(peak, intensity x bandwidth).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import InvalidInputError
from .results import Table
from .specs import DTYPE_BYTES, Chip

__all__ = ["gemm", "gemm_intensity", "ridge_point", "roofline"]

_GEMM_LIMIT = 10**7


def ridge_point(chip: Chip, dtype: str) -> float:
    """FLOP per byte at which ``chip`` turns compute-bound for ``dtype``."""
    return chip.peak_flops(dtype) / chip.main_memory.bandwidth_bytes_per_s


def gemm_intensity(m: int, n: int, k: int, dtype: str = "fp8") -> float:
    """Arithmetic intensity (FLOP/byte) of an MxK by KxN GEMM with all operands in memory."""
    for name, v in (("M", m), ("N", n), ("K", k)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 0 < v <= _GEMM_LIMIT:
            raise InvalidInputError(
                f"GEMM dimension {name} must be an integer in 1..{_GEMM_LIMIT:,}, got {v!r}"
            )
    b = _bytes(dtype)
    return 2.0 * m * n * k / ((m * k + k * n + m * n) * b)


def _bytes(dtype: str) -> float:
    if dtype not in DTYPE_BYTES:
        raise InvalidInputError(f"dtype '{dtype}' is not known; valid: {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[dtype]


def _tf(v: float) -> float:
    return round(v / 1e12, 1)


def roofline(chips: Iterable[Chip], dtype: str | None = None) -> Table:
    """One row per chip and dtype (all dtypes the chip computes natively, or ``dtype``)."""
    if dtype is not None:
        _bytes(dtype)
    records = []
    for chip in chips:
        dtypes = [dtype] if dtype else list(chip.dense_flops_per_s)
        for d in dtypes:
            bw = chip.main_memory.bandwidth_bytes_per_s
            records.append(
                {
                    "chip": chip.id,
                    "dtype": d,
                    "native": d in chip.dense_flops_per_s,
                    "peak_flops": chip.peak_flops(d),
                    "memory_bandwidth_bytes_per_s": bw,
                    "ridge_flop_per_byte": ridge_point(chip, d),
                }
            )
    cols = [
        ("chip", "chip", None),
        ("dtype", "dtype", None),
        ("peak_flops", "peak TFLOP/s", _tf),
        ("memory_bandwidth_bytes_per_s", "memory TB/s", lambda v: round(v / 1e12, 2)),
        ("ridge_flop_per_byte", "ridge FLOP/B", lambda v: round(v, 2)),
        ("native", "native units", None),
    ]
    return Table(records, cols, title=f"roofline ({dtype or 'all dtypes'})")


def gemm(m: int, n: int, k: int, chips: Iterable[Chip], dtype: str = "fp8") -> Table:
    """Boundedness of one GEMM on every chip."""
    ai = gemm_intensity(m, n, k, dtype)
    records = []
    for chip in chips:
        ridge = ridge_point(chip, dtype)
        peak = chip.peak_flops(dtype)
        bw = chip.main_memory.bandwidth_bytes_per_s
        records.append(
            {
                "chip": chip.id,
                "ridge_flop_per_byte": ridge,
                "bound": "memory" if ai < ridge else "compute",
                "attainable_flops": min(peak, ai * bw),
            }
        )
    cols = [
        ("chip", "chip", None),
        ("ridge_flop_per_byte", "ridge FLOP/B", lambda v: round(v, 2)),
        ("bound", "bound", None),
        ("attainable_flops", "attainable TFLOP/s", _tf),
    ]
    extra = {"m": m, "n": n, "k": k, "dtype": dtype, "flops": 2.0 * m * n * k}
    extra["arithmetic_intensity"] = ai
    title = f"GEMM {m}x{n}x{k} {dtype}: arithmetic intensity {ai:,.1f} FLOP/B"
    return Table(records, cols, title=title, extra=extra, records_key="chips")


# `tokenfrontier.roofline` is this module; calling it calls the API function `tokenfrontier.api.roofline`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
