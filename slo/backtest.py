"""Alert-policy backtest: replay an SLO's alert windows over history.

For every minute of the data it decides, as the alert rules would have, whether page and
ticket alerts fire; then it reports each firing (when it started and resolved), each
incident (when it started, how long until the first alert, how much budget went before
the first page, how long the alerts stayed after it ended) and the window pairs that can
never fire at this objective.

Incidents are the caller's markers, or else inferred: runs of minutes burning faster
than `incident_burn` times the budget pace, joined across short pauses.

The whole replay is O(n log n) in the minutes: every window's and every incident's sums
come from one pair of prefix sums, and each incident finds its first alert, its first page
and the first quiet minute after it by binary search among the alerting (or quiet)
minutes, so an incident costs O(log n) however long the data is (`bench/backtest.py`: 2M
minutes and 91,000 inferred incidents in under half a second).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slo.budget import period_bounds, require_budget
from slo.burn import Decisions, Prefix, decide, error_ratios, never_fires
from slo.durations import format_duration
from slo.model import SLO, Period
from slo.series import MINUTE_S, MinuteSeries
from slo.windows import AlertWindows, BurnWindow

INCIDENT_BURN = 2.0  # a minute burning at twice the budget pace is part of an incident
INCIDENT_JOIN_MINUTES = 5  # pauses up to this long do not end an incident


@dataclass(frozen=True)
class Span:
    start: int  # Unix seconds
    end: int | None  # None: still going at the end of the data

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True)
class Firing(Span):
    severity: str = "page"


@dataclass(frozen=True)
class Incident(Span):
    bad: float = 0.0
    first_alert_at: int | None = None
    first_page_at: int | None = None
    budget_spent_before_page: float | None = None  # share of the period's budget
    resolved_at: int | None = None  # every alert quiet again after the incident

    @property
    def detection_s(self) -> int | None:
        return None if self.first_alert_at is None else self.first_alert_at - self.start

    @property
    def reset_s(self) -> int | None:
        if self.resolved_at is None or self.end is None:
            return None
        return max(0, self.resolved_at - self.end)


@dataclass(frozen=True)
class Backtest:
    slo: SLO
    start: int
    end: int
    firings: list[Firing]
    incidents: list[Incident]
    never_fire: list[BurnWindow]

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo.id, "start": self.start, "end": self.end,
            "firings": [{**f.to_dict(), "severity": f.severity} for f in self.firings],
            "incidents": [{**i.to_dict(), "bad": i.bad, "first_alert_at": i.first_alert_at,
                           "detection_s": i.detection_s, "first_page_at": i.first_page_at,
                           "budget_spent_before_page": i.budget_spent_before_page,
                           "resolved_at": i.resolved_at, "reset_s": i.reset_s}
                          for i in self.incidents],
            "never_fire": [{"severity": w.severity, "short": format_duration(w.short),
                            "long": format_duration(w.long)} for w in self.never_fire],
        }


def run_edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last indexes of the runs of True in `mask`, as two arrays."""
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, last] index pairs of the runs of True in `mask`."""
    first, last = run_edges(mask)
    return list(zip(first.tolist(), last.tolist(), strict=True))


def infer_incidents(series: MinuteSeries, budget_ratio: float,
                    burn: float = INCIDENT_BURN) -> list[tuple[int, int]]:
    """Incidents as (start, end) times: minutes burning faster than `burn`, joined."""
    totals = series.totals
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(totals > 0, series.bad / totals, 0.0)
    first, last = run_edges(ratio > burn * budget_ratio)
    if len(first):  # a run starts a new incident when the pause before it is too long
        new = np.concatenate(([True], first[1:] - last[:-1] > INCIDENT_JOIN_MINUTES + 1))
        first, last = first[new], last[np.concatenate((new[1:], [True]))]
    starts = series.start + MINUTE_S * first
    return list(zip(starts.tolist(), (starts + MINUTE_S * (last - first + 1)).tolist(),
                    strict=True))


def _firings(series: MinuteSeries, decisions: Decisions) -> list[Firing]:
    """Each run of firing minutes: it starts at the end of its first minute and ends at
    the end of the first minute after it (None when that is past the data)."""
    firings = []
    for severity, fired in decisions.severities.items():
        first, last = run_edges(fired)
        starts = series.start + MINUTE_S * (first + 1)
        ends = [None if i + 1 >= len(series) else series.start + MINUTE_S * (i + 2)
                for i in last.tolist()]
        firings += [Firing(s, e, severity=severity)
                    for s, e in zip(starts.tolist(), ends, strict=True)]
    firings.sort(key=lambda f: (f.start, f.severity))
    return firings


def _next_true(mask: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each index in `at`, the first index >= it where `mask` is True (-1: none)."""
    hits = np.flatnonzero(mask)
    if not len(hits):
        return np.full(len(at), -1)
    j = np.searchsorted(hits, at)
    return np.where(j < len(hits), hits[np.minimum(j, len(hits) - 1)], -1)


