"""Alertmanager's webhooks in: `POST /api/v1/alerts/alertmanager` (payload version 4).

Apollo can sit behind an existing Alertmanager: each alert it posts is stored as an
external alert (`source="alertmanager"`, `kind="external"`, fingerprint `am:<its
fingerprint>`) beside Apollo's own, and a transition is recorded only when the alert's
state changes. Alertmanager repeats notifications (group_interval, repeat_interval,
retries), so posting the same payload again changes nothing. Inbound alerts notify no one.

A request passes with a bearer token granting write or an HMAC signature
(`services.auth.Authenticator`); the body is bounded (413 past `max_body`), parsed (400
for what is not JSON), validated (422 naming the field) and stored in one transaction,
so a refused request changes nothing.

Alertmanager sends Go's zero time, "0001-01-01T00:00:00Z", for an unset `endsAt`; it is
read as "no time". Fingerprints missing from a payload are computed as Alertmanager does
(FNV-1a 64 over the sorted labels), so the same alert gets the same identity either way.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at run
# time, and they name a dependency local to `alertmanager_router`.
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from services.auth import Authenticator, AuthError, ScopeError
from services.store.models import Alert, AlertTransition
from services.store.outage import store_unavailable, unavailable_detail, unavailable_headers

MAX_BODY_BYTES = 1 << 20  # 1 MiB: Alertmanager's largest groups stay far below it
SOURCE = "alertmanager"
KIND = "external"
FINGERPRINT_PREFIX = "am:"
ATTEMPTS = 3  # two first posts of one new alert at once: the loser retries and sees it

ALERTS = Alert.__table__
TRANSITIONS = AlertTransition.__table__

# --- the payload --------------------------------------------------------------------------

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_GO_ZERO_YEAR = "0001-"


def parse_rfc3339(value: Any) -> float | None:
    """RFC 3339 text -> Unix seconds (fractions past microseconds are dropped); None for
    Go's zero time, which Alertmanager sends for a time it does not know."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 time such as 2024-05-01T12:00:00Z")
    if value.startswith(_GO_ZERO_YEAR):
        return None
    text = re.sub(r"[Zz]$", "+00:00", value)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Go sends nanoseconds
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:  # 2024-02-30, 25:00…
        raise ValueError("expected an RFC 3339 time such as 2024-05-01T12:00:00Z") from None


Time = Annotated[
    float | None,
    BeforeValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
State = Literal["firing", "resolved"]
Strings = dict[str, str]


class _Strict(BaseModel):
    # strict: "4" is not 4 and a label value is a string; fields Alertmanager may add
    # later are ignored
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class AlertmanagerAlert(_Strict):
    status: State
    labels: Strings = Field(min_length=1)
    annotations: Strings = Field(default_factory=dict)
    starts_at: Time = Field(alias="startsAt")
    ends_at: Time = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,64}$")


class AlertmanagerPayload(_Strict):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: State
    receiver: str = ""
    group_labels: Strings = Field(default_factory=dict, alias="groupLabels")
    common_labels: Strings = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Strings = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[AlertmanagerAlert]


class Accepted(BaseModel):
    accepted: int  # alerts in the payload
    transitions: int  # state changes it caused


