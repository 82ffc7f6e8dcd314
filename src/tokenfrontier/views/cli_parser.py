"""The ``tokenfrontier`` argument parser: every command, its options and their help.

Errors from argparse print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["KV", "PLOTTED", "WEIGHTS", "build_parser"]

WEIGHTS = ("bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "native")
KV = ("bf16", "fp16", "fp8", "int8", "fp4")


def _number(
    lo: float | None,
    hi: float | None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
    unit: str = "",
) -> Callable[[str], float]:
    """An argparse type: a finite number in the range (the message states it), or an integer."""

    def parse(text: str) -> float:
        from ..errors import InvalidInputError
        from ..units import check_number

        try:
            x = check_number(text, "value", lo, hi, lo_open=lo_open, hi_open=hi_open,
                             integer=integer, unit=unit)  # fmt: skip
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix("value: ")) from None
        return int(x) if integer else x

    parse.__name__ = "integer" if integer else "number"
    return parse


_USD_PER_HOUR = _number(0, 1e7, lo_open=True, unit="$ per system-hour")
_KW = _number(0, 1e4, lo_open=True, unit="kW")
_MW = _number(0, 1e5, lo_open=True, unit="MW")
_USD = _number(0, 1e10, unit="$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _common() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON (SI units)")
    p.add_argument(
        "--catalog",
        action="append",
        default=[],
        metavar="PATH",
        help="extra catalog TOML/config.json file or folder (repeatable)",
    )
    return p


def _model_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument(
        "--full-attention",
        action="store_true",
        help="ignore sliding/chunked windows (the published-table convention)",
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog="tokenfrontier",
        description="LLM inference footprint, deployment and roofline on GPUs and SRAM machines.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("models", parents=[common], help="list catalog models")
    sub.add_parser("hardware", parents=[common], help="list catalog chips and systems")

    p = sub.add_parser("footprint", parents=[common], help="parameters, weight and KV bytes")
    _model_opts(p)
    p.add_argument(
        "--context",
        nargs="+",
        default=["128k"],
        metavar="N",
        help="contexts in tokens (8192, 128k = 128,000, 128Ki = 131,072)",
    )

    p = sub.add_parser("deploy", parents=[common], help="systems needed for one model copy")
    _model_opts(p)
    p.add_argument("--on", required=True, metavar="SYSTEM", help="system or chip id")
    p.add_argument("--context", default="8192", metavar="N", help="context per sequence")
    p.add_argument("--systems", type=int, metavar="N", help="use exactly N systems")

    p = sub.add_parser("roofline", parents=[common], help="ridge point per chip and dtype")
    p.add_argument("--dtype", help="one dtype (default: every native dtype)")
    p.add_argument("--chips", nargs="+", metavar="CHIP", help="only these chips")

    p = sub.add_parser("gemm", parents=[common], help="GEMM arithmetic intensity per chip")
    for dim in ("M", "N", "K"):
        p.add_argument(dim.lower(), metavar=dim, help=f"GEMM dimension {dim}")
    p.add_argument("--dtype", default="fp8", help="operand dtype (default fp8)")
    p.add_argument("--chips", nargs="+", metavar="CHIP", help="only these chips")

    sub.add_parser("reproduce", parents=[common], help="SPEC's published tables vs their stated methods")

    why = _Parser(add_help=False)
    why.add_argument("--explain", action="store_true", help="show the derivation")
    p = sub.add_parser("predict", parents=[common, why], help="TTFT, TPOT, tok/s of one deployment")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip (then --tp counts chips) or system")
    _serving_opts(p)
    _deployment_opts(p)
    p.add_argument("--dp", type=int, metavar="N", help=_DP_HELP)

    p = sub.add_parser("frontier", parents=[common], help="Pareto frontier over hardware")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW1,HW2", help="comma-separated hardware ids")
    _serving_opts(p)
    p.add_argument("--dp", type=int, metavar="N", help=_DP_HELP)
    p.add_argument("--weights", nargs="+", default=["native"], choices=WEIGHTS, help="quantizations to sweep")
    p.add_argument("--spec-decode", nargs="+", metavar="SPEC", help="also sweep these drafts")
    p.add_argument("--all", action="store_true", help="every feasible point, not only Pareto")
    p.add_argument("--pareto", action="store_true", help="only Pareto points (the default)")
    p.add_argument("--csv", metavar="FILE", help="also write the points to a CSV file")
    p.add_argument("--rental", action="store_true", help="price points at rental rates")
    p.add_argument("--preset", metavar="NAME", help="TCO preset for pricing")
    p.add_argument(
        "--per",
        choices=("chip", "system", "kw", "usd-hour"),
        help="throughput per chip, system, kW or $/hour (default: usd-hour when SRAM machines "
        "and GPUs are compared, else chip)",
    )

    p = sub.add_parser("validate", parents=[common], help="predict measured rows, report error")
    p.add_argument("--measured", required=True, metavar="FILE.csv", help="measured CSV")
    p.add_argument("--csv", metavar="FILE", help="also write per-row predictions to a CSV file")

    explain = _Parser(add_help=False)
    explain.add_argument("--explain", action="store_true", help="show the derivation")

    p = sub.add_parser("tco", parents=[common, explain], help="TCO $/hour of a system")
    p.add_argument("system", help="system or chip id")
    p.add_argument("--preset", metavar="NAME", help="TCO preset (cs-3: cs-3-vendor-fleet)")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override TCO inputs")
    p.add_argument(
        "--usd-per-hour", type=_USD_PER_HOUR, metavar="USD", help="price by this rate per system-hour instead"
    )
    p.add_argument("--rental", action="store_true", help="price by the catalog's rental rate instead")

    p = sub.add_parser("deal", parents=[common, explain], help="implied rate, IRR, NPV of a deal")
    p.add_argument(
        "--contract-usd",
        type=_number(0, 1e13, lo_open=True, unit="$"),
        required=True,
        help="contract value ($)",
    )
    p.add_argument("--mw", type=_MW, required=True, help="MW of capacity")
    p.add_argument(
        "--years", type=_number(0, 30, lo_open=True, unit="years"), required=True, help="lock-in term (years)"
    )
    p.add_argument("--system", default="cs-3", help="system id (default cs-3)")
    p.add_argument("--kw-per-system", type=_KW, help="all-in kW per system")
    p.add_argument("--preset", metavar="NAME", help="TCO preset for capex and opex")
    p.add_argument("--prepay", type=_number(0, 1, hi_open=True), default=0.04, help="prepay fraction (0.04)")
    p.add_argument(
        "--life", type=_number(1, 30, integer=True, unit="years"), default=5, help="hardware life (years)"
    )
    p.add_argument("--post-term-margin", type=_number(-1, 1), default=-0.10, help="EBITDA margin after")
    p.add_argument(
        "--discount-rate", type=_number(-1, 1, lo_open=True), default=0.13, help="NPV discount rate"
    )
    p.add_argument("--capex-per-system", type=_USD, help="override capex per system ($)")
    _deal_analysis_opts(p)
    _contract_opts(sub, common, explain)
    _compare_opts(sub, common)

    p = sub.add_parser("cost", parents=[common, explain], help="$ per Mtok of a serving point")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip or system")
    _serving_opts(p)
    _deployment_opts(p)
    p.add_argument("--usd-per-hour", type=_USD_PER_HOUR, help="price per system-hour (overrides TCO)")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override TCO inputs")
    p.add_argument("--rental", action="store_true", help="rental $/chip-hour")
    p.add_argument("--mix", default="workload", choices=("workload", "agentic"))
    p.add_argument(
        "--method",
        default="work",
        choices=("work", "card-multiple"),
        help="split $/hour by each token's work (default) or the card's fixed multiples",
    )
    p.add_argument("--cache-read-multiple", type=_number(1, 100), default=10.0, help="1-100; SPEC: 5-20")
    p.add_argument("--price", nargs="+", metavar="TYPE=USD", help="selling card $/Mtok")
    p.add_argument(
        "--target-tok-s-per-user",
        type=_number(0, 1e6, lo_open=True, unit="tok/s"),
        metavar="X",
        help="pick the frontier point with the most tok/s/chip at >= X tok/s/user",
    )

    p = sub.add_parser("calculator", parents=[common, explain], help="wafer calculator (any hardware)")
    p.add_argument("model", nargs="?", help="catalog model id or config.json (or --custom)")
    p.add_argument("--on", default="cs-3", metavar="HW", help="system (default cs-3)")
    p.add_argument("--isl", required=True, metavar="N", help="average prompt tokens")
    p.add_argument("--osl", required=True, metavar="N", help="average output tokens")
    p.add_argument("--concurrency", default="1", metavar="N", help="concurrent requests")
    p.add_argument("--weights", default="bf16", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument("--usd-per-system", type=_USD, help="$ per system (capex)")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument(
        "--custom",
        nargs="+",
        metavar="KEY=VALUE",
        help="custom model: total_params= active_params= layers= kv_bytes_per_token=",
    )

    p = sub.add_parser("phase", parents=[common], help="systems over ISL x model size")
    p.add_argument("--on", default="cs-3", metavar="HW", help="system (default cs-3)")
    p.add_argument("--concurrency", default="1", metavar="N", help="concurrent requests")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")

    p = sub.add_parser("fleet", parents=[common, explain], help="MW -> systems -> tokens -> $/year")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="system")
    p.add_argument("--mw", type=_MW, required=True, help="MW of critical IT")
    _serving_opts(p)
    p.add_argument("--concurrency", default="1", metavar="N", help="requests per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument(
        "--usd-per-mtok",
        type=_number(0, 1e4, lo_open=True, unit="$"),
        default=0.30,
        help="selling price $/Mtok",
    )
    p.add_argument("--kw-per-system", type=_KW, help="all-in kW per system")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override TCO inputs")

    _ramp_margin_opts(sub, common, explain)
    p = sub.add_parser("calibrate", parents=[common], help="fit efficiency profiles on a CSV")
    p.add_argument("--measured", required=True, metavar="FILE.csv", help="measured CSV")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the profile TOMLs")
    _simulate_opts(sub.add_parser("simulate", parents=[common], help="request-level serving simulation"))
    _sweep_opts(sub.add_parser("sweep", parents=[common], help="evaluate a grid TOML, resumable, to Parquet"))
    _plan_opts(sub.add_parser("plan", parents=[common, explain], help="cheapest fleet meeting an SLO"))
    _design_opts(sub.add_parser("design", parents=[common], help="derive a catalog entry from silicon"))
    p = sub.add_parser("dashboard", help="serve the interactive dashboard on 127.0.0.1")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")

    for name in PLOTTED:
        sub.choices[name].add_argument(
            "--plot", metavar="FILE", help="also draw the figure: .html (offline), .png or .svg"
        )
    sub.choices["frontier"].add_argument(
        "--cost-plot", metavar="FILE", help="also draw $ per Mtok vs interactivity"
    )
    return parser


_DP_HELP = "attention data-parallel ranks per TP group (MoE; experts over all chips, EP = TP)"
PLOTTED = ("roofline", "gemm", "deploy", "predict", "frontier", "tco", "calculator", "phase", "deal", "ramp",
           "sweep")  # fmt: skip


def _executor_opts(p: Any, what: str, default: str) -> None:
    """``--executor``, ``--workers``, ``--ray`` on a parser or argument group ``p``: where
    ``what`` runs (``sweep``, ``plan``; ``grid.executors`` makes the executor)."""
    p.add_argument("--executor", choices=("serial", "process", "ray"), default=None,
                   help=f"where {what} (default: {default}, or ray with --ray)")  # fmt: skip
    p.add_argument(
        "--workers", type=int, metavar="N", help="processes / Ray tasks at once (default: all cores)"
    )
    p.add_argument("--ray", metavar="auto|ADDRESS", dest="ray_address",
                   help="run on Ray: 'auto' joins a running cluster or starts a local one")  # fmt: skip


def _sweep_opts(p: argparse.ArgumentParser) -> None:
    """Options of ``sweep``: the grid, the results folder, the executor."""
    p.add_argument("grid", metavar="GRID.toml", help="the grid: axes of models x hardware x workloads x ...")
    p.add_argument("--out", metavar="DIR", help="results folder (Parquet; default NAME.sweep here)")
    _executor_opts(p, "cells run", "process")
    p.add_argument("--progress", action="store_true", help="progress bar on stderr even when not a terminal")
    p.add_argument("--store-every", type=float, default=1.0, metavar="SECONDS",
                   help="store finished cells this often (default 1; 0: each as it ends)")  # fmt: skip


def _deal_analysis_opts(p: argparse.ArgumentParser) -> None:
    """``deal --by-year`` / ``--tornado``: EBIT by contract year, NPV/IRR sensitivity."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--by-year",
        action="store_true",
        help="EBIT margin by contract year: depreciation over term / accounting life / 6 y",
    )
    g.add_argument("--tornado", action="store_true",
                   help="NPV/IRR swing over $/hour, utilisation, WACC, useful life")  # fmt: skip
    p.add_argument(
        "--warrant",
        default="max",
        choices=("max", "vested", "none"),
        help="warrant contra-revenue recognised with --by-year (default max: every tranche)",
    )
    p.add_argument("--accounting-life", type=_number(0, 30, lo_open=True, unit="years"), default=5.0,
                   help="accounting depreciation life for --by-year (default 5)")  # fmt: skip


