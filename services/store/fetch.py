"""Query results straight into numpy columns, without a Python object per value.

Reads of series return hundreds of thousands of rows; building a SQLAlchemy Row, then a
tuple, then a DataFrame cell for each value is what made them slow. Here every column is
an 8-byte number (times, ids and counts as int64, the rest float64), so:

- PostgreSQL sends the result as binary `COPY (query) TO STDOUT`: after its header every
  row has the same width, and numpy reads the whole buffer as one structured array.
  NULLs have no fixed width, so queries turn them into NaN (`nan_for_null`).
- SQLite hands back tuples; numpy reads them in one pass (`fromiter` over the flattened
  rows, or `array` when a NULL has to become NaN).

COPY takes no bind parameters, so queries are rendered with their values inline; every
value in them is an int or float of our own (times, ids, steps), never user text.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from sqlalchemy import Connection, Select, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def nan_for_null(conn: Connection, expr: ColumnElement) -> ColumnElement:
    """`expr`, with NULL read as NaN on PostgreSQL (SQLite's NULLs become NaN in numpy)."""
    if conn.dialect.name != "postgresql":
        return expr
    return func.coalesce(expr, literal_column("'NaN'::float8"))


def _inline(conn: Connection, query: Select) -> str:
    return str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def fetch_columns(conn: Connection, query: Select, ints: Sequence[str]
                  ) -> dict[str, np.ndarray]:
    """The query's result as one array per selected column (by label): `ints` as int64,
    every other column float64. Runs in `conn`'s transaction."""
    names = [c.name for c in query.selected_columns]
    sql = _inline(conn, query)
    if conn.dialect.name == "postgresql":
        types = ["i8" if name in ints else "f8" for name in names]
        return dict(zip(names, _postgres(conn, sql, types), strict=True))
    table = _sqlite(conn, sql, len(names))
    return {name: (table[:, i].astype(np.int64) if name in ints else table[:, i])
            for i, name in enumerate(names)}


def _sqlite(conn: Connection, sql: str, width: int) -> np.ndarray:
    rows = conn.exec_driver_sql(sql).cursor.fetchall()
    try:
        flat = np.fromiter(chain.from_iterable(rows), np.float64, count=len(rows) * width)
    except TypeError:  # a NULL: numpy turns None into NaN when building an array
        flat = np.array(rows, dtype=np.float64)
    return flat.reshape(len(rows), width)


def _postgres(conn: Connection, sql: str, types: Sequence[str]) -> list[np.ndarray]:
    raw = conn.connection.driver_connection
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
        data = b"".join(bytes(block) for block in copy)
    return parse_binary_copy(data, types)


def parse_binary_copy(data: bytes, types: Sequence[str]) -> list[np.ndarray]:
    """PostgreSQL's binary COPY of rows of 8-byte non-NULL fields (`types`: "i8" or "f8"
    each) -> one native array per field."""
    if not data.startswith(_PG_SIGNATURE):
        raise ValueError("not a binary COPY stream")
    start = 19 + int.from_bytes(data[15:19], "big")  # after the header and its extension
    body = len(data) - start - 2  # the trailer is a field count of -1
    record = 2 + 12 * len(types)
    if body % record:
        raise ValueError("binary COPY rows are not all 8-byte non-NULL fields")
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, kind in enumerate(types):
        fields += [(f"l{i}", ">i4"), (f"v{i}", f">{kind}")]
    rows = np.frombuffer(data, dtype=np.dtype(fields), count=body // record, offset=start)
    widths_ok = all((rows[f"l{i}"] == 8).all() for i in range(len(types)))
    if not (widths_ok and (rows["n"] == len(types)).all()):
        raise ValueError("binary COPY rows are not all 8-byte non-NULL fields")
    return [rows[f"v{i}"].astype(f"={kind}") for i, kind in enumerate(types)]
