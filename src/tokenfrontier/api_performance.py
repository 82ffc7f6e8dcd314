"""Python API of the performance layer: predict, frontier, validate, calibrate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .arch import ModelArch
from .catalog import Catalog
from .errors import InvalidInputError
from .footprint import KV_DTYPES, WEIGHT_DTYPES
from .resolve import check_choice, get_model, get_system
from .specs import System
from .units import parse_context

__all__ = ["calibrate", "frontier", "predict", "validate"]


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
    from .profiles import resolve_profile
    from .resolve import catalog_or_default
    from .units import parse_positive_int

    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
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
        profile=resolve_profile(system.chip, framework, catalog_or_default(catalog).profiles),
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
        check_choice(w, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
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

    notes = price_points(result.records, {s.id: s for s in systems}, rental=rental, preset=preset,
                         catalog=catalog)  # fmt: skip
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
