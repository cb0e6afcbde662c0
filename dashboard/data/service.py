"""The Service page's reads: one service's intervals and buckets, its SLOs with their
budget left, its status by the one rule (services/documents/status.py), and the demo
fleet's fault controls. Cached briefly; the figures are computed in dashboard/figures."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dashboard.data import TTL_S, connect, settings
from services.alerting.facts import service_statuses
from services.auth import AuthError, tokens_from_env
from services.documents.status import ServiceStatus
from services.errors import ConfigError, SourceUnavailable
from services.files import slo_catalog
from services.fleet.control import FleetControl
from services.store import queries
from services.store.queries import Resolution
from services.store.slo_data import budgets_left
from slo.durations import format_duration
from slo.model import SLO, LatencyThreshold, RequestRatio


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def metrics(slug: str, start: int, end: int, resolution: Resolution) -> pd.DataFrame:
    with connect() as conn:
        return queries.service_metrics(conn, _utc(start), _utc(end), resolution=resolution,
                                       services=[slug])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def buckets(slug: str, start: int, end: int, resolution: Resolution) -> pd.DataFrame:
    with connect() as conn:
        return queries.latency_buckets(conn, _utc(start), _utc(end), resolution=resolution,
                                       services=[slug])


# --- SLOs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SloLine:
    """One SLO of the service as the page lists it."""

    id: str
    name: str
    objective: float  # percent
    period: str  # 30d
    description: str
    remaining: float | None  # error budget left at the range's end; None: no events
    latency_threshold_ms: float | None  # a latency SLO's threshold
    allowed_error_pct: float | None  # an availability SLO's (100 - objective)


def service_slos(slug: str) -> list[SLO]:
    """The configured SLOs of the service; InputError (every file and line) when the SLO
    files do not load."""
    return [s for s in slo_catalog(settings().slo_files) if s.service == slug]


def _line(slo: SLO, remaining: float | None) -> SloLine:
    sli = slo.sli
    return SloLine(
        id=slo.id, name=slo.name, objective=slo.objective,
        period=format_duration(slo.period.length), description=slo.description,
        remaining=remaining,
        latency_threshold_ms=sli.threshold_s * 1000 if isinstance(sli, LatencyThreshold)
        else None,
        allowed_error_pct=100 - slo.objective
        if isinstance(sli, RequestRatio) and sli.error_query else None)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def slo_lines(slug: str, at: int) -> list[SloLine]:
    """The service's SLOs with their error budget left at `at` (over each SLO's period,
    `slo_data.budgets_left`, as the API computes it)."""
    slos = service_slos(slug)
    if not slos:
        return []
    with connect() as conn:
        left = budgets_left(conn, slos, at)
    return [_line(slo, left[slo.id][1]) for slo in slos]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def status(slug: str, at: int, has_data: bool) -> ServiceStatus:
    """The service's status at `at` by the one rule (`alerting.facts.service_statuses`:
    its alerts as they stood then, its SLOs' budgets left)."""
    with connect() as conn:
        found = service_statuses(conn, [slug], service_slos(slug), at, time.time(),
                                 {slug: has_data})
    return found[slug].status


def slo_table(lines: list[SloLine], from_text: str, to_text: str) -> pd.DataFrame:
    """The SLO list as shown and downloaded; `Open` links to the SLOs page's detail with
    the same range."""
    rows = []
    for line in lines:
        kind = ("latency" if line.latency_threshold_ms is not None
                else "availability" if line.allowed_error_pct is not None else "other")
        rows.append({"SLO": line.name, "Kind": kind, "Objective": line.objective,
                     "Period": line.period, "Budget left": line.remaining,
                     "Description": line.description,
                     "Open": "/slos?" + urlencode({"slo": line.id, "from": from_text,
                                                   "to": to_text})})
    return pd.DataFrame(rows, columns=["SLO", "Kind", "Objective", "Period", "Budget left",
                                       "Open", "Description"])


# --- the demo fleet -------------------------------------------------------------------------


def fleet_state() -> dict[str, Any] | None:
    """The running demo fleet's state, None when no fleet runs (not in demo mode), or the
    reason it does not answer as {"error": ...}."""
    try:
        with FleetControl.from_settings(settings(), timeout_s=2.0) as control:
            return control.state()
    except SourceUnavailable as exc:
        if "fleet.json" in str(exc) or "no running fleet" in str(exc):
            return None
        return {"error": str(exc)}


def write_allowed(token: str) -> str | None:
    """None when a write may go ahead: no tokens configured (APOLLO_API_TOKENS), or `token`
    grants write; else why not, as the API would answer."""
    try:
        tokens = tokens_from_env()
    except ConfigError as exc:
        return str(exc)
    if tokens is None:
        return None
    try:
        tokens.check(f"Bearer {token}" if token else None, "write")
    except AuthError as exc:
        return f"a write token is needed: {exc.reason}"
    return None


def inject_fault(slug: str, kind: str, duration: str, *, rate: float | None,
                 factor: float | None) -> str:
    """Set a fault on the service; a sentence saying what was set. InputError or
    SourceUnavailable say why not."""
    with FleetControl.from_settings(settings()) as control:
        answer = control.inject(slug, kind, duration=duration, rate=rate, factor=factor)
    fault = answer["fault"]
    until = datetime.fromtimestamp(float(fault["until"]), UTC).strftime("%H:%M:%S UTC")
    return f"{kind.replace('_', ' ')} set on {slug} until {until}"


def clear_faults(slug: str) -> str:
    with FleetControl.from_settings(settings()) as control:
        answer = control.clear(slug)
    return f"cleared {len(answer.get('ended', []))} fault(s) on {slug}"


