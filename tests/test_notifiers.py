"""Notifiers build what each receiver documents, and the sink records what was sent.

The receivers' documented shapes are written here as checker functions that return a list
of problems (empty: the payload is fine), each checked on known-bad payloads first:

- Slack Block Kit: https://api.slack.com/reference/block-kit/blocks (header text ≤ 150,
  section text ≤ 3,000, a field ≤ 2,000, ≤ 10 fields, context ≤ 10 elements, ≤ 50 blocks,
  block_id ≤ 255 and unique) and the mrkdwn escaping rules (`&`, `<`, `>`);
- PagerDuty Events API v2: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
  (routing_key, event_action and, for a trigger, payload.summary ≤ 1,024, source and
  severity one of critical/error/warning/info; dedup_key ≤ 255; links {href, text}; an
  event ≤ 512 KB);
- Alertmanager: its own OpenAPI spec, `postableAlerts` (tests/data/alertmanager, see
  SOURCE.md), plus the checks its server makes (prometheus/common model.Alert.Validate:
  at least one label, valid label and annotation names, endsAt not before startsAt).

Then: payloads of varied messages pass them, requests really sent to the recording sink
arrive as built, the webhook's signature verifies two ways, a missing secret names its
variable, and a real Alertmanager takes a firing alert and ends it when it resolves.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from harness import HarnessError, wait_until
from harness.sink import RecordingSink

from services.alerting.message import AlertMessage
from services.alerting.notifiers import (
    PAGERDUTY_EVENTS_URL,
    OutgoingRequest,
    build_requests,
    missing_secrets,
)
from services.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, AuthError, verify_signature
from services.config import Notifier
from services.errors import ConfigError

DATA = Path(__file__).parent / "data" / "alertmanager"
NOW = 1_714_564_800.0  # 2024-05-01T12:00:00Z
ROUTING_KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey12"  # 32 characters, as PagerDuty's keys
SECRET = "webhook-signing-secret-ünïcode"

SLACK_URL_ENV = "TEST_SLACK_WEBHOOK_URL"
PD_KEY_ENV = "TEST_PAGERDUTY_ROUTING_KEY"
WEBHOOK_SECRET_ENV = "TEST_WEBHOOK_SECRET"
AM_URL_ENV = "TEST_ALERTMANAGER_URL"


# --- messages ----------------------------------------------------------------------------


def message(name: str = "SLOErrorBudgetBurn", **changes: Any) -> AlertMessage:
    """A firing page of the payment SLO, every optional field set; `changes` override."""
    fields: dict[str, Any] = {
        "key": f"fp-{name}:1:firing", "fingerprint": f"fp-{name}", "name": name,
        "status": "firing", "severity": "page", "starts_at": NOW - 300, "ends_at": None,
        "slo": "payment-availability", "service": "payment-service", "objective": 99.9,
        "labels": {"team": "payments", "env": "prod"},
        "annotations": {"summary": "Payment Service is burning its error budget",
                        "description": "20% of requests fail."},
        "burn_rates": {"5m": 201.5, "1h": 14.9, "30m": 16.0, "6h": 3.2},
        "budget_remaining": 0.42,
        "links": {"runbook": "https://runbooks.example.com/payment",
                  "dashboard": "https://apollo.example.com/slos/payment-availability"},
    }
    fields.update(changes)
    return AlertMessage(**fields)


def resolved(alert: AlertMessage, at: float = NOW) -> AlertMessage:
    return replace(alert, key=alert.key.replace(":firing", ":resolved"), status="resolved",
                   ends_at=at)


LONG = "x" * 5000
UNICODE = "Zahlungsdienst 💳🔥 支付服务 خدمة الدفع e\u0301 \u200b\U0001d49c" * 3
VARIANTS: list[Any] = [
    pytest.param(message(), id="firing, every field"),
    pytest.param(resolved(message("Resolved")), id="resolved, every field"),
    pytest.param(AlertMessage(key="k1", fingerprint="f1", name="Bare", status="firing",
                              severity="ticket", starts_at=NOW), id="firing, no optional field"),
    pytest.param(AlertMessage(key="k2", fingerprint="f2", name="BareResolved",
                              status="resolved", severity="ticket", starts_at=NOW - 60),
                 id="resolved without ends_at"),
    pytest.param(message("N" + LONG, slo="s" + LONG, service="v" + LONG, key="k" + LONG,
                         fingerprint="f" + LONG), id="5,000-character names and keys"),
    pytest.param(message("LongNotes", annotations={"summary": "<&>" * 40_000,
                                                   "description": "d" * 100_000,
                                                   "note": "n" * 100_000}),
                 id="100,000-character annotations full of escapes"),
    pytest.param(message("Unicode" + UNICODE, slo=UNICODE, service=UNICODE,
                         labels={"team": UNICODE}, annotations={"summary": UNICODE * 200}),
                 id="unicode outside the BMP, RTL, combining, zero-width"),
    pytest.param(message("Markup <!channel> *bold* |pipe| &amp;",
                         links={"runbook": "https://r.example.com/a|b<c>d e?x=1&y=2",
                                "dashboard": "javascript:alert(1)"}),
                 id="Slack markup and a hostile link"),
    pytest.param(message("NonFinite", burn_rates={"5m": float("inf"), "1h": float("nan")},
                         budget_remaining=float("-inf"), objective=99.0),
                 id="infinite and NaN numbers"),
    pytest.param(message("Exhausted", budget_remaining=-3.25), id="budget overspent"),
    pytest.param(message("ManyThings",
                         burn_rates={f"{m}m": float(m) for m in range(1, 61)},
                         labels={f"label_{i}": f"value {i}" for i in range(80)},
                         annotations={f"note_{i}": "n" * 3000 for i in range(80)},
                         links={f"link_{i}": f"https://l.example.com/{i}" for i in range(30)}),
                 id="60 windows, 80 labels, 80 annotations, 30 links"),
    pytest.param(message("HostileLabels",
                         labels={"app.kubernetes.io/name": "pay", "9lives": "x", "ok": "",
                                 "ünï": "u", "": "empty name", "alertname": "Other"}),
                 id="label names Alertmanager refuses"),
    pytest.param(message("TestSend", kind="test"), id="a test message"),
    pytest.param(message("Repost", kind="repost"), id="an Alertmanager re-post"),
    pytest.param(message("External", severity="critical"), id="external severity critical"),
    pytest.param(message("Unknown", severity="sev1"), id="unknown severity"),
    pytest.param(message("Future", starts_at=NOW + 3600), id="starts after now"),
    pytest.param(message("Ancient", starts_at=0.0), id="starts at the epoch"),
]


# --- notifiers ----------------------------------------------------------------------------


def slack_notifier() -> Notifier:
    return Notifier(name="slack", kind="slack", url_env=SLACK_URL_ENV)


def pagerduty_notifier(url: str | None = None, **kw: Any) -> Notifier:
    return Notifier(name="pagerduty", kind="pagerduty", url=url, secret_env=PD_KEY_ENV, **kw)


def alertmanager_notifier(url: str = "http://127.0.0.1:9/") -> Notifier:
    return Notifier(name="alertmanager", kind="alertmanager", url=url)


def webhook_notifier(url: str = "http://127.0.0.1:9/hook", signed: bool = True) -> Notifier:
    return Notifier(name="webhook", kind="webhook", url=url,
                    secret_env=WEBHOOK_SECRET_ENV if signed else None)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SLACK_URL_ENV, "http://127.0.0.1:9/services/T000/B000/XXXX")
    monkeypatch.setenv(PD_KEY_ENV, ROUTING_KEY)
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, SECRET)


def body_of(request: OutgoingRequest) -> Any:
    return json.loads(request.body)


# --- Slack Block Kit ---------------------------------------------------------------------

SLACK_LINK = re.compile(r"<(?:https?|mailto):[^|<>\s]+\|[^<>]*>")
SLACK_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def slack_length(text: str) -> int:
    """The stricter of characters and UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def slack_text_problems(obj: Any, where: str, limit: int,
                        kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"{where}: not a text object of type {'/'.join(kinds)}"]
    problems = []
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}: text must be a non-empty string"]
    if slack_length(text) > limit:
        problems.append(f"{where}: text is {slack_length(text)} long, over {limit}")
    extra = set(obj) - {"type", "text", "emoji", "verbatim"}
    if extra:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
    if "emoji" in obj and (obj["type"] != "plain_text" or not isinstance(obj["emoji"], bool)):
        problems.append(f"{where}: emoji is a boolean of plain_text only")
    if obj["type"] == "mrkdwn":
        bare = SLACK_LINK.sub("", text)
        if "<" in bare or ">" in bare:
            problems.append(f"{where}: unescaped < or > outside a <url|text> link")
        if SLACK_ENTITY.search(text):
            problems.append(f"{where}: unescaped &")
    return problems


