"""``tokenfrontier simulate``: the request-level simulator and the MLPerf-style Server search.

Checks the command line's options (one clear line per mistake), runs
:func:`tokenfrontier.simulate` or :func:`tokenfrontier.server_search`, writes the per-request
table (``--requests-out``, streamed to the file as requests finish) and prints progress on stderr
for long runs at a terminal.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..intervals import summary_interval_text
from ..results import render_table, to_jsonable
from ..units import parse_positive_int

if TYPE_CHECKING:
    from ..catalog import Catalog

__all__ = ["LONG_RUN_REQUESTS", "ServerSearch", "run_simulate", "sim_call", "workload_modules"]

#: Runs of more requests than this print a line before and after on stderr (at a terminal).
LONG_RUN_REQUESTS = 100_000
_MISSING = {"tokenfrontier.sim.traces": "trace", "tokenfrontier.sim.agentic": "agentic"}


def workload_modules() -> dict[str, bool]:
    """Which optional workload generators this installation has (``trace``, ``agentic``)."""
    import importlib.util

    return {kind: importlib.util.find_spec(mod) is not None for mod, kind in _MISSING.items()}


def sim_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, with a missing workload generator reported as bad input."""
    try:
        return fn(*args, **kwargs)
    except ModuleNotFoundError as exc:
        if exc.name in _MISSING:
            raise InvalidInputError(
                f"workload '{_MISSING[exc.name]}' needs {exc.name}, which this installation lacks"
            ) from None
        raise


class ServerSearch:
    """The result of ``--server-search``: the highest QPS meeting the P99 limits, and the trials."""

    title = "server search (MLPerf-style Server scenario: Poisson arrivals, P99 limits)"

    def __init__(self, found: dict[str, Any], model: str, hardware: str, requests: int) -> None:
        self.found, self.model, self.hardware, self.requests = found, model, hardware, requests
        self.simulation: Any = None  # the Simulation at the max QPS, when --plot/--requests-out ask

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "hardware": self.hardware, "requests_per_trial": self.requests,
                **self.found}  # fmt: skip

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(to_jsonable(self.to_dict()), indent=indent)

    def __str__(self) -> str:
        f = self.found
        slo = f["slo"]
        qps = f["max_qps"]
        lines = [
            self.title,
            f"{self.model} on {self.hardware}, {self.requests:,} requests per trial; limits: "
            f"P99 TTFT {slo['p99_ttft_s'] * 1e3:g} ms, P99 TPOT {slo['p99_tpot_s'] * 1e3:g} ms",
            f"max QPS: {qps:.3g}" if qps is not None else "max QPS: none - no QPS meets the SLO",
            f"({f['explanation']})",
        ]
        sim = f["simulation"]
        if sim is not None:
            s = sim["summary"]
            d = sim["deployment"]
            lines.append(
                f"at {qps:.3g} QPS: {d['replicas']} x TP{d['tp']} EP{d['ep']} PP{d['pp']} = {sim['chips']} "
                f"chips, {s['output_tok_s_per_chip']:,.1f} output tok/s per chip, "
                f"{qps / sim['chips']:.3g} QPS per chip"
            )
            band = summary_interval_text(s)
            if band is not None:  # the model's 80% error band on that simulation's figures
                lines.append(f"80% interval: {band}")

        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1e3, 2)

        rows = [
            (f"{t['qps']:.4g}", t["meets"], ms(t["p99_ttft_s"]), ms(t["p99_tpot_s"])) for t in f["trials"]
        ]
        lines += ["", "trials", render_table(("QPS", "meets", "P99 TTFT (ms)", "P99 TPOT (ms)"), rows)]
        return "\n".join(lines)


def _ms(value: float | None, option: str) -> float | None:
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise InvalidInputError(f"{option} must be > 0 milliseconds, got {value:g}")
    return value / 1e3


def _options(args: argparse.Namespace, cat: Catalog | None) -> dict[str, Any]:
    """Deployment, scheduling and caching options shared by a simulation and a search."""
    for option, v in (("--tp", args.tp), ("--ep", args.ep), ("--pp", args.pp), ("--dp", args.dp)):
        if v is not None and v < 1:
            raise InvalidInputError(f"{option} must be >= 1, got {v}")
    for option, v in (("--token-budget", args.token_budget), ("--max-seqs", args.max_seqs),
                      ("--replicas", args.replicas)):  # fmt: skip
        if v < 1:
            raise InvalidInputError(f"{option} must be >= 1, got {v}")
    if args.seed < 0:
        raise InvalidInputError(f"--seed must be >= 0, got {args.seed}")
    if not (math.isfinite(args.host_cache_gb) and args.host_cache_gb >= 0):
        raise InvalidInputError(f"--host-cache-gb must be >= 0, got {args.host_cache_gb:g}")
    if not (math.isfinite(args.length_spread) and 0 < args.length_spread <= 1):
        raise InvalidInputError(f"--length-spread must be in (0, 1], got {args.length_spread:g}")
    return dict(
        spread=args.length_spread,
        tp=args.tp,
        ep=args.ep,
        pp=args.pp,
        dp=args.dp,
        weights=args.weights,
        kv_dtype=args.kv_dtype,
        framework=args.framework,
        spec_decode=args.spec_decode,
        scheduling=args.scheduling,
        token_budget=args.token_budget,
        max_seqs=args.max_seqs,
        replicas=args.replicas,
        prefix_cache=not args.no_prefix_cache,
        host_cache_gb=args.host_cache_gb,
        slo_ttft_s=_ms(args.slo_ttft_ms, "--slo-ttft-ms"),
        slo_tpot_s=_ms(args.slo_tpot_ms, "--slo-tpot-ms"),
        seed=args.seed,
        catalog=cat,
    )