def _contract_opts(sub: Any, common: argparse.ArgumentParser, explain: argparse.ArgumentParser) -> None:
    p = sub.add_parser("contracts", parents=[common, explain],
                       help="large AI cloud contracts: implied $/yr, $/MW-yr, arithmetic flags")  # fmt: skip
    p.add_argument("--table", metavar="FILE.csv", help="your own table (default: SPEC §5's, bundled)")


def _compare_opts(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "compare", parents=[common], help="SPEC §5's published comparisons, reproduced and explained"
    )
    names = ("cs3-agentic", "v4-cs3-vs-gb300", "trn3-prefill", "gb300-vs-h100")
    p.add_argument("name", choices=names, help="which comparison")
    p.add_argument("--model", metavar="M[,M...]", help="model id(s) instead of the comparison's own")
    p.add_argument("--at", metavar="X[,X...]", help="tok/s per user to compare at")
    p.add_argument(
        "--trn3-usd-per-chip-hour",
        type=_number(0, 1e4, lo_open=True, unit="$"),
        help="trn3-prefill: Trainium3 $/chip-hour (default: the H100 rental midpoint)",
    )


def _ramp_margin_opts(sub: Any, common: argparse.ArgumentParser, explain: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ramp", parents=[common, explain], help="MW online by quarter vs a contract's schedule"
    )
    p.add_argument("model", nargs="?", help="model id: also tokens/s and token revenue")
    p.add_argument("--table", default="base", metavar="FILE|NAME",
                   help="CSV quarter,mw_online (bundled: base, high; default base)")  # fmt: skip
    p.add_argument("--on", default="cs-3", metavar="HW", help="system (default cs-3)")
    p.add_argument("--isl", default="8192", metavar="N", help="prompt tokens (with a model; 8192)")
    p.add_argument("--osl", default="1024", metavar="N", help="output tokens (with a model; 1024)")
    p.add_argument("--concurrency", default="1", metavar="N", help="requests per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--usd-per-mtok", type=_number(0, 1e4, lo_open=True, unit="$"), default=0.30,
                   help="token price $/Mtok (0.30)")  # fmt: skip
    p.add_argument("--kw-per-system", type=_KW, help="all-in kW per system (default: TCO preset)")
    p.add_argument("--usd-per-system-hour", type=_USD_PER_HOUR,
                   help="contract rate (default: the 750 MW deal's implied rate)")  # fmt: skip
    p.add_argument("--mw-per-year", type=_MW, default=250.0, help="MW the contract needs per year (250)")
    p.add_argument(
        "--start-year", type=_number(2000, 2100, integer=True), default=2026, help="schedule start"
    )
    p.add_argument("--end-year", type=_number(2000, 2100, integer=True), default=2028, help="schedule end")
    p.add_argument("--preset", metavar="NAME", help="TCO preset (kW per system, utilisation)")
    p.add_argument("--utilization", type=_number(0, 1, lo_open=True),
                   help="share of hours serving: scales token revenue (default: TCO preset)")  # fmt: skip

    p = sub.add_parser("margin", parents=[common, explain], help="gross margin vs a price card")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip or system")
    p.add_argument("--card", default="default", metavar="NAME", help="price card id (default 'default')")
    p.add_argument("--workload", nargs="+", default=["plain", "agentic"], choices=("plain", "agentic"),
                   help="token mixes (default both)")  # fmt: skip
    p.add_argument("--isl", required=True, metavar="N", help="prompt tokens (8192, 96k)")
    p.add_argument("--osl", required=True, metavar="N", help="output tokens")
    p.add_argument("--concurrency", default="1", metavar="N", help="requests in flight")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument(
        "--price",
        nargs="+",
        metavar="TYPE=USD",
        help="replace the card's $/Mtok: every one of cache_read cache_write input output",
    )
    p.add_argument("--usd-per-hour", type=_USD_PER_HOUR, help="price per system-hour (overrides TCO)")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument("--rental", action="store_true", help="rental $/chip-hour")
    p.add_argument("--cache-read-multiple", type=_number(1, 100), default=10.0, help="1-100; SPEC: 5-20")
    p.add_argument(
        "--utilization",
        type=_number(0, 1, lo_open=True),
        help="share of hours serving (TCO pricing): cost = TCO $/h at u / (tokens/h x u)",
    )
    p.add_argument("--points", action="store_true", help="also every frontier point on this hardware")


