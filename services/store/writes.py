"""Idempotent bulk writes: a row written twice changes nothing.

Every minute and hour table is unique on (time, series), so a write is an upsert on that
key, done in bulk the fastest way each database offers:

- SQLite: one `executemany` of `INSERT … ON CONFLICT DO UPDATE` inside one transaction;
- PostgreSQL: binary `COPY` of each chunk into a temporary staging table, then
  - if no stored row falls in the chunk's range of the leading key column (the usual case
    for time-ordered scrapes), a plain `INSERT … SELECT` (a unique violation, say from a
    concurrent writer, rolls back to a savepoint and takes the general path instead);
  - otherwise one `INSERT … SELECT … ON CONFLICT DO UPDATE` of the staged rows minus
    (`EXCEPT ALL`) the identical stored rows of that range, read as one set.

Both skip the update when the stored values already equal the new ones, so rewriting the
same scrape or backfill costs a key lookup and no new row version. On PostgreSQL the
set-wise filter also spares the row lock (and its WAL record) that `ON CONFLICT DO UPDATE`
takes on every conflicting row before its WHERE clause can skip it, and the plain INSERT
spares the speculative insertion that `ON CONFLICT` does for every new row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
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
    columns = [*keys, *values]
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


def _pg_insert_new(cursor: Any, table: Table, stage: str, columns: str) -> bool:
    """Plain INSERT of the staged rows; False (and nothing written) if a key exists."""
    cursor.execute("SAVEPOINT _apollo_upsert")
    try:
        cursor.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage}")
        inserted = True
    except pg_errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT _apollo_upsert")
        inserted = False
    cursor.execute("RELEASE SAVEPOINT _apollo_upsert")
    return inserted


def _upsert_postgres(conn: Connection, table: Table, rows: Iterable[Row], chunk: int) -> int:
    keys, values = _split(table)
    columns = table_columns(table)
    names = ", ".join(columns)
    lead = next(iter(table.primary_key.columns)).name  # the first column of the key's index
    stage = f"_stage_{table.name}"
    raw = conn.connection.driver_connection
    types = [_copy_type(table.c[name].type) for name in columns]
    upsert = _pg_upsert_sql(table, stage, keys, values, lead)
    written = 0
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
            f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        for part in _chunks(rows, chunk):
            with cursor.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(types)
                for row in part:
                    cp.write_row(row)
            low, high = cursor.execute(f"SELECT min({lead}), max({lead}) FROM {stage}").fetchone()
            in_range = f"SELECT EXISTS (SELECT FROM {table.name} WHERE {lead} BETWEEN %s AND %s)"
            stored = cursor.execute(in_range, (low, high)).fetchone()[0]
            if stored or not _pg_insert_new(cursor, table, stage, names):
                cursor.execute(upsert, (low, high, _PG_FILTER_READ * len(part)))
            cursor.execute(f"TRUNCATE {stage}")
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
