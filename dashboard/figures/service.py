"""The Service page's figures: one service's intervals on the range's step grid, and its
charts (latency percentiles against the SLO threshold, throughput, errors, CPU, memory).

Every chart spans the chosen range exactly, draws a missing interval as a gap (NaN on the
grid, `connectgaps=False`), never as 0, and stays readable with a single point (explicit
y ranges, markers where a point stands alone). Throughput divides each interval's
requests by the seconds it really covers: a whole step, or less for the one still filling
at the range's end (an hour row is never divided by 60 s)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from slo.histogram import histogram_quantile

GIB = 2**30
QUANTILES: dict[str, float] = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
QUANTILE_COLOURS = {"p50": "#74a9cf", "p95": "#2b8cbe", "p99": "#7b3294"}  # one hue, darker up
SERIES_COLUMNS = ["seconds", "requests", "errors", "rps", "error_pct", "p50_ms", "p95_ms",
                  "p99_ms", "cpu_pct", "memory_gib", "instances", "partial"]
ERROR_RED = "#d62728"
THRESHOLD_GREY = "#7f7f7f"
MARKERS_UP_TO = 60  # points per trace drawn with markers; past that, lines (and lone points)
_LAYOUT = dict(margin=dict(l=10, r=10, t=48, b=10), height=320, hovermode="x unified",
               legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"))


def utc(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")


def step_grid(start: int, end: int, step: int) -> pd.DatetimeIndex:
    """Interval starts covering [start, end): from `start` floored to the step (the store
    reads whole intervals from there) to the last one beginning before `end`."""
    first = start - start % step
    count = max(0, math.ceil((end - first) / step))
    return pd.DatetimeIndex([utc(first + i * step) for i in range(count)], name="ts")


def _quantiles(buckets: pd.DataFrame, grid: pd.DatetimeIndex) -> pd.DataFrame:
    """p50/p95/p99 (ms) per interval from cumulative bucket increases (`le` in seconds)."""
    out = pd.DataFrame(index=grid, columns=[f"{n}_ms" for n in QUANTILES], dtype=float)
    if buckets.empty:
        return out
    wide = buckets.pivot_table(index="ts", columns="le", values="count", aggfunc="sum"
                               ).sort_index(axis=1)
    bounds = wide.columns.to_numpy(dtype=float)
    for name, q in QUANTILES.items():
        values = histogram_quantile(q, bounds, wide.to_numpy()) * 1000
        out[f"{name}_ms"] = pd.Series(values, index=wide.index).reindex(grid)
    return out


def service_series(metrics: pd.DataFrame, buckets: pd.DataFrame, *, start: int, end: int,
                   step: int) -> pd.DataFrame:
    """One row per interval of the grid (`step_grid`), NaN where nothing was stored.

    `metrics` and `buckets` are one service's rows of `queries.service_metrics` and
    `latency_buckets` at this step. `seconds` is what the interval covers within the range
    (the step, or up to `end` for the last); `rps` = requests / seconds."""
    grid = step_grid(start, end, step)
    frame = pd.DataFrame(index=grid, columns=SERIES_COLUMNS, dtype=float)
    starts = np.array([t.timestamp() for t in grid], dtype=float)
    frame["seconds"] = np.clip(end - starts, 0, step) if len(grid) else []
    if not metrics.empty:
        rows = metrics.set_index("ts").reindex(grid)
        frame["requests"] = rows["requests"].astype(float)
        frame["errors"] = rows["errors"].astype(float)
        frame["cpu_pct"] = rows["cpu_ratio"].astype(float) * 100
        frame["memory_gib"] = rows["memory_bytes"].astype(float) / GIB
        frame["instances"] = rows["instances"].astype(float)
        frame["partial"] = rows["partial"].astype(float)
    frame["rps"] = frame["requests"] / frame["seconds"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["error_pct"] = np.where(frame["requests"] > 0,
                                      frame["errors"] / frame["requests"] * 100, np.nan)
    frame[["p50_ms", "p95_ms", "p99_ms"]] = _quantiles(buckets, grid)
    return frame


# --- over the whole range (the tiles) -------------------------------------------------------


@dataclass(frozen=True)
class RangeFigures:
    """One service over the whole range; NaN where nothing was stored."""

    requests: float
    errors: float
    seconds: float  # covered by intervals with data
    rps: float
    availability: float  # 1 - errors / requests
    p95_ms: float
    cpu_pct: float
    memory_gib: float
    intervals: int  # with data


def range_figures(series: pd.DataFrame, buckets: pd.DataFrame) -> RangeFigures:
    """Sums over the intervals (exact at any resolution: roll-ups are sums of minutes);
    p95 of the range's summed buckets, as `histogram_quantile(0.95, sum by (le) (…))`."""
    seen = series[series["requests"].notna()]
    requests = float(seen["requests"].sum()) if len(seen) else math.nan
    errors = float(seen["errors"].sum()) if len(seen) else math.nan
    seconds = float(seen["seconds"].sum()) if len(seen) else math.nan
    p95 = math.nan
    if not buckets.empty:
        summed = buckets.groupby("le")["count"].sum().sort_index()
        p95 = float(histogram_quantile(0.95, summed.index.to_numpy(dtype=float),
                                       summed.to_numpy())[0]) * 1000
    return RangeFigures(
        requests=requests, errors=errors, seconds=seconds,
        rps=requests / seconds if seconds else math.nan,
        availability=1 - errors / requests if requests else math.nan,
        p95_ms=p95,
        cpu_pct=float(seen["cpu_pct"].mean()) if len(seen) else math.nan,
        memory_gib=float(seen["memory_gib"].mean()) if len(seen) else math.nan,
        intervals=len(seen))


