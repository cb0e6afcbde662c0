"""What a notifier is handed: one alert's state at one transition, whatever the receiver.

An outbox row keeps an `AlertMessage` as JSON (`to_dict`), so the worker can deliver it
after a restart without reading the alert again; notifiers turn a group of them into HTTP
requests (`notifiers.build_requests`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["firing", "resolved"]
MessageKind = Literal["transition", "repost", "repeat", "test"]


@dataclass(frozen=True)
class AlertMessage:
    """One alert at one transition. `key` is the transition's idempotency key: every
    delivery of it (retries, Alertmanager re-posts, repeat_interval repeats) carries it."""

    key: str
    fingerprint: str  # the alert identity (SLO, kind, severity): PagerDuty's dedup_key
    name: str  # alertname
    status: Status
    severity: str  # page, ticket (or what an external alert said)
    starts_at: float  # Unix seconds the episode began firing
    ends_at: float | None = None  # set when resolved
    slo: str = ""
    service: str = ""
    objective: float | None = None  # percent
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    burn_rates: Mapping[str, float] = field(default_factory=dict)  # "5m" -> 15.2
    budget_remaining: float | None = None  # share of the period's budget left, may be < 0
    links: Mapping[str, str] = field(default_factory=dict)  # runbook, dashboard
    kind: MessageKind = "transition"

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertMessage:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})
