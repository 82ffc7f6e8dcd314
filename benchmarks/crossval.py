"""Cross-validated residuals -> the 80% prediction intervals every prediction carries, and the
held-out evidence per split (issue 11).

    python benchmarks/crossval.py                 # writes catalog/intervals.toml, then the splits
    python benchmarks/crossval.py --no-splits     # only the interval table (about a minute)
    python benchmarks/crossval.py --no-write --jobs 2 --json   # only the splits, two processes
    python benchmarks/crossval.py --ape-only --jobs 2 --folds  # held-out APE only (minutes)

Residual = log(predicted / measured) of a row the fit did not see. Rows: the three bundled measured
sets (``calibration``, ``max_throughput``, ``disagg``); a profile is fitted (``calibrate``) on the
sets in ``validation.BUNDLED_MEASURED["measured"]``, the others are only predicted.

**Interval table** (:func:`interval_table`, what ``catalog/intervals.toml`` holds per level of the
profile fallback chain, see ``tokenfrontier.intervals``): each level's residuals come from the
split that matches the situation it describes (a residual goes to the level its held-out
prediction reports):

- each fitted profile: 5-fold cross-validation (rows assigned to folds at random, seed 0);
- ``new-hardware`` (and ``transfer``, ``unmeasured``): leave one hardware out;
- ``new-model``: leave one model out;
- ``transfer`` and ``unmeasured``: leave one hardware family out;
- ``default``: leave a whole stack out (stack left open: the defaults of what remains);
- ``unmeasured-sram``: leave one family out on the SRAM machines (one SRAM vendor predicted from
  the other's profiles or the SRAM default);
- the disaggregated rows' own levels (``disaggregated``, ``disaggregated-new-model``, ...,
  ``disaggregated-unmeasured``): the same splits, the level a held-out disaggregated row reports;
- the maximum-throughput rows' own levels (``max-throughput-hopper-trt``,
  ``max-throughput-new-hardware``, ...): likewise, each residual also counted at the unprefixed
  level of the same name;
- rows of a set nothing is fitted on: predicted with the profiles fitted on all fitted rows (the
  bundled table: the bundled profiles).

**Held-out splits** (:data:`SPLITS`): leave-one-hardware-out, leave-one-model-out,
leave-one-stack-out (stacks by canonical name: ``dynamo-trt`` is TensorRT-LLM), fit-old-predict-new
(rows dated before ``--cutoff`` and undated rows fit, the rest are predicted), and a random 5-fold
split for reference. For each held-out fold the profiles are fitted on the other folds only, and
the 80% intervals of its predictions come from an interval table built the same way **from the
training folds only** (nested: the held-out rows inform neither the fit nor the interval). A
held-out row whose stack no training row has is predicted as a user would ask for it: with the
stack left open (the family's or memory kind's default profile). Per split it prints the median
APE of tok/s per user and tok/s per GPU and the share of held-out measurements inside the 80%
interval; rows with no interval at any level count as outside. The nested tables use
``--inner-folds`` folds and compute the ``transfer`` / ``default`` residuals only where
``intervals.bounds`` reaches them for a held-out prediction (the same intervals, fewer fits).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tokenfrontier.calibration import calibrate
from tokenfrontier.catalog import default_catalog
from tokenfrontier.errors import TokenFrontierError
from tokenfrontier.intervals import (
    DISAGGREGATED,
    INTERVALS_FILE,
    MAX_THROUGHPUT,
    MAX_THROUGHPUT_UNMEASURED,
    SRAM_UNMEASURED,
    bounds,
    enough_evidence,
    fallback_chain,
    max_throughput_base,
    stand_ins,
)
from tokenfrontier.profiles import Profile, canonical_framework, known_frameworks
from tokenfrontier.validation import BUNDLED_MEASURED, read_measured, row_kind, validate

METRICS = ("tok_s_per_user", "tok_s_per_gpu", "ttft_ms", "tpot_ms")
HEADLINE = ("tok_s_per_user", "tok_s_per_gpu")
SETS = ("calibration", "max_throughput", "disagg")
TARGET_APE_PCT, TARGET_SRAM_APE_PCT, TARGET_COVERAGE_PCT = 15.0, 20.0, (75.0, 85.0)  # issue 11
#: level -> metric -> residuals, each with the held-out group it came from (a model, a chip, a
#: stack left out; a row of its own in random k-fold). A bare float is a group of its own.
Residuals = dict[str, dict[str, list[float | tuple[float, str]]]]


@dataclass(frozen=True)
class Row:
    """One measured row, the set it came from and its position in the combined list."""

    n: int
    set: str
    raw: dict[str, str]

    @property
    def fitted_on(self) -> bool:
        return set(BUNDLED_MEASURED[self.set]) <= set(BUNDLED_MEASURED["measured"])

    def get(self, key: str) -> str:
        return (self.raw.get(key) or "").strip()


def load_rows() -> list[Row]:
    """Every row of the three bundled measured sets."""
    out: list[Row] = []
    for name in SETS:
        out += [Row(len(out) + k, name, r) for k, r in enumerate(read_measured(name))]
    return out


def _write(rows: Iterable[dict[str, str]], path: Path) -> None:
    rows = list(rows)
    names = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)


_FITS: dict[frozenset[int], dict[str, Profile]] = {}


def fit(rows: list[Row]) -> dict[str, Profile]:
    """Profiles ``calibrate`` fits on the fitted-set rows of ``rows`` (cached by row set)."""
    key = frozenset(r.n for r in rows if r.fitted_on)
    if key not in _FITS:
        use = [r.raw for r in rows if r.n in key]
        if not use:
            _FITS[key] = {}
        else:
            with tempfile.TemporaryDirectory() as tmp:
                _write(use, Path(tmp) / "fit.csv")
                _FITS[key] = {p.id: p for p in calibrate(Path(tmp) / "fit.csv", Path(tmp) / "prof")}
    return _FITS[key]


@dataclass
class Held:
    """The held-out predictions of one row: its interval level and (predicted, measured) per
    metric."""

    row: Row
    level: str
    values: dict[str, tuple[float, float]] = field(default_factory=dict)


def predict(profiles: dict[str, Profile], rows: list[Row], force: str = "") -> list[Held]:
    """Predict ``rows`` with ``profiles`` (the grouped validation path); a row whose stack no
    profile knows is asked for with the family's default profile. ``force`` overrides the level."""
    if not profiles or not rows:
        return []
    stacks = known_frameworks(profiles)
    asked = []
    for r in rows:
        raw = dict(r.raw)
        if canonical_framework(raw.get("framework")) not in stacks:
            raw["framework"] = "default"  # a stack no profile knows: the family's default
        asked.append(raw)
    with tempfile.TemporaryDirectory() as tmp:
        _write(asked, Path(tmp) / "test.csv")
        v = validate(Path(tmp) / "test.csv", profiles=profiles)
    out = []
    for r, pred in zip(rows, v.rows, strict=True):
        if pred.get("status") != "predicted":
            continue
        held = Held(r, force or pred["interval_level"])
        for m in METRICS:
            p, meas = pred.get(f"pred_{m}"), r.get(m)
            if p and meas and float(meas) > 0 and p > 0:
                held.values[m] = (float(p), float(meas))
        out.append(held)
    return out


