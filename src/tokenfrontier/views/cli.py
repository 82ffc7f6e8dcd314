"""The ``tokenfrontier`` command line. Human tables by default, ``--json`` on every command.

Bad input prints one line ``tokenfrontier: error: ...`` on stderr and exits with status 2.
Only argparse is imported at start-up so ``--help`` is instant; the core loads per command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .cli_parser import build_parser

__all__ = ["main"]


def _figure(command: str, result: Any, args: argparse.Namespace) -> Any:
    from ..catalog import default_catalog
    from . import plots

    if command == "simulate":
        return plots.simulation_figure(getattr(result, "simulation", None) or result)
    if command in ("roofline", "gemm"):
        cat = default_catalog().with_paths(args.catalog) if args.catalog else default_catalog()
        chips = [cat.chip(c) for c in dict.fromkeys(r["chip"] for r in result.records)]
        return plots.roofline_figure(chips, args.dtype or "fp8")
    if command == "predict":
        if not result.feasible:
            from ..errors import InvalidInputError

            raise InvalidInputError(f"--plot: nothing to draw, {result.explanation}")
        return plots.breakdown_figure(result)
    if command in ("deploy", "calculator"):
        if command == "calculator" and not result.feasible:
            from ..errors import InvalidInputError

            raise InvalidInputError(f"--plot: nothing to draw, {result.explanation}")
        return plots.memory_figure(result)
    if command == "frontier":
        return plots.frontier_figure(result)
    if command == "tco":
        return plots.tco_figure(result)
    if command == "sweep":
        from ..grid import load_sweep
        from .plot_sweep import sweep_figure

        return sweep_figure(load_sweep(result.out))
    if command == "deal":
        if not args.tornado:
            from ..errors import InvalidInputError

            raise InvalidInputError("deal --plot draws the tornado: add --tornado")
        return plots.tornado_figure(result)
    if command == "ramp":
        return plots.ramp_figure(result)
    return plots.phase_figure(result)


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
            **_deployment(args),
            dp=args.dp,
            catalog=cat,
        ),
        "frontier": lambda: api.frontier(
            args.model,
            args.on,
            **_serving(args),
            dp=args.dp,
            weights=args.weights,
            spec_decode=[None, *(args.spec_decode or [])],
            pareto=not args.all,
            rental=args.rental,
            preset=args.preset,
            per=args.per,
            catalog=cat,
        ),
        "tco": lambda: econ.tco(
            args.system,
            args.preset,
            econ.parse_settings(args.set),
            cat,
            usd_per_hour=args.usd_per_hour,
            rental=args.rental,
        ),
        "deal": lambda: _deal(args, econ, cat),
        "contracts": lambda: _analyses().contracts(args.table),
        "compare": lambda: _compare(args, cat),
        "ramp": lambda: _analyses().ramp(
            args.table,
            model=args.model,
            on=args.on,
            isl=args.isl,
            osl=args.osl,
            concurrency=_int(args.concurrency, "concurrency"),
            weights=args.weights,
            usd_per_mtok=args.usd_per_mtok,
            kw_per_system=args.kw_per_system,
            usd_per_system_hour=args.usd_per_system_hour,
            mw_per_year=args.mw_per_year,
            start_year=args.start_year,
            end_year=args.end_year,
            preset=args.preset,
            utilization=args.utilization,
            catalog=cat,
        ),
        "margin": lambda: _analyses().margin(
            args.model,
            args.on,
            isl=args.isl,
            osl=args.osl,
            card=args.card,
            workloads=tuple(dict.fromkeys(args.workload)),
            prices=econ.parse_settings(args.price, "--price") if args.price else None,
            concurrency=_int(args.concurrency, "concurrency"),
            weights=args.weights,
            kv_dtype=args.kv_dtype,
            usd_per_hour=args.usd_per_hour,
            preset=args.preset,
            rental=args.rental,
            cache_read_multiple=args.cache_read_multiple,
            utilization=args.utilization,
            points=args.points,
            catalog=cat,
        ),
        "cost": lambda: econ.cost(
            args.model,
            args.on,
            **_serving(args),
            **_deployment(args),
            usd_per_hour=args.usd_per_hour,
            preset=args.preset,
            overrides=econ.parse_settings(args.set),
            rental=args.rental,
            mix=args.mix,
            cache_read_multiple=args.cache_read_multiple,
            prices=econ.parse_settings(args.price, "--price"),
            target_tok_s_per_user=args.target_tok_s_per_user,
            method=args.method,
            catalog=cat,
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
        "validate": lambda: api.validate(args.measured, cat, progress=_progress("validate")),
        "calibrate": lambda: _calibrated(
            api.calibrate(args.measured, args.out, cat, progress=_progress("calibrate")), args.out
        ),
        "simulate": lambda: _simulate(args, cat),
        "sweep": lambda: _sweep(args),
        "plan": lambda: api.plan(
            args.model,
            args.on,
            qps=args.qps,
            isl=args.isl,
            osl=args.osl,
            spread=args.length_spread,
            traffic=args.traffic,
            trace=args.trace,
            requests=args.requests,
            seed=args.seed,
            slo_ttft_p99_s=args.slo_ttft_p99_ms / 1e3,
            slo_tpot_p99_s=args.slo_tpot_p99_ms / 1e3 if args.slo_tpot_p99_ms else None,
            min_tok_s_per_user=args.min_tok_s_per_user,
            goodput_share=args.goodput,
            pessimistic=args.pessimistic,
            weights=args.weights,
            kv_dtype=args.kv_dtype,
            framework=args.framework,
            rental=args.rental,
            preset=args.preset,
            mix=args.mix,
            finalists=args.finalists,
            prefill_on=args.prefill_on,
            prefill_tp=args.prefill_tp,
            catalog=cat,
            executor=args.executor,
            workers=args.workers,
            ray_address=args.ray_address,
        ),
        "design": lambda: _design(args, cat),
    }
    return commands[args.command]()


def _compare(args: argparse.Namespace, cat: Any) -> Any:
    """``compare NAME``: one of SPEC §5's published comparisons."""
    from ..economics.published import compare
    from ..errors import InvalidInputError

    at = None
    if args.at:
        try:
            at = [float(x) for x in args.at.split(",") if x.strip()]
        except ValueError:
            raise InvalidInputError(f"--at expects numbers separated by commas, got {args.at!r}") from None
    models = [m.strip() for m in args.model.split(",") if m.strip()] if args.model else None
    options = {}
    if args.trn3_usd_per_chip_hour is not None:
        if args.name != "trn3-prefill":
            raise InvalidInputError("--trn3-usd-per-chip-hour applies to the trn3-prefill comparison only")
        options["trn3_usd_per_chip_hour"] = args.trn3_usd_per_chip_hour
    return compare(args.name, models=models, at=at, catalog=cat, **options)


