"""The Targets page's pure parts, after Prometheus's /targets: pools headed "3 / 4 up",
each target's state as a word and a colour, "12s ago", labels, filters, and the collector
runs over time."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go

from services.files import url_instance

STATES = ("up", "partial", "down", "unknown")
STATE_COLOURS = {"up": "green", "partial": "orange", "down": "red", "unknown": "gray"}
STATUS_HEX = {"ok": "#2ca02c", "partial": "#ff9f0e", "failed": "#d62728"}
_LAYOUT = dict(margin=dict(l=10, r=10, t=48, b=10), height=300, hovermode="x unified",
               legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"))


def ago(seconds: float | None) -> str:
    """How long ago, as people say it: 12s ago, 5m ago, 3h ago, 2d ago; "never"."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "never"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def duration_text(seconds: float | None) -> str:
    """A run's duration: 31ms, 1.24s."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 0.001:
        return "<1ms"
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def gap_text(gaps: Sequence[tuple[float, float]]) -> str:
    """The gaps a target's runs found: "20:45-21:05 UTC (20m)", newest last."""
    parts = []
    for start, end in gaps:
        a = datetime.fromtimestamp(start, UTC)
        b = datetime.fromtimestamp(end, UTC)
        minutes = max(0, round((end - start) / 60))
        parts.append(f"{a:%H:%M}-{b:%H:%M} UTC ({minutes}m)" if a.date() == b.date()
                     else f"{a:%Y-%m-%d %H:%M}-{b:%Y-%m-%d %H:%M} UTC ({minutes}m)")
    return ", ".join(parts)


def labels_of(row: pd.Series) -> dict[str, str]:
    """A target's labels as Prometheus shows them: job, instance, environment, its own."""
    labels = {"job": str(row["pool"])}
    if row["collector"] == "scrape":
        labels["instance"] = url_instance(str(row["endpoint"]))
    else:
        labels["collector"] = str(row["collector"])
    if row["environment"]:
        labels["environment"] = str(row["environment"])
    labels.update({str(k): str(v) for k, v in dict(row["labels"] or {}).items()})
    return labels


def label_chips(labels: dict[str, str]) -> str:
    """Labels as Streamlit badges (chips), one per pair."""
    return " ".join(f":gray-badge[{escape(k)}={escape(v)}]" for k, v in labels.items())


MARKDOWN_SPECIALS = set("\\`*_[]{}()<>#+-.!|$~:")


def escape(text: str) -> str:
    """Text shown as written inside markdown (a badge, a red line): every character
    markdown or a directive could read is backslash-escaped."""
    return "".join(f"\\{ch}" if ch in MARKDOWN_SPECIALS else ch for ch in text)


def matches(row: pd.Series, text: str) -> bool:
    """The text filter: endpoint, pool, labels, state or error holding `text`."""
    if not text:
        return True
    needle = text.lower()
    haystack = [str(row["endpoint"]), str(row["pool"]), str(row["state"]), str(row["error"]),
                *(f"{k}={v}" for k, v in labels_of(row).items())]
    return any(needle in value.lower() for value in haystack)


def filter_targets(frame: pd.DataFrame, *, pools: Iterable[str] = (),
                   health: Iterable[str] = (), text: str = "") -> pd.DataFrame:
    """The targets the filters keep (an empty filter keeps everything)."""
    pools, health = set(pools), set(health)
    keep = [(not pools or r["pool"] in pools) and (not health or r["state"] in health)
            and matches(r, text) for _, r in frame.iterrows()]
    return frame[pd.Series(keep, index=frame.index, dtype=bool)] if len(frame) else frame


def pool_health(states: Iterable[str]) -> str:
    """A pool's ring: red when a target is down, amber when one is partial or unknown among
    ones that are up, green when all are up, grey when none has run."""
    seen = set(states)
    if "down" in seen:
        return "down"
    if seen == {"unknown"} or not seen:
        return "unknown"
    return "up" if seen == {"up"} else "partial"


def pool_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pool: targets up (ok or partial runs: samples came) of all, and the ring."""
    rows = []
    for pool, part in frame.groupby("pool", sort=True):
        states = part["state"].tolist()
        rows.append({"pool": pool, "up": sum(s in ("up", "partial") for s in states),
                     "total": len(states), "health": pool_health(states)})
    return pd.DataFrame(rows, columns=["pool", "up", "total", "health"])


def pool_header(pool: str, up: int, total: int, health: str) -> str:
    """The expander's heading: a coloured ring, the pool, "3 / 4 up"."""
    return f":{STATE_COLOURS[health]}[●] **{pool}** · {up} / {total} up"


def state_badge(state: str) -> str:
    return f":{STATE_COLOURS.get(state, 'gray')}-badge[{state.upper()}]"


# --- runs over time ---------------------------------------------------------------------------


def _utc(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")


def runs_over_time(runs: pd.DataFrame, *, start: int, end: int, step: int) -> go.Figure:
    """Runs started per interval, stacked by outcome (ok green, partial amber, failed red),
    each bar as wide as its interval; the x axis is the range."""
    figure = go.Figure()
    for status, colour in STATUS_HEX.items():
        part = runs[runs["status"] == status].groupby("ts")["runs"].sum()
        if part.empty:
            continue
        figure.add_trace(go.Bar(x=part.index, y=part.to_numpy(), name=status,
                                marker_color=colour, width=step * 1000 * 0.9, offset=0,
                                hovertemplate="%{y:,} runs"))
    figure.update_layout(title="Collector runs: did every round run, and succeed?",
                         barmode="stack", yaxis_title="runs", **_LAYOUT)
    figure.update_xaxes(range=[_utc(start), _utc(end)], type="date")
    figure.update_yaxes(rangemode="tozero")
    return figure


def run_durations(runs: pd.DataFrame, *, start: int, end: int, step: int) -> go.Figure:
    """The longest run per interval and collector, in seconds: slow sources stand out.
    Intervals without runs stay gaps."""
    figure = go.Figure()
    grid = pd.DatetimeIndex([_utc(t) for t in range(start - start % step, end, step)])
    for collector, part in runs.groupby("collector", sort=True):
        longest = part.groupby("ts")["max_duration_s"].max().reindex(grid)
        figure.add_trace(go.Scatter(x=grid, y=longest.to_numpy(), name=str(collector),
                                    mode="lines+markers" if longest.notna().sum() <= 60
                                    else "lines", connectgaps=False,
                                    hovertemplate="%{y:.3f} s"))
    figure.update_layout(title="Run duration: is a source getting slow?",
                         yaxis_title="longest run (s)", **_LAYOUT)
    figure.update_xaxes(range=[_utc(start), _utc(end)], type="date")
    figure.update_yaxes(rangemode="tozero")
    return figure
