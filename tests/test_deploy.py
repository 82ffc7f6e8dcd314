"""Deployment (SPEC §4): layer-boundary sharding, free memory, KV room and offload."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfrontier import api
from tokenfrontier.catalog import Catalog
from tokenfrontier.scenario import pack_layers


def test_llama_8b_fits_one_cs3(catalog):
    d = api.deploy("llama-3.1-8b", "cs-3", weights="bf16", context=8192, catalog=catalog)
    assert d.feasible and d.min_systems == 1 and d.layers_per_system == (32,)
    # capacity rule: 95% of 44 GB SRAM (wse-3.toml) - 16.06 GB weights = 25.74 GB free;
    # KV at 8192 = 1.07 GB -> 23 sequences
    assert d.free_memory_bytes_per_system == pytest.approx(0.95 * 44e9 - 16.06e9, rel=1e-3)
    assert d.max_concurrent_sequences == 23
    # one sequence's KV over 150 GB/s: 1.074 GB / 150 GB/s = 7.16 ms
    assert d.kv_transfer_s == pytest.approx(131072 * 8192 / 150e9)


def test_layer_boundaries_not_capacity_division(catalog):
    # Qwen3-Coder 480B BF16: 62 layers of 15.5 GB; 2 fit a 44 GB wafer, 3 do not -> 31 wafers,
    # while dividing 960 GB by 44 GB would say 22.
    d = api.deploy("qwen3-coder-480b-a35b", "cs-3", weights="bf16", catalog=catalog)
    assert d.min_systems == 31
    assert all(n <= 2 for n in d.layers_per_system)
    # Llama 3.1 70B BF16: 141 GB over 44 GB wafers -> 4 (capacity division gives 3.2 -> 4)
    assert api.deploy("llama-3.1-70b", "cs-3", weights="bf16", catalog=catalog).min_systems == 4
    # 126 layers of 6.44 GB (+ embeddings) in 41.8 GB (95% of 44 GB): 6 per wafer -> 22 wafers
    assert api.deploy("llama-3.1-405b", "cs-3", weights="bf16", catalog=catalog).min_systems == 22


def test_layers_sum_and_weights_sum(catalog):
    d = api.deploy("deepseek-v3", "cs-3", catalog=catalog)
    arch = api.get_model("deepseek-v3", catalog)
    assert sum(d.layers_per_system) == len(arch.layers)
    fp = api.footprint("deepseek-v3", catalog=catalog)
    assert sum(d.weight_bytes_per_system) == pytest.approx(fp.weight_bytes)
    assert max(d.weight_bytes_per_system) <= 44e9


def test_kv_goes_to_kvss_when_sram_runs_out(catalog):
    d = api.deploy("llama-3.1-70b", "cs-3", weights="bf16", context="128k", catalog=catalog)
    assert d.feasible and d.kv_tier == "kvss" and d.max_concurrent_sequences == 0
    assert d.offload_max_concurrent_sequences > 100
    assert d.binding_constraint == "kv_capacity"


def test_infeasible_says_which_resource(catalog):
    # on the weights' minimum of Groq racks (64 x 230 MB) one 128k sequence's KV does not fit
    # next to Llama 70B FP8 weights; left open, deploy adds racks until it does
    kw = dict(weights="fp8", kv_dtype="fp8", context="128k", catalog=catalog)
    d = api.deploy("llama-3.1-70b", "groq-rack", systems=6, **kw)
    assert not d.feasible and d.binding_constraint == "kv_capacity"
    assert "free" in d.explanation
    grown = api.deploy("llama-3.1-70b", "groq-rack", **kw)
    assert grown.feasible and grown.min_systems == 6 and grown.systems > 6
    d = api.deploy("llama-3.1-70b", "cs-3", weights="bf16", systems=2, catalog=catalog)
    assert not d.feasible and d.binding_constraint == "systems"
    assert "at least 4" in d.explanation


def test_hbm_tp_then_pp(catalog):
    d = api.deploy("llama-3.1-405b", "dgx-h100", weights="bf16", catalog=catalog)
    assert d.chips_per_system == 8 and d.min_systems == 2
    one = api.deploy("llama-3.1-405b", "gb300-nvl72", weights="bf16", catalog=catalog)
    assert one.min_systems == 1


def test_whatif_io_moves_kv_faster():
    cat = Catalog.load(["examples/whatif"])
    base = api.deploy("llama-3.1-70b", "cs-3", weights="bf16", context="32k", catalog=cat)
    fast = api.deploy("llama-3.1-70b", "cs-3-10x-io", weights="bf16", context="32k", catalog=cat)
    assert fast.kv_transfer_s == pytest.approx(base.kv_transfer_s / 10)
    dram = api.deploy("llama-3.1-405b", "wse-3-dram", weights="bf16", catalog=cat)
    assert dram.min_systems == 1


def test_pack_layers_is_contiguous_and_minimal():
    import numpy as np

    assert pack_layers(np.array([3.0, 3.0, 3.0]), 6.0) == [2, 1]
    assert pack_layers(np.array([1.0] * 10), 3.0) == [3, 3, 3, 1]


@settings(max_examples=40, deadline=None)
@given(
    scale=st.floats(min_value=1.0, max_value=8.0),
    model=st.sampled_from(["llama-3.1-70b", "gpt-oss-120b", "deepseek-v3", "glm-4.7"]),
)
def test_more_capacity_never_needs_more_systems(scale, model, tmp_path_factory):
    d = tmp_path_factory.mktemp("cat")
    (d / "big.toml").write_text(
        f'extends = "wse-3"\nid = "wse-big"\nsources = ["test"]\n\n[[memory]]\nname = "sram"\n'
        f"capacity_bytes = {44e9 * scale}\nbandwidth_bytes_per_s = 21e15\n"
    )
    cat = Catalog.load([d])
    base = api.deploy(model, "wse-3", weights="bf16", catalog=cat)
    big = api.deploy(model, "wse-big", weights="bf16", catalog=cat)
    assert big.capacity_bytes_per_system == pytest.approx(scale * base.capacity_bytes_per_system)
    assert big.min_systems <= base.min_systems


@settings(max_examples=25, deadline=None)
@given(
    model=st.sampled_from(["llama-3.1-70b", "gpt-oss-120b", "qwen3-235b-a22b", "deepseek-v3"]),
    extra=st.integers(0, 6),
    context=st.sampled_from(["8k", "32k", "128k"]),
)
def test_more_systems_never_less_room(model, extra, context):
    # brief: "more chips never less memory" -> one more system never lowers the KV room
    base = api.deploy(model, "cs-3", weights="bf16", context=context)
    layers = len(api.get_model(model).layers)
    n = min(base.min_systems + extra, layers - 1)
    a = api.deploy(model, "cs-3", weights="bf16", context=context, systems=n)
    b = api.deploy(model, "cs-3", weights="bf16", context=context, systems=n + 1)
    assert b.max_concurrent_sequences >= a.max_concurrent_sequences
    assert b.systems * b.capacity_bytes_per_system > a.systems * a.capacity_bytes_per_system


def test_deploy_counts_kv_as_the_tp_group_holds_it():
    """MLA keeps its one latent whole on every chip of a TP group (predict's rule): DeepSeek-R1
    on 8 H200s holds 1/8 the sequences a sharded KV would (the note says why); a GQA model with
    8 KV heads over 8 chips is not replicated; a wafer never is."""
    import tokenfrontier as tf

    d = tf.deploy("deepseek-r1", "dgx-h200", context=8192)
    per_seq = d.kv_bytes_per_sequence
    assert d.kv_bytes_per_sequence_per_system[0] == pytest.approx(8 * per_seq, rel=1e-9)
    assert d.max_concurrent_sequences == int(d.free_memory_bytes_per_system // (8 * per_seq))
    assert any("KV held 8x over the TP8 group" in n for n in d.notes)
    g = tf.deploy("llama-3.1-70b", "dgx-h200", context=8192)
    assert g.kv_bytes_per_sequence_per_system[0] == pytest.approx(g.kv_bytes_per_sequence, rel=1e-9)
    assert not any("KV held" in n for n in g.notes)
    w = tf.deploy("deepseek-r1", "cs-3", context=8192)
    assert sum(w.kv_bytes_per_sequence_per_system) == pytest.approx(w.kv_bytes_per_sequence, rel=1e-9)
