"""``calibrate``: fit the few physical parameters of one efficiency profile per hardware family x
serving stack on a measured CSV and write them as TOML, each stating the rows it was fitted on
and the fit error. Family and memory-kind defaults are geometric means of the fitted profiles.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, default_catalog
from .errors import InvalidInputError, TokenFrontierError
from .outputs import check_folder, safe_name, write_folder
from .profiles import Profile, canonical_framework
from .sweep import Layout
from .validation import (
    METRICS,
    Groups,
    Picked,
    cell_number,
    check_row,
    error_stats,
    pick_groups,
    pick_groups_batch,
    plan_groups,
    read_measured,
    row_era,
    row_kind,
    validate_rows,
)

__all__ = ["calibrate"]

#: Starting point of every fit (a prior, not a fitted value): typical GPU serving stack and a
#: dataflow machine with microsecond-scale per-layer latency. A GPU's decode GEMM efficiency
#: starts where its prefill one does (0.4): at a large batch decode runs the same weight GEMMs
#: (TensorRT-LLM fits 0.40 on Hopper; the H100 / H200 runs of ``benchmarks/device`` match a plain
#: PyTorch decoder's batch-256 step at 0.27 / 0.33, and a serving stack fuses more; 0.2 had it
#: 1.31x / 1.56x slow; docs/methods.md section 5).
_PRIORS: dict[str, dict[str, Any]] = {
    "hbm": dict(
        bandwidth_efficiency=0.8, flops_efficiency=0.4, decode_flops_efficiency=0.4,
        kernel_latency_s=5e-6, collective_latency_s=10e-6, step_overhead_s=1e-3,
        request_overhead_s=0.02, a2a_latency_s=20e-6, arrival_scv=1.0, prefill_passes=1.0,
    ),
    "sram": dict(
        bandwidth_efficiency=0.8, flops_efficiency=0.3, decode_flops_efficiency=0.3,
        kernel_latency_s=1e-6, mesh_hop_latency_s=0.1e-6, collective_latency_s=1e-6,
        step_overhead_s=50e-6, request_overhead_s=0.0,
    ),
}  # fmt: skip

_PRIOR_WEIGHT = 0.3  # per parameter, against one log-error residual per measured metric
#: A GPU profile's latency terms (per kernel, per all-reduce, per all-to-all round, per step) add
#: up to one constant per step for a given model and deployment: only rows that differ in kernels
#: per layer (models), TP or EP separate them, so under the weak prior the split drifts to
#: implausible values (a 0.9 µs kernel, a 1.4 µs 8-GPU all-reduce, no step overhead) that transfer
#: badly to a model the fit never saw. A firmer prior keeps the split near typical values unless
#: the rows demand otherwise (held out in ``benchmarks/crossval.py``: leave one model out
#: 19.7 / 21.8% -> 15.9 / 18.8% median APE; in sample 7.1 / 8.0% -> 7.8 / 8.4%; docs/methods.md).
_LATENCY_PRIOR_WEIGHT = 1.0
#: Scale c of the soft-L1 loss on each row's weighted log error (:func:`_soft_l1`): errors well
#: under c count squared, errors beyond it about linearly, so a few rows a profile cannot explain
#: (a batch cap or a KV dtype the row does not state) pull the rest of their group less. A TTFT
#: enters at half weight, so its own scale is 2c. c = 0.2 is about the spread a group the model
#: does explain still shows (disaggregated rows 12-15% in sample): the rows inside it are fitted
#: as by least squares. Screened at c = 0.05, 0.1, 0.2 (docs/methods.md section 5): smaller c
#: lowered held-out errors a little more but let the fit give up on whole disaggregated groups
#: (their in-sample tok/s per user 12.3% -> 15.5% at 0.05), because beyond c a row's pull no
#: longer grows with its error while the priors' does. The hand-off fit (:func:`_fit_handoff`)
#: keeps squared errors: its TTFTs are soft-clipped at e-fold instead.
_ROBUST_SCALE = 0.2
_HBM_LATENCY = ("kernel_latency_s", "collective_latency_s", "step_overhead_s", "a2a_latency_s")

_HBM_PARAMS = (
    ("bandwidth_efficiency", 0.3, 1.0),
    ("flops_efficiency", 0.05, 1.0),
    ("kernel_latency_s", 0.0, 50e-6),
    ("collective_latency_s", 0.0, 200e-6),
    ("step_overhead_s", 0.0, 20e-3),
    ("decode_flops_efficiency", 0.005, 1.0),
    ("request_overhead_s", 0.0, 0.1),
    ("a2a_latency_s", 0.0, 500e-6),
)
#: largest log error a disaggregated row's TTFT contributes to a fit (soft clip, tanh)
_TTFT_CLIP = 1.0
#: The hand-off fit of a group with disaggregated rows (:func:`_fit_handoff`): batch formation at
#: the prefill worker in its one-token passes, and the burstiness of the arrivals at the prefill
#: pool (priors 1 and 1 from ``_PRIORS``). The decode worker's admission stays at the
#: ``handoff_steps`` default, half a decode step.
_HANDOFF_PARAMS = (("prefill_passes", 0.0, 50.0), ("arrival_scv", 0.1, 100.0))
_SRAM_PARAMS = (
    ("kernel_latency_s", 0.0, 50e-6),
    ("mesh_hop_latency_s", 0.0, 20e-6),
)
#: SRAM machines of one-tile chips (``cores`` = 1: a layer spreads over a chip group, not a
#: mesh of cores): the mesh hop has nothing to cross, the chip-boundary latency is what the rows
#: see; its prior is the system's catalog hop latency
_CHIP_GROUP_PARAMS = (
    ("kernel_latency_s", 0.0, 50e-6),
    ("link_latency_s", 0.0, 50e-6),
)
#: The vendor's speculative decoding in a current-era SRAM profile (prior, not fitted: a draft of
#: k = 4 tokens from a shallow draft model of 8 layers at the target's per-layer latency;
#: acceptance starts at 0.7, a typical per-token rate for a small same-family draft, and is
#: fitted). The silicon is the same in every era: a current-era profile starts from (and is
#: pulled towards, by the weak prior) the kernel floor and mesh hop (or chip link) its family's older era
#: measured; newer kernels may lower both (fewer crossings per layer), and the acceptance is fitted.
_SPEC_PRIOR: dict[str, Any] = dict(spec_k=4, spec_acceptance=0.7, spec_draft_layers=8.0)
_SPEC_PARAMS = (("spec_acceptance", 0.0, 0.95),)
_SILICON = ("kernel_latency_s", "mesh_hop_latency_s", "link_latency_s")  # carried across eras


def _prior_weights(kind: str, names: list[str]) -> np.ndarray:
    """Weight of each fitted parameter's log prior: firmer on a GPU profile's latency terms."""
    firm = _HBM_LATENCY if kind == "hbm" else ()
    return np.array([_LATENCY_PRIOR_WEIGHT if n in firm else _PRIOR_WEIGHT for n in names])


def _soft_l1(r: np.ndarray, c: float = _ROBUST_SCALE) -> np.ndarray:
    """Residuals whose squares sum to the soft-L1 loss 2 c^2 (sqrt(1 + (r / c)^2) - 1) of the
    weighted log errors ``r``: ~r for |r| << c, ~sign(r) sqrt(2 c |r|) for |r| >> c (the priors'
    terms stay quadratic: they are not measurements). Written as r sqrt(2 / (1 + sqrt(1 +
    (r / c)^2))), the same value without the cancellation of sqrt(1 + x^2) - 1 at small r."""
    return r * np.sqrt(2.0 / (1.0 + np.sqrt(1.0 + (r / c) ** 2)))


def _residuals(
    rows: list[dict[str, str]],
    errors: list[Exception | None],
    groups: Groups,
    prof: Profile,
    layouts: dict[tuple[Any, ...], Layout] | None = None,
    pool_ttft: bool = False,
) -> np.ndarray:
    """Log errors of every measured metric of ``rows`` under ``prof``: the rows planned once
    (:func:`~tokenfrontier.validation.plan_groups`), one sweep per group, each row's point as
    :func:`~tokenfrontier.validation.predict_row` picks it. ``layouts`` caches each group's
    candidates and memory fit (profile-free) across calls. A disaggregated row's TTFT counts
    only with ``pool_ttft`` (the hand-off fit, :func:`_fit_handoff`)."""
    picks = pick_groups(errors, _regroup(groups, prof), layouts=layouts)
    return _log_errors(rows, picks, pool_ttft)


def _residuals_batch(
    rows: list[dict[str, str]],
    errors: list[Exception | None],
    groups: Groups,
    profs: list[Profile],
    names: list[str],
    layouts: dict[tuple[Any, ...], Layout] | None = None,
) -> list[np.ndarray]:
    """:func:`_residuals` under each of ``profs`` (which differ only in the fields ``names``),
    all evaluated together: one profile whose ``names`` fields are arrays of shape
    (profiles, 1, 1), one sweep per group with a leading profile axis. Each element equals
    :func:`_residuals` under that profile: every formula is elementwise, so each profile's
    slice is computed with the same floating-point operations."""
    batch = profs[0].model_copy(
        update={n: np.array([getattr(p, n) for p in profs]).reshape(-1, 1, 1) for n in names}
    )
    picks = pick_groups_batch(errors, _regroup(groups, batch), len(profs), layouts)
    return [_log_errors(rows, picked) for picked in picks]


def _regroup(groups: Groups, prof: Profile) -> Groups:
    return {key: [(n, plan.with_profile(prof)) for n, plan in members] for key, members in groups.items()}


def _log_errors(rows: list[dict[str, str]], picks: list[Picked], pool_ttft: bool = False) -> np.ndarray:
    """Weighted log errors of the picked points against the measured metrics of ``rows``."""
    res = []
    for raw, picked in zip(rows, picks, strict=True):
        if isinstance(picked, TokenFrontierError):
            continue
        if isinstance(picked, Exception):
            raise picked
        plan, sw, j, i = picked
        # tok/s per user and per GPU, and (half weight) TTFT; a disaggregated row's TTFT (its
        # prefill pool's queue, remote prefill and KV hand-off) only in the hand-off fit
        metrics = METRICS[:2] if plan.pool is not None and not pool_ttft else METRICS[:2] + METRICS[3:4]
        for col, _, attr, scale in metrics:
            meas = cell_number(raw, col)
            value = float(sw.metrics[attr][i, j]) if i >= 0 else None
            if meas and meas > 0:
                weight = 0.5 if col == "ttft_ms" else 1.0
                p = value * scale if value else meas * 10
                r = math.log(p / meas)
                if plan.pool is not None and col == "ttft_ms":
                    # near saturation a disaggregated TTFT is ill-conditioned (Little's law on a
                    # capacity a few % off swings it 10x): bounded influence, at most e-fold
                    r = _TTFT_CLIP * math.tanh(r / _TTFT_CLIP)
                res.append(weight * r)
    return np.array(res)


class _TogetherMap:
    """A ``workers`` map for :func:`scipy.optimize.least_squares`: its finite-difference
    Jacobian hands over every perturbed point at once, and ``batch`` evaluates them together
    (the same values as one call of ``fun`` each). Should the batch fail, each point is
    evaluated alone, so an error surfaces exactly as it would without the map."""

    def __init__(self, batch: Callable[[list[np.ndarray]], list[np.ndarray]]) -> None:
        self.batch = batch

    def __call__(self, fun: Callable[[np.ndarray], np.ndarray], xs: Iterable[np.ndarray]) -> list[np.ndarray]:
        points = list(xs)
        if len(points) > 1:
            try:
                return self.batch(points)
            except Exception:  # any failure: one at a time, where a real error surfaces as before
                pass
        return [fun(x) for x in points]


def _takes_workers(fn: Callable[..., Any]) -> bool:
    """Whether this SciPy's ``least_squares`` accepts a ``workers`` map (SciPy >= 1.16)."""
    try:
        return "workers" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _fit_handoff(
    prof: Profile, rows: list[dict[str, str]], errors: list[Exception | None], planned: Groups
) -> Profile:
    """Second fit of a group with disaggregated rows: with the speed parameters of the first
    fit held, refit only what sets a disaggregated TTFT beyond its prefill and KV hand-off
    physics (batch formation in prefill passes, arrival burstiness at the prefill pool) on every
    metric, the disaggregated TTFTs included, under the same weak prior. The speed parameters stay
    identified by speeds: a TTFT cannot pull them. Squared log errors (no :func:`_soft_l1`): each
    disaggregated TTFT is already soft-clipped at e-fold."""
    from scipy.optimize import least_squares

    names = [p[0] for p in _HANDOFF_PARAMS]
    lo = np.array([p[1] for p in _HANDOFF_PARAMS])
    hi = np.array([p[2] for p in _HANDOFF_PARAMS])
    prior = np.array([_PRIORS["hbm"][n] for n in names])
    floor = 0.01 * hi
    x0 = np.clip([getattr(prof, n) for n in names], lo + 1e-12, hi - 1e-12)

    def make(x: np.ndarray) -> Profile:
        return prof.model_copy(update=dict(zip(names, (float(v) for v in x), strict=True)))

    def objective(z: np.ndarray) -> np.ndarray:
        x = z * hi
        data = _residuals(rows, errors, planned, make(x), pool_ttft=True)
        return np.concatenate([data, _PRIOR_WEIGHT * np.log((x + floor) / (prior + floor))])

    fit = least_squares(objective, x0 / hi, bounds=(lo / hi, hi / hi), x_scale="jac", max_nfev=100)
    return make(fit.x * hi)


