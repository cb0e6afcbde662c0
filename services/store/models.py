"""What the store keeps (SQLAlchemy 2 models; the schema itself is made by Alembic).

Minute, 5-minute and hour tables hold one row per (time, series, instance), keyed time
first: scrapes arrive time-ordered, so new rows land at the end of the primary key instead
of all over it (SQLite stores them WITHOUT ROWID, i.e. clustered on that key). `instance`
is where a row came from: a scrape target (`10.0.0.5:8080`), or a source that aggregates
already (`prometheus`, `clickhouse`); two pods of one service, or two collector replicas,
write different rows and reads sum them. It is the last column, so a row written by a
single-source caller may leave it off (`''`, as rows from before instances existed).
Times in those tables are Unix seconds (a multiple of 60, 300 or 3600), which is compact,
fast to compare and the same on SQLite and PostgreSQL. The series ids refer to `services`
and `slos` without foreign keys, to keep the bulk upserts free of per-row checks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_NO_ROWID = {"sqlite_with_rowid": False}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


# --- what is observed -----------------------------------------------------------------


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(30), default="req/s")
    created_at: Mapped[datetime]
    environment: Mapped[str] = mapped_column(String(63), default="", server_default="")
    tier: Mapped[str] = mapped_column(String(63), default="", server_default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class Slo(Base):
    __tablename__ = "slos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    name: Mapped[str] = mapped_column(String(200))
    objective: Mapped[float] = mapped_column(Float)  # percent, as in the specs (99.9)
    period_s: Mapped[int] = mapped_column(Integer)
    spec_path: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime]
    # team, environment and tier (from its service) and the spec's own labels
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


# --- per-minute series and their 5-minute and hourly roll-ups ---------------------------


# An instance is a machine name, not prose: PostgreSQL compares it bytewise ("C"), which
# keeps the key index cheaper to maintain than under a linguistic collation (12% faster
# COPY into the keyed table under en-US ICU, measured here).
INSTANCE_TYPE = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def _instance() -> Mapped[str]:
    """The instance column every series table ends with (see the module docstring)."""
    return mapped_column(INSTANCE_TYPE, default="", server_default="", sort_order=20)


def _rolled_minutes() -> Mapped[int]:
    """How many minute rows a roll-up row was made from (60 make a whole hour)."""
    return mapped_column(Integer, sort_order=10)


class _ServiceSeries:
    """Request, error and resource figures of one service and instance in one interval."""

    service_id: Mapped[int] = mapped_column(Integer)
    requests: Mapped[float] = mapped_column(Float)
    errors: Mapped[float] = mapped_column(Float)
    latency_sum: Mapped[float] = mapped_column(Float)  # seconds, summed over requests
    latency_count: Mapped[float] = mapped_column(Float)
    cpu_ratio: Mapped[float | None] = mapped_column(Float)  # 0..1 of the allotted CPU
    memory_bytes: Mapped[float | None] = mapped_column(Float)
    instance: Mapped[str] = _instance()


class _ServiceRollup(_ServiceSeries):
    cpu_max: Mapped[float | None] = mapped_column(Float, sort_order=10)
    memory_max: Mapped[float | None] = mapped_column(Float, sort_order=10)
    minutes: Mapped[int] = _rolled_minutes()


class ServiceMinute(_ServiceSeries, Base):
    __tablename__ = "service_minutes"
    __table_args__ = (PrimaryKeyConstraint("minute", "service_id", "instance"), _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class Service5m(_ServiceRollup, Base):
    __tablename__ = "service_5m"
    __table_args__ = (PrimaryKeyConstraint("minute", "service_id", "instance"), _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)  # the block's first minute


class ServiceHour(_ServiceRollup, Base):
    __tablename__ = "service_hours"
    __table_args__ = (PrimaryKeyConstraint("hour", "service_id", "instance"), _NO_ROWID)
    hour: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class _LatencyBuckets:
    """Increase of one cumulative histogram bucket (`le`, seconds) over the interval."""

    service_id: Mapped[int] = mapped_column(Integer)
    le: Mapped[float] = mapped_column(Float)  # +Inf included
    count: Mapped[float] = mapped_column(Float)
    instance: Mapped[str] = _instance()


class LatencyBucketMinute(_LatencyBuckets, Base):
    __tablename__ = "latency_bucket_minutes"
    __table_args__ = (PrimaryKeyConstraint("minute", "service_id", "instance", "le"), _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class LatencyBucket5m(_LatencyBuckets, Base):
    __tablename__ = "latency_bucket_5m"
    __table_args__ = (PrimaryKeyConstraint("minute", "service_id", "instance", "le"), _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    minutes: Mapped[int] = _rolled_minutes()


class LatencyBucketHour(_LatencyBuckets, Base):
    __tablename__ = "latency_bucket_hours"
    __table_args__ = (PrimaryKeyConstraint("hour", "service_id", "instance", "le"), _NO_ROWID)
    hour: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    minutes: Mapped[int] = _rolled_minutes()


class _SliSeries:
    """Good and total events of one SLO from one instance in one interval."""

    slo_id: Mapped[int] = mapped_column(Integer)
    good: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    instance: Mapped[str] = _instance()


class SliMinute(_SliSeries, Base):
    __tablename__ = "sli_minutes"
    # One SLO's minutes, read whole by the SLO report (30 days: 43,200 per instance), lie
    # spread among every SLO's in the time-first key; this index holds them as one run with
    # their counts (read without touching the table: ~4x faster on SQLite, see 0006).
    __table_args__ = (PrimaryKeyConstraint("minute", "slo_id", "instance"),
                      Index("ix_sli_minutes_slo_minute", "slo_id", "minute", "good", "total"),
                      _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class Sli5m(_SliSeries, Base):
    __tablename__ = "sli_5m"
    __table_args__ = (PrimaryKeyConstraint("minute", "slo_id", "instance"), _NO_ROWID)
    minute: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    minutes: Mapped[int] = _rolled_minutes()


class SliHour(_SliSeries, Base):
    __tablename__ = "sli_hours"
    __table_args__ = (PrimaryKeyConstraint("hour", "slo_id", "instance"), _NO_ROWID)
    hour: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    minutes: Mapped[int] = _rolled_minutes()


class RollupMark(Base):
    """Minute rows of a kind were written in [minute, until] since the last roll-up: reads
    aggregate them on the fly and the next roll-up rolls from there (see rollup.py)."""

    __tablename__ = "rollup_marks"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # service, latency, sli
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    until: Mapped[int] = mapped_column(BigInteger)  # the newest minute written


# --- documents and events rolled up elsewhere ------------------------------------------


class EngagementDay(Base):
    """The ClickHouse engagement query, one row per day and event type (`all` = every type)."""

    __tablename__ = "engagement_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    active_users: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger)
    avg_session_s: Mapped[float] = mapped_column(Float)
    p95_response_ms: Mapped[float] = mapped_column(Float)


class RoadmapItem(Base):
    """One checklist entry of a roadmap document; `key` is its position (`2.4.1`)."""

    __tablename__ = "roadmap_items"
    __table_args__ = (UniqueConstraint("document", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(String(500))
    key: Mapped[str] = mapped_column(String(100))
    parent_key: Mapped[str | None] = mapped_column(String(100))
    phase: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer)
    done: Mapped[bool] = mapped_column(Boolean)
    target: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class RoadmapSnapshot(Base):
    """Completion of each phase when a roadmap was read, for progress over time."""

    __tablename__ = "roadmap_snapshots"

    document: Mapped[str] = mapped_column(String(500), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(primary_key=True)
    phase: Mapped[str] = mapped_column(String(200), primary_key=True)
    done: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class CostLine(Base):
    """A component's cost for one month; annual figures and totals are computed (what the
    source states of them is kept beside, for the flags)."""

    __tablename__ = "cost_lines"
    __table_args__ = (UniqueConstraint("source", "month", "component"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    month: Mapped[date] = mapped_column(Date)
    component: Mapped[str] = mapped_column(String(200))
    monthly_cost: Mapped[float] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    potential_ratio: Mapped[float | None] = mapped_column(Float)
    potential_note: Mapped[str] = mapped_column(Text, default="")
    # what the source states of the line, compared with the computed figures (flags)
    line: Mapped[int | None] = mapped_column(Integer)  # its row in the file
    stated_annual: Mapped[str | None] = mapped_column(String(40))  # decimal text as read
    stated_per_user: Mapped[str | None] = mapped_column(String(40))


class CostStatedTotal(Base):
    """A cost table's Total row for one month: compared with the computed totals, never a
    line of its own."""

    __tablename__ = "cost_stated_totals"
    __table_args__ = (UniqueConstraint("source", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    month: Mapped[date] = mapped_column(Date)
    line: Mapped[int] = mapped_column(Integer)
    # decimal text as read: the places written decide what "rounded" means
    monthly_cost: Mapped[str | None] = mapped_column(String(40))
    annual_cost: Mapped[str | None] = mapped_column(String(40))
    cost_per_user: Mapped[str | None] = mapped_column(String(40))
    potential_percent: Mapped[str | None] = mapped_column(String(40))


# --- alerting ---------------------------------------------------------------------------
# Times here are Unix seconds (floats where sub-second order matters), as in the series
# tables: the same on SQLite and PostgreSQL, cheap to compare, and enqueue-to-delivery
# latency is one subtraction.


class Alert(Base):
    """One alert identity and its current state: Apollo's own (one per SLO, kind and
    severity) or one an Alertmanager posted to the receiver (its fingerprint)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state", "state"), Index("ix_alerts_slo", "slo"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="apollo")  # or alertmanager
    kind: Mapped[str] = mapped_column(String(20), default="burn")  # absent, external
    name: Mapped[str] = mapped_column(String(200))  # alertname
    slo: Mapped[str] = mapped_column(String(200), default="")  # SLO slug, when it has one
    service: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(20))  # inactive, pending, firing, resolved
    episode: Mapped[int] = mapped_column(Integer, default=0)  # +1 each time it goes pending
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active_since: Mapped[float | None] = mapped_column(Float)  # this episode's start
    fired_at: Mapped[float | None] = mapped_column(Float)
    last_active_at: Mapped[float | None] = mapped_column(Float)  # for keep_firing_for
    resolved_at: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # last burn rates


