"""Dashboard pages under Streamlit's AppTest: every page renders, inputs drive numbers."""

from __future__ import annotations

import importlib.util

import pytest
from streamlit.testing.v1 import AppTest  # a [test] dependency: missing, this module fails

from tokenfrontier.views.dashboard import APP

PAGES = ("Calculator", "Frontier", "Simulate", "Plan", "Roofline", "Economics", "Catalog", "Design")


def app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    at = app(page=page)
    assert at.title[0].value.endswith(page)
    assert not at.error


def test_calculator_numbers_follow_inputs():
    at = app(page="Calculator", model="gpt-oss-120b", hw="cs-3", isl="32k", osl="256", conc="16")
    first = {m.label: m.value for m in at.metric}
    at.number_input(key="w_conc").set_value(64.0).run()
    second = {m.label: m.value for m in at.metric}
    assert int(second["systems needed"]) > int(first["systems needed"])
    assert at.query_params["conc"] == ["64.0"] or at.query_params["conc"] == "64.0"


def test_calculator_bad_input_shows_message():
    at = app(page="Calculator", isl="lots")
    assert at.error and "token count" in at.error[0].value
    assert not at.metric


def test_whatif_io_moves_calculator_and_frontier():
    base = app(page="Calculator", isl="32k", osl="256", conc="16")
    fast = app(page="Calculator", isl="32k", osl="256", conc="16", io="10")
    b = float(base.metric[2].value.replace(",", ""))
    f = float(fast.metric[2].value.replace(",", ""))
    # $ per Mtok falls with 10x wafer I/O (prompts cross the wafers faster, more requests per
    # hour; in a closed loop tok/s per user may even dip as more prompts arrive per step)
    assert f < b
    # at 96k-token prompts the prompt crosses the wafers' I/O: 10x I/O moves the CS-3 frontier
    q = dict(page="Frontier", hws="cs-3", isl="96k", osl="256")
    slow, quick = app(**q).dataframe[0].value, app(**q, io="10").dataframe[0].value
    assert (quick["hardware"] != "cs-3").all()  # the what-if machine, not the catalog's
    top_slow = slow.sort_values("tok_s_per_user").iloc[-1]
    top_quick = quick.sort_values("tok_s_per_user").iloc[-1]
    assert top_quick["ttft_s"] < top_slow["ttft_s"]  # the 96k prompt crosses stage links faster
    assert top_quick["total_tok_s_per_chip"] > top_slow["total_tok_s_per_chip"]


def test_state_round_trips_through_the_url():
    at = app(page="Frontier", model="llama-3.1-8b", hws="cs-3,h100", isl="2k", osl="128")
    assert at.selectbox(key="w_model").value == "llama-3.1-8b"
    assert at.multiselect(key="w_hws").value == ["cs-3", "h100"]


def test_simulate_numbers_follow_inputs():
    at = app(page="Simulate", smodel="llama-3.1-8b", shw="dgx-h100", sisl="1k", sosl="1k", sconc="16")
    first = {m.label: m.value for m in at.metric}
    assert first["completed"] == "2,000 / 2,000"  # the small default keeps the page responsive
    at.number_input(key="w_sconc").set_value(256.0).run()
    second = {m.label: m.value for m in at.metric}
    assert not at.error
    tput = [float(m["output tok/s per chip"].replace(",", "")) for m in (first, second)]
    assert tput[1] > tput[0]  # more users in the batch, more tokens per chip
    assert at.query_params["sconc"] in (["256.0"], "256.0")
    assert at.dataframe[0].value.shape[0] == 1000 and at.get("download_button")


def test_simulate_bad_input_shows_message():
    at = app(page="Simulate", sisl="lots")
    assert at.error and "token count" in at.error[0].value and not at.metric
    at = app(page="Simulate", swl="poisson", sosl="0")
    assert at.error and "positive number of tokens" in at.error[0].value and not at.metric


@pytest.mark.skipif(
    importlib.util.find_spec("tokenfrontier.sim.agentic") is None,
    reason="tokenfrontier.sim.agentic not in this tree yet",
)
def test_simulate_agentic_uses_the_prefix_cache():
    at = app(page="Simulate", swl="agentic", smodel="gpt-oss-120b", shw="hgx-b200", stp="8", sreq="500")
    cached = {m.label: m.value for m in at.metric}["prompt tokens from cache"]
    assert float(cached.rstrip("%")) > 50


@pytest.mark.skipif(
    importlib.util.find_spec("tokenfrontier.sim.traces") is None,
    reason="tokenfrontier.sim.traces not in this tree yet",
)
def test_simulate_bundled_trace():
    at = app(page="Simulate", swl="trace", strace="mooncake_conversation", sreq="300", stp="8")
    assert not at.error and {m.label: m.value for m in at.metric}["completed"].endswith("/ 300")


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        (dict(page="Economics", fmw="nan", fconc="nan"), "URL parameter fmw='nan'"),  # issue 9
        (dict(page="Economics", fmw="inf"), "URL parameter fmw='inf'"),
        (dict(page="Calculator", conc="-5"), "URL parameter conc='-5'"),
        (dict(page="Roofline", dtype="fp3"), "valid: fp8"),
        (dict(page="Frontier", hws="nosuch,cs-3"), "URL parameter hws='nosuch': unknown id"),
        (dict(page="nosuch"), "URL parameter page='nosuch'"),
        (dict(page="Simulate", sreq="1.5"), "URL parameter sreq='1.5'"),
    ],
)
def test_bad_url_parameters_show_a_message_never_a_traceback(query, needle):
    at = app(**query)  # app() asserts there is no exception
    assert any(needle in w.value for w in at.warning), [w.value for w in at.warning]


def test_plan_page_ranks_fleets_and_follows_the_slo():
    at = app(page="Plan", pmodel="llama-3.1-8b", phws="dgx-h100,hgx-b200", qps="4", pisl="1000", posl="100")
    frame = at.dataframe[0].value
    assert list(frame["rank"]) == sorted(frame["rank"]) and len(frame) == 2
    first = float(at.metric[1].value.replace(",", ""))
    at.number_input(key="w_ptpot").set_value(5.0).run()  # a tighter TPOT never costs less
    assert not at.exception
    second = float(at.metric[1].value.replace(",", "")) if at.metric else float("inf")
    assert second >= first


def test_plan_page_bad_input_shows_message():
    at = app(page="Plan", pisl="lots")
    assert at.error and "token count" in at.error[0].value


def test_design_page_derives_an_entry():
    at = app(page="Design", node="n3e", dgb="1000", dtb="100", dmodel="llama-3.1-70b")
    shown = {m.label: m.value for m in at.metric}
    assert shown["dense BF16"] == "25.0 PFLOP/s" and shown["sram (weights)"] == "44 GB"
    assert list(at.dataframe[1].value["hardware"]) == ["cs-3", "cs-3-design"]
    bad = app(page="Design", sram="0.99")  # a 0.99 SRAM share leaves 1% of the area for logic
    assert not bad.exception
