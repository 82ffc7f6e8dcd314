"""Catalog entries derived from physical inputs: ``tokenfrontier design``.

A design scales a reference machine (``--from cs-3``: the WSE-3 of ``design_references.csv``) to
other silicon: process node, area, SRAM and logic shares, off-chip I/O, a bonded DRAM wafer,
photonic I/O through the face, power and price. ``ref`` is the reference, unprimed the design:

- area            = given, or dies x die area (reticle tiling), or the reference's
- SRAM bytes      = area x sram_share x density(node) x macro_use / 8 x 10^6, where
  macro_use       = ref SRAM bits / (ref area x ref sram_share x density(ref node)): the share of
                    the nominal macro density the reference realises (assumption: it carries over)
- SRAM bandwidth  = SRAM bytes x (ref SRAM bandwidth / ref SRAM bytes)  (same bandwidth per byte)
- dense FLOP/s    = area x logic_share x ref FLOP/s / (ref area x ref logic_share)
                    x logic_density(node) / logic_density(ref node)  (same clock, TSMC's density)
- perimeter       = 4 sqrt(area) x edge_fraction  (a square; ``perimeter_mm`` overrides)
- edge I/O        = shoreline GB/s per mm x perimeter;  scale-out = edge I/O + photonic I/O
- photonic I/O    = given TB/s, or GB/s per mm² x face area used
- wafer power     = ref wafer power x (FLOP/s / ref FLOP/s) x power_iso(node) / power_iso(ref)
                    + (DRAM bytes/s x DRAM_PJ_PER_BIT + photonic bytes/s x PHOTONIC_PJ_PER_BIT) x 8
- system power    = ref system power - ref wafer power + wafer power
- price           = ref price + DRAM GB x $/GB  (photonic I/O unpriced: give ``price_usd``)

A bonded DRAM wafer is a second memory tier (the KV offload tier, replacing the reference's
offload node) or, with ``weights_on="dram"``, the main tier holding weights and KV (SRAM second).
Node tables: :mod:`tokenfrontier.silicon`. The result renders every figure with its formula and
writes catalog TOML (:meth:`Design.toml_files`) that ``--catalog`` loads like any other entry.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .catalog import Catalog
from .catalog.toml_writer import to_toml
from .errors import InvalidInputError
from .resolve import catalog_or_default
from .results import Result, render_table
from .silicon import node_facts, references
from .specs import Chip, MemoryTier, System, validation_message

__all__ = [
    "DRAM_PJ_PER_BIT",
    "MAX_DIE_MM2",
    "MAX_SILICON_MM2",
    "PHOTONIC_PJ_PER_BIT",
    "Design",
    "design",
]

#: Energy per bit moved to and from a hybrid-bonded DRAM wafer (assumption: short vertical
#: wires; HBM3 is ~3-4 pJ/bit across an interposer).
DRAM_PJ_PER_BIT = 1.0
#: Energy per bit of co-packaged photonic I/O (assumption; published CPO targets are ~5 pJ/bit).
PHOTONIC_PJ_PER_BIT = 5.0
#: One 300 mm wafer's disc (pi x 150²): no single piece of silicon is larger.
MAX_SILICON_MM2 = math.pi * 150**2
#: One reticle field (26 x 33 mm): the largest die one exposure prints.
MAX_DIE_MM2 = 26 * 33
_ID = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,63}$")


@dataclass(frozen=True)
class _Inputs:
    area_mm2: float
    node: str
    sram_share: float
    logic_share: float
    shoreline_gbps_per_mm: float
    perimeter_mm: float
    photonic_bytes_per_s: float
    dram_bytes: float
    dram_bytes_per_s: float


def _figures(
    ref: System, ref_in: _Inputs, p: _Inputs, ref_wafer_w: float
) -> dict[str, tuple[float, str, str]]:
    """Every derived figure of inputs ``p``: key -> (value SI, unit, formula)."""
    chip = ref.chip
    n, n_ref = node_facts(p.node), node_facts(ref_in.node)
    ref_bits = chip.main_memory.capacity_bytes * 8
    macro_use = ref_bits / (ref_in.area_mm2 * ref_in.sram_share * n_ref.sram_mb_per_mm2 * 1e6)
    sram_bytes = p.area_mm2 * p.sram_share * n.sram_mb_per_mm2 * 1e6 * macro_use / 8
    sram_bw = sram_bytes * chip.main_memory.bandwidth_bytes_per_s / chip.main_memory.capacity_bytes
    ref_flops = chip.peak_flops("bf16")
    per_mm2 = ref_flops / (ref_in.area_mm2 * ref_in.logic_share)
    logic_x = n.logic_density_vs_n5 / n_ref.logic_density_vs_n5
    flops = p.area_mm2 * p.logic_share * per_mm2 * logic_x
    edge_io = p.shoreline_gbps_per_mm * 1e9 * p.perimeter_mm
    io = edge_io + p.photonic_bytes_per_s
    power_x = n.power_iso_speed_vs_n5 / n_ref.power_iso_speed_vs_n5
    extra_w = (p.dram_bytes_per_s * DRAM_PJ_PER_BIT + p.photonic_bytes_per_s * PHOTONIC_PJ_PER_BIT) * 8e-12
    wafer_w = ref_wafer_w * flops / ref_flops * power_x + extra_w
    return {
        "silicon_area_mm2": (p.area_mm2, "mm2", "given, or dies x die area"),
        "sram_area_mm2": (p.area_mm2 * p.sram_share, "mm2", "area x sram_share"),
        "sram_density_mb_per_mm2": (n.sram_mb_per_mm2, "Mb/mm2", f"HD SRAM macro density of {n.name}"),
        "sram_macro_use": (
            macro_use,
            "fraction",
            f"{chip.id} SRAM bits / ({chip.id} SRAM area x its node's density)",
        ),
        "sram_bytes": (sram_bytes, "bytes", "SRAM area x density x macro_use / 8"),
        "sram_bandwidth_bytes_per_s": (sram_bw, "bytes/s", f"SRAM bytes x {chip.id} bandwidth per byte"),
        "logic_area_mm2": (p.area_mm2 * p.logic_share, "mm2", "area x logic_share"),
        "logic_density_vs_ref": (logic_x, "x", f"{n.name} / {n_ref.name} logic density (TSMC)"),
        "dense_flops_per_s": (
            flops,
            "FLOP/s",
            f"logic area x {chip.id} FLOP/s per logic mm² ({per_mm2 / 1e12:.3f} "
            "TFLOP/s) x logic density vs ref",
        ),
        "perimeter_mm": (p.perimeter_mm, "mm", "4 sqrt(area) x edge_fraction, or given"),
        "edge_io_bytes_per_s": (edge_io, "bytes/s", "shoreline GB/s per mm x perimeter"),
        "photonic_io_bytes_per_s": (p.photonic_bytes_per_s, "bytes/s", "given, or GB/s per mm² x face area"),
        "scale_out_bytes_per_s": (io, "bytes/s", "edge I/O + photonic I/O"),
        "dram_bytes": (p.dram_bytes, "bytes", "bonded DRAM wafer, given"),
        "dram_bandwidth_bytes_per_s": (p.dram_bytes_per_s, "bytes/s", "bonded DRAM wafer, given"),
        "chip_power_w": (
            wafer_w,
            "W",
            f"{chip.id} power x FLOP/s ratio x power at iso speed ({power_x:.2f}x) "
            f"+ DRAM {DRAM_PJ_PER_BIT:g} pJ/bit + photonic {PHOTONIC_PJ_PER_BIT:g} pJ/bit",
        ),
    }


def _number(name: str, value: float | None, lo: float, hi: float, *, lo_open: bool = True) -> None:
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise InvalidInputError(f"{name}: must be a number in {bracket}{lo:g}, {hi:g}], got {value!r}")


@dataclass(frozen=True)
class Design(Result):
    """A catalog entry derived from physical inputs, every figure beside its formula."""

    reference: System
    chip: Chip
    system: System
    inputs: dict[str, Any]
    figures: dict[str, tuple[float, str, str]]
    ref_figures: dict[str, tuple[float, str, str]]
    tco_preset: dict[str, Any] | None = None
    assumptions: tuple[str, ...] = field(default=())
    written: tuple[str, ...] = ()  # catalog files written (``--out``)

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"design {self.system.id}: {self.system.name}, derived from {self.reference.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.system.id,
            "chip_id": self.chip.id,
            "reference": self.reference.id,
            "inputs": dict(self.inputs),
            "derived": [
                {
                    "quantity": k,
                    "value": v,
                    "unit": u,
                    "reference_value": self.ref_figures[k][0],
                    "formula": f,
                }
                for k, (v, u, f) in self.figures.items()
            ],
            "system_power_w": self.system.power_w,
            "price_usd": self.system.price_usd,
            "assumptions": list(self.assumptions),
            "written": list(self.written),
            "chip": self.chip.model_dump(),
            "system": {**self.system.model_dump(exclude={"chip"}), "chip": self.chip.id},
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.to_dict()["derived"])

    def human_rows(self) -> list[tuple[str, Any]]:
        return [(k, _human(v, u)) for k, (v, u, _) in self.figures.items()]

    def comparison_rows(self) -> list[tuple[str, str, str, str]]:
        """(quantity, reference value, design value, formula), values in human units."""
        rows = [
            (k, _human(self.ref_figures[k][0], u), _human(v, u), f) for k, (v, u, f) in self.figures.items()
        ]
        rows += [
            (
                "system_power_w",
                _human(self.reference.power_w, "W"),
                _human(self.system.power_w, "W"),
                "ref system power - ref chip power + chip power, or given",
            ),
            (
                "price_usd",
                _human(self.reference.price_usd, "USD"),
                _human(self.system.price_usd, "USD"),
                "ref price + DRAM GB x $/GB, or given",
            ),
        ]
        return rows

    def __str__(self) -> str:
        rows = self.comparison_rows()
        body = render_table(("quantity", self.reference.id, self.system.id, "formula"), rows)
        notes = "\n".join(f"- {a}" for a in self.assumptions)
        wrote = "".join(f"\nwrote {w}" for w in self.written)
        return f"{self.title}\n{body}\nassumptions:\n{notes}{wrote}"

    def toml_files(self) -> dict[str, str]:
        """Catalog TOML by file name: the chip, the system and (when the reference has one) a TCO
        preset extending the reference's, so ``cost`` prices the design like its reference."""
        chip = self.chip.model_dump(exclude_none=True)
        system = {**self.system.model_dump(exclude={"chip"}, exclude_none=True), "chip": self.chip.id}
        system.pop("implicit", None)
        header = f"# Derived by `tokenfrontier design` from {self.reference.id}. SI units.\n"
        files = {
            f"{self.chip.id}.toml": header + to_toml(chip),
            f"{self.system.id}.toml": header + to_toml(system),
        }
        if self.tco_preset:
            files[f"{self.tco_preset['id']}.toml"] = header + to_toml(self.tco_preset)
        return files