def calibrate(
    path: str | Path,
    out_dir: str | Path,
    catalog: Catalog | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Profile]:
    """Fit one profile per (hardware family, framework) present in ``path``; write TOML.

    ``progress(rows fitted, rows)`` is called after each profile is fitted.
    """
    from scipy.optimize import least_squares

    check_folder(out_dir, "--out")  # before any fitting: nothing is written unless all succeed
    cat = catalog or default_catalog()
    rows = read_measured(path)
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = {}
    skipped: list[str] = []
    for line, r in enumerate(rows, start=2):  # line 1 is the header
        try:
            check_row(r)
            chip = cat.chip(r["hardware"].strip())
            fw, era = canonical_framework(r["framework"]), row_era(r)
            _profile_id(chip.family, fw, era)
        except TokenFrontierError as exc:
            skipped.append(f"line {line}: {exc}")
            continue
        groups.setdefault((chip.family, chip.kind, fw, era), []).append(r)
    if not groups:
        raise InvalidInputError(f"{path}: no row can be fitted ({len(skipped)} skipped; first: {skipped[0]})")
    note = "fitted by `tokenfrontier calibrate`"
    if skipped:
        note += f"; {len(skipped)} row(s) of the CSV skipped (first: {skipped[0]})"
    written = []
    fitted_rows = len(skipped)
    older: dict[tuple[str, str], Profile] = {}  # (family, stack) -> its older era's fit
    # an older software era first: the current one starts from its silicon terms
    order = sorted(groups.items(), key=lambda g: (g[0][:3], not g[0][3], g[0][3]))
    for (family, kind, fw, era), grp in order:
        start = Profile(id="prior", families=(), framework="prior", **_PRIORS[kind])
        params: tuple[tuple[str, float, float], ...] = _HBM_PARAMS if kind == "hbm" else _SRAM_PARAMS
        systems = [cat.system(r["hardware"].strip()) for r in grp]
        if kind == "sram" and all(s.chip.cores == 1 for s in systems):
            params = _CHIP_GROUP_PARAMS
            start = start.model_copy(update={"link_latency_s": max(s.hop_latency_s for s in systems)})
        if kind == "sram" and not era:  # a vendor API today: its own speculative decoding
            start = start.model_copy(update=_SPEC_PRIOR)
            if (family, fw) in older:
                old = older[(family, fw)]
                hw_fit = {n: getattr(old, n) for n in _SILICON}
                start = start.model_copy(update=hw_fit)
            params = params + _SPEC_PARAMS
        names = [p[0] for p in params]
        lo = np.array([p[1] for p in params])
        hi = np.array([p[2] for p in params])
        x0 = np.clip([getattr(start, n) for n in names], lo + 1e-12, hi - 1e-12)
        scale = np.maximum(hi, 1e-9)

        def make(x: np.ndarray, _start: Profile = start, _fw: str = fw, _fam: str = family,
                 _names: list[str] = names, _era: str = era) -> Profile:  # fmt: skip
            upd = dict(zip(_names, (float(v) for v in x), strict=True))
            pid = _profile_id(_fam, _fw, _era)
            return _start.model_copy(
                update={**upd, "id": pid, "families": (_fam,), "framework": _fw, "era": _era}
            )

        prior = np.array([getattr(start, n) for n in names])
        floor = 0.01 * hi  # keeps the log prior finite for parameters that may reach 0
        pw = _prior_weights(kind, names)

        # the rows resolve to this group's profile whatever its values: plan them once
        first = make(x0)
        errors, planned = plan_groups(grp, cat, {first.id: first})
        layouts: dict[tuple[Any, ...], Layout] = {}  # each group's candidates and memory fit

        def objective(z: np.ndarray, _g: list = grp, _p: np.ndarray = prior,
                      _f: np.ndarray = floor, _s: np.ndarray = scale,
                      _e: list = errors, _pl: Groups = planned,
                      _lay: dict = layouts, _w: np.ndarray = pw) -> np.ndarray:  # fmt: skip
            x = z * _s
            data = _soft_l1(_residuals(_g, _e, _pl, make(x), _lay))
            # log-normal prior: binds a parameter (or a split of them) the data cannot identify
            return np.concatenate([data, _w * np.log((x + _f) / (_p + _f))])

        def objectives(zs: list[np.ndarray], _g: list = grp, _p: np.ndarray = prior,
                       _f: np.ndarray = floor, _s: np.ndarray = scale,
                       _e: list = errors, _pl: Groups = planned, _lay: dict = layouts,
                       _n: list[str] = names, _w: np.ndarray = pw) -> list[np.ndarray]:  # fmt: skip
            """``objective`` at each of ``zs``, the profiles evaluated together."""
            xs = [z * _s for z in zs]
            data = _residuals_batch(_g, _e, _pl, [make(x) for x in xs], _n, _lay)
            return [
                np.concatenate([_soft_l1(d), _w * np.log((x + _f) / (_p + _f))])
                for d, x in zip(data, xs, strict=True)
            ]

        # the Jacobian's perturbed profiles together (HBM: its fitted fields enter the step
        # model only through elementwise arithmetic; see _residuals_batch)
        together: dict[str, Any] = {}
        if kind == "hbm" and _takes_workers(least_squares):
            together["workers"] = _TogetherMap(objectives)
        fit = least_squares(
            objective,
            x0 / scale,
            bounds=(lo / scale, hi / scale),
            x_scale="jac",
            max_nfev=200,
            **together,
        )
        prof = make(fit.x * scale)
        if kind == "hbm" and any(row_kind(r) == "disaggregated" for r in grp):
            prof = _fit_handoff(prof, grp, errors, planned)
        errs = error_stats(validate_rows(grp, cat, {prof.id: prof}))
        prof = prof.model_copy(
            update={
                "fitted": True,
                "fitted_on": f"{Path(path).name}: {family} x {fw}, "
                + ", ".join(sorted({r["model"] for r in grp})),
                "fit_rows": len(grp),
                "fitted_models": tuple(sorted({r["model"] for r in grp})),
                "fitted_chips": tuple(sorted({cat.system(r["hardware"]).chip.id for r in grp})),
                "fit_error": {f"{k}_median_ape_pct": v["median_ape_pct"] for k, v in errs.items()},
                "notes": note,
            }
        )
        written.append(prof)
        if kind == "sram" and era:
            older[(family, fw)] = prof
        fitted_rows += len(grp)
        if progress is not None:
            progress(fitted_rows, len(rows))
    written += _defaults(written)
    # written only once every fit has succeeded, all files together (temporary folder, then moved)
    write_folder(out_dir, {f"{prof.id}.toml": _render(prof) for prof in written}, "--out")
    return written


