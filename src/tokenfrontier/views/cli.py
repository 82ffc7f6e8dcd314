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
        "tco": lambda: econ.tco(
            args.system,
            args.preset,
            econ.parse_settings(args.set),
            cat,
            usd_per_hour=args.usd_per_hour,
            rental=args.rental,
        ),
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
            **_deployment(args),
            usd_per_hour=args.usd_per_hour,
            preset=args.preset,
            overrides=econ.parse_settings(args.set),
            rental=args.rental,
            mix=args.mix,
            cache_read_multiple=args.cache_read_multiple,
            prices=econ.parse_settings(args.price, "--price"),
            target_tok_s_per_user=args.target_tok_s_per_user,
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
        "validate": lambda: api.validate(args.measured, cat),
        "calibrate": lambda: _calibrated(api.calibrate(args.measured, args.out, cat), args.out),
        "simulate": lambda: _simulate(args, cat),
    }
    return commands[args.command]()


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
        if "layers" in spec:
            spec["layers"] = int(spec["layers"])
        valid = {"total_params", "active_params", "layers", "kv_bytes_per_token"}
        if set(spec) - valid or "total_params" not in spec:
            raise InvalidInputError(f"--custom needs total_params= and may set {', '.join(sorted(valid))}")
        return spec
    if not args.model:
        raise InvalidInputError("calculator: give a model id or --custom total_params=...")
    return args.model


def _simulate(args: argparse.Namespace, cat: Any) -> Any:
    from .cli_simulate import run_simulate

    return run_simulate(args, cat)


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
