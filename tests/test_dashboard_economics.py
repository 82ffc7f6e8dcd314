"""Dashboard Economics page, deal v2 part (issue 12): EBIT by year, tornado, ramp, margins."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest  # a [test] dependency: missing, this module fails

from tokenfrontier.views.dashboard import APP


def app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_economics_shows_deal_ramp_and_margins():
    at = app(page="Economics", contract="nan")
    heads = [s.value for s in at.subheader]
    for h in ("Deal: EBIT by contract year and NPV tornado", "Datacenter ramp vs the contract",
              "Gross margin vs price cards"):  # fmt: skip
        assert h in heads
    assert not at.error
    assert any("contract='nan'" in w.value for w in at.warning)


def test_ramp_and_card_follow_inputs():
    at = app(page="Economics", ramp="high", card="deepseek-v3.2", mmodel="llama-3.1-8b", mhw="dgx-h100")
    assert not at.error
    assert at.selectbox(key="w_ramp").value == "high"
    assert at.selectbox(key="w_card").value == "deepseek-v3.2"
