"""The delivery worker: claims due outbox rows, sends them grouped, settles each.

Rows of one notifier and group key travel in one request where the receiver takes lists
(Alertmanager, the signed webhook); several workers, in one process or many, share the
outbox safely (see outbox.py). A store that is down pauses delivery, it does not end it.
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
        self.notifiers = {n.name: n for n in notifiers}
        self.delivery = delivery
        self.name = name or worker_name()
        self.clock = clock
        self.wake = threading.Event()  # set by whoever just enqueued, to skip the poll wait
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        self._pool = ThreadPoolExecutor(delivery.concurrency, thread_name_prefix="deliver")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def deliver_once(self) -> int:
        """One claim, its sends and their settling; the number of rows settled."""
        d = self.delivery
        with self.engine.begin() as conn:
            rows = outbox.claim(conn, self.name, now=self.clock(),
                                lease_s=d.lease.total_seconds(), limit=d.batch)
        if not rows:
            return 0
        outcomes = self._send_all(rows)
        with self.engine.begin() as conn:
            outbox.settle(conn, self.name, outcomes, initial_s=d.initial_backoff.total_seconds(),
                          max_s=d.max_backoff.total_seconds())
        return len(outcomes)

    def _send_all(self, rows: Sequence[outbox.Claimed]) -> list[outbox.Outcome]:
        groups: dict[tuple[str, str], list[outbox.Claimed]] = {}
        for row in rows:
            groups.setdefault((row.notifier, row.group_key), []).append(row)
        work: list[tuple[OutgoingRequest | None, list[outbox.Claimed], str | None]] = []
        for (name, _), members in groups.items():
            notifier = self.notifiers.get(name)
            if notifier is None:
                work.append((None, members, f"notifier {name!r} is not configured"))
                continue
            try:
                requests = build_requests(notifier, [m.message for m in members],
                                          now=self.clock())
            except ConfigError as exc:
                work.append((None, members, str(exc)))
                continue
            covered: set[int] = set()
            for request in requests:
                work.append((request, [members[i] for i in request.covers], None))
                covered.update(request.covers)
            left = [m for i, m in enumerate(members) if i not in covered]
            if left:
                work.append((None, left, "the notifier built no request for it"))
        futures = [self._pool.submit(self._send, request, members, error)
                   for request, members, error in work]
        return [o for f in futures for o in f.result()]

    def _send(self, request: OutgoingRequest | None, members: list[outbox.Claimed],
              error: str | None) -> list[outbox.Outcome]:
        started = self.clock()
        status: int | None = None
        if request is not None:
            notifier = self.notifiers[members[0].notifier]
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
                except Exception:  # the store down, a bug in a notifier: pause, go on
                    log.exception("delivery round failed")
                    stop.wait(STORE_RETRY_S)
                    continue
                if not busy:
                    self.wake.wait(IDLE_POLL_S)
                    self.wake.clear()
        finally:
            self.close()

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="delivery", daemon=True)
        thread.start()
        return thread
