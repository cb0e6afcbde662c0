"""PagerDuty Events API v2: one event per message (the API takes one event a request).

A firing message is a `trigger`, a resolved one a `resolve`. The `dedup_key` is the alert's
fingerprint, not the transition's key: PagerDuty opens one incident per open `dedup_key`
and a `resolve` closes the incident of its `dedup_key`, so trigger and resolve must share
it, and every retry, re-post or repeat of a trigger while the incident is open is folded
into that incident instead of paging again. The transition's key travels in
`custom_details.key`. A fingerprint longer than PagerDuty's 255 characters is replaced by
`sha256:<hex>` of itself (the same for trigger and resolve).

Severity: the notifier's `severities` map (page → critical, ticket → warning unless
configured), else the alert's own severity when it is already one of PagerDuty's four
(critical, error, warning, info, as an external alert may say), else warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from services.alerting.message import AlertMessage
from services.alerting.notifiers.alertmanager import rfc3339, summary

SEVERITIES = ("critical", "error", "warning", "info")
DEFAULT_SEVERITIES = {"page": "critical", "ticket": "warning"}
FALLBACK_SEVERITY = "warning"
SOURCE = "apollo-observatory"
CLIENT = "Apollo Observatory"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_TEXT = 1024  # source, component, group, class and each detail's text
MAX_ITEMS = 50  # labels, annotations and burn rates each, so an event stays far below 512 KB


def event(message: AlertMessage, *, routing_key: str,
          severities: Mapping[str, str]) -> dict[str, Any]:
    """The Events API v2 body for `message`: a trigger when firing, else a resolve."""
    dedup = dedup_key(message.fingerprint)
    if message.status != "firing":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup}
    payload: dict[str, Any] = {
        "summary": clip(summary(message), MAX_SUMMARY),
        "source": clip(message.service or SOURCE, MAX_TEXT),
        "severity": severity(message.severity, severities),
        "timestamp": rfc3339(message.starts_at),
    }
    for name, value in (("component", message.service), ("group", message.slo),
                        ("class", message.name)):
        if value:
            payload[name] = clip(value, MAX_TEXT)
    payload["custom_details"] = details(message)
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger",
                            "dedup_key": dedup, "payload": payload, "client": CLIENT}
    dashboard = message.links.get("dashboard", "")
    if dashboard.startswith(("http://", "https://")):
        body["client_url"] = dashboard
    links = [{"href": url, "text": name.replace("_", " ").capitalize()}
             for name, url in _ordered(message.links) if url.startswith(("http://", "https://"))]
    if links:
        body["links"] = links[:MAX_ITEMS]
    return body


def dedup_key(fingerprint: str) -> str:
    """The fingerprint itself, or `sha256:<hex>` of it past 255 UTF-8 bytes."""
    if 0 < len(fingerprint.encode("utf-8", "replace")) <= MAX_DEDUP_KEY:
        return fingerprint
    return "sha256:" + hashlib.sha256(fingerprint.encode("utf-8", "replace")).hexdigest()


def severity(alert_severity: str, severities: Mapping[str, str]) -> str:
    """One of critical, error, warning, info for the alert's severity."""
    mapped = severities.get(alert_severity) or DEFAULT_SEVERITIES.get(alert_severity)
    if mapped is None and alert_severity.lower() in SEVERITIES:
        mapped = alert_severity.lower()
    return mapped if mapped in SEVERITIES else FALLBACK_SEVERITY


def details(message: AlertMessage) -> dict[str, Any]:
    """`custom_details`: what caused the alert (burn rates, budget) and its key."""
    out: dict[str, Any] = {"slo": message.slo, "service": message.service,
                           "severity": message.severity, "key": clip(message.key, MAX_TEXT),
                           "fingerprint": clip(message.fingerprint, MAX_TEXT)}
    if message.objective is not None:
        out["objective_percent"] = message.objective
    if message.burn_rates:
        out["burn_rates"] = dict(list(message.burn_rates.items())[:MAX_ITEMS])
    if message.budget_remaining is not None:
        out["budget_remaining_percent"] = round(message.budget_remaining * 100, 3)
    if message.kind != "transition":
        out["kind"] = message.kind
    for name in ("labels", "annotations"):
        pairs = getattr(message, name)
        if pairs:
            out[name] = {clip(str(k), MAX_TEXT): clip(str(v), MAX_TEXT)
                         for k, v in list(pairs.items())[:MAX_ITEMS]}
    return {k: (clip(v, MAX_TEXT) if isinstance(v, str) else v) for k, v in out.items()}


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ordered(links: Mapping[str, str]) -> list[tuple[str, str]]:
    first = [n for n in ("runbook", "dashboard") if n in links]
    return [(n, links[n]) for n in first + sorted(set(links) - set(first))]
