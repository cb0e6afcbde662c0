"""Idempotent bulk writes: a row written twice changes nothing.

Every series table is unique on (time, series, instance), so a write is an upsert on that
key, done in bulk the fastest way each database offers:

- SQLite: one `executemany` of `INSERT … ON CONFLICT DO UPDATE` inside one transaction;
- PostgreSQL, per chunk, split on the chunk's leading key column (time, for minute and
  hour tables) against the stored rows' min and max of it in the chunk's range:
  - rows outside that stored range cannot exist yet: binary `COPY` straight into the table
    (in a savepoint; a unique violation, e.g. from a concurrent writer, rolls it back and
    sends the whole chunk the general way). Time-ordered scrapes take only this path;
  - the rest: binary `COPY` into a temporary staging table, then one
    `INSERT … SELECT … ON CONFLICT DO UPDATE` of the staged rows minus (`EXCEPT ALL`) the
    identical stored rows of that range, read as one set.

Both skip the update when the stored values already equal the new ones, so rewriting the
same scrape or backfill costs a key lookup and no new row version. On PostgreSQL the
set-wise filter also spares the row lock (and its WAL record) that `ON CONFLICT DO UPDATE`
takes on every conflicting row before its WHERE clause can skip it, and the direct COPY
spares the staging and the speculative insertion `ON CONFLICT` does for every new row.
Two rows of one batch with the same key: the later one wins on both databases, as two
upserts in a row would (PostgreSQL would refuse the batch: "ON CONFLICT DO UPDATE command
cannot affect row a second time").

Two ways to call, for two kinds of rows:

- `upsert`: all or nothing. A row the database refuses fails the call (StoreError naming
  the table and the reason) and the caller's transaction rolls back: rows that belong
  together, such as one document's.
- `upsert_checked`: series rows, each standing alone. A row that can never be written (a
  NULL or NaN where a number is required, a value of the wrong type, a constraint) is set
  aside with its reason and the rest of its batch is written; the caller gets the rows
  set aside back (`UpsertResult.rejected`), to record them, and must not retry them. A
  failure that may pass (the store down, a lock timeout) is raised as StoreError, writing
  nothing, for the caller to retry. Each chunk is tried in a savepoint; a refused chunk is
  halved until the refused rows are alone, so k bad rows cost about 2 k log2(chunk)
  attempts and good rows are written in bulk.

Before any of that, a cheap screen (a few C-speed passes per chunk) fills in trailing
columns the rows leave off that have a default (`instance`: '' for single-source writers)
and finds NaN in required float columns: PostgreSQL would store NaN there without a word.

A write of minute series rows also notes the minutes it wrote (`rollup.mark_written`), so
reads at 5-minute and hour steps see rows written into the past at once; on PostgreSQL it
first makes sure each day it writes has its partition (`partitions.ensure_days`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import BigInteger, Boolean, Connection, Date, DateTime, Float, Integer, Table
from sqlalchemy.sql.sqltypes import Numeric, String

from services.errors import StoreError
from services.store.partitions import ensure_days
from services.store.rollup import MARKED_TABLES, mark_written

Row = tuple[Any, ...]
CHUNK_ROWS = 100_000
_SAVEPOINT = "_apollo_rows"
# Stored rows read per staged row, at most, to find the unchanged ones (bounds the cost of
# a chunk that is sparse within its key range, e.g. one series over a long time).
_PG_FILTER_READ = 2

_PG_COPY_TYPES: list[tuple[type, str]] = [
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Float, "float8"),
    (Numeric, "numeric"),
    (Boolean, "bool"),
    (DateTime, "timestamptz"),
    (Date, "date"),
    (String, "text"),
]


def _copy_type(column_type: Any) -> str:
    for sa_type, pg_name in _PG_COPY_TYPES:
        if isinstance(column_type, sa_type):
            return pg_name
    raise TypeError(f"no COPY type for {column_type!r}")


def table_columns(table: Table) -> list[str]:
    """The order in which rows for `table` are given: its columns as declared."""
    return [c.name for c in table.columns]


def rows_from_frame(frame: pd.DataFrame, columns: Sequence[str]) -> list[Row]:
    """DataFrame -> list of tuples of plain Python values (drivers do not adapt numpy)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {', '.join(missing)}")
    lists = []
    for name in columns:
        series = frame[name]
        values = series.astype(object).where(series.notna(), None).tolist()
        lists.append(values)
    return list(zip(*lists, strict=True))


