"""/services: the platform table (live figures beside the baseline, and a status) and each
service's time series at a chosen resolution and percentile.

The figures come from the query layer (`service_metrics`, `latency_buckets`) through the
platform summary of services/documents; the status from the one rule of
services/documents/status.py, fed with the service's alerts and its SLOs' error budgets at
the end of the range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import Connection

from services.alerting.facts import service_statuses
from services.api.deps import (
    Conn,
    LabelFilter,
    Paging,
    Range,
    Reader,
    bad_parameter,
    configured_slos,
    json_response,
    state,
)
from services.api.schemas_services import (
    NOT_FOUND,
    READ_ERRORS,
    BaselineOut,
    ErrorOut,
    ReasonOut,
    SeriesPoint,
    ServiceList,
    ServiceOut,
    ServiceSeries,
    SloBudgetOut,
)
from services.config import ServiceConfig, Settings
from services.documents.platform import GIB, p95_by_interval, service_summary
from services.errors import InputError
from services.store import queries
from services.store.catalog import service_labels
from services.store.series import STEPS
from services.store.timeutil import MINUTE, ceil_to, floor_to
from services.timerange import TimeRange, floor_minute, parse_range

router = APIRouter(prefix="/services", tags=["services"])

MAX_POINTS = 20_000  # a series longer than this asks for a coarser resolution
MAX_TABLE_DAYS = 31  # the table reads minute rows: longer ranges go to /series?resolution=hour
SLO_FILES_BROKEN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "The configured SLO files do not load, so no "
                                            "status can be computed (`apollo config check`)."},
}


# --- parameters ---------------------------------------------------------------------------


def last_hour(
    request: Request,
    start: Annotated[str, Query(alias="from", description="Start: ISO 8601, Unix seconds, "
                                "now-1h or -7d.", max_length=64)] = "now-1h",
    end: Annotated[str, Query(alias="to", description="End (excluded), same forms.",
                              max_length=64)] = "now",
) -> TimeRange:
    """[from, to) in whole minutes, by default the last hour (deps.Range's default is a day)."""
    try:
        span = parse_range(start, end, state(request).clock(), fields=("from", "to"))
    except InputError as exc:
        raise bad_parameter(exc.field or "from", exc.reason) from None
    if span.end - span.start > MAX_TABLE_DAYS * 86_400:
        raise bad_parameter("from", f"the table covers at most {MAX_TABLE_DAYS} days; for "
                                    "longer, read /services/{slug}/series?resolution=hour")
    return span


TableRange = Annotated[TimeRange, Depends(last_hour)]
Slug = Annotated[str, Path(description="The service's slug.", max_length=63)]


# --- who the services are -------------------------------------------------------------------


# --- budgets and alerts behind the status ---------------------------------------------------


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


# --- the table ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _instances(metrics: pd.DataFrame) -> dict[str, int]:
    """Instances that reported each service's newest minute."""
    if metrics.empty:
        return {}
    newest = metrics.sort_values("ts").groupby("service").tail(1)
    return {r.service: int(r.instances) for r in newest.itertuples()}


def service_rows(conn: Connection, settings: Settings, configs: Sequence[ServiceConfig],
                 labels: Mapping[str, Mapping[str, str]], span: TimeRange, now: float
                 ) -> list[ServiceOut]:
    """The platform table's rows of `configs` over `span`, with their status at its end."""
    if not configs:
        return []
    slugs = [c.slug for c in configs]
    start, end = _utc(span.start), _utc(span.end)
    metrics = queries.service_metrics(conn, start, end, services=slugs)
    buckets = queries.latency_buckets(conn, start, end, services=slugs)
    summary = service_summary(configs, metrics, buckets).set_index("service")
    instances = _instances(metrics)
    slos = configured_slos(settings)
    statuses = service_statuses(conn, slugs, slos, span.end, now,
                                {c.slug: int(summary.loc[c.slug, "minutes"]) > 0
                                 for c in configs})
    rows = []
    for c in configs:
        row = summary.loc[c.slug]
        status, budgets = statuses[c.slug].status, statuses[c.slug].budgets
        label_set = labels[c.slug]
        base = c.baseline
        rows.append(ServiceOut(
            slug=c.slug, name=c.name, unit=c.unit, team=label_set.get("team", ""),
            environment=label_set.get("environment", ""), tier=label_set.get("tier", ""),
            labels=dict(label_set), status=status.status,
            reasons=[ReasonOut(level=r.level, kind=r.kind, subject=r.subject,
                               message=r.message, slo=r.slo, severity=r.severity,
                               remaining=r.remaining) for r in status.reasons],
            p95_ms=_number(row["p95_ms"]), throughput_rps=_number(row["throughput_rps"]),
            error_ratio=_number(row["error_ratio"]), cpu_ratio=_number(row["cpu_ratio"]),
            memory_gib=_number(row["memory_gib"]), instances=instances.get(c.slug, 0),
            minutes=int(row["minutes"]),
            baseline=BaselineOut(p95_ms=base.p95_ms, throughput_rps=base.throughput_rps,
                                 cpu_ratio=base.cpu_ratio, memory_gib=base.memory_gib,
                                 error_ratio=base.error_ratio, status=base.status)
            if base else None,
            slos=[SloBudgetOut(slo=s.id, objective=s.objective,
                               period_start=_utc(budgets[s.id][0]), remaining=budgets[s.id][1])
                  for s in slos if s.id in budgets],
        ))
    return rows


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


@router.get("", response_model=ServiceList, responses={**READ_ERRORS, **SLO_FILES_BROKEN})
def list_services(request: Request, _: Reader, conn: Conn, span: TableRange,
                  wanted: LabelFilter, paging: Paging) -> Response:
    """The platform table: per configured service over [from, to) (default the last hour)
    its p95 latency, throughput, error ratio, CPU, memory and instances beside the
    baseline figures, and its status at `to` with the reasons. Filters: team,
    environment, service and `label=k=v`; `total` counts every match."""
    s = state(request)
    configs = s.settings.services
    labels = service_labels(conn, s.settings, configs)
    chosen = [c for c in configs if wanted.matches(labels[c.slug])]
    page, total = paging.slice(chosen)
    items = service_rows(conn, s.settings, page, labels, span, s.clock())
    return json_response(request, _dump(ServiceList(
        **{"from": _utc(span.start)}, to=_utc(span.end), total=total, limit=paging.limit,
        offset=paging.offset, items=items)))


def _config(settings: Settings, slug: str) -> ServiceConfig:
    for c in settings.services:
        if c.slug == slug:
            return c
    raise HTTPException(404, f"service {slug!r} not found")


@router.get("/{slug}", response_model=ServiceOut,
            responses={**READ_ERRORS, **NOT_FOUND, **SLO_FILES_BROKEN})
def read_service(request: Request, slug: Slug, _: Reader, conn: Conn,
                 span: TableRange) -> Response:
    """One row of the platform table (see `GET /services`)."""
    s = state(request)
    config = _config(s.settings, slug)
    labels = service_labels(conn, s.settings, [config])
    [row] = service_rows(conn, s.settings, [config], labels, span, s.clock())
    return json_response(request, _dump(row))


# --- a service's series ---------------------------------------------------------------------


def series_points(metrics: pd.DataFrame, buckets: pd.DataFrame, percentile: float,
                  step: int, now: float) -> list[SeriesPoint]:
    """One point per interval with data: rates over the interval's seconds (up to the
    current minute for the interval still filling), the percentile of its buckets."""
    if metrics.empty:
        return []
    latency = p95_by_interval(buckets, percentile).rename(columns={"p95_ms": "latency_ms"})
    frame = metrics.merge(latency[["ts", "latency_ms"]], on="ts", how="left")
    current = floor_minute(int(now))
    points = []
    for r in frame.itertuples():
        ts = int(r.ts.timestamp())
        seconds = max(MINUTE, min(step, current - ts))
        requests, errors = float(r.requests), float(r.errors)
        points.append(SeriesPoint(
            ts=r.ts.to_pydatetime(), seconds=seconds, requests=requests, errors=errors,
            throughput_rps=requests / seconds,
            error_ratio=errors / requests if requests > 0 else None,
            latency_ms=_number(r.latency_ms), cpu_ratio=_number(r.cpu_ratio),
            memory_gib=_number(r.memory_bytes / GIB), instances=int(r.instances),
            partial=bool(r.partial)))
    return points


@router.get("/{slug}/series", response_model=ServiceSeries,
            responses={**READ_ERRORS, **NOT_FOUND})
def service_series(
    request: Request, slug: Slug, _: Reader, conn: Conn, span: Range,
    resolution: Annotated[Literal["minute", "5m", "hour"], Query(
        description="Interval length; intervals start at its multiples.")] = "minute",
    percentile: Annotated[float, Query(gt=0, lt=1, description="The latency percentile, "
                                       "strictly between 0 and 1 (0.95, 0.99…).")] = 0.95,
) -> Response:
    """Per interval of [from, to) widened to whole intervals (default the last day):
    requests, errors, throughput, error ratio, the chosen latency percentile (from the
    interval's bucket increases), CPU, memory and instances. Intervals without data are
    left out; at most 20,000 intervals."""
    s = state(request)
    _config(s.settings, slug)
    step = STEPS[resolution]
    lo, hi = floor_to(span.start, step), ceil_to(span.end, step)
    if (hi - lo) // step > MAX_POINTS:
        raise bad_parameter("resolution", f"[from, to) holds {(hi - lo) // step} intervals "
                                          f"of {resolution}, more than {MAX_POINTS}: pick a "
                                          "coarser resolution or a shorter range")
    metrics = queries.service_metrics(conn, _utc(lo), _utc(hi), resolution=resolution,
                                      services=[slug])
    buckets = queries.latency_buckets(conn, _utc(lo), _utc(hi), resolution=resolution,
                                      services=[slug])
    return json_response(request, _dump(ServiceSeries(
        service=slug, resolution=resolution, percentile=percentile, **{"from": _utc(lo)},
        to=_utc(hi), points=series_points(metrics, buckets, percentile, step, s.clock()))))
