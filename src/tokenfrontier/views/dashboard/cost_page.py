"""The Economics page's cost breakdown: $/Mtok by token type and $/hour by pool (work method).

``app.py`` calls :func:`cost_breakdown` with its URL-backed input helpers. Tables show human units
(:mod:`.units`); the downloads keep SI keys (CSV of the tables, JSON of the whole result).
"""

from __future__ import annotations

from typing import Any

from tokenfrontier.views.dashboard.kit import Kit

__all__ = ["breakdown_figure", "by_pool_frame", "by_type_frame", "cost_breakdown"]


def by_type_frame(cost: Any) -> Any:
    """One row per token type, SI: tokens/h, $/Mtok and its 80% interval, shares, $/h."""
    import pandas as pd

    rows = []
    for t, n in cost.tokens_per_hour_by_type.items():
        rows.append(
            {
                "token_type": t,
                "tokens_per_hour": n,
                "token_share": cost.token_share_by_type.get(t),
                "usd_per_mtok": cost.usd_per_mtok_by_type[t],
                "usd_per_mtok_low": cost.usd_per_mtok_by_type_low.get(t),
                "usd_per_mtok_high": cost.usd_per_mtok_by_type_high.get(t),
                "spend_share": cost.usd_per_hour_by_type[t] / cost.usd_per_hour
                if cost.usd_per_hour
                else None,
                "usd_per_hour": cost.usd_per_hour_by_type[t],
            }
        )
    return pd.DataFrame(rows)


def by_pool_frame(cost: Any) -> Any:
    """One row per pool and token type, SI: the pool's $/hour attributed to that type."""
    import pandas as pd

    rows = [
        {
            "pool": pool,
            "token_type": t,
            "usd_per_hour": usd,
            "pool_usd_per_hour": cost.usd_per_hour_by_pool[pool],
        }
        for pool, by in cost.usd_per_hour_by_pool_and_type.items()
        for t, usd in by.items()
    ]
    return pd.DataFrame(rows)


def breakdown_figure(cost: Any) -> Any:
    """Stacked bars: each pool's $/hour split by token type."""
    import plotly.graph_objects as go

    split = cost.usd_per_hour_by_pool_and_type
    pools = list(split)
    fig = go.Figure()
    for t in cost.tokens_per_hour_by_type:
        fig.add_trace(
            go.Bar(
                x=pools,
                y=[split[p][t] for p in pools],
                name=f"{t} ({cost.usd_per_mtok_by_type[t]:.4f} $/Mtok)",
                hovertemplate=f"{t}: $%{{y:,.2f}}/h<extra>%{{x}} pool</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title=f"$ per hour by pool and token type ({cost.method} method; {cost.utilization:.0%} utilisation)",
        xaxis_title="pool",
        yaxis_title="$ per hour",
    )
    return fig


def cost_breakdown(kit: Kit) -> None:
    """Inputs -> cost by token type (table with 80% bands) and by pool (table + stacked bar)."""
    st = kit.st
    from tokenfrontier.economics import api as econ
    from tokenfrontier.errors import TokenFrontierError
    from tokenfrontier.views.dashboard.units import human_frame

    st.subheader("Cost breakdown by token type and pool")
    c1, c2, c3 = st.columns(3)
    with c1:
        model = kit.choice("Model", "cmodel", kit.catalog.model_ids, "gpt-oss-120b")
        hw = kit.choice("Hardware (decode pool)", "chw", sorted(kit.catalog.systems), "dgx-h100")
    with c2:
        pre = kit.choice("Prefill pool on", "cpre", ["same", *sorted(kit.catalog.systems)], "same",
                     help="disaggregated: prefill on its own hardware, priced on its own")  # fmt: skip
        mix = kit.choice("Token mix", "cmix", ["agentic", "workload"], "agentic",
                     help="agentic: SPEC §5's mix of cache reads, writes, input, output")  # fmt: skip
    with c3:
        isl = kit.tokens("ISL", "cisl", "8k", "prompt tokens")
        osl = kit.tokens("OSL", "cosl", "1k", "output tokens")
        conc = int(kit.number("concurrency", "cconc", 32, 1, 4096, 1, "requests in flight per deployment"))
    if isl is None or osl is None:
        return
    opts: dict[str, Any] = {} if pre == "same" else {"prefill_on": kit.hardware(pre)}
    try:
        c = econ.cost(
            model, kit.hardware(hw), isl=isl, osl=osl, concurrency=conc, mix=mix, method="work", **opts
        )
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    m = st.columns(3)
    band = (
        f" (80%: {c.usd_per_mtok_low:.4f}-{c.usd_per_mtok_high:.4f})"
        if c.usd_per_mtok_low is not None
        else ""
    )
    m[0].metric(
        "blended $ per Mtok", f"{c.usd_per_mtok:.4f}", help="all pools' $/h / (tokens/h / 1e6)" + band
    )
    m[1].metric("$ per hour (all pools)", f"{c.usd_per_hour:,.2f}", help=c.basis)
    m[2].metric("utilisation", f"{c.utilization:.0%}", help="tokens/h = tok/s x 3600 x utilisation")
    types = by_type_frame(c)
    st.dataframe(human_frame(types), hide_index=True)
    kit.csv_button(types, "cost_by_token_type")
    st.plotly_chart(breakdown_figure(c), width="stretch")
    pools = by_pool_frame(c)
    st.dataframe(human_frame(pools), hide_index=True)
    kit.csv_button(pools, "cost_by_pool")
    st.download_button("Download cost (JSON, SI)", c.to_json(), "cost.json", "application/json")
    with st.expander("How these figures are derived"):
        st.code(c.explain())
