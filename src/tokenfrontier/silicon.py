"""Silicon facts by process node, and SPEC's SRAM-by-node and off-chip I/O shoreline tables.

Data (``catalog/published/``): ``sram_density.csv`` (HD bitcell µm², macro Mb/mm² by node),
``logic_scaling.csv`` (TSMC's announced logic density and power at the same speed between
nodes), ``shoreline.csv`` (edge length and off-chip I/O of a Blackwell die and the WSE-3) and
``design_references.csv`` (area, dies, SRAM share and perimeter of the designs
:mod:`tokenfrontier.design` scales).

Formulas the tables are checked with:

- SRAM macro density (Mb/mm²) = ``MACRO_EFFICIENCY`` / bitcell area (µm²): one bit per bitcell,
  1 µm² = 10⁻⁶ mm², and the bitcells fill ``MACRO_EFFICIENCY`` of a macro (the rest is sense
  amplifiers, decoders and I/O). A row agrees when the published Mb/mm² lies within what the
  bitcell's printed precision (±0.0005 µm²) allows.
- shoreline density (GB/s per mm) = off-chip I/O (GB/s, one direction) / usable edge (mm); the
  ratio of two chips' densities.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from .catalog import CATALOG_DIR
from .errors import InvalidInputError
from .results import Result, render_table

__all__ = [
    "MACRO_EFFICIENCY",
    "NodeFacts",
    "Reference",
    "SiliconTables",
    "node_facts",
    "nodes",
    "references",
    "shoreline_rows",
    "silicon_tables",
    "sram_rows",
]

_PUBLISHED = CATALOG_DIR / "published"
#: Share of an HD SRAM macro's area that is bitcells (assumption: periphery ~1/3 of the macro,
#: typical of compiled high-density macros). One constant for every node; the SRAM table checks it.
MACRO_EFFICIENCY = 0.67
_BITCELL_PRINT_UM2 = 0.0005  # the published bitcell areas have three decimals


def read_published(name: str) -> list[dict[str, str]]:
    """Rows of a ``catalog/published`` CSV (lines starting with ``#`` are comments)."""
    text = (_PUBLISHED / name).read_text(encoding="utf-8")
    return list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))


@dataclass(frozen=True)
class NodeFacts:
    """One process node: SRAM macro density and logic scaling relative to TSMC N5."""

    node: str
    name: str
    bitcell_um2: float
    sram_mb_per_mm2: float  # published macro density, Mb = 10^6 bits
    logic_density_vs_n5: float
    power_iso_speed_vs_n5: float
    source: str


@cache
def _nodes() -> dict[str, NodeFacts]:
    logic = {r["node"]: r for r in read_published("logic_scaling.csv")}

    def vs_n5(node: str, col: str) -> float:
        row = logic[node]
        base = row["base_node"]
        return float(row[col]) * (vs_n5(base, col) if base else 1.0)

    out = {}
    for r in read_published("sram_density.csv"):
        n = r["node"]
        out[n] = NodeFacts(
            node=n,
            name=r["name"],
            bitcell_um2=float(r["bitcell_um2"]),
            sram_mb_per_mm2=float(r["mb_per_mm2"]),
            logic_density_vs_n5=vs_n5(n, "logic_density_x"),
            power_iso_speed_vs_n5=vs_n5(n, "power_iso_speed_x"),
            source=f"{r['source']}; {logic[n]['source']}",
        )
    return out


def nodes() -> list[str]:
    """Process nodes with SRAM and logic figures, oldest first."""
    return list(_nodes())


def node_facts(node: str) -> NodeFacts:
    """The facts of one node (``n3e``, ``N3E`` and ``TSMC N3E`` all work)."""
    key = node.strip().lower().removeprefix("tsmc").strip()
    if key not in _nodes():
        raise InvalidInputError(f"node: unknown process node '{node}'; valid: {', '.join(nodes())}")
    return _nodes()[key]


@dataclass(frozen=True)
class Reference:
    """Physical facts of a reference design (a chip id of ``design_references.csv``)."""

    chip: str
    node: str
    silicon_area_mm2: float
    dies: int
    sram_share: float
    perimeter_mm: float
    source: str


@cache
def references() -> dict[str, Reference]:
    """Reference designs by chip id."""
    return {
        r["chip"]: Reference(
            chip=r["chip"],
            node=r["node"],
            silicon_area_mm2=float(r["silicon_area_mm2"]),
            dies=int(r["dies"]),
            sram_share=float(r["sram_share"]),
            perimeter_mm=float(r["perimeter_mm"]),
            source=r["source"],
        )
        for r in read_published("design_references.csv")
    }


def sram_rows() -> list[dict[str, Any]]:
    """SPEC's SRAM-by-node table, each row recomputed as ``MACRO_EFFICIENCY / bitcell``."""
    rows = []
    for f in _nodes().values():
        ours = MACRO_EFFICIENCY / f.bitcell_um2
        lo = MACRO_EFFICIENCY / (f.bitcell_um2 + _BITCELL_PRINT_UM2)
        hi = MACRO_EFFICIENCY / (f.bitcell_um2 - _BITCELL_PRINT_UM2)
        agrees = lo - 0.5 <= f.sram_mb_per_mm2 <= hi + 0.5  # the Mb/mm² is printed as an integer
        rows.append(
            {
                "node": f.node,
                "name": f.name,
                "bitcell_um2": f.bitcell_um2,
                "published_mb_per_mm2": f.sram_mb_per_mm2,
                "ours_mb_per_mm2": ours,
                "agrees": agrees,
                "vs_n5": f.sram_mb_per_mm2 / _nodes()["n5"].sram_mb_per_mm2,
                "reason": "" if agrees else f"{MACRO_EFFICIENCY:g} / {f.bitcell_um2:g} = {ours:.1f}",
            }
        )
    return rows


