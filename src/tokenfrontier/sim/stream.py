"""Where a simulation's per-request rows go: memory, or a Parquet/CSV file written as they come,
with a summary kept in bounded memory.

The engines hand over finished rows a chunk of the stream at a time (:data:`~.engine.Emit`).
:class:`MemorySink` keeps them (today's in-memory table, in request order). :class:`FileSink`
appends them to a Parquet file (one row group per chunk, pyarrow) or a CSV file, written to a
temporary file next to the target and renamed into place only when the run completes, so nothing
half-written is left behind. Its :class:`StreamSummary` keeps what the summary needs:

- running sums and counts (completed, rejected, tokens by type, goodput, cache hits per tier);
- latency percentiles from a :class:`QuantileSketch` (exact while it has seen at most
  ``exact_limit`` values; then a log-bucketed histogram whose percentiles are within
  :data:`RELATIVE_ERROR` (0.5%) of the exact ones);
- the steady-state throughput window from token sums per time bucket (at most
  :data:`TIME_BUCKETS` buckets; the window's ends are interpolated inside one bucket).

Memory: bounded whatever the number of requests (the first :data:`EXACT_ROWS` rows are kept
for an exact summary of small runs; past that, a few hundred kB).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInputError

__all__ = [
    "EXACT_ROWS",
    "RELATIVE_ERROR",
    "TABLE_FORMATS",
    "TIME_BUCKETS",
    "FileColumns",
    "FileSink",
    "MemorySink",
    "QuantileSketch",
    "StreamSummary",
    "request_table",
]

RELATIVE_ERROR = 0.005  # the sketch's bound on a percentile's relative error
TIME_BUCKETS = 4096  # most time buckets the steady-state window is summed over
TABLE_FORMATS = (".csv", ".parquet")
EXACT_ROWS = 1 << 14  # rows (values) kept exactly before the summary switches to sketches
_MIN_S = 1e-9  # smallest positive value the sketch's buckets resolve (smaller ones: this)


def request_table(rows: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """The per-request table (SI units) from an engine's rows: adds TTFT, TPOT and E2E."""
    arrival, first, finish = rows["arrival_s"], rows["first_token_s"], rows["finish_s"]
    osl = rows["output_tokens"].astype(float)
    with np.errstate(invalid="ignore"):
        tpot = np.where(osl > 1, (finish - first) / np.maximum(osl - 1, 1), np.nan)
    return {
        "request": rows["request"],
        "arrival_s": arrival,
        "admitted_s": rows["admitted_s"],
        "first_token_s": first,
        "finish_s": finish,
        "ttft_s": first - arrival,
        "tpot_s": tpot,
        "e2e_s": finish - arrival,
        "input_tokens": rows["input_tokens"],
        "output_tokens": rows["output_tokens"],
        "cached_tokens": rows["cached_tokens"],
        "hit_tier": rows["hit_tier"],
        "reload_s": rows["reload_s"],
        "session": rows["session"],
        "replica": rows["replica"],
        "rejected": rows["rejected"],
        "preemptions": rows["preemptions"],
    }


class MemorySink:
    """Keeps every row; ``columns()`` is the whole table in request order."""

    def __init__(self) -> None:
        self.parts: list[dict[str, NDArray[Any]]] = []

    def __call__(self, rows: dict[str, NDArray[Any]]) -> None:
        if len(rows["request"]):
            self.parts.append(request_table(rows))

    def columns(self) -> dict[str, NDArray[Any]]:
        if not self.parts:
            return {}
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.argsort(cols["request"], kind="stable")
        if (np.diff(order) != 1).any():  # several replicas: back into request order
            cols = {k: v[order] for k, v in cols.items()}
        return cols