def _add(
    out: Residuals,
    held: Iterable[Held],
    seen: set[tuple[str, str, int, float]] | None = None,
    group: str = "",
) -> None:
    """Append the residuals of ``held`` to their levels, tagged with ``group`` (the value a
    leave-one-out block left out; "" = each row its own group). ``seen``: a row predicted the same
    way by two blocks (a family of one chip left out by hardware and by family, or of one stack by
    stack too) counts once at a level, so ``MIN_ROWS`` counts distinct measurements. A
    maximum-throughput row's residual also counts at the unprefixed level of the same name."""
    for h in held:
        single = max_throughput_base(h.level)
        levels = [h.level] if single is None else [h.level, single]
        for m, (p, meas) in h.values.items():
            r = math.log(p / meas)
            key = (h.level, m, h.row.n, round(r, 9))
            if seen is not None:
                if key in seen:
                    continue
                seen.add(key)
            for level in levels:
                out[level][m].append((r, group or f"row {h.row.n}"))


#: The levels each block of :func:`interval_residuals` produces (a block runs only where some
#: asked level needs one of them).
BLOCK_LEVELS = {
    "hardware": ("new-hardware", "transfer", "unmeasured", SRAM_UNMEASURED),
    "model": ("new-model",),
    "family": ("transfer", "unmeasured", SRAM_UNMEASURED),
    "stack": ("default", "unmeasured", SRAM_UNMEASURED),
}
# ... and the same levels of disaggregated rows (``disaggregated-new-hardware``, ...) and of
# maximum-throughput rows (``max-throughput-new-hardware``, ...; theirs ends at ``unmeasured``)
BLOCK_LEVELS = {k: (*v, *(f"{DISAGGREGATED}-{lvl}" for lvl in v if lvl != SRAM_UNMEASURED),
                    *(f"{MAX_THROUGHPUT}-{lvl}" for lvl in v if lvl not in ("unmeasured", SRAM_UNMEASURED)))
                for k, v in BLOCK_LEVELS.items()}  # fmt: skip
