"""One model for every SLO, whatever format it was written in.

Apollo's own YAML, OpenSLO v1, Sloth `prometheus/v1` (and its Kubernetes
`PrometheusServiceLevel`) and Pyrra `ServiceLevelObjective` all load into `SLO`. An SLO
has exactly one objective: a spec with several objectives becomes several SLOs.

The objective is kept as Sloth keeps it, a percentage (99.9), because the exported rules
must reproduce Sloth's float formatting exactly: `objective_ratio` = objective / 100 and
`error_budget_ratio` = (100 - objective) / 100, computed in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Budgeting = Literal["occurrences", "timeslices", "ratio_timeslices"]
Comparison = Literal["lt", "lte", "gt", "gte"]
CalendarUnit = Literal["day", "week", "month", "quarter", "year"]
SpecFormat = Literal["apollo/v1", "openslo/v1", "openslo/v1alpha", "prometheus/v1",
                     "sloth.slok.dev/v1", "pyrra.dev/v1alpha1"]

# --- where a spec came from ---------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """File, line and format an SLO was read from, for messages and for `sloth_spec`."""

    path: str = ""
    line: int | None = None
    format: SpecFormat = "apollo/v1"


# --- the compliance period ----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Rolling (the last `length`) or calendar-aligned (this month, this week…)."""

    length: timedelta
    rolling: bool = True
    calendar_unit: CalendarUnit | None = None  # set when not rolling
    calendar_start: datetime | None = None  # anchor of calendar periods (OpenSLO startTime)
    timezone: str = "UTC"


# --- service level indicators ---------------------------------------------------------------


@dataclass(frozen=True)
class RequestRatio:
    """Good (or errors) over total events, from Prometheus queries.

    Queries may hold Sloth's `{{.window}}` placeholder. Exactly one of `error_query` and
    `good_query` is set.
    """

    total_query: str
    error_query: str | None = None
    good_query: str | None = None
    # True when the queries return cumulative counters (OpenSLO `counter: true`), not
    # per-window values: their increase over a window must be taken before dividing.
    counter: bool = False


@dataclass(frozen=True)
class RawErrorRatio:
    """A query that already yields the error ratio (Sloth `raw`)."""

    error_ratio_query: str


@dataclass(frozen=True)
class LatencyThreshold:
    """Requests served within `threshold_s` seconds, read from histogram buckets.

    `metric` is the histogram's base name with its selector, e.g.
    `http_request_duration_seconds{job="api-gateway"}`; good = the `le` bucket at the
    threshold (which must be a bucket bound), total = the `_count` series.
    """

    metric: str
    threshold_s: float
    # The bucket's `le` value as the spec wrote it (Pyrra's `le="1"`), when that differs from
    # how prometheus_client prints the threshold ("1.0", `slo.promql.bucket_bound`): Go
    # clients and Prometheus 2 keep "1", and a matcher selects only the exact text.
    le: str | None = None


@dataclass(frozen=True)
class Threshold:
    """A query whose value is compared with a threshold (OpenSLO `thresholdMetric`)."""

    query: str
    op: Comparison
    value: float


@dataclass(frozen=True)
class EventRatio:
    """Good over total user events in ClickHouse, e.g. purchases answered within 250 ms.

    Built into SQL with server-side parameters only: `event_types` restricts both counts,
    an event is good when `field` `op` `value` holds.
    """

    table: str
    event_types: tuple[str, ...]
    field: str
    op: Comparison
    value: float


SLI = RequestRatio | RawErrorRatio | LatencyThreshold | Threshold | EventRatio


@dataclass(frozen=True)
class Timeslices:
    """Timeslice budgeting: a slice is good when its own ratio (or value) meets the bar.

    For `timeslices`: a slice is good when the SLI's good/total in it reaches
    `slice_target` (or, for a `Threshold` SLI, when the value compares true). For
    `ratio_timeslices`: the SLO counts good slices over all slices with data.
    """

    window: timedelta = timedelta(minutes=1)
    slice_target: float | None = None  # a ratio in (0, 1], e.g. 0.95


# --- alerting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    disabled: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BurnRateCondition:
    """An explicit burn-rate alert condition (OpenSLO AlertCondition `burnrate`)."""

    name: str
    severity: str
    threshold: float
    lookback: timedelta
    alert_after: timedelta = timedelta(0)
    op: Comparison = "gt"  # fires when burn rate `op` threshold (OpenSLO condition `op`)


@dataclass(frozen=True)
class Alerting:
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    page: AlertRule = field(default_factory=AlertRule)
    ticket: AlertRule = field(default_factory=AlertRule)
    conditions: tuple[BurnRateCondition, ...] = ()


# --- the SLO ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SLO:
    service: str
    name: str
    objective: float  # percent, 0 < objective < 100
    sli: SLI
    period: Period = field(default_factory=lambda: Period(timedelta(days=30)))
    budgeting: Budgeting = "occurrences"
    timeslices: Timeslices | None = None
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    alerting: Alerting = field(default_factory=Alerting)
    source: Source = field(default_factory=Source)

    @property
    def id(self) -> str:
        """`service-name`, as Sloth's `sloth_id`."""
        return f"{self.service}-{self.name}"

    @property
    def objective_ratio(self) -> float:
        return self.objective / 100

    @property
    def error_budget_ratio(self) -> float:
        """Share of events allowed to be bad; (100 - objective) / 100, as Sloth computes it."""
        return (100 - self.objective) / 100
