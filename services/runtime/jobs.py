"""Every collector job, wired once: `build_jobs` is what `apollo collect`, `apollo collect
--once` and `apollo demo` all run.

From the configuration: the metrics source (the services' /metrics pages, or Prometheus
when `sources.prometheus.url` is set; both would write the same rows), ClickHouse
(engagement rollup and event-ratio SLIs), the roadmap and cost documents, OpenCost, the
hour roll-up and retention. A source that cannot even be set up (the store down at start,
a ClickHouse file held by another process) is a failed run each round until it can.

Scrape targets come from the configuration; with none configured, the running demo fleet's
pages are scraped (the fleet writes its URLs to `data_dir/fleet.json`). A run-once
collector keeps its last scrapes in `data_dir/scrape-state.json`, so the next run can
turn them into per-minute increases.

With Redis, the scrape targets and a ClickHouse DSN are leased (services/runtime/leases.py);
the jobs' `close` gives those leases back when the scheduler stops or a run-once round
ends, so the next collector takes them at its next round instead of after their TTL.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from collectors.runs import RunResult, prune_runs
from collectors.scrape import PageScraper, Target
from collectors.scrape.names import names_by_service
from services.config import Settings
from services.errors import ConfigError, SourceUnavailable
from services.files import expand, load_slo_files
from services.fleet.runner import read_state
from services.runtime import metrics
from services.runtime.leases import RedisLeases
from services.runtime.scheduler import Job
from services.store.catalog import ServiceInfo, ensure_services
from services.store.partitions import maintain as maintain_partitions
from services.store.partitions import whole_days
from services.store.rollup import apply_retention, roll_up
from slo.model import SLO, EventRatio

ENGAGEMENT_DAYS = 2  # today and yesterday are rewritten each run; older days are final
EVENT_SLI_LOOKBACK = timedelta(minutes=10)  # event-ratio minutes rewritten each run
ROLLUP_INTERVAL_S = 300.0
ROLLUP_LOOKBACK = timedelta(hours=3)  # whole hours rolled again, for late scrapes
RETENTION_INTERVAL_S = 3600.0
T = TypeVar("T")


class Lazy(Generic[T]):
    """A part made on first use and kept; if making it fails, the next use tries again."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._make()
        return self._value


def service_infos(settings: Settings) -> list[ServiceInfo]:
    """The configured services as the store registers them, with their labels; a service's
    environment is its targets' one when they all name the same."""
    environments: dict[str, set[str]] = {}
    for target in settings.sources.scrape.targets:
        environments.setdefault(target.service, set()).add(target.environment or "")
    infos = []
    for c in settings.services:
        named = environments.get(c.slug, set())
        environment = next(iter(named)) if len(named) == 1 else ""
        infos.append(ServiceInfo(c.slug, c.name, c.team, c.unit, environment=environment,
                                 tier=c.tier, labels=dict(c.labels)))
    return infos


def register_services(settings: Settings, engine: Engine) -> None:
    """Create or update the configured services (names, teams, labels) in the store."""
    with engine.begin() as conn:
        ensure_services(conn, service_infos(settings))


def scrape_targets(settings: Settings) -> list[Target]:
    configured = [Target(t.service, t.url) for t in settings.sources.scrape.targets]
    if configured:
        return configured
    try:
        state = read_state(settings)
    except ConfigError:
        raise ConfigError("sources.scrape.targets: no targets configured and no demo fleet "
                          "running (start `apollo fleet` or list targets)") from None
    return [Target(s["slug"], s["metrics_url"]) for s in state["services"]]


def configured_slos(settings: Settings) -> list[SLO]:
    return load_slo_files(expand(settings.slo_files)) if settings.slo_files else []


