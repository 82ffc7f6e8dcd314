"""Dashboard Economics page, deal v2 part (issue 12): EBIT by year, tornado, ramp, margins."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest  # a [test] dependency: missing, this module fails

from tokenfrontier.views.dashboard import APP


def app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_economics_shows_deal_ramp_and_margins():
    at = app(page="Economics", contract="nan")
    heads = [s.value for s in at.subheader]
    for h in ("Deal: EBIT by contract year and NPV tornado", "Datacenter ramp vs the contract",
              "Gross margin vs price cards"):  # fmt: skip
        assert h in heads
    assert not at.error
    assert any("contract='nan'" in w.value for w in at.warning)


def test_ramp_and_card_follow_inputs():
    at = app(page="Economics", ramp="high", card="deepseek-v3.2", mmodel="llama-3.1-8b", mhw="dgx-h100")
    assert not at.error
    assert at.selectbox(key="w_ramp").value == "high"
    assert at.selectbox(key="w_card").value == "deepseek-v3.2"


def test_cost_breakdown_by_token_type_and_pool():
    at = app(page="Economics", cmodel="llama-3.1-8b", chw="dgx-h100", cpre="hgx-b200", cisl="8k",
             cosl="1k", cconc="16")  # fmt: skip
    assert not at.error
    assert "Cost breakdown by token type and pool" in [s.value for s in at.subheader]
    frames = [d.value for d in at.dataframe]
    types = next(f for f in frames if "token type" in f.columns and "$/Mtok" in f.columns)
    assert list(types["token type"]) == ["cache_read", "cache_write", "input", "output"]
    assert (types["$/Mtok low"] <= types["$/Mtok"]).all() and (types["$/Mtok"] <= types["$/Mtok high"]).all()
    pools = next(f for f in frames if "pool" in f.columns)
    assert set(pools["pool"]) == {"decode", "prefill"}
    shown = {m.label: m.value for m in at.metric}
    # money is conserved: every pool's $/hour split by token type adds back to the total
    assert float(pools["$/h"].sum()) == pytest.approx(
        float(shown["$ per hour (all pools)"].replace(",", "")), abs=0.01
    )


def test_tables_show_human_units_and_downloads_keep_si():
    import pandas as pd

    from tokenfrontier.views.dashboard.cost_page import by_type_frame
    from tokenfrontier.views.dashboard.units import human_frame

    si = pd.DataFrame({"memory_bytes": [80e9], "memory_bandwidth_bytes_per_s": [3.35e12],
                       "bf16_flops": [989e12],
                       "capex_usd": [2.5e9], "deal_usd": [4e6], "usd_per_mtok": [0.5], "gross_margin": [0.25],
                       "hardware": ["h100"]})  # fmt: skip
    h = human_frame(si)
    assert list(h.columns) == ["memory GB", "memory bandwidth TB/s", "bf16 TFLOP/s", "capex $B", "deal $M",
                               "$/Mtok", "gross margin %", "hardware"]  # fmt: skip
    assert h.iloc[0, :7].tolist() == pytest.approx([80.0, 3.35, 989.0, 2.5, 4.0, 0.5, 25.0], rel=1e-12)
    assert h["memory GB"][0] == pytest.approx(80.0) and h["capex $B"][0] == pytest.approx(2.5)
    assert si.columns[0] == "memory_bytes"  # the download frame is untouched
    import tokenfrontier as tf

    c = tf.cost("llama-3.1-8b", "h100", isl=1024, osl=256, tp=1, concurrency=8, mix="agentic")
    frame = by_type_frame(c)  # what the CSV download writes: SI keys
    assert {"usd_per_mtok", "usd_per_mtok_low", "usd_per_mtok_high", "tokens_per_hour"} <= set(frame.columns)
    assert frame["usd_per_hour"].sum() == pytest.approx(c.usd_per_hour, rel=1e-9)


def test_catalog_hardware_table_in_human_units():
    at = app(page="Catalog")
    cols = set(at.dataframe[0].value.columns)
    assert {"memory GB", "memory bandwidth TB/s", "bf16 TFLOP/s"} <= cols


def test_frontier_mixed_wafer_and_gpu_defaults_to_per_usd_hour_on_the_axis():
    import json

    at = app(page="Frontier", hws="cs-3,dgx-h100", isl="1k", osl="1k")
    assert not at.error
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "per $/hour" in spec["layout"]["yaxis"]["title"]["text"]
