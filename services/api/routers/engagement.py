"""/engagement: the ClickHouse engagement query by day, as the collector stored it
(`engagement_days`: active users, events, mean session length and p95 response time per
UTC day and event type, `all` being every type together)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from services.api.deps import Conn, Paging, Reader, json_response, time_range
from services.api.schemas import NO_NUL, EngagementDayOut, EngagementOut, responses
from services.store.models import EngagementDay

router = APIRouter(prefix="/engagement", tags=["engagement"])
DAYS = EngagementDay.__table__


def _day(t: int) -> date:
    return datetime.fromtimestamp(t, UTC).date()


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@router.get("", response_model=EngagementOut, responses=responses(304, 401, 403))
def read_engagement(
    request: Request, conn: Conn, _reader: Reader, page: Paging,
    start: Annotated[str, Query(alias="from", max_length=64, description="Start: ISO 8601, "
                                "Unix seconds, now-30d or -30d; its UTC day is the first.")
                     ] = "-30d",
    end: Annotated[str, Query(alias="to", max_length=64, description="End (excluded): "
                              "days starting before it are shown.")] = "now",
    event_type: Annotated[str | None, Query(max_length=40, pattern=NO_NUL,
                                            description="One engagement "
                                            "type, or `all`; default every row.")] = None,
) -> Response:
    """Days touching [from, to), oldest first, each event type then `all`."""
    span = time_range(request, start, end)
    where = [DAYS.c.day >= _day(span.start), DAYS.c.day <= _day(span.end - 1)]
    if event_type is not None:
        where.append(DAYS.c.event_type == event_type)
    total = int(conn.execute(select(func.count()).select_from(DAYS).where(*where)).scalar_one())
    rows = conn.execute(select(DAYS).where(*where)
                        .order_by(DAYS.c.day, DAYS.c.event_type == "all", DAYS.c.event_type)
                        .limit(page.limit).offset(page.offset))
    items = [EngagementDayOut(day=r.day, event_type=r.event_type, active_users=r.active_users,
                              events=r.events, avg_session_s=_finite(r.avg_session_s),
                              p95_response_ms=_finite(r.p95_response_ms)) for r in rows]
    return json_response(request, EngagementOut(start=span.start, end=span.end, items=items,
                                                total=total, limit=page.limit,
                                                offset=page.offset))
