"""Wide expert parallelism and MLA decode physics (issue 11): the busiest EP rank's load, the
absorbed-MLA decode FLOPs, attention at the KV dtype's rate, and calibration on all three
measured files."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from tokenfrontier.footprint import attention_flops_per_token, decode_attention_flops_per_token
from tokenfrontier.step import ModelTerms, attention_dtype, expert_imbalance, touched_imbalance
from tokenfrontier.validation import BUNDLED_MEASURED, read_measured


def test_imbalance_by_hand():
    # 2,048 tokens x top-8 over 16 ranks (DeepSeek-R1, 256 experts): N = 16,384 routed slots,
    # 1 + sqrt(2 ln 16 x 15 / 16,384) = 1 + sqrt(5.5452 x 15 / 16384) = 1.07125
    assert float(expert_imbalance(2048, 8, 16, 256)) == pytest.approx(
        1 + math.sqrt(2 * math.log(16) * 15 / 16384), rel=1e-12
    )
    assert float(expert_imbalance(2048, 8, 16, 256)) == pytest.approx(1.0713, abs=1e-4)
    # 64 tokens: N = 512, 1 + sqrt(5.5452 x 15 / 512) = 1.4031
    assert float(expert_imbalance(64, 8, 16, 256)) == pytest.approx(1.4031, abs=1e-4)
    assert float(expert_imbalance(64, 8, 1, 256)) == 1.0  # one rank holds every expert
    # cap: one token, 2 ranks of 2 experts each, top-2 -> at most all of its 2 slots on a rank
    assert float(expert_imbalance(1, 2, 2, 4)) <= 2 * min(2, 4 / 2) / 2


@settings(max_examples=60, deadline=None)
@given(
    tokens=st.floats(1, 1e5),
    k=st.integers(1, 16),
    ep=st.sampled_from([1, 2, 4, 8, 16, 32, 64, 72]),
)
def test_imbalance_at_least_one_and_falls_to_one(tokens, k, ep):
    f = float(expert_imbalance(tokens, k, ep, 256))
    assert f >= 1.0
    more = float(expert_imbalance(tokens * 10, k, ep, 256))
    assert more <= f + 1e-12  # more tokens per expert: closer to balanced
    assert float(expert_imbalance(1e12, k, ep, 256)) == pytest.approx(1.0, abs=1e-3)


def test_touched_imbalance_by_hand():
    # one decoded token of DeepSeek-R1 (top-8 of 256 routed experts) over 8 EP ranks of 32
    # experts: p = 1 - (1 - 8/256)^1 = 0.03125 of each rank's experts touched, mean n p = 1;
    # busiest rank 1 + sqrt(2 ln 8 x (1 - p) / (n p)) = 1 + sqrt(4.1589 x 0.96875) = 3.007 x
    p = 8 / 256
    f = float(touched_imbalance(p, 8, 256))
    assert f == pytest.approx(1 + math.sqrt(2 * math.log(8) * (1 - p) / (32 * p)), rel=1e-12)
    assert f == pytest.approx(3.007, abs=1e-3)
    assert float(touched_imbalance(p, 1, 256)) == 1.0  # one rank holds every expert
    assert float(touched_imbalance(1.0, 8, 256)) == 1.0  # every expert touched: balanced
    # cap: a rank never reads more than all of its own experts (1 + 1.11 capped at 1 / p)
    assert float(touched_imbalance(0.9, 256, 256)) == pytest.approx(1 / 0.9)


@settings(max_examples=60, deadline=None)
@given(tokens=st.floats(0.5, 1e5), ep=st.sampled_from([1, 2, 4, 8, 16, 32, 64, 256]))
def test_busiest_rank_reads_at_least_the_mean_and_at_most_all(tokens, ep):
    terms = ModelTerms.build(tf.get_model("deepseek-r1"), "fp4", "fp8")
    mean = float(terms.distinct_fraction(tokens))
    busiest = float(terms.busiest_fraction(tokens, ep))
    assert mean - 1e-12 <= busiest <= 1.0 + 1e-12
    assert float(terms.busiest_fraction(tokens * 10, ep)) >= mean - 1e-12


def test_mla_absorbed_decode_flops_deepseek_r1():
    # DeepSeek-R1: 128 heads, kv_lora 512, rope 64, nope 128, v 128; 61 MLA layers.
    # absorbed decode per head and attended token: 2 (512 + 64) + 2 x 512 = 2,176 FLOPs;
    # expanded (prefill) form: 2 (128 + 64 + 128) = 640 -> ratio 3.4
    arch = tf.get_model("deepseek-r1")
    layers = len(arch.main_layers)
    assert layers == 61
    ctx = 4096.0
    assert float(decode_attention_flops_per_token(arch, ctx)) == pytest.approx(layers * 128 * 2176 * ctx)
    assert float(attention_flops_per_token(arch, ctx)) == pytest.approx(layers * 128 * 640 * ctx)
    # a model without MLA decodes with the same kernel as it prefills
    llama = tf.get_model("llama-3.1-8b")
    assert np.allclose(
        decode_attention_flops_per_token(llama, [10.0, 1000.0]),
        attention_flops_per_token(llama, [10.0, 1000.0]),
    )


def test_attention_never_runs_at_fp4():
    assert attention_dtype("fp4") == "fp8"  # FP4 weights: FP8 attention kernels
    assert attention_dtype("fp8") == "fp8"
    assert attention_dtype("bf16") == "bf16"


def test_measured_covers_the_three_files():
    names = {p.name for p in BUNDLED_MEASURED["measured"]}
    assert names == {"calibration.csv", "max_throughput.csv", "disagg.csv"}
    rows = read_measured("measured")
    assert len(rows) == sum(len(read_measured(n)) for n in ("calibration", "max_throughput", "disagg"))


def test_calibration_over_three_files_is_deterministic(tmp_path):
    # the disaggregated rows alone (their own profiles: Blackwell SGLang, CDNA4 SGLang and the
    # Blackwell TRT group) fitted twice give byte-identical files
    from tokenfrontier.calibration import calibrate

    src = BUNDLED_MEASURED["disagg"][0]
    a, b = tmp_path / "a", tmp_path / "b"
    ids = [p.id for p in calibrate(src, a)]
    calibrate(src, b)
    assert "cdna4-sglang" in ids and "blackwell-sglang" in ids
    for f in sorted(a.glob("*.toml")):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name


def test_gpu_latency_terms_carry_the_firmer_prior():
    # the latency terms of a GPU profile add up to one constant per step for one model and
    # deployment; their split is held near the priors (kernel 5 µs, all-reduce 10 µs, a2a 20 µs,
    # step 1 ms) more firmly than the efficiencies, which the rows identify directly
    from tokenfrontier.calibration import _HBM_PARAMS, _PRIORS, _SRAM_PARAMS, _prior_weights

    names = [p[0] for p in _HBM_PARAMS]
    w = dict(zip(names, _prior_weights("hbm", names), strict=True))
    firm = {"kernel_latency_s", "collective_latency_s", "step_overhead_s", "a2a_latency_s"}
    assert {n for n, v in w.items() if v == 1.0} == firm
    assert all(v == 0.3 for n, v in w.items() if n not in firm)
    sram = [p[0] for p in _SRAM_PARAMS]
    assert list(_prior_weights("sram", sram)) == [0.3] * len(sram)  # SRAM fits: unchanged
    assert _PRIORS["hbm"]["kernel_latency_s"] == 5e-6 and _PRIORS["hbm"]["step_overhead_s"] == 1e-3
