"""Scraping /metrics pages directly: fetch all targets at once, keep per-minute increases,
write service metrics and each page-readable SLO's good/total through the store.

One `PageScraper` lives as long as the collector process: it holds, per target, only
the last scrape's raw values and the minutes not yet complete. A target that times out or
refuses does not hold up the others; its run is recorded as failed and its next good
scrape starts counting again (the minutes between are a gap).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import re
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collectors.runs import RunResult
from collectors.scrape.increases import (
    Key,
    MinuteValues,
    TargetIncreases,
    state_from_json,
    state_to_json,
)
from collectors.scrape.parse import Page, parse_page
from collectors.scrape.sli import good_total, readings
from services.errors import SourceUnavailable, StoreError
from services.files import mask_url
from services.store import writes
from services.store.catalog import ensure_service_ids, ensure_slo
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute
from slo.model import SLO

_SERVER_ERROR = re.compile(r"5\d\d")
# httpcore's pool rescans its whole queue whenever a connection frees: with hundreds of
# requests queued at once that grows with the square of the targets, so admit a few at a time
MAX_CONCURRENT_FETCHES = 8


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for the process: httpx would load the CA bundle for every client."""
    return ssl.create_default_context()


@dataclass(frozen=True)
class Target:
    service: str
    url: str

    @property
    def instance(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]


@dataclass(frozen=True)
class MetricNames:
    """The conventional names the service rows are read from."""

    requests: str = "http_requests_total"
    status_label: str = "code"
    latency: str = "http_request_duration_seconds"
    cpu: str = "process_cpu_usage"
    memory: str = "process_resident_memory_bytes"


@dataclass
class Fetched:
    target: Target
    at: float
    page: Page | None = field(default=None, repr=False)  # asyncio may repr results: keep it cheap
    error: str | None = None


def service_row(minute: MinuteValues, service_id: int, names: MetricNames) -> tuple:
    """One `service_minutes` row from a completed minute of one target."""
    requests = errors = latency_sum = latency_count = 0.0
    for (name, labels), value in minute.increases.items():
        if name == names.requests:
            requests += value
            if _SERVER_ERROR.fullmatch(dict(labels).get(names.status_label, "")):
                errors += value
        elif name == f"{names.latency}_sum":
            latency_sum += value
        elif name == f"{names.latency}_count":
            latency_count += value
    cpu = _gauge(minute.gauges, names.cpu)
    memory = _gauge(minute.gauges, names.memory)
    return (minute.minute, service_id, requests, errors, latency_sum, latency_count, cpu, memory)


def bucket_rows(minute: MinuteValues, service_id: int, names: MetricNames) -> list[tuple]:
    """`latency_bucket_minutes` rows: each bucket's increase summed over routes."""
    by_le: dict[float, float] = {}
    for (name, labels), value in minute.increases.items():
        if name == f"{names.latency}_bucket":
            le = float(dict(labels)["le"])
            by_le[le] = by_le.get(le, 0.0) + value
    return [(minute.minute, service_id, le, count) for le, count in sorted(by_le.items())]


def _gauge(gauges: dict[Key, float], name: str) -> float | None:
    values = [v for (n, _), v in gauges.items() if n == name]
    return sum(values) / len(values) if values else None