def _deployment_opts(p: argparse.ArgumentParser) -> None:
    """Options of one deployment, shared by predict and cost."""
    p.add_argument("--concurrency", default="1", metavar="N", help="requests in flight")
    p.add_argument("--tp", type=int, help="tensor-parallel chips per stage")
    p.add_argument("--ep", type=int, help="expert-parallel degree inside the TP group")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--systems", type=int, help="systems per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--activations", choices=("bf16", "fp8", "fp4"), help="compute dtype")
    p.add_argument("--spec-decode", metavar="SPEC", help="e.g. k=3,acceptance=0.7,draft=mtp")
    p.add_argument("--prefill-on", metavar="HW", help="disaggregated prefill hardware")
    p.add_argument("--prefill-tp", type=int, metavar="N", help="TP of each prefill worker")
    p.add_argument(
        "--prefill-workers",
        type=int,
        metavar="N",
        help="prefill workers (default: as many as keep up with the decode pool)",
    )
    p.add_argument(
        "--decode-workers", type=int, default=1, metavar="N", help="decode copies the prefill pool feeds"
    )


def _serving_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--isl", required=True, metavar="N", help="prompt tokens (8192, 96k)")
    p.add_argument("--osl", required=True, metavar="N", help="output tokens")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument(
        "--framework",
        metavar="NAME",
        help="serving stack (vllm, sglang, ...; an unknown name lists the valid ones)",
    )
    p.add_argument(
        "--policy",
        default="closed-loop",
        choices=("closed-loop", "queued", "simulated"),
        help="serving policy: closed-loop (every request resident), queued (run what fits, queue "
        "the rest) or simulated (request by request, slower)",
    )
    p.add_argument(
        "--length-spread",
        type=_number(0, 1, lo_open=True),
        default=1.0,
        metavar="F",
        help="lengths uniform in [F*L, L]; 1 = fixed (the measured data uses 0.8)",
    )


