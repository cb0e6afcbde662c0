"""Cost figures: monthly cost by component over the months of the range (one currency per
chart), the change from month to month (a drop is good: green), the savings the stated
optimisation potential would bring, cost per million requests, and the month's table.

Pure: stored cost rows, summaries (services.documents.costs) and request counts in;
figures and display frames out. Money stays Decimal until it is drawn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import plotly.graph_objects as go

from services.documents.costs import (
    REQUEST_UNIT,
    CostSummary,
    cost_per_million,
    format_money,
    requests_served,
)

GREEN, AMBER, RED, GREY = "#21a366", "#e8a317", "#d64545", "#8c8c8c"
NO_DATA = "No data"
_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# Streamlit's NumberColumn presets for the currencies it knows
NUMBER_FORMAT = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=400,
               legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))


# --- months -----------------------------------------------------------------------------


def months_of(start: datetime, end: datetime) -> list[date]:
    """First days of the months [start, end) touches, oldest first."""
    first = date(start.year, start.month, 1)
    last_instant = datetime.fromtimestamp(end.timestamp() - 1, UTC) if end > start else start
    months, month = [], first
    while month <= date(last_instant.year, last_instant.month, 1):
        months.append(month)
        month = next_month(month)
    return months


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def money_axis(currency: str) -> dict[str, str]:
    """The y axis of a money chart: `$` before the ticks, or the code in the title."""
    symbol = _SYMBOL.get(currency)
    return {"tickprefix": symbol} if symbol else {"ticksuffix": f" {currency}"}


# --- the stored lines as a frame ---------------------------------------------------------


def lines_frame(rows: Iterable[object]) -> pd.DataFrame:
    """Stored cost rows (source, month, component, monthly_cost, currency, …) as a frame
    with money as exact Decimal cents."""
    frame = pd.DataFrame([r._asdict() for r in rows],  # type: ignore[attr-defined]
                         columns=["source", "month", "component", "monthly_cost", "currency",
                                  "potential_ratio", "potential_note"])
    frame["monthly_cost"] = [Decimal(str(v)).quantize(Decimal("0.01"))
                             for v in frame["monthly_cost"]]
    return frame


def monthly_totals(frame: pd.DataFrame, months: Sequence[date]) -> pd.Series:
    """One source's total per month (Decimal), None for a month without lines."""
    sums = {m: sum(part["monthly_cost"], Decimal(0)) for m, part in frame.groupby("month")}
    return pd.Series([sums.get(m) for m in months], index=list(months), dtype=object)


# --- charts ------------------------------------------------------------------------------


def _no_data_marks(figure: go.Figure, labels: Sequence[str]) -> None:
    if labels:
        figure.add_trace(go.Scatter(x=list(labels), y=[0] * len(labels), mode="text",
                                    text=[NO_DATA] * len(labels), textposition="top center",
                                    textfont=dict(color=GREY), showlegend=False,
                                    hoverinfo="skip"))


def by_component(frame: pd.DataFrame, months: Sequence[date], currency: str) -> go.Figure:
    """One source's monthly cost stacked by component, one bar per month of the range
    (a month without lines reads "No data")."""
    labels = [month_label(m) for m in months]
    figure = go.Figure()
    for component, part in frame.groupby("component", sort=False):
        cost = {month_label(m): float(c) for m, c in zip(part["month"], part["monthly_cost"],
                                                         strict=True)}
        figure.add_trace(go.Bar(x=labels, y=[cost.get(label) for label in labels],
                                name=str(component),
                                hovertemplate="%{x}: %{y:,.2f} " + currency))
    have = set(frame["month"])
    _no_data_marks(figure, [month_label(m) for m in months if m not in have])
    figure.update_layout(title=f"Monthly cost by component ({currency})", barmode="stack",
                         yaxis_title=f"{currency} / month", **_LAYOUT)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=labels,
                        range=[-0.5, len(labels) - 0.5], title_text="month")
    figure.update_yaxes(rangemode="tozero", **money_axis(currency))
    return figure


