"""Declarative sweeps at scale: a grid TOML -> cells -> an executor -> a resumable Parquet store.

``sweep_grid(path, out)`` evaluates every cell not yet stored in ``out`` (serial, a local
process pool, or Ray), ``load_sweep(out)`` reads the results as one DataFrame, and
``executor(kind, workers=..., ray_address=...)`` gives other code the same executors.
"""

from __future__ import annotations

from .evaluate import AXIS_COLUMNS, METRIC_COLUMNS, evaluate_cell, evaluate_task, make_tasks
from .executors import (
    EXECUTORS,
    Executor,
    ProcessExecutor,
    RayExecutor,
    SerialExecutor,
    executor,
    executor_kind,
)
from .run import Progress, SweepRun, default_out, sweep_grid
from .spec import COMMANDS, Grid, cell_hash, load_grid
from .store import Store, load_sweep

__all__ = [
    "AXIS_COLUMNS",
    "COMMANDS",
    "EXECUTORS",
    "METRIC_COLUMNS",
    "Executor",
    "Grid",
    "ProcessExecutor",
    "Progress",
    "RayExecutor",
    "SerialExecutor",
    "Store",
    "SweepRun",
    "cell_hash",
    "default_out",
    "evaluate_cell",
    "evaluate_task",
    "executor",
    "executor_kind",
    "load_grid",
    "load_sweep",
    "make_tasks",
    "sweep_grid",
]
