"""The three kinds of time series the store keeps, described once as data.

Reading, rolling up and expiring are the same for every kind; only the tables, the key
and how each value aggregates into an hour differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table

from services.store.models import (
    LatencyBucketHour,
    LatencyBucketMinute,
    ServiceHour,
    ServiceMinute,
    SliHour,
    SliMinute,
    Slo,
)
from services.store.models import Service as ServiceRow


@dataclass(frozen=True)
class SeriesKind:
    name: str
    minute: Table
    hour: Table
    series_col: str  # the id column, pointing into `catalog`
    catalog: Table
    label: str  # the slug's column name in query results
    extra_keys: tuple[str, ...] = ()
    sums: tuple[str, ...] = ()
    means: tuple[str, ...] = ()
    maxes: dict[str, str] = field(default_factory=dict)  # hour column -> minute column
    count_col: str | None = None  # hour column counting the minute rows behind it

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.series_col, *self.extra_keys)

    @property
    def values(self) -> tuple[str, ...]:
        return (*self.sums, *self.means)


SERVICE = SeriesKind(
    name="service",
    minute=ServiceMinute.__table__,
    hour=ServiceHour.__table__,
    series_col="service_id",
    catalog=ServiceRow.__table__,
    label="service",
    sums=("requests", "errors", "latency_sum", "latency_count"),
    means=("cpu_ratio", "memory_bytes"),
    maxes={"cpu_max": "cpu_ratio", "memory_max": "memory_bytes"},
    count_col="minutes",
)
LATENCY = SeriesKind(
    name="latency",
    minute=LatencyBucketMinute.__table__,
    hour=LatencyBucketHour.__table__,
    series_col="service_id",
    catalog=ServiceRow.__table__,
    label="service",
    extra_keys=("le",),
    sums=("count",),
)
SLI = SeriesKind(
    name="sli",
    minute=SliMinute.__table__,
    hour=SliHour.__table__,
    series_col="slo_id",
    catalog=Slo.__table__,
    label="slo",
    sums=("good", "total"),
)
KINDS = (SERVICE, LATENCY, SLI)