def lease_owner() -> str:
    """This process's token in the leases it takes (`host:pid`)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def scrape_leases(settings: Settings) -> RedisLeases | None:
    """The scrape targets' leases with Redis configured (a lease outlives three missed
    rounds), else None."""
    if not settings.redis_url:
        return None
    ttl = 3 * settings.sources.scrape.interval.total_seconds() + 5
    return RedisLeases(settings.redis_url, lease_owner(), ttl_s=ttl)


def build_scraper(settings: Settings, engine: Engine, targets: list[Target] | None = None,
                  *, keep_state: bool = False, slos: Sequence[SLO] | None = None,
                  leases: RedisLeases | None = None) -> PageScraper:
    """The page scraper; with Redis configured it scrapes only the targets it leases
    (`leases`, else `scrape_leases`), so several replicas share them."""
    if leases is None:
        leases = scrape_leases(settings)
    return PageScraper(
        engine, targets if targets is not None else scrape_targets(settings),
        lease=leases.hold if leases is not None else None,
        holding=leases.holding if leases is not None else None,
        record_skips=keep_state,  # a run-once collector's skipped targets are failed runs
        slos=configured_slos(settings) if slos is None else slos,
        names=names_by_service(settings.services),
        timeout_s=settings.sources.scrape.timeout.total_seconds(),
        body_size_limit=settings.sources.scrape.body_size_limit,
        state_path=settings.data_dir / "scrape-state.json" if keep_state else None,
    )


def _scrape_job(settings: Settings, engine: Engine, slos: Sequence[SLO],
                targets: list[Target] | None, keep_state: bool, interval_s: float
                ) -> tuple[Job, Lazy[PageScraper]]:
    leases = scrape_leases(settings)  # (no connection until the first round)

    def make() -> PageScraper:
        register_services(settings, engine)
        return build_scraper(settings, engine, targets, keep_state=keep_state, slos=slos,
                             leases=leases)

    scraper = Lazy(make)

    def scrape() -> list[RunResult]:
        runs = scraper.get().scrape_once()
        metrics.PENDING_ROWS.set(scraper.get().pending_rows)  # rows waiting for the store
        return runs

    close = leases.release if leases is not None else None
    return Job("scrape", interval_s, scrape, close=close), scraper


def _prometheus_job(settings: Settings, engine: Engine, slos: Sequence[SLO],
                    interval_s: float) -> Job:
    """Per-minute rows from Prometheus (Thanos, Mimir)."""
    from collectors.prometheus import PrometheusCollector

    collector = Lazy(lambda: PrometheusCollector.from_settings(
        settings, engine, service_infos(settings), slos=slos))
    return Job("prometheus", interval_s, lambda: [collector.get().collect()])


def _clickhouse_jobs(settings: Settings, engine: Engine, slos: Sequence[SLO],
                     client: Any | None, interval_s: float,
                     clock: Callable[[], float], once: bool = False) -> list[Job]:
    """Engagement rollup on the ClickHouse interval; event-ratio SLIs with the metrics.

    With Redis, a DSN opened per run is read by one replica at a time, holding the lease
    `clickhouse:<dsn>` (the embedded engine opens one process per path: a second process
    opening it failed, or read the same events twice); the others skip both jobs until its
    holder gives it back (a clean stop, the end of `--once`) or, if it was killed, its lease
    runs out: three of its shortest interval and 5 s after its last run. A long-running
    collector logs who holds it; a run-once one (`once`) records each skip as a failed run
    naming the holder and when its lease runs out."""
    from collectors.clickhouse import COLLECTOR, collect_engagement, collect_event_slis
    from services.files import mask_url
    from services.runtime.leases import OneReader

    table = settings.sources.clickhouse.table
    events = client if client is not None else settings.events_dsn  # a DSN: opened per run

    def engagement() -> list[RunResult]:
        return [collect_engagement(events, engine, table=table, days=ENGAGEMENT_DAYS,
                                   now=clock())]

    def event_slis() -> list[RunResult]:
        return [collect_event_slis(events, engine, slos=slos, now=clock(),
                                   lookback=EVENT_SLI_LOOKBACK)]

    every = settings.sources.clickhouse.interval.total_seconds()
    jobs = [Job("clickhouse", every, engagement)]
    if any(isinstance(s.sli, EventRatio) for s in slos):
        jobs.append(Job("event-slis", interval_s, event_slis))
    if client is None and settings.redis_url:
        dsn = mask_url(settings.events_dsn)
        ttl = 3 * min(job.interval_s for job in jobs) + 5
        leases = RedisLeases(settings.redis_url, lease_owner(), ttl_s=ttl)
        reader = OneReader(leases, f"clickhouse:{dsn}", collector=COLLECTOR,
                           source=f"ClickHouse {dsn}", record_skips=once)
        for job in jobs:
            job.run = reader.guard(job.run, job.name)
            job.close = reader.release  # (both jobs share it: the second gives back none)
    return jobs


def _document_jobs(settings: Settings, engine: Engine, clock: Callable[[], float]
                   ) -> list[Job]:
    """The roadmap and cost documents of the configuration, and OpenCost, on their intervals."""
    from collectors.cost import collect_cost_file, collect_opencost
    from collectors.roadmap import collect_roadmap

    sources = settings.sources

    def this_month() -> Any:
        return datetime.fromtimestamp(clock(), UTC).date().replace(day=1)

    def roadmaps() -> list[RunResult]:
        return [collect_roadmap(engine, Path(f), document=f) for f in sources.roadmap.files]

    def cost_files() -> list[RunResult]:
        return [collect_cost_file(engine, Path(f), month=this_month(), source=f)
                for f in sources.costs.files]

    def opencost() -> list[RunResult]:
        import httpx

        url = sources.costs.opencost_url or ""
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            return [collect_opencost(engine, client, month=this_month())]

    jobs = []
    if sources.roadmap.files:
        jobs.append(Job("roadmap", sources.roadmap.interval.total_seconds(), roadmaps))
    if sources.costs.files:
        jobs.append(Job("costs", sources.costs.interval.total_seconds(), cost_files))
    if sources.costs.opencost_url:
        jobs.append(Job("opencost", sources.costs.interval.total_seconds(), opencost))
    return jobs


def _housekeeping_jobs(settings: Settings, engine: Engine, clock: Callable[[], float]
                       ) -> list[Job]:
    """Hour roll-ups of the last few hours (and, on PostgreSQL, the minute tables' day
    partitions ahead), and retention of every resolution and of runs."""
    retention = settings.retention

    def rollup() -> list[RunResult]:
        run = RunResult("rollup", "store")
        now = datetime.fromtimestamp(clock(), UTC)
        with engine.begin() as conn:
            run.samples = roll_up(conn, now - ROLLUP_LOOKBACK, now)
        with engine.begin() as conn:  # its own transaction: it may lock DEFAULT partitions
            maintain_partitions(conn, now)
        return [run.finish()]

    def expire() -> list[RunResult]:
        run = RunResult("retention", "store")
        now = datetime.fromtimestamp(clock(), UTC)
        minute_keep = retention.minute
        if engine.dialect.name == "postgresql":  # drop whole day partitions, delete no row
            minute_keep = whole_days(now, minute_keep)
        with engine.begin() as conn:
            result = apply_retention(conn, now=now, minute_keep=minute_keep,
                                     hour_keep=retention.hour)
            runs_deleted = prune_runs(conn, before=now - retention.runs)
        run.samples = result.minute_rows_deleted + result.hour_rows_deleted + runs_deleted
        return [run.finish()]

    return [Job("rollup", ROLLUP_INTERVAL_S, rollup),
            Job("retention", RETENTION_INTERVAL_S, expire)]


def _alert_job(settings: Settings, engine: Engine, slos: Sequence[SLO], interval_s: float,
               clock: Callable[[], float], on_enqueue: Callable[[], None] | None,
               scraper: Lazy[PageScraper] | None) -> Job:
    """Alert evaluation over the minutes the metric jobs just wrote (it runs after them),
    and, when this process scrapes pages, over the minute they are still counting."""
    from services.alerting.evaluate import AlertEvaluator

    counting = (lambda: scraper.get().in_progress()) if scraper is not None else None
    evaluator = Lazy(lambda: AlertEvaluator(engine, slos, settings.alerting, settings.notifiers,
                                            clock=clock, on_enqueue=on_enqueue,
                                            in_progress=counting))

    def evaluate() -> list[RunResult]:
        run = RunResult("alerts", "evaluate")
        done = evaluator.get().evaluate()
        run.samples = done.minutes
        run.errors = list(done.errors)
        return [run.finish()]

    return Job("alerts", interval_s, evaluate)


def _cache_version_job(redis_url: str, interval_s: float) -> Job:
    """Last in each round: bump the API's cache version, so answers cached before this
    round's rows are dropped (by every API process, within a second)."""
    from services.store.cache_version import CacheVersion

    version = CacheVersion(redis_url)

    def bump() -> list[RunResult]:
        run = RunResult("cache-version", "redis")
        try:
            version.bump()
            run.samples = 1
        except SourceUnavailable as exc:  # the API's TTL bounds staleness meanwhile
            run.errors.append(str(exc))
        return [run.finish()]

    return Job("cache-version", interval_s, bump)


