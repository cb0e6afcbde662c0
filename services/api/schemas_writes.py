"""What the write routes take and give: request and response models, the errors they
declare, and `BoundedRoute`, which refuses a body past `api.max_body` with 413 before it
is read into memory (markers, SLO specs and fleet faults all use it).

Errors are JSON: `{"detail": "reason"}`, and for 422 FastAPI's own shape, a list of
`{"loc": ["body", "field"], "msg": ..., "type": ...}` naming the field.

It also holds the one form of a time in every answer of the API: RFC 3339 in UTC
(`2026-12-06T00:15:00Z`), whatever a route builds its model from (`Instant` for Unix
seconds as the store keeps them, `PreciseInstant` for fractional ones, `DateInstant` for
datetimes), so the routes hand over what they have and the models render it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from services.alerting.receiver import read_body
from slo.durations import parse_duration

# --- times ------------------------------------------------------------------------------


def rfc3339(value: float | datetime) -> str:
    """A time as RFC 3339 in UTC: `2026-12-06T00:15:00Z`, with `.ffffff` only when it has a
    fraction of a second (as pydantic renders an aware datetime). Unix seconds or a
    datetime (naive = UTC)."""
    if isinstance(value, datetime):
        return _datetime_text(_utc(value))
    if value == math.floor(value):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(value)))
    return _datetime_text(datetime.fromtimestamp(value, UTC))


def _datetime_text(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{value.microsecond:06d}Z" if value.microsecond else f"{text}Z"


def _utc(value: datetime) -> datetime:
    """Aware in UTC: naive is taken as UTC, another offset is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if not value.utcoffset() else value.astimezone(UTC)


_AS_RFC3339 = PlainSerializer(rfc3339, return_type=str, when_used="json")
_RFC3339_SCHEMA = WithJsonSchema({"type": "string", "format": "date-time",
                                  "examples": ["2026-12-06T00:15:00Z"]}, mode="serialization")
Instant = Annotated[int, _AS_RFC3339, _RFC3339_SCHEMA]
"""Whole Unix seconds in Python (as the store and the SLO engine count), RFC 3339 in JSON."""
PreciseInstant = Annotated[float, _AS_RFC3339, _RFC3339_SCHEMA]
"""Unix seconds with a fraction (alert and outbox times), RFC 3339 in JSON."""
DateInstant = Annotated[datetime, AfterValidator(_utc)]
"""A datetime, made aware in UTC, so pydantic renders it with `Z` (naive = UTC)."""


# --- errors -----------------------------------------------------------------------------


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class FieldErrors(BaseModel):
    """422: what is wrong, field by field (FastAPI's own shape)."""

    detail: list[FieldError]


def problem(description: str) -> dict[str, Any]:
    """An entry of a route's `responses`: a refusal with its reason."""
    return {"description": description, "model": Problem}


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem("Reads need a token (api.require_token_for_reads) and none valid was given"),
    403: problem("The token does not grant read"),
}
NOT_JSON: dict[int | str, dict[str, Any]] = {
    400: problem("The body could not be read as JSON"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem("No valid bearer token"),
    403: problem("The token does not grant write"),
    413: problem("The body is larger than api.max_body"),
}


def bad_body(field: str, reason: str) -> HTTPException:
    """422 naming a field of the body, in FastAPI's own error shape."""
    loc = ["body", *(p for p in field.split(".") if p)] if field else ["body"]
    return HTTPException(422, detail=[{"loc": loc, "msg": reason, "type": "value_error"}])


# --- bounded bodies -----------------------------------------------------------------------


def _limit(request: Request) -> int:
    return int(request.app.state.apollo.settings.api.max_body)


class _BoundedRequest(Request):
    """A request whose body is read at most to the API's `max_body` (413 past it)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = await read_body(self, _limit(self), setting="api.max_body")
        return self._body


class BoundedRoute(APIRoute):
    """A route whose request body is bounded by `api.max_body` (see `_BoundedRequest`)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedRequest(request.scope, request.receive))

        return bounded


# --- markers ------------------------------------------------------------------------------

MarkerKind = Literal["deploy", "incident", "event"]
TimeText = Annotated[str, StringConstraints(max_length=64)]
# A JSON number is Unix seconds; strict, so a string is a TimeText (at most 64 characters)
# and never read as a number, whatever its length.
TimeNumber = Annotated[int, Strict()] | Annotated[float, Strict()]
TIME_HELP = "ISO 8601 (naive = UTC), Unix seconds, now, now-5m or -1h"


