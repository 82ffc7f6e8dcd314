"""The one pipeline every performance question runs through:
scenario -> candidate deployments -> capacity rule -> serving policy -> metrics.

``predict`` selects one point of a sweep, ``frontier`` keeps its Pareto set, ``validate`` and
``calibrate`` predict measured rows with it, and a prefill pool for disaggregated serving is
chosen from the prefill hardware's own candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .candidates import Candidates, MemoryFit, candidates, memory_check
from .errors import InvalidInputError
from .scenario import Scenario
from .serving import Deployments, Metrics, Policy, PrefillPool, SpecDecode, Workload, get_policy

__all__ = ["Layout", "Sweep", "build_pool", "layout", "sweep"]


@dataclass(frozen=True)
class Sweep:
    """Candidates x concurrencies of one scenario, their memory fit and metrics (2-D arrays)."""

    scen: Scenario
    cand: Candidates
    fit: MemoryFit
    deps: Deployments
    metrics: Metrics
    concurrency: np.ndarray
    policy: str

    @property
    def feasible(self) -> np.ndarray:
        return self.metrics["feasible"] > 0


@dataclass(frozen=True)
class Layout:
    """Candidates x concurrencies of one scenario and their memory fit: everything of a sweep
    the efficiency profile does not change (it depends on the model, hardware and dtypes only),
    so a fit that re-evaluates one scenario under many profiles builds it once."""

    cand: Candidates
    fit: MemoryFit
    deps: Deployments
    concurrency: np.ndarray


def layout(
    scen: Scenario,
    workload: Workload,
    concurrencies: Sequence[int] | np.ndarray,
    *,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    systems: int | None = None,
    dp: int | None = None,
) -> Layout:
    """The candidate deployments (explicit values pin an axis) and their memory fit at every
    concurrency: the profile-free half of :func:`sweep`."""
    conc = np.asarray(concurrencies, dtype=float)
    kv_all = float(conc.max()) * float(scen.kv_bytes(workload.kv_context))
    cand = candidates(scen, tp, pp, ep, systems, kv_bytes=kv_all, dp=dp)
    fit = memory_check(scen, cand, conc, workload.kv_context)
    deps = Deployments(
        tp=cand.tp[:, None],
        pp=cand.pp[:, None],
        ep=cand.ep[:, None],
        concurrency=conc[None, :],
        offload_fraction=fit.offload_fraction,
        fits=fit.ok,
        weights_fit=(fit.code != 1),
        max_sequences=fit.max_sequences[:, None],
        main_sequences=fit.main_sequences[:, None],
        dp=np.asarray(cand.dp)[:, None],
    )
    return Layout(cand, fit, deps, conc)


def sweep(
    scen: Scenario,
    workload: Workload,
    concurrencies: Sequence[int] | np.ndarray,
    *,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    systems: int | None = None,
    spec: SpecDecode | None = None,
    pool: PrefillPool | None = None,
    policy: str | Policy = "closed-loop",
    dp: int | None = None,
    reuse: Layout | None = None,
) -> Sweep:
    """Evaluate every candidate deployment (explicit values pin an axis) at every concurrency.

    ``reuse``: the :func:`layout` of these same arguments under any profile of the same
    model, hardware and dtypes (the pins and concurrencies are then taken from it)."""
    pol = get_policy(policy)
    lay = reuse or layout(scen, workload, concurrencies, tp=tp, pp=pp, ep=ep, systems=systems, dp=dp)
    metrics = pol.evaluate(scen, lay.deps, workload, spec=spec, pool=pool)
    return Sweep(scen, lay.cand, lay.fit, lay.deps, metrics, lay.concurrency, pol.name)


def build_pool(
    pre: Scenario,
    workload: Workload,
    *,
    tp: int | None = None,
    workers: int | None = None,
    decode_workers: int = 1,
    dp: int | None = None,
) -> PrefillPool:
    """A prefill pool on ``pre``'s hardware: the largest TP group with the fewest stages that
    holds the weights and one prompt's KV (fastest prefill per worker; plain TP unless ``dp``
    pins attention data-parallel)."""
    cand = candidates(pre, tp=tp, dp=dp or 1)
    fit = memory_check(pre, cand, np.array([1.0]), workload.isl_mean)
    ok = fit.ok[:, 0]
    if not ok.any():
        raise InvalidInputError(
            f"prefill hardware '{pre.system.id}' cannot hold {pre.arch.id} "
            f"({pre.model.weight_bytes / 1e9:.1f} GB of weights + one prompt's KV) "
            + (f"at TP{tp}" if tp else "in any deployment considered")
        )
    i = int(np.lexsort((-cand.tp, cand.pp, ~ok))[0])
    return PrefillPool(
        scenario=pre,
        tp=int(cand.tp[i]),
        pp=int(cand.pp[i]),
        ep=int(cand.ep[i]),
        workers=workers,
        decode_workers=decode_workers,
        dp=int(np.asarray(cand.dp)[i]),
    )