def _period_starts(times: np.ndarray, period: Period) -> np.ndarray:
    """Start of the budget period at each instant (`budget_at`'s), once per distinct one."""
    distinct, back = np.unique(times, return_inverse=True)
    starts = [period_bounds(t, period)[0] for t in distinct.tolist()]
    return np.asarray(starts, dtype=np.int64)[back]


def _incidents(series: MinuteSeries, slo: SLO, decisions: Decisions, prefix: Prefix,
               spans: Sequence[tuple[int, int]]) -> list[Incident]:
    """Every incident's figures at once: minutes [lo, hi) are the incident's, sums come
    from the prefix sums, first alerts and quiet minutes from `_next_true`."""
    if not spans:
        return []
    n = len(series)
    times = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    lo = np.clip((times[:, 0] - series.start) // MINUTE_S, 0, n)
    hi = np.clip((times[:, 1] - series.start) // MINUTE_S, lo, n)
    any_alert = np.logical_or.reduce([np.zeros(n, dtype=bool),
                                      *decisions.severities.values()])
    page = decisions.severities.get("page", np.zeros(n, dtype=bool))
    alert_i, page_i, quiet_i = (_next_true(any_alert, lo), _next_true(page, lo),
                                _next_true(~any_alert, hi))
    bad = prefix.bad[hi] - prefix.bad[lo]

    # the budget as `budget_at` gives it at the end of the first paged minute
    paged = page_i >= 0
    page_end = page_i[paged] + 1
    page_at = series.start + MINUTE_S * page_end
    first = np.maximum(0, (_period_starts(page_at, slo.period) - series.start) // MINUTE_S)
    allowed = (prefix.total[page_end] - prefix.total[first]) * slo.error_budget_ratio
    spent_bad = prefix.bad[page_end] - prefix.bad[lo[paged]]
    spent = np.full(len(lo), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        spent[paged] = np.where(allowed > 0, spent_bad / allowed, np.nan)

    def at(index: int) -> int | None:
        return None if index < 0 else series.start + MINUTE_S * (index + 1)

    return [
        Incident(start=start, end=end, bad=b, first_alert_at=at(a), first_page_at=at(p),
                 budget_spent_before_page=None if math.isnan(s) else s, resolved_at=at(q))
        for (start, end), b, a, p, s, q in zip(
            spans, bad.tolist(), alert_i.tolist(), page_i.tolist(), spent.tolist(),
            quiet_i.tolist(), strict=True)
    ]


def backtest(slo: SLO, series: MinuteSeries, windows: AlertWindows,
             incidents: Sequence[tuple[int, int]] | None = None) -> Backtest:
    """Replay the alert windows over `series`; incidents are (start, end) Unix seconds."""
    require_budget(slo)
    prefix = Prefix.of_series(series)
    ratios = error_ratios(prefix, windows.durations)
    disabled = [s for s, rule in (("page", slo.alerting.page), ("ticket", slo.alerting.ticket))
                if rule.disabled]
    decisions = decide(ratios, windows, slo.error_budget_ratio,
                       disabled=disabled)  # type: ignore[arg-type]
    spans = incidents if incidents is not None else infer_incidents(series,
                                                                     slo.error_budget_ratio)
    return Backtest(slo=slo, start=series.start, end=series.end,
                    firings=_firings(series, decisions),
                    incidents=_incidents(series, slo, decisions, prefix, spans),
                    never_fire=never_fires(windows, slo.error_budget_ratio))
