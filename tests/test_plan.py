# ruff: noqa: E501
"""``plan`` (issue 13, item 1): the cheapest fleet per hardware that meets a P99 SLO.

Property tests (few examples: each plan simulates): a looser SLO never costs more, adding a
candidate never raises the best cost, the chosen fleet meets the SLO when simulated again.
Exact CLI output on a tiny case; bad inputs give one line and exit 2; an SLO no fleet meets is
an answer naming the binding limit.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from conftest import assert_cli_error
from tokenfrontier.api_plan import PROCESS_FROM
from tokenfrontier.grid import executor
from tokenfrontier.plan import Slo, confirm, meets
from tokenfrontier.views.cli import main

MODEL = "llama-3.1-8b"
TRAFFIC = dict(qps=4.0, isl=1000, osl=100, requests=200)
FEW = settings(max_examples=4, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def best_cost(on: str, ttft_s: float, tpot_s: float) -> float:
    p = tf.plan(MODEL, on, slo_ttft_p99_s=ttft_s, slo_tpot_p99_s=tpot_s, **TRAFFIC)
    return p.best["usd_per_hour"] if p.best else float("inf")


@FEW
@given(ttft=st.sampled_from([0.5, 1.0, 2.0]), tpot=st.sampled_from([0.006, 0.01, 0.03]),
       looser=st.sampled_from([1.5, 3.0]))  # fmt: skip
def test_a_looser_slo_never_costs_more(ttft, tpot, looser):
    tight = best_cost("dgx-h100,hgx-b200", ttft, tpot)
    loose = best_cost("dgx-h100,hgx-b200", ttft * looser, tpot * looser)
    assert loose <= tight + 1e-9


@pytest.mark.parametrize("base, extra", [("dgx-h100", "hgx-b200"), ("hgx-b200", "cs-3")])
def test_adding_a_candidate_never_raises_the_best_cost(base, extra):
    alone = best_cost(base, 1.0, 0.02)
    more = best_cost(f"{base},{extra}", 1.0, 0.02)
    assert more <= alone


@pytest.mark.parametrize("on, traffic", [("dgx-h100,cs-3", "poisson"), ("hgx-b200", "trace")])
def test_the_chosen_fleet_meets_the_slo_when_simulated(on, traffic):
    kw = TRAFFIC if traffic == "poisson" else dict(qps=1.0, trace="mooncake_conversation", requests=200)
    p = tf.plan(MODEL, on, traffic=traffic, slo_ttft_p99_s=3.0, slo_tpot_p99_s=0.03, **kw)
    assert p.fleets
    slo = Slo(3.0, 0.03)
    for fleet in p.fleets:
        args = dict(fleet["simulate"])
        if traffic == "poisson":
            sim = tf.simulate(MODEL, fleet["hardware"], isl=1000, osl=100, **args)
        else:
            from tokenfrontier.sim.traces import read_trace

            req = read_trace("mooncake_conversation", limit=200)
            span = req.arrival_s.max() - req.arrival_s.min()
            rate = (len(req) - 1) / span
            scaled = replace(req, arrival_s=req.arrival_s * rate, delay_s=req.delay_s * rate)  # to 1 QPS
            args.pop("workload")
            sim = tf.simulate(MODEL, fleet["hardware"], workload=scaled, **args)
        assert meets(sim.summary, slo)
        assert sim.summary["ttft_s"]["p99"] == pytest.approx(fleet["p99_ttft_s"])


def test_confirm_finds_the_fewest_passing_replicas():
    for need in (3, 4, 9, 40):
        calls = []

        def run(r, need=need, calls=calls):
            calls.append(r)
            return {"ttft_s": {"p99": 1.0 / r}, "tpot_s": {"p99": None}, "pass": r >= need}

        replicas, _, trials = confirm(3, run, lambda s: s["pass"])
        assert replicas == need
        assert len(calls) == len(set(calls)) == len(trials) <= 18
    replicas, _, _ = confirm(1, lambda r: {"ttft_s": {"p99": 9.0}, "tpot_s": {"p99": 9.0}}, lambda s: False)
    assert replicas is None


def test_money_adds_up_and_tokens_are_the_traffic():
    p = tf.plan(MODEL, "dgx-h100", slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.03, **TRAFFIC)
    f = p.best
    assert f["usd_per_hour"] == pytest.approx(f["chips"] * f["usd_per_chip_hour"])
    assert f["tokens_per_hour"] == pytest.approx(4.0 * 1100 * 3600)
    assert f["usd_per_mtok"] == pytest.approx(f["usd_per_hour"] / (f["tokens_per_hour"] / 1e6))
    assert 0 <= f["headroom"] < 1
    assert f["p99_ttft_s_low"] <= f["p99_ttft_s"] <= f["p99_ttft_s_high"]
    frame = p.to_frame()
    assert list(frame["hardware"]) == ["dgx-h100"]
    assert "<table>" in p._repr_html_()


def test_pessimistic_never_costs_less():
    kw = dict(slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.03, **TRAFFIC)
    plain = tf.plan(MODEL, "dgx-h100,hgx-b200", **kw)
    slow = tf.plan(MODEL, "dgx-h100,hgx-b200", pessimistic=True, **kw)
    assert slow.best["usd_per_hour"] >= plain.best["usd_per_hour"]
    assert slow.best["slow_factor"] > 1


PLAN_EXPECTED = """\
plan: llama-3.1-8b, 4 QPS (Poisson arrivals; mean ISL 1,000, OSL 100); SLO P99 TTFT <= 2,000 ms, P99 TPOT <= 30 ms
#  hardware  deployment            replicas  chips  $/hour  $/Mtok  $/Mtok in  $/Mtok out  P99 TTFT ms  P99 TPOT ms  headroom
-  --------  --------------------  --------  -----  ------  ------  ---------  ----------  -----------  -----------  --------
1  dgx-h100  TP1 PP1 EP1 batch<=4         1      1    1.45  0.0913  0.0913     0.0913             1618         9.19  19%
2  hgx-b200  TP1 PP1 EP1 batch<=2         1      1    2.05  0.1295  0.1295     0.1295             1213         3.91  39%
best: 1 x TP1 PP1 EP1 on dgx-h100 (1 chips, $1.45/h, tco:default); simulated P99 TTFT 80% interval 1,119-3,023 ms (default)
headroom: the smaller of 1 - simulated P99 / limit over TTFT and TPOT
"""


def test_plan_exact_output(capsys):
    argv = ["plan", MODEL, "--on", "hgx-b200,dgx-h100", "--qps", "4", "--isl", "1000", "--osl", "100",
            "--slo-tpot-p99-ms", "30", "--requests", "200"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == PLAN_EXPECTED and err == ""


def test_plan_json_and_explain(capsys, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the default's reason names the entries, not 1 core
    argv = ["plan", MODEL, "--on", "dgx-h100", "--qps", "4", "--isl", "1000", "--osl", "100",
            "--slo-tpot-p99-ms", "30", "--requests", "200"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "model",
        "traffic",
        "slo",
        "pessimistic",
        "fleets",
        "infeasible",
        "rejected",
        "notes",
        "executor",
        "workers",
        "executor_reason",
    }
    assert (data["executor"], data["workers"]) == ("serial", 1)
    assert data["executor_reason"] == f"default: 1 hardware entry, fewer than {PROCESS_FROM}"
    fleet = data["fleets"][0]
    for key in ("hardware", "tp", "pp", "ep", "replicas", "chips", "usd_per_hour", "usd_per_mtok_by_type",
                "p99_ttft_s", "p99_tpot_s", "headroom", "p99_ttft_s_low", "p99_ttft_s_high", "pools"):  # fmt: skip
        assert key in fleet
    assert main([*argv, "--explain"]) == 0
    out = capsys.readouterr().out
    assert "rejected options:" in out and "more expensive than TP1 PP1 EP1 by" in out
    assert out.endswith(
        f"searched on: serial, 1 worker (default: 1 hardware entry, fewer than {PROCESS_FROM})\n"
    )
    assert main([*argv, "--explain", "--executor", "process", "--workers", "2"]) == 0
    assert capsys.readouterr().out.endswith("searched on: process, 2 workers (asked)\n")


def test_an_slo_no_fleet_meets_names_the_binding_limit(capsys):
    argv = ["plan", MODEL, "--on", "dgx-h100,cs-3", "--qps", "1", "--isl", "1000", "--osl", "100",
            "--slo-tpot-p99-ms", "0.01", "--requests", "100"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no hardware meets the SLO" in out
    assert "dgx-h100: infeasible - TPOT: the fastest deployment" in out
    assert "(limited by latency floor" in out
    p = tf.plan("kimi-k2", "groq-rack", qps=1, isl=1000, osl=100, slo_tpot_p99_s=0.05, requests=100)
    assert p.infeasible[0]["resource"] == "memory" and not p.fleets
    assert "GB of weights plus one request's KV do not fit" in p.infeasible[0]["reason"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--qps", "-1"], "argument --qps: must be in (0, 1e+07]"),
        (["--qps", "0"], "argument --qps: must be in (0, 1e+07]"),
        (["--qps", "1", "--on", "h100x"], "unknown hardware 'h100x': did you mean"),
        (["--qps", "1", "--min-tok-s-per-user", "20"], "not both"),
        ([], "traffic 'poisson' needs --qps, --isl and --osl"),
        (["--qps", "1", "--goodput", "1.5"], "argument --goodput"),
    ],
)
def test_bad_inputs_one_line_exit_2(capsys, extra, needle):
    argv = ["plan", MODEL, "--isl", "1000", "--osl", "100", "--slo-tpot-p99-ms", "30", *extra]
    assert_cli_error(capsys, argv, needle)


def test_bad_inputs_api():
    from tokenfrontier.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="--qps: must be"):
        tf.plan(MODEL, "h100", qps=-2.0, isl=100, osl=10, slo_tpot_p99_s=0.05)
    with pytest.raises(InvalidInputError, match="P99 TTFT limit must be"):
        tf.plan(MODEL, "h100", qps=2.0, isl=100, osl=10, slo_ttft_p99_s=-1, slo_tpot_p99_s=0.05)
    with pytest.raises(InvalidInputError, match="give --slo-tpot-p99-ms or --min-tok-s-per-user"):
        tf.plan(MODEL, "h100", qps=2.0, isl=100, osl=10)


def test_disaggregated_pools_priced_per_pool_and_confirmed():
    p = tf.plan("llama-3.3-70b", "dgx-h100", qps=10, isl=8000, osl=300, slo_tpot_p99_s=0.04, requests=300,
                prefill_on="hgx-b200")  # fmt: skip
    f = p.best
    roles = [pool["role"] for pool in f["pools"]]
    assert roles == ["decode", "prefill"] and f["pools"][1]["hardware"] == "hgx-b200"
    assert sum(pool["chips"] for pool in f["pools"]) == f["chips"]
    assert f["usd_per_hour"] == pytest.approx(f["chips"] * f["usd_per_chip_hour"])
    assert f["simulate"]["prefill_on"] == "hgx-b200"
    # the interval of a fleet with a prefill pool is a disaggregated level's
    assert f["interval_level"].startswith("disaggregated")
    sim = tf.simulate("llama-3.3-70b", "dgx-h100", isl=8000, osl=300, **f["simulate"])
    assert meets(sim.summary, Slo(2.0, 0.04))


# -- the search runs on the sweep executors (serial, process, Ray); the plan is the same ---------
SRC = Path(__file__).resolve().parents[1] / "src"
RUN_BY = ("executor", "workers", "executor_reason")
SMALL = [  # Poisson on 3 kinds of hardware; a trace (the fleet-wide stream is sent to workers);
    # disaggregated prefill (a PrefillPool inside every finalist); pessimistic (slow factors)
    dict(on="dgx-h100,hgx-b200,cs-3", **TRAFFIC),
    dict(on="hgx-b200", traffic="trace", qps=1.0, trace="mooncake_conversation", requests=200),
    dict(on="dgx-h100", qps=4.0, isl=4000, osl=100, requests=200, prefill_on="hgx-b200"),
    dict(on="dgx-h100,cs-3", pessimistic=True, **TRAFFIC),
]


def _plan(kw, **run):
    kw = dict(kw)
    return tf.plan(MODEL, kw.pop("on"), slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.03, **kw, **run)


def _same(p):
    return {k: v for k, v in p.to_dict().items() if k not in RUN_BY}


@pytest.fixture(scope="module")
def serial_plans():
    return [_plan(kw, executor="serial") for kw in SMALL]


def test_process_pool_gives_the_serial_plan(serial_plans):
    for kw, serial in zip(SMALL, serial_plans, strict=True):
        p = _plan(kw, executor="process", workers=2)
        assert (p.executor, p.workers, p.executor_reason) == ("process", 2, "asked")
        assert _same(p) == _same(serial), kw
        assert p.fleets and str(p) == str(serial)
    assert (serial_plans[0].executor, serial_plans[0].workers) == ("serial", 1)


@pytest.fixture(scope="module")
def ray_session():
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not importable: pip install 'tokenfrontier[cluster]' (CI installs it)")
    # workers import this checkout's source, as the driver does
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(SRC)}})  # fmt: skip
    yield ray
    ray.shutdown()


def test_ray_gives_the_serial_plan(serial_plans, ray_session):
    for kw, serial in zip(SMALL, serial_plans, strict=True):
        p = _plan(kw, ray_address="auto")
        assert (p.executor, p.workers) == ("ray", 2)
        assert _same(p) == _same(serial), kw
    assert ray_session.is_initialized()  # the plan leaves a session it did not start


def test_an_executor_passed_in_is_used_and_left_open():
    with executor("process", workers=2) as ex:
        p = _plan(SMALL[0], executor=ex)
        assert (p.executor, p.workers, p.executor_reason) == ("process", 2, "given")
        assert list(ex.map(abs, [-1])) == [1]  # still open


def test_default_executor(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 3)  # whatever machine runs the test
    tight = dict(qps=1.0, isl=1000, osl=100, requests=100)  # nothing admissible: no simulation
    many = "dgx-h100,hgx-b200,dgx-h200,gb200-nvl72"
    few = tf.plan(MODEL, many, slo_tpot_p99_s=1e-5, **tight)
    assert (few.executor, few.executor_reason) == (
        "serial",
        f"default: 4 hardware entries, fewer than {PROCESS_FROM}",
    )
    # the catalog holds 11 systems, fewer than PROCESS_FROM: lower it to see the process default
    monkeypatch.setattr("tokenfrontier.api_plan.PROCESS_FROM", 4)
    p = tf.plan(MODEL, many, slo_tpot_p99_s=1e-5, finalists=1, **tight)
    assert (p.executor, p.executor_reason) == (
        "process",
        "default: 4 hardware entries, 3 cores",
    )
    assert len(p.infeasible) == 4 and p.workers == 3
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    wide = tf.plan(MODEL, many, slo_tpot_p99_s=1e-5, finalists=1, **tight)
    assert wide.workers == 4  # no more workers than tasks (4 entries x 1 finalist)
    assert _same(wide) == _same(p)
    assert _same(p) == _same(few)
    one = tf.plan(MODEL, many, slo_tpot_p99_s=1e-5, workers=1, **tight)
    assert (one.executor, one.executor_reason) == ("serial", "--workers 1")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    single = tf.plan(MODEL, many, slo_tpot_p99_s=1e-5, **tight)
    assert (single.executor, single.executor_reason) == ("serial", "default: this machine has 1 core")
    assert _same(single) == _same(p)


def test_plan_cli_help_states_the_default(capsys):
    main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"serial below {PROCESS_FROM} hardware entries or on 1 core, else process" in text
    assert "--executor {serial,process,ray}" in text and "--ray auto|ADDRESS" in text


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--executor", "serial", "--ray", "auto"], "--ray runs on Ray; it conflicts with --executor serial"),
        (["--workers", "0"], "--workers: expected a positive integer, got 0"),
        (["--executor", "dask"], "argument --executor: invalid choice: 'dask'"),
        (["--framework", "nope", "--executor", "process"], "unknown framework 'nope'"),
    ],
)
def test_bad_executor_options_one_line_exit_2(capsys, extra, needle):
    argv = ["plan", MODEL, "--on", "dgx-h100", "--qps", "1", "--isl", "1000", "--osl", "100",
            "--slo-tpot-p99-ms", "30", *extra]  # fmt: skip
    assert_cli_error(capsys, argv, needle)