class QuantileSketch:
    """Percentiles of a stream of values in bounded memory.

    Exact (``numpy.percentile``, linear interpolation) while at most ``exact_limit`` values have
    been added. Beyond that, values go to a histogram of logarithmic buckets: bucket ``k`` holds
    values in (g^(k-1), g^k] with g = (1 + a) / (1 - a), a = :data:`RELATIVE_ERROR`, and stands
    for the value 2 g^k / (g + 1), within a relative ``a`` of every value in it. A percentile
    interpolates between the values at its two neighbouring ranks as numpy does, so it is within
    a relative ``a`` (0.5%) of the exact percentile. Values <= 1 ns count as 1 ns. The mean is
    exact (a running sum). Memory: about 4,000 buckets for 1 ns .. 1e6 s.
    """

    def __init__(self, rel_err: float = RELATIVE_ERROR, exact_limit: int | None = None) -> None:
        exact_limit = EXACT_ROWS if exact_limit is None else exact_limit
        self.gamma = (1 + rel_err) / (1 - rel_err)
        self.log_gamma = math.log(self.gamma)
        self.exact_limit = exact_limit
        self.values: list[NDArray[np.float64]] | None = []
        self.n_exact = 0
        self.counts = np.zeros(0, dtype=np.int64)
        self.offset = 0  # bucket index of counts[0]
        self.n = 0
        self.total = 0.0
        self.lo, self.hi = math.inf, -math.inf

    def add(self, values: NDArray[np.float64]) -> None:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            return
        self.n += len(v)
        self.total += float(v.sum())
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        if self.values is not None:
            self.values.append(v)
            self.n_exact += len(v)
            if self.n_exact <= self.exact_limit:
                return
            v = np.concatenate(self.values)
            self.values = None
        self._bucket(v)

    def _bucket(self, v: NDArray[np.float64]) -> None:
        k = np.ceil(np.log(np.maximum(v, _MIN_S)) / self.log_gamma).astype(np.int64)
        lo, hi = int(k.min()), int(k.max())
        if not len(self.counts):
            self.offset = lo
        new_lo, new_hi = min(lo, self.offset), max(hi, self.offset + len(self.counts) - 1)
        if new_lo < self.offset or new_hi >= self.offset + len(self.counts):
            grown = np.zeros(new_hi - new_lo + 1, dtype=np.int64)
            grown[self.offset - new_lo : self.offset - new_lo + len(self.counts)] = self.counts
            self.counts, self.offset = grown, new_lo
        self.counts += np.bincount(k - self.offset, minlength=len(self.counts))

    def _at_rank(self, cum: NDArray[np.int64], r: int) -> float:
        k = int(np.searchsorted(cum, r, side="right")) + self.offset
        return 2.0 * self.gamma**k / (self.gamma + 1.0)

    def percentiles(self, qs: tuple[int, ...]) -> dict[str, float | None]:
        """``{"p50": .., ..., "mean": ..}`` (None when empty), as the in-memory summary."""
        keys = [f"p{q}" for q in qs] + ["mean"]
        if not self.n:
            return dict.fromkeys(keys)
        if self.values is not None:
            v = np.concatenate(self.values)
            stats = [*np.percentile(v, qs).tolist(), float(v.mean())]
            return {k: float(x) for k, x in zip(keys, stats, strict=True)}
        cum = np.cumsum(self.counts)
        out: dict[str, float | None] = {}
        for q in qs:
            pos = (self.n - 1) * q / 100.0
            lo = math.floor(pos)
            a, b = self._at_rank(cum, lo), self._at_rank(cum, min(lo + 1, self.n - 1))
            out[f"p{q}"] = min(max(a + (b - a) * (pos - lo), self.lo), self.hi)  # clamping only helps
        out["mean"] = self.total / self.n
        return out