def slack_problems(payload: Any) -> list[str]:
    """Block Kit rules for an incoming-webhook message with blocks."""
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems = []
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("text: a fallback text is required with blocks")
    elif slack_length(text) > 40_000:
        problems.append("text: over 40,000")
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return [*problems, "blocks: 1 to 50 blocks"]
    ids: set[str] = set()
    for n, block in enumerate(blocks):
        where = f"blocks[{n}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: not an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > 255 or block_id in ids:
                problems.append(f"{where}: block_id must be a unique string ≤ 255")
            ids.add(str(block_id))
        kind = block.get("type")
        if kind == "header":
            problems += slack_text_problems(block.get("text"), f"{where}.text", 150,
                                            ("plain_text",))
            extra = set(block) - {"type", "text", "block_id"}
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                problems += slack_text_problems(block["text"], f"{where}.text", 3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                    problems.append(f"{where}.fields: 1 to 10 fields")
                else:
                    for i, field in enumerate(fields):
                        problems += slack_text_problems(field, f"{where}.fields[{i}]", 2000)
            extra = set(block) - {"type", "text", "fields", "block_id", "accessory"}
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                problems.append(f"{where}.elements: 1 to 10 elements")
            else:
                for i, element in enumerate(elements):
                    problems += slack_text_problems(element, f"{where}.elements[{i}]", 3000)
            extra = set(block) - {"type", "elements", "block_id"}
        elif kind == "divider":
            extra = set(block) - {"type", "block_id"}
        else:
            problems.append(f"{where}: unexpected block type {kind!r}")
            extra = set()
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
    return problems


# --- PagerDuty Events API v2 --------------------------------------------------------------

PD_SEVERITIES = {"critical", "error", "warning", "info"}
PD_TOP = {"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client",
          "client_url"}
PD_PAYLOAD = {"summary", "source", "severity", "timestamp", "component", "group", "class",
              "custom_details"}


def iso8601(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def pagerduty_problems(event: Any) -> list[str]:
    """Events API v2 rules for one event."""
    if not isinstance(event, dict):
        return ["event is not an object"]
    problems = []
    if len(json.dumps(event, ensure_ascii=False).encode()) > 512 * 1024:
        problems.append("event: over 512 KB")
    if extra := set(event) - PD_TOP:
        problems.append(f"unknown keys {sorted(extra)}")
    if not isinstance(event.get("routing_key"), str) or not event["routing_key"]:
        problems.append("routing_key: a non-empty string is required")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action: {action!r} is not trigger, acknowledge or resolve")
    dedup = event.get("dedup_key")
    if dedup is None and action != "trigger":
        problems.append("dedup_key: required to acknowledge or resolve")
    if dedup is not None and (not isinstance(dedup, str) or not 1 <= len(dedup) <= 255):
        problems.append("dedup_key: a string of 1 to 255 characters")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*problems, "payload: required to trigger"]
        if extra := set(payload) - PD_PAYLOAD:
            problems.append(f"payload: unknown keys {sorted(extra)}")
        summary = payload.get("summary")
        if not isinstance(summary, str) or not 1 <= len(summary) <= 1024:
            problems.append("payload.summary: a string of 1 to 1,024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            problems.append("payload.source: a non-empty string is required")
        if payload.get("severity") not in PD_SEVERITIES:
            problems.append(f"payload.severity: {payload.get('severity')!r} not in "
                            f"{sorted(PD_SEVERITIES)}")
        if "timestamp" in payload and not iso8601(payload["timestamp"]):
            problems.append("payload.timestamp: not ISO 8601")
        for name in ("component", "group", "class"):
            if name in payload and not isinstance(payload[name], str):
                problems.append(f"payload.{name}: a string")
        if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
            problems.append("payload.custom_details: an object")
    for i, link in enumerate(event.get("links", [])):
        if not isinstance(link, dict) or not isinstance(link.get("href"), str) or (
                "text" in link and not isinstance(link["text"], str)):
            problems.append(f"links[{i}]: {{href: string, text: string}}")
    for name in ("client", "client_url"):
        if name in event and not isinstance(event[name], str):
            problems.append(f"{name}: a string")
    return problems


# --- Alertmanager postableAlerts ----------------------------------------------------------

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _rfc3339(value: object) -> bool:
    return not isinstance(value, str) or (bool(RFC3339.match(value)) and iso8601(value))


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(URI.match(value))


def alertmanager_schema() -> dict[str, Any]:
    spec = yaml.safe_load((DATA / "openapi-postable-alerts.yaml").read_text())
    body = spec["paths"]["/alerts"]["post"]["parameters"][0]["schema"]
    return {**body, "definitions": spec["definitions"]}


AM_VALIDATOR = jsonschema.Draft4Validator(alertmanager_schema(), format_checker=FORMATS)


def alertmanager_problems(alerts: Any) -> list[str]:
    """The OpenAPI schema, then what Alertmanager's server checks beyond it."""
    problems = [f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
                for e in AM_VALIDATOR.iter_errors(alerts)]
    if problems or not isinstance(alerts, list):
        return problems
    for n, alert in enumerate(alerts):
        labels = alert["labels"]
        if not labels:
            problems.append(f"{n}.labels: at least one label pair required")
        if not labels.get("alertname"):
            problems.append(f"{n}.labels: no alertname")
        for kind in ("labels", "annotations"):
            bad = [k for k in alert.get(kind, {}) if not LABEL_NAME.match(k)]
            if bad:
                problems.append(f"{n}.{kind}: invalid names {bad[:3]}")
        if "startsAt" not in alert:
            problems.append(f"{n}: start time missing")
        elif "endsAt" in alert and (datetime.fromisoformat(alert["endsAt"])
                                    < datetime.fromisoformat(alert["startsAt"])):
            problems.append(f"{n}: start time must be before end time")
    return problems


# --- the generic webhook --------------------------------------------------------------

def webhook_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["payload is not an object"]
    problems = []
    if payload.get("version") != "1":
        problems.append("version: must be '1'")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        return [*problems, "alerts: a non-empty list"]
    statuses = {a.get("status") for a in alerts}
    want = "resolved" if statuses == {"resolved"} else "firing"
    if payload.get("status") != want:
        problems.append(f"status: {payload.get('status')!r}, expected {want!r}")
    for i, alert in enumerate(alerts):
        try:
            parsed = AlertMessage.from_dict(alert)
        except TypeError as exc:
            problems.append(f"alerts[{i}]: {exc}")
            continue
        if not parsed.key or not parsed.fingerprint:
            problems.append(f"alerts[{i}]: key and fingerprint required")
    return problems


# --- the checkers catch what they should ---------------------------------------------------

GOOD_SLACK = {"text": "t", "blocks": [{"type": "header",
                                       "text": {"type": "plain_text", "text": "h"}}]}


@pytest.mark.parametrize(("payload", "reason"), [
    pytest.param({"blocks": GOOD_SLACK["blocks"]}, "fallback text", id="no text"),
    pytest.param({"text": "t", "blocks": []}, "1 to 50 blocks", id="no blocks"),
    pytest.param({"text": "t", "blocks": [{"type": "divider"}] * 51}, "1 to 50 blocks",
                 id="51 blocks"),
    pytest.param({"text": "t", "blocks": [{"type": "header", "text": {
        "type": "plain_text", "text": "h" * 151}}]}, "over 150", id="151-character header"),
    pytest.param({"text": "t", "blocks": [{"type": "header", "text": {
        "type": "plain_text", "text": "😀" * 76}}]}, "over 150",
        id="header of 76 emoji is 152 UTF-16 units"),
    pytest.param({"text": "t", "blocks": [{"type": "header", "text": {
        "type": "mrkdwn", "text": "h"}}]}, "plain_text", id="mrkdwn header"),
    pytest.param({"text": "t", "blocks": [{"type": "section", "fields": [
        {"type": "mrkdwn", "text": "f"}] * 11}]}, "1 to 10 fields", id="11 fields"),
    pytest.param({"text": "t", "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": "s" * 3001}}]}, "over 3000", id="3,001-character section"),
    pytest.param({"text": "t", "blocks": [{"type": "section", "fields": [
        {"type": "mrkdwn", "text": "f" * 2001}]}]}, "over 2000", id="2,001-character field"),
    pytest.param({"text": "t", "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": "a <!channel> b"}}]}, "unescaped <", id="raw mention"),
    pytest.param({"text": "t", "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": "a & b"}}]}, "unescaped &", id="raw ampersand"),
    pytest.param({"text": "t", "blocks": [{"type": "section"}]}, "text or fields",
                 id="empty section"),
    pytest.param({"text": "t", "blocks": [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": "c"}] * 11}]}, "1 to 10 elements", id="11 elements"),
    pytest.param({"text": "t", "blocks": [{"type": "divider", "block_id": "a"},
                                          {"type": "divider", "block_id": "a"}]},
                 "unique", id="duplicate block_id"),
])
def test_the_slack_checker_refuses(payload: Any, reason: str):
    assert any(reason in p for p in slack_problems(payload)), slack_problems(payload)


def test_the_slack_checker_passes_a_good_message():
    assert slack_problems(GOOD_SLACK) == []


GOOD_TRIGGER = {"routing_key": ROUTING_KEY, "event_action": "trigger",
                "payload": {"summary": "s", "source": "h", "severity": "error"}}


@pytest.mark.parametrize(("event", "reason"), [
    pytest.param({**GOOD_TRIGGER, "routing_key": ""}, "routing_key", id="no routing key"),
    pytest.param({**GOOD_TRIGGER, "event_action": "fire"}, "event_action", id="bad action"),
    pytest.param({**GOOD_TRIGGER, "dedup_key": "d" * 256}, "dedup_key", id="256-char dedup"),
    pytest.param({"routing_key": ROUTING_KEY, "event_action": "resolve"}, "dedup_key",
                 id="resolve without dedup_key"),
    pytest.param({**GOOD_TRIGGER, "payload": None}, "payload", id="trigger without payload"),
    pytest.param({**GOOD_TRIGGER, "payload": {**GOOD_TRIGGER["payload"], "summary": "s" * 1025}},
                 "summary", id="1,025-character summary"),
    pytest.param({**GOOD_TRIGGER, "payload": {**GOOD_TRIGGER["payload"], "severity": "page"}},
                 "severity", id="severity page"),
    pytest.param({**GOOD_TRIGGER, "payload": {"summary": "s", "severity": "info"}}, "source",
                 id="no source"),
    pytest.param({**GOOD_TRIGGER, "payload": {**GOOD_TRIGGER["payload"],
                                              "timestamp": "yesterday"}}, "ISO 8601",
                 id="bad timestamp"),
    pytest.param({**GOOD_TRIGGER, "links": [{"text": "no href"}]}, "links[0]", id="bad link"),
    pytest.param({**GOOD_TRIGGER, "payload": {**GOOD_TRIGGER["payload"],
                                              "custom_details": {"x": "y" * 600_000}}},
                 "512 KB", id="600 KB event"),
])
def test_the_pagerduty_checker_refuses(event: Any, reason: str):
    assert any(reason in p for p in pagerduty_problems(event)), pagerduty_problems(event)


def test_the_pagerduty_checker_passes_a_good_event():
    assert pagerduty_problems(GOOD_TRIGGER) == []


GOOD_ALERT = {"labels": {"alertname": "A"}, "startsAt": "2024-05-01T12:00:00Z",
              "endsAt": "2024-05-01T12:04:00.000Z"}


@pytest.mark.parametrize(("alerts", "reason"), [
    pytest.param({"labels": {}}, "not of type 'array'", id="an object, not a list"),
    pytest.param([{"annotations": {}}], "'labels' is a required property", id="no labels"),
    pytest.param([{**GOOD_ALERT, "labels": {"alertname": 1}}], "not of type 'string'",
                 id="a number as label value"),
    pytest.param([{**GOOD_ALERT, "startsAt": "2024-05-01 12:00:00"}], "date-time",
                 id="a time without T or zone"),
    pytest.param([{**GOOD_ALERT, "endsAt": 1714564800}], "not of type 'string'",
                 id="Unix seconds"),
    pytest.param([{**GOOD_ALERT, "generatorURL": "not a uri"}], "uri", id="a bad URI"),
    pytest.param([{**GOOD_ALERT, "labels": {"alertname": "A", "a-b": "c"}}], "invalid names",
                 id="a label name with a dash"),
    pytest.param([{**GOOD_ALERT, "labels": {"team": "x"}}], "no alertname", id="no alertname"),
    pytest.param([{**GOOD_ALERT, "endsAt": "2024-05-01T11:00:00Z"}], "before end time",
                 id="ends before it starts"),
])
def test_the_alertmanager_checker_refuses(alerts: Any, reason: str):
    assert any(reason in p for p in alertmanager_problems(alerts)), alertmanager_problems(alerts)


def test_the_alertmanager_checker_passes_a_good_alert():
    assert alertmanager_problems([GOOD_ALERT]) == []


# --- every payload, every variant ------------------------------------------------------------


@pytest.mark.parametrize("alert", VARIANTS)
def test_slack_payload_keeps_block_kit_rules(alert: AlertMessage, secrets: None):
    [request] = build_requests(slack_notifier(), [alert], now=NOW)
    payload = body_of(request)
    assert slack_problems(payload) == []
    header = payload["blocks"][0]["text"]["text"]
    assert alert.status.upper() in header
    assert alert.name[:100] in header or header.endswith("…")
    context = html.unescape(payload["blocks"][-1]["elements"][0]["text"])
    assert alert.key[:1000] in context or context.endswith("…")


@pytest.mark.parametrize("alert", VARIANTS)
def test_pagerduty_event_keeps_events_api_rules(alert: AlertMessage, secrets: None):
    [request] = build_requests(pagerduty_notifier(), [alert], now=NOW)
    event = body_of(request)
    assert pagerduty_problems(event) == []
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == ("trigger" if alert.status == "firing" else "resolve")
    if alert.status == "resolved":
        assert set(event) == {"routing_key", "event_action", "dedup_key"}
    if len(alert.fingerprint) <= 255:
        assert event["dedup_key"] == alert.fingerprint


@pytest.mark.parametrize("alert", VARIANTS)
def test_alertmanager_body_matches_its_openapi_spec(alert: AlertMessage):
    [request] = build_requests(alertmanager_notifier(), [alert], now=NOW)
    alerts = body_of(request)
    assert alertmanager_problems(alerts) == []
    [posted] = alerts
    assert posted["labels"]["alertname"] == alert.name
    assert "apollo_key" not in posted["labels"]
    assert posted["annotations"]["apollo_key"] == alert.key


@pytest.mark.parametrize("alert", VARIANTS)
def test_webhook_body_carries_every_message_field(alert: AlertMessage, secrets: None):
    [request] = build_requests(webhook_notifier(), [alert], now=NOW)
    payload = body_of(request)
    assert webhook_problems(payload) == []
    back = AlertMessage.from_dict(payload["alerts"][0])
    assert (back.key, back.name, back.labels, back.annotations) == (
        alert.key, alert.name, alert.labels, alert.annotations)


def test_all_variants_at_once_pass_every_checker(secrets: None):
    alerts = [p.values[0] for p in VARIANTS]
    checks = [(slack_notifier(), slack_problems), (pagerduty_notifier(), pagerduty_problems),
              (alertmanager_notifier(), alertmanager_problems),
              (webhook_notifier(), webhook_problems)]
    for notifier, problems in checks:
        requests = build_requests(notifier, alerts, now=NOW)
        covered = sorted(i for r in requests for i in r.covers)
        assert covered == list(range(len(alerts))), notifier.kind
        for request in requests:
            assert problems(body_of(request)) == [], notifier.kind


# --- what every request shares ---------------------------------------------------------------


@pytest.mark.parametrize("notifier", [slack_notifier(), pagerduty_notifier(),
                                      alertmanager_notifier(), webhook_notifier()],
                         ids=lambda n: n.kind)
def test_every_request_is_json_from_apollo(notifier: Notifier, secrets: None):
    for request in build_requests(notifier, [message(), resolved(message("B"))], now=NOW):
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"] == "apollo-observatory"
        assert request.body.decode("utf-8")  # UTF-8 JSON
        json.loads(request.body)


@pytest.mark.parametrize("notifier", [slack_notifier(), pagerduty_notifier(),
                                      alertmanager_notifier(), webhook_notifier()],
                         ids=lambda n: n.kind)
def test_no_messages_no_requests(notifier: Notifier, secrets: None):
    assert build_requests(notifier, [], now=NOW) == []


def test_non_finite_numbers_become_null_in_json(secrets: None):
    alert = message("Inf", burn_rates={"5m": float("inf")}, budget_remaining=float("nan"))
    [request] = build_requests(webhook_notifier(), [alert], now=NOW)
    assert b"Infinity" not in request.body and b"NaN" not in request.body
    payload = body_of(request)
    assert payload["alerts"][0]["burn_rates"] == {"5m": None}
    assert payload["alerts"][0]["budget_remaining"] is None


# --- Slack -------------------------------------------------------------------------------------


def test_slack_shows_the_slo_numbers_and_links(secrets: None):
    [request] = build_requests(slack_notifier(), [message()], now=NOW)
    assert request.url == "http://127.0.0.1:9/services/T000/B000/XXXX"
    blocks = body_of(request)["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "context"]
    assert blocks[0]["text"]["text"] == ":rotating_light: FIRING: SLOErrorBudgetBurn"
    fields = {f["text"].split("\n", 1)[0]: f["text"].split("\n", 1)[1]
              for f in blocks[1]["fields"]}
    assert fields["*SLO*"] == "payment-availability"
    assert fields["*Service*"] == "payment-service"
    assert fields["*Severity*"] == "page"
    assert fields["*Objective*"] == "99.9%"
    assert fields["*Budget left*"] == "42%"
    assert fields["*Burn rate*"] == "5m: 201.5×\n1h: 14.9×\n30m: 16×\n6h: 3.2×"
    assert fields["*Started*"] == "2024-05-01 11:55:00 UTC"
    assert blocks[3]["text"]["text"] == (
        "*Links:* <https://runbooks.example.com/payment|Runbook> · "
        "<https://apollo.example.com/slos/payment-availability|Dashboard>")
    assert "`fp-SLOErrorBudgetBurn:1:firing`" in blocks[4]["elements"][0]["text"]


def test_slack_resolved_says_when_and_overspent_budget_says_exhausted(secrets: None):
    alert = resolved(message(budget_remaining=-0.25), at=NOW)
    [request] = build_requests(slack_notifier(), [alert], now=NOW)
    blocks = body_of(request)["blocks"]
    assert blocks[0]["text"]["text"] == ":white_check_mark: RESOLVED: SLOErrorBudgetBurn"
    texts = [f["text"] for f in blocks[1]["fields"]]
    assert "*Budget left*\n-25% (exhausted)" in texts
    assert "*Resolved*\n2024-05-01 12:00:00 UTC" in texts


def test_slack_escapes_mentions_and_keeps_links_whole(secrets: None):
    alert = message("Pay <!channel> & co",
                    links={"runbook": "https://r.example.com/a|b>c d"})
    [request] = build_requests(slack_notifier(), [alert], now=NOW)
    payload = body_of(request)
    assert "<!channel>" not in payload["text"]
    assert "&lt;!channel&gt; &amp; co" in payload["text"]
    links = payload["blocks"][3]["text"]["text"]
    assert links == "*Links:* <https://r.example.com/a%7Cb%3Ec%20d|Runbook>"
    assert "javascript" not in json.dumps(
        body_of(build_requests(slack_notifier(), [message(
            links={"dashboard": "javascript:alert(1)"})], now=NOW)[0]))


def test_slack_groups_five_alerts_a_message(secrets: None):
    alerts = [message(f"A{i}", status="firing" if i % 3 else "resolved", ends_at=NOW)
              for i in range(12)]
    requests = build_requests(slack_notifier(), alerts, now=NOW)
    assert [r.covers for r in requests] == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11)]
    first = body_of(requests[0])
    assert slack_problems(first) == []
    headers = [b["text"]["text"] for b in first["blocks"] if b["type"] == "header"]
    assert [h.rsplit(": ", 1)[1] for h in headers] == ["A0", "A1", "A2", "A3", "A4"]
    assert first["text"] == "5 alerts (3 firing, 2 resolved): A0, A1, A2, A3, A4"
    assert sum(b["type"] == "divider" for b in first["blocks"]) == 4


