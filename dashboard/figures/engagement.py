"""Engagement figures: the ClickHouse rollup by UTC day (active users, events, average
session, p95 response time) over the days of the range, beside the same number of days
before them. Pure: the stored rows in, frames, headline figures and plotly figures out.
A day without a row is missing, never 0: lines break there."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import plotly.graph_objects as go

ALL = "all"  # the row over every engagement type
GREY = "#8c8c8c"
NO_DATA = "No data"
FIGURES = ("active_users", "events", "avg_session_s", "p95_response_ms")
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, hovermode="x unified",
               legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))


@dataclass(frozen=True)
class Periods:
    """The UTC days the range touches, and as many days just before them."""

    days: list[date]
    previous: list[date]


def periods(start: datetime, end: datetime) -> Periods:
    """Days touching [start, end) (the rollup is daily, so a 6-hour range is its day), and
    the same number of days before the first: the period a delta compares with."""
    first = start.date()
    last = (end - timedelta(seconds=1)).date() if end > start else first
    count = (last - first).days + 1
    days = [first + timedelta(days=i) for i in range(count)]
    return Periods(days, [first - timedelta(days=count - i) for i in range(count)])


def daily(rows: pd.DataFrame, days: Sequence[date], event_type: str = ALL) -> pd.DataFrame:
    """One row per day of `days` (index), the figures of `event_type`; NaN where the day
    has no row."""
    chosen = rows[rows["event_type"] == event_type].set_index("day")
    frame = chosen.reindex(list(days))[list(FIGURES)].astype(float)
    frame.index.name = "day"
    return frame


@dataclass(frozen=True)
class Headline:
    """A period in four figures; None where no day of it has data."""

    days_with_data: int
    active_users: float | None  # mean of the daily active users (users differ by day)
    events: float | None
    avg_session_s: float | None  # weighted by events: the period's own mean
    p95_response_ms: float | None  # the worst day's p95 (percentiles do not average)


def headline(frame: pd.DataFrame) -> Headline:
    """The period's figures from its days (`daily`'s frame)."""
    known = frame.dropna(subset=["events"])
    if known.empty:
        return Headline(0, None, None, None, None)
    weights = known["events"].where(known["avg_session_s"].notna(), 0)
    session = float((known["avg_session_s"].fillna(0) * weights).sum() / weights.sum()
                    ) if weights.sum() else None
    p95 = known["p95_response_ms"].max()
    return Headline(len(known), float(known["active_users"].mean()),
                    float(known["events"].sum()), session,
                    None if math.isnan(p95) else float(p95))


def change(now: float | None, before: float | None) -> str | None:
    """`+12.5%` from the previous period; None when either side has no data or it was 0."""
    if now is None or before is None or before == 0:
        return None
    return f"{(now - before) / before:+.1%}"


def duration_text(seconds: float | None) -> str:
    """`4m 12s`, `45s`; "No data" for None."""
    if seconds is None or math.isnan(seconds):
        return NO_DATA
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def number_text(value: float | None, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return NO_DATA
    return f"{value:,.0f}{' ' + unit if unit else ''}"


def _x_range(days: Sequence[date]) -> list[datetime]:
    """Half a day either side, so the first and last day's points sit inside the axis."""
    first = datetime.combine(days[0], datetime.min.time()) - timedelta(hours=12)
    return [first, first + timedelta(days=len(days))]


def by_day(current: pd.DataFrame, previous: pd.DataFrame, column: str, title: str,
           unit: str) -> go.Figure:
    """One figure by day over the range, the previous period dashed grey on the same days
    (its own dates in the hover); gaps where a day has no row."""
    days = list(current.index)
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=list(previous.index.map(lambda d: d + timedelta(days=len(days)))),
        y=previous[column], name="previous period", mode="lines+markers",
        connectgaps=False, line=dict(color=GREY, dash="dash"),
        customdata=[f"{d:%Y-%m-%d}" for d in previous.index],
        hovertemplate="%{customdata}: %{y:,.1f} " + unit + "<extra>previous</extra>"))
    figure.add_trace(go.Scatter(
        x=days, y=current[column], name="this period", mode="lines+markers",
        connectgaps=False, hovertemplate="%{x|%Y-%m-%d}: %{y:,.1f} " + unit + "<extra></extra>"))
    if current[column].isna().all():
        figure.add_annotation(text=f"{NO_DATA} for these days", showarrow=False,
                              xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_layout(title=title, yaxis_title=unit, **_LAYOUT)
    figure.update_xaxes(type="date", range=_x_range(days), dtick=86_400_000
                        if len(days) <= 14 else None, tickformat="%b %d", title_text="day (UTC)")
    figure.update_yaxes(rangemode="tozero")
    return figure


def events_by_type(rows: pd.DataFrame, days: Sequence[date]) -> go.Figure:
    """Events per day stacked by event type (the `all` row is their sum, not drawn)."""
    figure = go.Figure()
    for kind in sorted(set(rows["event_type"]) - {ALL}):
        frame = daily(rows, days, kind)
        figure.add_trace(go.Bar(x=list(frame.index), y=frame["events"], name=kind,
                                hovertemplate="%{x|%Y-%m-%d}: %{y:,.0f} events<extra>"
                                + kind + "</extra>"))
    if not figure.data:
        figure.add_annotation(text=f"{NO_DATA} for these days", showarrow=False,
                              xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_layout(title="Events by type", barmode="stack", yaxis_title="events / day",
                         **_LAYOUT)
    figure.update_xaxes(type="date", range=_x_range(days), dtick=86_400_000
                        if len(days) <= 14 else None, tickformat="%b %d", title_text="day (UTC)")
    return figure


def types_table(rows: pd.DataFrame, previous_rows: pd.DataFrame) -> pd.DataFrame:
    """Events and mean daily active users per type, this period against the previous one
    (page views among them when the source records them)."""
    out = []
    kinds = sorted((set(rows["event_type"]) | set(previous_rows["event_type"])) - {ALL})
    for kind in kinds:
        now = rows[rows["event_type"] == kind]
        before = previous_rows[previous_rows["event_type"] == kind]
        events = float(now["events"].sum()) if len(now) else None
        events_before = float(before["events"].sum()) if len(before) else None
        out.append({"Event type": kind, "Events": events, "Previous period": events_before,
                    "Change": change(events, events_before),
                    "Active users (daily mean)": float(now["active_users"].mean())
                    if len(now) else None})
    return pd.DataFrame(out, columns=["Event type", "Events", "Previous period", "Change",
                                      "Active users (daily mean)"])


def days_table(current: pd.DataFrame) -> pd.DataFrame:
    """The `all` figures per day as shown (and downloaded); NaN where a day has no row."""
    return current.reset_index().rename(columns={
        "day": "Day", "active_users": "Active users", "events": "Events",
        "avg_session_s": "Avg session (s)", "p95_response_ms": "p95 response (ms)"})
