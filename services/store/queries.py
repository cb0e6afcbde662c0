"""Reading series back as DataFrames, at minute or hour resolution.

Hour resolution reads the rolled-up hour rows and, for hours not rolled up yet (the
current one, or a backfill not yet rolled), aggregates the minute rows on the fly, so a
chart never shows a hole just because the roll-up has not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import pandas as pd
from sqlalchemy import Connection, func, select

from services.store.series import LATENCY, SERVICE, SLI, SeriesKind
from services.store.timeutil import HOUR, MINUTE, epoch_index, floor_to, to_epoch

Resolution = Literal["minute", "hour"]


def _frame(conn: Connection, query: object, columns: list[str]) -> pd.DataFrame:
    # Plain tuples: pandas probes each record for `dtype`, which costs a SQLAlchemy Row two
    # exceptions; 4.3M rows read in 10 s instead of 26 s.
    rows = [tuple(row) for row in conn.execute(query)]  # type: ignore[call-overload]
    return pd.DataFrame.from_records(rows, columns=columns)


def _hour_columns(kind: SeriesKind) -> list[str]:
    return [*kind.values, *kind.maxes, *([kind.count_col] if kind.count_col else [])]


def _read(
    conn: Connection, kind: SeriesKind, start: datetime, end: datetime,
    resolution: Resolution, slugs: Sequence[str] | None,
) -> pd.DataFrame:
    catalog = kind.catalog.c
    step = MINUTE if resolution == "minute" else HOUR
    lo, hi = floor_to(to_epoch(start), step), to_epoch(end)
    filters = [] if slugs is None else [catalog.slug.in_(list(slugs))]

    if resolution == "minute":
        table = kind.minute
        value_cols = list(kind.values)
        query = (
            select(table.c.minute, catalog.slug, *(table.c[k] for k in kind.extra_keys),
                   *(table.c[v] for v in value_cols))
            .join(kind.catalog, catalog.id == table.c[kind.series_col])
            .where(table.c.minute >= lo, table.c.minute < hi, *filters)
            .order_by(table.c.minute, catalog.slug)
        )
        frame = _frame(conn, query, ["ts", kind.label, *kind.extra_keys, *value_cols])
    else:
        frame = _read_hours(conn, kind, lo, hi, filters)
    frame["ts"] = epoch_index(frame["ts"]) if len(frame) else pd.Series(dtype="datetime64[ns, UTC]")
    return frame.reset_index(drop=True)


def _read_hours(
    conn: Connection, kind: SeriesKind, lo: int, hi: int, filters: list[object]
) -> pd.DataFrame:
    catalog = kind.catalog.c
    hour_cols = _hour_columns(kind)
    names = ["ts", kind.label, *kind.extra_keys, *hour_cols]
    hours, minutes = kind.hour, kind.minute
    stored = _frame(conn, (
        select(hours.c.hour, catalog.slug, *(hours.c[k] for k in kind.extra_keys),
               *(hours.c[c] for c in hour_cols))
        .join(kind.catalog, catalog.id == hours.c[kind.series_col])
        .where(hours.c.hour >= lo, hours.c.hour < hi, *filters)
    ), names)

    hour_expr = ((minutes.c.minute // HOUR) * HOUR).label("hour")
    aggregates = [func.sum(minutes.c[c]) for c in kind.sums]
    aggregates += [func.avg(minutes.c[c]) for c in kind.means]
    aggregates += [func.max(minutes.c[src]) for src in kind.maxes.values()]
    if kind.count_col:
        aggregates.append(func.count())
    live = _frame(conn, (
        select(hour_expr, catalog.slug, *(minutes.c[k] for k in kind.extra_keys), *aggregates)
        .join(kind.catalog, catalog.id == minutes.c[kind.series_col])
        .where(minutes.c.minute >= lo, minutes.c.minute < hi, *filters)
        .group_by(hour_expr, catalog.slug, *(minutes.c[k] for k in kind.extra_keys))
    ), names)

    key = ["ts", kind.label, *kind.extra_keys]
    if len(stored) and len(live):
        seen = pd.MultiIndex.from_frame(stored[["ts", kind.label]])
        live = live[~pd.MultiIndex.from_frame(live[["ts", kind.label]]).isin(seen)]
    parts = [part for part in (stored, live) if len(part)]
    if not parts:
        return stored
    return pd.concat(parts, ignore_index=True).sort_values(key)


def service_metrics(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per service and interval: requests, errors, latency sum/count, CPU and memory."""
    return _read(conn, SERVICE, start, end, resolution, services)


def latency_buckets(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per service, interval and bucket bound `le` (seconds): the bucket's increase."""
    return _read(conn, LATENCY, start, end, resolution, services)


def sli(
    conn: Connection, start: datetime, end: datetime, *,
    resolution: Resolution = "minute", slos: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per SLO and interval: good and total events."""
    return _read(conn, SLI, start, end, resolution, slos)
