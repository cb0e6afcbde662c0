"""/costs: a month's stored cost lines, per source, with everything computed from them —
annual figures, totals, cost per user, the cost-weighted optimisation potential and the
cost per million requests the platform served that month.

The figures are `services.documents.costs.summarize_costs` on the stored lines, so they
equal `apollo costs FILE --json` for the file the lines came from. Requests are every
service's requests in the month (the store's service metrics, at hour resolution, which
equals the minute sums); a month still running counts the requests so far.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection, select

from services.api.deps import Conn, Reader, bad_parameter, json_response, state
from services.api.schemas import (
    CostLineOut,
    CostSourceOut,
    CostsOut,
    CostTotalOut,
    responses,
)
from services.documents.costs import (
    CENT,
    CostLine,
    CostSummary,
    CostTable,
    month_window,
    parse_month,
    summarize_costs,
)
from services.store import queries
from services.store.models import CostLine as CostLineRow

router = APIRouter(prefix="/costs", tags=["costs"])
LINES = CostLineRow.__table__
MILLION = Decimal(1_000_000)
FIRST_MONTH, LAST_MONTH = date(1970, 1, 1), date(9998, 12, 1)


def _stored_month(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def stored_months(conn: Connection) -> list[date]:
    rows = conn.execute(select(LINES.c.month).distinct().order_by(LINES.c.month.desc()))
    return [_stored_month(r.month) for r in rows]


def stored_tables(conn: Connection, month: date) -> list[CostTable]:
    """The month's lines, one table per source, as the collector read them."""
    by_source: dict[str, list[CostLine]] = defaultdict(list)
    rows = conn.execute(select(LINES).where(LINES.c.month == month)
                        .order_by(LINES.c.source, LINES.c.id))
    for row in rows:
        ratio = None if row.potential_ratio is None else Decimal(str(row.potential_ratio))
        by_source[row.source].append(CostLine(
            component=row.component, monthly_cost=Decimal(str(row.monthly_cost)).quantize(CENT),
            currency=row.currency, potential_ratio=ratio, potential_note=row.potential_note,
            line=None))
    return [CostTable(source=source, currency=lines[0].currency, lines=tuple(lines))
            for source, lines in sorted(by_source.items())]


def month_requests(conn: Connection, start: datetime, end: datetime) -> float:
    """Requests every service served in [start, end)."""
    if end <= start:
        return 0.0
    frame = queries.service_metrics(conn, start, end, resolution="hour")
    return float(frame["requests"].sum()) if len(frame) else 0.0


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _per_million(cost: Decimal, requests: float) -> float | None:
    if requests <= 0:
        return None
    return float(cost * MILLION / Decimal(repr(requests)))


def _source(summary: CostSummary, requests: float) -> CostSourceOut:
    return CostSourceOut(
        source=summary.table.source, currency=summary.table.currency,
        lines=[CostLineOut(
            component=f.line.component, monthly_cost=float(f.line.monthly_cost),
            annual_cost=float(f.annual_cost), cost_per_user=_f(f.cost_per_user),
            share=_f(f.share), potential_ratio=_f(f.line.potential_ratio),
            potential_monthly=_f(f.line.monthly_cost * f.line.potential_ratio)
            if f.line.potential_ratio is not None else None,
            potential_note=f.line.potential_note,
            per_million_requests=_per_million(f.line.monthly_cost, requests))
            for f in summary.lines],
        total=CostTotalOut(
            monthly_cost=float(summary.monthly_total), annual_cost=float(summary.annual_total),
            cost_per_user=_f(summary.cost_per_user), potential_ratio=_f(summary.potential_ratio),
            potential_monthly=_f(summary.potential_monthly),
            potential_coverage=_f(summary.potential_coverage),
            per_million_requests=_per_million(summary.monthly_total, requests)))


@router.get("", response_model=CostsOut, responses=responses(304, 401, 403))
def read_costs(
    request: Request, conn: Conn, _reader: Reader,
    month: Annotated[str | None, Query(max_length=10, description="YYYY-MM; default: the "
                                       "newest month with stored costs.")] = None,
    mau: Annotated[int | None, Query(ge=1, le=10**12, description="Monthly active users, "
                                     "for cost per user (none: no per-user figures).")] = None,
) -> Response:
    """Each source's lines for the month with annual figures, cost per user, potential
    savings and cost per million requests, and the totals computed from them."""
    now = state(request).clock()
    months = stored_months(conn)
    if month is not None:
        try:
            first = parse_month(month)
        except ValueError as exc:
            raise bad_parameter("month", str(exc).removeprefix("--month: ")) from None
        if not FIRST_MONTH <= first <= LAST_MONTH:
            raise bad_parameter("month", f"expected a month from {FIRST_MONTH:%Y-%m} to "
                                         f"{LAST_MONTH:%Y-%m}, got {month!r}")
    else:
        today = datetime.fromtimestamp(now, UTC).date()
        first = months[0] if months else today.replace(day=1)
    start, after = month_window(first)
    until = min(after, datetime.fromtimestamp(math.floor(now) // 60 * 60, UTC))
    requests = month_requests(conn, start, until)
    sources = [_source(summarize_costs(t, mau=mau), requests)
               for t in stored_tables(conn, first)]
    return json_response(request, CostsOut(
        month=first, months=months, mau=mau, requests=requests,
        requests_start=int(start.timestamp()),
        requests_end=int(max(start, until).timestamp()),
        partial_month=until < after, sources=sources))