@dataclass
class PageScraper:
    engine: Engine
    targets: Sequence[Target]
    slos: Sequence[SLO] = ()
    timeout_s: float = 2.0
    names: MetricNames = field(default_factory=MetricNames)
    clock: Callable[[], float] = time.time
    transport: httpx.AsyncBaseTransport | None = None  # a seam for tests, never a mock server
    state_path: Path | None = None  # where a run-once collector keeps the last scrapes
    lease: Callable[[str], bool] | None = None  # replicas: scrape only targets we hold

    def __post_init__(self) -> None:
        self.state = {t.url: TargetIncreases() for t in self.targets}
        self._pending: list[tuple[list, list, list]] = []  # rows not yet in the store
        if self.state_path is not None and self.state_path.exists():
            saved = json.loads(self.state_path.read_text(encoding="utf-8"))
            for url, data in saved.items():
                if url in self.state:
                    self.state[url] = state_from_json(data)
        self.readings, self.skipped = readings(self.slos)
        with self.engine.begin() as conn:
            self.service_ids = ensure_service_ids(conn, sorted({t.service for t in self.targets}))
            self.slo_ids = {
                r.slo.id: ensure_slo(conn, slug=r.slo.id, name=r.slo.name,
                                     objective=r.slo.objective,
                                     period_s=int(r.slo.period.length.total_seconds()),
                                     service_id=self.service_ids.get(r.slo.service),
                                     spec_path=r.slo.source.path)
                for r in self.readings
            }

    def _mine(self) -> list[Target]:
        """The targets this replica holds the lease of (all of them without leases)."""
        if self.lease is None:
            return list(self.targets)
        return [t for t in self.targets if self.lease(t.url)]

    async def _fetch_all(self, targets: list[Target]) -> list[Fetched]:
        gate = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport,
                                     headers={"Accept": "text/plain;version=0.0.4"},
                                     trust_env=False, verify=_tls()) as client:
            return list(await asyncio.gather(*(self._fetch(client, gate, t) for t in targets)))

    async def _fetch(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, target: Target
                     ) -> Fetched:
        async with gate:
            return await self._fetch_one(client, target)

    async def _fetch_one(self, client: httpx.AsyncClient, target: Target) -> Fetched:
        at = self.clock()
        try:
            response = await client.get(target.url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return Fetched(target, at,
                           error=mask_url(f"{target.url}: {type(exc).__name__}: {exc}"))
        page = parse_page(response.text, response.headers.get("content-type", ""))
        return Fetched(target, at, page=page)

    def scrape_once(self) -> list[RunResult]:
        """One round over every target; writes completed minutes; returns one run each."""
        try:
            mine = self._mine()
        except SourceUnavailable as exc:  # cannot tell which targets are ours: skip the round
            return [RunResult("scrape", "leases", errors=[str(exc)]).finish()]
        gc.disable()  # a round allocates a lot and frees it all: collect after, not during
        try:
            fetched = asyncio.run(self._fetch_all(mine))
            return self._ingest(fetched)
        finally:
            gc.enable()

    def _ingest(self, fetched: list[Fetched]) -> list[RunResult]:
        service_rows, buckets, sli_rows, runs = [], [], [], []
        for item in fetched:
            shown = mask_url(item.target.url)
            run = RunResult("scrape", shown)
            if item.page is None:
                run.errors.append(item.error or "no page")
                runs.append(run.finish())
                continue
            run.samples = len(item.page)
            run.errors += [f"{shown}:{b.line}: {b.reason}" for b in item.page.bad_lines]
            state = self.state[item.target.url]
            gaps_before = len(state.gaps)
            for minute in state.observe(item.at, item.page):
                sid = self.service_ids[item.target.service]
                service_rows.append(service_row(minute, sid, self.names))
                buckets += bucket_rows(minute, sid, self.names)
                sli_rows += self._sli_rows(minute, item.target)
            run.gaps = [{"start": a, "end": b} for a, b in state.gaps[gaps_before:]]
            runs.append(run.finish())
        self._pending.append((service_rows, buckets, sli_rows))
        try:
            self._write_pending()
        except (StoreError, SQLAlchemyError) as exc:
            # The store is down or restarting: keep the rows and write them next round
            # (upserts, so a retry never doubles). The runs say so.
            message = " ".join(str(exc).split())[:300]
            for run in runs:
                run.errors.append(f"store: {message}")
            return runs
        self._save_state()  # only once written: a run-once collector redoes a failed round
        return runs

    def _write_pending(self) -> None:
        with self.engine.begin() as conn:
            sli_rows: list[tuple] = []
            for service_rows, buckets, slis in self._pending:
                writes.upsert(conn, ServiceMinute.__table__, service_rows)
                writes.upsert(conn, LatencyBucketMinute.__table__, buckets)
                sli_rows += slis
            writes.upsert(conn, SliMinute.__table__, _merge_sli(sli_rows))
        self._pending.clear()

    def _save_state(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({u: state_to_json(s) for u, s in self.state.items()}),
                       encoding="utf-8")
        tmp.replace(self.state_path)

    def _sli_rows(self, minute: MinuteValues, target: Target) -> list[tuple]:
        rows = []
        for reading in self.readings:
            result = good_total(reading, minute.increases, job=target.service,
                                instance=target.instance)
            if result is not None:
                rows.append((minute.minute, self.slo_ids[reading.slo.id], *result))
        return rows


def _merge_sli(rows: Iterable[tuple]) -> list[tuple]:
    """An SLO served by several targets (instances) sums their good and total."""
    merged: dict[tuple[int, int], list[float]] = {}
    for minute, slo_id, good, total in rows:
        cell = merged.setdefault((minute, slo_id), [0.0, 0.0])
        cell[0] += good
        cell[1] += total
    return [(m, s, g, t) for (m, s), (g, t) in sorted(merged.items())]
