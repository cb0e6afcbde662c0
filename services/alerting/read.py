"""Alerts, transitions, silences and deliveries as plain rows, for the CLI, API and dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from services.store.models import (
    Alert,
    AlertTransition,
    DeliveryAttempt,
    OutboxMessage,
    Silence,
)

ALERTS = Alert.__table__
TRANSITIONS = AlertTransition.__table__
OUTBOX = OutboxMessage.__table__
ATTEMPTS = DeliveryAttempt.__table__
SILENCES = Silence.__table__
STATE_ORDER = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}


def alerts(conn: Connection, *, state: str | None = None, source: str | None = None,
           slo: str | None = None) -> list[dict[str, Any]]:
    """Apollo's and Alertmanager's alerts, firing first, then by name."""
    query = select(ALERTS)
    if state is not None:
        query = query.where(ALERTS.c.state == state)
    if source is not None:
        query = query.where(ALERTS.c.source == source)
    if slo is not None:
        query = query.where(ALERTS.c.slo == slo)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    rows.sort(key=lambda r: (STATE_ORDER.get(r["state"], 9), r["name"], r["severity"]))
    return rows


def transitions(conn: Connection, alert_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    """An alert's transitions, newest first."""
    return [dict(r._mapping) for r in conn.execute(
        select(TRANSITIONS).where(TRANSITIONS.c.alert_id == alert_id)
        .order_by(TRANSITIONS.c.at.desc(), TRANSITIONS.c.id.desc()).limit(limit))]


def deliveries(conn: Connection, *, dead: bool = False, limit: int = 50
               ) -> list[dict[str, Any]]:
    """Outbox rows, newest first (only dead letters with `dead`)."""
    query = select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.notifier, OUTBOX.c.kind,
                   OUTBOX.c.status, OUTBOX.c.attempts, OUTBOX.c.created_at, OUTBOX.c.sent_at,
                   OUTBOX.c.next_attempt_at, OUTBOX.c.last_error)
    if dead:
        query = query.where(OUTBOX.c.status == "dead")
    return [dict(r._mapping) for r in conn.execute(
        query.order_by(OUTBOX.c.id.desc()).limit(limit))]


def attempts(conn: Connection, outbox_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(
        select(ATTEMPTS).where(ATTEMPTS.c.outbox_id == outbox_id).order_by(ATTEMPTS.c.at))]


def silences(conn: Connection, *, now: float, include_expired: bool = False
             ) -> list[dict[str, Any]]:
    query = select(SILENCES)
    if not include_expired:
        query = query.where(SILENCES.c.ends_at > now)
    return [dict(r._mapping) for r in conn.execute(query.order_by(SILENCES.c.ends_at))]
