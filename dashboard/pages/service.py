"""Service: one service over the chosen range, as Pyrra shows an SLO: tiles (status,
availability, throughput, p95, CPU, memory), then latency percentiles against the SLO
threshold, throughput, errors, CPU and memory, its SLOs, and in demo mode the fleet's
fault injection. The service is in the URL (`service=`)."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import context, data, shell
from dashboard.data import service as service_data
from dashboard.figures import service as figures
from services.config import ServiceConfig
from services.errors import InputError, SourceUnavailable
from services.fleet.faults import KINDS

STATUS_COLOURS = {"healthy": "green", "warning": "orange", "critical": "red",
                  "unknown": "gray"}

view = context.current()
settings = data.settings()
configs: list[ServiceConfig] = list(settings.services)
if not configs:
    st.info("No services are configured. List them under `services:` in the configuration "
            "(`apollo config check` shows which file is read).", icon=":material/info:")
    st.stop()

# --- which service (URL: service=) ----------------------------------------------------------
if view.environment:
    scoped = data.services_in(view.environment)
    if scoped:
        configs = [c for c in configs if c.slug in scoped]
    else:
        st.caption(f"No service is labelled environment={view.environment}; all are listed.")
slugs = [c.slug for c in configs]
wanted = st.query_params.get("service")
if wanted is not None and wanted not in slugs:
    st.warning(f"No service {wanted!r} is configured; showing {configs[0].name}.")
slug = st.selectbox("Service", slugs, index=slugs.index(wanted) if wanted in slugs else 0,
                    format_func=lambda s: next(c.name for c in configs if c.slug == s))
st.query_params["service"] = slug
config = next(c for c in configs if c.slug == slug)

# --- data -----------------------------------------------------------------------------------
step = view.step_s
metrics = service_data.metrics(slug, view.start, view.end, view.resolution)
buckets = service_data.buckets(slug, view.start, view.end, view.resolution)
series = figures.service_series(metrics, buckets, start=view.start, end=view.end, step=step)
overall = figures.range_figures(series, buckets)
try:
    lines = service_data.slo_lines(slug, view.end)
    slo_problem = None
except InputError as exc:
    lines, slo_problem = [], str(exc)
status = service_data.status(slug, view.end, overall.intervals > 0)
latency_slo = next((s for s in lines if s.latency_threshold_ms is not None), None)
availability_slo = next((s for s in lines if s.allowed_error_pct is not None), None)


def _shown(value: float, text: str) -> str:
    return "No data" if value is None or math.isnan(value) else text


# --- tiles ----------------------------------------------------------------------------------
TILE_HEIGHT = 160
tiles = [c.container(border=True, height=TILE_HEIGHT) for c in [*st.columns(3), *st.columns(3)]]
with tiles[0]:
    known = [s for s in lines if s.remaining is not None]
    calm = "no alert firing; " + ("budgets above 25 %" if known else "no SLO events yet")
    st.markdown("Status" if view.live else "Status at the range's end")
    st.markdown(f"### :{STATUS_COLOURS[status.status]}[{status.status.capitalize()}]")
    st.caption("; ".join(r.message for r in status.reasons[:2]) or
               (calm if status.status == "healthy" else "nothing measured in the range"))
availability_delta = None
if availability_slo is not None and not math.isnan(overall.availability):
    availability_delta = (f"{(overall.availability * 100 - availability_slo.objective):+.3f} pp "
                          f"vs {availability_slo.objective:g} %")
tiles[1].metric("Availability", _shown(overall.availability, f"{overall.availability:.3%}"),
                delta=availability_delta,
                help=f"1 - errors / requests over the range: {overall.errors:,.0f} errors of "
                     f"{overall.requests:,.0f} requests" if overall.intervals else None)
tiles[2].metric("Throughput", _shown(overall.rps, f"{overall.rps:,.1f} {config.unit}"),
                help="Requests over the range divided by the seconds the stored intervals "
                     "cover (a gap is not counted as zero traffic).")
latency_delta = None
if latency_slo is not None and not math.isnan(overall.p95_ms):
    latency_delta = f"{overall.p95_ms - latency_slo.latency_threshold_ms:+.1f} ms vs threshold"
tiles[3].metric("Latency p95", _shown(overall.p95_ms, figures.format_ms(round(overall.p95_ms, 2))
                                      if not math.isnan(overall.p95_ms) else ""),
                delta=latency_delta, delta_color="inverse",
                help="From the range's summed histogram buckets, as histogram_quantile(0.95, "
                     "sum by (le) (increase(...)))")
tiles[4].metric("CPU", _shown(overall.cpu_pct, f"{overall.cpu_pct:.1f} %"),
                help="Mean over the range's intervals, averaged over instances")
tiles[5].metric("Memory", _shown(overall.memory_gib, f"{overall.memory_gib:.2f} GiB"),
                help="Mean over the range's intervals, averaged over instances")

if overall.intervals == 0:
    st.info(f"No data stored for {config.name} in {view.label.lower()}: the collectors have "
            "not written it (see the Targets page for their runs). The charts below are "
            "empty on purpose, not zero.", icon=":material/hourglass_empty:")

# --- charts ---------------------------------------------------------------------------------
revision = f"{slug}:{view.from_text}:{view.to_text}"
span = dict(start=view.start, end=view.end, revision=revision)
threshold_label = None
if latency_slo is not None:
    threshold_label = (f"SLO {latency_slo.name}: {latency_slo.objective:g} % within "
                       f"{figures.format_ms(latency_slo.latency_threshold_ms or 0)}")
left, right = st.columns(2)
left.plotly_chart(figures.latency(
    series, threshold_ms=latency_slo.latency_threshold_ms if latency_slo else None,
    threshold_label=threshold_label or "", **span), width="stretch", theme="streamlit")
right.plotly_chart(figures.throughput(series, unit=config.unit, **span), width="stretch",
                   theme="streamlit")
left, right = st.columns(2)
allowed_label = ""
if availability_slo is not None:
    allowed_label = (f"SLO {availability_slo.name}: {availability_slo.objective:g} % "
                     f"(≤ {availability_slo.allowed_error_pct:.3g} % errors)")
left.plotly_chart(figures.error_rate(
    series, allowed_pct=availability_slo.allowed_error_pct if availability_slo else None,
    allowed_label=allowed_label, **span), width="stretch", theme="streamlit")
right.plotly_chart(figures.cpu(series, **span), width="stretch", theme="streamlit")
left, right = st.columns(2)
left.plotly_chart(figures.memory(series, **span), width="stretch", theme="streamlit")
with right:
    st.caption(f"{len(series)} intervals of {shell.humanise_seconds(step)} "
               f"({view.resolution} rows); gaps are intervals with nothing stored.")
    st.download_button("Download the intervals (CSV)",
                       series.reset_index().to_csv(index=False).encode(),
                       file_name=f"{slug}-{view.start}-{view.end}.csv", mime="text/csv",
                       icon=":material/download:")

# --- SLOs -----------------------------------------------------------------------------------
st.subheader("SLOs")
if slo_problem is not None:
    st.warning(f"The SLO files do not load, so no SLO can be shown:\n\n```\n{slo_problem}\n```")
elif not lines:
    st.caption(f"{config.name} has no SLO in the configured SLO files "
               f"({', '.join(settings.slo_files)}).")
else:
    table = service_data.slo_table(lines, view.from_text, view.to_text)
    linked = shell.page_exists("slos")
    st.dataframe(table if linked else table.drop(columns="Open"), hide_index=True,
                 width="stretch", column_config={
                     "Objective": st.column_config.NumberColumn(format="%.3g %%"),
                     "Budget left": st.column_config.ProgressColumn(
                         min_value=0, max_value=1, format="percent",
                         help="Error budget left over the SLO's period at the range's end; "
                              "empty: no events stored"),
                     "Open": st.column_config.LinkColumn(display_text="open on the SLOs page"),
                 })
    st.download_button("Download the SLOs (CSV)", table.to_csv(index=False).encode(),
                       file_name=f"{slug}-slos.csv", mime="text/csv",
                       icon=":material/download:")

if shell.page_exists("targets"):
    st.page_link("dashboard/pages/targets.py", label=f"{config.name}'s scrape targets and their "
                 "runs", icon=":material/radar:",
                 query_params={"pool": slug, "from": view.from_text, "to": view.to_text})

# --- demo fleet: fault injection ----------------------------------------------------------------
fleet = service_data.fleet_state()
if fleet is not None:
    st.subheader("Fault injection (demo fleet)")
    if "error" in fleet:
        st.warning(f"The demo fleet does not answer: {fleet['error']}")
    else:
        mine = next((s for s in fleet.get("services", []) if s.get("slug") == slug), None)
        if mine is None:
            st.caption(f"{config.name} is not part of the demo fleet.")
        else:
            faults = ", ".join(f"{f['kind']} until {f['until']:.0f}" for f in mine["faults"])
            st.caption(f"{'up' if mine['up'] else 'DOWN'} at {mine['metrics_url']}; "
                       f"faults: {faults or 'none'}")
            with st.form("fault"):
                kind_col, rate_col, factor_col, for_col = st.columns(4)
                kind = kind_col.selectbox("Fault", KINDS,
                                          format_func=lambda k: k.replace("_", " "))
                rate = rate_col.number_input("Error rate (error burst)", 0.01, 1.0, 0.2, 0.01)
                factor = factor_col.number_input("Slower by (latency)", 1.1, 50.0, 3.0, 0.5)
                duration = for_col.text_input("For", "5m")
                token = st.text_input("API write token", type="password",
                                      help="Needed when APOLLO_API_TOKENS is set, as for the "
                                           "API's POST /fleet/faults")
                inject, clear = st.columns(2)
                do_inject = inject.form_submit_button("Inject", type="primary")
                do_clear = clear.form_submit_button("Clear this service's faults")
            if do_inject or do_clear:
                refused = service_data.write_allowed(token)
                if refused is not None:
                    st.error(refused)
                else:
                    try:
                        done = (service_data.inject_fault(
                            slug, kind, duration, rate=rate if kind == "error_burst" else None,
                            factor=factor if kind == "latency" else None)
                            if do_inject else service_data.clear_faults(slug))
                    except (InputError, SourceUnavailable) as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"{done}. The collectors see it within a scrape; the "
                                   "charts within a minute.")
