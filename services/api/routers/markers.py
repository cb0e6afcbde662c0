"""Markers: deploys, incidents and other events, as Grafana's annotations.

    POST   /markers          (write) store one -> 201
    GET    /markers          markers touching [from, to), by service, team, kind; paged, ETag
    GET    /markers/{id}
    DELETE /markers/{id}     (write)

SLO reports attribute the budget spent inside each marker to it (services/store/markers.py
says which span a point marker answers for).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from services.api.deps import Conn, LabelFilter, Paging, Range, Reader, Writer, json_response, state
from services.api.schemas_writes import (
    NOT_JSON,
    READ_ERRORS,
    WRITE_ERRORS,
    BoundedRoute,
    MarkerDeleted,
    MarkerIn,
    MarkerKind,
    MarkerOut,
    MarkerPage,
    bad_body,
    problem,
    time_text,
)
from services.errors import InputError
from services.store import markers
from services.timerange import parse_time

router = APIRouter(prefix="/markers", tags=["markers"], route_class=BoundedRoute)
NOT_FOUND = {404: problem("No marker with that id")}


def _out(marker: markers.StoredMarker) -> MarkerOut:
    return MarkerOut(**{**marker.to_dict(), "service": marker.service or None})


@router.post("", status_code=201, response_model=MarkerOut,
             responses={**WRITE_ERRORS, **NOT_JSON})
def add_marker(body: MarkerIn, request: Request, response: Response, _: Writer) -> MarkerOut:
    """Store a marker; `at` and `end` in the one time grammar (relative forms count from
    now). A service must be one the platform knows."""
    s = state(request)
    now = s.clock()
    try:
        at = parse_time(time_text(body.at), now, field="at")
        end = None if body.end is None else parse_time(time_text(body.end), now, field="end")
        with s.engine.begin() as conn:
            known = set(s.settings.slugs) | markers.stored_services(conn)
            marker = markers.add_marker(
                conn, kind=body.kind, service=body.service or "", at=at, end=end,
                text=body.text, tags=body.tags, author=body.author or "api", now=now,
                known_services=known or None)
    except InputError as exc:
        raise bad_body(exc.field, exc.reason) from None
    response.headers["Location"] = f"{request.url.path}/{marker.id}"
    return _out(marker)


@router.get("", response_model=MarkerPage,
            responses={**READ_ERRORS, 304: {"description": "Not modified (If-None-Match)"}})
def list_markers(
    request: Request, conn: Conn, _: Reader, span: Range, labels: LabelFilter, page: Paging,
    kind: Annotated[MarkerKind | None, Query(description="Only this kind.")] = None,
) -> Response:
    """Markers touching [from, to): spans that overlap it, points inside it, oldest first.
    A filter by service, team, environment or label keeps the matching services' markers
    and the platform-wide ones."""
    services: set[str] | None = None
    wanted = labels.as_dict()
    if wanted:
        services = markers.services_matching(conn, team=labels.team,
                                             environment=labels.environment,
                                             labels=dict(labels.extra))
    if labels.service:
        services = {labels.service} & services if services is not None else {labels.service}
    found = markers.list_markers(conn, start=span.start, end=span.end, services=services,
                                 kind=kind)
    items, total = page.slice(found)
    payload = MarkerPage(items=[_out(m) for m in items], total=total, limit=page.limit,
                         offset=page.offset)
    return json_response(request, payload)


MarkerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The marker's id.")]


@router.get("/{marker_id}", response_model=MarkerOut, responses={**READ_ERRORS, **NOT_FOUND})
def read_marker(marker_id: MarkerId, conn: Conn, _: Reader) -> MarkerOut:
    """One marker."""
    marker = markers.get_marker(conn, marker_id)
    if marker is None:
        raise HTTPException(404, detail=f"no marker {marker_id}")
    return _out(marker)


@router.delete("/{marker_id}", response_model=MarkerDeleted,
               responses={**WRITE_ERRORS, **NOT_FOUND})
def delete_marker(marker_id: MarkerId, request: Request, _: Writer) -> MarkerDeleted:
    """Remove a marker (a mistaken deploy, say)."""
    with state(request).engine.begin() as conn:
        removed = markers.delete_marker(conn, marker_id)
    if not removed:
        raise HTTPException(404, detail=f"no marker {marker_id}")
    return MarkerDeleted(id=marker_id, deleted=True)