def _chunks(rows: Iterable[Row], size: int) -> Iterable[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Rejected(NamedTuple):
    """A row set aside, and why the store cannot take it."""

    row: Row
    reason: str


@dataclass
class UpsertResult:
    written: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class _Shape:
    """What the screen knows of one table's rows, worked out once per call."""

    def __init__(self, table: Table) -> None:
        self.name = table.name
        self.columns = table_columns(table)
        tail: list[Any] = []
        for column in reversed(table.columns):
            if column.default is None or not column.default.is_scalar:
                break
            tail.append(column.default.arg)  # type: ignore[attr-defined]
        self.defaults = tuple(reversed(tail))  # the trailing columns rows may leave off
        self.numbers = [(i, c.name) for i, c in enumerate(table.columns)
                        if isinstance(c.type, Float) and not c.nullable]

    def frame_columns(self, frame: pd.DataFrame) -> list[str]:
        """The columns to take from `frame`: all, less a trailing run it lacks that has
        defaults."""
        width = len(self.columns)
        keep = width
        while keep > width - len(self.defaults) and self.columns[keep - 1] not in frame:
            keep -= 1
        return self.columns[:keep]

    def screen(self, rows: list[Row]) -> tuple[list[Row], list[Rejected]]:
        """(rows to write, completed with defaults; rows no database would take)."""
        rows, rejected = self._complete(rows)
        for at, name in self.numbers:
            try:
                total = sum(map(itemgetter(at), rows))
            except TypeError:  # a None or a non-number: look row by row
                total = float("nan")
            if total == total:  # no NaN in the column (the common case: one C pass)
                continue
            kept = []
            for row in rows:
                problem = _not_a_number(row[at])
                if problem:
                    rejected.append(Rejected(row, f"{self.name}.{name} {problem}"))
                else:
                    kept.append(row)
            rows = kept
        return rows, rejected

    def _complete(self, rows: list[Row]) -> tuple[list[Row], list[Rejected]]:
        width = len(self.columns)
        if set(map(len, rows)) <= {width}:
            return rows, []
        shortest = width - len(self.defaults)
        kept, rejected = [], []
        for row in rows:
            if shortest <= len(row) <= width:
                kept.append((*row, *self.defaults[len(row) - shortest:]))
            else:
                rejected.append(Rejected(row, f"{len(row)} values for the {width} columns "
                                              f"of {self.name} ({', '.join(self.columns)})"))
        return kept, rejected


def _not_a_number(value: Any) -> str:
    if value is None:
        return "is NULL"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"is not a number: {value!r:.40}"
    return "is NaN" if value != value else ""


def _last_of_each_key(rows: list[Row], keys: Sequence[int]) -> list[Row]:
    """The rows with duplicate keys dropped but the last: what successive upserts leave."""
    last = {tuple(row[k] for k in keys): row for row in rows}
    return list(last.values())


def _sqlite_upsert_sql(table: Table, keys: Sequence[str], values: Sequence[str]) -> str:
    columns = table_columns(table)  # rows arrive in this order, whatever the key's position
    placeholders = ", ".join("?" for _ in columns)
    target = ", ".join(keys)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders}) "
    if not values:
        return sql + f"ON CONFLICT ({target}) DO NOTHING"
    updates = ", ".join(f"{v} = excluded.{v}" for v in values)
    changed = " OR ".join(f"{table.name}.{v} IS NOT excluded.{v}" for v in values)
    return sql + f"ON CONFLICT ({target}) DO UPDATE SET {updates} WHERE {changed}"


def _pg_upsert_sql(
    table: Table, stage: str, keys: Sequence[str], values: Sequence[str], lead: str
) -> str:
    """Upsert the staged rows that differ from the stored rows whose `lead` is in [%s, %s].

    Takes three parameters: the range of the leading key column, and how many stored rows
    to read at most. Rows the filter misses are still right: the WHERE clause skips them.
    """
    columns = ", ".join([*keys, *values])
    target = ", ".join(keys)
    stored = f"SELECT {columns} FROM {table.name} WHERE {lead} BETWEEN %s AND %s LIMIT %s"
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM "
        f"(SELECT {columns} FROM {stage} EXCEPT ALL ({stored})) AS changed "
    )
    if not values:
        return sql + f"ON CONFLICT ({target}) DO NOTHING"
    updates = ", ".join(f"{v} = EXCLUDED.{v}" for v in values)
    old = ", ".join(f"{table.name}.{v}" for v in values)
    new = ", ".join(f"EXCLUDED.{v}" for v in values)
    return (
        sql + f"ON CONFLICT ({target}) DO UPDATE SET {updates} "
        f"WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
    )


def _split(table: Table) -> tuple[list[str], list[str]]:
    keys = [c.name for c in table.primary_key.columns]
    keys.sort(key=table_columns(table).index)
    values = [c for c in table_columns(table) if c not in keys]
    return keys, values


