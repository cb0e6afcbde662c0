"""Scraping /metrics pages directly: fetch all targets at once, keep per-minute increases,
write service metrics and each page-readable SLO's good/total through the store.

One `PageScraper` lives as long as the collector process: it holds, per target, only
the last scrape's raw values and the minutes not yet complete. A target that times out or
refuses does not hold up the others; its run is recorded as failed and its next good
scrape starts counting again (the minutes between are a gap).

Every row names its target (`Target.instance`, host:port as Prometheus's `instance`), so two
pods of one service, or two replicas holding different targets, write rows that reads add
up. Rows the store cannot take (bad data) are set aside and named in their target's run.
Rows the store did not answer for wait in a queue and go with the next round; past
`max_pending_rows` the oldest rounds are dropped, and the loss is a failed run of its own.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collectors.runs import RunResult
from collectors.scrape.increases import (
    MinuteValues,
    TargetIncreases,
    state_from_json,
    state_to_json,
)
from collectors.scrape.names import ConfiguredNames, MetricNames, service_values
from collectors.scrape.parse import Page, parse_page
from collectors.scrape.sli import PageSli, good_total, readings
from services.errors import SourceUnavailable, StoreError
from services.files import mask_url
from services.store import writes
from services.store.catalog import ensure_service_ids, ensure_slo
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute
from slo.model import SLO

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

    @functools.cached_property
    def instance(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]


@dataclass
class Fetched:
    target: Target
    at: float
    page: Page | None = field(default=None, repr=False)  # asyncio may repr results: keep it cheap
    error: str | None = None


def service_row(minute: MinuteValues, service_id: int, names: MetricNames, instance: str
                ) -> tuple:
    """One `service_minutes` row from a completed minute of one target (`instance`)."""
    v = service_values(minute, names)
    return (minute.minute, service_id, v.requests, v.errors, v.latency_sum, v.latency_count,
            v.cpu_ratio, v.memory_bytes, instance)


def bucket_rows(minute: MinuteValues, service_id: int, names: MetricNames, instance: str
                ) -> list[tuple]:
    """`latency_bucket_minutes` rows of one target: each bucket's increase summed over routes."""
    by_le: dict[float, float] = {}
    for (name, labels), value in minute.increases.items():
        if name == f"{names.latency}_bucket":
            le = float(dict(labels)["le"])
            by_le[le] = by_le.get(le, 0.0) + value
    return [(minute.minute, service_id, le, count, instance)
            for le, count in sorted(by_le.items())]


