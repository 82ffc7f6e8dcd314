"""The utilisation rule (economics/pricing.py): the deployment is paid for every hour but serves
tokens only a share u of them; capital accrues every hour, electricity scales with u. Every
$/Mtok (cost, frontier, margin, calculator) uses it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenfrontier as tf
from tokenfrontier.api import get_system
from tokenfrontier.economics import analyses
from tokenfrontier.economics.cost import cost_of
from tokenfrontier.economics.pricing import HourlyRate, hourly_rate, served_tokens_per_hour
from tokenfrontier.economics.tco import preset_for, tco
from tokenfrontier.errors import InvalidInputError


def _served(total: float, output: float, chips: int) -> SimpleNamespace:
    """A feasible prediction stub: only what cost_of reads."""
    return SimpleNamespace(
        feasible=True, explanation="", model="m", hardware="h", deployment={}, chips=chips,
        tok_s_per_user=50.0, total_tok_s_per_chip=total, output_tok_s_per_chip=output,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    u=st.floats(0.05, 1.0),
    du=st.floats(0.0, 0.95),
    out_rate=st.floats(1.0, 1e5),
    in_rate=st.floats(0.0, 1e6),
    chips=st.integers(1, 64),
    system=st.sampled_from(["cs-3", "dgx-h100"]),
    mix=st.sampled_from(["workload", "agentic"]),
)
def test_more_utilisation_never_raises_cost_and_money_is_conserved(
    u, du, out_rate, in_rate, chips, system, mix
):
    sys_ = get_system(system)
    hi = min(1.0, u + du)
    pred = _served(in_rate + out_rate, out_rate, chips)
    costs = [cost_of(pred, hourly_rate(sys_, overrides={"utilization": x}), mix=mix) for x in (u, hi)]
    assert costs[1].usd_per_mtok <= costs[0].usd_per_mtok * (1 + 1e-12)
    for x, c in zip((u, hi), costs, strict=True):
        # tokens counted only in the hours served; $/hour paid every hour
        assert c.tokens_per_hour == pytest.approx((in_rate + out_rate) * chips * 3600 * x, rel=1e-12)
        assert sum(c.usd_per_hour_by_type.values()) == pytest.approx(c.usd_per_hour, rel=1e-9)
        assert c.usd_per_mtok * c.tokens_per_hour / 1e6 == pytest.approx(c.usd_per_hour, rel=1e-9)


def test_cost_by_hand_at_the_preset_utilisation():
    # DGX H100, default TCO preset (utilisation 0.8 in catalog/prices/gpu-default.toml)
    sys_ = get_system("dgx-h100")
    rate = hourly_rate(sys_)
    t = tco(sys_, preset_for(sys_))
    assert rate.utilization == preset_for(sys_).utilization
    c = cost_of(_served(2000.0, 1000.0, 8), rate)
    tokens_h = 2000.0 * 8 * 3600 * rate.utilization
    assert c.usd_per_mtok == pytest.approx(t.total_usd_per_hour / (tokens_h / 1e6), rel=1e-12)
    assert "x 3600 x 0.8" in c.explain() and "utilisation u" in c.explain()
    # a rental or given $/hour is a price per serving hour: u = 1
    given_ = cost_of(_served(2000.0, 1000.0, 8), HourlyRate(t.usd_per_chip_hour, "given", ""))
    assert given_.usd_per_mtok == pytest.approx(c.usd_per_mtok * rate.utilization, rel=1e-12)


def test_margin_utilisation_agrees_with_cost():
    kw = dict(isl="1k", osl="1k", concurrency=32)
    m = analyses.margin("llama-3.3-70b", "dgx-h100", workloads=("plain",), utilization=0.5, **kw)
    c = tf.cost("llama-3.3-70b", "dgx-h100", overrides={"utilization": 0.5}, method="card-multiple", **kw)
    assert m.workloads[0]["cost_usd_per_mtok"] == pytest.approx(c.usd_per_mtok, rel=1e-12)
    assert m.workloads[0]["cost_usd_per_mtok_low"] == pytest.approx(c.usd_per_mtok_low, rel=1e-12)
    # the frontier prices its points by the same rule
    f = tf.frontier("llama-3.3-70b", ["dgx-h100"], isl="1k", osl="1k")
    r = f.records[0]
    u = preset_for(get_system("dgx-h100")).utilization
    assert r["usd_per_mtok"] == pytest.approx(
        r["usd_per_hour"] / (r["total_tok_s_per_chip"] * r["chips"] * 3600 * u / 1e6), rel=1e-12
    )


def test_zero_utilisation_is_one_clear_error():
    with pytest.raises(InvalidInputError, match=r"utilisation must be in \(0, 1\]"):
        served_tokens_per_hour(100.0, 0.0)
    with pytest.raises(InvalidInputError, match="--utilization must be in"):
        analyses.margin("llama-3.3-70b", "dgx-h100", isl="1k", osl="1k", utilization=0.0)