SIM_WORKLOADS = ("closed", "poisson", "gamma", "trace", "agentic")
SIM_SCHEDULING = ("chunked-mixed", "prefill-first", "decode-first")


def _simulate_opts(p: argparse.ArgumentParser) -> None:
    """``simulate``: a request stream through one deployment, event by event."""
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip (then --tp counts chips) or system")
    w = p.add_argument_group("workload")
    w.add_argument("--workload", choices=SIM_WORKLOADS, help="request stream (default closed)")
    w.add_argument("--isl", metavar="N", help="prompt tokens (closed, poisson, gamma)")
    w.add_argument("--osl", metavar="N", help="output tokens (closed, poisson, gamma)")
    w.add_argument("--concurrency", default="1", metavar="N", help="closed-loop users (default 1)")
    w.add_argument("--qps", type=float, metavar="X", help="arrivals per second (poisson, gamma)")
    w.add_argument("--requests", default="2000", metavar="N", help="requests to simulate (default 2000)")
    w.add_argument("--length-spread", type=float, default=1.0, metavar="F",
                   help="lengths uniform in [F*L, L]; 1 = fixed")  # fmt: skip
    w.add_argument("--burstiness", type=float, default=0.5, metavar="F",
                   help="gamma shape of arrival gaps (< 1 = burstier than Poisson; 0.5)")  # fmt: skip
    w.add_argument("--trace", metavar="FILE|NAME", help="CSV/JSONL trace or bundled trace name")
    w.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d = p.add_argument_group("deployment")
    d.add_argument("--tp", type=int, help="tensor-parallel chips per stage")
    d.add_argument("--ep", type=int, help="expert-parallel degree inside the TP group")
    d.add_argument("--pp", type=int, help="pipeline stages")
    d.add_argument("--dp", type=int, metavar="N", help=_DP_HELP)
    d.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    d.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    d.add_argument("--framework", metavar="NAME", help="serving stack (vllm, sglang, trt, ...)")
    d.add_argument("--spec-decode", metavar="SPEC", help="e.g. k=3,acceptance=0.7,draft=mtp")
    d.add_argument("--replicas", type=int, default=1, metavar="N", help="model copies behind a router")
    s = p.add_argument_group("scheduling and caching")
    s.add_argument("--scheduling", default="chunked-mixed", choices=SIM_SCHEDULING, help="step policy")
    s.add_argument("--token-budget", type=int, default=8192, metavar="N", help="tokens per step (8192)")
    s.add_argument("--max-seqs", type=int, default=1024, metavar="N", help="sequences per step (1024)")
    s.add_argument("--no-prefix-cache", action="store_true", help="turn the prefix cache off")
    s.add_argument("--host-cache-gb", type=float, default=0.0, metavar="GB",
                   help="add a host-DRAM cache tier of GB per replica")  # fmt: skip
    o = p.add_argument_group("SLO and output")
    o.add_argument("--slo-ttft-ms", type=float, metavar="MS", help="TTFT limit for goodput")
    o.add_argument("--slo-tpot-ms", type=float, metavar="MS", help="TPOT limit for goodput")
    o.add_argument("--server-search", action="store_true",
                   help="MLPerf-style Server: the highest Poisson QPS meeting the P99 limits")  # fmt: skip
    o.add_argument("--slo-ttft-p99-ms", type=float, metavar="MS", help="P99 TTFT limit (--server-search)")
    o.add_argument("--slo-tpot-p99-ms", type=float, metavar="MS", help="P99 TPOT limit (--server-search)")
    o.add_argument("--requests-out", metavar="FILE", help="write the per-request table (.csv, .parquet)")
    o.add_argument("--plot", metavar="FILE", help="latency CDFs and timeline: .html (offline), .png, .svg")


