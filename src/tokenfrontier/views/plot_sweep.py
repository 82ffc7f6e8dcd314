"""The figure of a sweep: throughput per chip vs speed per user, one trace per hardware x model.

``predict`` cells plot tok/s per user (1 / TPOT) against total tok/s per chip; ``simulate``
cells plot output tok/s per chip against P99 TTFT; ``frontier`` cells their best tok/s per
user against their best tok/s per chip. Failed and infeasible cells are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["sweep_figure"]

#: command -> (x column, y column, x title, y title, log x)
_AXES = {
    "predict": ("tok_s_per_user", "total_tok_s_per_chip", "tok/s per user", "total tok/s per chip", True),
    "simulate": ("ttft_p99_s", "output_tok_s_per_chip", "P99 TTFT (s)", "output tok/s per chip", True),
    "frontier": ("max_tok_s_per_user", "max_total_tok_s_per_chip", "best tok/s per user",
                 "best total tok/s per chip", True),
}  # fmt: skip


def sweep_figure(frame: pd.DataFrame) -> go.Figure:
    """One panel per command in the sweep, a marker per computed cell (hover: its axes)."""
    from plotly.subplots import make_subplots

    ok = frame[frame["error"].isna() & frame["feasible"].fillna(False).astype(bool)]
    commands = [c for c in _AXES if (ok["command"] == c).any()]
    if not commands:
        raise InvalidInputError("--plot: nothing to draw, no cell of the sweep computed a feasible point")
    fig = make_subplots(rows=1, cols=len(commands), subplot_titles=commands)
    for col, cmd in enumerate(commands, start=1):
        x, y, xt, yt, logx = _AXES[cmd]
        part = ok[ok["command"] == cmd]
        for (hw, model), g in part.groupby(["hardware", "model"], sort=True):
            text = [_hover(r) for r in g.to_dict("records")]
            fig.add_scatter(x=g[x], y=g[y], mode="markers", name=f"{model} on {hw}", text=text,
                            legendgroup=f"{hw} {model}", showlegend=col == 1,
                            hovertemplate="%{text}<extra></extra>", row=1, col=col)  # fmt: skip
        fig.update_xaxes(title_text=xt, type="log" if logx else "linear", row=1, col=col)
        fig.update_yaxes(title_text=yt, row=1, col=col)
    fig.update_layout(template="plotly_white", title=f"sweep: {len(ok):,} of {len(frame):,} cells computed",
                      font=dict(size=13))  # fmt: skip
    return fig


def _hover(row: dict[str, Any]) -> str:
    keys = ("workload", "policy", "scheduling", "weights", "kv_dtype", "tp", "concurrency", "chips")
    return "<br>".join(f"{k}: {row[k]}" for k in keys if row.get(k) is not None and row.get(k) == row.get(k))
