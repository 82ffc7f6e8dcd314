"""The Python API: the CLI's commands as functions taking ids or objects.

Every function accepts a model as a catalog id, a path to a ``config.json`` or a
:class:`~tokenfrontier.arch.ModelArch`, and hardware as a chip/system id or a
:class:`~tokenfrontier.specs.System`. Results render in the terminal and Jupyter and convert
with ``.to_frame()`` / ``.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterable

# performance functions live in api_performance; re-exported so ``tokenfrontier.api`` is complete
from .api_performance import calibrate, frontier, predict, validate
from .api_plan import plan
from .api_simulate import server_search, simulate
from .arch import ModelArch
from .catalog import Catalog
from .design import design
from .errors import InvalidInputError
from .footprint import KV_DTYPES, WEIGHT_DTYPES, Footprint, param_counts
from .footprint import footprint as _footprint
from .grid import load_sweep, sweep_grid
from .placement import Deployment
from .placement import deploy as _deploy
from .reproduce import Reproduction
from .reproduce import reproduce as _reproduce
from .resolve import catalog_or_default, check_choice, get_model, get_system
from .results import Table
from .roofline import gemm as _gemm
from .roofline import roofline as _roofline
from .specs import Chip, System
from .units import parse_context

__all__ = [
    "calibrate",
    "deploy",
    "design",
    "footprint",
    "frontier",
    "gemm",
    "get_model",
    "get_system",
    "hardware",
    "load_sweep",
    "models",
    "plan",
    "predict",
    "reproduce",
    "roofline",
    "server_search",
    "simulate",
    "sweep_grid",
    "validate",
]


def footprint(
    model: str | ModelArch,
    weights: str = "native",
    kv_dtype: str = "bf16",
    contexts: Iterable[int | str] = ("128k",),
    full_attention: bool = False,
    catalog: Catalog | None = None,
) -> Footprint:
    """Parameters, weight bytes and KV bytes of one sequence at each context."""
    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
    ctx = tuple(parse_context(c) for c in contexts)
    return _footprint(get_model(model, catalog), weights, kv_dtype, ctx, full_attention)


def deploy(
    model: str | ModelArch,
    on: str | System,
    weights: str = "native",
    kv_dtype: str = "bf16",
    context: int | str = 8192,
    full_attention: bool = False,
    systems: int | None = None,
    catalog: Catalog | None = None,
) -> Deployment:
    """Place one copy of a model on hardware (SPEC §4 method)."""
    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
    if systems is not None and (isinstance(systems, bool) or systems < 1):
        raise InvalidInputError(f"systems: must be a positive integer, got {systems!r}")
    return _deploy(
        get_model(model, catalog),
        get_system(on, catalog),
        weights,
        kv_dtype,
        parse_context(context),
        full_attention,
        systems,
    )


def roofline(
    dtype: str | None = None, chips: Iterable[str] | None = None, catalog: Catalog | None = None
) -> Table:
    """Ridge point of every chip (or the named ones) per dtype."""
    cat = catalog_or_default(catalog)
    selected = [cat.chip(c) for c in chips] if chips else list(cat.chips.values())
    return _roofline(selected, dtype)


def gemm(
    m: int,
    n: int,
    k: int,
    dtype: str = "fp8",
    chips: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> Table:
    """Arithmetic intensity of an MxNxK GEMM and its bound on every chip."""
    cat = catalog_or_default(catalog)
    selected = [cat.chip(c) for c in chips] if chips else list(cat.chips.values())
    return _gemm(m, n, k, selected, dtype)


def reproduce(catalog: Catalog | None = None) -> Reproduction:
    """SPEC's published tables beside ours, every disagreement explained."""
    import dataclasses

    from .economics.contracts import audit_contracts, read_contracts
    from .economics.deal_analysis import published_ebit_check

    cat = catalog_or_default(catalog)
    return dataclasses.replace(
        _reproduce(cat),
        contracts=tuple(audit_contracts(read_contracts())),
        deal_ebit=tuple(published_ebit_check(cat)),
    )


def models(catalog: Catalog | None = None) -> Table:
    """The bundled model catalog."""
    cat = catalog_or_default(catalog)
    records = []
    for mid in cat.model_ids:
        arch = get_model(mid, cat)
        p = param_counts(arch)
        kinds = sorted({"mla" if layer.latent_kv else layer.attention for layer in arch.main_layers})
        records.append(
            {
                "id": mid,
                "model_type": arch.model_type,
                "total_params": p.total,
                "active_params": p.active,
                "layers": len(arch.main_layers),
                "moe": arch.is_moe,
                "attention": "+".join(kinds),
                "context_window": arch.max_context,
                "native_experts_dtype": arch.native_dtypes["experts"],
            }
        )
    cols = [
        ("id", "model", None),
        ("model_type", "type", None),
        ("total_params", "total B", lambda v: round(v / 1e9, 1)),
        ("active_params", "active B", lambda v: round(v / 1e9, 1)),
        ("layers", "layers", None),
        ("attention", "attention", None),
        ("context_window", "context", None),
        ("native_experts_dtype", "checkpoint", None),
    ]
    return Table(records, cols, title="models")


def hardware(catalog: Catalog | None = None) -> Table:
    """Chips and systems in the catalog, in SI units."""
    cat = catalog_or_default(catalog)
    records = []
    for cid, chip in sorted(cat.chips.items()):
        mem = chip.main_memory.usable_bytes
        records.append(_hw_record(cid, chip.name, "chip", 1, mem, chip))
    for sid, sys_ in sorted(cat.systems.items()):
        records.append(_hw_record(sid, sys_.name, "system", sys_.chips, sys_.memory_bytes, sys_.chip))
    cols = [
        ("id", "id", None),
        ("type", "type", None),
        ("chips", "chips", None),
        ("memory_bytes", "memory GB", lambda v: round(v / 1e9, 2)),
        ("memory_bandwidth_bytes_per_s", "TB/s per chip", lambda v: round(v / 1e12, 2)),
        ("bf16_flops", "BF16 TFLOP/s/chip", lambda v: round(v / 1e12) if v else None),
        ("fp8_flops", "FP8 TFLOP/s/chip", lambda v: round(v / 1e12) if v else None),
        ("fp4_flops", "FP4 TFLOP/s/chip", lambda v: round(v / 1e12) if v else None),
        ("name", "name", None),
    ]
    return Table(records, cols, title="hardware")


def _hw_record(hid: str, name: str, kind: str, chips: int, mem: float, chip: Chip) -> dict[str, object]:
    return {
        "id": hid,
        "type": kind,
        "name": name,
        "chip": chip.id,
        "chips": chips,
        "memory_kind": chip.kind,
        "memory_bytes": mem,
        "memory_bandwidth_bytes_per_s": chip.main_memory.bandwidth_bytes_per_s,
        "bf16_flops": chip.dense_flops_per_s.get("bf16"),
        "fp8_flops": chip.dense_flops_per_s.get("fp8"),
        "fp4_flops": chip.dense_flops_per_s.get("fp4"),
    }
