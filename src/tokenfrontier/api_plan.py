"""Python API of capacity planning: ``plan``, the cheapest fleet that serves a traffic within an
SLO, per hardware entry, ranked (method: :mod:`tokenfrontier.plan`).

Prices come from ``economics.pricing.hourly_rate`` ($/chip-hour: a TCO preset or rental) and
$/Mtok by token type from ``economics.cost.cost_of`` on the tokens the traffic brings
(QPS x mean prompt and output tokens), so the token types add back up to the fleet's $/hour.
"""

from __future__ import annotations

import functools
import math
import os
import pickle
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .arch import ModelArch
from .catalog import Catalog
from .errors import InvalidInputError, TokenFrontierError
from .footprint import KV_DTYPES, WEIGHT_DTYPES
from .profiles import resolve_profile
from .resolve import catalog_or_default, check_choice, get_model, get_system
from .specs import System
from .units import parse_context, parse_positive_int

if TYPE_CHECKING:
    from .grid.executors import Executor
    from .plan import FleetPlan, Option, Slo
    from .serving import Workload
    from .sim.workload import Requests

__all__ = ["PROCESS_FROM", "TRAFFIC", "plan"]

TRAFFIC = ("poisson", "trace", "agentic")
#: Hardware entries from which ``plan`` runs on a local process pool by default (fewer: serially).
#: Each worker pays its own cold start (the model's stage partitions; pickling), about 20% more
#: CPU than serial for the README example (``--on all``, 11 entries), which measured faster
#: serially on the 2-core development machine (benchmarks/bench_plan.py): hence above 11.
PROCESS_FROM = 12


def _hardware(on: str | System | Sequence[str | System], catalog: Catalog | None) -> list[System]:
    if isinstance(on, str):
        ids: list[Any] = [h.strip() for h in on.split(",") if h.strip()]
        if ids == ["all"]:
            ids = sorted(catalog_or_default(catalog).systems)
    elif isinstance(on, System):
        ids = [on]
    else:
        ids = list(on)
    if not ids:
        raise InvalidInputError("--on: give hardware ids (comma-separated) or 'all'")
    systems = [get_system(h, catalog) for h in ids]
    return list({s.id: s for s in systems}.values())


def _traffic(
    kind: str,
    qps: float | None,
    isl: Any,
    osl: Any,
    spread: float,
    trace: str | None,
    requests: int,
    seed: int,
    max_context: int,
) -> tuple[float, Any, Requests | None, dict[str, Any]]:
    """(QPS, the analytic Workload, the fleet-wide request stream or None for Poisson, facts)."""
    import numpy as np

    from .serving import Workload

    check_choice(kind, TRAFFIC, "traffic")
    if qps is not None and not (isinstance(qps, int | float) and math.isfinite(qps) and qps > 0):
        raise InvalidInputError(f"--qps: must be a number of requests per second > 0, got {qps!r}")
    if kind == "poisson":
        if qps is None or isl is None or osl is None:
            raise InvalidInputError("traffic 'poisson' needs --qps, --isl and --osl")
        w = Workload(parse_context(isl, "isl"), parse_context(osl, "osl"), spread)
        facts = {"kind": kind, "name": "Poisson arrivals", "qps": float(qps), "isl_mean": w.isl_mean,
                 "osl_mean": w.osl_mean, "requests_simulated": requests}  # fmt: skip
        return float(qps), w, None, facts
    if kind == "trace":
        if not trace:
            raise InvalidInputError("traffic 'trace' needs --trace FILE or a bundled trace name")
        from .sim.traces import read_trace

        req = read_trace(trace, limit=requests)
        roots = req.arrival_s[req.follows < 0]
        span = float(roots.max() - roots.min())
        rate = (len(req) - 1) / span if span > 0 else None
        if rate is None and qps is None:
            raise InvalidInputError(f"trace '{trace}': all requests arrive at once; give --qps")
        if qps is not None and rate:
            req = replace(req, arrival_s=req.arrival_s * rate / qps, delay_s=req.delay_s * rate / qps)
        qps_ = float(qps if qps is not None else rate)  # type: ignore[arg-type]
    else:
        from .sim.agentic import agentic

        req = agentic(requests=requests, seed=seed, max_context=max_context)
        sessions = int(req.session.max()) + 1
        natural = 0.2 * len(req) / max(sessions, 1)  # default session rate x turns per session
        if qps is not None:
            req = agentic(requests=requests, seed=seed, max_context=max_context,
                          session_rate_per_s=0.2 * qps / natural)  # fmt: skip
        qps_ = float(qps if qps is not None else natural)
    isl_m, osl_m = float(np.mean(req.isl)), float(np.mean(req.osl))
    w = Workload(max(1, round(isl_m)), max(1, round(osl_m)))
    facts = {"kind": kind, "name": req.name, "qps": qps_, "isl_mean": isl_m, "osl_mean": osl_m,
             "requests_simulated": len(req)}  # fmt: skip
    return qps_, w, req, facts


