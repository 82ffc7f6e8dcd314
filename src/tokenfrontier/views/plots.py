"""Plotly figures, one function per picture, each taking the core's results.

``save(fig, path)``: ``.html`` always works offline (plotly.js inlined, no CDN); ``.png`` and
``.svg`` go through kaleido and the system Chromium (Debian package ``chromium``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError
from ..outputs import check_file, write_file

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "GEMM_SHAPES",
    "breakdown_figure",
    "check_target",
    "cost_figure",
    "frontier_figure",
    "memory_figure",
    "phase_figure",
    "render",
    "roofline_figure",
    "save",
    "simulation_figure",
    "tco_figure",
]

#: GEMM shapes of SPEC §4's table, marked on the roofline (M, N, K).
GEMM_SHAPES = {
    "decode b=1": (1, 8192, 8192),
    "decode b=32": (32, 8192, 8192),
    "MoE expert": (128, 4096, 4096),
    "square 1k": (1024, 1024, 1024),
    "prefill": (4096, 8192, 8192),
}
_LAYOUT = dict(template="plotly_white", font=dict(size=13), margin=dict(l=60, r=20, t=60, b=50))


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:  # pragma: no cover - plotly is a core dependency
        raise InvalidInputError("plots need plotly: pip install plotly") from None
    return go


def roofline_figure(chips: Iterable[Any], dtype: str = "fp8") -> go.Figure:
    """Attainable FLOP/s vs arithmetic intensity (log-log), one roof per chip."""
    from ..roofline import gemm_intensity

    go = _go()
    fig = go.Figure()
    x = np.logspace(-1, 5, 200)
    for chip in chips:
        peak = chip.peak_flops(dtype)
        bw = chip.main_memory.bandwidth_bytes_per_s
        y = np.minimum(peak, x * bw) / 1e12
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=chip.id,
            hovertemplate=f"{chip.name}<br>AI %{{x:.3g}} FLOP/B<br>%{{y:,.1f}} TFLOP/s"
            f"<br>ridge {peak / bw:,.2f} FLOP/B<extra></extra>",
        ))  # fmt: skip
    for label, (m, n, k) in GEMM_SHAPES.items():
        ai = gemm_intensity(m, n, k, dtype)
        # the line takes data coordinates; an annotation on a log axis takes log10 ones
        fig.add_vline(x=ai, line_dash="dot", line_color="grey")
        fig.add_annotation(x=float(np.log10(ai)), y=1, yref="paper", text=f"{label} ({ai:,.0f})",
                           textangle=-90, showarrow=False, xanchor="right", yanchor="top")  # fmt: skip
    fig.update_layout(
        title=f"Roofline ({dtype}, main memory)",
        xaxis=dict(type="log", title="arithmetic intensity (FLOP/byte)"),
        yaxis=dict(type="log", title="attainable TFLOP/s"),
        **_LAYOUT,
    )
    return fig


def _by_hardware(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r["hardware"], []).append(r)
    return {k: sorted(v, key=lambda r: r["tok_s_per_user"]) for k, v in groups.items()}


def _hover(r: dict[str, Any]) -> str:
    usd = r.get("usd_per_mtok")
    price = f"<br>${usd:,.4f} per Mtok" if usd is not None else ""
    band = _band(r, "total_tok_s_per_chip")
    if band is not None:
        price += f"<br>80% interval: {band[0]:,.1f}-{band[1]:,.1f} tok/s/chip ({r.get('interval_level')})"
    return (
        f"{r['hardware']} {r['deployment']} ({r['chips']} chips, {r['weights']})"
        f"<br>concurrency {r['concurrency']}<br>{r['tok_s_per_user']:,.1f} tok/s/user"
        f"<br>{r['total_tok_s_per_chip']:,.1f} tok/s/chip<br>TTFT {r['ttft_s'] * 1e3:,.1f} ms{price}"
    )


def _band(r: dict[str, Any], y_key: str) -> tuple[float, float] | None:
    """The 80% interval of a frontier point's ``y_key``: its ``*_low``/``*_high``; a normalised
    throughput and $/Mtok (which falls as throughput rises) from the interval of total tok/s
    per chip."""
    lo, hi = r.get(f"{y_key}_low"), r.get(f"{y_key}_high")
    if lo is not None and hi is not None:
        return float(lo), float(hi)
    t, t_lo, t_hi = (r.get(f"total_tok_s_per_chip{s}") for s in ("", "_low", "_high"))
    if r.get(y_key) is None or not (t and t_lo and t_hi):
        return None
    if y_key in _PER_THROUGHPUT:  # throughput per system / kW / $-hour: the chip's, scaled
        return r[y_key] * t_lo / t, r[y_key] * t_hi / t
    if y_key == "usd_per_mtok":
        return r[y_key] * t / t_hi, r[y_key] * t / t_lo
    return None


#: Normalised throughputs (``economics.frontier_cost``): tok/s per chip times a constant.
_PER_THROUGHPUT = ("tok_s_per_system", "tok_s_per_kw", "tok_s_per_usd_hour")


def _rgba(color: str, alpha: float) -> str:
    h = color.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


#: Line colours (plotly's default sequence), so each hardware's band takes its line's colour.
_COLORS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
           "#FF97FF", "#FECB52")  # fmt: skip


def _lines_by_hardware(frontier: Any, y_key: str, title: str, x_title: str, y_title: str) -> go.Figure:
    """One log-log line per hardware of ``y_key`` against tok/s per user, hover = the point; a
    shaded band per line spans each point's 80% prediction interval (``tokenfrontier.intervals``)."""
    go = _go()
    fig = go.Figure()
    for n, (hw, pts) in enumerate(_by_hardware(frontier.records).items()):
        pts = [p for p in pts if p.get(y_key) is not None]
        color = _COLORS[n % len(_COLORS)]
        bands = [_band(p, y_key) for p in pts]
        if pts and all(b is not None for b in bands):
            x = [p["tok_s_per_user"] for p in pts]
            levels = ", ".join(sorted({str(p.get("interval_level", "?")) for p in pts}))
            fig.add_trace(go.Scatter(
                x=x, y=[b[1] for b in bands if b], mode="lines", line=dict(width=0), legendgroup=hw,
                showlegend=False, hoverinfo="skip", name=f"{hw} 80% interval (high)",
            ))  # fmt: skip
            fig.add_trace(go.Scatter(
                x=x, y=[b[0] for b in bands if b], mode="lines", line=dict(width=0), fill="tonexty",
                fillcolor=_rgba(color, 0.18), legendgroup=hw, name=f"{hw} 80% interval ({levels})",
                hoverinfo="skip",
            ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=[p["tok_s_per_user"] for p in pts], y=[p[y_key] for p in pts],
            mode="lines+markers", name=hw, text=[_hover(p) for p in pts], legendgroup=hw,
            line=dict(color=color), hovertemplate="%{text}<extra></extra>",
        ))  # fmt: skip
    fig.update_layout(
        title=title,
        xaxis=dict(type="log", title=x_title),
        yaxis=dict(type="log", title=y_title),
        **_LAYOUT,
    )
    return fig


