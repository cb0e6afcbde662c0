"""The SLO pages' tables and charts, pure: the list as Pyrra shows it (sorted by budget,
worst first, "No data" last; burn rates coloured against the thresholds of the pairs they
belong to), the detail's tiles, budget and burn-rate charts over the chosen range, the
multi-burn-rate alert table, the burn-down over the period with the backtest's episodes
and the markers, the forecast band and the attribution.

Every chart's x axis spans exactly the range it is given; missing values are NaN on the
step grid and break lines (`connectgaps=False`); thresholds are dashed and named; colours
always come with words (green ok, amber warning or pending, red breached or firing, grey no
data)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from slo.attribution import Marker, Share
from slo.backtest import Backtest, Firing
from slo.durations import parse_duration
from slo.forecast import Exhaustion

GREEN, AMBER, RED, GREY = "#2ca02c", "#f0a202", "#d62728", "#8c8c8c"
THRESHOLD_GREY = "#7f7f7f"
NO_DATA = "No data"
WATCH, AT_RISK = 0.75, 0.25  # budget bands (Harness, Coralogix): healthy, watch, at risk
STATE_COLOURS = {"firing": RED, "pending": AMBER, "inactive": GREEN, "resolved": GREEN}
SEVERITY_COLOURS = {"page": RED, "ticket": AMBER}
_LAYOUT = dict(margin=dict(l=10, r=10, t=56, b=10), height=320, hovermode="x unified",
               legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"))


@dataclass(frozen=True)
class PairState:
    """One window pair of an alert at the instant: both burn rates against its factor."""

    severity: str
    short: str
    long: str
    factor: float  # the burn rate both windows must exceed
    threshold: float  # the same as an error ratio: factor x (1 - objective)
    short_burn: float | None
    long_burn: float | None
    firing: bool
    can_fire: bool


@dataclass(frozen=True)
class SloSummary:
    """One SLO as the list shows it (the API's list item): None where there is no data."""

    id: str
    service: str
    name: str
    description: str
    labels: dict[str, str]
    objective: float  # percent
    period: str  # 30d
    kind: str  # errors or latency: what a bad event is
    sli: float | None
    budget: float | None  # error budget left over the period
    good: float | None
    total: float | None
    burns: dict[str, float | None]  # window (5m, 1h, …) -> burn rate, shortest first
    pairs: list[PairState]
    states: dict[str, str]  # page / ticket / absent -> the stored alert's state
    problem: str | None = None
    has_data: bool = False
    at: int = 0


def utc(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")


def missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- words ----------------------------------------------------------------------------------


def objective_text(objective: float, period: str) -> str:
    """Pyrra's objective tile: "99.900% in 30d"."""
    return f"{objective:.3f}% in {period}"


def percent(value: float | None, digits: int = 2) -> str:
    return NO_DATA if missing(value) else f"{value * 100:.{digits}f}%"


def burn_text(value: float | None) -> str:
    return NO_DATA if missing(value) else f"{value:.2f}"


def budget_band(left: float | None) -> tuple[str, str]:
    """(word, colour) of an error budget left: healthy from 75%, watch from 25%, at risk
    above 0, exhausted at or below 0, No data without events."""
    if missing(left):
        return NO_DATA, GREY
    if left <= 0:
        return "exhausted", RED
    if left < AT_RISK:
        return "at risk", RED
    if left < WATCH:
        return "watch", AMBER
    return "healthy", GREEN


def alert_word(states: Mapping[str, str]) -> str:
    """The SLO's alerts as one word, as Pyrra's list shows them: firing outranks pending,
    page outranks ticket; the absent-data alert when it is the only one active."""
    for state in ("firing", "pending"):
        for severity in ("page", "ticket"):
            if states.get(severity) == state:
                return f"{state} ({severity})"
        if states.get("absent") == state:
            return f"{state} (no data)"
    return "inactive"


def alert_colour(word: str) -> str:
    return STATE_COLOURS.get(word.split(" ")[0], GREY)


def humanise(seconds: float | None) -> str:
    """A duration in its two largest units: 45s, 12m, 3h 5m, 2d 4h ("" when unknown)."""
    if missing(seconds):
        return ""
    left = max(0, round(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    first = next((i for i, (_, size) in enumerate(units) if left >= size), len(units) - 1)
    parts = []
    for unit, size in units[first:first + 2]:
        count, left = divmod(left, size)
        if count or not parts:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def window_seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


# --- the list -------------------------------------------------------------------------------


def label_pairs(labels: Mapping[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in sorted(labels.items())]


def matches(item: SloSummary, query: str, wanted: Iterable[str]) -> bool:
    """Whether an SLO summary holds every `k=v` of `wanted` among its labels and, when
    `query` is given, has it (any case) in its id, name, service or labels."""
    labels = set(label_pairs(item.labels))
    if not set(wanted) <= labels:
        return False
    text = query.strip().lower()
    if not text:
        return True
    haystack = " ".join([item.id, item.name, item.service, *labels]).lower()
    return all(word in haystack for word in text.split())


def windows_of(items: Sequence[SloSummary]) -> list[str]:
    """Every alert window the SLOs report, shortest first (5m, 30m, 1h, …)."""
    found = {w for item in items for w in item.burns}
    return sorted(found, key=window_seconds)


def thresholds(item: SloSummary) -> dict[str, tuple[float | None, float | None]]:
    """window -> (the lowest page factor, the lowest ticket factor) among the pairs it
    belongs to: a burn above the first would page, above the second open a ticket."""
    out: dict[str, list[float | None]] = {}
    for p in item.pairs:
        if not p.can_fire:
            continue
        for w in (p.short, p.long):
            slot = out.setdefault(w, [None, None])
            i = 0 if p.severity == "page" else 1
            slot[i] = p.factor if slot[i] is None else min(slot[i], p.factor)
    return {w: (v[0], v[1]) for w, v in out.items()}


def burn_level(value: float | None, limits: tuple[float | None, float | None]) -> str:
    """"page", "ticket" or "ok" for a burn rate against its window's thresholds; "" without
    data."""
    if missing(value):
        return ""
    page, ticket = limits
    if page is not None and value > page:
        return "page"
    if ticket is not None and value > ticket:
        return "ticket"
    return "ok"


LIST_FIXED = ["SLO", "Window", "Objective", "Availability", "Budget", "Budget state", "Alerts"]


def list_frame(items: Sequence[SloSummary]) -> pd.DataFrame:
    """The list as downloaded: one row per SLO (its id the index), worst budget first, "No
    data" last; a column per alert window with its burn rate (NaN: no events); the alert
    state in words."""
    windows = windows_of(items)
    rows = []
    for item in items:
        row: dict[str, object] = {
            "id": item.id, "SLO": item.id,
            "Labels": label_pairs({k: v for k, v in item.labels.items() if k != "slo"}),
            "Objective": item.objective, "Window": item.period,
            "Availability": np.nan if missing(item.sli) else item.sli * 100,
            "Budget": np.nan if missing(item.budget) else item.budget,
            "Budget state": budget_band(item.budget)[0],
        }
        for w in windows:
            value = item.burns.get(w)
            row[f"Burn {w}"] = np.nan if missing(value) else value
        row["Alerts"] = alert_word(item.states)
        row["Problem"] = item.problem or ""
        rows.append(row)
    columns = ["id", *LIST_FIXED, *(f"Burn {w}" for w in windows), "Labels", "Problem"]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.sort_values(["Budget", "SLO"], na_position="last", kind="stable")
    return frame.set_index("id")


def _burn_levels(frame: pd.DataFrame, items: Sequence[SloSummary]) -> pd.DataFrame:
    """Per cell of the burn columns: "page", "ticket", "ok" or "" (no data)."""
    by_id = {item.id: item for item in items}
    burns = [c for c in frame.columns if str(c).startswith("Burn ")]
    levels = pd.DataFrame("", index=frame.index, columns=burns)
    for slo_id, row in frame[burns].iterrows():
        limits = thresholds(by_id[str(slo_id)])
        for column in burns:
            levels.loc[slo_id, column] = burn_level(row[column],
                                                    limits.get(column[5:], (None, None)))
    return levels


LEVEL_CSS = {"page": f"color: {RED}; font-weight: bold", "ticket": f"color: {AMBER}",
             "ok": f"color: {GREEN}", "": f"color: {GREY}"}


def list_display(frame: pd.DataFrame, items: Sequence[SloSummary]) -> Styler:
    """The list as shown: burn rates as text with the alert they would raise ("122.90
    page"), coloured red above a page threshold and amber above a ticket one;
    availability red at or below the objective; the budget state and alert words in their
    colours; firing rows tinted red; "No data" where nothing was measured."""
    levels = _burn_levels(frame, items)
    shown = frame.astype(object)
    for column in levels.columns:
        shown[column] = [NO_DATA if missing(v) else f"{v:.2f}" + (f" {lvl}" if lvl in (
            "page", "ticket") else "") for v, lvl in zip(frame[column], levels[column],
                                                         strict=True)]
    shown["Availability"] = [NO_DATA if missing(v) else f"{v:.3f}%"
                             for v in frame["Availability"]]
    shown["Objective"] = [f"{v:.2f}%" for v in frame["Objective"]]

    def colours(row: pd.Series) -> list[str]:
        firing = str(row["Alerts"]).startswith("firing")
        out = []
        for column, value in row.items():
            css = ""
            if column in levels.columns:
                css = LEVEL_CSS[levels.loc[row.name, column]]
            elif column == "Availability":
                raw = frame.loc[row.name, "Availability"]
                css = f"color: {GREY}" if missing(raw) else (
                    f"color: {RED if raw <= frame.loc[row.name, 'Objective'] else GREEN}")
            elif column == "Budget state":
                css = f"color: {budget_band(frame.loc[row.name, 'Budget'])[1]}"
            elif column == "Alerts":
                css = f"color: {alert_colour(str(value))}; font-weight: bold"
            out.append(css + (f"; background-color: {RED}22" if firing else ""))
        return out

    return shown.style.apply(colours, axis=1)


# --- the detail's tables --------------------------------------------------------------------


ALERT_COLUMNS = ["State", "Severity", "Exhaustion", "Threshold", "Short", "Short burn", "Long",
                 "Long burn", "For", "Burning now"]


def _vs(value: float | None, factor: float) -> str:
    if missing(value):
        return NO_DATA
    return f"{value:.2f} > {factor:.4g}" if value > factor else f"{value:.2f}"


def alert_frame(pairs: Sequence[PairState], states: Mapping[str, str], period_s: float,
                budget_ratio: float, pending_s: Mapping[str, float]) -> pd.DataFrame:
    """Pyrra's multi-burn-rate alerts table: per window pair the stored alert's state, its
    severity, how soon the factor would spend the whole budget (period / factor), the
    threshold (factor x budget, as a factor and an error ratio), each window's burn rate
    against it ("109.18 > 14.4"), the `for` it must hold and whether both burn above the
    factor now."""
    rows = []
    for p in pairs:
        rows.append({
            "State": states.get(p.severity, "inactive"),
            "Severity": p.severity,
            "Exhaustion": humanise(period_s / p.factor) if p.factor > 0 else "",
            "Threshold": f"{p.factor:.4g} ({p.factor * budget_ratio:.3%} errors)"
            if p.can_fire else f"{p.factor:.4g} (can never fire)",
            "Short": p.short, "Short burn": _vs(p.short_burn, p.factor),
            "Long": p.long, "Long burn": _vs(p.long_burn, p.factor),
            "For": humanise(pending_s.get(p.severity, 0.0)),
            "Burning now": "yes: both windows above" if p.firing else "no",
        })
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def alert_style(frame: pd.DataFrame) -> Styler:
    """Firing rows tinted red, pending amber; a burn red above the pair's factor, green
    under it, grey without data; the state in its colour."""
    def colours(row: pd.Series) -> list[str]:
        tint = {"firing": f"background-color: {RED}22",
                "pending": f"background-color: {AMBER}22"}.get(str(row["State"]), "")
        out = []
        for column, value in row.items():
            css = tint
            if column in ("Short burn", "Long burn"):
                colour = GREY if value == NO_DATA else RED if ">" in str(value) else GREEN
                css += f"; color: {colour}"
            elif column == "State":
                css += f"; color: {STATE_COLOURS.get(str(value), GREY)}; font-weight: bold"
            elif column == "Burning now" and str(value).startswith("yes"):
                css += f"; color: {RED}"
            out.append(css)
        return out

    return frame.style.apply(colours, axis=1)


def attribution_frame(shares: Sequence[Share]) -> pd.DataFrame:
    """What each deploy or incident cost: bad events inside it, as a share of the period's
    bad events and of its whole budget; what no marker covers last."""
    return pd.DataFrame([{
        "Marker": s.name, "Kind": "not covered by a marker" if s.kind == "rest" else s.kind,
        "Bad events": s.bad,
        "Of the bad events": np.nan if missing(s.of_spent) else s.of_spent * 100,
        "Of the budget": np.nan if missing(s.of_budget) else s.of_budget * 100,
    } for s in shares], columns=["Marker", "Kind", "Bad events", "Of the bad events",
                                 "Of the budget"])


def firing_frame(result: Backtest) -> pd.DataFrame:
    return pd.DataFrame([{
        "Severity": f.severity, "From (UTC)": utc(f.start).strftime("%Y-%m-%d %H:%M"),
        "To (UTC)": utc(f.end).strftime("%Y-%m-%d %H:%M") if f.end else "still firing",
        "For": humanise((f.end or result.end) - f.start),
    } for f in result.firings], columns=["Severity", "From (UTC)", "To (UTC)", "For"])


def incident_frame(result: Backtest) -> pd.DataFrame:
    return pd.DataFrame([{
        "Started (UTC)": utc(i.start).strftime("%Y-%m-%d %H:%M"),
        "Lasted": humanise((i.end or result.end) - i.start),
        "Bad events": i.bad,
        "Detected after": humanise(i.detection_s) if i.detection_s is not None
        else "never alerted",
        "Paged at (UTC)": utc(i.first_page_at).strftime("%H:%M") if i.first_page_at
        else "no page",
        "Budget spent before the page": np.nan if missing(i.budget_spent_before_page)
        else i.budget_spent_before_page * 100,
    } for i in sorted(result.incidents, key=lambda i: -i.bad)],
        columns=["Started (UTC)", "Lasted", "Bad events", "Detected after", "Paged at (UTC)",
                 "Budget spent before the page"])


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    return "already spent" if value == 0 else humanise(value * 3600)


def forecast_frame(items: Sequence[Exhaustion]) -> pd.DataFrame:
    """When the budget runs out at each basis' burn rate, on a median day, and the band
    busy and quiet days give."""
    names = {"current": "current (last 1h)", "1d": "last day", "7d": "last 7 days"}
    return pd.DataFrame([{
        "Burn rate of": names.get(e.basis, e.basis),
        "Burn rate": np.nan if missing(e.burn_rate) else e.burn_rate,
        "Budget runs out in": _hours(e.hours) if e.hours is not None
        else "not at this rate" if e.burn_rate is not None else NO_DATA,
        "Busy days": _hours(e.earliest_hours),
        "Quiet days": _hours(e.latest_hours),
    } for e in items], columns=["Burn rate of", "Burn rate", "Budget runs out in",
                                "Busy days", "Quiet days"])


# --- charts ---------------------------------------------------------------------------------


def _frame(title: str, start: int, end: int, y_title: str, revision: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, yaxis_title=y_title, uirevision=revision, **_LAYOUT)
    figure.update_xaxes(range=[utc(start), utc(end)], type="date")
    return figure


def _top(values: Iterable[float], *extra: float | None, floor: float) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    finite += [e for e in extra if e is not None and math.isfinite(e)]
    return max([floor, *finite]) * 1.15


def _vline(figure: go.Figure, at: float, text: str, colour: str = THRESHOLD_GREY) -> None:
    """A marker line with its name on top (plotly's add_vline cannot annotate dates)."""
    x = utc(at)
    figure.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper",
                     line=dict(color=colour, dash="dot", width=1.5))
    figure.add_annotation(x=x, y=0.98, yref="paper", text=text, showarrow=False,
                          xanchor="left", yanchor="top", font=dict(size=11, color=colour))


def add_markers(figure: go.Figure, markers: Sequence[Marker], start: int, end: int) -> None:
    """Deploys and incidents that begin inside [start, end] as dotted vertical lines."""
    for m in markers:
        if start <= m.start <= end:
            _vline(figure, m.start, f"{m.kind}: {m.name}",
                   RED if m.kind == "incident" else THRESHOLD_GREY)


def add_episodes(figure: go.Figure, firings: Sequence[Firing], start: int, end: int,
                 last: int) -> int:
    """The backtest's firing episodes overlapping [start, end] as faint bands (page red,
    ticket amber), under the lines; an episode still firing ends at `last`. Returns how
    many were drawn."""
    drawn = 0
    for f in firings:
        lo, hi = max(f.start, start), min(f.end if f.end is not None else last, end)
        if hi <= lo:
            continue
        figure.add_vrect(x0=utc(lo), x1=utc(hi), fillcolor=SEVERITY_COLOURS.get(f.severity, GREY),
                         opacity=0.15, line_width=0, layer="below")
        drawn += 1
    return drawn


def instants(start: int, end: int, step: int) -> pd.DatetimeIndex:
    """The step ends in (start, end]: where a value "over the window ending here" is drawn."""
    return pd.DatetimeIndex([utc(t) for t in range(start + step, end + 1, step)], name="at")


def on_grid(history: pd.DataFrame, column: str, start: int, end: int, step: int) -> pd.Series:
    """A history column (indexed by interval start) at its intervals' ends, on every step
    of the range: NaN where there was no interval or no value."""
    grid = instants(start, end, step)
    if history.empty:
        return pd.Series(np.nan, index=grid, dtype=float)
    values = history[column].astype(float)
    values.index = pd.DatetimeIndex([utc(t + step) for t in values.index])
    return values.reindex(grid)


def budget_chart(budget: pd.Series, *, start: int, end: int, title: str,
                 markers: Sequence[Marker] = (), firings: Sequence[Firing] = (),
                 revision: str = "") -> go.Figure:
    """Error budget left (%) at each instant over the period ending there: green above 0
    and red below, two traces clipped at 0 each filled to zero; gaps stay gaps."""
    figure = _frame(title, start, end, "budget left", revision)
    values = budget.astype(float) * 100
    above, below = values.clip(lower=0), values.clip(upper=0)
    hover = "%{y:.2f}% left"
    few = int(values.notna().sum()) <= 2
    figure.add_trace(go.Scatter(x=budget.index, y=above, name="budget left", mode="lines+markers"
                                if few else "lines", connectgaps=False, fill="tozeroy",
                                line=dict(color=GREEN), hovertemplate=hover))
    figure.add_trace(go.Scatter(x=budget.index, y=below, name="overspent", mode="lines+markers"
                                if few else "lines", connectgaps=False, fill="tozeroy",
                                line=dict(color=RED), hovertemplate=hover))
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min()) if len(finite) else 0.0)
    high = max(100.0, float(finite.max()) if len(finite) else 100.0)
    figure.update_yaxes(range=[low - 0.05 * (high - low), high + 0.05 * (high - low)],
                        ticksuffix="%")
    figure.add_hline(y=0, line_dash="dash", line_color=THRESHOLD_GREY,
                     annotation_text="budget exhausted", annotation_position="bottom left")
    add_episodes(figure, firings, start, end, end)
    add_markers(figure, markers, start, end)
    return figure


def burn_chart(burns: pd.DataFrame, pairs: Sequence[PairState], severity: str, *, start: int,
               end: int, firings: Sequence[Firing] = (), markers: Sequence[Marker] = (),
               revision: str = "") -> go.Figure:
    """The burn rate over each window of the severity's pairs at each instant, each pair's
    factor dashed and named; the backtest's episodes of that severity as bands."""
    mine = [p for p in pairs if p.severity == severity]
    title = ("Page: is the budget burning fast?" if severity == "page"
             else "Ticket: is the budget burning slowly but surely?")
    figure = _frame(title, start, end, "burn rate (1 = on budget)", revision)
    windows = sorted({w for p in mine for w in (p.short, p.long)}, key=window_seconds)
    shades = ["#9ecae1", "#6baed6", "#3182bd", "#08519c"]
    x = [utc(int(t)) for t in burns.index] if len(burns) else []
    values = []
    for i, w in enumerate(windows):
        y = burns[w] if w in burns else pd.Series(np.nan, index=burns.index)
        values += [v for v in y.tolist() if not missing(v)]
        figure.add_trace(go.Scatter(
            x=x, y=y, name=f"{w} window", mode="lines", connectgaps=False,
            line=dict(color=shades[min(i, len(shades) - 1)]),
            hovertemplate=f"{w}: %{{y:.2f}}<extra></extra>"))
    factors = sorted({p.factor for p in mine if p.can_fire})
    for p in mine:
        if not p.can_fire:
            continue
        colour = SEVERITY_COLOURS[severity]
        figure.add_hline(y=p.factor, line_dash="dash", line_color=colour)
        figure.add_trace(go.Scatter(  # the threshold's name, in the legend
            x=[None], y=[None], mode="lines", line=dict(color=colour, dash="dash"),
            name=f"{severity} when {p.long} and {p.short} > {p.factor:.4g}"))
    figure.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0,
                                     xanchor="left"), height=380)
    figure.update_yaxes(range=[0, _top(values, *factors, floor=1.0)], rangemode="tozero")
    add_episodes(figure, [f for f in firings if f.severity == severity], start, end, end)
    add_markers(figure, markers, start, end)
    return figure