def _analyses() -> Any:
    from ..economics import analyses

    return analyses


def _deal(args: argparse.Namespace, econ: Any, cat: Any) -> Any:
    """``deal``: the deal itself, or with --by-year / --tornado its analyses."""
    kw = dict(
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
    )
    if args.by_year:
        return _analyses().deal_years(warrant=args.warrant, accounting_life_years=args.accounting_life, **kw)
    if args.tornado:
        return _analyses().deal_tornado(**kw)
    return econ.deal(**kw)


#: Rows above which validate and calibrate report progress (on a terminal only).
PROGRESS_ROWS = 20_000


def _progress(command: str) -> Callable[[int, int], None] | None:
    """Progress lines on stderr, in tenths, for a long run watched on a terminal; nothing when
    stderr is not a terminal (pipes, files, tests), so stdout and ``--json`` are unaffected."""
    if not sys.stderr.isatty():
        return None
    shown = [-1]

    def report(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if total > PROGRESS_ROWS and tenth > shown[0]:
            shown[0] = tenth
            sys.stderr.write(f"tokenfrontier {command}: {done:,} of {total:,} rows\n")
            sys.stderr.flush()

    return report


def _deployment(args: argparse.Namespace) -> dict[str, Any]:
    """One deployment's options (predict and cost)."""
    return dict(
        concurrency=_int(args.concurrency, "concurrency"),
        tp=args.tp,
        ep=args.ep,
        pp=args.pp,
        systems=args.systems,
        weights=args.weights,
        spec_decode=args.spec_decode,
        prefill_on=args.prefill_on,
        prefill_tp=args.prefill_tp,
        prefill_workers=args.prefill_workers,
        decode_workers=args.decode_workers,
        activations=args.activations,
    )


def _serving(args: argparse.Namespace) -> dict[str, Any]:
    """Workload and stack options shared by predict, frontier, cost and fleet."""
    return dict(
        isl=args.isl,
        osl=args.osl,
        kv_dtype=args.kv_dtype,
        framework=args.framework,
        spread=args.length_spread,
        policy=args.policy,
    )


def _calc_model(args: argparse.Namespace, econ: Any) -> Any:
    from ..errors import InvalidInputError

    if args.custom:
        if args.model:
            raise InvalidInputError("calculator: give a model id or --custom, not both")
        spec = econ.parse_settings(args.custom, "--custom")
        valid = {"total_params", "active_params", "layers", "kv_bytes_per_token"}
        if set(spec) - valid or "total_params" not in spec:
            raise InvalidInputError(f"--custom needs total_params= and may set {', '.join(sorted(valid))}")
        return spec
    if not args.model:
        raise InvalidInputError("calculator: give a model id or --custom total_params=...")
    return args.model


def _design(args: argparse.Namespace, cat: Any) -> Any:
    """``design``: the derived entry (``--out DIR``: its TOML, all files or none), or ``--tables``."""
    from ..design import design
    from ..outputs import check_folder, write_folder
    from ..silicon import silicon_tables

    if args.tables:
        return silicon_tables()
    if args.out:
        check_folder(args.out, "--out")
    names = ("id", "name", "node", "area_mm2", "dies", "die_area_mm2", "sram_share", "logic_share",
             "shoreline_gbps_per_mm", "perimeter_mm", "edge_fraction", "photonic_io_tbps",
             "photonic_gbps_per_mm2", "photonic_area_mm2", "dram_wafer_gb", "dram_wafer_tbps",
             "weights_on", "dram_usd_per_gb", "power_kw", "price_usd")  # fmt: skip
    result = design(args.reference, **{k: getattr(args, k) for k in names}, catalog=cat)
    if args.out:
        import dataclasses

        paths = write_folder(args.out, result.toml_files())
        result = dataclasses.replace(result, written=tuple(str(p) for p in paths))
    return result


def _simulate(args: argparse.Namespace, cat: Any) -> Any:
    from .cli_simulate import run_simulate

    return run_simulate(args, cat)


def _sweep(args: argparse.Namespace) -> Any:
    from ..errors import InvalidInputError
    from ..grid import executor_kind, sweep_grid

    if args.catalog:
        raise InvalidInputError("sweep: --catalog is not supported yet; grids use the bundled catalog")
    kind = executor_kind(args.executor, args.ray_address)
    if not (args.store_every >= 0 and args.store_every < 1e6):  # NaN fails too
        raise InvalidInputError(f"--store-every: expected seconds >= 0, got {args.store_every}")
    return sweep_grid(args.grid, args.out, executor_kind=kind, workers=args.workers,
                      ray_address=args.ray_address, progress=True if args.progress else None,
                      flush_s=args.store_every)  # fmt: skip


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


#: (attribute, flag) of every file output a command may write.
_FILE_OUTPUTS = (("csv", "--csv"), ("plot", "--plot"), ("cost_plot", "--cost-plot"))
#: Prediction fields that exist whenever the prediction is feasible.
_FEASIBLE_FIELDS = ("ttft_s", "tpot_s", "tok_s_per_user", "output_tok_s_per_chip", "total_tok_s_per_chip")


def _check_outputs(args: argparse.Namespace) -> None:
    """Before any work: every output is writable, of a known format, and no two are one file."""
    from ..errors import InvalidInputError
    from ..outputs import check_file, check_folder

    seen: dict[Any, str] = {}
    for attr, flag in _FILE_OUTPUTS:
        value = getattr(args, attr, None)
        if not value:
            continue
        if attr == "csv":
            path = check_file(value, flag)
        else:
            from .plots import check_target

            path = check_target(value, flag)
        key = path.resolve()
        if key in seen:
            raise InvalidInputError(f"{flag} {value}: the same file as {seen[key]}; give two files")
        seen[key] = flag
    if args.command == "calibrate":
        check_folder(args.out, "--out")


def _check_result(result: Any, args: argparse.Namespace) -> None:
    """A result with a NaN or infinity, or a feasible prediction lacking a metric, is an error:
    JSON would print ``null`` where a number should be."""
    from ..errors import InvalidInputError
    from ..results import first_non_finite

    where = first_non_finite(result) if hasattr(result, "to_dict") else None
    if where:
        raise InvalidInputError(
            f"{args.command}: cannot compute '{where}' (not a finite number) for these inputs; "
            "check the numbers in the flags and catalog entries they use"
        )
    if args.command == "predict" and result.feasible:
        missing = [f for f in _FEASIBLE_FIELDS if getattr(result, f) is None]
        if missing:
            raise InvalidInputError(f"predict: cannot compute {', '.join(missing)} for these inputs")


def _write_outputs(result: Any, args: argparse.Namespace) -> None:
    """Every file of the command, each rendered to a temporary file, all renamed together."""
    from ..outputs import staged

    with staged() as out:
        if getattr(args, "csv", None):
            frame = result.to_frame()
            out.add(args.csv, lambda tmp: frame.to_csv(tmp, index=False), "--csv")
        if getattr(args, "plot", None):
            from .plots import render

            fig = _figure(args.command, result, args)
            out.add(args.plot, lambda tmp: render(fig, tmp, args.plot, "--plot"), "--plot")
        if getattr(args, "cost_plot", None):
            from .plots import cost_figure, render

            cost_fig = cost_figure(result)
            out.add(args.cost_plot, lambda tmp: render(cost_fig, tmp, args.cost_plot, "--cost-plot"),
                    "--cost-plot")  # fmt: skip


#: Seconds the dashboard server has to stop after a forwarded signal before it is killed.
DASHBOARD_STOP_S = 10.0


def _port_busy(port: int) -> str | None:
    """Why 127.0.0.1:``port`` cannot be served (``None``: free). Binds it as the server will
    (address reuse on, so a closed connection in TIME_WAIT does not count, a listener does)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _dashboard(port: int) -> int:
    """Serve the dashboard with Streamlit in a child process. SIGINT and SIGTERM are passed to
    the child and the launcher waits for it (killing it after ``DASHBOARD_STOP_S``), so no
    server is left on the port; the exit status is the child's (128 + signal if killed)."""
    import signal
    import subprocess
    import time

    from .dashboard import APP

    if not 1024 <= port <= 65535:
        sys.stderr.write(f"tokenfrontier: error: --port must be in 1024..65535, got {port}\n")
        return 2
    busy = _port_busy(port)  # before anything else is printed
    if busy:
        sys.stderr.write(
            f"tokenfrontier: error: --port {port}: 127.0.0.1:{port} is not free ({busy}); "
            "stop what uses it or choose another port\n"
        )
        return 2
    try:
        import streamlit  # noqa: F401
    except ImportError:
        sys.stderr.write(
            "tokenfrontier: error: the dashboard needs streamlit: pip install 'tokenfrontier[dashboard]'\n"
        )
        return 2
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    child: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []  # signals received, in order
    deadline = [float("inf")]

    def forward(signum: int, _frame: Any) -> None:
        pending.append(signum)
        deadline[0] = min(deadline[0], time.monotonic() + DASHBOARD_STOP_S)
        if child and child[0].poll() is None:
            child[0].send_signal(signum)

    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, forward) for s in stops}  # before the child exists: no gap
    try:
        child.append(subprocess.Popen(cmd))
        for signum in pending:  # arrived while the child was starting
            child[0].send_signal(signum)
        sys.stderr.write(f"tokenfrontier dashboard on http://127.0.0.1:{port}\n")
        while True:
            try:
                rc = child[0].wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline[0]:
                    child[0].kill()  # did not stop in time after a forwarded signal
    finally:
        if child and child[0].poll() is None:  # the launcher itself failed: take the server down
            child[0].kill()
            child[0].wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return rc if rc >= 0 else 128 - rc


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a bad flag (one line already on stderr) or --help
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "dashboard":
        return _dashboard(args.port)
    from ..errors import TokenFrontierError

    try:
        _check_outputs(args)  # before any work: a bad output path costs nothing
        result = _run(args)
        _check_result(result, args)
        _write_outputs(result, args)  # all files complete, or none
    except TokenFrontierError as exc:
        sys.stderr.write(f"tokenfrontier: error: {exc}\n")
        return 2
    if getattr(args, "explain", False) and not args.json:
        out = f"{result}\n\n{result.explain()}"
    else:
        out = result.to_json() if args.json else str(result)
    sys.stdout.write(out + "\n")
    return int(getattr(result, "exit_status", 0))  # sweep: 1 when some cells failed


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
