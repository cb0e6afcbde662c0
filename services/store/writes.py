"""Idempotent bulk writes: a row written twice changes nothing.

Every minute and hour table is unique on (time, series), so a write is an upsert on that
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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any

import pandas as pd
from psycopg import errors as pg_errors
from sqlalchemy import BigInteger, Boolean, Connection, Date, DateTime, Float, Integer, Table
from sqlalchemy.sql.sqltypes import Numeric, String

from services.errors import StoreError

Row = tuple[Any, ...]
CHUNK_ROWS = 100_000
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


def _upsert_sqlite(conn: Connection, table: Table, rows: Iterable[Row], chunk: int) -> int:
    keys, values = _split(table)
    sql = _sqlite_upsert_sql(table, keys, values)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    written = 0
    try:
        for part in _chunks(rows, chunk):
            cursor.executemany(sql, part)
            written += len(part)
    finally:
        cursor.close()
    return written


class _PgTarget:
    """What the PostgreSQL path needs to know about one table, worked out once per call."""

    def __init__(self, table: Table) -> None:
        keys, values = _split(table)
        self.name = table.name
        self.columns = table_columns(table)
        self.types = [_copy_type(table.c[name].type) for name in self.columns]
        self.lead = next(iter(table.primary_key.columns)).name  # first column of the key index
        self.lead_at = self.columns.index(self.lead)
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
    """Stage the rows, upsert those that differ from what is stored, empty the stage."""
    _pg_copy(cursor, target, target.stage, rows)
    low, high = cursor.execute(
        f"SELECT min({target.lead}), max({target.lead}) FROM {target.stage}"
    ).fetchone()
    cursor.execute(target.upsert, (low, high, _PG_FILTER_READ * len(rows)))
    cursor.execute(f"TRUNCATE {target.stage}")


def _upsert_postgres(conn: Connection, table: Table, rows: Iterable[Row], chunk: int) -> int:
    target = _PgTarget(table)
    raw = conn.connection.driver_connection
    written = 0
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {target.stage} "
            f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        for part in _chunks(rows, chunk):
            new, stored = _pg_split_new(cursor, target, part)
            if new and not _pg_copy_new(cursor, target, new):
                stored = part
            if stored:
                _pg_upsert_staged(cursor, target, stored)
            written += len(part)
    return written


def upsert(
    conn: Connection, table: Table, rows: Iterable[Row] | pd.DataFrame, *, chunk: int = CHUNK_ROWS
) -> int:
    """Insert or update `rows` (tuples in `table_columns(table)` order, or a DataFrame).

    Runs inside the caller's transaction; returns the number of rows given. A database
    error is raised as StoreError naming the table; the caller's transaction rolls back.
    """
    if isinstance(rows, pd.DataFrame):
        rows = rows_from_frame(rows, table_columns(table))
    dialect = conn.dialect.name
    if dialect not in _WRITERS:
        raise NotImplementedError(f"no bulk upsert for {dialect}")
    try:
        return _WRITERS[dialect](conn, table, rows, chunk)
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        # The raw driver bypasses SQLAlchemy's wrapping; say which table, keep the cause.
        raise StoreError(f"{table.name}: bulk upsert failed: {exc}".strip()) from exc


_WRITERS = {"sqlite": _upsert_sqlite, "postgresql": _upsert_postgres}
