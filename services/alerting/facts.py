"""What the service status rule (`documents.status`) needs of alerts: each service's alerts
as they stood at an instant, read from the store's alert rows and transitions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from services.alerting.read import TRANSITIONS, alerts
from services.documents.status import AlertFact
from services.timerange import floor_minute


def alert_facts_at(conn: Connection, slugs: Sequence[str], at: int, now: float
              ) -> dict[str, list[AlertFact]]:
    """service slug -> its alerts as they stood at `at`: their current state when `at` is
    the current minute (or later), else the state their last transition before `at` left."""
    wanted = set(slugs)
    rows = [r for r in alerts(conn) if r["service"] in wanted]
    states = {r["id"]: r["state"] for r in rows}
    if at < floor_minute(int(now)) and rows:
        states = dict.fromkeys(states, "inactive")
        for alert_id, to_state in conn.execute(
                select(TRANSITIONS.c.alert_id, TRANSITIONS.c.to_state)
                .where(TRANSITIONS.c.alert_id.in_(list(states)), TRANSITIONS.c.at < at)
                .order_by(TRANSITIONS.c.at, TRANSITIONS.c.id)):
            states[alert_id] = to_state
    out: dict[str, list[AlertFact]] = {s: [] for s in slugs}
    for r in rows:
        out[r["service"]].append(AlertFact(r["name"], r["severity"], states[r["id"]], r["slo"]))
    return out
