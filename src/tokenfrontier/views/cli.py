"""The ``tokenfrontier`` command line. Human tables by default, ``--json`` on every command.

Bad input prints one line ``tokenfrontier: error: ...`` on stderr and exits with status 2.
Only argparse is imported at start-up so ``--help`` is instant; the core loads per command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["main"]

WEIGHTS = ("bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "native")
KV = ("bf16", "fp16", "fp8", "int8", "fp4")


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

    p = sub.add_parser("predict", parents=[common], help="TTFT, TPOT, tok/s of one deployment")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip (then --tp counts chips) or system")
    _serving_opts(p)
    p.add_argument("--concurrency", default="1", metavar="N", help="requests in flight")
    p.add_argument("--tp", type=int, help="tensor-parallel chips per stage")
    p.add_argument("--ep", type=int, help="expert-parallel degree inside the TP group")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--systems", type=int, help="systems per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--activations", choices=("bf16", "fp8", "fp4"), help="compute dtype")
    p.add_argument("--spec-decode", metavar="SPEC", help="e.g. k=3,acceptance=0.7,draft=mtp")
    p.add_argument("--prefill-on", metavar="HW", help="disaggregated prefill hardware")
    p.add_argument("--prefill-tp", type=int, metavar="N", help="TP of the prefill side")

    p = sub.add_parser("frontier", parents=[common], help="Pareto frontier over hardware")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW1,HW2", help="comma-separated hardware ids")
    _serving_opts(p)
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

    p = sub.add_parser("deal", parents=[common, explain], help="implied rate, IRR, NPV of a deal")
    p.add_argument("--contract-usd", type=float, required=True, help="contract value ($)")
    p.add_argument("--mw", type=float, required=True, help="MW of capacity")
    p.add_argument("--years", type=float, required=True, help="lock-in term (years)")
    p.add_argument("--system", default="cs-3", help="system id (default cs-3)")
    p.add_argument("--kw-per-system", type=float, help="all-in kW per system")
    p.add_argument("--preset", metavar="NAME", help="TCO preset for capex and opex")
    p.add_argument("--prepay", type=float, default=0.04, help="prepay fraction (0.04)")
    p.add_argument("--life", type=int, default=5, help="hardware life (years)")
    p.add_argument("--post-term-margin", type=float, default=-0.10, help="EBITDA margin after")
    p.add_argument("--discount-rate", type=float, default=0.13, help="NPV discount rate")
    p.add_argument("--capex-per-system", type=float, help="override capex per system ($)")

    p = sub.add_parser("cost", parents=[common, explain], help="$ per Mtok of a serving point")
    p.add_argument("model", help="catalog model id or path to a config.json")
    p.add_argument("--on", required=True, metavar="HW", help="chip or system")
    _serving_opts(p)
    p.add_argument("--concurrency", default="1", metavar="N", help="requests in flight")
    p.add_argument("--tp", type=int, help="tensor-parallel chips per stage")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--systems", type=int, help="systems per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--ep", type=int, help="expert-parallel degree inside the TP group")
    p.add_argument("--activations", choices=("bf16", "fp8", "fp4"), help="compute dtype")
    p.add_argument("--spec-decode", metavar="SPEC", help="e.g. k=3,acceptance=0.7,draft=mtp")
    p.add_argument("--prefill-on", metavar="HW", help="disaggregated prefill hardware")
    p.add_argument("--usd-per-hour", type=float, help="price per system-hour (overrides TCO)")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override TCO inputs")
    p.add_argument("--rental", action="store_true", help="rental $/chip-hour")
    p.add_argument("--mix", default="workload", choices=("workload", "agentic"))
    p.add_argument("--cache-read-multiple", type=float, default=10.0, help="5-20 (SPEC)")
    p.add_argument("--price", nargs="+", metavar="TYPE=USD", help="selling card $/Mtok")
    p.add_argument(
        "--target-tok-s-per-user",
        type=float,
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
    p.add_argument("--usd-per-system", type=float, help="$ per system (capex)")
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
    p.add_argument("--mw", type=float, required=True, help="MW of critical IT")
    _serving_opts(p)
    p.add_argument("--concurrency", default="1", metavar="N", help="requests per model copy")
    p.add_argument("--weights", default="native", choices=WEIGHTS, help="weight dtype")
    p.add_argument("--usd-per-mtok", type=float, default=0.30, help="selling price $/Mtok")
    p.add_argument("--kw-per-system", type=float, help="all-in kW per system")
    p.add_argument("--preset", metavar="NAME", help="TCO preset")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override TCO inputs")

    p = sub.add_parser("calibrate", parents=[common], help="fit efficiency profiles on a CSV")
    p.add_argument("--measured", required=True, metavar="FILE.csv", help="measured CSV")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the profile TOMLs")
    p = sub.add_parser("dashboard", help="serve the interactive dashboard on 127.0.0.1")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")

    for name in _PLOTTED:
        sub.choices[name].add_argument(
            "--plot", metavar="FILE", help="also draw the figure: .html (offline), .png or .svg"
        )
    sub.choices["frontier"].add_argument(
        "--cost-plot", metavar="FILE", help="also draw $ per Mtok vs interactivity"
    )
    return parser


_PLOTTED = ("roofline", "gemm", "deploy", "predict", "frontier", "tco", "calculator", "phase")


def _figure(command: str, result: Any, args: argparse.Namespace) -> Any:
    from ..catalog import default_catalog
    from . import plots

    if command in ("roofline", "gemm"):
        cat = default_catalog().with_paths(args.catalog) if args.catalog else default_catalog()
        rows = result.records if command == "roofline" else result.extra and result.records
        chips = [cat.chip(c) for c in dict.fromkeys(r["chip"] for r in rows)]
        return plots.roofline_figure(chips, args.dtype or "fp8")
    if command == "predict":
        if not result.feasible:
            from ..errors import InvalidInputError

            raise InvalidInputError(f"--plot: nothing to draw, {result.explanation}")
        return plots.breakdown_figure(result)
    if command in ("deploy", "calculator"):
        return plots.memory_figure(result)
    if command == "frontier":
        return plots.frontier_figure(result)
    if command == "tco":
        return plots.tco_figure(result)
    return plots.phase_figure(result)


def _serving_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--isl", required=True, metavar="N", help="prompt tokens (8192, 96k)")
    p.add_argument("--osl", required=True, metavar="N", help="output tokens")
    p.add_argument("--kv-dtype", default="bf16", choices=KV, help="KV-cache dtype")
    p.add_argument("--framework", metavar="NAME", help="serving stack (vllm, sglang, trt, ...)")
    p.add_argument(
        "--length-spread",
        type=float,
        default=1.0,
        metavar="F",
        help="lengths uniform in [F*L, L]; 1 = fixed (the measured data uses 0.8)",
    )


def _int(text: str, name: str) -> int:
    from ..units import parse_positive_int

    return parse_positive_int(text, name, limit=10**7)


def _run(args: argparse.Namespace) -> Any:
    from .. import api
    from ..catalog import default_catalog
    from ..economics import api as econ

    cat = default_catalog().with_paths(args.catalog) if args.catalog else None
    commands: dict[str, Callable[[], Any]] = {
        "models": lambda: api.models(cat),
        "hardware": lambda: api.hardware(cat),
        "footprint": lambda: api.footprint(
            args.model, args.weights, args.kv_dtype, args.context, args.full_attention, cat
        ),
        "deploy": lambda: api.deploy(
            args.model,
            args.on,
            args.weights,
            args.kv_dtype,
            args.context,
            args.full_attention,
            args.systems,
            cat,
        ),
        "roofline": lambda: api.roofline(args.dtype, args.chips, cat),
        "gemm": lambda: api.gemm(
            _int(args.m, "M"), _int(args.n, "N"), _int(args.k, "K"), args.dtype, args.chips, cat
        ),
        "reproduce": lambda: api.reproduce(cat),
        "predict": lambda: api.predict(
            args.model,
            args.on,
            **_serving(args),
            concurrency=_int(args.concurrency, "concurrency"),
            tp=args.tp,
            ep=args.ep,
            pp=args.pp,
            systems=args.systems,
            weights=args.weights,
            spec_decode=args.spec_decode,
            prefill_on=args.prefill_on,
            prefill_tp=args.prefill_tp,
            activations=args.activations,
            catalog=cat,
        ),
        "frontier": lambda: api.frontier(
            args.model,
            args.on,
            **_serving(args),
            weights=args.weights,
            spec_decode=[None, *(args.spec_decode or [])],
            pareto=not args.all,
            rental=args.rental,
            preset=args.preset,
            catalog=cat,
        ),
        "tco": lambda: econ.tco(args.system, args.preset, econ.parse_settings(args.set), cat),
        "deal": lambda: econ.deal(
            contract_usd=args.contract_usd,
            mw=args.mw,
            years=args.years,
            system=args.system,
            kw_per_system=args.kw_per_system,
            preset=args.preset,
            prepay_fraction=args.prepay,
            hardware_life_years=args.life,
            post_term_ebitda_margin=args.post_term_margin,
            discount_rate=args.discount_rate,
            capex_per_system_usd=args.capex_per_system,
            catalog=cat,
        ),
        "cost": lambda: econ.cost(
            args.model,
            args.on,
            **_serving(args),
            concurrency=_int(args.concurrency, "concurrency"),
            usd_per_hour=args.usd_per_hour,
            preset=args.preset,
            overrides=econ.parse_settings(args.set),
            rental=args.rental,
            mix=args.mix,
            cache_read_multiple=args.cache_read_multiple,
            prices=econ.parse_settings(args.price, "--price"),
            target_tok_s_per_user=args.target_tok_s_per_user,
            catalog=cat,
            tp=args.tp,
            ep=args.ep,
            pp=args.pp,
            systems=args.systems,
            weights=args.weights,
            activations=args.activations,
            spec_decode=args.spec_decode,
            prefill_on=args.prefill_on,
        ),
        "calculator": lambda: econ.calculator(
            _calc_model(args, econ),
            args.on,
            isl=args.isl,
            osl=args.osl,
            concurrency=_int(args.concurrency, "concurrency"),
            weights=args.weights,
            kv_dtype=args.kv_dtype,
            usd_per_system=args.usd_per_system,
            preset=args.preset,
            catalog=cat,
        ),
        "phase": lambda: econ.phase(
            args.on, _int(args.concurrency, "concurrency"), args.kv_dtype, catalog=cat
        ),
        "fleet": lambda: econ.fleet(
            args.model,
            args.on,
            mw=args.mw,
            **_serving(args),
            concurrency=_int(args.concurrency, "concurrency"),
            usd_per_mtok=args.usd_per_mtok,
            kw_per_system=args.kw_per_system,
            preset=args.preset,
            overrides=econ.parse_settings(args.set),
            catalog=cat,
            weights=args.weights,
        ),
        "validate": lambda: api.validate(args.measured, cat),
        "calibrate": lambda: _calibrated(api.calibrate(args.measured, args.out, cat), args.out),
    }
    return commands[args.command]()


def _serving(args: argparse.Namespace) -> dict[str, Any]:
    """Workload and stack options shared by predict, frontier, cost and fleet."""
    return dict(
        isl=args.isl,
        osl=args.osl,
        kv_dtype=args.kv_dtype,
        framework=args.framework,
        spread=args.length_spread,
    )


def _calc_model(args: argparse.Namespace, econ: Any) -> Any:
    from ..errors import InvalidInputError

    if args.custom:
        if args.model:
            raise InvalidInputError("calculator: give a model id or --custom, not both")
        spec = econ.parse_settings(args.custom, "--custom")
        if "layers" in spec:
            spec["layers"] = int(spec["layers"])
        valid = {"total_params", "active_params", "layers", "kv_bytes_per_token"}
        if set(spec) - valid or "total_params" not in spec:
            raise InvalidInputError(f"--custom needs total_params= and may set {', '.join(sorted(valid))}")
        return spec
    if not args.model:
        raise InvalidInputError("calculator: give a model id or --custom total_params=...")
    return args.model


class _Written:
    def __init__(self, profiles: list[Any], out: str) -> None:
        self.profiles, self.out = profiles, out

    def to_json(self) -> str:
        import json

        return json.dumps({"out": self.out, "profiles": [p.model_dump() for p in self.profiles]},
                          indent=2)  # fmt: skip

    def __str__(self) -> str:
        lines = [f"wrote {len(self.profiles)} profile(s) to {self.out}"]
        for p in self.profiles:
            err = ", ".join(f"{k} {v}" for k, v in p.fit_error.items()) or "derived"
            lines.append(f"  {p.id}: {err}")
        return "\n".join(lines)


def _calibrated(profiles: list[Any], out: str) -> _Written:
    return _Written(profiles, out)


def _write_csv(result: Any, path: str) -> None:
    from ..errors import InvalidInputError

    frame = result.to_frame()
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise InvalidInputError(f"--csv {path}: cannot write: {exc.strerror}") from None


def _dashboard(port: int) -> int:
    import subprocess

    from .dashboard import APP

    if not 1024 <= port <= 65535:
        sys.stderr.write(f"tokenfrontier: error: --port must be in 1024..65535, got {port}\n")
        return 2
    try:
        import streamlit  # noqa: F401
    except ImportError:
        sys.stderr.write(
            "tokenfrontier: error: the dashboard needs streamlit: pip install 'tokenfrontier[dashboard]'\n"
        )
        return 2
    sys.stderr.write(f"tokenfrontier dashboard on http://127.0.0.1:{port}\n")
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "dashboard":
        return _dashboard(args.port)
    from ..errors import TokenFrontierError

    try:
        result = _run(args)
        if getattr(args, "csv", None):
            _write_csv(result, args.csv)
        if getattr(args, "plot", None):
            from .plots import save

            save(_figure(args.command, result, args), args.plot)
        if getattr(args, "cost_plot", None):
            from .plots import cost_figure, save

            save(cost_figure(result), args.cost_plot)
    except TokenFrontierError as exc:
        sys.stderr.write(f"tokenfrontier: error: {exc}\n")
        return 2
    if getattr(args, "explain", False) and not args.json:
        out = f"{result}\n\n{result.explain()}"
    else:
        out = result.to_json() if args.json else str(result)
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
