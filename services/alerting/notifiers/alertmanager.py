"""Alertmanager API v2: every message of a group in one `POST /api/v2/alerts`.

Alertmanager knows an alert by its label set, so the labels of one alert are the same in
every post: `alertname` (the message's name), the message's labels (names made valid for
Alertmanager 0.25, empty values left out, as Prometheus treats them as absent), then
`severity`, `slo` and `service` unless the labels already say. What changes from post to
post goes in annotations: `apollo_key` (the transition's idempotency key),
`apollo_fingerprint`, `burn_rate_<window>`, `budget_remaining`, `objective`, `runbook_url`
and `dashboard_url`, and a `summary` when the spec gave none.

Alertmanager resolves an alert whose `endsAt` has passed, so a firing alert is posted with
`endsAt` = now + `ends_in` and posted again before then (the worker re-posts firing alerts
every `repost_interval`, as Prometheus does every evaluation); a resolved one is posted
with `endsAt` = the moment it resolved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from services.alerting.message import AlertMessage

FALLBACK_ALERTNAME = "ApolloAlert"
_LATEST = 253402300799.0  # 9999-12-31T23:59:59Z, the last second RFC 3339 can write
_URL = re.compile(r"^https?://[^/\s]+")


def postable_alerts(messages: Sequence[AlertMessage], *, now: float,
                    ends_in: float) -> list[dict[str, Any]]:
    """The `postableAlerts` body for `messages`, in their order."""
    return [postable_alert(m, now=now, ends_in=ends_in) for m in messages]


def postable_alert(message: AlertMessage, *, now: float, ends_in: float) -> dict[str, Any]:
    """One `postableAlert`: labels, annotations, startsAt, endsAt and generatorURL."""
    starts = _seconds(message.starts_at)
    if message.status == "firing":
        ends = max(_seconds(now), starts) + ends_in
    else:
        ends = max(_seconds(message.ends_at if message.ends_at is not None else now), starts)
    alert: dict[str, Any] = {
        "labels": label_set(message),
        "annotations": annotations(message),
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends),
    }
    generator = generator_url(message.links)
    if generator:
        alert["generatorURL"] = generator
    return alert


def label_set(message: AlertMessage) -> dict[str, str]:
    """The alert's identity in Alertmanager: the same for every post of one alert."""
    labels = _named(message.labels)
    labels["alertname"] = message.name or FALLBACK_ALERTNAME
    for name, value in (("severity", message.severity), ("slo", message.slo),
                        ("service", message.service)):
        if value:
            labels.setdefault(name, value)
    return labels


def annotations(message: AlertMessage) -> dict[str, str]:
    """The message's annotations and what may change between posts of one alert."""
    notes = _named(message.annotations)
    notes.setdefault("summary", summary(message))
    for name, url in sorted(message.links.items()):
        if url:
            notes.setdefault(label_name(f"{name}_url"), url)
    for window, rate in message.burn_rates.items():
        notes.setdefault(label_name(f"burn_rate_{window}"), _number(rate))
    if message.budget_remaining is not None:
        notes.setdefault("budget_remaining", _number(message.budget_remaining))
    if message.objective is not None:
        notes.setdefault("objective", _number(message.objective))
    notes["apollo_key"] = message.key
    notes["apollo_fingerprint"] = message.fingerprint
    return notes


def summary(message: AlertMessage) -> str:
    """The spec's summary annotation, else one line: the SLO, its service, the fastest burn
    and the budget left."""
    given = message.annotations.get("summary", "").strip()
    text = given or _default_summary(message)
    return f"[TEST] {text}" if message.kind == "test" else text


def _default_summary(message: AlertMessage) -> str:
    text = f"{message.status.upper()}: {message.name}"
    if message.slo:
        text += f": SLO {message.slo}"
    if message.service:
        text += f" of {message.service}"
    rates = [r for r in message.burn_rates.values() if not math.isnan(r)]
    if rates:
        text += f", burn rate {_number(max(rates))}x"
    if message.budget_remaining is not None and math.isfinite(message.budget_remaining):
        text += f", {message.budget_remaining * 100:.1f}% of the error budget left"
    return text


def generator_url(links: Mapping[str, str]) -> str | None:
    """The link Alertmanager shows as the alert's source: `generator`, else `dashboard`,
    when it is an http(s) URL; characters a URI may not hold are percent-encoded."""
    for name in ("generator", "dashboard"):
        url = links.get(name) or ""
        if _URL.match(url):
            return quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return None


def label_name(name: str) -> str:
    """`name` as a valid label name, [a-zA-Z_][a-zA-Z0-9_]*: other characters become `_`."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return name if re.match(r"^[a-zA-Z_]", name) else f"_{name}"


def rfc3339(ts: float) -> str:
    """Unix seconds as RFC 3339 in UTC with milliseconds, e.g. 2024-05-01T12:00:00.000Z."""
    when = datetime.fromtimestamp(min(max(_seconds(ts), 0.0), _LATEST), UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _named(pairs: Mapping[str, str]) -> dict[str, str]:
    """Valid names and string values, empty values left out; sorted, so when two names
    become one, the same one wins every time."""
    out: dict[str, str] = {}
    for name, value in sorted(pairs.items()):
        text = "" if value is None else str(value)
        if text:
            out.setdefault(label_name(str(name)), text)
    return out


def _seconds(ts: float) -> float:
    return float(ts) if math.isfinite(ts) else 0.0


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"
