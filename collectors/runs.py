"""What one collector run did, recorded in the store's `collector_runs`.

Every collector returns a `RunResult`; the scheduler (or `apollo collect --once`) writes it
with `record_run`, so the dashboard and `/metrics` can show duration, samples, errors and
gaps per source and target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from services.store.models import CollectorRun
from services.store.rollup import affected_rows


@dataclass
class RunResult:
    collector: str  # scrape, prometheus, clickhouse, roadmap, costs
    target: str  # a URL, a file, a DSN
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    samples: int = 0
    errors: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)  # {"start": s, "end": s}

    @property
    def status(self) -> str:
        if not self.errors:
            return "ok"
        return "partial" if self.samples else "failed"

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def finish(self) -> RunResult:
        self.finished_at = datetime.now(UTC)
        return self


def record_run(conn: Connection, run: RunResult) -> int:
    """Write one run; returns its id."""
    table = CollectorRun.__table__
    result = conn.execute(table.insert().values(
        collector=run.collector, target=_storable(run.target, TARGET_CHARS),
        started_at=run.started_at, finished_at=run.finished_at, status=run.status,
        samples=run.samples, errors=len(run.errors), gaps={"gaps": run.gaps},
        message=_storable("\n".join(run.errors[:20])),
    ))
    return int(result.inserted_primary_key[0])


TARGET_CHARS = 500  # collector_runs.target


def _storable(text: str, limit: int | None = None) -> str:
    """Text every store takes: a NUL (PostgreSQL refuses it; a hostile page's error can
    quote one) shown as `\\x00`, cut to `limit` characters with an ellipsis."""
    text = text.replace("\x00", "\\x00")
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


def prune_runs(conn: Connection, *, before: datetime) -> int:
    """Delete runs that started before `before` (retention); returns how many."""
    table = CollectorRun.__table__
    return affected_rows(conn.execute(table.delete().where(table.c.started_at < before)))


def lease_held(holder: str | None, until: float | None, now: float | None = None) -> str:
    """Who holds a lease and until when, as a run skipped for it says (scrape targets and
    ClickHouse DSNs alike)."""
    if holder is None:
        return "lease held by nobody now (given back meanwhile: the next run takes it)"
    if until is None:
        return f"lease held by {holder} (without expiry)"
    at = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
    left = max(0.0, until - (time.time() if now is None else now))
    return f"lease held by {holder} until {at.replace('+00:00', 'Z')} (in {left:.0f} s)"
