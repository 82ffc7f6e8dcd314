"""The Python API: the CLI's commands as functions taking ids or objects.

Every function accepts a model as a catalog id, a path to a ``config.json`` or a
:class:`~tokenfrontier.arch.ModelArch`, and hardware as a chip/system id or a
:class:`~tokenfrontier.specs.System`. Results render in the terminal and Jupyter and convert
with ``.to_frame()`` / ``.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .arch import ModelArch, load_arch
from .catalog import Catalog, default_catalog
from .errors import InvalidInputError
from .footprint import KV_DTYPES, WEIGHT_DTYPES, Footprint, param_counts
from .footprint import footprint as _footprint
from .placement import Deployment
from .placement import deploy as _deploy
from .reproduce import Reproduction
from .reproduce import reproduce as _reproduce
from .results import Table
from .roofline import gemm as _gemm
from .roofline import roofline as _roofline
from .specs import Chip, System
from .units import parse_context

__all__ = [
    "calibrate",
    "deploy",
    "footprint",
    "frontier",
    "gemm",
    "get_model",
    "get_system",
    "hardware",
    "models",
    "predict",
    "reproduce",
    "roofline",
    "validate",
]


def _cat(catalog: Catalog | None) -> Catalog:
    return catalog or default_catalog()


def get_model(model: str | ModelArch, catalog: Catalog | None = None) -> ModelArch:
    """A normalized model from a catalog id, a config.json path or an arch."""
    if isinstance(model, ModelArch):
        return model
    cat = _cat(catalog)
    path = cat.model_path(model)
    key = model.strip().lower()
    return load_arch(path, key if key in cat.model_ids else path.stem)


def get_system(hw: str | System, catalog: Catalog | None = None) -> System:
    """A system from an id (a chip id gives a one-chip system)."""
    return hw if isinstance(hw, System) else _cat(catalog).system(hw)


def _check(value: str, valid: Sequence[str], what: str) -> str:
    if value not in valid:
        raise InvalidInputError(f"{what} '{value}' is not supported; valid: {', '.join(valid)}")
    return value


def footprint(
    model: str | ModelArch,
    weights: str = "native",
    kv_dtype: str = "bf16",
    contexts: Iterable[int | str] = ("128k",),
    full_attention: bool = False,
    catalog: Catalog | None = None,
) -> Footprint:
    """Parameters, weight bytes and KV bytes of one sequence at each context."""
    _check(weights, WEIGHT_DTYPES, "weights dtype")
    _check(kv_dtype, KV_DTYPES, "KV dtype")
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
    _check(weights, WEIGHT_DTYPES, "weights dtype")
    _check(kv_dtype, KV_DTYPES, "KV dtype")
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
    cat = _cat(catalog)
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
    cat = _cat(catalog)
    selected = [cat.chip(c) for c in chips] if chips else list(cat.chips.values())
    return _gemm(m, n, k, selected, dtype)


def reproduce(catalog: Catalog | None = None) -> Reproduction:
    """SPEC's published tables beside ours, every disagreement explained."""
    return _reproduce(_cat(catalog))


def models(catalog: Catalog | None = None) -> Table:
    """The bundled model catalog."""
    cat = _cat(catalog)
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
    cat = _cat(catalog)
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
        ("bf16_flops", "BF16 TF/chip", lambda v: round(v / 1e12) if v else None),
        ("fp8_flops", "FP8 TF/chip", lambda v: round(v / 1e12) if v else None),
        ("fp4_flops", "FP4 TF/chip", lambda v: round(v / 1e12) if v else None),
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


# -- performance (issue 3) -------------------------------------------------------------------


def _spec(spec: Any, catalog: Catalog | None, weights: str, kv_dtype: str) -> Any:
    """A SpecDecode from an object, a dict or 'k=3,acceptance=0.7,draft=mtp'."""
    from .serving import SpecDecode
    from .step import ModelTerms

    if spec is None or isinstance(spec, SpecDecode):
        return spec
    if isinstance(spec, str):
        fields: dict[str, Any] = {}
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise InvalidInputError(
                    f"--spec-decode: expected key=value pairs like k=3,acceptance=0.7,draft=mtp; got {part!r}"
                )
            fields[key.strip()] = value.strip()
        spec = fields
    unknown = set(spec) - {"k", "acceptance", "draft", "acceptance_lengths"}
    if unknown:
        raise InvalidInputError(
            f"spec decode: unknown field(s) {', '.join(sorted(unknown))}; "
            "valid: k, acceptance, draft, acceptance_lengths"
        )
    try:
        k = int(spec.get("k", 3))
        acc = float(spec.get("acceptance", 0.7))
        lengths = spec.get("acceptance_lengths", ())
        if isinstance(lengths, str):
            lengths = tuple(float(x) for x in lengths.split(":") if x)
    except ValueError as exc:
        raise InvalidInputError(f"spec decode: {exc}") from None
    draft: Any = spec.get("draft", "mtp")
    if draft != "mtp":
        draft = ModelTerms.build(get_model(str(draft), catalog), weights, kv_dtype)
    return SpecDecode(k=k, acceptance=acc, draft=draft, acceptance_lengths=tuple(lengths))


def _workload(isl: int | str, osl: int | str, spread: float) -> Any:
    from .serving import Workload

    return Workload(parse_context(isl, "isl"), parse_context(osl, "osl"), spread)


