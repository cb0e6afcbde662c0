"""The Targets page's reads: every source a collector reads (scrape targets, Prometheus,
ClickHouse, documents, housekeeping) with its newest run, and the runs over time.

Collector runs (services/store/models.CollectorRun, written by collectors/runs.py) say
what each run did: target, start and end, status, samples, errors and the gaps it found.
Scrape runs name only the page's URL; its service (the Prometheus job) comes from the
configured targets, else from the running demo fleet's state, else from the instance
(host:port) the store's rows of that service carry. Aggregations run in SQL: a month of
15-second rounds is a million runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import BigInteger, Connection, Integer, String, and_, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from dashboard.data import TTL_S, connect, settings
from services.config import Settings
from services.errors import ConfigError
from services.files import mask_url, url_instance
from services.fleet.runner import read_state
from services.store.models import CollectorRun, Service, ServiceMinute

RUNS = CollectorRun.__table__
SCRAPE = "scrape"
LATEST_LOOKBACK_S = 86_400  # the newest run of a target is looked for this far back at most
NO_GAPS = ('{"gaps": []}', "{}", "null", '{"gaps":[]}')
TARGET_COLUMNS = ["pool", "collector", "endpoint", "service", "environment", "labels",
                  "state", "last_at", "duration_s", "samples", "error", "runs", "failed",
                  "gaps"]


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite through a text expression
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def epoch(conn: Connection, column: Any) -> ColumnElement[Any]:
    """Whole Unix seconds of a datetime column, in the store's SQL dialect."""
    if conn.dialect.name == "sqlite":
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _seconds(conn: Connection, start: Any, end: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


# --- who a scrape target belongs to ---------------------------------------------------------


def _instance_services(conn: Connection, start: int, end: int) -> dict[str, str]:
    """instance (host:port) -> service slug, from the store's rows of the range's last hour."""
    table, services = ServiceMinute.__table__, Service.__table__
    rows = conn.execute(
        select(table.c.instance, services.c.slug).distinct()
        .join(services, services.c.id == table.c.service_id)
        .where(table.c.minute >= max(start, end - 3600), table.c.minute < end,
               table.c.instance != ""))
    return {instance: slug for instance, slug in rows}


def _fleet_targets(config: Settings) -> dict[str, str]:
    """metrics URL -> service slug of the running demo fleet (empty when none runs)."""
    try:
        state = read_state(config)
    except (ConfigError, OSError, ValueError):
        return {}
    services = state.get("services") if isinstance(state, dict) else None
    return {mask_url(str(s.get("metrics_url"))): str(s.get("slug"))
            for s in services or [] if isinstance(s, dict)}


def configured_targets(config: Settings) -> pd.DataFrame:
    """The scrape targets the configuration lists, as the page shows them."""
    rows = [{"collector": SCRAPE, "endpoint": mask_url(t.url), "service": t.service,
             "environment": t.environment or "", "labels": dict(t.labels)}
            for t in config.sources.scrape.targets]
    return pd.DataFrame(rows, columns=["collector", "endpoint", "service", "environment",
                                       "labels"])


# --- runs -------------------------------------------------------------------------------------


def _latest(conn: Connection, lo: datetime, hi: datetime) -> list[Mapping[str, Any]]:
    """The newest run of each (collector, target) started in [lo, hi)."""
    newest = (select(RUNS.c.collector, RUNS.c.target, func.max(RUNS.c.started_at).label("at"))
              .where(RUNS.c.started_at >= lo, RUNS.c.started_at < hi)
              .group_by(RUNS.c.collector, RUNS.c.target).subquery())
    query = (select(RUNS, _seconds(conn, RUNS.c.started_at, RUNS.c.finished_at)
                    .label("duration_s"))
             .join(newest, and_(RUNS.c.collector == newest.c.collector,
                                RUNS.c.target == newest.c.target,
                                RUNS.c.started_at == newest.c.at))
             .order_by(RUNS.c.collector, RUNS.c.target, RUNS.c.id.desc()))
    seen: set[tuple[str, str]] = set()
    out = []
    for row in conn.execute(query).mappings():
        key = (row["collector"], row["target"])
        if key not in seen:  # two runs started in the same microsecond: the later id
            seen.add(key)
            out.append(row)
    return out


def _counts(conn: Connection, lo: datetime, hi: datetime) -> dict[tuple[str, str], tuple[int, int]]:
    """(collector, target) -> (runs, failed runs) started in [lo, hi)."""
    failed = func.sum(cast(RUNS.c.status == "failed", Integer))
    rows = conn.execute(select(RUNS.c.collector, RUNS.c.target, func.count(), failed)
                        .where(RUNS.c.started_at >= lo, RUNS.c.started_at < hi)
                        .group_by(RUNS.c.collector, RUNS.c.target))
    return {(c, t): (int(n), int(f or 0)) for c, t, n, f in rows}


def _gaps(conn: Connection, lo: datetime, hi: datetime) -> dict[tuple[str, str], list[tuple]]:
    """(collector, target) -> the gaps its runs in [lo, hi) found, as (start, end) seconds."""
    rows = conn.execute(select(RUNS.c.collector, RUNS.c.target, RUNS.c.gaps)
                        .where(RUNS.c.started_at >= lo, RUNS.c.started_at < hi,
                               cast(RUNS.c.gaps, String).notin_(NO_GAPS)))
    out: dict[tuple[str, str], list[tuple]] = {}
    for collector, target, gaps in rows:
        found = gaps.get("gaps", []) if isinstance(gaps, dict) else gaps or []
        for gap in found:
            if isinstance(gap, dict) and "start" in gap and "end" in gap:
                out.setdefault((collector, target), []).append(
                    (float(gap["start"]), float(gap["end"])))
    return out


def _state(status: str | None) -> str:
    return {"ok": "up", "partial": "partial", "failed": "down"}.get(status or "", "unknown")


def target_table(conn: Connection, config: Settings, start: int, end: int) -> pd.DataFrame:
    """One row per source or target: configured scrape targets (even those never run),
    then whatever the range's runs name; newest run within a day before `end`."""
    lo, hi = _utc(start), _utc(end)
    latest = _latest(conn, _utc(max(start, end - LATEST_LOOKBACK_S)), hi)
    counts, gaps = _counts(conn, lo, hi), _gaps(conn, lo, hi)
    configured = {row.endpoint: row for row in configured_targets(config).itertuples()}
    fleet = _fleet_targets(config)
    instances = _instance_services(conn, start, end)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for endpoint, row in configured.items():
        rows[(SCRAPE, endpoint)] = {"collector": SCRAPE, "endpoint": endpoint,
                                    "service": row.service, "environment": row.environment,
                                    "labels": row.labels}
    for run in latest:
        key = (run["collector"], run["target"])
        row = rows.setdefault(key, {"collector": key[0], "endpoint": key[1], "service": "",
                                    "environment": "", "labels": {}})
        row.update(state=_state(run["status"]), last_at=_aware(run["started_at"]),
                   duration_s=run["duration_s"], samples=run["samples"],
                   error=(run["message"] or "").split("\n")[0] if run["status"] != "ok"
                   else "")
    for key in set(counts) | set(gaps):
        rows.setdefault(key, {"collector": key[0], "endpoint": key[1], "service": "",
                              "environment": "", "labels": {}})
    for key, row in rows.items():
        for name, empty in (("state", "unknown"), ("last_at", None), ("duration_s", None),
                            ("samples", None), ("error", "")):
            row.setdefault(name, empty)
        row["runs"], row["failed"] = counts.get(key, (0, 0))
        row["gaps"] = sorted(gaps.get(key, []))
        if key[0] == SCRAPE and not row["service"]:
            row["service"] = fleet.get(key[1]) or instances.get(url_instance(key[1]), "")
        row["pool"] = (row["service"] or SCRAPE) if key[0] == SCRAPE else key[0]
    frame = pd.DataFrame(list(rows.values()), columns=TARGET_COLUMNS)
    return frame.sort_values(["pool", "endpoint"], kind="stable").reset_index(drop=True)


def runs_over_time(conn: Connection, start: int, end: int, step: int) -> pd.DataFrame:
    """Runs started in [start, end) per interval of `step`, collector and status, with
    their samples and longest duration."""
    at = epoch(conn, RUNS.c.started_at)
    bucket = (at // step) * step
    query = (select(bucket.label("ts"), RUNS.c.collector, RUNS.c.status,
                    func.count().label("runs"), func.sum(RUNS.c.samples).label("samples"),
                    func.max(_seconds(conn, RUNS.c.started_at, RUNS.c.finished_at))
                    .label("max_duration_s"))
             .where(RUNS.c.started_at >= _utc(start), RUNS.c.started_at < _utc(end))
             .group_by(bucket, RUNS.c.collector, RUNS.c.status).order_by(bucket))
    frame = pd.DataFrame(conn.execute(query).all(),
                         columns=["ts", "collector", "status", "runs", "samples",
                                  "max_duration_s"])
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="s", utc=True)
    return frame


# --- cached for the page ----------------------------------------------------------------------


SOURCE_LOOKBACK_S = 3600  # a source whose newest run in the last hour failed is down


def sources_down(conn: Connection, now: int) -> list[tuple[str, str, str]]:
    """(collector, target, first error line) of every source (a collector other than the
    page scraper: Prometheus, ClickHouse, documents, OpenCost, …) whose newest run in the
    last hour failed. Scrape targets are the Targets page's and the overview's."""
    latest = _latest(conn, _utc(now - SOURCE_LOOKBACK_S), _utc(now + 1))
    return [(run["collector"], run["target"], (run["message"] or run["status"]).split("\n")[0])
            for run in latest if run["collector"] != SCRAPE and run["status"] != "ok"]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def down_sources(now: int) -> list[tuple[str, str, str]]:
    with connect() as conn:
        return sources_down(conn, now)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def targets(start: int, end: int) -> pd.DataFrame:
    with connect() as conn:
        return target_table(conn, settings(), start, end)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def runs(start: int, end: int, step: int) -> pd.DataFrame:
    with connect() as conn:
        return runs_over_time(conn, start, end, step)
