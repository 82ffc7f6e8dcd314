"""Catalog entries written back as TOML (what ``tokenfrontier design --out`` writes).

Only what catalog entries hold: strings, numbers, booleans, arrays, one level of tables
(``[dense_flops_per_s]``) and arrays of tables (``[[memory]]``); ``None`` values are left out.
"""

from __future__ import annotations

from typing import Any

__all__ = ["to_toml"]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")  # pragma: no cover


def to_toml(entry: dict[str, Any]) -> str:
    """A flat catalog entry as TOML: scalars and arrays, then tables, then arrays of tables."""
    scalars = {k: v for k, v in entry.items() if not isinstance(v, dict) and not _is_tables(v)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for k, v in entry.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]", *(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())]
    for k, v in entry.items():
        if _is_tables(v):
            for t in v:
                lines += [
                    "",
                    f"[[{k}]]",
                    *(f"{kk} = {_toml_value(vv)}" for kk, vv in t.items() if vv is not None),
                ]
    return "\n".join(lines) + "\n"


def _is_tables(v: Any) -> bool:
    return isinstance(v, list | tuple) and bool(v) and all(isinstance(x, dict) for x in v)
