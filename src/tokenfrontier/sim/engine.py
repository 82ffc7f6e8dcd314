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
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .cache import PrefixCache
from .steptable import StepTable
from .workload import BLOCK_TOKENS, Requests

__all__ = ["POLICIES", "EngineConfig", "EngineOutput", "RemotePrefill", "run_engine"]

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
                 kv_bytes: NDArray[np.float64], link_bytes_per_s: float, hop_s: float,
                 isl: NDArray[np.int64]) -> None:  # fmt: skip
        self.free = [0.0] * max(slots, 1)
        self.lens, self.latency, self.kv = lens, latency_s, kv_bytes
        self.link, self.hop, self.isl = link_bytes_per_s, hop_s, isl
        self.link_free = 0.0
        self.busy_s = 0.0
        self.transfer_s = 0.0

    def ready_at(self, i: int, arrival: float) -> float:
        """When request ``i``'s KV has landed on the decode side."""
        service = float(np.interp(self.isl[i], self.lens, self.latency))
        start = max(arrival, heapq.heappop(self.free))
        done = start + service
        heapq.heappush(self.free, done)
        self.busy_s += service
        move = float(self.kv[i]) / self.link + self.hop
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
class EngineOutput:
    """Per-request results (arrays over all requests; this engine fills its own)."""

    arrival: NDArray[np.float64]
    admitted: NDArray[np.float64]
    first_token: NDArray[np.float64]
    finish: NDArray[np.float64]
    cached_tokens: NDArray[np.int64]
    hit_tier: NDArray[np.int64]  # -1 miss, 0 device, 1.. lower tiers
    reload_s: NDArray[np.float64]
    engine: NDArray[np.int64]
    rejected: NDArray[np.bool_]  # KV of the request alone exceeds the engine's capacity
    preemptions: NDArray[np.int64]  # times the request was preempted (on-demand admission)
    timeline: list[tuple[float, int, float, int]]  # (t, running, KV bytes used, waiting)

    @classmethod
    def empty(cls, n: int) -> EngineOutput:
        nan = np.full(n, np.nan)
        return cls(nan.copy(), nan.copy(), nan.copy(), nan.copy(), np.zeros(n, dtype=np.int64),
                   np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, -1, dtype=np.int64),
                   np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), [])  # fmt: skip


