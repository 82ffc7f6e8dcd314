"""Serving policies behind one interface, and what they are asked to serve.

``evaluate(scenario, deployments, workload) -> metrics`` (see :mod:`.policy`): ``closed-loop``
(:mod:`.closed_loop`), ``queued`` (:mod:`.queued`) and ``simulated`` (the request-level
simulator, :mod:`tokenfrontier.sim.policy`, loaded by name on first use so this layer never
imports the simulator); disaggregated prefill pools in :mod:`.pools`.
"""

from __future__ import annotations

from .closed_loop import ClosedLoop, steady_state
from .policy import POLICIES, Deployments, Metrics, Policy, get_policy, register_policy
from .pools import LIMITS, PrefillPool
from .queued import Queued
from .workload import SpecDecode, Workload

__all__ = [
    "LIMITS",
    "POLICIES",
    "ClosedLoop",
    "Deployments",
    "Metrics",
    "Policy",
    "PrefillPool",
    "Queued",
    "SpecDecode",
    "Workload",
    "evaluate",
    "get_policy",
    "register_policy",
    "steady_state",
]


def evaluate(
    scen: object,
    deps: Deployments,
    workload: Workload,
    *,
    policy: str | Policy = "closed-loop",
    spec: SpecDecode | None = None,
    pool: PrefillPool | None = None,
) -> Metrics:
    """Metrics of ``deps`` under the named policy (see :mod:`.policy` for the keys)."""
    return get_policy(policy).evaluate(scen, deps, workload, spec=spec, pool=pool)  # type: ignore[arg-type]
