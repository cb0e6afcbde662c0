"""Silences and acknowledgements: who said to be quiet, why, and until when.

A silence holds Alertmanager-style matchers; an alert whose labels match all of them still
changes state, but nobody is notified while the silence lasts. An acknowledgement belongs
to one episode of one alert and stops its repeats until it expires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from services.errors import InputError
from services.store.models import Acknowledgement, Alert, Silence
from slo.errors import SpecError
from slo.promql import Matcher, parse_selector

SILENCES = Silence.__table__
ACKS = Acknowledgement.__table__
ALERTS = Alert.__table__


def parse_matchers(texts: Sequence[str], *, field: str = "matchers") -> tuple[Matcher, ...]:
    """`['slo="x"', 'severity=~"page|ticket"']` -> matchers; InputError naming `field`."""
    if not texts:
        raise InputError(f"{field}: a silence needs at least one matcher")
    try:
        return parse_selector("{" + ",".join(texts) + "}", field=field).matchers
    except SpecError as exc:
        raise InputError(f"{field}: {exc.reason}") from None


@dataclass(frozen=True)
class Silences:
    """The silences active at one instant."""

    active: tuple[tuple[int, tuple[Matcher, ...]], ...]

    @classmethod
    def load(cls, conn: Connection, now: float) -> Silences:
        rows = conn.execute(select(SILENCES.c.id, SILENCES.c.matchers).where(
            SILENCES.c.starts_at <= now, SILENCES.c.ends_at > now))
        return cls(tuple((r.id, parse_matchers(r.matchers)) for r in rows))

    def silences(self, labels: Mapping[str, str]) -> int | None:
        """The id of a silence covering `labels`, or None."""
        for silence_id, matchers in self.active:
            if all(m.matches(labels.get(m.label, "")) for m in matchers):
                return silence_id
        return None


def add_silence(conn: Connection, matchers: Sequence[str], *, author: str, reason: str,
                starts_at: float, ends_at: float, now: float) -> int:
    parse_matchers(matchers)
    if not author.strip():
        raise InputError("author: who silences must be said")
    if not reason.strip():
        raise InputError("reason: a silence needs a reason")
    if ends_at <= starts_at:
        raise InputError("ends_at: must be after starts_at")
    result = conn.execute(insert(SILENCES).values(
        matchers=list(matchers), author=author, reason=reason, starts_at=starts_at,
        ends_at=ends_at, created_at=now))
    return int(result.inserted_primary_key[0])


def expire_silence(conn: Connection, silence_id: int, *, now: float) -> bool:
    """End a silence now; False when there is no such active silence."""
    return bool(conn.execute(update(SILENCES).where(
        SILENCES.c.id == silence_id, SILENCES.c.ends_at > now).values(ends_at=now)).rowcount)


def acknowledge(conn: Connection, alert_id: int, *, author: str, reason: str, now: float,
                expires_at: float) -> int:
    """Acknowledge the current episode of alert `alert_id`."""
    episode = conn.execute(select(ALERTS.c.episode).where(ALERTS.c.id == alert_id)).scalar()
    if episode is None:
        raise InputError(f"alert {alert_id}: no such alert")
    if not author.strip():
        raise InputError("author: who acknowledges must be said")
    if expires_at <= now:
        raise InputError("expires_at: must be in the future")
    result = conn.execute(insert(ACKS).values(
        alert_id=alert_id, episode=episode, author=author, reason=reason, at=now,
        expires_at=expires_at))
    return int(result.inserted_primary_key[0])
