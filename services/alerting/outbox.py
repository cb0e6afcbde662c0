"""The durable outbox: notifications written with their transition, claimed and settled.

`enqueue` runs in the caller's transaction, so a transition and its notifications commit
or roll back together: nothing is announced that did not happen, nothing that happened
goes unannounced. A worker `claim`s due rows under a lease (on PostgreSQL the claim skips
rows another worker is claiming: `FOR UPDATE SKIP LOCKED`; SQLite has one writer at a time),
sends them, then `settle`s each: sent, retried later with exponential backoff and jitter,
or dead once its deadline has passed. A worker killed between a send and its settle leaves
the row claimed; when the lease runs out another worker sends it again. Delivery is at
least once, and every copy carries the transition's key.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.alerting.message import AlertMessage
from services.store.models import DeliveryAttempt, OutboxMessage

OUTBOX = OutboxMessage.__table__
ATTEMPTS = DeliveryAttempt.__table__


@dataclass(frozen=True)
class Envelope:
    """One message for one notifier, as the outbox keeps it."""

    message: AlertMessage
    notifier: str
    group_key: str = ""
    group_wait_s: float = 0.0
    alert_id: int | None = None
    transition_id: int | None = None
    suffix: str = ""  # makes the row unique for re-posts and repeats of one transition

    @property
    def message_key(self) -> str:
        key = f"{self.message.key}|{self.notifier}|{self.message.kind}"
        return f"{key}|{self.suffix}" if self.suffix else key


@dataclass(frozen=True)
class Claimed:
    """A row a worker holds under its lease."""

    id: int
    notifier: str
    group_key: str
    message: AlertMessage
    attempts: int
    created_at: float
    deadline_at: float


@dataclass(frozen=True)
class Outcome:
    """What one send of one claimed row came to."""

    row: Claimed
    ok: bool
    at: float
    duration_ms: float
    status_code: int | None = None
    error: str | None = None


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(OUTBOX)


def enqueue(conn: Connection, envelopes: Sequence[Envelope], *, now: float,
            deadline_s: float) -> int:
    """Write `envelopes` in the caller's transaction; one already written is left as it is.
    Returns how many rows were new."""
    if not envelopes:
        return 0
    rows = [{
        "message_key": e.message_key, "key": e.message.key, "notifier": e.notifier,
        "kind": e.message.kind, "alert_id": e.alert_id, "transition_id": e.transition_id,
        "group_key": e.group_key, "group_wait_s": e.group_wait_s,
        "payload": e.message.to_dict(), "status": "pending", "attempts": 0,
        "created_at": now, "next_attempt_at": now + e.group_wait_s,
        "deadline_at": now + deadline_s,
    } for e in envelopes]
    stmt = _insert(conn).on_conflict_do_nothing(index_elements=["message_key"])
    written = 0
    for start in range(0, len(rows), 1000):
        written += conn.execute(stmt, rows[start:start + 1000]).rowcount or 0
    return written


def claim(conn: Connection, worker: str, *, now: float, lease_s: float, limit: int
          ) -> list[Claimed]:
    """Take up to `limit` due rows for `worker` until `now + lease_s`, oldest first."""
    due = (select(OUTBOX.c.id)
           .where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now,
                  or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now))
           .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(due)]
    if not ids:
        return []
    taken = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == "pending",
               or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now))
        .values(claimed_by=worker, claimed_until=now + lease_s)
        .returning(OUTBOX.c.id, OUTBOX.c.notifier, OUTBOX.c.group_key, OUTBOX.c.payload,
                   OUTBOX.c.attempts, OUTBOX.c.created_at, OUTBOX.c.deadline_at))
    rows = [Claimed(r.id, r.notifier, r.group_key, AlertMessage.from_dict(r.payload),
                    r.attempts, r.created_at, r.deadline_at) for r in taken]
    rows.sort(key=lambda c: c.id)
    return rows


def backoff_s(attempts: int, *, initial_s: float, max_s: float,
              rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: doubling from `initial_s` up to `max_s`,
    with full jitter over the upper half so retries of many rows spread out."""
    ceiling = min(max_s, initial_s * 2 ** max(0, attempts - 1))
    return ceiling / 2 + (rng or random).random() * ceiling / 2


def settle(conn: Connection, worker: str, outcomes: Sequence[Outcome], *, initial_s: float,
           max_s: float) -> None:
    """Record every attempt and move each row on: sent, due again later, or dead."""
    if not outcomes:
        return
    conn.execute(ATTEMPTS.insert(), [
        {"outbox_id": o.row.id, "at": o.at, "worker": worker, "ok": o.ok,
         "status_code": o.status_code, "error": o.error, "duration_ms": o.duration_ms}
        for o in outcomes])
    mine = and_(OUTBOX.c.claimed_by == worker, OUTBOX.c.status == "pending")
    sent = [o for o in outcomes if o.ok]
    if sent:  # a row another worker took over after our lease ran out was still sent
        conn.execute(
            update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.status == "pending")
            .values(status="sent", sent_at=bindparam("sent"), attempts=OUTBOX.c.attempts + 1,
                    claimed_by=None, claimed_until=None, last_error=None),
            [{"row_id": o.row.id, "sent": o.at} for o in sent])
    failed = [o for o in outcomes if not o.ok]
    if failed:
        params = []
        most: dict[tuple[str, str], int] = {}
        for o in failed:
            group = (o.row.notifier, o.row.group_key)
            most[group] = max(most.get(group, 0), o.row.attempts + 1)
        retry_in = {g: backoff_s(n, initial_s=initial_s, max_s=max_s)  # one wait per group
                    for g, n in most.items()}  # keeps the order of its rows
        last = max(o.at for o in failed)
        for o in failed:
            attempts = o.row.attempts + 1
            retry_at = last + retry_in[(o.row.notifier, o.row.group_key)]
            dead = retry_at > o.row.deadline_at
            params.append({"row_id": o.row.id, "attempts": attempts,
                           "status": "dead" if dead else "pending",
                           "retry_at": o.row.deadline_at if dead else retry_at,
                           "error": (o.error or f"HTTP {o.status_code}")[:2000]})
        conn.execute(
            update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"), mine)
            .values(attempts=bindparam("attempts"), status=bindparam("status"),
                    next_attempt_at=bindparam("retry_at"), last_error=bindparam("error"),
                    claimed_by=None, claimed_until=None),
            params)


def counts(conn: Connection) -> dict[str, int]:
    """Rows per status (pending, sent, dead)."""
    return {s: n for s, n in conn.execute(
        select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))}
