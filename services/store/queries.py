"""Reading series back as DataFrames, at minute, 5-minute or hour resolution.

Rows are summed across instances in SQL (gauges averaged), so a service with two pods
reads as one series, and the result comes back as numpy columns (`fetch`), not as one
Python object per value. Each interval says how many instances reported it
(`instances`) and whether it is `partial`: it had fewer instance-minutes than the series
usually has (the most instances that reported any one interval of the range, whole
instances, times the interval's minutes). So a minute where one of two pods was missed
reads `instances` 1 and `partial` True, never silently low. The most rather than the
distinct instances seen: a pod replaced by a new one (a new address) is then not taken
for one missing. A rollout with surge, or a scale-down, still marks the intervals with
fewer pods than the most seen.

5-minute and hour reads take the roll-up rows up to the newest rolled interval in the
range and aggregate the minute rows after it on the fly (the same roll-up SELECT), from
earlier when minute rows were written behind it since the last roll-up (`rollup` marks
them), so a read always equals the minute sums, rolled up or not. 5-minute reads are
exact sums of the minutes for windows that are whole multiples of 5 minutes.

Series can be picked by slug and by labels (`team`, `environment`, `tier`, `service`,
`slo`, the specs' own; see `catalog.matching_series`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Connection, FromClause, Select, cast, func, select

from services.store.catalog import matching_series
from services.store.fetch import fetch_columns, nan_for_null
from services.store.rollup import oldest_mark, rolled_select
from services.store.series import (
    LATENCY,
    MINUTES,
    SERVICE,
    SLI,
    STEPS,
    Level,
    Resolution,
    SeriesKind,
)
from services.store.timeutil import MINUTE, epoch_index, floor_to, to_epoch

__all__ = ["Resolution", "latency_buckets", "service_metrics", "sli", "sli_rolled_until"]
_COUNTS = ("ts", "series", MINUTES, "instances")  # int64 columns of every read


def _aggregate(conn: Connection, kind: SeriesKind, level: Level, rows: FromClause,
               ids: Sequence[int] | None) -> Select:
    """Per interval and series (and extra key): `rows` (minute or roll-up rows, one per
    instance) summed across instances, in key order."""
    c = rows.c
    rolled = level.step != MINUTE
    keys = [cast(c[level.time], BigInteger).label("ts"),
            cast(c[kind.series_col], BigInteger).label("series"),
            *(c[k] for k in kind.extra_keys)]
    values = [func.sum(c[v]).label(v) for v in kind.sums]
    values += [nan_for_null(conn, func.avg(c[v])).label(v) for v in kind.means]
    if rolled:
        values += [nan_for_null(conn, func.max(c[m])).label(m) for m in kind.maxes]
        values.append(cast(func.sum(c[MINUTES]), BigInteger).label(MINUTES))  # not numeric
    values.append(func.count().label("instances"))
    query = select(*keys, *values)
    if ids is not None:
        query = query.where(c[kind.series_col].in_(ids))
    group = [c[level.time], c[kind.series_col], *(c[k] for k in kind.extra_keys)]
    return query.group_by(*group).order_by(*group)


def _stored_until(conn: Connection, kind: SeriesKind, level: Level, lo: int, hi: int) -> int:
    """Where roll-up rows stop being whole: the end of the newest rolled interval in
    [lo, hi), or the interval of the oldest minute written since (a mark), or `lo`."""
    column = level.table.c[level.time]
    newest = conn.execute(select(func.max(column)).where(column >= lo, column < hi)).scalar()
    until = lo if newest is None else int(newest) + level.step
    mark = oldest_mark(conn, kind)
    return until if mark is None else max(lo, min(until, floor_to(int(mark), level.step)))


def _columns(conn: Connection, kind: SeriesKind, resolution: Resolution, lo: int, hi: int,
             ids: Sequence[int] | None) -> dict[str, np.ndarray]:
    level = kind.level(resolution)
    if resolution == "minute":
        table = kind.minute.alias("m")
        stored = table.select().where(table.c.minute >= lo, table.c.minute < hi).subquery()
        return fetch_columns(conn, _aggregate(conn, kind, level, stored, ids), _COUNTS)
    split = _stored_until(conn, kind, level, lo, hi)
    table = level.table
    stored = table.select().where(table.c[level.time] >= lo,
                                  table.c[level.time] < split).subquery()
    live = rolled_select(kind, level, split, hi).subquery()
    parts = [fetch_columns(conn, _aggregate(conn, kind, level, rows, ids), _COUNTS)
             for rows in (stored, live)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _partial(series: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """True where an interval's coverage (instance-minutes per minute: the instances that
    reported a minute) is below the most its series shows in the range, rounded to whole
    instances (a pod replaced mid-interval covers it as one)."""
    most = np.zeros(int(series.max(initial=0)) + 1)
    np.maximum.at(most, series, coverage)
    return coverage < np.round(most[series])


def _order(columns: dict[str, np.ndarray], rank: np.ndarray, extra: Sequence[str]
           ) -> np.ndarray | None:
    """Row order by (time, slug, extra keys), or None when the SQL's (time, id) order is it."""
    ts = columns["ts"]
    if not ((np.diff(ts) == 0) & (np.diff(rank) < 0)).any():
        return None
    return np.lexsort([*(columns[k] for k in reversed(extra)), rank, ts])


