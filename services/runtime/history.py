"""The demo fleet's past: `apollo fleet history --days 30` (and `apollo demo` on first start).

History goes through the collector's own path: each service's simulator, started at the
beginning of the range, shows its /metrics page at every minute boundary; the page is
parsed as a scrape's would be and handed to a `PageScraper`, whose per-minute increases,
row builders and SLO readings write the rows. So history and live minutes come from the
same load model through the same code, and agree at the seam.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from collectors.runs import RunResult
from collectors.scrape import PageScraper, Target
from collectors.scrape.names import names_by_service
from collectors.scrape.parse import Page
from collectors.scrape.scraper import Fetched
from services.config import Settings
from services.fleet.runner import profiles
from services.fleet.simulator import ServiceSimulator
from services.runtime.jobs import configured_slos, register_services
from slo.model import SLO

MINUTE_S = 60
CHUNK_MINUTES = 1440  # scrapes per write: a day
HISTORY_TARGET = "http://history/{slug}/metrics"  # without a live fleet: instance `history`

Progress = Callable[[int, int], None]  # minutes done, minutes in all


@dataclass(frozen=True)
class History:
    start: int  # Unix seconds, first minute written
    end: int  # end of the last minute written
    services: int
    minutes: int  # service-minutes written
    runs: list[RunResult]

    @property
    def problems(self) -> list[str]:
        return [error for run in self.runs for error in run.errors]


def history_targets(settings: Settings, urls: dict[str, str] | None = None) -> list[Target]:
    """One target per simulated service: the running fleet's URL when given (so history
    and live rows share their instance), else the `history` instance."""
    urls = urls or {}
    return [Target(p.slug, urls.get(p.slug, HISTORY_TARGET.format(slug=p.slug)))
            for p in profiles(settings)]


def write_history(settings: Settings, engine: Engine, *, days: float,
                  end: float | None = None, urls: dict[str, str] | None = None,
                  slos: Sequence[SLO] | None = None, progress: Progress | None = None,
                  stop: threading.Event | None = None) -> History:
    """Write the minutes of [end - days, end) for every simulated service; `end` defaults to
    this minute. Rewriting the same range writes the same rows (upserts)."""
    last = int((time.time() if end is None else end) // MINUTE_S * MINUTE_S)
    first = last - round(days * 1440) * MINUTE_S  # whole minutes (30/1440 days is 30)
    if first >= last:
        raise ValueError(f"days: expected more than one minute, got {days}")
    fleet = settings.fleet
    register_services(settings, engine)
    targets = history_targets(settings, urls)
    by_slug = {p.slug: p for p in profiles(settings)}
    simulators = {
        t.url: ServiceSimulator(by_slug[t.service], seed=fleet.seed,
                                            start=first,
                                            amplitude=fleet.daily_amplitude, noise=fleet.noise)
        for t in targets
    }
    scraper = PageScraper(engine, targets, slos=configured_slos(settings) if slos is None
                          else slos, names=names_by_service(settings.services))
    runs: list[RunResult] = []
    total = (last - first) // MINUTE_S
    # The first scrape, at the start of the range, starts the counting; each later scrape
    # at a minute's end completes that minute. A day of scrapes is written at once.
    times = range(first, last + 1, MINUTE_S)
    for i in range(0, len(times), CHUNK_MINUTES):
        if stop is not None and stop.is_set():  # Ctrl-C while writing: what is written stays
            break
        fetched = []
        for t in times[i:i + CHUNK_MINUTES]:
            for target in targets:
                values, types = simulators[target.url].samples(float(t))
                fetched.append(Fetched(target, float(t), page=Page(values, types)))
        runs += [run for run in scraper.ingest(fetched) if run.errors]
        if progress is not None:
            progress(min(total, i + CHUNK_MINUTES), total)
    return History(first, last, len(targets), total * len(targets), runs)