# spans of every level: need all blocks
_ENVELOPES = ("unmeasured", f"{DISAGGREGATED}-unmeasured", MAX_THROUGHPUT_UNMEASURED)


def _tagged(items: Iterable[float | tuple[float, str]]) -> list[tuple[float, str]]:
    """(residual, held-out group) pairs; a bare float is a group of its own."""
    return [x if isinstance(x, tuple) else (x, f"#{k}") for k, x in enumerate(items)]


def _enough(items: Iterable[float | tuple[float, str]]) -> bool:
    """Whether residuals bound a level by themselves (``intervals.enough_evidence``)."""
    tagged = _tagged(items)
    return enough_evidence(len(tagged), len({g for _, g in tagged}))


def _wants(levels: Iterable[str], res: Residuals, asked: set[tuple[str, str]] | None) -> bool:
    """Whether some asked (level, metric) needs the residuals of one of ``levels``: walking its
    fallback chain, one of ``levels`` or an envelope (``unmeasured``: every level's quantiles)
    comes before a level with enough rows."""
    if asked is None:
        return True
    # a composed level (``new-hardware+disaggregated``) has no residuals of its own and is never
    # in ``levels``: the walk passes it and ends at the ``disaggregated-unmeasured`` envelope,
    # so every block its parts need runs
    for own, metric in asked:
        for key in fallback_chain(own):
            names = [m for m, _ in stand_ins(key, metric)]  # bounds() reads these
            if key in levels or key in _ENVELOPES:
                return True
            if any(_enough(res.get(key, {}).get(m, ())) for m in names):
                break
    return False


def _leave_one_out(
    out: Residuals,
    fitted: list[Row],
    key: Callable[[Row], str],
    force: str = "",
    seen: set[tuple[str, str, int, float]] | None = None,
) -> None:
    """Fit without each value of ``key`` in turn, predict its rows (at the level the prediction
    reports, or ``force``); ``seen`` as in :func:`_add`."""
    for value in sorted({key(r) for r in fitted}):
        train = [r for r in fitted if key(r) != value]
        held = predict(fit(train), [r for r in fitted if key(r) == value], force=force)
        _add(out, held, seen, group=value)


def _family(r: Row) -> str:
    try:
        return default_catalog().system(r.get("hardware")).chip.family
    except TokenFrontierError:
        return r.get("hardware")


