"""Evaluate grid cells through the public API (no physics here) into flat result rows.

A *task* is a list of cells sent to one worker. ``predict`` cells that share model x hardware x
workload x policy x dtypes x TP form one task and go through ONE vectorized
:func:`tokenfrontier.sweep.sweep` over their concurrencies (on HBM hardware, whose candidate
deployments do not depend on concurrency); the chosen point is built with the same
:func:`tokenfrontier.predict.prediction_at` that ``predict`` uses, so a batched cell equals
``tokenfrontier.api.predict`` of that cell. Anything else, and any batch that raises, is
evaluated cell by cell. A cell that raises is a row with its one-line ``error``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import TokenFrontierError

__all__ = ["AXIS_COLUMNS", "METRIC_COLUMNS", "evaluate_cell", "evaluate_task", "make_tasks"]

#: Cell columns (the axes of every command) in the order they are stored; units in the name
#: where there is one (isl/osl in tokens, qps in requests per second).
AXIS_COLUMNS: dict[str, str] = {
    "cell_hash": "string", "cell_index": "int", "command": "string", "model": "string",
    "hardware": "string", "workload": "string", "isl": "int", "osl": "int", "spread": "float",
    "kind": "string", "qps": "float", "policy": "string", "scheduling": "string", "weights": "string",
    "kv_dtype": "string", "tp": "int", "concurrency": "int", "concurrencies": "string",
    "requests": "int", "seed": "int", "replicas": "int", "prefix_cache": "bool",
}  # fmt: skip
#: Result columns (SI units: seconds, tokens/s); None where a command does not produce one.
METRIC_COLUMNS: dict[str, str] = {
    "feasible": "bool", "binding_constraint": "string", "chips": "int",
    "deployment_tp": "int", "deployment_ep": "int", "deployment_pp": "int",
    "ttft_s": "float", "tpot_s": "float", "tok_s_per_user": "float",
    "output_tok_s_per_chip": "float", "total_tok_s_per_chip": "float",
    "ttft_s_low": "float", "ttft_s_high": "float", "tok_s_per_user_low": "float",
    "tok_s_per_user_high": "float", "total_tok_s_per_chip_low": "float",
    "total_tok_s_per_chip_high": "float", "interval_level": "string", "profile": "string",
    "ttft_p50_s": "float", "ttft_p99_s": "float", "tpot_p50_s": "float", "tpot_p99_s": "float",
    "e2e_p99_s": "float", "completed": "int", "rejected": "int", "duration_s": "float",
    "frontier_points": "int", "max_tok_s_per_user": "float", "max_total_tok_s_per_chip": "float",
    "min_usd_per_mtok": "float", "error": "string",
}  # fmt: skip
_BATCHED_POLICIES = ("closed-loop", "queued")
_PREDICTED = ("ttft_s", "tpot_s", "tok_s_per_user", "output_tok_s_per_chip", "total_tok_s_per_chip")
_INTERVALS = ("ttft_s", "tok_s_per_user", "total_tok_s_per_chip")
#: Analytic cells per task: large enough to amortize a sweep, small enough to spread over workers.
TASK_CELLS = 256


def make_tasks(cells: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group cells into tasks: batchable predict cells by their shared options, others alone."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    tasks: list[list[dict[str, Any]]] = []
    for c in cells:
        if c["command"] == "predict" and c["policy"] in _BATCHED_POLICIES:
            key = tuple(c[k] for k in ("model", "hardware", "workload", "isl", "osl", "spread", "policy",
                                       "weights", "kv_dtype", "tp"))  # fmt: skip
            groups.setdefault(key, []).append(c)
        else:
            tasks.append([c])
    for group in groups.values():
        tasks += [group[i : i + TASK_CELLS] for i in range(0, len(group), TASK_CELLS)]
    return tasks


def evaluate_task(task: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a task's cells (module level, so process pools and Ray can ship it)."""
    if len(task) > 1 and task[0]["command"] == "predict":
        try:
            rows = _predict_batch(task)
        except Exception:  # any surprise in the fast path: the per-cell path reports it
            rows = None
        if rows is not None:
            return rows
    return [evaluate_cell(c) for c in task]


