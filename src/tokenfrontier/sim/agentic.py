"""Synthetic agentic-coding traffic: multi-turn sessions whose context grows turn by turn.

An agent session sends turn after turn. Turn 1's prompt is the session's starting context (system
prompt, tool schemas, skills, project memory, the task). Turn k's prompt is turn k-1's prompt,
plus turn k-1's output, plus new text (tool results, the user's next message)::

    prompt[k] = prompt[k-1] + output[k-1] + new[k]

so each prompt starts with the previous turn's whole context, which a prefix cache can reuse.
Turn k is released ``delay_s`` (a tool-call pause) after turn k-1 finishes: ``follows`` points at
the previous turn, ``session`` numbers the sessions 0, 1, ... in arrival order, and sessions
arrive as a Poisson process (``session_rate_per_s``); the first session arrives at 0 s.

Targets (SPEC §6, agentic coding traffic: 432k requests, ~80B tokens):

- median input (prompt) 96.3k tokens; ~50% of requests above 128k; median output 213 tokens;
  sessions often start above 100k tokens. (80B / 432k also implies a mean of ~185k tokens per
  request; not a target, reported.)
- token mix. SPEC §5 publishes the agentic *spend* mix: cache read 55.8%, cache write 27.7%,
  input 2.4%, output 14.1%. Token shares are spend / price, normalised. The card used
  (:data:`PRICE_CARD`, USD per Mtok) is cache read 0.30, cache write 3.75, input 3.00, output
  15.00: the common API price structure (cache write 1.25x input, cache read 0.1x, output 5x)
  of a mid-size frontier coding model. Only the ratios matter, and they are those of the bundled
  ``prices/card-default.toml``, so both give the same :data:`TOKEN_MIX`: cache read 95.3%, cache
  write 3.8%, fresh input 0.41%, output 0.48% of all tokens.

Two published figures shape the model. The median is 96.3k yet about half of all requests are
above 128k: taken together they leave almost no requests between ~100k and 128k, so request
lengths are bimodal. The model therefore has two kinds of session:

- *long* sessions (share ``long_share``): main-agent sessions on a long-window model, starting
  with the full harness context (log-normal, median ``long_start_median``, so nearly all start
  above 128k) and growing for ``long_turns`` turns on average, until the prompt plus output
  would pass ``max_context`` (the model window: pass yours; the defaults assume 1M).
- *short* sessions: sub-agents and 128k-window sessions, starting small (log-normal, median
  ``short_start_median``) and ending (compacting into a fresh session) at the first turn whose
  prompt plus output would pass ``short_budget`` (~79% of a 128k window).

The median then sits at the top of the short sessions (short ones are just over half of all
requests) and the share above 128k is the long sessions' share of requests.

Parameters (:class:`AgenticParams`; override any by keyword, e.g. ``agentic(long_turns=50)``):

==================== ============ =================================================================
parameter            default      meaning
==================== ============ =================================================================
long_share           0.211        share of sessions that are long (calibrated: share >128k = 0.48)
long_start_median    180,000      median starting context of long sessions, tokens
long_start_sigma     0.2          its log-normal sigma (4% start below 128k)
long_turns           33.6         mean turns of a long session, geometric (calibrated: cache-write
                                  share); fewer when ``max_context`` ends a session
short_start_median   30,000       median starting context of short sessions, tokens
short_start_sigma    0.6          its log-normal sigma
short_turns          15           mean turns of a short session, geometric, before the budget
short_budget         101,000      a short session ends before prompt + output passes this
                                  (calibrated: median input = 96.3k)
max_context          1,000,000    the model window: a session ends before prompt + output passes it
new_median           2,000        median new tokens per turn (tool output, user text), log-normal
new_sigma            1.0          its sigma (mean ~3.3k)
output_median        213          median output tokens per turn, log-normal (closed form: the target)
output_sigma         1.74         its sigma (calibrated: output share of tokens 0.48%; mean ~900)
max_output           32,000       outputs are clipped to this
pause_median_s       2.0          median tool-call pause between turns, seconds, log-normal
pause_sigma          1.0          its sigma (not in the SPEC: an assumption)
==================== ============ =================================================================

:func:`calibrate` is the deterministic search (seed 0, 4,000 sessions, bisection on one parameter
per statistic, three rounds) that produced the calibrated defaults, rounded. Per-session draws
(kind, turns, starting context) are stratified (Latin hypercube: one draw in each of n equal
probability bins, shuffled), so even a few hundred sessions reproduce the statistics; per-turn
draws (new tokens, outputs, pauses) are independent.

Token accounting (:func:`describe`, any :class:`Requests` with sessions): a request's *cache
read* is the part of its prompt covered by the previous request of its session (that one's
prompt + output); its *new* tokens are the rest. New tokens *become context* (cache write) when
a later request of the session follows; otherwise (the last turn, a one-turn session, a request
with no session) they are *fresh input*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError
from .workload import CHUNK, Chunk, Requests, Source, skipped

__all__ = [
    "DEFAULTS",
    "PRICE_CARD",
    "SPEND_MIX",
    "TARGETS",
    "TOKEN_MIX",
    "TOLERANCE",
    "AgenticParams",
    "AgenticSource",
    "agentic",
    "agentic_source",
    "calibrate",
    "describe",
]

Floats = NDArray[np.float64]
LONG_CONTEXT = 128_000  # the threshold of SPEC §6's "share of requests above 128k"
DEFAULT_SESSIONS = 1_000


@dataclass(frozen=True)
class AgenticParams:
    """The generator's parameters (see the module docstring for each)."""

    long_share: float = 0.211
    long_start_median: float = 180_000
    long_start_sigma: float = 0.2
    long_turns: float = 33.6
    short_start_median: float = 30_000
    short_start_sigma: float = 0.6
    short_turns: float = 15.0
    short_budget: float = 101_000
    max_context: float = 1_000_000
    new_median: float = 2_000
    new_sigma: float = 1.0
    output_median: float = 213.0
    output_sigma: float = 1.74
    max_output: float = 32_000
    pause_median_s: float = 2.0
    pause_sigma: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidInputError(f"agentic: {f.name} must be a finite number, got {value!r}")
            low_ok = value >= 0 if f.name.endswith("sigma") or f.name == "long_share" else value > 0
            if not low_ok or (f.name == "long_share" and value > 1):
                valid = {"long_share": "in [0, 1]"}.get(f.name, ">= 0" if f.name.endswith("sigma") else "> 0")
                raise InvalidInputError(f"agentic: {f.name} must be {valid}, got {value!r}")
        if self.long_turns < 1 or self.short_turns < 1:
            raise InvalidInputError(
                "agentic: long_turns and short_turns (mean turns per session) must be >= 1"
            )
        if self.max_output >= min(self.short_budget, self.max_context):
            raise InvalidInputError(
                f"agentic: max_output ({self.max_output:g}) must be below short_budget and max_context"
            )