def _plan_opts(p: argparse.ArgumentParser) -> None:
    """``plan``: traffic, SLO, candidate hardware and price basis -> the cheapest fleet per hardware."""
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", default="all", metavar="HW1,HW2|all", help="candidates (default: all systems)")
    t = p.add_argument_group("traffic")
    t.add_argument("--traffic", default="poisson", choices=("poisson", "trace", "agentic"),
                   help="Poisson (--qps, --isl, --osl), a trace or the agentic generator")  # fmt: skip
    t.add_argument("--qps", type=_number(0, 1e7, lo_open=True, unit="requests/s"), metavar="X",
                   help="requests per second (a trace is replayed at this rate)")  # fmt: skip
    t.add_argument("--isl", metavar="N", help="prompt tokens (8192, 96k)")
    t.add_argument("--osl", metavar="N", help="output tokens")
    t.add_argument("--length-spread", type=_number(0, 1, lo_open=True), default=1.0, metavar="F",
                   help="lengths uniform in [F*L, L]; 1 = fixed")  # fmt: skip
    t.add_argument("--trace", metavar="FILE|NAME", help="CSV/JSONL trace or bundled trace name")
    t.add_argument("--requests", type=_number(1, 1e6, integer=True), default=1000, metavar="N",
                   help="requests per simulation (default 1000)")  # fmt: skip
    t.add_argument("--seed", type=_number(0, 2**31, integer=True), default=0, help="random seed (default 0)")
    s = p.add_argument_group("SLO")
    s.add_argument("--slo-ttft-p99-ms", type=_number(0, 1e7, lo_open=True, unit="ms"), default=2000.0,
                   metavar="MS", help="P99 time to first token limit (default 2000)")  # fmt: skip
    s.add_argument("--slo-tpot-p99-ms", type=_number(0, 1e6, lo_open=True, unit="ms"), metavar="MS",
                   help="P99 time per output token limit")  # fmt: skip
    s.add_argument("--min-tok-s-per-user", type=_number(0, 1e6, lo_open=True, unit="tok/s"), metavar="X",
                   help="instead of --slo-tpot-p99-ms: P99 TPOT <= 1 / X")  # fmt: skip
    s.add_argument("--goodput", type=_number(0, 1, lo_open=True), metavar="F",
                   help="also: share of requests meeting both limits (0-1)")  # fmt: skip
    s.add_argument("--pessimistic", action="store_true", help="plan at the slow end of the 80%% interval")
    c = p.add_argument_group("deployment and price")
    c.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    c.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    c.add_argument("--framework", metavar="NAME", help="serving stack (vllm, sglang, trt, ...)")
    c.add_argument("--prefill-on", metavar="HW", help="also consider disaggregated prefill on HW")
    c.add_argument("--prefill-tp", type=_number(1, 4096, integer=True), metavar="N",
                   help="TP of each prefill worker (default: the fastest that fits)")  # fmt: skip
    c.add_argument("--rental", action="store_true", help="price at rental rates")
    c.add_argument("--preset", metavar="NAME", help="TCO preset")
    c.add_argument("--mix", default="workload", choices=("workload", "agentic"), help="$/Mtok token mix")
    c.add_argument("--finalists", type=_number(1, 100, integer=True), default=3, metavar="N",
                   help="deployments per hardware confirmed by simulation (default 3)")  # fmt: skip
    _executor_opts(p.add_argument_group("executor"), "the search runs",  # 12 = api_plan.PROCESS_FROM
                   "serial below 12 hardware entries or on 1 core, else process")  # fmt: skip


