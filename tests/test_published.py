"""SPEC §5's published comparisons, reproduced (issue 12, item 3): each pinned by a band around
our figure and by the mechanism the README's explanation names."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenfrontier.economics import published as pub
from tokenfrontier.errors import InvalidInputError
from tokenfrontier.views.cli import main


@pytest.fixture(scope="module")
def agentic() -> pub.Comparison:
    return pub.compare("cs3-agentic")


@pytest.fixture(scope="module")
def v4() -> pub.Comparison:
    return pub.compare("v4-cs3-vs-gb300")


@pytest.fixture(scope="module")
def trn3() -> pub.Comparison:
    return pub.compare("trn3-prefill")


@pytest.fixture(scope="module")
def gpus() -> pub.Comparison:
    return pub.compare("gb300-vs-h100")


# -- 1. CS-3 agentic cost to serve ---------------------------------------------------------------
def test_cs3_agentic_published_figures(agentic):
    # SPEC §5: ~$0.19/Mtok against ~$0.30 revenue at ~$42/hr; 1 - 0.19/0.30 = 36.7%
    assert agentic.published["$/Mtok"] == 0.19
    assert agentic.published["gross margin"].startswith("36.7%")
    # $42/hr / $0.19 per Mtok = 221M tokens/hour = 61,404 tok/s per CS-3
    assert agentic.published["implied tok/s per CS-3"] == f"{42e6 / (0.19 * 3600):,.0f}" == "61,404"


def test_cs3_agentic_brackets_the_published_cost(agentic):
    """The model is undisclosed: the three sizes Cerebras serves as fast models bracket $0.19."""
    costs = {r["model"]: r["usd_per_mtok_work"] for r in agentic.records}
    assert set(costs) == {"gpt-oss-120b", "glm-4.7", "qwen3-coder-480b-a35b"}
    assert 0.005 < costs["gpt-oss-120b"] < 0.19 < costs["glm-4.7"] < 5.0
    for r in agentic.records:
        assert r["tok_s_per_user"] >= 1000
        # $/Mtok x tokens per CS-3 hour = $42 per CS-3 hour (the identity behind the explanation)
        assert r["usd_per_mtok_work"] * r["tok_s_per_wafer"] * 3600 / 1e6 == pytest.approx(42.0)
        assert r["margin_work"] == pytest.approx(1 - r["usd_per_mtok_work"] / 0.30)


def test_cs3_agentic_mechanism_kv_per_context(agentic):
    """Large KV per 96k context -> few contexts fit in SRAM -> few users share the $/hour."""
    by = {r["model"]: r for r in agentic.records}
    small, large = by["gpt-oss-120b"], by["glm-4.7"]
    assert large["kv_gb_per_sequence"] > 5 * small["kv_gb_per_sequence"]
    assert large["max_sequences"] < small["max_sequences"]
    assert large["concurrency"] <= large["max_sequences"]
    assert large["tok_s_per_wafer"] < small["tok_s_per_wafer"] / 10
    # the card convention prefills every prompt token, so it never serves more tokens per hour
    for r in agentic.records:
        assert r["usd_per_mtok_card_multiple"] >= r["usd_per_mtok_work"]


# -- 2. DeepSeek V4: 24 CS-3 vs 5 GB300 NVL72 ------------------------------------------------------
def test_v4_cost_parity_only_on_rental(v4):
    assert v4.details["min_wafers"] == 22  # 859.5 GB of weights / 41.8 GB usable per wafer
    vendor, customer, rental = (c["ratio"] for c in v4.details["fleet_usd_per_hour"])
    assert 0.9 < rental < 1.15  # 24 x $42 = $1,008 vs 5 x 72 x $2.65 = $954
    assert rental == pytest.approx(24 * 42 / (5 * 72 * 2.65), rel=1e-6)
    assert vendor < 1 < customer


def test_v4_throughput_gap_depends_on_interactivity(v4):
    by = {r["tok_s_per_user_at_least"]: r for r in v4.records}
    # beyond the racks' fastest point only the wafers answer
    assert by[1000.0]["gb300_fleet_tok_s"] is None and by[1000.0]["cs3_fleet_tok_s"] > 0
    assert v4.details["gb300_max_tok_s_per_user"] < 1000
    # where both answer, the racks' advantage shrinks as the interactivity rises
    assert by[50.0]["throughput_ratio"] < by[100.0]["throughput_ratio"]
    assert 0.1 < by[50.0]["throughput_ratio"] < 10


# -- 3. Trainium3 prefill + CS-3 decode --------------------------------------------------------
def test_trn3_prefill_removes_the_stall(trn3):
    rows = {(r["isl"], r["concurrency"]): r for r in trn3.records}
    long8 = rows[(96000, 8)]
    assert long8["alone_binding"].startswith("prefill interference")
    assert long8["tok_s_per_user_ratio"] > 2  # band around our ~4.5x; the published "5x" is unspecified
    # TTFT: the wafers no longer prefill, but the Trn3 pool (sized to keep up, ~90% busy) queues
    # prompts (G/D/c wait): about the same TTFT, not a lower one
    assert long8["split_ttft_s"] < 1.25 * long8["alone_ttft_s"]
    for r in trn3.records:
        assert r["tok_s_per_user_ratio"] >= 1.0


def test_trn3_link_checked_and_both_pools_priced(trn3):
    rate = float(trn3.inputs["Trainium3 $/chip-hour"])
    cs3 = float(trn3.inputs["CS-3 $/hour"])
    for r in trn3.records:
        assert 0 < r["link_busy"] <= 1.0
        # the link never limits here; the answer names the limit whichever it is
        assert r["limited_by"] in ("decode pool", "prefill pool", "KV link between pools")
        assert (r["limited_by"] == "KV link between pools") == (r["link_busy"] > 0.999)
        assert r["split_usd_per_hour"] == pytest.approx(8 * cs3 + r["trn3_chips"] * rate, rel=1e-3)
    # prefilling every 96k prompt from scratch on Trainium3 costs more per token than it saves
    for r in trn3.records:
        if r["isl"] == 96000:
            assert r["split_usd_per_mtok"] > r["alone_usd_per_mtok"]
    # the KVSS offload crosses the same 150 GB/s: 64 users of 96k contexts outgrow 8 wafers' SRAM
    assert {(r["isl"], r["concurrency"]): r for r in trn3.records}[(96000, 64)]["split_binding"].startswith(
        "offload link"
    )


def test_trn3_price_is_an_input():
    cheap = pub.trn3_prefill(shapes=(("8k", "1k"),), concurrencies=(8,), trn3_usd_per_chip_hour=0.5)
    dear = pub.trn3_prefill(shapes=(("8k", "1k"),), concurrencies=(8,), trn3_usd_per_chip_hour=5.0)
    assert cheap.records[0]["split_usd_per_mtok"] < dear.records[0]["split_usd_per_mtok"]
    with pytest.raises(InvalidInputError, match="positive"):
        pub.trn3_prefill(trn3_usd_per_chip_hour=-1.0)


# -- 4. GB300 NVL72 vs H100 at 40 and 120 tok/s per user ---------------------------------------
def _row(c, model, variant, x):
    return next(
        r for r in c.records if (r["model"], r["variant"], r["tok_s_per_user"]) == (model, variant, x)
    )


def test_gb300_vs_h100_at_40(gpus):
    # SPEC §5: ~20x at 40 tok/s/user (model and lengths not named). A wide band: the integrator
    # reruns this after attention-DP / wide-EP deployments join the search.
    r = _row(gpus, "deepseek-r1", "native", 40.0)
    assert 3 < r["ratio"] < 100
    assert r["published_ratio"] == 20.0


def test_gb300_vs_h100_at_120_mechanism(gpus):
    """At 120 tok/s/user H100 either has no DeepSeek-R1 point (its fastest is below 120, held by
    HBM bandwidth or the per-layer latency floor) or the ratio exceeds the one at 40."""
    at40, at120 = _row(gpus, "deepseek-r1", "native", 40.0), _row(gpus, "deepseek-r1", "native", 120.0)
    assert at120["gb300_tok_s_per_gpu"] is not None
    if at120["h100_tok_s_per_gpu"] is None:
        assert at120["h100_max_tok_s_per_user"] < 120
        assert at120["h100_fastest_binds"].startswith(("memory bandwidth", "latency floor"))
    else:
        assert at120["ratio"] > at40["ratio"]


def test_gb300_vs_h100_fp4_and_mtp_raise_the_ratio(gpus):
    native = _row(gpus, "deepseek-r1", "native", 40.0)["ratio"]
    assert _row(gpus, "deepseek-r1", "GB300 FP4", 40.0)["ratio"] > native  # H100 has no FP4
    mtp = _row(gpus, "deepseek-r1", "MTP k=2 both", 120.0)
    assert (
        mtp["h100_max_tok_s_per_user"] > _row(gpus, "deepseek-r1", "native", 120.0)["h100_max_tok_s_per_user"]
    )
    # models without an MTP layer get no MTP rows
    assert not [r for r in gpus.records if r["model"] == "gpt-oss-120b" and "MTP" in r["variant"]]


def test_throughput_at_interpolates():
    recs = [{"hardware": "a", "tok_s_per_user": u, "total_tok_s_per_chip": t}
            for u, t in ((10, 1000), (20, 500), (40, 100))]  # fmt: skip
    assert pub.throughput_at(recs, "a", 15) == pytest.approx(750)
    assert pub.throughput_at(recs, "a", 40) == pytest.approx(100)
    assert pub.throughput_at(recs, "a", 5) == 1000
    assert pub.throughput_at(recs, "a", 41) is None
    assert pub.throughput_at(recs, "b", 10) is None


@given(st.lists(st.tuples(st.floats(1, 1e4), st.floats(1, 1e6)), min_size=1, max_size=8),
       st.floats(0.5, 2e4), st.floats(0.5, 2e4))  # fmt: skip
def test_throughput_at_never_rises_with_interactivity(points, x1, x2):
    # a Pareto frontier: throughput falls as interactivity rises
    us = sorted({u for u, _ in points})
    ts = sorted((t for _, t in points), reverse=True)[: len(us)]
    recs = [
        {"hardware": "a", "tok_s_per_user": u, "total_tok_s_per_chip": t}
        for u, t in zip(us, ts, strict=False)
    ]
    lo, hi = sorted((x1, x2))
    a, b = pub.throughput_at(recs, "a", lo), pub.throughput_at(recs, "a", hi)
    if b is not None:
        assert a is not None and a >= b * (1 - 1e-9)


# -- API and CLI -----------------------------------------------------------------------------------
def test_compare_json_keys(capsys):
    assert main(["compare", "v4-cs3-vs-gb300", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"comparison", "inputs", "published", "summary", "findings", "rows"} <= set(out)
    assert out["comparison"] == "v4-cs3-vs-gb300"


def test_compare_unknown_name():
    with pytest.raises(InvalidInputError, match="valid: cs3-agentic"):
        pub.compare("nope")


def test_compare_frame(gpus):
    frame = gpus.to_frame()
    assert {"model", "variant", "ratio", "h100_fastest_binds"} <= set(frame.columns)
