"""Issue 10: the simulator streams. Workloads come in chunks identical to the in-memory ones,
the engine holds only the stretch of the stream in flight, and ``requests_out`` writes the
per-request table as requests finish with a summary kept in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import tokenfrontier as tf
from tokenfrontier.errors import InvalidInputError
from tokenfrontier.sim import agentic as agentic_mod
from tokenfrontier.sim import stream
from tokenfrontier.sim import traces as traces_mod
from tokenfrontier.sim import workload as wl
from tokenfrontier.sim.agentic import agentic, agentic_source
from tokenfrontier.sim.stream import RELATIVE_ERROR, QuantileSketch
from tokenfrontier.sim.traces import read_trace, trace_source

FIELDS = ("arrival_s", "isl", "osl", "follows", "delay_s", "session")
SMALL = 7  # a chunk size that puts chunk boundaries everywhere


@pytest.fixture
def small_chunks(monkeypatch):
    for mod in (wl, agentic_mod, traces_mod):
        monkeypatch.setattr(mod, "CHUNK", SMALL)


def _same(a: wl.Requests, b: wl.Requests) -> None:
    for key in FIELDS:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    assert a.blocks == b.blocks and a.name == b.name


# -- workloads: chunks in any size are the in-memory stream, bit for bit ------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: wl.ClosedLoop(5, 60, 1000, 100, spread=0.5, seed=3),
        lambda: wl.OpenLoop(4.0, 60, 1000, 100, spread=0.3, burstiness=0.5, seed=2),
        lambda: agentic_source(requests=300, seed=1),
        lambda: agentic_source(40, seed=4, max_context=200_000),
        lambda: trace_source("mooncake_synthetic", limit=50),
    ],
)
def test_streams_in_small_chunks_equal_the_in_memory_workload(make, monkeypatch):
    whole = make().materialize()  # chunks of 16,384: one chunk here
    for mod in (wl, agentic_mod, traces_mod):
        monkeypatch.setattr(mod, "CHUNK", SMALL)
    parts = list(make().chunks())
    assert len(parts) > 3 and [c.start for c in parts] == list(np.cumsum([0] + [len(c) for c in parts[:-1]]))
    _same(make().materialize(), whole)


def test_in_memory_generators_are_the_materialized_streams():
    _same(wl.closed_loop(5, 60, 1000, 100, spread=0.5, seed=3),
          wl.ClosedLoop(5, 60, 1000, 100, spread=0.5, seed=3).materialize())  # fmt: skip
    _same(agentic(requests=500, seed=2), agentic_source(requests=500, seed=2).materialize())
    assert len(agentic_source(requests=500).materialize()) == 500


def test_trace_chunks_keep_sessions_order_checks_and_row_numbers(tmp_path, small_chunks):
    rows = [f"{t},{10 + t},{2 + t % 3},{'ab'[t % 2]}" for t in range(20)]
    path = tmp_path / "t.csv"
    path.write_text("arrival_s,input_tokens,output_tokens,session_id\n" + "\n".join(rows) + "\n")
    req = read_trace(path)
    assert req.session.tolist() == [t % 2 for t in range(20)]  # one map across chunks
    assert req.arrival_s.tolist() == [float(t) for t in range(20)]
    rows[9] = "3,10,2,a"  # row 10 (second chunk) is before row 9 (first chunk)
    rows[15] = "15,-4,2,a"
    path.write_text("arrival_s,input_tokens,output_tokens,session_id\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError, match=r"row 10: arrival 3 s is before row 9's 8 s"):
        read_trace(path)
    rows[9] = "9,10,2,a"
    rows[7] = "5,10,2,a"  # row 8 opens the second chunk, before row 7 (the first chunk's last)
    path.write_text("arrival_s,input_tokens,output_tokens,session_id\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError, match=r"row 8: arrival 5 s is before row 7's 6 s"):
        read_trace(path)
    rows[7] = "7,10,2,a"
    path.write_text("arrival_s,input_tokens,output_tokens,session_id\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError, match=r"row 16: input_tokens '-4' is negative"):
        read_trace(path)


# -- the engine: streaming and in-memory runs give the same per-request table ----------------------
RUN = dict(workload="closed", isl=512, osl=64, concurrency=32, requests=600, spread=0.5, replicas=2, seed=1)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streamed_table_and_summary_equal_the_in_memory_run(tmp_path, suffix):
    pytest.importorskip("pyarrow")
    mem = tf.simulate("llama-3.1-8b", "h100", **RUN)
    path = tmp_path / f"requests{suffix}"
    streamed = tf.simulate("llama-3.1-8b", "h100", **RUN, requests_out=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
    frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert list(frame.columns) == list(mem.columns)
    assert (frame["replica"].diff().fillna(0) >= 0).all()  # grouped by replica, as the engines ran
    frame = frame.sort_values("request").reset_index(drop=True)
    for key, values in mem.columns.items():
        np.testing.assert_allclose(frame[key].to_numpy(dtype=float), np.asarray(values, dtype=float),
                                   rtol=0 if suffix == ".parquet" else 1e-15, err_msg=key)  # fmt: skip
    assert streamed.summary == mem.summary  # few requests: the exact summary
    assert len(streamed.columns["request"]) == 600  # read back from the file when asked


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


LONG = {  # more requests than the summary keeps exactly (16,384): percentiles from the sketch
    "closed": {
        **RUN,
        "requests": 20_000,
        "concurrency": 64,
        "spread": 0.2,
        "slo_ttft_s": 0.05,
        "slo_tpot_s": 0.01,
    },
    "agentic": {
        "workload": "agentic",
        "requests": 17_000,
        "replicas": 2,
        "host_cache_gb": 200,
        "slo_ttft_s": 1.0,
    },
}


@pytest.mark.parametrize("kind", LONG)
def test_streamed_summary_within_the_sketch_bound_on_a_long_run(tmp_path, kind):
    pytest.importorskip("pyarrow")
    on = "h100" if kind == "closed" else "dgx-h100"
    mem = _flat(tf.simulate("llama-3.1-8b", on, **LONG[kind]).summary)
    streamed = _flat(
        tf.simulate("llama-3.1-8b", on, **LONG[kind], requests_out=tmp_path / "r.parquet").summary
    )
    assert streamed.keys() == mem.keys()
    for key, want in mem.items():
        if key.split(".")[-1] in ("p50", "p90", "p99"):  # the sketch: within its bound
            assert streamed[key] == pytest.approx(want, rel=RELATIVE_ERROR), key
        elif key.startswith("steady_state."):  # time buckets: the window's ends interpolated
            assert streamed[key] == pytest.approx(want, rel=0.01), key
        elif want is None or isinstance(want, str):
            assert streamed[key] == want, key
        else:  # running sums and counts
            assert streamed[key] == pytest.approx(want, rel=1e-9, abs=1e-12), key
    if kind == "agentic":
        assert mem["cache.cached_token_share"] > 0.5  # the prefix cache at work


def test_requests_in_equal_requests_out_when_streaming(tmp_path, small_chunks):
    # a chain whose first request can never fit (rejected): its follower never arrives, and both
    # are still rows of the table; chunks of 7 make the engine read and drop the window often
    n = 40
    follows = np.full(n, -1)
    follows[[5, 6]] = [3, 5]  # 3 -> 5 -> 6
    isl = np.full(n, 256)
    isl[3] = 10_000_000
    req = wl.Requests(arrival_s=np.where(follows < 0, np.arange(n) * 0.01, np.nan), isl=isl,
                      osl=np.full(n, 8), follows=follows, delay_s=np.zeros(n),
                      session=np.full(n, -1))  # fmt: skip
    path = tmp_path / "r.csv"
    sim = tf.simulate("llama-3.1-8b", "h100", workload=req, tp=1, replicas=3, requests_out=path)
    frame = pd.read_csv(path)
    assert sorted(frame["request"]) == list(range(n))
    s = sim.summary
    assert (s["requests"], s["completed"], s["rejected"], s["unfinished"]) == (n, n - 3, 1, 2)
    assert frame.set_index("request").loc[[5, 6], "finish_s"].isna().all()


def test_bad_requests_out_fails_before_the_run(tmp_path):
    with pytest.raises(InvalidInputError, match=r"unknown format '\.txt'"):
        tf.simulate("llama-3.1-8b", "h100", **RUN, requests_out=tmp_path / "r.txt")
    with pytest.raises(InvalidInputError, match="does not exist"):
        tf.simulate("llama-3.1-8b", "h100", **RUN, requests_out=tmp_path / "no" / "r.csv")
    assert not list(tmp_path.iterdir())


# -- memory: grows with requests in flight, not with requests simulated --------------------------
def _peak_bytes(requests: int, path) -> int:
    tracemalloc.start()
    try:
        tf.simulate("llama-3.1-8b", "h100", workload="closed", isl=256, osl=16, concurrency=32,
                    requests=requests, prefix_cache=False, requests_out=path)  # fmt: skip
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streamed_run_memory_does_not_grow_with_requests(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(wl, "CHUNK", 1024)  # the engine's window: about two chunks
    monkeypatch.setattr(stream, "EXACT_ROWS", 1024)  # rows the summary keeps for an exact small run
    _peak_bytes(1000, tmp_path / "warm.parquet")  # first-use caches (catalog, step model)
    small = _peak_bytes(6_000, tmp_path / "a.parquet")
    large = _peak_bytes(24_000, tmp_path / "b.parquet")
    assert large < 1.2 * small, (small, large)  # flat (within noise)


# -- the quantile sketch ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sketch_percentiles_within_half_a_percent(seed):
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.lognormal(-3, 1.5, 30_000), rng.uniform(0.5, 0.6, 5_000), [1e-12, 0.0]])
    sketch = QuantileSketch(exact_limit=100)
    for part in np.array_split(rng.permutation(values), 17):
        sketch.add(part)
    got = sketch.percentiles((1, 50, 90, 99, 100))
    exact = np.percentile(np.maximum(values, 1e-9), [1, 50, 90, 99, 100])
    for q, want in zip((1, 50, 90, 99, 100), exact, strict=True):
        assert got[f"p{q}"] == pytest.approx(want, rel=RELATIVE_ERROR), q
    assert got["mean"] == pytest.approx(values.mean(), rel=1e-12)


def test_sketch_is_exact_below_its_limit_and_empty_is_none():
    v = np.array([3.0, 1.0, 2.0, np.nan])
    sketch = QuantileSketch()
    sketch.add(v)
    assert sketch.percentiles((50, 99)) == {"p50": 2.0, "p99": pytest.approx(2.98), "mean": 2.0}
    assert QuantileSketch().percentiles((50,)) == {"p50": None, "mean": None}


def test_jsonl_errors_name_the_row_of_the_file_across_chunks(tmp_path, small_chunks):
    rows = [f'{{"arrival_s": {t}, "input_tokens": 10, "output_tokens": 2}}' for t in range(20)]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([*rows[:11], "{oops", *rows[12:]]) + "\n")
    with pytest.raises(InvalidInputError, match=r"row 12: not valid JSON"):
        read_trace(path)
    path.write_text("\n".join([*rows[:9], '{"arrival_s": 9, "input_tokens": 10}', *rows[10:]]) + "\n")
    with pytest.raises(InvalidInputError, match=r"row 10: no 'output_tokens' key \(row 1 has it\)"):
        read_trace(path)
    path.write_text("\n".join(rows) + "\n")
    assert len(read_trace(path)) == 20 and len(list(trace_source(path).chunks())) == 3