def _human(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    scales = {
        "bytes": ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1, "B")),
        "bytes/s": ((1e15, "PB/s"), (1e12, "TB/s"), (1e9, "GB/s"), (1, "B/s")),
        "FLOP/s": ((1e15, "PFLOP/s"), (1e12, "TFLOP/s"), (1, "FLOP/s")),
        "W": ((1e3, "kW"), (1, "W")),
    }
    if unit == "USD":
        return f"${value:,.0f}"
    if unit in scales:
        if value == 0:
            return f"0 {scales[unit][-1][1]}"
        div, name = next(((d, n) for d, n in scales[unit] if abs(value) >= d), scales[unit][-1])
        return f"{value / div:,.3g} {name}" if value / div < 100 else f"{value / div:,.0f} {name}"
    if unit == "mm2":
        return f"{value:,.0f} mm²"
    if unit == "mm":
        return f"{value:,.0f} mm"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "fraction":
        return f"{value:.3f}"
    return f"{value:.3g} {unit.replace('mm2', 'mm²')}"


def _round(x: float) -> float:
    """Six significant figures: a derived figure claims no more (and the TOML stays readable)."""
    return float(f"{x:.6g}")


def _reference(ref_id: str, cat: Catalog) -> System:
    refs = references()
    valid = sorted(h for h in cat.hardware_ids() if cat.system(h).chip.id in refs)
    key = ref_id.strip().lower()
    if key not in cat.hardware_ids() or cat.system(key).chip.id not in refs:
        raise InvalidInputError(
            f"--from: '{ref_id}' is not a reference design (physical facts in "
            f"catalog/published/design_references.csv); valid: {', '.join(valid)}"
        )
    return cat.system(key)


