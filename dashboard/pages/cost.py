"""Cost: a source's monthly cost by component over the months of the range, the chosen
month's totals, annual figures, cost per user, savings potential and cost per million
requests, the stated figures that do not add up, and the month's table as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import context
from dashboard.data import cost as data
from dashboard.data import engagement as engagement_data
from dashboard.data import settings
from dashboard.figures import cost as figures
from services.documents.costs import (
    cost_per_million,
    month_window,
    summarize_costs,
    tables_from_rows,
)

view = context.current()
months = figures.months_of(view.start_dt, view.end_dt)
stored_months = data.months()
if not stored_months:
    st.info("No data: no cost lines are stored yet. List cost files under "
            "`sources.costs.files` or set `sources.costs.opencost_url`; the collector reads "
            "them on its next round (or run `apollo collect --once`).",
            icon=":material/payments:")
    st.stop()
frame = figures.lines_frame(data.lines(figures.previous_month(months[0]), months[-1]))
in_range = frame[frame["month"].isin(months)]
if in_range.empty:
    st.info(f"No data: no cost lines for {figures.month_label(months[0])} to "
            f"{figures.month_label(months[-1])}. The newest stored month is "
            f"{figures.month_label(stored_months[0])}: widen the time range to see it.",
            icon=":material/payments:")
    st.stop()


def _pick(column: DeltaGenerator, label: str, options: list[str],
          param: str, help_text: str) -> str:
    """A choice kept in the URL; a select box only when there is more than one."""
    wanted = st.query_params.get(param)
    chosen = wanted if wanted in options else options[0]
    if len(options) > 1:
        chosen = column.selectbox(label, options, index=options.index(chosen), help=help_text)
    else:
        column.markdown(f"**{label}**  \n{chosen}")
    st.query_params[param] = chosen
    return chosen


def _mau(column: DeltaGenerator, first_day: date, last_day: date) -> int | None:
    """Monthly active users typed in (kept in the URL as `mau`); the month's busiest day
    in the engagement rollup is offered as a lower bound."""
    days = engagement_data.days(first_day, last_day)
    busiest = days.loc[days["event_type"] == "all", "active_users"].max()
    hint = "" if busiest != busiest else (  # NaN: no engagement stored that month
        f" The month's busiest day had {busiest:,.0f} active users: a lower bound.")
    wanted = st.query_params.get("mau", "")
    value = column.number_input("Monthly active users", min_value=1, step=1_000,
                                value=int(wanted) if wanted.isdigit() and int(wanted) else None,
                                placeholder="enter for cost per user",
                                help="Cost per user divides the month's cost by this." + hint)
    if value:
        st.query_params["mau"] = str(int(value))
    else:
        st.query_params.pop("mau", None)
    return int(value) if value else None


left, middle, right = st.columns(3)
source = _pick(left, "Source", sorted(in_range["source"].unique()), "source",
               "Sources are shown apart: a file and OpenCost may count the same spend.")
lines = frame[frame["source"] == source]
source_months = sorted(set(lines["month"]) & set(months), reverse=True)
label = _pick(middle, "Month", [figures.month_label(m) for m in source_months], "month",
              "The month the figures and the table are for.")
month = next(m for m in source_months if figures.month_label(m) == label)
start, after = month_window(month)
mau = _mau(right, start.date(), (after - timedelta(days=1)).date())

(table,) = tables_from_rows((r for r in data.lines(month, month) if r.source == source),
                            [t for t in data.stated_totals(month, month) if t.source == source])
summary = summarize_costs(table, mau=mau)
currency = table.currency
now = datetime.fromtimestamp(view.now // 60 * 60, UTC)
until = min(after, now)
served = data.served(start, until)
requests = figures.requests_served(served)
per_million = cost_per_million(summary.monthly_total, requests)
totals = figures.monthly_totals(lines[lines["currency"] == currency],
                                [figures.previous_month(months[0]), *months])
changes = figures.month_changes(totals).set_index("month")

one, two, three, four, five = st.columns(5)
one.metric("Monthly total", figures.money_text(summary.monthly_total, currency),
           delta=figures.change_text(changes.loc[month, "change"], currency),
           delta_color="inverse",
           help="The delta is the change from the previous month: a drop reads green.")
two.metric("Annual", figures.money_text(summary.annual_total, currency), help="12 × monthly")
three.metric("Cost per user", figures.money_text(summary.cost_per_user, currency, places=5),
             help="Monthly total / monthly active users (enter them above).")
four.metric("Savings potential / month",
            figures.money_text(summary.potential_monthly, currency, places=2),
            help=None if summary.potential_ratio is None else
            f"{float(summary.potential_ratio):.1%} of the cost: each line's stated potential "
            "weighted by its cost")
five.metric("Per million requests", figures.money_text(per_million, currency, places=2),
            help=f"{requests:,.0f} requests from {start:%Y-%m-%d} to "
                 f"{until:%Y-%m-%d %H:%M} UTC, services counted in req/s")

for level, text in figures.flag_callouts(summary):
    (st.warning if level == "warning" else st.info)(text, icon=":material/flag:")
others = served.loc[served["unit"] != figures.REQUEST_UNIT, "service"].tolist()
notes = ["Flags compare what the source states (its Total row, annual and per-user "
         "cells) with what its lines give."]
if until < after:
    share = (until - start) / (after - start)
    notes.append(f"{label} is still running: requests so far ({share:.0%} of the month), so "
                 "cost per million requests falls as the month fills.")
if others:
    notes.append(f"Requests leave out {', '.join(others)} (another unit: queries).")
st.caption(" ".join(notes))

chart_left, chart_right = st.columns(2)
chart_left.plotly_chart(figures.by_component(lines[lines["currency"] == currency], months,
                                             currency), theme="streamlit")
chart_right.plotly_chart(figures.savings(summary), theme="streamlit")
trend = {}
for m in months:
    total = totals.get(m)
    m_start, m_after = month_window(m)
    trend[m] = None if total is None or m_start >= now else cost_per_million(
        total, figures.requests_served(data.served(m_start, min(m_after, now))))
chart_left.plotly_chart(figures.changes(totals, currency), theme="streamlit")
chart_right.plotly_chart(figures.per_million_trend(trend, currency), theme="streamlit")

st.subheader(f"{label} by component")
services = {s.slug: s.name for s in settings().services}
shown = figures.cost_table(summary, served, services)
money = figures.NUMBER_FORMAT.get(currency, "localized")
st.dataframe(shown, hide_index=True, placeholder=figures.NO_DATA, column_config={
    "Monthly": st.column_config.NumberColumn(f"Monthly ({currency})", format=money),
    "Annual": st.column_config.NumberColumn(f"Annual ({currency})", format=money),
    "Share": st.column_config.ProgressColumn("Share", min_value=0, max_value=1,
                                             format="percent", color="blue"),
    "Per user": st.column_config.NumberColumn(f"Per user ({currency})", format="%.5f"),
    "Potential": st.column_config.NumberColumn("Potential", format="percent"),
    "Saving / month": st.column_config.NumberColumn(f"Saving / month ({currency})",
                                                    format=money),
    "Per million served": st.column_config.NumberColumn(
        f"Per million served ({currency})", format="%.2f",
        help="The line's cost per million requests (or queries) its service served"),
})
st.download_button("Download CSV", shown.to_csv(index=False).encode(),
                   file_name=f"cost-{label}.csv", mime="text/csv", on_click="ignore")
