"""Issue 8: deploy, predict --systems N, calculator and frontier agree on feasibility for every
catalog model x system x dtype (they share one scenario and one capacity rule)."""

from __future__ import annotations

import pytest

import tokenfrontier as tf
from tokenfrontier.catalog import default_catalog
from tokenfrontier.economics.calculator import systems_needed

CAT = default_catalog()
ISL, OSL = 7168, 1024  # each sequence reserves KV for ISL + OSL = 8192 tokens


@pytest.mark.parametrize("weights", ["bf16", "fp8"])
@pytest.mark.parametrize("system", sorted(CAT.systems))
def test_feasibility_agrees_over_the_catalog(system, weights):
    checked = 0
    for model in CAT.model_ids:
        d = tf.deploy(model, system, weights=weights, context=ISL + OSL)
        front = tf.frontier(model, system, isl=ISL, osl=OSL, weights=[weights], concurrencies=[1])
        arch = tf.get_model(model)
        if not d.feasible:
            # no number of systems holds it: predict, the calculator and the frontier agree
            assert d.min_systems == 0 and d.explanation, (model, system, weights)
            assert not tf.predict(model, system, isl=ISL, osl=OSL, weights=weights).feasible
            assert systems_needed(arch, CAT.system(system), weights, "bf16", ISL + OSL, 1)[0] == 0
            assert len(front) == 0, (model, system, weights)
            continue
        n = d.systems
        at_n = tf.predict(model, system, isl=ISL, osl=OSL, weights=weights, systems=n)
        assert at_n.feasible, (model, system, weights, n, at_n.explanation)
        if n > 1:
            below = tf.predict(model, system, isl=ISL, osl=OSL, weights=weights, systems=n - 1)
            assert not below.feasible, (model, system, weights, n)
        # the calculator keeps every request's KV in main memory (no offload tier)
        needed, _ = systems_needed(arch, CAT.system(system), weights, "bf16", ISL + OSL, 1)
        if d.kv_tier == "main":
            assert needed == n, (model, system, weights)
        else:
            assert needed > n, (model, system, weights)
        assert len(front) > 0, (model, system, weights)
        checked += 1
    assert checked > 0, (system, weights)  # every system serves some catalog model
