"""The dashboard's Plan page: traffic, SLO and candidate hardware -> ranked fleets and cost bars.

``app.py`` calls :func:`page_plan` with its URL-backed input helpers, so every input lives in the
URL like the other pages' inputs.
"""

from __future__ import annotations

from typing import Any

from tokenfrontier.views.dashboard.kit import Kit

__all__ = ["DEFAULT_HARDWARE", "page_plan", "plan_figure"]

DEFAULT_HARDWARE = "cs-3,gb300-nvl72,hgx-b200,dgx-h100,dgx-h200"


def plan_figure(result: Any) -> Any:
    """$/hour of the cheapest fleet per hardware (priced fleets), cheapest first."""
    import plotly.graph_objects as go

    priced = [f for f in result.fleets if f["usd_per_hour"] is not None]
    fig = go.Figure(
        go.Bar(
            x=[f["hardware"] for f in priced],
            y=[f["usd_per_hour"] for f in priced],
            text=[f"{f['replicas']} x {f['deployment']} ({f['chips']} chips)" for f in priced],
            hovertemplate="%{x}: $%{y:,.2f}/h<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(title=f"cheapest fleet per hardware: {result.model}, {result.traffic['qps']:g} QPS",
                      yaxis_title="$ per hour (fleet)", xaxis_title="hardware")  # fmt: skip
    return fig


def page_plan(kit: Kit) -> None:
    st = kit.st
    from tokenfrontier.api_plan import plan
    from tokenfrontier.errors import TokenFrontierError

    c1, c2, c3 = st.columns(3)
    with c1:
        st.subheader("Traffic")
        model = kit.choice("Model", "pmodel", kit.catalog.model_ids, "llama-3.3-70b")
        qps = kit.number("requests per second", "qps", 10.0, 0.01, 1e6, 1.0, "Poisson arrivals (QPS)")
        isl = kit.tokens("ISL", "pisl", "2000", "prompt tokens")
        osl = kit.tokens("OSL", "posl", "300", "output tokens")
    with c2:
        st.subheader("SLO")
        ttft_ms = kit.number("P99 TTFT (ms)", "pttft", 2000.0, 1.0, 1e6, 100.0,
                             "time to first token, 99th pct.")  # fmt: skip
        tpot_ms = kit.number("P99 TPOT (ms)", "ptpot", 50.0, 0.01, 1e5, 5.0,
                             "time per output token, 99th percentile (1000 / tok/s per user)")  # fmt: skip
        pessimistic = st.checkbox("plan at the slow end of the 80% interval", key="w_ppess")
    with c3:
        st.subheader("Candidates")
        ids = sorted(kit.catalog.systems)
        picked = st.multiselect("Hardware", ids, kit.known("phws", DEFAULT_HARDWARE, ids), key="w_phws")
        rental = st.checkbox("price at rental rates (else TCO)", key="w_prental")
    if not picked:
        st.warning("Pick at least one hardware entry.")
        return
    if isl is None or osl is None:
        return
    try:
        result = plan(model, [kit.hardware(h) for h in picked], qps=qps, isl=isl, osl=osl,
                      slo_ttft_p99_s=ttft_ms / 1e3, slo_tpot_p99_s=tpot_ms / 1e3, pessimistic=pessimistic,
                      rental=rental, requests=500, executor="serial")  # fmt: skip
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    best = result.best
    m = st.columns(4)
    if best is not None and best["usd_per_hour"] is not None:
        m[0].metric("cheapest fleet", f"{best['replicas']} x {best['deployment']} on {best['hardware']}",
                    help="fewest $/hour whose simulated P99 TTFT and TPOT meet the SLO")  # fmt: skip
        m[1].metric(
            "$ per hour", f"{best['usd_per_hour']:,.2f}", help=f"chips x $/chip-hour ({best['price_basis']})"
        )
        m[2].metric("$ per Mtok", f"{best['usd_per_mtok']:,.3f}",
                    help="fleet $/hour / (QPS x (ISL + OSL) x 3600 / 1e6)")  # fmt: skip
        m[3].metric("SLO headroom", f"{best['headroom']:.0%}", help="1 - simulated P99 / limit (the tighter)")
    else:
        st.warning("No priced hardware meets the SLO; the binding limit of each is listed below.")
    if result.fleets:
        st.plotly_chart(plan_figure(result), width="stretch")
        import pandas as pd

        rows = [{
            "rank": f["rank"], "hardware": f["hardware"],
            "deployment": f"{f['deployment']} batch<={f['batch_cap']}",
            "replicas": f["replicas"], "chips": f["chips"], "$/hour": f["usd_per_hour"],
            "$/Mtok": f["usd_per_mtok"], "P99 TTFT ms": round(f["p99_ttft_s"] * 1e3, 1),
            "P99 TPOT ms": round(f["p99_tpot_s"] * 1e3, 2) if f["p99_tpot_s"] else None,
            "headroom": f"{f['headroom']:.0%}",
        } for f in result.fleets]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        kit.csv_button(result.to_frame(), "plan")
    for r in result.infeasible:
        st.info(f"{r['hardware']}: {r['reason']}")
    st.caption(
        "The page plans serially, in this process (500 requests per simulation); "
        "`tokenfrontier plan --executor process|ray` spreads the same search over cores or a cluster."
    )
    with st.expander("Why the other options lost"):
        st.text(result.explain())
