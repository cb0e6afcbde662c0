"""An SLO judged at one instant from the store: the engine's report on the period ending
there, what the API's SLO routes and the dashboard's SLO pages both show.

- `evaluate`: the period's stored minutes (sliced for timeslice budgets) reported at the
  end of the data, as `apollo slo report NAME --at AT` does.
- `summary_series`: the cheap series a list reports on (`slo_data.report_series`: the
  period's and every window's sums from the roll-ups; timeslice budgets read every minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from services.store.slo_data import report_series, stored_series
from slo.errors import SpecError
from slo.model import SLO
from slo.report import SloReport, report
from slo.series import MinuteSeries
from slo.timeslices import to_timeslices
from slo.windows import slo_windows


@dataclass
class Evaluation:
    """One SLO at one instant: the engine's report on the period ending there."""

    slo: SLO
    at: int
    report: SloReport | None = None
    series: MinuteSeries | None = None
    problem: str | None = None
    has_data: bool = False


def period_seconds(slo: SLO) -> int:
    return int(slo.period.length.total_seconds())


def summary_series(conn: Connection, slos: Sequence[SLO], at: int) -> dict[str, MinuteSeries]:
    """The series a list reports on, read cheaply: for occurrence budgets
    `slo_data.report_series` (short series holding the period's and every window's sums,
    from the roll-ups and the minutes at their edges, so budget, SLI and burn rates are
    those of `evaluate` on the minutes; which minutes had data is not known, so a list
    leaves `complete` out); timeslice budgets judge each slice on its minutes, so they
    read every minute."""
    sliced = {s.id for s in slos if s.budgeting != "occurrences" and s.timeslices is not None}
    out = {s.id: stored_series(conn, s.id, at - period_seconds(s), at)
           for s in slos if s.id in sliced}
    out.update(report_series(conn, [s for s in slos if s.id not in sliced], at))
    return out


def evaluate(conn: Connection, slo: SLO, at: int, series: MinuteSeries | None = None
             ) -> Evaluation:
    """`apollo slo report NAME --at AT`: the period's stored minutes, sliced for timeslice
    budgets, reported at the end of the data."""
    if series is None:
        series = stored_series(conn, slo.id, at - period_seconds(slo), at)
    if not series.has_data.any():
        return Evaluation(slo, at, problem="no minutes stored in the period (has it been "
                                           "collected?)")
    sliced = to_timeslices(series, slo)
    if not len(sliced):
        return Evaluation(slo, at, problem="the period is shorter than one slice",
                          has_data=True)
    try:
        result = report(slo, sliced, sliced.end, slo_windows(slo))
    except SpecError as exc:
        return Evaluation(slo, at, problem=exc.reason, has_data=True)
    return Evaluation(slo, sliced.end, result, sliced, has_data=True)
