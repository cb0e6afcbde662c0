"""The alert state machine, pure: a condition observed at increasing times -> states.

inactive → pending → firing → resolved, as Prometheus runs an alerting rule:
- a condition that turns true starts an episode: pending, or straight to firing when the
  rule has no `for`;
- pending becomes firing once the condition has held for `for`; a pending alert whose
  condition turns false goes back to inactive (nobody was told);
- a firing alert resolves only once its condition has been false for `keep_firing_for`
  (flap suppression: a burn rate dipping under its threshold for one minute does not
  resolve and re-page);
- a resolved alert whose condition turns true starts a new episode.

Each change carries the episode number, so (identity, episode, new state) names it once
and for all: that is the idempotency key of its notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

State = Literal["inactive", "pending", "firing", "resolved"]
NOTIFIED: frozenset[str] = frozenset({"firing", "resolved"})  # states receivers hear about


@dataclass(frozen=True)
class Timing:
    """How long a condition must hold before firing, and stay false before resolving."""

    for_s: float = 0.0
    keep_firing_for_s: float = 0.0


@dataclass(frozen=True)
class AlertState:
    state: State = "inactive"
    episode: int = 0
    active_since: float | None = None  # when this episode's condition turned true
    fired_at: float | None = None
    last_active_at: float | None = None  # the last time the condition held
    resolved_at: float | None = None


@dataclass(frozen=True)
class Change:
    from_state: State
    to_state: State
    at: float
    episode: int

    @property
    def notifies(self) -> bool:
        return self.to_state in NOTIFIED


def step(prev: AlertState, active: bool, at: float, timing: Timing
         ) -> tuple[AlertState, Change | None]:
    """The state after observing the condition (`active`) at `at`, and the change, if any."""
    state = prev.state
    if active:
        if state in ("inactive", "resolved"):
            started = AlertState("pending", prev.episode + 1, active_since=at,
                                 last_active_at=at)
            if timing.for_s <= 0:
                started = replace(started, state="firing", fired_at=at)
            return started, Change(state, started.state, at, started.episode)
        now = replace(prev, last_active_at=at)
        if state == "pending" and at - (prev.active_since or at) >= timing.for_s:
            fired = replace(now, state="firing", fired_at=at)
            return fired, Change("pending", "firing", at, prev.episode)
        return now, None
    if state == "pending":
        return replace(prev, state="inactive"), Change("pending", "inactive", at, prev.episode)
    if state == "firing":
        quiet_since = prev.last_active_at if prev.last_active_at is not None else at
        if at - quiet_since >= timing.keep_firing_for_s:
            done = replace(prev, state="resolved", resolved_at=at)
            return done, Change("firing", "resolved", at, prev.episode)
    return prev, None


def transition_key(fingerprint: str, change: Change) -> str:
    """The idempotency key of one change of one alert."""
    return f"{fingerprint}:{change.episode}:{change.to_state}"