def predict(
    model: str | ModelArch,
    on: str | System,
    *,
    isl: int | str,
    osl: int | str,
    concurrency: int = 1,
    tp: int | None = None,
    ep: int | None = None,
    pp: int | None = None,
    systems: int | None = None,
    weights: str = "native",
    kv_dtype: str = "bf16",
    framework: str | None = None,
    spec_decode: Any = None,
    prefill_on: str | System | None = None,
    prefill_tp: int | None = None,
    activations: str | None = None,
    spread: float = 1.0,
    catalog: Catalog | None = None,
) -> Any:
    """TTFT, TPOT, tok/s/user and tok/s/chip of one deployment (or the fastest feasible one)."""
    from .predict import predict_one
    from .units import parse_positive_int

    _check(weights, WEIGHT_DTYPES, "weights dtype")
    _check(kv_dtype, KV_DTYPES, "KV dtype")
    for name, v in (("tp", tp), ("ep", ep), ("pp", pp), ("systems", systems)):
        if v is not None:
            parse_positive_int(v, name, limit=100_000)
    conc = parse_positive_int(concurrency, "concurrency", limit=1_000_000)
    arch = get_model(model, catalog)
    system = get_system(on, catalog)
    disagg = None
    if prefill_on is not None:
        disagg = _disaggregation(arch, get_system(prefill_on, catalog), system, weights,
                                 kv_dtype, prefill_tp, framework)  # fmt: skip
    return predict_one(
        arch,
        system,
        weights=weights,
        kv_dtype=kv_dtype,
        workload=_workload(isl, osl, spread),
        concurrency=conc,
        framework=framework,
        tp=tp,
        ep=ep,
        pp=pp,
        systems=systems,
        spec=_spec(spec_decode, catalog, weights, kv_dtype),
        disagg=disagg,
        activations=activations,
    )


def _disaggregation(
    arch: ModelArch,
    pre: System,
    dec: System,
    weights: str,
    kv_dtype: str,
    tp: int | None,
    framework: str | None,
) -> Any:
    from .candidates import candidates
    from .profiles import resolve_profile
    from .serving import Disaggregation
    from .step import HardwareTerms, ModelTerms

    m = ModelTerms.build(arch, weights, kv_dtype)
    hw = HardwareTerms.build(pre, resolve_profile(pre.chip, framework), m)
    cand = candidates(m, hw, tp=tp)
    cap = cand.tp * hw.capacity_per_chip * hw.profile.memory_utilization
    fits = cand.stage_weight_bytes < cap
    if not fits.any():
        raise InvalidInputError(
            f"prefill hardware '{pre.id}' cannot hold {arch.id} ({m.weight_bytes / 1e9:.1f} GB)"
        )
    # the largest TP group with the fewest stages that fits: fastest prefill per copy
    order = np.lexsort((-cand.tp, cand.pp, ~fits))
    i = int(order[0])
    link = min(pre.io_bytes_per_s, dec.io_bytes_per_s)
    return Disaggregation(
        prefill_model=m,
        prefill_hw=hw,
        tp=int(cand.tp[i]),
        pp=int(cand.pp[i]),
        link_bytes_per_s=link,
        hop_latency_s=max(pre.hop_latency_s, dec.hop_latency_s),
    )


def frontier(
    model: str | ModelArch,
    on: str | Sequence[str | System],
    *,
    isl: int | str,
    osl: int | str,
    weights: Sequence[str] = ("native",),
    kv_dtype: str = "bf16",
    concurrencies: Sequence[int] | None = None,
    spec_decode: Sequence[Any] = (None,),
    framework: str | None = None,
    pareto: bool = True,
    spread: float = 1.0,
    rental: bool = False,
    preset: str | None = None,
    catalog: Catalog | None = None,
) -> Any:
    """Pareto frontier of tok/s/chip vs tok/s/user over hardware x deployment x concurrency."""
    from .frontier import CONCURRENCIES
    from .frontier import frontier as _frontier

    ids = [h for h in on.split(",") if h.strip()] if isinstance(on, str) else list(on)
    systems = [get_system(h.strip() if isinstance(h, str) else h, catalog) for h in ids]
    for w in weights:
        _check(w, WEIGHT_DTYPES, "weights dtype")
    _check(kv_dtype, KV_DTYPES, "KV dtype")
    conc = tuple(concurrencies) if concurrencies else CONCURRENCIES
    if any(isinstance(c, bool) or int(c) < 1 for c in conc):
        raise InvalidInputError("concurrencies must be positive integers")
    specs = tuple(_spec(s, catalog, weights[0], kv_dtype) for s in spec_decode)
    result = _frontier(
        get_model(model, catalog),
        systems,
        _workload(isl, osl, spread),
        weights=tuple(weights),
        kv_dtype=kv_dtype,
        concurrencies=conc,
        specs=specs,
        framework=framework,
        pareto=pareto,
    )
    from .economics.frontier_cost import price_points

    notes = price_points(result.records, {s.id: s for s in systems}, rental=rental, preset=preset)
    result.extra["pricing_notes"] = notes
    return result


def validate(measured: str, catalog: Catalog | None = None) -> Any:
    """Predict every row of a measured CSV (nothing fitted) and report the errors."""
    from .validation import validate as _validate

    return _validate(measured, catalog)


def calibrate(measured: str, out: str, catalog: Catalog | None = None) -> Any:
    """Fit efficiency profiles on a measured CSV and write them as TOML into ``out``."""
    from .calibration import calibrate as _calibrate

    return _calibrate(measured, out, catalog)
