"""Slack incoming webhooks: Block Kit messages, up to `ALERTS_PER_MESSAGE` alerts each.

Each alert is a header (FIRING or RESOLVED and the alert name), a section of fields (SLO,
service, severity, objective, budget left, burn rate per window, times), its summary and
description, its links (runbook, dashboard) and a context line with the idempotency key;
alerts of one message are split by dividers. The `text` fallback is what notifications and
screen readers show.

Slack's limits are kept by clipping (with "…"): a header's text 150 characters, a section's
text 3,000, a field's 2,000, 10 fields a section, 10 elements a context block, 50 blocks a
message. Lengths are counted in UTF-16 code units, never fewer than characters, so a text
within the limit by either count is within it. `&`, `<` and `>` in mrkdwn are escaped as
Slack asks, in links' URLs too; `|`, `<`, `>` and white space in a URL are percent-encoded
so they cannot end the link.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from services.alerting.message import AlertMessage

ALERTS_PER_MESSAGE = 5  # 5 blocks an alert and 4 dividers: 29 of the 50 blocks allowed
MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_FALLBACK_TEXT = 3000

_EMOJI = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}
_LINK_ORDER = ("runbook", "dashboard")


def messages(alerts: Sequence[AlertMessage]) -> list[tuple[dict[str, Any], tuple[int, ...]]]:
    """(payload, indexes of `alerts` it carries) for every Slack message the group needs."""
    out = []
    for start in range(0, len(alerts), ALERTS_PER_MESSAGE):
        covers = tuple(range(start, min(start + ALERTS_PER_MESSAGE, len(alerts))))
        out.append((message([alerts[i] for i in covers]), covers))
    return out


def message(alerts: Sequence[AlertMessage]) -> dict[str, Any]:
    """One Slack message (`text` fallback and `blocks`) for up to ALERTS_PER_MESSAGE alerts."""
    blocks: list[dict[str, Any]] = []
    for n, alert in enumerate(alerts):
        if n:
            blocks.append({"type": "divider"})
        blocks.extend(alert_blocks(alert))
    return {"text": fallback_text(alerts), "blocks": blocks[:MAX_BLOCKS]}


def alert_blocks(alert: AlertMessage) -> list[dict[str, Any]]:
    """Header, fields, description, links and context of one alert (at most 5 blocks)."""
    blocks: list[dict[str, Any]] = [{
        "type": "header",
        "text": {"type": "plain_text", "emoji": True,
                 "text": clip(f"{_EMOJI[alert.status]} {_label(alert)}: {alert.name}",
                              MAX_HEADER_TEXT)},
    }]
    fields = [{"type": "mrkdwn", "text": mrkdwn_clip(f"*{title}*\n", value, MAX_FIELD_TEXT)}
              for title, value in _fields(alert)]
    if fields:
        blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
    about = "\n".join(t for t in (alert.annotations.get("summary", ""),
                                  alert.annotations.get("description", "")) if t.strip())
    if about:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn",
                                "text": mrkdwn_clip("", about, MAX_SECTION_TEXT)}})
    links = _links(alert.links)
    if links:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": links}})
    context = f"Apollo Observatory · key `{alert.key}`"
    if alert.kind != "transition":
        context += f" · {alert.kind}"
    blocks.append({"type": "context",
                   "elements": [{"type": "mrkdwn",
                                 "text": mrkdwn_clip("", context, MAX_SECTION_TEXT)}]})
    return blocks


def fallback_text(alerts: Sequence[AlertMessage]) -> str:
    """The message's plain summary: one alert named in full, several counted and listed."""
    if len(alerts) == 1:
        alert = alerts[0]
        where = " on ".join(t for t in (alert.slo, alert.service) if t)
        text = f"{_label(alert)}: {alert.name}" + (f" ({where})" if where else "")
    else:
        firing = sum(a.status == "firing" for a in alerts)
        counts = ", ".join(f"{n} {s}" for n, s in ((firing, "firing"),
                                                  (len(alerts) - firing, "resolved")) if n)
        text = f"{len(alerts)} alerts ({counts}): " + ", ".join(a.name for a in alerts)
    return mrkdwn_clip("", text, MAX_FALLBACK_TEXT)


def _label(alert: AlertMessage) -> str:
    label = alert.status.upper()
    return f"TEST {label}" if alert.kind == "test" else label


def _fields(alert: AlertMessage) -> list[tuple[str, str]]:
    fields = [("SLO", alert.slo), ("Service", alert.service), ("Severity", alert.severity)]
    if alert.objective is not None:
        fields.append(("Objective", f"{_number(alert.objective)}%"))
    if alert.budget_remaining is not None:
        left = f"{_number(alert.budget_remaining * 100, 1)}%"
        exhausted = alert.budget_remaining < 0
        fields.append(("Budget left", left + (" (exhausted)" if exhausted else "")))
    if alert.burn_rates:
        fields.append(("Burn rate", "\n".join(f"{window}: {_number(rate)}×"
                                              for window, rate in alert.burn_rates.items())))
    fields.append(("Started", _when(alert.starts_at)))
    if alert.status == "resolved" and alert.ends_at is not None:
        fields.append(("Resolved", _when(alert.ends_at)))
    return [(title, value) for title, value in fields if value]


def _links(links: Mapping[str, str]) -> str:
    """`*Links:* <url|Runbook> · <url|Dashboard> · …` with as many links as fit."""
    names = [n for n in _LINK_ORDER if n in links] + sorted(set(links) - set(_LINK_ORDER))
    text = ""
    for name in names:
        url = links[name]
        if not re.match(r"^(https?|mailto):", url or ""):
            continue
        title = escape(name.replace("_", " ").capitalize()) or "Link"
        part = f"<{link_url(url)}|{title}>"
        candidate = f"{text} · {part}" if text else f"*Links:* {part}"
        if units(candidate) > MAX_SECTION_TEXT:
            break
        text = candidate
    return text


def escape(text: str) -> str:
    """Slack's three mrkdwn escapes."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_url(url: str) -> str:
    """A URL safe inside `<url|text>`: `&` escaped as everywhere in mrkdwn, and `|`, `<`,
    `>` and white space, which would end the link, percent-encoded."""
    return re.sub(r"[\s|<>]", lambda m: quote(m.group()), url.replace("&", "&amp;"))


def units(text: str) -> int:
    """Length in UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending in "…" when cut."""
    if units(text) <= limit:
        return text
    used = 0
    for end, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit - 1:
            return text[:end] + "…"
    return text


def mrkdwn_clip(prefix: str, raw: str, limit: int) -> str:
    """`prefix` (already mrkdwn) + `raw` escaped, clipped to `limit` without cutting an
    escape in half."""
    text = prefix + escape(raw)
    if units(text) <= limit:
        return text
    cut = clip(text, limit)[:-1]
    return re.sub(r"&[a-z]*$", "", cut) + "…"


def _number(value: float, digits: int = 2) -> str:
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "n/a")
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _when(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(ts)
