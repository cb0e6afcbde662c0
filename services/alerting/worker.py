"""The delivery worker: claims due outbox rows, sends them grouped, settles each.

Rows of one notifier and group key travel in one request where the receiver takes lists
(Alertmanager, the signed webhook); several workers, in one process or many, share the
outbox safely (see outbox.py). A store that is down pauses delivery, it does not end it:
the worker logs one warning when the outage starts and one line when the store answers
again (services/store/outage.py), and tries again every STORE_RETRY_S meanwhile.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from services.alerting import outbox
from services.alerting.notifiers import OutgoingRequest, build_requests
from services.config import Delivery, Notifier
from services.errors import ConfigError
from services.store.outage import Outage

log = logging.getLogger(__name__)
IDLE_POLL_S = 0.2  # how often an idle worker looks for due rows
STORE_RETRY_S = 2.0  # pause after the store refused a claim or a settle


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class DeliveryWorker:
    """Delivers the outbox to the configured notifiers."""

    def __init__(self, engine: Engine, notifiers: Sequence[Notifier], delivery: Delivery, *,
                 name: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        # claims and settles read, then write: on SQLite they take the write lock first, or
        # a write committed in between makes them fail at once ("database is locked")
        self.writer = engine.execution_options(sqlite_begin_immediate=True)
        self.notifiers = {n.name: n for n in notifiers}
        self.delivery = delivery
        self.name = name or worker_name()
        self.clock = clock
        self.wake = threading.Event()  # set by whoever just enqueued, to skip the poll wait
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        self._pool = ThreadPoolExecutor(delivery.concurrency, thread_name_prefix="deliver")
        self.outage = Outage(log, "delivery", retry_s=STORE_RETRY_S)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def deliver_once(self) -> int:
        """One claim, its sends and their settling; the number of rows settled."""
        d = self.delivery
        with self.writer.begin() as conn:
            rows = outbox.claim(conn, self.name, now=self.clock(),
                                lease_s=d.lease.total_seconds(), limit=d.batch)
        if not rows:
            return 0
        outcomes = self._send_all(rows)
        with self.writer.begin() as conn:
            outbox.settle(conn, self.name, outcomes, initial_s=d.initial_backoff.total_seconds(),
                          max_s=d.max_backoff.total_seconds())
        return len(outcomes)

    def _send_all(self, rows: Sequence[outbox.Claimed]) -> list[outbox.Outcome]:
        """Groups in parallel; within a group, requests one after another, in row order,
        and none after one that failed: a resolve never overtakes its own firing."""
        groups: dict[tuple[str, str], list[outbox.Claimed]] = {}
        for row in rows:
            groups.setdefault((row.notifier, row.group_key), []).append(row)
        futures = [self._pool.submit(self._send_group, members) for members in groups.values()]
        return [o for f in futures for o in f.result()]

    def _send_group(self, members: list[outbox.Claimed]) -> list[outbox.Outcome]:
        name = members[0].notifier
        notifier = self.notifiers.get(name)
        if notifier is None:
            return self._failed(members, f"notifier {name!r} is not configured")
        try:
            requests = build_requests(notifier, [m.message for m in members], now=self.clock())
        except ConfigError as exc:
            return self._failed(members, str(exc))
        outcomes: list[outbox.Outcome] = []
        covered: set[int] = set()
        for n, request in enumerate(requests):
            part = [members[i] for i in request.covers]
            covered.update(request.covers)
            outcomes += self._send(notifier, request, part)
            if not outcomes[-1].ok:
                later = [members[i] for r in requests[n + 1:] for i in r.covers]
                covered.update(i for r in requests[n + 1:] for i in r.covers)
                outcomes += self._failed(later, "held back behind a failed message of its "
                                                "group, to keep their order")
                break
        left = [m for i, m in enumerate(members) if i not in covered]
        return outcomes + self._failed(left, "the notifier built no request for it")

    def _failed(self, members: list[outbox.Claimed], error: str) -> list[outbox.Outcome]:
        now = self.clock()
        return [outbox.Outcome(m, False, now, 0.0, None, error) for m in members]

    def _send(self, notifier: Notifier, request: OutgoingRequest,
              members: list[outbox.Claimed]) -> list[outbox.Outcome]:
        started = self.clock()
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(request.url, content=request.body,
                                         headers=dict(request.headers),
                                         timeout=notifier.timeout.total_seconds())
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        done = self.clock()
        ms = (done - started) * 1000
        return [outbox.Outcome(m, error is None, done, ms, status, error) for m in members]

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; never dies of a send or a store failure."""
        try:
            while not stop.is_set():
                try:
                    busy = self.deliver_once()
                except Exception as exc:  # the store down, a bug in a notifier: pause, go on
                    if not self.outage.failed(exc):  # not the store: a bug, with its traceback
                        log.exception("delivery round failed")
                    stop.wait(STORE_RETRY_S)
                    continue
                self.outage.answered()
                if not busy:
                    self.wake.wait(IDLE_POLL_S)
                    self.wake.clear()
        finally:
            self.close()

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="delivery", daemon=True)
        thread.start()
        return thread
