"""Python API of the economics layer (mirrors the CLI's tco, deal, cost, calculator, fleet)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, overload

from ..api import get_model, get_system, predict
from ..arch import ModelArch
from ..catalog import Catalog
from ..errors import InvalidInputError
from ..specs import System
from ..units import check_number, parse_context
from .calculator import Calculation, PhaseDiagram, custom_arch, fit, phase_diagram, usable_system
from .cost import METHODS, Cost, PricedPool, cost_of
from .deal import Deal
from .deal import deal as _deal
from .fleet import Fleet
from .fleet import fleet as _fleet
from .pricing import HourlyRate, hourly_rate, load_card
from .tco import RentalRate, Tco, apply_overrides, preset_for
from .tco import tco as _tco

__all__ = ["calculator", "cost", "deal", "fleet", "phase", "simulation_cost", "tco"]


def parse_settings(items: Sequence[str] | None, flag: str = "--set") -> dict[str, float]:
    """``["key=value", ...]`` -> {key: float}; errors name ``flag``."""
    out: dict[str, float] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"{flag} expects key=value, got {item!r}")
        try:
            number = float(value)
        except ValueError:
            raise InvalidInputError(f"{flag} {key.strip()}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise InvalidInputError(f"{flag} {key.strip()}: {value.strip()!r} is not a finite number")
        if not key.strip():
            raise InvalidInputError(f"{flag} expects key=value, got {item!r}")
        out[key.strip()] = number
    return out


@overload
def tco(
    system: str | System,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    *,
    usd_per_hour: None = None,
    rental: Literal[False] = False,
) -> Tco: ...


@overload
def tco(
    system: str | System,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    *,
    usd_per_hour: float | None = None,
    rental: bool = False,
) -> Tco | RentalRate: ...


def tco(
    system: str | System,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    *,
    usd_per_hour: float | None = None,
    rental: bool = False,
) -> Tco | RentalRate:
    """$/hour of one system (SPEC §5); ``cs-3`` defaults to the vendor-fleet preset.

    ``rental`` (the catalog's rental rate for the chip, midpoint) or ``usd_per_hour`` (a given
    rate per system-hour) price by rental instead: a :class:`RentalRate` with no
    capital/operating split.
    """
    sys_ = get_system(system, catalog)
    if usd_per_hour is not None or rental:
        if usd_per_hour is not None and rental:
            raise InvalidInputError("give --usd-per-hour or --rental, not both")
        if preset is not None or overrides:
            raise InvalidInputError("--preset and --set price by TCO; not with --usd-per-hour or --rental")
        if usd_per_hour is not None and not (math.isfinite(usd_per_hour) and usd_per_hour > 0):
            raise InvalidInputError(f"--usd-per-hour must be > 0 ($ per system-hour), got {usd_per_hour}")
        rate = hourly_rate(sys_, usd_per_hour=usd_per_hour, rental=rental, catalog=catalog)
        return RentalRate(
            system=sys_.id,
            chips=sys_.chips,
            basis=rate.basis,
            usd_per_hour=rate.usd_per_hour(sys_.chips),
            derivation=rate.derivation,
            dense_pflops=sys_.chips * sys_.chip.peak_flops("bf16") / 1e15,
        )
    return _tco_of(sys_, preset, overrides, catalog)


def _tco_of(
    system: System,
    preset: str | None,
    overrides: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> Tco:
    inputs = preset_for(system, preset, catalog)
    if overrides:
        inputs = apply_overrides(inputs, overrides)
    return _tco(system, inputs)


def deal(
    *,
    contract_usd: float,
    mw: float,
    years: float,
    system: str | System = "cs-3",
    kw_per_system: float | None = None,
    preset: str | None = None,
    prepay_fraction: float = 0.04,
    hardware_life_years: int = 5,
    post_term_ebitda_margin: float = -0.10,
    discount_rate: float = 0.13,
    capex_per_system_usd: float | None = None,
    catalog: Catalog | None = None,
) -> Deal:
    """Implied $/system-hour, yearly cash flows, IRR and NPV of a capacity contract."""
    sys_ = get_system(system, catalog)
    return _deal(
        sys_,
        _tco_of(sys_, preset),
        contract_usd=contract_usd,
        mw=mw,
        years=years,
        kw_per_system=kw_per_system,
        prepay_fraction=prepay_fraction,
        hardware_life_years=hardware_life_years,
        post_term_ebitda_margin=post_term_ebitda_margin,
        discount_rate=discount_rate,
        capex_per_system_usd=capex_per_system_usd,
    )


def cost(
    model: str | ModelArch,
    on: str | System,
    *,
    isl: int | str,
    osl: int | str,
    concurrency: int = 1,
    usd_per_hour: float | None = None,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    rental: bool = False,
    mix: str = "workload",
    cache_read_multiple: float = 10.0,
    prices: dict[str, float] | None = None,
    target_tok_s_per_user: float | None = None,
    method: str = "work",
    catalog: Catalog | None = None,
    **predict_options: Any,
) -> Cost:
    """$ per Mtok of a predicted serving point (blended and by token type).

    ``method``: ``"work"`` (default) shares every pool's $/hour by the work each token type
    causes; ``"card-multiple"`` by the fixed convention (non-output tokens cost 1 /
    ``cache_read_multiple`` of an output token), for comparison with price cards.

    With ``target_tok_s_per_user`` the deployment and concurrency are the frontier point with
    the most tok/s per chip that still gives each user at least that speed.
    """
    sys_ = get_system(on, catalog)
    rate = hourly_rate(sys_, usd_per_hour=usd_per_hour, preset=preset, overrides=overrides, rental=rental,
                       catalog=catalog)  # fmt: skip
    if target_tok_s_per_user is not None:
        concurrency, chosen = _matched_point(
            model, sys_, isl, osl, target_tok_s_per_user, predict_options, catalog
        )
        predict_options = {**predict_options, **chosen}
    pred = predict(model, sys_, isl=isl, osl=osl, concurrency=concurrency, catalog=catalog,
                   **predict_options)  # fmt: skip
    if method not in METHODS:
        raise InvalidInputError(f"--method '{method}' unknown; valid: {', '.join(METHODS)}")
    if not pred.feasible:
        raise InvalidInputError(f"cannot price an infeasible deployment: {pred.explanation}")
    i, o = parse_context(isl, "isl"), parse_context(osl, "osl")
    pools = None
    if method == "work":
        pools = priced_pools(pred, rate, model, sys_, i, o, rental=rental, catalog=catalog,
                             options=predict_options)  # fmt: skip
    if len(pred.pools) > 1:
        rate = pooled_rate(pred, rate, rental=rental, catalog=catalog)
    return cost_of(
        pred,
        rate,
        mix=mix,
        card=load_card(prices, catalog),
        cache_read_multiple=cache_read_multiple,
        concurrency=concurrency,
        isl=i,
        osl=o,
        method=method,
        pools=pools,
    )


def priced_pools(
    pred: Any,
    decode: HourlyRate,
    model: str | ModelArch,
    system: System,
    isl: float,
    osl: float,
    *,
    rental: bool,
    catalog: Catalog | None,
    options: dict[str, Any] | None = None,
) -> list[PricedPool]:
    """Every pool of a feasible prediction with its $/hour (:func:`pool_rates`) and its work
    per token (:mod:`.work`). KV-tier hardware (the CS-3's KVSS node) and networking are inside
    the system's price (TCO server, networking lines), so they are priced with the pool that
    owns them."""
    from ..scenario import build_scenario
    from .work import decode_work, prefill_work

    opts = options or {}
    arch = get_model(model, catalog)
    dep = pred.deployment
    out = []
    for pool, rate in pool_rates(pred, decode, rental=rental, catalog=catalog):
        hw = system if pool["role"] == "decode" else get_system(pool["hardware"], catalog)
        scen = build_scenario(
            arch,
            hw,
            weights=dep.get("weights", "native"),
            kv_dtype=dep.get("kv_dtype", "bf16"),
            framework=opts.get("framework"),
            profiles=getattr(catalog, "profiles", None) if catalog is not None else None,
        )
        of = decode_work if pool["role"] == "decode" else prefill_work
        work = of(pred, scen, isl, osl)
        usd = rate.usd_per_chip_hour * pool["chips"]
        out.append(PricedPool(work, usd, pool["chips"], rate.basis, float(pool.get("workers", 1))))
    return out


def pool_rates(
    pred: Any, decode: HourlyRate, *, rental: bool, catalog: Catalog | None
) -> list[tuple[dict[str, Any], HourlyRate]]:
    """Each pool of ``pred`` with its $/chip-hour: a pool on the decode pool's hardware takes
    the decode rate (any --usd-per-hour, --preset or --set included); a pool on other hardware
    its catalog rental rate or default TCO preset, at the decode pool's utilisation (the
    deployment serves as one)."""
    pools = pred.pools or ({"role": "decode", "hardware": pred.hardware, "chips": pred.chips},)
    out = []
    for pool in pools:
        if pool["role"] == "decode" or pool["hardware"] == pred.hardware:
            rate = decode
        else:
            try:
                rate = hourly_rate(get_system(pool["hardware"], catalog), rental=rental, catalog=catalog,
                                   utilization=decode.utilization)  # fmt: skip
            except InvalidInputError as exc:
                raise InvalidInputError(f"pricing the {pool['role']} pool: {exc}") from None
        out.append((pool, rate))
    return out


def pooled_rate(pred: Any, decode: HourlyRate, *, rental: bool, catalog: Catalog | None) -> HourlyRate:
    """One $/chip-hour for a disaggregated deployment: every pool priced on its own hardware,
    averaged over all chips, so $/hour = sum over pools of chips x that pool's $/chip-hour. A
    pool on the decode pool's hardware takes the decode rate (any --usd-per-hour, --preset or
    --set included); a pool on other hardware its catalog rental rate or default TCO preset."""
    total_usd, total_chips, parts = 0.0, 0.0, []
    for pool, rate in pool_rates(pred, decode, rental=rental, catalog=catalog):
        usd = rate.usd_per_chip_hour * pool["chips"]
        total_usd, total_chips = total_usd + usd, total_chips + pool["chips"]
        parts.append(
            f"{pool['role']} pool: {pool['chips']} x {pool['hardware']} chips x "
            f"${rate.usd_per_chip_hour:,.3f}/chip-h ({rate.basis}) = ${usd:,.2f}/h"
        )
    return HourlyRate(
        usd_per_chip_hour=total_usd / total_chips,
        basis="pools: " + "; ".join(p.split(" = ")[0] for p in parts),
        derivation="\n".join(
            [
                *parts,
                f"all pools: ${total_usd:,.2f}/h over {total_chips:,.0f} chips",
                "--- decode pool rate ---",
                decode.derivation,
            ]
        ),
        utilization=decode.utilization,
    )


def _matched_point(
    model: Any,
    system: System,
    isl: int | str,
    osl: int | str,
    target: float,
    options: dict[str, Any],
    catalog: Catalog | None,
) -> tuple[int, dict[str, Any]]:
    from ..api import frontier

    if not target > 0:
        raise InvalidInputError(f"target tok/s per user must be > 0, got {target}")
    weights = options.get("weights", "native")
    f = frontier(model, [system], isl=isl, osl=osl, weights=(weights,),
                 kv_dtype=options.get("kv_dtype", "bf16"), framework=options.get("framework"),
                 spread=options.get("spread", 1.0), catalog=catalog)  # fmt: skip
    ok = [r for r in f.records if r["tok_s_per_user"] >= target]
    if not ok:
        best = max((r["tok_s_per_user"] for r in f.records), default=0.0)
        raise InvalidInputError(
            f"{system.id} cannot reach {target:g} tok/s per user for this model and workload "
            f"(fastest: {best:,.1f})"
        )
    r = max(ok, key=lambda r: r["total_tok_s_per_chip"])
    return int(r["concurrency"]), {"tp": r["tp"], "ep": r["ep"], "pp": r["pp"]}


def _model_for_calculator(model: str | ModelArch | dict[str, Any], catalog: Catalog | None) -> ModelArch:
    if isinstance(model, dict):
        return custom_arch(**model)
    return get_model(model, catalog)


def usable_fraction_of(system: System) -> float:
    """The share of main memory the calculator may fill: the chip's one capacity rule
    (``usable_memory_fraction`` in the catalog), shared with deploy, predict and frontier."""
    return system.chip.memory_fraction


def calculator(
    model: str | ModelArch | dict[str, Any],
    on: str | System = "cs-3",
    *,
    isl: int | str,
    osl: int | str,
    concurrency: int = 1,
    weights: str = "bf16",
    kv_dtype: str = "bf16",
    usd_per_system: float | None = None,
    preset: str | None = None,
    usable_fraction: float | None = None,
    catalog: Catalog | None = None,
) -> Calculation:
    """Systems for weights + every request's KV, capex, interactivity and $ per Mtok.

    ``usable_fraction`` of each system's main memory may be filled (default: the chip's
    capacity rule from the catalog, the same one deploy, predict and frontier use).
    """
    from ..units import parse_positive_int

    arch = _model_for_calculator(model, catalog)
    sys_ = get_system(on, catalog)
    conc = parse_positive_int(concurrency, "concurrency", limit=1_000_000)
    i, o = parse_context(isl, "isl"), parse_context(osl, "osl")
    if usd_per_system is not None:
        check_number(usd_per_system, "--usd-per-system", 0, 1e10, unit="$")
    frac = usable_fraction_of(sys_) if usable_fraction is None else usable_fraction
    f = fit(arch, sys_, weights, kv_dtype, i + o, conc, frac)
    dep = f.deployment
    common: dict[str, Any] = dict(
        model=arch.id, hardware=sys_.id, weight_bytes=f.weight_bytes, kv_bytes=f.kv_bytes,
        usable_fraction=frac, usable_bytes_per_system=f.usable_bytes_per_system,
    )  # fmt: skip
    if not f.fits:
        return Calculation(
            **common, feasible=False,
            explanation=f"does not fit: {f.short_of} is short by {f.shortfall_bytes / 1e9:,.1f} GB",
            systems_needed=None, capacity_bytes=None, layers_per_system=(), capex_usd=None,
            tok_s_per_user=None, usd_per_mtok=None, short_of=f.short_of,
            shortfall_bytes=f.shortfall_bytes,
        )  # fmt: skip
    n = f.systems
    inputs = preset_for(sys_, preset, catalog)
    # a buyer's view: the catalog list price unless told otherwise (CS-3: $1.0M list)
    price = usd_per_system if usd_per_system is not None else (sys_.price_usd or inputs.server_usd)
    overrides = {"server_usd": price} if price is not None else None
    # the prediction uses the same rule: the chip's fraction, or the one given here
    pred = predict(arch, usable_system(sys_, frac), isl=i, osl=o, concurrency=conc, systems=n,
                   weights=weights, kv_dtype=kv_dtype, catalog=catalog)  # fmt: skip
    if not pred.feasible:  # the same capacity rule: should not happen; never print a blank figure
        raise InvalidInputError(
            f"calculator: {n} system(s) hold the weights and KV, but the performance model finds no "
            f"deployment on them: {pred.explanation}"
        )
    notes: list[str] = []
    rate = hourly_rate(sys_, preset=preset, overrides=overrides, catalog=catalog)
    plain = cost_of(pred, rate, concurrency=conc, isl=i, osl=o)
    agentic = cost_of(pred, rate, mix="agentic", concurrency=conc, card=load_card(catalog=catalog))
    per_mtok, by_type, usd_h = plain.usd_per_mtok, agentic.usd_per_mtok_by_type, plain.usd_per_hour
    derivation = plain.explain()
    return Calculation(
        **common,
        feasible=True,
        explanation=f"{n} system(s) hold {f.weight_bytes / 1e9:,.1f} GB of weights and "
        f"{f.kv_bytes / 1e9:,.1f} GB of KV for {conc} request(s) at {i + o:,} tokens",
        systems_needed=n,
        capacity_bytes=n * f.usable_bytes_per_system,
        layers_per_system=dep.layers_per_system,
        capex_usd=n * (price or 0.0),
        tok_s_per_user=pred.tok_s_per_user,
        intervals={k: v for k, v in pred.intervals.items() if k == "tok_s_per_user"}
        | (
            {"usd_per_mtok": (plain.usd_per_mtok_low, plain.usd_per_mtok_high)}
            if plain.usd_per_mtok_low is not None and plain.usd_per_mtok_high is not None
            else {}
        ),
        usd_per_mtok=per_mtok,
        usd_per_mtok_by_type=by_type,
        usd_per_hour=usd_h,
        notes=tuple(notes),
        derivation=derivation,
    )


def phase(
    on: str | System = "cs-3",
    concurrency: int = 1,
    kv_dtype: str = "bf16",
    models: Sequence[str] = ("llama-3.1-405b", "deepseek-v3", "kimi-k2", "qwen3-coder-480b-a35b"),
    catalog: Catalog | None = None,
) -> PhaseDiagram:
    """Systems needed over ISL (16k-10M) x model size (100B-4T), catalog models marked, in the
    calculator's usable memory."""
    sys_ = get_system(on, catalog)
    arches = [get_model(m, catalog) for m in models]
    return phase_diagram(sys_, arches, concurrency, kv_dtype, usable_fraction=usable_fraction_of(sys_))