def build_delivery(settings: Settings, engine: Engine) -> Any | None:
    """The outbox's delivery worker for this process, or None without notifiers."""
    if not settings.notifiers or not settings.alerting.enabled:
        return None
    from services.alerting.worker import DeliveryWorker

    return DeliveryWorker(engine, settings.notifiers, settings.alerting.delivery)


def build_jobs(settings: Settings, engine: Engine, *, targets: list[Target] | None = None,
               events_client: Any | None = None, every: timedelta | None = None,
               keep_state: bool = False, clock: Callable[[], float] = time.time,
               on_enqueue: Callable[[], None] | None = None) -> list[Job]:
    """Every job the configuration asks for, in the order a run-once collector runs them.

    `targets` replaces the configured scrape targets (the demo's own fleet); `events_client`
    is a ClickHouse client this process already holds (the demo owns its embedded engine),
    else ClickHouse is read only when `sources.clickhouse.dsn` is set; `every` replaces the
    metrics interval; `keep_state` keeps scrape state on disk between runs (`--once`: a
    ClickHouse run skipped for another holder's lease is then a failed run, see
    `_clickhouse_jobs`);
    `on_enqueue` is called when alert evaluation wrote notifications (to wake a worker).
    """
    # Every job writes: on SQLite each transaction takes the write lock when it begins.
    # A deferred one that read first and then wrote failed at once ('database is locked',
    # without waiting busy_timeout) whenever another connection had committed in between:
    # seen in `apollo demo` as a failed event-slis run beside alert evaluation.
    engine = engine.execution_options(sqlite_begin_immediate=True)
    slos = configured_slos(settings)
    sources = settings.sources
    metrics_every = every or (sources.prometheus.interval if sources.prometheus.url
                              else sources.scrape.interval)
    interval_s = metrics_every.total_seconds()
    scraper: Lazy[PageScraper] | None = None
    if sources.prometheus.url:
        jobs = [_prometheus_job(settings, engine, slos, interval_s)]
    else:
        scrape, scraper = _scrape_job(settings, engine, slos, targets, keep_state, interval_s)
        jobs = [scrape]
    if events_client is not None or sources.clickhouse.dsn:
        jobs += _clickhouse_jobs(settings, engine, slos, events_client, interval_s, clock,
                                 once=keep_state)
    if settings.alerting.enabled and slos:
        jobs.append(_alert_job(settings, engine, slos, interval_s, clock, on_enqueue,
                               None if keep_state else scraper))  # (--once: whole minutes)
    jobs += _document_jobs(settings, engine, clock)
    jobs += _housekeeping_jobs(settings, engine, clock)
    if settings.redis_url:
        jobs.append(_cache_version_job(settings.redis_url, interval_s))
    return jobs
