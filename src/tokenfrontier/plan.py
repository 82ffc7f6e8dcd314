"""``plan``: the cheapest fleet that serves a traffic within a latency SLO, per hardware.

Two stages per hardware entry:

1. **Analytic pruning** (one :func:`tokenfrontier.sweep.sweep`, policy ``queued``): every
   candidate deployment (TP, PP, EP) at every batch cap C. A cell is admissible when all C
   sequences are resident and its TTFT and TPOT (times the slow factor ``k``, 1 unless
   planning pessimistically) are within the P99 limits. One replica then serves
   ``rate(C) = output tok/s per replica / mean output tokens`` requests per second, so the
   traffic needs ``replicas = ceil(QPS x k / rate(C))``; the deployment's analytic cost is the
   cheapest admissible C's ``replicas x chips x $/chip-hour``.
2. **Simulated confirmation**: the ``keep`` cheapest deployments are run through the
   request-level simulator (a caller-supplied ``run(replicas)``) and kept only where the
   simulated P99 TTFT and TPOT (and the goodput share) meet the SLO. A failing finalist steps
   its replicas up (+1, +2, +4, ... then bisection back down; simulated P99s fall as the load
   per replica falls), stepping up at most ``MAX_TRIALS`` times.

The core takes prices as $/chip-hour per hardware id (the API prices them with
``economics.pricing.hourly_rate``), so it never imports economics.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .candidates import smallest_pipeline
from .errors import InvalidInputError
from .intervals import bounds, level_of
from .predict import binding_of
from .results import Result, render_table, usd_per_mtok_text
from .scenario import Scenario
from .serving import PrefillPool, Workload
from .step import COMPONENTS
from .sweep import sweep

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BATCH_CAPS",
    "MAX_TRIALS",
    "SHOWN",
    "FleetPlan",
    "Option",
    "Slo",
    "analyze",
    "confirm",
    "meets",
    "slow_factors",
]

#: Batch caps (sequences resident per replica) the analytic stage tries: 1..4096, ~sqrt(2) apart.
BATCH_CAPS = tuple(sorted({round(2 ** (i / 2)) for i in range(25)}))
#: Simulations per finalist stepping replicas up (start, +1, +2, +4, ...: up to start + 2**9 - 1);
#: the bisection back down adds at most 8 more.
MAX_TRIALS = 10
#: Analytically more expensive deployments named one by one in ``rejected`` (the rest: one line).
SHOWN = 3


@dataclass(frozen=True)
class Slo:
    """Latency targets: P99 TTFT and P99 TPOT (seconds); optionally the share of requests that
    must meet both limits individually (goodput share, 0-1)."""

    ttft_p99_s: float
    tpot_p99_s: float
    goodput_share: float | None = None

    def __post_init__(self) -> None:
        for name, v in (("P99 TTFT limit", self.ttft_p99_s), ("P99 TPOT limit", self.tpot_p99_s)):
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise InvalidInputError(f"SLO: {name} must be a number of seconds > 0, got {v!r}")
        g = self.goodput_share
        if g is not None and not (isinstance(g, int | float) and 0 < g <= 1):
            raise InvalidInputError(f"SLO: goodput share must be in (0, 1], got {g!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"ttft_p99_s": self.ttft_p99_s, "tpot_p99_s": self.tpot_p99_s,
                "goodput_share": self.goodput_share}  # fmt: skip

    def describe(self) -> str:
        text = f"P99 TTFT <= {_ms(self.ttft_p99_s)} ms, P99 TPOT <= {_ms(self.tpot_p99_s)} ms"
        if self.goodput_share is not None:
            text += f", goodput >= {self.goodput_share:.0%} of requests"
        return text


@dataclass(frozen=True)
class Option:
    """One deployment sized analytically: per-replica shape, batch cap and replica count."""

    hardware: str
    tp: int
    pp: int
    ep: int
    batch_cap: int  # sequences resident per replica
    chips_per_replica: int
    rate_req_s: float  # requests/s one replica serves at the cap (analytic)
    ttft_s: float  # analytic, at the cap
    tpot_s: float
    replicas: int  # ceil(QPS x k / rate)
    usd_per_hour: float
    prefill: PrefillPool | None = None  # disaggregated: this pool's shape in front of each replica
    prefill_workers: int = 0  # per replica
    prefill_chips: int = 0  # per replica (in chips_per_replica)

    @property
    def name(self) -> str:
        base = f"TP{self.tp} PP{self.pp} EP{self.ep}"
        if self.prefill is None:
            return base
        return f"{base} + {self.prefill_workers} x TP{self.prefill.tp} PP{self.prefill.pp} prefill on " + (
            self.prefill.scenario.system.id
        )


def slow_factors(scen: Scenario, disaggregated: bool = False) -> tuple[str, dict[str, tuple[float, float]]]:
    """The interval level of ``scen`` (``disaggregated``: its decode pool fed by a prefill pool)
    and, per figure, (fast, slow) multipliers of a predicted time from the 80% interval
    (``intervals.bounds``): ``ttft``, ``tpot``, and ``throughput`` (a rate's slow end turned into
    a time multiplier). (1, 1) where no interval is known."""
    level = level_of(scen.profile, scen.system.chip, scen.arch.id, disaggregated=disaggregated)
    out: dict[str, tuple[float, float]] = {}
    for key, metric in (("ttft", "ttft_ms"), ("tpot", "tpot_ms")):
        b = bounds(level, metric, 1.0)
        out[key] = (min(b[0], 1.0), max(b[1], 1.0)) if b else (1.0, 1.0)
    b = bounds(level, "tok_s_per_gpu", 1.0)
    out["throughput"] = (min(1 / b[1], 1.0), max(1 / b[0], 1.0)) if b else (1.0, 1.0)
    return level, out


def analyze(
    scen: Scenario,
    workload: Workload,
    qps: float,
    slo: Slo,
    usd_per_chip_hour: float,
    *,
    slow: float = 1.0,
    keep: int = 3,
    batch_caps: Sequence[int] = BATCH_CAPS,
    pool: PrefillPool | None = None,
    prefill_usd_per_chip_hour: float | None = None,
) -> tuple[list[Option], list[dict[str, Any]], str | None]:
    """Analytic stage on one hardware entry (see the module docstring). With ``pool`` every
    replica is a decode copy fed by its own prefill workers (sized by the analytic model to keep
    up), those chips priced at ``prefill_usd_per_chip_hour`` (default: the decode rate).

    Returns the ``keep`` cheapest deployments (one :class:`Option` each), the rejected ones as
    ``{"hardware", "deployment", "reason"}`` and, when nothing is admissible, why (the resource
    that ran out), else ``None``.
    """
    sw = sweep(scen, workload, list(batch_caps), policy="queued", pool=pool)
    m, cand, hw = sw.metrics, sw.cand, scen.system.id
    caps = np.asarray(batch_caps, dtype=float)[None, :]
    fits = (m["feasible"] > 0) & (m["served_concurrency"] >= caps)
    feasible = fits
    if not scen.sram:  # stages hold capacity only: the fewest that fit, per (TP, EP)
        feasible = fits & smallest_pipeline(cand, fits)
    rate = m["output_tok_s_per_chip"] * m["chips"] / workload.osl_mean
    ok = feasible & (m["tpot_s"] * slow <= slo.tpot_p99_s) & (m["ttft_s"] * slow <= slo.ttft_p99_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicas = np.where(ok, np.ceil(qps * slow / np.where(rate > 0, rate, np.nan) - 1e-9), np.inf)
    pre_rate = usd_per_chip_hour if prefill_usd_per_chip_hour is None else prefill_usd_per_chip_hour
    per_replica = (
        m["chips"] * usd_per_chip_hour
        if pool is None
        else m["decode_chips"] * usd_per_chip_hour + m["prefill_chips"] * pre_rate
    )
    cost = replicas * per_replica
    options: list[Option] = []
    rejected: list[dict[str, Any]] = []
    memory = deeper = 0
    for i in range(len(cand)):
        name = f"TP{int(cand.tp[i])} PP{int(cand.pp[i])} EP{int(cand.ep[i])}" + (
            f" + prefill on {pool.scenario.system.id}" if pool is not None else ""
        )
        if not feasible[i].any():
            memory += 0 if fits[i].any() else 1
            deeper += 1 if fits[i].any() else 0
            continue
        if not ok[i].any():
            j = int(np.flatnonzero(feasible[i])[0])
            what = "TPOT" if m["tpot_s"][i, j] * slow > slo.tpot_p99_s else "TTFT"
            value = float(m["tpot_s" if what == "TPOT" else "ttft_s"][i, j]) * slow
            limit = slo.tpot_p99_s if what == "TPOT" else slo.ttft_p99_s
            needed = " (fewer stages hold smaller batches)" if j and not scen.sram else ""
            rejected.append({"hardware": hw, "deployment": name, "reason":
                             f"SLO violated at any replica count: {what} {value * 1e3:,.1f} ms at batch "
                             f"{int(caps[0, j])}{needed} > {_ms(limit)} ms"})  # fmt: skip
            continue
        j = int(np.lexsort((caps[0], cost[i]))[0])  # cheapest cap; the smaller cap on ties
        options.append(Option(
            hardware=hw, tp=int(cand.tp[i]), pp=int(cand.pp[i]), ep=int(cand.ep[i]),
            batch_cap=int(caps[0, j]), chips_per_replica=round(float(m["chips"][i, j])),
            rate_req_s=float(rate[i, j]), ttft_s=float(m["ttft_s"][i, j]), tpot_s=float(m["tpot_s"][i, j]),
            replicas=int(replicas[i, j]), usd_per_hour=float(cost[i, j]), prefill=pool,
            prefill_workers=int(m["prefill_workers"][i, j]) if pool is not None else 0,
            prefill_chips=round(float(m["prefill_chips"][i, j])) if pool is not None else 0,
        ))  # fmt: skip
    if memory:
        rejected.append({"hardware": hw, "deployment": f"{memory} deployment(s)", "reason":
                         f"memory does not fit: weights + KV of every batch tried exceed "
                         f"{scen.capacity_per_chip / 1e9:.2f} GB usable per chip"})  # fmt: skip
    if deeper:
        rejected.append({"hardware": hw, "deployment": f"{deeper} deployment(s)", "reason":
                         "never needed: fewer pipeline stages with the same TP and EP hold every batch "
                         "they hold (stages add hops, not speed)"})  # fmt: skip
    options.sort(key=lambda o: (o.usd_per_hour, o.replicas * o.chips_per_replica, o.tp, o.pp))
    best = options[0].usd_per_hour if options else None
    for o in options[keep : keep + SHOWN]:
        rejected.append({"hardware": hw, "deployment": o.name, "reason":
                         f"more expensive than {options[0].name} by {_pct(o.usd_per_hour, best)} "
                         "(analytic sizing)"})  # fmt: skip
    rest = options[keep + SHOWN :]
    if rest:
        rejected.append({"hardware": hw, "deployment": f"{len(rest)} more deployment(s)", "reason":
                         f"more expensive than {options[0].name} by {_pct(rest[0].usd_per_hour, best)} "
                         f"to {_pct(rest[-1].usd_per_hour, best)} (analytic sizing)"})  # fmt: skip
    why = None if options else _binding(sw, feasible, slow, slo, scen)
    return options[:keep], rejected, why


def _ms(seconds: float) -> str:
    """Milliseconds to 4 significant figures (thousands separated)."""
    return f"{seconds * 1e3:,.4g}"


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


def _pct(value: float, base: float | None) -> str:
    return f"{(value / base - 1) * 100:,.0f}%" if base else "-"


def _binding(sw: Any, feasible: np.ndarray, slow: float, slo: Slo, scen: Scenario) -> str:
    """Why no deployment on this hardware is admissible: the resource that ran out."""
    m = sw.metrics
    if not feasible.any():
        return (
            f"memory: {scen.model.weight_bytes / 1e9:,.1f} GB of weights plus one request's KV do not fit "
            f"any deployment considered ({scen.capacity_per_chip / 1e9:.2f} GB usable per chip, "
            f"{len(sw.cand)} deployments)"
        )
    tpot = np.where(feasible, m["tpot_s"], np.inf)
    i, j = np.unravel_index(int(np.argmin(tpot)), tpot.shape)
    if tpot[i, j] * slow > slo.tpot_p99_s:
        parts = {k: float(m[f"step_{k}_s"][i, j]) for k in (*COMPONENTS, "prefill")}
        return (
            f"TPOT: the fastest deployment (TP{int(sw.cand.tp[i])} PP{int(sw.cand.pp[i])}, batch 1) "
            f"decodes a token in {_ms(tpot[i, j] * slow)} ms > {_ms(slo.tpot_p99_s)} ms "
            f"(limited by {binding_of(parts)})"
        )
    ttft = np.where(feasible & (m["tpot_s"] * slow <= slo.tpot_p99_s), m["ttft_s"], np.inf)
    i, j = np.unravel_index(int(np.argmin(ttft)), ttft.shape)
    return (
        f"TTFT: the fastest prefill among deployments meeting TPOT (TP{int(sw.cand.tp[i])} "
        f"PP{int(sw.cand.pp[i])}) takes {_ms(ttft[i, j] * slow)} ms > "
        f"{_ms(slo.ttft_p99_s)} ms (compute for the prompt)"
    )


def meets(summary: dict[str, Any], slo: Slo, slow: float = 1.0) -> bool:
    """Whether a simulation summary meets the SLO: every request completed, P99 TTFT and P99
    TPOT (x ``slow``) within the limits, and the goodput share when one is asked."""
    ttft, tpot = summary["ttft_s"]["p99"], summary["tpot_s"]["p99"]
    if summary["completed"] < summary["requests"] or ttft is None:
        return False
    good = ttft * slow <= slo.ttft_p99_s and (tpot is None or tpot * slow <= slo.tpot_p99_s)
    if slo.goodput_share is not None:
        good = good and summary["goodput"]["share_of_requests"] >= slo.goodput_share
    return bool(good)


def confirm(
    start: int,
    run: Callable[[int], dict[str, Any]],
    check: Callable[[dict[str, Any]], bool],
    max_trials: int = MAX_TRIALS,
) -> tuple[int | None, dict[str, Any], list[dict[str, Any]]]:
    """The fewest replicas >= ``start`` whose simulation passes ``check`` (``run(replicas)``
    returns a simulation summary): ``start``, then +1, +2, +4, ... until one passes, then
    bisection between the last failure and the first pass. Returns (replicas or None, the
    passing summary or the last one tried, trials as {"replicas", "meets", "p99_ttft_s",
    "p99_tpot_s"})."""
    trials: list[dict[str, Any]] = []
    seen: dict[int, tuple[bool, dict[str, Any]]] = {}

    def attempt(r: int) -> bool:
        if r not in seen:
            s = run(r)
            seen[r] = (check(s), s)
            trials.append({"replicas": r, "meets": seen[r][0], "p99_ttft_s": s["ttft_s"]["p99"],
                           "p99_tpot_s": s["tpot_s"]["p99"]})  # fmt: skip
        return seen[r][0]

    lo, hi, step = start - 1, None, 1
    r = start
    while len(seen) < max_trials:
        if attempt(r):
            hi = r
            break
        lo, r, step = r, r + step, step * 2
    while hi is not None and hi - lo > 1:  # at most log2(last step) more simulations
        mid = (lo + hi) // 2
        if attempt(mid):
            hi = mid
        else:
            lo = mid
    if hi is None:
        return None, seen[max(seen)][1], trials
    return hi, seen[hi][1], trials


@dataclass(frozen=True)
class FleetPlan(Result):
    """The cheapest fleet per hardware for one traffic and SLO, ranked by $/hour. SI units."""

    model: str
    traffic: dict[str, Any]
    slo: dict[str, Any]
    pessimistic: bool
    fleets: list[dict[str, Any]]
    infeasible: list[dict[str, Any]]
    rejected: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    executor: str = "serial"  # what ran the search: serial, process or ray
    workers: int = 1
    executor_reason: str = ""  # why that executor: asked, given, or the default's rule

    title = "plan"

    @property
    def best(self) -> dict[str, Any] | None:
        return self.fleets[0] if self.fleets else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "traffic": self.traffic,
            "slo": self.slo,
            "pessimistic": self.pessimistic,
            "fleets": self.fleets,
            "infeasible": self.infeasible,
            "rejected": self.rejected,
            "notes": list(self.notes),
            "executor": self.executor,
            "workers": self.workers,
            "executor_reason": self.executor_reason,
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        return [(f["hardware"], f"{f['replicas']} x {f['deployment']}") for f in self.fleets]

    def _table(self) -> tuple[list[str], list[list[Any]]]:
        headers = ["#", "hardware", "deployment", "replicas", "chips", "$/hour", "$/Mtok",
                   "$/Mtok in", "$/Mtok out", "P99 TTFT ms", "P99 TPOT ms", "headroom"]  # fmt: skip
        rows = []
        for f in self.fleets:
            by = f["usd_per_mtok_by_type"]
            rows.append([
                f["rank"], f["hardware"], f"{f['deployment']} batch<={f['batch_cap']}", f["replicas"],
                f["chips"], _round(f["usd_per_hour"], 2), usd_per_mtok_text(f["usd_per_mtok"]),
                usd_per_mtok_text(by.get("input")), usd_per_mtok_text(by.get("output")),
                round(f["p99_ttft_s"] * 1e3), round(f["p99_tpot_s"] * 1e3, 2) if f["p99_tpot_s"] else None,
                f"{f['headroom']:.0%}",
            ])  # fmt: skip
        return headers, rows

    def _header(self) -> str:
        t = self.traffic
        end = ", at the slow end of the 80% interval" if self.pessimistic else ""
        return (
            f"plan: {self.model}, {t['qps']:,.4g} QPS ({t['name']}; mean ISL {t['isl_mean']:,.0f}, "
            f"OSL {t['osl_mean']:,.0f}); SLO {Slo(**self.slo).describe()}{end}"
        )

    def _footer(self) -> list[str]:
        lines = [f"{r['hardware']}: infeasible - {r['reason']}" for r in self.infeasible]
        lines += [f"{f['hardware']}: {f['price_basis']}" for f in self.fleets if f["usd_per_hour"] is None]
        if self.fleets and self.fleets[0]["usd_per_hour"] is not None:
            b = self.fleets[0]
            lo, hi = b["p99_ttft_s_low"], b["p99_ttft_s_high"]
            lines.append(
                f"best: {b['replicas']} x {b['deployment']} on {b['hardware']} ({b['chips']} chips, "
                f"${b['usd_per_hour']:,.2f}/h, {b['price_basis']}); simulated P99 TTFT 80% interval "
                f"{lo * 1e3:,.0f}-{hi * 1e3:,.0f} ms ({b['interval_level']})"
            )
        if self.fleets:
            lines.append("headroom: the smaller of 1 - simulated P99 / limit over TTFT and TPOT")
        return lines + [f"note: {n}" for n in self.notes]

    def __str__(self) -> str:
        headers, rows = self._table()
        body = render_table(headers, rows) if rows else "no hardware meets the SLO"
        return "\n".join([self._header(), body, *self._footer()])

    def explain(self) -> str:
        """Why each rejected option lost, and what ran the search."""
        lines = ["rejected options:"]
        lines += [f"  {r['hardware']} {r['deployment']}: {r['reason']}" for r in self.rejected]
        ran = f"searched on: {self.executor}, {self.workers} worker{'s' * (self.workers != 1)}" + (
            f" ({self.executor_reason})" if self.executor_reason else ""
        )
        return "\n".join([*lines, ran] if self.rejected else ["no option was rejected", ran])

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        from .results import to_jsonable

        rows = [{k: v for k, v in f.items() if k not in ("pools", "simulate", "trials")} for f in self.fleets]
        rows += [{"hardware": r["hardware"], "feasible": False, "reason": r["reason"]}
                 for r in self.infeasible]  # fmt: skip
        return pd.DataFrame(to_jsonable(rows))

    def _repr_html_(self) -> str:
        headers, rows = self._table()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
        )
        foot = "".join(f"<p>{html.escape(line)}</p>" for line in self._footer())
        cap = f"<caption>{html.escape(self._header())}</caption>"
        return f"<table>{cap}<tr>{head}</tr>{body}</table>{foot}"


# `tokenfrontier.plan` is this module; calling it calls the API function `tokenfrontier.api.plan`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
