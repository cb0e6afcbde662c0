"""Markers: deploys, incidents and other events, as Grafana's annotations.

A marker is a point in time (`at`) or a span [`at`, `end`), of one service or of the whole
platform (service ''), with a text, free tags and its author. Charts draw them; SLO reports
attribute the budget spent inside each one to it (`attribution_markers`):

    a marker with an end        its span
    an incident without an end  still open: from `at` to the report's time
    any other point marker      the hour after it (`POINT_SPAN_S`): what a deploy is
                                held responsible for

A platform-wide marker concerns every service: a filter by service keeps it.

    add_marker(conn, kind=..., at=..., text=..., now=...)   -> StoredMarker (InputError naming
                                                                the field otherwise)
    list_markers(conn, start=..., end=..., services=..., kind=...)   overlapping [start, end)
    get_marker(conn, id) / delete_marker(conn, id)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select

from services.errors import InputError
from services.store.models import Marker, Service
from services.timerange import LATEST
from slo.attribution import Marker as AttributionMarker

MARKERS = Marker.__table__
KINDS = ("deploy", "incident", "event")
POINT_SPAN_S = 3600  # a point marker (a deploy) answers for the hour after it
MAX_TEXT = 10_000
MAX_TAGS = 20
MAX_TAG = 100
MAX_AUTHOR = 200
SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredMarker:
    """A marker as stored; `end` is None for a point in time. Times in Unix seconds."""

    id: int
    kind: str
    service: str
    at: int
    end: int | None
    text: str
    tags: tuple[str, ...]
    author: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tags": list(self.tags)}

    def span(self, until: int) -> tuple[int, int]:
        """[start, end) this marker answers for in budget attribution (see the module
        docstring); `until` is the report's time, where an open incident stops."""
        if self.end is not None:
            return self.at, self.end
        if self.kind == "incident":
            return self.at, max(until, self.at + 60)
        return self.at, self.at + POINT_SPAN_S

    @property
    def label(self) -> str:
        """How a report names it: `deploy #3 payment-service: v1.4.2 rollout`."""
        first = self.text.splitlines()[0] if self.text else ""
        short = first if len(first) <= 60 else first[:59] + "…"
        where = f" {self.service}" if self.service else ""
        return f"{self.kind} #{self.id}{where}: {short}"


def _time(value: int, field: str) -> int:
    if not 0 <= value <= LATEST:
        raise InputError(f"{value} is outside 1970-01-01 .. 9999-12-31", field=field)
    return value


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag:
            raise InputError("a tag cannot be empty", field="tags")
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise InputError(f"{tag[:40]!r}: a tag is at most {MAX_TAG} printable characters",
                             field="tags")
        out.setdefault(tag, None)
    if len(out) > MAX_TAGS:
        raise InputError(f"{len(out)} tags; at most {MAX_TAGS}", field="tags")
    return tuple(out)


def add_marker(conn: Connection, *, kind: str, at: int, text: str, now: float,
               end: int | None = None, service: str = "", tags: Iterable[str] = (),
               author: str = "", known_services: Collection[str] | None = None
               ) -> StoredMarker:
    """Store a marker; InputError naming the field when one is wrong. With
    `known_services`, a service outside it is refused (a typo would orphan the marker)."""
    if kind not in KINDS:
        raise InputError(f"expected one of {', '.join(KINDS)}, got {kind[:40]!r}", field="kind")
    if service:
        if not SERVICE.fullmatch(service):
            raise InputError(f"{service[:70]!r} is not a service slug (lower-case letters, "
                             "digits and -, at most 63)", field="service")
        if known_services is not None and service not in known_services:
            known = ", ".join(sorted(known_services)) or "none"
            raise InputError(f"no service {service!r}; known: {known}", field="service")
    _time(at, "at")
    if end is not None and _time(end, "end") <= at:
        raise InputError(f"{end} is not after at {at}", field="end")
    if not text.strip():
        raise InputError("a marker says what happened: give a text", field="text")
    if len(text) > MAX_TEXT:
        raise InputError(f"{len(text):,} characters; at most {MAX_TEXT:,}", field="text")
    if len(author) > MAX_AUTHOR:
        raise InputError(f"{len(author)} characters; at most {MAX_AUTHOR}", field="author")
    row = dict(kind=kind, service=service, at=at, end_at=end, text=text,
               tags=list(_tags(tags)), author=author, created_at=float(now))
    marker_id = int(conn.execute(insert(MARKERS).values(**row)).inserted_primary_key[0])
    found = get_marker(conn, marker_id)
    assert found is not None
    return found


def _marker(row: Any) -> StoredMarker:
    return StoredMarker(int(row.id), row.kind, row.service, int(row.at),
                        None if row.end_at is None else int(row.end_at), row.text,
                        tuple(row.tags or ()), row.author, float(row.created_at))


def get_marker(conn: Connection, marker_id: int) -> StoredMarker | None:
    row = conn.execute(select(MARKERS).where(MARKERS.c.id == marker_id)).first()
    return None if row is None else _marker(row)


def delete_marker(conn: Connection, marker_id: int) -> bool:
    """Remove a marker; False when there is none with that id."""
    return bool(conn.execute(delete(MARKERS).where(MARKERS.c.id == marker_id)).rowcount)


def list_markers(conn: Connection, *, start: int, end: int,
                 services: Collection[str] | None = None, kind: str | None = None
                 ) -> list[StoredMarker]:
    """Markers that touch [start, end), by time then id: a span overlapping it, or a point
    inside it. `services` keeps those services' markers and the platform-wide ones."""
    c = MARKERS.c
    query = select(MARKERS).where(
        c.at < end, or_(c.end_at > start, and_(c.end_at.is_(None), c.at >= start)))
    if services is not None:
        query = query.where(c.service.in_(["", *services]))
    if kind is not None:
        query = query.where(c.kind == kind)
    return [_marker(r) for r in conn.execute(query.order_by(c.at, c.id))]


def stored_services(conn: Connection) -> set[str]:
    """Slugs of the services the store knows (registered by collectors)."""
    return set(conn.execute(select(Service.__table__.c.slug)).scalars())


def services_matching(conn: Connection, *, team: str | None = None,
                      environment: str | None = None,
                      labels: dict[str, str] | None = None) -> set[str]:
    """Slugs of the stored services whose team, environment and labels are all those
    given (a service's labels: its `labels` plus team, environment and tier)."""
    t = Service.__table__.c
    out = set()
    for row in conn.execute(select(t.slug, t.team, t.environment, t.tier, t.labels)):
        have = {**(row.labels or {}), "team": row.team, "environment": row.environment,
                "tier": row.tier, "service": row.slug}
        wanted = {**(labels or {}), **({"team": team} if team else {}),
                  **({"environment": environment} if environment else {})}
        if all(have.get(k) == v for k, v in wanted.items()):
            out.add(row.slug)
    return out


def attribution_markers(conn: Connection, *, service: str, start: int, end: int
                        ) -> list[AttributionMarker]:
    """The markers of `service` (and the platform's) whose span (`StoredMarker.span`)
    touches [start, end), as the SLO engine's budget attribution takes them; `end` is the
    report's time, where open incidents stop."""
    c = MARKERS.c
    query = select(MARKERS).where(
        c.service.in_(["", service]), c.at < end,
        or_(c.end_at > start,
            and_(c.end_at.is_(None), or_(c.kind == "incident", c.at > start - POINT_SPAN_S))))
    out = []
    for m in map(_marker, conn.execute(query.order_by(c.at, c.id))):
        first, last = m.span(end)
        if last > start:
            out.append(AttributionMarker(m.label, first, last, m.kind))
    return out