def _frame(kind: SeriesKind, resolution: Resolution, columns: dict[str, np.ndarray],
           names: Mapping[int, str]) -> pd.DataFrame:
    ids = sorted(names, key=names.__getitem__)  # by slug
    slug_of = np.empty(max(names) + 1, dtype=object)
    slug_of[ids] = [names[i] for i in ids]
    rank_of = np.zeros(max(names) + 1, dtype=np.int64)
    rank_of[ids] = np.arange(len(ids))
    order = _order(columns, rank_of[columns["series"]], kind.extra_keys)
    if order is not None:
        columns = {k: v[order] for k, v in columns.items()}
    slugs = slug_of[columns["series"]]
    rolled = resolution != "minute"
    coverage = (columns[MINUTES] / (STEPS[resolution] // MINUTE) if rolled
                else columns["instances"].astype(float))
    out = {"ts": epoch_index(pd.Series(columns["ts"])), kind.label: slugs}
    out.update({k: columns[k] for k in kind.extra_keys})
    out.update({v: columns[v] for v in kind.values})
    if rolled:
        out.update({m: columns[m] for m in kind.maxes})
        out[MINUTES] = columns[MINUTES]
    out["instances"] = columns["instances"]
    out["partial"] = _partial(columns["series"], coverage)
    return pd.DataFrame(out)


def _read(conn: Connection, kind: SeriesKind, start: datetime, end: datetime,
          resolution: Resolution, slugs: Sequence[str] | None,
          labels: Mapping[str, str] | None) -> pd.DataFrame:
    step = kind.level(resolution).step  # refuses an unknown resolution
    names = matching_series(conn, kind.label, slugs=slugs, labels=labels)
    if not names:
        empty = {n: np.zeros(0, dtype=np.int64 if n in _COUNTS else np.float64)
                 for n in (*_COUNTS, *kind.extra_keys, *kind.values, *kind.maxes)}
        return _frame(kind, resolution, empty, {0: ""})
    ids = None if slugs is None and not labels else sorted(names)
    lo, hi = floor_to(to_epoch(start), step), to_epoch(end)
    return _frame(kind, resolution, _columns(conn, kind, resolution, lo, hi, ids), names)


def service_metrics(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", services: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per service and interval: requests, errors, latency sum/count (summed over
    instances), CPU and memory (averaged), `instances`, `partial`; roll-ups add
    cpu_max, memory_max and `minutes` (instance-minutes behind the interval)."""
    return _read(conn, SERVICE, start, end, resolution, services, labels)


def latency_buckets(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", services: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per service, interval and bucket bound `le` (seconds): the bucket's increase."""
    return _read(conn, LATENCY, start, end, resolution, services, labels)


def sli(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", slos: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per SLO and interval: good and total events (summed over instances)."""
    return _read(conn, SLI, start, end, resolution, slos, labels)



def sli_rolled_until(conn: Connection, resolution: Resolution, start: int, end: int) -> int:
    """Where the SLI roll-up rows of `resolution` ("5m" or "hour") stop being whole in
    [start, end) (Unix seconds): the end of the newest rolled interval there, or earlier
    where minutes were written behind the last roll-up, or `start`. A read of the range
    takes roll-up rows before it and the minutes from it on, as `sli` does."""
    return _stored_until(conn, SLI, SLI.level(resolution), start, end)