def _profile_id(family: str, framework: str, era: str) -> str:
    """The id (and file name) of a fitted profile; names that cannot be a file are an error."""
    pid = f"{family}-{framework}" + (f"-{era}" if era else "")
    return safe_name(pid, f"profile id (hardware family '{family}' x framework '{framework}')")


def _defaults(fitted: list[Profile]) -> list[Profile]:
    """Family defaults and memory-kind defaults: geometric means of the fitted profiles."""
    out = []
    # an older era of SRAM vendor APIs gets its own memory-kind default (a 2024 row of an
    # unmeasured SRAM machine borrows 2024 software: no vendor speculation)
    eras = sorted({p.era for p in fitted if p.era and p.mesh_hop_latency_s > 0})
    groups: list[tuple[str, tuple[str, ...], list[Profile]]] = [
        (f"sram-default-{era}", (), [p for p in fitted if p.era == era and p.mesh_hop_latency_s > 0])
        for era in eras
    ]
    fitted = [p for p in fitted if not p.era]  # the other defaults describe today's software
    by_family: dict[str, list[Profile]] = {}
    for p in fitted:
        by_family.setdefault(p.families[0], []).append(p)
    groups += [(f"{fam}-default", (fam,), ps) for fam, ps in sorted(by_family.items())]
    hbm = [p for p in fitted if p.mesh_hop_latency_s == 0]
    sram = [p for p in fitted if p.mesh_hop_latency_s > 0]
    groups += [("hbm-default", (), hbm), ("sram-default", (), sram)]
    for pid, families, ps in groups:
        if not ps:
            continue
        fields: dict[str, Any] = {
            name: float(np.exp(np.mean([np.log(max(getattr(p, name), 1e-12)) for p in ps])))
            for name in _PRIORS["sram" if ps[0].mesh_hop_latency_s else "hbm"]
        }
        if not ps[0].mesh_hop_latency_s:
            fields["mesh_hop_latency_s"] = 0.0
        links = [p.link_latency_s for p in ps if p.link_latency_s]
        if families and links:  # a family's chip boundaries; a memory kind's: the catalog's
            fields["link_latency_s"] = float(np.exp(np.mean(np.log(links))))
        if all(p.spec_k for p in ps):  # every stack speculates (SRAM vendor APIs): so does this
            fields.update(
                spec_k=round(float(np.exp(np.mean([np.log(p.spec_k) for p in ps])))),
                spec_acceptance=float(np.exp(np.mean([np.log(max(p.spec_acceptance, 1e-12)) for p in ps]))),
                spec_draft_layers=float(np.exp(np.mean([np.log(p.spec_draft_layers) for p in ps]))),
            )
        era = ps[0].era if pid.startswith("sram-default-") else ""
        out.append(
            Profile(
                id=pid,
                families=families,
                framework="default",
                era=era,
                **fields,
                fitted=False,
                derived_from=", ".join(p.id for p in ps),
                notes="geometric mean of the fitted profiles it derives from; used for stacks "
                "and families never measured",
            )
        )
    return out


def _render(prof: Profile) -> str:
    lines = [f"# Efficiency profile {prof.id}: written by `tokenfrontier calibrate`."]
    for key, value in prof.model_dump().items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {_toml(value)}")
    lines.append("\n[fit_error]")
    lines += [f"{k} = {v}" for k, v in prof.fit_error.items()]
    return "\n".join(lines) + "\n"


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):  # a TOML basic string: JSON's escapes are TOML's (DEL escaped too)
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)
