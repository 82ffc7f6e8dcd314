"""Issue 11, item 3: 80% prediction intervals — the fallback chain of levels, the interval of a
synthetic residual table, the widest interval for a vendor never measured, and the intervals
carried by simulate summaries and drawn on the figures."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import tokenfrontier as tf
from tokenfrontier.catalog import default_catalog
from tokenfrontier.intervals import (
    MIN_ROWS,
    bounds,
    fallback_chain,
    interval_source,
    level_of,
    level_reason,
    load_intervals,
    summary_intervals,
)
from tokenfrontier.views import plots

# residual r = log(pred / measured): measured lies in [pred e^-q90, pred e^-q10]
TABLE = {
    "hopper-vllm": {"tok_s_per_gpu": {"n": 20, "q10": -0.1, "q90": 0.2}},
    "transfer": {"tok_s_per_gpu": {"n": 30, "q10": -0.5, "q90": 0.3}},
    "default": {"tok_s_per_gpu": {"n": 50, "q10": -0.4, "q90": 0.6}},
    "wse-cerebras-inference-2024": {"tok_s_per_gpu": {"n": MIN_ROWS - 1, "q10": -3.0, "q90": 3.0}},
    "disaggregated": {"tok_s_per_gpu": {"n": 90, "q10": -2.0, "q90": 2.0}},
}


def test_level_of_names_each_step_of_the_fallback_chain():
    cat = default_catalog()
    prof, chip = cat.profiles, cat.chips
    # fitted on this family, chip and model
    assert level_of(prof["hopper-vllm"], chip["h200"], "gpt-oss-120b") == "hopper-vllm"
    assert level_of(prof["hopper-vllm"], chip["h200"]) == "hopper-vllm"  # model not checked
    # fitted on this chip, not on this model (hopper-vllm saw only gpt-oss-120b)
    assert level_of(prof["hopper-vllm"], chip["h200"], "llama-3.1-70b") == "new-model"
    # fitted on this family, not on this chip (hopper-sglang saw only H200): before new-model
    assert level_of(prof["hopper-sglang"], chip["h100"], "deepseek-r1") == "new-hardware"
    assert level_of(prof["hopper-sglang"], chip["h100"], "llama-3.1-70b") == "new-hardware"
    assert level_of(prof["hopper-vllm"], chip["b200"]) == "transfer"  # same stack, other family
    assert level_of(prof["hopper-default"], chip["h100"]) == "default"  # the family's other stacks
    assert level_of(prof["hbm-default"], chip["mi355x"]) == "unmeasured"  # no stack of the family
    # a profile that does not record its fitted chips / models is taken as fitted on them
    bare = prof["hopper-vllm"].model_copy(update={"fitted_models": (), "fitted_chips": ()})
    assert level_of(bare, chip["h100"], "llama-3.1-70b") == "hopper-vllm"


def test_calibrated_profiles_record_their_models_and_chips():
    prof = default_catalog().profiles
    assert prof["hopper-vllm"].fitted_models == ("gpt-oss-120b",)
    assert prof["hopper-vllm"].fitted_chips == ("h100", "h200")
    assert prof["blackwell-trt"].fitted_chips == ("b200", "gb200")  # chips, not systems
    assert prof["hopper-default"].fitted_models == prof["hopper-default"].fitted_chips == ()


def test_predict_names_the_level_and_why():
    kw = dict(isl=1024, osl=1024, concurrency=8, framework="vllm")
    cases = {
        ("gpt-oss-120b", "h200"): ("hopper-vllm", "random k-fold"),
        ("gpt-oss-120b", "dgx-h200"): ("hopper-vllm", "random k-fold"),  # the same chip
        ("llama-3.1-70b", "h200"): ("new-model", "leave-one-model-out"),
        ("gpt-oss-120b", "b200"): ("transfer", "family left out"),
        # vLLM never measured on AMD: the family's own stacks (its default), not NVIDIA's vLLM
        ("gpt-oss-120b", "mi355x"): ("default", "leave-one-stack-out"),
        ("gpt-oss-120b", "mi300x"): ("unmeasured", "envelope"),  # a family never measured
    }
    for (model, hw), (level, why) in cases.items():
        p = tf.predict(model, hw, **kw)
        assert p.interval_level == level, (model, hw)
        assert f"80% interval: level '{level}': " in p.derivation and why in p.derivation
    p = tf.predict("deepseek-r1", "h100", isl=1024, osl=1024, concurrency=8, framework="sglang")
    assert p.interval_level == "new-hardware" and "not on h100" in p.derivation
    p = tf.predict("gpt-oss-120b", "h200", isl=1024, osl=1024, concurrency=8, framework="sglang")
    assert p.interval_level == "new-model"


@pytest.mark.parametrize(
    ("model", "hw", "kw"),
    [  # 'transfer' (vLLM carried to Blackwell): held out, its predictions ran fast, so each
        # interval ends at the prediction itself; values from 10 to over 1,000
        ("llama-3.1-70b", "hgx-b200", dict(tp=4, concurrency=16)),
        ("llama-3.1-70b", "hgx-b200", dict(concurrency=16)),
        ("llama-3.1-8b", "hgx-b200", dict(concurrency=64)),
    ],
)
def test_the_table_prints_each_value_inside_its_printed_interval(model, hw, kw):
    """Read back as a user does: the table's figure and its printed interval bounds, for a level
    whose interval ends at the prediction (a value rounded before printing, or bounds printed in
    another format, showed e.g. 106.21 beside an upper bound of 106.2)."""
    import re

    p = tf.predict(model, hw, isl=1024, osl=1024, framework="vllm", **kw)
    assert p.interval_level == "transfer"
    assert p.intervals["tok_s_per_user"][1] == p.tok_s_per_user
    text = str(p)

    def num(s: str) -> float:
        return float(s.replace(",", ""))

    shown = dict(re.findall(r"^(tok/s per user|total tok/s per chip|TTFT \(ms\)) +([\d,.]+)$", text, re.M))
    band = re.search(r"tok/s/user ([\d,.]+)-([\d,.]+); tok/s/chip ([\d,.]+)-([\d,.]+); "
                     r"TTFT ms ([\d,.]+)-([\d,.]+)", text)  # fmt: skip
    assert band is not None and len(shown) == 3
    lo_u, hi_u, lo_c, hi_c, lo_t, hi_t = map(num, band.groups())
    assert lo_u <= num(shown["tok/s per user"]) <= hi_u
    assert lo_c <= num(shown["total tok/s per chip"]) <= hi_c
    assert lo_t <= num(shown["TTFT (ms)"]) <= hi_t


def test_fallback_chain_of_the_new_levels():
    assert fallback_chain("hopper-vllm") == ("hopper-vllm", "new-model", "transfer", "default")
    assert fallback_chain("new-model") == ("new-model", "transfer", "default")
    assert fallback_chain("new-hardware") == ("new-hardware", "transfer", "default")
    table = {"new-model": {"tok_s_per_gpu": {"n": 9, "q10": -0.3, "q90": 0.2}}}
    # a fitted level with too few rows falls back to the new-model residuals
    assert bounds("hopper-vllm", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.2), math.exp(0.3))
    )
    # the envelope includes the unmeasured level's own residuals
    table["unmeasured"] = {"tok_s_per_gpu": {"n": 9, "q10": -1.0, "q90": 0.1}}
    assert bounds("unmeasured", "tok_s_per_gpu", 1.0, table) == pytest.approx((math.exp(-0.2), math.exp(1.0)))


def test_unmeasured_is_the_envelope_of_single_pool_levels():
    lo, hi = bounds("unmeasured", "tok_s_per_gpu", 100.0, TABLE)
    # lowest q10 (-0.5, transfer) and highest q90 (0.6, default); too-few-rows and pooled levels
    # do not count
    assert (lo, hi) == pytest.approx((100 * math.exp(-0.6), 100 * math.exp(0.5)))
    widths = {lvl: np.subtract(*bounds(lvl, "tok_s_per_gpu", 100.0, TABLE)[::-1]) for lvl in
              ("hopper-vllm", "transfer", "default", "unmeasured")}  # fmt: skip
    assert max(widths, key=widths.get) == "unmeasured"
    # a fitted level with too few rows falls back to transfer, then default
    assert bounds("wse-cerebras-inference-2024", "tok_s_per_gpu", 1.0, TABLE) == pytest.approx(
        (math.exp(-0.3), math.exp(0.5))
    )
    assert bounds("unmeasured", "ttft_ms", 1.0, TABLE) is None


def test_bundled_table_unmeasured_vendor_gets_the_widest_interval():
    table = load_intervals()
    levels = [k for k in table if not k.startswith("disaggregated") and k != "unmeasured-sram"]
    for metric in ("tok_s_per_user", "tok_s_per_gpu", "ttft_ms", "tpot_ms"):
        lo, hi = bounds("unmeasured", metric, 1.0, table)
        for level in levels:
            b = bounds(level, metric, 1.0, table)
            if b is not None:
                assert lo <= b[0] + 1e-12 and hi >= b[1] - 1e-12, (metric, level)
    p = tf.predict("gpt-oss-120b", "mi300x", isl=1024, osl=1024, concurrency=32)  # CDNA3: no profile fitted
    assert p.interval_level == "unmeasured" and p.to_dict()["interval_level"] == "unmeasured"


def test_summary_intervals_sit_next_to_each_figure():
    summary = {
        "ttft_s": {"p50": 1.0, "p99": None, "mean": 2.0},
        "e2e_s": {"p50": 3.0},
        "total_tok_s_per_chip": 100.0,
        "steady_state": {"total_tok_s_per_chip": 50.0, "output_tok_s_per_chip": None},
    }
    table = {
        "default": {
            "ttft_ms": {"n": 9, "q10": -0.2, "q90": 0.1},
            "tok_s_per_gpu": TABLE["default"]["tok_s_per_gpu"],
        }
    }
    out = summary_intervals(summary, "transfer", table)
    assert list(out) == ["ttft_s", "ttft_s_low", "ttft_s_high", "e2e_s", "total_tok_s_per_chip",
                         "total_tok_s_per_chip_low", "total_tok_s_per_chip_high", "steady_state",
                         "interval_level"]  # fmt: skip
    assert out["interval_level"] == "transfer"  # the level asked for; its quantiles from 'default'
    assert out["ttft_s_low"] == pytest.approx(
        {"p50": math.exp(-0.1), "p99": None, "mean": 2 * math.exp(-0.1)}
    )
    assert out["ttft_s_high"]["p50"] == pytest.approx(math.exp(0.2))
    assert out["steady_state"]["total_tok_s_per_chip_low"] == pytest.approx(50 * math.exp(-0.6))
    assert "output_tok_s_per_chip_low" not in out["steady_state"]  # no figure, no interval
    assert summary_intervals(summary, "default", table, throughput=False).keys() == {
        "ttft_s", "ttft_s_low", "ttft_s_high", "e2e_s", "total_tok_s_per_chip", "steady_state",
        "interval_level",
    }  # fmt: skip


def test_simulate_summary_carries_the_interval_predict_reports():
    kw = dict(isl=1024, osl=256, framework="vllm")
    p = tf.predict("gpt-oss-120b", "h200", concurrency=8, tp=1, **kw)
    sim = tf.simulate("gpt-oss-120b", "h200", workload="closed", concurrency=8, requests=40, tp=1, pp=1, **kw)
    s = sim.summary
    assert s["interval_level"] == p.interval_level == "hopper-vllm"
    for key in ("total_tok_s_per_chip", "output_tok_s_per_chip"):
        assert s[f"{key}_low"] < s[key] < s[f"{key}_high"]
        # the same multiplicative interval as predict's
        assert s[f"{key}_high"] / s[key] == pytest.approx(p.intervals[key][1] / getattr(p, key))
    for key in ("ttft_s", "tpot_s", "itl_s"):
        assert s[f"{key}_low"]["p50"] < s[key]["p50"] < s[f"{key}_high"]["p50"]
    assert "80% interval" in str(sim) and "(level hopper-vllm)" in str(sim)
    # open-loop arrivals: tok/s per chip is the offered load, only latencies get an interval
    sim = tf.simulate("gpt-oss-120b", "h200", workload="poisson", qps=2, requests=40, tp=1, pp=1, **kw)
    assert "total_tok_s_per_chip_low" not in sim.summary and "tpot_s_low" in sim.summary


def test_frontier_and_cost_figures_draw_the_band():
    f = tf.frontier("gpt-oss-120b", "dgx-h200", isl=1024, osl=1024, framework="vllm")
    for fig, key in (
        (plots.frontier_figure(f), "total_tok_s_per_chip"),
        (plots.cost_figure(f), "usd_per_mtok"),
    ):
        line = next(t for t in fig.data if t.name == "dgx-h200")
        band = [t for t in fig.data if t.name.startswith("dgx-h200 80% interval")]
        assert len(band) == 2 and band[1].fill == "tonexty" and "hopper-vllm" in band[1].name
        assert (np.asarray(band[1].y) < np.asarray(line.y)).all() and (
            np.asarray(line.y) < np.asarray(band[0].y)
        ).all()
        if key == "total_tok_s_per_chip":
            assert list(band[0].y) == pytest.approx(
                [r[f"{key}_high"] for r in sorted(f.records, key=lambda r: r["tok_s_per_user"])]
            )


def test_validate_reports_each_interval_level():
    from tokenfrontier.validation import validate

    v = validate("measured")
    levels = v.summary["by_interval_level"]
    # the maximum-throughput table's rows at their own levels (the load was the stack's to choose)
    assert {"hopper-vllm", "max-throughput-blackwell-trt", "max-throughput-hopper-trt"} <= set(levels)
    assert "blackwell-trt" not in levels and "hopper-trt" not in levels
    row = next(r for r in v.rows if r["kind"] == "max-throughput" and r["hardware"] == "h100")
    assert row["interval_level"] == "max-throughput-hopper-trt"
    s = levels["hopper-vllm"]["tok_s_per_gpu"]
    assert s["n"] == 94 and s["median_ape_pct"] < 10 and 60 <= s["in_interval_pct"] <= 95
    assert "interval level hopper-vllm" in str(v)


def _crossval():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "crossval.py"
    spec = importlib.util.spec_from_file_location("crossval_for_tests", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_residual_sets_become_the_table_bounds_reads():
    cv = _crossval()
    # synthetic residuals: 0.00, 0.01, ..., 0.99 at new-model; numpy's linear percentiles
    res = {"new-model": {"tok_s_per_gpu": [k / 100 for k in range(100)]}}
    table = cv.quantiles(res)
    e = table["new-model"]["tok_s_per_gpu"]
    assert e["n"] == 100 and e["q10"] == pytest.approx(0.099) and e["q90"] == pytest.approx(0.891)
    # residuals all positive (over-predicted): the interval is widened to contain the prediction
    assert bounds("new-model", "tok_s_per_gpu", 10.0, table) == pytest.approx((10 * math.exp(-0.891), 10.0))
    # each block of the residual builder runs only where an asked level's chain reaches it
    have = {"hopper-vllm": {"tok_s_per_gpu": [0.0] * MIN_ROWS}}
    assert not cv._wants(cv.BLOCK_LEVELS["model"], have, {("hopper-vllm", "tok_s_per_gpu")})
    assert cv._wants(cv.BLOCK_LEVELS["model"], have, {("new-model", "tok_s_per_gpu")})
    assert cv._wants(cv.BLOCK_LEVELS["stack"], have, {("hopper-vllm", "ttft_ms")})  # falls through
    assert cv._wants(cv.BLOCK_LEVELS["stack"], have, {("unmeasured", "tok_s_per_gpu")})  # envelope


def test_bundled_widths_grow_with_how_far_the_prediction_transfers():
    table = load_intervals()
    assert {"new-hardware", "new-model", "transfer", "default", "unmeasured"} <= set(table)

    def width(level: str) -> float:
        lo, hi = bounds(level, "tok_s_per_gpu", 1.0, table)
        return math.log(hi / lo)

    # the profile with the most rows, on its own chips and model, is the narrowest
    assert width("hopper-vllm") < min(width(k) for k in ("new-hardware", "new-model", "transfer"))
    assert width("unmeasured") >= max(width(k) for k in ("new-hardware", "new-model", "transfer", "default"))


def test_a_level_short_of_a_metric_uses_its_sister_at_the_same_level():
    table = {
        "new-hardware": {"tok_s_per_gpu": {"n": 40, "q10": -0.2, "q90": 0.1}},
        "default": {"tok_s_per_user": {"n": 50, "q10": 0.05, "q90": 0.3}},
    }
    # tok/s per user: the level's tok/s per GPU residuals, not the next level's own
    assert bounds("new-hardware", "tok_s_per_user", 1.0, table) == pytest.approx(
        (math.exp(-0.1), math.exp(0.2))
    )
    # TPOT = 1 / (tok/s per user): the rate's residual negated
    assert bounds("new-hardware", "tpot_ms", 1.0, table) == pytest.approx((math.exp(-0.2), math.exp(0.1)))
    # TTFT has no sister: down the chain (none here)
    assert bounds("new-hardware", "ttft_ms", 1.0, table) is None


def test_sram_default_takes_the_level_of_the_vendor_stack():
    """An SRAM machine runs its vendor's one stack, so its default profile (derived from that
    stack alone) is judged as that stack: fitted, new model or new chip — not `default`, whose
    residuals come from GPU stacks left out."""
    chip = {c: default_catalog().system(c).chip for c in ("cs-3", "cs-2", "groq-lp30-rack")}
    prof = default_catalog().profiles
    assert prof["wse-default"].derived_from == "wse-cerebras-inference"
    assert level_of(prof["wse-default"], chip["cs-3"], "llama-3.3-70b") == "wse-cerebras-inference"
    assert level_of(prof["wse-default"], chip["cs-3"], "gpt-oss-120b") == "new-model"
    assert level_of(prof["wse-default"], chip["cs-2"], "llama-3.3-70b") == "new-hardware"
    assert level_of(prof["lpu-default"], chip["groq-lp30-rack"], "llama-3.1-8b") == "new-hardware"
    # a GPU family's default keeps the `default` level even when one stack made it
    mi355x = default_catalog().system("mi355x").chip
    assert level_of(prof["cdna4-default"], mi355x, "gpt-oss-120b") == "default"


def test_disaggregated_levels_follow_how_far_the_decode_pool_transfers():
    cat = default_catalog()
    prof, chip = cat.profiles, cat.chips

    def pooled(p: str, c: str, model: str = "") -> str:
        return level_of(prof[p], chip[c], model, disaggregated=True)

    # blackwell-trt was fitted on B200 / GB200 and deepseek-r1 (among others)
    assert pooled("blackwell-trt", "gb200", "deepseek-r1") == "disaggregated"
    assert (
        pooled("blackwell-trt", "gb200", "llama-3.1-70b") == "disaggregated-new-model"
    )  # model never fitted
    assert pooled("blackwell-sglang", "b200", "deepseek-r1") == "disaggregated-new-hardware"  # GB200 only
    assert pooled("hopper-sglang", "b200", "deepseek-r1") == "disaggregated-transfer"
    assert pooled("blackwell-default", "gb200") == "disaggregated-default"
    assert pooled("hbm-default", "mi300x") == "disaggregated-unmeasured"
    p = tf.predict("llama-3.1-70b", "gb200-nvl72", isl=1024, osl=1024, concurrency=64, framework="trt",
                   prefill_on="gb200-nvl72")  # fmt: skip
    assert p.interval_level == "disaggregated-new-model"
    assert "level 'disaggregated-new-model': prefill and decode pools" in p.derivation
    assert "leave-one-model-out predictions of disaggregated rows" in p.derivation


def test_an_sram_vendor_never_measured_gets_the_sram_cross_vendor_level():
    cat = default_catalog()
    prof, chip = cat.profiles, cat.chips
    # Groq asked for with only the wafer fitted: the wafer's profile or the SRAM default
    assert level_of(prof["wse-cerebras-inference"], chip["groq-lpu1"], "llama-3.1-8b") == "unmeasured-sram"
    assert level_of(prof["sram-default"], chip["groq-lpu1"]) == "unmeasured-sram"
    assert level_of(prof["hbm-default"], chip["mi300x"]) == "unmeasured"  # a GPU: the GPU envelope
    # too few SRAM cross-vendor residuals: the envelope of every level (the widest known)
    assert fallback_chain("unmeasured-sram") == ("unmeasured-sram", "disaggregated-unmeasured")


def test_disaggregated_chain_stays_among_disaggregated_residuals():
    assert fallback_chain("disaggregated") == (
        "disaggregated", "disaggregated-new-model", "disaggregated-transfer", "disaggregated-default",
        "disaggregated-unmeasured",
    )  # fmt: skip
    # no disaggregated rows at the distance: the single-pool levels composed with the pooled error
    assert fallback_chain("disaggregated-new-hardware") == (
        "disaggregated-new-hardware", "disaggregated-transfer", "disaggregated-default",
        "new-hardware+disaggregated", "transfer+disaggregated", "default+disaggregated",
        "disaggregated-unmeasured",
    )  # fmt: skip
    assert fallback_chain("disaggregated-default") == (
        "disaggregated-default",
        "default+disaggregated",
        "disaggregated-unmeasured",
    )
    assert fallback_chain("disaggregated-unmeasured") == ("disaggregated-unmeasured",)
    table = {
        "new-model": {"tok_s_per_gpu": {"n": 50, "q10": -0.1, "q90": 0.1}},  # single-pool: not used
        "default": {"tok_s_per_gpu": {"n": 50, "q10": -0.2, "q90": 0.3}},
        "disaggregated": {"tok_s_per_gpu": {"n": 40, "q10": -0.15, "q90": 0.1}},
        "disaggregated-new-model": {"tok_s_per_gpu": {"n": MIN_ROWS - 1, "q10": -9.0, "q90": 9.0}},
        "disaggregated-transfer": {"tok_s_per_gpu": {"n": 12, "q10": -0.6, "q90": 0.4}},
        "disaggregated-unmeasured": {"tok_s_per_gpu": {"n": 6, "q10": -0.3, "q90": 0.9}},
        "unmeasured-sram": {"tok_s_per_gpu": {"n": 8, "q10": -2.5, "q90": 2.0}},
    }
    # the fitted disaggregated level: its own residuals
    assert bounds("disaggregated", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.1), math.exp(0.15))
    )
    # too few new-model rows of disaggregated deployments: the disaggregated transfer, not new-model
    assert bounds("disaggregated-new-model", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.4), math.exp(0.6))
    )
    # no disaggregated default: the single-pool default (centre 0.05, half-width 0.25) composed
    # with the fitted pooled deployment's error (centre -0.025, half-width 0.125): centres add,
    # half-widths in quadrature, sqrt(0.25^2 + 0.125^2) = 0.2795
    half = math.hypot(0.25, 0.125)
    assert bounds("disaggregated-default", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-(0.025 + half)), math.exp(-(0.025 - half)))
    )
    assert interval_source("disaggregated-default", "tok_s_per_gpu", table) == (
        "its quantiles come from 'default+disaggregated', 'default' and 'disaggregated' as independent "
        "errors (centres add, half-widths in quadrature) ('disaggregated-default': 0 residuals)"
    )
    # too few fitted pooled rows as well: the envelope of every level but unmeasured-sram
    # (lowest q10 -0.6, highest q90 0.9)
    pooled = table.pop("disaggregated")
    assert bounds("disaggregated-default", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.9), math.exp(0.6))
    )
    assert "'default+disaggregated': 'default' or 'disaggregated' too few" in interval_source(
        "disaggregated-default", "tok_s_per_gpu", table
    )
    table["disaggregated"] = pooled
    # the single-pool envelope spans single-pool levels only
    assert bounds("unmeasured", "tok_s_per_gpu", 1.0, table) == pytest.approx((math.exp(-0.3), math.exp(0.2)))
    # an SRAM vendor never measured: its own cross-vendor residuals; too few, the envelope of
    # every level
    assert bounds("unmeasured-sram", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-2.0), math.exp(2.5))
    )
    table["unmeasured-sram"]["tok_s_per_gpu"]["n"] = MIN_ROWS - 1
    assert bounds("unmeasured-sram", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.9), math.exp(0.6))
    )


def test_a_max_throughput_question_has_levels_of_its_own():
    cat = default_catalog()
    prof, chip = cat.profiles, cat.chips
    assert level_of(prof["hopper-trt"], chip["h100"], "llama-3.1-8b", max_throughput=True) == (
        "max-throughput-hopper-trt"
    )
    assert level_of(prof["blackwell-trt"], chip["b200"], "llama-3.1-70b", max_throughput=True) == (
        "max-throughput-new-model"
    )
    assert level_of(prof["hopper-trt"], chip["b200"], max_throughput=True) == "max-throughput-transfer"
    # a vendor never measured: the envelope, which spans the maximum-throughput levels
    assert level_of(prof["hbm-default"], chip["mi300x"], max_throughput=True) == "unmeasured"
    why = level_reason("max-throughput-new-hardware", prof["hopper-trt"], "llama-3.1-8b", "gh200")
    assert why.startswith("the best throughput at a load the stack chooses, profile hopper-trt")
    assert why.endswith("leave-one-hardware-out predictions of maximum-throughput rows")
    # prefill and decode pools win: the disaggregated levels
    assert level_of(prof["blackwell-trt"], chip["gb200"], "deepseek-r1", True, True) == "disaggregated"
    # the maximum-throughput levels of the chain first, then the envelope (for tok/s per GPU),
    # then the single-pool chain itself (for what maximum-throughput rows do not measure)
    assert fallback_chain("max-throughput-hopper-trt") == (
        "max-throughput-hopper-trt", "max-throughput-new-model", "max-throughput-transfer",
        "max-throughput-default", "max-throughput-unmeasured", "hopper-trt", "new-model",
        "transfer", "default",
    )  # fmt: skip
    assert fallback_chain("max-throughput-new-hardware") == (
        "max-throughput-new-hardware", "max-throughput-transfer", "max-throughput-default",
        "max-throughput-unmeasured", "new-hardware", "transfer", "default",
    )  # fmt: skip
    table = {
        "new-hardware": {"tok_s_per_gpu": {"n": 50, "q10": -0.1, "q90": 0.1}},
        "max-throughput-new-hardware": {"tok_s_per_gpu": {"n": MIN_ROWS - 1, "q10": -9.0, "q90": 9.0}},
        "max-throughput-transfer": {"tok_s_per_gpu": {"n": 20, "q10": -0.2, "q90": 0.5}},
        "default": {"tok_s_per_gpu": {"n": 40, "q10": -0.3, "q90": 0.2}},
    }
    # too few new-hardware residuals of maximum-throughput rows: their transfer level before the
    # single-pool new-hardware one
    assert bounds("max-throughput-new-hardware", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.5), math.exp(0.2))
    )
    # no maximum-throughput level with enough rows: no residual measured how far the load the
    # model picks is off at this distance, so the envelope of every single-pool level (not the
    # narrower serving-row new-hardware level, -0.1..0.1)
    del table["max-throughput-transfer"]
    assert bounds("max-throughput-new-hardware", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.2), math.exp(0.3))
    )
    why = interval_source("max-throughput-new-hardware", "tok_s_per_gpu", table)
    assert why.startswith("its quantiles come from 'max-throughput-unmeasured', the envelope of every")
    # the envelope of a family never measured spans the maximum-throughput levels too
    table["max-throughput-default"] = {"tok_s_per_gpu": {"n": 98, "groups": 1, "q10": -0.8, "q90": 0.0}}
    assert bounds("unmeasured", "tok_s_per_gpu", 1.0, table) == pytest.approx((math.exp(-0.2), math.exp(0.8)))
    # a maximum-throughput level bounds only what its rows measure: one user's speed or TPOT
    # falls through to the single-pool chain instead of borrowing the throughput residuals
    table["new-hardware"]["tpot_ms"] = {"n": 50, "q10": -0.05, "q90": 0.05}
    table["max-throughput-new-hardware"]["tok_s_per_gpu"]["n"] = 20  # enough tok/s per GPU
    assert bounds("max-throughput-new-hardware", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-9.0), math.exp(9.0))
    )
    assert bounds("max-throughput-new-hardware", "tpot_ms", 1.0, table) == pytest.approx(
        (math.exp(-0.05), math.exp(0.05))
    )
    why = interval_source("max-throughput-new-hardware", "tpot_ms", table)
    assert "'max-throughput-unmeasured': bounds only tok_s_per_gpu" in why
    # a maximum-throughput residual counts at its own level and at the single-pool one, once
    cv = _crossval()
    assert "max-throughput-new-hardware" in cv.BLOCK_LEVELS["hardware"]
    assert "max-throughput-default" in cv.BLOCK_LEVELS["stack"]
    out: dict = {"max-throughput-new-model": {"tok_s_per_gpu": []}, "new-model": {"tok_s_per_gpu": []}}
    held = cv.Held(cv.Row(3, "max_throughput", {}), "max-throughput-new-model", {"tok_s_per_gpu": (2.0, 1.0)})
    seen: set = set()
    cv._add(out, [held], seen, group="llama-3.1-8b")
    cv._add(out, [held], seen, group="llama")  # the same prediction from another block
    want = {"tok_s_per_gpu": [(pytest.approx(math.log(2.0)), "llama-3.1-8b")]}
    assert out["new-model"] == out["max-throughput-new-model"] == want
    # the model block runs for an asked maximum-throughput level whose own residuals are too few,
    # though the single-pool level further down has enough
    have = {"max-throughput-hopper-trt": {"tok_s_per_gpu": [0.0]}, "hopper-trt": {"tok_s_per_gpu": [0.0] * 9}}
    assert cv._wants(cv.BLOCK_LEVELS["model"], have, {("max-throughput-hopper-trt", "tok_s_per_gpu")})


def test_residual_blocks_run_for_the_disaggregated_levels_of_their_split():
    cv = _crossval()
    assert "disaggregated-new-model" in cv.BLOCK_LEVELS["model"]
    assert "disaggregated-new-hardware" in cv.BLOCK_LEVELS["hardware"]
    assert "unmeasured-sram" in cv.BLOCK_LEVELS["family"]
    have = {"disaggregated-new-model": {"tok_s_per_gpu": [0.0] * MIN_ROWS}}
    asked = {("disaggregated-new-model", "tok_s_per_gpu")}
    assert cv._wants(cv.BLOCK_LEVELS["model"], have, asked)
    assert not cv._wants(cv.BLOCK_LEVELS["stack"], have, asked)  # enough rows before it
    assert cv._wants(cv.BLOCK_LEVELS["stack"], {}, asked)  # falls through to disaggregated-default
    # residuals of disaggregated rows land at their own level, and the table bounds them there
    res = {"disaggregated-new-model": {"tok_s_per_gpu": [k / 10 - 0.5 for k in range(11)]}}
    table = cv.quantiles(res)
    assert bounds("disaggregated-new-model", "tok_s_per_gpu", 1.0, table) == pytest.approx(
        (math.exp(-0.4), math.exp(0.4))
    )


def test_a_row_two_blocks_predict_alike_counts_once():
    cv = _crossval()
    row = cv.Row(7, "calibration", {})
    held = [cv.Held(row, "unmeasured-sram", {"tok_s_per_user": (2.0, 1.0)})]
    out, seen = {"unmeasured-sram": {"tok_s_per_user": []}}, set()
    cv._add(out, held, seen, group="groq-lpu1")  # left out by hardware ...
    cv._add(out, held, seen, group="lpu")  # ... and by family (a family of one chip): the same prediction
    assert out["unmeasured-sram"]["tok_s_per_user"] == [(pytest.approx(math.log(2.0)), "groq-lpu1")]
    cv._add(out, [cv.Held(row, "unmeasured-sram", {"tok_s_per_user": (3.0, 1.0)})], seen)  # another fit
    assert len(out["unmeasured-sram"]["tok_s_per_user"]) == 2


def test_a_level_needs_residuals_from_two_held_out_groups():
    """Residuals cluster by what was left out: one model left out says how far that model was off,
    not how far another may be. A level whose residuals all come from one held-out group is
    passed over for the next level of the chain; an envelope still spans it."""
    from tokenfrontier.intervals import MIN_GROUPS

    cv = _crossval()
    assert MIN_GROUPS == 2
    one = [(0.01 * k, "gpt-oss-120b") for k in range(20)]  # 20 rows, one model left out
    two = one + [(0.5, "llama-3.1-8b")] * 5
    wide = [(-1.0 + 0.1 * k, f"row {k}") for k in range(21)]
    table = cv.quantiles({"new-model": {"tok_s_per_gpu": one}, "transfer": {"tok_s_per_gpu": wide}})
    assert table["new-model"]["tok_s_per_gpu"]["groups"] == 1
    # new-model has one group: its chain goes on to transfer (q10 -0.8, q90 0.8)
    lo, hi = bounds("new-model", "tok_s_per_gpu", 1.0, table)
    assert (lo, hi) == pytest.approx((math.exp(-0.8), math.exp(0.8)))
    assert not cv._enough(one) and cv._enough(two)
    table2 = cv.quantiles({"new-model": {"tok_s_per_gpu": two}})
    assert table2["new-model"]["tok_s_per_gpu"]["groups"] == 2
    assert bounds("new-model", "tok_s_per_gpu", 1.0, table2)[0] < 1.0
    # the envelope of a vendor never measured spans the one-group level too
    table["new-model"]["tok_s_per_gpu"]["q90"] = 1.5  # the one-group level is the widest above
    table["unmeasured"] = {"tok_s_per_gpu": {"n": 5, "groups": 1, "q10": 0.0, "q90": 0.1}}
    assert bounds("unmeasured", "tok_s_per_gpu", 1.0, table) == pytest.approx((math.exp(-1.5), math.exp(0.8)))
    # a table without group counts (written before them, or by a user) is taken as enough
    assert bounds(
        "new-model", "tok_s_per_gpu", 1.0, {"new-model": {"tok_s_per_gpu": {"n": 9, "q10": -0.1, "q90": 0.1}}}
    )


def test_explain_names_the_level_whose_quantiles_bound_the_prediction():
    from tokenfrontier.intervals import interval_source

    table = {
        "new-model": {"tok_s_per_gpu": {"n": 30, "groups": 1, "q10": -0.1, "q90": 0.1}},
        "transfer": {"tok_s_per_gpu": {"n": 3, "groups": 2, "q10": -0.1, "q90": 0.1}},
        "default": {"tok_s_per_gpu": {"n": 50, "groups": 3, "q10": -0.4, "q90": 0.6}},
    }
    assert interval_source("default", table=table) == ""  # its own residuals
    assert interval_source("new-model", table=table) == (
        "its quantiles come from 'default' ('new-model': residuals from 1 held-out group; "
        "'transfer': 3 residuals)"
    )
    # predict --explain says so (a B200 decode pool of blackwell-sglang, fitted on GB200 only)
    p = tf.predict("deepseek-r1", on="hgx-b200", tp=8, ep=8, concurrency=64, isl=1024, osl=1024,
                   framework="sglang", weights="fp8", prefill_on="hgx-b200", prefill_tp=8)  # fmt: skip
    assert p.interval_level == "disaggregated-new-hardware"
    assert "its quantiles come from 'disaggregated-transfer'" in p.derivation


def test_ape_only_summary_leaves_the_coverage_blank():
    # crossval.py --ape-only: held-out APE without nested interval tables; coverage is not
    # computed, so the table shows '-' rather than 0% inside
    cv = _crossval()
    rec = [{"row": 0, "metric": "tok_s_per_user", "ape": 0.1, "inside": None},
           {"row": 1, "metric": "tok_s_per_user", "ape": 0.3, "inside": None}]  # fmt: skip
    line = cv.summarize("leave one model out", "all folds", rec, 2)
    assert line["tok_s_per_user"] == {"n": 2, "median_ape_pct": 20.0, "in_interval_pct": None}
    assert line["tok_s_per_gpu"] is None
    row = cv.split_table([line]).splitlines()[-1]
    assert row == "| leave one model out | 2 / 2 | 20.0 | - | - | - |"


def test_fold_bootstrap_redraws_folds_not_rows():
    # three folds of one row each: APE 10%, 10%, 30%, the last one outside its interval
    cv = _crossval()

    def fold(ape: float, inside: bool) -> list[dict[str, object]]:
        return [{"row": 0, "metric": "tok_s_per_user", "ape": ape, "inside": inside}]

    folds = [fold(0.1, True), fold(0.1, True), fold(0.3, False)]
    ci = cv.fold_bootstrap(folds)["tok_s_per_user"]
    # a redraw of 3 folds has median 30% when the third fold is drawn at least twice:
    # P = 7/27 (26%), so the 5-95% interval spans both values
    assert ci["median_ape_ci"] == [10.0, 30.0]
    # share inside = 1 - (third-fold draws) / 3; all three of them (0%) has P = 1/27 < 5%
    assert ci["in_interval_ci"] == [33.3, 100.0]
    assert "tok_s_per_gpu" not in cv.fold_bootstrap(folds)  # no rows of that metric
    assert cv.fold_bootstrap(folds[:2]) == {}  # too few folds to redraw
    # a metric in only two of three folds: too few of its folds, no interval for it
    gpu = [{"row": 1, "metric": "tok_s_per_gpu", "ape": 0.2, "inside": True}]
    assert "tok_s_per_gpu" not in cv.fold_bootstrap([folds[0] + gpu, folds[1] + gpu, folds[2]])
    # identical folds: the interval collapses onto the figure; the table cell shows it
    same = cv.fold_bootstrap([fold(0.2, True)] * 4)["tok_s_per_user"]
    assert same == {"median_ape_ci": [20.0, 20.0], "in_interval_ci": [100.0, 100.0]}
    records = [r for f in folds for r in f]
    line = cv.with_bootstrap(cv.summarize("leave one model out", "all folds", records, 3), folds)
    row = cv.split_table([line]).splitlines()[-1]
    assert row == "| leave one model out | 1 / 3 | 10.0 (10.0-30.0) | - | 66.7 (33.3-100.0) | - |"
