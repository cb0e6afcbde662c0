"""Timeslice budgeting: turn per-minute good/total into good and total *slices*.

- `timeslices`: a slice is good when its good/total reaches `slice_target` (a Threshold
  SLI's collector already writes good = 1 for a minute whose value met the bar, total = 1).
- `ratio_timeslices`: each slice counts with its own ratio, so the SLI is the mean of
  the slices' ratios.

Slices longer than a minute are spread evenly over their minutes, so every window of the
burn-rate math still works minute by minute. A slice with no events has no verdict and
is a gap.
"""

from __future__ import annotations

import numpy as np

from slo.model import SLO
from slo.series import MinuteSeries, minutes


def to_timeslices(series: MinuteSeries, slo: SLO) -> MinuteSeries:
    """The series the SLO's budget is computed on (itself for occurrence budgeting)."""
    if slo.budgeting == "occurrences" or slo.timeslices is None:
        return series
    k = minutes(slo.timeslices.window)
    n = len(series) // k * k
    good = series.good[:n].reshape(-1, k)
    total = series.total[:n].reshape(-1, k)
    slice_total = np.nansum(total, axis=1)
    has = ~np.all(np.isnan(total), axis=1) & (slice_total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has, np.nansum(good, axis=1) / slice_total, np.nan)
    if slo.budgeting == "ratio_timeslices":
        verdict = ratio
    else:
        target = slo.timeslices.slice_target if slo.timeslices.slice_target is not None else 1.0
        verdict = np.where(has, (ratio >= target).astype(float), np.nan)
    per_minute_good = np.repeat(verdict / k, k)
    per_minute_total = np.repeat(np.where(has, 1.0 / k, np.nan), k)
    return MinuteSeries(series.start, per_minute_good, per_minute_total)