class _TimeSums:
    """Sums of values by time bucket: at most :data:`TIME_BUCKETS` buckets of doubling width."""

    def __init__(self, width_s: float = 1e-3) -> None:
        self.width = width_s
        self.sums = np.zeros((TIME_BUCKETS, 2))

    def add(self, t: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        if not len(t):
            return
        while float(t.max()) >= self.width * TIME_BUCKETS:
            merged = self.sums.reshape(TIME_BUCKETS // 2, 2, 2).sum(axis=1)
            self.sums = np.concatenate([merged, np.zeros_like(merged)])
            self.width *= 2
        k = np.minimum((np.maximum(t, 0.0) / self.width).astype(np.int64), TIME_BUCKETS - 1)
        for col in range(2):
            self.sums[:, col] += np.bincount(k, weights=values[:, col], minlength=TIME_BUCKETS)

    def between(self, lo: float, hi: float) -> NDArray[np.float64]:
        """Sums over [lo, hi), a bucket cut by an end counted in proportion."""
        edges = np.arange(TIME_BUCKETS + 1) * self.width
        overlap = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None) / self.width
        return (self.sums * overlap[:, None]).sum(axis=0)


class StreamSummary:
    """The summary of :func:`~.results.summarize`, accumulated chunk by chunk (bounded memory).
    While it has seen at most ``exact_limit`` rows it keeps them and the summary is exactly the
    in-memory one."""

    def __init__(self, exact_limit: int | None = None) -> None:
        self.exact_limit = EXACT_ROWS if exact_limit is None else exact_limit
        self.kept: list[dict[str, NDArray[Any]]] | None = []
        self.n_kept = 0
        self.n = self.completed = self.rejected = 0
        self.start, self.end = math.inf, -math.inf
        self.sketch = {k: QuantileSketch(exact_limit=0) for k in ("ttft_s", "tpot_s", "e2e_s")}
        self.sums: dict[str, float] = {}
        self.hits: dict[int, list[float]] = {}  # tier -> [requests, cached tokens]
        self.times = _TimeSums()
        self.slo_counts: dict[tuple[float | None, float | None], list[float]] = {}

    def __call__(self, cols: dict[str, NDArray[Any]]) -> None:
        if self.kept is not None:
            self.kept.append(cols)
            self.n_kept += len(cols["request"])
            if self.n_kept <= self.exact_limit:
                return
            kept, self.kept = self.kept, None
            for part in kept:
                self._add(part)
            return
        self._add(cols)

    def _add(self, cols: dict[str, NDArray[Any]]) -> None:
        done = np.isfinite(cols["finish_s"])
        self.n += len(done)
        self.completed += int(done.sum())
        self.rejected += int(cols["rejected"].sum())
        arrival = cols["arrival_s"][np.isfinite(cols["arrival_s"])]
        if len(arrival):
            self.start = min(self.start, float(arrival.min()))
        if done.any():
            self.end = max(self.end, float(cols["finish_s"][done].max()))
        for key, sk in self.sketch.items():
            sk.add(cols[key][done])
        prompt = cols["input_tokens"][done].astype(float)
        out = cols["output_tokens"][done].astype(float)
        cached = cols["cached_tokens"][done].astype(float)
        for key, value in (("tokens", float((prompt + out).sum())), ("output", float(out.sum())),
                           ("prompt", float(prompt.sum())), ("cached", float(cached.sum())),
                           ("reload", float(cols["reload_s"][done].sum()))):  # fmt: skip
            self.sums[key] = self.sums.get(key, 0.0) + value
        hits = cols["hit_tier"][done]
        for level in np.unique(hits[hits >= 0]).tolist():
            at = hits == level
            row = self.hits.setdefault(int(level), [0.0, 0.0])
            row[0] += float(at.sum())
            row[1] += float(cached[at].sum())
        self.times.add(cols["finish_s"][done], np.column_stack([prompt + out, out]))
        ttft, tpot = cols["ttft_s"][done], cols["tpot_s"][done]
        for (slo_ttft, slo_tpot), acc in self.slo_counts.items():
            ok = np.ones(len(ttft), dtype=bool)
            if slo_ttft is not None:
                ok &= ttft <= slo_ttft
            if slo_tpot is not None:
                ok &= ~(tpot > slo_tpot)
            acc[0] += float(ok.sum())
            acc[1] += float(out[ok].sum())

    def track_slo(self, slo_ttft_s: float | None, slo_tpot_s: float | None) -> None:
        """Count goodput for these SLOs (call before the run)."""
        self.slo_counts[(slo_ttft_s, slo_tpot_s)] = [0.0, 0.0]

    def summary(
        self, chips: float, tier_names: tuple[str, ...], slo_ttft_s: float | None, slo_tpot_s: float | None
    ) -> dict[str, Any]:
        """The summary (keys as :func:`~.results.summarize`)."""
        from .results import PERCENTILES, summarize

        if self.kept is not None:  # few rows: the exact, in-memory summary
            if not self.kept:
                return summarize(_empty(), chips, tier_names, slo_ttft_s, slo_tpot_s)
            cols = {k: np.concatenate([p[k] for p in self.kept]) for k in self.kept[0]}
            order = np.argsort(cols["request"], kind="stable")  # request order, as in memory
            return summarize(
                {k: v[order] for k, v in cols.items()}, chips, tier_names, slo_ttft_s, slo_tpot_s
            )
        n, done = self.n, self.completed
        start = self.start if math.isfinite(self.start) else 0.0
        end = self.end if done else start
        span = max(end - start, 1e-12)
        steady: dict[str, float | None] = {"total_tok_s_per_chip": None, "output_tok_s_per_chip": None}
        if done >= 10:
            lo, hi = start + 0.2 * span, start + 0.8 * span
            tok, out = self.times.between(lo, hi)
            if tok > 0:
                steady = {"total_tok_s_per_chip": float(tok / (hi - lo) / chips),
                          "output_tok_s_per_chip": float(out / (hi - lo) / chips)}  # fmt: skip
        good = self.slo_counts.get((slo_ttft_s, slo_tpot_s))
        if good is None:
            raise ValueError("goodput: call track_slo with these SLOs before the run")
        s = self.sums
        prompt = max(s.get("prompt", 0.0), 1.0)
        pct = {k: sk.percentiles(PERCENTILES) for k, sk in self.sketch.items()}
        return {
            "requests": n,
            "completed": done,
            "rejected": self.rejected,
            "unfinished": n - done - self.rejected,
            "duration_s": span,
            "ttft_s": pct["ttft_s"],
            "tpot_s": pct["tpot_s"],
            "itl_s": dict(pct["tpot_s"]),
            "e2e_s": pct["e2e_s"],
            "total_tok_s_per_chip": s.get("tokens", 0.0) / span / chips,
            "output_tok_s_per_chip": s.get("output", 0.0) / span / chips,
            "steady_state": steady,
            "goodput": {
                "slo_ttft_s": slo_ttft_s,
                "slo_tpot_s": slo_tpot_s,
                "share_of_requests": good[0] / max(n, 1),
                "output_tok_s_per_chip": good[1] / span / chips,
            },
            "cache": {
                "tiers": {
                    name: {
                        "request_hit_rate": self.hits.get(level, [0.0, 0.0])[0] / done if done else 0.0,
                        "prompt_token_share": self.hits.get(level, [0.0, 0.0])[1] / prompt,
                    }
                    for level, name in enumerate(tier_names)
                },
                "cached_token_share": s.get("cached", 0.0) / prompt,
                "reload_s_total": s.get("reload", 0.0),
            },
            "tokens": {
                "cache_read": s.get("cached", 0.0),
                "prefilled": s.get("prompt", 0.0) - s.get("cached", 0.0),
                "output": s.get("output", 0.0),
            },
        }


def _empty() -> dict[str, NDArray[Any]]:
    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return request_table({"request": i, "arrival_s": f, "admitted_s": f, "first_token_s": f, "finish_s": f,
                          "input_tokens": i, "output_tokens": i, "cached_tokens": i, "hit_tier": i,
                          "reload_s": f, "session": i, "replica": i, "rejected": np.zeros(0, dtype=bool),
                          "preemptions": i})  # fmt: skip


class FileSink:
    """Appends the per-request table to ``path`` (.parquet: a row group per chunk; .csv) through
    a temporary file renamed into place by :meth:`close`; :meth:`abort` removes it. Rows are
    grouped by replica, in request order within each. ``summary`` sees every row."""

    def __init__(self, path: str | Path, summary: StreamSummary) -> None:
        self.path = Path(path)
        if self.path.suffix not in TABLE_FORMATS:
            raise InvalidInputError(f"{self.path}: unknown table format; valid: {', '.join(TABLE_FORMATS)}")
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.summary = summary
        self.rows = 0
        self._writer: Any = None
        self._csv: Any = None

    def __call__(self, rows: dict[str, NDArray[Any]]) -> None:
        if not len(rows["request"]):
            return
        cols = request_table(rows)
        self.summary(cols)
        try:
            if self.path.suffix == ".parquet":
                self._parquet(cols)
            else:
                import pandas as pd

                if self._csv is None:
                    self._csv = open(self.tmp, "w", newline="")  # noqa: SIM115 (closed in close/abort)
                pd.DataFrame(cols).to_csv(self._csv, index=False, header=not self.rows)
        except OSError as exc:
            self.abort()
            raise InvalidInputError(f"{self.path}: cannot write: {exc.strerror}") from None
        self.rows += len(cols["request"])

    def _parquet(self, cols: dict[str, NDArray[Any]]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InvalidInputError(f"{self.path}: Parquet needs pyarrow ({exc})") from None
        tbl = pa.table(cols)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, tbl.schema)
        self._writer.write_table(tbl)

    def close(self) -> Path:
        """Finish the file and move it into place."""
        try:
            if self._writer is not None:
                self._writer.close()
            elif self._csv is not None:
                self._csv.close()
            else:  # no rows: an empty table with the header
                import pandas as pd

                frame = pd.DataFrame(_empty())
                if self.path.suffix == ".parquet":
                    frame.to_parquet(self.tmp, index=False)
                else:
                    frame.to_csv(self.tmp, index=False)
            self.tmp.replace(self.path)
        except OSError as exc:
            self.abort()
            raise InvalidInputError(f"{self.path}: cannot write: {exc.strerror}") from None
        return self.path

    def abort(self) -> None:
        """Drop the temporary file (the target is untouched)."""
        for handle in (self._writer, self._csv):
            if handle is not None:
                with contextlib.suppress(Exception):  # already failing: keep the first error
                    handle.close()
        self._writer = self._csv = None
        if self.tmp.exists():
            self.tmp.unlink()


class FileColumns(Mapping[str, NDArray[Any]]):
    """The per-request table of a streamed run, read back from its file on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cols: dict[str, NDArray[Any]] | None = None

    def _load(self) -> dict[str, NDArray[Any]]:
        if self._cols is None:
            import pandas as pd

            frame = pd.read_parquet(self.path) if self.path.suffix == ".parquet" else pd.read_csv(self.path)
            self._cols = {k: frame[k].to_numpy() for k in frame.columns}
        return self._cols

    def __getitem__(self, key: str) -> NDArray[Any]:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