def run_engine(
    engine_id: int,
    ids: NDArray[np.int64],
    req: Requests,
    table: StepTable,
    cfg: EngineConfig,
    kv_need: NDArray[np.float64],
    kv_of_tokens: NDArray[np.float64],
    kv_prompt: NDArray[np.float64] | None,
    cache: PrefixCache | None,
    decode_steps: NDArray[np.int64],
    out: EngineOutput,
    next_of: NDArray[np.int64],
    timeline_every: int = 1,
    pool: RemotePrefill | None = None,
) -> None:
    """Simulate the requests ``ids`` (roots and their followers) on one engine.

    ``kv_need[i]``: KV bytes of request ``i`` at its full length (``kv_prompt[i]``: of its prompt,
    needed for on-demand admission); ``kv_of_tokens``: KV bytes of a prefix of
    ``k * BLOCK_TOKENS`` tokens at index ``k`` (cache sizes); ``decode_steps[i]``: decode steps
    after the first token (speculative decoding already sampled).
    """
    if cfg.policy not in POLICIES:
        raise ValueError(cfg.policy)
    isl = req.isl
    delay = req.delay_s
    session = req.session
    blocks = req.blocks
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

    arrivals: list[tuple[float, int]] = [(float(req.arrival_s[i]), int(i)) for i in ids if req.follows[i] < 0]
    heapq.heapify(arrivals)
    loading: list[tuple[float, int]] = []  # (ready time, request) for lower-tier reloads
    joining: list[tuple[float, int]] = []  # (first-token time, request) leaving the pipeline
    remote: list[tuple[float, int]] = []  # (KV landed, request) from a prefill pool
    waiting: deque[int] = deque()
    prefill: deque[list[float]] = deque()  # [request, tokens left, work per token]
    running: list[tuple[int, int, int]] = []  # (finish step, request, epoch); stale epochs are gone
    n_run = 0
    on_demand = cfg.admission == "on-demand"
    swap = cfg.preemption == "swap"
    epoch = [0] * len(isl)
    done_steps = [0] * len(isl)  # decode steps completed before a preemption
    start_step: dict[int, int] = {}  # request -> steps at (re)joining
    ctx_added: dict[int, float] = {}  # request -> context added to sum_ctx at joining
    admit_bytes: dict[int, float] = {}  # request -> KV bytes reserved at admission
    growth = [0.0] * len(isl)  # KV bytes per decode step (on-demand)
    order: list[int] = []  # running requests in joining order (the last is preempted first)
    rate_sum = 0.0
    rate_start = 0.0
    resume: set[int] = set()
    spilled: set[int] = set()  # admitted with KV beyond main memory (in the offload tier)
    if on_demand:
        if kv_prompt is None:
            raise ValueError("on-demand admission needs kv_prompt")
        for i in ids:
            growth[i] = max(float(kv_need[i] - kv_prompt[i]), 0.0) / max(int(decode_steps[i]), 1)
    sum_ctx = 0.0
    steps = 0
    kv_used = 0.0
    t = 0.0
    link_free = 0.0
    timeline = out.timeline
    tick = 0
    first_tok = out.first_token
    finish = out.finish
    admitted = out.admitted
    arr_out = out.arrival
    work_of = table.prefill_work  # seconds of prefill work for a prompt of n tokens

    def step_time(b: int, ctx: float) -> float:
        row = dec_rows[b]
        j = bisect_left(ctx_grid, ctx)
        if j <= 0:
            base = row[0]
        elif j >= n_ctx:
            base = row[-1]
        else:
            x0, x1 = ctx_grid[j - 1], ctx_grid[j]
            base = row[j - 1] + (row[j] - row[j - 1]) * (ctx - x0) / (x1 - x0)
        if kv_used > kv_cap and b:
            share = (kv_used - kv_cap) / kv_used
            orow = off_rows[b]
            base += share * orow[min(max(j, 0), n_ctx - 1)]
        return base

    def admit() -> None:
        nonlocal kv_used, link_free
        while waiting:
            i = waiting[0]
            need = kv_need[i]
            busy = n_run + len(prefill) + len(loading) + len(joining)
            if need > kv_total_cap:  # never fits, even alone: rejected
                waiting.popleft()
                out.rejected[i] = True
                continue
            reserve, room = need, kv_total_cap
            if on_demand:  # the prompt (and what it generated before a preemption) only, and
                # vLLM's 1% watermark kept free so the running batch can grow
                reserve = float(kv_prompt[i]) + growth[i] * done_steps[i]  # type: ignore[index]
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
            if np.isnan(admitted[i]):
                admitted[i] = t
            if i in resume:  # a preempted request comes back
                resume.discard(i)
                if swap:  # its KV swaps back in over the link
                    ready = max(link_free, t) + reserve / max(cfg.link_bytes_per_s, 1.0)
                    link_free = ready
                    heapq.heappush(joining, (ready, i))
                else:  # recompute its prompt and what it had generated
                    tokens = float(isl[i]) + done_steps[i] * table.tokens_per_step
                    work = float(work_of(tokens))
                    prefill.append([float(i), tokens, work / max(tokens, 1.0)])
                continue
            if pool is not None:  # prefilled remotely, KV arrived: joins the decode batch
                join(i)
                continue
            cached, level, size = 0, -1, 0.0
            if cache is not None:
                cache.set_device_room(kv_cap - kv_used)
                if blocks is not None and blocks[i]:
                    level, cached, size = cache.find_chain(blocks[i], BLOCK_TOKENS)
                elif session[i] >= 0:
                    level, cached, size = cache.find(int(session[i]))
                cached = min(cached, int(isl[i]) - 1)
            out.cached_tokens[i] = max(cached, 0)
            out.hit_tier[i] = level if cached > 0 else -1
            todo = int(isl[i]) - max(cached, 0)
            w_all = float(work_of(isl[i]))
            w_cached = float(work_of(cached)) if cached > 0 else 0.0
            item = [float(i), float(todo), (w_all - w_cached) / max(todo, 1)]
            if cached > 0 and level > 0 and cache is not None:
                ready = max(link_free, t) + cache.reload_s(level, size)  # one link, first come first served
                link_free = ready
                out.reload_s[i] = ready - t
                heapq.heappush(loading, (ready, int(i)))
                pending_items[int(i)] = item
            else:
                prefill.append(item)

    pending_items: dict[int, list[float]] = {}

    def kv_now() -> float:
        """KV in use: reservations plus what running requests grew since joining."""
        return kv_used + rate_sum * steps - rate_start

    def leave(i: int) -> float:
        """Take ``i`` out of the decode batch; returns the KV bytes it held."""
        nonlocal n_run, sum_ctx, kv_used, rate_sum, rate_start
        epoch[i] += 1
        n_run -= 1
        ran = steps - start_step.pop(i)
        sum_ctx -= ctx_added.pop(i) + ran * table.tokens_per_step
        reserved = admit_bytes.pop(i)
        kv_used -= reserved
        rate_sum -= growth[i]
        rate_start -= growth[i] * (steps - ran)
        return reserved + growth[i] * ran

    def preempt() -> None:
        """KV ran out: the most recently joined request leaves and waits to come back."""
        nonlocal link_free
        while order and epoch_of_order[-1] != epoch[order[-1]]:
            order.pop()
            epoch_of_order.pop()
        if not order:
            return
        i = order.pop()
        epoch_of_order.pop()
        done_steps[i] += steps - start_step[i]
        held = leave(i)
        out.preemptions[i] += 1
        if swap:  # the KV leaves over the link before the room is free
            link_free = max(link_free, t) + held / max(cfg.link_bytes_per_s, 1.0)
        resume.add(i)
        waiting.appendleft(i)

    epoch_of_order: list[int] = []

    def next_event() -> float:
        """The next time something enters the engine (arrival, reload, first token, KV landing)."""
        return min(h[0][0] if h else math.inf for h in (arrivals, loading, joining, remote))

    block_index = np.arange(len(kv_of_tokens), dtype=float)

    def finish_request(i: int) -> None:
        nonlocal kv_used
        finish[i] = t
        spilled.discard(i)
        if i in start_step:  # decoding: leave the batch (releases its reservation)
            leave(i)
        else:  # finished at its first token
            kv_used -= admit_bytes.pop(i, 0.0)
        if cache is not None:
            cache.set_device_room(kv_cap - kv_used)
            tokens = int(isl[i]) + int(req.osl[i])
            if blocks is not None and blocks[i]:
                per_block = kv_of_tokens[1] if len(kv_of_tokens) > 1 else 0.0
                for key in blocks[i]:
                    cache.put(key, BLOCK_TOKENS, per_block)
            elif session[i] >= 0:
                size = float(np.interp(tokens / BLOCK_TOKENS, block_index, kv_of_tokens))
                cache.put(int(session[i]), tokens, size)
        j = next_of[i]
        if j >= 0:
            at = t + float(delay[j])
            arr_out[j] = at
            heapq.heappush(arrivals, (at, int(j)))

    def start_decode(i: int, last_chunk_work: float) -> None:
        # the last chunk still crosses the remaining pp - 1 stages before the first token
        ready = t + last_chunk_work * (pp - 1.0) / pp
        if ready > t:
            heapq.heappush(joining, (ready, i))
        else:
            join(i)

    def join(i: int) -> None:
        nonlocal sum_ctx, n_run, rate_sum, rate_start
        if np.isnan(first_tok[i]):
            first_tok[i] = t
        n = int(decode_steps[i]) - done_steps[i]
        if n <= 0:
            finish_request(i)
            return
        heapq.heappush(running, (steps + n, i, epoch[i]))
        n_run += 1
        start_step[i] = steps
        ctx_added[i] = float(isl[i]) + done_steps[i] * table.tokens_per_step
        sum_ctx += ctx_added[i]
        rate_sum += growth[i]
        rate_start += growth[i] * steps
        order.append(i)
        epoch_of_order.append(epoch[i])

    while True:
        while arrivals and arrivals[0][0] <= t:
            at, i = heapq.heappop(arrivals)
            arr_out[i] = at
            if pool is None:
                waiting.append(i)
            else:  # prefill pool and KV link first (first come, first served)
                heapq.heappush(remote, (pool.ready_at(i, at), i))
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
        while running and running[0][2] != epoch[running[0][1]]:
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
        k = float(1 << 62)
        pf_work = 0.0
        head_only = False
        if pf_budget:
            head = prefill[0]
            if head[1] > pf_budget:  # the head prompt takes the whole prompt budget
                head_only = True
                k = int(head[1] // pf_budget)
                pf_work = pf_budget * head[2]
            else:  # this step finishes the head and may start the following prompts
                k = 1
                left = float(pf_budget)
                for item in prefill:
                    take = min(left, item[1])
                    pf_work += take * item[2]
                    left -= take
                    if left <= 0:
                        break
        dt = dt0 + pf_work / pp
        if decoding:
            k = min(k, running[0][0] - steps)
            if on_demand and rate_sum > 0:  # until the growing KV fills the memory
                k = min(k, max(1, int((kv_total_cap - kv_now()) // rate_sum)))
        nxt = next_event()
        if nxt < math.inf and k > 1:
            k = min(k, max(1, math.ceil((nxt - t) / dt)))
        k = max(int(k), 1)
        tick += 1
        if tick % timeline_every == 0:
            timeline.append((t, n_run, kv_now(), len(waiting)))
        if decoding and k > 1:  # context grows during the stretch: price it at the midpoint
            dt = step_time(min(decoding, max_b), mean_ctx + 0.5 * k * table.tokens_per_step) + pf_work / pp
        t += k * dt
        if decoding:
            steps += k
            sum_ctx += decoding * k * table.tokens_per_step
        # -- prompts ----------------------------------------------------------------------------
        if pf_budget:
            if head_only:
                head = prefill[0]
                head[1] -= k * pf_budget
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
            if ep == epoch[i]:
                finish_request(i)
        if not n_run:
            sum_ctx = 0.0
    out.engine[ids] = engine_id
