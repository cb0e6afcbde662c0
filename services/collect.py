"""Running the collectors: once (a CronJob), or every interval until stopped.

Scrape targets come from the configuration; with none configured, the running demo fleet's
pages are scraped (the fleet writes its URLs to `data_dir/fleet.json`). A run-once
collector keeps its last scrapes in `data_dir/scrape-state.json`, so the next run can
turn them into per-minute increases.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from collectors.runs import RunResult
from collectors.scrape import PageScraper, Target
from services.config import Settings
from services.errors import ConfigError
from services.fleet.runner import read_state
from services.slo_io import expand, load_slo_files

log = logging.getLogger(__name__)


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


def build_scraper(settings: Settings, engine: Engine, targets: list[Target] | None = None,
                  *, keep_state: bool = False) -> PageScraper:
    slos = load_slo_files(expand(settings.slo_files)) if settings.slo_files else []
    return PageScraper(
        engine, targets if targets is not None else scrape_targets(settings), slos=slos,
        timeout_s=settings.sources.scrape.timeout.total_seconds(),
        state_path=settings.data_dir / "scrape-state.json" if keep_state else None,
    )


@dataclass
class Collector:
    """The page scraper on its interval, in a thread of the calling process."""

    scraper: PageScraper
    interval_s: float
    stop_event: threading.Event

    def round(self) -> list[RunResult]:
        try:
            return self.scraper.scrape_once()
        except Exception:  # a store hiccup must not end the loop; the next round retries
            log.exception("scrape round failed")
            return []

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.round()
            self.stop_event.wait(self.interval_s)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="collector", daemon=True)
        thread.start()
        return thread