class _SqliteWriter:
    """`executemany` of one upsert statement (SQLite applies duplicate keys in order)."""

    # what a refused row raises: constraints, values the driver cannot bind
    faults = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError,
              sqlite3.InterfaceError, TypeError, ValueError, OverflowError)

    def __init__(self, conn: Connection, table: Table) -> None:
        keys, values = _split(table)
        self.sql = _sqlite_upsert_sql(table, keys, values)
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def execute(self, sql: str) -> None:
        self.cursor.execute(sql)

    def write(self, rows: list[Row]) -> None:
        self.cursor.executemany(self.sql, rows)

    def close(self) -> None:
        self.cursor.close()


class _PgTarget:
    """What the PostgreSQL path needs to know about one table, worked out once per call."""

    def __init__(self, table: Table) -> None:
        keys, values = _split(table)
        self.name = table.name
        self.columns = table_columns(table)
        self.types = [_copy_type(table.c[name].type) for name in self.columns]
        self.lead = next(iter(table.primary_key.columns)).name  # first column of the key index
        self.lead_at = self.columns.index(self.lead)
        self.key_at = [self.columns.index(k) for k in keys]
        self.stage = f"_stage_{table.name}"
        self.upsert = _pg_upsert_sql(table, self.stage, keys, values, self.lead)


