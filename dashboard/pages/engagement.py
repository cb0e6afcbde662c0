"""Engagement: the ClickHouse rollup by UTC day — active users, events, average session and
p95 response time over the days of the range — against the same number of days before
them, events by type, and the days as CSV."""

from __future__ import annotations

import streamlit as st

from dashboard import context
from dashboard.data import engagement as data
from dashboard.figures import engagement as figures

view = context.current()
span = figures.periods(view.start_dt, view.end_dt)
rows = data.days(span.previous[0], span.days[-1])
now_rows = rows[rows["day"].isin(span.days)]
before_rows = rows[rows["day"].isin(span.previous)]
if rows.empty:
    st.info(f"No data: no engagement stored for {span.days[0]} to {span.days[-1]} or the "
            f"{len(span.days)} days before. The ClickHouse collector writes one row per UTC "
            "day (`sources.clickhouse`); days without events have no row.",
            icon=":material/group:")
    st.stop()

current = figures.daily(rows, span.days)
previous = figures.daily(rows, span.previous)
this, before = figures.headline(current), figures.headline(previous)
length = f"{len(span.days)} day{'s' if len(span.days) > 1 else ''}"
st.caption(f"UTC days {span.days[0]} to {span.days[-1]} ({length}; today so far) against "
           f"{span.previous[0]} to {span.previous[-1]}. {this.days_with_data} of "
           f"{len(span.days)} days have data.")

one, two, three, four = st.columns(4)
one.metric("Active users (daily mean)", figures.number_text(this.active_users),
           delta=figures.change(this.active_users, before.active_users),
           help="Users differ from day to day, so a period's figure is the mean of its days.")
two.metric("Events", figures.number_text(this.events),
           delta=figures.change(this.events, before.events))
three.metric("Average session", figures.duration_text(this.avg_session_s),
             delta=figures.change(this.avg_session_s, before.avg_session_s),
             help="Weighted by each day's events: the period's own mean.")
four.metric("p95 response (worst day)", figures.number_text(this.p95_response_ms, "ms"),
            delta=figures.change(this.p95_response_ms, before.p95_response_ms),
            delta_color="inverse", help="Percentiles do not average: the worst day's p95. "
            "Lower is better: a drop reads green.")

left, right = st.columns(2)
left.plotly_chart(figures.by_day(current, previous, "active_users", "Active users", "users"),
                  theme="streamlit")
right.plotly_chart(figures.by_day(current, previous, "events", "Events", "events / day"),
                   theme="streamlit")
left.plotly_chart(figures.by_day(current, previous, "avg_session_s", "Average session",
                                 "seconds"), theme="streamlit")
right.plotly_chart(figures.by_day(current, previous, "p95_response_ms", "p95 response time",
                                  "ms"), theme="streamlit")

st.subheader("By event type")
left, right = st.columns(2)
left.plotly_chart(figures.events_by_type(now_rows, span.days), theme="streamlit")
right.dataframe(figures.types_table(now_rows, before_rows), hide_index=True,
                placeholder=figures.NO_DATA, column_config={
                    "Events": st.column_config.NumberColumn(format="localized"),
                    "Previous period": st.column_config.NumberColumn(format="localized"),
                    "Active users (daily mean)": st.column_config.NumberColumn(format="%.0f")})
right.caption("Top pages: the engagement rollup keeps days and event types, not pages, so "
              "there are none to show.")

st.subheader("Days")
table = figures.days_table(current)
st.dataframe(table, hide_index=True, placeholder=figures.NO_DATA, column_config={
    "Active users": st.column_config.NumberColumn(format="localized"),
    "Events": st.column_config.NumberColumn(format="localized"),
    "Avg session (s)": st.column_config.NumberColumn(format="%.1f"),
    "p95 response (ms)": st.column_config.NumberColumn(format="%.1f"),
})
st.download_button("Download CSV", table.to_csv(index=False).encode(),
                   file_name=f"engagement-{span.days[0]}-{span.days[-1]}.csv", mime="text/csv",
                   on_click="ignore")