def design(
    reference: str = "cs-3",
    *,
    id: str | None = None,
    name: str | None = None,
    node: str | None = None,
    area_mm2: float | None = None,
    dies: int | None = None,
    die_area_mm2: float | None = None,
    sram_share: float | None = None,
    logic_share: float | None = None,
    shoreline_gbps_per_mm: float | None = None,
    perimeter_mm: float | None = None,
    edge_fraction: float = 1.0,
    photonic_io_tbps: float | None = None,
    photonic_gbps_per_mm2: float | None = None,
    photonic_area_mm2: float | None = None,
    dram_wafer_gb: float = 0.0,
    dram_wafer_tbps: float | None = None,
    weights_on: str = "sram",
    dram_usd_per_gb: float = 10.0,
    power_kw: float | None = None,
    price_usd: float | None = None,
    catalog: Catalog | None = None,
) -> Design:
    """A chip and system derived from physical inputs (module docstring: the formulas).

    Units as named: mm², mm, GB/s per mm, TB/s, GB (decimal), kW, USD. Omitted inputs take the
    reference's value. Bad input raises :class:`~tokenfrontier.errors.InvalidInputError`.
    """
    cat = catalog_or_default(catalog)
    ref = _reference(reference, cat)
    facts = references()[ref.chip.id]
    node_key = node_facts(node or facts.node).node
    _number("--area-mm2", area_mm2, 0, MAX_SILICON_MM2)
    _number("--die-area-mm2", die_area_mm2, 0, MAX_DIE_MM2)
    _number("--dies", dies, 0, 1000)
    if dies is not None and dies != int(dies):
        raise InvalidInputError(f"--dies: must be a whole number of dies, got {dies!r}")
    _number("--sram-share", sram_share, 0, 1)
    _number("--logic-share", logic_share, 0, 1)
    _number("--shoreline-gbps-per-mm", shoreline_gbps_per_mm, 0, 1000)
    _number("--perimeter-mm", perimeter_mm, 0, 10_000)
    _number("--edge-fraction", edge_fraction, 0, 1)
    _number("--photonic-io-tbps", photonic_io_tbps, 0, 10_000, lo_open=False)
    _number("--photonic-gbps-per-mm2", photonic_gbps_per_mm2, 0, 10_000)
    _number("--photonic-area-mm2", photonic_area_mm2, 0, MAX_SILICON_MM2)
    _number("--dram-wafer-gb", dram_wafer_gb, 0, 1e6, lo_open=False)
    _number("--dram-wafer-tbps", dram_wafer_tbps, 0, 1e5)
    _number("--dram-usd-per-gb", dram_usd_per_gb, 0, 1e4, lo_open=False)
    _number("--power-kw", power_kw, 0, 1e4)
    _number("--price-usd", price_usd, 0, 1e10, lo_open=False)
    if area_mm2 is not None and (dies is not None or die_area_mm2 is not None):
        raise InvalidInputError("--area-mm2: give the silicon area or --dies and --die-area-mm2, not both")
    if dies is not None or die_area_mm2 is not None:
        n_dies = int(dies) if dies is not None else facts.dies
        area = n_dies * (die_area_mm2 if die_area_mm2 is not None else facts.silicon_area_mm2 / facts.dies)
        if area > MAX_SILICON_MM2:
            raise InvalidInputError(
                f"--dies x --die-area-mm2: {area:,.0f} mm² is more silicon than a 300 mm wafer holds "
                f"({MAX_SILICON_MM2:,.0f} mm²)"
            )
    else:
        area = area_mm2 if area_mm2 is not None else facts.silicon_area_mm2
    s_share = sram_share if sram_share is not None else facts.sram_share
    l_share = logic_share if logic_share is not None else 1 - s_share
    if s_share + l_share > 1 + 1e-12:
        raise InvalidInputError(
            f"--sram-share + --logic-share: {s_share:g} + {l_share:g} = {s_share + l_share:g} exceeds the "
            "whole area (1)"
        )
    if photonic_io_tbps is not None and (photonic_gbps_per_mm2 is not None or photonic_area_mm2 is not None):
        raise InvalidInputError(
            "--photonic-io-tbps: give the photonic I/O in TB/s or --photonic-gbps-per-mm2 with "
            "--photonic-area-mm2, not both"
        )
    if (photonic_gbps_per_mm2 is None) != (photonic_area_mm2 is None):
        raise InvalidInputError("--photonic-gbps-per-mm2 and --photonic-area-mm2 go together: give both")
    if photonic_area_mm2 is not None and photonic_area_mm2 > area:
        raise InvalidInputError(
            f"--photonic-area-mm2: {photonic_area_mm2:g} mm² exceeds the silicon area {area:,.0f} mm²"
        )
    photonic = (photonic_io_tbps or 0.0) * 1e12
    if photonic_gbps_per_mm2 is not None and photonic_area_mm2 is not None:
        photonic = photonic_gbps_per_mm2 * 1e9 * photonic_area_mm2
    if (dram_wafer_gb > 0) != (dram_wafer_tbps is not None):
        raise InvalidInputError("--dram-wafer-gb and --dram-wafer-tbps go together: give both (GB > 0)")
    if weights_on not in ("sram", "dram"):
        raise InvalidInputError(f"--weights-on: '{weights_on}' is not supported; valid: sram, dram")
    if weights_on == "dram" and dram_wafer_gb <= 0:
        raise InvalidInputError(
            "--weights-on dram needs a DRAM wafer: give --dram-wafer-gb and --dram-wafer-tbps"
        )
    ref_io = ref.chip.scale_out_bytes_per_s
    ref_in = _Inputs(
        facts.silicon_area_mm2,
        facts.node,
        facts.sram_share,
        1 - facts.sram_share,
        ref_io / 1e9 / facts.perimeter_mm,
        facts.perimeter_mm,
        0.0,
        0.0,
        0.0,
    )
    p = _Inputs(
        area_mm2=area,
        node=node_key,
        sram_share=s_share,
        logic_share=l_share,
        shoreline_gbps_per_mm=shoreline_gbps_per_mm
        if shoreline_gbps_per_mm is not None
        else ref_in.shoreline_gbps_per_mm,
        perimeter_mm=perimeter_mm if perimeter_mm is not None else 4 * math.sqrt(area) * edge_fraction,
        photonic_bytes_per_s=photonic,
        dram_bytes=dram_wafer_gb * 1e9,
        dram_bytes_per_s=(dram_wafer_tbps or 0.0) * 1e12,
    )
    ref_wafer_w = ref.chip.board_power_w or ref.power_w or 0.0
    ref_figs = _figures(ref, ref_in, ref_in, ref_wafer_w)
    figs = _figures(ref, ref_in, p, ref_wafer_w)
    sys_id = (id or f"{ref.id}-{node_key}-design").strip().lower()
    if not _ID.match(sys_id) or ".." in sys_id:
        raise InvalidInputError(
            f"--id: '{id}' cannot be a catalog id: lower-case letters, digits, '.', '_', '+', '-' "
            "(at most 64)"
        )
    chip_id = ref.chip.id + sys_id[len(ref.id) :] if sys_id.startswith(ref.id) else f"{sys_id}-chip"
    if chip_id == sys_id:  # a chip used as its own system (--from wse-3)
        chip_id = f"{sys_id}-chip"
    if chip_id == ref.chip.id or sys_id == ref.id:
        raise InvalidInputError(f"--id: '{sys_id}' would replace the reference {ref.id}; choose a new id")
    return _build(
        ref, p, figs, ref_figs, sys_id, chip_id, name, weights_on, dram_usd_per_gb, power_kw, price_usd, cat
    )


