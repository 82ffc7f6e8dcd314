"""The dashboard's Design page: silicon what-ifs, a catalog entry derived from physical inputs
(process node, area, SRAM share, edge and photonic I/O, a bonded DRAM wafer), compared with the
catalog CS-3 and downloadable as TOML.

``app.py`` calls :func:`page_design` with its URL-backed input helpers.
"""

from __future__ import annotations

from tokenfrontier.views.dashboard.kit import Kit

__all__ = ["page_design"]


def page_design(kit: Kit) -> None:
    """Silicon what-ifs: a catalog entry derived from physical inputs (tokenfrontier.design)."""
    st = kit.st
    import pandas as pd

    from tokenfrontier import api as tf
    from tokenfrontier.design import design
    from tokenfrontier.errors import TokenFrontierError
    from tokenfrontier.silicon import nodes, silicon_tables

    c1, c2, c3 = st.columns(3)
    with c1:
        node = kit.choice("Process node", "node", nodes(), "n5")
        area = kit.number(
            "Silicon area (mm²)",
            "area",
            46225.0,
            100.0,
            70686.0,
            1000.0,
            "WSE-3: 46,225 mm², one 300 mm wafer of 84 dies (SPEC §2)",
        )
        sram = kit.number("SRAM share of area", "sram", 0.5, 0.01, 0.99, 0.05, "WSE-3: 50% (SPEC §2)")
    with c2:
        shore = kit.number(
            "Edge I/O (GB/s per mm)",
            "shore",
            0.1744,
            0.001,
            100.0,
            0.1,
            "WSE-3: 150 GB/s over 860 mm = 0.17; a Blackwell die: 22.7 (SPEC §2)",
        )
        phot = kit.number(
            "Photonic I/O through the face (TB/s)",
            "phot",
            0.0,
            0.0,
            1000.0,
            1.0,
            "co-packaged optics bonded onto the wafer; 0 = none",
        )
        model = kit.choice("Model", "dmodel", kit.catalog.model_ids, "deepseek-r1")
    with c3:
        dram_gb = kit.number("Bonded DRAM wafer (GB)", "dgb", 0.0, 0.0, 100000.0, 100.0, "0 = none")
        dram_tbps = kit.number(
            "DRAM wafer bandwidth (TB/s)",
            "dtb",
            100.0,
            0.1,
            10000.0,
            10.0,
            "bandwidth of the bonded DRAM wafer",
        )
        weights_on = kit.choice("Weights in", "won", ["sram", "dram"], "sram")
    try:
        d = design(
            "cs-3",
            id="cs-3-design",
            node=node,
            area_mm2=area,
            sram_share=sram,
            shoreline_gbps_per_mm=shore,
            photonic_io_tbps=phot,
            dram_wafer_gb=dram_gb,
            dram_wafer_tbps=dram_tbps if dram_gb > 0 else None,
            weights_on=weights_on,
            catalog=kit.catalog,
        )
        pair = (d.reference, d.system)
        preds = [tf.predict(model, hw, isl="8k", osl="1k", catalog=kit.catalog) for hw in pair]
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    m = st.columns(5)
    mem = d.chip.main_memory
    m[0].metric(f"{mem.name} (weights)", f"{mem.capacity_bytes / 1e9:,.0f} GB")
    m[1].metric("dense BF16", f"{d.chip.peak_flops('bf16') / 1e15:,.1f} PFLOP/s")
    m[2].metric("scale-out", f"{d.system.io_bytes_per_s / 1e12:,.2f} TB/s")
    m[3].metric("power", f"{(d.system.power_w or 0) / 1e3:,.1f} kW")
    m[4].metric("price", f"${d.system.price_usd or 0:,.0f}")
    st.subheader("Derived entry (every figure with its formula)")
    st.dataframe(
        pd.DataFrame(d.comparison_rows(), columns=["quantity", "cs-3", "design", "formula"]), hide_index=True
    )
    kit.csv_button(d.to_frame(), "design")
    st.caption("Assumptions: " + "; ".join(d.assumptions))
    st.subheader(f"{model}, ISL 8k / OSL 1k: catalog CS-3 vs the design")
    rows = [
        (
            p.hardware,
            p.feasible,
            p.chips,
            p.tok_s_per_user,
            p.output_tok_s_per_chip,
            p.ttft_s and p.ttft_s * 1e3,
            p.explanation,
        )
        for p in preds
    ]
    cols = ["hardware", "feasible", "chips", "tok/s per user", "out tok/s per chip", "TTFT ms", "why"]
    st.dataframe(pd.DataFrame(rows, columns=cols), hide_index=True)
    for fname, text in d.toml_files().items():
        st.download_button(f"Download {fname}", text, fname, "application/toml")
    st.caption("Load the files with --catalog DIR (frontier, predict, simulate, cost).")
    tables = silicon_tables()
    st.subheader("SRAM density by node (SPEC §2)")
    st.dataframe(
        pd.DataFrame(tables.sram)[
            ["name", "bitcell_um2", "published_mb_per_mm2", "ours_mb_per_mm2", "vs_n5", "agrees"]
        ],
        hide_index=True,
    )
    st.subheader("Off-chip I/O shoreline (SPEC §2)")
    st.dataframe(pd.DataFrame(tables.shoreline)[["chip", "edges", "edge_mm", "published_gbps_per_mm",
                                                 "ours_gbps_per_mm", "ours_ratio_to_wse3", "reason"]],
                 hide_index=True)  # fmt: skip
