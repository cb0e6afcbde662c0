"""Alert-policy backtest: replay an SLO's alert windows over history.

For every minute of the data it decides, as the alert rules would have, whether page and
ticket alerts fire; then it reports each firing (when it started and resolved), each
incident (when it started, how long until the first alert, how much budget went before
the first page, how long the alerts stayed after it ended) and the window pairs that can
never fire at this objective.

Incidents are the caller's markers, or else inferred: runs of minutes burning faster
than `incident_burn` times the budget pace, joined across short pauses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slo.budget import budget_at, require_budget
from slo.burn import Decisions, Prefix, decide, error_ratios, never_fires
from slo.durations import format_duration
from slo.model import SLO
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


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, last] index pairs of the runs of True in `mask`."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(),
                    (np.flatnonzero(edges == -1) - 1).tolist(), strict=True))


def _span(series: MinuteSeries, first: int, last: int) -> tuple[int, int | None]:
    """A run of decided minutes as times: starts at the end of its first minute, ends at
    the end of the first minute after it (None when that is past the data)."""
    end = None if last + 1 >= len(series) else int(series.time_at(last + 1))
    return int(series.time_at(first)), end


def infer_incidents(series: MinuteSeries, budget_ratio: float,
                    burn: float = INCIDENT_BURN) -> list[tuple[int, int]]:
    """Incidents as (start, end) times: minutes burning faster than `burn`, joined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(series.totals > 0, series.bad / series.totals, 0.0)
    hot = ratio > burn * budget_ratio
    joined: list[list[int]] = []
    for first, last in runs(hot):
        if joined and first - joined[-1][1] <= INCIDENT_JOIN_MINUTES + 1:
            joined[-1][1] = last
        else:
            joined.append([first, last])
    return [(series.start + MINUTE_S * a, series.start + MINUTE_S * (b + 1)) for a, b in joined]


def _incident(series: MinuteSeries, slo: SLO, decisions: Decisions, start: int, end: int
              ) -> Incident:
    lo = max(0, (start - series.start) // MINUTE_S)
    hi = min(len(series), (end - series.start) // MINUTE_S)
    any_alert = np.zeros(len(series), dtype=bool)
    for fired in decisions.severities.values():
        any_alert |= fired
    page = decisions.severities.get("page", np.zeros(len(series), dtype=bool))

    def first_from(mask: np.ndarray, index: int) -> int | None:
        hits = np.flatnonzero(mask[index:])
        return None if not len(hits) else index + int(hits[0])

    alert_i, page_i = first_from(any_alert, lo), first_from(page, lo)
    spent = None
    if page_i is not None:
        at = int(series.time_at(page_i))
        allowed = budget_at(series, at, slo.period, slo.error_budget_ratio).allowed_bad
        spent = float(series.bad[lo:page_i + 1].sum()) / allowed if allowed > 0 else None
    quiet = first_from(~any_alert, max(hi, lo))
    return Incident(
        start=start, end=end, bad=float(series.bad[lo:hi].sum()),
        first_alert_at=None if alert_i is None else int(series.time_at(alert_i)),
        first_page_at=None if page_i is None else int(series.time_at(page_i)),
        budget_spent_before_page=spent,
        resolved_at=None if quiet is None else int(series.time_at(quiet)),
    )


def backtest(slo: SLO, series: MinuteSeries, windows: AlertWindows,
             incidents: Sequence[tuple[int, int]] | None = None) -> Backtest:
    """Replay the alert windows over `series`; incidents are (start, end) Unix seconds."""
    require_budget(slo)
    ratios = error_ratios(Prefix.of_series(series), windows.durations)
    disabled = [s for s, rule in (("page", slo.alerting.page), ("ticket", slo.alerting.ticket))
                if rule.disabled]
    decisions = decide(ratios, windows, slo.error_budget_ratio,
                       disabled=disabled)  # type: ignore[arg-type]
    firings = [
        Firing(*_span(series, first, last), severity=severity)
        for severity, fired in decisions.severities.items()
        for first, last in runs(fired)
    ]
    firings.sort(key=lambda f: (f.start, f.severity))
    spans = incidents if incidents is not None else infer_incidents(series,
                                                                     slo.error_budget_ratio)
    found = [_incident(series, slo, decisions, s, e) for s, e in spans]
    return Backtest(slo=slo, start=series.start, end=series.end, firings=firings,
                    incidents=found, never_fire=never_fires(windows, slo.error_budget_ratio))