# --- charts ---------------------------------------------------------------------------------


def lone_points(values: Sequence[float]) -> np.ndarray:
    """True where a value stands between gaps: a line cannot draw it, a marker must."""
    y = np.asarray(values, dtype=float)
    present = np.isfinite(y)
    before = np.concatenate([[False], present[:-1]])
    after = np.concatenate([present[1:], [False]])
    return present & ~before & ~after


def _trace(figure: go.Figure, x: pd.DatetimeIndex, y: pd.Series, name: str, *,
           color: str | None = None, hover: str, dash: str | None = None) -> None:
    """A line that breaks at gaps, with markers when there are few points and for lone
    ones among many."""
    few = int(y.notna().sum()) <= MARKERS_UP_TO
    line = dict(color=color, dash=dash) if color or dash else {}
    figure.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers" if few else "lines",
                                connectgaps=False, line=line, marker=dict(size=5),
                                hovertemplate=hover, legendgroup=name))
    lone = lone_points(y)
    if not few and lone.any():
        figure.add_trace(go.Scatter(x=x[lone], y=y[lone], name=name, mode="markers",
                                    marker=dict(size=5, color=color), showlegend=False,
                                    hovertemplate=hover, legendgroup=name))


def _frame(title: str, start: int, end: int, y_title: str, revision: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, yaxis_title=y_title, uirevision=revision, **_LAYOUT)
    figure.update_xaxes(range=[utc(start), utc(end)], type="date")
    return figure


def _top(values: Sequence[float], *extra: float | None, floor: float) -> float:
    """The top of a linear axis from 0: above the highest value (and the extras drawn, a
    threshold say), never a sliver around one point."""
    finite = [v for v in np.asarray(values, dtype=float) if math.isfinite(v)]
    finite += [e for e in extra if e is not None and math.isfinite(e)]
    return max([floor, *finite]) * 1.15


def _nice_ticks(low: float, high: float) -> list[float]:
    """1-2-5 steps from below `low` to above `high`: log-axis ticks people can read."""
    ticks: list[float] = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks


def format_ms(value: float) -> str:
    """A latency as an axis or tile reads it: 0.5 ms, 12 ms, 1.5 s."""
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g} ms"


LOG_ABOVE = 30.0  # the latency axis goes logarithmic when values span more than this factor


