"""The Fleet overview's figures, pure: the headline counts (SLOs meeting their objective
over 1h, 6h and 1d as on Grafana's SLO performance page, budgets at risk, alerts firing),
the page banner, the platform table with each service's status in colour and words and
its sparklines, and the worst-first SLO table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from dashboard.figures.slo import NO_DATA, SloSummary, alert_word, budget_band, missing
from services.documents.status import PAGE_SEVERITIES, WARNING_BUDGET

MEETING_WINDOWS = ("1h", "6h", "1d")
TREND_MAX_BURN = 2.0  # SLO sparklines: burn rate from 0 to 2 (1 spends the budget on time)


# --- headline figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    """SLOs meeting their objective over one window: SLI >= objective, i.e. burn <= 1."""

    window: str
    met: int
    measured: int  # SLOs with events in the window
    total: int

    @property
    def text(self) -> str:
        return f"{self.met} / {self.measured}" if self.measured else NO_DATA


def meeting(items: Sequence[SloSummary], window: str) -> Meeting:
    """How many SLOs had an SLI at or above their objective over the last `window`: their
    error ratio over it at most the error budget (burn rate <= 1); SLOs without events in
    it are not counted as meeting or missing."""
    burns = [item.burns.get(window) for item in items]
    known = [b for b in burns if not missing(b)]
    return Meeting(window, sum(1 for b in known if b <= 1), len(known), len(items))


def at_risk(items: Sequence[SloSummary]) -> list[SloSummary]:
    """SLOs with less than 25% of their error budget left (the status rule's warning)."""
    return [i for i in items if not missing(i.budget) and i.budget < WARNING_BUDGET]


def pages_firing(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if str(r["severity"]).lower() in PAGE_SEVERITIES]


def banner(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The alert banner's text when pages fire: each page with its service and SLO."""
    pages = pages_firing(rows)
    if not pages:
        return None
    names = [f"**{r['name']}** ({r['service'] or 'no service'}"
             + (f", SLO {r['slo']}" if r.get("slo") else "") + ")" for r in pages]
    return (f"{len(pages)} page{'s' * (len(pages) != 1)} firing: " + "; ".join(names[:5])
            + (f" and {len(names) - 5} more" if len(names) > 5 else ""))


# --- the platform table ---------------------------------------------------------------------


def sparkline(values: Sequence[float]) -> list[float]:
    """The measured values scaled to their highest (0 to 1: the column's fixed range).
    Streamlit's chart cells cannot draw a gap (a None or NaN turns the cell into text), so
    intervals without data are left out: the line joins across them, and the table says
    how many there were (`gaps`)."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    top = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    return (finite / top).tolist()


def gaps(values: Sequence[float]) -> int:
    return int((~np.isfinite(np.asarray(values, dtype=float))).sum())


def on_grid(intervals: pd.DataFrame, slug: str, grid: Sequence[int], column: str
            ) -> np.ndarray:
    """The service's `column` on every interval of `grid`, NaN where none was stored."""
    mine = intervals[intervals["service"] == slug] if len(intervals) else intervals
    if not len(mine):
        return np.full(len(grid), np.nan)
    return mine.set_index("ts")[column].reindex(grid).to_numpy(dtype=float)


SERVICE_COLUMNS = ["Service", "Status", "p95", "Throughput", "Errors", "CPU", "Memory",
                   "p95 trend", "Throughput trend", "Measured", "Why", "Open"]


def _number(value: float, text: str) -> str:
    return NO_DATA if missing(value) else text


def services_frame(summary: pd.DataFrame, intervals: pd.DataFrame, grid: Sequence[int],
                   *, link: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per service: status word, p95, throughput in its own unit (req/s or
    queries/s), error ratio, CPU and memory over the range ("No data" when nothing was
    measured), its sparklines and why it is not healthy. Words that carry a colour are one-item
    lists, shown as coloured pills (`STATUS_OPTIONS`, `STATUS_PILLS`)."""
    rows = []
    for r in summary.itertuples():
        p95s = on_grid(intervals, r.service, grid, "p95_ms")
        rps = on_grid(intervals, r.service, grid, "rps")
        rows.append({
            "Service": r.name, "Status": [str(r.status).capitalize()],
            "p95": _number(r.p95_ms, f"{r.p95_ms:.1f} ms"),
            "Throughput": _number(r.throughput_rps, f"{r.throughput_rps:,.1f} {r.unit}"),
            "Errors": _number(r.error_ratio, f"{r.error_ratio * 100:.3f}%"),
            "CPU": _number(r.cpu_ratio, f"{r.cpu_ratio * 100:.0f}%"),
            "Memory": _number(r.memory_gib, f"{r.memory_gib:.2f} GiB"),
            "p95 trend": sparkline(p95s), "Throughput trend": sparkline(rps),
            "Measured": f"{len(grid) - gaps(rps)} / {len(grid)} intervals",
            "Why": r.reasons or ("nothing measured in the range" if r.status == "unknown"
                                 else ""),
            "Open": "/service?" + urlencode({"service": r.service, **(link or {})}),
        })
    return pd.DataFrame(rows, columns=SERVICE_COLUMNS)


STATUS_OPTIONS = ["Healthy", "Warning", "Critical", "Unknown"]
STATUS_PILLS = ["green", "orange", "red", "gray"]  # a pill per word: colour and word
BUDGET_OPTIONS = ["healthy", "watch", "at risk", "exhausted", NO_DATA]
BUDGET_PILLS = ["green", "orange", "red", "red", "gray"]
ALERT_OPTIONS = ["firing (page)", "firing (ticket)", "firing (no data)", "pending (page)",
                 "pending (ticket)", "pending (no data)", "inactive"]
ALERT_PILLS = ["red", "red", "red", "orange", "orange", "orange", "green"]


# --- the SLO table --------------------------------------------------------------------------


SLO_COLUMNS = ["SLO", "Budget", "Budget state", "Alerts", "Burn 1h", "Burn trend",
               "Objective", "Service", "Open"]


def worst_first(items: Sequence[SloSummary], burns: Mapping[str, Sequence[float]],
                *, link: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every SLO, worst budget first ("No data" last), with its burn rate per interval of
    the range as a sparkline (0 to TREND_MAX_BURN, higher values drawn at the top;
    intervals without events left out, as `sparkline` says)."""
    rows = []
    for item in items:
        values = np.asarray(burns.get(item.id, []), dtype=float)
        trend = np.minimum(values[np.isfinite(values)], TREND_MAX_BURN).tolist()
        rows.append({
            "SLO": item.id, "Service": item.service, "Objective": f"{item.objective:.2f}%",
            "Budget": np.nan if missing(item.budget) else item.budget,
            "Budget state": [budget_band(item.budget)[0]],
            "Burn 1h": _burn_words(item.burns.get("1h")),
            "Burn trend": trend,
            "Alerts": [alert_word(item.states)],
            "Open": "/slos?" + urlencode({"slo": item.id, **(link or {})}),
        })
    frame = pd.DataFrame(rows, columns=SLO_COLUMNS)
    return frame.sort_values(["Budget", "SLO"], na_position="last", kind="stable"
                             ).reset_index(drop=True)


def _burn_words(value: float | None) -> str:
    if missing(value):
        return NO_DATA
    return f"{value:.2f} (over budget)" if value > 1 else f"{value:.2f}"
