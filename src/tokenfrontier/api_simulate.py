"""Python API of the request-level simulator: ``simulate`` and the MLPerf-style ``server_search``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .arch import ModelArch
from .catalog import Catalog
from .errors import InvalidInputError
from .footprint import KV_DTYPES, WEIGHT_DTYPES
from .resolve import check_choice, get_model, get_system
from .specs import System
from .units import parse_context, parse_positive_int

if TYPE_CHECKING:
    from pathlib import Path

    from .sim.results import Simulation
    from .sim.workload import Source

__all__ = ["WORKLOADS", "server_search", "simulate"]

WORKLOADS = ("closed", "poisson", "gamma", "trace", "agentic")


def _requests(
    workload: str | Source,
    *,
    max_context: int,
    isl: int | str | None,
    osl: int | str | None,
    concurrency: int,
    qps: float | None,
    requests: int,
    spread: float,
    burstiness: float,
    trace: str | None,
    seed: int,
) -> Source:
    """The request stream (generated or read lazily, chunk by chunk, as the simulation runs)."""
    from .sim import workload as wl

    if not isinstance(workload, str):
        return workload
    kind = workload.strip().lower()
    check_choice(kind, WORKLOADS, "workload")
    parse_positive_int(requests, "requests", limit=10_000_000)
    if kind == "trace":
        if not trace:
            raise InvalidInputError(
                "workload 'trace' needs --trace FILE (CSV or JSONL) or a bundled trace name"
            )
        from .sim.traces import trace_source

        return trace_source(trace, limit=requests)
    if kind == "agentic":
        from .sim.agentic import agentic_source

        return agentic_source(requests=requests, seed=seed, max_context=max_context)
    if isl is None or osl is None:
        raise InvalidInputError(f"workload '{kind}' needs --isl and --osl")
    i, o = parse_context(isl, "isl"), parse_context(osl, "osl")
    if kind == "closed":
        return wl.ClosedLoop(parse_positive_int(concurrency, "concurrency"), requests, i, o, spread=spread,
                             seed=seed)  # fmt: skip
    if qps is None:
        raise InvalidInputError(f"workload '{kind}' needs --qps (requests per second)")
    shape = 1.0 if kind == "poisson" else burstiness
    return wl.OpenLoop(qps, requests, i, o, spread=spread, burstiness=shape, seed=seed)


def simulate(
    model: str | ModelArch,
    on: str | System,
    *,
    workload: str | Source = "closed",
    isl: int | str | None = None,
    osl: int | str | None = None,
    concurrency: int = 1,
    qps: float | None = None,
    requests: int = 2000,
    spread: float = 1.0,
    burstiness: float = 0.5,
    trace: str | None = None,
    tp: int | None = None,
    ep: int | None = None,
    pp: int | None = None,
    weights: str = "native",
    kv_dtype: str = "bf16",
    framework: str | None = None,
    spec_decode: Any = None,
    scheduling: str = "chunked-mixed",
    token_budget: int = 8192,
    max_seqs: int = 1024,
    replicas: int = 1,
    prefix_cache: bool = True,
    host_cache_gb: float = 0.0,
    admission: str = "reserve",
    preemption: str = "recompute",
    slo_ttft_s: float | None = None,
    slo_tpot_s: float | None = None,
    prefill_on: str | System | None = None,
    prefill_tp: int | None = None,
    prefill_workers: int | None = None,
    seed: int = 0,
    requests_out: str | Path | None = None,
    catalog: Catalog | None = None,
    dp: int | None = None,
) -> Simulation:
    """Simulate ``workload`` request by request on one deployment (or ``replicas`` copies).

    Workloads: ``closed`` (``concurrency`` users), ``poisson`` / ``gamma`` (``qps``; gamma gaps
    with shape ``burstiness``), ``trace`` (a CSV/JSONL file or bundled name), ``agentic`` (the
    synthetic agentic-coding generator). Step times come from the same step model as
    ``predict``; see :mod:`tokenfrontier.sim.engine` for scheduling and caching. ``prefill_on``
    puts a prefill pool (``prefill_workers`` workers of ``prefill_tp`` chips per replica; sized
    by the analytic model when omitted) and the KV link in front of every decode replica.

    ``requests_out`` (a .parquet or .csv path) streams the per-request table to that file as
    requests finish, written atomically, instead of keeping it in memory: memory then grows with
    the requests in flight, not with the requests simulated, and the summary's percentiles come
    from a quantile sketch (within 0.5%; exact up to 16,384 requests). ``columns`` then reads
    the file back when asked. ``dp`` pins attention data-parallel ranks per TP group (MoE models).
    """
    import numpy as np

    from .api_performance import catalog_profiles, spec_decode_of
    from .scenario import build_scenario
    from .sim.results import Simulation, summarize
    from .sim.run import SimConfig, profile, simulate_requests
    from .sim.stream import RELATIVE_ERROR, FileColumns, FileSink, MemorySink, StreamSummary

    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
    for name, v in (("slo_ttft_s", slo_ttft_s), ("slo_tpot_s", slo_tpot_s)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise InvalidInputError(f"{name} must be > 0 seconds, got {v}")
    if not (math.isfinite(host_cache_gb) and host_cache_gb >= 0):
        raise InvalidInputError(f"host cache must be >= 0 GB, got {host_cache_gb}")
    arch = get_model(model, catalog)
    system = get_system(on, catalog)
    scen = build_scenario(arch, system, weights=weights, kv_dtype=kv_dtype, framework=framework,
                          profiles=catalog_profiles(catalog))  # fmt: skip
    req = _requests(workload, isl=isl, osl=osl, concurrency=concurrency, qps=qps, requests=requests,
                    spread=spread, burstiness=burstiness, trace=trace, seed=seed,
                    max_context=arch.max_context)  # fmt: skip
    cfg = SimConfig(policy=scheduling, token_budget=int(token_budget), max_seqs=int(max_seqs),
                    replicas=int(replicas), prefix_cache=prefix_cache, host_cache_bytes=host_cache_gb * 1e9,
                    seed=seed, admission=admission, preemption=preemption)  # fmt: skip
    spec = spec_decode_of(spec_decode, catalog, weights, kv_dtype, arch)
    if requests_out is not None:
        _check_table_path(requests_out)
    prof = profile(scen, req, arch.max_context)
    pool, workers = None, 1
    if prefill_on is not None:
        pool, workers = _pool(scen, prof, prefill_on, prefill_tp, prefill_workers, tp, pp, ep, catalog)
    tiers = ["device"] + (["host"] if host_cache_gb > 0 else []) + [t.name for t in system.offload]
    tier_names = tuple(tiers) if prefix_cache else ()
    sink: MemorySink | FileSink
    if requests_out is not None:
        acc = StreamSummary()
        acc.track_slo(slo_ttft_s, slo_tpot_s)
        sink = FileSink(requests_out, acc)
    else:
        sink = MemorySink()
    try:
        timeline_rows, facts = simulate_requests(scen, req, cfg, sink, tp=tp, pp=pp, ep=ep, spec=spec,
                                                 pool=pool,
                                                 prefill_workers=workers, prof=prof, dp=dp)  # fmt: skip
    except BaseException:
        if isinstance(sink, FileSink):
            sink.abort()
        raise
    chips = int(facts["chips_per_replica"] * cfg.replicas)
    cols: Mapping[str, Any]
    if isinstance(sink, FileSink):
        path = sink.close()
        summary = acc.summary(chips, tier_names, slo_ttft_s, slo_tpot_s)
        cols = FileColumns(path)
    else:
        cols = sink.columns()
        summary = summarize(cols, chips, tier_names, slo_ttft_s, slo_tpot_s)
    summary["kv"] = _kv_summary(timeline_rows, facts)
    tl = np.array(timeline_rows, dtype=float).reshape(-1, 4)
    timeline = {"t_s": tl[:, 0], "running": tl[:, 1], "kv_bytes": tl[:, 2], "waiting": tl[:, 3]}
    notes = []
    longest = prof.max_total
    if longest > arch.max_context:
        over = prof.over_context
        notes.append(f"{over:,} request(s) exceed {arch.id}'s context window of {arch.max_context:,} "
                     f"tokens (longest {longest:,})")  # fmt: skip
    if requests_out is not None and summary["requests"] > acc.exact_limit:
        notes.append(f"percentiles from a quantile sketch (within {RELATIVE_ERROR:.1%} of exact); the "
                     f"per-request table is in {requests_out}")  # fmt: skip
    if summary["rejected"]:
        notes.append(f"{summary['rejected']} request(s) need more KV than one engine holds and were rejected")
    deployment: dict[str, Any] = {k: facts[k] for k in ("tp", "pp", "ep", "dp", "replicas", "max_batch")}
    if pool is not None:
        deployment["prefill"] = {"hardware": pool.scenario.system.id, "tp": pool.tp, "pp": pool.pp,
                                 "workers_per_replica": workers,
                                 "chips_per_replica": facts["prefill_chips_per_replica"]}  # fmt: skip
        span = max(summary["duration_s"], 1e-12)
        summary["prefill_pool"] = {
            "utilization": facts["prefill_busy_s"] / (span * workers * pool.pp * cfg.replicas),
            "kv_transfer_s_total": facts["kv_transfer_s"],
        }
    deployment |= {"kv_main_bytes": facts["kv_main_bytes"], "kv_offload_bytes": facts["kv_offload_bytes"]}
    # 80% intervals of the level predict reports for this deployment's profile (tokenfrontier.intervals)
    from .intervals import level_of, summary_intervals
    from .sim.workload import ClosedLoop, Requests

    level = level_of(scen.profile, system.chip, scen.arch.id, disaggregated=pool is not None)
    # closed loop (no root arrives after t = 0): the deployment, not the arrivals, sets the throughput
    paced = isinstance(req, ClosedLoop) or (
        isinstance(req, Requests) and bool((req.arrival_s[req.follows < 0] == 0).all())
    )
    summary = summary_intervals(summary, level, throughput=paced)
    return Simulation(
        model=arch.id, hardware=system.id, workload=req.name, deployment=deployment, scheduling=scheduling,
        seed=seed, chips=chips, summary=summary, columns=cols, timeline=timeline, notes=tuple(notes),
        requests_file=str(requests_out) if requests_out is not None else None,
    )  # fmt: skip


def _check_table_path(path: str | Path) -> None:
    """A per-request table path fails before the run, not after it."""
    from pathlib import Path

    from .sim.stream import TABLE_FORMATS

    p = Path(path)
    if p.suffix not in TABLE_FORMATS:
        raise InvalidInputError(
            f"requests_out {p}: unknown format '{p.suffix}'; use {' or '.join(TABLE_FORMATS)}"
        )
    if not p.parent.exists():
        raise InvalidInputError(f"requests_out {p}: folder {p.parent} does not exist")


def _pool(
    scen: Any,
    prof: Any,
    prefill_on: Any,
    prefill_tp: int | None,
    workers: int | None,
    tp: int | None,
    pp: int | None,
    ep: int | None,
    catalog: Catalog | None,
) -> tuple[Any, int]:
    """The prefill pool and its workers per replica (the analytic sizing when not given)."""

    from .predict import predict_one
    from .scenario import build_scenario
    from .serving import Workload
    from .sweep import build_pool

    pre = build_scenario(scen.arch, get_system(prefill_on, catalog), weights=scen.weights,
                         kv_dtype=scen.kv_dtype)  # fmt: skip
    w = Workload(int(prof.p50_isl), int(prof.p50_osl))
    if workers is not None:
        parse_positive_int(workers, "prefill_workers", limit=100_000)
        return build_pool(pre, w, tp=prefill_tp, workers=workers), int(workers)
    pool = build_pool(pre, w, tp=prefill_tp)
    conc = max(1, prof.roots if prof.followers else 64)
    p = predict_one(scen, workload=w, concurrency=conc, tp=tp, pp=pp, ep=ep, pool=pool)
    sized = int(p.pools[1]["workers"]) if p.feasible and len(p.pools) > 1 else 1
    return build_pool(pre, w, tp=prefill_tp, workers=sized), sized


def _stalled(last: list[dict[str, Any]]) -> bool:
    """Three failing trials at falling load whose P99 TTFT no longer falls by 10%."""
    ttft = [t["p99_ttft_s"] for t in last]
    if any(t["meets"] for t in last) or None in ttft:
        return False
    return bool(ttft[2] > 0.9 * ttft[1] and ttft[1] > 0.9 * ttft[0])


def _kv_summary(timeline: list[tuple[float, int, float, int]], facts: dict[str, Any]) -> dict[str, float]:
    import numpy as np

    if not timeline:
        return {"mean_occupancy": 0.0, "max_occupancy": 0.0, "mean_running": 0.0, "mean_waiting": 0.0}
    tl = np.asarray(timeline, dtype=float)
    cap = max(facts["kv_main_bytes"], 1.0)
    # time-weighted: each sample holds until the next one
    w = np.diff(tl[:, 0], append=tl[-1, 0])
    w = w if w.sum() > 0 else np.ones(len(tl))

    def mean(col: int) -> float:
        return float(np.average(tl[:, col], weights=w))

    return {
        "mean_occupancy": mean(2) / cap,
        "max_occupancy": float(np.max(tl[:, 2]) / cap),
        "mean_running": mean(1),
        "mean_waiting": mean(3),
    }


def server_search(
    model: str | ModelArch,
    on: str | System,
    *,
    isl: int | str,
    osl: int | str,
    slo_ttft_p99_s: float,
    slo_tpot_p99_s: float,
    requests: int = 2000,
    max_qps: float = 1e5,
    iterations: int = 14,
    **options: Any,
) -> dict[str, Any]:
    """MLPerf-style Server scenario: Poisson arrivals; the highest QPS whose P99 TTFT and P99
    TPOT meet the limits (bisection on a log scale). "No QPS meets the SLO" is an answer."""
    for name, v in (("slo_ttft_p99_s", slo_ttft_p99_s), ("slo_tpot_p99_s", slo_tpot_p99_s)):
        if not (math.isfinite(v) and v > 0):
            raise InvalidInputError(f"{name} must be > 0 seconds, got {v}")

    if not (options.get("tp") and options.get("pp")):
        # one deployment for every trial (the one predict picks at 64 requests in flight), so
        # the search varies the load, not the machine
        from .api_performance import predict

        keys = ("weights", "kv_dtype", "framework", "spec_decode", "catalog", "tp", "pp", "ep", "dp")
        pick = predict(model, on, isl=isl, osl=osl, concurrency=64, policy="queued",
                       **{"dp": 1, **{k: options[k] for k in keys if k in options}})  # fmt: skip
        if pick.feasible:
            d = pick.deployment
            options = {**options, "tp": d["tp"], "pp": d["pp"], "ep": d["ep"], "dp": d["dp"]}

    def meets(qps: float) -> tuple[bool, Any]:
        sim = simulate(model, on, workload="poisson", isl=isl, osl=osl, qps=qps, requests=requests, **options)
        s = sim.summary
        ttft, tpot = s["ttft_s"]["p99"], s["tpot_s"]["p99"]
        good = (s["completed"] == s["requests"] and ttft is not None and ttft <= slo_ttft_p99_s
                and (tpot is None or tpot <= slo_tpot_p99_s))  # fmt: skip
        return good, sim

    trials: list[dict[str, Any]] = []
    lo, hi, best = 0.0, None, None
    qps = 1.0
    for _ in range(iterations):
        ok, sim = meets(qps)
        trials.append({"qps": qps, "meets": ok, "p99_ttft_s": sim.summary["ttft_s"]["p99"],
                       "p99_tpot_s": sim.summary["tpot_s"]["p99"]})  # fmt: skip
        if ok:
            lo, best = qps, sim
        else:
            hi = qps
        if lo == 0.0 and len(trials) >= 3 and _stalled(trials[-3:]):
            break  # lower loads no longer help: the SLO is below what one request takes
        if hi is None:
            qps = min(qps * 4, max_qps)
        elif lo == 0.0:
            qps = qps / 4
        else:
            qps = math.sqrt(lo * hi)
        if hi is not None and lo > 0 and hi / lo < 1.05:
            break
    return {
        "max_qps": lo if best is not None else None,
        "meets_slo": best is not None,
        "slo": {"p99_ttft_s": slo_ttft_p99_s, "p99_tpot_s": slo_tpot_p99_s},
        "trials": trials,
        "simulation": best.to_dict() if best is not None else None,
        "interval_level": best.summary["interval_level"] if best is not None else None,
        "explanation": "highest QPS whose P99 TTFT and P99 TPOT meet the limits" if best is not None
        else f"no QPS tried (down to {trials[-1]['qps']:.3g}) meets the SLO",
    }  # fmt: skip
