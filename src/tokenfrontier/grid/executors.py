"""Executors: one interface, ``Executor.map(fn, items)`` -> results as they finish.

- ``serial``: in this process, in order.
- ``process``: a local process pool (default: all cores).
- ``ray``: tasks on a Ray cluster (``pip install 'tokenfrontier[cluster]'``); ``ray_address``
  ``"auto"`` joins a running cluster or starts a local one, anything else is a cluster address.

``fn`` must be a module-level function (it is pickled) and its results should carry their own
key: results arrive in completion order. At most a few tasks per worker are in flight, so a
million-item iterator is consumed lazily. An exception raised by ``fn`` propagates from
``map``. Use an executor as a context manager (or call :meth:`Executor.close`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InvalidInputError, TokenFrontierError

__all__ = [
    "EXECUTORS",
    "Executor",
    "ProcessExecutor",
    "RayExecutor",
    "SerialExecutor",
    "executor",
    "executor_kind",
]

T = TypeVar("T")
R = TypeVar("R")
EXECUTORS = ("serial", "process", "ray")
#: Tasks in flight per worker (keeps workers busy without materializing the whole input).
IN_FLIGHT_PER_WORKER = 4


class Executor:
    """Runs ``fn`` over items; subclasses implement :meth:`map`."""

    name = "executor"
    workers = 1

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class SerialExecutor(Executor):
    """Every item in this process, in input order."""

    name = "serial"

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


class ProcessExecutor(Executor):
    """A local pool of ``workers`` processes (default: every core)."""

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _workers(workers) or (os.cpu_count() or 1)
        self._pool: Any = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        it = iter(items)
        pending: set[Any] = set()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        while True:
            for item in it:
                pending.add(self._pool.submit(fn, item))
                if len(pending) >= limit:
                    break
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise TokenFrontierError(
                        "a worker process died (killed, or out of memory); the cells finished so far "
                        "are kept: rerun the same command to resume, with fewer --workers if memory ran out"
                    ) from None
                yield result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor(Executor):
    """Tasks on Ray: joins the session this process already has, else ``address``."""

    name = "ray"

    def __init__(self, address: str = "auto", workers: int | None = None) -> None:
        ray = import_ray()
        self._started = False
        if address != "auto":
            _check_reachable(address)
        if not ray.is_initialized():
            opts: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False)
            if address == "auto":
                try:
                    ray.init(address="auto", **opts)
                except (ConnectionError, RuntimeError):  # no cluster running: start one here
                    ray.init(num_cpus=_workers(workers), runtime_env=_local_env(), **opts)
            else:
                try:
                    ray.init(address=address, **opts)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise InvalidInputError(f"--ray {address}: cannot join the Ray cluster ({exc})") from None
            self._started = True
        self.workers = _workers(workers) or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._ray = ray

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ray
        remote = ray.remote(num_cpus=1)(_apply)
        fn_ref = ray.put(fn)  # shipped once, not with every task
        it = iter(items)
        pending: list[Any] = []
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            while True:
                for item in it:
                    pending.append(remote.remote(fn_ref, item))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield ray.get(ref)
        finally:
            for ref in pending:  # the caller stopped early: do not leave work running
                ray.cancel(ref)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def _apply(fn: Callable[[T], R], item: T) -> R:
    """A Ray task: ``fn(item)`` (any callable, builtins included)."""
    return fn(item)


def import_ray() -> Any:
    """The ``ray`` module, or a clear error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise InvalidInputError(
            "the Ray executor needs Ray: pip install 'tokenfrontier[cluster]' (ray>=2.40)"
        ) from None
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (Ray itself retries for minutes) when nothing answers at ``[ray://]HOST:PORT``."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidInputError(f"--ray {address}: expected 'auto' or HOST:PORT (or ray://HOST:PORT)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise InvalidInputError(
            f"--ray {address}: nothing answers there ({exc.strerror or exc}); start the cluster "
            "(ray start --head) or check the address"
        ) from None


def _local_env() -> dict[str, Any]:
    """Workers of a local Ray instance import this very package (a source checkout included)."""
    src = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    return {"env_vars": {"PYTHONPATH": path}}


def _workers(workers: int | None) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"--workers: expected a positive integer, got {workers!r}")
    return workers


def executor_kind(kind: str | None, ray_address: str | None, default: str = "process") -> str:
    """The executor an ``--executor`` / ``--ray`` pair names: ``kind``, else ``ray`` when
    ``ray_address`` is given, else ``default``; one clear error when they conflict."""
    if ray_address is not None and kind not in (None, "ray"):
        raise InvalidInputError(f"--ray runs on Ray; it conflicts with --executor {kind}")
    return kind or ("ray" if ray_address is not None else default)


def executor(
    kind: str = "process", *, workers: int | None = None, ray_address: str | None = None
) -> Executor:
    """An executor by name: ``serial``, ``process`` (``workers`` processes, default every core)
    or ``ray`` (``ray_address``: ``"auto"`` or a cluster address; giving it implies ``ray``)."""
    if ray_address is not None and kind == "process":
        kind = "ray"
    if kind not in EXECUTORS:
        raise InvalidInputError(f"executor '{kind}' is unknown; valid: {', '.join(EXECUTORS)}")
    if kind == "serial":
        _workers(workers)
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    return RayExecutor(ray_address or "auto", workers)
