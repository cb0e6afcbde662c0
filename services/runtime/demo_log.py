"""What `apollo demo`'s terminal tells while it runs, one line each: failed scrapes (the
scheduler's runs), faults injected or ended (the fleet's state), alert transitions and
delivery attempts (the store's rows since the last look). Quiet otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from collectors.runs import RunResult
from services.store.models import Alert, AlertTransition, DeliveryAttempt, OutboxMessage

Say = Callable[[str], None]


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def problem_lines(runs: Iterable[RunResult]) -> list[str]:
    """Failed or partial runs only."""
    return [f"{run.status}: {run.collector} {run.target}: {run.errors[0]}"
            for run in runs if run.errors]


def fault_key(service: str, fault: Mapping[str, Any]) -> tuple[str, str, float]:
    return service, str(fault["kind"]), float(fault["until"])


def describe_fault(fault: Mapping[str, Any]) -> str:
    kind = fault["kind"]
    if kind == "error_burst":
        return f"{float(fault['rate']):.0%} of requests failing"
    if kind == "latency":
        return f"latency x{float(fault['factor']):g}"
    return "not answering"


class DemoLog:
    """Remembers what it has told (row ids, active faults) and tells only what is new."""

    def __init__(self, engine: Engine, say: Say, fleet_state: Callable[[], dict[str, Any]]
                 ) -> None:
        self.engine, self.say, self.fleet_state = engine, say, fleet_state
        with engine.connect() as conn:  # history written before the start is not news
            self.transition_id = conn.execute(
                select(func.coalesce(func.max(AlertTransition.id), 0))).scalar_one()
            self.attempt_id = conn.execute(
                select(func.coalesce(func.max(DeliveryAttempt.id), 0))).scalar_one()
        self.faults = self._active_faults()

    def _active_faults(self) -> dict[tuple[str, str, float], Mapping[str, Any]]:
        return {fault_key(s["slug"], f): f for s in self.fleet_state()["services"]
                for f in s["faults"]}

    def runs(self, runs: list[RunResult]) -> None:
        """The scheduler's callback after each batch of runs."""
        for line in problem_lines(runs):
            self.say(line)
        self.tell()

    def tell(self) -> None:
        for line in self.fault_lines() + self.transition_lines() + self.delivery_lines():
            self.say(line)

    def fault_lines(self) -> list[str]:
        now = self._active_faults()
        lines = [f"fault injected: {key[0]} {describe_fault(fault)} until "
                 f"{_clock(key[2])} UTC" for key, fault in now.items() if key not in self.faults]
        lines += [f"fault ended: {key[0]} {describe_fault(fault)}"
                  for key, fault in self.faults.items() if key not in now]
        self.faults = now
        return lines

    def transition_lines(self) -> list[str]:
        t, a = AlertTransition.__table__.c, Alert.__table__.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.id, t.at, t.from_state, t.to_state, t.silenced, a.name, a.severity,
                       a.slo).join(Alert.__table__, a.id == t.alert_id)
                .where(t.id > self.transition_id).order_by(t.id)).all()
        if rows:
            self.transition_id = rows[-1].id
        return [f"alert {r.to_state}: {r.severity} {r.slo or r.name} ({r.from_state} -> "
                f"{r.to_state} at {_clock(r.at)} UTC{', silenced' if r.silenced else ''})"
                for r in rows]

    def delivery_lines(self) -> list[str]:
        d, o = DeliveryAttempt.__table__.c, OutboxMessage.__table__.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.id, d.ok, d.status_code, d.error, o.notifier, o.kind, o.key,
                       o.attempts).join(OutboxMessage.__table__, o.id == d.outbox_id)
                .where(d.id > self.attempt_id).order_by(d.id)).all()
        if rows:
            self.attempt_id = rows[-1].id
        return [f"delivered to {r.notifier}: {r.key} ({r.status_code})" if r.ok else
                f"delivery to {r.notifier} failed (attempt {r.attempts}): "
                f"{r.error or r.status_code}" for r in rows]