def test_slack_header_is_clipped_to_150_with_an_ellipsis(secrets: None):
    [request] = build_requests(slack_notifier(), [message("🔥" * 200)], now=NOW)
    header = body_of(request)["blocks"][0]["text"]["text"]
    assert header.endswith("…")
    assert slack_length(header) <= 150
    assert slack_length(header) >= 148  # clipped, not emptied


# --- PagerDuty -------------------------------------------------------------------------------


def test_pagerduty_trigger_carries_the_slo_and_resolve_meets_it(secrets: None):
    firing = message()
    requests = build_requests(pagerduty_notifier(), [firing, resolved(firing)], now=NOW)
    assert [r.covers for r in requests] == [(0,), (1,)]
    assert [r.url for r in requests] == [PAGERDUTY_EVENTS_URL] * 2
    trigger, resolve = (body_of(r) for r in requests)
    assert trigger["dedup_key"] == resolve["dedup_key"] == "fp-SLOErrorBudgetBurn"
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                       "dedup_key": "fp-SLOErrorBudgetBurn"}
    payload = trigger["payload"]
    assert payload["summary"] == "Payment Service is burning its error budget"
    assert payload["source"] == payload["component"] == "payment-service"
    assert payload["group"] == "payment-availability"
    assert payload["class"] == "SLOErrorBudgetBurn"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2024-05-01T11:55:00.000Z"
    details = payload["custom_details"]
    assert details["key"] == "fp-SLOErrorBudgetBurn:1:firing"
    assert details["burn_rates"] == {"5m": 201.5, "1h": 14.9, "30m": 16.0, "6h": 3.2}
    assert details["budget_remaining_percent"] == 42.0
    assert details["slo"] == "payment-availability"
    assert trigger["links"] == [
        {"href": "https://runbooks.example.com/payment", "text": "Runbook"},
        {"href": "https://apollo.example.com/slos/payment-availability", "text": "Dashboard"}]


