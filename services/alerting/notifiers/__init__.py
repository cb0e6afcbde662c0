"""Notifiers: a group of `AlertMessage`s in, the HTTP requests that deliver them out.

`build_requests(notifier, messages, now=…)` is pure apart from reading secrets (through
`services.config.read_secret`): the delivery worker POSTs each `OutgoingRequest` and marks
the messages it `covers` delivered when the receiver answers 2xx. One module per receiver
shapes the JSON; this module adds what every request shares (URL, secrets, headers, bytes).

    slack         one request per up to 5 alerts; URL from `url_env` only (it is the
                  secret); the key in each alert's context line
    pagerduty     one request per message (an Events API v2 request holds one event);
                  `url` or PAGERDUTY_EVENTS_URL; routing key from `secret_env`;
                  `dedup_key` = the fingerprint
    alertmanager  one request, the list of postable alerts, to `{url}/api/v2/alerts`
                  (`url` or `url_env`); identity = the label set, key in `apollo_key`
    webhook       one request, every message; `url` or `url_env`; signed with
                  `secret_env` when named; `Idempotency-Key` when it carries one message

Requests come in the order of the messages they cover. Send the requests of one group in
that order, one after the other: a PagerDuty resolve that overtakes its trigger is dropped
by PagerDuty, and the incident it should have closed stays open.

A missing secret is a `ConfigError` naming the notifier and the variable. docs/notifiers.md
shows each payload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.alerting.message import AlertMessage
from services.alerting.notifiers import alertmanager, pagerduty, slack, webhook
from services.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_body
from services.config import Notifier, read_secret
from services.errors import ConfigError

USER_AGENT = "apollo-observatory"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
ALERTMANAGER_ENDS_IN_S = 240.0  # a firing alert's endsAt ahead of now (4 re-post intervals)


@dataclass(frozen=True)
class OutgoingRequest:
    """One HTTP POST a notifier wants made."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    covers: tuple[int, ...]  # indexes into the messages list that this request delivers


def missing_secrets(notifier: Notifier) -> list[str]:
    """The environment variables `notifier` needs that are unset or empty."""
    return [name for name in notifier.secret_names() if read_secret(name) is None]


def build_requests(notifier: Notifier, messages: Sequence[AlertMessage], *, now: float,
                   alertmanager_ends_in: float = ALERTMANAGER_ENDS_IN_S,
                   ) -> list[OutgoingRequest]:
    """The requests that deliver `messages` (one group: same notifier, same group key) to
    `notifier`, as of `now` (Unix seconds). Every message is covered by exactly one request.
    Raises ConfigError when a secret variable the notifier names is not set."""
    if not messages:
        return []
    if notifier.kind == "slack":
        url = _secret(notifier, notifier.url_env, "Slack incoming webhook URL")
        return [_request(url, payload, covers)
                for payload, covers in slack.messages(messages)]
    if notifier.kind == "pagerduty":
        routing_key = _secret(notifier, notifier.secret_env, "PagerDuty routing key")
        url = _url(notifier) or PAGERDUTY_EVENTS_URL
        return [_request(url, pagerduty.event(m, routing_key=routing_key,
                                              severities=notifier.severities), (i,))
                for i, m in enumerate(messages)]
    if notifier.kind == "alertmanager":
        base = (_url(notifier) or "").rstrip("/")
        alerts = alertmanager.postable_alerts(messages, now=now, ends_in=alertmanager_ends_in)
        return [_request(f"{base}/api/v2/alerts", alerts, tuple(range(len(messages))))]
    if notifier.kind == "webhook":
        return [_webhook_request(notifier, messages, now=now)]
    raise ConfigError(f"notifier {notifier.name!r}: unknown kind {notifier.kind!r}")


def _webhook_request(notifier: Notifier, messages: Sequence[AlertMessage], *,
                     now: float) -> OutgoingRequest:
    url = _url(notifier) or ""
    secret = (_secret(notifier, notifier.secret_env, "webhook signing secret")
              if notifier.secret_env else None)
    body = encode(webhook.payload(messages))
    timestamp = int(now)
    extra = {TIMESTAMP_HEADER: str(timestamp)}
    if secret is not None:
        extra[SIGNATURE_HEADER] = sign_body(secret, timestamp, body)
    if len(messages) == 1:
        extra["Idempotency-Key"] = messages[0].key
    return OutgoingRequest(url, body, {**_HEADERS, **extra}, tuple(range(len(messages))))


_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


def _request(url: str, payload: Any, covers: tuple[int, ...]) -> OutgoingRequest:
    return OutgoingRequest(url, encode(payload), dict(_HEADERS), covers)


def _url(notifier: Notifier) -> str | None:
    """The notifier's URL: written out, else from its `url_env` variable (which must be set)."""
    if notifier.url:
        return notifier.url
    if notifier.url_env:
        return _secret(notifier, notifier.url_env, "URL")
    return None


def _secret(notifier: Notifier, variable: str | None, what: str) -> str:
    if not variable:
        raise ConfigError(f"notifier {notifier.name!r} ({notifier.kind}): no environment "
                          f"variable named for its {what}")
    value = read_secret(variable)
    if value is None:
        raise ConfigError(f"notifier {notifier.name!r} ({notifier.kind}): environment "
                          f"variable {variable} (its {what}) is not set")
    return value


def encode(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and ±Inf (not JSON) become null, a lone surrogate '?'."""
    text = json.dumps(_finite(payload), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return text.encode("utf-8", "replace")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


__all__ = ["ALERTMANAGER_ENDS_IN_S", "PAGERDUTY_EVENTS_URL", "USER_AGENT", "OutgoingRequest",
           "build_requests", "encode", "missing_secrets"]
