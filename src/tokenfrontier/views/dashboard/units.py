"""Human units for the dashboard's tables; the downloads keep the SI frame.

A column named with its SI unit (``memory_bytes``, ``memory_bandwidth_bytes_per_s``,
``bf16_flops``, ``capex_usd``, ``usd_per_mtok``, ``gross_margin``) is shown scaled and renamed:
bytes -> GB (decimal), bytes/s -> TB/s, FLOP/s -> TFLOP/s, watts -> kW, tokens/h -> Mtok/h,
$ -> $M (or $B when the column reaches $1B), shares and margins -> %. Other columns pass through unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = ["human_frame", "human_name"]

#: (suffix of the SI name, human unit, divisor); the first that matches applies.
_SCALED = (
    ("_bytes_per_s", "TB/s", 1e12),
    ("_bytes", "GB", 1e9),
    ("_flops_per_s", "TFLOP/s", 1e12),
    ("_flops", "TFLOP/s", 1e12),
    ("_power_w", "kW", 1e3),
    ("tokens_per_hour", "Mtok/h", 1e6),
)
_NAMES = (
    ("usd_per_mtok", "$/Mtok"),
    ("usd_per_hour", "$/h"),
    ("usd_per_chip_hour", "$/chip-h"),
    ("usd_per", "$ per"),
    ("tb_per_s", "TB/s"),
    ("tok_s", "tok/s"),
)
_PERCENT = ("margin", "share", "wacc")


def human_name(column: str) -> str:
    """``cost_usd_per_mtok_low`` -> ``cost $/Mtok low`` (units spelled as printed)."""
    out = column
    for si, human in _NAMES:
        out = out.replace(si, human)
    return out.replace("_", " ")


def human_frame(frame: Any) -> Any:
    """A copy of ``frame`` with SI columns in human units (module docstring)."""
    import pandas as pd

    shown = {}
    for col in frame.columns:
        values = frame[col]
        name = str(col)
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric:
            shown[human_name(name)] = values
            continue
        for suffix, unit, div in _SCALED:
            if name.endswith(suffix):
                shown[f"{human_name(name[: -len(suffix)])} {unit}".strip()] = values / div
                break
        else:
            if name.endswith("_usd") or name == "usd":
                big = values.abs().max() >= 1e9
                unit, div = ("$B", 1e9) if big else ("$M", 1e6)
                shown[f"{human_name(name[:-4] or 'value')} {unit}".strip()] = values / div
            elif any(p in name for p in _PERCENT):
                shown[f"{human_name(name)} %"] = values * 100
            else:
                shown[human_name(name)] = values
    return pd.DataFrame(shown)