def _build(
    ref: System,
    p: _Inputs,
    figs: dict[str, tuple[float, str, str]],
    ref_figs: dict[str, tuple[float, str, str]],
    sys_id: str,
    chip_id: str,
    name: str | None,
    weights_on: str,
    dram_usd_per_gb: float,
    power_kw: float | None,
    price_usd: float | None,
    cat: Catalog,
) -> Design:
    rc = ref.chip
    n = node_facts(p.node)
    flops_x = figs["dense_flops_per_s"][0] / ref_figs["dense_flops_per_s"][0]
    sram = rc.main_memory.model_copy(
        update={
            "capacity_bytes": _round(figs["sram_bytes"][0]),
            "usable_capacity_bytes": None,
            "bandwidth_bytes_per_s": _round(figs["sram_bandwidth_bytes_per_s"][0]),
            "notes": "derived: SRAM area x node density x the reference's macro use",
        }
    )
    io = _round(figs["scale_out_bytes_per_s"][0])
    io_x = io / (rc.scale_out_bytes_per_s or io)
    dram = None
    if p.dram_bytes > 0:
        dram = MemoryTier(
            name="dram-wafer",
            technology="DRAM wafer, hybrid-bonded to the logic wafer",
            capacity_bytes=p.dram_bytes,
            bandwidth_bytes_per_s=p.dram_bytes_per_s,
            latency_s=80e-9,
            notes="bonded DRAM wafer: capacity and bandwidth given",
        )
    memory = (sram,) if dram is None else ((dram, sram) if weights_on == "dram" else (sram,))
    offload = tuple(
        t.model_copy(
            update={"bandwidth_bytes_per_s": _round(min(t.bandwidth_bytes_per_s * io_x, io * ref.chips))}
        )
        for t in ref.offload
    )
    if dram is not None and weights_on == "sram":
        offload = (dram,)  # the bonded wafer is the KV tier beside the SRAM; it replaces the node
    chip_w = figs["chip_power_w"][0]
    ref_chip_w = rc.board_power_w or 0.0
    sys_w = (
        power_kw * 1e3
        if power_kw is not None
        else (ref.power_w or 0.0) - ref_chip_w * ref.chips + chip_w * ref.chips
    )
    chip_w, sys_w = _round(chip_w), _round(sys_w)
    added_usd = p.dram_bytes / 1e9 * dram_usd_per_gb
    price = price_usd if price_usd is not None else (ref.price_usd or 0.0) + added_usd * ref.chips
    inputs_text = (
        f"node {n.name}, {p.area_mm2:,.0f} mm², SRAM share {p.sram_share:g}, logic share "
        f"{p.logic_share:g}, shoreline {p.shoreline_gbps_per_mm:.3g} GB/s/mm x {p.perimeter_mm:,.0f} mm, "
        f"photonic {p.photonic_bytes_per_s / 1e12:g} TB/s, DRAM wafer {p.dram_bytes / 1e9:g} GB at "
        f"{p.dram_bytes_per_s / 1e12:g} TB/s (weights on {weights_on})"
    )
    sources = (
        f"derived by tokenfrontier design from {ref.id} ({rc.id}): {inputs_text}",
        "SemiAnalysis, Cerebras — Faster Tokens Please (May 2026): SRAM density by node, shoreline",
        n.source,
        *rc.sources,
    )
    label = (
        name
        or f"{ref.name} design ({n.name}"
        + (f", {p.dram_bytes / 1e9:g} GB DRAM wafer" if dram else "")
        + (f", {p.photonic_bytes_per_s / 1e12:g} TB/s photonic" if p.photonic_bytes_per_s else "")
        + ")"
    )
    try:
        chip = Chip(
            id=chip_id,
            name=label,
            vendor=rc.vendor,
            family=rc.family,
            kind=rc.kind,
            memory=memory,
            dense_flops_per_s={k: _round(v * flops_x) for k, v in rc.dense_flops_per_s.items()},
            scale_up_bytes_per_s=rc.scale_up_bytes_per_s,
            scale_out_bytes_per_s=io,
            board_power_w=chip_w if power_kw is None else None,
            price_usd=(rc.price_usd or 0.0) + added_usd if rc.price_usd is not None else None,
            process_node=n.name,
            usable_memory_fraction=rc.usable_memory_fraction,
            # the reference's core (SRAM + logic tile) repeated over the new SRAM
            cores=max(1, round(rc.cores * sram.capacity_bytes / rc.main_memory.capacity_bytes)),
            sources=sources,
            notes=f"What-if design from physical inputs ({inputs_text}). Figures and formulas: "
            "`tokenfrontier design`.",
        )
        system = System(
            id=sys_id,
            name=label,
            chip=chip,
            chips=ref.chips,
            scale_up_domain_chips=ref.scale_up_domain_chips,
            scale_out_bytes_per_s=io * ref.chips,
            hop_latency_s=ref.hop_latency_s,
            offload=offload,
            power_w=sys_w or None,
            price_usd=price,
            sources=sources,
            notes=f"{ref.name} with a derived chip; offload tiers: "
            + (", ".join(t.name for t in offload) or "none")
            + (
                ""
                if dram is None or weights_on == "dram"
                else " (the bonded DRAM wafer replaces the reference's offload node)"
            ),
        )
    except ValidationError as exc:
        raise InvalidInputError(f"design: derived entry out of range: {validation_message(exc)}") from None
    preset = _tco_preset(ref, sys_id, system, added_usd * ref.chips, price_usd, cat)
    assumptions = (
        f"SRAM macro use of {rc.id} ({figs['sram_macro_use'][0]:.3f}) and its bandwidth per byte carry over",
        f"FLOP/s per logic mm² of {rc.id} at the same clock, scaled by TSMC's logic density",
        f"power: logic at iso speed (TSMC), DRAM wafer {DRAM_PJ_PER_BIT:g} pJ/bit, photonic "
        f"{PHOTONIC_PJ_PER_BIT:g} pJ/bit; the rest of the system as {ref.id}",
        f"price: {ref.id} + DRAM wafer at ${dram_usd_per_gb:g}/GB; photonic I/O unpriced (give --price-usd)",
        "offload tiers scale with the I/O (they are reached through it); "
        + (
            "the DRAM wafer is the KV tier"
            if dram is not None and weights_on == "sram"
            else "weights and KV in the DRAM wafer, SRAM second"
            if dram is not None
            else "no DRAM wafer"
        ),
    )
    inputs = {
        "reference": ref.id,
        "node": p.node,
        "area_mm2": p.area_mm2,
        "sram_share": p.sram_share,
        "logic_share": p.logic_share,
        "shoreline_gbps_per_mm": p.shoreline_gbps_per_mm,
        "perimeter_mm": p.perimeter_mm,
        "photonic_io_bytes_per_s": p.photonic_bytes_per_s,
        "dram_wafer_bytes": p.dram_bytes,
        "dram_wafer_bytes_per_s": p.dram_bytes_per_s,
        "weights_on": weights_on,
        "dram_usd_per_gb": dram_usd_per_gb,
        "power_w": power_kw * 1e3 if power_kw is not None else None,
        "price_usd": price_usd,
    }
    return Design(ref, chip, system, inputs, figs, ref_figs, preset, assumptions)


def _tco_preset(
    ref: System, sys_id: str, system: System, added_usd: float, price_usd: float | None, cat: Catalog
) -> dict[str, Any] | None:
    """A TCO preset extending the reference's own (server + added silicon, the new power)."""
    own = next((t for t in cat.tco_presets.values() if t.data.get("system") == ref.id), None)
    if own is None:
        return None
    server = own.data.get("server_usd")
    if price_usd is not None and ref.price_usd:
        added_usd = price_usd - ref.price_usd
    preset: dict[str, Any] = {"id": f"{sys_id}-tco", "extends": own.id, "system": sys_id}
    if isinstance(server, int | float):
        preset["server_usd"] = max(float(server) + added_usd, 0.0)
    if system.power_w:
        preset["power_kw"] = system.power_w / 1e3
    preset["sources"] = [f"{own.id} with the design's added silicon and power (tokenfrontier design)"]
    return preset


# `tokenfrontier.design` is this module; calling it calls `design.design` (via tokenfrontier.api)
from .callable_module import CallableModule  # noqa: E402

CallableModule.install(__name__)
