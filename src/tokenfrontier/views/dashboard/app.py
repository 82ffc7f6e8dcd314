"""tokenfrontier dashboard (Streamlit). Pages: Calculator, Frontier, Simulate, Plan, Roofline,
Economics, Catalog, Design.

Every input lives in the URL (share a view by copying it); every table downloads as CSV; every
number's tooltip gives its formula and source. What-if hardware (I/O, memory, clock multipliers)
in the sidebar applies to every page.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from tokenfrontier import api as tf
from tokenfrontier.catalog import default_catalog
from tokenfrontier.economics import api as econ
from tokenfrontier.errors import TokenFrontierError
from tokenfrontier.units import parse_context
from tokenfrontier.views import plots
from tokenfrontier.views.dashboard.kit import Kit
from tokenfrontier.views.dashboard.units import human_frame
from tokenfrontier.views.dashboard.whatif import whatif_system

PAGES = ("Calculator", "Frontier", "Simulate", "Plan", "Roofline", "Economics", "Catalog", "Design")
WEIGHTS = ("native", "bf16", "fp8", "fp4")
st.set_page_config(page_title="tokenfrontier", layout="wide")
CAT = default_catalog()
QP = st.query_params


def param(key: str, default: str) -> str:
    return str(QP.get(key, default))


def remember(**values: Any) -> None:
    for k, v in values.items():
        QP[k] = ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


def url_problem(key: str, raw: str, valid: str, default: Any) -> None:
    """A URL parameter that failed its check: say which, why and what is used instead."""
    st.warning(f"URL parameter {key}={raw!r}: {valid}; using {default} instead")


def choice(label: str, key: str, options: list[str], default: str, **kw: Any) -> str:
    current = param(key, default)
    if current not in options:
        url_problem(key, current, "valid: " + ", ".join(options), default)
    index = options.index(current) if current in options else options.index(default)
    value = st.selectbox(label, options, index=index, key=f"w_{key}", **kw)
    remember(**{key: value})
    return value


def tokens(label: str, key: str, default: str, help: str) -> int | None:
    raw = st.text_input(label, param(key, default), key=f"w_{key}", help=help)
    remember(**{key: raw})
    try:
        return parse_context(raw, label)
    except TokenFrontierError as exc:
        st.error(str(exc))
        return None


def known(key: str, default: str, options: list[str]) -> list[str]:
    """The comma-separated ids of a URL parameter that exist; the others are named in a message."""
    ids = [h.strip() for h in param(key, default).split(",") if h.strip()]
    unknown = [h for h in ids if h not in options]
    if unknown:
        url_problem(key, ",".join(unknown), "unknown id(s); valid: " + ", ".join(options), "the rest")
    return [h for h in ids if h in options]


def number(label: str, key: str, default: float, lo: float, hi: float, step: float, help: str) -> float:
    """A number input seeded from the URL; a URL value that is not a finite number in [lo, hi]
    (integers where ``step`` is whole) is refused with a message, never clamped silently."""
    raw = param(key, str(default))
    start = default
    try:
        value = float(raw)
    except ValueError:
        url_problem(key, raw, "not a number", default)
    else:
        integer = float(step).is_integer() and float(lo).is_integer()
        if not (math.isfinite(value) and lo <= value <= hi) or (integer and not value.is_integer()):
            kind = "a whole number" if integer else "a finite number"
            url_problem(key, raw, f"must be {kind} in [{lo:g}, {hi:g}]", default)
        else:
            start = value
    value = st.number_input(label, float(lo), float(hi), float(start), float(step), key=f"w_{key}", help=help)
    remember(**{key: value})
    return float(value)


def csv_button(frame: Any, name: str) -> None:
    st.download_button(f"Download {name} (CSV)", frame.to_csv(index=False), f"{name}.csv", "text/csv")


def hardware(hw_id: str) -> Any:
    return whatif_system(CAT.system(hw_id), WHATIF["io"], WHATIF["mem"], WHATIF["clock"])


# -- sidebar: page and what-if hardware ------------------------------------------------------
st.sidebar.title("tokenfrontier")
if param("page", "Calculator") not in PAGES:
    url_problem("page", param("page", ""), "valid: " + ", ".join(PAGES), "Calculator")
page = st.sidebar.radio("Page", PAGES, index=PAGES.index(param("page", "Calculator"))
                        if param("page", "Calculator") in PAGES else 0)  # fmt: skip
remember(page=page)
with st.sidebar.expander("What-if hardware", expanded=param("io", "1") != "1"):
    st.caption("Multipliers applied to every hardware on every page (e.g. CS-3 with 10x I/O).")
    WHATIF = {
        "io": number("I/O bandwidth x", "io", 1.0, 0.1, 100.0, 1.0,
                     "scale-out link and offload (KVSS) bandwidth; SPEC §2: WSE-3 has 150 GB/s"),
        "mem": number("main memory x", "mem", 1.0, 0.1, 100.0, 0.5,
                      "capacity of the weight-holding tier (WSE-3: 44 GB SRAM)"),
        "clock": number("clock x", "clock", 1.0, 0.1, 10.0, 0.1,
                        "dense FLOP/s (and on-wafer SRAM bandwidth) scale with clock"),
    }  # fmt: skip

st.title(f"tokenfrontier — {page}")
KIT = Kit(st, choice=choice, tokens=tokens, number=number, known=known, param=param, remember=remember,
          hardware=hardware, csv_button=csv_button, catalog=CAT)  # fmt: skip


def page_calculator() -> None:
    c1, c2, c3 = st.columns(3)
    with c1:
        model = choice("Model", "model", CAT.model_ids, "gpt-oss-120b")
        hw = choice("Hardware", "hw", CAT.hardware_ids(), "cs-3")
    with c2:
        isl = tokens("Average ISL", "isl", "96k", "prompt tokens; 128k = 128,000, 128Ki = 131,072")
        osl = tokens("Average OSL", "osl", "256", "output tokens per request")
        conc = int(number("Concurrent requests", "conc", 16, 1, 100_000, 1,
                          "requests whose KV must be held at once"))  # fmt: skip
    with c3:
        weights = choice("Weights", "weights", ["bf16", "fp8", "fp4", "native"], "bf16")
        kv = choice("KV dtype", "kv", ["bf16", "fp8"], "bf16")
        usd = number("$ per system", "usd", 1_000_000.0, 0.0, 1e9, 50_000.0,
                     "capex per system; CS-3 list $1.0M, ~$1.3M ASP (SPEC §2)")  # fmt: skip
    if isl is None or osl is None:
        return
    try:
        calc = econ.calculator(model, hardware(hw), isl=isl, osl=osl, concurrency=conc,
                             weights=weights, kv_dtype=kv, usd_per_system=usd)  # fmt: skip
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    if not calc.feasible:
        st.error(calc.explanation)
        return
    m = st.columns(4)
    m[0].metric("systems needed", calc.systems_needed,
                help="fewest systems whose layer-boundary placement holds weights + every request's "
                "KV at ISL+OSL (SPEC §4)")  # fmt: skip
    m[1].metric(
        "tok/s per user",
        f"{calc.tok_s_per_user or 0:,.1f}",
        help="1 / TPOT from the calibrated step model at this deployment (tokenfrontier predict)",
    )
    m[2].metric(
        "$ per Mtok",
        f"{calc.usd_per_mtok or 0:,.4f}",
        help="deployment $/h (TCO, SPEC §5, with this $ per system) / (tokens per hour / 1e6)",
    )
    m[3].metric("capex", f"${(calc.capex_usd or 0.0) / 1e6:,.2f}M", help="systems x $ per system")
    st.caption(calc.explanation)
    st.plotly_chart(plots.memory_figure(calc), width="stretch")
    frame = calc.to_frame()
    st.dataframe(frame, hide_index=True)
    csv_button(frame, "calculator")


def page_frontier() -> None:
    c1, c2 = st.columns([1, 2])
    with c1:
        model = choice("Model", "model", CAT.model_ids, "gpt-oss-120b")
        isl = tokens("ISL", "isl", "1k", "prompt tokens")
        osl = tokens("OSL", "osl", "1k", "output tokens")
        weights = choice("Weights", "weights", list(WEIGHTS), "native")
        per = choice("Throughput per", "per", ["auto", "chip", "system", "kw", "usd-hour"], "auto",
                     help="auto: per $/hour (TCO) for SRAM vs GPUs, else per chip")  # fmt: skip
    with c2:
        default = "cs-3,gb300-nvl72,hgx-b200,dgx-h100"
        picked = st.multiselect("Hardware", CAT.hardware_ids(), known("hws", default, CAT.hardware_ids()),
                                key="w_hws")  # fmt: skip
        remember(hws=picked)
    if not picked:
        st.warning("Pick at least one hardware entry.")
        return
    if isl is None or osl is None:
        return
    try:
        f = tf.frontier(model, [hardware(h) for h in picked], isl=isl, osl=osl, weights=(weights,),
                        per=None if per == "auto" else per)  # fmt: skip
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    st.metric(
        "points evaluated",
        f"{f.points_evaluated:,}",
        help="hardware x TP x EP x PP x concurrency 1-4096, vectorized; Pareto set kept",
    )
    st.plotly_chart(plots.frontier_figure(f), width="stretch")
    st.plotly_chart(plots.cost_figure(f), width="stretch")
    st.caption(
        "Shaded: each point's 80% prediction interval, from cross-validated residuals of the level "
        "of the profile fallback chain that predicted it (column interval_level; "
        "benchmarks/crossval.py)."
    )
    frame = f.to_frame()
    st.dataframe(frame, hide_index=True)
    csv_button(frame, "frontier")


def page_simulate() -> None:
    from tokenfrontier.views.dashboard.simulate_page import page_simulate as render

    render(KIT)


def page_roofline() -> None:
    dtype = choice("dtype", "dtype", ["fp8", "bf16", "fp4"], "fp8")
    chips = sorted(CAT.chips)
    picked = st.multiselect("Chips", chips, known("chips", "h100,b200,wse-3,groq-lp30,mi355x", chips),
                            key="w_chips")  # fmt: skip
    remember(chips=picked)
    if not picked:
        st.warning("Pick at least one chip.")
        return
    hw = [hardware(c).chip for c in picked]
    st.plotly_chart(plots.roofline_figure(hw, dtype), width="stretch")
    from tokenfrontier.roofline import roofline

    frame = roofline(hw, dtype).to_frame()
    st.dataframe(frame, hide_index=True)
    csv_button(frame, "roofline")


def economics_base() -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("TCO")
        hw = choice("System", "sys", sorted(CAT.systems), "cs-3")
        colo = number("colocation $/kW/month", "colo", 165.0, 0.0, 1000.0, 5.0,
                      "SPEC §5: market $130-140, premium $200, CS-3 preset $165")  # fmt: skip
        util = number("utilisation", "util", 0.8, 0.0, 1.0, 0.05,
                      "share of hours serving: electricity and tokens served scale with it")  # fmt: skip
        try:
            t = econ.tco(hardware(hw), overrides={"colocation_usd_per_kw_month": colo, "utilization": util})
        except TokenFrontierError as exc:
            st.error(str(exc))
            t = None
        if t is not None:
            st.metric("total $ per hour", f"{t.total_usd_per_hour:,.2f}", help=t.explain())
            st.plotly_chart(plots.tco_figure(t), width="stretch")
            frame = t.to_frame().drop(columns=["inputs"])
            st.dataframe(human_frame(frame), hide_index=True)
            csv_button(frame, "tco")
    with c2:
        st.subheader("Deal")
        contract = number("contract $B", "contract", 27.6, 0.0, 1000.0, 0.1, "SPEC §5: $27.6B")
        mw = number("MW", "mw", 750.0, 0.0, 100_000.0, 10.0, "critical IT")
        years = number("term (years)", "years", 3.0, 0.5, 30.0, 0.5, "lock-in")
        try:
            d = econ.deal(contract_usd=contract * 1e9, mw=mw, years=years)
        except TokenFrontierError as exc:
            st.error(str(exc))
            return
        st.metric("implied $ per system-hour", f"{d.implied_usd_per_system_hour:,.2f}", help=d.explain())
        st.metric("IRR", "none" if d.irr is None else f"{d.irr:.1%}",
                  help="rate where the yearly cash flows' NPV is 0")  # fmt: skip
        import pandas as pd

        flows = pd.DataFrame({"year": range(len(d.cash_flows_usd)), "cash_flow_usd": d.cash_flows_usd})
        st.dataframe(human_frame(flows), hide_index=True)
        csv_button(flows, "deal_cash_flows")
    st.subheader("Fleet")
    f1, f2, f3 = st.columns(3)
    with f1:
        fmodel = choice("Model", "fmodel", CAT.model_ids, "gpt-oss-120b")
        fhw = choice("Hardware", "fhw", sorted(CAT.systems), "cs-3")
    with f2:
        fmw = number("fleet MW", "fmw", 100.0, 0.1, 100_000.0, 10.0, "MW of critical IT (SPEC §5)")
        fconc = int(number("users per model copy", "fconc", 64, 1, 4096, 1, "concurrency per copy"))
    with f3:
        price = number("selling $ per Mtok", "fprice", 0.30, 0.0, 1000.0, 0.05,
                       "SPEC §5: ~$0.30 per Mtok for a 120B-class model")  # fmt: skip
    try:
        fl = econ.fleet(fmodel, hardware(fhw), mw=fmw, isl=1024, osl=1024, concurrency=fconc,
                        usd_per_mtok=price)  # fmt: skip
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    m = st.columns(4)
    m[0].metric("systems", f"{fl.systems:,}", help="MW x 1000 / kW per system")
    m[1].metric("capacity Mtok/s", f"{fl.tok_s / 1e6:,.2f}", help=fl.explain())
    m[2].metric("revenue $M/yr", f"{fl.revenue_usd_per_year / 1e6:,.0f}", help="tokens per year x $/Mtok")
    m[3].metric("cost $M/yr", f"{fl.cost_usd_per_year / 1e6:,.0f}", help="TCO $/h x 8760 x systems")
    sens = pd.DataFrame(list(fl.colocation_sensitivity))
    st.caption(
        f"cooling flow {fl.cooling_lpm:,.0f} L/min; cost and margin by colocation rate (ISL/OSL 1k/1k):"
    )
    st.dataframe(human_frame(sens), hide_index=True)
    csv_button(sens, "fleet_colocation")


def page_economics() -> None:
    """TCO, deal and fleet, the cost breakdown, then the deal analyses."""
    from tokenfrontier.views.dashboard.cost_page import cost_breakdown

    economics_base()
    cost_breakdown(KIT)
    economics_deals()


def economics_deals() -> None:
    """Deal EBIT by year and NPV tornado, the datacenter ramp, margins against price cards."""
    import pandas as pd

    from tokenfrontier.economics import analyses

    st.subheader("Deal: EBIT by contract year and NPV tornado")
    ss = st.session_state  # the Deal inputs above (already checked)
    deal_args: dict[str, Any] = {
        "contract_usd": float(ss.get("w_contract", 27.6)) * 1e9,
        "mw": float(ss.get("w_mw", 750.0)),
        "years": float(ss.get("w_years", 3.0)),
    }
    d1, d2 = st.columns(2)
    with d1:
        rec = choice(
            "warrant contra-revenue",
            "warrant",
            ["max", "vested", "none"],
            "max",
            help="SPEC §5: 33,445,026 shares at $82.02 -> ~$2.74B max, over the agreement",
        )
        try:
            dy = analyses.deal_years(warrant=rec, **deal_args)
            tor = analyses.deal_tornado(**deal_args)
        except TokenFrontierError as exc:
            st.error(str(exc))
            return
        years = pd.DataFrame(list(dy.rows))
        shown = years.assign(**{c: years[c] / 1e6 for c in years if c.endswith("_usd")})
        shown.columns = [c.replace("_usd", " $M") for c in shown.columns]
        st.dataframe(shown, hide_index=True, column_config={
            "ebit_margin": st.column_config.NumberColumn(format="percent"),
            "ebit_margin_with_warrant": st.column_config.NumberColumn(format="percent")})  # fmt: skip
        st.caption(dy.explain())
        csv_button(years, "deal_ebit_by_year")
    with d2:
        st.plotly_chart(plots.tornado_figure(tor), width="stretch")
        st.caption(tor.explain())
    st.subheader("Datacenter ramp vs the contract")
    r1, r2 = st.columns([1, 2])
    with r1:
        table = choice("ramp table", "ramp", ["base", "high"], "base",
                       help="SPEC §5 narrative; assumptions in catalog/ramps/*.csv")  # fmt: skip
        need = number("contract needs MW per year", "needmw", 250.0, 1.0, 100_000.0, 10.0,
                      "SPEC §5: 250 MW a year in 2026-2028")  # fmt: skip
    try:
        rp = analyses.ramp(table, mw_per_year=need)
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    with r2:
        st.plotly_chart(plots.ramp_figure(rp), width="stretch")
    ramp_rows = pd.DataFrame(list(rp.rows))
    st.dataframe(
        ramp_rows.assign(
            revenue_usd=ramp_rows.revenue_usd / 1e6, forgone_usd=ramp_rows.forgone_usd / 1e6
        ).rename(columns={"revenue_usd": "revenue $M", "forgone_usd": "forgone $M"}),
        hide_index=True,
    )
    csv_button(ramp_rows, "ramp")
    st.subheader("Gross margin vs price cards")
    g1, g2, g3 = st.columns(3)
    with g1:
        mmodel = choice("Model", "mmodel", CAT.model_ids, "gpt-oss-120b")
        mhw = choice("Hardware", "mhw", sorted(CAT.systems), "cs-3")
    with g2:
        card = choice(
            "Price card",
            "card",
            sorted(CAT.price_cards),
            "default",
            help="catalog/prices/card-*.toml: $/Mtok per token type, with source and date",
        )
        workload = choice("Workload for the frontier", "mwork", ["agentic", "plain"], "agentic")
    with g3:
        misl = tokens("ISL", "misl", "8k", "prompt tokens")
        mosl = tokens("OSL", "mosl", "1k", "output tokens")
    if misl is None or mosl is None:
        return
    try:
        mg = analyses.margin(
            mmodel,
            hardware(mhw),
            isl=misl,
            osl=mosl,
            card=card,
            workloads=(workload, *({"agentic", "plain"} - {workload})),
            points=True,
        )
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    wl = pd.DataFrame(list(mg.workloads)).drop(columns=["tokens_per_hour_by_type"])
    st.dataframe(human_frame(wl), hide_index=True)
    csv_button(wl, "margins_by_workload")
    st.plotly_chart(plots.margin_figure(mg), width="stretch")
    pts = pd.DataFrame(list(mg.points))
    st.dataframe(human_frame(pts), hide_index=True)
    csv_button(pts, "margins")


def page_catalog() -> None:
    hw = tf.hardware().to_frame()
    st.subheader("Hardware")
    st.dataframe(human_frame(hw), hide_index=True)
    csv_button(hw, "hardware")
    pick = choice("Inspect / what-if", "inspect", CAT.hardware_ids(), "cs-3")
    base, new = CAT.system(pick), hardware(pick)
    import pandas as pd

    rows = [
        ("main memory GB", base.memory_bytes / 1e9, new.memory_bytes / 1e9),
        ("scale-out GB/s", base.io_bytes_per_s / 1e9, new.io_bytes_per_s / 1e9),
        (
            "dense BF16 TFLOP/s per chip",
            base.chip.peak_flops("bf16") / 1e12,
            new.chip.peak_flops("bf16") / 1e12,
        ),
    ]
    st.dataframe(pd.DataFrame(rows, columns=["quantity", "catalog", "what-if"]), hide_index=True)
    st.caption("Sources: " + "; ".join(base.sources))
    models = tf.models().to_frame()
    st.subheader("Models")
    st.dataframe(models, hide_index=True)
    csv_button(models, "models")


def page_plan() -> None:
    from tokenfrontier.views.dashboard.plan_page import page_plan as render

    render(KIT)


def page_design() -> None:
    from tokenfrontier.views.dashboard.design_page import page_design as render

    render(KIT)


{"Calculator": page_calculator, "Frontier": page_frontier, "Roofline": page_roofline,
 "Economics": page_economics, "Catalog": page_catalog, "Simulate": page_simulate,
 "Plan": page_plan, "Design": page_design}[page]()  # fmt: skip
