"""Response models of /api/v1/services and /api/v1/runs, so the OpenAPI document is whole.

Figures without data are null (no minutes measured, no baseline configured); times are
RFC 3339 in UTC (`2026-12-06T00:15:00Z`), as in every answer of the API (schemas_writes).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas_writes import DateInstant, PreciseInstant
from services.documents.status import Status


class ErrorOut(BaseModel):
    """A refusal with its reason (401 without a valid token, 404 naming what is missing)."""

    detail: str


class ReasonOut(BaseModel):
    """Why a service is not healthy: a firing alert or an SLO's error budget."""

    level: Literal["critical", "warning"]
    kind: Literal["alert", "budget"]
    subject: str = Field(description="The alert's name, or the SLO's slug.")
    message: str
    slo: str = ""
    severity: str = Field("", description="An alert's severity (page, ticket…).")
    remaining: float | None = Field(None, description="A budget's share left (1 - spent).")


class SloBudgetOut(BaseModel):
    """One SLO of the service and its error budget left at the end of the range."""

    slo: str
    objective: float = Field(description="Percent, as in the spec (99.9).")
    period_start: DateInstant
    remaining: float | None = Field(description="1 - spent; null without events in the "
                                                "period; negative once overspent.")


class BaselineOut(BaseModel):
    """The figures the service is expected to show under normal load (configuration)."""

    p95_ms: float
    throughput_rps: float
    cpu_ratio: float
    memory_gib: float
    error_ratio: float
    status: str


class ServiceOut(BaseModel):
    """One row of the platform table: live figures over the range beside the baseline."""

    slug: str
    name: str
    unit: str
    team: str
    environment: str
    tier: str
    labels: dict[str, str]
    status: Status
    reasons: list[ReasonOut]
    p95_ms: float | None = Field(description="95th percentile latency over the range (ms), "
                                             "from the summed bucket increases.")
    throughput_rps: float | None = Field(description="Requests per second over the minutes "
                                                     "measured.")
    error_ratio: float | None = Field(description="Errors / requests over the range.")
    cpu_ratio: float | None = Field(description="Mean CPU use, 0..1 of the allotted CPU.")
    memory_gib: float | None = Field(description="Mean memory (GiB).")
    instances: int = Field(description="Instances that reported the newest measured minute.")
    minutes: int = Field(description="Minutes of the range with data.")
    baseline: BaselineOut | None
    slos: list[SloBudgetOut]


class ServiceList(BaseModel):
    from_: DateInstant = Field(alias="from", serialization_alias="from")
    to: DateInstant
    total: int = Field(description="Services matching the filters, on every page.")
    limit: int
    offset: int
    items: list[ServiceOut]


class SeriesPoint(BaseModel):
    """One interval of a service's series: [ts, ts + seconds)."""

    ts: DateInstant
    seconds: int = Field(description="Length of the interval the rates are taken over.")
    requests: float
    errors: float
    throughput_rps: float | None
    error_ratio: float | None
    latency_ms: float | None = Field(description="The chosen percentile (ms) of the "
                                                 "interval's bucket increases.")
    cpu_ratio: float | None
    memory_gib: float | None
    instances: int
    partial: bool = Field(description="Fewer instance-minutes than the series usually has.")


class ServiceSeries(BaseModel):
    service: str
    resolution: Literal["minute", "5m", "hour"]
    percentile: float
    from_: DateInstant = Field(alias="from", serialization_alias="from")
    to: DateInstant
    points: list[SeriesPoint]


class RunGapOut(BaseModel):
    """A span `[start, end)` a run could not fill."""

    model_config = ConfigDict(extra="allow")

    start: PreciseInstant
    end: PreciseInstant


class RunOut(BaseModel):
    """What one collector run did."""

    id: int
    collector: str
    target: str
    status: Literal["ok", "partial", "failed"] | str
    started_at: DateInstant
    finished_at: DateInstant | None
    duration_s: float | None
    samples: int
    errors: int
    gaps: list[RunGapOut]
    message: str


class RunList(BaseModel):
    total: int = Field(description="Runs matching the filters, on every page.")
    limit: int
    offset: int
    items: list[RunOut]


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: `If-None-Match` names the answer's current ETag."},
    401: {"model": ErrorOut, "description": "A token is needed to read, and none (or a "
                                            "bad one) was given."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such service."},
}
