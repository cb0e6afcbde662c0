"""/runs: what each collector run did (collectors/runs.py records them), newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api.deps import Conn, Paging, Range, Reader, json_response
from services.api.schemas_services import READ_ERRORS, RunList, RunOut
from services.store.runs import collector_runs

router = APIRouter(prefix="/runs", tags=["collector runs"])


@router.get("", response_model=RunList, responses={**READ_ERRORS})
def list_runs(
    request: Request, _: Reader, conn: Conn, span: Range, paging: Paging,
    collector: Annotated[str | None, Query(max_length=63, description="scrape, prometheus, "
                                           "clickhouse, roadmap, costs…")] = None,
    status: Annotated[Literal["ok", "partial", "failed"] | None, Query()] = None,
) -> Response:
    """Collector runs that started in [from, to) (default the last day), newest first;
    `total` counts every match."""
    page = collector_runs(conn, collector=collector, status=status,
                          start=datetime.fromtimestamp(span.start, UTC),
                          end=datetime.fromtimestamp(span.end, UTC),
                          limit=paging.limit, offset=paging.offset)
    body = RunList(total=page.total, limit=paging.limit, offset=paging.offset,
                   items=[RunOut(**row) for row in page.rows])
    return json_response(request, body.model_dump(mode="json"))
