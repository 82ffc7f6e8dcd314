"""Request streams for the simulator: closed loop, open loop (Poisson or bursty gamma), and the
container the trace reader and the agentic generator fill.

A :class:`Requests` is a struct of arrays, one entry per request. A request either arrives at
``arrival_s`` (an open-loop root) or follows another one: ``follows[i] = j`` means request ``i``
arrives ``delay_s[i]`` seconds after request ``j`` finishes (a closed-loop user issuing the
next request, or the next turn of an agentic session after a tool call). ``session`` groups
requests whose prompts extend one growing context (the prefix cache keys on it); ``blocks``
optionally carries prefix-block hashes (``BLOCK_TOKENS`` tokens each) as in the Mooncake traces.

Streaming: every workload is also a :class:`Source`, which yields the same requests as
:class:`Chunk` s of about :data:`CHUNK` requests, lazily, so a simulation can hold only the
requests in flight. A chunk links forward (``next[i]``: the global index of the request that
``i``'s finish releases) and names each request's chain (``chain``: the ordinal of its chain's
root, which routes it to a replica). ``materialize()`` concatenates the chunks into
:class:`Requests`: the in-memory workloads (:func:`closed_loop`, :func:`open_loop`, the agentic
generator, the trace reader) are built that way, so streaming and in-memory runs see the same
requests, bit for bit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError

__all__ = [
    "BLOCK_TOKENS",
    "CHUNK",
    "Chunk",
    "ClosedLoop",
    "OpenLoop",
    "Requests",
    "Source",
    "closed_loop",
    "lengths",
    "open_loop",
    "skipped",
]

BLOCK_TOKENS = 512  # tokens per prefix block (the Mooncake traces' convention)
CHUNK = 1 << 14  # requests per streamed chunk
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Chunk:
    """Consecutive requests ``start .. start + len - 1`` of a stream (struct of arrays)."""

    start: int  # global index of the first request
    arrival_s: Floats  # roots: absolute arrival; NaN for requests that follow another
    isl: Ints
    osl: Ints
    next: Ints  # global index of the request this one's finish releases; -1 = none
    delay_s: Floats  # pause after the previous request of the chain finishes
    session: Ints
    chain: Ints  # ordinal of the chain's root among all roots (routing)
    blocks: tuple[tuple[int, ...], ...] | None = None
    more_roots: bool = True  # False: no later chunk holds a root (a consumer need not read ahead)

    def __len__(self) -> int:
        return len(self.isl)


class Source:
    """A request stream produced chunk by chunk; ``chunks()`` starts over on every call and
    yields the same requests each time. Roots arrive in index order (non-decreasing times)."""

    name: str = "workload"
    stats: dict[str, float]

    def chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def materialize(self) -> Requests:
        """All requests in memory."""
        parts = list(self.chunks())
        if not parts:
            raise InvalidInputError("workload: no requests")
        nxt = np.concatenate([c.next for c in parts])
        n = len(nxt)
        follows = np.full(n, -1, dtype=np.int64)
        has = nxt >= 0
        follows[nxt[has]] = np.flatnonzero(has)
        blocks = None
        if any(c.blocks is not None for c in parts):
            blocks = tuple(b for c in parts for b in (c.blocks or ((),) * len(c)))
        return Requests(
            arrival_s=np.concatenate([c.arrival_s for c in parts]),
            isl=np.concatenate([c.isl for c in parts]),
            osl=np.concatenate([c.osl for c in parts]),
            follows=follows,
            delay_s=np.concatenate([c.delay_s for c in parts]),
            session=np.concatenate([c.session for c in parts]),
            blocks=blocks,
            name=self.name,
            stats=dict(getattr(self, "stats", {})),
        )


@dataclass(frozen=True)
class Requests(Source):
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

    def materialize(self) -> Requests:
        return self

    def chunks(self) -> Iterator[Chunk]:
        """The requests in chunks (one chunk when roots are not in arrival order)."""
        n = len(self)
        follows = self.follows
        nxt = np.full(n, -1, dtype=np.int64)
        has = follows >= 0
        nxt[follows[has]] = np.flatnonzero(has)
        chain = np.where(has, follows, np.arange(n))
        while True:  # pointer jumping: every request points at its chain's root
            up = chain[chain]
            if (up == chain).all():
                break
            chain = up
        roots = np.flatnonzero(~has)
        ordinal = np.empty(n, dtype=np.int64)
        ordinal[roots] = np.arange(len(roots))
        chain = ordinal[chain]
        t = self.arrival_s[roots]
        size = CHUNK if len(t) < 2 or bool((np.diff(t) >= 0).all()) else n
        for lo in range(0, n, size):
            hi = min(lo + size, n)
            yield Chunk(start=lo, arrival_s=self.arrival_s[lo:hi], isl=self.isl[lo:hi], osl=self.osl[lo:hi],
                        next=nxt[lo:hi], delay_s=self.delay_s[lo:hi], session=self.session[lo:hi],
                        chain=chain[lo:hi], blocks=self.blocks[lo:hi] if self.blocks is not None else None,
                        more_roots=bool(len(roots)) and int(roots[-1]) >= hi)  # fmt: skip


def lengths(rng: np.random.Generator, nominal: int, n: int, spread: float) -> Ints:
    """``n`` lengths uniform in [spread x nominal, nominal] (spread 1 = fixed)."""
    if not 0 < spread <= 1:
        raise InvalidInputError(f"length spread must be in (0, 1], got {spread}")
    if spread == 1:
        return np.full(n, int(nominal), dtype=np.int64)
    lo = max(1, round(spread * nominal))
    return rng.integers(lo, int(nominal) + 1, n).astype(np.int64)


def skipped(
    rng: np.random.Generator, draw: Callable[[np.random.Generator, int], object], n: int
) -> np.random.Generator:
    """A copy of ``rng`` advanced past ``n`` draws of ``draw`` (drawn in chunks and dropped), so a
    later stream can start where a whole-array draw would have left the generator."""
    out = copy.deepcopy(rng)
    for lo in range(0, n, CHUNK):
        draw(out, min(CHUNK, n - lo))
    return out


class ClosedLoop(Source):
    """``concurrency`` users, each sending its next request the moment the last one finishes."""

    def __init__(self, concurrency: int, requests: int, isl: int, osl: int, *, spread: float = 1.0,
                 seed: int = 0) -> None:  # fmt: skip
        if concurrency < 1 or requests < 1:
            raise InvalidInputError("closed loop: concurrency and requests must be >= 1")
        lengths(np.random.default_rng(0), 1, 0, spread)  # checks the spread
        self.c, self.n, self.isl, self.osl, self.spread, self.seed = (
            int(concurrency), max(int(requests), int(concurrency)), int(isl), int(osl), spread,
            seed)  # fmt: skip
        self.name = f"closed loop, concurrency {concurrency}"

    def chunks(self) -> Iterator[Chunk]:
        c, n = self.c, self.n
        g_isl = np.random.default_rng(self.seed)
        g_osl = skipped(g_isl, lambda g, k: lengths(g, self.isl, k, self.spread), n)
        for lo in range(0, n, CHUNK):
            idx = np.arange(lo, min(lo + CHUNK, n), dtype=np.int64)
            k = len(idx)
            yield Chunk(
                start=lo,
                arrival_s=np.where(idx < c, 0.0, np.nan),
                isl=lengths(g_isl, self.isl, k, self.spread),
                osl=lengths(g_osl, self.osl, k, self.spread),
                next=np.where(idx + c < n, idx + c, -1),
                delay_s=np.zeros(k),
                session=np.full(k, -1, dtype=np.int64),
                chain=idx % c,
                more_roots=lo + k < c,
            )


class OpenLoop(Source):
    """Arrivals at ``qps`` per second: Poisson (``burstiness`` 1) or gamma-distributed gaps with
    coefficient of variation 1/sqrt(burstiness) (< 1 = burstier than Poisson)."""

    def __init__(self, qps: float, requests: int, isl: int, osl: int, *, spread: float = 1.0,
                 burstiness: float = 1.0, seed: int = 0) -> None:  # fmt: skip
        if not (np.isfinite(qps) and qps > 0):
            raise InvalidInputError(f"QPS must be > 0, got {qps}")
        if not (np.isfinite(burstiness) and burstiness > 0):
            raise InvalidInputError(f"burstiness (gamma shape) must be > 0, got {burstiness}")
        if requests < 1:
            raise InvalidInputError("open loop: requests must be >= 1")
        lengths(np.random.default_rng(0), 1, 0, spread)
        self.qps, self.n, self.isl, self.osl = float(qps), int(requests), int(isl), int(osl)
        self.spread, self.shape, self.seed = spread, float(burstiness), seed
        kind = "Poisson" if burstiness == 1 else f"gamma (shape {burstiness:g})"
        self.name = f"open loop, {kind} at {qps:g} QPS"

    def chunks(self) -> Iterator[Chunk]:
        n, shape, scale = self.n, self.shape, 1.0 / (self.qps * self.shape)
        g_gap = np.random.default_rng(self.seed)
        g_isl = skipped(g_gap, lambda g, k: g.gamma(shape, scale, k), n)
        g_osl = skipped(g_isl, lambda g, k: lengths(g, self.isl, k, self.spread), n)
        carry, first = 0.0, None
        for lo in range(0, n, CHUNK):
            k = min(CHUNK, n - lo)
            gaps = g_gap.gamma(shape, scale, k)
            if first is None:
                first = float(gaps[0])
            cum = np.cumsum(np.concatenate([[carry], gaps]))[1:]  # one running sum, as np.cumsum
            carry = float(cum[-1])
            idx = np.arange(lo, lo + k, dtype=np.int64)
            yield Chunk(
                start=lo,
                arrival_s=cum - first,
                isl=lengths(g_isl, self.isl, k, self.spread),
                osl=lengths(g_osl, self.osl, k, self.spread),
                next=np.full(k, -1, dtype=np.int64),
                delay_s=np.zeros(k),
                session=np.full(k, -1, dtype=np.int64),
                chain=idx,
            )


def closed_loop(
    concurrency: int, requests: int, isl: int, osl: int, *, spread: float = 1.0, seed: int = 0
) -> Requests:
    """``concurrency`` users, each sending its next request the moment the last one finishes
    (:class:`ClosedLoop`, all in memory)."""
    return ClosedLoop(concurrency, requests, isl, osl, spread=spread, seed=seed).materialize()


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
    """Open-loop arrivals at ``qps`` (:class:`OpenLoop`, all in memory)."""
    return OpenLoop(qps, requests, isl, osl, spread=spread, burstiness=burstiness, seed=seed).materialize()
