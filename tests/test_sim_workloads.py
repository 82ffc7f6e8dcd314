"""Workloads for the simulator (issue 10): trace replay and the agentic-coding generator."""

from __future__ import annotations

import gzip
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from tokenfrontier.errors import InvalidInputError
from tokenfrontier.sim.agentic import (
    DEFAULTS,
    PRICE_CARD,
    SPEND_MIX,
    TARGETS,
    TOKEN_MIX,
    TOLERANCE,
    agentic,
    calibrate,
    describe,
)
from tokenfrontier.sim.traces import BUNDLED_TRACES, read_trace
from tokenfrontier.sim.workload import BLOCK_TOKENS, closed_loop


def write(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def jsonl(*rows: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


PLAIN = (
    "arrival_s,input_tokens,output_tokens,session_id,prefix_blocks\n"
    "10.0,100,5,a,1 2\n"
    "10.5,200,0,b,1;3\n"
    "12.0,300,7,a,\n"
)
MOONCAKE = jsonl(
    {"timestamp": 0, "input_length": 1000, "output_length": 10, "hash_ids": [0, 1]},
    {"timestamp": 1500, "input_length": 600, "output_length": 20, "hash_ids": [0, 2]},
    {"timestamp": 3000, "input_length": 512, "output_length": 30, "hash_ids": [3]},
)
AZURE = (
    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    "2023-11-16 18:15:46.6805900,4808,10\n"
    "2023-11-16 18:15:47.1805900,3180,8\n"
    "2023-11-16 18:15:50.0000000,110,27\n"
)


# -- trace replay: exact values ------------------------------------------------------------------
def test_plain_csv_three_rows(tmp_path):
    req = read_trace(write(tmp_path / "t.csv", PLAIN))
    assert req.arrival_s.tolist() == [0.0, 0.5, 2.0]
    assert req.isl.tolist() == [100, 200, 300]
    assert req.osl.tolist() == [5, 1, 7]  # a 0-token output is read as 1 and counted
    assert req.stats["zero_lengths_raised"] == 1
    assert req.follows.tolist() == [-1, -1, -1] and req.delay_s.tolist() == [0.0, 0.0, 0.0]
    assert req.session.tolist() == [0, 1, 0]
    assert req.blocks == ((1, 2), (1, 3), ())
    assert req.isl.dtype == np.int64 and req.session.dtype == np.int64


def test_time_scale_and_limit(tmp_path):
    path = write(tmp_path / "t.csv", PLAIN)
    assert read_trace(path, time_scale=0.5).arrival_s.tolist() == [0.0, 0.25, 1.0]
    assert read_trace(path, time_scale=2).arrival_s.tolist() == [0.0, 1.0, 4.0]
    two = read_trace(path, limit=2)
    assert len(two) == 2 and two.isl.tolist() == [100, 200]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_mooncake_jsonl(tmp_path, suffix):
    req = read_trace(write(tmp_path / f"m{suffix}", MOONCAKE))
    assert req.arrival_s.tolist() == [0.0, 1.5, 3.0]  # milliseconds -> seconds
    assert req.isl.tolist() == [1000, 600, 512] and req.osl.tolist() == [10, 20, 30]
    assert req.blocks == ((0, 1), (0, 2), (3,))
    assert (req.session == -1).all()  # Mooncake has no sessions
    assert "Mooncake" in req.name


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_azure_csv_datetimes(tmp_path, suffix):
    req = read_trace(write(tmp_path / f"a{suffix}", AZURE))
    assert req.arrival_s == pytest.approx([0.0, 0.5, 3.31941])
    assert req.isl.tolist() == [4808, 3180, 110] and req.osl.tolist() == [10, 8, 27]
    assert req.blocks is None and (req.session == -1).all()


def test_azure_zone_aware_and_seconds(tmp_path):
    aware = (
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-05-10 00:00:00.009930+00:00,10,1\n"
        "2024-05-10 02:00:01.009930+02:00,20,2\n"  # the same instant + 1 s, another zone
    )
    assert read_trace(write(tmp_path / "z.csv", aware)).arrival_s == pytest.approx([0.0, 1.0])
    seconds = "TIMESTAMP,ContextTokens,GeneratedTokens\n100.25,10,1\n101,20,2\n"
    assert read_trace(write(tmp_path / "s.csv", seconds)).arrival_s.tolist() == [0.0, 0.75]


def test_plain_jsonl_with_sessions_and_blank_lines(tmp_path):
    text = (
        '{"arrival_s": 1, "input_tokens": 5, "output_tokens": 2, "session_id": 7, "prefix_blocks": [4]}\n'
        "\n"
        '{"arrival_s": 2, "input_tokens": 6, "output_tokens": 3, "session_id": null}\n'
    )
    req = read_trace(write(tmp_path / "p.jsonl", text))
    assert req.arrival_s.tolist() == [0.0, 1.0] and req.session.tolist() == [0, -1]


# -- trace replay: errors ------------------------------------------------------------------------
def one_line_error(path: object, match: str, **kw: object) -> str:
    with pytest.raises(InvalidInputError, match=match) as info:
        read_trace(path, **kw)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message, message
    return message


BAD_CSV = {
    "missing": ("arrival_s,input_tokens\n1,2\n", "missing columns output_tokens"),
    "negative": (
        "arrival_s,input_tokens,output_tokens\n0,1,1\n1,-5,1\n",
        "row 2: input_tokens '-5' is negative; token counts are integers >= 0",
    ),
    "fraction": (
        "arrival_s,input_tokens,output_tokens\n0,1,1\n1,2,1\n2,3,2.5\n",
        "row 3: output_tokens '2.5' is not a whole number",
    ),
    "text": ("arrival_s,input_tokens,output_tokens\n0,x,1\n", "row 1: input_tokens 'x' is not a number"),
    "nan": ("arrival_s,input_tokens,output_tokens\n0,1,1\nnan,1,1\n", "row 2: arrival time is not a finite"),
    "inf": ("arrival_s,input_tokens,output_tokens\n0,1,1\n1,1,1\ninf,1,1\n", "row 3: arrival time is not a"),
    "unsorted": (
        "arrival_s,input_tokens,output_tokens\n0,1,1\n5,1,1\n4,1,1\n6,1,1\n",
        r"row 3: arrival 4 s is before row 2's 5 s; rows must be sorted by arrival time",
    ),
    "header only": ("arrival_s,input_tokens,output_tokens\n", "empty trace"),
    "empty file": ("", "empty trace"),
    "short row": ("arrival_s,input_tokens,output_tokens\n0,1,1\n1,2\n", "row 2: 2 fields, the header has 3"),
    "blocks": (
        "arrival_s,input_tokens,output_tokens,prefix_blocks\n0,1,1,1 x\n",
        "row 1: prefix_blocks '1 x' is not a list of integer block hashes",
    ),
    "timestamp": (
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,1\nyesterday,1,1\n",
        "row 2: TIMESTAMP 'yesterday' is neither seconds nor an ISO date-time",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_traces(tmp_path, case):
    text, match = BAD_CSV[case]
    message = one_line_error(write(tmp_path / "bad.csv", text), match)
    assert message.startswith("trace bad.csv")


def test_missing_columns_names_found_and_expected(tmp_path):
    message = one_line_error(write(tmp_path / "c.csv", "time,prompt,completion\n1,2,3\n"), "missing columns")
    assert "found time, prompt, completion" in message
    for expected in ("arrival_s, input_tokens, output_tokens", "timestamp, input_length, output_length"):
        assert expected in message
    assert "TIMESTAMP, ContextTokens, GeneratedTokens" in message


BAD_JSONL = {
    "syntax": (
        '{"timestamp": 0, "input_length": 1, "output_length": 1}\n{"timestamp": 1,\n',
        "row 2: not valid JSON",
    ),
    "not an object": (
        '{"timestamp": 0, "input_length": 1, "output_length": 1}\n[1, 2]\n',
        "row 2: not a JSON object",
    ),
    "missing key": (
        jsonl({"timestamp": 0, "input_length": 1, "output_length": 1}, {"timestamp": 1, "input_length": 1}),
        "row 2: no 'output_length' key",
    ),
    "null length": (
        jsonl(
            {"timestamp": 0, "input_length": 1, "output_length": 1},
            {"timestamp": 1, "input_length": None, "output_length": 1},
        ),
        "row 2: input_length None is not a whole number",
    ),
    "hash ids": (
        jsonl({"timestamp": 0, "input_length": 1, "output_length": 1, "hash_ids": [0, 1.5]}),
        "row 1: hash_ids \\[0, 1.5\\] is not a list of integer block hashes",
    ),
    "unsorted": (
        jsonl(*({"timestamp": t, "input_length": 1, "output_length": 1} for t in (0, 10, 9))),
        r"row 3: arrival 0.009 s is before row 2's 0.01 s",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_JSONL))
def test_bad_jsonl_traces(tmp_path, case):
    text, match = BAD_JSONL[case]
    one_line_error(write(tmp_path / "bad.jsonl", text), match)


def test_unreadable_files(tmp_path):
    one_line_error(tmp_path / "nope.csv", "no such file; give a .csv or .jsonl")
    one_line_error(tmp_path, "no such file")  # a folder
    (tmp_path / "latin1.csv").write_bytes(
        "arrival_s,input_tokens,output_tokens\n0,1,1 caf\xe9\n".encode("latin-1")
    )
    one_line_error(tmp_path / "latin1.csv", "latin1.csv: not UTF-8 text")
    (tmp_path / "fake.csv.gz").write_text("arrival_s,input_tokens,output_tokens\n0,1,1\n")
    one_line_error(tmp_path / "fake.csv.gz", "fake.csv.gz: not a valid gzip file")
    one_line_error(write(tmp_path / "t.txt", PLAIN), "t.txt: unknown format; name the file .csv or .jsonl")


def test_bad_arguments(tmp_path):
    path = write(tmp_path / "t.csv", PLAIN)
    one_line_error(path, "limit must be a whole number of rows >= 1", limit=0)
    one_line_error(path, "time_scale must be a finite number >= 0", time_scale=-1)
    one_line_error(path, "time_scale must be a finite number >= 0", time_scale=math.inf)


# -- bundled traces ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "rows", "mean_in", "mean_out"),
    [
        ("mooncake_conversation", 12_031, 12_035, 343),
        ("mooncake_synthetic", 3_993, 15_325, 149),
    ],
)
def test_bundled_traces(name, rows, mean_in, mean_out):
    assert BUNDLED_TRACES[name].is_file()
    req = read_trace(name)
    assert len(req) == rows and req.blocks is not None and len(req.blocks) == rows
    assert req.stats["mean_input"] == pytest.approx(mean_in, abs=0.5)
    assert req.stats["mean_output"] == pytest.approx(mean_out, abs=0.5)
    assert req.arrival_s[0] == 0 and (np.diff(req.arrival_s) >= 0).all()
    # one hash per 512-token block of the prompt
    counts = np.array([len(b) for b in req.blocks])
    assert (counts == -(-req.isl // BLOCK_TOKENS)).mean() > 0.99
    assert len(read_trace(name, limit=100)) == 100


def test_bundled_conversation_spans_an_hour():
    assert read_trace("mooncake_conversation").stats["duration_s"] == pytest.approx(3537, abs=1)


# -- agentic generator ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def default_stream():
    return agentic()


def test_price_card_turns_the_spend_mix_into_token_shares():
    tokens = {k: SPEND_MIX[k] / PRICE_CARD[k] for k in SPEND_MIX}
    assert pytest.approx({k: v / sum(tokens.values()) for k, v in tokens.items()}) == TOKEN_MIX
    assert TOKEN_MIX["cache_read"] == pytest.approx(0.953, abs=0.001)
    assert sum(TOKEN_MIX.values()) == pytest.approx(1)


def test_defaults_meet_the_spec_targets(default_stream):
    stats = default_stream.stats
    for key, target in TARGETS.items():
        assert abs(stats[key] - target) <= TOLERANCE[key], (key, stats[key])
    assert stats["sessions"] == 1000 and stats["sessions_start_above_100k"] > 0.2
    # the token mix: most input tokens are cache reads of the growing session context
    assert stats["cache_read"] == pytest.approx(TOKEN_MIX["cache_read"], abs=0.01)
    assert stats["cache_write"] == pytest.approx(TOKEN_MIX["cache_write"], abs=0.005)
    assert stats["output"] == pytest.approx(TOKEN_MIX["output"], abs=0.001)
    assert 0 < stats["input"] < 2 * TOKEN_MIX["input"]
    assert sum(stats[k] for k in TOKEN_MIX) == pytest.approx(1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_hold_for_other_seeds_and_small_samples(seed):
    stats = agentic(300, seed=seed).stats
    for key, target in TARGETS.items():
        assert abs(stats[key] - target) <= TOLERANCE[key], (seed, key, stats[key])


def test_deterministic(default_stream):
    again = agentic()
    for key in ("arrival_s", "isl", "osl", "follows", "delay_s", "session"):
        np.testing.assert_array_equal(getattr(again, key), getattr(default_stream, key))
    other = agentic(seed=1)
    assert not np.array_equal(other.isl[:100], default_stream.isl[:100])


def test_sessions_form_valid_chains(default_stream):
    req = default_stream
    n = len(req)
    roots = req.follows < 0
    # one root per session, the session's first request; sessions numbered in arrival order
    assert roots.sum() == req.stats["sessions"]
    assert (req.session[roots] == np.arange(roots.sum())).all()
    assert np.isfinite(req.arrival_s[roots]).all() and (np.diff(req.arrival_s[roots]) >= 0).all()
    assert np.isnan(req.arrival_s[~roots]).all()
    # each turn follows the previous turn of its own session, after a pause
    turn = np.flatnonzero(~roots)
    prev = req.follows[turn]
    assert (prev == turn - 1).all() and (req.session[prev] == req.session[turn]).all()
    assert (req.delay_s[turn] > 0).all() and (req.delay_s[roots] == 0).all()
    # the prompt starts with the previous turn's context: prompt + output, then new tokens
    assert (req.isl[turn] > req.isl[prev] + req.osl[prev]).all()
    assert n == len(req.isl) and (req.isl + req.osl <= DEFAULTS.max_context).all()


def test_requests_count_and_overrides():
    req = agentic(requests=5_000, seed=3)
    assert len(req) == 5_000 and req.stats["requests"] == 5_000
    small = agentic(50, max_context=200_000, long_turns=5, output_median=100)
    assert (small.isl + small.osl <= 200_000).all() and small.stats["sessions"] == 50
    single = agentic(20, long_turns=1, short_turns=1)
    assert (single.follows == -1).all() and single.stats["cache_read"] == 0


def test_session_rate_sets_poisson_arrivals():
    req = agentic(4_000, session_rate_per_s=2.0, long_share=0, short_turns=1)
    gaps = np.diff(req.arrival_s)
    assert gaps.mean() == pytest.approx(0.5, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.06)  # exponential gaps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sessions": 0}, "sessions must be a whole number >= 1"),
        ({"sessions": 5, "requests": 5}, "give sessions or requests, not both"),
        ({"session_rate_per_s": 0}, "session_rate_per_s must be a finite number > 0"),
        ({"long_turnz": 3}, "unknown parameter long_turnz; valid parameters: "),
        ({"long_share": 1.5}, "long_share must be in"),
        ({"output_sigma": -1}, "output_sigma must be >= 0"),
        ({"short_budget": 10_000}, "max_output"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
    ],
)
def test_agentic_bad_input(kwargs, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        agentic(**kwargs)
    assert "\n" not in str(info.value)


def test_describe_any_stream():
    stats = describe(closed_loop(4, 40, 1000, 100))  # no sessions: all input is fresh
    assert stats["sessions"] == 0 and stats["cache_read"] == 0 and stats["cache_write"] == 0
    assert stats["input"] == pytest.approx(1000 / 1100)


def test_describe_reads_sessions_from_a_trace(tmp_path):
    text = "arrival_s,input_tokens,output_tokens,session_id\n0,100,10,a\n1,50,5,b\n2,130,10,a\n"
    stats = describe(read_trace(write(tmp_path / "s.csv", text)))
    total = 100 + 50 + 130 + 10 + 5 + 10
    assert stats["cache_read"] == pytest.approx(110 / total)  # a's second turn reads 100 + 10
    assert stats["cache_write"] == pytest.approx(100 / total)  # a's first prompt is read again
    assert stats["input"] == pytest.approx((50 + 20) / total)
    assert stats["mean_turns"] == 1.5


def test_calibration_reproduces_the_defaults():
    found = asdict(calibrate(rounds=1))
    for key, value in asdict(DEFAULTS).items():
        assert found[key] == pytest.approx(value, rel=0.03), key


def test_a_million_requests_quickly():
    t = time.perf_counter()
    req = agentic(requests=1_000_000)
    assert len(req) == 1_000_000
    assert time.perf_counter() - t < 10
