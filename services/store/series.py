"""The three kinds of time series the store keeps, described once as data.

Reading, rolling up and expiring are the same for every kind; only the tables, the key
and how each value aggregates differ. Each kind has three resolutions: minute rows (what
collectors write), and 5-minute and hour roll-ups made from them. Every table is keyed
(time, series, instance[, extra keys]); a roll-up row is one instance's minutes of one
interval (sums summed, gauges averaged, maxima kept, `minutes` counted), so reads at any
resolution aggregate across instances the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Table

from services.store.models import (
    LatencyBucket5m,
    LatencyBucketHour,
    LatencyBucketMinute,
    Service5m,
    ServiceHour,
    ServiceMinute,
    Sli5m,
    SliHour,
    SliMinute,
    Slo,
)
from services.store.models import Service as ServiceRow
from services.store.timeutil import FIVE_MINUTES, HOUR, MINUTE

Resolution = Literal["minute", "5m", "hour"]
STEPS: dict[Resolution, int] = {"minute": MINUTE, "5m": FIVE_MINUTES, "hour": HOUR}
ROLLED: tuple[Resolution, ...] = ("5m", "hour")
INSTANCE = "instance"
MINUTES = "minutes"  # roll-up column: minute rows behind the row


@dataclass(frozen=True)
class Level:
    """One resolution of one kind: its table, the table's time column, the step (s)."""

    table: Table
    time: str
    step: int


@dataclass(frozen=True)
class SeriesKind:
    name: str
    minute: Table
    five: Table
    hour: Table
    series_col: str  # the id column, pointing into `catalog`
    catalog: Table
    label: str  # the slug's column name in query results
    extra_keys: tuple[str, ...] = ()
    sums: tuple[str, ...] = ()
    means: tuple[str, ...] = ()
    maxes: dict[str, str] = field(default_factory=dict)  # roll-up column -> minute column

    @property
    def keys(self) -> tuple[str, ...]:
        """The key after time, as the tables declare it."""
        return (self.series_col, INSTANCE, *self.extra_keys)

    @property
    def values(self) -> tuple[str, ...]:
        return (*self.sums, *self.means)

    def level(self, resolution: Resolution) -> Level:
        if resolution == "minute":
            return Level(self.minute, "minute", MINUTE)
        if resolution == "5m":
            return Level(self.five, "minute", FIVE_MINUTES)
        if resolution == "hour":
            return Level(self.hour, "hour", HOUR)
        raise ValueError(f"resolution must be one of {', '.join(STEPS)}, got {resolution!r}")


SERVICE = SeriesKind(
    name="service",
    minute=ServiceMinute.__table__,
    five=Service5m.__table__,
    hour=ServiceHour.__table__,
    series_col="service_id",
    catalog=ServiceRow.__table__,
    label="service",
    sums=("requests", "errors", "latency_sum", "latency_count"),
    means=("cpu_ratio", "memory_bytes"),
    maxes={"cpu_max": "cpu_ratio", "memory_max": "memory_bytes"},
)
LATENCY = SeriesKind(
    name="latency",
    minute=LatencyBucketMinute.__table__,
    five=LatencyBucket5m.__table__,
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
    five=Sli5m.__table__,
    hour=SliHour.__table__,
    series_col="slo_id",
    catalog=Slo.__table__,
    label="slo",
    sums=("good", "total"),
)
KINDS = (SERVICE, LATENCY, SLI)