class MarkerIn(BaseModel):
    """A deploy, an incident (a span: give `end`) or any other event."""

    model_config = ConfigDict(extra="forbid")

    kind: MarkerKind = Field(description="deploy, incident or event")
    service: str | None = Field(default=None, max_length=63,
                                description="A service slug; none: the whole platform")
    at: TimeText | TimeNumber = Field(description=f"When (it started): {TIME_HELP}")
    end: TimeText | TimeNumber | None = Field(default=None,
                                               description=f"When it ended (excluded): "
                                                           f"{TIME_HELP}")
    text: str = Field(min_length=1, max_length=10_000, description="What happened")
    tags: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=20, description="Free tags, as Grafana's")
    author: str = Field(default="", max_length=200, description="Who (default: api)")


def time_text(value: str | int | float) -> str:
    """A body time as the one time grammar reads it (a JSON number is Unix seconds)."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        return str(math.floor(value)) if math.isfinite(value) and value >= 0 else repr(value)
    return str(value)


class MarkerOut(BaseModel):
    id: int
    kind: MarkerKind
    service: str | None = Field(description="null: the whole platform")
    at: Instant = Field(description="When (it started)")
    end: Instant | None = Field(description="When it ended (excluded); null: a point in time")
    text: str
    tags: list[str]
    author: str
    created_at: PreciseInstant


class MarkerPage(BaseModel):
    items: list[MarkerOut]
    total: int
    limit: int
    offset: int


class MarkerDeleted(BaseModel):
    id: int
    deleted: bool


# --- SLO specs ------------------------------------------------------------------------------


class SpecProblem(BaseModel):
    """One error of a spec, at its line (None when it has none, e.g. an empty body)."""

    line: int | None
    field: str
    message: str


class SpecSlo(BaseModel):
    id: str = Field(description="service-name, as Sloth's sloth_id")
    service: str
    name: str
    objective: float = Field(description="Percent, e.g. 99.9")
    period: str = Field(description="e.g. 30d")
    budgeting: str = Field(description="occurrences or timeslices")
    sli: str = Field(description="The kind of SLI: request_ratio, latency_threshold, …")
    format: str = Field(description="The spec format: apollo/v1, openslo/v1, prometheus/v1, …")
    line: int | None
    description: str


class SpecValidation(BaseModel):
    valid: bool
    slos: list[SpecSlo]
    errors: list[SpecProblem]


class SpecStored(BaseModel):
    path: str = Field(description="Where the spec was written, as slo_files names its folder")
    replaced: bool = Field(description="Whether it overwrote an earlier file (?replace=true)")
    slos: list[SpecSlo]
    note: str


# --- fleet faults -----------------------------------------------------------------------------

FaultKind = Literal["error_burst", "latency", "down"]


class FaultIn(BaseModel):
    """A fault for one service of the running demo fleet."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    service: str = Field(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: FaultKind
    rate: float | None = Field(default=None, gt=0, le=1, validate_default=True,
                               description="error_burst (required): share of requests "
                                           "that fail")
    factor: float | None = Field(default=None, gt=0, le=1000, validate_default=True,
                                 description="latency (required): how many times slower")
    duration: str = Field(default="5m", alias="for", max_length=32,
                          description="How long, e.g. 5m or 1h30m")

    @field_validator("rate")
    @classmethod
    def _rate_for_bursts(cls, rate: float | None, info: ValidationInfo) -> float | None:
        return _only_for("rate", "error_burst", rate, info)

    @field_validator("factor")
    @classmethod
    def _factor_for_latency(cls, factor: float | None, info: ValidationInfo) -> float | None:
        return _only_for("factor", "latency", factor, info)

    @field_validator("duration")
    @classmethod
    def _a_duration(cls, text: str) -> str:
        value = parse_duration(text)  # its ValueError names the text and the forms
        if value.total_seconds() <= 0:
            raise ValueError("must be longer than 0s")
        return text


def _only_for(name: str, kind: str, value: float | None, info: ValidationInfo) -> float | None:
    given = info.data.get("kind")
    if given is None:  # kind itself is wrong: that error says it
        return value
    if given == kind and value is None:
        raise ValueError(f"required for {kind}")
    if given != kind and value is not None:
        raise ValueError(f"only for {kind}, not {given}")
    return value


class FaultOut(BaseModel):
    kind: FaultKind
    start: PreciseInstant | None = Field(description="When it began")
    until: PreciseInstant = Field(description="When it ends (excluded)")
    rate: float
    factor: float


class FaultSet(BaseModel):
    service: str
    fault: FaultOut
    control_url: str


class FaultsCleared(BaseModel):
    service: str
    cleared: str = Field(description="The kind cleared, or all")
    ended: list[FaultOut]


class FleetService(BaseModel):
    slug: str
    name: str
    metrics_url: str
    up: bool
    faults: list[FaultOut]


class FleetState(BaseModel):
    control_url: str
    services: list[FleetService]
