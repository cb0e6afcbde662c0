"""The Alerts page's data edge: alerting reads through `services.alerting.read` (the API's
reads too), cached briefly; each alert's thresholds from the SLO specs, as the evaluator
builds them; and the page's writes (acknowledge, silence, expire), each in one write
transaction through `services.alerting.silences`, refused without the API's write token
when tokens are configured."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import streamlit as st

from dashboard.data import TTL_S, connect, engine, services_in, settings
from dashboard.figures.alerts import Pair, RuleInfo
from services.alerting import read
from services.alerting.policy import alert_rules
from services.alerting.silences import (
    Silences,
    acknowledge,
    add_silence,
    expire_silence,
    parse_matchers,
)
from services.auth import AuthError, tokens_from_env
from services.errors import InputError
from services.files import mask_url, slo_catalog
from slo.durations import format_duration, parse_duration
from slo.windows import slo_windows

Rows = list[dict[str, Any]]
LIMIT = 200  # delivery rows shown per table; the caption says how many more there are


@st.cache_data(ttl=TTL_S)
def alerts() -> Rows:
    with connect() as conn:
        return read.alerts(conn)


@st.cache_data(ttl=TTL_S)
def transitions(start: int, end: int) -> Rows:
    with connect() as conn:
        return read.transitions_between(conn, start, end)


@st.cache_data(ttl=TTL_S)
def acknowledgements(start: int) -> Rows:
    """Acknowledgements in force at some time since `start`."""
    with connect() as conn:
        return read.acknowledgements(conn, expiring_after=start)


@st.cache_data(ttl=TTL_S)
def silences(start: int) -> Rows:
    """Silences in force at some time since `start` (expired ones included)."""
    with connect() as conn:
        return read.silences(conn, now=start)


@st.cache_data(ttl=TTL_S)
def deliveries(start: int, end: int) -> tuple[Rows, int]:
    """The newest LIMIT outbox rows written in `[start, end)`, and how many there are."""
    with connect() as conn:
        return (read.deliveries(conn, limit=LIMIT, since=start, until=end),
                read.count_deliveries(conn, since=start, until=end))


@st.cache_data(ttl=TTL_S)
def dead_letters() -> tuple[Rows, int]:
    """The newest LIMIT dead letters whenever they died (they wait for someone), and how
    many there are."""
    with connect() as conn:
        return read.deliveries(conn, dead=True, limit=LIMIT), read.count_deliveries(
            conn, dead=True)


@st.cache_data(ttl=TTL_S)
def attempts(outbox_id: int) -> Rows:
    with connect() as conn:
        return read.attempts(conn, outbox_id)


def scoped(alert_rows: Rows, environment: str | None) -> Rows:
    """The alerts of `environment`: of its services, or labelled with it (all without one)."""
    chosen = services_in(environment)
    if chosen is None:
        return alert_rows
    return [r for r in alert_rows if r["service"] in chosen
            or (r["labels"] or {}).get("environment") == environment]


def clear() -> None:
    """Forget the cached reads, so the page shows a write at once."""
    for reader in (alerts, transitions, acknowledgements, silences, deliveries, dead_letters,
                   attempts, services_in):
        reader.clear()


# --- what the specs say -----------------------------------------------------------------------


@st.cache_data(ttl=TTL_S)
def rules() -> tuple[dict[str, RuleInfo], str | None]:
    """Per alert fingerprint, its window pairs with their burn factors and its `for`, as
    the evaluator derives them from the SLO files; with the reason when they do not load
    (the table then shows burn rates without thresholds)."""
    config = settings()
    try:
        slos = slo_catalog(config.slo_files)
    except InputError as exc:
        return {}, f"the configured slo_files do not load: {exc}"
    out: dict[str, RuleInfo] = {}
    problems = []
    for slo in slos:
        try:
            specs = alert_rules(slo, slo_windows(slo), config.alerting)
        except InputError as exc:
            problems.append(str(exc))
            continue
        budget = slo.error_budget_ratio
        for rule in specs:
            pairs = tuple(Pair(_window(c.widths[0]), _window(c.widths[-1])
                               if len(c.widths) > 1 else None, c.limit / budget)
                          for c in rule.conditions)
            out[rule.fingerprint] = RuleInfo(pairs, rule.timing.for_s, rule.kind)
    return out, ("; ".join(problems) or None)


def _window(minutes: int) -> str:
    return format_duration(timedelta(minutes=minutes))


def destinations() -> dict[str, str]:
    """Each configured notifier as a destination people recognise (URLs masked)."""
    out = {}
    for n in settings().notifiers:
        where = mask_url(n.url) if n.url else (f"${n.url_env}" if n.url_env else "")
        out[n.name] = f"{n.name} ({n.kind}{' ' + where if where else ''})"
    return out


def silenced_now(alert_rows: Iterable[Mapping[str, Any]],
                 silence_rows: Iterable[Mapping[str, Any]], now: float) -> dict[int, int]:
    """Alert id -> the silence covering it now, matched as the evaluator matches."""
    active = Silences(tuple((int(r["id"]), parse_matchers(r["matchers"]))
                            for r in silence_rows if r["starts_at"] <= now < r["ends_at"]))
    out = {}
    for a in alert_rows:
        found = active.silences({str(k): str(v) for k, v in (a["labels"] or {}).items()})
        if found is not None:
            out[int(a["id"])] = found
    return out


# --- writes -----------------------------------------------------------------------------------


def token_required() -> bool:
    """Writes need the API's write token when APOLLO_API_TOKENS configures tokens."""
    return tokens_from_env() is not None


