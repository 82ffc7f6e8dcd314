"""80% prediction intervals from cross-validated residuals (``benchmarks/crossval.py`` writes
``catalog/intervals.toml``).

A residual is log(predicted / measured) of a held-out row. For each level of the profile
fallback chain the file stores the 10th and 90th percentile of those residuals per metric, each
level's residuals from the cross-validation split that matches the situation it describes (a
prediction that transfers further gets the error of predictions that transferred as far):

- ``<profile id>``: the row's own family and stack were fitted, on this hardware and this model
  (random k-fold cross-validation on the measured sets: the row's fold left out of the fit);
- ``new-model``: the profile was fitted on this hardware and stack but not on this model
  (leave-one-model-out: rows whose model the fit never saw);
- ``new-hardware``: the profile was fitted on this family and stack but not on this hardware
  (leave-one-hardware-out: e.g. H100 predicted by a profile fitted on H200 only);
- ``transfer``: the stack was fitted on another hardware family only (leave-one-hardware-out and
  leave-one-family-out rows that the same stack on another family predicted);
- ``default``: the stack was never measured (leave-one-stack-out: a family or memory-kind
  default predicts it);
- ``unmeasured``: a hardware family no profile was fitted on, predicted by another vendor's
  profile of the stack or the memory kind's default (a vendor never measured). Its own residuals are the
  leave-one-family-out rows predicted that way; because so few families were measured, its
  interval is the widest: the envelope (lowest q10, highest q90) of every single-pool level with
  enough rows, its own included;
- ``unmeasured-sram``: the same for an SRAM machine (a vendor never measured, e.g. Groq asked
  for with only the wafer measured): the residuals of the leave-one-family-out SRAM predictions
  (one SRAM vendor predicted from the other's profiles or the SRAM default), whose error is
  unlike any GPU level's; too few of them (fewer than two SRAM vendors measured), the envelope of
  every level, single-pool and disaggregated (the ``disaggregated-unmeasured`` envelope).

A deployment with prefill and decode in their own pools (the disaggregated measurements) gets the
level its decode pool's profile would get, prefixed: ``disaggregated`` (its profile was fitted
on this chip and model: random k-fold residuals of disaggregated rows),
``disaggregated-new-model``, ``disaggregated-new-hardware``, ``disaggregated-transfer``,
``disaggregated-default``, ``disaggregated-unmeasured``; each holds only the residuals of
disaggregated rows from the split of the same name (pooled deployments add the KV transfer, the
pool balance and attention data-parallel to the error, so they do not borrow single-pool
residuals). When none of the disaggregated levels of the chain has enough rows, the error is
composed before the chain ends: ``<level>+disaggregated`` (``new-hardware+disaggregated``, one
per single-pool level of the suffix's chain) adds the single-pool level's error at that transfer
distance to the error of a pooled deployment whose profile was fitted (the ``disaggregated``
level) as two independent sources: the centres (mid-points of q10 and q90, in log) add and the
half-widths add in quadrature. Their chain ends at ``disaggregated-unmeasured``: the envelope of
every level with enough rows, single-pool and disaggregated (``unmeasured-sram`` apart).

A maximum-throughput question (the best throughput a deployment reaches at a load the stack
chooses: the ``max_throughput.csv`` rows) gets its level prefixed the same way,
``max-throughput-<level>`` (``max-throughput-hopper-trt``, ``max-throughput-new-hardware``, ...):
each holds only the residuals of maximum-throughput rows, whose error (the load and batch the
model picks, prefill interleaved at full occupancy) is unlike that of a point at a given load.
They also count at the unprefixed level of the same name (the single-pool levels hold every
single-pool row, as the serving rows alone are too few to bound most of them). The chain walks
the maximum-throughput levels of the suffix's single-pool chain first; where none has enough
rows (no maximum-throughput residual at that distance: a stack whose maximum-throughput rows
were all left out), ``max-throughput-unmeasured``, the envelope of every single-pool level,
bounds the throughput (:data:`MAX_THROUGHPUT_METRICS`), as ``disaggregated-unmeasured`` ends a
pooled chain; then that single-pool chain itself, for the metrics a maximum-throughput row does
not measure (a maximum-throughput level bounds only those it does: no :data:`SISTERS`). The
``unmeasured`` envelopes span the maximum-throughput levels too.

Measured = predicted x exp(-r), so the interval is [pred x exp(-q90), pred x exp(-q10)]. Metrics
(residual names): ``tok_s_per_user``, ``tok_s_per_gpu`` (total and output tok/s per chip),
``ttft_ms``, ``tpot_ms``. A level with fewer than ``MIN_ROWS`` residuals for a metric, or whose
residuals come from fewer than ``MIN_GROUPS`` held-out groups (one model, chip or stack left out
says how far *that* one was off, not how far another may be: residuals cluster by what was left
out), uses the next level of :func:`fallback_chain`; an envelope spans every level with
enough rows, however few its groups.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .catalog import CATALOG_DIR, default_catalog, read_toml
from .profiles import vendors_of
from .specs import Chip, Profile

__all__ = [
    "COMPOSED",
    "COVERAGE",
    "DISAGGREGATED",
    "INTERVALS_FILE",
    "MAX_THROUGHPUT",
    "MAX_THROUGHPUT_METRICS",
    "MAX_THROUGHPUT_UNMEASURED",
    "MIN_GROUPS",
    "MIN_ROWS",
    "PREDICTED",
    "SISTERS",
    "SRAM_UNMEASURED",
    "SUMMARY_METRICS",
    "bounds",
    "enough_evidence",
    "fallback_chain",
    "interval_source",
    "level_of",
    "level_reason",
    "load_intervals",
    "max_throughput_base",
    "stand_ins",
    "summary_interval_text",
    "summary_intervals",
]

INTERVALS_FILE = CATALOG_DIR / "intervals.toml"
COVERAGE = 0.8
MIN_ROWS = 5
#: Distinct held-out groups (models, chips, stacks, families left out; a row of its own in random
#: k-fold) a level's residuals must span; an entry without a ``groups`` count is taken as enough
MIN_GROUPS = 2
#: The prefix of the levels of prefill / decode pool deployments (alone: the fitted profile's)
DISAGGREGATED = "disaggregated"
#: The prefix of the levels of maximum-throughput questions (the load is the stack's to choose)
MAX_THROUGHPUT = "max-throughput"
#: The residual metrics a maximum-throughput row measures (``max_throughput.csv``: the best
#: throughput, no one user's speed at the load the stack chose)
MAX_THROUGHPUT_METRICS = ("tok_s_per_gpu",)
#: Where a maximum-throughput question's chain goes when no maximum-throughput level of it has
#: enough rows: the envelope of every single-pool level (no residual measured how far the load
#: and batch the model picks are off at that distance), for :data:`MAX_THROUGHPUT_METRICS` only
MAX_THROUGHPUT_UNMEASURED = f"{MAX_THROUGHPUT}-unmeasured"
#: ``unmeasured`` on an SRAM machine: the residuals of one SRAM vendor predicted from another
SRAM_UNMEASURED = "unmeasured-sram"
#: Prediction attribute -> the residual metric that bounds it (and whether it is a rate: a
#: time's interval is the rate's turned over)
PREDICTED = {
    "tok_s_per_user": "tok_s_per_user",
    "total_tok_s_per_chip": "tok_s_per_gpu",
    "output_tok_s_per_chip": "tok_s_per_gpu",
    "ttft_s": "ttft_ms",
    "tpot_s": "tpot_ms",
}

#: Simulate summary key -> the residual metric that bounds it. Scalars get ``<key>_low`` /
#: ``<key>_high``; percentile dicts (``{"p50": ..}``) get ``<key>_low`` / ``<key>_high`` dicts of
#: the same percentiles. E2E (TTFT plus the decode, two residuals) and goodput (which requests
#: meet an SLO shifts with the error) get none.
SUMMARY_METRICS = {
    "tok_s_per_user": "tok_s_per_user",
    "total_tok_s_per_chip": "tok_s_per_gpu",
    "output_tok_s_per_chip": "tok_s_per_gpu",
    "ttft_s": "ttft_ms",
    "tpot_s": "tpot_ms",
    "itl_s": "tpot_ms",
}


@functools.cache
def load_intervals() -> dict[str, Any]:
    """The bundled interval table (empty when the file is absent)."""
    if not INTERVALS_FILE.exists():
        return {}
    return read_toml(INTERVALS_FILE)


def level_of(
    profile: Profile,
    chip: Chip,
    model: str = "",
    disaggregated: bool = False,
    max_throughput: bool = False,
) -> str:
    """Which level of the fallback chain predicted this deployment: the fitted profile itself
    (fitted on this family, chip and model), ``new-hardware`` (the family was fitted, this
    chip was not), ``new-model`` (this chip was fitted, this model was not), a
    ``transfer`` from another family, the family's ``default`` (its other stacks were measured),
    or ``unmeasured`` (no stack of this family was measured and the prediction borrows another
    vendor's profile or the memory kind's default; ``unmeasured-sram`` on an SRAM machine).
    ``model``: the catalog model id ("" = not checked); a profile that does not record what it
    was fitted on (``fitted_models`` / ``fitted_chips`` empty) is taken as fitted on it.
    ``disaggregated``: prefill and decode in their own pools (``profile`` / ``chip``: the decode
    pool's): ``disaggregated`` for the fitted profile itself, else ``disaggregated-<level>``.
    ``max_throughput``: the best throughput at a load the stack chooses (a single pool):
    ``max-throughput-<level>``, except ``unmeasured`` (its envelope spans those levels)."""
    level = _single_pool_level(profile, chip, model)
    if disaggregated:
        return DISAGGREGATED if level not in _TRANSFER_LEVELS else f"{DISAGGREGATED}-{level}"
    if level == "unmeasured":
        return SRAM_UNMEASURED if chip.kind == "sram" else level
    return f"{MAX_THROUGHPUT}-{level}" if max_throughput else level


#: the single-pool levels that name a transfer (any other level is a fitted profile's own id)
_TRANSFER_LEVELS = ("new-hardware", "new-model", "transfer", "default", "unmeasured")


def _single_pool_level(profile: Profile, chip: Chip, model: str) -> str:
    source = _single_source(profile) if chip.kind == "sram" else None
    if source is not None:  # an SRAM machine runs its vendor's one stack: the default is it
        return _single_pool_level(source, chip, model)
    if profile.fitted and chip.family in profile.families:
        if profile.fitted_chips and chip.id not in profile.fitted_chips:
            return "new-hardware"
        if model and profile.fitted_models and model not in profile.fitted_models:
            return "new-model"
        return profile.id
    if profile.fitted:  # the same stack on another family: of this vendor, or a vendor never measured
        return "transfer" if chip.vendor in vendors_of(profile.families) else "unmeasured"
    return "default" if chip.family in profile.families else "unmeasured"


def _single_source(profile: Profile) -> Profile | None:
    """The one fitted profile a default profile derives from (a family measured on one stack:
    ``wse-default`` is ``wse-cerebras-inference``), else None."""
    if profile.fitted or not profile.derived_from:
        return None
    source = default_catalog().profiles.get(profile.derived_from)
    if source is None or not source.fitted or source.families != profile.families:
        return None
    return source


def level_reason(level: str, profile: Profile, model: str = "", chip: str = "") -> str:
    """Why ``level`` was chosen, and which held-out split its residuals come from (one clause
    for ``predict --explain``)."""
    fitted_on = ", ".join(profile.fitted_models) or "its rows"
    hw = ", ".join(profile.fitted_chips) or "its chips"
    reasons = {
        "new-hardware": f"profile {profile.id} was fitted on {hw}, not on {chip}: residuals of "
        "leave-one-hardware-out predictions",
        "new-model": f"profile {profile.id} was fitted on {fitted_on}, not on {model}: residuals of "
        "leave-one-model-out predictions",
        "transfer": f"profile {profile.id} was fitted on another family ({', '.join(profile.families)}):"
        " residuals of predictions for a family left out of the fit",
        "default": f"no profile of this stack was fitted on this family ({profile.id} is a default):"
        " residuals of leave-one-stack-out predictions",
        "unmeasured": "no profile of this family was fitted: the widest interval, the envelope of "
        "every single-pool level (leave-one-family-out residuals included)",
        SRAM_UNMEASURED: "no profile of this SRAM family was fitted: residuals of one SRAM vendor "
        "predicted from another's profiles (leave-one-family-out), else the envelope of every level",
    }
    own = (
        f"profile {profile.id} was fitted on this hardware and model: residuals of random k-fold "
        "cross-validation"
    )
    if _pooled(level):
        single = level.removeprefix(DISAGGREGATED).removeprefix("-")
        if single == "unmeasured":
            why = (
                "no profile of this family was fitted: the widest interval, the envelope of every level "
                "(leave-one-family-out residuals of disaggregated rows included)"
            )
        else:
            why = reasons.get(single, own) + " of disaggregated rows"
        return f"prefill and decode pools, {why}"
    if (base := max_throughput_base(level)) is not None:
        why = reasons.get(base, own)
        return f"the best throughput at a load the stack chooses, {why} of maximum-throughput rows"
    return reasons.get(level, own)


#: Metric -> the residuals of the same level that stand in for it when the level has too few
#: rows of its own, before the next, less related level of the chain: (metric, sign). A serving
#: row's tok/s per GPU is its tok/s per user x concurrency / chips, so the two rates share their
#: relative error; TPOT is 1 / (tok/s per user) (residual negated). TTFT has no stand-in.
SISTERS: dict[str, tuple[tuple[str, int], ...]] = {
    "tok_s_per_user": (("tok_s_per_gpu", 1),),
    "tok_s_per_gpu": (("tok_s_per_user", 1),),
    "tpot_ms": (("tok_s_per_user", -1), ("tok_s_per_gpu", -1)),
}


def stand_ins(level: str, metric: str) -> tuple[tuple[str, int], ...]:
    """The residual metrics that bound ``metric`` at ``level``, in order: itself, then its
    :data:`SISTERS`, except at a ``max-throughput`` level (the rows measure throughput at a load
    the stack chose, so their tok/s per GPU says nothing of one user's speed at that load)."""
    if max_throughput_base(level) is not None:
        return ((metric, 1),)
    return ((metric, 1), *SISTERS.get(metric, ()))


def _envelope_of(level: str, table: dict[str, Any]) -> list[str] | None:
    """The levels whose quantiles the envelope ``level`` spans (None: not an envelope)."""
    if level == "unmeasured":  # every single-pool level, its own included
        return [k for k in table if not _pooled(k) and k != SRAM_UNMEASURED]
    if level == f"{DISAGGREGATED}-unmeasured":  # every level, single-pool and pooled
        return [k for k in table if k != SRAM_UNMEASURED]
    if level == MAX_THROUGHPUT_UNMEASURED:  # the single-pool envelope, for what the rows measure
        return _envelope_of("unmeasured", table)
    return None


def _pooled(level: str) -> bool:
    return level == DISAGGREGATED or level.startswith(f"{DISAGGREGATED}-")


def max_throughput_base(level: str) -> str | None:
    """The single-pool level a ``max-throughput-<level>`` names (None: not such a level)."""
    prefix = f"{MAX_THROUGHPUT}-"
    return level.removeprefix(prefix) if level.startswith(prefix) else None


#: Joins a single-pool level and ``disaggregated`` in the name of a composed level
COMPOSED = f"+{DISAGGREGATED}"


def _composed(level: str, metric: str, table: dict[str, Any]) -> tuple[float, float] | None:
    """The quantiles of ``<single>+disaggregated``: the single-pool level's and the fitted
    pooled deployment's own, as independent errors in log (centres add, half-widths add in
    quadrature); None when either has too few rows. Both parts contain the model's error on a
    fitted profile, so that part counts twice: the composition leans wide. It may reach beyond
    the ``disaggregated-unmeasured`` envelope on one side (a single-pool level whose residuals
    include the SRAM single-stream rows). Measured disaggregated residuals, even of a farther
    transfer, come first in the chain: they are pooled evidence."""
    single = _own(level.removesuffix(COMPOSED), metric, table)
    pooled = _own(DISAGGREGATED, metric, table)
    if single is None or pooled is None:
        return None
    centre = (single[0] + single[1]) / 2 + (pooled[0] + pooled[1]) / 2
    half = math.hypot((single[1] - single[0]) / 2, (pooled[1] - pooled[0]) / 2)
    return centre - half, centre + half


def _quantiles(level: str, metric: str, table: dict[str, Any]) -> tuple[float, float] | None:
    if level.endswith(COMPOSED):
        return _composed(level, metric, table)
    if level == MAX_THROUGHPUT_UNMEASURED and metric not in MAX_THROUGHPUT_METRICS:
        return None  # one user's speed at a load the stack chose: the single-pool chain bounds it
    members = _envelope_of(level, table)
    if members is None:
        return _own(level, metric, table)
    found = [q for k in members if (q := _own(k, metric, table, min_groups=1))]
    if not found:
        return None
    return min(q[0] for q in found), max(q[1] for q in found)


def enough_evidence(n: int, groups: int, min_groups: int = MIN_GROUPS) -> bool:
    """Whether ``n`` residuals from ``groups`` held-out groups bound a level by themselves."""
    return n >= MIN_ROWS and groups >= min_groups


def _own(
    level: str, metric: str, table: dict[str, Any], min_groups: int = MIN_GROUPS
) -> tuple[float, float] | None:
    """The quantiles of ``metric`` at ``level``, else of a sister metric at the level (at least
    ``MIN_ROWS`` residuals from ``min_groups`` held-out groups)."""
    for name, sign in stand_ins(level, metric):
        entry = table.get(level, {}).get(name)
        if entry and enough_evidence(entry.get("n", 0), entry.get("groups", min_groups), min_groups):
            q10, q90 = float(entry["q10"]), float(entry["q90"])
            return (q10, q90) if sign > 0 else (-q90, -q10)
    return None


def fallback_chain(level: str) -> tuple[str, ...]:
    """The levels whose residuals bound a prediction at ``level``, first with enough rows wins
    (``unmeasured`` stands alone: the envelope of every single-pool level; ``unmeasured-sram``
    falls back to the envelope of every level). A ``disaggregated`` level follows the
    single-pool chain of its suffix among the disaggregated levels, then that chain's levels
    composed with the fitted pooled deployment's error (``<level>+disaggregated``), ending at
    ``disaggregated-unmeasured`` (the envelope of every level); a ``max-throughput`` level
    first among the maximum-throughput levels, then ``max-throughput-unmeasured`` (the envelope of
    every single-pool level, for the throughput only), then along the single-pool chain of its
    suffix."""
    if (single := max_throughput_base(level)) is not None:
        plain = fallback_chain(single)
        mt = (f"{MAX_THROUGHPUT}-{k}" for k in plain if k != "unmeasured")
        return (*mt, MAX_THROUGHPUT_UNMEASURED, *plain)
    if _pooled(level):
        single = level.removeprefix(DISAGGREGATED).removeprefix("-")
        if single == "":  # the fitted profile's own level
            return (
                level,
                *(f"{DISAGGREGATED}-{k}" for k in fallback_chain("")[1:]),
                f"{DISAGGREGATED}-unmeasured",
            )
        plain = fallback_chain(single)
        composed = (f"{k}{COMPOSED}" for k in plain if k != "unmeasured")
        chain = (*(f"{DISAGGREGATED}-{k}" for k in plain), *composed)
        return tuple(dict.fromkeys((*chain, f"{DISAGGREGATED}-unmeasured")))
    if level == "unmeasured":
        return (level,)
    if level == SRAM_UNMEASURED:  # too few: the envelope of every level, the widest known
        return (level, f"{DISAGGREGATED}-unmeasured")
    if level in ("transfer", "default"):
        return tuple(dict.fromkeys((level, "default")))
    if level in ("new-hardware", "new-model"):
        return (level, "transfer", "default")
    return (level, "new-model", "transfer", "default")


def bounds(
    level: str, metric: str, value: float, table: dict[str, Any] | None = None
) -> tuple[float, float] | None:
    """The 80% interval of a predicted ``value`` of ``metric`` at ``level`` (None if unknown):
    the level's own residual quantiles (of ``metric``, else of its :data:`SISTERS` at the same
    level), else the next level of the chain with enough rows (:func:`fallback_chain`;
    ``unmeasured`` / ``disaggregated-unmeasured``: the envelope of the levels they span, per
    metric; ``<level>+disaggregated``: that level composed with ``disaggregated``,
    :func:`_composed`).

    The interval always contains ``value``: a level whose residuals all lean one way (q10 > 0 or
    q90 < 0) is widened to the prediction itself rather than excluding it."""
    table = load_intervals() if table is None else table
    for key in fallback_chain(level):
        q = _quantiles(key, metric, table)
        if q is not None:
            q10, q90 = min(q[0], 0.0), max(q[1], 0.0)
            return value * math.exp(-q90), value * math.exp(-q10)
    return None


def interval_source(level: str, metric: str = "tok_s_per_gpu", table: dict[str, Any] | None = None) -> str:
    """Where the quantiles of ``metric`` at ``level`` come from, for ``--explain``: "" when the
    level's own residuals bound it, else the level of :func:`fallback_chain` that does and why
    each one before it was passed over (too few rows, or residuals from one held-out group)."""
    table = load_intervals() if table is None else table
    skipped: list[str] = []
    for key in fallback_chain(level):
        if _quantiles(key, metric, table) is not None:
            if not skipped:
                return ""
            how = (
                f", '{key.removesuffix(COMPOSED)}' and '{DISAGGREGATED}' as independent errors (centres "
                "add, half-widths in quadrature)"
                if key.endswith(COMPOSED)
                else ", the envelope of every single-pool level"
                if key == MAX_THROUGHPUT_UNMEASURED
                else ""
            )
            return f"its quantiles come from '{key}'{how} ({'; '.join(skipped)})"
        if key.endswith(COMPOSED):
            skipped.append(f"'{key}': '{key.removesuffix(COMPOSED)}' or '{DISAGGREGATED}' too few")
            continue
        if key == MAX_THROUGHPUT_UNMEASURED and metric not in MAX_THROUGHPUT_METRICS:
            skipped.append(f"'{key}': bounds only {', '.join(MAX_THROUGHPUT_METRICS)}")
            continue
        entry = table.get(key, {}).get(metric, {})
        n, groups = int(entry.get("n", 0)), int(entry.get("groups", MIN_GROUPS))
        why = f"{n} residuals" if n < MIN_ROWS else f"residuals from {groups} held-out group"
        skipped.append(f"'{key}': {why}")
    return ""


def _bounded(level: str, d: dict[str, Any], table: dict[str, Any] | None, throughput: bool) -> dict[str, Any]:
    """``d`` with ``<key>_low`` / ``<key>_high`` right after each key of :data:`SUMMARY_METRICS`."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        out[key] = value
        metric = SUMMARY_METRICS.get(key)
        if metric is None or (metric == "tok_s_per_gpu" and not throughput):
            continue
        if isinstance(value, dict):
            pairs = {
                q: None if v is None else bounds(level, metric, float(v), table) for q, v in value.items()
            }
            if any(b is not None for b in pairs.values()):
                out[f"{key}_low"] = {q: None if b is None else b[0] for q, b in pairs.items()}
                out[f"{key}_high"] = {q: None if b is None else b[1] for q, b in pairs.items()}
        elif isinstance(value, (int, float)):
            b = bounds(level, metric, float(value), table)
            if b is not None:
                out[f"{key}_low"], out[f"{key}_high"] = b
    return out


def summary_intervals(
    summary: dict[str, Any], level: str, table: dict[str, Any] | None = None, throughput: bool = True
) -> dict[str, Any]:
    """A simulate summary with the 80% intervals of ``level`` (the fallback-chain level that
    ``predict`` reports for the same deployment's profile) next to each figure of
    :data:`SUMMARY_METRICS`, in it and in its ``steady_state``; ``interval_level`` names it.

    The interval is the model's error, not the simulation's sampling spread: each simulated
    figure is scaled by the same held-out residual quantiles as a predicted one.
    ``throughput=False`` (open-loop arrivals: tok/s per chip is the offered load while the
    deployment keeps up, not the model's figure) bounds only latencies and tok/s per user.
    """
    out = _bounded(level, summary, table, throughput)
    if isinstance(summary.get("steady_state"), dict):
        out["steady_state"] = _bounded(level, summary["steady_state"], table, throughput)
    out["interval_level"] = level
    return out


def summary_interval_text(summary: dict[str, Any]) -> str | None:
    """One line for a table: the 80% intervals of tok/s per chip, and of the P50 tok/s per user
    (1 / P50 TPOT: the median request's decode speed), TPOT and TTFT of a summary from
    :func:`summary_intervals` (``None`` when it has none)."""
    parts = []
    if "total_tok_s_per_chip_low" in summary:
        lo, hi = summary["total_tok_s_per_chip_low"], summary["total_tok_s_per_chip_high"]
        parts.append(f"total tok/s per chip {lo:,.4g}-{hi:,.4g}")
    lo, hi = ((summary.get(f"tpot_s_{end}") or {}).get("p50") for end in ("low", "high"))
    if lo and hi:
        parts.append(f"tok/s per user P50 {1 / hi:,.4g}-{1 / lo:,.4g}")
    for key, label in (("tpot_s", "TPOT"), ("ttft_s", "TTFT")):
        lo, hi = ((summary.get(f"{key}_{end}") or {}).get("p50") for end in ("low", "high"))
        if lo is not None and hi is not None:
            parts.append(f"{label} P50 {lo * 1e3:,.4g}-{hi * 1e3:,.4g} ms")
    if not parts:
        return None
    return f"{'; '.join(parts)} (level {summary.get('interval_level', '?')})"
