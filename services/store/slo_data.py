"""An SLO's stored events as the SLO engine's input, and sums of them over intervals.

- `stored_series`: good and total per minute, summed over instances, with the minutes
  nothing reported left as gaps (NaN), never as zeros: what `apollo slo report NAME` and
  the API's SLO detail compute on. One SLO's rows are read through the minute table's
  (slo, minute) index, so they come as one run, not spread among every SLO's.
- `interval_sums`: the events of several SLOs in intervals (a period, the alert windows)
  from the store's roll-ups: whole hours from the hour rows, 5-minute blocks beside them,
  minutes at the very edges, and minutes wherever the roll-ups do not reach yet. One
  aggregating query per resolution for every SLO and interval asked, so a 30-day period
  returns one row per interval, not one per hour. The sums equal the minutes' (roll-up
  rows are minute sums) up to float summation order.
- `period_sums` (the budget periods of `slo.budget.period_bounds`) and `report_series`
  (a series the SLO report gives the minutes' period and window sums on) build on it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import numpy as np
from sqlalchemy import BigInteger, Connection, and_, case, cast, func, literal, or_, select

from services.store import queries
from services.store.catalog import slo_ids
from services.store.fetch import fetch_columns
from services.store.series import MINUTES, SLI, Resolution
from services.store.timeutil import FIVE_MINUTES, HOUR, MINUTE, ceil_to, floor_to
from slo.budget import period_bounds
from slo.errors import SpecError
from slo.model import SLO
from slo.report import CURRENT_WINDOW
from slo.series import MINUTE_S, MinuteSeries
from slo.windows import slo_windows

MINUTE_TABLE = SLI.minute


# --- one SLO minute by minute ---------------------------------------------------------------


def stored_series(conn: Connection, slug: str, start: int, end: int) -> MinuteSeries:
    """Minutes [start, end) (Unix seconds, whole minutes) of the SLO `slug`: per minute
    the sums over the instances that reported it (in the order the rows come)."""
    if start % MINUTE_S or end % MINUTE_S or end <= start:
        raise ValueError(f"expected whole minutes with start < end, got [{start}, {end})")
    n = (end - start) // MINUTE_S
    good, total = np.full(n, np.nan), np.full(n, np.nan)
    found = slo_ids(conn, [slug]).get(slug)
    if found is None:
        return MinuteSeries(start, good, total)
    c = MINUTE_TABLE.c
    rows = fetch_columns(conn, select(cast(c.minute, BigInteger).label("minute"), c.good,
                                      c.total)
                         .where(c.slo_id == found, c.minute >= start, c.minute < end),
                         ("minute",))
    at = (rows["minute"] - start) // MINUTE_S
    seen = np.bincount(at, minlength=n) > 0
    good[seen] = np.bincount(at, weights=rows["good"], minlength=n)[seen]
    total[seen] = np.bincount(at, weights=rows["total"], minlength=n)[seen]
    return MinuteSeries(start, good, total)


# --- sums over intervals, from the roll-ups -------------------------------------------------


@dataclass(frozen=True)
class Sums:
    """Events of one SLO in an interval, summed over its minutes and instances."""

    good: float = 0.0
    total: float = 0.0
    rows: int = 0  # minute rows behind them (one per instance and minute); 0: no data

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.good + other.good, self.total + other.total, self.rows + other.rows)

    @property
    def bad(self) -> float:
        return self.total - self.good


_LEVELS: tuple[tuple[int, Resolution], ...] = ((HOUR, "hour"), (FIVE_MINUTES, "5m"),
                                               (MINUTE, "minute"))


def pieces(start: int, end: int, level: int = 0) -> list[tuple[int, int, Resolution]]:
    """[start, end) as the fewest reads: whole hours (roll-ups) in the middle, 5-minute
    blocks beside them, minutes at the very edges. 5-minute rows are kept as long as hours,
    so once the period's first minutes outlived minute retention only the minutes before
    its first whole 5-minute block are missed (at most 4 of a 30-day period's 43,200)."""
    step, resolution = _LEVELS[level]
    if step == MINUTE:
        return [(start, end, resolution)] if start < end else []
    lo, hi = ceil_to(start, step), floor_to(end, step)
    if hi <= lo:
        return pieces(start, end, level + 1)
    return [*pieces(start, lo, level + 1), (lo, hi, resolution), *pieces(hi, end, level + 1)]


@dataclass(frozen=True)
class _Piece:
    slug: str
    interval: int  # which of the SLO's intervals it adds to
    lo: int
    hi: int
    resolution: Resolution


def _plan(cuts: Mapping[str, Sequence[int]]) -> list[_Piece]:
    plan = []
    for slug, points in cuts.items():
        if any(p % MINUTE_S for p in points) or any(b <= a for a, b in pairwise(points)):
            raise ValueError(f"{slug}: expected ascending whole minutes, got {list(points)}")
        for j, (a, b) in enumerate(pairwise(points)):
            plan += [_Piece(slug, j, lo, hi, r) for lo, hi, r in pieces(a, b)]
    return plan


def _within_rollups(conn: Connection, plan: list[_Piece]) -> list[_Piece]:
    """The plan with what lies past the roll-ups of each resolution (the hour still
    filling, minutes written behind the last roll-up) read from the minutes instead, as
    `queries.sli` reads it."""
    out = [p for p in plan if p.resolution == "minute"]
    for resolution in ("hour", "5m"):
        mine = [p for p in plan if p.resolution == resolution]
        if not mine:
            continue
        split = queries.sli_rolled_until(conn, resolution, min(p.lo for p in mine),
                                         max(p.hi for p in mine))
        for p in mine:
            if p.lo < min(p.hi, split):
                out.append(_Piece(p.slug, p.interval, p.lo, min(p.hi, split), resolution))
            if max(p.lo, split) < p.hi:
                out.append(_Piece(p.slug, p.interval, max(p.lo, split), p.hi, "minute"))
    return out


def _segment_sums(conn: Connection, resolution: Resolution, plan: list[_Piece],
                  ids: Mapping[str, int]) -> tuple[list[int], dict[tuple[int, int], Sums]]:
    """One query: per SLO and segment between the plan's edges, the sums of the rows of
    `resolution` the plan's pieces cover."""
    level = SLI.level(resolution)
    table = level.table
    t = table.c[level.time]
    edges = sorted({p.lo for p in plan} | {p.hi for p in plan})
    ranges: dict[tuple[int, int], set[int]] = {}
    for p in plan:
        ranges.setdefault((p.lo, p.hi), set()).add(ids[p.slug])
    keys = [table.c.slo_id]
    if len(edges) > 2:  # which segment a row falls in: the first edge after it
        segment = case(*((t < e, i) for i, e in enumerate(edges[1:-1])), else_=len(edges) - 2)
        keys.append(segment)
    else:
        segment = literal(0)
    rows = func.count() if resolution == "minute" else func.sum(table.c[MINUTES])
    query = (select(cast(table.c.slo_id, BigInteger).label("series"),
                    cast(segment, BigInteger).label("segment"),
                    func.sum(table.c.good).label("good"), func.sum(table.c.total).label("total"),
                    cast(rows, BigInteger).label("rows"))
             .where(or_(*(and_(t >= lo, t < hi, table.c.slo_id.in_(sorted(members)))
                          for (lo, hi), members in sorted(ranges.items()))))
             .group_by(*keys))
    got = fetch_columns(conn, query, ("series", "segment", "rows"))
    sums = {(int(s), int(j)): Sums(float(g), float(tot), int(r)) for s, j, g, tot, r in zip(
        got["series"], got["segment"], got["good"], got["total"], got["rows"], strict=True)}
    return edges, sums


def interval_sums(conn: Connection, cuts: Mapping[str, Sequence[int]]
                  ) -> dict[str, list[Sums]]:
    """Per SLO slug, the events in each interval between consecutive `cuts` (ascending
    Unix seconds on whole minutes): [c0, c1), [c1, c2), … summed over minutes and
    instances, from the hour and 5-minute roll-ups where they are whole and from the
    minutes elsewhere (`pieces`), at most one query per resolution for every SLO. An SLO
    the store does not know has only empty sums."""
    ids = slo_ids(conn, cuts)
    out = {slug: [Sums()] * max(0, len(points) - 1) for slug, points in cuts.items()}
    plan = _within_rollups(conn, [p for p in _plan(cuts) if p.slug in ids])
    for resolution in ("hour", "5m", "minute"):
        mine = [p for p in plan if p.resolution == resolution]
        if not mine:
            continue
        edges, sums = _segment_sums(conn, resolution, mine, ids)
        for p in mine:
            sid, total = ids[p.slug], out[p.slug][p.interval]
            for j in range(bisect_left(edges, p.lo), bisect_left(edges, p.hi)):
                total = total + sums.get((sid, j), Sums())
            out[p.slug][p.interval] = total
    return out


def period_sums(conn: Connection, slos: Iterable[SLO], at: int) -> dict[str, tuple[int, Sums]]:
    """SLO id -> (period start, its events in [period start, at)), over the period
    `slo.budget.period_bounds` gives at `at` (a whole minute)."""
    starts = {slo.id: period_bounds(at, slo.period)[0] for slo in slos}
    sums = interval_sums(conn, {slug: [start, at] for slug, start in starts.items()
                                if start < at})
    return {slug: (start, sums[slug][0] if slug in sums else Sums())
            for slug, start in starts.items()}


def window_lengths(slo: SLO) -> set[timedelta]:
    """The windows the SLO report sums at its instant: the current one (5m) and every
    alert window (none when the SLO's period has no alert windows)."""
    lengths = {CURRENT_WINDOW}
    with suppress(SpecError):
        lengths.update(slo_windows(slo).durations)
    return lengths


def report_series(conn: Connection, slos: Sequence[SLO], at: int) -> dict[str, MinuteSeries]:
    """Per SLO, a short series ending at `at` on which `slo.report.report(slo, series, at,
    …)` takes the same budget and window sums as on the stored minutes of [at - period
    length, at), from `interval_sums`.

    The instants where that range, the budget period and each window begin cut it into
    intervals. The series starts one minute before the second cut: its first minute holds
    the first interval's sums, and each later interval's sums sit on its last minute (NaN
    when no minute of the interval had data). Every window and the period then begin on a
    cut, as many minutes before `at` as on the minutes, or at or before the series' start
    where the report clips them to it, so the report adds up exactly the intervals it adds
    up on the minutes: over the longest window plus one minute (3 days for 30-day windows)
    instead of the whole period. Only those sums and whether any minute had data are the
    minutes' own: minute counts (coverage, `complete`) and gaps are not. For occurrence
    budgets only: timeslice budgets judge each slice on its minutes."""
    cuts: dict[str, list[int]] = {}
    for slo in slos:
        first = at - int(slo.period.length.total_seconds())
        starts = {period_bounds(at, slo.period)[0],
                  *(at - int(w.total_seconds()) for w in window_lengths(slo))}
        cuts[slo.id] = sorted({first, at, *(s for s in starts if first < s < at)})
    sums = interval_sums(conn, cuts)
    out = {}
    for slo in slos:
        points = cuts[slo.id]
        start = points[1] - MINUTE_S  # cuts are whole minutes apart: start >= points[0]
        n = (at - start) // MINUTE_S
        good, total = np.full(n, np.nan), np.full(n, np.nan)
        for end, part in zip(points[1:], sums[slo.id], strict=True):
            if part.rows:
                good[(end - start) // MINUTE_S - 1] = part.good
                total[(end - start) // MINUTE_S - 1] = part.total
        out[slo.id] = MinuteSeries(start, good, total)
    return out


def budgets_left(conn: Connection, slos: Sequence[SLO], at: int
               ) -> dict[str, tuple[int, float | None]]:
    """SLO id -> (period start, error budget left at `at`): 1 - bad / (total × budget) over
    the period `slo.budget.period_bounds` gives (as `budget_at` computes it from the
    minutes), from the store's period sums (`slo_data.period_sums`: roll-ups and the
    minutes at the edges); None without events."""
    periods = period_sums(conn, slos, at)
    out: dict[str, tuple[int, float | None]] = {}
    for slo in slos:
        start, sums = periods[slo.id]
        ratio = slo.error_budget_ratio
        left = (1 - sums.bad / (sums.total * ratio) if sums.total > 0 and ratio > 0
                else None)
        out[slo.id] = (start, left)
    return out