@dataclass(frozen=True)
class _Search:
    """One plan's inputs, resolved: what every task needs (picklable; sent with each task).

    A task unpickles fresh copies, and the scenario cache keys on object identity, so a worker
    keeps the first copy of each plan (``token``) and uses it for that plan's later tasks
    (:func:`_local`): the model's terms and stage partitions are then built once per worker.
    """

    token: str  # unique per plan call
    systems: tuple[System, ...]  # the candidates; tasks name one by index
    arch: ModelArch
    slo: Slo
    workload: Workload  # the analytic one (mean lengths)
    qps: float
    fleet_req: Requests | None  # the fleet-wide stream (trace, agentic); None: Poisson
    facts: dict[str, Any]
    spread: float
    requests: int
    weights: str
    kv_dtype: str
    framework: str | None
    seed: int
    catalog: Catalog | None  # None: the bundled catalog, loaded in each worker
    preset: str | None
    rental: bool
    pessimistic: bool
    finalists: int
    prefill_system: System | None  # disaggregated prefill hardware, or None
    prefill_tp: int | None


#: This process's copy of each plan's inputs, by token (a worker's; bounded, oldest dropped).
_LOCAL: dict[str, _Search] = {}
_LOCAL_LIMIT = 8


def _local(search: _Search) -> _Search:
    """The first copy of ``search`` this process saw (see :class:`_Search`)."""
    if search.token not in _LOCAL and len(_LOCAL) >= _LOCAL_LIMIT:
        del _LOCAL[next(iter(_LOCAL))]
    return _LOCAL.setdefault(search.token, search)


@dataclass(frozen=True)
class _Analytic:
    """The analytic stage on one hardware entry: its price, interval, finalists and rejections."""

    price: Any  # economics.pricing rate, or None (unpriced)
    unpriced: str
    level: str
    factors: dict[str, tuple[float, float]]
    slow: float
    options: list[Option]
    rejected: list[dict[str, Any]]
    why: str | None  # the resource that ran out when nothing is admissible
    pooled: tuple[str, dict[str, tuple[float, float]]] | None = None  # level, factors with a prefill pool


