"""Disaggregated TTFT (serving/pools.py): one hand-checked value and its monotonicity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from tokenfrontier.scenario import build_scenario
from tokenfrontier.serving.pools import PrefillPool, apply_pool, queue_wait
from tokenfrontier.specs import Profile

# an explicit profile (not the bundled fit, which a refit moves): overhead 100 ms, arrivals at
# the prefill pool with squared coefficient of variation 4, batch formation at the prefill worker
# of 1.5 of its one-token passes, first token half a decode step after the KV lands
PROF = Profile(id="t", families=("blackwell",), framework="sglang", bandwidth_efficiency=0.9,
               flops_efficiency=0.3, kernel_latency_s=5e-6, collective_latency_s=10e-6,
               step_overhead_s=1e-3, request_overhead_s=0.1, arrival_scv=4.0,
               prefill_passes=1.5, handoff_steps=0.5)  # fmt: skip


def _scen(system: tf.System | None = None):  # type: ignore[no-untyped-def]
    system = system or tf.get_system("gb200-nvl72")
    return build_scenario(tf.get_model("deepseek-r1"), system, weights="fp4", kv_dtype="bf16", profile=PROF)


class _FixedPrefill(PrefillPool):
    """A prefill worker that takes 50 ms per prompt (10 ms for a one-token pass, its fixed
    per-pass cost) and serves 20 prompts/s (hand numbers)."""

    def prefill_s(self, tokens: float) -> float:
        return 0.01 if tokens == 1.0 else 0.05

    def prompts_per_s(self, tokens: float) -> float:
        return 20.0


def test_hand_checked_ttft_deepseek_r1_gb200_dp_attention() -> None:
    """disagg.csv-like row: DeepSeek-R1 FP4 on GB200 NVL72, one prefill worker and two decode
    copies of 4 GPUs with attention data-parallel (dp = 4), 32 requests per decode copy, mean
    lengths 0.9 x 1024 = 921.6 tokens, decode step 10 ms."""
    scen = _scen()
    pool = _FixedPrefill(scenario=scen, tp=4, pp=1, ep=4, workers=1, decode_workers=2, dp=4)
    out = apply_pool(scen, pool, tp=np.array([4.0]), pp=np.array([1.0]), concurrency=np.array([32.0]),
                     per_token=np.array([0.01]), isl=921.6, osl=921.6, dp=4.0, step=0.01)  # fmt: skip
    # KV of one prompt: 61 layers x MLA latent (512 + 64) x 2 B = 70,272 B/token x 921.6 tokens
    kv = 61 * 576 * 2 * 921.6
    assert kv == pytest.approx(64_762_675.2)
    # it leaves the prefill rank of 1 GPU and lands on the decode rank of 1 GPU (dp = tp: the
    # latent is not replicated), each at the GB200's 50 GB/s scale-out; + 5 us hop
    move = kv / 50e9 + 5e-6  # = 1.3003 ms
    assert float(out["kv_transfer_s"][0]) == pytest.approx(move)
    # no-wait TTFT = overhead + remote prefill + prefill passes x one-token pass + hand-off
    #                + h decode steps = 100 ms + 50 ms + 1.5 x 10 ms + 1.30 ms + 0.5 x 10 ms
    ttft0 = 0.1 + 0.05 + 1.5 * 0.01 + move + 0.5 * 0.01  # = 171.30 ms
    # 64 requests in flight cycle through prefill and (921.6 - 1) x 10 ms = 9.206 s of decode;
    # the pool serves 20 prompts/s (service 50 ms): rho = 64 / (TTFT + 9.206) / 20, and the
    # G/D/1 wait = 0.05 x rho / (1 - rho) x 4 / 2, solved for TTFT = ttft0 + wait
    think = (921.6 - 1) * 0.01
    ttft = ttft0
    for _ in range(50):
        rho = 64 / (ttft + think) / 20
        ttft = ttft0 + 0.05 * rho / (1 - rho) * 4 / 2
    assert ttft0 == pytest.approx(0.171300, rel=1e-5)
    assert rho == pytest.approx(0.33939, rel=1e-4)
    assert ttft == pytest.approx(0.22268, rel=1e-4)  # 171.3 ms + 51.4 ms in the prefill queue
    assert float(out["ttft_s"][0]) == pytest.approx(ttft, rel=1e-7)
    assert float(out["prefill_wait_s"][0]) == pytest.approx(ttft - ttft0, rel=1e-6)
    assert float(out["request_rate"][0]) == pytest.approx(64 / (ttft + think), rel=1e-7)
    assert int(out["limited_by"][0]) == 0  # 6.8 of 20 prompts/s: the decode pool limits


def test_queue_wait_poisson_is_md1() -> None:
    # M/D/1: W = S rho / (2 (1 - rho)); service 40 ms at rho 0.5 -> 20 ms
    assert float(queue_wait(0.04, np.asarray(0.5))) == pytest.approx(0.02)
    assert float(queue_wait(0.04, np.asarray(0.5), 3.0)) == pytest.approx(0.06)


def _ttft(workers: int, io: float, conc: float, decode_workers: int) -> float:
    base = tf.get_system("gb200-nvl72")
    scen = _scen(base.model_copy(update={"scale_out_bytes_per_s": io * base.chips}))
    pool = PrefillPool(scenario=scen, tp=4, pp=1, ep=4, workers=workers, decode_workers=decode_workers, dp=4)
    out = apply_pool(scen, pool, tp=np.array([8.0]), pp=np.array([1.0]), concurrency=np.array([conc]),
                     per_token=np.array([0.012]), isl=7372.8, osl=921.6, dp=8.0, step=0.012)  # fmt: skip
    return float(out["ttft_s"][0])


@settings(max_examples=25, deadline=None)
@given(
    workers=st.integers(1, 8),
    more=st.integers(1, 8),
    io=st.floats(1e9, 1e12),
    conc=st.floats(1, 4096),
    decode_workers=st.integers(1, 4),
)
def test_more_prefill_workers_never_raise_ttft(workers, more, io, conc, decode_workers) -> None:  # type: ignore[no-untyped-def]
    a = _ttft(workers, io, conc, decode_workers)
    b = _ttft(workers + more, io, conc, decode_workers)
    assert b <= a * (1 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(
    workers=st.integers(1, 8),
    io=st.floats(1e9, 1e12),
    factor=st.floats(1.0, 100.0),
    conc=st.floats(1, 4096),
    decode_workers=st.integers(1, 4),
)
def test_more_interconnect_bandwidth_never_raises_ttft(workers, io, factor, conc, decode_workers) -> None:  # type: ignore[no-untyped-def]
    a = _ttft(workers, io, conc, decode_workers)
    b = _ttft(workers, io * factor, conc, decode_workers)
    assert b <= a * (1 + 1e-9)


def test_shared_queue_of_many_workers_waits_less() -> None:
    """Allen-Cunneen G/D/c: Erlang C(c, c rho) / (c (1 - rho)) x service x scv / 2. c = 1 is
    Kingman's G/D/1; c = 2 at rho = 0.5: a = 1, B(1) = 1/2, B(2) = (1 x 1/2) / (2 + 1/2) = 0.2,
    C = 0.2 / (1 - 0.5 x 0.8) = 1/3, so the wait is 1/3 / (2 x 0.5) x 0.04 / 2 = 6.67 ms (M/D/1 at
    the same load: 20 ms)."""
    from tokenfrontier.serving.pools import erlang_c

    assert float(erlang_c(np.asarray(1.0), np.asarray(0.5))) == pytest.approx(0.5)
    assert float(erlang_c(np.asarray(2.0), np.asarray(0.5))) == pytest.approx(1 / 3)
    assert float(queue_wait(0.04, np.asarray(0.5), 1.0, 2.0)) == pytest.approx(0.04 / 6)
    waits = [float(queue_wait(0.05, np.asarray(0.7), 2.0, c)) for c in (1, 2, 4, 8, 20)]
    assert all(b < a for a, b in itertools.pairwise(waits))