def forecast_chart(items: Sequence[Exhaustion], *, at: int, remaining: float | None
                   ) -> go.Figure | None:
    """Budget left from now to when each burn rate would exhaust it: a dashed line to the
    median day's estimate and a band from busy to quiet days; None when no rate would."""
    burning = [e for e in items if e.hours is not None]
    if not burning or missing(remaining) or remaining <= 0:
        return None
    left = max(0.0, float(remaining)) * 100
    longest = max(max(e.latest_hours or 0, e.earliest_hours or 0, e.hours or 0)
                  for e in burning)
    horizon = max(longest * 3600 * 1.1, 3600)
    figure = _frame("", at, int(at + horizon), "budget left", f"forecast:{at}")
    names = {"current": "at the last hour's rate", "1d": "at the last day's rate",
             "7d": "at the last 7 days' rate"}
    colours = {"current": RED, "1d": AMBER, "7d": "#7b3294"}
    for e in burning:
        colour = colours.get(e.basis, GREY)
        name = names.get(e.basis, e.basis)
        lo = e.earliest_hours if e.earliest_hours is not None else e.hours
        hi = e.latest_hours if e.latest_hours is not None else e.hours
        figure.add_trace(go.Scatter(
            x=[utc(at), utc(at + lo * 3600), utc(at + hi * 3600), utc(at)],
            y=[left, 0, 0, left], fill="toself", mode="lines", line=dict(width=0),
            fillcolor=colour, opacity=0.15, name=f"{name}: busy to quiet days",
            hoverinfo="skip", showlegend=False))
        figure.add_trace(go.Scatter(
            x=[utc(at), utc(at + e.hours * 3600)], y=[left, 0], mode="lines+markers",
            line=dict(color=colour, dash="dash"), name=f"{name}: {humanise(e.hours * 3600)}",
            hovertemplate="%{x}: %{y:.1f}% left<extra></extra>"))
    figure.update_yaxes(range=[0, max(left, 1) * 1.1], ticksuffix="%")
    return figure


def step_for(seconds: int) -> int:
    """The stored step that keeps [0, seconds) under 1,500 points (as the View picks it)."""
    return next((step for step in (60, 300) if seconds / step <= 1500), 3600)


def period_label(start: int, end: int) -> str:
    return (f"{utc(start):%Y-%m-%d %H:%M} to {utc(end):%Y-%m-%d %H:%M} UTC "
            f"({humanise(end - start)})")
