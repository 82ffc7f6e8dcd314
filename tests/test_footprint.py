"""Golden footprint numbers from SPEC.md §3's published table (decimal GB, 128K = 128,000,
KV for one sequence with full attention in every layer). Cells the table gets wrong by its own
method are tested in test_reproduce.py instead."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenfrontier import api
from tokenfrontier.footprint import kv_bytes, param_counts, weight_bytes

# (model, total B, attention B, FFN B, BF16 GB, FP8 GB, FP4 GB, checkpoint GB) — SPEC §3 table
PARAMS = [
    ("llama-3.1-8b", 8.0, 1.3, 5.6, 16.1, 8.0, 4.0, 16.1),
    ("llama-3.1-70b", 70.6, 12.1, 56.4, 141.1, 70.6, 35.3, 141.1),
    ("llama-3.1-405b", 405.9, 71.9, 329.8, 811.7, 405.9, 202.9, 811.7),
    ("llama-4-scout-17b-16e", 107.8, 3.0, 102.7, 215.5, 107.8, 53.9, 215.5),
    ("llama-4-maverick-17b-128e", 400.7, 3.0, 395.6, 801.4, 400.7, 200.4, 801.4),
    # gpt-oss BF16 column (233.6) is 2 x the rounded total: checked in test_reproduce
    ("gpt-oss-120b", 116.8, 1.0, 114.7, None, 116.8, 58.4, 65.2),
]

# (model, KV dtype, KV@128K, KV@256K, KV@1M) — SPEC §3 table, full-attention convention
KV = [
    ("llama-3.1-8b", "bf16", 16.8, None, None),
    ("llama-3.1-70b", "bf16", 41.9, None, None),
    ("llama-3.1-405b", "bf16", 66.1, None, None),
    ("llama-4-scout-17b-16e", "bf16", 25.2, 50.3, 196.6),
    ("llama-4-maverick-17b-128e", "bf16", 25.2, 50.3, 196.6),
    ("gpt-oss-120b", "bf16", 9.4, None, None),
    ("deepseek-v3", "bf16", 9.0, None, None),
    ("deepseek-v4-pro", "fp8", 0.6, 1.3, 5.0),  # approximate V4 model, labelled so
    ("deepseek-v4-flash", "fp8", 0.4, 0.9, 3.5),
]


def _r(x: float) -> float:
    return round(x / 1e9, 1)


@pytest.mark.parametrize("row", PARAMS, ids=[r[0] for r in PARAMS])
def test_params_and_weights_match_spec_table(row, catalog):
    model, total, attn, ffn, bf16, fp8, fp4, ckpt = row
    arch = api.get_model(model, catalog)
    p = param_counts(arch)
    assert _r(p.total) == total
    assert _r(p.attention) == attn
    assert _r(p.ffn) == ffn
    if bf16 is not None:
        assert _r(weight_bytes(arch, "bf16")) == bf16
    assert _r(weight_bytes(arch, "fp8")) == fp8
    assert _r(weight_bytes(arch, "fp4")) == fp4
    assert _r(weight_bytes(arch, "native")) == ckpt


@pytest.mark.parametrize("row", KV, ids=[r[0] for r in KV])
def test_kv_full_attention_matches_spec_table(row, catalog):
    model, dtype, *published = row
    fp = api.footprint(
        model,
        kv_dtype=dtype,
        contexts=(128_000, 256_000, 1_000_000),
        full_attention=True,
        catalog=catalog,
    )
    for ctx, pub in zip((128_000, 256_000, 1_000_000), published, strict=True):
        if pub is not None:
            assert _r(fp.kv_bytes[ctx]) == pub, ctx


def test_deepseek_v3_components(catalog):
    # SPEC §3: attention 11.6 B, FFN 669.1 B, KV = (512 + 64) values per token per layer
    arch = api.get_model("deepseek-v3", catalog)
    p = param_counts(arch)
    assert _r(p.attention) == 11.6
    assert _r(p.ffn) == 669.1
    assert arch.main_layers[0].kv_elems == 576
    assert len(arch.main_layers) == 61 and len(arch.mtp_layers) == 1
    # attention + FFN + embedding is the published total (682.5 B)
    assert _r(p.attention + p.ffn + p.embedding) == 682.5


def test_windows_honored_by_default(catalog):
    # gpt-oss: 18 of 36 layers keep only 128 tokens -> about half of the full-attention KV
    full = api.footprint("gpt-oss-120b", contexts=["128k"], full_attention=True, catalog=catalog)
    win = api.footprint("gpt-oss-120b", contexts=["128k"], catalog=catalog)
    per_layer = 2 * 8 * 64 * 2  # K+V, 8 KV heads, head_dim 64, bf16
    expected = 18 * per_layer * 128_000 + 18 * per_layer * 128
    assert win.kv_bytes[128_000] == pytest.approx(expected)
    assert full.kv_bytes[128_000] == pytest.approx(36 * per_layer * 128_000)


def test_llama4_chunked_layers(catalog):
    arch = api.get_model("llama-4-scout-17b-16e", catalog)
    kinds = [layer.attention for layer in arch.main_layers]
    assert kinds.count("chunked") == 36 and kinds.count("full") == 12
    assert kinds[3] == "full" and kinds[0] == "chunked"
    mav = api.get_model("llama-4-maverick-17b-128e", catalog)
    moe = [i for i, layer in enumerate(mav.main_layers) if layer.n_experts]
    assert moe[:3] == [1, 3, 5] and len(moe) == 24  # interleave_moe_layer_step = 2


def test_active_params(catalog):
    # Llama 4 Scout "17B active"; DeepSeek V3 "37B activated"; gpt-oss-120b "5.1B active"
    # (OpenAI counts without embeddings: 5.71 - 1.16 = 4.55 + ... close to 5.1 with unembed)
    assert round(param_counts(api.get_model("llama-4-scout-17b-16e", catalog)).active / 1e9) == 17
    assert round(param_counts(api.get_model("deepseek-v3", catalog)).active / 1e9) in (37, 38)


@given(
    a=st.integers(min_value=1, max_value=2_000_000),
    b=st.integers(min_value=1, max_value=2_000_000),
    model=st.sampled_from(
        [
            "llama-3.1-8b",
            "gpt-oss-120b",
            "deepseek-v3",
            "llama-4-scout-17b-16e",
            "deepseek-v4-flash",
        ]
    ),
    full=st.booleans(),
)
def test_kv_monotone_in_context(a, b, model, full):
    arch = api.get_model(model)
    lo, hi = sorted((a, b))
    assert kv_bytes(arch, lo, "bf16", full) <= kv_bytes(arch, hi, "bf16", full)
    assert kv_bytes(arch, lo, "fp8", full) <= kv_bytes(arch, lo, "bf16", full)


@pytest.mark.parametrize(
    "model",
    [
        "llama-3.1-8b",
        "gpt-oss-120b",
        "deepseek-v4-pro",
        "kimi-k2",
        "glm-4.7",
        "qwen3-coder-480b-a35b",
    ],
)
def test_fp4_lt_fp8_lt_bf16(model, catalog):
    arch = api.get_model(model, catalog)
    assert weight_bytes(arch, "fp4") < weight_bytes(arch, "fp8") < weight_bytes(arch, "bf16")


def test_head_dim_defaults_to_hidden_over_heads(tmp_path):
    import json

    cfg = {
        "hidden_size": 1024,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 4096,
        "vocab_size": 1000,
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(cfg))
    arch = api.get_model(str(path))
    assert arch.main_layers[0].kv_elems == 2 * 2 * 128
    p = param_counts(arch)
    attn = 2 * (1024 * 1024 + 1024 * 256)
    assert p.attention == 2 * attn
    assert p.ffn == 2 * 3 * 1024 * 4096
    assert p.embedding == 2 * 1000 * 1024


def test_flops_per_token(catalog):
    # decode: 2 x matmul params (every layer + LM head, not the embedding lookup) + attention
    # 4 x heads x head_dim x context per layer (QK and AV); Llama 3.1 8B at 8,000 tokens
    arch = api.get_model("llama-3.1-8b", catalog)
    from tokenfrontier.footprint import decode_flops_per_token, prefill_flops

    p = param_counts(arch)
    matmul = p.total - 128256 * 4096 - p.other
    expected = 2 * matmul + 32 * 4 * 32 * 128 * 8000
    assert decode_flops_per_token(arch, 8000) == pytest.approx(expected)
    # prefill of S tokens: 2 x matmul x S + attention over S(S+1)/2 pairs
    s = 4096
    assert prefill_flops(arch, s) == pytest.approx(2 * matmul * s + 32 * 4 * 32 * 128 * s * (s + 1) / 2)