def test_pagerduty_summary_is_built_when_the_spec_has_none(secrets: None):
    alert = message(annotations={})
    [request] = build_requests(pagerduty_notifier(), [alert], now=NOW)
    assert body_of(request)["payload"]["summary"] == (
        "FIRING: SLOErrorBudgetBurn: SLO payment-availability of payment-service, "
        "burn rate 201.5x, 42.0% of the error budget left")


@pytest.mark.parametrize(("severity", "mapping", "expected"), [
    pytest.param("page", None, "critical", id="page pages"),
    pytest.param("ticket", None, "warning", id="ticket warns"),
    pytest.param("sev1", None, "warning", id="unknown warns"),
    pytest.param("critical", None, "critical", id="an external critical stays critical"),
    pytest.param("INFO", None, "info", id="an external INFO is info"),
    pytest.param("page", {"page": "error"}, "error", id="the config maps page to error"),
    pytest.param("ticket", {"page": "error"}, "warning",
                 id="a partial map keeps the default for the rest"),
    pytest.param("ticket", {"ticket": "info"}, "info", id="the config maps ticket to info"),
])
def test_pagerduty_severity_mapping(severity: str, mapping: dict[str, str] | None,
                                    expected: str, secrets: None):
    notifier = pagerduty_notifier(**({"severities": mapping} if mapping else {}))
    [request] = build_requests(notifier, [message(severity=severity)], now=NOW)
    assert body_of(request)["payload"]["severity"] == expected


