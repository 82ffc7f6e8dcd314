"""Issue 10 (items 4-5): ``tokenfrontier simulate`` on the command line, its figure, the
per-request table, the MLPerf-style Server search and one-line errors for bad input."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest

import tokenfrontier as tf
from conftest import assert_cli_error
from tokenfrontier import api_simulate
from tokenfrontier.sim.engine import POLICIES
from tokenfrontier.views import cli_parser, cli_simulate, plots
from tokenfrontier.views.cli import main

HAS_AGENTIC = importlib.util.find_spec("tokenfrontier.sim.agentic") is not None
HAS_TRACES = importlib.util.find_spec("tokenfrontier.sim.traces") is not None
needs_agentic = pytest.mark.skipif(not HAS_AGENTIC, reason="tokenfrontier.sim.agentic not in this tree yet")
needs_traces = pytest.mark.skipif(not HAS_TRACES, reason="tokenfrontier.sim.traces not in this tree yet")

# two users, fixed lengths, one GPU: no randomness anywhere
TINY = ["simulate", "llama-3.1-8b", "--on", "h100", "--tp", "1", "--pp", "1", "--isl", "128", "--osl", "16",
        "--concurrency", "2", "--requests", "4"]  # fmt: skip
TINY_API = dict(workload="closed", isl=128, osl=16, concurrency=2, requests=4, tp=1, pp=1)
EASY = ["simulate", "llama-3.1-8b", "--on", "dgx-h100", "--isl", "1k", "--osl", "128", "--requests", "300",
        "--server-search", "--slo-ttft-p99-ms", "2000", "--slo-tpot-p99-ms", "50"]  # fmt: skip


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_tiny_closed_loop_exact_output(capsys):
    code, out, err = run(capsys, TINY)
    assert code == 0 and err == ""
    sim = tf.simulate("llama-3.1-8b", "h100", **TINY_API)
    assert out == f"{sim}\n"  # the CLI prints the API's table, nothing more
    lines = out.splitlines()
    assert lines[:2] + lines[3:5] == [
        "simulation",
        "quantity                            value",
        "model / hardware                    llama-3.1-8b on h100",
        "workload                            closed loop, concurrency 2",
    ]
    assert "deployment                          1 x TP1 EP1 PP1 = 1 chips, chunked-mixed" in lines
    assert "requests in / completed / rejected  4 / 4 / 0" in lines


def test_tiny_closed_loop_json(capsys):
    code, out, _ = run(capsys, [*TINY, "--json"])
    assert code == 0
    d = json.loads(out)
    keys = ["model", "hardware", "workload", "deployment", "scheduling", "seed", "chips", "summary", "notes"]
    assert list(d) == keys
    assert (d["model"], d["hardware"], d["scheduling"], d["seed"], d["chips"]) == (
        "llama-3.1-8b", "h100", "chunked-mixed", 0, 1)  # fmt: skip
    assert {k: d["deployment"][k] for k in ("tp", "pp", "ep", "replicas")} == {"tp": 1, "pp": 1, "ep": 1,
                                                                               "replicas": 1}  # fmt: skip
    s = d["summary"]
    band = ["_low", "_high"]
    assert list(s) == ["requests", "completed", "rejected", "unfinished", "duration_s",
                       *[f"{k}{e}" for k in ("ttft_s", "tpot_s", "itl_s") for e in ["", *band]],
                       "e2e_s", *[f"{k}{e}" for k in ("total_tok_s_per_chip", "output_tok_s_per_chip")
                                  for e in ["", *band]],
                       "steady_state", "goodput", "cache", "tokens", "kv", "interval_level"]  # fmt: skip
    assert s["interval_level"] == "default"  # llama-3.1-8b on h100, no stack named: the family's default
    assert s["tpot_s_low"]["p50"] <= s["tpot_s"]["p50"] <= s["tpot_s_high"]["p50"]  # contains it
    assert s["tpot_s_low"]["p50"] < s["tpot_s_high"]["p50"]
    assert (s["requests"], s["completed"], s["rejected"], s["unfinished"]) == (4, 4, 0, 0)
    assert s["tokens"] == {"cache_read": 0.0, "prefilled": 4 * 128.0, "output": 4 * 16.0}
    assert list(s["ttft_s"]) == ["p50", "p90", "p99", "mean"]
    # two users in lockstep: every request takes the same time, so the percentiles coincide
    assert s["e2e_s"]["p50"] == pytest.approx(s["e2e_s"]["p99"])
    assert s["duration_s"] == pytest.approx(2 * s["e2e_s"]["mean"])
    assert s["output_tok_s_per_chip"] == pytest.approx(64 / s["duration_s"])
    assert json.loads(json.dumps(d)) == d  # plain JSON: no NaN, no numpy


def test_requests_out_csv_has_one_row_per_request(capsys, tmp_path):
    path = tmp_path / "requests.csv"
    code, out, _ = run(capsys, [*TINY, "--requests-out", str(path)])
    assert code == 0 and out.startswith("simulation")
    frame = pd.read_csv(path)
    assert len(frame) == 4
    assert list(frame.columns) == list(tf.simulate("llama-3.1-8b", "h100", **TINY_API).columns)
    # a closed-loop user sends request 3 the moment request 1 finishes (and 4 after 2)
    np.testing.assert_allclose(frame["arrival_s"][2:], frame["finish_s"][:2])
    assert (frame["output_tokens"] == 16).all() and not frame["rejected"].any()
    np.testing.assert_allclose(frame["e2e_s"], frame["ttft_s"] + 15 * frame["tpot_s"])


def test_requests_out_parquet(capsys, tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "requests.parquet"
    assert main([*TINY, "--requests-out", str(path)]) == 0
    assert len(pd.read_parquet(path)) == 4


def test_plot_html_is_offline_and_shows_cdfs_and_timeline(capsys, tmp_path):
    path = tmp_path / "sim.html"
    assert main([*TINY, "--plot", str(path)]) == 0
    html = path.read_text()
    assert '<script src="http' not in html and len(html) > 1_000_000  # plotly.js inlined
    for text in ("TTFT", "TPOT", "E2E", "running", "waiting", "KV occupancy"):
        assert text in html


def test_simulation_figure_traces():
    sim = tf.simulate("llama-3.1-8b", "dgx-h100", workload="poisson", isl=512, osl=64, qps=20, requests=1000,
                      slo_ttft_s=0.2)  # fmt: skip
    fig = plots.simulation_figure(sim)
    names = [t.name for t in fig.data]
    level = sim.summary["interval_level"]
    assert names == ["TTFT CDF", "TTFT 80% interval (high)", f"TTFT 80% interval ({level})", "TPOT CDF",
                     "TPOT 80% interval (high)", f"TPOT 80% interval ({level})", "E2E CDF", "running",
                     "waiting", "KV occupancy (% of KV room)"]  # fmt: skip
    # the band: every latency scaled by the P50's 80% interval, drawn around the CDF
    ttft, high, low = fig.data[0], fig.data[1], fig.data[2]
    assert low.fill == "tonextx" and list(low.y) == list(ttft.y)
    s = sim.summary
    np.testing.assert_allclose(low.x, np.asarray(ttft.x) * s["ttft_s_low"]["p50"] / s["ttft_s"]["p50"])
    np.testing.assert_allclose(high.x, np.asarray(ttft.x) * s["ttft_s_high"]["p50"] / s["ttft_s"]["p50"])
    assert len(ttft.x) == 400 and ttft.y[-1] == 1.0  # 1,000 requests drawn at 400 exact quantiles
    p99 = np.interp(0.99, np.asarray(ttft.y), np.asarray(ttft.x))
    assert p99 == pytest.approx(sim.summary["ttft_s"]["p99"] * 1e3, rel=0.01)
    assert max(ttft.x) == pytest.approx(np.nanmax(sim.columns["ttft_s"]) * 1e3)
    assert fig.layout.xaxis.type == "log" and fig.layout.shapes[0].x0 == pytest.approx(200.0)  # SLO line


def test_server_search_finds_a_qps(capsys):
    code, out, _ = run(capsys, EASY)
    assert code == 0
    assert out.startswith("server search (MLPerf-style Server scenario")
    assert "max QPS: " in out and "none" not in out and "trials" in out
    assert "80% interval: " in out and "(level default)" in out  # the model's error at that QPS
    code, out, _ = run(capsys, [*EASY, "--json"])
    d = json.loads(out)
    assert d["meets_slo"] and d["max_qps"] > 1
    assert d["simulation"]["summary"]["ttft_s"]["p99"] <= 2.0
    assert d["interval_level"] == d["simulation"]["summary"]["interval_level"] == "default"
    assert d["slo"] == {"p99_ttft_s": 2.0, "p99_tpot_s": 0.05}
    # the answer passes and a trial above it fails
    assert any(t["qps"] > d["max_qps"] and not t["meets"] for t in d["trials"])


def test_server_search_with_no_answer_is_an_answer(capsys):
    argv = [*EASY[:-4], "--slo-ttft-p99-ms", "0.01", "--slo-tpot-p99-ms", "50"]
    code, out, err = run(capsys, argv)
    assert code == 0 and err == ""
    assert "max QPS: none - no QPS meets the SLO" in out
    code, out, _ = run(capsys, [*argv, "--json"])
    d = json.loads(out)
    assert d["max_qps"] is None and d["meets_slo"] is False and d["simulation"] is None


def test_server_search_plot_and_requests_out_show_the_max_qps_run(capsys, tmp_path):
    html, table = tmp_path / "s.html", tmp_path / "s.csv"
    assert main([*EASY, "--requests", "200", "--plot", str(html), "--requests-out", str(table)]) == 0
    assert html.exists() and len(pd.read_csv(table)) == 200


def test_progress_lines_only_for_long_runs_at_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cli_simulate, "LONG_RUN_REQUESTS", 3)
    assert main(TINY) == 0
    assert capsys.readouterr().err == ""  # not a terminal: silent
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(TINY) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "simulating 4 requests ..." and err[1].startswith("done in ")
    monkeypatch.setattr(cli_simulate, "LONG_RUN_REQUESTS", 4)
    assert main(TINY) == 0
    assert capsys.readouterr().err == ""  # short run: silent


def test_parser_choices_match_the_api():
    assert cli_parser.SIM_WORKLOADS == api_simulate.WORKLOADS
    assert cli_parser.SIM_SCHEDULING == POLICIES


BAD = [
    (["--isl", "-5", "--osl", "10"], "isl"),
    (["--isl", "0", "--osl", "10"], "isl"),
    (["--isl", "10", "--osl", "-1"], "osl"),
    (["--isl", "10"], "needs --isl and --osl"),
    (["--workload", "poisson", "--isl", "10", "--osl", "10"], "needs --qps"),
    (["--workload", "poisson", "--isl", "10", "--osl", "10", "--qps", "0"], "--qps must be > 0"),
    (["--workload", "gamma", "--isl", "10", "--osl", "10", "--qps", "-2"], "--qps must be > 0"),
    (["--workload", "gamma", "--isl", "10", "--osl", "10", "--qps", "2", "--burstiness", "0"],
     "--burstiness"),
    (["--isl", "10", "--osl", "10", "--qps", "3"], "--qps applies to --workload poisson or gamma"),
    (["--workload", "trace"], "needs --trace"),
    (["--isl", "10", "--osl", "10", "--trace", "x.csv"], "--trace needs --workload trace"),
    (["--isl", "10", "--osl", "10", "--requests", "0"], "requests"),
    (["--isl", "10", "--osl", "10", "--concurrency", "0"], "concurrency"),
    (["--isl", "10", "--osl", "10", "--tp", "0"], "--tp must be >= 1"),
    (["--isl", "10", "--osl", "10", "--replicas", "0"], "--replicas must be >= 1"),
    (["--isl", "10", "--osl", "10", "--token-budget", "0"], "--token-budget must be >= 1"),
    (["--isl", "10", "--osl", "10", "--seed", "-1"], "--seed must be >= 0"),
    (["--isl", "10", "--osl", "10", "--length-spread", "1.5"], "--length-spread"),
    (["--isl", "10", "--osl", "10", "--host-cache-gb", "-1"], "--host-cache-gb"),
    (["--isl", "10", "--osl", "10", "--slo-ttft-ms", "0"], "--slo-ttft-ms must be > 0"),
    (["--isl", "10", "--osl", "10", "--slo-tpot-ms", "nan"], "--slo-tpot-ms must be > 0"),
    (["--isl", "10", "--osl", "10", "--slo-ttft-p99-ms", "100"], "needs --server-search"),
    (["--isl", "10", "--osl", "10", "--requests-out", "x.xlsx"], "--requests-out x.xlsx: unknown format"),
    (["--isl", "10", "--osl", "10", "--plot", "missing/dir/x.html"], "does not exist"),
    (["--isl", "10", "--osl", "10", "--server-search"], "needs --slo-ttft-p99-ms and --slo-tpot-p99-ms"),
    (["--isl", "10", "--osl", "10", "--server-search", "--slo-ttft-p99-ms", "-1", "--slo-tpot-p99-ms", "5"],
     "--slo-ttft-p99-ms must be > 0"),
    (["--workload", "closed", "--isl", "10", "--osl", "10", "--server-search", "--slo-ttft-p99-ms", "1",
      "--slo-tpot-p99-ms", "5"], "Poisson arrivals; drop --workload"),
    (["--spec-decode", "k=3", "--isl", "10", "--osl", "10"], "MTP"),
]  # fmt: skip
#: argparse's own errors (also one line, exit 2, raised as SystemExit)
BAD_ARGS = [
    (["--workload", "nosuch", "--isl", "10", "--osl", "10"], "invalid choice: 'nosuch'"),
    (["--scheduling", "fifo", "--isl", "10", "--osl", "10"], "invalid choice: 'fifo'"),
    (["--isl", "10", "--osl", "10", "--weights", "fp3"], "invalid choice: 'fp3'"),
    (["--isl", "10", "--osl", "10", "--qps", "lots"], "invalid float value: 'lots'"),
    (["--isl", "10", "--osl", "10"], "the following arguments are required: --on"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2(capsys, extra, needle):
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", "--on", "h100", *extra], needle)


@pytest.mark.parametrize(("extra", "needle"), BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_arguments_one_line_exit_2(capsys, extra, needle):
    on = [] if "--on" in needle else ["--on", "h100"]
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", *on, *extra], needle)


def test_unknown_model_and_hardware(capsys):
    assert_cli_error(capsys, ["simulate", "nosuch-model", "--on", "h100", "--isl", "1", "--osl", "1"],
                     "nosuch-model")  # fmt: skip
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", "--on", "nosuch-hw", "--isl", "1", "--osl", "1"],
                     "nosuch-hw")  # fmt: skip


@pytest.mark.parametrize("module", ["tokenfrontier.sim.agentic", "tokenfrontier.sim.traces"])
def test_missing_workload_generator_is_a_clear_error(capsys, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # as if the module were not installed
    kind = module.rsplit(".", 1)[1]
    extra = ["--workload", "agentic"] if kind == "agentic" else ["--workload", "trace", "--trace", "x.csv"]
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", "--on", "h100", *extra], f"needs {module}")


# -- workloads from the trace reader and the agentic generator (skipped until they land) --------
@needs_traces
def test_unreadable_trace(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("no,such,columns\n1,2,3\n")
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", "--on", "h100", "--workload", "trace", "--trace",
                              str(bad)], "bad.csv")  # fmt: skip
    assert_cli_error(capsys, ["simulate", "llama-3.1-8b", "--on", "h100", "--workload", "trace", "--trace",
                              str(tmp_path / "missing.csv")], "missing.csv")  # fmt: skip


@needs_traces
def test_bundled_trace(capsys):
    argv = ["simulate", "llama-3.1-8b", "--on", "dgx-h100", "--tp", "8", "--workload", "trace", "--trace",
            "mooncake_conversation", "--requests", "300", "--json"]  # fmt: skip
    code, out, _ = run(capsys, argv)
    assert code == 0
    d = json.loads(out)
    assert d["summary"]["requests"] == 300 and "mooncake_conversation" in d["workload"]


@needs_agentic
def test_agentic_sessions_hit_the_prefix_cache(capsys, tmp_path):
    argv = ["simulate", "gpt-oss-120b", "--on", "hgx-b200", "--tp", "8", "--pp", "1", "--workload", "agentic",
            "--requests", "400", "--json"]  # fmt: skip
    code, out, _ = run(capsys, [*argv, "--plot", str(tmp_path / "a.html")])
    cached = json.loads(out)["summary"]["cache"]["cached_token_share"]
    code_off, out_off, _ = run(capsys, [*argv, "--no-prefix-cache"])
    assert code == code_off == 0
    assert cached > 0.5 and json.loads(out_off)["summary"]["cache"]["cached_token_share"] == 0.0
