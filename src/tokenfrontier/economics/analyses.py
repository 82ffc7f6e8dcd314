"""Python API of the deal, contract, ramp and margin analyses (mirrors their CLI commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..api import frontier, get_system, predict
from ..arch import ModelArch
from ..catalog import Catalog
from ..errors import InvalidInputError
from ..specs import System
from .contracts import ContractTable
from .contracts import contracts as _contracts
from .cost import cost_of
from .deal import HOURS_PER_YEAR
from .deal_analysis import DealYears, Tornado, by_year
from .deal_analysis import tornado as _tornado
from .margin import WORKLOADS, Margins, card_from_prices, margin_of, point_margins
from .pricing import hourly_rate, load_card
from .ramp import Ramp
from .ramp import ramp as _ramp
from .tco import preset_for, tco
from .warrant import load_warrant, warrant_value

__all__ = ["contracts", "deal_tornado", "deal_years", "margin", "ramp"]

#: The 750 MW contract of SPEC §5: value ($), MW, term (years).
CONTRACT = (27.6e9, 750.0, 3.0)


def contracts(path: str | Path | None = None) -> ContractTable:
    """SPEC §5's cloud-contract table (or a CSV of the same columns), audited."""
    return _contracts(path)


def deal_years(
    *,
    warrant: str = "max",
    warrant_id: str = "cerebras-openai",
    accounting_life_years: float = 5.0,
    **deal_args: Any,
) -> DealYears:
    """EBIT by contract year (three depreciation conventions) with the warrant's contra-revenue;
    ``deal_args`` as :func:`tokenfrontier.economics.api.deal`."""
    from .api import deal

    d = deal(**deal_args)
    w = warrant_value(load_warrant(warrant_id), warrant) if warrant != "none" else None
    return by_year(d, w, accounting_life_years=accounting_life_years)


def deal_tornado(
    *,
    system: str | System = "cs-3",
    preset: str | None = None,
    catalog: Catalog | None = None,
    ranges: dict[str, tuple[float, float]] | None = None,
    **deal_args: Any,
) -> Tornado:
    """NPV/IRR swing over $/hour, utilisation, WACC and useful life."""
    sys_ = get_system(system, catalog)
    return _tornado(sys_, preset_for(sys_, preset, catalog), ranges=ranges, **deal_args)


def ramp(
    table: str | Path = "base",
    *,
    model: str | ModelArch | None = None,
    on: str | System = "cs-3",
    isl: int | str = 8192,
    osl: int | str = 1024,
    concurrency: int = 1,
    usd_per_mtok: float = 0.30,
    kw_per_system: float | None = None,
    usd_per_system_hour: float | None = None,
    mw_per_year: float = 250.0,
    start_year: int = 2026,
    end_year: int = 2028,
    preset: str | None = None,
    utilization: float | None = None,
    catalog: Catalog | None = None,
    **predict_options: Any,
) -> Ramp:
    """MW online by quarter vs the contract's schedule; tokens/s when ``model`` is given.

    Defaults: kW per system and the utilisation that scales token revenue from the TCO preset;
    $/system-hour implied by the 750 MW contract ($27.6B / (3 y x 8,760 h x systems)).
    """
    sys_ = get_system(on, catalog)
    inputs = preset_for(sys_, preset, catalog)
    kw = kw_per_system if kw_per_system is not None else _power_kw(sys_, inputs)
    if kw is None:
        raise InvalidInputError(f"{sys_.id}: no power figure; pass --kw-per-system")
    if usd_per_system_hour is None:
        value, mw, years = CONTRACT
        usd_per_system_hour = value / (years * HOURS_PER_YEAR * mw * 1000 / kw)
    serving = None
    if model is not None:
        pred = predict(model, sys_, isl=isl, osl=osl, concurrency=concurrency, catalog=catalog,
                       **predict_options)  # fmt: skip
        if not pred.feasible:
            raise InvalidInputError(f"ramp: the serving point is infeasible: {pred.explanation}")
        serving = {
            "model": pred.model,
            "hardware": pred.hardware,
            "chips_per_copy": pred.chips,
            "tok_s_per_chip": pred.total_tok_s_per_chip or 0.0,
            "tok_s_per_user": pred.tok_s_per_user or 0.0,
            "usd_per_mtok": usd_per_mtok,
            "utilization": utilization if utilization is not None else inputs.utilization,
        }
    return _ramp(
        table,
        system=sys_.id,
        kw_per_system=kw,
        usd_per_system_hour=usd_per_system_hour,
        mw_per_year=mw_per_year,
        start_year=start_year,
        end_year=end_year,
        serving=serving,
        chips_per_system=sys_.chips,
    )