def test_pagerduty_long_fingerprint_hashes_the_same_for_trigger_and_resolve(secrets: None):
    firing = message(fingerprint="f" * 300)
    events = [body_of(r) for r in build_requests(pagerduty_notifier(),
                                                 [firing, resolved(firing)], now=NOW)]
    expected = "sha256:" + hashlib.sha256(b"f" * 300).hexdigest()
    assert [e["dedup_key"] for e in events] == [expected, expected]


def test_pagerduty_url_from_config(secrets: None):
    notifier = pagerduty_notifier(url="https://events.eu.pagerduty.com/v2/enqueue")
    [request] = build_requests(notifier, [message()], now=NOW)
    assert request.url == "https://events.eu.pagerduty.com/v2/enqueue"


# --- Alertmanager ----------------------------------------------------------------------------


def test_alertmanager_one_post_of_the_whole_group_to_api_v2_alerts():
    alerts = [message("A"), resolved(message("B")), message("C")]
    [request] = build_requests(alertmanager_notifier("http://am.example:9093//"), alerts,
                               now=NOW)
    assert request.url == "http://am.example:9093/api/v2/alerts"
    assert request.covers == (0, 1, 2)
    assert [a["labels"]["alertname"] for a in body_of(request)] == ["A", "B", "C"]


