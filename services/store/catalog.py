"""Services and SLOs by slug: the small tables the series ids point into."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from services.store.models import Service, Slo


@dataclass(frozen=True)
class ServiceInfo:
    slug: str
    name: str
    team: str = ""
    unit: str = "req/s"


def ensure_services(conn: Connection, services: Iterable[ServiceInfo]) -> dict[str, int]:
    """Create or update services by slug; returns slug -> id for every service given."""
    table = Service.__table__
    wanted = {s.slug: s for s in services}
    existing = {
        row.slug: row
        for row in conn.execute(select(table.c.id, table.c.slug, table.c.name, table.c.team,
                                       table.c.unit).where(table.c.slug.in_(list(wanted))))
    }
    now = datetime.now(UTC)
    for slug, info in wanted.items():
        row = existing.get(slug)
        if row is None:
            conn.execute(table.insert().values(slug=slug, name=info.name, team=info.team,
                                               unit=info.unit, created_at=now))
        elif (row.name, row.team, row.unit) != (info.name, info.team, info.unit):
            conn.execute(update(table).where(table.c.id == row.id)
                         .values(name=info.name, team=info.team, unit=info.unit))
    return service_ids(conn, wanted)


def ensure_service_ids(conn: Connection, slugs: Iterable[str]) -> dict[str, int]:
    """Ids of services by slug, creating (slug as name) only those not registered yet, so a
    collector never renames what the configuration registered."""
    wanted = list(dict.fromkeys(slugs))
    known = service_ids(conn, wanted)
    missing = [ServiceInfo(slug, slug) for slug in wanted if slug not in known]
    return {**known, **(ensure_services(conn, missing) if missing else {})}


def _ids(conn: Connection, table: Any, slugs: Iterable[str] | None) -> dict[str, int]:
    query = select(table.c.slug, table.c.id)
    if slugs is not None:
        query = query.where(table.c.slug.in_(list(slugs)))
    return {slug: id_ for slug, id_ in conn.execute(query)}


def service_ids(conn: Connection, slugs: Iterable[str] | None = None) -> dict[str, int]:
    return _ids(conn, Service.__table__, slugs)


def ensure_slo(
    conn: Connection, *, slug: str, name: str, objective: float, period_s: int,
    service_id: int | None = None, spec_path: str = "",
) -> int:
    """Create or update one SLO by slug; returns its id."""
    table = Slo.__table__
    now = datetime.now(UTC)
    values = dict(name=name, objective=objective, period_s=period_s, service_id=service_id,
                  spec_path=spec_path, updated_at=now)
    found = conn.execute(select(table.c.id).where(table.c.slug == slug)).scalar()
    if found is None:
        return int(conn.execute(table.insert().values(slug=slug, **values)).inserted_primary_key[0])
    conn.execute(update(table).where(table.c.id == found).values(**values))
    return int(found)


def slo_ids(conn: Connection, slugs: Iterable[str] | None = None) -> dict[str, int]:
    return _ids(conn, Slo.__table__, slugs)
