"""Fair comparisons (issue 12 item 8): frontier throughput per chip, system, kW or $/hour."""

from __future__ import annotations

import json

import pytest

import tokenfrontier as tf
from conftest import assert_cli_error
from tokenfrontier.api import get_system
from tokenfrontier.economics.pricing import hourly_rate
from tokenfrontier.views import plots
from tokenfrontier.views.cli import main

_KEYS = ("tok_s_per_system", "tok_s_per_kw", "tok_s_per_usd_hour")


def test_per_kw_exact_cli_output(capsys):
    # CS-3: one wafer per system, 30 kW all-in (SPEC §2) -> tok/s per kW = tok/s per chip / 30
    argv = ["frontier", "llama-3.1-8b", "--on", "cs-3", "--isl", "1k", "--osl", "256"]
    assert main([*argv, "--per", "kw"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["hardware", "weights", "deployment", "chips", "conc", "tok/s/user",
                                "tok/s/chip", "tok/s", "per", "kW", "out", "tok/s/chip", "TTFT", "ms",
                                "TPOT", "ms", "$/Mtok"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert len(points) == len(lines) - 3
    dashes = lines[2].split("  ")  # column widths from the rule under the header
    start = sum(len(d) + 2 for d in dashes[:7])
    width = len(dashes[7])
    assert lines[1][start : start + width].strip() == "tok/s per kW"
    for line, p in zip(lines[3:], points, strict=True):
        per_kw = p["total_tok_s_per_chip"] / 30  # printed as computed: two decimals below 1,000
        assert p["tok_s_per_kw"] == pytest.approx(p["total_tok_s_per_chip"] / 30)
        assert p["tok_s_per_system"] == pytest.approx(p["total_tok_s_per_chip"])
        shown = line[start : start + width].strip()
        assert shown == (f"{per_kw:,.0f}" if per_kw >= 1000 else f"{per_kw:,.2f}"), (shown, per_kw)
        # $/Mtok to four decimals: cheap tokens differ in the third and fourth (0.0114 vs 0.0095)
        assert line.split()[-1] == f"{p['usd_per_mtok']:.4f}"


def test_mixed_sram_and_gpu_defaults_to_per_usd_hour(capsys):
    assert main(["frontier", "gpt-oss-120b", "--on", "cs-3,hgx-b200", "--isl", "1k", "--osl", "1k"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[1]
    assert "tok/s per $/hour (TCO)" in header
    assert out.splitlines()[-1] == (
        "note: SRAM machines and GPUs compared: throughput per $/hour by default (a wafer is one chip "
        "that costs as much as many GPUs); --per chip for tok/s per chip"
    )
    assert main(["frontier", "gpt-oss-120b", "--on", "cs-3,hgx-b200", "--isl", "1k", "--osl", "1k",
                 "--per", "chip"]) == 0  # fmt: skip
    assert "per $/hour" not in capsys.readouterr().out
    f = tf.frontier("gpt-oss-120b", "hgx-b200,dgx-h100", isl=1024, osl=1024)
    assert f.extra["per"] == "chip"  # GPUs only: per chip
    rental = tf.frontier("gpt-oss-120b", "cs-3,hgx-b200", isl=1024, osl=1024, rental=True)
    assert rental.extra["per_label"] == "tok/s per $/hour (rental)"


def test_every_record_carries_every_normalisation():
    f = tf.frontier("gpt-oss-120b", "cs-3,gb300-nvl72", isl=1024, osl=1024, per="system")
    assert f.extra["per_key"] == "tok_s_per_system"
    for r in f:
        system = get_system(r["hardware"])
        assert all(k in r for k in _KEYS)
        rate = hourly_rate(system).usd_per_chip_hour
        u = hourly_rate(system).utilization  # tok/s served, averaged over the hours paid for
        assert r["tok_s_per_system"] == pytest.approx(r["total_tok_s_per_chip"] * system.chips)
        assert r["tok_s_per_kw"] == pytest.approx(
            r["total_tok_s_per_chip"] / (system.power_w / system.chips / 1e3)
        )
        assert r["tok_s_per_usd_hour"] == pytest.approx(r["total_tok_s_per_chip"] * u / rate)
    fig = plots.frontier_figure(f)
    assert fig.layout.yaxis.title.text == "throughput: total tok/s/system"
    line = next(d for d in fig.data if d.name in {r["hardware"] for r in f})  # not a band trace
    shown = sorted(line.y)
    assert shown == sorted(r["tok_s_per_system"] for r in f if r["hardware"] == line.name)


def test_per_usd_hour_ranks_as_usd_per_mtok_at_equal_interactivity():
    f = tf.frontier("gpt-oss-120b", "cs-3,hgx-b200,dgx-h100", isl=1024, osl=1024)
    assert f.extra["per"] == "usd-hour"
    fig = plots.frontier_figure(f)
    assert fig.layout.yaxis.title.text == "throughput: total tok/s per $/hour (TCO)"
    for r in f:  # tok/s per $/hour x $/Mtok = 1e6 / 3600 at every point
        assert r["tok_s_per_usd_hour"] * r["usd_per_mtok"] == pytest.approx(1e6 / 3600)
    hws = sorted({r["hardware"] for r in f})
    for x in (10.0, 50.0, 100.0, 200.0):
        best = {}
        for hw in hws:
            ok = [r for r in f if r["hardware"] == hw and r["tok_s_per_user"] >= x]
            if ok:
                best[hw] = (max(r["tok_s_per_usd_hour"] for r in ok), min(r["usd_per_mtok"] for r in ok))
        by_throughput = sorted(best, key=lambda h: -best[h][0])
        by_cost = sorted(best, key=lambda h: best[h][1])
        assert by_throughput == by_cost, x


def test_bad_per(capsys):
    assert_cli_error(capsys, ["frontier", "gpt-oss-120b", "--on", "cs-3", "--isl", "1k", "--osl", "1k",
                              "--per", "wafer"], "--per")  # fmt: skip
    with pytest.raises(tf.errors.InvalidInputError, match="--per"):
        tf.frontier("gpt-oss-120b", "cs-3", isl=1024, osl=1024, per="wafer")