DEFAULTS = AgenticParams()
#: SPEC §5: the published agentic token-spend mix.
SPEND_MIX = {"cache_read": 0.558, "cache_write": 0.277, "input": 0.024, "output": 0.141}
#: The example price card, USD per million tokens (see the module docstring).
PRICE_CARD = {"cache_read": 0.30, "cache_write": 3.75, "input": 3.00, "output": 15.00}
_TOKENS = {k: SPEND_MIX[k] / PRICE_CARD[k] for k in SPEND_MIX}
#: Token shares implied by the spend mix and the card (spend / price, normalised).
TOKEN_MIX = {k: v / sum(_TOKENS.values()) for k, v in _TOKENS.items()}
#: SPEC §6 statistics the defaults reproduce (and the tolerance each is held to).
TARGETS = {"p50_input": 96_300.0, "share_above_128k": 0.50, "p50_output": 213.0}
TOLERANCE = {"p50_input": 0.05 * 96_300.0, "share_above_128k": 0.05, "p50_output": 0.10 * 213.0}


def agentic(
    sessions: int | None = None,
    *,
    requests: int | None = None,
    session_rate_per_s: float = 0.2,
    seed: int = 0,
    **overrides: Any,
) -> Requests:
    """Agentic-coding sessions: ``sessions`` of them, or as many as make exactly ``requests``
    requests (the last session cut short); 1,000 sessions (~14.7k requests) if neither is given.
    ``overrides`` replace :class:`AgenticParams` defaults. ``stats`` holds :func:`describe`."""
    src = agentic_source(sessions, requests=requests, session_rate_per_s=session_rate_per_s, seed=seed,
                         **overrides)  # fmt: skip
    req = src.materialize()
    return replace(req, stats=describe(req))


