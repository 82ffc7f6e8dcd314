"""SRAM single-stream physics: mesh crossing, pipeline hops and the vendor's speculative decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from tokenfrontier.profiles import load_profiles
from tokenfrontier.scenario import build_scenario
from tokenfrontier.serving import Workload
from tokenfrontier.serving.closed_loop import steady_state
from tokenfrontier.specs import Profile
from tokenfrontier.step import decode_step, expected_accepted, total, vendor_speculation

# a hand-made profile: round numbers, so the step can be checked by hand
_BASE = dict(id="hand", families=("wse",), framework="hand", bandwidth_efficiency=0.8,
             flops_efficiency=0.3, decode_flops_efficiency=0.3, kernel_latency_s=1e-6,
             mesh_hop_latency_s=1e-7, collective_latency_s=1e-6, step_overhead_s=50e-6)  # fmt: skip


def _scen(model: str, hw: str, **prof):
    profile = Profile(**{**_BASE, **prof})
    return build_scenario(tf.get_model(model), tf.get_system(hw), weights="bf16", profile=profile)


def _layer_bytes_8b() -> float:
    # Llama 3.1 8B (config.json): hidden 4096, 32 heads of 128, 8 KV heads, FFN 14336, BF16
    attn = 4096 * 4096 * 2 + 2 * 4096 * 1024  # q, o; k, v
    ffn = 3 * 4096 * 14336  # gate, up, down
    return (attn + ffn + 2 * 4096) * 2.0  # + two RMSNorm weights; 2 bytes each


def test_mesh_crossing_by_hand_llama_8b_cs3():
    scen = _scen("llama-3.1-8b", "cs-3")
    parts = decode_step(scen.model, scen.hw, tp=1, pp=1, ep=1, batch=1, context=1024)
    # WSE-3: 44 GB over 900,000 cores = 48.9 kB per core (SPEC §2); a layer of 436 MB fills
    # 8,923 cores, a square 94.5 cores wide; 9 kernels per dense layer (5 attention + 4 FFN)
    tiles = _layer_bytes_8b() / (44e9 / 900_000)
    per_layer = 9 * 1e-6 + 1e-7 * math.sqrt(tiles)
    assert math.sqrt(tiles) == pytest.approx(94.46, rel=1e-3)
    assert float(parts["latency"]) == pytest.approx(32 * per_layer, rel=1e-3)
    assert float(parts["pipeline"]) == 0.0  # one wafer: no hop


def test_pipeline_hop_by_hand_llama_8b_two_wafers():
    scen = _scen("llama-3.1-8b", "cs-3")
    one = decode_step(scen.model, scen.hw, tp=1, pp=1, ep=1, batch=1, context=1024)
    two = decode_step(scen.model, scen.hw, tp=1, pp=2, ep=1, batch=1, context=1024)
    # one wafer boundary: 5 us hop (cs-3 catalog) + 4096 x 2 bytes over 150 GB/s
    assert float(two["pipeline"]) == pytest.approx(5e-6 + 4096 * 2 / 150e9, rel=1e-9)
    assert float(total(two) - total(one)) == pytest.approx(float(two["pipeline"]), rel=1e-9)


def test_vendor_speculation_by_hand():
    # k = 4 drafts, acceptance 0.8: 1 + .8 + .64 + .512 + .4096 = 3.3616 tokens per verify step
    assert expected_accepted(4, 0.8) == pytest.approx(3.3616)
    assert expected_accepted(4, 0.0) == 1.0
    assert expected_accepted(4, 1.0) == 5.0
    scen = _scen("llama-3.1-8b", "cs-3", spec_k=4, spec_acceptance=0.8, spec_draft_layers=8)
    q, tau, draft = vendor_speculation(scen.model, scen.hw, 1.0)
    per_layer = 9 * 1e-6 + 1e-7 * math.sqrt(_layer_bytes_8b() / (44e9 / 900_000))
    assert (q, tau) == (5, pytest.approx(3.3616))
    assert float(draft) == pytest.approx(4 * 8 * per_layer, rel=1e-3)  # 4 drafts x 8 layers
    # single stream: TPOT = (verify step of 5 tokens + drafts) / expected tokens per step
    out = steady_state(scen, tp=np.array(1.0), pp=np.array(1.0), ep=np.array(1.0),
                       concurrency=np.array(1.0), offload_fraction=0.0,
                       workload=Workload(1000, 1000, 1.0))  # fmt: skip
    ctx = Workload(1000, 1000, 1.0).decode_context
    step = total(decode_step(scen.model, scen.hw, tp=1, pp=1, ep=1, batch=1, context=ctx,
                             tokens_per_seq=5))  # fmt: skip
    assert float(out["tpot_s"]) == pytest.approx(float((step + draft) / 3.3616), rel=1e-6)
    assert float(out["step_draft_s"]) == pytest.approx(float(draft / 3.3616), rel=1e-6)


def _tpot(model: str, **prof) -> float:
    scen = _scen(model, "cs-3", **prof)
    out = steady_state(scen, tp=np.array(1.0), pp=np.array(4.0), ep=np.array(1.0),
                       concurrency=np.array(1.0), offload_fraction=0.0,
                       workload=Workload(1000, 1000, 1.0))  # fmt: skip
    return float(out["tpot_s"])


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(0.0, 0.9),
    da=st.floats(0.001, 0.09),
    k=st.integers(1, 8),
    layers=st.floats(0.0, 16.0),
)
def test_higher_acceptance_is_never_slower(a, da, k, layers):
    spec = dict(spec_k=k, spec_draft_layers=layers)
    assert _tpot("llama-3.1-70b", spec_acceptance=a + da, **spec) <= _tpot(
        "llama-3.1-70b", spec_acceptance=a, **spec
    ) * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(pp=st.integers(1, 7), hop=st.floats(0.0, 1e-6))
def test_another_wafer_costs_at_most_its_hop(pp, hop):
    # pipelining along layers: a token still walks every layer, so one more wafer adds its
    # boundary hop (latency + activations over 150 GB/s) and nothing else at one stream
    scen = _scen("llama-3.1-70b", "cs-3", mesh_hop_latency_s=hop)
    kw = dict(tp=1, ep=1, batch=1, context=2048)
    a = total(decode_step(scen.model, scen.hw, pp=pp, **kw))
    b = total(decode_step(scen.model, scen.hw, pp=pp + 1, **kw))
    hop_cost = 5e-6 + 8192 * 2 / 150e9
    assert float(b) >= float(a)
    assert float(b - a) <= hop_cost * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(hop=st.floats(0.0, 1e-6), kern=st.floats(0.0, 5e-6))
def test_bigger_layers_take_longer_on_the_mesh(hop, kern):
    small = _scen("llama-3.1-8b", "cs-3", mesh_hop_latency_s=hop, kernel_latency_s=kern)
    big = _scen("llama-3.1-70b", "cs-3", mesh_hop_latency_s=hop, kernel_latency_s=kern)
    kw = dict(tp=1, pp=1, ep=1, batch=1, context=2048)
    per_layer_small = decode_step(small.model, small.hw, **kw)["latency"] / small.model.n_layers
    per_layer_big = decode_step(big.model, big.hw, **kw)["latency"] / big.model.n_layers
    assert float(per_layer_big) >= float(per_layer_small) * (1 - 1e-12)


def test_current_era_profiles_speculate_and_2024_ones_do_not():
    profiles = load_profiles()
    for pid in ("wse-cerebras-inference", "lpu-groq"):
        p = profiles[pid]
        assert p.spec_k > 0 and 0 < p.spec_acceptance < 1 and p.era == ""
        assert profiles[f"{pid}-2024"].spec_k == 0
    # the silicon: a WSE mesh hop (all crossings of a layer together) is sub-microsecond
    assert 0 < profiles["wse-cerebras-inference-2024"].mesh_hop_latency_s < 1e-6


# --- the generation factor in the fallback chain (profiles.across_generations) ---------------


def _hbm(pid: str, family: str, fw: str, eta: float, eta_dec: float) -> Profile:
    return Profile(id=pid, families=(family,), framework=fw, bandwidth_efficiency=0.8,
                   flops_efficiency=eta, decode_flops_efficiency=eta_dec, kernel_latency_s=4e-6,
                   collective_latency_s=1e-5, step_overhead_s=1e-3, fitted=True)  # fmt: skip


def test_generation_factor_from_a_stack_measured_on_both_families():
    from tokenfrontier.profiles import resolve_profile

    profiles = {
        "hopper-a": _hbm("hopper-a", "hopper", "vllm", 0.5, 0.4),
        # another stack on both generations: Blackwell reaches 0.6x / 0.5x Hopper's fractions
        "hopper-b": _hbm("hopper-b", "hopper", "sglang", 0.4, 0.2),
        "blackwell-b": _hbm("blackwell-b", "blackwell", "sglang", 0.24, 0.1),
    }
    got = resolve_profile(tf.get_system("b200").chip, "vllm", profiles)
    assert got.id == "hopper-a"  # the interval level stays "transfer"
    assert got.flops_efficiency == pytest.approx(0.5 * 0.6)
    assert got.decode_flops_efficiency == pytest.approx(0.4 * 0.5)
    assert got.bandwidth_efficiency == 0.8 and got.kernel_latency_s == 4e-6  # stack-owned
    assert "blackwell/hopper generation factor measured on sglang" in got.derived_from
    # on its own family, and with no stack measured on both, the profile is unchanged
    assert resolve_profile(tf.get_system("h100").chip, "vllm", profiles) is profiles["hopper-a"]
    alone = {k: v for k, v in profiles.items() if k != "blackwell-b"}
    assert resolve_profile(tf.get_system("b200").chip, "vllm", alone) is profiles["hopper-a"]
    # the same inputs give the same object (scenarios are cached by profile identity)
    assert resolve_profile(tf.get_system("b200").chip, "vllm", profiles) is got


def test_explain_names_the_generation_factor():
    p = tf.predict("llama-3.1-8b", "b200", isl=1024, osl=1024, concurrency=8, framework="vllm")
    # the stacks fitted on both Hopper and Blackwell lend the factor (trt; sglang since disagg.csv
    # is fitted too)
    assert "blackwell/hopper generation factor measured on" in p.derivation
    assert "trt" in p.derivation.split("generation factor measured on", 1)[1].split("(", 1)[0]


# --- a layer spread over a group of chips (Groq LPU: 230 MB of SRAM per chip) -----------------


def _groq(model: str = "llama-3.1-70b", hop: float | None = None, sram_bytes: float | None = None, **prof):
    system = tf.get_system("groq-lpu1")
    if sram_bytes is not None:
        mem = system.chip.memory[0].model_copy(update={"capacity_bytes": sram_bytes})
        system = system.model_copy(update={"chip": system.chip.model_copy(update={"memory": (mem,)})})
    if hop is not None:
        system = system.model_copy(update={"hop_latency_s": hop})
    profile = Profile(**{**_BASE, "families": ("lpu",), **prof})
    return build_scenario(tf.get_model(model), system, weights="fp8", profile=profile)


def test_chip_crossings_by_hand_llama_70b_groq():
    from tokenfrontier.placement import deploy_scenario

    scen = _groq()
    dep = deploy_scenario(scen)
    # 218.5 MB usable per chip (95% of 230 MB); the largest item (last layer + LM head, FP8)
    # needs 9 chips, so every stage is a 9-chip group, and 70.6 GB of FP8 weights need 41 stages
    assert (dep.chips_per_system, dep.min_systems) == (9, 41)
    parts = {k: float(v) for k, v in decode_step(scen.model, scen.hw, tp=9, pp=41, ep=1, batch=1,
                                                  context=1024).items()}  # fmt: skip
    # Llama 3.1 70B layer (config.json): q, o 8192x8192, k, v 8192x1024, FFN 3 x 8192x28672,
    # two RMSNorms: 855,654,400 parameters = bytes in FP8; over 9 chips of one 230 MB tile each
    layer = 2 * 8192 * 8192 + 2 * 8192 * 1024 + 3 * 8192 * 28672 + 2 * 8192
    assert layer == 855_654_400
    mesh = 80 * 1e-7 * math.sqrt(layer / 9 / 230e6)  # 5.14 us: a chip is one tile
    kernels = 80 * 9 * 1e-6  # 9 kernels per layer at 1 us: 720 us
    crossings = 80 * 9 * 5e-6  # every kernel of every layer crosses the group once: 3.6 ms
    assert parts["latency"] == pytest.approx(kernels + mesh + crossings, rel=1e-6)
    assert parts["latency"] == pytest.approx(4.3251e-3, rel=1e-4)
    # 40 stage boundaries: 5 us hop + 8192 x 2 bytes over 9 chips' 480 GB/s links
    assert parts["pipeline"] == pytest.approx(40 * (5e-6 + 8192 * 2 / (9 * 480e9)), rel=1e-9)
    # weights: 69.5 GB read (the embedding table is not) over 9 chips x 80 TB/s x 0.8
    assert parts["weights"] == pytest.approx(scen.model.dense_bytes / (9 * 80e12 * 0.8), rel=1e-9)
    # the step (one token: single stream): 4.33 ms latency + 0.20 ms hops + 0.12 ms weights
    # + 9.7 us all-reduce bytes + 50 us overhead + KV = 4.705 ms, about 213 tok/s
    assert sum(parts.values()) == pytest.approx(4.7053e-3, rel=1e-3)


def test_a_wafer_layer_crosses_no_chip():
    scen = _scen("llama-3.1-70b", "cs-3")
    from tokenfrontier.step import chip_crossings

    assert float(chip_crossings(scen.model, scen.hw, 1.0)) == 0.0
    gpu = Profile(**{**_BASE, "families": ("hopper",), "mesh_hop_latency_s": 0.0})
    hbm = build_scenario(tf.get_model("llama-3.1-70b"), tf.get_system("h100"), weights="fp8", profile=gpu)
    assert float(chip_crossings(hbm.model, hbm.hw, 8.0)) == 0.0  # GPUs: collectives, not this


@settings(max_examples=25, deadline=None)
@given(hop=st.floats(0.0, 20e-6), more=st.floats(1e-9, 20e-6), kern=st.floats(0.0, 5e-6))
def test_more_hop_latency_is_never_faster(hop, more, kern):
    kw = dict(tp=9, pp=41, ep=1, batch=1, context=2048)
    a = _groq(hop=hop, kernel_latency_s=kern)
    b = _groq(hop=hop + more, kernel_latency_s=kern)
    assert float(total(decode_step(b.model, b.hw, **kw))) >= float(total(decode_step(a.model, a.hw, **kw)))


@settings(max_examples=20, deadline=None)
@given(mb=st.floats(100.0, 2000.0), factor=st.floats(1.0, 4.0))
def test_more_sram_per_chip_never_needs_more_chips(mb, factor):
    from tokenfrontier.placement import deploy_scenario

    def chips(sram_bytes: float) -> int:
        dep = deploy_scenario(_groq("llama-3.1-8b", sram_bytes=sram_bytes))
        return dep.min_systems * dep.chips_per_system

    assert chips(mb * 1e6 * factor) <= chips(mb * 1e6)


def test_chip_group_profiles_fit_the_link_and_defaults_keep_the_catalog_hop():
    from tokenfrontier.profiles import resolve_profile

    profiles = load_profiles()
    groq = profiles["lpu-groq-2024"]
    # one-tile chips: the rows see chip crossings, not a mesh; the fitted crossing stays within
    # a factor of two of the catalog's 5 us per boundary (SPEC §2), the mesh hop at its prior
    assert 2.5e-6 < groq.link_latency_s < 10e-6 and groq.mesh_hop_latency_s == pytest.approx(1e-7)
    assert profiles["wse-cerebras-inference-2024"].link_latency_s == 0.0  # a wafer: the catalog's
    for pid in ("sram-default", "sram-default-2024"):
        assert profiles[pid].link_latency_s == 0.0  # an unmeasured machine: its catalog hop
    # a 2024 row of an SRAM machine no stack was measured on borrows 2024 software (no drafts)
    lp30 = tf.get_system("groq-lp30").chip
    assert resolve_profile(lp30, None, {k: v for k, v in profiles.items() if "lpu" not in k},
                           era="2024").id == "sram-default-2024"  # fmt: skip
    assert profiles["sram-default-2024"].spec_k == 0 and profiles["sram-default"].spec_k > 0
    scen = _groq(link_latency_s=3e-6)
    assert scen.hw.hop_latency_s == 3e-6  # the fitted link replaces the catalog hop
