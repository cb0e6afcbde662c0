"""Per-minute service and SLI rows from Prometheus, Thanos or Mimir, through prometheus-api-client.

    connect(url, timeout_s=, retries=)          a PrometheusConnect with bounded waits
    plan_chunks(start, end, max_minutes=)       [(start, end)]: minute ranges, one query each
    service_queries(services, label=, names=)   {field: PromQL} behind the service rows
    name_choices(names)                         the metric names a service is read from
    sli_queries(slo)                            how one SLO's good/total are read (or SpecError)
    matrix_frame(result) / per_minute(frame)    a range query's JSON -> rows per minute (pure)
    service_rows / bucket_rows / sli_rows       frames -> store rows (pure)
    PrometheusSource(client, params=)           one-minute-step range queries; typed errors
    PrometheusCollector(engine, source, services, slos=, names=)
        .from_settings(settings, engine, …)     as `sources.prometheus` describes it
        .collect(now=)                          the last complete minutes -> RunResult
        .backfill(start, end, progress=)        any past range, chunked -> RunResult
    progress_reporter(stream)                   a progress callback: a rich bar on a terminal,
                                                plain lines otherwise

Minute mapping. A row for minute `m` (Unix seconds, a multiple of 60, the minute [m, m+60))
holds `increase(X[1m])` evaluated at the instant `m + 60`, i.e. over the samples with
timestamps in [m, m+60] (Prometheus 2.x; (m, m+60] from 3.0). A range query from `a + 60` to
`b` at a 60 s step therefore yields exactly the minutes [a, b). `increase` is an estimate:
Prometheus takes last - first sample in the window (counter resets handled) and extrapolates
to the window's edges, by at most half an average scrape interval beyond 1.1 intervals from
an edge. With regular scrapes a minute is right to about one scrape's worth of the counter's
slope; a scrape missed at a window edge costs up to ~1.5 intervals of it; a minute in which
Prometheus itself was not scraping is under-counted and no backfill can recover it.

SLIs come from the specs' own queries with `{{.window}}` = `1m`, evaluated at the same
instants: per-second rates × 60 are the minute's counts (queries of `increase` only are
taken as counts). Raw error ratios cannot give events back, so each minute is written as
good = 1 - ratio, total = 1: the SLO then averages the ratio over minutes, which is how
Sloth's own period SLI treats a raw SLI. Threshold SLIs are judged per minute (1 or 0 of 1).

Instances. Prometheus has summed the targets already, so every row carries one instance
name, `prometheus` (the collector's `instance`): replicas of the collector, or an HA pair of
Prometheus servers answering alike, then rewrite the same rows instead of adding up.

Failure. A source that refuses, times out or answers 5xx ends the run: the collect call
returns a failed (or partial) `RunResult` naming the URL, with the minutes not read as one
gap `{"start": s, "end": s}`; a later `backfill` over that gap fills it. Every write is an
idempotent upsert, one transaction per chunk, so running anything twice changes nothing.
A query Prometheus rejects (4xx: bad PromQL, too many samples) is an error of that query
only: the others are still written. A row the store cannot take (bad data) is set aside and
named in the run; the rest is written.
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO

import numpy as np
import pandas as pd
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from sqlalchemy import Engine
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from collectors.runs import RunResult
from collectors.scrape.names import (
    CPU,
    LATENCY,
    MEMORY,
    REQUESTS,
    STATUS_LABELS,
    ConfiguredNames,
    MetricNames,
    names_by_service,
)
from services.config import Settings
from services.errors import ApolloError, ConfigError, SourceUnavailable
from services.files import mask_url
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo, service_ids
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute
from services.store.timeutil import MINUTE, floor_to, from_epoch, to_epoch
from slo.errors import SpecError
from slo.model import (
    SLO,
    Comparison,
    EventRatio,
    LatencyThreshold,
    RawErrorRatio,
    RequestRatio,
    Threshold,
)
from slo.promql import (
    LABEL_NAME,
    counter_increase,
    go_quote,
    latency_queries,
    render_window,
    sli_error_query,
)

COLLECTOR = "prometheus"
INSTANCE = COLLECTOR  # the instance every row carries: Prometheus has summed the targets
WINDOW = timedelta(minutes=1)
_WINDOW_TEXT = "1m"  # WINDOW as PromQL writes it
MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
CHUNK_MINUTES = 10_000  # one-minute steps per range query: about 7 days, under MAX_POINTS
SERVER_ERROR = "5.."  # status codes counted as errors

Progress = Callable[[int, int], None]  # (minutes done, minutes in all)
When = datetime | float | int


# --- errors ------------------------------------------------------------------------------------


class QueryRejected(ApolloError):
    """Prometheus answered, and refused the query (4xx): names the source and the query."""

    def __init__(self, source: str, query: str, status: int, reason: str) -> None:
        super().__init__(f"{source}: query rejected (HTTP {status}): {reason}; "
                         f"query: {' '.join(query.split())}")
        self.source, self.query, self.status, self.reason = source, query, status, reason


# --- the client ----------------------------------------------------------------------------------


def connect(url: str, *, timeout_s: float = 10.0, retries: int = 1,
            headers: Mapping[str, str] | None = None, verify_tls: bool = True
            ) -> PrometheusConnect:
    """A PrometheusConnect whose every wait is bounded.

    The library's default retries a refused connection three times with back-off (about 6 s
    per query); here `retries` extra attempts at most, the first at once, then 1 s, 2 s…
    5xx answers are retried too but then handed back (not raised as a bare RetryError), so
    the error keeps Prometheus's own message. `headers` carry e.g. Mimir's `X-Scope-OrgID`.
    """
    retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=0.5, status_forcelist=(429, 502, 503, 504),
                  allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False)
    return PrometheusConnect(url.rstrip("/"), headers=dict(headers or {}),
                             disable_ssl=not verify_tls, retry=retry, timeout=timeout_s)


def describe(url: str) -> str:
    """The URL with any password hidden: what runs and errors name."""
    return mask_url(url)


_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)\s*$", re.DOTALL)
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


def _api_error(exc: PrometheusApiClientException) -> tuple[int, str]:
    """(HTTP status, Prometheus's `errorType: error`) from the client's exception text."""
    found = _STATUS.search(str(exc))
    if not found:
        return 0, str(exc)
    status, body = int(found.group(1)), found.group(2)
    try:
        raw = ast.literal_eval(body)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (ValueError, SyntaxError):
        text = body
    try:
        payload = json.loads(text)
        text = f"{payload.get('errorType', 'error')}: {payload.get('error', '')}"
    except (ValueError, AttributeError):
        text = " ".join(text.split())[:300]
    return status, text


class PrometheusSource:
    """Range queries at one-minute steps against one Prometheus-compatible HTTP API.

    `params` are sent with every query: e.g. Thanos `{"dedup": "true",
    "max_source_resolution": "0s", "partial_response": "false"}`. `queries` counts the
    queries sent, for logs and tests.
    """

    def __init__(self, client: PrometheusConnect, *, timeout_s: float = 10.0,
                 params: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.params = dict(params or {})
        self.url = describe(str(client.url))
        self.queries = 0

    def fetch(self, query: str, start: When, end: When, *, step_s: int = MINUTE
              ) -> pd.DataFrame:
        """`query` evaluated at start, start + step, … end (inclusive): `matrix_frame`.

        Raises SourceUnavailable (cannot connect, no answer within `timeout_s`, 5xx, not
        the Prometheus API) or QueryRejected (4xx), both naming the URL.
        """
        first, last = to_epoch(start), to_epoch(end)
        points = (last - first) // step_s + 1
        if points > MAX_POINTS:
            raise ValueError(f"{points} points per series asked; Prometheus allows "
                             f"{MAX_POINTS}: plan the range with plan_chunks")
        self.queries += 1
        params = {"timeout": f"{self.timeout_s:g}s", **self.params}
        try:
            result = self.client.custom_query_range(
                query, start_time=from_epoch(first), end_time=from_epoch(last), step=str(step_s),
                params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.url, self._reason(exc)) from None
        except PrometheusApiClientException as exc:
            status, reason = _api_error(exc)
            if status >= 500 or status in (0, 408, 429):
                raise SourceUnavailable(self.url, f"HTTP {status}: {reason}") from None
            raise QueryRejected(self.url, query, status, reason) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(self.url, "the answer is not the Prometheus query API "
                                    f"({type(exc).__name__}: {exc})") from None
        return matrix_frame(result)

    def _reason(self, exc: requests.RequestException) -> str:
        """One short line: a timeout, a refused connection, or the error's own text.

        With its retries used up, urllib3 wraps a read timeout in MaxRetryError, which
        requests raises as a ConnectionError, and a refused connection is a kind of
        ConnectTimeoutError to urllib3: the cause tells them apart.
        """
        cause = exc.args[0] if exc.args else None
        inner = getattr(cause, "reason", cause)
        refused = isinstance(inner, NewConnectionError)  # a subclass of ConnectTimeoutError
        if not refused and (isinstance(exc, requests.Timeout)
                            or isinstance(inner, Urllib3Timeout)):
            return f"no answer within {self.timeout_s:g}s (timeout)"
        if isinstance(exc, requests.ConnectionError):
            errno = _ERRNO.search(str(exc))
            return f"cannot connect ({errno.group(0) if errno else type(exc).__name__})"
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


# --- pure: ranges, queries, frames, rows ---------------------------------------------------------


def plan_chunks(start: int, end: int, *, max_minutes: int = CHUNK_MINUTES
                ) -> list[tuple[int, int]]:
    """The minutes [start, end) as consecutive ranges of at most `max_minutes` minutes.

    `start` is floored to its minute (the minute holding it is included), `end` too (only
    minutes that end by `end` are). The ranges join without overlap or hole; one range is
    one range query, evaluated at its minutes' ends: `max_minutes` points per series.
    """
    if not 1 <= max_minutes <= MAX_POINTS:
        raise ValueError(f"max_minutes must be 1…{MAX_POINTS}, got {max_minutes}")
    first, last = floor_to(int(start), MINUTE), floor_to(int(end), MINUTE)
    if last < first:
        raise ValueError(f"range ends ({end}) before it starts ({start})")
    size = max_minutes * MINUTE
    return [(a, min(a + size, last)) for a in range(first, last, size)]


def _alternation(values: Iterable[str]) -> str:
    """A RE2 alternation matching exactly `values` (metacharacters escaped)."""
    return "|".join(re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", v) for v in values)


Names = MetricNames | ConfiguredNames
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


@dataclass(frozen=True)
class NameChoices:
    """The metrics a service's figures may be read from, in order: the first one a service
    has series of is read (per service and minute, as the page scraper picks the first a
    page exposes). One entry: a configured (or resolved) name; none: no such figure."""

    requests: tuple[str, ...]
    status_labels: tuple[str, ...]
    latency: tuple[str, ...]
    cpu: tuple[str, ...]
    memory: tuple[str, ...]
    cpu_limit_cores: float | None = None


def name_choices(names: Names) -> NameChoices:
    """What Prometheus is asked for one service's figures.

    `MetricNames` are exact names. `ConfiguredNames` (a service's `metrics:` settings, as
    the page scraper gets them) fix what they name; each name left out is recognised among
    the same known names the page scraper tries, in its order (collectors/scrape/names.py).
    """
    if isinstance(names, MetricNames):
        choices = NameChoices((names.requests,), (names.status_label,), (names.latency,),
                              (names.cpu,) if names.cpu else (),
                              (names.memory,) if names.memory else (), names.cpu_limit_cores)
    else:
        latency = (names.latency,) if names.latency else LATENCY
        requests = ((names.requests,) if names.requests else
                    tuple(dict.fromkeys((*REQUESTS, *(f"{n}_count" for n in latency)))))
        choices = NameChoices(requests,
                              (names.status_label,) if names.status_label else STATUS_LABELS,
                              latency, (names.cpu,) if names.cpu else CPU,
                              (names.memory,) if names.memory else MEMORY,
                              names.cpu_limit_cores)
    for name in (*choices.requests, *choices.latency, *choices.cpu, *choices.memory):
        if not _METRIC.fullmatch(name):
            raise ValueError(f"{name!r} is not a metric name")
    for label in choices.status_labels:
        if not LABEL_NAME.fullmatch(label):
            raise ValueError(f"{label!r} is not a label name")
    return choices


def _first(exprs: Sequence[str], on: str | None = None) -> str:
    """Per service, the first of `exprs` that has a value: `a or b` (`or on (label) b` where
    the series carry more labels than the service's, as buckets do)."""
    joiner = f" or on ({on}) " if on else " or "
    return joiner.join(exprs)


def _group_queries(slugs: Sequence[str], label: str, names: NameChoices) -> dict[str, str]:
    """The queries of one set of services that share their metric names."""
    sel = f"{label}=~{go_quote(_alternation(slugs))}"
    win = f"[{_WINDOW_TEXT}]"

    def increase(metric: str, extra: str = "", by: str = label) -> str:
        return f"sum by ({by}) (increase({metric}{{{sel}{extra}}}{win}))"

    def errors(counter: str) -> str:
        return _first([increase(counter, f",{status}=~{go_quote(SERVER_ERROR)}")
                       for status in names.status_labels])

    # a service's errors come from the counter its requests were read from: a later
    # choice only for services that have none of the earlier ones
    error_parts = [errors(names.requests[0])]
    for k, counter in enumerate(names.requests[1:], start=1):
        earlier = _first([increase(r) for r in names.requests[:k]])
        error_parts.append(f"(({errors(counter)}) unless on ({label}) ({earlier}))")

    def cpu(metric: str) -> str:
        if MetricNames(cpu=metric).cpu_is_seconds:  # cores used / the cores allotted
            cores = f"avg by ({label}) (rate({metric}{{{sel}}}{win}))"
            return f"{cores} / {names.cpu_limit_cores!r}" if names.cpu_limit_cores else cores
        return f"avg by ({label}) (avg_over_time({metric}{{{sel}}}{win}))"

    per_instance = label if label == "instance" else f"{label}, instance"

    def memory(metric: str) -> str:  # a target's series summed (JVM pools), then the mean
        return (f"avg by ({label}) (sum by ({per_instance}) "
                f"(avg_over_time({metric}{{{sel}}}{win})))")

    queries = {
        "requests": _first([increase(r) for r in names.requests]),
        "errors": _first(error_parts),
        "latency_sum": _first([increase(f"{n}_sum") for n in names.latency]),
        "latency_count": _first([increase(f"{n}_count") for n in names.latency]),
        "buckets": _first([increase(f"{n}_bucket", by=f"{label}, le")
                           for n in names.latency], on=label),
        "cpu": _first([cpu(n) for n in names.cpu]),
        "memory": _first([memory(n) for n in names.memory]),
    }
    return {name: query for name, query in queries.items() if query}


def service_queries(services: Sequence[str], *, label: str = "job",
                    names: Names | Mapping[str, Names] | None = None) -> dict[str, str]:
    """The PromQL behind the service rows, one query each for all `services`.

    Each service is the series whose `label` equals its slug. Counters: `sum by (label)
    (increase(X[1m]))`; buckets also by `le`; gauges: `avg by (label)
    (avg_over_time(G[1m]))` (the mean over the minute, then over instances; memory's
    series summed per instance first); a CPU seconds counter: `rate / cpu_limit_cores`.

    `names` are one service's names for all (`MetricNames`: exact; `ConfiguredNames`:
    what is left out is recognised, see `name_choices`) or a mapping slug -> names (a
    service not in it: all recognised), e.g. `names_by_service(settings.services)`.
    Services with the same names share one query per figure; services with other names
    add their own, joined with `or` (their selectors do not overlap).
    """
    if not LABEL_NAME.fullmatch(label) or label == "le":
        raise ValueError(f"{label!r} is not a label name a service can be matched on")
    if not services:
        return {}
    if names is None or isinstance(names, MetricNames | ConfiguredNames):
        of = {slug: names or ConfiguredNames() for slug in services}
    else:
        of = {slug: names.get(slug) or ConfiguredNames() for slug in services}
    groups: dict[NameChoices, list[str]] = {}
    for slug in services:
        groups.setdefault(name_choices(of[slug]), []).append(slug)
    parts: dict[str, list[str]] = {}
    for choices, slugs in groups.items():
        for name, query in _group_queries(slugs, label, choices).items():
            parts.setdefault(name, []).append(query)
    return {name: queries[0] if len(queries) == 1 else " or ".join(f"({q})" for q in queries)
            for name, queries in parts.items()}


def matrix_frame(result: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A range query's `result` -> one row per point: its labels, `series`, `at`, `value`.

    `series` numbers the result's series; `at` is the evaluation instant (whole seconds).
    Labels a series lacks are "". Values are floats (NaN and ±Inf included).
    """
    rows: list[dict[str, Any]] = []
    for index, series in enumerate(result):
        labels = dict(series.get("metric", {}))
        points = series.get("values") or ([series["value"]] if "value" in series else [])
        for at, value in points:
            rows.append({**labels, "series": index, "at": round(float(at)),
                         "value": float(value)})
    if not rows:
        return pd.DataFrame({"series": pd.Series(dtype="int64"),
                             "at": pd.Series(dtype="int64"),
                             "value": pd.Series(dtype="float64")})
    frame = pd.DataFrame(rows)
    labels = [c for c in frame.columns if c not in ("series", "at", "value")]
    frame[labels] = frame[labels].fillna("")
    return frame


def per_minute(frame: pd.DataFrame, by: Sequence[str] = ()) -> pd.Series:
    """Values per (*by, minute), summed over every other label; minute = instant - 60.

    A label in `by` that no series carries counts as "". A sum of only NaN stays NaN.
    """
    if frame.empty:
        index = pd.MultiIndex.from_arrays([[] for _ in (*by, "minute")],
                                          names=[*by, "minute"])
        return pd.Series([], index=index, dtype="float64")
    data = frame.assign(minute=frame["at"] - MINUTE)
    for name in by:
        if name not in data.columns:
            data[name] = ""
    keys = [*by, "minute"]
    return data.groupby(keys, sort=True)["value"].sum(min_count=1)


ServiceFrames = Mapping[str, pd.DataFrame]


def service_rows(frames: ServiceFrames, ids: Mapping[str, int], *, label: str = "job",
                 instance: str = INSTANCE) -> list[tuple]:
    """`service_minutes` rows from the frames of `service_queries` (keyed the same).

    A (service, minute) gets a row when any of its figures has a value; counters without
    one are 0, gauges without one None (as the page scraper writes them).
    """
    values = {name: per_minute(frames[name], (label,)) for name in
              ("requests", "errors", "latency_sum", "latency_count", "cpu", "memory")
              if name in frames}
    keys = sorted({k for series in values.values() for k in series.index})
    rows = []
    for slug, minute in keys:
        if slug not in ids:
            continue

        def get(name: str, key: tuple = (slug, minute)) -> float | None:
            series = values.get(name)
            if series is None or key not in series.index:
                return None
            value = float(series[key])
            return None if math.isnan(value) else value

        rows.append((int(minute), ids[slug], get("requests") or 0.0, get("errors") or 0.0,
                     get("latency_sum") or 0.0, get("latency_count") or 0.0,
                     get("cpu"), get("memory"), instance))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def bucket_rows(frame: pd.DataFrame, ids: Mapping[str, int], *, label: str = "job",
                instance: str = INSTANCE) -> list[tuple]:
    """`latency_bucket_minutes` rows: each bucket's increase per service, minute and `le`."""
    rows = []
    for (slug, le, minute), count in per_minute(frame, (label, "le")).items():
        if slug in ids and le != "" and not math.isnan(count):
            rows.append((int(minute), ids[slug], float(le), float(count), instance))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


# --- SLIs ---------------------------------------------------------------------------------------

SliKind = Literal["events", "ratio", "verdict"]
_RATE = re.compile(r"\b(?:i?rate)\s*\(")
_INCREASE = re.compile(r"\bincrease\s*\(")
_COMPARE: Mapping[Comparison, Callable[[np.ndarray, float], np.ndarray]] = {
    "lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal}


@dataclass(frozen=True)
class SliQueries:
    """How one SLO's per-minute good and total are read from Prometheus.

    events:  `total` and one of `errors`/`good`, each value × its `scales` entry = counts;
             `strict`: the errors query must answer whenever total does (histograms);
    ratio:   `ratio` is the error ratio: good = 1 - ratio, total = 1 per minute;
    verdict: `value` compared with `compare`: good = 1 or 0, total = 1 per minute.
    """

    slo: SLO
    kind: SliKind
    queries: Mapping[str, str]
    scales: Mapping[str, float] = field(default_factory=dict)
    strict: bool = False
    compare: tuple[Comparison, float] | None = None


def _counts_scale(query: str) -> float:
    """60 for a per-second rate over the minute, 1 for a query of `increase` only."""
    return 1.0 if _INCREASE.search(query) and not _RATE.search(query) else 60.0


def sli_queries(slo: SLO) -> SliQueries:
    """The reading of `slo` with `{{.window}}` = 1m, or SpecError if Prometheus cannot give it."""
    sli, where = slo.sli, f"SLO {slo.id!r}: "

    def render(query: str) -> str:
        return render_window(query, WINDOW, where=where)

    if isinstance(sli, RequestRatio):
        parts = {"total": sli.total_query, "errors": sli.error_query, "good": sli.good_query}
        chosen = {k: q for k, q in parts.items() if q is not None}
        if sli.counter:
            chosen = {k: counter_increase(q, where=where) for k, q in chosen.items()}
        queries = {k: render(q) for k, q in chosen.items()}
        return SliQueries(slo, "events", queries, {k: _counts_scale(q) for k, q in
                                                   queries.items()})
    if isinstance(sli, LatencyThreshold):
        errors, total = latency_queries(sli, where=where)
        queries = {"total": render(total), "errors": render(errors)}
        return SliQueries(slo, "events", queries, {"total": 60.0, "errors": 60.0}, strict=True)
    if isinstance(sli, RawErrorRatio):
        return SliQueries(slo, "ratio", {"ratio": sli_error_query(sli, WINDOW, slo_id=slo.id)})
    if isinstance(sli, Threshold):
        return SliQueries(slo, "verdict", {"value": render(sli.query)},
                          compare=(sli.op, sli.value))
    if isinstance(sli, EventRatio):
        raise SpecError(f"{where}its SLI counts ClickHouse events; the ClickHouse collector "
                        "writes it", field="sli")
    raise SpecError(f"{where}unsupported SLI {type(sli).__name__}", field="sli")


def sli_plans(slos: Iterable[SLO]) -> tuple[list[SliQueries], list[tuple[SLO, str]]]:
    """The SLOs Prometheus can serve, and the others with the reason."""
    ok, skipped = [], []
    for slo in slos:
        try:
            ok.append(sli_queries(slo))
        except SpecError as exc:
            skipped.append((slo, exc.reason))
    return ok, skipped


def _single_series(frame: pd.DataFrame, slo: SLO, name: str) -> pd.Series:
    count = frame["series"].nunique() if not frame.empty else 0
    if count > 1:
        raise SpecError(f"SLO {slo.id!r}: its {name} query returns {count} series; one is "
                        "needed (aggregate it, e.g. with sum or max)", field="sli")
    return per_minute(frame)


def sli_rows(plan: SliQueries, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """DataFrame(minute, good, total) for one SLO from the frames of its queries.

    Raises SpecError when the answer cannot be read (several series where one is needed,
    a histogram bucket the threshold does not name). Minutes without a value get no row.
    """
    empty = pd.DataFrame({"minute": pd.Series(dtype="int64"),
                          "good": pd.Series(dtype="float64"),
                          "total": pd.Series(dtype="float64")})
    slo = plan.slo
    if plan.kind == "events":
        total = per_minute(frames["total"]) * plan.scales.get("total", 60.0)
        total = total[total.notna()]
        if total.empty:
            return empty
        if "errors" in plan.queries:
            errors = per_minute(frames["errors"]) * plan.scales.get("errors", 60.0)
            errors = errors.reindex(total.index)
            if plan.strict and errors.isna().any():
                raise SpecError(f"SLO {slo.id!r}: the errors query has no value for minutes "
                                "the total query has; is the threshold a bucket bound of the "
                                f"histogram? query: {plan.queries['errors']}", field="sli")
            good = total - errors.fillna(0.0)
        else:
            good = (per_minute(frames["good"]) * plan.scales.get("good", 60.0))
            good = good.reindex(total.index).fillna(0.0)
        good = np.minimum(np.maximum(good, 0.0), total.clip(lower=0.0))
        return _frame(total.index, good.to_numpy(), total.clip(lower=0.0).to_numpy())
    name = "ratio" if plan.kind == "ratio" else "value"
    values = _single_series(frames[name], slo, name)
    values = values[np.isfinite(values)] if plan.kind == "ratio" else values[values.notna()]
    if values.empty:
        return empty
    if plan.kind == "ratio":
        good = 1.0 - np.clip(values.to_numpy(), 0.0, 1.0)
    else:
        op, limit = plan.compare or ("lte", math.inf)
        good = _COMPARE[op](values.to_numpy(), limit).astype(float)
    return _frame(values.index, good, np.ones(len(values)))


def _frame(index: pd.Index, good: np.ndarray, total: np.ndarray) -> pd.DataFrame:
    minutes = index.get_level_values("minute").astype("int64")
    return pd.DataFrame({"minute": minutes, "good": np.asarray(good, dtype=float),
                         "total": np.asarray(total, dtype=float)})


# --- the collector -------------------------------------------------------------------------------


@dataclass
class _Chunk:
    services: list[tuple] = field(default_factory=list)
    buckets: list[tuple] = field(default_factory=list)
    slis: list[tuple] = field(default_factory=list)


@dataclass
class PrometheusCollector:
    """Service rows for `services` (slugs or ServiceInfo) and SLI rows for `slos`.

    `label` is the label whose value is a service's slug. A minute is read once its end is
    `delay_s` in the past (let the last scrapes, remote writes or sidecar uploads land);
    `collect` rewrites the last `lookback` of such minutes each time, so a minute read
    early, or a short outage, is put right by the next runs. Longer outages: `backfill`.
    SLOs whose SLI Prometheus cannot give (ClickHouse events) are in `skipped`. Rows carry
    `instance` (see the module docstring). `names`: see `service_queries`; by default every
    name is recognised as the page scraper recognises it.
    """

    engine: Engine
    source: PrometheusSource
    services: Sequence[str | ServiceInfo]
    slos: Sequence[SLO] = ()
    label: str = "job"
    names: Names | Mapping[str, Names] = field(default_factory=ConfiguredNames)
    delay_s: float = 30.0
    lookback: timedelta = timedelta(minutes=5)
    chunk_minutes: int = CHUNK_MINUTES
    clock: Callable[[], float] = time.time
    instance: str = INSTANCE

    def __post_init__(self) -> None:
        slugs = [s.slug if isinstance(s, ServiceInfo) else s for s in self.services]
        self.queries = service_queries(slugs, label=self.label, names=self.names)
        self.plans, self.skipped = sli_plans(self.slos)
        plan_chunks(0, 0, max_minutes=self.chunk_minutes)  # refuse a bad size up front
        with self.engine.begin() as conn:
            given = [s for s in self.services if isinstance(s, ServiceInfo)]
            ensure_services(conn, given)
            known = service_ids(conn, slugs)
            missing = [ServiceInfo(s, s) for s in slugs if s not in known]
            ensure_services(conn, missing)
            self.service_ids = service_ids(conn, slugs)
            owners = service_ids(conn, {p.slo.service for p in self.plans})
            self.slo_ids = {
                p.slo.id: ensure_slo(conn, slug=p.slo.id, name=p.slo.name,
                                     objective=p.slo.objective,
                                     period_s=int(p.slo.period.length.total_seconds()),
                                     service_id=owners.get(p.slo.service),
                                     spec_path=p.slo.source.path, labels=p.slo.labels)
                for p in self.plans
            }

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine,
                      services: Sequence[str | ServiceInfo] | None = None, *,
                      slos: Sequence[SLO] = (), **overrides: Any) -> PrometheusCollector:
        """The collector `sources.prometheus` describes, reading each configured service's
        `metrics:` names (as the page scraper does).

        URL, timeout, headers (with `headers_env` read from the environment), params,
        delay, lookback and label come from the settings; `services` default to the
        configured slugs; `overrides` (e.g. `chunk_minutes`, `clock`) go to the collector.
        ConfigError when the URL is not set or a header's variable is missing.
        """
        cfg = settings.sources.prometheus
        if not cfg.url:
            raise ConfigError("sources.prometheus.url is not set")
        timeout = cfg.timeout.total_seconds()
        client = connect(cfg.url, timeout_s=timeout, headers=cfg.request_headers())
        source = PrometheusSource(client, timeout_s=timeout, params=cfg.params)
        options: dict[str, Any] = {
            "slos": slos, "label": cfg.label, "names": names_by_service(settings.services),
            "delay_s": cfg.delay.total_seconds(), "lookback": cfg.lookback, **overrides}
        return cls(engine, source, settings.slugs if services is None else services,
                   **options)

    def complete_minutes(self, now: When | None = None) -> tuple[int, int]:
        """[start, end): the last `lookback` of minutes whose end is `delay_s` before `now`."""
        at = float(self.clock() if now is None else to_epoch(now))
        end = floor_to(int(at - self.delay_s), MINUTE)
        return end - int(self.lookback.total_seconds()) // MINUTE * MINUTE, end

    def collect(self, *, now: When | None = None) -> RunResult:
        """Read and write the last complete minutes; never raises for a source problem."""
        start, end = self.complete_minutes(now)
        return self._run(start, end, None)

    def backfill(self, start: When, end: When, progress: Progress | None = None
                 ) -> RunResult:
        """Read and write the minutes [start, end) in chunks; `progress(done, total)`
        (in minutes) is called at the start and after each chunk written."""
        return self._run(to_epoch(start), to_epoch(end), progress)

    def _run(self, start: int, end: int, progress: Progress | None) -> RunResult:
        run = RunResult(COLLECTOR, self.source.url)
        chunks = plan_chunks(start, end, max_minutes=self.chunk_minutes)
        total = sum(b - a for a, b in chunks) // MINUTE
        done = 0
        if progress is not None:
            progress(0, total)
        for a, b in chunks:
            try:
                chunk = self._read(a, b, run)
            except SourceUnavailable as exc:
                run.errors.append(str(exc))
                run.gaps.append({"start": a, "end": chunks[-1][1]})
                break
            with self.engine.begin() as conn:
                for table, rows in ((ServiceMinute.__table__, chunk.services),
                                    (LatencyBucketMinute.__table__, chunk.buckets),
                                    (SliMinute.__table__, chunk.slis)):
                    for row, reason in writes.upsert_checked(conn, table, rows).rejected:
                        _note(run, f"store set aside a {table.name} row: {reason}; "
                                   f"row: {row!r:.160}")
            done += (b - a) // MINUTE
            if progress is not None:
                progress(done, total)
        return run.finish()

    def _query(self, query: str, a: int, b: int, run: RunResult) -> pd.DataFrame:
        frame = self.source.fetch(query, a + MINUTE, b)
        run.samples += len(frame)
        return frame

    def _read(self, a: int, b: int, run: RunResult) -> _Chunk:
        """The rows of the minutes [a, b); SourceUnavailable ends the chunk."""
        chunk = _Chunk()
        frames: dict[str, pd.DataFrame] = {}
        for name, query in self.queries.items():
            try:
                frames[name] = self._query(query, a, b, run)
            except QueryRejected as exc:
                _note(run, f"service {name}: {exc}")
        if "buckets" in frames:
            chunk.buckets = bucket_rows(frames.pop("buckets"), self.service_ids,
                                        label=self.label, instance=self.instance)
        if "requests" in frames:
            chunk.services = service_rows(frames, self.service_ids, label=self.label,
                                          instance=self.instance)
        for plan in self.plans:
            try:
                answers = {k: self._query(q, a, b, run) for k, q in plan.queries.items()}
                rows = sli_rows(plan, answers)
            except (QueryRejected, SpecError) as exc:
                _note(run, f"SLO {plan.slo.id}: {exc}")
                continue
            slo_id = self.slo_ids[plan.slo.id]
            chunk.slis += [(int(m), slo_id, float(g), float(t), self.instance)
                           for m, g, t in rows.itertuples(index=False)]
        return chunk


def _note(run: RunResult, message: str) -> None:
    if message not in run.errors:
        run.errors.append(message)


# --- progress ------------------------------------------------------------------------------------


@contextmanager
def progress_reporter(stream: TextIO | None = None, *, description: str = "backfill"
                      ) -> Iterator[Progress]:
    """A `progress(done, total)` callback: a rich progress bar when `stream` (default
    stderr) is a terminal, else one plain line per call, e.g. `backfill 120/1440 minutes
    (8.3%)`."""
    out = sys.stderr if stream is None else stream
    if out.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("minutes"), TaskProgressColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(file=out), auto_refresh=False) as bar:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
                bar.refresh()

            yield update
        return

    def line(done: int, total: int) -> None:
        share = f" ({100 * done / total:.1f}%)" if total else ""
        print(f"{description} {done}/{total} minutes{share}", file=out, flush=True)

    yield line


__all__ = [
    "CHUNK_MINUTES", "COLLECTOR", "INSTANCE", "MAX_POINTS", "ConfiguredNames", "MetricNames",
    "NameChoices", "Names", "Progress", "PrometheusCollector", "PrometheusSource",
    "QueryRejected", "SliQueries", "bucket_rows", "connect", "describe", "matrix_frame",
    "name_choices", "per_minute", "plan_chunks",
    "progress_reporter", "service_queries", "service_rows", "sli_plans", "sli_queries",
    "sli_rows",
]
