"""The ``tokenfrontier`` argument parser: every command, its options and their help.

Errors from argparse print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

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

    p = sub.add_parser("calibrate", parents=[common], help="fit efficiency profiles on a CSV")
    p.add_argument("--measured", required=True, metavar="FILE.csv", help="measured CSV")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the profile TOMLs")
    _simulate_opts(sub.add_parser("simulate", parents=[common], help="request-level serving simulation"))
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
PLOTTED = ("roofline", "gemm", "deploy", "predict", "frontier", "tco", "calculator", "phase")


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
