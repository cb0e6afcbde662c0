"""A service's status: computed from its alerts and error budgets, never stored.

One rule, shared by the API and the dashboard:

- **critical** when a page alert of the service fires, or an SLO of it has spent its
  error budget (remaining <= 0);
- **warning** when a ticket alert fires, or an SLO has less than 25% of its budget left;
- **healthy** otherwise;
- **unknown** when there is no data to call it healthy (nothing measured in the range).

Known problems outrank missing data: a firing page alert (an absent-data alert, say) makes
a service critical even when nothing was measured; only "healthy" needs data. An SLO with
no events in its period has no budget figure (None) and counts for nothing. Severities:
Apollo's `page` and `ticket`, and Alertmanager's `critical` and `warning` as the same.

Pure: plain values in, a `ServiceStatus` (the status and every reason for it) out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["critical", "warning", "healthy", "unknown"]
STATUSES: tuple[Status, ...] = ("critical", "warning", "healthy", "unknown")
WARNING_BUDGET = 0.25  # under this share of the budget left: warning
PAGE_SEVERITIES = frozenset({"page", "critical"})
TICKET_SEVERITIES = frozenset({"ticket", "warning"})
FIRING = "firing"


@dataclass(frozen=True)
class AlertFact:
    """One alert of the service as it stands: its name, severity and state."""

    name: str
    severity: str
    state: str
    slo: str = ""


@dataclass(frozen=True)
class BudgetFact:
    """One SLO of the service and its error budget left (1 - spent; None: no events)."""

    slo: str
    remaining: float | None


@dataclass(frozen=True)
class Reason:
    """Why a service is not healthy: an alert firing or an SLO's budget."""

    level: Literal["critical", "warning"]
    kind: Literal["alert", "budget"]
    subject: str  # the alert's name, or the SLO's slug
    message: str
    slo: str = ""
    severity: str = ""  # of an alert
    remaining: float | None = None  # of a budget


@dataclass(frozen=True)
class ServiceStatus:
    status: Status
    reasons: tuple[Reason, ...] = ()


def _alert_reason(alert: AlertFact) -> Reason | None:
    if alert.state != FIRING:
        return None
    severity = alert.severity.lower()
    if severity in PAGE_SEVERITIES:
        level: Literal["critical", "warning"] = "critical"
    elif severity in TICKET_SEVERITIES:
        level = "warning"
    else:
        return None
    return Reason(level, "alert", alert.name, f"{severity} alert {alert.name} is firing",
                  slo=alert.slo, severity=alert.severity)


def _budget_reason(budget: BudgetFact) -> Reason | None:
    left = budget.remaining
    if left is None or left != left:  # no events in the period (None or NaN)
        return None
    if left <= 0:
        return Reason("critical", "budget", budget.slo,
                      f"SLO {budget.slo} has spent its error budget ({left:.1%} left)",
                      slo=budget.slo, remaining=left)
    if left < WARNING_BUDGET:
        return Reason("warning", "budget", budget.slo,
                      f"SLO {budget.slo} has {left:.1%} of its error budget left "
                      f"(under {WARNING_BUDGET:.0%})", slo=budget.slo, remaining=left)
    return None


def service_status(alerts: Iterable[AlertFact], budgets: Iterable[BudgetFact], *,
                   has_data: bool) -> ServiceStatus:
    """The status of one service and its reasons, critical ones first (then by subject)."""
    found = [r for r in (*map(_alert_reason, alerts), *map(_budget_reason, budgets))
             if r is not None]
    found.sort(key=lambda r: (r.level != "critical", r.kind, r.subject))
    if any(r.level == "critical" for r in found):
        return ServiceStatus("critical", tuple(found))
    if found:
        return ServiceStatus("warning", tuple(found))
    return ServiceStatus("healthy" if has_data else "unknown")
