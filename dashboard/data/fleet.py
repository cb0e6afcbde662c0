"""The Fleet overview's reads: the platform table as the API's GET /services computes it
(`service_summary` on the range's minutes, the status at the range's end by the one rule,
`alert_facts.service_statuses`), each service's intervals for its sparklines, the alerts
firing now, the targets whose last collector run failed, and each SLO's burn rate per
interval. Scoped to the view's environment; cached briefly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import Connection

from dashboard.data import TTL_S, connect, settings
from dashboard.data import slo as slo_data
from dashboard.data import targets as target_data
from services.alerting.facts import service_statuses
from services.alerting.read import alerts
from services.config import ServiceConfig
from services.documents.platform import p95_by_interval, service_summary
from services.store import queries
from services.store.queries import Resolution
from services.store.slo_history import history_points


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def seconds(ts: pd.Series) -> np.ndarray:
    """Unix seconds of a column of UTC timestamps, without a Python call per row."""
    return ((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def configs(environment: str | None) -> list[ServiceConfig]:
    """The configured services of the environment (every one when none is chosen)."""
    chosen = slo_data.services_in(environment)
    every = list(settings().services)
    return every if chosen is None else [c for c in every if c.slug in set(chosen)]


@dataclass(frozen=True)
class Platform:
    """The platform table over a range: `summary` (one row per service, as GET /services),
    with `status` and `reasons` at the range's end; `intervals` per service and step for
    the sparklines (rps over each interval's own seconds, p95 of its buckets)."""

    summary: pd.DataFrame
    intervals: pd.DataFrame


def per_interval(metrics: pd.DataFrame, buckets: pd.DataFrame, *, start: int, end: int,
                 step: int) -> pd.DataFrame:
    """Per service and interval of the step grid over [start, end): requests per second
    over the seconds the interval covers within the range (the step, less for the last
    one when the range ends inside it), and the interval's p95 (ms) from its buckets.
    `metrics` are minute rows (summed into the grid), `buckets` rows at `step`."""
    columns = ["service", "ts", "rps", "p95_ms"]
    if metrics.empty:
        return pd.DataFrame(columns=columns)
    first = start - start % step
    ts = seconds(metrics["ts"])
    frame = pd.DataFrame({"service": metrics["service"].to_numpy(),
                          "ts": first + (ts - first) // step * step,
                          "requests": metrics["requests"].to_numpy(dtype=float)})
    sums = frame.groupby(["service", "ts"], as_index=False)["requests"].sum()
    covered = np.clip(end - sums["ts"].to_numpy(), 0, step)
    sums["rps"] = sums["requests"] / np.where(covered > 0, covered, np.nan)
    p95 = p95_by_interval(buckets)
    if len(p95):
        p95 = p95.assign(ts=seconds(p95["ts"]))
        sums = sums.merge(p95, on=["service", "ts"], how="left")
    else:
        sums["p95_ms"] = np.nan
    return sums[columns]


def buckets_from(conn: Connection, start: int, end: int, slugs: list[str]) -> pd.DataFrame:
    """The range's minute buckets, when its start is not on the step (the table sums
    exactly [start, end), as GET /services does)."""
    return queries.latency_buckets(conn, _utc(start), _utc(end), services=slugs)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def platform(start: int, end: int, resolution: Resolution, step: int,
             environment: str | None, _now: float) -> Platform:
    """The platform table over [start, end) with each service's status at `end`; `_now`
    (the alerts' acknowledgements and silences in force) is left out of the cache key, as
    its underscore tells st.cache_data: a page passes time.time(), and a key that changes
    every run never hits (bench/dashboard.py: the overview's cached rerun re-read 141k
    minute bucket rows each time)."""
    chosen = configs(environment)
    slugs = [c.slug for c in chosen]
    if not slugs:
        return Platform(pd.DataFrame(), pd.DataFrame())
    slos, _ = slo_data.catalog()
    first = start - start % step  # the sparklines' intervals are whole ones
    with connect() as conn:
        metrics = queries.service_metrics(conn, _utc(first), _utc(end), services=slugs)
        buckets = queries.latency_buckets(conn, _utc(first), _utc(end), resolution=resolution,
                                          services=slugs)
        summary = service_summary(chosen, metrics[metrics["ts"] >= _utc(start)], buckets
                                  if first == start else buckets_from(conn, start, end, slugs))
        statuses = service_statuses(
            conn, slugs, slos, end, _now,
            {r.service: int(r.minutes) > 0 for r in summary.itertuples()})
    summary["status"] = [statuses[s].status.status for s in summary["service"]]
    summary["reasons"] = ["; ".join(r.message for r in statuses[s].status.reasons)
                          for s in summary["service"]]
    return Platform(summary, per_interval(metrics, buckets, start=start, end=end, step=step))


# --- alerts and targets -----------------------------------------------------------------------


@st.cache_data(ttl=TTL_S, show_spinner=False)
def firing(environment: str | None) -> list[dict[str, Any]]:
    """The alerts firing now (Apollo's and Alertmanager's), of the environment's services
    when one is chosen."""
    with connect() as conn:
        rows = alerts(conn, state="firing")
    chosen = slo_data.services_in(environment)
    return rows if chosen is None else [r for r in rows if r["service"] in set(chosen)]


def targets_down(start: int, end: int, environment: str | None) -> tuple[int, int]:
    """(targets whose newest run failed, targets with a run): the Targets page's table,
    of the environment's services when one is chosen."""
    table = target_data.targets(start, end)
    chosen = slo_data.services_in(environment)
    if chosen is not None:
        table = table[table["service"].isin(chosen) | (table["environment"] == environment)]
    ran = table[table["state"] != "unknown"]
    return int((ran["state"] == "down").sum()), len(ran)


# --- SLO trends -------------------------------------------------------------------------------


@st.cache_data(ttl=TTL_S, show_spinner=False)
def slo_burns(start: int, end: int, resolution: Resolution, step: int,
              environment: str | None) -> dict[str, list[float]]:
    """SLO id -> its burn rate in each interval of the range (NaN without events), as GET
    /slos/{id}/history gives it: occurrence SLOs from the store's interval sums, timeslice
    SLOs from their sliced minutes (`history_points`)."""
    slos = slo_data.scoped(slo_data.catalog()[0], environment)
    first = start - start % step
    count = -(-(end - first) // step)
    out: dict[str, list[float]] = {}
    plain = [s for s in slos if s.budgeting == "occurrences" or s.timeslices is None]
    with connect() as conn:
        rows = queries.sli(conn, _utc(first), _utc(end), resolution=resolution,
                           slos=[s.id for s in plain]) if plain else pd.DataFrame()
        for slo in slos:
            if slo in plain or slo.error_budget_ratio <= 0:
                continue
            out[slo.id] = [np.nan if p.burn_rate is None else p.burn_rate
                           for p in history_points(conn, slo, first, first + count * step,
                                                   step)]
    for slo in plain:
        values = np.full(count, np.nan)
        mine = rows[rows["slo"] == slo.id] if len(rows) else rows
        if len(mine) and slo.error_budget_ratio > 0:
            at = (seconds(mine["ts"]) - first) // step
            total = mine["total"].to_numpy(dtype=float)
            bad = total - mine["good"].to_numpy(dtype=float)
            ok = (total > 0) & (at >= 0) & (at < count)
            values[at[ok]] = bad[ok] / total[ok] / slo.error_budget_ratio
        out[slo.id] = values.tolist()
    return out
