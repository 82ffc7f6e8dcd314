"""What a simulation returns: a per-request table, a summary with percentiles, and a timeline.

Definitions (SI units): TTFT = first token - arrival; TPOT = (finish - first token) /
(output tokens - 1), requests with one output token have none; ITL = a request's mean
inter-token latency (the simulator advances whole steps, so token gaps inside one request are
its TPOT); E2E = finish - arrival. Throughput per chip = tokens of completed requests / (last
finish - first arrival) / chips; the steady-state figures count the tokens of requests finishing
in the middle 60% of that span (20% to 80%), divided by its length. Goodput = requests (and
their output tokens) meeting every SLO given. Cache tiers: share of requests whose prompt prefix
was found in each tier, and share of prompt tokens served from cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError
from ..intervals import summary_interval_text
from ..results import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PERCENTILES", "Simulation", "summarize"]

PERCENTILES = (50, 90, 99)


def _pct(values: NDArray[np.float64]) -> dict[str, float | None]:
    v = values[np.isfinite(values)]
    keys = [f"p{p}" for p in PERCENTILES] + ["mean"]
    if not len(v):
        return dict.fromkeys(keys)
    stats = [*np.percentile(v, PERCENTILES).tolist(), float(v.mean())]
    return {k: float(x) for k, x in zip(keys, stats, strict=True)}


def summarize(
    cols: dict[str, NDArray[Any]],
    chips: float,
    tier_names: tuple[str, ...],
    slo_ttft_s: float | None,
    slo_tpot_s: float | None,
) -> dict[str, Any]:
    """The summary of per-request columns (see the module docstring for definitions)."""
    done = np.isfinite(cols["finish_s"])
    n = len(done)
    rejected = cols["rejected"].astype(bool)
    ttft, tpot, e2e = cols["ttft_s"], cols["tpot_s"], cols["e2e_s"]
    tokens = (cols["input_tokens"] + cols["output_tokens"]).astype(float)
    out_tokens = cols["output_tokens"].astype(float)
    start = float(np.nanmin(cols["arrival_s"])) if n else 0.0
    end = float(np.nanmax(cols["finish_s"])) if done.any() else start
    span = max(end - start, 1e-12)
    steady: dict[str, float | None] = {"total_tok_s_per_chip": None, "output_tok_s_per_chip": None}
    if done.sum() >= 10:
        lo, hi = start + 0.2 * span, start + 0.8 * span
        w = done & (cols["finish_s"] >= lo) & (cols["finish_s"] < hi)
        if w.any():
            steady = {
                "total_tok_s_per_chip": float(tokens[w].sum() / (hi - lo) / chips),
                "output_tok_s_per_chip": float(out_tokens[w].sum() / (hi - lo) / chips),
            }
    ok = done.copy()
    if slo_ttft_s is not None:
        ok &= ttft <= slo_ttft_s
    if slo_tpot_s is not None:
        ok &= ~(tpot > slo_tpot_s)  # requests without a TPOT (one output token) pass
    hits = cols["hit_tier"]
    prompt = cols["input_tokens"].astype(float)
    cached = cols["cached_tokens"].astype(float)
    tiers = {
        name: {
            "request_hit_rate": float((hits[done] == level).mean()) if done.any() else 0.0,
            "prompt_token_share": float(cached[done & (hits == level)].sum() / max(prompt[done].sum(), 1.0)),
        }
        for level, name in enumerate(tier_names)
    }
    return {
        "requests": n,
        "completed": int(done.sum()),
        "rejected": int(rejected.sum()),
        "unfinished": int(n - done.sum() - rejected.sum()),
        "duration_s": span,
        "ttft_s": _pct(ttft[done]),
        "tpot_s": _pct(tpot[done]),
        "itl_s": _pct(tpot[done]),
        "e2e_s": _pct(e2e[done]),
        "total_tok_s_per_chip": float(tokens[done].sum() / span / chips),
        "output_tok_s_per_chip": float(out_tokens[done].sum() / span / chips),
        "steady_state": steady,
        "goodput": {
            "slo_ttft_s": slo_ttft_s,
            "slo_tpot_s": slo_tpot_s,
            "share_of_requests": float(ok.sum() / max(n, 1)),
            "output_tok_s_per_chip": float(out_tokens[ok].sum() / span / chips),
        },
        "cache": {
            "tiers": tiers,
            "cached_token_share": float(cached[done].sum() / max(prompt[done].sum(), 1.0)),
            "reload_s_total": float(cols["reload_s"][done].sum()),
        },
        "tokens": {
            "cache_read": float(cached[done].sum()),
            "prefilled": float((prompt - cached)[done].sum()),
            "output": float(out_tokens[done].sum()),
        },
    }


@dataclass(frozen=True)
class Simulation(Result):
    """A finished simulation: per-request columns, summary, timeline (SI units)."""

    model: str
    hardware: str
    workload: str
    deployment: dict[str, Any]
    scheduling: str
    seed: int
    chips: int
    summary: dict[str, Any]
    columns: Mapping[str, NDArray[Any]] = field(repr=False)  # a streamed run: read from its file
    timeline: dict[str, NDArray[np.float64]] = field(repr=False)
    notes: tuple[str, ...] = ()
    requests_file: str | None = None  # where a streamed run wrote its per-request table

    title = "simulation"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "hardware": self.hardware,
            "workload": self.workload,
            "deployment": self.deployment,
            "scheduling": self.scheduling,
            "seed": self.seed,
            "chips": self.chips,
            "summary": self.summary,
            "notes": list(self.notes),
        }

    def human_rows(self) -> list[tuple[str, Any]]:
        s, d = self.summary, self.deployment
        ms = 1e3

        def p(key: str, q: str) -> Any:
            v = s[key][q]
            return "-" if v is None else round(v * ms, 2)

        rows: list[tuple[str, Any]] = [
            ("model / hardware", f"{self.model} on {self.hardware}"),
            ("workload", self.workload),
            (
                "deployment",
                f"{d['replicas']} x TP{d['tp']} EP{d['ep']} PP{d['pp']} = {self.chips} chips, "
                f"{self.scheduling}",
            ),
            (
                "requests in / completed / rejected",
                f"{s['requests']:,} / {s['completed']:,} / {s['rejected']:,}",
            ),
            ("simulated time (s)", round(s["duration_s"], 2)),
        ]
        for key, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E")):
            rows.append(
                (f"{label} P50 / P90 / P99 (ms)", f"{p(key, 'p50')} / {p(key, 'p90')} / {p(key, 'p99')}")
            )
        rows += [
            ("total tok/s per chip", float(s["total_tok_s_per_chip"])),
            ("output tok/s per chip", float(s["output_tok_s_per_chip"])),
        ]
        band = summary_interval_text(s)
        if band is not None:
            rows.append(("80% interval", band))
        g = s["goodput"]
        if g["slo_ttft_s"] is not None or g["slo_tpot_s"] is not None:
            rows.append(("requests meeting the SLO", f"{g['share_of_requests']:.1%}"))
            rows.append(("goodput output tok/s per chip", float(g["output_tok_s_per_chip"])))
        c = s["cache"]
        rows.append(("prompt tokens from cache", f"{c['cached_token_share']:.1%}"))
        for name, t in c["tiers"].items():
            rows.append((f"  hits in {name}", f"{t['request_hit_rate']:.1%} of requests"))
        if c["reload_s_total"] > 0:
            rows.append(("time reloading KV (s, all requests)", round(c["reload_s_total"], 3)))
        rows += [("note", n) for n in self.notes]
        return rows

    def to_frame(self) -> pd.DataFrame:
        """One row per request (SI units)."""
        import pandas as pd

        return pd.DataFrame({k: np.asarray(v) for k, v in self.columns.items()})

    def timeline_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.timeline)

    def write_requests(self, path: str | Path) -> Path:
        """Write the per-request table as CSV or Parquet (by extension), atomically."""
        path = Path(path)
        if self.requests_file is not None and Path(self.requests_file).resolve() == path.resolve():
            return path  # streamed there already
        frame = self.to_frame()
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            if path.suffix == ".parquet":
                try:
                    frame.to_parquet(tmp, index=False)
                except ImportError as exc:
                    raise InvalidInputError(f"{path}: Parquet needs pyarrow ({exc})") from None
            elif path.suffix == ".csv":
                frame.to_csv(tmp, index=False)
            else:
                raise InvalidInputError(f"{path}: unknown table format; valid: .csv, .parquet")
            tmp.replace(path)
        except OSError as exc:
            raise InvalidInputError(f"{path}: cannot write: {exc.strerror}") from None
        finally:
            if tmp.exists():
                tmp.unlink()
        return path
