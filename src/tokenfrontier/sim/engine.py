"""One serving engine (a model copy) under continuous batching, simulated event by event.

Per step the engine runs every admitted decode (one token each; ``tokens_per_step`` with
speculative decoding) plus up to the step's token budget of prompt tokens (chunked prefill),
under a scheduling policy:

- ``chunked-mixed``: decodes and prompt chunks share every step (budget - decodes for prompts);
- ``prefill-first``: while prompt tokens wait, steps run prompts only and decodes pause;
- ``decode-first``: decodes every step, prompts get at most one small chunk per step.

A request is admitted when its KV fits: each reserves KV for its full prompt + output (the
capacity rule of the analytic model); what main memory cannot hold goes to the offload tier
where the system has one (the step then pays the offload read). A prompt's prefix found in the
prefix cache is not prefilled; a lower-tier hit first reloads over the engine's link. Step
times come from :class:`~tokenfrontier.sim.steptable.StepTable` (the step model).

Speed: the engine never loops per token. It advances over stretches of identical steps — until
the next decode finishes, the head prompt's prefill completes, or a request arrives — so the
work is a few heap operations per request.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cache import PrefixCache
from .steptable import StepTable
from .workload import BLOCK_TOKENS, Chunk

__all__ = ["POLICIES", "Emit", "EngineConfig", "Prepared", "RemotePrefill", "run_engine"]

POLICIES = ("chunked-mixed", "prefill-first", "decode-first")
_DECODE_FIRST_CHUNK = 512  # prompt tokens per step under decode-first
_WATERMARK = 0.01  # on-demand admission keeps this share of KV free (vLLM's default)


class RemotePrefill:
    """A prefill pool and the KV link in front of a decode engine (disaggregated serving).

    ``slots`` = workers x pipeline stages, each prefilling one prompt at a time in
    ``prefill_s(tokens)``; the prompt's KV then crosses one first-come-first-served link in
    ``kv_bytes / link + hop``. Both are queues resolved at arrival, in arrival order.
    """

    def __init__(self, slots: int, lens: NDArray[np.float64], latency_s: NDArray[np.float64],
                 link_bytes_per_s: float, hop_s: float) -> None:  # fmt: skip
        self.free = [0.0] * max(slots, 1)
        self.lens, self.latency = lens, latency_s
        self.link, self.hop = link_bytes_per_s, hop_s
        self.link_free = 0.0
        self.busy_s = 0.0
        self.transfer_s = 0.0

    def ready_at(self, isl: int, kv_bytes: float, arrival: float) -> float:
        """When the KV of a request of ``isl`` prompt tokens (``kv_bytes``) has landed."""
        service = float(np.interp(isl, self.lens, self.latency))
        start = max(arrival, heapq.heappop(self.free))
        done = start + service
        heapq.heappush(self.free, done)
        self.busy_s += service
        move = kv_bytes / self.link + self.hop
        landed = max(done, self.link_free) + move
        self.link_free = landed - self.hop
        self.transfer_s += move
        return landed


@dataclass(frozen=True)
class EngineConfig:
    """Scheduling and capacity of one engine. Bytes, tokens, seconds."""

    policy: str
    token_budget: int
    max_seqs: int
    kv_capacity_bytes: float  # main memory for KV
    offload_capacity_bytes: float  # decode KV that may live in an offload tier
    link_bytes_per_s: float  # reloads from lower cache tiers (and swaps) cross this link
    admission: str = "reserve"  # reserve KV for the full length, or "on-demand" (grow per token)
    preemption: str = "recompute"  # on-demand only: when KV runs out, "recompute" or "swap"


@dataclass
class Prepared:
    """A chunk of the stream with what the engine needs per request (bytes, steps)."""

    chunk: Chunk
    kv_need: NDArray[np.float64]  # KV bytes at the full length
    kv_prompt: NDArray[np.float64]  # KV bytes of the prompt
    decode_steps: NDArray[np.int64]  # decode steps after the first token (speculation sampled)
    mine: NDArray[np.bool_]  # routed to this engine


#: Receives finished rows, one chunk of the stream at a time, in request order.
Emit = Callable[[dict[str, NDArray[Any]]], None]

_IN = ("isl", "osl", "delay", "session", "nxt", "kv_need", "kv_prompt", "dsteps", "growth", "mine")
_OUT = ("arrival", "admitted", "first", "finish", "cached", "hit", "reload", "rejected", "preempt", "settled")


def _rows(w: dict[str, Any], gid0: int, size: int, engine_id: int) -> dict[str, NDArray[Any]]:
    """The per-request table of window rows ``0 .. size - 1`` routed to this engine."""
    m = w["mine"][:size]
    return {
        "request": np.arange(gid0, gid0 + size, dtype=np.int64)[m],
        "arrival_s": w["arrival"][:size][m],
        "admitted_s": w["admitted"][:size][m],
        "first_token_s": w["first"][:size][m],
        "finish_s": w["finish"][:size][m],
        "input_tokens": w["isl"][:size][m],
        "output_tokens": w["osl"][:size][m],
        "cached_tokens": w["cached"][:size][m],
        "hit_tier": w["hit"][:size][m],
        "reload_s": w["reload"][:size][m],
        "session": w["session"][:size][m],
        "replica": np.full(int(m.sum()), engine_id, dtype=np.int64),
        "rejected": w["rejected"][:size][m],
        "preemptions": w["preempt"][:size][m],
    }


def run_engine(
    engine_id: int,
    chunks: Iterator[Prepared],
    table: StepTable,
    cfg: EngineConfig,
    kv_of_tokens: NDArray[np.float64],
    cache: PrefixCache | None,
    emit: Emit,
    timeline_every: int = 1,
    timeline_cap: int = 16_000,
    pool: RemotePrefill | None = None,
) -> list[tuple[float, int, float, int]]:
    """Simulate the requests of ``chunks`` routed to this engine (``Prepared.mine``); returns
    the timeline (t, running, KV bytes used, waiting), at most ``timeline_cap`` points (every
    other point is dropped, and the sampling interval doubled, when it fills).

    Memory: the engine holds the stream from its oldest unfinished request to the newest chunk
    read (read only when a root or a follower is needed); finished chunks go to ``emit`` in
    request order and are dropped. ``kv_of_tokens``: KV bytes of a prefix of
    ``k * BLOCK_TOKENS`` tokens at index ``k`` (cache sizes).
    """
    if cfg.policy not in POLICIES:
        raise ValueError(cfg.policy)
    ctx_grid = table.ctx_grid.tolist()
    n_ctx = len(ctx_grid)
    dec = table.decode_s
    dec_rows = dec.tolist()
    off_rows = table.offload_s.tolist()
    max_b = table.max_batch
    pp = float(table.pp)
    fixed = table.fixed_s
    budget = int(cfg.token_budget)
    policy = cfg.policy
    kv_cap = cfg.kv_capacity_bytes
    kv_total_cap = kv_cap + cfg.offload_capacity_bytes
    max_seqs = min(int(cfg.max_seqs), max_b)
    on_demand = cfg.admission == "on-demand"
    swap = cfg.preemption == "swap"
    tps = table.tokens_per_step

    # -- the window: requests base .. base + len - 1 of the stream, as arrays ---------------------
    w: dict[str, Any] = {}
    blocks: list[tuple[int, ...] | None] = []  # prefix-block hashes (None: the chunk has none)
    spans: deque[tuple[int, int]] = deque()  # (first request, size) of each chunk in the window
    base = 0
    end = 0  # one past the last request read
    front = 0  # the oldest request not yet settled (finished, rejected or never to arrive)
    exhausted = False
    more_roots = True
    pending_roots = 0  # roots read but not yet arrived
    dead: set[int] = set()  # followers of rejected requests, not yet read: they never arrive
    dirty = True  # something settled (or was read) since the last trim
    source = iter(chunks)

    arrivals: list[tuple[float, int]] = []
    loading: list[tuple[float, int]] = []  # (ready time, request) for lower-tier reloads
    joining: list[tuple[float, int]] = []  # (first-token time, request) leaving the pipeline
    remote: list[tuple[float, int]] = []  # (KV landed, request) from a prefill pool
    waiting: deque[int] = deque()
    prefill: deque[list[float]] = deque()  # [request, tokens left, work per token]
    running: list[tuple[int, int, int]] = []  # (finish step, request, epoch); stale epochs are gone
    n_run = 0
    epoch: dict[int, int] = {}
    done_steps: dict[int, int] = {}  # decode steps completed before a preemption
    start_step: dict[int, int] = {}  # request -> steps at (re)joining
    ctx_added: dict[int, float] = {}  # request -> context added to sum_ctx at joining
    admit_bytes: dict[int, float] = {}  # request -> KV bytes reserved at admission
    order: list[int] = []  # running requests in joining order (the last is preempted first)
    epoch_of_order: list[int] = []
    pending_items: dict[int, list[float]] = {}
    rate_sum = 0.0
    rate_start = 0.0
    resume: set[int] = set()
    spilled: set[int] = set()  # admitted with KV beyond main memory (in the offload tier)
    sum_ctx = 0.0
    steps = 0
    kv_used = 0.0
    t = 0.0
    link_free = 0.0
    timeline: list[tuple[float, int, float, int]] = []
    tick = 0
    every = max(int(timeline_every), 1)
    work_of = table.prefill_work  # seconds of prefill work for a prompt of n tokens
    block_index = np.arange(len(kv_of_tokens), dtype=float)

    def load() -> bool:
        """Read the next chunk into the window; False when the stream is exhausted."""
        nonlocal end, exhausted, more_roots, pending_roots, dirty
        dirty = True
        p = next(source, None)
        if p is None:
            exhausted = True
            return False
        c = p.chunk
        n = len(c)
        mine = p.mine
        new: dict[str, Any] = {
            "isl": c.isl, "osl": c.osl, "delay": c.delay_s, "session": c.session, "nxt": c.next,
            "kv_need": p.kv_need, "kv_prompt": p.kv_prompt, "dsteps": p.decode_steps,
            "growth": np.maximum(p.kv_need - p.kv_prompt, 0.0) / np.maximum(p.decode_steps, 1),
            "mine": mine, "arrival": np.full(n, np.nan), "admitted": np.full(n, np.nan),
            "first": np.full(n, np.nan), "finish": np.full(n, np.nan), "cached": np.zeros(n, dtype=np.int64),
            "hit": np.full(n, -1, dtype=np.int64), "reload": np.zeros(n), "rejected": np.zeros(n, dtype=bool),
            "preempt": np.zeros(n, dtype=np.int64), "settled": ~mine,
        }  # fmt: skip
        for key, arr in new.items():
            w[key] = np.concatenate([w[key], arr]) if key in w else np.array(arr, copy=True)
        blocks.extend(c.blocks if c.blocks is not None else [None] * n)
        spans.append((c.start, n))
        roots = np.flatnonzero(mine & ~(c.arrival_s != c.arrival_s))  # mine, with an arrival time
        for k in roots.tolist():
            heapq.heappush(arrivals, (float(c.arrival_s[k]), c.start + k))
        pending_roots += len(roots)
        end = c.start + n
        more_roots = c.more_roots
        if dead:
            for j in sorted(d for d in dead if d < end):
                dead.discard(j)
                kill(j)
        return True

    def kill(j: int) -> None:
        """Request ``j`` and its followers never arrive (their chain's request was rejected)."""
        nonlocal dirty
        dirty = True
        while j >= 0:
            if j >= end:
                dead.add(j)
                return
            w["settled"][j - base] = True
            j = int(w["nxt"][j - base])

    def trim() -> None:
        """Emit and drop the leading chunks whose requests are all settled."""
        nonlocal front, dirty
        if not dirty:
            return
        dirty = False
        settled = w.get("settled")
        while front < end and settled[front - base]:  # type: ignore[index]
            front += 1
        while spans and spans[0][0] + spans[0][1] <= front:
            flush_one()
            settled = w["settled"]

    def flush_one() -> None:
        """Emit the oldest chunk's rows and drop it from the window."""
        nonlocal base
        gid0, size = spans.popleft()
        emit(_rows(w, gid0, size, engine_id))
        for key in _IN + _OUT:
            w[key] = w[key][size:]
        del blocks[:size]
        base += size

    def ensure_roots() -> None:
        """Read ahead until a root of this engine is pending (roots arrive in index order)."""
        while pending_roots == 0 and more_roots and not exhausted:
            load()
            trim()

    def step_time(b: int, ctx: float) -> float:
        row = dec_rows[b]
        j = bisect_left(ctx_grid, ctx)
        if j <= 0:
            base_s = row[0]
        elif j >= n_ctx:
            base_s = row[-1]
        else:
            x0, x1 = ctx_grid[j - 1], ctx_grid[j]
            base_s = row[j - 1] + (row[j] - row[j - 1]) * (ctx - x0) / (x1 - x0)
        if kv_used > kv_cap and b:
            share = (kv_used - kv_cap) / kv_used
            orow = off_rows[b]
            base_s += share * orow[min(max(j, 0), n_ctx - 1)]
        return base_s

    def admit() -> None:
        nonlocal kv_used, link_free
        while waiting:
            i = waiting[0]
            k = i - base
            need = w["kv_need"][k]
            busy = n_run + len(prefill) + len(loading) + len(joining)
            if need > kv_total_cap:  # never fits, even alone: rejected
                waiting.popleft()
                w["rejected"][k] = True
                w["settled"][k] = True
                kill(int(w["nxt"][k]))
                continue
            reserve, room = need, kv_total_cap
            if on_demand:  # the prompt (and what it generated before a preemption) only, and
                # vLLM's 1% watermark kept free so the running batch can grow
                reserve = float(w["kv_prompt"][k]) + float(w["growth"][k]) * done_steps.get(i, 0)
                room = kv_total_cap * (1 - _WATERMARK) - rate_sum
            fits_main = kv_now() + reserve <= min(room, kv_cap)
            # beyond main memory only a request too large for it alone, one at a time (a server
            # queues rather than pushing live KV of many requests over the offload link)
            spill_ok = reserve > kv_cap and not spilled and kv_now() + reserve <= room
            if not (fits_main or spill_ok) or busy >= max_seqs:
                return
            if not fits_main:
                spilled.add(i)
            waiting.popleft()
            kv_used += reserve
            admit_bytes[i] = reserve
            if np.isnan(w["admitted"][k]):
                w["admitted"][k] = t
            if i in resume:  # a preempted request comes back
                resume.discard(i)
                if swap:  # its KV swaps back in over the link
                    ready = max(link_free, t) + reserve / max(cfg.link_bytes_per_s, 1.0)
                    link_free = ready
                    heapq.heappush(joining, (ready, i))
                else:  # recompute its prompt and what it had generated
                    tokens = float(w["isl"][k]) + done_steps.get(i, 0) * tps
                    work = float(work_of(tokens))
                    prefill.append([float(i), tokens, work / max(tokens, 1.0)])
                continue
            if pool is not None:  # prefilled remotely, KV arrived: joins the decode batch
                join(i)
                continue
            isl_i = int(w["isl"][k])
            cached, level, size = 0, -1, 0.0
            if cache is not None:
                cache.set_device_room(kv_cap - kv_used)
                chain = blocks[k]
                if chain:
                    level, cached, size = cache.find_chain(chain, BLOCK_TOKENS)
                elif w["session"][k] >= 0:
                    level, cached, size = cache.find(int(w["session"][k]))
                cached = min(cached, isl_i - 1)
            w["cached"][k] = max(cached, 0)
            w["hit"][k] = level if cached > 0 else -1
            todo = isl_i - max(cached, 0)
            w_all = float(work_of(isl_i))
            w_cached = float(work_of(cached)) if cached > 0 else 0.0
            item = [float(i), float(todo), (w_all - w_cached) / max(todo, 1)]
            if cached > 0 and level > 0 and cache is not None:
                ready = max(link_free, t) + cache.reload_s(level, size)  # one link, first come first served
                link_free = ready
                w["reload"][k] = ready - t
                heapq.heappush(loading, (ready, i))
                pending_items[i] = item
            else:
                prefill.append(item)

    def kv_now() -> float:
        """KV in use: reservations plus what running requests grew since joining."""
        return kv_used + rate_sum * steps - rate_start

    def leave(i: int) -> float:
        """Take ``i`` out of the decode batch; returns the KV bytes it held."""
        nonlocal n_run, sum_ctx, kv_used, rate_sum, rate_start
        epoch[i] = epoch.get(i, 0) + 1
        n_run -= 1
        ran = steps - start_step.pop(i)
        sum_ctx -= ctx_added.pop(i) + ran * tps
        reserved = admit_bytes.pop(i)
        kv_used -= reserved
        g = float(w["growth"][i - base]) if on_demand else 0.0
        rate_sum -= g
        rate_start -= g * (steps - ran)
        return reserved + g * ran

    def preempt() -> None:
        """KV ran out: the most recently joined request leaves and waits to come back."""
        nonlocal link_free
        while order and (order[-1] not in start_step or epoch_of_order[-1] != epoch.get(order[-1], 0)):
            order.pop()
            epoch_of_order.pop()
        if not order:
            return
        i = order.pop()
        epoch_of_order.pop()
        done_steps[i] = done_steps.get(i, 0) + steps - start_step[i]
        held = leave(i)
        w["preempt"][i - base] += 1
        if swap:  # the KV leaves over the link before the room is free
            link_free = max(link_free, t) + held / max(cfg.link_bytes_per_s, 1.0)
        resume.add(i)
        waiting.appendleft(i)

    def next_event() -> float:
        """The next time something enters the engine (arrival, reload, first token, KV landing)."""
        return min(h[0][0] if h else math.inf for h in (arrivals, loading, joining, remote))

    def finish_request(i: int) -> None:
        nonlocal kv_used, dirty
        dirty = True
        k = i - base
        w["finish"][k] = t
        w["settled"][k] = True
        spilled.discard(i)
        if i in start_step:  # decoding: leave the batch (releases its reservation)
            leave(i)
        else:  # finished at its first token
            kv_used -= admit_bytes.pop(i, 0.0)
        epoch.pop(i, None)
        done_steps.pop(i, None)
        if cache is not None:
            cache.set_device_room(kv_cap - kv_used)
            tokens = int(w["isl"][k]) + int(w["osl"][k])
            chain = blocks[k]
            if chain:
                per_block = kv_of_tokens[1] if len(kv_of_tokens) > 1 else 0.0
                for key in chain:
                    cache.put(key, BLOCK_TOKENS, per_block)
            elif w["session"][k] >= 0:
                size = float(np.interp(tokens / BLOCK_TOKENS, block_index, kv_of_tokens))
                cache.put(int(w["session"][k]), tokens, size)
        j = int(w["nxt"][k])
        if j >= 0:
            while j >= end and load():
                pass
            at = t + float(w["delay"][j - base])
            w["arrival"][j - base] = at
            heapq.heappush(arrivals, (at, j))

    def start_decode(i: int, last_chunk_work: float) -> None:
        # the last chunk still crosses the remaining pp - 1 stages before the first token
        ready = t + last_chunk_work * (pp - 1.0) / pp
        if ready > t:
            heapq.heappush(joining, (ready, i))
        else:
            join(i)

    def join(i: int) -> None:
        nonlocal sum_ctx, n_run, rate_sum, rate_start
        k = i - base
        if np.isnan(w["first"][k]):
            w["first"][k] = t
        done = done_steps.get(i, 0)
        n = int(w["dsteps"][k]) - done
        if n <= 0:
            finish_request(i)
            return
        ep = epoch.get(i, 0)
        heapq.heappush(running, (steps + n, i, ep))
        n_run += 1
        start_step[i] = steps
        ctx_added[i] = float(w["isl"][k]) + done * tps
        sum_ctx += ctx_added[i]
        if on_demand:
            g = float(w["growth"][k])
            rate_sum += g
            rate_start += g * steps
        order.append(i)
        epoch_of_order.append(ep)
        if len(order) > 4 * n_run + 1024:  # drop entries of requests no longer running (bounded)
            live = [(x, e) for x, e in zip(order, epoch_of_order, strict=True)
                    if x in start_step and epoch.get(x, 0) == e]  # fmt: skip
            order[:] = [x for x, _ in live]
            epoch_of_order[:] = [e for _, e in live]

    load()
    while True:
        if dirty:
            trim()
        if not pending_roots:
            ensure_roots()
        while arrivals and arrivals[0][0] <= t:
            at, i = heapq.heappop(arrivals)
            k = i - base
            if w["arrival"][k] != w["arrival"][k]:  # a root: its own time
                pending_roots -= 1
                if not pending_roots:
                    ensure_roots()
                    k = i - base
            w["arrival"][k] = at
            if pool is None:
                waiting.append(i)
            else:  # prefill pool and KV link first (first come, first served)
                heapq.heappush(remote, (pool.ready_at(int(w["isl"][k]), float(w["kv_prompt"][k]), at), i))
        while remote and remote[0][0] <= t:
            _, i = heapq.heappop(remote)
            waiting.append(i)
        while loading and loading[0][0] <= t:
            _, i = heapq.heappop(loading)
            prefill.append(pending_items.pop(i))
        while joining and joining[0][0] <= t:
            _ready, i = heapq.heappop(joining)
            join(i)
        admit()
        if on_demand and rate_sum > 0 and kv_now() + rate_sum > kv_total_cap and n_run > 1:
            preempt()
            continue
        while running and running[0][2] != epoch.get(running[0][1], 0):
            heapq.heappop(running)  # preempted: a stale entry
        b = n_run
        if not b and not prefill:
            nxt = next_event()
            if nxt == math.inf:
                break
            t = max(t, nxt)
            continue
        # -- compose the step ----------------------------------------------------------------
        decoding = b
        if prefill:
            if policy == "prefill-first":
                decoding, pf_budget = 0, budget
            elif policy == "decode-first":
                pf_budget = budget if b == 0 else min(_DECODE_FIRST_CHUNK, max(budget - b, 1))
            else:
                pf_budget = max(budget - b, budget // 8, 1)
        else:
            pf_budget = 0
        mean_ctx = sum_ctx / b if b else 0.0
        dt0 = step_time(min(decoding, max_b), mean_ctx) if decoding else fixed
        kk = float(1 << 62)
        pf_work = 0.0
        head_only = False
        if pf_budget:
            head = prefill[0]
            if head[1] > pf_budget:  # the head prompt takes the whole prompt budget
                head_only = True
                kk = int(head[1] // pf_budget)
                pf_work = pf_budget * head[2]
            else:  # this step finishes the head and may start the following prompts
                kk = 1
                left = float(pf_budget)
                for item in prefill:
                    take = min(left, item[1])
                    pf_work += take * item[2]
                    left -= take
                    if left <= 0:
                        break
        dt = dt0 + pf_work / pp
        if decoding:
            kk = min(kk, running[0][0] - steps)
            if on_demand and rate_sum > 0:  # until the growing KV fills the memory
                kk = min(kk, max(1, int((kv_total_cap - kv_now()) // rate_sum)))
        nxt = next_event()
        if nxt < math.inf and kk > 1:
            kk = min(kk, max(1, math.ceil((nxt - t) / dt)))
        kk = max(int(kk), 1)
        tick += 1
        if tick % every == 0:
            timeline.append((t, n_run, kv_now(), len(waiting)))
            if len(timeline) >= timeline_cap:  # keep it bounded: every other point, half as often
                timeline[:] = timeline[::2]
                every *= 2
        if decoding and kk > 1:  # context grows during the stretch: price it at the midpoint
            dt = step_time(min(decoding, max_b), mean_ctx + 0.5 * kk * tps) + pf_work / pp
        t += kk * dt
        if decoding:
            steps += kk
            sum_ctx += decoding * kk * tps
        # -- prompts ----------------------------------------------------------------------------
        if pf_budget:
            if head_only:
                head = prefill[0]
                head[1] -= kk * pf_budget
                if head[1] <= 0:
                    prefill.popleft()
                    start_decode(int(head[0]), pf_budget * head[2])
            else:
                left = float(pf_budget)
                while prefill and left > 0:
                    item = prefill[0]
                    take = min(left, item[1])
                    item[1] -= take
                    left -= take
                    if item[1] <= 0:
                        prefill.popleft()
                        start_decode(int(item[0]), take * item[2])
        # -- decodes that finished ---------------------------------------------------------------
        while running and running[0][0] <= steps:
            _, i, ep = heapq.heappop(running)
            if ep == epoch.get(i, 0):
                finish_request(i)
        if not n_run:
            sum_ctx = 0.0
    # what is left (never finished, or never arrived) goes out as it is
    while spans:
        flush_one()
    while load():
        flush_one()
    return timeline
