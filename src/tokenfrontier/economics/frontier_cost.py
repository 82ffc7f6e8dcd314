"""Price every frontier point ($/hour of the chips used, $ per Mtok of the tokens served) and
normalise its throughput per chip, per system, per kW or per $/hour.

usd_per_mtok = $ per chip-hour x chips / (total tok/s per chip x chips x 3600 x u / 1e6), u the
utilisation (TCO preset's share of hours serving; 1 for rental; :mod:`.pricing`).

Normalised throughput (stable keys on every record, SI; None where an input is missing):
``tok_s_per_system`` = tok/s per chip x chips per system; ``tok_s_per_kw`` = tok/s per chip /
(system all-in power_w / chips per system / 1000); ``tok_s_per_usd_hour`` = tok/s per chip x u /
$ per chip-hour (= the deployment's tok/s averaged over the hours paid for / its $/hour = 1e6 /
(3600 x $/Mtok); TCO preset or rental, as priced).
A chip is not a unit of cost: a wafer is one chip that costs as much as ~25 GPUs, so when the
compared hardware mixes SRAM machines and GPUs the default is per $/hour, and the header says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ..arch import ModelArch
from ..catalog import Catalog
from ..errors import InvalidInputError
from ..specs import System
from .pricing import HourlyRate, hourly_rate

__all__ = ["PER", "WorkInputs", "default_per", "normalise", "per_label", "price_points"]

PER = ("chip", "system", "kw", "usd-hour")
_KEY = {"chip": "total_tok_s_per_chip", "system": "tok_s_per_system", "kw": "tok_s_per_kw",
        "usd-hour": "tok_s_per_usd_hour"}  # fmt: skip


def price_points(
    records: list[dict[str, Any]],
    systems: dict[str, System],
    *,
    rental: bool = False,
    preset: str | None = None,
    catalog: Catalog | None = None,
    work: WorkInputs | None = None,
) -> list[str]:
    """Add ``usd_per_hour``, ``usd_per_mtok``, ``utilization`` and the normalised throughputs to each
    record in place; with ``work``, also ``usd_per_mtok_input`` and ``usd_per_mtok_output`` by the work
    method (:mod:`.work`: the deployment's $/hour shared by prefill work per prompt token and
    decode work per output token). Return notes."""
    rates: dict[str, HourlyRate | None] = {}
    notes = []
    for hw_id, system in systems.items():
        try:
            rates[hw_id] = hourly_rate(system, rental=rental, preset=preset, catalog=catalog)
        except InvalidInputError as exc:
            rates[hw_id] = None
            notes.append(f"{hw_id}: not priced ({exc})")
    for r in records:
        rate = rates.get(r["hardware"])
        _normalise_one(r, systems[r["hardware"]], rate)
        if rate is None:
            r["usd_per_hour"] = r["usd_per_mtok"] = None
            continue
        r["usd_per_hour"] = rate.usd_per_hour(r["chips"])
        tokens_h = rate.tokens_per_hour(r["total_tok_s_per_chip"] * r["chips"])
        r["usd_per_mtok"] = r["usd_per_hour"] / (tokens_h / 1e6)
        r["price_basis"] = rate.basis
        r["utilization"] = rate.utilization
        if work is not None:
            _price_by_type(r, systems[r["hardware"]], work, rate)
    return notes


@dataclass(frozen=True)
class WorkInputs:
    """What the work method needs beyond a frontier record: the model and the workload."""

    arch: ModelArch
    isl: float
    osl: float
    kv_dtype: str = "bf16"
    framework: str | None = None
    profiles: Any = None


def _price_by_type(r: dict[str, Any], system: System, w: WorkInputs, rate: HourlyRate) -> None:
    from ..scenario import build_scenario
    from .cost import PricedPool, share_pools
    from .work import decode_work

    scen = build_scenario(w.arch, system, weights=r["weights"], kv_dtype=w.kv_dtype, framework=w.framework,
                          profiles=w.profiles)  # fmt: skip
    point = SimpleNamespace(
        tpot_s=r["tpot_s"], chips=r["chips"], output_tok_s_per_chip=r["output_tok_s_per_chip"],
        step_breakdown_s={k: r.get(f"step_{k}_s", 0.0) for k in ("kv", "offload", "prefill")},
        pools=({"role": "decode", "hardware": system.id, "tp": r["tp"], "pp": r["pp"], "ep": r["ep"],
                "workers": 1, "chips": r["chips"], "concurrency_per_worker": r["concurrency"]},),
    )  # fmt: skip
    pool = PricedPool(decode_work(point, scen, w.isl, w.osl), r["usd_per_hour"], r["chips"], r["price_basis"])
    out_h = rate.tokens_per_hour(r["output_tok_s_per_chip"] * r["chips"])
    tokens = {"input": max(rate.tokens_per_hour(r["total_tok_s_per_chip"] * r["chips"]) - out_h, 0.0),
              "output": out_h}  # fmt: skip
    per_tok, _ = share_pools([pool], tokens)
    r["usd_per_mtok_input"] = per_tok["input"] * 1e6
    r["usd_per_mtok_output"] = per_tok["output"] * 1e6


def _normalise_one(r: dict[str, Any], system: System, rate: HourlyRate | None) -> None:
    per_chip = r["total_tok_s_per_chip"]
    r["tok_s_per_system"] = per_chip * system.chips
    kw_per_chip = (system.power_w or 0.0) / system.chips / 1e3
    r["tok_s_per_kw"] = per_chip / kw_per_chip if kw_per_chip > 0 else None
    r["tok_s_per_usd_hour"] = (  # served tok/s (x utilisation, as $/Mtok counts them) per $/hour
        per_chip * rate.utilization / rate.usd_per_chip_hour if rate and rate.usd_per_chip_hour > 0 else None
    )


def default_per(systems: list[System]) -> str:
    """``usd-hour`` when SRAM machines and GPUs are compared (a chip is not a unit of cost), else
    ``chip``."""
    kinds = {s.chip.kind == "sram" for s in systems}
    return "usd-hour" if len(kinds) > 1 else "chip"


def per_label(per: str, rental: bool = False) -> str:
    """The human header of a normalised throughput."""
    return {
        "chip": "tok/s/chip",
        "system": "tok/s/system",
        "kw": "tok/s per kW",
        "usd-hour": f"tok/s per $/hour ({'rental' if rental else 'TCO'})",
    }[per]


def normalise(frontier: Any, per: str | None, systems: list[System], *, rental: bool = False) -> str:
    """Show ``frontier``'s throughput per ``per`` (default: :func:`default_per`): the table gains
    the normalised column after tok/s/chip, ``extra`` gains ``per``, ``per_key`` and
    ``per_label``. The records already carry every normalised key (:func:`price_points`).
    Normalising by a per-hardware constant keeps each hardware's Pareto set."""
    chosen = per or default_per(systems)
    if chosen not in PER:
        raise InvalidInputError(f"--per '{chosen}' unknown; valid: {', '.join(PER)}")
    label = per_label(chosen, rental)
    frontier.extra.update(per=chosen, per_key=_KEY[chosen], per_label=label)
    if chosen != "chip":
        cols = list(frontier.columns)
        at = next((i + 1 for i, c in enumerate(cols) if c[0] == "total_tok_s_per_chip"), len(cols))
        cols.insert(at, (_KEY[chosen], label, None))
        frontier.columns = cols
    if per is None and chosen == "usd-hour":
        frontier.notes = (
            *frontier.notes,
            "SRAM machines and GPUs compared: throughput per $/hour by default (a wafer is one chip "
            "that costs as much as many GPUs); --per chip for tok/s per chip",
        )
        frontier.extra["notes"] = list(frontier.notes)
    return chosen
