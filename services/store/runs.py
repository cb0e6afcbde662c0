"""Reading collector runs back (collectors/runs.py writes them): newest first, filtered.

Times come back as aware UTC datetimes whatever the backend (SQLite drops the zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from services.store.models import CollectorRun

RUNS = CollectorRun.__table__
STATUSES = ("ok", "partial", "failed")


@dataclass(frozen=True)
class RunPage:
    rows: list[dict[str, Any]]
    total: int  # runs matching the filters, on every page


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def collector_runs(conn: Connection, *, collector: str | None = None,
                   status: str | None = None, start: datetime | None = None,
                   end: datetime | None = None, limit: int = 100, offset: int = 0
                   ) -> RunPage:
    """Runs that started in [start, end), newest first (then by id, newest first), with
    how many match in all; each row also has `duration_s` (None while unfinished) and its
    gaps as a list."""
    where = []
    if collector is not None:
        where.append(RUNS.c.collector == collector)
    if status is not None:
        where.append(RUNS.c.status == status)
    if start is not None:
        where.append(RUNS.c.started_at >= start)
    if end is not None:
        where.append(RUNS.c.started_at < end)
    total = conn.execute(select(func.count()).select_from(RUNS).where(*where)).scalar_one()
    query = (select(RUNS).where(*where)
             .order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit).offset(offset))
    rows = []
    for row in conn.execute(query).mappings():
        out = dict(row)
        out["started_at"] = _aware(out["started_at"])
        out["finished_at"] = _aware(out["finished_at"])
        out["duration_s"] = ((out["finished_at"] - out["started_at"]).total_seconds()
                             if out["finished_at"] is not None else None)
        gaps = out["gaps"]
        out["gaps"] = list(gaps.get("gaps", [])) if isinstance(gaps, dict) else list(gaps or [])
        rows.append(out)
    return RunPage(rows, int(total))
