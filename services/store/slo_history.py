"""An SLO's history on a step grid: per interval its SLI and burn rate, and the error
budget left at the interval's end over the period ending there (rolling or calendar).

The one home of what the API's `/slos/{id}/history` answers and the dashboard's budget
charts draw: both read the same (sliced) stored minutes through `history_points`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection

from services.store.slo_data import stored_series
from slo.budget import period_bounds, require_budget
from slo.burn import Prefix
from slo.errors import SpecError
from slo.model import SLO
from slo.series import MINUTE_S, minutes
from slo.timeslices import to_timeslices


@dataclass(frozen=True)
class HistoryPoint:
    """One interval [ts, ts + step): None where the interval (or the period) had no events."""

    ts: int
    good: float | None
    total: float | None
    sli: float | None
    burn_rate: float | None
    budget_remaining: float | None
    minutes_with_data: int


def history_points(conn: Connection, slo: SLO, start: int, end: int, step: int
                   ) -> list[HistoryPoint]:
    """Intervals [start + step·j, + step) of the SLO's (sliced) minutes, with the budget
    `budget_at` gives at each interval's end."""
    ends = np.arange(start + step, end + 1, step, dtype=np.int64)
    length = int(slo.period.length.total_seconds())
    if slo.period.rolling:
        period_starts = ends - length
    else:
        period_starts = np.asarray([period_bounds(int(t), slo.period)[0] for t in ends],
                                   dtype=np.int64)
    slice_s = MINUTE_S * (minutes(slo.timeslices.window) if slo.timeslices else 1)
    first = int(min(start, int(period_starts.min())))
    first -= first % slice_s
    last = -(-end // slice_s) * slice_s
    sliced = to_timeslices(stored_series(conn, slo.id, first, last), slo)
    n = len(sliced)
    prefix = Prefix.of_series(sliced)
    with_data = np.concatenate(([0], np.cumsum(sliced.has_data)))

    def index(t: np.ndarray) -> np.ndarray:
        return np.clip((t - sliced.start) // MINUTE_S, 0, n)

    lo, hi = index(ends - step), index(ends)
    bad = prefix.bad[hi] - prefix.bad[lo]
    total = prefix.total[hi] - prefix.total[lo]
    counted = with_data[hi] - with_data[lo]
    p_lo = index(period_starts)
    p_bad = prefix.bad[hi] - prefix.bad[p_lo]
    p_total = prefix.total[hi] - prefix.total[p_lo]
    try:
        ratio: float | None = require_budget(slo)
    except SpecError:
        ratio = None
    out = []
    for j in range(len(ends)):
        has = counted[j] > 0
        tot = float(total[j])
        out.append(HistoryPoint(
            ts=int(ends[j]) - step,
            good=tot - float(bad[j]) if has else None, total=tot if has else None,
            sli=(tot - float(bad[j])) / tot if tot > 0 else None,
            burn_rate=float(bad[j]) / tot / ratio if tot > 0 and ratio else None,
            budget_remaining=1 - float(p_bad[j]) / (float(p_total[j]) * ratio)
            if p_total[j] > 0 and ratio else None,
            minutes_with_data=int(counted[j])))
    return out
