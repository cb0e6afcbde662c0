"""Error ratios, burn rates and multiwindow multi-burn-rate decisions, for every minute.

Works on one series or on a stack of series (rows = SLOs), all through prefix sums:
each window costs one subtraction per minute, whatever its length. The decision is
Sloth's: a window pair fires when the error ratio over *both* its short and its long
window exceeds `factor × error budget` (strictly), and a severity fires when any of its
pairs does. A window with no events has no ratio (NaN) and never fires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from slo.series import MinuteSeries, cumulative, minutes, window_sums
from slo.windows import AlertWindows, BurnWindow, Severity, burn_factor


@dataclass(frozen=True)
class Prefix:
    """Prefix sums of bad and total events (rows × minutes+1), computed once per series."""

    bad: np.ndarray
    total: np.ndarray

    @classmethod
    def of(cls, bad: np.ndarray, total: np.ndarray) -> Prefix:
        return cls(cumulative(bad), cumulative(total))

    @classmethod
    def of_series(cls, series: MinuteSeries) -> Prefix:
        return cls.of(series.bad, series.totals)

    def sums(self, window: timedelta) -> tuple[np.ndarray, np.ndarray]:
        width = minutes(window)
        return window_sums(self.bad, width), window_sums(self.total, width)


def error_ratio(prefix: Prefix, window: timedelta) -> np.ndarray:
    """Bad / total over the window ending at each minute; NaN where the window saw nothing."""
    bad, total = prefix.sums(window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, bad / total, np.nan)


def error_ratios(prefix: Prefix, windows: Iterable[timedelta]) -> dict[timedelta, np.ndarray]:
    return {w: error_ratio(prefix, w) for w in windows}


def burn_rates(ratios: Mapping[timedelta, np.ndarray], budget_ratio: float
               ) -> dict[timedelta, np.ndarray]:
    """Error ratio in multiples of the error budget: 1 spends the budget exactly on time."""
    return {w: r / budget_ratio for w, r in ratios.items()}


def threshold(window: BurnWindow, period: timedelta, budget_ratio: float) -> float:
    """The error ratio a window pair must exceed, computed as Prometheus evaluates
    Sloth's `(factor * budget)`."""
    return burn_factor(window, period) * budget_ratio


def pair_fires(ratios: Mapping[timedelta, np.ndarray], window: BurnWindow, period: timedelta,
               budget_ratio: float) -> np.ndarray:
    """Whether one (short, long) pair fires at each minute."""
    limit = threshold(window, period, budget_ratio)
    with np.errstate(invalid="ignore"):
        return (ratios[window.short] > limit) & (ratios[window.long] > limit)


@dataclass(frozen=True)
class Decisions:
    """Per minute: each window pair's verdict and each severity's."""

    pairs: dict[BurnWindow, np.ndarray]
    severities: dict[Severity, np.ndarray]


def decide(ratios: Mapping[timedelta, np.ndarray], windows: AlertWindows, budget_ratio: float,
           *, disabled: Iterable[Severity] = ()) -> Decisions:
    """The multiwindow multi-burn-rate decision for every minute (and row)."""
    off = set(disabled)
    pairs = {w: pair_fires(ratios, w, windows.period, budget_ratio) for w in windows.windows}
    severities: dict[Severity, np.ndarray] = {}
    for severity in ("page", "ticket"):
        verdicts = [v for w, v in pairs.items() if w.severity == severity]
        fired = np.logical_or.reduce(verdicts) if verdicts else None
        if fired is not None and severity in off:
            fired = np.zeros_like(fired)
        if fired is not None:
            severities[severity] = fired
    return Decisions(pairs, severities)


def never_fires(windows: AlertWindows, budget_ratio: float) -> list[BurnWindow]:
    """Pairs whose threshold is an error ratio of 1 or more: no traffic can reach it
    (a 90% objective paging at 14.4 needs 144% of requests to fail)."""
    return [w for w in windows.windows if threshold(w, windows.period, budget_ratio) >= 1]
