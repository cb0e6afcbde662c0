"""Fleet overview: the platform at a glance, live. A banner when pages fire; headline
counts (SLOs meeting their objective over 1h, 6h and 1d as on Grafana's SLO performance
page, budgets at risk, alerts firing, targets down); every service's p95, throughput, errors,
CPU, memory and status with sparklines; every SLO worst budget first. The view's
environment scopes it. The page arranges; dashboard/data/fleet reads, figures/fleet draws."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import context
from dashboard.data import fleet as data
from dashboard.data import slo as slo_data
from dashboard.figures import fleet as figures
from dashboard.figures.slo import NO_DATA

view = context.current()
now = time.time()
link = {"from": view.from_text, "to": view.to_text}

items, slo_problem = slo_data.summaries(view.end, view.environment)
firing = data.firing(view.environment)
text = figures.banner(firing)
if text is not None:
    st.error(text + " · [open the Alerts page](/alerts)", icon=":material/notifications_active:")
if slo_problem is not None:
    st.warning(f"The SLO files do not load, so no SLO figure is shown:\n\n```\n{slo_problem}\n```")

# --- headline figures -----------------------------------------------------------------------
tiles = [*st.columns(3), *st.columns(3)]
for tile, window in zip(tiles, figures.MEETING_WINDOWS, strict=False):
    met = figures.meeting(items, window)
    missed = met.measured - met.met
    tile.metric(f"SLOs met, {window}", met.text,
                delta=(f"{missed} missed" if missed else "all met") if met.measured else None,
                delta_color="red" if missed else "green", delta_arrow="off", border=True,
                help=f"SLOs whose SLI over the last {window} is at or above their objective "
                     f"(burn rate at most 1), of those with events in it; {met.total} "
                     "configured")
risky = figures.at_risk(items)
known = sum(1 for i in items if i.budget is not None)
tiles[3].metric("Budget at risk", f"{len(risky)} / {known}" if known else NO_DATA,
                delta=(f"{len(risky)} under 25% left" if risky else "none under 25%")
                if known else None,
                delta_color="red" if risky else "green", delta_arrow="off", border=True,
                help="SLOs with less than 25% of their error budget left over their period")
pages = figures.pages_firing(firing)
tiles[4].metric("Alerts firing", f"{len(firing)}",
                delta=f"{len(pages)} page{'s' * (len(pages) != 1)}" if firing else "none",
                delta_color="red" if pages else "orange" if firing else "green",
                delta_arrow="off", border=True,
                help="Apollo's and Alertmanager's alerts firing now")
down, ran = data.targets_down(view.start, view.end, view.environment)
tiles[5].metric("Targets down", f"{down} / {ran}" if ran else NO_DATA,
                delta=f"{down} last run failed" if down else ("all up" if ran else
                                                              "no runs in the range"),
                delta_color="red" if down else "green" if ran else "gray",
                delta_arrow="off", border=True,
                help="Targets and sources whose newest collector run failed (Targets page)")

# --- services -------------------------------------------------------------------------------
st.subheader("Services")
platform = data.platform(view.start, view.end, view.trend_resolution, view.trend_step_s,
                         view.environment, now)
if platform.summary.empty:
    st.info("No service is configured" + (f" in the {view.environment} environment"
                                          if view.environment else "") + ".",
            icon=":material/info:")
else:
    first = view.start - view.start % view.trend_step_s
    grid = list(range(first, view.end, view.trend_step_s))
    table = figures.services_frame(platform.summary, platform.intervals, grid, link=link)
    st.dataframe(table, hide_index=True, width="stretch",
                 height=38 + 35 * len(table), column_config={
                     "Status": st.column_config.MultiselectColumn(
                         options=figures.STATUS_OPTIONS, color=figures.STATUS_PILLS,
                         help="By the one status rule: critical when a page fires or a "
                              "budget is spent, warning on a ticket or under 25% left, "
                              "unknown with nothing measured"),
                     "p95": st.column_config.Column(help="From the range's summed latency "
                                                         "buckets"),
                     "Throughput": st.column_config.Column(
                         help="Requests (or queries) over the range / the seconds of the "
                              "minutes measured"),
                     "p95 trend": st.column_config.LineChartColumn(
                         y_min=0, y_max=1, help="p95 per interval, from 0 to its highest "
                                                "in the range"),
                     "Throughput trend": st.column_config.LineChartColumn(
                         y_min=0, y_max=1, help="Per second over each interval's own "
                                                "seconds, from 0 to its highest"),
                     "Measured": st.column_config.Column(
                         help="Intervals of the range with data: the trends join across "
                              "the others"),
                     "Open": st.column_config.LinkColumn(display_text="open"),
                 })
    if int((platform.summary["minutes"] == 0).sum()):
        st.caption(f"{int((platform.summary['minutes'] == 0).sum())} service(s) with nothing "
                   f"stored in the range ({view.label}): No data, not zero.")

# --- SLOs -----------------------------------------------------------------------------------
st.subheader("SLOs, worst budget first")
if items:
    burns = data.slo_burns(view.start, view.end, view.trend_resolution, view.trend_step_s,
                           view.environment)
    slos = figures.worst_first(items, burns, link=link)
    st.dataframe(slos, hide_index=True, width="stretch",
                 height=min(38 + 35 * len(slos), 560), column_config={
                     "Budget state": st.column_config.MultiselectColumn(
                         options=figures.BUDGET_OPTIONS, color=figures.BUDGET_PILLS,
                         help="healthy from 75% left, watch from 25%, at risk below, "
                              "exhausted at 0"),
                     "Alerts": st.column_config.MultiselectColumn(
                         options=figures.ALERT_OPTIONS, color=figures.ALERT_PILLS,
                         help="The stored state of its page and ticket alerts"),
                     "Budget": st.column_config.ProgressColumn(
                         "Budget left", min_value=0, max_value=1, format="percent",
                         color="blue", help="Error budget left over the SLO's period"),
                     "Burn 1h": st.column_config.Column(
                         help="Burn rate over the last hour: 1 spends the budget on time"),
                     "Burn trend": st.column_config.LineChartColumn(
                         y_min=0, y_max=figures.TREND_MAX_BURN,
                         help="Burn rate per interval of the range, 0 to 2 (1 = on budget)"),
                     "Open": st.column_config.LinkColumn(display_text="open"),
                 })
elif slo_problem is None:
    st.caption("No SLO is configured for these services.")