def money_text(value: Decimal | float | None, currency: str, *, places: int | None = None
               ) -> str:
    """`$33,060`, `$12.34`; "No data" for None (missing is never 0)."""
    if value is None:
        return NO_DATA
    amount = value if isinstance(value, Decimal) else Decimal(repr(value))
    if places is not None:  # half up, as the table's cells round: $750.125 is $750.13
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format_money(amount, currency, places=places)


def change_text(change: Decimal | None, currency: str) -> str | None:
    """`−$1,200` for a metric's delta from the previous month; None when there is no
    change to show (the month before has no lines)."""
    if change is None:
        return None
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{format_money(abs(change), currency)}"


def change_word(change: Decimal) -> tuple[str, str]:
    """(word, colour) of a change in cost: lower is good (green), higher is bad (red)."""
    if change < 0:
        return "lower", GREEN
    return ("higher", RED) if change > 0 else ("same", GREY)


def month_changes(totals: pd.Series) -> pd.DataFrame:
    """Change of each month's total from the month before (Decimal; None where either is
    missing): month, total, change, ratio, word, colour."""
    rows = []
    months = list(totals.index)
    for i, month in enumerate(months):
        total, before = totals.iloc[i], totals.iloc[i - 1] if i else None
        change = None if total is None or before is None else total - before
        ratio = change / before if change is not None and before else None
        word, colour = change_word(change) if change is not None else (NO_DATA, GREY)
        rows.append({"month": month, "total": total, "change": change, "ratio": ratio,
                     "word": word, "colour": colour})
    return pd.DataFrame(rows, columns=["month", "total", "change", "ratio", "word", "colour"])


def changes(totals: pd.Series, currency: str) -> go.Figure:
    """Month-over-month change of the total, green where it fell and red where it rose;
    `totals` holds the month before the range first, which is not drawn."""
    frame = month_changes(totals).iloc[1:]
    labels = [month_label(m) for m in frame["month"]]
    known = frame["change"].notna()
    text = [f"{money_text(abs(c), currency, places=0)} {w}"
            + (f" ({float(r):+.1%})" if r is not None else "") if c is not None else ""
            for c, w, r in zip(frame["change"], frame["word"], frame["ratio"], strict=True)]
    figure = go.Figure(go.Bar(
        x=labels, y=[float(c) if c is not None else None for c in frame["change"]],
        marker_color=list(frame["colour"]), text=text, textposition="outside",
        hovertemplate="%{x}: %{text}<extra></extra>", showlegend=False))
    _no_data_marks(figure, [lab for lab, k in zip(labels, known, strict=True) if not k])
    figure.update_layout(title="Change from the previous month (lower is better)",
                         yaxis_title=f"{currency} / month", **_LAYOUT)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=labels,
                        range=[-0.5, len(labels) - 0.5], title_text="month")
    figure.update_yaxes(zeroline=True, showticklabels=bool(known.any()), **money_axis(currency))
    return figure


def savings(summary: CostSummary) -> go.Figure:
    """What each component's stated potential would save a month, in green (a saving is
    good); components without a stated potential read "unknown" in grey."""
    currency = summary.table.currency
    lines = list(summary.lines)[::-1]  # plotly draws the first bar at the bottom
    names = [f.line.component for f in lines]
    saving = [f.line.potential_monthly for f in lines]
    biggest = max((s for s in saving if s is not None), default=Decimal(0))
    figure = go.Figure(go.Bar(
        y=names, x=[float(s) if s is not None else 0.0 for s in saving], orientation="h",
        marker_color=[GREEN if s is not None else GREY for s in saving],
        text=[f"{money_text(s, currency, places=2)} ({float(f.line.potential_ratio):.0%})"
              if s is not None and f.line.potential_ratio is not None else "unknown"
              for s, f in zip(saving, lines, strict=True)],
        textposition=["inside" if s and s > biggest / 3 else "outside" for s in saving],
        hovertemplate="%{y}: %{text}<extra></extra>", showlegend=False))
    total = summary.potential_monthly
    title = "Optimisation potential: savings a month"
    if total is not None:
        title += f" (total {money_text(total, currency, places=2)})"
    figure.update_layout(title=title, xaxis_title=f"{currency} saved / month", **_LAYOUT)
    figure.update_xaxes(range=[0, float(biggest) * 1.25 or 1], **money_axis(currency))
    return figure