def agentic_source(
    sessions: int | None = None,
    *,
    requests: int | None = None,
    session_rate_per_s: float = 0.2,
    seed: int = 0,
    **overrides: Any,
) -> AgenticSource:
    """The stream of :func:`agentic`, generated lazily (:class:`AgenticSource`; no ``stats``)."""
    if sessions is not None and requests is not None:
        raise InvalidInputError("agentic: give sessions or requests, not both")
    for label, count in (("sessions", sessions), ("requests", requests)):
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise InvalidInputError(f"agentic: {label} must be a whole number >= 1, got {count!r}")
    rate = session_rate_per_s
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not (math.isfinite(rate) and rate > 0):
        raise InvalidInputError(f"agentic: session_rate_per_s must be a finite number > 0, got {rate!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"agentic: seed must be a whole number >= 0, got {seed!r}")
    valid = {f.name for f in fields(AgenticParams)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise InvalidInputError(
            f"agentic: unknown parameter {', '.join(unknown)}; valid parameters: {', '.join(sorted(valid))}"
        )
    params = replace(DEFAULTS, **overrides)
    if requests is None:
        n = sessions or DEFAULT_SESSIONS
        return AgenticSource(params, n, float(rate), seed, name=f"agentic coding ({n} sessions, seed {seed})")
    # enough sessions for ``requests``, then cut: count larger streams until there are
    per_session = params.long_share * params.long_turns + (1 - params.long_share) * params.short_turns
    n = max(1, math.ceil(1.25 * requests / per_session))  # budgets end some sessions early
    while True:
        got, kept = AgenticSource(params, n, float(rate), seed).count(requests)
        if got >= requests:
            break
        n = math.ceil(n * 1.25 * requests / got) + 1
    return AgenticSource(params, n, float(rate), seed, limit=requests,
                         name=f"agentic coding ({kept} sessions, seed {seed})")  # fmt: skip


def describe(req: Requests) -> dict[str, float]:
    """Statistics of a request stream with sessions: the SPEC §6 ones (median input, share above
    128k, median output), the mean input, sessions and mean turns per session, the share of
    sessions whose first prompt is above 100k, and the token mix (shares of all input + output
    tokens: ``cache_read``, ``cache_write``, fresh ``input``, ``output``; see the module docstring)."""
    isl = req.isl.astype(np.float64)
    osl = req.osl.astype(np.float64)
    n = len(req)
    read = np.zeros(n)
    has_next = np.zeros(n, dtype=bool)
    in_session = np.flatnonzero(req.session >= 0)
    order = in_session[np.argsort(req.session[in_session], kind="stable")]
    ids = req.session[order]
    same = ids[1:] == ids[:-1]
    cur, prev = order[1:][same], order[:-1][same]
    read[cur] = np.minimum(isl[cur], isl[prev] + osl[prev])
    has_next[prev] = True
    firsts = order[np.r_[True, ~same]] if len(order) else order
    sessions = len(firsts)
    new = isl - read
    total = isl.sum() + osl.sum()
    return {
        "requests": float(n),
        "p50_input": float(np.median(isl)),
        "mean_input": float(isl.mean()),
        "share_above_128k": float((isl > LONG_CONTEXT).mean()),
        "p50_output": float(np.median(osl)),
        "mean_output": float(osl.mean()),
        "sessions": float(sessions),
        "mean_turns": len(in_session) / sessions if sessions else 0.0,
        "sessions_start_above_100k": float((isl[firsts] > 100_000).mean()) if sessions else 0.0,
        "cache_read": float(read.sum() / total),
        "cache_write": float(new[has_next].sum() / total),
        "input": float(new[~has_next].sum() / total),
        "output": float(osl.sum() / total),
    }


def calibrate(
    start: AgenticParams = DEFAULTS, *, sessions: int = 4_000, seed: int = 0, rounds: int = 3
) -> AgenticParams:
    """The deterministic search behind the defaults. Each round bisects, in turn: ``output_sigma``
    to the output token share, ``long_turns`` to the cache-write share, and ``short_budget`` to
    the median input (96.3k), re-solving ``long_share`` inside each step so that 48% of requests
    are above 128k (the most that keeps the median, which needs just over half of all requests
    below ~100k, out of the gap). ``output_median`` is the target median itself (closed form)."""

    def stat(p: AgenticParams, key: str) -> float:
        return describe(_generate(p, sessions, 1.0, seed))[key]

    def solve(
        p: AgenticParams,
        name: str,
        lo: float,
        hi: float,
        key: str,
        target: float,
        steps: int,
        inner: Callable[[AgenticParams], AgenticParams] | None = None,
    ) -> AgenticParams:
        for _ in range(steps):
            mid = replace(p, **{name: (lo + hi) / 2})
            if inner is not None:
                mid = inner(mid)
            rising = name != "long_turns"  # more turns -> more reads per write
            if (stat(mid, key) < target) == rising:
                lo = (lo + hi) / 2
            else:
                hi = (lo + hi) / 2
        out = replace(p, **{name: (lo + hi) / 2})
        return inner(out) if inner is not None else out

    def share(p: AgenticParams) -> AgenticParams:
        return solve(p, "long_share", 0.05, 0.5, "share_above_128k", 0.48, 14)

    p = replace(start, output_median=TARGETS["p50_output"])
    for _ in range(rounds):
        p = solve(p, "output_sigma", 0.5, 2.5, "output", TOKEN_MIX["output"], 16)
        p = solve(p, "long_turns", 5.0, 200.0, "cache_write", TOKEN_MIX["cache_write"], 16)
        p = solve(
            p,
            "short_budget",
            TARGETS["p50_input"],
            float(LONG_CONTEXT),
            "p50_input",
            TARGETS["p50_input"],
            12,
            share,
        )
    return p


# -- generation ----------------------------------------------------------------------------------
def _lhs(rng: np.random.Generator, n: int) -> Floats:
    """``n`` stratified uniforms in (0, 1): one in each of n equal bins, in random order."""
    return (rng.permutation(n) + rng.random(n)) / n


def _lognormal(median: float, sigma: float, u: Floats) -> Floats:
    from scipy.special import ndtri  # the normal quantile; scipy only when generating

    out: Floats = median * np.exp(sigma * ndtri(u))
    return out


class AgenticSource(Source):
    """The agentic stream, generated lazily in chunks of whole sessions (about :data:`CHUNK`
    requests each). Per-session draws (kind, turns, starting context, arrival) are held for all
    sessions (a few dozen bytes each); per-turn draws are made chunk by chunk from generators
    positioned where one whole-array draw would be, so the requests are those of :func:`agentic`,
    bit for bit. ``limit`` cuts the stream after that many requests."""

    def __init__(self, p: AgenticParams, sessions: int, rate: float, seed: int, limit: int | None = None,
                 name: str = "agentic coding") -> None:  # fmt: skip
        self.p, self.n, self.rate, self.seed, self.limit, self.name = p, sessions, rate, seed, limit, name
        self.stats: dict[str, float] = {}

    def _sessions(self) -> tuple[Any, ...]:
        p, n = self.p, self.n
        rng = np.random.default_rng(self.seed)
        long = _lhs(rng, n) < p.long_share
        turns = np.ones(n, dtype=np.int64)
        start = np.empty(n)
        for kind, mean_turns, median, sigma in (
            (long, p.long_turns, p.long_start_median, p.long_start_sigma),
            (~long, p.short_turns, p.short_start_median, p.short_start_sigma),
        ):
            m = int(kind.sum())
            u = _lhs(rng, m)
            if mean_turns > 1:  # geometric on 1, 2, ... with this mean, by its inverse CDF
                turns[kind] = np.maximum(1, np.ceil(np.log1p(-u) / np.log1p(-1.0 / mean_turns)))
            start[kind] = _lognormal(median, sigma, _lhs(rng, m))
        cap = np.where(long, p.max_context, p.short_budget)
        total = int(turns.sum())
        # per-turn draws: all outputs, then all new texts, then all pauses, then session gaps
        g_out = rng
        g_new = skipped(g_out, lambda g, k: g.standard_normal(k), total)
        g_pause = skipped(g_new, lambda g, k: g.standard_normal(k), total)
        g_gap = skipped(g_pause, lambda g, k: g.standard_normal(k), total)
        gaps = g_gap.exponential(1.0 / self.rate, n)
        opens = np.cumsum(gaps) - gaps[0]
        return turns, np.round(start), cap, opens, g_out, g_new, g_pause

    def chunks(self) -> Iterator[Chunk]:
        p = self.p
        turns, start, cap, opens, g_out, g_new, g_pause = self._sessions()
        ends = np.cumsum(turns)
        s0, emitted = 0, 0
        while s0 < self.n and (self.limit is None or emitted < self.limit):
            s1 = int(np.searchsorted(ends, ends[s0] - turns[s0] + CHUNK, side="right"))
            s1 = min(max(s1, s0 + 1), self.n)
            t = turns[s0:s1]
            total = int(t.sum())
            sess = np.repeat(np.arange(s0, s1), t)
            first = np.cumsum(t) - t
            head = np.zeros(total, dtype=bool)
            head[first] = True
            out = np.clip(np.round(p.output_median * np.exp(p.output_sigma * g_out.standard_normal(total))),
                          1, p.max_output)  # fmt: skip
            new = np.round(p.new_median * np.exp(p.new_sigma * g_new.standard_normal(total)))
            pause = p.pause_median_s * np.exp(p.pause_sigma * g_pause.standard_normal(total))
            grow = np.zeros(total)
            grow[1:] = new[1:] + out[:-1]  # turn k adds turn k-1's output and its own new text
            grow[head] = 0.0
            cum = np.cumsum(grow)  # whole token counts: exact, so chunking changes nothing
            prompt = start[sess] + cum - cum[first][sess - s0]
            limit = cap[sess]
            prompt[head] = np.clip(prompt[head], 1, limit[head] - out[head])  # a first turn always fits
            keep = head | (prompt + out <= limit)  # prompt + output only grows: keeps a prefix of turns
            sess, head, prompt, out, pause = sess[keep], head[keep], prompt[keep], out[keep], pause[keep]
            k = len(sess) if self.limit is None else min(len(sess), self.limit - emitted)
            sess, head, prompt, out, pause = sess[:k], head[:k], prompt[:k], out[:k], pause[:k]
            index = np.arange(emitted, emitted + k, dtype=np.int64)
            last = np.r_[sess[1:] != sess[:-1], True] if k else np.zeros(0, dtype=bool)
            nxt = np.where(last, -1, index + 1)
            if k and self.limit is not None and emitted + k >= self.limit:
                nxt[-1] = -1
            yield Chunk(
                start=emitted,
                arrival_s=np.where(head, opens[sess], np.nan),
                isl=prompt.astype(np.int64),
                osl=out.astype(np.int64),
                next=nxt,
                delay_s=np.where(head, 0.0, pause),
                session=sess.astype(np.int64),
                chain=sess.astype(np.int64),
            )
            emitted += k
            s0 = s1

    def count(self, upto: int | None = None) -> tuple[int, int]:
        """(requests the stream holds, sessions among its first ``upto``): a pass keeping nothing."""
        n = sessions = 0
        for c in self.chunks():
            if len(c) and (upto is None or n < upto):
                sessions = int(c.session[min(len(c), (upto or len(c)) - n) - 1]) + 1
            n += len(c)
        return n, sessions


def _generate(p: AgenticParams, sessions: int, rate: float, seed: int) -> Requests:
    return AgenticSource(p, sessions, rate, seed).materialize()
