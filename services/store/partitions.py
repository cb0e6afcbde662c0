"""Day partitions of the minute tables on PostgreSQL (SQLite: every function does nothing).

From migration 0007 on, PostgreSQL keeps `service_minutes`, `latency_bucket_minutes` and
`sli_minutes` partitioned by range of `minute` (Unix seconds), one partition per UTC day
(`service_minutes_p20261104` holds [2026-11-04 00:00, 2026-11-05 00:00)), and a DEFAULT
partition (`service_minutes_default`) as the safety net for rows whose day has none.
Partitions live in their own schema, `apollo_partitions`, so the store's schema as Alembic
and `\\dt` see it stays the models' own; every query names the parent, never a partition.

- **Ahead:** the roll-up job calls `maintain` each run: today and the next `AHEAD_DAYS`
  days get their partitions, and so does every day found in DEFAULT.
- **On demand:** every write of minute rows calls `ensure_days` for the days it touches
  (`writes`), in the writer's transaction, before the rows go in (a backfill of last
  month makes last month's partitions). Days known to exist are remembered in the process
  once the transaction that saw or made them commits, so the write of a known day costs a
  set lookup and no round trip.
- **DEFAULT's rows move:** PostgreSQL refuses to attach a partition whose range has rows in
  DEFAULT, so a day's partition is made as a plain table, that day's rows moved into it
  from DEFAULT (DELETE … RETURNING into it), and attached; a CHECK constraint matching the
  range, dropped after, spares the scan of the new table.
- **Retention** (`expiring_days`, `drop_days`) drops the partitions of whole days older
  than the cut (DROP TABLE, no row versions, no vacuum), counting their rows first; the
  rows of a partial day are deleted as before. The retention job puts its cut at the start
  of a day on PostgreSQL (`whole_days`), so it deletes no minute row one by one.

Locks: making a partition takes SHARE UPDATE EXCLUSIVE on the parent (reads and writes go
on; a second maker waits) and ACCESS EXCLUSIVE on DEFAULT (queries whose plan includes
DEFAULT wait) until the maker's transaction commits; the partitions made ahead keep live
writes off that path. Dropping a partition takes ACCESS EXCLUSIVE on the parent until the
retention transaction commits. A write whose partition cannot be made (a lock conflict
resolved as a deadlock, a name taken by a stray table) is not failed: its rows go to
DEFAULT, a warning says so, and `maintain` moves them within a roll-up interval.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import SQLAlchemyError

from services.errors import StoreError
from services.store.series import KINDS
from services.store.timeutil import to_epoch

log = logging.getLogger(__name__)

SCHEMA = "apollo_partitions"
DAY = 86_400
TABLES = tuple(kind.minute.name for kind in KINDS)  # the partitioned tables, in a fixed order
AHEAD_DAYS = 2  # `maintain` makes today's partition and this many days' after it
_RANGE_DAYS = 8  # rows spanning more days: partitions only for the days they hold
_MAX_DEFAULT_DAYS = 1_000  # days of DEFAULT's rows `maintain` moves per table and run
_BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")

# database -> {(table, day start)} known to exist (committed)
_known: dict[str, set[tuple[str, int]]] = {}


@dataclass(frozen=True)
class Partition:
    """One partition of a minute table; `start` and `end` are None for DEFAULT (and for a
    range Apollo did not make and cannot read)."""

    schema: str
    name: str
    start: int | None
    end: int | None
    default: bool = False

    @property
    def qualified(self) -> str:
        return f"{_quote(self.schema)}.{_quote(self.name)}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def day_of(seconds: int) -> int:
    """The start of the UTC day holding `seconds`."""
    return int(seconds) - int(seconds) % DAY


def partition_name(table: str, day: int) -> str:
    return f"{table}_p{datetime.fromtimestamp(day, UTC):%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def forget() -> None:
    """Drop what this process remembers (tests and benchmarks that recreate a database)."""
    _known.clear()


def _database(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def partitions(conn: Connection, table: str) -> list[Partition] | None:
    """`table`'s partitions, by start (DEFAULT last); None when it is not partitioned
    (SQLite, or PostgreSQL before migration 0007)."""
    if conn.dialect.name != "postgresql":
        return None
    rows = conn.execute(text(
        "SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) "
        "FROM pg_class p LEFT JOIN pg_inherits i ON i.inhparent = p.oid "
        "LEFT JOIN pg_class c ON c.oid = i.inhrelid "
        "LEFT JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE p.oid = to_regclass(:table) AND p.relkind = 'p'"), {"table": table}).all()
    if not rows:
        return None
    found = []
    for schema, name, bound in rows:
        if name is None:  # partitioned, no partition yet
            continue
        match = _BOUND.search(bound or "")
        start, end = (int(match[1]), int(match[2])) if match else (None, None)
        found.append(Partition(schema, name, start, end, default=bound == "DEFAULT"))
    return sorted(found, key=lambda p: (p.default, p.start is None, p.start or 0, p.name))


def _days(low: int, high: int, times: Iterable[int] | None) -> list[int]:
    """The days of [low, high]; for a span of more than `_RANGE_DAYS` days, only the days
    `times` holds (one stray timestamp must not make a partition per day in between)."""
    first, last = day_of(low), day_of(high)
    if last - first < _RANGE_DAYS * DAY:
        return list(range(first, last + 1, DAY))
    if times is None:
        raise ValueError(f"[{low}, {high}] spans more than {_RANGE_DAYS} days: give the times")
    return sorted({day_of(t) for t in times})


def ensure_days(conn: Connection, table: str, low: int, high: int,
                times: Iterable[int] | None = None) -> list[str]:
    """Make sure every day of [low, high] (Unix seconds) has its partition before rows of
    those minutes are written, in the caller's transaction; returns the partitions made.

    Nothing for SQLite, for other tables, or when every day is known to exist. A partition
    that cannot be made is logged and left: the rows go to DEFAULT (module docstring).
    """
    if conn.dialect.name != "postgresql" or table not in TABLES:
        return []
    known = _known.get(_database(conn), set())
    days = [d for d in _days(low, high, times) if (table, d) not in known]
    if not days:
        return []
    try:
        return _ensure(conn, table, days)
    except SQLAlchemyError as exc:
        if conn.invalidated or getattr(exc, "connection_invalidated", False):
            raise StoreError(f"{table}: cannot make day partitions: {_one_line(exc)}") from exc
        log.warning("%s: day partitions for %s not made, rows go to %s until the roll-up "
                    "job makes them: %s", table, _day_list(days), default_name(table),
                    _one_line(exc))
        return []


def maintain(conn: Connection, now: datetime | int, *, ahead: int = AHEAD_DAYS) -> list[str]:
    """What the roll-up job runs: every minute table's partitions for today and `ahead`
    days after, and for each day that has rows in DEFAULT (moving them there). Returns the
    partitions made; raises StoreError if one cannot be made."""
    if conn.dialect.name != "postgresql":
        return []
    today = day_of(to_epoch(now))
    made: list[str] = []
    for table in TABLES:
        existing = partitions(conn, table)
        if existing is None:
            continue
        days = [today + i * DAY for i in range(ahead + 1)]
        default = next((p for p in existing if p.default), None)
        if default is not None:
            days += _days_in(conn, default)
        try:
            made += _ensure(conn, table, sorted(set(days)))
        except SQLAlchemyError as exc:
            raise StoreError(f"{table}: cannot make day partitions: {_one_line(exc)}") from exc
    return made


def whole_days(now: datetime, keep: timedelta) -> timedelta:
    """`keep` lengthened so that the cut, `now - keep`, falls at the start of its UTC day.

    What the retention job keeps of minute rows on PostgreSQL: it runs hourly, and a cut on
    the hour would delete an hour of rows row by row each time (the cut's own day keeps
    the DELETE path), leaving only emptied partitions to drop; at the day's start it drops
    whole partitions and deletes nothing (minute rows stay between `keep` and a day more)."""
    return now - datetime.fromtimestamp(day_of(to_epoch(now - keep)), UTC)


def expiring_days(conn: Connection, table: str, cutoff: int) -> list[tuple[Partition, int]]:
    """The day partitions of `table` that end at or before `cutoff`, with the rows each
    holds (counted exactly); [] where the table is not partitioned."""
    found = partitions(conn, table) or []
    return [(p, conn.execute(text(f"SELECT count(*) FROM {p.qualified}")).scalar_one())
            for p in found if p.end is not None and p.end <= cutoff]


def drop_days(conn: Connection, table: str, days: Sequence[tuple[Partition, int]]) -> int:
    """DROP TABLE the day partitions `expiring_days` gave; the rows they held."""
    known = _known.get(_database(conn), set())
    for part, _ in days:
        conn.execute(text(f"DROP TABLE {part.qualified}"))
        known.discard((table, part.start))
    return sum(rows for _, rows in days)


def drop_days_before(conn: Connection, table: str, cutoff: int) -> tuple[int, int]:
    """Drop the day partitions of `table` that end at or before `cutoff`: (partitions
    dropped, rows they held). (0, 0) where the table is not partitioned."""
    days = expiring_days(conn, table, cutoff)
    return len(days), drop_days(conn, table, days)


# --- making partitions -------------------------------------------------------------------


def _ensure(conn: Connection, table: str, days: Sequence[int]) -> list[str]:
    """Make the partitions of `days` that do not exist, in a savepoint; remember the days
    once the transaction commits."""
    if partitions(conn, table) is None:
        return []
    with conn.begin_nested():
        conn.execute(text(f"LOCK TABLE {_quote(table)} IN SHARE UPDATE EXCLUSIVE MODE"))
        existing = partitions(conn, table) or []  # again, now that no one else makes any
        todo = [d for d in days if not _covered(existing, d)]
        default = next((p for p in existing if p.default), None)
        if todo and default is not None:
            conn.execute(text(f"LOCK TABLE {default.qualified} IN ACCESS EXCLUSIVE MODE"))
        made = [_make(conn, table, day, default) for day in todo]
    _remember_on_commit(conn, table, days)
    return made


def _covered(existing: Sequence[Partition], day: int) -> bool:
    return any(p.start is not None and p.end is not None and p.start <= day and day + DAY <= p.end
               for p in existing)


def _make(conn: Connection, table: str, day: int, default: Partition | None) -> str:
    """Day `day`'s partition: a plain table, DEFAULT's rows of the day moved into it,
    attached (its CHECK constraint spares PostgreSQL the scan), the CHECK dropped."""
    name = partition_name(table, day)
    part = Partition(SCHEMA, name, day, day + DAY)
    check = _quote(f"{name}_range")
    conn.execute(text(f"CREATE TABLE {part.qualified} (LIKE {_quote(table)} INCLUDING DEFAULTS)"))
    conn.execute(text(f"ALTER TABLE {part.qualified} ADD CONSTRAINT {check} "
                      f"CHECK (minute >= {day} AND minute < {day + DAY})"))
    moved = 0
    if default is not None:
        moved = conn.execute(text(
            f"WITH moved AS (DELETE FROM {default.qualified} WHERE minute >= {day} "
            f"AND minute < {day + DAY} RETURNING *) "
            f"INSERT INTO {part.qualified} SELECT * FROM moved")).rowcount or 0
    conn.execute(text(f"ALTER TABLE {_quote(table)} ATTACH PARTITION {part.qualified} "
                      f"FOR VALUES FROM ({day}) TO ({day + DAY})"))
    conn.execute(text(f"ALTER TABLE {part.qualified} DROP CONSTRAINT {check}"))
    if moved:
        log.info("%s: partition %s made, %d rows moved from %s", table, name, moved,
                 default.name if default else "")
    return name


def _days_in(conn: Connection, default: Partition) -> list[int]:
    """The days DEFAULT holds rows of, one index probe each (a loose index scan)."""
    days: list[int] = []
    probe = text(f"SELECT min(minute) FROM {default.qualified} WHERE minute >= :after")
    after = conn.execute(text(f"SELECT min(minute) FROM {default.qualified}")).scalar()
    while after is not None and len(days) < _MAX_DEFAULT_DAYS:
        days.append(day_of(after))
        after = conn.execute(probe, {"after": days[-1] + DAY}).scalar()
    return days


def _remember_on_commit(conn: Connection, table: str, days: Sequence[int]) -> None:
    database = _database(conn)
    seen = [(table, day) for day in days]

    def committed(_conn: Connection) -> None:
        _known.setdefault(database, set()).update(seen)

    event.listen(conn, "commit", committed, once=True)


def _day_list(days: Sequence[int]) -> str:
    shown = [f"{datetime.fromtimestamp(d, UTC):%Y-%m-%d}" for d in islice(days, 5)]
    return ", ".join(shown) + (f" and {len(days) - 5} more" if len(days) > 5 else "")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