class PayloadError(ValueError):
    """A body that is not a valid payload; `status` is 400 (not JSON) or 422 (not the
    payload), `reason` names the field."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] != "missing" and isinstance(value, str | int | float | bool):
        shown = repr(value)
        msg += f" (got {shown[:60] + '…' if len(shown) > 60 else shown})"
    return f"{_where(tuple(error['loc']))}: {msg}"


def parse_payload(body: bytes) -> AlertmanagerPayload:
    """The payload in `body`; PayloadError (400 or 422) saying what and where otherwise."""
    if not body.strip():
        raise PayloadError(400, "empty body; expected Alertmanager's webhook JSON")
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise PayloadError(400, "body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(400, f"malformed JSON at line {exc.lineno} column {exc.colno}: "
                                f"{exc.msg}") from None
    if not isinstance(data, dict):
        raise PayloadError(422, "(top level): expected a JSON object")
    try:
        return AlertmanagerPayload.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(422, "; ".join(_problem(e) for e in exc.errors())) from None


# --- identity -----------------------------------------------------------------------------

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's own fingerprint of a label set (Prometheus model's
    LabelSet.Fingerprint: FNV-1a 64 over sorted name, 0xff, value, 0xff), as 16 hex digits."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def alert_fingerprint(alert: AlertmanagerAlert) -> str:
    """The store's identity of an inbound alert: `am:` + Alertmanager's fingerprint."""
    return FINGERPRINT_PREFIX + (alert.fingerprint or labels_fingerprint(alert.labels))


# --- storing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    accepted: int
    transitions: int


def _content(alert: AlertmanagerAlert) -> dict[str, Any]:
    """The columns an inbound alert sets whatever its state (bounded to their sizes; the
    labels keep the full values)."""
    labels = alert.labels
    return {
        "name": labels.get("alertname", "")[:200],
        "severity": labels.get("severity", "")[:40],
        "service": (labels.get("service") or labels.get("job") or "")[:200],
        "slo": labels.get("slo", "")[:200],
        "labels": dict(labels),
        "annotations": dict(alert.annotations),
        "values": {"generator_url": alert.generator_url} if alert.generator_url else {},
    }


def _transition(conn: sa.Connection, *, alert_id: int, fingerprint: str, episode: int,
                from_state: str, to_state: str, at: float, reason: str) -> None:
    conn.execute(sa.insert(TRANSITIONS).values(
        alert_id=alert_id, key=f"{fingerprint}:{episode}:{to_state}", at=at,
        from_state=from_state, to_state=to_state, episode=episode, burn_rates={},
        budget_remaining=None, reason=reason, silenced=False))


def _record_one(conn: sa.Connection, alert: AlertmanagerAlert, *, now: float,
                reason: str) -> bool:
    """Store one alert; True when its state changed (and a transition was written)."""
    fingerprint = alert_fingerprint(alert)
    content = _content(alert)
    row = conn.execute(sa.select(ALERTS).where(ALERTS.c.fingerprint == fingerprint)
                       .with_for_update()).mappings().first()
    starts = alert.starts_at if alert.starts_at is not None else now
    ends = alert.ends_at if alert.ends_at is not None else now
    at = starts if alert.status == "firing" else ends
    if row is None:
        alert_id = conn.execute(sa.insert(ALERTS).values(
            fingerprint=fingerprint, source=SOURCE, kind=KIND, state=alert.status, episode=1,
            active_since=starts, fired_at=starts, last_active_at=None,
            resolved_at=ends if alert.status == "resolved" else None, updated_at=now,
            **content).returning(ALERTS.c.id)).scalar_one()
        _transition(conn, alert_id=alert_id, fingerprint=fingerprint, episode=1,
                    from_state="inactive", to_state=alert.status, at=at, reason=reason)
        return True
    late_resolve = (alert.status == "resolved" and alert.starts_at is not None
                    and row["active_since"] is not None
                    and alert.starts_at < row["active_since"])  # of an earlier episode
    if row["state"] == alert.status or late_resolve:
        changed = {k: v for k, v in content.items() if row[k] != v}
        if changed:
            conn.execute(sa.update(ALERTS).where(ALERTS.c.id == row["id"])
                         .values(updated_at=now, **changed))
        return False
    if alert.status == "firing":  # a new episode
        episode = row["episode"] + 1
        state = {"active_since": starts, "fired_at": starts, "resolved_at": None}
    else:
        episode = row["episode"]
        state = {"resolved_at": ends}
    conn.execute(sa.update(ALERTS).where(ALERTS.c.id == row["id"]).values(
        state=alert.status, episode=episode, updated_at=now, **state, **content))
    _transition(conn, alert_id=row["id"], fingerprint=fingerprint, episode=episode,
                from_state=row["state"], to_state=alert.status, at=at, reason=reason)
    return True


def record_payload(conn: sa.Connection, payload: AlertmanagerPayload, *,
                   now: float) -> Recorded:
    """Store every alert of `payload` in the caller's transaction."""
    reason = f"Alertmanager receiver {payload.receiver or '(unnamed)'} reported it"
    changed = sum(_record_one(conn, alert, now=now, reason=f"{reason} {alert.status}")
                  for alert in payload.alerts)
    return Recorded(accepted=len(payload.alerts), transitions=changed)


