"""The state of one SLO at one instant: budget, every window's burn, each alert's verdict.

Nothing here is NaN: a window without events has `error_ratio = None`, and the minutes
without data are listed as gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slo.budget import Budget, budget_at, require_budget
from slo.burn import Prefix, threshold
from slo.durations import format_duration
from slo.model import SLO
from slo.series import MinuteSeries, minutes
from slo.windows import AlertWindows, BurnWindow, burn_factor

CURRENT_WINDOW = timedelta(minutes=5)  # Sloth's `slo:current_burn_rate:ratio`


@dataclass(frozen=True)
class WindowStatus:
    window: timedelta
    bad: float
    total: float
    budget_ratio: float
    minutes_with_data: int

    @property
    def complete(self) -> bool:
        return self.minutes_with_data == minutes(self.window)

    @property
    def error_ratio(self) -> float | None:
        return self.bad / self.total if self.total > 0 else None

    @property
    def burn_rate(self) -> float | None:
        ratio = self.error_ratio
        return None if ratio is None else ratio / self.budget_ratio


@dataclass(frozen=True)
class PairStatus:
    window: BurnWindow
    factor: float
    threshold: float  # error ratio both windows must exceed
    short: WindowStatus
    long: WindowStatus

    @property
    def firing(self) -> bool:
        s, lg = self.short.error_ratio, self.long.error_ratio
        return s is not None and lg is not None and s > self.threshold and lg > self.threshold

    @property
    def can_fire(self) -> bool:
        return self.threshold < 1


@dataclass(frozen=True)
class AlertStatus:
    severity: str
    disabled: bool
    pairs: list[PairStatus]

    @property
    def firing(self) -> bool:
        return not self.disabled and any(p.firing for p in self.pairs)


@dataclass(frozen=True)
class SloReport:
    slo: SLO
    at: int
    budget: Budget
    windows: list[WindowStatus]
    alerts: list[AlertStatus]
    gaps: list[Any] = field(default_factory=list)

    def window(self, w: timedelta) -> WindowStatus:
        return next(s for s in self.windows if s.window == w)

    @property
    def current_burn_rate(self) -> float | None:
        return self.window(CURRENT_WINDOW).burn_rate

    @property
    def period_burn_rate(self) -> float | None:
        return self.budget.spent_ratio

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (times as Unix seconds, windows as `5m`)."""
        b = self.budget
        return {
            "slo": self.slo.id, "service": self.slo.service, "name": self.slo.name,
            "objective": self.slo.objective, "at": self.at,
            "period": {"start": b.period_start, "end": b.period_end,
                       "rolling": self.slo.period.rolling,
                       "length": format_duration(self.slo.period.length)},
            "sli": b.sli, "good": b.good, "total": b.total, "bad": b.bad,
            "budget": {
                "ratio": b.budget_ratio, "spent": b.spent_ratio, "remaining": b.remaining_ratio,
                "minutes": b.budget_minutes, "spent_minutes": b.spent_minutes,
                "remaining_minutes": b.remaining_minutes, "requests": b.allowed_bad,
                "remaining_requests": b.remaining_requests,
            },
            "coverage": b.coverage,
            "current_burn_rate": self.current_burn_rate,
            "period_burn_rate": self.period_burn_rate,
            "windows": [{"window": format_duration(w.window), "error_ratio": w.error_ratio,
                         "burn_rate": w.burn_rate, "complete": w.complete}
                        for w in self.windows],
            "alerts": [{"severity": a.severity, "firing": a.firing, "disabled": a.disabled,
                        "pairs": [{"short": format_duration(p.window.short),
                                   "long": format_duration(p.window.long),
                                   "factor": p.factor, "threshold": p.threshold,
                                   "firing": p.firing, "can_fire": p.can_fire}
                                  for p in a.pairs]}
                       for a in self.alerts],
            "gaps": [{"start": g.start, "end": g.end, "minutes": g.minutes} for g in self.gaps],
        }


def _window_status(series: MinuteSeries, prefix: Prefix, i: int, window: timedelta,
                   budget_ratio: float) -> WindowStatus:
    lo = max(0, i + 1 - minutes(window))
    return WindowStatus(
        window=window,
        bad=float(prefix.bad[i + 1] - prefix.bad[lo]),
        total=float(prefix.total[i + 1] - prefix.total[lo]),
        budget_ratio=budget_ratio,
        minutes_with_data=int(series.has_data[lo:i + 1].sum()),
    )


def report(slo: SLO, series: MinuteSeries, at: int, windows: AlertWindows) -> SloReport:
    """The SLO at instant `at` (a minute boundary within or at the end of the series)."""
    i = series.index_at(at)
    if not 0 <= i < len(series):
        raise ValueError(f"at: {at} is outside the data ({series.start} to {series.end})")
    prefix = Prefix.of_series(series)
    budget_ratio = require_budget(slo)
    durations = sorted({CURRENT_WINDOW, *windows.durations})
    statuses = {w: _window_status(series, prefix, i, w, budget_ratio) for w in durations}
    alerts = []
    for severity, rule in (("page", slo.alerting.page), ("ticket", slo.alerting.ticket)):
        pairs = [
            PairStatus(window=w, factor=burn_factor(w, windows.period),
                       threshold=threshold(w, windows.period, budget_ratio),
                       short=statuses[w.short], long=statuses[w.long])
            for w in windows.of(severity)  # type: ignore[arg-type]
        ]
        alerts.append(AlertStatus(severity, rule.disabled, pairs))
    budget = budget_at(series, at, slo.period, budget_ratio)
    first = max(0, (budget.period_start - series.start) // 60)
    return SloReport(slo=slo, at=at, budget=budget, windows=list(statuses.values()),
                     alerts=alerts, gaps=series.gaps(int(first), i))