def _power_kw(system: System, inputs: Any) -> float | None:
    """All-in kW per system: the preset's, else the system's catalog power (as ``tco``)."""
    try:
        return tco(system, inputs).inputs.power_kw
    except InvalidInputError:
        return None


def margin(
    model: str | ModelArch,
    on: str | System,
    *,
    isl: int | str,
    osl: int | str,
    card: str = "default",
    workloads: tuple[str, ...] = ("plain", "agentic"),
    prices: dict[str, float] | None = None,
    concurrency: int = 1,
    usd_per_hour: float | None = None,
    preset: str | None = None,
    rental: bool = False,
    cache_read_multiple: float = 10.0,
    utilization: float | None = None,
    points: bool = False,
    catalog: Catalog | None = None,
    **predict_options: Any,
) -> Margins:
    """Gross margin of a serving point against price card ``card`` per workload; with
    ``points`` also per frontier point (of the first workload). ``prices`` replaces the card's
    $/Mtok and must name every token type."""
    for w in workloads:
        if w not in WORKLOADS:
            raise InvalidInputError(f"--workload '{w}' unknown; valid: {', '.join(WORKLOADS)}")
    base = load_card(None, catalog, card)
    c = card_from_prices(prices, base.token_share) if prices is not None else base
    sys_ = get_system(on, catalog)
    if utilization is not None:  # the TCO at utilisation u; tokens served x u (pricing's rule)
        if usd_per_hour is not None or rental:
            raise InvalidInputError("--utilization needs TCO pricing (not --usd-per-hour or --rental)")
        if not 0 < utilization <= 1:
            raise InvalidInputError(f"--utilization must be in (0, 1], got {utilization}")
    rate = hourly_rate(sys_, usd_per_hour=usd_per_hour, preset=preset, rental=rental, catalog=catalog,
                       utilization=utilization)  # fmt: skip
    point_rate = rate  # frontier points run on one pool of this hardware
    pred = predict(model, sys_, isl=isl, osl=osl, concurrency=concurrency, catalog=catalog, **predict_options)
    if not pred.feasible:
        raise InvalidInputError(f"margin: the serving point is infeasible: {pred.explanation}")
    if len(pred.pools) > 1:
        from .api import pooled_rate

        rate = pooled_rate(pred, rate, rental=rental, catalog=catalog)
    rows = []
    for w in workloads:
        cost = cost_of(pred, rate, mix=WORKLOADS[w], card=c, cache_read_multiple=cache_read_multiple,
                       concurrency=concurrency)  # fmt: skip
        row = margin_of(cost, c, w)
        if utilization is not None:
            row["utilization"] = utilization
        rows.append(row)
    pts: list[dict[str, Any]] = []
    if points:
        f = frontier(model, [sys_], isl=isl, osl=osl, rental=rental, preset=preset, catalog=catalog)
        for r in f.records:  # the same $/chip-hour as the serving point (also --usd-per-hour)
            r["usd_per_mtok"] = point_rate.usd_per_hour(r["chips"]) / (
                point_rate.tokens_per_hour(r["total_tok_s_per_chip"] * r["chips"]) / 1e6
            )
        pts = point_margins(f.records, c, workloads[0])
    return Margins(
        model=pred.model,
        hardware=pred.hardware,
        card=card,
        card_usd_per_mtok=dict(c.usd_per_mtok),
        basis=rate.basis,
        workloads=tuple(rows),
        points=tuple(pts),
        points_workload=workloads[0] if points else "",
    )