def _pg_copy(cursor: Any, target: _PgTarget, into: str, rows: Sequence[Row]) -> None:
    with cursor.copy(f"COPY {into} ({', '.join(target.columns)}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(target.types)
        for row in rows:
            cp.write_row(row)


def _pg_split_new(cursor: Any, target: _PgTarget, rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """(rows whose leading key lies outside the stored range, so are new; the others).

    Compared in Python: values Python cannot order go the general way, and values it orders
    unlike PostgreSQL (text under a collation) at worst make the COPY of "new" rows fail on
    the key, which sends the whole chunk the general way.
    """
    at = target.lead_at
    try:
        low, high = min(map(itemgetter(at), rows)), max(map(itemgetter(at), rows))
    except TypeError:
        return [], rows
    first, last = cursor.execute(
        f"SELECT min({target.lead}), max({target.lead}) FROM {target.name} "
        f"WHERE {target.lead} BETWEEN %s AND %s",
        (low, high),
    ).fetchone()
    if first is None:
        return rows, []
    new: list[Row] = []
    old: list[Row] = []
    try:
        if first <= low and high <= last:
            return [], rows
        for row in rows:
            (old if first <= row[at] <= last else new).append(row)
    except TypeError:
        return [], rows
    return new, old


def _pg_copy_new(cursor: Any, target: _PgTarget, rows: list[Row]) -> bool:
    """COPY rows believed new straight into the table; False, writing nothing, if one is not."""
    cursor.execute("SAVEPOINT _apollo_upsert")
    try:
        _pg_copy(cursor, target, target.name, rows)
        copied = True
    except pg_errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT _apollo_upsert")
        copied = False
    cursor.execute("RELEASE SAVEPOINT _apollo_upsert")
    return copied


def _pg_upsert_staged(cursor: Any, target: _PgTarget, rows: list[Row]) -> None:
    """Stage the rows, upsert those that differ from what is stored, empty the stage.

    A key given twice makes the upsert fail as a whole: then the later row is kept and
    the rows staged again (the check costs nothing while keys are unique)."""
    _pg_copy(cursor, target, target.stage, rows)
    low, high = cursor.execute(
        f"SELECT min({target.lead}), max({target.lead}) FROM {target.stage}"
    ).fetchone()
    cursor.execute("SAVEPOINT _apollo_stage")
    try:
        cursor.execute(target.upsert, (low, high, _PG_FILTER_READ * len(rows)))
    except pg_errors.CardinalityViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT _apollo_stage")
        cursor.execute(f"TRUNCATE {target.stage}")
        _pg_copy(cursor, target, target.stage, _last_of_each_key(rows, target.key_at))
        cursor.execute(target.upsert, (low, high, _PG_FILTER_READ * len(rows)))
    cursor.execute("RELEASE SAVEPOINT _apollo_stage")
    cursor.execute(f"TRUNCATE {target.stage}")


class _PgWriter:
    """Binary COPY of new rows, staged set-wise upsert of the others (module docstring)."""

    faults = (psycopg.IntegrityError, psycopg.DataError, TypeError, ValueError,
              OverflowError)

    def __init__(self, conn: Connection, table: Table) -> None:
        self.target = _PgTarget(table)
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self.cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {self.target.stage} "
            f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )

    def execute(self, sql: str) -> None:
        self.cursor.execute(sql)

    def write(self, rows: list[Row]) -> None:
        new, stored = _pg_split_new(self.cursor, self.target, rows)
        if new and not _pg_copy_new(self.cursor, self.target, new):
            stored = rows
        if stored:
            _pg_upsert_staged(self.cursor, self.target, stored)

    def close(self) -> None:
        self.cursor.close()


_Writer = _SqliteWriter | _PgWriter
_WRITERS: dict[str, type[_SqliteWriter] | type[_PgWriter]] = {
    "sqlite": _SqliteWriter, "postgresql": _PgWriter}


def _attempt(writer: _Writer, rows: list[Row]) -> BaseException | None:
    """Write `rows` in a savepoint; the row fault that undid them all, or None."""
    writer.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        writer.write(rows)
    except writer.faults as exc:
        writer.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        writer.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        return exc
    writer.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return None


def _write_setting_aside(writer: _Writer, rows: list[Row]) -> list[Rejected]:
    """Write `rows`; halve a refused batch until each refused row is alone, set aside."""
    fault = _attempt(writer, rows)
    if fault is None:
        return []
    if len(rows) == 1:
        return [Rejected(rows[0], _one_line(fault))]
    mid = len(rows) // 2
    return _write_setting_aside(writer, rows[:mid]) + _write_setting_aside(writer, rows[mid:])


def _times(rows: list[Row]) -> tuple[int, int, list[int]] | None:
    """(oldest, newest, every) time of minute rows (the time column leads), or None when
    there are none or they cannot be ordered (such rows are refused by the write)."""
    times = list(map(itemgetter(0), rows))
    try:
        return (min(times), max(times), times) if times else None
    except TypeError:
        return None


def _run(conn: Connection, table: Table, rows: Iterable[Row] | pd.DataFrame, chunk: int,
         *, strict: bool) -> UpsertResult:
    shape = _Shape(table)
    if isinstance(rows, pd.DataFrame):
        rows = rows_from_frame(rows, shape.frame_columns(rows))
    writer_type = _WRITERS.get(conn.dialect.name)
    if writer_type is None:
        raise NotImplementedError(f"no bulk upsert for {conn.dialect.name}")
    result = UpsertResult()
    span: list[int] = []  # oldest and newest minute written, for `mark_written`
    marked = table.name in MARKED_TABLES  # minute rows
    try:
        writer = writer_type(conn, table)
        try:
            for part in _chunks(rows, chunk):
                good, bad = shape.screen(part)
                if bad and strict:
                    raise StoreError(f"{table.name}: bulk upsert failed: {bad[0].reason} "
                                     f"in row {bad[0].row!r:.200}")
                times = _times(good) if marked else None
                if times:  # PostgreSQL: the day partitions of these minutes first
                    ensure_days(conn, table.name, *times)
                if strict:
                    writer.write(good)
                else:
                    refused = _write_setting_aside(writer, good)
                    if refused:
                        ids = {id(r.row) for r in refused}
                        good = [row for row in good if id(row) not in ids]
                        times = _times(good) if marked else None
                    bad += refused
                result.written += len(good)
                result.rejected += bad
                if good and times:
                    low, high = times[:2]
                    span = [min(span[0], low), max(span[1], high)] if span else [low, high]
        finally:
            writer.close()
        if span:
            mark_written(conn, table, *span)
    except (conn.dialect.dbapi.Error, *writer_type.faults) as exc:  # type: ignore[union-attr]
        # The raw driver bypasses SQLAlchemy's wrapping: say which table, keep the cause,
        # and tell SQLAlchemy when the connection died, so it does not try to roll back on it.
        if getattr(conn.connection.driver_connection, "broken", False):
            conn.invalidate(exc)
        raise StoreError(f"{table.name}: bulk upsert failed: {_one_line(exc)}") from exc
    return result


def upsert(
    conn: Connection, table: Table, rows: Iterable[Row] | pd.DataFrame, *, chunk: int = CHUNK_ROWS
) -> int:
    """Insert or update `rows` (tuples in `table_columns(table)` order, or a DataFrame),
    all or nothing.

    Runs inside the caller's transaction; returns the number of rows given. Any row the
    store refuses, and any database error, is raised as StoreError naming the table; the
    caller's transaction rolls back.
    """
    return _run(conn, table, rows, chunk, strict=True).written


def upsert_checked(
    conn: Connection, table: Table, rows: Iterable[Row] | pd.DataFrame, *, chunk: int = CHUNK_ROWS
) -> UpsertResult:
    """Insert or update `rows` as `upsert` does, but set aside each row the store can never
    take (with its reason) and write the rest; returns what was written and set aside.

    A failure that is not one row's (the store down or refusing connections, a lock
    timeout) is raised as StoreError, for the caller to retry; its transaction rolls back.
    """
    return _run(conn, table, rows, chunk, strict=False)
