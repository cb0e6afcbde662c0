"""Stopping the statements an engine is running, from another thread.

Ctrl-C must stop a collector within seconds, but a job may be inside one long statement
(the first roll-up after a month of history takes ~12 s on SQLite). `interrupt` asks the
database to abort what each checked-out connection is running: SQLite's `interrupt()`,
psycopg's cancel. The job then fails, its transaction rolls back, and its work (idempotent
upserts, marks kept) is done again at the next start.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

_IN_USE = "apollo_in_use"  # on the pool: the DBAPI connections checked out now


def track(engine: Engine) -> None:
    """Remember the connections `engine`'s pool hands out until they come back."""
    pool: Any = engine.pool
    if hasattr(pool, _IN_USE):
        return
    in_use: set[Any] = set()
    lock = threading.Lock()
    setattr(pool, _IN_USE, (in_use, lock))

    @event.listens_for(pool, "checkout")
    def _out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        with lock:
            in_use.add(dbapi_connection)

    @event.listens_for(pool, "checkin")
    def _back(dbapi_connection: Any, _record: Any) -> None:
        with lock:
            in_use.discard(dbapi_connection)

    @event.listens_for(engine, "engine_disposed")
    def _new_pool(disposed: Engine) -> None:  # dispose() makes a new pool (listeners kept)
        setattr(disposed.pool, _IN_USE, (in_use, lock))


def interrupt(engine: Engine) -> int:
    """Abort the statement of every connection of `engine` in use now; how many were asked."""
    in_use, lock = getattr(engine.pool, _IN_USE, (set(), threading.Lock()))
    with lock:
        connections = list(in_use)
    for connection in connections:
        stop = getattr(connection, "interrupt", None)  # sqlite3
        if stop is None:
            stop = getattr(connection, "cancel_safe", None) or getattr(connection, "cancel",
                                                                       None)  # psycopg
        try:
            if stop is not None:
                stop()
        except Exception:  # a connection closing meanwhile: nothing left to stop
            log.debug("interrupting a connection failed", exc_info=True)
    return len(connections)