def store_payload(engine: sa.Engine, payload: AlertmanagerPayload, *, now: float) -> Recorded:
    """`record_payload` in one transaction of its own (SQLite: taking the write lock first;
    a concurrent first insert of the same alert is retried and then seen)."""
    writer = engine.execution_options(sqlite_begin_immediate=True)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with writer.begin() as conn:
                return record_payload(conn, payload, now=now)
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


# --- HTTP ---------------------------------------------------------------------------------


async def read_body(request: Request, limit: int, *, setting: str = "") -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (the message
    names `setting`, the configuration key that sets the limit, when given)."""
    named = f" ({setting})" if setting else ""
    too_large = HTTPException(413, detail=f"body larger than {limit} bytes{named}")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def auth_failure(exc: AuthError) -> HTTPException:
    """401 (403 for a known token short of the scope) with the reason and the
    WWW-Authenticate header RFC 6750 asks for."""
    if isinstance(exc, ScopeError):
        return HTTPException(403, detail=exc.reason, headers={
            "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write"'})
    return HTTPException(401, detail=exc.reason, headers={"WWW-Authenticate": "Bearer"})


def authenticated_body(authenticator: Authenticator, *, clock: Callable[[], float] = time.time,
                       max_body: int = MAX_BODY_BYTES) -> Callable[[Request],
                                                                   Awaitable[bytes]]:
    """A FastAPI dependency: the body of a request that passed `authenticator` with write
    access (bearer token or signature), read up to `max_body` bytes."""

    async def dependency(request: Request) -> bytes:
        body = await read_body(request, max_body)
        try:
            authenticator.check(request.headers, body, now=clock(), scope="write")
        except AuthError as exc:
            raise auth_failure(exc) from None
        return body

    return dependency


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its `$defs` put in place, to embed in OpenAPI."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


_PAYLOAD_SCHEMA = _inline_refs(AlertmanagerPayload.model_json_schema(by_alias=True))
_REASON = {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": {"type": "string"}}}}}}


def alertmanager_router(engine: sa.Engine, authenticator: Authenticator,
                        clock: Callable[[], float] = time.time, *, prefix: str = "/api/v1",
                        max_body: int = MAX_BODY_BYTES) -> APIRouter:
    """`POST {prefix}/alerts/alertmanager`: Alertmanager's webhook receiver, storing into
    `engine`'s store. Mount it with `app.include_router(...)`."""
    router = APIRouter(prefix=prefix, tags=["alerts"])
    body_dependency = authenticated_body(authenticator, clock=clock, max_body=max_body)

    @router.post(
        "/alerts/alertmanager",
        response_model=Accepted,
        summary="Receive an Alertmanager webhook (payload version 4)",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": _PAYLOAD_SCHEMA}}}},
        responses={
            400: {"description": "Not JSON", **_REASON},
            401: {"description": "No valid bearer token or signature", **_REASON},
            403: {"description": "The token does not grant write", **_REASON},
            413: {"description": "Body too large", **_REASON},
            422: {"description": "Not an Alertmanager v4 payload", **_REASON},
            503: {"description": "The store is unavailable; retry", **_REASON},
        },
    )
    async def receive_alertmanager(
        body: Annotated[bytes, Depends(body_dependency)],
    ) -> Accepted:
        """Store each alert beside Apollo's own; a transition only when its state changes."""
        try:
            payload = parse_payload(body)
        except PayloadError as exc:
            raise HTTPException(exc.status, detail=exc.reason) from None
        try:
            recorded = await run_in_threadpool(store_payload, engine, payload, now=clock())
        except SQLAlchemyError as exc:
            if isinstance(exc, IntegrityError):  # lost the race for a first insert, 3 times
                raise HTTPException(503, detail=f"the store refused the write "
                                                f"({type(exc).__name__}); retry",
                                    headers=unavailable_headers()) from None
            if store_unavailable(exc) is None:
                raise  # a bug (a bad statement): the server's 500, with its traceback
            raise HTTPException(503, detail=unavailable_detail(exc),
                                headers=unavailable_headers()) from None
        return Accepted(accepted=recorded.accepted, transitions=recorded.transitions)

    return router
