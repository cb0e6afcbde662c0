"""Minute rows roll up into 5-minute and hour rows; each resolution is kept as configured.

Roll-up rows stay per instance (one row per interval, series and instance: the instance's
minutes summed, its gauges averaged, their maxima and the count of minute rows kept), so
rolling is the same SELECT for every kind and reads aggregate across instances at every
resolution alike. Rolling an interval again replaces its rows, so a late scrape or a
backfill followed by another roll-up leaves the interval right.

Reads take the roll-up rows up to the newest rolled interval and aggregate the minute rows
after it on the fly (see `queries`). Minutes written behind that point (a backfill, the
demo fleet's history, a store outage's retried rows) would be missed, so every write of
minute rows leaves a mark of the minutes it wrote (`mark_written`, called by `writes`):
reads aggregate on the fly from the oldest mark on, and `roll_up` rolls from there and
clears what it covered (a mark reaching past it is cut to the rest). Whoever writes,
reads stay equal to the minute sums; the roll-up only makes them cheaper. Minute rows are
rolled up before they expire, so expiry never loses what the roll-up rows should hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, Table, case, delete, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from services.store.models import RollupMark
from services.store.partitions import drop_days, expiring_days
from services.store.series import KINDS, MINUTES, ROLLED, Level, Resolution, SeriesKind
from services.store.timeutil import HOUR, floor_to, to_epoch

MARKS: Table = RollupMark.__table__  # type: ignore[assignment]
_KIND_OF = {kind.minute.name: kind.name for kind in KINDS}
MARKED_TABLES = frozenset(_KIND_OF)  # the minute tables whose writes leave a mark
MARKS_OF = {kind.name: kind.minute for kind in KINDS}


def affected_rows(result: Any) -> int:
    """Rows a statement changed: the driver says -1 when it does not know (psycopg on some
    statements), which would count as minus one (a negative counter crashed a round)."""
    return max(result.rowcount or 0, 0)


def rolled_select(kind: SeriesKind, level: Level, start: int, end: int) -> Select:
    """Roll-up rows (one per interval, series, instance) of the minute rows in [start, end).

    Columns are named as in `level.table`; one home for what a roll-up row holds, used by
    the roll-up and by reads of intervals not rolled up yet.
    """
    minute = kind.minute.c
    bucket = ((minute.minute // level.step) * level.step).label(level.time)
    columns = [bucket, *(minute[k] for k in kind.keys)]
    columns += [func.sum(minute[c]).label(c) for c in kind.sums]
    columns += [func.avg(minute[c]).label(c) for c in kind.means]
    columns += [func.max(minute[src]).label(dst) for dst, src in kind.maxes.items()]
    columns.append(func.count().label(MINUTES))
    return (
        select(*columns)
        .where(minute.minute >= start, minute.minute < end)
        .group_by(literal_column("1"), *(minute[k] for k in kind.keys))
    )


def _insert(conn: Connection, table: object) -> object:
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def _roll(conn: Connection, kind: SeriesKind, resolution: Resolution, start: int,
          end: int) -> int:
    level = kind.level(resolution)
    query = rolled_select(kind, level, floor_to(start, level.step), floor_to(end, level.step))
    names = [c.name for c in query.selected_columns]
    stmt = _insert(conn, level.table).from_select(names, query)
    keys = [level.time, *kind.keys]
    updated = {n: getattr(stmt.excluded, n) for n in names if n not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updated)
    # SQLAlchemy 2.1 closes an INSERT's cursor before it reads the count unless told to
    # keep it: psycopg then says -1, and the roll-up rows counted on PostgreSQL were -1 each
    return affected_rows(conn.execute(stmt, execution_options={"preserve_rowcount": True}))


def mark_written(conn: Connection, table: Table, oldest: int, newest: int) -> None:
    """Note that minute rows of `table` were written in [oldest, newest] (nothing for
    other tables), in the writer's transaction."""
    kind = _KIND_OF.get(table.name)
    if kind is None:
        return
    stmt = _insert(conn, MARKS).values(kind=kind, minute=int(oldest), until=int(newest))
    later = case((stmt.excluded.until > MARKS.c.until, stmt.excluded.until),  # type: ignore[attr-defined]
                 else_=MARKS.c.until)
    conn.execute(stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=["kind", "minute"], set_={"until": later}))