def frontier_figure(frontier: Any) -> go.Figure:
    """Throughput (per chip, or as normalised: ``frontier.extra["per_key"]``) vs tok/s per user:
    one Pareto line per hardware, shaded by its 80% prediction interval."""
    key = frontier.extra.get("per_key", "total_tok_s_per_chip")
    label = frontier.extra.get("per_label", "tok/s/chip").replace("tok/s/chip", "tok/s per chip")
    return _lines_by_hardware(
        frontier, key, frontier.title, "interactivity: tok/s per user", f"throughput: total {label}",
    )  # fmt: skip


def cost_figure(frontier: Any) -> go.Figure:
    """$ per million tokens vs interactivity along each hardware's frontier (shaded: 80%
    interval, from the throughput's)."""
    return _lines_by_hardware(
        frontier, "usd_per_mtok", "$ per million tokens vs interactivity",
        "tok/s per user", "$ per Mtok (input + output)",
    )  # fmt: skip


def breakdown_figure(prediction: Any) -> go.Figure:
    """The decode step's components (ms), which sum to TPOT."""
    go = _go()
    items = [(k, v * 1e3) for k, v in prediction.step_breakdown_s.items() if v > 0]
    fig = go.Figure(go.Bar(
        x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
        hovertemplate="%{y}: %{x:.4f} ms<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(
        title=f"decode step of {prediction.model} on {prediction.hardware}: "
        f"TPOT {prediction.tpot_s * 1e3:.3f} ms ({prediction.binding_constraint})",
        xaxis_title="ms per output token",
        **_LAYOUT,
    )
    return fig


def memory_figure(result: Any) -> go.Figure:
    """Memory composition per system (weights, KV, free) of a deployment or calculation."""
    go = _go()
    if hasattr(result, "weight_bytes_per_system"):  # Deployment
        w = np.array(result.weight_bytes_per_system) / 1e9
        kv = np.array(result.kv_bytes_per_sequence_per_system) / 1e9
        cap = result.capacity_bytes_per_system / 1e9
        title = f"{result.model} on {result.hardware}: per system (KV of one sequence)"
    else:  # Calculation
        n = max(result.systems_needed or 0, 1)
        w = np.full(n, result.weight_bytes / n / 1e9)
        kv = np.full(n, result.kv_bytes / n / 1e9)
        cap = (result.capacity_bytes or 0.0) / n / 1e9
        title = f"{result.model} on {result.hardware}: {n} systems (weights + all KV)"
    idx = [f"#{i + 1}" for i in range(len(w))]
    fig = go.Figure([
        go.Bar(name="weights", x=idx, y=w),
        go.Bar(name="KV cache", x=idx, y=kv),
        go.Bar(name="free", x=idx, y=np.maximum(cap - w - kv, 0)),
    ])  # fmt: skip
    fig.update_layout(barmode="stack", title=title, yaxis_title="GB", xaxis_title="system",
                      **_LAYOUT)  # fmt: skip
    return fig


def phase_figure(phase: Any) -> go.Figure:
    """Systems needed over ISL x model size (log colour), catalog models marked."""
    go = _go()
    labels = [f"{s / 1e6:g}M" if s >= 1e6 else f"{s / 1e3:g}k" for s in phase.isl]
    rows = [(float(p), f"{p / 1e9:,.0f}B (dense GQA scaling)", phase.systems[i])
            for i, p in enumerate(phase.params)]  # fmt: skip
    rows += [(float(m["total_params"]), f"\u2605 {m['model']} ({m['total_params'] / 1e9:,.0f}B)",
              np.array(m["systems"], dtype=float)) for m in phase.markers]  # fmt: skip
    rows.sort(key=lambda r: r[0])
    z = np.array([r[2] for r in rows])
    fig = go.Figure(go.Heatmap(
        x=labels, y=[r[1] for r in rows], z=np.log10(z), text=z.astype(int),
        texttemplate="%{text}", colorscale="Viridis", colorbar=dict(title="log10 systems"),
        hovertemplate="ISL %{x}, %{y}: %{text} systems<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(title=f"systems of {phase.hardware} for one copy (weights + KV; \u2605 = catalog)",
                      xaxis_title="ISL", yaxis_title="model", **_LAYOUT)  # fmt: skip
    return fig


def tco_figure(tco: Any) -> go.Figure:
    """TCO waterfall: capital, electricity, colocation, support -> $/hour (a rental rate: one bar)."""
    go = _go()
    parts = [
        ("capital", tco.capital_usd_per_hour),
        ("electricity", tco.electricity_usd_per_hour),
        ("colocation", tco.colocation_usd_per_hour),
        ("support", tco.support_usd_per_hour),
    ] if hasattr(tco, "capital_usd_per_hour") else [(tco.basis, tco.total_usd_per_hour)]  # fmt: skip
    fig = go.Figure(go.Waterfall(
        x=[k for k, _ in parts] + ["total"], y=[v for _, v in parts] + [0],
        measure=["relative"] * len(parts) + ["total"],
        text=[f"${v:.2f}" for _, v in parts] + [f"${tco.total_usd_per_hour:.2f}"],
        hovertemplate="%{x}: %{text}/h<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(title=f"TCO of {tco.system}: ${tco.total_usd_per_hour:.2f} per hour",
                      yaxis_title="$ per hour", **_LAYOUT)  # fmt: skip
    return fig


def tornado_figure(tornado: Any) -> go.Figure:
    """Deal NPV tornado: one bar per input from NPV at its low to NPV at its high value,
    widest swing on top, around the base NPV ($M)."""
    go = _go()
    bars = list(reversed(tornado.bars))  # plotly draws the first category at the bottom
    base = tornado.base_npv_usd / 1e6
    fig = go.Figure()
    for key, name, color in (("low", "input low", "#d62728"), ("high", "input high", "#1f77b4")):
        fig.add_trace(go.Bar(
            y=[b["label"] for b in bars], x=[b[f"npv_{key}_usd"] / 1e6 - base for b in bars], base=base,
            orientation="h", name=name, marker_color=color,
            text=[b[f"{key}_shown"] for b in bars], textposition="auto",
            hovertemplate="%{y} at %{text}: NPV $%{x:,.0f}M from base<extra></extra>",
        ))  # fmt: skip
    fig.add_vline(x=base, line_dash="dot", annotation_text=f"base ${base:,.0f}M")
    fig.update_layout(title=f"Deal NPV at {tornado.discount_rate:.0%}: one input at a time",
                      xaxis_title="NPV ($M)", barmode="overlay", **_LAYOUT)  # fmt: skip
    return fig


def ramp_figure(ramp: Any) -> go.Figure:
    """MW online vs MW the contract needs by quarter, shortfall shaded."""
    go = _go()
    q = [r["quarter"] for r in ramp.rows]
    online = [r["mw_online"] for r in ramp.rows]
    needed = [r["mw_needed"] for r in ramp.rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=q, y=needed, name="contract needs", mode="lines+markers",
                             line=dict(dash="dash", color="#d62728")))  # fmt: skip
    fig.add_trace(go.Scatter(x=q, y=online, name="MW online", mode="lines+markers", fill="tonexty",
                             fillcolor="rgba(214,39,40,0.12)", line=dict(color="#1f77b4")))  # fmt: skip
    fig.update_layout(title=f"Datacenter ramp ({ramp.table}) vs contract: shaded = shortfall",
                      xaxis_title="quarter (end)", yaxis_title="MW of critical IT", **_LAYOUT)  # fmt: skip
    return fig


def margin_figure(margins: Any) -> go.Figure:
    """Gross margin of every frontier point vs tok/s per user, the 80% interval as a band."""
    go = _go()
    pts = sorted(margins.points, key=lambda p: p["tok_s_per_user"])
    x = [p["tok_s_per_user"] for p in pts]
    fig = go.Figure()
    if pts and all(p["gross_margin_low"] is not None for p in pts):
        fig.add_trace(go.Scatter(x=x + x[::-1], y=[p["gross_margin_high"] for p in pts]
                                 + [p["gross_margin_low"] for p in pts][::-1],
                                 fill="toself", fillcolor="rgba(31,119,180,0.15)", line=dict(width=0),
                                 name="80% interval", hoverinfo="skip"))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p["gross_margin"] for p in pts],
            mode="lines+markers",
            name="gross margin",
            text=[f"{p['hardware']} {p['deployment']} x{p['concurrency']}" for p in pts],
            hovertemplate="%{text}<br>%{x:.1f} tok/s/user: %{y:.1%}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_dash="dot")
    fig.update_layout(title=f"Gross margin vs card '{margins.card}' ({margins.points_workload} workload)",
                      xaxis_title="tok/s per user", yaxis_title="gross margin", yaxis_tickformat=".0%",
                      **_LAYOUT)  # fmt: skip
    return fig


_CDF_POINTS = 400  # points per latency CDF (exact quantiles, so the file stays small at 1M requests)
_LATENCIES = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E"))


def _cdf(values: Any) -> tuple[Any, Any]:
    """(value, share of requests <= value) at ``_CDF_POINTS`` probabilities, finite values only."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return np.array([]), np.array([])
    if len(v) <= _CDF_POINTS:
        x = np.sort(v)
        return x, np.arange(1, len(x) + 1) / len(x)
    q = np.linspace(0.0, 1.0, _CDF_POINTS)
    return np.quantile(v, q), q


def _latency_band(summary: dict[str, Any], key: str) -> tuple[float, float] | None:
    """(low, high) / central of the P50 of latency ``key``, when the summary carries its interval."""
    mid = (summary.get(key) or {}).get("p50")
    lo, hi = ((summary.get(f"{key}_{end}") or {}).get("p50") for end in ("low", "high"))
    if not mid or lo is None or hi is None:
        return None
    return lo / mid, hi / mid


def simulation_figure(sim: Any) -> go.Figure:
    """Latency CDFs (TTFT, TPOT, E2E in ms, log x; SLO limits dashed; shaded: the model's 80%
    interval where the summary carries one) above the timeline: running
    batch and queue length (left axis) and KV occupancy (right axis, % of the KV room)."""
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(
        rows=2, cols=3, row_heights=[0.45, 0.55], vertical_spacing=0.14, horizontal_spacing=0.06,
        specs=[[{}, {}, {}], [{"colspan": 3, "secondary_y": True}, None, None]],
        subplot_titles=("TTFT", "TPOT", "E2E latency",
                        "timeline: running batch, queue, KV occupancy (all replicas, sampled)"),
    )  # fmt: skip
    done = np.isfinite(np.asarray(sim.columns["finish_s"], dtype=float))
    goodput = sim.summary["goodput"]
    slo = {"ttft_s": goodput["slo_ttft_s"], "tpot_s": goodput["slo_tpot_s"]}
    for col, (key, label) in enumerate(_LATENCIES, start=1):
        x, y = _cdf(np.asarray(sim.columns[key], dtype=float)[done] * 1e3)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=f"{label} CDF", showlegend=False, line=dict(shape="hv"),
            hovertemplate=f"{label} %{{x:,.3f}} ms<br>%{{y:.1%}} of requests at or below<extra></extra>",
        ), row=1, col=col)  # fmt: skip
        ratio = _latency_band(sim.summary, key)
        if ratio is not None and len(x):
            # the model's 80% interval: every latency scaled as the P50's interval scales it
            # (tokenfrontier.intervals.summary_intervals); E2E has none
            fig.add_trace(go.Scatter(
                x=x * ratio[1], y=y, mode="lines", line=dict(width=0, shape="hv"), showlegend=False,
                hoverinfo="skip", name=f"{label} 80% interval (high)",
            ), row=1, col=col)  # fmt: skip
            fig.add_trace(go.Scatter(
                x=x * ratio[0], y=y, mode="lines", line=dict(width=0, shape="hv"), fill="tonextx",
                fillcolor="rgba(99, 110, 250, 0.18)", showlegend=False, hoverinfo="skip",
                name=f"{label} 80% interval ({sim.summary.get('interval_level')})",
            ), row=1, col=col)  # fmt: skip
        if slo.get(key) is not None:
            # a shape on a log axis takes data coordinates (an annotation would take log10)
            fig.add_vline(x=slo[key] * 1e3, line_dash="dash", line_color="red", row=1, col=col)
        fig.update_xaxes(type="log", title_text=f"{label} (ms)", row=1, col=col)
    fig.update_yaxes(title_text="share of requests", range=[0, 1.02], row=1, col=1)
    tl = sim.timeline
    t = np.asarray(tl["t_s"], dtype=float)
    room = float(sim.deployment.get("kv_main_bytes") or 0.0)
    kv = np.asarray(tl["kv_bytes"], dtype=float)
    finite_room = 0 < room < 1e29  # the runner reports 1e30 when the KV room is unbounded
    kv_y, kv_title = (
        (kv / room * 100, "KV occupancy (% of KV room)") if finite_room else (kv / 1e9, "KV (GB)")
    )
    for name, y, secondary, dash in (
        ("running", tl["running"], False, None), ("waiting", tl["waiting"], False, "dot"),
        (kv_title, kv_y, True, "dash"),
    ):  # fmt: skip
        fig.add_trace(go.Scatter(
            x=t, y=np.asarray(y, dtype=float), mode="lines", name=name, line=dict(shape="hv", dash=dash),
            hovertemplate=f"t %{{x:,.2f}} s<br>{name} %{{y:,.1f}}<extra></extra>",
        ), row=2, col=1, secondary_y=secondary)  # fmt: skip
    fig.update_xaxes(title_text="simulated time (s)", row=2, col=1)
    fig.update_yaxes(title_text="requests", row=2, col=1, secondary_y=False)
    fig.update_yaxes(title_text=kv_title, row=2, col=1, secondary_y=True, rangemode="tozero")
    s = sim.summary
    p99 = s["ttft_s"]["p99"]
    fig.update_layout(
        title=f"{sim.model} on {sim.hardware} ({sim.chips} chips): {sim.workload}; "
        f"{s['completed']:,} of {s['requests']:,} requests, P99 TTFT "
        f"{'-' if p99 is None else f'{p99 * 1e3:,.1f} ms'}",
        height=750, legend=dict(orientation="h", y=-0.12), **_LAYOUT,
    )  # fmt: skip
    return fig


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return os.environ.get("BROWSER_PATH")


def check_target(path: str | Path, flag: str = "--plot") -> Path:
    """Before any work: ``path`` is a writable file of a known format (and PNG/SVG can be made)."""
    path = check_file(path, flag)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png", ".svg"):
        raise InvalidInputError(f"{flag} {path}: unknown format '{suffix}'; use .html, .png or .svg")
    if suffix != ".html" and _chromium() is None:
        raise InvalidInputError(
            f"{flag} {path}: PNG/SVG export needs Chromium; install the Debian package "
            "'chromium' (apt-get install chromium) or write .html"
        )
    return path


def render(fig: go.Figure, tmp: Path, path: str | Path, flag: str = "--plot") -> None:
    """Draw ``fig`` into the file ``tmp`` in the format of ``path``'s suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".html":
        fig.write_html(tmp, include_plotlyjs=True, full_html=True)
        return
    browser = _chromium()
    if browser is not None:
        os.environ.setdefault("BROWSER_PATH", browser)
    try:
        fig.write_image(tmp, format=suffix[1:], width=1100, height=650)
    except Exception as exc:  # kaleido reports browser problems as plain exceptions
        raise InvalidInputError(
            f"{flag} {path}: image export failed ({type(exc).__name__}: {exc}); "
            "check that the Debian package 'chromium' works, or write .html"
        ) from None


def save(fig: go.Figure, path: str | Path, flag: str = "--plot") -> Path:
    """Write ``fig`` as .html (offline, plotly.js inlined), .png or .svg (kaleido + chromium).

    The file appears complete or not at all (a temporary file beside it, then renamed).
    """
    path = check_target(path, flag)
    return write_file(path, lambda tmp: render(fig, tmp, path, flag), flag)