def latency_axis(values: Sequence[float], threshold_ms: float | None) -> dict[str, object]:
    """A readable latency axis: linear from 0 in ms, or logarithmic with 1-2-5 ticks
    labelled in ms when the values span more than LOG_ABOVE (a latency fault, say)."""
    finite = [v for v in np.asarray(values, dtype=float) if math.isfinite(v) and v > 0]
    shown = finite + ([threshold_ms] if threshold_ms else [])
    if not shown:
        return dict(type="linear", range=[0, 1], ticksuffix=" ms")
    low, high = min(shown), max(shown)
    if high / low <= LOG_ABOVE:
        return dict(type="linear", range=[0, _top(shown, floor=0.001)], ticksuffix=" ms",
                    rangemode="tozero")
    low, high = low / 1.5, high * 1.5
    ticks = _nice_ticks(low, high)
    return dict(type="log", range=[math.log10(low), math.log10(high)], tickvals=ticks,
                ticktext=[format_ms(t) for t in ticks])


def latency(series: pd.DataFrame, *, start: int, end: int, threshold_ms: float | None = None,
            threshold_label: str = "", revision: str = "") -> go.Figure:
    """p50, p95 and p99 per interval, with the latency SLO's threshold dashed and named."""
    figure = _frame("Latency: how long do requests take?", start, end, "", revision)
    for name in QUANTILES:
        _trace(figure, series.index, series[f"{name}_ms"], name,
               color=QUANTILE_COLOURS[name], hover="%{y:.3~f} ms")
    values = series[[f"{n}_ms" for n in QUANTILES]].to_numpy().ravel()
    figure.update_yaxes(**latency_axis(values, threshold_ms))
    if threshold_ms is not None:
        figure.add_hline(y=threshold_ms, line_dash="dash", line_color=THRESHOLD_GREY,
                         annotation_text=threshold_label
                         or f"SLO threshold {format_ms(threshold_ms)}",
                         annotation_position="top left")
    return figure


def throughput(series: pd.DataFrame, *, start: int, end: int, unit: str = "req/s",
               revision: str = "") -> go.Figure:
    """Requests (or queries, for a database) per second of each interval."""
    noun = "requests" if unit.startswith("req") else unit.split("/")[0]
    figure = _frame(f"Throughput: how many {noun} per second?", start, end, unit, revision)
    _trace(figure, series.index, series["rps"], unit, hover=f"%{{y:,.1f}} {unit}")
    figure.update_yaxes(range=[0, _top(series["rps"], floor=1)])
    return figure


def error_rate(series: pd.DataFrame, *, start: int, end: int,
               allowed_pct: float | None = None, allowed_label: str = "",
               revision: str = "") -> go.Figure:
    """Share of requests that failed (5xx), in %, against the availability SLO's budget
    rate (100 - objective), dashed."""
    figure = _frame("Errors: how many requests fail?", start, end, "% of requests",
                    revision)
    _trace(figure, series.index, series["error_pct"], "errors", color=ERROR_RED,
           hover="%{y:.3~f} %")
    figure.update_yaxes(range=[0, _top(series["error_pct"], allowed_pct, floor=0.01)],
                        ticksuffix=" %")
    if allowed_pct is not None:
        figure.add_hline(y=allowed_pct, line_dash="dash", line_color=THRESHOLD_GREY,
                         annotation_text=allowed_label or f"SLO allows {allowed_pct:g} %",
                         annotation_position="top left")
    return figure


def cpu(series: pd.DataFrame, *, start: int, end: int, revision: str = "") -> go.Figure:
    """CPU used, in % of the instance's allotment, averaged over instances."""
    figure = _frame("CPU: how busy is it?", start, end, "% CPU", revision)
    _trace(figure, series.index, series["cpu_pct"], "CPU", hover="%{y:.1f} %")
    figure.update_yaxes(range=[0, _top(series["cpu_pct"], floor=10)], ticksuffix=" %")
    return figure


def memory(series: pd.DataFrame, *, start: int, end: int, revision: str = "") -> go.Figure:
    """Resident memory in GiB, averaged over instances."""
    figure = _frame("Memory: how much does it hold?", start, end, "GiB", revision)
    _trace(figure, series.index, series["memory_gib"], "memory", hover="%{y:.2f} GiB")
    figure.update_yaxes(range=[0, _top(series["memory_gib"], floor=0.1)])
    return figure
