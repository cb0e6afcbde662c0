"""/alerts and /silences: Apollo's alerts and those an Alertmanager posted, their
transitions and deliveries; acknowledging an alert, silencing and unsilencing.

Reads go through `services.alerting.read`, writes through `services.alerting.silences`
(in one transaction each; SQLite takes its write lock first). Writes need a bearer token
with scope write. `POST /alerts/alertmanager` is the receiver's (services/alerting/
receiver.py); `/alerts/{alert_id}` takes only integers, so the two never meet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from sqlalchemy import Connection, select

from services.alerting import read
from services.alerting.silences import acknowledge, add_silence, expire_silence
from services.api.deps import (
    Conn,
    LabelFilter,
    Labels,
    Paging,
    Reader,
    Writer,
    json_response,
    state,
)
from services.api.schemas import (
    NO_NUL,
    AckIn,
    AcknowledgementOut,
    AlertDetailOut,
    AlertListOut,
    AlertOut,
    AlertState,
    DeliveryListOut,
    DeliveryOut,
    SilenceIn,
    SilenceListOut,
    SilenceOut,
    TransitionOut,
    responses,
)
from services.api.schemas_writes import BoundedRoute, bad_body
from services.errors import InputError
from services.store.models import Acknowledgement
from services.timerange import parse_time
from slo.durations import parse_duration

router = APIRouter(tags=["alerts"], route_class=BoundedRoute)
ACKS = Acknowledgement.__table__
MAX_TRANSITIONS = 500
MAX_ID = 2**31 - 1  # the store's integer ids
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id.")]
SilenceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The silence's id.")]


def _input_failure(exc: InputError, renames: Mapping[str, str] | None = None) -> HTTPException:
    """An InputError of the alerting layer (`field: reason`) as a 422 naming the field the
    caller sent (`expires_at` is computed from `for`)."""
    field, reason = exc.field, exc.reason
    if not field:
        head, sep, rest = reason.partition(": ")
        if sep and head.isidentifier():
            field, reason = head, rest
    field = (renames or {}).get(field, field) or "body"
    return bad_body(field, reason)


def _writer(request: Request) -> Any:
    return state(request).engine.execution_options(sqlite_begin_immediate=True)


# --- alerts -------------------------------------------------------------------------------


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _alert(row: Mapping[str, Any]) -> dict[str, Any]:
    return dict(
        id=row["id"], fingerprint=row["fingerprint"], source=row["source"], kind=row["kind"],
        name=row["name"], slo=row["slo"], service=row["service"], severity=row["severity"],
        state=row["state"], episode=row["episode"], labels=_strings(row["labels"]),
        annotations=_strings(row["annotations"]), active_since=row["active_since"],
        fired_at=row["fired_at"], last_active_at=row["last_active_at"],
        resolved_at=row["resolved_at"], updated_at=row["updated_at"],
        values=dict(row["values"] or {}))


def _alert_matches(row: Mapping[str, Any], wanted: Labels) -> bool:
    labels = _strings(row["labels"])
    if wanted.service and row["service"] != wanted.service:
        return False
    return all(labels.get(k) == v for k, v in wanted.as_dict().items())


@router.get("/alerts", response_model=AlertListOut, responses=responses(304, 401, 403))
def list_alerts(
    request: Request, conn: Conn, _reader: Reader, labels: LabelFilter, page: Paging,
    alert_state: Annotated[AlertState | None, Query(alias="state")] = None,
    source: Annotated[Literal["apollo", "alertmanager"] | None, Query()] = None,
    slo: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
) -> Response:
    """Apollo's alerts and those an Alertmanager posted, firing first, then by name; the
    label filters read the alert's labels (`service` its service)."""
    rows = [r for r in read.alerts(conn, state=alert_state, source=source, slo=slo)
            if _alert_matches(r, labels)]
    shown, total = page.slice(rows)
    return json_response(request, AlertListOut(
        items=[AlertOut(**_alert(r)) for r in shown], total=total, limit=page.limit,
        offset=page.offset))


@router.get("/alerts/deliveries", response_model=DeliveryListOut,
            responses=responses(304, 401, 403))
def list_deliveries(request: Request, conn: Conn, _reader: Reader, page: Paging,
                    dead: Annotated[bool, Query(description="Only dead letters.")] = False
                    ) -> Response:
    """Notifications in the outbox, newest first: status, attempts and the last error."""
    rows = read.deliveries(conn, dead=dead, limit=page.offset + page.limit)
    shown = rows[page.offset:]
    return json_response(request, DeliveryListOut(
        items=[DeliveryOut(**r) for r in shown], total=read.count_deliveries(conn, dead=dead),
        limit=page.limit,
        offset=page.offset))


def _alert_row(conn: Connection, alert_id: int) -> Mapping[str, Any]:
    row = conn.execute(select(read.ALERTS).where(read.ALERTS.c.id == alert_id)
                       ).mappings().first()
    if row is None:
        raise HTTPException(404, detail=f"no alert {alert_id}")
    return row


def _acks(conn: Connection, alert_id: int) -> list[AcknowledgementOut]:
    return [AcknowledgementOut(**r) for r in read.acknowledgements(conn, alert_id)]


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut,
            responses=responses(304, 401, 403, 404))