def test_alertmanager_url_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(AM_URL_ENV, "http://am.internal:9093/")
    notifier = Notifier(name="am", kind="alertmanager", url_env=AM_URL_ENV)
    [request] = build_requests(notifier, [message()], now=NOW)
    assert request.url == "http://am.internal:9093/api/v2/alerts"


def test_alertmanager_times_firing_ahead_resolved_at_their_end():
    firing = message()
    [request] = build_requests(alertmanager_notifier(), [firing, resolved(firing, NOW - 30)],
                               now=NOW, alertmanager_ends_in=240)
    posted_firing, posted_resolved = body_of(request)
    start = datetime(2024, 5, 1, 11, 55, tzinfo=UTC)
    assert datetime.fromisoformat(posted_firing["startsAt"]) == start
    assert datetime.fromisoformat(posted_firing["endsAt"]) == datetime(
        2024, 5, 1, 12, 4, tzinfo=UTC)
    assert datetime.fromisoformat(posted_resolved["startsAt"]) == start
    assert datetime.fromisoformat(posted_resolved["endsAt"]) == datetime(
        2024, 5, 1, 12, 0, tzinfo=UTC) - timedelta(seconds=30)


def test_alertmanager_labels_are_the_alert_identity_and_never_change():
    firing = message()
    repost = replace(firing, kind="repost", burn_rates={"5m": 99.0}, budget_remaining=0.1)
    later = resolved(firing)
    [request] = build_requests(alertmanager_notifier(), [firing, repost, later], now=NOW)
    posted = body_of(request)
    assert posted[0]["labels"] == posted[1]["labels"] == posted[2]["labels"] == {
        "alertname": "SLOErrorBudgetBurn", "env": "prod", "team": "payments",
        "severity": "page", "slo": "payment-availability", "service": "payment-service"}
    assert [p["annotations"]["apollo_key"] for p in posted] == [
        firing.key, firing.key, later.key]
    assert posted[1]["annotations"]["burn_rate_5m"] == "99"
    assert posted[0]["annotations"]["runbook_url"] == "https://runbooks.example.com/payment"
    assert posted[0]["generatorURL"] == "https://apollo.example.com/slos/payment-availability"


def test_alertmanager_label_names_are_made_valid():
    alert = message("X", labels={"app.kubernetes.io/name": "pay", "9lives": "x", "ok": ""})
    [request] = build_requests(alertmanager_notifier(), [alert], now=NOW)
    labels = body_of(request)[0]["labels"]
    assert labels["app_kubernetes_io_name"] == "pay"
    assert labels["_9lives"] == "x"
    assert "ok" not in labels  # empty values are absent labels, as in Prometheus


# --- the signed webhook -------------------------------------------------------------------


def test_webhook_signature_verifies_two_ways(secrets: None):
    [request] = build_requests(webhook_notifier(), [message()], now=NOW)
    timestamp = request.headers[TIMESTAMP_HEADER]
    signature = request.headers[SIGNATURE_HEADER]
    assert timestamp == str(int(NOW))
    verify_signature(SECRET, timestamp, signature, request.body, now=NOW + 10)
    independent = hmac.new(SECRET.encode("utf-8"), timestamp.encode() + b"." + request.body,
                           hashlib.sha256).hexdigest()
    assert signature == f"v1={independent}"


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param({"body": b'{"version":"1","status":"resolved","alerts":[]}'},
                 "does not match", id="a changed body"),
    pytest.param({"secret": "another secret"}, "does not match", id="another secret"),
    pytest.param({"now": NOW + 301}, "replay window", id="301 s later"),
])
def test_webhook_signature_refuses_what_it_did_not_sign(change: dict[str, Any], reason: str,
                                                         secrets: None):
    [request] = build_requests(webhook_notifier(), [message()], now=NOW)
    args = {"secret": SECRET, "body": request.body, "now": NOW} | change
    with pytest.raises(AuthError, match=reason):
        verify_signature(args["secret"], request.headers[TIMESTAMP_HEADER],
                         request.headers[SIGNATURE_HEADER], args["body"], now=args["now"])