def per_million_trend(per_million: Mapping[date, float | None], currency: str) -> go.Figure:
    """Cost per million requests for each month of the range; a month without requests or
    costs is a gap, never 0."""
    labels = [month_label(m) for m in per_million]
    values = list(per_million.values())
    figure = go.Figure(go.Scatter(x=labels, y=values, mode="lines+markers", connectgaps=False,
                                  name="platform", hovertemplate="%{x}: %{y:,.2f} "
                                  + currency + " per million requests<extra></extra>"))
    _no_data_marks(figure, [lab for lab, v in zip(labels, values, strict=True) if v is None])
    figure.update_layout(title="Cost per million requests", showlegend=False,
                         yaxis_title=f"{currency} / million requests", **_LAYOUT)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=labels,
                        range=[-0.5, len(labels) - 0.5], title_text="month")
    top = max((v for v in values if v is not None), default=0.0)
    figure.update_yaxes(range=[0, top * 1.2 or 1], **money_axis(currency))
    return figure


# --- requests ----------------------------------------------------------------------------


def service_of(component: str, services: Mapping[str, str]) -> str | None:
    """The service slug a cost line is allocated to (OpenCost's namespace or a component
    named after a service, by slug or name, any case), or None."""
    key = component.strip().lower()
    for slug, name in services.items():
        if key in (slug.lower(), name.lower()):
            return slug
    return None


# --- the month's table -------------------------------------------------------------------


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def cost_table(summary: CostSummary, served: pd.DataFrame, services: Mapping[str, str]
               ) -> pd.DataFrame:
    """One row per component and the computed total: monthly and annual cost, share, cost
    per user (None without users), potential and its saving, and cost per million of
    what the matching service served (requests or queries) where the line is a service's."""
    by_service = dict(zip(served["service"], zip(served["unit"], served["served"],
                                                 strict=True), strict=True))
    rows = []
    for f in summary.lines:
        slug = service_of(f.line.component, services)
        unit, count = by_service.get(slug, ("", 0.0)) if slug else ("", 0.0)
        rows.append({
            "Component": f.line.component,
            "Monthly": _f(f.line.monthly_cost), "Annual": _f(f.annual_cost),
            "Share": _f(f.share), "Per user": _f(f.cost_per_user),
            "Potential": _f(f.line.potential_ratio),
            "Saving / month": _f(f.line.potential_monthly),
            "Per million served": cost_per_million(f.line.monthly_cost, count),
            "Served unit": unit.removesuffix("/s"),
            "Service": slug or "",
            "Potential note": f.line.potential_note,
        })
    rows.append({
        "Component": "Total (computed)",
        "Monthly": _f(summary.monthly_total), "Annual": _f(summary.annual_total),
        "Share": 1.0 if summary.monthly_total else None, "Per user": _f(summary.cost_per_user),
        "Potential": _f(summary.potential_ratio), "Saving / month": _f(summary.potential_monthly),
        "Per million served": cost_per_million(summary.monthly_total, requests_served(served)),
        "Served unit": REQUEST_UNIT.removesuffix("/s"), "Service": "platform",
        "Potential note": "weighted by cost",
    })
    return pd.DataFrame(rows)


def flag_callouts(summary: CostSummary) -> list[tuple[str, str]]:
    """Each stated figure the computation does not reproduce, as (level, text): `warning`
    for a mismatch (the computed figure is the one shown), `info` for a rounded or an
    unchecked one."""
    levels = {"mismatch": "warning", "rounded": "info", "unchecked": "info"}
    return [(levels.get(f.kind, "info"), f.message) for f in summary.flags]