def evaluate_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One cell's row: its axes and metrics, or its one-line ``error``."""
    try:
        metrics = _COMMANDS[cell["command"]](cell)
    except TokenFrontierError as exc:
        metrics = {"error": _one_line(str(exc))}
    except Exception as exc:  # a cell must never take the grid down; its reason is kept
        metrics = {"error": _one_line(f"{type(exc).__name__}: {exc}")}
    return _row(cell, metrics)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _row(cell: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    row = {k: cell.get(k) for k in AXIS_COLUMNS}
    if isinstance(row["concurrencies"], list):
        row["concurrencies"] = json.dumps(row["concurrencies"])
    row |= {k: metrics.get(k) for k in METRIC_COLUMNS}
    return row


def _prediction_metrics(p: Any) -> dict[str, Any]:
    d = p.deployment
    out: dict[str, Any] = {"feasible": p.feasible, "binding_constraint": p.binding_constraint,
                           "chips": p.chips, "deployment_tp": d.get("tp"), "deployment_ep": d.get("ep"),
                           "deployment_pp": d.get("pp"), "interval_level": p.interval_level or None,
                           "profile": p.profile}  # fmt: skip
    out |= {k: getattr(p, k) for k in _PREDICTED}
    for k in _INTERVALS:
        if k in p.intervals:
            out[f"{k}_low"], out[f"{k}_high"] = p.intervals[k]
    return out


def _predict(cell: dict[str, Any]) -> dict[str, Any]:
    from ..api_performance import predict

    p = predict(cell["model"], cell["hardware"], isl=cell["isl"], osl=cell["osl"],
                concurrency=cell["concurrency"], tp=cell["tp"], weights=cell["weights"],
                kv_dtype=cell["kv_dtype"], spread=cell["spread"], policy=cell["policy"])  # fmt: skip
    return _prediction_metrics(p)


def _predict_batch(task: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """One sweep over the task's concurrencies; ``None`` where batching could change a result."""
    from ..predict import choose, prediction_at
    from ..resolve import get_model, get_system
    from ..scenario import build_scenario
    from ..serving import Workload
    from ..sweep import sweep

    c0 = task[0]
    scen = build_scenario(get_model(c0["model"]), get_system(c0["hardware"]), weights=c0["weights"],
                          kv_dtype=c0["kv_dtype"])  # fmt: skip
    if scen.sram:  # an SRAM machine's candidate stages depend on the largest concurrency
        return None
    workload = Workload(c0["isl"], c0["osl"], c0["spread"])
    conc = [int(c["concurrency"]) for c in task]
    sw = sweep(scen, workload, conc, tp=c0["tp"], policy=c0["policy"])
    chosen = choose(sw)
    rows = []
    for j, c in enumerate(task):
        p = prediction_at(sw, j, int(chosen[j]), workload=workload, concurrency=conc[j], given=bool(c0["tp"]))
        rows.append(_row(c, _prediction_metrics(p)))
    return rows


def _simulate(cell: dict[str, Any]) -> dict[str, Any]:
    from ..api_simulate import simulate

    kind = cell["kind"]
    sim = simulate(cell["model"], cell["hardware"], workload=kind, isl=cell["isl"], osl=cell["osl"],
                   concurrency=cell["concurrency"] or 1, qps=cell["qps"], requests=cell["requests"],
                   spread=cell["spread"], tp=cell["tp"], weights=cell["weights"], kv_dtype=cell["kv_dtype"],
                   scheduling=cell["scheduling"], replicas=cell["replicas"],
                   prefix_cache=cell["prefix_cache"], seed=cell["seed"])  # fmt: skip
    s, d = sim.summary, sim.deployment
    return {
        "feasible": s["completed"] > 0,
        "chips": sim.chips,
        "deployment_tp": d.get("tp"),
        "deployment_ep": d.get("ep"),
        "deployment_pp": d.get("pp"),
        "ttft_p50_s": s["ttft_s"]["p50"],
        "ttft_p99_s": s["ttft_s"]["p99"],
        "tpot_p50_s": s["tpot_s"]["p50"],
        "tpot_p99_s": s["tpot_s"]["p99"],
        "e2e_p99_s": s["e2e_s"]["p99"],
        "completed": s["completed"],
        "rejected": s["rejected"],
        "duration_s": s["duration_s"],
        "output_tok_s_per_chip": s["output_tok_s_per_chip"],
        "total_tok_s_per_chip": s["total_tok_s_per_chip"],
    }


def _frontier(cell: dict[str, Any]) -> dict[str, Any]:
    from ..api_performance import frontier

    f = frontier(cell["model"], cell["hardware"], isl=cell["isl"], osl=cell["osl"],
                 weights=(cell["weights"],), kv_dtype=cell["kv_dtype"], concurrencies=cell["concurrencies"],
                 spread=cell["spread"], policy=cell["policy"])  # fmt: skip
    pts = f.records
    usd = [p["usd_per_mtok"] for p in pts if p.get("usd_per_mtok") is not None]
    return {
        "feasible": bool(pts),
        "frontier_points": len(pts),
        "max_tok_s_per_user": max((p["tok_s_per_user"] for p in pts), default=None),
        "max_total_tok_s_per_chip": max((p["total_tok_s_per_chip"] for p in pts), default=None),
        "min_usd_per_mtok": min(usd, default=None),
    }


_COMMANDS = {"predict": _predict, "simulate": _simulate, "frontier": _frontier}