def _check_token(token: str) -> None:
    tokens = tokens_from_env()
    if tokens is None:
        return
    try:
        tokens.check(f"Bearer {token.strip()}", "write")
    except AuthError as exc:
        raise InputError(f"write token: {exc.reason}") from None


def _seconds(text: str, field: str) -> float:
    try:
        seconds = parse_duration(text.strip()).total_seconds()
    except ValueError as exc:
        raise InputError(f"{field}: {exc}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{field}: expected a positive duration such as '2h', got {text!r}")
    return seconds


def _writer() -> Any:
    # a write reads first (the alert's episode): on SQLite take the write lock at BEGIN
    return engine().execution_options(sqlite_begin_immediate=True)


def acknowledge_alert(alert_id: int, *, author: str, reason: str, duration: str, token: str,
                      now: float) -> float:
    """Acknowledge the alert's current episode for `duration`; returns when it expires.
    InputError says what is wrong (token, duration, author, no such alert)."""
    _check_token(token)
    expires = now + _seconds(duration, "for")
    with _writer().begin() as conn:
        acknowledge(conn, alert_id, author=author.strip(), reason=reason.strip(), now=now,
                    expires_at=expires)
    clear()
    return expires


def create_silence(matchers: list[str], *, author: str, reason: str, duration: str,
                   token: str, now: float) -> int:
    """Silence the alerts matching every matcher from now for `duration`; its id."""
    _check_token(token)
    ends = now + _seconds(duration, "for")
    with _writer().begin() as conn:
        silence_id = add_silence(conn, matchers, author=author.strip(), reason=reason.strip(),
                                 starts_at=now, ends_at=ends, now=now)
    clear()
    return silence_id


def end_silence(silence_id: int, *, token: str, now: float) -> None:
    """End a silence now; InputError when it is not in force."""
    _check_token(token)
    with _writer().begin() as conn:
        if not expire_silence(conn, silence_id, now=now):
            raise InputError(f"silence {silence_id}: not in force (expired already?)")
    clear()


def silence_matchers(slo: str, severity: str, extra: str) -> list[str]:
    """The matchers a silence form describes: the SLO, a severity unless "any", and any
    further Alertmanager matchers typed (comma-separated), checked as the store checks."""
    out = [f'slo="{slo}"'] if slo else []
    if severity and severity != "any":
        out.append(f'severity="{severity}"')
    typed = extra.strip().strip("{}").strip()
    if typed:
        out += [str(m) for m in parse_matchers([typed], field="matchers")]
    return out
