"""Alert evaluation after each collection round: new minutes -> states -> transitions -> outbox.

Whole minutes only: a minute is evaluated once the store holds it (the scraper writes a
minute as soon as a scrape after its end arrives), at the end of that minute, exactly as
`slo.burn.decide` judges it, so a backtest over the same minutes shows the same firings.
Each SLO keeps its recent minutes in a `MinuteWindow`; a round reads only the minutes since
its cursor (and the last few again, for late scrapes), so it costs the new minutes, not the
SLO's whole window. The error budget left at a transition comes from hour totals over the
SLO's period (whole hours at the period's start).

A round writes the changed alerts, their transitions (with the burn rates and budget that
caused them), their outbox rows and the SLOs' cursors in one transaction. The cursor is
advanced only from the value this evaluator read, so two evaluators never both record a
round: the second one's transaction is rolled back and it reloads.
"""

from __future__ import annotations

import logging
import math
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.alerting.lifecycle import AlertState, Change, step, transition_key
from services.alerting.message import AlertMessage
from services.alerting.outbox import Envelope, enqueue
from services.alerting.policy import AlertRule, alert_rules
from services.alerting.routing import Router
from services.alerting.silences import Silences
from services.alerting.window import MinuteWindow
from services.config import AlertingConfig, Notifier
from services.store import queries
from services.store.catalog import slo_ids
from services.store.models import (
    Acknowledgement,
    Alert,
    AlertCursor,
    AlertTransition,
    SliMinute,
)
from slo.budget import period_bounds
from slo.durations import format_duration
from slo.errors import SpecError
from slo.model import SLO
from slo.series import MINUTE_S, InProgress
from slo.windows import AlertWindows, slo_windows

log = logging.getLogger(__name__)
ALERTS = Alert.__table__
TRANSITIONS = AlertTransition.__table__
CURSORS = AlertCursor.__table__
REREAD_MINUTES = 5  # minutes before the cursor read again each round: late scrapes
HOUR = 3600


class CursorMoved(Exception):
    """Another evaluator recorded this round first."""


@dataclass(frozen=True)
class Round:
    """What one evaluation round did."""

    minutes: int = 0
    transitions: int = 0
    notifications: int = 0
    errors: tuple[str, ...] = ()


@dataclass
class _Tracker:
    """One SLO under evaluation: its rules, recent minutes, hour totals and alert states."""

    slo: SLO
    rules: list[AlertRule]
    window: MinuteWindow
    cursor: int  # every minute ending at or before this has been evaluated
    hours: dict[int, list[float]] = field(default_factory=dict)  # hour -> [bad, total]
    states: dict[str, AlertState] = field(default_factory=dict)  # fingerprint -> state
    alert_ids: dict[str, int] = field(default_factory=dict)

    def add_hour(self, minute: int, d_bad: float, d_total: float) -> None:
        if d_bad or d_total:
            entry = self.hours.setdefault(minute - minute % HOUR, [0.0, 0.0])
            entry[0] += d_bad
            entry[1] += d_total

    def budget_remaining(self, at: int) -> float | None:
        start, _ = period_bounds(at, self.slo.period)
        bad = total = 0.0
        for hour, (b, t) in self.hours.items():
            if start - start % HOUR <= hour < at:
                bad += b
                total += t
        later_bad, later_total = self.window.sums(at, at - at % HOUR + HOUR)
        bad, total = bad - later_bad, total - later_total  # minutes of this round after `at`
        if total <= 0:
            return None
        return 1 - bad / (total * self.slo.error_budget_ratio)

    def ratio(self, width: int, at: float, current: InProgress | None = None) -> float:
        """Error ratio over the `width` minutes up to `at`: at a minute end, the stored
        minutes; between minute ends, the minute being counted so far plus the stored
        ones before it, the oldest of them in the share the window still covers (events
        taken as spread evenly over a minute, as a rate over a range is)."""
        if current is None:
            return self.window.ratio(width, int(at))
        share = (at - current.minute) / MINUTE_S  # of the minute being counted
        first = current.minute - MINUTE_S * width  # the minute the window starts inside
        bad, total = self.window.sums(first + MINUTE_S, current.minute)
        edge_bad, edge_total = self.window.counts(first)
        bad += (1 - share) * edge_bad + max(0.0, current.total - current.good)
        total += (1 - share) * edge_total + current.total
        return bad / total if total > 0 else math.nan

    def burn_rates(self, rule: AlertRule, at: float, current: InProgress | None = None
                   ) -> dict[str, float]:
        rates = {}
        for width in sorted(rule.widths):
            ratio = self.ratio(width, at, current)
            if not math.isnan(ratio):
                rates[format_duration(timedelta(minutes=width))] = (
                    ratio / self.slo.error_budget_ratio)
        return rates