def test_webhook_idempotency_key_for_one_message_only(secrets: None):
    [one] = build_requests(webhook_notifier(), [message()], now=NOW)
    assert one.headers["Idempotency-Key"] == "fp-SLOErrorBudgetBurn:1:firing"
    [two] = build_requests(webhook_notifier(), [message("A"), message("B")], now=NOW)
    assert "Idempotency-Key" not in two.headers
    assert two.covers == (0, 1)
    assert [a["key"] for a in body_of(two)["alerts"]] == ["fp-A:1:firing", "fp-B:1:firing"]


@pytest.mark.parametrize(("statuses", "expected"), [
    pytest.param(["firing"], "firing", id="one firing"),
    pytest.param(["resolved"], "resolved", id="one resolved"),
    pytest.param(["resolved", "firing"], "firing", id="one of two still firing"),
    pytest.param(["resolved", "resolved"], "resolved", id="all resolved"),
])
def test_webhook_status_is_resolved_only_when_all_are(statuses: list[str], expected: str,
                                                      secrets: None):
    alerts = [message(f"A{i}", status=s, ends_at=NOW if s == "resolved" else None)
              for i, s in enumerate(statuses)]
    [request] = build_requests(webhook_notifier(), alerts, now=NOW)
    assert body_of(request)["status"] == expected


def test_unsigned_webhook_has_no_signature(secrets: None):
    [request] = build_requests(webhook_notifier(signed=False), [message()], now=NOW)
    assert SIGNATURE_HEADER not in request.headers
    assert request.headers[TIMESTAMP_HEADER] == str(int(NOW))


# --- missing secrets ---------------------------------------------------------------------


@pytest.mark.parametrize(("notifier", "variable"), [
    pytest.param(slack_notifier(), SLACK_URL_ENV, id="slack URL"),
    pytest.param(pagerduty_notifier(), PD_KEY_ENV, id="pagerduty routing key"),
    pytest.param(webhook_notifier(), WEBHOOK_SECRET_ENV, id="webhook signing secret"),
    pytest.param(Notifier(name="am-env", kind="alertmanager", url_env=AM_URL_ENV), AM_URL_ENV,
                 id="alertmanager URL"),
    pytest.param(Notifier(name="hook-env", kind="webhook", url_env="TEST_HOOK_URL"),
                 "TEST_HOOK_URL", id="webhook URL"),
])
def test_a_missing_secret_names_notifier_and_variable(notifier: Notifier, variable: str,
                                                      monkeypatch: pytest.MonkeyPatch):
    for name in (SLACK_URL_ENV, PD_KEY_ENV, WEBHOOK_SECRET_ENV, AM_URL_ENV, "TEST_HOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    assert missing_secrets(notifier) == [variable]
    with pytest.raises(ConfigError) as caught:
        build_requests(notifier, [message()], now=NOW)
    assert variable in str(caught.value)
    assert repr(notifier.name) in str(caught.value)
    monkeypatch.setenv(variable, "")  # empty counts as unset
    assert missing_secrets(notifier) == [variable]
    monkeypatch.setenv(variable, "http://127.0.0.1:9/x")
    assert missing_secrets(notifier) == []
    assert build_requests(notifier, [message()], now=NOW)


# --- the recording sink -----------------------------------------------------------------------


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    with RecordingSink() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        yield http


def send(client: httpx.Client, request: OutgoingRequest) -> httpx.Response:
    return client.post(request.url, content=request.body, headers=dict(request.headers))


def test_sink_records_method_path_headers_body_and_json(sink: RecordingSink,
                                                        client: httpx.Client):
    client.post(f"{sink.url}/a/b?x=1", json={"k": "ü"}, headers={"X-Test": "1"})
    client.put(f"{sink.url}/raw", content=b"not json")
    first, second = sink.wait_for_count(2, timeout=5)
    assert (first.method, first.path, first.json, first.status) == (
        "POST", "/a/b?x=1", {"k": "ü"}, 200)
    assert first.header("x-test") == "1" and first.header("X-Test") == "1"
    assert (second.method, second.body, second.json) == ("PUT", b"not json", None)
    assert first.received_at <= second.received_at


def test_sink_fails_the_next_n_then_answers(sink: RecordingSink, client: httpx.Client):
    sink.fail_next(2, status=500)
    codes = [client.post(sink.url, json={}).status_code for _ in range(4)]
    assert codes == [500, 500, 200, 200]
    assert [r.status for r in sink.requests] == codes
    assert len(sink.delivered()) == 2


@pytest.mark.parametrize(("share", "expected"), [
    pytest.param(0.5, [200, 503] * 5, id="half: every second request"),
    pytest.param(0.25, [200, 200, 200, 503] * 2 + [200, 200], id="a quarter"),
    pytest.param(1.0, [503] * 10, id="all"),
])
def test_sink_fails_a_deterministic_share(share: float, expected: list[int],
                                          sink: RecordingSink, client: httpx.Client):
    sink.fail_share(share)
    assert [client.post(sink.url, json={}).status_code for _ in range(10)] == expected
    sink.respond_ok()
    assert client.post(sink.url, json={}).status_code == 200


def test_sink_stopped_refuses_connections_then_starts_on_the_same_port(
        sink: RecordingSink, client: httpx.Client):
    url = sink.url
    assert client.post(url, json={"n": 1}).status_code == 200  # a kept-alive connection
    sink.stop()
    with pytest.raises(httpx.ConnectError):
        client.post(url, json={"n": 2})
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, json={"n": 3}, trust_env=False, timeout=5)
    sink.start()
    assert sink.url == url
    assert client.post(url, json={"n": 4}).status_code == 200
    assert [r.json["n"] for r in sink.requests] == [1, 4]


def test_sink_as_context_manager_closes_its_port(client: httpx.Client):
    with RecordingSink() as sink:
        url = sink.url
        assert client.get(url).status_code == 200
    with pytest.raises(httpx.ConnectError):
        client.get(url)


def test_sink_wait_for_is_bounded(sink: RecordingSink):
    with pytest.raises(HarnessError, match="0 requests recorded"):
        sink.wait_for(lambda reqs: len(reqs) > 0, timeout=0.2)


