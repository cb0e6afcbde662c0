"""`apollo demo`: the demo fleet, its events, every collector job and the dashboard, as one
process tree on the embedded defaults (SQLite, in-process ClickHouse, in-process cache).

The collector jobs are the very ones `apollo collect` runs (`build_jobs`), pointed at the
fleet this process started and at the events database it owns. The terminal stays quiet
unless something happens: a failed run gets one line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from collectors.runs import RunResult
from collectors.scrape import Target
from services.config import Settings, child_environment
from services.fleet.runner import RunningFleet, start_fleet
from services.runtime.history import Progress, write_history
from services.runtime.jobs import build_delivery, build_jobs, register_services
from services.runtime.processes import Child, start_dashboard
from services.runtime.scheduler import Scheduler
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import ServiceMinute

Say = Callable[[str], None]


def held_days(engine: Engine, now: float) -> float | None:
    """Days of service minutes the store holds (None: none at all)."""
    with engine.connect() as conn:
        first = conn.execute(select(func.min(ServiceMinute.__table__.c.minute))).scalar()
    return None if first is None else (now - first) / 86_400


def ensure_history(settings: Settings, engine: Engine, urls: dict[str, str], say: Say,
                   progress: Progress | None = None, stop: threading.Event | None = None
                   ) -> None:
    """On first start, the fleet's past `fleet.history_days` days, so every view is full at
    once; on a restart the data is kept, and the demo says how much it holds."""
    days = held_days(engine, time.time())
    if days is not None:
        say(f"resumed, {days:.0f} days of history")
        return
    if settings.fleet.history_days:
        result = write_history(settings, engine, days=settings.fleet.history_days, urls=urls,
                               progress=progress, stop=stop)
        say(f"wrote {settings.fleet.history_days} days of history "
            f"({result.minutes:,} service-minutes)")


def problem_lines(runs: list[RunResult]) -> list[str]:
    """The terminal's lines for a batch of runs: failed or partial ones only."""
    return [f"{run.status}: {run.collector} {run.target}: {run.errors[0]}"
            for run in runs if run.errors]


@dataclass
class Demo:
    """The running demo; `stop()` ends every part it started."""

    settings: Settings
    fleet: RunningFleet
    scheduler: Scheduler
    children: list[Child] = field(default_factory=list)
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.scheduler.stop_event.set()
        for child in self.children:
            child.stop()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.fleet.stop()
        self.scheduler.engine.dispose()


def start_demo(settings: Settings, stop: threading.Event, say: Say,
               *, dashboard: bool = True, progress: Progress | None = None) -> Demo:
    """Migrate the store (the demo owns its file), start the fleet, the jobs, the dashboard."""
    engine = make_engine(settings.store_url)
    upgrade(engine)
    register_services(settings, engine)
    fleet = start_fleet(settings)
    try:
        ensure_history(settings, engine, fleet.fleet.urls, say, progress, stop)
        targets = [Target(slug, url) for slug, url in fleet.fleet.urls.items()]
        client: Any = fleet.writer.client if fleet.writer is not None else None
        worker = build_delivery(settings, engine)
        jobs = build_jobs(settings, engine, targets=targets, events_client=client,
                          on_enqueue=worker.wake.set if worker is not None else None)
        if worker is not None:
            worker.start(stop)

        def report(runs: list[RunResult]) -> None:
            for line in problem_lines(runs):
                say(line)

        demo = Demo(settings, fleet, Scheduler(engine, jobs, stop_event=stop, on_runs=report))
        demo.thread = demo.scheduler.start()
        if dashboard:
            demo.children.append(start_dashboard(settings, env=child_environment(settings)))
        return demo
    except BaseException:
        fleet.stop()
        raise
