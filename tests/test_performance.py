"""Performance model (issue 3): calibration accuracy, explanations, wafer behaviour, invariants."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from conftest import assert_cli_error
from tokenfrontier.calibration import _ROBUST_SCALE, _soft_l1, calibrate
from tokenfrontier.frontier import pareto_mask
from tokenfrontier.profiles import PROFILE_DIR, load_profiles, resolve_profile
from tokenfrontier.scenario import build_scenario
from tokenfrontier.serving import Deployments, SpecDecode, Workload, evaluate
from tokenfrontier.step import COMPONENTS
from tokenfrontier.validation import BUNDLED_CALIBRATION, read_measured, validate
from tokenfrontier.views.cli import main

#: The accuracy tests run on the calibration set the package bundles, so a plain checkout runs them.
CALIBRATION = BUNDLED_CALIBRATION
#: The project's shared data folder beside the repository (not part of a plain checkout).
SHARED_CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "data" / "measured" / "calibration.csv"


def test_bundled_calibration_is_present():
    assert len(read_measured(CALIBRATION)) > 100


@pytest.mark.skipif(
    not SHARED_CALIBRATION.exists(),
    reason=f"{SHARED_CALIBRATION} is absent (a plain checkout has no shared/ folder beside the repository): "
    "nothing to compare the bundled copy with",
)
def test_bundled_calibration_is_a_copy_of_the_shared_one():
    assert CALIBRATION.read_bytes() == SHARED_CALIBRATION.read_bytes()


def test_validate_meets_issue_targets():
    # issue 3 acceptance: median APE <= 15% (serving) and <= 20% (single-stream)
    v = validate("calibration")  # the documented name of the bundled set
    assert len(v.rows) == len(read_measured(CALIBRATION))
    serving = v.summary["by_kind"]["serving"]
    assert serving["tok_s_per_user"]["median_ape_pct"] <= 15
    assert serving["tok_s_per_gpu"]["median_ape_pct"] <= 15
    assert v.summary["by_kind"]["single-stream"]["tok_s_per_user"]["median_ape_pct"] <= 20
    assert not [r for r in v.rows if r.get("skipped_reason")]


def test_calibrate_reproduces_bundled_profile(tmp_path):
    rows = [r for r in read_measured(CALIBRATION) if r["hardware"] == "cs-3"]
    assert rows
    path = tmp_path / "cs3.csv"
    path.write_text(",".join(rows[0]) + "\n" + "\n".join(",".join(r.values()) for r in rows))
    fitted = {p.id: p for p in calibrate(path, tmp_path / "out")}
    bundled = load_profiles()["wse-cerebras-inference"]
    got = fitted["wse-cerebras-inference"]
    assert got.kernel_latency_s == pytest.approx(bundled.kernel_latency_s, rel=1e-3)
    assert got.mesh_hop_latency_s == pytest.approx(bundled.mesh_hop_latency_s, rel=1e-3)
    assert (tmp_path / "out" / "wse-cerebras-inference.toml").exists()


@given(st.floats(-5.0, 5.0, allow_nan=False), st.floats(-5.0, 5.0, allow_nan=False))
def test_soft_l1_residual_is_odd_monotone_and_its_square_is_the_loss(a, b):
    c = _ROBUST_SCALE
    ra, rb = (float(_soft_l1(np.array([x]))[0]) for x in (a, b))
    assert ra**2 == pytest.approx(2 * c * c * (np.sqrt(1 + (a / c) ** 2) - 1), rel=1e-9, abs=1e-15)
    assert float(_soft_l1(np.array([-a]))[0]) == pytest.approx(-ra, abs=1e-15)
    if a < b:
        assert ra <= rb  # a larger log error never pulls less
    assert abs(ra) <= abs(a) + 1e-15  # never more than least squares would


def test_soft_l1_is_least_squares_inside_its_scale_and_linear_beyond():
    c = _ROBUST_SCALE
    small = np.array([0.01 * c, -0.01 * c])
    assert _soft_l1(small) == pytest.approx(small, rel=1e-4)
    # far beyond c the loss grows as 2 c |r|: a 10x larger error pulls sqrt(10)x, not 10x, harder
    far = _soft_l1(np.array([100 * c, 1000 * c]))
    assert far[1] / far[0] == pytest.approx(np.sqrt(10), rel=0.02)


def test_breakdown_sums_to_tpot():
    p = tf.predict("gpt-oss-120b", "h200", isl=8192, osl=1024, concurrency=32, tp=2,
                   framework="vllm")  # fmt: skip
    assert p.feasible
    assert sum(p.step_breakdown_s.values()) == pytest.approx(p.tpot_s, rel=1e-9)
    assert p.binding_constraint
    spec = tf.predict("deepseek-r1", "dgx-h200", isl=1024, osl=1024, concurrency=8,
                      weights="fp8", spec_decode="k=2,acceptance=0.8")  # fmt: skip
    assert sum(spec.step_breakdown_s.values()) == pytest.approx(spec.tpot_s, rel=1e-9)


def test_infeasible_names_the_memory():
    p = tf.predict("llama-3.1-405b", "h100", isl=1024, osl=1024, tp=1, pp=1, weights="bf16")
    assert not p.feasible and p.binding_constraint == "weight_capacity"
    assert "do not fit" in p.explanation
    p = tf.predict("llama-3.1-70b", "dgx-h100", isl="128k", osl=1024, concurrency=512,
                   weights="bf16", systems=1)  # fmt: skip
    assert not p.feasible and p.binding_constraint == "kv_capacity"


def test_wafer_tpot_rises_with_wafers_per_copy():
    tpots = [
        tf.predict("llama-3.1-70b", "cs-3", isl=1024, osl=256, systems=n, weights="bf16").tpot_s
        for n in (4, 6, 8, 12)
    ]
    assert tpots == sorted(tpots) and tpots[-1] > tpots[0]


def test_long_agentic_context_needs_more_wafers_or_kvss():
    short = tf.predict("gpt-oss-120b", "cs-3", isl=1024, osl=256, concurrency=64)
    long = tf.predict("gpt-oss-120b", "cs-3", isl="96k", osl=256, concurrency=64)
    assert long.chips > short.chips
    pinned = tf.predict("gpt-oss-120b", "cs-3", isl="96k", osl=256, concurrency=64, systems=2)
    assert pinned.feasible and pinned.step_breakdown_s["offload"] > 0
    assert any("offload tier" in n for n in pinned.notes)
    assert pinned.tok_s_per_user < long.tok_s_per_user


def test_disaggregated_prefill_reports_the_limit():
    p = tf.predict("llama-3.1-70b", "cs-3", isl=8192, osl=512, concurrency=4, weights="bf16",
                   prefill_on="dgx-h200")  # fmt: skip
    assert p.feasible and p.step_breakdown_s["prefill"] == 0
    assert any("disaggregated" in n and "limited by the decode pool" in n for n in p.notes)
    prefill = p.pools[1]
    assert prefill["role"] == "prefill" and prefill["hardware"] == "dgx-h200" and prefill["workers"] >= 1
    assert p.chips == p.pools[0]["chips"] + prefill["chips"]  # both pools count


def test_profile_resolution_falls_back():
    chip = tf.get_system("b200").chip
    assert resolve_profile(chip, "vllm").id == "hopper-vllm"  # same stack, other HBM family
    assert resolve_profile(chip, "trt").id == "blackwell-trt"  # fitted on the max-throughput tables
    assert resolve_profile(chip, None).id == "blackwell-default"  # the family's stacks
    # MI355X is measured (SGLang, disagg.csv): its own stack and family default
    assert resolve_profile(tf.get_system("mi355x").chip, "sglang").id == "cdna4-sglang"
    assert resolve_profile(tf.get_system("mi355x").chip, None).id == "cdna4-default"
    # another vendor's stack: the family's own stacks before NVIDIA's profile of that stack
    assert resolve_profile(tf.get_system("mi355x").chip, "trt").id == "cdna4-default"
    assert resolve_profile(tf.get_system("mi355x").chip, "vllm").id == "cdna4-default"
    # a family never measured: the same stack of its vendor, then the vendor's default
    assert resolve_profile(tf.get_system("mi300x").chip, "sglang").id == "cdna4-sglang"
    assert resolve_profile(tf.get_system("mi300x").chip, None).id == "cdna4-default"
    assert resolve_profile(tf.get_system("gb300-nvl72").chip, "sglang").id == "blackwell-sglang"
    # a vendor never measured: the same stack on another vendor's family, else the memory default
    assert resolve_profile(tf.get_system("trn3-ultraserver").chip, "vllm").id == "hopper-vllm"
    assert resolve_profile(tf.get_system("trn3-ultraserver").chip, None).id == "hbm-default"
    assert resolve_profile(tf.get_system("h100").chip, None).id == "hopper-default"


def _scen(hw_id: str = "h200", model: str = "gpt-oss-120b", framework: str = "vllm"):
    return build_scenario(tf.get_model(model), tf.get_system(hw_id), framework=framework)


def _eval(scen, *, tp, pp, ep, concurrency, workload, spec=None):
    deps = Deployments.grid(tp=tp, pp=pp, ep=ep, concurrency=concurrency)
    return evaluate(scen, deps, workload, spec=spec)


@settings(max_examples=40, deadline=None)
@given(
    bw=st.floats(1.0, 4.0),
    fl=st.floats(1.0, 4.0),
    conc=st.sampled_from([1, 4, 32, 256]),
    isl=st.sampled_from([128, 1024, 8192]),
    tp=st.sampled_from([1, 2, 8]),
)
def test_more_bandwidth_or_flops_never_slower(bw, fl, conc, isl, tp):
    scen = _scen()
    hw = scen.hw
    faster_hw = dataclasses.replace(hw, bandwidth=hw.bandwidth * bw, peak_flops=hw.peak_flops * fl)
    faster = dataclasses.replace(scen, hw=faster_hw)
    w = Workload(isl, 512)
    kw = dict(tp=tp, pp=1, ep=1, concurrency=conc, workload=w)
    base, new = _eval(scen, **kw), _eval(faster, **kw)
    assert new["tpot_s"] <= base["tpot_s"] * (1 + 1e-12)
    if conc == 1:  # closed loop: at C > 1 faster decoding raises the arrival rate
        assert new["ttft_s"] <= base["ttft_s"] * (1 + 1e-12)
    assert new["total_tok_s_per_chip"] >= base["total_tok_s_per_chip"] * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(
    hw_id=st.sampled_from(["h200", "cs-3", "b200"]),
    isl=st.sampled_from([256, 1024, 8192]),
    osl=st.sampled_from([128, 1024]),
)
def test_concurrency_trades_interactivity_for_throughput(hw_id, isl, osl):
    scen = _scen(hw_id)
    conc = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    r = _eval(scen, tp=8 if hw_id != "cs-3" else 1, pp=2 if hw_id == "cs-3" else 1, ep=1,
                 concurrency=conc, workload=Workload(isl, osl))  # fmt: skip
    assert np.all(np.diff(r["tok_s_per_user"]) <= 1e-9)
    assert np.all(np.diff(r["total_tok_s_per_chip"]) >= -1e-9)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 8), conc=st.sampled_from([1, 8, 64]))
def test_spec_decode_with_zero_acceptance_never_helps(k, conc):
    scen = _scen("dgx-h200", "deepseek-r1", "sglang")
    kw = dict(tp=8, pp=1, ep=1, concurrency=conc, workload=Workload(1024, 1024))
    base = _eval(scen, **kw)
    spec = _eval(scen, **kw, spec=SpecDecode(k=k, acceptance=0.0))
    assert spec["tok_s_per_user"] <= base["tok_s_per_user"]
    good = _eval(scen, **kw, spec=SpecDecode(k=k, acceptance=0.9))
    assert good["tok_s_per_user"] > spec["tok_s_per_user"]


def test_acceptance_distribution():
    s = SpecDecode(k=2, acceptance_lengths=(0.2, 0.3, 0.5))
    assert s.tokens_per_step == pytest.approx(1 + 0.3 + 2 * 0.5)
    assert SpecDecode(k=3, acceptance=0.5).tokens_per_step == pytest.approx(1.875)


def test_pareto_mask():
    x = np.array([1.0, 2.0, 3.0, 2.0])
    y = np.array([3.0, 2.0, 1.0, 1.0])
    assert pareto_mask(x, y).tolist() == [True, True, True, False]


def test_frontier_points_are_pareto_and_fast_enough():
    f = tf.frontier("gpt-oss-120b", "cs-3,hgx-b200", isl=1024, osl=1024)
    assert f.points_evaluated > 100 and len(f) > 2
    df = f.to_frame()
    assert set(df["hardware"]) == {"cs-3", "hgx-b200"}
    for _, g in df.groupby("hardware"):
        g = g.sort_values("tok_s_per_user", ascending=False)
        assert np.all(np.diff(g["total_tok_s_per_chip"].to_numpy()) > 0)


def test_cli_predict_and_frontier_json(capsys, tmp_path):
    assert (
        main(
            [
                "predict",
                "gpt-oss-120b",
                "--on",
                "h200",
                "--tp",
                "2",
                "--isl",
                "1024",
                "--osl",
                "1024",
                "--concurrency",
                "16",
                "--framework",
                "vllm",
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    for key in (
        "feasible",
        "binding_constraint",
        "chips",
        "deployment",
        "ttft_s",
        "tpot_s",
        "tok_s_per_user",
        "output_tok_s_per_chip",
        "total_tok_s_per_chip",
        "step_breakdown_s",
    ):
        assert key in d
    out = tmp_path / "f.csv"
    assert (
        main(
            [
                "frontier",
                "llama-3.1-8b",
                "--on",
                "cs-3,h100",
                "--isl",
                "1k",
                "--osl",
                "256",
                "--json",
                "--csv",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["points_evaluated"] > 0 and d["points"]
    assert {
        "hardware",
        "deployment",
        "concurrency",
        "tok_s_per_user",
        "total_tok_s_per_chip",
        "output_tok_s_per_chip",
        "ttft_s",
        "tpot_s",
    } <= set(d["points"][0])
    assert out.read_text().startswith("hardware,")


def test_cli_validate_json(capsys):
    assert main(["validate", "--measured", "calibration", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["rows"]) == len(read_measured(CALIBRATION))
    row = d["rows"][0]
    assert {"pred_tok_s_per_user", "pred_tok_s_per_gpu", "pred_ttft_ms", "pred_tpot_ms"} <= set(row)
    assert "median_ape_pct" in d["summary"]["overall"]["tok_s_per_user"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            [
                "predict",
                "llama-3.1-8b",
                "--on",
                "h100",
                "--isl",
                "1k",
                "--osl",
                "1k",
                "--concurrency",
                "0",
            ],
            "concurrency",
        ),
        (["predict", "llama-3.1-8b", "--on", "h100", "--isl", "0", "--osl", "1k"], "isl"),
        (
            [
                "predict",
                "llama-3.1-8b",
                "--on",
                "h100",
                "--isl",
                "1k",
                "--osl",
                "1k",
                "--spec-decode",
                "k=3,acceptance=2",
            ],
            "acceptance",
        ),
        (
            [
                "predict",
                "llama-3.1-8b",
                "--on",
                "h100",
                "--isl",
                "1k",
                "--osl",
                "1k",
                "--spec-decode",
                "bogus",
            ],
            "key=value",
        ),
        (
            ["frontier", "llama-3.1-8b", "--on", "h100,nope", "--isl", "1k", "--osl", "1k"],
            "unknown hardware 'nope'",
        ),
        (["validate", "--measured", "/nonexistent.csv"], "cannot read"),
    ],
)
def test_bad_performance_input(capsys, argv, needle):
    assert_cli_error(capsys, argv, needle)


def test_every_breakdown_component_reported():
    p = tf.predict("llama-3.1-8b", "h100", isl=512, osl=128, tp=1)
    assert set(COMPONENTS) <= set(p.step_breakdown_s)


def test_bundled_profiles_are_exactly_what_calibrate_fits(tmp_path):
    # honesty: every bundled profile is reproducible from the bundled measured sets
    # (calibration.csv + max_throughput.csv + disagg.csv, the name "measured")
    fitted = {p.id: p for p in calibrate("measured", tmp_path)}
    bundled = load_profiles()
    assert bundled
    assert set(fitted) == set(bundled)
    for pid, p in fitted.items():
        for field in ("bandwidth_efficiency", "flops_efficiency", "decode_flops_efficiency",
                      "kernel_latency_s", "mesh_hop_latency_s", "collective_latency_s",
                      "step_overhead_s", "request_overhead_s", "a2a_latency_s"):  # fmt: skip
            assert getattr(p, field) == pytest.approx(getattr(bundled[pid], field), rel=1e-6), (pid, field)
    # and byte for byte: the files calibrate writes are the bundled files
    written = sorted(tmp_path.glob("*.toml"))
    assert [f.name for f in written] == sorted(f"{pid}.toml" for pid in bundled)
    for f in written:
        assert f.read_bytes() == (PROFILE_DIR / f.name).read_bytes(), f.name


def test_every_measured_kind_is_answered(tmp_path):
    # issue 11: max-throughput rows (TP, no concurrency) are predicted as the best throughput over
    # concurrency; disaggregated rows with plain prefill and decode pools (approximate)
    v = validate("max_throughput")
    assert {r["kind"] for r in v.rows} == {"max-throughput"}
    assert all(r["status"] == "predicted" and r["pred_concurrency"] >= 1 for r in v.rows)
    assert v.summary["by_kind"]["max-throughput"]["tok_s_per_gpu"]["median_ape_pct"] <= 15
    disagg = tmp_path / "disagg.csv"
    disagg.write_text(
        "model,hardware,framework,precision,spec_decoding,isl,osl,concurrency,prefill_tp,prefill_ep,"
        "prefill_dp_attention,prefill_workers,prefill_gpus,decode_tp,decode_ep,decode_dp_attention,"
        "decode_workers,decode_gpus,tok_s_per_gpu,output_tok_s_per_gpu,tok_s_per_user,ttft_ms,tpot_ms,"
        "date,source\n"
        "deepseek-r1,gb200-nvl72,dynamo-sglang,fp4,none,1024,1024,4,1,1,true,1,4,1,1,true,2,8,82.6,"
        "62.5,133.4,214.7,7.5,2025-12-22,x\n"
    )
    d = validate(str(disagg))
    row = d.rows[0]
    assert row["kind"] == "disaggregated" and row["status"] == "predicted"
    assert row["pred_chips"] == 12  # 1 prefill worker of 4 GPUs + 2 decode workers of 4
    assert row["pred_tok_s_per_user"] > 0 and row["ape_tok_s_per_gpu"] is not None


def test_interval_bounds_from_a_synthetic_residual_table():
    # issue 11: residual r = log(pred / measured); measured lies in [pred e^-q90, pred e^-q10]
    from tokenfrontier.intervals import MIN_ROWS, bounds

    table = {
        "hopper-vllm": {"tok_s_per_user": {"n": 20, "q10": -0.1, "q90": 0.2}},
        "transfer": {"tok_s_per_user": {"n": 3, "q10": -0.5, "q90": 0.5}},  # too few rows
        "default": {"tok_s_per_user": {"n": 50, "q10": -0.4, "q90": 0.3}},
    }
    lo, hi = bounds("hopper-vllm", "tok_s_per_user", 100.0, table)
    assert lo == pytest.approx(100 * np.exp(-0.2)) and hi == pytest.approx(100 * np.exp(0.1))
    # a level with fewer than MIN_ROWS residuals falls back down the chain
    assert MIN_ROWS > 3
    assert bounds("transfer", "tok_s_per_user", 100.0, table) == pytest.approx(
        (100 * np.exp(-0.3), 100 * np.exp(0.4))
    )
    assert bounds("blackwell-trt", "tok_s_per_user", 100.0, table) == pytest.approx(
        (100 * np.exp(-0.3), 100 * np.exp(0.4))
    )
    assert bounds("default", "ttft_ms", 1.0, table) is None
    # residuals that all lean one way still give an interval containing the prediction
    biased = {"default": {"tok_s_per_user": {"n": 50, "q10": 0.05, "q90": 0.3}}}
    assert bounds("default", "tok_s_per_user", 100.0, biased) == pytest.approx((100 * np.exp(-0.3), 100.0))


def test_predictions_carry_intervals_and_validate_reports_coverage():
    p = tf.predict("gpt-oss-120b", "h200", isl=1024, osl=1024, concurrency=32, framework="vllm")
    d = p.to_dict()
    assert d["interval_level"] == "hopper-vllm"
    assert d["tok_s_per_user_low"] < d["tok_s_per_user"] < d["tok_s_per_user_high"]
    assert d["ttft_s_low"] < d["ttft_s"] < d["ttft_s_high"]
    unmeasured = tf.predict("gpt-oss-120b", "mi300x", isl=1024, osl=1024, concurrency=32)
    assert unmeasured.interval_level == "unmeasured"  # no AMD profile fitted: the widest interval
    width = unmeasured.intervals["total_tok_s_per_chip"]
    assert (
        width[1] / width[0] > p.intervals["total_tok_s_per_chip"][1] / p.intervals["total_tok_s_per_chip"][0]
    )
    v = validate("measured")
    cover = v.summary["by_kind"]["serving"]["tok_s_per_gpu"]["in_interval_pct"]
    assert 60 <= cover <= 95  # in-sample: close to the nominal 80%


def test_frontier_points_and_costs_carry_intervals():
    f = tf.frontier("gpt-oss-120b", "dgx-h200", isl=1024, osl=1024, framework="vllm")
    for r in f.records:
        assert r["interval_level"] == "hopper-vllm"
        assert r["total_tok_s_per_chip_low"] < r["total_tok_s_per_chip"] < r["total_tok_s_per_chip_high"]
    c = tf.cost("gpt-oss-120b", "dgx-h200", isl=1024, osl=1024, concurrency=64, framework="vllm")
    assert c.usd_per_mtok_low < c.usd_per_mtok < c.usd_per_mtok_high  # fewer tokens, dearer tokens


def test_calculator_carries_the_prediction_interval():
    c = tf.calculator("gpt-oss-120b", "cs-3", isl="8k", osl="1k", concurrency=16)
    d = c.to_dict()
    # the 'default' level's cross-validated residuals lean high (q10 > 0): the interval then ends
    # at the prediction (intervals.bounds), so the upper bounds may equal it
    assert d["tok_s_per_user_low"] < d["tok_s_per_user"] <= d["tok_s_per_user_high"]
    assert d["usd_per_mtok_low"] <= d["usd_per_mtok"] < d["usd_per_mtok_high"]
