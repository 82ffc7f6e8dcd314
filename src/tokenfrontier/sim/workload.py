"""Request streams for the simulator: closed loop, open loop (Poisson or bursty gamma), and the
container the trace reader and the agentic generator fill.

A :class:`Requests` is a struct of arrays, one entry per request. A request either arrives at
``arrival_s`` (an open-loop root) or follows another one: ``follows[i] = j`` means request ``i``
arrives ``delay_s[i]`` seconds after request ``j`` finishes (a closed-loop user issuing the
next request, or the next turn of an agentic session after a tool call). ``session`` groups
requests whose prompts extend one growing context (the prefix cache keys on it); ``blocks``
optionally carries prefix-block hashes (``BLOCK_TOKENS`` tokens each) as in the Mooncake traces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError

__all__ = ["BLOCK_TOKENS", "Requests", "closed_loop", "lengths", "open_loop"]

BLOCK_TOKENS = 512  # tokens per prefix block (the Mooncake traces' convention)
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Requests:
    """Requests to simulate (struct of arrays; times in seconds, lengths in tokens)."""

    arrival_s: Floats  # absolute arrival of roots; NaN for requests that follow another
    isl: Ints
    osl: Ints
    follows: Ints  # index of the request whose finish releases this one; -1 = a root
    delay_s: Floats  # pause after that finish (think time, tool call)
    session: Ints  # -1 = no session
    blocks: tuple[tuple[int, ...], ...] | None = None  # prefix-block hashes per request
    name: str = "workload"
    stats: dict[str, float] = field(default_factory=dict)  # what the generator reproduces

    def __post_init__(self) -> None:
        n = len(self.isl)
        for key in ("arrival_s", "osl", "follows", "delay_s", "session"):
            if len(getattr(self, key)) != n:
                raise InvalidInputError(
                    f"workload: '{key}' has {len(getattr(self, key))} entries, isl has {n}"
                )
        if n == 0:
            raise InvalidInputError("workload: no requests")
        if (self.isl < 1).any() or (self.osl < 1).any():
            raise InvalidInputError("workload: input and output lengths must be >= 1 token")
        roots = self.follows < 0
        if not np.isfinite(self.arrival_s[roots]).all() or (self.arrival_s[roots] < 0).any():
            raise InvalidInputError("workload: every root request needs a finite arrival time >= 0")
        if (self.follows >= np.arange(n)).any():
            raise InvalidInputError("workload: a request can only follow an earlier one")
        if not np.isfinite(self.delay_s).all() or (self.delay_s < 0).any():
            raise InvalidInputError("workload: delays must be finite and >= 0")
        if self.blocks is not None and len(self.blocks) != n:
            raise InvalidInputError("workload: 'blocks' needs one tuple per request")

    def __len__(self) -> int:
        return len(self.isl)


def lengths(rng: np.random.Generator, nominal: int, n: int, spread: float) -> Ints:
    """``n`` lengths uniform in [spread x nominal, nominal] (spread 1 = fixed)."""
    if not 0 < spread <= 1:
        raise InvalidInputError(f"length spread must be in (0, 1], got {spread}")
    if spread == 1:
        return np.full(n, int(nominal), dtype=np.int64)
    lo = max(1, round(spread * nominal))
    return rng.integers(lo, int(nominal) + 1, n).astype(np.int64)


def closed_loop(
    concurrency: int, requests: int, isl: int, osl: int, *, spread: float = 1.0, seed: int = 0
) -> Requests:
    """``concurrency`` users, each sending its next request the moment the last one finishes."""
    if concurrency < 1 or requests < 1:
        raise InvalidInputError("closed loop: concurrency and requests must be >= 1")
    rng = np.random.default_rng(seed)
    n = max(requests, concurrency)
    idx = np.arange(n)
    follows = np.where(idx < concurrency, -1, idx - concurrency).astype(np.int64)
    arrival = np.where(follows < 0, 0.0, np.nan)
    return Requests(
        arrival_s=arrival,
        isl=lengths(rng, isl, n, spread),
        osl=lengths(rng, osl, n, spread),
        follows=follows,
        delay_s=np.zeros(n),
        session=np.full(n, -1, dtype=np.int64),
        name=f"closed loop, concurrency {concurrency}",
    )


def open_loop(
    qps: float,
    requests: int,
    isl: int,
    osl: int,
    *,
    spread: float = 1.0,
    burstiness: float = 1.0,
    seed: int = 0,
) -> Requests:
    """Arrivals at ``qps`` per second: Poisson (``burstiness`` 1) or gamma-distributed gaps with
    coefficient of variation 1/sqrt(burstiness) (< 1 = burstier than Poisson)."""
    if not (np.isfinite(qps) and qps > 0):
        raise InvalidInputError(f"QPS must be > 0, got {qps}")
    if not (np.isfinite(burstiness) and burstiness > 0):
        raise InvalidInputError(f"burstiness (gamma shape) must be > 0, got {burstiness}")
    if requests < 1:
        raise InvalidInputError("open loop: requests must be >= 1")
    rng = np.random.default_rng(seed)
    gaps = rng.gamma(burstiness, 1.0 / (qps * burstiness), requests)
    arrival = np.cumsum(gaps) - gaps[0]
    kind = "Poisson" if burstiness == 1 else f"gamma (shape {burstiness:g})"
    return Requests(
        arrival_s=arrival,
        isl=lengths(rng, isl, requests, spread),
        osl=lengths(rng, osl, requests, spread),
        follows=np.full(requests, -1, dtype=np.int64),
        delay_s=np.zeros(requests),
        session=np.full(requests, -1, dtype=np.int64),
        name=f"open loop, {kind} at {qps:g} QPS",
    )