def test_sink_records_concurrent_requests_once_each(sink: RecordingSink):
    def post_many(worker: int) -> None:
        with httpx.Client(trust_env=False, timeout=10) as http:
            for i in range(25):
                http.post(sink.url, json={"worker": worker, "i": i})

    threads = [threading.Thread(target=post_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    got = sink.wait_for_count(200, timeout=10)
    assert sorted((r.json["worker"], r.json["i"]) for r in got) == [
        (w, i) for w in range(8) for i in range(25)]


# --- real requests, recorded by the sink, checked against the documented shapes ------------


def test_slack_messages_arrive_at_the_sink_as_block_kit(sink: RecordingSink,
                                                        client: httpx.Client,
                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SLACK_URL_ENV, f"{sink.url}/services/T000/B000/XXXX")
    alerts = [p.values[0] for p in VARIANTS]
    requests = build_requests(slack_notifier(), alerts, now=NOW)
    assert all(send(client, r).status_code == 200 for r in requests)
    got = sink.wait_for_count(len(requests), timeout=5)
    assert [r.body for r in got] == [r.body for r in requests]
    for recorded in got:
        assert recorded.path == "/services/T000/B000/XXXX"
        assert recorded.header("content-type") == "application/json"
        assert recorded.header("user-agent") == "apollo-observatory"
        assert slack_problems(recorded.json) == []


def test_pagerduty_events_arrive_at_the_sink_per_the_events_api(sink: RecordingSink,
                                                                client: httpx.Client,
                                                                secrets: None):
    alerts = [p.values[0] for p in VARIANTS]
    requests = build_requests(pagerduty_notifier(f"{sink.url}/v2/enqueue"), alerts, now=NOW)
    assert len(requests) == len(alerts)
    for request in requests:
        assert send(client, request).status_code == 200
    got = sink.wait_for_count(len(alerts), timeout=5)
    for recorded, alert in zip(got, alerts, strict=True):
        assert recorded.path == "/v2/enqueue"
        assert pagerduty_problems(recorded.json) == []
        assert recorded.json["event_action"] == (
            "trigger" if alert.status == "firing" else "resolve")


def test_signed_webhook_arrives_and_verifies_at_the_sink(sink: RecordingSink,
                                                         client: httpx.Client, secrets: None):
    alerts = [message("A"), resolved(message("B"))]
    [request] = build_requests(webhook_notifier(f"{sink.url}/apollo"), alerts, now=NOW)
    assert send(client, request).status_code == 200
    [recorded] = sink.wait_for_count(1, timeout=5)
    assert recorded.body == request.body
    verify_signature(SECRET, recorded.header(TIMESTAMP_HEADER),
                     recorded.header(SIGNATURE_HEADER), recorded.body, now=NOW)
    mac = hmac.new(SECRET.encode(), f"{recorded.header(TIMESTAMP_HEADER)}.".encode()
                   + recorded.body, hashlib.sha256)
    assert recorded.header(SIGNATURE_HEADER) == "v1=" + mac.hexdigest()
    assert webhook_problems(recorded.json) == []
    assert [a["key"] for a in recorded.json["alerts"]] == [alerts[0].key, alerts[1].key]


def test_a_failing_receiver_is_seen_as_failing(sink: RecordingSink, client: httpx.Client,
                                               secrets: None):
    sink.fail_next(1, status=503)
    [request] = build_requests(webhook_notifier(f"{sink.url}/apollo"), [message()], now=NOW)
    assert send(client, request).status_code == 503
    assert send(client, request).status_code == 200  # the retry carries the same key
    first, retry = sink.wait_for_count(2, timeout=5)
    assert first.header("idempotency-key") == retry.header("idempotency-key") == message().key
    assert first.body == retry.body


# --- a real Alertmanager ------------------------------------------------------------------


def am_alerts(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    response = client.get(f"{url}/api/v2/alerts")
    response.raise_for_status()
    return list(response.json())


def webhook_alertnames(requests: list[Any], status: str) -> set[str]:
    """Alertnames of the alerts Alertmanager notified the sink of, with `status`."""
    return {a["labels"].get("alertname") for r in requests if isinstance(r.json, dict)
            for a in r.json.get("alerts", []) if a.get("status") == status}


@pytest.mark.servers
def test_real_alertmanager_takes_the_alert_and_ends_it_on_resolve(
        alertmanager_factory: Any, sink: RecordingSink, client: httpx.Client):
    am = alertmanager_factory(receivers_webhook_url=f"{sink.url}/from-alertmanager")
    notifier = alertmanager_notifier(am.url + "/")
    now = time.time()
    firing = message("ApolloNotifierTest", starts_at=now - 60)
    [request] = build_requests(notifier, [firing], now=now)
    posted = body_of(request)[0]
    assert send(client, request).status_code == 200

    def active() -> list[dict[str, Any]]:
        return [a for a in am_alerts(client, am.url)
                if a["labels"].get("alertname") == firing.name]

    assert wait_until(lambda: [a["status"]["state"] for a in active()] == ["active"], 15)
    [shown] = active()
    assert shown["labels"] == posted["labels"]
    assert shown["annotations"]["apollo_key"] == firing.key
    assert datetime.fromisoformat(shown["startsAt"]) == datetime.fromisoformat(
        posted["startsAt"])
    got = sink.wait_for(lambda reqs: firing.name in webhook_alertnames(reqs, "firing"), 30)
    assert all(r.path == "/from-alertmanager" for r in got)

    done = resolved(firing, at=time.time() - 1)
    [request] = build_requests(notifier, [done], now=time.time())
    assert body_of(request)[0]["labels"] == posted["labels"]
    assert send(client, request).status_code == 200
    assert wait_until(lambda: active() == [], 15)
    sink.wait_for(lambda reqs: firing.name in webhook_alertnames(reqs, "resolved"), 30)


@pytest.mark.servers
def test_real_alertmanager_accepts_every_variant(alertmanager_factory: Any,
                                                 client: httpx.Client):
    am = alertmanager_factory()
    alerts = [p.values[0] for p in VARIANTS]
    now = time.time()
    [request] = build_requests(alertmanager_notifier(am.url), alerts, now=now)
    response = send(client, request)
    assert response.status_code == 200, response.text
    firing = {a["annotations"]["apollo_key"] for a, m in zip(body_of(request), alerts,
                                                              strict=True)
              if m.status == "firing"}

    def shown() -> set[str]:
        return {a["annotations"].get("apollo_key") for a in am_alerts(client, am.url)}

    assert wait_until(lambda: firing <= shown(), 15), firing - shown()
