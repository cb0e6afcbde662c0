"""/costs: a month's stored cost lines, per source, with everything computed from them —
annual figures, totals, cost per user, the cost-weighted optimisation potential and the
cost per million requests the platform served that month.

The figures are `services.documents.costs.summarize_costs` on the stored lines (read by
`services.store.document_rows`, as the dashboard reads them), so they equal `apollo costs
FILE --json` for the file the lines came from. Requests are every service's requests in
the month (the store's service metrics, at hour resolution, which
equals the minute sums); a month still running counts the requests so far.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from services.api.deps import Conn, Reader, bad_parameter, json_response, state
from services.api.schemas import (
    CostFlagOut,
    CostLineOut,
    CostSourceOut,
    CostsOut,
    CostTotalOut,
    responses,
)
from services.documents.costs import (
    CostSummary,
    CostTable,
    cost_per_million,
    month_window,
    parse_month,
    requests_served,
    summarize_costs,
    tables_from_rows,
)
from services.store import document_rows

router = APIRouter(prefix="/costs", tags=["costs"])
FIRST_MONTH, LAST_MONTH = date(1970, 1, 1), date(9998, 12, 1)


def stored_tables(conn: Connection, month: date) -> list[CostTable]:
    """The month's lines, one table per source, as the collector read them."""
    return tables_from_rows(document_rows.cost_rows(conn, month),
                            document_rows.stated_totals(conn, month))


def month_requests(conn: Connection, start: datetime, end: datetime) -> float:
    """The platform's requests in [start, end): services counted in requests (a
    database's queries are another unit), as the Cost page counts them."""
    return requests_served(document_rows.served_by_service(conn, start, end))


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _source(summary: CostSummary, requests: float) -> CostSourceOut:
    return CostSourceOut(
        source=summary.table.source, currency=summary.table.currency,
        lines=[CostLineOut(
            component=f.line.component, monthly_cost=float(f.line.monthly_cost),
            annual_cost=float(f.annual_cost), cost_per_user=_f(f.cost_per_user),
            share=_f(f.share), potential_ratio=_f(f.line.potential_ratio),
            potential_monthly=_f(f.line.potential_monthly),
            potential_note=f.line.potential_note,
            per_million_requests=cost_per_million(f.line.monthly_cost, requests))
            for f in summary.lines],
        total=CostTotalOut(
            monthly_cost=float(summary.monthly_total), annual_cost=float(summary.annual_total),
            cost_per_user=_f(summary.cost_per_user), potential_ratio=_f(summary.potential_ratio),
            potential_monthly=_f(summary.potential_monthly),
            potential_coverage=_f(summary.potential_coverage),
            per_million_requests=cost_per_million(summary.monthly_total, requests)),
        flags=[CostFlagOut(kind=f.kind, line=f.line, component=f.component, field=f.field,
                           stated=f.stated, computed=f.computed, message=f.message)
               for f in summary.flags])


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
    months = document_rows.cost_months(conn)
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