def interval_residuals(
    rows: list[Row],
    folds: int = 5,
    seed: int = 0,
    unfitted: dict[str, Profile] | None = None,
    asked: set[tuple[str, str]] | None = None,
) -> Residuals:
    """Held-out residuals per fallback level on ``rows``, each level from the split that matches
    it (a residual goes to the level its held-out prediction reports):

    - random ``folds``-fold cross-validation (seed ``seed``): the profiles' own levels;
    - leave-one-hardware-out: ``new-hardware`` (the family still fitted on other hardware),
      ``transfer`` (the stack fitted on another family only), ``unmeasured``;
    - leave-one-model-out: ``new-model``;
    - leave-one-family-out: ``transfer`` and ``unmeasured`` (a family never measured);
    - leave-one-stack-out, the stack left open: ``default`` (``unmeasured`` where the family
      has no other stack);
    - a disaggregated row goes to the ``disaggregated`` level of the same split
      (``disaggregated-new-hardware``, ...) and an SRAM machine's ``unmeasured`` to
      ``unmeasured-sram`` (``intervals.level_of``); a maximum-throughput row to its
      ``max-throughput`` level and to the unprefixed one;
    - rows no profile is fitted on: predicted with ``unfitted`` (default: a fit on all fitted
      rows of ``rows``).

    A row that two leave-one-out blocks predict the same way (a family of one chip, or of one
    stack) counts once at its level.

    ``asked``: the (level, metric) pairs the table will bound; a block runs only where
    :func:`~tokenfrontier.intervals.bounds` would reach one of its levels (same intervals,
    fewer fits)."""
    out: Residuals = defaultdict(lambda: defaultdict(list))
    fitted = [r for r in rows if r.fitted_on]
    fold = np.random.default_rng(seed).integers(0, folds, len(fitted))
    for f in range(folds):
        train = [r for r, k in zip(fitted, fold, strict=True) if k != f]
        _add(out, predict(fit(train), [r for r, k in zip(fitted, fold, strict=True) if k == f]))
    others = [r for r in rows if not r.fitted_on]
    _add(out, predict(fit(fitted) if unfitted is None else unfitted, others))
    seen: set[tuple[str, str, int, float]] = set()  # each (level, row, prediction) once
    if _wants(BLOCK_LEVELS["hardware"], out, asked):
        _leave_one_out(out, fitted, lambda r: r.get("hardware"), seen=seen)
    if _wants(BLOCK_LEVELS["model"], out, asked):
        _leave_one_out(out, fitted, lambda r: r.get("model"), seen=seen)
    if _wants(BLOCK_LEVELS["family"], out, asked):
        _leave_one_out(out, fitted, _family, seen=seen)
    if _wants(BLOCK_LEVELS["stack"], out, asked):
        _leave_one_out(out, fitted, _stack, seen=seen)  # the stack left open: the level predict reports
    return out


