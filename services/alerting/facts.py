"""What the service status rule (`documents.status`) needs of alerts: each service's alerts
as they stood at an instant, read from the store's alert rows and transitions; and the
status itself at an instant (`service_statuses`), as the API's service table and the
dashboard's fleet overview both show it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from services.alerting.read import TRANSITIONS, alerts
from services.documents.status import AlertFact, BudgetFact, ServiceStatus, service_status
from services.store.slo_data import budgets_left
from services.timerange import floor_minute
from slo.model import SLO


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


@dataclass(frozen=True)
class StatusAt:
    """A service's status at an instant, with the budgets behind it."""

    status: ServiceStatus
    budgets: dict[str, tuple[int, float | None]]  # SLO id -> (period start, budget left)


def service_statuses(conn: Connection, slugs: Sequence[str], slos: Sequence[SLO], at: int,
                     now: float, has_data: Mapping[str, bool]) -> dict[str, StatusAt]:
    """slug -> its status at `at` by the one rule: its alerts as they stood then
    (`alert_facts_at`) and its SLOs' error budgets left over their periods ending then
    (`slo_data.budgets_left`); `has_data` says whether anything was measured."""
    mine = [s for s in slos if s.service in set(slugs)]
    budgets = budgets_left(conn, mine, at)
    facts = alert_facts_at(conn, slugs, at, now)
    out = {}
    for slug in slugs:
        own = {s.id: budgets[s.id] for s in mine if s.service == slug}
        status = service_status(facts[slug], [BudgetFact(k, v[1]) for k, v in own.items()],
                                has_data=has_data.get(slug, False))
        out[slug] = StatusAt(status, own)
    return out