def _components(text: str) -> list[tuple[str, float]]:
    return [(k.strip(), float(v)) for k, v in (part.split("=") for part in text.split(";"))]


def shoreline_rows() -> list[dict[str, Any]]:
    """SPEC's shoreline table: GB/s per mm = I/O / usable edge, and the ratio to the WSE-3."""
    rows: list[dict[str, Any]] = []
    for r in read_published("shoreline.csv"):
        parts = _components(r["io_components"])
        io_tbps = sum(v for _, v in parts)
        density = io_tbps * 1e3 / float(r["edge_mm"])
        pub = float(r["published_gbps_per_mm"])
        agrees = round(density, 2 if pub < 1 else 1) == pub
        reason = ""
        if not agrees:
            implied = pub * float(r["edge_mm"]) / 1e3
            reason = (
                f"{io_tbps:g} TB/s / {float(r['edge_mm']):g} mm = {density:.1f}; the published "
                f"{pub:g} implies {implied:.3f} TB/s" + (f", {r['note']}" if r["note"] else "")
            )
        rows.append(
            {
                "chip": r["chip"],
                "edges": r["edges"],
                "edge_mm": float(r["edge_mm"]),
                "io_components": dict(parts),
                "io_bytes_per_s": io_tbps * 1e12,
                "ours_gbps_per_mm": density,
                "published_gbps_per_mm": pub,
                "agrees": agrees,
                "reason": reason,
                "published_ratio": float(r["published_ratio"]) if r["published_ratio"] else None,
            }
        )
    wse = next(r for r in rows if r["chip"] == "WSE-3")
    for r in rows:
        r["ours_ratio_to_wse3"] = r["ours_gbps_per_mm"] / wse["ours_gbps_per_mm"]
    return rows


@dataclass(frozen=True)
class SiliconTables(Result):
    """SPEC's SRAM-by-node and shoreline tables recomputed from their formulas."""

    sram: tuple[dict[str, Any], ...]
    shoreline: tuple[dict[str, Any], ...]

    title = "silicon tables: SRAM density by node, off-chip I/O shoreline"

    def to_dict(self) -> dict[str, Any]:
        return {
            "macro_efficiency": MACRO_EFFICIENCY,
            "sram_density": list(self.sram),
            "shoreline": list(self.shoreline),
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.sram))

    def human_rows(self) -> list[tuple[str, Any]]:
        return [(r["node"], r["published_mb_per_mm2"]) for r in self.sram]

    def __str__(self) -> str:
        ratio = max(r["ours_ratio_to_wse3"] for r in self.shoreline)
        pub = next((r["published_ratio"] for r in self.shoreline if r["published_ratio"]), None)
        return "\n".join(
            [
                f"SRAM density by node, HD bitcell (ours = {MACRO_EFFICIENCY:g} macro efficiency / "
                "bitcell µm²; SRAM stopped shrinking after N5)",
                render_table(
                    ("node", "bitcell µm²", "Mb/mm² published", "Mb/mm² ours", "vs N5", "agrees"),
                    [
                        (
                            r["name"],
                            f"{r['bitcell_um2']:.3f}",
                            int(r["published_mb_per_mm2"]),
                            round(r["ours_mb_per_mm2"], 1),
                            f"{r['vs_n5']:.2f}x",
                            r["agrees"],
                        )
                        for r in self.sram
                    ],
                ),
                "",
                "Off-chip I/O shoreline (GB/s per mm = I/O one direction / usable edge)",
                render_table(
                    (
                        "chip",
                        "edges",
                        "edge mm",
                        "I/O TB/s",
                        "GB/s/mm published",
                        "GB/s/mm ours",
                        "x WSE-3",
                        "agrees",
                    ),
                    [
                        (
                            r["chip"],
                            r["edges"],
                            int(r["edge_mm"]),
                            r["io_bytes_per_s"] / 1e12,
                            r["published_gbps_per_mm"],
                            round(r["ours_gbps_per_mm"], 2),
                            f"{r['ours_ratio_to_wse3']:.0f}x",
                            r["agrees"],
                        )
                        for r in self.shoreline
                    ],
                ),
                f"ratio: {ratio:.0f}x ours"
                + (f", ~{pub:g}x published" if pub else "")
                + "".join(f"\nnote ({r['chip']}): {r['reason']}" for r in self.shoreline if r["reason"]),
            ]
        )


def silicon_tables() -> SiliconTables:
    """SPEC §2's SRAM-by-node and shoreline tables with our recomputation beside each figure."""
    if not all(math.isfinite(r["ours_mb_per_mm2"]) for r in sram_rows()):  # pragma: no cover
        raise InvalidInputError("sram_density.csv: a bitcell area is zero")
    return SiliconTables(sram=tuple(sram_rows()), shoreline=tuple(shoreline_rows()))