def _portable(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A worker task whose errors reach the caller: a :class:`TokenFrontierError` that does not
    survive pickling (a custom ``__init__``) comes back as an InvalidInputError with its text."""

    @functools.wraps(task)
    def run(item: Any) -> Any:
        try:
            return task(item)
        except TokenFrontierError as exc:
            try:
                pickle.loads(pickle.dumps(exc))
            except Exception:  # any unpickling failure
                raise InvalidInputError(str(exc)) from None
            raise

    return run


@_portable
def _analytic_task(task: tuple[int, _Search]) -> tuple[int, _Analytic]:
    """A worker task: price one hardware entry, size every deployment analytically, keep the
    ``finalists`` cheapest (with ``prefill_on``: disaggregated ones too)."""
    from .api_performance import catalog_profiles
    from .economics.pricing import hourly_rate
    from .plan import analyze, slow_factors
    from .scenario import build_scenario

    i, s = task
    s = _local(s)
    system = s.systems[i]
    scen = build_scenario(s.arch, system, weights=s.weights, kv_dtype=s.kv_dtype, framework=s.framework,
                          profiles=catalog_profiles(s.catalog))  # fmt: skip
    price: Any = None
    unpriced = ""
    try:
        # the fleet serves the traffic every hour: utilisation 1 (economics.pricing's rule)
        price = hourly_rate(system, preset=s.preset, rental=s.rental, catalog=s.catalog, utilization=1.0)
    except TokenFrontierError:  # still planned (chips), ranked after the priced fleets
        basis = "rental rate" if s.rental else "price or TCO preset"
        unpriced = f"unpriced: the catalog has no {basis} for it; ranked by chips after the priced fleets"
    level, factors = slow_factors(scen)
    slow = max(f[1] for f in factors.values()) if s.pessimistic else 1.0
    per_chip_h = price.usd_per_chip_hour if price is not None else 1.0  # unpriced: rank by chip-hours
    options, rejected, why = analyze(scen, s.workload, s.qps, s.slo, per_chip_h, slow=slow, keep=s.finalists)
    if s.prefill_system is not None:
        pooled, lost, pool_why = _pooled(s.arch, scen, s.workload, s.qps, s.slo, per_chip_h, price, slow,
                                         s.finalists, s.prefill_system, s.prefill_tp, s.rental,
                                         s.catalog)  # fmt: skip
        rejected += lost
        options, why = _merge(options, pooled, s.finalists, rejected, system.id), why and pool_why
    pooled_interval = slow_factors(scen, disaggregated=True) if s.prefill_system is not None else None
    return i, _Analytic(price, unpriced, level, factors, slow, options, rejected, why, pooled_interval)


@_portable
def _confirm_task(
    task: tuple[tuple[int, int], _Search, Option, float],
) -> tuple[tuple[int, int], tuple[int | None, dict[str, Any], list[dict[str, Any]]]]:
    """A worker task: simulate one finalist, stepping its replicas up until the SLO holds
    (``plan.confirm``). Keyed by (hardware index, finalist index)."""
    from .plan import confirm, meets

    key, s, opt, slow = task
    s = _local(s)
    run = _runner(s, s.systems[key[0]], opt, slow)
    return key, confirm(opt.replicas, run, functools.partial(meets, slo=s.slo, slow=slow))


def _in_order(results: Iterable[tuple[int, _Analytic]]) -> list[_Analytic]:
    """Results that arrive in completion order, back in task order."""
    return [r for _, r in sorted(results, key=lambda r: r[0])]


def _executor(
    kind: str | Executor | None, workers: int | None, ray_address: str | None, hardware: int, tasks: int
) -> tuple[Executor, bool, str]:
    """(the executor, whether this call owns it (closes it), why it was chosen). The default
    process pool has at most ``tasks`` workers (a worker more would only start cold)."""
    from .grid.executors import Executor, executor, executor_kind

    if isinstance(kind, Executor):
        return kind, False, "given"
    cores = os.cpu_count() or 1
    if kind is not None or ray_address is not None:
        name, why = executor_kind(kind, ray_address), "asked"
    elif workers is not None:
        name, why = ("serial" if workers == 1 else "process"), f"--workers {workers}"
    elif cores == 1:
        name, why = "serial", "default: this machine has 1 core"
    elif hardware < PROCESS_FROM:
        entries = f"{hardware} hardware entr{'y' if hardware == 1 else 'ies'}"
        name, why = "serial", f"default: {entries}, fewer than {PROCESS_FROM}"
    else:
        name, why = "process", f"default: {hardware} hardware entries, {cores} cores"
        workers = min(cores, tasks)
    return executor(name, workers=workers, ray_address=ray_address), True, why


def plan(
    model: str | ModelArch,
    on: str | System | Sequence[str | System] = "all",
    *,
    qps: float | None = None,
    isl: int | str | None = None,
    osl: int | str | None = None,
    spread: float = 1.0,
    traffic: str = "poisson",
    trace: str | None = None,
    slo_ttft_p99_s: float = 2.0,
    slo_tpot_p99_s: float | None = None,
    min_tok_s_per_user: float | None = None,
    goodput_share: float | None = None,
    rental: bool = False,
    preset: str | None = None,
    pessimistic: bool = False,
    mix: str = "workload",
    weights: str = "native",
    kv_dtype: str = "bf16",
    framework: str | None = None,
    prefill_on: str | System | None = None,
    prefill_tp: int | None = None,
    requests: int = 1000,
    finalists: int = 3,
    seed: int = 0,
    catalog: Catalog | None = None,
    executor: str | Executor | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
) -> FleetPlan:
    """The cheapest fleet per hardware entry that serves ``qps`` within the SLO, ranked by $/hour.

    Traffic: ``poisson`` (``qps`` with ``isl``/``osl``, lengths uniform in [spread L, L]),
    ``trace`` (a CSV/JSONL file or bundled name, replayed at ``qps`` if given) or ``agentic``
    (the SPEC §6 session generator at ``qps`` requests per second). SLO: P99 TTFT, P99 TPOT (or
    ``min_tok_s_per_user``, TPOT = 1 / it) and optionally the share of requests meeting both.
    ``prefill_on`` also considers disaggregated replicas: each decode copy fed by its own
    prefill workers (``prefill_tp`` chips each; as many as keep up) on that hardware.
    ``pessimistic`` plans at the slow end of the 80% interval (every time x the widest slow
    factor: arrivals sped up by it in the simulation, latencies multiplied by it).

    The search runs on an executor (``tokenfrontier.grid.executor``): the analytic stage one task
    per hardware entry, then one task per finalist (its simulations). ``executor``: ``serial``,
    ``process`` (``workers`` processes, default every core), ``ray`` (``ray_address``: ``auto``
    or a cluster address; giving it implies ``ray``) or an :class:`Executor` (left open). Default:
    serial below :data:`PROCESS_FROM` hardware entries or on one core, else process. The result
    is the same whatever runs it; ``FleetPlan.executor`` / ``.workers`` say what did.
    """
    # the tasks' modules, imported here: forked workers (process executor) start with them
    from . import api_performance, api_simulate, scenario  # noqa: F401
    from .economics import pricing  # noqa: F401
    from .economics.cost import cost_of
    from .plan import FleetPlan, Slo
    from .sim import run  # noqa: F401

    check_choice(weights, WEIGHT_DTYPES, "weights dtype")
    check_choice(kv_dtype, KV_DTYPES, "KV dtype")
    check_choice(mix, ("workload", "agentic"), "--mix")
    parse_positive_int(requests, "requests", limit=1_000_000)
    parse_positive_int(finalists, "finalists", limit=100)
    if slo_tpot_p99_s is not None and min_tok_s_per_user is not None:
        raise InvalidInputError("SLO: give a P99 TPOT limit or a minimum tok/s per user, not both")
    if min_tok_s_per_user is not None:
        if not (isinstance(min_tok_s_per_user, int | float) and math.isfinite(min_tok_s_per_user)
                and min_tok_s_per_user > 0):  # fmt: skip
            raise InvalidInputError(f"--min-tok-s-per-user: must be > 0, got {min_tok_s_per_user!r}")
        slo_tpot_p99_s = 1.0 / min_tok_s_per_user
    if slo_tpot_p99_s is None:
        raise InvalidInputError("SLO: give --slo-tpot-p99-ms or --min-tok-s-per-user")
    slo = Slo(float(slo_ttft_p99_s), float(slo_tpot_p99_s), goodput_share)
    arch = get_model(model, catalog)
    systems = _hardware(on, catalog)
    rate_qps, workload, fleet_req, facts = _traffic(traffic, qps, isl, osl, spread, trace, requests, seed,
                                                    arch.max_context)  # fmt: skip
    pre_system = get_system(prefill_on, catalog) if prefill_on is not None else None
    for system in systems:  # bad input fails here, before any worker starts
        resolve_profile(system.chip, framework, api_performance.catalog_profiles(catalog))
    search = _Search(token=uuid.uuid4().hex, systems=tuple(systems), arch=arch, slo=slo, workload=workload,
                     qps=rate_qps, fleet_req=fleet_req, facts=facts, spread=spread, requests=requests,
                     weights=weights, kv_dtype=kv_dtype, framework=framework, seed=seed, catalog=catalog,
                     preset=preset, rental=rental, pessimistic=pessimistic, finalists=finalists,
                     prefill_system=pre_system, prefill_tp=prefill_tp)  # fmt: skip
    ex, owned, ran_on = _executor(executor, workers, ray_address, len(systems), len(systems) * finalists)
    try:
        stage = _in_order(ex.map(_analytic_task, [(i, search) for i in range(len(systems))]))
        jobs = [((i, j), search, opt, a.slow) for i, a in enumerate(stage)
                if not a.why for j, opt in enumerate(a.options)]  # fmt: skip
        done = dict(ex.map(_confirm_task, jobs))
        workers_used = ex.workers
    finally:
        _LOCAL.pop(search.token, None)  # this process's (serial) copy
        if owned:
            ex.close()
    fleets: list[dict[str, Any]] = []
    infeasible: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for i, (system, a) in enumerate(zip(systems, stage, strict=True)):
        rejected += a.rejected
        if a.why:
            infeasible.append({"hardware": system.id, "resource": a.why.split(":")[0], "reason": a.why})
            continue
        confirmed, failed = [], []
        for j, opt in enumerate(a.options):
            replicas, summary, trials = done[(i, j)]
            if replicas is None:
                last = trials[-1]
                failed.append({**last, "deployment": opt.name})
                rejected.append({"hardware": system.id, "deployment": opt.name, "reason":
                                 f"SLO violated at any replica count up to {last['replicas']} (simulated "
                                 f"P99 TTFT {_ms(last['p99_ttft_s'])} ms, P99 TPOT "
                                 f"{_ms(last['p99_tpot_s'])} ms)"})  # fmt: skip
                continue
            confirmed.append((replicas * opt.usd_per_hour / opt.replicas, opt, replicas,
                              summary, trials))  # fmt: skip
        if not confirmed:
            infeasible.append({"hardware": system.id, "resource": "SLO", "reason": _sim_binding(failed, slo)})
            continue
        confirmed.sort(key=lambda c: (c[0], c[2] * c[1].chips_per_replica))
        usd_h, opt, replicas, summary, trials = confirmed[0]
        for other in confirmed[1:]:
            rejected.append({"hardware": system.id, "deployment": other[1].name, "reason":
                             f"more expensive than {opt.name} by {(other[0] / usd_h - 1) * 100:,.0f}% "
                             "(simulated)"})  # fmt: skip
        level, factors = a.pooled if opt.prefill_chips and a.pooled else (a.level, a.factors)
        fleet = _fleet(opt, replicas, summary, trials, a.price, slo, a.slow, level, factors, facts,
                       rate_qps, arch.id, mix, cost_of, seed)  # fmt: skip
        if a.price is None:
            fleet["price_basis"] = a.unpriced
        fleets.append(fleet)
    fleets.sort(key=lambda f: (f["usd_per_hour"] is None, f["usd_per_hour"] or 0.0, f["chips"]))
    for n, f in enumerate(fleets, 1):
        f["rank"] = n
    notes = []
    if not fleets:
        notes.append("no hardware meets the SLO; the binding limit of each is named above")
    return FleetPlan(model=arch.id, traffic=facts, slo=slo.to_dict(), pessimistic=pessimistic,
                     fleets=fleets, infeasible=infeasible, rejected=rejected, notes=tuple(notes),
                     executor=ex.name, workers=workers_used, executor_reason=ran_on)  # fmt: skip


def _pooled(
    arch: ModelArch,
    scen: Any,
    workload: Any,
    qps: float,
    slo: Slo,
    per_chip_h: float,
    price: Any,
    slow: float,
    keep: int,
    pre_system: System,
    prefill_tp: int | None,
    rental: bool,
    catalog: Catalog | None,
) -> tuple[list[Option], list[dict[str, Any]], str | None]:
    """Analytic options with a prefill pool on ``pre_system`` in front of every decode replica."""
    from .economics.pricing import hourly_rate
    from .plan import analyze
    from .scenario import build_scenario
    from .sweep import build_pool

    pre = build_scenario(arch, pre_system, weights=scen.weights, kv_dtype=scen.kv_dtype)
    hw = f"{scen.system.id} + prefill on {pre_system.id}"
    try:
        pool = build_pool(pre, workload, tp=prefill_tp)
    except InvalidInputError as exc:
        return [], [{"hardware": scen.system.id, "deployment": "prefill pool", "reason": str(exc)}], str(exc)
    pre_rate = per_chip_h
    if price is not None:
        try:
            # as the fleet: utilisation 1
            pre_price = hourly_rate(pre_system, rental=rental, catalog=catalog, utilization=1.0)
            pre_rate = pre_price.usd_per_chip_hour
        except TokenFrontierError as exc:
            why = f"prefill hardware unpriced: {exc}"
            return [], [{"hardware": hw, "deployment": "disaggregated", "reason": why}], why
    return analyze(scen, workload, qps, slo, per_chip_h, slow=slow, keep=keep, pool=pool,
                   prefill_usd_per_chip_hour=pre_rate)  # fmt: skip


def _merge(
    a: list[Option], b: list[Option], keep: int, rejected: list[dict[str, Any]], hw: str
) -> list[Option]:
    """The ``keep`` cheapest of two analytic shortlists; the others go to ``rejected``."""
    both = sorted(a + b, key=lambda o: (o.usd_per_hour, o.replicas * o.chips_per_replica))
    for o in both[keep:]:
        more = (o.usd_per_hour / both[0].usd_per_hour - 1) * 100
        rejected.append({"hardware": hw, "deployment": o.name, "reason":
                         f"more expensive than {both[0].name} by {more:,.0f}% (analytic)"})  # fmt: skip
    return both[:keep]


def _pools(opt: Option, replicas: int) -> list[dict[str, Any]]:
    """The fleet's pools: decode (or prefill+decode) copies, and their prefill workers if any."""
    decode = opt.chips_per_replica - opt.prefill_chips
    pools = [{"role": "decode" if opt.prefill else "prefill+decode", "hardware": opt.hardware, "tp": opt.tp,
              "pp": opt.pp, "ep": opt.ep, "workers": replicas, "chips": replicas * decode}]  # fmt: skip
    if opt.prefill is not None:
        pre = opt.prefill
        pools.append({"role": "prefill", "hardware": pre.scenario.system.id, "tp": pre.tp, "pp": pre.pp,
                      "ep": pre.ep, "workers": replicas * opt.prefill_workers,
                      "chips": replicas * opt.prefill_chips})  # fmt: skip
    return pools


def _sim_binding(failed: list[dict[str, Any]], slo: Slo) -> str:
    """Why no finalist passed: the limit the simulated P99s still break at the most replicas."""
    if not failed:
        return "SLO: no deployment could be simulated"
    best = min(failed, key=lambda t: t["p99_ttft_s"] if t["p99_ttft_s"] is not None else math.inf)
    ttft, tpot = best["p99_ttft_s"], best["p99_tpot_s"]
    if ttft is None:
        return f"SLO: requests do not complete on {best['deployment']} (KV capacity for the longest requests)"
    if ttft > slo.ttft_p99_s:
        what = f"P99 TTFT {_ms(ttft)} ms > {_ms(slo.ttft_p99_s)} ms (prefill of the longest prompts)"
    elif tpot is not None and tpot > slo.tpot_p99_s:
        what = f"P99 TPOT {_ms(tpot)} ms > {_ms(slo.tpot_p99_s)} ms"
    else:
        what = "the goodput share or completed requests fall short"
    return f"SLO: simulated {what} even at {best['replicas']} x {best['deployment']}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:,.4g}"


def _runner(search: _Search, system: System, opt: Option, slow: float) -> Any:
    """``run(replicas)`` -> simulation summary: one replica at QPS / replicas Poisson arrivals,
    or the whole fleet (trace, agentic). Time is dilated by ``slow`` (arrivals ``slow`` x faster;
    the caller multiplies latencies by it)."""
    from .api_simulate import simulate

    s, slo, workload = search, search.slo, search.workload
    common: dict[str, Any] = dict(tp=opt.tp, pp=opt.pp, ep=opt.ep, max_seqs=opt.batch_cap, weights=s.weights,
                  kv_dtype=s.kv_dtype, framework=s.framework, seed=s.seed, catalog=s.catalog,
                  slo_ttft_s=slo.ttft_p99_s / slow, slo_tpot_s=slo.tpot_p99_s / slow)  # fmt: skip
    if opt.prefill is not None:
        common |= dict(prefill_on=s.prefill_system, prefill_tp=opt.prefill.tp,
                       prefill_workers=opt.prefill_workers)  # fmt: skip

    def run(replicas: int) -> dict[str, Any]:
        try:
            if s.fleet_req is None:
                sim = simulate(s.arch, system, workload="poisson", qps=s.qps * slow / replicas,
                               isl=workload.isl, osl=workload.osl, spread=s.spread, requests=s.requests,
                               **common)  # fmt: skip
            else:
                req = s.fleet_req
                if slow != 1:
                    req = replace(req, arrival_s=req.arrival_s / slow, delay_s=req.delay_s / slow)
                sim = simulate(s.arch, system, workload=req, replicas=replicas, **common)
        except InvalidInputError:
            return {"requests": 1, "completed": 0, "ttft_s": {"p99": None}, "tpot_s": {"p99": None}}
        return dict(sim.summary)

    return run


def _fleet(
    opt: Option,
    replicas: int,
    summary: dict[str, Any],
    trials: list[dict[str, Any]],
    price: Any,
    slo: Slo,
    slow: float,
    level: str,
    factors: dict[str, tuple[float, float]],
    facts: dict[str, Any],
    qps: float,
    model: str,
    mix: str,
    cost_of: Any,
    seed: int,
) -> dict[str, Any]:
    chips = replicas * opt.chips_per_replica
    out_tok_s = qps * facts["osl_mean"]
    total_tok_s = qps * (facts["isl_mean"] + facts["osl_mean"])
    ttft = float(summary["ttft_s"]["p99"]) * slow
    tpot_raw = summary["tpot_s"]["p99"]
    tpot = None if tpot_raw is None else float(tpot_raw) * slow
    deployment = {"hardware": opt.hardware, "tp": opt.tp, "pp": opt.pp, "ep": opt.ep,
                  "batch_cap": opt.batch_cap}  # fmt: skip
    served = SimpleNamespace(
        feasible=True, explanation="", model=model, hardware=opt.hardware, chips=chips,
        total_tok_s_per_chip=total_tok_s / chips, output_tok_s_per_chip=out_tok_s / chips,
        tok_s_per_user=1 / tpot if tpot else None, deployment=deployment, intervals={},
    )  # fmt: skip
    cost = cost_of(served, price, mix=mix) if price is not None else None
    headroom = [1 - ttft / slo.ttft_p99_s] + ([1 - tpot / slo.tpot_p99_s] if tpot is not None else [])
    t_lo, t_hi = factors["ttft"]
    p_lo, p_hi = factors["tpot"]
    per_replica_qps = qps / replicas
    check = {"workload": "poisson", "qps": per_replica_qps, "replicas": 1} if facts["kind"] == "poisson" \
        else {"workload": facts["kind"], "replicas": replicas}  # fmt: skip
    if opt.prefill is not None:
        check |= {"prefill_on": opt.prefill.scenario.system.id, "prefill_tp": opt.prefill.tp,
                  "prefill_workers": opt.prefill_workers}  # fmt: skip
    return {
        "rank": 0,
        "hardware": opt.hardware,
        "deployment": opt.name,
        "tp": opt.tp,
        "pp": opt.pp,
        "ep": opt.ep,
        "batch_cap": opt.batch_cap,
        "replicas": replicas,
        "analytic_replicas": opt.replicas,
        "chips_per_replica": opt.chips_per_replica,
        "chips": chips,
        "pools": _pools(opt, replicas),
        "usd_per_hour": cost.usd_per_hour if cost else None,
        "usd_per_chip_hour": cost.usd_per_chip_hour if cost else None,
        "price_basis": cost.basis if cost else "",
        "usd_per_mtok": cost.usd_per_mtok if cost else None,
        "usd_per_mtok_output_only": cost.usd_per_mtok_output if cost else None,
        "usd_per_mtok_by_type": cost.usd_per_mtok_by_type if cost else {},
        "tokens_per_hour": cost.tokens_per_hour if cost else total_tok_s * 3600,
        "p99_ttft_s": ttft,
        "p99_tpot_s": tpot,
        "headroom": min(headroom),
        "ttft_headroom": headroom[0],
        "tpot_headroom": headroom[1] if len(headroom) > 1 else None,
        "goodput_share": summary["goodput"]["share_of_requests"],
        "p99_ttft_s_low": ttft / slow * t_lo,
        "p99_ttft_s_high": ttft / slow * t_hi,
        "p99_tpot_s_low": None if tpot is None else tpot / slow * p_lo,
        "p99_tpot_s_high": None if tpot is None else tpot / slow * p_hi,
        "interval_level": level,
        "slow_factor": slow,
        "simulations": len(trials),
        "trials": trials,
        "simulate": {
            **check,
            "tp": opt.tp,
            "pp": opt.pp,
            "ep": opt.ep,
            "max_seqs": opt.batch_cap,
            "requests": facts["requests_simulated"],
            "seed": seed,
        },
    }