def _design_opts(p: argparse.ArgumentParser) -> None:
    """``design``: a chip + system derived from physical inputs (omitted: the reference's)."""
    pos, frac = _number(0, 1e6, lo_open=True), _number(0, 1, lo_open=True)
    wafer = _number(0, 70_685.8, lo_open=True, unit="mm², one 300 mm wafer")  # = design.MAX_SILICON_MM2
    die = _number(0, 858, lo_open=True, unit="mm², one reticle")  # = design.MAX_DIE_MM2
    p.add_argument("--from", dest="reference", default="cs-3", metavar="HW", help="reference (default cs-3)")
    p.add_argument("--id", metavar="ID", help="new system id (its chip: the reference chip's id + suffix)")
    p.add_argument("--name", help="display name")
    p.add_argument("--node", help="process node: n7, n5, n3b, n3e, n2, a16")
    p.add_argument("--area-mm2", type=wafer, metavar="MM2", help="silicon area (mm²)")
    p.add_argument("--dies", type=_number(0, 1000, lo_open=True, integer=True), help="reticle tiling: dies")
    p.add_argument("--die-area-mm2", type=die, metavar="MM2", help="area of one die (mm², <= 858)")
    p.add_argument("--sram-share", type=frac, metavar="F", help="share of area that is SRAM")
    p.add_argument("--logic-share", type=frac, metavar="F", help="share of area that is logic")
    p.add_argument("--shoreline-gbps-per-mm", type=pos, metavar="X", help="edge I/O density (GB/s per mm)")
    p.add_argument("--perimeter-mm", type=pos, metavar="MM", help="usable edge (mm)")
    p.add_argument("--edge-fraction", type=frac, default=1.0, metavar="F", help="usable share of the edge")
    p.add_argument("--photonic-io-tbps", type=_number(0, 1e4), metavar="TBPS", help="photonic I/O (TB/s)")
    p.add_argument("--photonic-gbps-per-mm2", type=pos, metavar="X", help="photonic I/O density")
    p.add_argument("--photonic-area-mm2", type=pos, metavar="MM2", help="face area used for photonics")
    p.add_argument("--dram-wafer-gb", type=_number(0, 1e6), default=0.0, metavar="GB", help="bonded DRAM GB")
    p.add_argument("--dram-wafer-tbps", type=pos, metavar="TBPS", help="bonded DRAM bandwidth (TB/s)")
    p.add_argument("--weights-on", default="sram", choices=("sram", "dram"), help="tier holding the weights")
    p.add_argument("--dram-usd-per-gb", type=_number(0, 1e4), default=10.0, metavar="USD", help="$/GB (10)")
    p.add_argument("--power-kw", type=_KW, help="all-in system power (kW; default derived)")
    p.add_argument("--price-usd", type=_USD, help="system price ($; default derived)")
    p.add_argument("--out", metavar="DIR", help="write the chip, system and TCO preset TOML here")
    p.add_argument("--tables", action="store_true", help="SPEC's SRAM-by-node and shoreline tables")
