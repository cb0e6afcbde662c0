"""Telling a store outage from a bug, and logging an outage once.

`store_unavailable(exc)` says whether a failure means the store cannot be reached or used
right now (connection refused or cut, the server shutting down or starting up, a lock or
statement timeout, no pooled connection free, SQLite busy or its file unreadable): a
condition that passes, worth a retry, answered `503` by the API. Anything else (a bad
statement, a missing table, a refused row) is a bug or a data problem and stays an error
with its traceback.

`Outage` is what a loop that retries the store (the delivery worker, the scheduler's run
log) logs: one warning line with the reason when an outage starts, debug lines while it
lasts, one info line when the store answers again.

It lives in the store layer because the API, alerting and the runtime all use it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import exc as sa_exc

# SQLite's primary result codes that mean "the file cannot be used now", not "the statement
# is wrong" (SQLITE_ERROR, 1, is a syntax error or a missing table: a bug).
_SQLITE_UNAVAILABLE = frozenset({
    5,   # SQLITE_BUSY: another connection holds the lock past busy_timeout
    6,   # SQLITE_LOCKED
    7,   # SQLITE_NOMEM
    8,   # SQLITE_READONLY: the file (or its folder) cannot be written
    10,  # SQLITE_IOERR
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL: the disk is full
    14,  # SQLITE_CANTOPEN: the file cannot be opened
    15,  # SQLITE_PROTOCOL
    26,  # SQLITE_NOTADB
})
_MAX_CHAIN = 16  # causes followed, at most
RETRY_AFTER_S = 5  # what an HTTP 503 for an outage tells the caller to wait


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, then what caused it (SQLAlchemy's `.orig`, `__cause__`, `__context__`)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < _MAX_CHAIN and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = (orig if isinstance(orig, BaseException) and orig not in seen
                   else current.__cause__ or current.__context__)
    return seen


def _is_connection_fault(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection free within pool_timeout; a dead connection
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True  # refused, cut, admin shutdown, starting up, lock or statement timeout
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNAVAILABLE
    return False


def one_line(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line, at most `limit` characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:limit] if text else type(exc).__name__


def store_unavailable(exc: BaseException) -> str | None:
    """The one-line reason when `exc` means the store cannot be reached or used now; None
    for anything else (a programming error, a refused row, a failure outside the store).

    A StoreError counts when what caused it does (a bulk write cut off by the server
    going away); one without such a cause is a row the store refuses, and a retry cannot
    help it."""
    chain = _chain(exc)
    for link in chain:
        if _is_connection_fault(link):
            # the driver's error says why (SQLAlchemy's wrapper adds the statement)
            driver = next((c for c in chain if isinstance(c, psycopg.Error | sqlite3.Error)),
                          link)
            return one_line(driver)
    return None


def unavailable_detail(exc: BaseException) -> str:
    """The reason an HTTP 503 gives: the error's type only, as /ready says it (the text
    names hosts and ports; the log has it)."""
    chain = _chain(exc)
    fault = next((c for c in chain if _is_connection_fault(c)), exc)
    driver = next((c for c in chain if isinstance(c, psycopg.Error | sqlite3.Error)), fault)
    return f"the store is unavailable ({type(driver).__name__}); retry in {RETRY_AFTER_S} s"


def unavailable_headers() -> dict[str, str]:
    """`Retry-After`, and `no-store` so that no cache between keeps the refusal."""
    return {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}


class Outage:
    """Logs a store outage seen by a retrying loop once: `failed` on every failed round,
    `answered` on every round that reached the store. `retry_s` is how often the loop
    tries again (None: at each of its rounds); a `note` adds what the loop keeps or wrote
    meanwhile to the line it goes with."""

    def __init__(self, logger: logging.Logger, what: str, *, retry_s: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.what, self.retry_s, self.clock = logger, what, retry_s, clock
        self.since: float | None = None  # when the outage began (clock), None while up
        self.failures = 0  # failed rounds of this outage

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, note: str = "") -> bool:
        """Note a failed round; True when `exc` is the store being unavailable (logged as
        one warning when the outage starts, at debug level after that), False for anything
        else, which the caller logs as the error it is."""
        reason = store_unavailable(exc)
        if reason is None:
            return False
        self.failures += 1
        tail = f"; {note}" if note else ""
        if self.since is None:
            self.since = self.clock()
            retrying = (f"retrying every {self.retry_s:g} s" if self.retry_s is not None
                        else "retrying at each round")
            self.log.warning("%s paused: the store is unavailable (%s); %s%s",
                             self.what, reason, retrying, tail)
        else:
            self.log.debug("%s: the store is still unavailable (%s)%s", self.what, reason,
                           tail)
        return True

    def answered(self, note: str = "") -> None:
        """The store answered: end the outage, saying how long it lasted."""
        if self.since is None:
            return
        lasted = self.clock() - self.since
        self.log.info("%s resumed: the store answers again (unavailable for %.0f s, %d "
                      "failed rounds)%s", self.what, lasted, self.failures,
                      f"; {note}" if note else "")
        self.since, self.failures = None, 0
