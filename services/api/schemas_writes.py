"""What the write routes take and give: request and response models, the errors they
declare, and `BoundedRoute`, which refuses a body past `api.max_body` with 413 before it
is read into memory (markers, SLO specs and fleet faults all use it).

Errors are JSON: `{"detail": "reason"}`, and for 422 FastAPI's own shape, a list of
`{"loc": ["body", "field"], "msg": ..., "type": ...}` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from slo.durations import parse_duration

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
            limit = _limit(self)
            too_large = HTTPException(413, detail=f"body larger than {limit} bytes "
                                                  "(api.max_body)")
            length = self.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
            self._body = b"".join(chunks)
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
TIME_HELP = "ISO 8601 (naive = UTC), Unix seconds, now, now-5m or -1h"


class MarkerIn(BaseModel):
    """A deploy, an incident (a span: give `end`) or any other event."""

    model_config = ConfigDict(extra="forbid")

    kind: MarkerKind = Field(description="deploy, incident or event")
    service: str | None = Field(default=None, max_length=63,
                                description="A service slug; none: the whole platform")
    at: TimeText | int | float = Field(description=f"When (it started): {TIME_HELP}")
    end: TimeText | int | float | None = Field(default=None,
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
    service: str | None = Field(description="None: the whole platform")
    at: int = Field(description="Unix seconds")
    end: int | None = Field(description="Unix seconds (excluded); None: a point in time")
    text: str
    tags: list[str]
    author: str
    created_at: float


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
    start: float | None = Field(description="Unix seconds")
    until: float = Field(description="Unix seconds (excluded)")
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