class AlertTransition(Base):
    """A change of state, with the burn rates and budget that caused it. `key` is the
    idempotency key every notification of it carries."""

    __tablename__ = "alert_transitions"
    __table_args__ = (Index("ix_alert_transitions_alert_at", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[float] = mapped_column(Float)
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    episode: Mapped[int] = mapped_column(Integer)
    burn_rates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    budget_remaining: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    silenced: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxMessage(Base):
    """A notification to deliver to one notifier; written in the same transaction as its
    transition. `key` is the transition's idempotency key (re-posts and repeats share it);
    `message_key` makes each row unique, so writing it twice changes nothing."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(400), unique=True)
    key: Mapped[str] = mapped_column(String(200))
    notifier: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(20))  # transition, repost, repeat, test
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    transition_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_transitions.id", ondelete="SET NULL"))
    group_key: Mapped[str] = mapped_column(String(500), default="")
    group_wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[float] = mapped_column(Float)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[float | None] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(120), default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)


class Silence(Base):
    """Alerts whose labels match every matcher transition but do not notify until `ends_at`."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[list[str]] = mapped_column(JSON)  # ['slo="payment-service-availability"']
    author: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class Acknowledgement(Base):
    """Someone is on it: repeats of this alert's episode stop until `expires_at`."""

    __tablename__ = "alert_acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    episode: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class AlertCursor(Base):
    """Alert evaluation of an SLO has covered every minute before `through` (Unix seconds),
    so a restarted evaluator goes on from there instead of replaying transitions."""

    __tablename__ = "alert_cursors"

    slo: Mapped[str] = mapped_column(String(200), primary_key=True)
    through: Mapped[int] = mapped_column(BigInteger)


# --- markers ----------------------------------------------------------------------------


class Marker(Base):
    """A deploy, an incident or any event worth a line on the charts (as Grafana's
    annotations); SLO reports attribute the budget spent inside each one to it. Times are
    Unix seconds; a marker holds over [at, end_at), or is a point in time without end_at."""

    __tablename__ = "markers"
    __table_args__ = (Index("ix_markers_at", "at"), Index("ix_markers_service_at", "service", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # deploy, incident, event
    service: Mapped[str] = mapped_column(String(63), default="")  # '': the whole platform
    at: Mapped[int] = mapped_column(BigInteger)
    end_at: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[float] = mapped_column(Float)


# --- collectors -------------------------------------------------------------------------


class CollectorRun(Base):
    __tablename__ = "collector_runs"
    __table_args__ = (Index("ix_collector_runs_collector_started", "collector", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collector: Mapped[str] = mapped_column(String(63))
    target: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))  # ok, partial, failed
    samples: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    gaps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
