"""Reads of the document rows: roadmap items and snapshots, cost lines, engagement days,
and the requests a cost is divided by.

One home for the SQL the API (`/roadmap`, `/costs`) and the dashboard's pages share;
`services.documents` turns these rows into trees and summaries. Rows come back as small
named tuples with times as aware UTC datetimes (SQLite hands back naive ones) and months
as dates, so callers never see a driver's types and caches can pickle them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Connection, select

from services.store import queries
from services.store.models import (
    CostLine,
    CostStatedTotal,
    EngagementDay,
    RoadmapItem,
    RoadmapSnapshot,
    Service,
)

ITEMS = RoadmapItem.__table__
SNAPSHOTS = RoadmapSnapshot.__table__
LINES = CostLine.__table__
STATED_TOTALS = CostStatedTotal.__table__
DAYS = EngagementDay.__table__
SERVICES = Service.__table__
ENGAGEMENT_COLUMNS = ("day", "event_type", "active_users", "events", "avg_session_s",
                      "p95_response_ms")


def utc(value: datetime) -> datetime:
    """The store writes UTC; SQLite hands it back naive."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored_date(value: Any) -> date:
    """A Date column as a date (SQLite may hand back text)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- roadmaps ---------------------------------------------------------------------------


class ItemRow(NamedTuple):
    document: str
    key: str
    parent_key: str | None
    phase: str
    title: str
    depth: int
    done: bool
    target: str | None
    line: int
    updated_at: datetime


class SnapshotRow(NamedTuple):
    document: str
    taken_at: datetime
    phase: str
    done: int
    total: int


def roadmap_items(conn: Connection, document: str | None = None) -> dict[str, list[ItemRow]]:
    """Every stored document's checklist rows (or one document's), by document name."""
    query = select(*(ITEMS.c[f] for f in ItemRow._fields))
    if document is not None:
        query = query.where(ITEMS.c.document == document)
    out: dict[str, list[ItemRow]] = defaultdict(list)
    for row in conn.execute(query.order_by(ITEMS.c.document, ITEMS.c.line)):
        out[row.document].append(ItemRow(**{**row._mapping, "done": bool(row.done),
                                             "updated_at": utc(row.updated_at)}))
    return dict(sorted(out.items()))


def roadmap_snapshots(conn: Connection, document: str) -> list[SnapshotRow]:
    """A document's phase counts each time they changed, oldest first."""
    rows = conn.execute(select(*(SNAPSHOTS.c[f] for f in SnapshotRow._fields))
                        .where(SNAPSHOTS.c.document == document)
                        .order_by(SNAPSHOTS.c.taken_at, SNAPSHOTS.c.phase))
    return [SnapshotRow(r.document, utc(r.taken_at), r.phase, int(r.done), int(r.total))
            for r in rows]


# --- costs ------------------------------------------------------------------------------


class CostRow(NamedTuple):
    source: str
    month: date
    component: str
    monthly_cost: Any  # Numeric as the driver gives it; documents.costs makes it cents
    currency: str
    potential_ratio: float | None
    potential_note: str
    line: int | None = None  # its row in the file, and what the file states of it
    stated_annual: str | None = None  # decimal text as read
    stated_per_user: str | None = None


class StatedTotalRow(NamedTuple):
    """A source's Total row for a month, as stored."""

    source: str
    month: date
    line: int
    monthly_cost: str | None  # decimal text as read
    annual_cost: str | None
    cost_per_user: str | None
    potential_percent: str | None


def cost_months(conn: Connection) -> list[date]:
    """Months with stored cost lines, newest first."""
    rows = conn.execute(select(LINES.c.month).distinct().order_by(LINES.c.month.desc()))
    return [stored_date(r.month) for r in rows]


def cost_rows(conn: Connection, first: date, last: date | None = None) -> list[CostRow]:
    """The lines of the months from `first` to `last` (both first days; default: `first`
    alone), by month, source and the order they were written."""
    query = select(*(LINES.c[f] for f in CostRow._fields)).where(
        LINES.c.month >= first, LINES.c.month <= (last or first))
    rows = conn.execute(query.order_by(LINES.c.month, LINES.c.source, LINES.c.id))
    return [CostRow(r.source, stored_date(r.month), r.component, r.monthly_cost, r.currency,
                    r.potential_ratio, r.potential_note or "", r.line, r.stated_annual,
                    r.stated_per_user) for r in rows]


def stated_totals(conn: Connection, first: date, last: date | None = None
                  ) -> list[StatedTotalRow]:
    """The Total rows sources stated for the months from `first` to `last`."""
    c = STATED_TOTALS.c
    rows = conn.execute(select(*(c[f] for f in StatedTotalRow._fields))
                        .where(c.month >= first, c.month <= (last or first))
                        .order_by(c.month, c.source))
    return [StatedTotalRow(r.source, stored_date(r.month), r.line, r.monthly_cost,
                           r.annual_cost, r.cost_per_user, r.potential_percent) for r in rows]


def served_by_service(conn: Connection, start: datetime, end: datetime) -> pd.DataFrame:
    """What each service served in [start, end) (`service`, `unit`, `served`): requests for
    `req/s` services, queries for `queries/s` ones, as the catalog's unit says. Hour reads
    equal the minute sums."""
    columns = ["service", "unit", "served"]
    if end <= start:
        return pd.DataFrame(columns=columns)
    frame = queries.service_metrics(conn, start, end, resolution="hour")
    if frame.empty:
        return pd.DataFrame(columns=columns)
    served = frame.groupby("service", sort=True)["requests"].sum()
    units = dict(conn.execute(select(SERVICES.c.slug, SERVICES.c.unit)).all())
    return pd.DataFrame({"service": served.index, "unit": [units.get(s, "") for s in served.index],
                         "served": served.to_numpy(dtype=float)})


# --- engagement -------------------------------------------------------------------------


def engagement_days(conn: Connection, first: date, last: date) -> pd.DataFrame:
    """The stored engagement rollup of the days from `first` to `last` (inclusive), every
    event type and `all`, by day; NULL figures read NaN (missing, never 0)."""
    rows = conn.execute(select(*(DAYS.c[f] for f in ENGAGEMENT_COLUMNS))
                        .where(DAYS.c.day >= first, DAYS.c.day <= last)
                        .order_by(DAYS.c.day, DAYS.c.event_type)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(ENGAGEMENT_COLUMNS))
    frame["day"] = [stored_date(d) for d in frame["day"]]
    for column in ENGAGEMENT_COLUMNS[2:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame
