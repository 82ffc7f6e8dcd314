"""Run a grid: skip stored cells, evaluate the rest on an executor, store them as they finish."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..results import Result
from .evaluate import evaluate_task, make_tasks
from .executors import Executor, executor
from .spec import Grid, load_grid
from .store import Store

__all__ = ["FLUSH_CELLS", "FLUSH_S", "Progress", "SweepRun", "default_out", "sweep_grid"]

#: A batch of finished cells is stored when it reaches this many cells or this age (seconds).
FLUSH_CELLS = 20_000
FLUSH_S = 1.0
#: Failed cells listed in the summary (all are in the dataset's ``error`` column).
SHOWN_FAILURES = 10


@dataclass(frozen=True)
class SweepRun(Result):
    """What a sweep did: cells in the grid, already stored, computed now, failed (with reasons)."""

    grid: str
    name: str
    out: str
    commands: tuple[str, ...]
    cells: int
    already_stored: int
    computed: int
    failed: int
    failures: tuple[dict[str, Any], ...]
    executor: str
    workers: int
    elapsed_s: float
    cells_per_s: float | None
    notes: tuple[str, ...] = field(default=())

    title = "sweep"

    @property
    def exit_status(self) -> int:
        """0: every cell computed; 1: the grid completed but some cells failed."""
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": self.grid,
            "name": self.name,
            "out": self.out,
            "commands": list(self.commands),
            "cells": self.cells,
            "already_stored": self.already_stored,
            "computed": self.computed,
            "failed": self.failed,
            "failures": [dict(f) for f in self.failures],
            "executor": self.executor,
            "workers": self.workers,
            "elapsed_s": self.elapsed_s,
            "cells_per_s": self.cells_per_s,
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = [
            ("grid", f"{self.name} ({self.grid})"),
            ("commands", ", ".join(self.commands)),
            ("cells", self.cells),
            ("already stored", self.already_stored),
            ("computed now", self.computed),
            ("failed", self.failed),
            ("executor", self._executor_text()),
            ("results", self.out),
        ]
        rows += [("note", n) for n in self.notes]
        return rows

    def _executor_text(self) -> str:
        if not self.workers:
            return self.executor
        return f"{self.executor}, {self.workers} worker{'s' * (self.workers > 1)}"

    def __str__(self) -> str:
        text = super().__str__()
        if self.failures:
            lines = [f"failed cells ({self.failed}; reason below each):"]
            for f in self.failures:
                lines += [f"  {f['cell_hash']}  {f['cell']}", f"    {f['error']}"]
            text += "\n\n" + "\n".join(lines)
        return text


class Progress:
    """A one-line progress bar with ETA on ``stream`` (redrawn at most 10 times a second)."""

    def __init__(self, total: int, stream: IO[str] | None = None, width: int = 28) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = stream or sys.stderr
        self.start = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done >= self.total:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * self.width)
        rate = self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        m, s = divmod(int(eta + 0.5), 60)
        self.stream.write(f"\rsweep [{bar:<{self.width}}] {self.done:,}/{self.total:,} cells {frac:4.0%} "
                          f"{rate:,.0f} cells/s ETA {m // 60}:{m % 60:02d}:{s:02d} ")  # fmt: skip
        self.stream.flush()

    def finish(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()


def default_out(grid: str | Path) -> Path:
    """The results folder of a grid file when none is given: ``NAME.sweep`` in the current folder."""
    return Path(f"{Path(grid).stem}.sweep")


def _label(row: Mapping[str, Any]) -> str:
    parts = [row["command"], row["model"], "on", row["hardware"], row["workload"]]
    parts += [f"{k}={row[k]}" for k in ("policy", "scheduling", "weights", "kv_dtype", "tp", "concurrency")
              if row.get(k) is not None]  # fmt: skip
    return " ".join(str(p) for p in parts)


def _compute(
    ex: Executor,
    store: Store,
    todo: list[dict[str, Any]],
    bar: Progress | None,
    flush_cells: int,
    flush_s: float,
) -> list[dict[str, Any]]:
    """Evaluate ``todo`` on ``ex``, storing rows in batches; the failed cells (hash, label, error)."""
    failures: list[dict[str, Any]] = []
    buffer: list[dict[str, Any]] = []
    last = time.monotonic()
    try:
        for rows in ex.map(evaluate_task, make_tasks(todo)):
            buffer += rows
            failures += [{"cell_hash": r["cell_hash"], "cell": _label(r), "error": r["error"]}
                         for r in rows if r["error"] is not None]  # fmt: skip
            if bar:
                bar.update(len(rows))
            if len(buffer) >= flush_cells or time.monotonic() - last >= flush_s:
                batch, buffer, last = buffer, [], time.monotonic()
                store.append(batch)
    finally:
        # finished cells are stored even when the run stops early (Ctrl-C, a dead worker)
        batch, buffer = buffer, []
        store.append(batch)
    if bar:
        bar.finish()
    return failures


def sweep_grid(
    grid: str | Path | Mapping[str, Any] | Grid,
    out: str | Path | None = None,
    *,
    executor_kind: str | Executor = "process",
    workers: int | None = None,
    ray_address: str | None = None,
    progress: bool | None = None,
    flush_cells: int = FLUSH_CELLS,
    flush_s: float = FLUSH_S,
) -> SweepRun:
    """Evaluate every cell of ``grid`` not yet stored in ``out`` and append it there.

    ``executor_kind``: ``serial``, ``process`` (default; ``workers`` processes, all cores when
    omitted), ``ray`` (``ray_address``), or an :class:`Executor`. ``progress``: draw a bar on
    stderr (``None``: only when stderr is a terminal). Rerunning after a crash computes only
    the cells that were not stored; load the results with :func:`load_sweep`.
    """
    g = grid if isinstance(grid, Grid) else load_grid(grid)
    if out is None:
        if g.source == "<grid>":
            from ..errors import InvalidInputError

            raise InvalidInputError(
                "sweep_grid: give out= (the results folder) for a grid given as a mapping"
            )
        out = default_out(g.source)
    t0 = time.monotonic()
    Store.check(out)  # before any executor starts: a bad folder costs nothing
    pending = [c for c in g.cells if c["cell_hash"] not in Store.read_done(out)]
    ex: Executor | None = executor_kind if isinstance(executor_kind, Executor) else None
    if ex is None and pending:  # a cluster that cannot be joined leaves no folder behind
        ex = executor(executor_kind, workers=workers, ray_address=ray_address)  # type: ignore[arg-type]
    try:
        with Store(out) as store:
            done = store.done()  # again, under the lock
            todo = [c for c in g.cells if c["cell_hash"] not in done]
            stored = len(g.cells) - len(todo)
            failures: list[dict[str, Any]] = []
            failed = 0
            for c in g.cells:  # failures stored by an earlier run still count
                err = done.get(c["cell_hash"])
                if err is not None:
                    failed += 1
                    if len(failures) < SHOWN_FAILURES:
                        failures.append({"cell_hash": c["cell_hash"], "cell": _label(c), "error": err})
            if todo:
                if ex is None:
                    ex = executor(executor_kind, workers=workers, ray_address=ray_address)  # type: ignore[arg-type]
                show = sys.stderr.isatty() if progress is None else progress
                bar = Progress(len(todo)) if show else None
                new_failures = _compute(ex, store, todo, bar, flush_cells, flush_s)
                failed += len(new_failures)
                failures += new_failures[: max(0, SHOWN_FAILURES - len(failures))]
    finally:
        if ex is not None and not isinstance(executor_kind, Executor):
            ex.close()
    elapsed = time.monotonic() - t0
    notes = []
    if failed > len(failures):
        notes.append(f"{failed - len(failures)} more failed cell(s): see the 'error' column of load_sweep()")
    return SweepRun(
        grid=g.source, name=g.name, out=str(out), commands=g.commands, cells=len(g.cells),
        already_stored=stored, computed=len(todo), failed=failed, failures=tuple(failures),
        executor=ex.name if ex else "none (every cell stored)", workers=ex.workers if ex else 0,
        elapsed_s=elapsed,
        cells_per_s=len(todo) / elapsed if todo and elapsed > 0 else None, notes=tuple(notes),
    )  # fmt: skip