def quantiles(res: Residuals) -> dict[str, dict[str, dict[str, float]]]:
    """Residuals -> the interval table (``n``, ``groups``: distinct held-out groups, ``q10``,
    ``q90``, ``median_ape_pct`` per level and metric), as :func:`tokenfrontier.intervals.bounds`
    reads it."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for level in sorted(res):
        for m in METRICS:
            items = _tagged(res[level].get(m, ()))
            if not items:
                continue
            r = np.array([x for x, _ in items])
            q10, q90 = np.percentile(r, [10, 90])
            ape = 100 * float(np.median(np.abs(np.exp(r) - 1)))  # |pred - meas| / meas
            table.setdefault(level, {})[m] = {"n": len(r), "groups": len({g for _, g in items}),
                                              "q10": float(q10), "q90": float(q90),
                                              "median_ape_pct": ape}  # fmt: skip
    return table


def interval_table(rows: list[Row], **kw: Any) -> dict[str, dict[str, dict[str, float]]]:
    """The interval table of ``rows`` (:func:`interval_residuals`, then :func:`quantiles`)."""
    return quantiles(interval_residuals(rows, **kw))


def render_toml(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """``catalog/intervals.toml`` of a table (4 decimals on the quantiles, 1 on the APE)."""
    lines = [
        "# 80% prediction intervals: 10th/90th percentiles of log(predicted / measured), held-out rows.",
        "# Written by `python benchmarks/crossval.py` (see tokenfrontier.intervals).",
        "",
    ]
    for level, metrics in table.items():
        lines.append(f'["{level}"]')
        for m, e in metrics.items():
            lines.append(
                f"{m} = {{ n = {e['n']}, groups = {e['groups']}, q10 = {e['q10']:.4f}, "
                f"q90 = {e['q90']:.4f}, "
                f"median_ape_pct = {e['median_ape_pct']:.1f} }}"
            )
        lines.append("")
    return "\n".join(lines)


# -- held-out splits ---------------------------------------------------------------------------
Folds = list[tuple[str, Callable[[Row], bool]]]  # (fold name, is this row held out)


def _by(key: Callable[[Row], str], rows: list[Row]) -> Folds:
    return [(v, lambda r, _v=v: key(r) == _v) for v in sorted({key(r) for r in rows})]


def _sram(hardware: str) -> bool:
    try:
        return default_catalog().system(hardware).chip.kind == "sram"
    except TokenFrontierError:
        return False


def _stack(r: Row) -> str:
    return canonical_framework(r.get("framework"))


def split_folds(name: str, rows: list[Row], cutoff: str) -> Folds:
    """The held-out folds of split ``name`` (see :data:`SPLITS`)."""
    if name == "hardware":
        return _by(lambda r: r.get("hardware"), rows)
    if name == "model":
        return _by(lambda r: r.get("model"), rows)
    if name == "stack":
        return _by(_stack, rows)
    if name == "date":
        return [(f">= {cutoff}", lambda r: bool(r.get("date")) and r.get("date") >= cutoff)]
    if name == "random":
        fold = np.random.default_rng(1).integers(0, 5, len(rows))
        return [(f"fold {f}", lambda r, _f=f: bool(fold[r.n] == _f)) for f in range(5)]
    raise SystemExit(f"unknown split '{name}'; valid: {', '.join(SPLITS)}")


SPLITS = {
    "hardware": "leave one hardware out",
    "model": "leave one model out",
    "stack": "leave one stack out",
    "date": "fit old, predict new (by date)",
    "random": "random 5-fold (reference)",
}


def held_out(
    rows: list[Row], is_test: Callable[[Row], bool], inner_folds: int, intervals: bool = True
) -> list[dict[str, Any]]:
    """Predictions of the held-out rows with profiles and intervals from the training rows only:
    one dict per (row, metric) with the APE and whether the measurement is inside the interval
    (``None`` without ``intervals``: the APE alone, no nested interval table, ~20x faster)."""
    train = [r for r in rows if not is_test(r)]
    test = [r for r in rows if is_test(r)]
    if not test or not any(r.fitted_on for r in train):
        return []
    profiles = fit(train)
    held = predict(profiles, test)
    asked = {(h.level, m) for h in held for m in h.values}
    table = interval_table(train, folds=inner_folds, unfitted=profiles, asked=asked) if intervals else {}
    out = []
    for h in held:
        single_sram = row_kind(h.row.raw) == "single-stream" and _sram(h.row.get("hardware"))
        for m, (p, meas) in h.values.items():
            b = bounds(h.level, m, p, table) if intervals else None
            inside = (b is not None and b[0] <= meas <= b[1]) if intervals else None
            out.append({"row": h.row.n, "metric": m, "level": h.level, "sram_single_stream": single_sram,
                        "ape": abs(p - meas) / meas, "inside": inside})  # fmt: skip
    return out


def summarize(name: str, fold: str, records: list[dict[str, Any]], rows_out: int) -> dict[str, Any]:
    """Median APE and share inside the 80% interval per headline metric."""
    line: dict[str, Any] = {"split": name, "fold": fold, "rows": len({r["row"] for r in records}),
                            "rows_held_out": rows_out}  # fmt: skip
    for m in HEADLINE:
        sel = [r for r in records if r["metric"] == m]
        inside = [r["inside"] for r in sel]
        line[m] = (
            {"n": len(sel), "median_ape_pct": round(100 * float(np.median([r["ape"] for r in sel])), 1),
             "in_interval_pct": None if None in inside else round(100 * float(np.mean(inside)), 1)}
            if sel else None
        )  # fmt: skip
    return line


MIN_BOOT_FOLDS = 3  # folds a split needs before redrawing them says anything


def fold_bootstrap(
    per_fold: list[list[dict[str, Any]]], reps: int = 2000, seed: int = 0
) -> dict[str, dict[str, list[float] | None]]:
    """90% interval of each headline statistic (median APE %, share inside the 80% interval %)
    over ``reps`` redraws of the held-out folds with replacement. The folds, not the rows, are the
    independent draws: the rows of one fold share what was left out (one hardware, model or
    stack), so a split with few folds carries a wide interval on its own figures. Only the folds
    with rows of a metric are redrawn for it; fewer than ``MIN_BOOT_FOLDS`` of them (the date
    split has one fold): no interval for that metric."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, list[float] | None]] = {}
    for m in HEADLINE:
        folds = [[r for r in f if r["metric"] == m] for f in per_fold]
        folds = [f for f in folds if f]
        k = len(folds)
        if k < MIN_BOOT_FOLDS:
            continue
        ape = [np.array([r["ape"] for r in f]) for f in folds]
        has_cov = all(r["inside"] is not None for f in folds for r in f)
        inside = [np.array([r["inside"] for r in f], dtype=float) if has_cov else np.array([]) for f in folds]
        meds, covs = [], []
        for _ in range(reps):
            pick = rng.integers(0, k, k)
            a = np.concatenate([ape[i] for i in pick])
            meds.append(100 * float(np.median(a)))
            if has_cov:
                covs.append(100 * float(np.mean(np.concatenate([inside[i] for i in pick]))))

        def ci(v: list[float]) -> list[float] | None:
            return [round(float(x), 1) for x in np.percentile(v, [5, 95])] if v else None

        out[m] = {"median_ape_ci": ci(meds), "in_interval_ci": ci(covs)}
    return out


