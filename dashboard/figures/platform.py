"""Figure builders: DataFrame in, plotly Figure (or display frame) out. No Streamlit here."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

NO_DATA = "no data"
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=360, hovermode="x unified",
               legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))


def _lines(frame: pd.DataFrame, value: str, title: str, y_title: str) -> go.Figure:
    figure = go.Figure()
    for service, part in frame.groupby("service", sort=True):
        figure.add_trace(go.Scatter(x=part["ts"], y=part[value], mode="lines", name=service))
    figure.update_layout(title=title, yaxis_title=y_title, **_LAYOUT)
    return figure


def throughput(metrics: pd.DataFrame, *, step_s: int) -> go.Figure:
    """Requests per second per service, from per-interval request counts."""
    frame = metrics.assign(rps=metrics["requests"] / step_s)
    return _lines(frame, "rps", "Throughput", "requests / s")


def latency_p95(p95: pd.DataFrame) -> go.Figure:
    """p95 latency per service and interval, on a log axis (services differ by 40x)."""
    figure = _lines(p95, "p95_ms", "Latency (p95)", "ms")
    figure.update_yaxes(type="log")
    return figure


def _num(value: float, fmt: str) -> str:
    return NO_DATA if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, fmt)


def platform_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as people read it: live figure beside its expected one."""
    rows = []
    for r in summary.itertuples(index=False):
        rows.append({
            "Service": r.name,
            "p95": f"{_num(r.p95_ms, '.1f')} ms (expected {r.baseline_p95_ms:g})",
            "Throughput": f"{_num(r.throughput_rps, ',.0f')} {r.unit} "
                          f"(daily mean {r.baseline_throughput_rps:,.0f})",
            "Errors": _num(r.error_ratio * 100 if r.error_ratio == r.error_ratio else math.nan,
                           ".3f") + " %",
            "CPU": f"{_num(r.cpu_ratio * 100, '.0f')} % (expected {r.baseline_cpu_ratio:.0%})",
            "Memory": f"{_num(r.memory_gib, '.1f')} GiB (expected {r.baseline_memory_gib:g})",
            "Expected status": r.baseline_status,
        })
    return pd.DataFrame(rows)