def oldest_mark(conn: Connection, kind: SeriesKind) -> int | None:
    """The oldest minute written of `kind` that no roll-up has covered yet, if any."""
    return conn.execute(select(func.min(MARKS.c.minute)).where(MARKS.c.kind == kind.name)
                        ).scalar()


def _take_marks(conn: Connection, before: int) -> dict[str, int]:
    """Take the marks from before `before` (the caller rolls up to there): the oldest
    minute of each kind; what they hold from `before` on is marked again.

    Taken first, before any rolling: a mark a concurrent writer commits meanwhile is not
    taken, and stays for the next roll-up."""
    taken = conn.execute(delete(MARKS).where(MARKS.c.minute < before)
                         .returning(MARKS.c.kind, MARKS.c.minute, MARKS.c.until)).all()
    oldest: dict[str, int] = {}
    for kind, minute, until in taken:
        oldest[kind] = min(minute, oldest.get(kind, minute))
        if until >= before:
            mark_written(conn, MARKS_OF[kind], before, until)
    return oldest


def roll_up(conn: Connection, start: datetime | int, end: datetime | int) -> int:
    """Roll the 5-minute blocks and hours in [start, end) up from minute rows, and every
    one from the oldest mark on; clears the marks that are covered.

    Intervals are whole ones: `start` is floored to each step, and `end` too, so the
    interval holding `end` is left for later. Returns roll-up rows written.
    """
    first, last = to_epoch(start), to_epoch(end)
    oldest = _take_marks(conn, floor_to(last, HOUR))  # both resolutions covered up to here
    for kind in KINDS:  # what stays marked (the hour not whole yet) is rolled at 5 minutes
        left = oldest_mark(conn, kind)
        if left is not None:
            oldest[kind.name] = min(left, oldest.get(kind.name, left))
    return sum(_roll(conn, kind, resolution, min(first, oldest.get(kind.name, first)), last)
               for kind in KINDS for resolution in ROLLED)


@dataclass(frozen=True)
class RetentionResult:
    rolled_hours: int  # roll-up rows written (5-minute and hour) before minutes expired
    minute_rows_deleted: int  # deleted, or in the day partitions dropped (PostgreSQL)
    hour_rows_deleted: int
    five_minute_rows_deleted: int = 0
    minute_partitions_dropped: int = 0


def apply_retention(
    conn: Connection, *, now: datetime, minute_keep: timedelta, hour_keep: timedelta,
    five_minute_keep: timedelta | None = None,
) -> RetentionResult:
    """Roll up, then delete minute rows older than `minute_keep`, 5-minute rows older than
    `five_minute_keep` (default: as long as hours) and hours past `hour_keep`.

    On PostgreSQL the minute rows of whole days before the cut go with their day partition
    (DROP TABLE, rows counted first); the rest before the cut (the cut's own day, DEFAULT)
    are deleted. Minute rows go last: a dropped partition holds its table exclusively until
    the caller commits."""
    minute_cutoff = floor_to(to_epoch(now - minute_keep), HOUR)
    five_cutoff = floor_to(to_epoch(now - (five_minute_keep or hour_keep)), HOUR)
    hour_cutoff = floor_to(to_epoch(now - hour_keep), HOUR)
    rolled = minutes = fives = hours = dropped = 0
    _take_marks(conn, minute_cutoff)  # the minutes before the cutoff are rolled just below
    for kind in KINDS:
        oldest = conn.execute(select(func.min(kind.minute.c.minute))).scalar()
        if oldest is not None and oldest < minute_cutoff:
            rolled += sum(_roll(conn, kind, r, oldest, minute_cutoff) for r in ROLLED)
        fives += _delete_before(conn, kind, "5m", five_cutoff)
        hours += _delete_before(conn, kind, "hour", hour_cutoff)
    expiring = [expiring_days(conn, kind.minute.name, minute_cutoff) for kind in KINDS]
    for kind, days in zip(KINDS, expiring, strict=True):
        dropped += len(days)
        minutes += drop_days(conn, kind.minute.name, days)
        minutes += _delete_before(conn, kind, "minute", minute_cutoff)
    return RetentionResult(rolled, minutes, hours, fives, dropped)


def _delete_before(conn: Connection, kind: SeriesKind, resolution: Resolution,
                   cutoff: int) -> int:
    level = kind.level(resolution)
    return affected_rows(conn.execute(
        delete(level.table).where(level.table.c[level.time] < cutoff)))
