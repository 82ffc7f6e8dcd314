"""The serving-policy interface: ``evaluate(scenario, deployments, workload) -> metrics``.

A policy turns deployments of one :class:`~tokenfrontier.scenario.Scenario` (arrays of TP,
PP, EP, attention DP and concurrency, with what the capacity rule says about them) into serving metrics,
vectorized over the deployments. Every policy returns the same keys (SI units):
``feasible``, ``ttft_s``, ``tpot_s``, ``tok_s_per_user``, ``output_tok_s_per_chip``,
``total_tok_s_per_chip``, ``chips``, ``prefill_s``, ``step_s``, ``served_concurrency`` and the
per-token step breakdown ``step_<component>_s``. Policies are chosen by name
(:data:`POLICIES`); the request-level simulator will be one more.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..scenario import Scenario
    from .pools import PrefillPool
    from .workload import SpecDecode, Workload

__all__ = ["POLICIES", "Deployments", "Metrics", "Policy", "get_policy", "register_policy"]

Array = NDArray[np.float64]
Metrics = dict[str, Array]


@dataclass(frozen=True)
class Deployments:
    """Deployments to evaluate; every array broadcasts to one grid shape.

    ``fits``: the capacity rule holds with every one of ``concurrency`` sequences' KV resident
    (main memory or offload tier); ``max_sequences``: how many sequences' KV fits at most;
    ``offload_fraction``: share of KV in the offload tier at ``concurrency``;
    ``main_sequences``: how many sequences' KV fits in main memory alone.
    """

    tp: Array
    pp: Array
    ep: Array
    concurrency: Array
    offload_fraction: Array
    fits: NDArray[np.bool_]
    weights_fit: NDArray[np.bool_]
    max_sequences: Array
    main_sequences: Array | float = np.inf  # sequences whose KV fits main memory alone
    dp: Array | float = 1.0  # attention data-parallel ranks per stage group (1: plain TP)

    @classmethod
    def grid(
        cls,
        *,
        tp: ArrayLike,
        pp: ArrayLike,
        ep: ArrayLike,
        concurrency: ArrayLike,
        offload_fraction: ArrayLike = 0.0,
        dp: ArrayLike = 1.0,
    ) -> Deployments:
        """Deployments with no memory limit (every one fits): for direct step-model studies."""
        t, p, e, c, off, d = (
            np.asarray(x, dtype=float) for x in (tp, pp, ep, concurrency, offload_fraction, dp)
        )
        shape = np.broadcast_shapes(t.shape, p.shape, e.shape, c.shape, off.shape, d.shape)
        ones = np.ones(shape, dtype=bool)
        return cls(t, p, e, c, off, fits=ones, weights_fit=ones, max_sequences=np.full(shape, np.inf),
                   dp=d)  # fmt: skip


class Policy(Protocol):
    """A serving policy: metrics for deployments of one scenario under one workload."""

    name: str
    description: str

    def evaluate(
        self,
        scen: Scenario,
        deps: Deployments,
        workload: Workload,
        *,
        spec: SpecDecode | None = None,
        pool: PrefillPool | None = None,
    ) -> Metrics: ...


POLICIES: dict[str, Policy] = {}
#: Policies that live in higher layers, imported by module name when first asked for.
_PLUGINS = {"simulated": "tokenfrontier.sim.policy"}


def register_policy(policy: Policy) -> Policy:
    POLICIES[policy.name] = policy
    return policy


def get_policy(name: str | Policy) -> Policy:
    """A policy by name (``closed-loop``, ``queued``) or the policy itself."""
    if not isinstance(name, str):
        return name
    key = name.strip().lower()
    if key in _PLUGINS and key not in POLICIES:  # registers itself on import
        importlib.import_module(_PLUGINS[key])
    if key not in POLICIES:
        raise InvalidInputError(
            f"serving policy '{name}' is unknown; valid: {', '.join(sorted({*POLICIES, *_PLUGINS}))}"
        )
    return POLICIES[key]
