"""Error budgets over the SLO's period, rolling or calendar-aligned.

The budget is the share of events allowed to be bad, `(100 - objective) / 100`. Spent is
the share of that allowance used by the period's bad events, so remaining = 1 - bad /
(total × budget) (negative once overspent). It is also given in requests and in minutes:
a minute of budget is a minute of complete outage the period could absorb
(period minutes × budget ratio: 43.2 minutes for 99.9% over 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from slo.burn import Prefix
from slo.errors import SpecError
from slo.model import SLO, Period
from slo.series import MINUTE_S, MinuteSeries, minutes, window_sums


@dataclass(frozen=True)
class Budget:
    period_start: int  # Unix seconds
    period_end: int  # end of the rolling window, or of the calendar period
    good: float
    total: float
    budget_ratio: float
    period_minutes: int
    minutes_with_data: int
    minutes_elapsed: int

    @property
    def bad(self) -> float:
        return self.total - self.good

    @property
    def sli(self) -> float | None:
        return self.good / self.total if self.total > 0 else None

    @property
    def allowed_bad(self) -> float:
        """The budget in requests: bad events the period may have so far."""
        return self.total * self.budget_ratio

    @property
    def spent_ratio(self) -> float | None:
        return self.bad / self.allowed_bad if self.allowed_bad > 0 else None

    @property
    def remaining_ratio(self) -> float | None:
        spent = self.spent_ratio
        return None if spent is None else 1 - spent

    @property
    def remaining_requests(self) -> float:
        return self.allowed_bad - self.bad

    @property
    def budget_minutes(self) -> float:
        return self.period_minutes * self.budget_ratio

    @property
    def spent_minutes(self) -> float | None:
        spent = self.spent_ratio
        return None if spent is None else spent * self.budget_minutes

    @property
    def remaining_minutes(self) -> float | None:
        spent = self.spent_minutes
        return None if spent is None else self.budget_minutes - spent

    @property
    def coverage(self) -> float:
        """Share of the elapsed period's minutes that have data."""
        return self.minutes_with_data / self.minutes_elapsed if self.minutes_elapsed else 0.0


def require_budget(slo: SLO) -> float:
    """The SLO's error budget ratio; an objective of 100% (which Sloth accepts) has none,
    and every burn rate would divide by zero."""
    if slo.error_budget_ratio <= 0:
        raise SpecError("an objective of 100% leaves no error budget to report on",
                        path=slo.source.path, line=slo.source.line, field="objective")
    return slo.error_budget_ratio


_CALENDAR_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def calendar_start(t: int, period: Period) -> int:
    """Start (Unix seconds) of the calendar period holding instant `t`."""
    zone = ZoneInfo(period.timezone)
    local = datetime.fromtimestamp(t, zone)
    unit = period.calendar_unit or "month"
    if unit == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "week":  # ISO weeks start on Monday
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
    else:
        months = _CALENDAR_MONTHS[unit]
        month0 = (local.month - 1) // months * months + 1
        start = local.replace(month=month0, day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(datetime(start.year, start.month, start.day, tzinfo=zone).timestamp())


def calendar_end(start: int, period: Period) -> int:
    zone = ZoneInfo(period.timezone)
    local = datetime.fromtimestamp(start, zone)
    unit = period.calendar_unit or "month"
    if unit == "day":
        nxt = local + timedelta(days=1)
    elif unit == "week":
        nxt = local + timedelta(days=7)
    else:
        months = local.month - 1 + _CALENDAR_MONTHS[unit]
        nxt = local.replace(year=local.year + months // 12, month=months % 12 + 1)
    return int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp())


def period_bounds(t: int, period: Period) -> tuple[int, int]:
    """(start, end) of the period evaluated at instant `t`."""
    if period.rolling:
        return t - int(period.length.total_seconds()), t
    start = calendar_start(t - 1, period)
    return start, calendar_end(start, period)


def budget_at(series: MinuteSeries, t: int, period: Period, budget_ratio: float) -> Budget:
    """The budget at instant `t` (a minute boundary) from the minutes of its period."""
    start, end = period_bounds(t, period)
    lo = max(0, (start - series.start) // MINUTE_S)
    hi = max(lo, min(len(series), (t - series.start) // MINUTE_S))
    has = series.has_data[lo:hi]
    return Budget(
        period_start=start, period_end=end,
        good=float(np.nansum(np.where(has, series.good[lo:hi], 0.0))),
        total=float(series.totals[lo:hi].sum()),
        budget_ratio=budget_ratio,
        period_minutes=(end - start) // MINUTE_S,
        minutes_with_data=int(has.sum()),
        minutes_elapsed=(t - start) // MINUTE_S,
    )


def rolling_remaining(prefix: Prefix, period: timedelta, budget_ratio: float) -> np.ndarray:
    """Budget remaining (1 - bad / allowed) at every minute of a rolling period, per row."""
    width = minutes(period)
    bad, total = window_sums(prefix.bad, width), window_sums(prefix.total, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 1 - bad / (total * budget_ratio), np.nan)
