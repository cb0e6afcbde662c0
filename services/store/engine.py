"""Opening the store: SQLite in WAL mode by default, PostgreSQL when a URL says so (with a
connect timeout, CONNECT_TIMEOUT_S unless the URL sets `connect_timeout`)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from services.errors import StoreError
from services.files import mask_url
from services.store.interrupt import track

BUSY_TIMEOUT_S = 30  # how long SQLite waits for another connection's lock: the first roll-up
# after a month of history holds it ~12 s, retention ~8 s (bench/first_start.py); 10 s made
# the delivery worker and the scrapes give up on a first start
# How long a PostgreSQL connection attempt may take (libpq's connect_timeout), so that a host
# that silently drops packets fails a request in seconds, not after the OS's TCP timeout
# (minutes). A URL's own `?connect_timeout=N` wins.
CONNECT_TIMEOUT_S = 5


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the dashboard read while a collector writes; NORMAL sync is safe in WAL.

    pysqlite's own transaction handling is switched off (it would commit before DDL), and
    `_sqlite_begin` opens each transaction instead, so migrations are all-or-nothing too.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000:.0f}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """PRAGMA journal_mode=WAL, retried while another connection switches a new file:
    SQLite answers `database is locked` at once there, without waiting busy_timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE (the write lock first, waiting busy_timeout for it) on a
    connection with the `sqlite_begin_immediate` execution option, as migrations use."""
    immediate = conn.get_execution_options().get("sqlite_begin_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; creates the SQLite file's directory. Raises StoreError."""
    try:
        parsed = make_url(url)
    except Exception:  # ArgumentError or ValueError (a bad port); both may quote the password
        raise StoreError(f"database URL {mask_url(url)!r} is not a valid SQLAlchemy URL "
                         "(expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
                         ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. data_dir under a file, or not writable
                raise StoreError(f"cannot create the store's folder {folder}: "
                                 f"{exc.strerror}") from None
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        track(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)  # survive a server restart between uses
        if "connect_timeout" not in parsed.query:  # (connect_args would override the URL's)
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S,
                                      **kwargs.get("connect_args", {})}
        engine = create_engine(parsed, **kwargs)
        track(engine)
        return engine
    raise StoreError(
        f"database URL {mask_url(str(parsed))!r}: "
        "expected sqlite:///… or postgresql+psycopg://…"
    )
