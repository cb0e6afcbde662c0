"""An SLO's alerts as rules: identity, conditions, timing, labels, annotations and links.

From the spec: the multiwindow multi-burn-rate pairs of its period (page and ticket, as
Sloth and Pyrra generate them), or, when the spec lists explicit burn-rate conditions
(OpenSLO `AlertPolicy` / `AlertCondition`), those; labels and annotations from its
alerting section (Sloth `alerting.labels`, `page_alert`, `ticket_alert`); `for` from an
OpenSLO condition's `alertAfter` or the configuration. Every SLO also gets an absent-data
alert (Pyrra's). Identity is (SLO, kind, severity): a stable fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from services.alerting.lifecycle import Timing
from services.config import AlertingConfig
from slo.burn import threshold
from slo.durations import format_duration
from slo.model import SLO, Comparison
from slo.series import minutes
from slo.windows import AlertWindows

AlertKind = Literal["burn", "absent"]
RUNBOOK_KEYS = ("runbook_url", "runbook")
DASHBOARD_KEYS = ("dashboard_url", "dashboard")


@dataclass(frozen=True)
class Condition:
    """True when the error ratio over every one of `widths` (minutes) compares `op` with
    `limit` (an error ratio): a Sloth pair is two widths and `gt`."""

    widths: tuple[int, ...]
    limit: float
    op: Comparison = "gt"


@dataclass(frozen=True)
class AlertRule:
    slo: SLO
    kind: AlertKind
    severity: str
    name: str
    fingerprint: str
    conditions: tuple[Condition, ...]  # any of them fires the alert
    timing: Timing
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)
    absent_after_s: float = 0.0

    @property
    def widths(self) -> set[int]:
        return {w for c in self.conditions for w in c.widths}


def fingerprint(slo_id: str, kind: str, severity: str) -> str:
    digest = hashlib.sha256(f"apollo\0{slo_id}\0{kind}\0{severity}".encode()).hexdigest()
    return digest[:32]


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("_", "-").split("-"))


def _links(slo: SLO, annotations: Mapping[str, str], dashboard_url: str | None
           ) -> dict[str, str]:
    links = {}
    runbook = next((annotations[k] for k in RUNBOOK_KEYS if annotations.get(k)), None)
    if runbook:
        links["runbook"] = runbook
    dashboard = next((annotations[k] for k in DASHBOARD_KEYS if annotations.get(k)), None)
    if dashboard is None and dashboard_url:
        dashboard = f"{dashboard_url.rstrip('/')}/slos?slo={slo.id}"
    if dashboard:
        links["dashboard"] = dashboard
    return links


def _burn_conditions(slo: SLO, windows: AlertWindows, severity: str) -> tuple[Condition, ...]:
    budget = slo.error_budget_ratio
    return tuple(Condition((minutes(w.short), minutes(w.long)),
                           threshold(w, windows.period, budget))
                 for w in windows.of(severity))  # type: ignore[arg-type]


def alert_rules(slo: SLO, windows: AlertWindows, config: AlertingConfig) -> list[AlertRule]:
    """Every alert of `slo`: burn-rate alerts per severity, then its absent-data alert."""
    alerting = slo.alerting
    base_name = alerting.name or _camel(slo.id)
    common_labels = {**slo.labels, **alerting.labels}
    keep = config.keep_firing_for.total_seconds()
    rules: list[AlertRule] = []
    explicit: dict[str, list[tuple[Condition, timedelta]]] = {}
    for c in alerting.conditions:
        width = minutes(c.lookback)
        explicit.setdefault(c.severity, []).append(
            (Condition((width,), c.threshold * slo.error_budget_ratio, c.op), c.alert_after))
    severities = list(explicit) if explicit else ["page", "ticket"]
    for severity in severities:
        rule_spec = {"page": alerting.page, "ticket": alerting.ticket}.get(severity)
        if not explicit and rule_spec is not None and rule_spec.disabled:
            continue  # (explicit conditions replace the generated pairs, disabled or not)
        if explicit:
            conditions = tuple(c for c, _ in explicit[severity])
            for_s = max(a.total_seconds() for _, a in explicit[severity])
        else:
            conditions = _burn_conditions(slo, windows, severity)
            for_s = config.pending_for(severity).total_seconds()
        if not conditions:
            continue
        annotations = {**alerting.annotations, **(rule_spec.annotations if rule_spec else {})}
        labels = {"severity": severity, **common_labels,
                  **(rule_spec.labels if rule_spec else {}),
                  "alertname": base_name, "slo": slo.id, "service": slo.service}
        annotations.setdefault(
            "summary", f"{slo.service} {slo.name}: error budget burning too fast ({severity})")
        rules.append(AlertRule(
            slo, "burn", severity, base_name, fingerprint(slo.id, "burn", severity),
            conditions, Timing(for_s, keep), labels, annotations,
            _links(slo, annotations, config.dashboard_url)))
    after = config.absent.after
    severity = config.absent.severity
    annotations = {**alerting.annotations,
                   "summary": f"{slo.service} {slo.name}: no SLI data for "
                              f"{format_duration(after)}"}
    rules.append(AlertRule(
        slo, "absent", severity, f"{base_name}Absent", fingerprint(slo.id, "absent", severity),
        (), Timing(0.0, 0.0),
        {"severity": severity, **common_labels, "alertname": f"{base_name}Absent",
         "slo": slo.id, "service": slo.service},
        annotations, _links(slo, annotations, config.dashboard_url),
        absent_after_s=after.total_seconds()))
    return rules