def fleet(
    model: str | ModelArch,
    on: str | System,
    *,
    mw: float,
    isl: int | str,
    osl: int | str,
    concurrency: int = 1,
    usd_per_mtok: float = 0.30,
    kw_per_system: float | None = None,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    **predict_options: Any,
) -> Fleet:
    """MW -> systems -> tokens/s at one serving point -> revenue and cost per year."""
    sys_ = get_system(on, catalog)
    pred = predict(model, sys_, isl=isl, osl=osl, concurrency=concurrency, catalog=catalog,
                   **predict_options)  # fmt: skip
    if not pred.feasible:
        raise InvalidInputError(f"fleet: the serving point is infeasible: {pred.explanation}")
    inputs = preset_for(sys_, preset, catalog)
    if overrides:
        inputs = apply_overrides(inputs, overrides)
    return _fleet(
        sys_,
        inputs,
        mw=mw,
        chips_per_copy=pred.chips,
        tok_s_per_chip=pred.total_tok_s_per_chip or 0.0,  # feasible: both are set
        tok_s_per_user=pred.tok_s_per_user or 0.0,
        usd_per_mtok=usd_per_mtok,
        kw_per_system=kw_per_system,
    )


def simulation_cost(
    sim: Any,
    *,
    usd_per_hour: float | None = None,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    rental: bool = False,
    method: str = "work",
    cache_read_multiple: float = 10.0,
    weights: str = "native",
    kv_dtype: str = "bf16",
    catalog: Catalog | None = None,
) -> Cost:
    """$ per Mtok of a :class:`~tokenfrontier.sim.results.Simulation`, by token type.

    Tokens per hour by type are the simulation's (completed requests: prompt tokens served from
    cache = cache reads; prompt tokens prefilled = fresh input, which includes the cache writes
    the simulator does not tell apart; output) over its simulated time. Pools and their $/hour
    are the simulated deployment's (every replica; a prefill pool on its own hardware). The work
    per token comes from the step model at the same deployment, mean prompt and output length and
    mean requests in flight (Little's law: completed x mean E2E / simulated time per replica;
    halved until the mean request's KV fits).
    """
    s, d = sim.summary, sim.deployment
    done = max(int(s["completed"]), 0)
    tokens = s["tokens"]
    span = max(float(s["duration_s"]), 1e-12)
    if done == 0 or tokens["output"] <= 0:
        raise InvalidInputError("the simulation completed no request with output: nothing to price")
    isl = max(round((tokens["cache_read"] + tokens["prefilled"]) / done), 1)
    osl = max(round(tokens["output"] / done), 1)
    replicas = int(d.get("replicas", 1))
    in_flight = done * float(s["e2e_s"]["mean"] or 0.0) / span / replicas
    sys_ = get_system(sim.hardware, catalog)
    pre = d.get("prefill")
    opts: dict[str, Any] = dict(tp=d["tp"], pp=d["pp"], ep=d["ep"], weights=weights, kv_dtype=kv_dtype)
    if pre:
        opts |= dict(
            prefill_on=pre["hardware"], prefill_tp=pre["tp"], prefill_workers=pre["workers_per_replica"]
        )
    conc = max(round(in_flight), 1)
    while True:  # the mean request's KV may not fit at the mean in-flight count: halve until it does
        pred = predict(sim.model, sys_, isl=isl, osl=osl, concurrency=conc, catalog=catalog, **opts)
        if pred.feasible or conc == 1:
            break
        conc = max(conc // 2, 1)
    if not pred.feasible:
        raise InvalidInputError(
            f"simulation cost: the step model finds the deployment infeasible: {pred.explanation}"
        )
    rate = hourly_rate(sys_, usd_per_hour=usd_per_hour, preset=preset, overrides=overrides, rental=rental,
                       catalog=catalog)  # fmt: skip
    chips = {"decode": d["tp"] * d["pp"] * replicas}
    if pre:
        chips["prefill"] = pre["chips_per_replica"] * replicas
    pools = [
        PricedPool(
            p.work, p.usd_per_hour / p.chips * chips[p.work.role], chips[p.work.role], p.basis, p.workers
        )
        for p in priced_pools(pred, rate, sim.model, sys_, isl, osl, rental=rental, catalog=catalog)
    ]
    measured = {
        "cache_read": tokens["cache_read"] * 3600 / span,
        "input": tokens["prefilled"] * 3600 / span,
        "output": tokens["output"] * 3600 / span,
    }
    usd_h, n_chips = sum(p.usd_per_hour for p in pools), sum(chips.values())
    if len(pools) > 1:  # one $/chip-hour over both pools (what the card-multiple method reads)
        names = ", ".join(f"{p.work.role} {p.chips:g} x {p.work.hardware}" for p in pools)
        rate = HourlyRate(usd_h / n_chips, f"pools: {names}", rate.derivation, rate.utilization)
    return cost_of(_SimServed(sim, n_chips, measured), rate, method=method,
                   pools=pools if method == "work" else None, measured=measured,
                   cache_read_multiple=cache_read_multiple, concurrency=round(in_flight))  # fmt: skip


class _SimServed:
    """What :func:`cost.cost_of` reads of a prediction, from a simulation."""

    def __init__(self, sim: Any, chips: float, measured: dict[str, float]) -> None:
        total = sum(measured.values())
        self.feasible, self.explanation = True, ""
        self.model, self.hardware, self.deployment = sim.model, sim.hardware, sim.deployment
        self.chips = chips
        tpot = sim.summary["tpot_s"].get("mean")
        self.tok_s_per_user = 1.0 / tpot if tpot else None  # 1 / mean TPOT
        self.total_tok_s_per_chip = total / 3600 / chips
        self.output_tok_s_per_chip = measured["output"] / 3600 / chips
        self.intervals: dict[str, tuple[float, float]] = {}
