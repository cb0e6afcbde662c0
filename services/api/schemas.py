"""Response (and request) models of the SLO, alert, roadmap, cost and engagement routes.

Times are RFC 3339 in UTC (`2026-12-06T00:15:00Z`): the routes build the models from Unix
seconds, as the store and the SLO engine count, and `Instant` renders them; durations are
Prometheus style (`5m`, `30d`) or seconds when a field says `_s`; ratios are 0..1. A
figure that cannot be computed (no events, no data) is `null`, never NaN. The models are
the OpenAPI contract: each route builds its answer as one of them, so what is served is
what is documented.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.schemas_writes import DateInstant, Instant, PreciseInstant, Problem

AlertState = Literal["inactive", "pending", "firing", "resolved"]
Resolution = Literal["minute", "5m", "hour"]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refused as input, not a 500
Matcher = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


_DESCRIPTIONS = {
    400: "The body could not be read as JSON",
    304: "Not Modified: the ETag given in If-None-Match is still current",
    401: "No valid bearer token",
    403: "The token does not grant the scope asked for",
    413: "The body is larger than api.max_body",
    404: "No such resource",
    409: "The resource cannot answer this (its configuration says why)",
    503: "The store or the configured SLO files cannot be read; retry",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these status codes (422 FastAPI declares itself). A route
    that takes a body (413) also answers 400 when the body is not JSON."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({*codes, *((400,) if 413 in codes else ())}):
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[code]}
        if code != 304:
            entry["model"] = Problem
        out[code] = entry
    return out


class _Page(BaseModel):
    total: int = Field(description="Items matching the filters, before paging.")
    limit: int
    offset: int


# --- SLOs ---------------------------------------------------------------------------------


class WindowOut(BaseModel):
    window: str = Field(description="The window, e.g. `1h`.")
    error_ratio: float | None = Field(description="Bad / total events in the window.")
    burn_rate: float | None = Field(description="Error ratio in multiples of the budget.")
    complete: bool | None = Field(description="Every minute of the window has data (null "
                                              "in the list, which reads whole hours).")


class BurnPairOut(BaseModel):
    short: str
    long: str
    factor: float = Field(description="Burn rate both windows must exceed.")
    threshold: float = Field(description="The same as an error ratio (factor × budget).")
    firing: bool
    can_fire: bool = Field(description="False when the threshold is an error ratio of 1 "
                                       "or more: no traffic can reach it.")


class SloAlertOut(BaseModel):
    severity: str
    kind: str = Field(description="`burn` (multiwindow burn rate) or `absent` (no data).")
    state: AlertState = Field(description="The alert's stored state (the evaluator's).")
    alert_id: int | None = Field(description="Its id under /alerts; null: never evaluated.")
    since: PreciseInstant | None = Field(description="When the state began.")
    firing_now: bool | None = Field(
        description="Whether the burn-rate pairs fire on the data at `at` (before any "
                    "`for` delay); null for alerts that are not burn-rate pairs.")
    disabled: bool = False
    pairs: list[BurnPairOut] = Field(default_factory=list)


class SpecSourceOut(BaseModel):
    path: str
    line: int | None
    format: str


class SloSummaryOut(BaseModel):
    id: str = Field(description="`service-name`, as Sloth's sloth_id.")
    service: str
    name: str
    description: str
    labels: dict[str, str]
    sli_kind: str = Field(description="request_ratio, raw_error_ratio, latency_threshold, "
                                      "threshold or event_ratio.")
    budgeting: str
    objective: float = Field(description="Percent, e.g. 99.9.")
    period: str = Field(description="The compliance period, e.g. `30d`.")
    rolling: bool
    at: Instant = Field(description="The instant the figures hold at (a minute boundary).")
    has_data: bool
    problem: str | None = Field(description="Why figures are missing, when they are.")
    sli: float | None = Field(description="Good / total events over the period so far.")
    budget_remaining: float | None = Field(description="1 - spent; negative once overspent.")
    current_burn_rate: float | None = Field(description="Over the last 5 minutes.")
    burn_rates: list[WindowOut] = Field(description="Every alert window's burn rate.")
    alerts: list[SloAlertOut]


class SloListOut(_Page):
    items: list[SloSummaryOut]


class PeriodOut(BaseModel):
    start: Instant
    end: Instant
    length: str
    rolling: bool


class BudgetOut(BaseModel):
    ratio: float = Field(description="Share of events allowed to be bad: (100 - objective) "
                                     "/ 100.")
    spent: float | None
    remaining: float | None
    minutes: float = Field(description="The period's budget as minutes of full outage.")
    spent_minutes: float | None
    remaining_minutes: float | None
    requests: float = Field(description="Bad events the period may have so far.")
    remaining_requests: float


class GapOut(BaseModel):
    start: Instant
    end: Instant
    minutes: int


class ExhaustionOut(BaseModel):
    basis: str = Field(description="`current` (1h), `1d` or `7d` burn rate.")
    burn_rate: float | None
    hours: float | None = Field(description="Until the budget is spent at this burn, on a "
                                            "median day's traffic; null: never.")
    earliest_hours: float | None = Field(description="On busy days.")
    latest_hours: float | None = Field(description="On quiet days.")


class AttributionOut(BaseModel):
    name: str = Field(description="The marker (`deploy #3 payment-service: v1.4.2`), or "
                                  "`unattributed`: what no marker covers.")
    kind: str
    bad: float = Field(description="Bad events inside it, within the period.")
    of_spent: float | None = Field(description="Share of the period's bad events.")
    of_budget: float | None = Field(description="Share of the period's allowance.")


class SloDetailOut(SloSummaryOut):
    source: SpecSourceOut
    period_window: PeriodOut
    good: float | None
    total: float | None
    bad: float | None
    coverage: float | None = Field(description="Share of the elapsed period's minutes with "
                                               "data.")
    period_burn_rate: float | None
    budget: BudgetOut | None
    gaps: list[GapOut]
    exhaustion: list[ExhaustionOut]
    time_to_exhaustion_hours: float | None = Field(
        description="At the current (1h) burn rate; null: the budget does not run out.")
    attribution: list[AttributionOut] = Field(
        description="Budget spent inside each stored marker (deploys, incidents) of its "
                    "service or the whole platform, then what no marker covers.")


class HistoryPointOut(BaseModel):
    ts: Instant = Field(description="Start of the interval.")
    good: float | None
    total: float | None
    sli: float | None = Field(description="Good / total in the interval.")
    burn_rate: float | None = Field(description="The interval's error ratio over the budget.")
    budget_remaining: float | None = Field(description="At the end of the interval, over "
                                                       "the period ending there.")
    minutes_with_data: int


class SloHistoryOut(BaseModel):
    slo: str
    resolution: Resolution
    step_s: int
    start: Instant
    end: Instant
    points: list[HistoryPointOut]


class FiringOut(BaseModel):
    severity: str
    start: Instant
    end: Instant | None = Field(description="null: still firing at the end of the data.")


class IncidentOut(BaseModel):
    start: Instant
    end: Instant | None
    bad: float
    first_alert_at: Instant | None
    detection_s: int | None
    first_page_at: Instant | None
    budget_spent_before_page: float | None
    resolved_at: Instant | None
    reset_s: int | None


class NeverFireOut(BaseModel):
    severity: str
    short: str
    long: str


class BacktestOut(BaseModel):
    slo: str
    start: Instant
    end: Instant
    firings: list[FiringOut]
    incidents: list[IncidentOut]
    never_fire: list[NeverFireOut]


class ForecastOut(BaseModel):
    slo: str
    at: Instant
    budget_remaining: float | None
    remaining_requests: float
    exhaustion: list[ExhaustionOut]


# --- alerts -------------------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    fingerprint: str
    source: str = Field(description="`apollo` or `alertmanager`.")
    kind: str = Field(description="burn, absent or external.")
    name: str
    slo: str
    service: str
    severity: str
    state: AlertState
    episode: int
    labels: dict[str, str]
    annotations: dict[str, str]
    active_since: PreciseInstant | None
    fired_at: PreciseInstant | None
    last_active_at: PreciseInstant | None
    resolved_at: PreciseInstant | None
    updated_at: PreciseInstant
    values: dict[str, Any] = Field(description="Its last burn rates and budget.")


class AlertListOut(_Page):
    items: list[AlertOut]


class TransitionOut(BaseModel):
    id: int
    key: str = Field(description="The idempotency key its notifications carry.")
    at: PreciseInstant
    from_state: str
    to_state: str
    episode: int
    burn_rates: dict[str, float | None]
    budget_remaining: float | None
    reason: str
    silenced: bool


class AcknowledgementOut(BaseModel):
    id: int
    alert_id: int
    episode: int
    author: str
    reason: str
    at: PreciseInstant
    expires_at: PreciseInstant


class AlertDetailOut(AlertOut):
    transitions: list[TransitionOut] = Field(description="Newest first.")
    acknowledgements: list[AcknowledgementOut] = Field(description="Newest first.")


class DeliveryOut(BaseModel):
    id: int
    key: str
    notifier: str
    kind: str
    status: str = Field(description="pending, sent or dead.")
    attempts: int
    created_at: PreciseInstant
    sent_at: PreciseInstant | None
    next_attempt_at: PreciseInstant
    last_error: str | None


class DeliveryListOut(_Page):
    items: list[DeliveryOut]


class SilenceOut(BaseModel):
    id: int
    matchers: list[str]
    author: str
    reason: str
    starts_at: PreciseInstant
    ends_at: PreciseInstant
    created_at: PreciseInstant
    active: bool


class SilenceListOut(_Page):
    items: list[SilenceOut]


_TIME = "ISO 8601, Unix seconds, `now`, `now+1h` or `+1h`."


class AckIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    author: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    reason: str = Field(default="", max_length=2000, pattern=NO_NUL)
    duration: str = Field(default="4h", alias="for", max_length=64,
                          description="How long repeats stop, e.g. `4h`.")


class SilenceIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    matchers: list[Matcher] = Field(min_length=1, max_length=50,
                                    description='Alertmanager-style: `slo="x"`, '
                                                '`severity=~"page"`.')
    author: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    starts_at: str | float | None = Field(default=None, description="Default now. " + _TIME)
    ends_at: str | float | None = Field(default=None, description="Give ends_at or for. " + _TIME)
    duration: str | None = Field(default=None, alias="for", max_length=64,
                                 description="From starts_at, e.g. `2h`.")


# --- roadmap ------------------------------------------------------------------------------


class RoadmapItemOut(BaseModel):
    key: str = Field(description="Its position: phase, then index at each level (`2.4.1`).")
    title: str
    checked: bool
    line: int
    depth: int
    target: str | None
    leaves: int
    leaves_done: int
    completion: float
    children: list[RoadmapItemOut]


class _Progress(BaseModel):
    leaves: int
    leaves_done: int
    completion: float | None = Field(description="Share of the leaf items done; null "
                                                 "without items.")
    progress: str | None = Field(description="done, in_progress or planned, from the items.")


class RoadmapPhaseOut(_Progress):
    key: str
    title: str
    full_title: str = Field(description="With the groups above it: `Web / Milestone: Beta`.")
    path: list[str]
    items: list[RoadmapItemOut]


class RoadmapGroupOut(_Progress):
    title: str
    full_title: str
    path: list[str]
    phases: list[str] = Field(description="Keys of the phases under it.")


class RoadmapFlagOut(BaseModel):
    line: int
    key: str
    kind: str
    message: str


class PhaseCountOut(BaseModel):
    done: int
    total: int


class RoadmapSnapshotOut(BaseModel):
    taken_at: DateInstant
    leaves: int
    leaves_done: int
    completion: float | None
    phases: dict[str, PhaseCountOut]


class RoadmapDocumentOut(_Progress):
    document: str
    updated_at: DateInstant
    phases: list[RoadmapPhaseOut]
    groups: list[RoadmapGroupOut]
    flags: list[RoadmapFlagOut]
    history: list[RoadmapSnapshotOut] = Field(description="Progress each time it changed, "
                                                          "oldest first.")


class RoadmapOut(_Progress):
    documents: list[RoadmapDocumentOut]


# --- costs --------------------------------------------------------------------------------


class CostLineOut(BaseModel):
    component: str
    monthly_cost: float
    annual_cost: float
    cost_per_user: float | None
    share: float | None = Field(description="Of the source's monthly total.")
    potential_ratio: float | None
    potential_monthly: float | None = Field(description="What the potential would save a "
                                                        "month.")
    potential_note: str
    per_million_requests: float | None


class CostTotalOut(BaseModel):
    monthly_cost: float
    annual_cost: float
    cost_per_user: float | None
    potential_ratio: float | None = Field(description="Weighted by cost, over lines with a "
                                                      "known potential.")
    potential_monthly: float | None
    potential_coverage: float | None = Field(description="Share of the cost whose potential "
                                                         "is known.")
    per_million_requests: float | None


class CostFlagOut(BaseModel):
    kind: str = Field(description="mismatch (the stated figure is not the computed one), "
                                  "rounded (it is, rounded) or unchecked.")
    line: int | None = Field(description="The row of the source that states it.")
    component: str = Field(description="The line, or Total.")
    field: str
    stated: str
    computed: str
    message: str


class CostSourceOut(BaseModel):
    source: str
    currency: str
    lines: list[CostLineOut]
    total: CostTotalOut
    flags: list[CostFlagOut] = Field(description="What the source states (its Total row, "
                                                 "annual and per-user cells) against what "
                                                 "its lines give.")


class CostsOut(BaseModel):
    month: date
    months: list[date] = Field(description="Every month with stored costs, newest first.")
    mau: int | None = Field(description="Monthly active users used for cost per user.")
    requests: float = Field(description="Requests served by every service in the month so "
                                        "far (the store's service metrics).")
    requests_start: Instant = Field(description="The requests are counted over "
                                             "[requests_start, requests_end).")
    requests_end: Instant
    partial_month: bool = Field(description="The month is still running: requests so far.")
    sources: list[CostSourceOut]


# --- engagement ---------------------------------------------------------------------------


class EngagementDayOut(BaseModel):
    day: date
    event_type: str = Field(description="An engagement type, or `all` of them.")
    active_users: int
    events: int
    avg_session_s: float | None
    p95_response_ms: float | None


class EngagementOut(_Page):
    start: Instant
    end: Instant
    items: list[EngagementDayOut]


RoadmapItemOut.model_rebuild()
