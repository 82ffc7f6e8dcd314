"""80% prediction intervals from cross-validated residuals (``benchmarks/crossval.py`` writes
``catalog/intervals.toml``).

A residual is log(predicted / measured) of a held-out row. For each level of the profile
fallback chain the file stores the 10th and 90th percentile of those residuals per metric:

- ``<profile id>``: the row's own family and stack were fitted (k-fold cross-validation on the
  measured sets: the row's fold left out of the fit);
- ``transfer``: the stack was fitted on another hardware family only (fit one family, predict
  the other);
- ``default``: the stack was never measured (every profile of the stack left out: a family or
  memory-kind default predicts it);
- ``disaggregated``: prefill and decode pools (the disaggregated measurements, which no profile
  is fitted on, predicted with the bundled profiles).

Measured = predicted x exp(-r), so the interval is [pred x exp(-q90), pred x exp(-q10)]. Metrics
(residual names): ``tok_s_per_user``, ``tok_s_per_gpu`` (total and output tok/s per chip),
``ttft_ms``, ``tpot_ms``. A level with fewer than ``MIN_ROWS`` residuals for a metric uses the
next, wider level.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .catalog import CATALOG_DIR, read_toml
from .specs import Chip, Profile

__all__ = ["COVERAGE", "INTERVALS_FILE", "MIN_ROWS", "PREDICTED", "bounds", "level_of", "load_intervals"]

INTERVALS_FILE = CATALOG_DIR / "intervals.toml"
COVERAGE = 0.8
MIN_ROWS = 5
#: Prediction attribute -> the residual metric that bounds it (and whether it is a rate: a
#: time's interval is the rate's turned over)
PREDICTED = {
    "tok_s_per_user": "tok_s_per_user",
    "total_tok_s_per_chip": "tok_s_per_gpu",
    "output_tok_s_per_chip": "tok_s_per_gpu",
    "ttft_s": "ttft_ms",
    "tpot_s": "tpot_ms",
}


@functools.cache
def load_intervals() -> dict[str, Any]:
    """The bundled interval table (empty when the file is absent)."""
    if not INTERVALS_FILE.exists():
        return {}
    return read_toml(INTERVALS_FILE)


def level_of(profile: Profile, chip: Chip) -> str:
    """Which level of the fallback chain predicted this chip: the fitted profile itself, a
    transfer from another family, or a default."""
    if profile.fitted and chip.family in profile.families:
        return profile.id
    return "transfer" if profile.fitted else "default"


def bounds(
    level: str, metric: str, value: float, table: dict[str, Any] | None = None
) -> tuple[float, float] | None:
    """The 80% interval of a predicted ``value`` of ``metric`` at ``level`` (None if unknown).

    The interval always contains ``value``: a level whose residuals all lean one way (q10 > 0 or
    q90 < 0) is widened to the prediction itself rather than excluding it."""
    table = load_intervals() if table is None else table
    chain = (
        (level, "default")
        if level in ("transfer", "default", "disaggregated")
        else (level, "transfer", "default")
    )
    for key in chain:
        entry = table.get(key, {}).get(metric)
        if entry and entry.get("n", 0) >= MIN_ROWS:
            q10, q90 = min(float(entry["q10"]), 0.0), max(float(entry["q90"]), 0.0)
            return value * math.exp(-q90), value * math.exp(-q10)
    return None
