"""Minute rows roll up into hour rows; each resolution is kept as long as configured.

Only whole hours are rolled up, and rolling an hour again replaces its row, so a late
scrape or a backfill followed by another roll-up leaves the hour right. Minute rows are
rolled up before they expire, so expiry never loses what the hour rows should hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from services.store.series import KINDS, SeriesKind
from services.store.timeutil import HOUR, floor_to, to_epoch


def _insert(conn: Connection, table: object) -> object:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def _roll_kind(conn: Connection, kind: SeriesKind, start: int, end: int) -> int:
    minute = kind.minute.c
    hour_expr = (minute.minute // HOUR) * HOUR
    columns = [hour_expr.label("hour"), *(minute[k] for k in kind.keys)]
    columns += [func.sum(minute[c]).label(c) for c in kind.sums]
    columns += [func.avg(minute[c]).label(c) for c in kind.means]
    columns += [func.max(minute[src]).label(dst) for dst, src in kind.maxes.items()]
    if kind.count_col:
        columns.append(func.count().label(kind.count_col))
    query = (
        select(*columns)
        .where(minute.minute >= start, minute.minute < end)
        .group_by(literal_column("1"), *(minute[k] for k in kind.keys))
    )
    names = [c.name for c in columns]
    stmt = _insert(conn, kind.hour).from_select(names, query)
    updated = {n: getattr(stmt.excluded, n) for n in names if n not in ("hour", *kind.keys)}
    stmt = stmt.on_conflict_do_update(index_elements=["hour", *kind.keys], set_=updated)
    return conn.execute(stmt).rowcount or 0


def roll_up(conn: Connection, start: datetime, end: datetime) -> int:
    """Roll the whole hours in [start, end) up from minute rows; returns hour rows written."""
    first = floor_to(to_epoch(start), HOUR)
    last = floor_to(to_epoch(end), HOUR)
    if last <= first:
        return 0
    return sum(_roll_kind(conn, kind, first, last) for kind in KINDS)


@dataclass(frozen=True)
class RetentionResult:
    rolled_hours: int
    minute_rows_deleted: int
    hour_rows_deleted: int


def apply_retention(
    conn: Connection, *, now: datetime, minute_keep: timedelta, hour_keep: timedelta
) -> RetentionResult:
    """Roll up, then delete minute rows older than `minute_keep` and hours past `hour_keep`."""
    minute_cutoff = floor_to(to_epoch(now - minute_keep), HOUR)
    hour_cutoff = floor_to(to_epoch(now - hour_keep), HOUR)
    rolled = minute_deleted = hour_deleted = 0
    for kind in KINDS:
        oldest = conn.execute(select(func.min(kind.minute.c.minute))).scalar()
        if oldest is not None and oldest < minute_cutoff:
            rolled += _roll_kind(conn, kind, floor_to(oldest, HOUR), minute_cutoff)
        minute_deleted += conn.execute(
            delete(kind.minute).where(kind.minute.c.minute < minute_cutoff)
        ).rowcount or 0
        hour_deleted += conn.execute(
            delete(kind.hour).where(kind.hour.c.hour < hour_cutoff)
        ).rowcount or 0
    return RetentionResult(rolled, minute_deleted, hour_deleted)
