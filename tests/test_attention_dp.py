"""Attention data-parallel + wide expert parallelism, and KV replication under TP.

A TP group shards KV by KV heads only: with fewer KV heads than attention ranks each KV head is
replicated (MLA: one latent on every rank). Attention DP (dp ranks of tp / dp chips) gives each
rank the dense weights and its own batch / dp sequences' KV, spreads the routed experts over all
tp chips (EP = tp) and adds a dispatch + combine all-to-all per MoE layer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from tokenfrontier.candidates import candidates, memory_check
from tokenfrontier.errors import InvalidInputError
from tokenfrontier.footprint import attention_flops_per_token, decode_attention_flops_per_token
from tokenfrontier.scenario import build_scenario
from tokenfrontier.serving import Workload
from tokenfrontier.step import COMPONENTS, decode_step, expert_imbalance
from tokenfrontier.sweep import sweep
from tokenfrontier.validation import plan_row, read_measured

ACT_BYTES = 2.0  # activations exchanged between chips in BF16 (step.py)


def _scen(model: str, hw: str, **kw):
    return build_scenario(tf.get_model(model), tf.get_system(hw), **kw)


def test_decode_step_by_hand_dp1_vs_dp8():
    # gpt-oss-120b (MoE, 8 KV heads, 64 heads) on one HGX H200 node, 64 sequences at 2,048 tokens
    scen = _scen("gpt-oss-120b", "dgx-h200")
    m, hw = scen.model, scen.hw
    assert (m.n_heads, m.kv_heads) == (64, 8)
    bw = hw.bandwidth * hw.profile.bandwidth_efficiency  # one chip
    lat, su = hw.profile.collective_latency_s, hw.scale_up
    b, ctx, k, h = 64.0, 2048.0, m.top_k, m.hidden
    kv, frac = float(m.kv(ctx)), float(m.distinct_fraction(b))
    # the busiest of the 8 EP ranks touches more of its 16 experts than the mean: 64 tokens x
    # top-4 of 128 touch p = 1 - (1 - 4/128)^64 = 0.869 of them, the busiest rank
    # p (1 + sqrt(2 ln 8 (1 - p) / (16 p))) = 1.04 -> capped: all 16 of its experts
    p = 1 - (1 - k / 128) ** b
    assert frac == pytest.approx(p)
    assert p * (1 + math.sqrt(2 * math.log(8) * (1 - p) / (16 * p))) > 1.0
    frac = 1.0
    one = decode_step(m, hw, tp=8, pp=1, ep=8, batch=b, context=ctx, dp=1)
    dp8 = decode_step(m, hw, tp=8, pp=1, ep=8, batch=b, context=ctx, dp=8)
    # plain TP8: everything over 8 chips; 8 KV heads over 8 ranks: no replication
    assert float(one["weights"]) == pytest.approx((m.dense_bytes + m.expert_bytes * frac) / (8 * bw))
    assert float(one["kv"]) == pytest.approx(b * kv / (8 * bw))
    ring = 2 * 7 / 8 * b * h * ACT_BYTES / su
    assert float(one["tp_comm"]) == pytest.approx(m.n_layers * 2 * (lat + ring))
    # plain TP: every rank holds every token; the MoE combine is the all-reduce above
    assert float(one["ep_comm"]) == 0.0
    # attention DP8: a chip reads all dense weights, 1/8 of the touched experts, 8 sequences' KV
    assert float(dp8["weights"]) == pytest.approx((m.dense_bytes + m.expert_bytes * frac / 8) / bw)
    assert float(dp8["kv"]) == pytest.approx(b / 8 * kv / bw)
    assert float(dp8["tp_comm"]) == 0.0  # no all-reduce: one chip per attention rank
    # each chip dispatches its own 8 tokens; the busiest rank receives imb x its share
    imb = float(expert_imbalance(b, k, 8, m.n_experts))
    a2a8 = b / 8 * h * ACT_BYTES * k * imb * 7 / 8 / su
    a2a_lat = hw.profile.a2a_latency_s
    assert float(dp8["ep_comm"]) == pytest.approx(m.moe_layers * 2 * (a2a_lat * 3 + a2a8))
    # compute is spread over the same 8 chips either way; the busiest EP rank's experts set it
    # (gpt-oss on Hopper runs BF16 GEMMs: attention at the same BF16 rate)
    extra = (imb - 1) * 2 * b * m.expert_matmul_params * k
    flops = float(m.matmul_flops(b) + extra + b * decode_attention_flops_per_token(m.arch, ctx))
    peak = 8 * hw.peak_flops * hw.profile.decode_flops_efficiency
    for parts in (one, dp8):
        mem = float(parts["weights"] + parts["kv"])
        assert float(parts["compute"]) == pytest.approx(max(flops / peak - mem, 0.0))


def _old_decode_step(m, hw, *, tp, pp, ep, batch, context):
    """The step model before attention DP (commit 6717c57), for the byte-identity check."""
    tp_, pp_ = (np.asarray(x, dtype=float) for x in (tp, pp))
    b = np.maximum(np.asarray(batch, dtype=float) / pp_, 1.0)
    ctx = np.asarray(context, dtype=float)
    prof = hw.profile
    tokens = b * 1.0 + 0.0
    bw = tp_ * hw.bandwidth * prof.bandwidth_efficiency
    w_read = m.dense_bytes + m.expert_bytes * m.distinct_fraction(tokens)
    kv_read = b * m.kv(ctx)
    flops = m.matmul_flops(tokens) + b * 1.0 * attention_flops_per_token(m.arch, ctx) + 0.0 / pp_
    compute = flops / (tp_ * hw.peak_flops * prof.decode_flops_efficiency)
    mem_w, mem_kv = w_read / bw, kv_read / bw
    lat = prof.collective_latency_s
    msg = tokens * m.hidden * ACT_BYTES
    ring = 2.0 * (tp_ - 1) / tp_ * msg / hw.scale_up
    return {
        "weights": mem_w,
        "kv": mem_kv,
        "compute": np.maximum(compute - (mem_w + mem_kv), 0.0),
        "tp_comm": np.where(tp_ > 1, m.n_layers * 2 * (lat + ring), 0.0),
    }


@pytest.mark.parametrize("model,hw", [("llama-3.1-70b", "dgx-h100"), ("llama-3.1-8b", "hgx-b200")])
def test_dense_models_at_dp1_are_byte_identical(model, hw):
    scen = _scen(model, hw)
    tp = np.array([1.0, 2.0, 4.0, 8.0])[:, None]
    batch = np.array([1.0, 7.0, 64.0, 512.0])[None, :]
    new = decode_step(scen.model, scen.hw, tp=tp, pp=1, ep=1, batch=batch, context=3000.0)
    old = _old_decode_step(scen.model, scen.hw, tp=tp, pp=1, ep=1, batch=batch, context=3000.0)
    for key, ref in old.items():
        assert np.array_equal(new[key], np.broadcast_to(ref, new[key].shape)), key
    # and the capacity rule: sequences per candidate = floor((tp x cap - weights) / KV)
    cand = candidates(scen, pp=1)
    fit = memory_check(scen, cand, np.array([1.0]), 3000.0)
    free = cand.tp * scen.capacity_per_chip - scen.stage_weight_bytes(1)[0]
    expect = np.floor(np.maximum(free, 0) / scen.stage_kv_bytes(1, 3000.0)[0])
    assert np.array_equal(fit.max_sequences, expect)
    assert np.all(np.asarray(cand.dp) == 1)  # dense models get no attention-DP candidates


@settings(max_examples=30, deadline=None)
@given(t1=st.sampled_from([1, 2, 4, 8]), t2=st.sampled_from([1, 2, 4, 8, 16, 32]),
       batch=st.integers(1, 512), ctx=st.integers(128, 65_536))  # fmt: skip
def test_mla_kv_per_rank_never_shrinks_with_tp(t1, t2, batch, ctx):
    # MLA keeps one latent per token: every TP rank holds (and reads) all of its sequences' KV
    scen = _scen("deepseek-r1", "gb300-nvl72")
    lo, hi = sorted((t1, t2))
    kv = [float(decode_step(scen.model, scen.hw, tp=t, pp=1, ep=1, batch=batch, context=ctx)["kv"])
          for t in (lo, hi)]  # fmt: skip
    assert kv[1] >= kv[0] * (1 - 1e-12)
    assert float(scen.kv_replication(hi)) == hi  # replicated on every rank


def test_attention_dp_fits_more_sequences_than_tp_for_mla():
    scen = _scen("deepseek-r1", "gb300-nvl72", weights="fp4")
    for tp in (8, 16, 32):
        tp_only = memory_check(scen, candidates(scen, tp=tp, pp=1, dp=1), np.array([1.0]), 2048.0)
        dp = memory_check(scen, candidates(scen, tp=tp, pp=1, dp=tp), np.array([1.0]), 2048.0)
        assert dp.max_sequences.max() > tp_only.max_sequences.max(), tp


def test_dp_candidates_and_wide_ep_over_scale_out():
    scen = _scen("deepseek-r1", "dgx-h100")
    cand = candidates(scen, pp=1)
    dp = np.asarray(cand.dp)
    wide = cand.tp > 8
    assert set(cand.tp[wide]) == {16.0, 32.0, 64.0}  # multi-node wide EP on an 8-GPU node
    assert np.all(dp[wide] == cand.tp[wide]) and np.all(cand.ep[wide] == cand.tp[wide])
    assert np.all(dp[~wide] <= cand.tp[~wide])
    m, hw = scen.model, scen.hw
    inside = decode_step(m, hw, tp=8, pp=1, ep=8, batch=64, context=2048, dp=8)["ep_comm"]
    across = decode_step(m, hw, tp=16, pp=1, ep=16, batch=128, context=2048, dp=16)["ep_comm"]
    assert float(across) > float(inside)  # the all-to-all crosses the slower scale-out network
    # a GB300 rack keeps every group in its 72-GPU NVLink domain
    assert candidates(_scen("deepseek-r1", "gb300-nvl72"), pp=1).tp.max() == 72


def test_dp_sweeps_choose_and_report():
    scen = _scen("deepseek-r1", "gb300-nvl72", weights="fp4")
    sw = sweep(scen, Workload(1024, 1024), [256], tp=32, dp=32)
    assert sw.feasible.any() and np.all(sw.deps.dp == 32)
    p = tf.predict("deepseek-r1", "gb300-nvl72", isl=1024, osl=1024, concurrency=256, weights="fp4",
                   tp=32, dp=32)  # fmt: skip
    assert p.feasible and p.deployment["dp"] == 32 and p.deployment["ep"] == 32
    assert any("attention data-parallel" in n for n in p.notes)
    assert "KV shards by KV heads" in p.explain()
    tp_only = tf.predict("deepseek-r1", "gb300-nvl72", isl=1024, osl=1024, concurrency=256,
                         weights="fp4", tp=8, dp=1)  # fmt: skip
    assert any("KV replicated 8x" in n for n in tp_only.notes)
    step = sum(sw.metrics[f"step_{k}_s"] for k in (*COMPONENTS, "prefill"))
    assert np.allclose(step, sw.metrics["tpot_s"])  # the breakdown adds up to TPOT


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        (dict(model="llama-3.1-70b", tp=8, dp=2), "is dense"),
        (dict(model="deepseek-r1", tp=8, dp=3), "must divide tp"),
        (dict(model="deepseek-r1", tp=8, dp=8, ep=4), "ep = tp"),
        (dict(model="llama-3.1-70b", tp=3), "attention heads"),
    ],
)
def test_bad_dp_and_tp_are_one_clear_error(kwargs, fragment):
    model = kwargs.pop("model")
    with pytest.raises(InvalidInputError, match=fragment):
        tf.predict(model, "gb300-nvl72", isl=1024, osl=1024, **kwargs)


def test_disagg_rows_are_planned_as_deployed():
    rows = read_measured("disagg")
    dp_row = next(r for r in rows if r["decode_dp_attention"] == "true" and r["model"] == "deepseek-r1"
                  and r["decode_gpus"] == "32" and r["decode_workers"] == "1")  # fmt: skip
    plan = plan_row(dp_row, None)
    assert (plan.tp, plan.ep, plan.dp) == (32, 32, 32)
    tp_row = next(r for r in rows if r["decode_dp_attention"] == "false" and r["model"] == "deepseek-r1")
    plan = plan_row(tp_row, None)
    g = int(tp_row["decode_gpus"]) // int(tp_row["decode_workers"])
    assert (plan.tp, plan.dp) == (g, 1)