def with_bootstrap(line: dict[str, Any], per_fold: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """``line`` (an all-folds summary) with each headline metric's :func:`fold_bootstrap` keys."""
    for m, cis in fold_bootstrap([f for f in per_fold if f]).items():
        if line.get(m):
            line[m].update(cis)
    return line


_ROWS: list[Row] = []  # the rows of the run (read once; forked workers share them)
_PARTIAL = os.environ.get("CROSSVAL_PARTIAL", "")  # a JSON-lines file of finished folds


def _task(args: tuple[str, int, str, int, bool]) -> tuple[str, str, int, list[dict[str, Any]]]:
    name, k, cutoff, inner_folds, intervals = args
    fold, is_test = split_folds(name, _ROWS, cutoff)[k]
    t = time.time()
    rec = held_out(_ROWS, is_test, inner_folds, intervals)
    n_test = sum(map(is_test, _ROWS))
    print(f"  {name} / {fold}: {n_test} rows held out, {len({r['row'] for r in rec})} predicted "
          f"({time.time() - t:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
    if _PARTIAL:  # each fold's records as they finish (a long run can be summarized part way)
        with open(_PARTIAL, "a") as fh:
            fh.write(json.dumps({"split": name, "fold": k, "held_out": n_test, "records": rec}) + "\n")
    return name, fold, n_test, rec


def run_splits(
    rows: list[Row],
    names: list[str],
    cutoff: str,
    inner_folds: int,
    jobs: int = 1,
    folds: bool = False,
    levels: bool = False,
    intervals: bool = True,
) -> list[dict[str, Any]]:
    """Held-out results per split (and its SRAM single-stream rows; with ``folds`` each fold
    too, with ``levels`` the rows of each interval level), folds on ``jobs`` processes; without
    ``intervals`` the median APE alone (no nested interval tables)."""
    import multiprocessing

    _ROWS[:] = rows
    n_folds = {n: len(split_folds(n, rows, cutoff)) for n in names}
    tasks = [(n, k, cutoff, inner_folds, intervals) for n in names for k in range(n_folds[n])]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_task, tasks, chunksize=1)
    else:
        results = list(map(_task, tasks))
    lines = []
    for name in names:
        records = [r for n, _, _, rec in results if n == name for r in rec]
        held_rows = sum(t for n, _, t, _ in results if n == name)
        per_fold = [rec for n, _, _, rec in results if n == name]
        lines.append(with_bootstrap(summarize(SPLITS[name], "all folds", records, held_rows), per_fold))
        sram = [r for r in records if r["sram_single_stream"]]
        if sram:
            lines.append(summarize(SPLITS[name], "SRAM single-stream rows",
                                   sram, len({r["row"] for r in sram})))  # fmt: skip
        if levels:
            for lvl in sorted({r["level"] for r in records}):
                sel = [r for r in records if r["level"] == lvl]
                lines.append(summarize(SPLITS[name], f"level {lvl}", sel, len({r["row"] for r in sel})))
        if folds:
            lines += [summarize(SPLITS[name], f, rec, t) for n, f, t, rec in results if n == name and rec]
    return lines


def _cell(s: dict[str, Any] | None, key: str) -> str:
    """One figure, with its fold-bootstrap interval where the line has one ("18.2 (12.1-24.0)")."""
    if s is None or s[key] is None:
        return "-"
    ci = s.get(key.replace("_pct", "_ci"))
    return f"{s[key]:.1f}" + (f" ({ci[0]:.1f}-{ci[1]:.1f})" if ci else "")


def split_table(lines: list[dict[str, Any]]) -> str:
    """The splits as a Markdown table (what the README shows)."""
    out = [
        "| split | rows predicted / held out | tok/s/user median APE % | tok/s/GPU median APE % "
        "| tok/s/user in 80% interval % | tok/s/GPU in 80% interval % |",
        "|---|---|---|---|---|---|",
    ]
    for s in lines:
        split = s["split"] if s["fold"] == "all folds" else f"{s['split']}: {s['fold']}"
        u, g = s["tok_s_per_user"], s["tok_s_per_gpu"]
        cells = [_cell(u, "median_ape_pct"), _cell(g, "median_ape_pct"), _cell(u, "in_interval_pct"),
                 _cell(g, "in_interval_pct")]  # fmt: skip
        out.append(f"| {split} | {s['rows']} / {s['rows_held_out']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--no-write", action="store_true", help="skip the interval table (catalog/intervals.toml)"
    )
    ap.add_argument("--no-splits", action="store_true", help="only the interval table")
    ap.add_argument("--splits", default=",".join(SPLITS), help=f"comma list of: {', '.join(SPLITS)}")
    ap.add_argument(
        "--cutoff", default="2026-01-01", help="fit-old-predict-new: rows dated on or after are held out"
    )
    ap.add_argument("--inner-folds", type=int, default=5, help="folds of the nested interval table")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the held-out folds")
    ap.add_argument("--folds", action="store_true", help="a line per held-out fold too")
    ap.add_argument("--levels", action="store_true", help="a line per interval level too")
    ap.add_argument("--json", action="store_true", help="print JSON (stable keys) instead of tables")
    ap.add_argument(
        "--ape-only",
        action="store_true",
        help="the held-out median APE alone: no interval tables, nested or bundled (implies --no-write; "
        "a few minutes instead of an hour, to screen a change to the physics or the fit)",
    )
    args = ap.parse_args(argv)
    args.no_write = args.no_write or args.ape_only
    rows = load_rows()
    table: dict[str, dict[str, dict[str, float]]] = {}
    if not args.no_write:
        t = time.time()
        # the bundled table: rows nothing is fitted on are predicted with the bundled profiles
        table = interval_table(rows, unfitted=default_catalog().profiles)
        print(f"interval table: {time.time() - t:.0f} s", file=sys.stderr)
        INTERVALS_FILE.write_text(render_toml(table))
    lines = (
        []
        if args.no_splits
        else run_splits(
            rows,
            args.splits.split(","),
            args.cutoff,
            args.inner_folds,
            args.jobs,
            args.folds,
            args.levels,
            intervals=not args.ape_only,
        )
    )
    if args.json:
        print(json.dumps({"intervals": table, "splits": lines}, indent=2))
        return
    if table:
        print(f"{'level':34s} {'metric':15s} {'n':>4s} {'median APE %':>12s} {'q10':>7s} {'q90':>7s}")
    for level, metrics in table.items():
        for m, e in metrics.items():
            print(
                f"{level:34s} {m:15s} {e['n']:4d} {e['median_ape_pct']:12.1f} {e['q10']:7.3f} {e['q90']:7.3f}"
            )
    if not args.no_write:
        print(f"wrote {INTERVALS_FILE}")
    if lines:
        print()
        print(split_table(lines))
        lo, hi = TARGET_COVERAGE_PCT
        print(
            f"targets (issue 11): median APE <= {TARGET_APE_PCT:g}% (SRAM single-stream <= "
            f"{TARGET_SRAM_APE_PCT:g}%), {lo:g}-{hi:g}% of held-out rows inside the 80% interval"
        )


if __name__ == "__main__":
    main()
