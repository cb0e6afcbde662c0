"""Scraping /metrics pages directly: fetch all targets at once, keep per-minute increases,
write service metrics and each page-readable SLO's good/total through the store.

One `PageScraper` lives as long as the collector process: it holds, per target, only
the last scrape's raw values and the minutes not yet complete. A target that times out or
refuses does not hold up the others; its run is recorded as failed and its next good
scrape starts counting again (the minutes between are a gap).

Every fetch is bounded: the target's timeout covers the whole response (a page that drips
one byte at a time fails at its timeout), its body is read in chunks and refused past
`body_size_limit` bytes after decompression (50 MB by default, as Prometheus names it) or
when a gzip body expands more than 100 times, and pages are parsed in a worker thread, so
a large page never holds up the other targets' fetches. A target that fails in any way -
a URL httpx refuses, a body refused, a page that cannot be read - fails alone, its reason
in its run.

Every row names its target (`Target.instance`, host:port as Prometheus's `instance`), so two
pods of one service, or two replicas holding different targets, write rows that reads add
up. Rows the store cannot take (bad data) are set aside and named in their target's run.
Rows the store did not answer for wait in a queue and go with the next round; past
`max_pending_rows` the oldest rounds are dropped, and the loss is a failed run of its own.

With leases (several replicas, Redis), a replica scrapes only the targets it holds. A
long-running one skips the others without a run (their holder records its own); a run-once
collector (`apollo collect --once`) records each skipped target as a failed run naming the
holder and when its lease runs out, since that run did not scrape it.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import gc
import json
import math
import ssl
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collectors.runs import RunResult, lease_held
from collectors.scrape.increases import (
    MinuteValues,
    TargetIncreases,
    state_from_json,
    state_to_json,
)
from collectors.scrape.names import ConfiguredNames, MetricNames, service_values
from collectors.scrape.parse import Page, le_of, parse_page
from collectors.scrape.sli import PageSli, counts_any, good_total, readings
from services.errors import SourceUnavailable, StoreError
from services.files import mask_url, url_instance
from services.store import writes
from services.store.catalog import ensure_service_ids, ensure_slo
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute
from slo.model import SLO
from slo.series import MINUTE_S, InProgress

# httpcore's pool rescans its whole queue whenever a connection frees: with hundreds of
# requests queued at once that grows with the square of the targets, so admit a few at a time
MAX_CONCURRENT_FETCHES = 8
BODY_SIZE_LIMIT = 50_000_000  # bytes of a page after decompression (Prometheus's setting)
MAX_EXPANSION = 100  # a gzip body may grow this many times…
EXPANSION_CHECKED_FROM = 1_000_000  # …once past 1 MB (a small page is harmless either way)
INFLATE_STEP = 65_536  # bytes decompressed at a time: a bomb never inflates in one go
HEADERS = {"Accept": "text/plain;version=0.0.4", "Accept-Encoding": "gzip"}


@functools.cache
def _parsers() -> ThreadPoolExecutor:
    """The threads pages are parsed on, one pool for the process."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="page-parse")


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
        return url_instance(self.url)


