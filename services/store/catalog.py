"""Services and SLOs by slug: the small tables the series ids point into, and their labels.

Labels say who a series belongs to, so reads can pick series by them (`matching_series`).
A service's labels are its `labels` plus `team`, `environment` and `tier` (when set) and
`service` (its slug). An SLO's are its service's team, environment and tier, then the
spec's own labels over them, plus `service` and `slo` (the slugs); they are kept in the
SLO's `labels`, worked out when it is registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.config import ServiceConfig, Settings
from services.store.models import Service, Slo
from slo.model import SLO

OWNER_LABELS = ("team", "environment", "tier")


@dataclass(frozen=True)
class ServiceInfo:
    slug: str
    name: str
    team: str = ""
    unit: str = "req/s"
    environment: str = ""
    tier: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return dict(name=self.name, team=self.team, unit=self.unit,
                    environment=self.environment, tier=self.tier, labels=dict(self.labels))


_SERVICE_FIELDS = ("name", "team", "unit", "environment", "tier", "labels")


def ensure_services(conn: Connection, services: Iterable[ServiceInfo]) -> dict[str, int]:
    """Create or update services by slug; returns slug -> id for every service given."""
    table = Service.__table__
    wanted = {s.slug: s for s in services}
    existing = {
        row.slug: row
        for row in conn.execute(select(table.c.id, table.c.slug,
                                       *(table.c[f] for f in _SERVICE_FIELDS))
                                .where(table.c.slug.in_(list(wanted))))
    }
    now = datetime.now(UTC)
    for slug, info in wanted.items():
        row, values = existing.get(slug), info.row()
        if row is None:
            _insert_new(conn, table, {"slug": slug, "created_at": now, **values})
        elif any(getattr(row, f) != v for f, v in values.items()):
            conn.execute(update(table).where(table.c.id == row.id).values(**values))
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


def _owner_labels(conn: Connection, service_id: int | None) -> dict[str, str]:
    if service_id is None:
        return {}
    table = Service.__table__
    row = conn.execute(select(*(table.c[k] for k in OWNER_LABELS))
                       .where(table.c.id == service_id)).first()
    return {} if row is None else {k: v for k, v in zip(OWNER_LABELS, row, strict=True) if v}


def ensure_slo(
    conn: Connection, *, slug: str, name: str, objective: float, period_s: int,
    service_id: int | None = None, spec_path: str = "",
    labels: Mapping[str, str] | None = None,
) -> int:
    """Create or update one SLO by slug; returns its id. Its labels are its service's team,
    environment and tier with the spec's `labels` over them."""
    table = Slo.__table__
    now = datetime.now(UTC)
    merged = {**_owner_labels(conn, service_id), **dict(labels or {})}
    values = dict(name=name, objective=objective, period_s=period_s, service_id=service_id,
                  spec_path=spec_path, updated_at=now, labels=merged)
    found = conn.execute(select(table.c.id).where(table.c.slug == slug)).scalar()
    if found is None:
        _insert_new(conn, table, {"slug": slug, **values})
        found = conn.execute(select(table.c.id).where(table.c.slug == slug)).scalar_one()
    conn.execute(update(table).where(table.c.id == found).values(**values))
    return int(found)


def _insert_new(conn: Connection, table: Any, values: Mapping[str, Any]) -> None:
    """Insert a row keyed by `slug`, or nothing if another process has just inserted it:
    two collectors starting together both found the slug missing, and the second insert
    failed its run on the unique key."""
    dialect = conn.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    conn.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=["slug"]))


def slo_ids(conn: Connection, slugs: Iterable[str] | None = None) -> dict[str, int]:
    return _ids(conn, Slo.__table__, slugs)


def slo_labels(conn: Connection, slos: Sequence[SLO]) -> dict[str, dict[str, str]]:
    """SLO id -> the labels lists filter it by: the spec's own, then the store's (its
    service's team, environment and tier and the spec's, as the collectors registered it)
    over them, and `service`."""
    table = Slo.__table__
    rows = conn.execute(select(table.c.slug, table.c.labels)
                        .where(table.c.slug.in_([s.id for s in slos])))
    stored = {r.slug: {str(k): str(v) for k, v in (r.labels or {}).items()} for r in rows}
    return {s.id: {**{str(k): str(v) for k, v in s.labels.items()}, **stored.get(s.id, {}),
                   "service": s.service} for s in slos}


# --- picking series by slug and labels ----------------------------------------------------


def _service_labels(row: Any) -> dict[str, str]:
    owner = {k: getattr(row, k) for k in OWNER_LABELS if getattr(row, k)}
    return {**dict(row.labels or {}), **owner, "service": row.slug}


def _services(conn: Connection) -> dict[int, tuple[str, dict[str, str]]]:
    table = Service.__table__
    rows = conn.execute(select(table.c.id, table.c.slug, table.c.labels,
                               *(table.c[k] for k in OWNER_LABELS)))
    return {row.id: (row.slug, _service_labels(row)) for row in rows}


def _slos(conn: Connection) -> dict[int, tuple[str, dict[str, str]]]:
    table = Slo.__table__
    owners = {id_: slug for id_, (slug, _) in _services(conn).items()}
    rows = conn.execute(select(table.c.id, table.c.slug, table.c.service_id, table.c.labels))
    return {row.id: (row.slug, {**dict(row.labels or {}), "slo": row.slug,
                                **({"service": owners[row.service_id]}
                                   if row.service_id in owners else {})})
            for row in rows}


def matching_series(conn: Connection, kind: str, *, slugs: Iterable[str] | None = None,
                    labels: Mapping[str, str] | None = None) -> dict[int, str]:
    """id -> slug of the services (`kind` "service") or SLOs ("slo") whose slug is among
    `slugs` (None: any) and whose labels hold every pair of `labels`."""
    every = _services(conn) if kind == "service" else _slos(conn)
    wanted = None if slugs is None else set(slugs)
    pairs = dict(labels or {})
    return {id_: slug for id_, (slug, have) in every.items()
            if (wanted is None or slug in wanted)
            and all(have.get(k) == v for k, v in pairs.items())}


def _environment_of_targets(settings: Settings, slug: str) -> str:
    named = {t.environment or "" for t in settings.sources.scrape.targets if t.service == slug}
    return next(iter(named)) if len(named) == 1 else ""


def service_labels(conn: Connection, settings: Settings,
                   configs: Sequence[ServiceConfig]) -> dict[str, dict[str, str]]:
    """slug -> the service's labels: the stored row's (team, environment, tier, labels, as
    the collectors registered them) with the configuration's over them, and `service`."""
    table = Service.__table__
    stored = {row.slug: row for row in conn.execute(
        select(table.c.slug, table.c.team, table.c.environment, table.c.tier, table.c.labels)
        .where(table.c.slug.in_([c.slug for c in configs])))}
    out = {}
    for c in configs:
        row = stored.get(c.slug)
        labels = {str(k): str(v) for k, v in dict(row.labels or {}).items()} if row else {}
        labels.update(c.labels)
        owner = {"team": c.team or (row.team if row else ""),
                 "environment": (row.environment if row else "")
                 or _environment_of_targets(settings, c.slug),
                 "tier": c.tier or (row.tier if row else "")}
        labels.update({k: v for k, v in owner.items() if v})
        labels["service"] = c.slug
        out[c.slug] = labels
    return out