@dataclass(frozen=True)
class _Pending:
    """A change to record: the rule, the change, and the figures behind it."""

    tracker: _Tracker
    rule: AlertRule
    change: Change
    state: AlertState
    burn_rates: Mapping[str, float]
    budget: float | None


COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _holds(value: float, op: str, limit: float) -> bool:
    return not math.isnan(value) and COMPARE[op](value, limit)


def _active(tracker: _Tracker, rule: AlertRule, at: float,
            current: InProgress | None = None) -> bool:
    return any(all(_holds(tracker.ratio(w, at, current), c.op, c.limit) for w in c.widths)
               for c in rule.conditions)


class AlertEvaluator:
    """Evaluates the configured SLOs' alerts, round after round."""

    def __init__(self, engine: Engine, slos: Sequence[SLO], config: AlertingConfig,
                 notifiers: Sequence[Notifier], *,
                 windows: Mapping[timedelta, AlertWindows] | None = None,
                 clock: Callable[[], float] = time.time,
                 on_enqueue: Callable[[], None] | None = None,
                 in_progress: Callable[[], Mapping[str, InProgress]] | None = None) -> None:
        self.engine = engine
        # a round reads, then writes: on SQLite it takes the write lock first (see worker)
        self.writer = engine.execution_options(sqlite_begin_immediate=True)
        self.in_progress = in_progress
        self.config = config
        self.clock = clock
        self.on_enqueue = on_enqueue
        self.router = Router(config.route, notifiers)
        self.kinds = {n.name: n.kind for n in notifiers}
        self.rules: dict[str, list[AlertRule]] = {}
        self.skipped: list[str] = []  # SLOs that cannot alert, with the reason
        for s in slos:
            try:
                self.rules[s.id] = alert_rules(s, slo_windows(s, windows), config)
            except SpecError as exc:
                self.skipped.append(str(exc))
        self.slos = {s.id: s for s in slos if s.id in self.rules}
        self.trackers: dict[str, _Tracker] = {}
        self.started_at = clock()

    # --- one round ----------------------------------------------------------------------

    def evaluate(self) -> Round:
        now = self.clock()
        try:
            with self.writer.begin() as conn:
                return self._round(conn, now)
        except (CursorMoved, IntegrityError):
            log.info("another evaluator recorded this round; reloading")
            self.trackers.clear()
            return Round(errors=("another evaluator recorded this round first",))
        except Exception:
            self.trackers.clear()  # the store may hold other than what we hold: reload
            raise

    def _round(self, conn: Connection, now: float) -> Round:
        horizons = self._horizons(conn, now)
        self._load(conn, now, horizons)
        self._claim(conn)
        self._read_new(conn, horizons)
        changes: list[_Pending] = []
        evaluated = 0
        counting = self.in_progress() if self.in_progress is not None else {}
        for slug, tracker in self.trackers.items():
            horizon = horizons.get(slug, tracker.cursor)
            for at in range(tracker.cursor + MINUTE_S, horizon + 1, MINUTE_S):
                evaluated += 1
                for rule in tracker.rules:
                    if rule.kind == "burn":
                        self._step(tracker, rule, _active(tracker, rule, at), at, changes)
            current = counting.get(slug)
            if (current is not None and current.minute == max(horizon, tracker.cursor)
                    and current.minute < current.through <= now):
                for rule in tracker.rules:  # between minute ends: the minute being counted
                    if rule.kind == "burn":
                        self._step(tracker, rule, _active(tracker, rule, current.through,
                                                          current), current.through, changes,
                                   current)
            for rule in tracker.rules:
                if rule.kind == "absent":
                    last = tracker.window.last_data
                    seen = max(self.started_at, last + MINUTE_S if last is not None else 0)
                    self._step(tracker, rule, now - seen >= rule.absent_after_s, now, changes)
        silences = Silences.load(conn, now)
        sent = self._record(conn, changes, silences, now)
        sent += self._repeats(conn, silences, now)
        self._refresh_values(conn, horizons, now)
        self._advance(conn, horizons)
        if sent and self.on_enqueue is not None:
            self.on_enqueue()
        return Round(evaluated, len(changes), sent, tuple(self.skipped))

    def _step(self, tracker: _Tracker, rule: AlertRule, active: bool, at: float,
              changes: list[_Pending], current: InProgress | None = None) -> None:
        prev = tracker.states.get(rule.fingerprint, AlertState())
        state, change = step(prev, active, at, rule.timing)
        tracker.states[rule.fingerprint] = state
        if change is None:
            return
        minute_end = int(at) - int(at) % MINUTE_S
        rates = tracker.burn_rates(rule, at, current) if rule.kind == "burn" else {}
        changes.append(_Pending(tracker, rule, change, state, rates,
                                tracker.budget_remaining(minute_end)))

    # --- reading ------------------------------------------------------------------------

    def _horizons(self, conn: Connection, now: float) -> dict[str, int]:
        """Per SLO, the end of its newest stored minute (never past now)."""
        ids = slo_ids(conn, list(self.slos))
        if not ids:
            return {}
        table = SliMinute.__table__
        oldest = min((t.cursor for t in self.trackers.values()), default=None)
        since = (oldest if oldest is not None else int(now) - self._keep_s()) - MINUTE_S
        rows = conn.execute(
            select(table.c.slo_id, func.max(table.c.minute))
            .where(table.c.slo_id.in_(list(ids.values())), table.c.minute >= since)
            .group_by(table.c.slo_id))
        slug_of = {v: k for k, v in ids.items()}
        limit = int(now) - int(now) % MINUTE_S
        return {slug_of[i]: min(limit, int(m) + MINUTE_S) for i, m in rows if m is not None}

    def _keep_s(self) -> int:
        widest = max((w for rules in self.rules.values() for r in rules for w in r.widths),
                     default=60)
        return MINUTE_S * (widest + REREAD_MINUTES)

    def _load(self, conn: Connection, now: float, horizons: Mapping[str, int]) -> None:
        """Trackers for SLOs not held yet: cursor, alert states, recent minutes, hours."""
        missing = [s for s in self.slos if s not in self.trackers]
        if not missing:
            return
        cursors = dict(conn.execute(select(CURSORS.c.slo, CURSORS.c.through)
                                    .where(CURSORS.c.slo.in_(missing))).all())
        limit = int(now) - int(now) % MINUTE_S
        keep_s = self._keep_s()
        for slug in missing:
            slo, rules = self.slos[slug], self.rules[slug]
            horizon = horizons.get(slug, limit)
            cursor = int(cursors.get(slug, horizon - MINUTE_S))  # first start: newest minute
            cursor = max(cursor, horizon - keep_s)  # a long outage is not replayed
            if slug in cursors:
                if cursor != cursors[slug]:
                    conn.execute(update(CURSORS).where(CURSORS.c.slo == slug)
                                 .values(through=cursor))
            else:  # a second evaluator starting at once fails here on the primary key
                conn.execute(insert(CURSORS).values(slo=slug, through=cursor))
            first = cursor - keep_s
            first -= first % HOUR  # whole hours before it come from the hour totals
            window = MinuteWindow(first, (cursor - first) // MINUTE_S)
            tracker = _Tracker(slo, rules, window, cursor)
            self._load_states(conn, tracker, now)
            self._load_hours(conn, tracker)
            self._apply(tracker, queries.sli(conn, _dt(first), _dt(cursor), slos=[slug]))
            self.trackers[slug] = tracker

    def _load_states(self, conn: Connection, tracker: _Tracker, now: float) -> None:
        rows = {r.fingerprint: r for r in conn.execute(
            select(ALERTS).where(ALERTS.c.fingerprint.in_([r.fingerprint
                                                           for r in tracker.rules])))}
        for rule in tracker.rules:
            row = rows.get(rule.fingerprint)
            if row is None:
                result = conn.execute(insert(ALERTS).values(
                    fingerprint=rule.fingerprint, source="apollo", kind=rule.kind,
                    name=rule.name, slo=rule.slo.id, service=rule.slo.service,
                    severity=rule.severity, state="inactive", episode=0,
                    labels=dict(rule.labels), annotations=dict(rule.annotations),
                    updated_at=now, values={}))
                tracker.alert_ids[rule.fingerprint] = int(result.inserted_primary_key[0])
                continue
            tracker.alert_ids[rule.fingerprint] = row.id
            tracker.states[rule.fingerprint] = AlertState(
                row.state, row.episode, row.active_since, row.fired_at, row.last_active_at,
                row.resolved_at)

    def _load_hours(self, conn: Connection, tracker: _Tracker) -> None:
        """Hour totals of the period before the minutes the window holds."""
        start, _ = period_bounds(tracker.cursor, tracker.slo.period)
        first = tracker.window.start
        if start >= first:
            return
        frame = queries.sli(conn, _dt(start - start % HOUR), _dt(first), resolution="hour",
                            slos=[tracker.slo.id])
        for ts, good, total in zip(_seconds(frame), frame["good"], frame["total"],
                                   strict=True):
            tracker.add_hour(int(ts), max(0.0, float(total) - float(good)), float(total))

    def _read_new(self, conn: Connection, horizons: Mapping[str, int]) -> int:
        """Minutes since each cursor (and the last few again) into the trackers."""
        due = {s: t for s, t in self.trackers.items() if horizons.get(s, t.cursor) > t.cursor}
        if not due:
            return 0
        start = min(t.cursor for t in due.values()) - REREAD_MINUTES * MINUTE_S
        end = max(horizons[s] for s in due)
        frame = queries.sli(conn, _dt(start), _dt(end), slos=list(due))
        n = 0
        for slug, part in frame.groupby("slo", sort=False):
            tracker = due.get(str(slug))
            if tracker is not None:
                n += self._apply(tracker, part)
        return n

    @staticmethod
    def _apply(tracker: _Tracker, frame: pd.DataFrame) -> int:
        """Stored minutes into the tracker's window and hour totals; returns how many."""
        for minute, good, total in zip(_seconds(frame), frame["good"].to_numpy(dtype=float),
                                       frame["total"].to_numpy(dtype=float), strict=True):
            old_bad, old_total = tracker.window.counts(minute)
            tracker.window.write(minute, good, total)
            bad, total = tracker.window.counts(minute)
            tracker.add_hour(minute, bad - old_bad, total - old_total)
        return len(frame)

    # --- writing ------------------------------------------------------------------------

    def _record(self, conn: Connection, changes: Sequence[_Pending], silences: Silences,
                now: float) -> int:
        envelopes: list[Envelope] = []
        for p in changes:
            rule, change, state = p.rule, p.change, p.state
            alert_id = p.tracker.alert_ids[rule.fingerprint]
            key = transition_key(rule.fingerprint, change)
            silenced = silences.silences(rule.labels)
            notify = change.notifies and not silenced
            if notify and change.to_state == "resolved":
                notify = self._firing_was_notified(conn, rule.fingerprint, change.episode)
            reason = self._reason(p)
            result = conn.execute(insert(TRANSITIONS).values(
                alert_id=alert_id, key=key, at=change.at, from_state=change.from_state,
                to_state=change.to_state, episode=change.episode,
                burn_rates=dict(p.burn_rates), budget_remaining=p.budget, reason=reason,
                silenced=bool(silenced) and change.notifies))
            transition_id = int(result.inserted_primary_key[0])
            conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(
                state=state.state, episode=state.episode, active_since=state.active_since,
                fired_at=state.fired_at, last_active_at=state.last_active_at,
                resolved_at=state.resolved_at, updated_at=now,
                labels=dict(rule.labels), annotations=dict(rule.annotations),
                values={"burn_rates": dict(p.burn_rates), "budget_remaining": p.budget}))
            if notify:
                message = self._message(p, key, "transition")
                envelopes += [Envelope(message, d.notifier, d.group_key(rule.labels),
                                       d.group_wait_s, alert_id, transition_id)
                              for d in self.router.destinations(rule.labels)]
        return enqueue(conn, envelopes, now=now,
                       deadline_s=self.config.delivery.deadline.total_seconds())

    def _firing_was_notified(self, conn: Connection, fingerprint: str, episode: int) -> bool:
        key = f"{fingerprint}:{episode}:firing"
        silenced = conn.execute(select(TRANSITIONS.c.silenced)
                                .where(TRANSITIONS.c.key == key)).scalar()
        return silenced is False or silenced == 0

    @staticmethod
    def _reason(p: _Pending) -> str:
        rates = ", ".join(f"{w} {r:.2f}x" for w, r in p.burn_rates.items())
        if p.rule.kind == "absent":
            return f"no SLI data for {format_duration(timedelta(seconds=p.rule.absent_after_s))}"
        return f"burn rate {rates or 'n/a'}" + (
            f"; budget left {p.budget:.1%}" if p.budget is not None else "")

    def _message(self, p: _Pending, key: str, kind: str) -> AlertMessage:
        rule, state = p.rule, p.state
        resolved = state.state == "resolved"
        return AlertMessage(
            key=key, fingerprint=rule.fingerprint, name=rule.name,
            status="resolved" if resolved else "firing", severity=rule.severity,
            starts_at=state.fired_at or state.active_since or p.change.at,
            ends_at=state.resolved_at if resolved else None,
            slo=rule.slo.id, service=rule.slo.service, objective=rule.slo.objective,
            labels=dict(rule.labels), annotations=dict(rule.annotations),
            burn_rates=dict(p.burn_rates), budget_remaining=p.budget,
            links=dict(rule.links), kind=kind)  # type: ignore[arg-type]

    def _repeats(self, conn: Connection, silences: Silences, now: float) -> int:
        """Firing alerts again: to Alertmanager every `repost_interval` (or it resolves
        them itself), elsewhere every route's `repeat_interval` unless acknowledged."""
        repost_s = self.config.repost_interval.total_seconds()
        envelopes: list[Envelope] = []
        acked = self._acknowledged(conn, now)
        for tracker in self.trackers.values():
            for rule in tracker.rules:
                state = tracker.states.get(rule.fingerprint)
                if state is None or state.state != "firing" or state.fired_at is None:
                    continue
                if silences.silences(rule.labels):
                    continue
                alert_id = tracker.alert_ids[rule.fingerprint]
                key = f"{rule.fingerprint}:{state.episode}:firing"
                age = now - state.fired_at
                for d in self.router.destinations(rule.labels):
                    if self.kinds.get(d.notifier) == "alertmanager":
                        if age < repost_s:
                            continue
                        kind, suffix = "repost", f"{int(now // repost_s)}"
                    else:
                        n = int(age // d.repeat_interval_s)
                        if n < 1 or (alert_id, state.episode) in acked:
                            continue
                        kind, suffix = "repeat", str(n)
                    pending = _Pending(tracker, rule, Change("firing", "firing", now,
                                                             state.episode), state,
                                       self._last_rates(tracker, rule), None)
                    envelopes.append(Envelope(self._message(pending, key, kind), d.notifier,
                                              d.group_key(rule.labels), 0.0, alert_id,
                                              None, suffix))
        return enqueue(conn, envelopes, now=now,
                       deadline_s=self.config.delivery.deadline.total_seconds())

    @staticmethod
    def _last_rates(tracker: _Tracker, rule: AlertRule) -> dict[str, float]:
        if rule.kind != "burn" or tracker.window.length == 0:
            return {}
        return tracker.burn_rates(rule, tracker.window.end)

    @staticmethod
    def _acknowledged(conn: Connection, now: float) -> set[tuple[int, int]]:
        table = Acknowledgement.__table__
        return {(r.alert_id, r.episode) for r in conn.execute(
            select(table.c.alert_id, table.c.episode).where(table.c.expires_at > now))}

    def _refresh_values(self, conn: Connection, horizons: Mapping[str, int], now: float
                        ) -> None:
        """The burn rates and budget now, on the alerts of SLOs with new minutes (what
        `apollo alerts` and the dashboard show between transitions)."""
        params = []
        for slug, tracker in self.trackers.items():
            horizon = horizons.get(slug, tracker.cursor)
            if horizon <= tracker.cursor:
                continue
            budget = tracker.budget_remaining(horizon)
            params += [{"alert_id": tracker.alert_ids[r.fingerprint], "at": now,
                        "values": {"burn_rates": tracker.burn_rates(r, horizon),
                                   "budget_remaining": budget, "through": horizon}}
                       for r in tracker.rules if r.kind == "burn"]
        if params:
            conn.execute(update(ALERTS).where(ALERTS.c.id == bindparam("alert_id"))
                         .values(values=bindparam("values"), updated_at=bindparam("at")),
                         params)

    def _claim(self, conn: Connection) -> None:
        """Hold every cursor row at the value this evaluator knows, for the round: a row
        another evaluator moved means its states are newer than ours (CursorMoved); on
        PostgreSQL the update also locks the row until this round commits."""
        for slug, tracker in self.trackers.items():
            held = conn.execute(update(CURSORS).where(and_(
                CURSORS.c.slo == slug, CURSORS.c.through == tracker.cursor))
                .values(through=tracker.cursor)).rowcount
            if held != 1:
                raise CursorMoved(slug)

    def _advance(self, conn: Connection, horizons: Mapping[str, int]) -> None:
        for slug, tracker in self.trackers.items():
            horizon = max(tracker.cursor, horizons.get(slug, tracker.cursor))
            if horizon != tracker.cursor:
                conn.execute(update(CURSORS).where(CURSORS.c.slo == slug)
                             .values(through=horizon))
                tracker.cursor = horizon


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(frame: pd.DataFrame) -> list[int]:
    if not len(frame):
        return []
    epoch = pd.Timestamp(0, tz="UTC")
    return ((frame["ts"] - epoch) // pd.Timedelta(seconds=1)).astype("int64").tolist()
