"""Alerts, transitions, silences and deliveries as plain rows, for the CLI, API and dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select

from services.store.models import (
    Acknowledgement,
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
ACKS = Acknowledgement.__table__
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


def transitions_between(conn: Connection, start: float, end: float) -> list[dict[str, Any]]:
    """Every alert's transitions in `[start, end)` and, before them, its last one before
    `start` (the state it was in when the range began), oldest first: what a timeline of
    the range needs."""
    before = (select(TRANSITIONS.c.alert_id, func.max(TRANSITIONS.c.at).label("at"))
              .where(TRANSITIONS.c.at < start).group_by(TRANSITIONS.c.alert_id).subquery())
    last_before = select(TRANSITIONS).join(before, and_(
        TRANSITIONS.c.alert_id == before.c.alert_id, TRANSITIONS.c.at == before.c.at))
    within = select(TRANSITIONS).where(TRANSITIONS.c.at >= start, TRANSITIONS.c.at < end)
    rows = {r.id: dict(r._mapping) for q in (last_before, within) for r in conn.execute(q)}
    return sorted(rows.values(), key=lambda r: (r["at"], r["id"]))


def _deliveries_where(query: Any, *, dead: bool, since: float | None,
                      until: float | None) -> Any:
    if dead:
        query = query.where(OUTBOX.c.status == "dead")
    if since is not None:
        query = query.where(OUTBOX.c.created_at >= since)
    if until is not None:
        query = query.where(OUTBOX.c.created_at < until)
    return query


def deliveries(conn: Connection, *, dead: bool = False, limit: int = 50,
               since: float | None = None, until: float | None = None
               ) -> list[dict[str, Any]]:
    """Outbox rows, newest first (only dead letters with `dead`; only those written in
    `[since, until)` when given)."""
    query = select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.notifier, OUTBOX.c.kind,
                   OUTBOX.c.status, OUTBOX.c.attempts, OUTBOX.c.created_at, OUTBOX.c.sent_at,
                   OUTBOX.c.next_attempt_at, OUTBOX.c.last_error)
    query = _deliveries_where(query, dead=dead, since=since, until=until)
    return [dict(r._mapping) for r in conn.execute(
        query.order_by(OUTBOX.c.id.desc()).limit(limit))]


def count_deliveries(conn: Connection, *, dead: bool = False, since: float | None = None,
                     until: float | None = None) -> int:
    """How many rows `deliveries` would list without its limit."""
    query = _deliveries_where(select(func.count()).select_from(OUTBOX), dead=dead,
                              since=since, until=until)
    return int(conn.execute(query).scalar_one())


def attempts(conn: Connection, outbox_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(
        select(ATTEMPTS).where(ATTEMPTS.c.outbox_id == outbox_id).order_by(ATTEMPTS.c.at))]


def silences(conn: Connection, *, now: float, include_expired: bool = False
             ) -> list[dict[str, Any]]:
    query = select(SILENCES)
    if not include_expired:
        query = query.where(SILENCES.c.ends_at > now)
    return [dict(r._mapping) for r in conn.execute(query.order_by(SILENCES.c.ends_at))]


def acknowledgements(conn: Connection, alert_id: int | None = None, *,
                     expiring_after: float | None = None) -> list[dict[str, Any]]:
    """Acknowledgements, newest first: of one alert, or of all; only those still in force
    after `expiring_after` when given."""
    query = select(ACKS)
    if alert_id is not None:
        query = query.where(ACKS.c.alert_id == alert_id)
    if expiring_after is not None:
        query = query.where(ACKS.c.expires_at > expiring_after)
    return [dict(r._mapping) for r in conn.execute(
        query.order_by(ACKS.c.at.desc(), ACKS.c.id.desc()))]