def _workload(args: argparse.Namespace) -> dict[str, Any]:
    kind = args.workload or "closed"
    if args.qps is not None:
        if not (math.isfinite(args.qps) and args.qps > 0):
            raise InvalidInputError(f"--qps must be > 0 requests per second, got {args.qps:g}")
        if kind not in ("poisson", "gamma"):
            raise InvalidInputError(f"--qps applies to --workload poisson or gamma, not '{kind}'")
    elif kind in ("poisson", "gamma"):
        raise InvalidInputError(f"--workload {kind} needs --qps (requests per second)")
    if kind in ("closed", "poisson", "gamma") and (args.isl is None or args.osl is None):
        raise InvalidInputError(f"--workload {kind} needs --isl and --osl")
    if kind in ("trace", "agentic") and (args.isl is not None or args.osl is not None):
        raise InvalidInputError(f"--workload {kind} brings its own lengths; drop --isl/--osl")
    if args.trace is not None and kind != "trace":
        raise InvalidInputError("--trace needs --workload trace")
    if kind == "trace" and not args.trace:
        raise InvalidInputError("--workload trace needs --trace FILE (CSV or JSONL) or a bundled trace name")
    if not (math.isfinite(args.burstiness) and args.burstiness > 0):
        raise InvalidInputError(f"--burstiness (gamma shape) must be > 0, got {args.burstiness:g}")
    return dict(
        workload=kind,
        isl=args.isl,
        osl=args.osl,
        concurrency=parse_positive_int(args.concurrency, "concurrency", limit=10**7),
        qps=args.qps,
        burstiness=args.burstiness,
        trace=args.trace,
    )


def _progress(n: int, what: str) -> Callable[[], None]:
    """A line on stderr now and one when done, for long runs at a terminal; else nothing."""
    if n <= LONG_RUN_REQUESTS or not sys.stderr.isatty():
        return lambda: None
    sys.stderr.write(f"simulating {what} ...\n")
    sys.stderr.flush()
    t0 = time.perf_counter()

    def done() -> None:
        sys.stderr.write(f"done in {time.perf_counter() - t0:.1f} s\n")

    return done


def _check_paths(args: argparse.Namespace) -> None:
    """Output paths fail before the run, not after it."""
    from pathlib import Path

    for option, path, kinds in (("--requests-out", args.requests_out, (".csv", ".parquet")),
                                ("--plot", args.plot, (".html", ".png", ".svg"))):  # fmt: skip
        if path is None:
            continue
        suffix = Path(path).suffix
        if (suffix.lower() if option == "--plot" else suffix) not in kinds:  # as save / write_requests
            raise InvalidInputError(f"{option} {path}: unknown format '{suffix}'; use {' or '.join(kinds)}")
        if not Path(path).parent.exists():
            raise InvalidInputError(f"{option} {path}: folder {Path(path).parent} does not exist")


def run_simulate(args: argparse.Namespace, cat: Catalog | None) -> Any:
    """The ``simulate`` command: a Simulation, or a ServerSearch with ``--server-search``."""
    from .. import api_simulate

    requests = parse_positive_int(args.requests, "requests", limit=10_000_000)
    options = _options(args, cat)
    _check_paths(args)
    if args.server_search:
        return _search(args, requests, options)
    for option in ("slo_ttft_p99_ms", "slo_tpot_p99_ms"):
        if getattr(args, option) is not None:
            raise InvalidInputError(f"--{option.replace('_', '-')} needs --server-search")
    work = _workload(args)
    done = _progress(requests, f"{requests:,} requests")
    # --requests-out streams the table to the file as requests finish (memory: requests in flight)
    sim = sim_call(api_simulate.simulate, args.model, args.on, requests=requests, **work, **options,
                   requests_out=args.requests_out)  # fmt: skip
    done()
    return sim


def _search(args: argparse.Namespace, requests: int, options: dict[str, Any]) -> ServerSearch:
    from .. import api_simulate

    if args.workload not in (None, "poisson"):
        raise InvalidInputError("--server-search uses Poisson arrivals; drop --workload")
    if args.qps is not None:
        raise InvalidInputError("--server-search finds the QPS itself; drop --qps")
    if args.isl is None or args.osl is None:
        raise InvalidInputError("--server-search needs --isl and --osl")
    ttft = _ms(args.slo_ttft_p99_ms, "--slo-ttft-p99-ms")
    tpot = _ms(args.slo_tpot_p99_ms, "--slo-tpot-p99-ms")
    if ttft is None or tpot is None:
        raise InvalidInputError("--server-search needs --slo-ttft-p99-ms and --slo-tpot-p99-ms")
    done = _progress(requests, f"up to 14 trials of {requests:,} requests")
    found = api_simulate.server_search(args.model, args.on, isl=args.isl, osl=args.osl, slo_ttft_p99_s=ttft,
                                       slo_tpot_p99_s=tpot, requests=requests, **options)  # fmt: skip
    done()
    sim = found["simulation"]
    result = ServerSearch(found, sim["model"] if sim else args.model, sim["hardware"] if sim else args.on,
                          requests)  # fmt: skip
    if args.requests_out or args.plot:
        if found["max_qps"] is None:
            raise InvalidInputError("--plot/--requests-out: nothing to show, no QPS meets the SLO")
        # the trial at the max QPS again (same seed, same answer) for its per-request table
        result.simulation = api_simulate.simulate(args.model, args.on, workload="poisson", isl=args.isl,
                                                  osl=args.osl, qps=found["max_qps"], requests=requests,
                                                  requests_out=args.requests_out, **options)  # fmt: skip
    return result
