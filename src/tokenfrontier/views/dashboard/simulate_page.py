"""The dashboard's Simulate page: a workload, a model and a hardware -> the request-level
simulator's P99 latencies, throughput, prefix-cache share and goodput, per request.

``app.py`` calls :func:`page_simulate` with its URL-backed input helpers, so every input lives in
the URL like the other pages' inputs.
"""

from __future__ import annotations

from typing import Any

from tokenfrontier.views.dashboard.kit import Kit

__all__ = ["SIM_HELP", "SIM_SCHEDULING", "SIM_WORKLOADS", "page_simulate"]

SIM_WORKLOADS = ("closed", "poisson", "agentic", "trace")
SIM_SCHEDULING = ("chunked-mixed", "prefill-first", "decode-first")
SIM_HELP = {
    "TTFT": "time to first token = first token - arrival (queueing, KV reloads and prefill included)",
    "TPOT": "time per output token = (finish - first token) / (output tokens - 1)",
    "E2E": "end-to-end latency = finish - arrival",
}


def page_simulate(kit: Kit) -> None:
    st = kit.st
    from tokenfrontier.api_simulate import simulate
    from tokenfrontier.errors import TokenFrontierError
    from tokenfrontier.views import plots
    from tokenfrontier.views.cli_simulate import sim_call, workload_modules

    c1, c2, c3 = st.columns(3)
    with c1:
        kind = kit.choice(
            "Workload",
            "swl",
            list(SIM_WORKLOADS),
            "closed",
            help="closed loop (users send the next request when one finishes), Poisson "
            "arrivals, agentic-coding sessions, or a bundled trace replayed",
        )
        model = kit.choice("Model", "smodel", kit.catalog.model_ids, "llama-3.1-8b")
        hw = kit.choice("Hardware", "shw", kit.catalog.hardware_ids(), "dgx-h100")
    work: dict[str, Any] = {"workload": kind}
    with c2:
        if kind in ("closed", "poisson"):
            work["isl"] = kit.tokens("ISL", "sisl", "1k", "prompt tokens per request")
            work["osl"] = kit.tokens("OSL", "sosl", "1k", "output tokens per request")
            if kind == "closed":
                work["concurrency"] = int(
                    kit.number(
                        "Users (concurrency)",
                        "sconc",
                        64,
                        1,
                        100_000,
                        1,
                        "closed loop: each user sends its next request at once",
                    )
                )
            else:
                work["qps"] = kit.number("QPS", "sqps", 10.0, 0.001, 1e6, 1.0, "Poisson arrivals per second")
        elif kind == "trace":
            if not workload_modules()["trace"]:
                st.error("the trace reader (tokenfrontier.sim.traces) is not in this installation")
                return
            from tokenfrontier.sim.traces import BUNDLED_TRACES

            names = sorted(BUNDLED_TRACES)
            work["trace"] = kit.choice(
                "Trace", "strace", names, names[0], help="bundled trace, replayed in time"
            )
        else:
            st.caption(
                "agentic-coding sessions (SPEC §6 shape: median prompt ~96k, ~half above 128k, "
                "median output ~213); prompts grow turn by turn, so the prefix cache matters"
            )
        requests = int(kit.number("Requests", "sreq", 2000, 1, 200_000, 500, "requests to simulate"))
    with c3:
        tp = int(
            kit.number(
                "TP (0 = auto)",
                "stp",
                0,
                0,
                1024,
                1,
                "tensor-parallel chips per copy; 0 = the fastest feasible deployment",
            )
        )
        replicas = int(
            kit.number("Replicas", "srep", 1, 1, 1024, 1, "model copies behind a round-robin router")
        )
        sched = kit.choice(
            "Scheduling",
            "ssched",
            list(SIM_SCHEDULING),
            "chunked-mixed",
            help="chunked-mixed: decodes and prompt chunks share a step (token budget 8192)",
        )
        cache_on = st.checkbox(
            "Prefix cache",
            kit.param("scache", "1") == "1",
            key="w_scache",
            help="reuse a session's earlier context (device memory, then offload tiers)",
        )
        kit.remember(scache=int(cache_on))
        slo_ttft = kit.number("SLO TTFT ms (0 = none)", "sttft", 0.0, 0.0, 1e7, 50.0, "goodput: TTFT limit")
        slo_tpot = kit.number("SLO TPOT ms (0 = none)", "stpot", 0.0, 0.0, 1e5, 5.0, "goodput: TPOT limit")
    if any(work.get(k, 0) is None for k in ("isl", "osl")):
        return
    try:
        sim = sim_call(
            simulate,
            model,
            kit.hardware(hw),
            requests=requests,
            tp=tp or None,
            replicas=replicas,
            scheduling=sched,
            prefix_cache=cache_on,
            slo_ttft_s=slo_ttft / 1e3 or None,
            slo_tpot_s=slo_tpot / 1e3 or None,
            **work,
        )
    except TokenFrontierError as exc:
        st.error(str(exc))
        return
    s = sim.summary

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1e3:,.2f}"

    m = st.columns(4)
    for col, (key, label) in zip(
        m[:3], (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E")), strict=True
    ):
        col.metric(
            f"P99 {label} (ms)",
            ms(s[key]["p99"]),
            help=f"{SIM_HELP[label]}; 99th percentile over completed requests (P50 {ms(s[key]['p50'])} ms)",
        )
    m[3].metric(
        "output tok/s per chip",
        f"{s['output_tok_s_per_chip']:,.1f}",
        help="output tokens of completed requests / (last finish - first arrival) / chips",
    )
    m = st.columns(4)
    m[0].metric("chips", f"{sim.chips:,}", help=f"replicas x TP x PP: {sim.deployment}")
    m[1].metric(
        "completed",
        f"{s['completed']:,} / {s['requests']:,}",
        help="requests finished; rejected ones need more KV than one engine holds",
    )
    m[2].metric(
        "prompt tokens from cache",
        f"{s['cache']['cached_token_share']:.1%}",
        help="cached prompt tokens / prompt tokens (prefix cache over every tier; reloads "
        f"from lower tiers took {s['cache']['reload_s_total']:,.2f} s in all)",
    )
    g = s["goodput"]
    m[3].metric(
        "meeting the SLO",
        f"{g['share_of_requests']:.1%}",
        help="requests finished with TTFT <= SLO TTFT and TPOT <= SLO TPOT (no SLO: completed)",
    )
    st.caption(
        f"{sim.workload}; {sim.deployment['replicas']} x TP{sim.deployment['tp']} "
        f"EP{sim.deployment['ep']} PP{sim.deployment['pp']}; simulated "
        f"{s['duration_s']:,.1f} s" + "".join(f"; {n}" for n in sim.notes)
    )
    st.plotly_chart(plots.simulation_figure(sim), width="stretch")
    frame = sim.to_frame()
    st.dataframe(frame.head(1000), hide_index=True)
    st.caption(f"first 1,000 of {len(frame):,} requests (SI units); the download has every row")
    kit.csv_button(frame, "simulation_requests")
