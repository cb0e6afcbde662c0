"""Running the collectors: once (a CronJob), or each source on its own interval until stopped.

Scrape targets come from the configuration; with none configured, the running demo fleet's
pages are scraped (the fleet writes its URLs to `data_dir/fleet.json`). A run-once
collector keeps its last scrapes in `data_dir/scrape-state.json`, so the next run can
turn them into per-minute increases. Every run is recorded in `collector_runs`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from collectors.clickhouse import collect_engagement, collect_event_slis
from collectors.cost import collect_cost_file
from collectors.roadmap import collect_roadmap
from collectors.runs import RunResult, record_run
from collectors.scrape import PageScraper, Target
from services.config import Settings
from services.errors import ConfigError
from services.files import expand, load_slo_files
from services.fleet.runner import read_state
from services.runtime import metrics as collector_metrics
from services.runtime.leases import RedisLeases
from slo.model import SLO

log = logging.getLogger(__name__)
ENGAGEMENT_DAYS = 2  # today and yesterday are rewritten each run; older days are final


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


def build_scraper(settings: Settings, engine: Engine, targets: list[Target] | None = None,
                  *, keep_state: bool = False, slos: Sequence[SLO] | None = None
                  ) -> PageScraper:
    """The page scraper; with Redis configured it scrapes only the targets it leases, so
    several replicas share them (a lease outlives three missed rounds)."""
    lease = None
    if settings.redis_url:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        ttl = 3 * settings.sources.scrape.interval.total_seconds() + 5
        lease = RedisLeases(settings.redis_url, owner, ttl_s=ttl).hold
    return PageScraper(
        engine, targets if targets is not None else scrape_targets(settings), lease=lease,
        slos=configured_slos(settings) if slos is None else slos,
        timeout_s=settings.sources.scrape.timeout.total_seconds(),
        state_path=settings.data_dir / "scrape-state.json" if keep_state else None,
    )


@dataclass
class Job:
    """One source on its interval; `run` returns the runs it did (already recorded or not)."""

    name: str
    interval_s: float
    run: Callable[[], list[RunResult]]
    records_itself: bool = False
    next_at: float = 0.0


def clickhouse_jobs(settings: Settings, engine: Engine, client: Any, slos: Sequence[SLO]
                    ) -> list[Job]:
    """Engagement rollup on the ClickHouse interval; event-ratio SLIs with the scrapes."""
    table = settings.sources.clickhouse.table

    def engagement() -> list[RunResult]:
        return [collect_engagement(client, engine, table=table, days=ENGAGEMENT_DAYS,
                                   now=time.time())]

    def event_slis() -> list[RunResult]:
        return [collect_event_slis(client, engine, slos=slos, now=time.time(),
                                   lookback=timedelta(minutes=10))]

    return [Job("clickhouse", settings.sources.clickhouse.interval.total_seconds(), engagement),
            Job("event-slis", settings.sources.scrape.interval.total_seconds(), event_slis)]


def prometheus_job(settings: Settings, engine: Engine, slos: Sequence[SLO]) -> Job:
    """Per-minute rows from Prometheus (Thanos, Mimir) on its interval; used instead of page
    scraping when `sources.prometheus.url` is set (both would write the same rows)."""
    from collectors.prometheus import PrometheusCollector, PrometheusSource, connect
    from services.store.catalog import ServiceInfo

    cfg = settings.sources.prometheus
    assert cfg.url is not None
    timeout = cfg.timeout.total_seconds()
    collector = PrometheusCollector(
        engine, PrometheusSource(connect(cfg.url, timeout_s=timeout), timeout_s=timeout),
        [ServiceInfo(c.slug, c.name, c.team, c.unit) for c in settings.services], slos=slos)
    return Job("prometheus", cfg.interval.total_seconds(), lambda: [collector.collect()])


def document_jobs(settings: Settings, engine: Engine) -> list[Job]:
    """The roadmap and cost documents of the configuration, each on its interval."""
    sources = settings.sources

    def roadmaps() -> list[RunResult]:
        return [collect_roadmap(engine, Path(f), document=f) for f in sources.roadmap.files]

    def cost_files() -> list[RunResult]:
        month = datetime.now(UTC).date().replace(day=1)
        return [collect_cost_file(engine, Path(f), month=month, source=f)
                for f in sources.costs.files]

    jobs = []
    if sources.roadmap.files:
        jobs.append(Job("roadmap", sources.roadmap.interval.total_seconds(), roadmaps))
    if sources.costs.files:
        jobs.append(Job("costs", sources.costs.interval.total_seconds(), cost_files))
    return jobs


@dataclass
class Collector:
    """Every job on its own interval, in one thread of the calling process."""

    engine: Engine
    jobs: list[Job]
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run_due(self, now: float) -> list[RunResult]:
        done: list[RunResult] = []
        for job in self.jobs:
            if now < job.next_at:
                continue
            job.next_at = now + job.interval_s
            try:
                runs = job.run()
            except Exception:  # a store hiccup must not end the loop; the next round retries
                log.exception("collector job %s failed", job.name)
                continue
            for run in runs:
                collector_metrics.observe(run)
            if not job.records_itself:
                with self.engine.begin() as conn:
                    for run in runs:
                        record_run(conn, run)
            done += runs
        return done

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.run_due(time.time())
            self.stop_event.wait(1.0)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="collector", daemon=True)
        thread.start()
        return thread


def scrape_job(settings: Settings, scraper: PageScraper) -> Job:
    return Job("scrape", settings.sources.scrape.interval.total_seconds(), scraper.scrape_once,
               records_itself=True)
