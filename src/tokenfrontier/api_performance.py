"""Python API of the performance layer: predict, frontier, validate, calibrate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .arch import ModelArch
from .catalog import Catalog
from .errors import InvalidInputError
from .footprint import KV_DTYPES, WEIGHT_DTYPES
from .resolve import check_choice, get_model, get_system
from .specs import System
from .units import check_number, parse_context

if TYPE_CHECKING:
    from .frontier import Frontier
    from .predict import Prediction
    from .profiles import Profile
    from .validation import Validation

__all__ = ["calibrate", "catalog_profiles", "frontier", "predict", "spec_decode_of", "validate"]


def spec_decode_of(
    spec: Any, catalog: Catalog | None, weights: str, kv_dtype: str, arch: ModelArch | None = None
) -> Any:
    """A SpecDecode from an object, a dict or 'k=3,acceptance=0.7,draft=mtp'."""
    from .serving import SpecDecode
    from .step import ModelTerms

    if spec is None:
        return None
    if isinstance(spec, SpecDecode):
        if arch is not None:
            spec.check(arch)
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
    k = int(check_number(spec.get("k", 3), "spec decode k", 1, 16, integer=True))
    acc = check_number(spec.get("acceptance", 0.7), "spec decode acceptance", 0, 1)
    lengths = spec.get("acceptance_lengths", ())
    if isinstance(lengths, str):
        lengths = [x for x in lengths.split(":") if x]
    lengths = tuple(check_number(x, "spec decode acceptance_lengths", 0, 1) for x in lengths)
    draft: Any = spec.get("draft", "mtp")
    if draft != "mtp":
        draft = ModelTerms.build(get_model(str(draft), catalog), weights, kv_dtype)
    out = SpecDecode(k=k, acceptance=acc, draft=draft, acceptance_lengths=tuple(lengths))
    if arch is not None:
        out.check(arch)
    return out


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
    prefill_workers: int | None = None,
    decode_workers: int = 1,
    activations: str | None = None,
    spread: float = 1.0,
    policy: str = "closed-loop",
    catalog: Catalog | None = None,
    dp: int | None = None,
) -> Prediction:
    """TTFT, TPOT, tok/s/user and tok/s/chip of one deployment (or the fastest feasible one).

    ``prefill_on`` moves prefill to a pool on other hardware (``prefill_workers`` workers of
    ``prefill_tp`` chips; sized to keep up with ``decode_workers`` decode copies when omitted).
    ``dp`` pins attention data-parallel ranks per TP group (MoE models: the routed experts
    over all ``tp`` chips, each rank its own sequences' KV); default: plain TP and attention DP
    are both considered.
    """
    from .predict import predict_one
    from .scenario import build_scenario
    from .sweep import build_pool
    from .units import parse_positive_int

    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
    for name, v in (("tp", tp), ("ep", ep), ("pp", pp), ("systems", systems), ("dp", dp),
                    ("prefill_tp", prefill_tp), ("prefill_workers", prefill_workers)):  # fmt: skip
        if v is not None:
            parse_positive_int(v, name, limit=100_000)
    parse_positive_int(decode_workers, "decode_workers", limit=100_000)
    conc = parse_positive_int(concurrency, "concurrency", limit=1_000_000)
    arch = get_model(model, catalog)
    layers = len(arch.layers)  # placement items: main layers, then MTP layers
    for name, v in (("pp", pp), ("systems", systems)):  # a pipeline stage holds at least one layer
        if v is not None and v > layers:
            raise InvalidInputError(
                f"{name}: {arch.id} has {layers} layers (MTP included) and each pipeline stage holds "
                f"at least one, so {name} must be in [1, {layers}], got {v}"
            )
    system = get_system(on, catalog)
    scen = build_scenario(arch, system, weights=weights, kv_dtype=kv_dtype, activations=activations,
                          framework=framework, profiles=catalog_profiles(catalog))  # fmt: skip
    workload = _workload(isl, osl, spread)
    pool = None
    if prefill_on is not None:
        pre = build_scenario(arch, get_system(prefill_on, catalog), weights=weights, kv_dtype=kv_dtype,
                             framework=framework, profiles=catalog_profiles(catalog))  # fmt: skip
        pool = build_pool(pre, workload, tp=prefill_tp, workers=prefill_workers,
                          decode_workers=decode_workers)  # fmt: skip
    elif prefill_tp is not None or prefill_workers is not None:
        raise InvalidInputError("--prefill-tp / --prefill-workers need --prefill-on HW")
    return predict_one(
        scen,
        workload=workload,
        concurrency=conc,
        tp=tp,
        ep=ep,
        pp=pp,
        systems=systems,
        spec=spec_decode_of(spec_decode, catalog, weights, kv_dtype, arch),
        pool=pool,
        policy=policy,
        dp=dp,
    )


def catalog_profiles(catalog: Catalog | None) -> Any:
    """The catalog's efficiency profiles (None: the default catalog's)."""
    return getattr(catalog, "profiles", None) if catalog is not None else None


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
    policy: str = "closed-loop",
    rental: bool = False,
    preset: str | None = None,
    per: str | None = None,
    catalog: Catalog | None = None,
    dp: int | None = None,
) -> Frontier:
    """Pareto frontier of tok/s/chip vs tok/s/user over hardware x deployment x concurrency.

    ``per`` shows throughput per ``chip``, ``system``, ``kw`` (all-in power) or ``usd-hour``
    ($/hour at the TCO preset, or rental); default: per $/hour when SRAM machines and GPUs are
    compared, else per chip. Every record carries all of them (``tok_s_per_system``,
    ``tok_s_per_kw``, ``tok_s_per_usd_hour``). ``dp`` pins the attention data-parallel degree."""
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
    arch = get_model(model, catalog)
    specs = tuple(spec_decode_of(s, catalog, weights[0], kv_dtype, arch) for s in spec_decode)
    result = _frontier(
        arch,
        systems,
        _workload(isl, osl, spread),
        weights=tuple(weights),
        kv_dtype=kv_dtype,
        concurrencies=conc,
        specs=specs,
        framework=framework,
        pareto=pareto,
        policy=policy,
        profiles=catalog_profiles(catalog),
        dp=dp,
    )
    from .economics.frontier_cost import WorkInputs, normalise, price_points

    if per is not None:
        check_choice(per, ("chip", "system", "kw", "usd-hour"), "--per")
    wl = _workload(isl, osl, spread)
    work = WorkInputs(arch, wl.isl_mean, wl.osl_mean, kv_dtype, framework, catalog_profiles(catalog))
    notes = price_points(result.records, {s.id: s for s in systems}, rental=rental, preset=preset,
                         catalog=catalog, work=work)  # fmt: skip
    result.extra["pricing_notes"] = notes
    normalise(result, per, systems, rental=rental)
    return result


def validate(
    measured: str, catalog: Catalog | None = None, progress: Callable[[int, int], None] | None = None
) -> Validation:
    """Predict every row of a measured CSV (nothing fitted) and report the errors.
    ``progress(rows done, rows)`` is called as the rows are predicted."""
    from .validation import validate as _validate

    return _validate(measured, catalog, progress=progress)


def calibrate(
    measured: str,
    out: str,
    catalog: Catalog | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Profile]:
    """Fit efficiency profiles on a measured CSV and write them as TOML into ``out``.
    ``progress(rows fitted, rows)`` is called after each profile."""
    from .calibration import calibrate as _calibrate

    return _calibrate(measured, out, catalog, progress=progress)
