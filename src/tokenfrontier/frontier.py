"""The throughput–interactivity frontier: sweep hardware x deployment (TP, EP, PP) x
concurrency x weight quantization x speculative decoding, keep the Pareto set of total tok/s
per chip versus tok/s per user.

Each (hardware, quantization) pair is one vectorized evaluation over a (deployments x
concurrencies) grid; nothing loops over individual configurations in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .arch import ModelArch
from .errors import InvalidInputError
from .intervals import PREDICTED, bounds, level_of
from .profiles import Profile
from .results import Table, usd_per_mtok_text
from .scenario import build_scenario
from .serving import SpecDecode, Workload
from .specs import System
from .sweep import sweep

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONCURRENCIES", "Frontier", "frontier", "pareto_mask"]

CONCURRENCIES = tuple(2**i for i in range(13))  # 1 ... 4096


def pareto_mask(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points not dominated in (x, y), both maximised."""
    order = np.lexsort((-y, -x))
    ys = y[order]
    best = np.maximum.accumulate(np.concatenate([[-np.inf], ys[:-1]]))
    keep = np.zeros(len(x), dtype=bool)
    keep[order[ys > best]] = True
    return keep


class Frontier(Table):
    """Frontier points (SI units) and how many configurations were evaluated."""

    def __init__(
        self, records: list[dict[str, Any]], evaluated: int, title: str, notes: Sequence[str] = ()
    ) -> None:
        cols = [
            ("hardware", "hardware", None),
            ("weights", "weights", None),
            ("deployment", "deployment", None),
            ("chips", "chips", None),
            ("concurrency", "conc", None),
            ("tok_s_per_user", "tok/s/user", None),
            ("total_tok_s_per_chip", "tok/s/chip", None),
            ("output_tok_s_per_chip", "out tok/s/chip", None),
            ("ttft_s", "TTFT ms", lambda v: v * 1e3),
            ("tpot_s", "TPOT ms", lambda v: v * 1e3),
            ("usd_per_mtok", "$/Mtok", usd_per_mtok_text),
        ]
        super().__init__(
            records, cols, title=title, extra={"points_evaluated": evaluated, "notes": list(notes)},
            records_key="points",
        )  # fmt: skip
        self.points_evaluated = evaluated
        self.notes = tuple(notes)

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(f"note: {n}" for n in self.notes)])

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.records)


def frontier(
    arch: ModelArch,
    systems: Sequence[System],
    workload: Workload,
    *,
    weights: Sequence[str] = ("native",),
    kv_dtype: str = "bf16",
    concurrencies: Sequence[int] = CONCURRENCIES,
    specs: Sequence[SpecDecode | None] = (None,),
    framework: str | None = None,
    pareto: bool = True,
    policy: str = "closed-loop",
    profiles: dict[str, Profile] | None = None,
    dp: int | None = None,
) -> Frontier:
    """Sweep and return the frontier (per hardware Pareto set when ``pareto``); ``dp`` pins the
    attention data-parallel degree (default: plain TP and, for MoE models, attention DP)."""
    if not systems:
        raise InvalidInputError("frontier: give at least one hardware id")
    conc = np.asarray(concurrencies, dtype=float)
    records: list[dict[str, Any]] = []
    evaluated = 0
    for system in systems:
        blocks = []
        for w in weights:
            scen = build_scenario(arch, system, weights=w, kv_dtype=kv_dtype, framework=framework,
                                  profiles=profiles)  # fmt: skip
            level = level_of(scen.profile, system.chip, arch.id)
            for spec in specs:
                sw = sweep(scen, workload, conc, spec=spec, policy=policy, dp=dp)
                evaluated += sw.feasible.size
                ci, bi = np.nonzero(sw.feasible)
                blocks.append((w, spec, sw.cand, sw.metrics, ci, bi))
        x = np.concatenate([b[3]["tok_s_per_user"][b[4], b[5]] for b in blocks])
        y = np.concatenate([b[3]["total_tok_s_per_chip"][b[4], b[5]] for b in blocks])
        keep = pareto_mask(x, y) if pareto else np.ones(len(x), dtype=bool)
        hw_records, offset = [], 0
        for w, spec, cand, res, ci, bi in blocks:
            sel = np.flatnonzero(keep[offset : offset + len(ci)])
            offset += len(ci)
            hw_records += [_record(system, w, spec, cand, res, ci[k], bi[k], conc, level) for k in sel]
        records += sorted(hw_records, key=lambda r: -r["tok_s_per_user"])
    title = (
        f"frontier: {arch.id}, ISL {workload.isl:,} / OSL {workload.osl:,}, "
        f"{len(records)} points of {evaluated:,} evaluated"
    )
    notes = []
    if workload.isl + workload.osl > arch.max_context:
        notes.append(
            f"ISL + OSL = {workload.isl + workload.osl:,} tokens exceeds {arch.id}'s context "
            f"window of {arch.max_context:,}"
        )
    return Frontier(records, evaluated, title, notes)


def _record(
    system: System,
    weights: str,
    spec: SpecDecode | None,
    cand: Any,
    res: dict[str, NDArray[np.float64]],
    i: int,
    j: int,
    conc: NDArray[np.float64],
    level: str = "default",
) -> dict[str, Any]:
    tp, pp, ep = int(cand.tp[i]), int(cand.pp[i]), int(cand.ep[i])
    dp = int(np.asarray(cand.dp)[i])
    dep = f"TP{tp}" + (f" EP{ep}" if ep > 1 else "") + (f" DP{dp}" if dp > 1 else "")
    dep += f" PP{pp}" if pp > 1 else ""
    if spec:
        dep += f" spec k={spec.k}"
    record: dict[str, Any] = {
        "hardware": system.id,
        "weights": weights,
        "deployment": dep,
        "tp": tp,
        "ep": ep,
        "dp": dp,
        "pp": pp,
        "spec_k": spec.k if spec else 0,
        "chips": int(res["chips"][i, j]),
        "concurrency": int(conc[j]),
        "tok_s_per_user": float(res["tok_s_per_user"][i, j]),
        "total_tok_s_per_chip": float(res["total_tok_s_per_chip"][i, j]),
        "output_tok_s_per_chip": float(res["output_tok_s_per_chip"][i, j]),
        "ttft_s": float(res["ttft_s"][i, j]),
        "tpot_s": float(res["tpot_s"][i, j]),
        "interval_level": level,
    }
    for k in ("kv", "offload", "prefill"):  # decode-step parts (per emitted token) the cost method reads
        record[f"step_{k}_s"] = float(res[f"step_{k}_s"][i, j])
    for attr, metric in PREDICTED.items():  # 80% intervals (tokenfrontier.intervals)
        b = bounds(level, metric, float(record[attr]))
        if b is not None:
            record[f"{attr}_low"], record[f"{attr}_high"] = b
    return record


# `tokenfrontier.frontier` is this module; calling it calls the API function `tokenfrontier.api.frontier`
from .callable_module import CallableModule  # noqa: E402 (appended: the module is also a function)

CallableModule.install(__name__)