@dataclass
class Fetched:
    target: Target
    at: float
    page: Page | None = field(default=None, repr=False)  # asyncio may repr results: keep it cheap
    error: str | None = None
    sent_at: datetime | None = None  # wall time the request went out: the run's start


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
    bucket = f"{names.latency}_bucket"
    for (name, labels), value in minute.increases.items():
        if name == bucket:
            le = le_of(labels)
            if le is not None:  # a page never hands out another bucket (parse.uncountable)
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
    # A target skipped for another holder's lease: a failed run naming it (True: a run-once
    # collector, whose run did not scrape it), or no run (False: a long-running replica,
    # the holder records its own).
    record_skips: bool = False
    # Who holds a lease and until when (Unix s), for those runs (RedisLeases.holding).
    holding: Callable[[str], tuple[str | None, float | None]] | None = None
    max_pending_rows: int = 500_000  # rows kept while the store is down (~75 MB)
    body_size_limit: int = BODY_SIZE_LIMIT  # bytes of one page, after decompression

    def __post_init__(self) -> None:
        self.state = {t.url: TargetIncreases() for t in self.targets}
        self._pending: deque[_Rows] = deque()  # rounds not yet in the store, oldest first
        self._notes = self._load_state()  # runs to report with the first round
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

    def _skips(self, mine: list[Target]) -> list[RunResult]:
        """A failed run for each target skipped for another holder's lease, when skips are
        recorded (a run-once collector: that run did not scrape it); else none. Raises
        SourceUnavailable."""
        if self.lease is None or not self.record_skips:
            return []
        held = {t.url for t in mine}
        return [self._skipped(t) for t in self.targets if t.url not in held]

    def _skipped(self, target: Target) -> RunResult:
        """The failed run of a target another collector holds the lease of."""
        held = lease_held(*self.holding(target.url)) if self.holding is not None else (
            "lease held by another collector")
        shown = mask_url(target.url)
        return RunResult("scrape", shown, errors=[
            f"{shown} not scraped: {held}; another collector scrapes it, or a killed one's "
            "lease has yet to run out"]).finish()

    def _load_state(self) -> list[RunResult]:
        """Read the last scrapes a run-once collector kept; a file that cannot be read as
        one is set aside (renamed `….corrupt`) and reported, and counting starts again."""
        path = self.state_path
        if path is None or not path.exists():
            return []
        try:
            saved = json.loads(path.read_bytes())
            states = {url: state_from_json(data) for url, data in saved.items()
                      if url in self.state}
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            aside = path.with_name(path.name + ".corrupt")
            path.replace(aside)
            run = RunResult("scrape", str(path))
            run.errors.append(f"{path}: not a scrape state ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); set aside as {aside.name}, counting "
                              "starts again")
            return [run.finish()]
        self.state.update(states)
        return []

    async def _fetch_all(self, targets: list[Target]) -> list[Fetched]:
        gate = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)
        # httpx's timeouts are per read: the deadline in _download is the one that counts
        async with httpx.AsyncClient(timeout=self.timeout_s + 1, transport=self.transport,
                                     headers=HEADERS, trust_env=False, verify=_tls()) as client:
            return list(await asyncio.gather(*(self._fetch(client, gate, t) for t in targets)))

    async def _fetch(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, target: Target
                     ) -> Fetched:
        """One target, fetched and parsed; whatever goes wrong is that target's error."""
        at, sent_at = self.clock(), datetime.now(UTC)
        try:
            async with gate:
                at = self.clock()  # the scrape's time: when its request goes out
                sent_at = datetime.now(UTC)
                body = await self._download(client, target.url)
            # Off the loop, so other targets' fetches go on; the pool outlives the round's
            # event loop (asyncio.to_thread would start and join threads every round).
            page = await asyncio.get_running_loop().run_in_executor(_parsers(), _read_page,
                                                                     body)
        except _Refused as exc:
            reason = str(exc)
        except TimeoutError:
            reason = f"Timeout: the whole response did not arrive within {self.timeout_s:g} s"
        except Exception as exc:  # httpx's errors, a URL it cannot open, a page no parser
            reason = _reason(exc)  # reads: this target's failure, never the round's
        else:
            return Fetched(target, at, page=page, sent_at=sent_at)
        return Fetched(target, at, error=mask_url(f"{target.url}: {reason}"), sent_at=sent_at)

    async def _download(self, client: httpx.AsyncClient, url: str) -> _Body:
        """The page's body, whole within the timeout and within `body_size_limit`."""
        problem = _url_problem(url)
        if problem is not None:
            raise _Refused(problem)
        async with asyncio.timeout(self.timeout_s), client.stream("GET", url) as response:
            response.raise_for_status()
            body = _Body(response, self.body_size_limit)
            async for chunk in response.aiter_raw():
                body.feed(chunk)
            return body.done()

    def scrape_once(self) -> list[RunResult]:
        """One round over every target; writes completed minutes; returns one run each."""
        try:
            mine = self._mine()
            skipped = self._skips(mine)
        except SourceUnavailable as exc:  # cannot tell which targets are ours: skip the round
            return [RunResult("scrape", "leases", errors=[str(exc)]).finish()]
        gc.disable()  # a round allocates a lot and frees it all: collect after, not during
        try:
            fetched = asyncio.run(self._fetch_all(mine))
            notes, self._notes = self._notes, []
            return notes + skipped + self.ingest(fetched)
        finally:
            gc.enable()

    def ingest(self, fetched: list[Fetched]) -> list[RunResult]:
        """Turn fetched pages (in time order per target) into minute rows and write them;
        one run per page. `apollo fleet history` feeds it pages it made itself."""
        service_rows: list[tuple] = []
        buckets: list[tuple] = []
        sli_rows: list[tuple] = []
        runs: list[RunResult] = []
        by_instance: dict[str, RunResult] = {}
        for item in fetched:
            shown = mask_url(item.target.url)
            run = RunResult("scrape", shown)
            if item.sent_at is not None:  # the run lasts from its request, fetch included
                run.started_at = item.sent_at
            runs.append(run)
            if item.page is None:
                run.errors.append(item.error or "no page")
                continue
            run.samples = len(item.page)
            run.errors += [f"{shown}:{b.line}: {b.reason}" for b in item.page.bad_lines]
            by_instance[item.target.instance] = run
            try:
                rows = self._rows(item, item.page, run)
            except Exception as exc:  # a page this code cannot count: that target's loss
                run.errors.append(f"{shown}: its samples could not be counted: "
                                  f"{_reason(exc)}")
                continue
            for kept, table_rows, figures in zip((service_rows, buckets, sli_rows), rows,
                                                 _FIGURES, strict=True):
                kept += _finite(table_rows, figures, run, shown)
        for run in runs:
            run.finish()
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

    def _rows(self, item: Fetched, page: Page, run: RunResult) -> _Rows:
        """The rows of the minutes one page completes (service, bucket, SLI); the gaps it
        shows are noted in its run."""
        target, instance = item.target, item.target.instance
        state = self.state[target.url]
        gaps_before = len(state.gaps)
        names = self.names.get(target.service, ConfiguredNames()).resolve(page)
        sid = self.service_ids[target.service]
        service_rows, buckets, sli_rows = [], [], []
        for minute in state.observe(item.at, page):
            held = []  # rows that would count a series this minute could not count
            unknown = minute.unknown  # mostly empty
            if unknown and names.counts_any(unknown):
                held.append("service")
            else:
                service_rows.append(service_row(minute, sid, names, instance))
            if unknown and any(name == f"{names.latency}_bucket" for name, _ in unknown):
                held.append("latency buckets")
            else:
                buckets += bucket_rows(minute, sid, names, instance)
            for reading in self._readings_of(target.service):
                if unknown and counts_any(reading, unknown, job=target.service,
                                          instance=instance):
                    held.append(f"SLO {reading.slo.id}")
                    continue
                result = good_total(reading, minute.increases, job=target.service,
                                    instance=instance)
                if result is not None:
                    sli_rows.append((minute.minute, self.slo_ids[reading.slo.id], *result,
                                     instance))
            if held:
                at = datetime.fromtimestamp(minute.minute, UTC).strftime("%Y-%m-%d %H:%M")
                run.errors.append(f"{run.target}: minute {at} UTC not written ("
                                  f"{', '.join(held)}): it counts a series set aside above")
        run.gaps = [{"start": a, "end": b} for a, b in state.gaps[gaps_before:]]
        return service_rows, buckets, sli_rows

    def in_progress(self) -> dict[str, InProgress]:
        """Per SLO, the minute its targets are still counting: its good and total so far,
        summed over this replica's targets, and the time they are counted up to (the
        oldest of the targets' last scrapes). Alert evaluation reads it in-process, to judge
        between minute ends; it is never written. An SLO whose targets are in different
        minutes, or whose minute counts a series set aside, is left out."""
        out: dict[str, InProgress] = {}
        dropped: set[str] = set()
        for target in self._mine():
            state = self.state[target.url]
            if state.last_t is None:
                continue
            minute = int(state.last_t // MINUTE_S) * MINUTE_S  # the one being counted
            increases = state.counts.get(minute)
            if increases is None or state.unknown.get(minute):
                continue
            for reading in self._readings_of(target.service):
                result = good_total(reading, increases, job=target.service,
                                    instance=target.instance)
                slug = reading.slo.id
                if result is None or slug in dropped:
                    continue
                seen = out.get(slug)
                if seen is not None and seen.minute != minute:
                    dropped.add(slug)
                    del out[slug]
                    continue
                good, total = result
                out[slug] = InProgress(minute, good, total, state.last_t) if seen is None else \
                    InProgress(minute, seen.good + good, seen.total + total,
                               min(seen.through, state.last_t))
        return out

    def _save_state(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({u: state_to_json(s) for u, s in self.state.items()}),
                       encoding="utf-8")
        tmp.replace(self.state_path)

    def _readings_of(self, service: str) -> list[PageSli]:
        """The SLO readings a target of `service` can serve (its job's, or any job's)."""
        found = self._by_service.get(service)
        if found is None:
            found = self._by_service[service] = [
                r for r in self.readings if r.job is None or r.job == service]
        return found


_Rows = tuple[list[tuple], list[tuple], list[tuple]]  # one round: service, bucket, SLI rows
_TABLES = (ServiceMinute.__table__, LatencyBucketMinute.__table__, SliMinute.__table__)
# where each table's row holds its figures: requests … memory; a bucket's count; good, total
_FIGURES = (slice(2, 8), slice(3, 4), slice(2, 4))
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


def _finite(rows: list[tuple], figures: slice, run: RunResult, shown: str) -> list[tuple]:
    """`rows` without those holding a NaN or infinite figure (counters too large to add up),
    which are named in the run: a minute row is a number or nothing."""
    if math.isfinite(sum(v for row in rows for v in row[figures] if v is not None)):
        return rows  # (a sum that overflows is checked row by row)
    kept = [row for row in rows
            if all(v is None or math.isfinite(v) for v in row[figures])]
    if len(kept) < len(rows):
        first = next(row for row in rows if row not in kept)
        run.errors.append(f"{shown}: {len(rows) - len(kept)} row(s) set aside, a figure is "
                          f"not a finite number; first: {first!r:.160}")
    return kept


class _Refused(Exception):
    """A response this scraper will not read (too large, a bomb, an unknown encoding)."""


class _Body:
    """A response body as it arrives: gzip inflated a step at a time, refused past `limit`
    bytes or when it expands more than MAX_EXPANSION times."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self._gzip = None
        elif encoding in ("gzip", "x-gzip"):
            self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            raise _Refused(f"Content-Encoding {encoding!r} is not read (gzip or none)")
        declared = response.headers.get("content-length", "")
        if self._gzip is None and declared.isdigit() and int(declared) > limit:
            raise _Refused(f"the body of {int(declared):,} bytes is over body_size_limit "
                           f"({limit:,} bytes)")
        self.limit = limit
        self.received = 0  # bytes off the wire
        self.data = bytearray()  # bytes of the page
        self.content_type = response.headers.get("content-type", "")
        self.charset = response.charset_encoding or "utf-8"

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self._gzip is None:
            self._keep(chunk)
            return
        while True:
            out = self._gzip.decompress(chunk, INFLATE_STEP)
            self._keep(out)
            chunk = self._gzip.unconsumed_tail
            if not chunk and len(out) < INFLATE_STEP:
                return

    def _keep(self, data: bytes) -> None:
        size = len(self.data) + len(data)
        if size > self.limit:
            raise _Refused(f"the page is over body_size_limit ({self.limit:,} bytes"
                           f"{' decompressed' if self._gzip else ''})")
        if self._gzip and size > EXPANSION_CHECKED_FROM and size > MAX_EXPANSION * self.received:
            raise _Refused(f"the gzip body expands more than {MAX_EXPANSION} times "
                           f"({self.received:,} bytes to over {size:,}): refused as a bomb")
        self.data += data

    def done(self) -> _Body:
        if self._gzip is not None and not self._gzip.eof:
            raise _Refused("the gzip body ends before its end")
        return self


def _read_page(body: _Body) -> Page:
    """The page of a whole body (run in a worker thread)."""
    try:
        codecs.lookup(body.charset)
        charset = body.charset
    except LookupError:
        charset = "utf-8"
    return parse_page(body.data.decode(charset, errors="replace"), body.content_type)


def _url_problem(url: str) -> str | None:
    """Why httpx cannot fetch `url`, when the URL itself says so (None: try it)."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        return f"invalid URL: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "invalid URL: expected http(s)://host[:port]/path"
    if port is not None and not 0 < port < 65536:
        return f"invalid URL: port {port} is outside 1-65535"
    return None


def _reason(exc: BaseException) -> str:
    """`Type: message` of an exception (of the one inside a group of one)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