def read_alert(request: Request, alert_id: AlertId, conn: Conn, _reader: Reader) -> Response:
    """One alert with its transitions (newest first) and acknowledgements."""
    row = _alert_row(conn, alert_id)
    transitions = [TransitionOut(
        id=t["id"], key=t["key"], at=t["at"], from_state=t["from_state"],
        to_state=t["to_state"], episode=t["episode"],
        burn_rates={str(k): _finite(v) for k, v in (t["burn_rates"] or {}).items()},
        budget_remaining=_finite(t["budget_remaining"]), reason=t["reason"],
        silenced=t["silenced"]) for t in read.transitions(conn, alert_id, limit=MAX_TRANSITIONS)]
    return json_response(request, AlertDetailOut(**_alert(row), transitions=transitions,
                                                 acknowledgements=_acks(conn, alert_id)))


def _finite(value: Any) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) else None


def _duration_s(text: str, field: str) -> float:
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise bad_body(field, str(exc)) from None
    if seconds <= 0:
        raise bad_body(field, f"expected a positive duration such as '2h', got {text!r}")
    return seconds


@router.post("/alerts/{alert_id}/ack", response_model=AcknowledgementOut, status_code=201,
             responses=responses(401, 403, 404, 413))
def acknowledge_alert(request: Request, alert_id: AlertId, body: AckIn, _writer_token: Writer
                      ) -> AcknowledgementOut:
    """Acknowledge the alert's current episode: its repeats stop for `for`."""
    seconds = _duration_s(body.duration, "for")
    now = state(request).clock()
    with _writer(request).begin() as conn:
        _alert_row(conn, alert_id)
        try:
            ack_id = acknowledge(conn, alert_id, author=body.author, reason=body.reason,
                                 now=now, expires_at=now + seconds)
        except InputError as exc:
            raise _input_failure(exc, {"expires_at": "for"}) from None
        row = conn.execute(select(ACKS).where(ACKS.c.id == ack_id)).mappings().one()
    return AcknowledgementOut(**row)


# --- silences -----------------------------------------------------------------------------


def _silence(row: Mapping[str, Any], now: float) -> SilenceOut:
    return SilenceOut(id=row["id"], matchers=[str(m) for m in row["matchers"]],
                      author=row["author"], reason=row["reason"], starts_at=row["starts_at"],
                      ends_at=row["ends_at"], created_at=row["created_at"],
                      active=row["starts_at"] <= now < row["ends_at"])


@router.get("/silences", response_model=SilenceListOut, responses=responses(304, 401, 403))
def list_silences(request: Request, conn: Conn, _reader: Reader, page: Paging,
                  expired: Annotated[bool, Query(description="Include ended ones.")] = False
                  ) -> Response:
    """Silences in force (and future ones), ending soonest first."""
    now = state(request).clock()
    rows = read.silences(conn, now=now, include_expired=expired)
    shown, total = page.slice(rows)
    return json_response(request, SilenceListOut(
        items=[_silence(r, now) for r in shown], total=total, limit=page.limit,
        offset=page.offset))


def _time(value: str | float, field: str, now: float) -> float:
    try:
        return float(parse_time(str(value), now, field=field))
    except InputError as exc:
        raise bad_body(field, exc.reason) from None


@router.post("/silences", response_model=SilenceOut, status_code=201,
             responses=responses(401, 403, 413))
def create_silence(request: Request, body: SilenceIn, _writer_token: Writer) -> SilenceOut:
    """Silence the alerts whose labels match every matcher, from `starts_at` (default
    now) until `ends_at` or for `for`: they still change state, nobody is notified."""
    now = state(request).clock()
    starts = now if body.starts_at is None else _time(body.starts_at, "starts_at", now)
    if (body.ends_at is None) == (body.duration is None):
        raise bad_body("ends_at" if body.ends_at is None else "for",
                       "give either ends_at or for, not both")
    ends = (_time(body.ends_at, "ends_at", now) if body.ends_at is not None
            else starts + _duration_s(body.duration or "", "for"))
    with _writer(request).begin() as conn:
        try:
            silence_id = add_silence(conn, body.matchers, author=body.author,
                                     reason=body.reason, starts_at=starts, ends_at=ends,
                                     now=now)
        except InputError as exc:
            raise _input_failure(exc, {"ends_at": "ends_at" if body.ends_at else "for"}
                                 ) from None
        row = conn.execute(select(read.SILENCES).where(read.SILENCES.c.id == silence_id)
                           ).mappings().one()
    return _silence(row, now)


@router.delete("/silences/{silence_id}", response_model=SilenceOut,
               responses=responses(401, 403, 404))
def expire(request: Request, silence_id: SilenceId, _writer_token: Writer) -> SilenceOut:
    """End a silence now; its alerts notify again from their next change."""
    now = state(request).clock()
    with _writer(request).begin() as conn:
        if not expire_silence(conn, silence_id, now=now):
            raise HTTPException(404, detail=f"no silence {silence_id} in force")
        row = conn.execute(select(read.SILENCES).where(read.SILENCES.c.id == silence_id)
                           ).mappings().one()
    return _silence(row, now)