@dataclass
class PageScraper:
    engine: Engine
    targets: Sequence[Target]
    slos: Sequence[SLO] = ()
    timeout_s: float = 2.0
    names: Mapping[str, ConfiguredNames] = field(default_factory=dict)  # by service; else
    # every name is recognised from the page (`names_by_service(settings.services)`)
    clock: Callable[[], float] = time.time
    transport: httpx.AsyncBaseTransport | None = None  # a seam for tests, never a mock server
    state_path: Path | None = None  # where a run-once collector keeps the last scrapes
    lease: Callable[[str], bool] | None = None  # replicas: scrape only targets we hold
    max_pending_rows: int = 500_000  # rows kept while the store is down (~75 MB)

    def __post_init__(self) -> None:
        self.state = {t.url: TargetIncreases() for t in self.targets}
        self._pending: deque[_Rows] = deque()  # rounds not yet in the store, oldest first
        if self.state_path is not None and self.state_path.exists():
            saved = json.loads(self.state_path.read_text(encoding="utf-8"))
            for url, data in saved.items():
                if url in self.state:
                    self.state[url] = state_from_json(data)
        self.readings, self.skipped = readings(self.slos)
        self._by_service: dict[str, list[PageSli]] = {}
        with self.engine.begin() as conn:
            self.service_ids = ensure_service_ids(conn, sorted({t.service for t in self.targets}))
            self.slo_ids = {
                r.slo.id: ensure_slo(conn, slug=r.slo.id, name=r.slo.name,
                                     objective=r.slo.objective,
                                     period_s=int(r.slo.period.length.total_seconds()),
                                     service_id=self.service_ids.get(r.slo.service),
                                     spec_path=r.slo.source.path, labels=r.slo.labels)
                for r in self.readings
            }

    @property
    def pending_rows(self) -> int:
        """Rows waiting for the store (the collector's `apollo_collector_pending_rows`)."""
        return sum(len(rows) for round_rows in self._pending for rows in round_rows)

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
            return self.ingest(fetched)
        finally:
            gc.enable()

    def ingest(self, fetched: list[Fetched]) -> list[RunResult]:
        """Turn fetched pages (in time order per target) into minute rows and write them;
        one run per page. `apollo fleet history` feeds it pages it made itself."""
        service_rows, buckets, sli_rows, runs = [], [], [], []
        by_instance: dict[str, RunResult] = {}
        for item in fetched:
            shown = mask_url(item.target.url)
            run = RunResult("scrape", shown)
            if item.page is None:
                run.errors.append(item.error or "no page")
                runs.append(run.finish())
                continue
            run.samples = len(item.page)
            run.errors += [f"{shown}:{b.line}: {b.reason}" for b in item.page.bad_lines]
            by_instance[item.target.instance] = run
            state = self.state[item.target.url]
            gaps_before = len(state.gaps)
            instance = item.target.instance
            names = self.names.get(item.target.service, ConfiguredNames()).resolve(item.page)
            for minute in state.observe(item.at, item.page):
                sid = self.service_ids[item.target.service]
                service_rows.append(service_row(minute, sid, names, instance))
                buckets += bucket_rows(minute, sid, names, instance)
                sli_rows += self._sli_rows(minute, item.target)
            run.gaps = [{"start": a, "end": b} for a, b in state.gaps[gaps_before:]]
            runs.append(run.finish())
        if service_rows or buckets or sli_rows:
            self._pending.append((service_rows, buckets, sli_rows))
        try:
            rejected = self._write_pending()
        except (StoreError, SQLAlchemyError) as exc:
            # The store is down or restarting: keep the rows and write them next round
            # (upserts, so a retry never doubles), up to the bound. The runs say so.
            message = " ".join(str(exc).split())[:300]
            for run in runs:
                run.errors.append(f"store: {message}")
            return runs + self._bound_pending()
        extra = _note_rejected(rejected, by_instance)
        self._save_state()  # only once written: a run-once collector redoes a failed round
        return runs + extra

    def _write_pending(self) -> list[tuple[str, writes.Rejected]]:
        """Write every queued round in one transaction; the rows set aside, by table."""
        rejected: list[tuple[str, writes.Rejected]] = []
        with self.engine.begin() as conn:
            for at, table in enumerate(_TABLES):
                rows = [row for round_rows in self._pending for row in round_rows[at]]
                result = writes.upsert_checked(conn, table, rows)
                rejected += [(table.name, r) for r in result.rejected]
        self._pending.clear()
        return rejected

    def _bound_pending(self) -> list[RunResult]:
        """Drop the oldest queued rounds past `max_pending_rows`; a failed run counts them."""
        waiting, dropped, rounds = self.pending_rows, 0, 0
        while waiting > self.max_pending_rows and self._pending:
            lost = sum(map(len, self._pending.popleft()))
            waiting, dropped, rounds = waiting - lost, dropped + lost, rounds + 1
        if not dropped:
            return []
        run = RunResult("scrape", PENDING_TARGET)
        run.errors.append(f"dropped {dropped:,} rows of the {rounds} oldest unwritten round(s): "
                          f"the store has not answered and at most {self.max_pending_rows:,} "
                          "rows are kept")
        return [run.finish()]

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
        for reading in self._readings_of(target.service):
            result = good_total(reading, minute.increases, job=target.service,
                                instance=target.instance)
            if result is not None:
                rows.append((minute.minute, self.slo_ids[reading.slo.id], *result,
                             target.instance))
        return rows


    def _readings_of(self, service: str) -> list[PageSli]:
        """The SLO readings a target of `service` can serve (its job's, or any job's)."""
        found = self._by_service.get(service)
        if found is None:
            found = self._by_service[service] = [
                r for r in self.readings if r.job is None or r.job == service]
        return found


_Rows = tuple[list[tuple], list[tuple], list[tuple]]  # one round: service, bucket, SLI rows
_TABLES = (ServiceMinute.__table__, LatencyBucketMinute.__table__, SliMinute.__table__)
PENDING_TARGET = "pending rows"  # the run target that reports rows of no target of the round


def _note_rejected(rejected: list[tuple[str, writes.Rejected]],
                   by_instance: dict[str, RunResult]) -> list[RunResult]:
    """Name the rows set aside in their target's run (one line per table and reason); rows
    of no target of this round go in a run of their own, returned."""
    counts: dict[tuple[str, str, str], list] = {}
    for table, (row, reason) in rejected:
        instance = row[-1] if row and row[-1] in by_instance else PENDING_TARGET
        counts.setdefault((instance, table, reason), [0, row])[0] += 1
    orphans = RunResult("scrape", PENDING_TARGET)
    for (instance, table, reason), (count, row) in counts.items():
        run = by_instance.get(instance, orphans)
        run.errors.append(f"store set aside {count} {table} row(s), which it cannot take: "
                          f"{reason}; first: {row!r:.160}")
    return [orphans.finish()] if orphans.errors else []
