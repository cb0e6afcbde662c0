"""`apollo demo`: the demo fleet, its events, every collector job, alert evaluation and
delivery, the API, the dashboard and a local webhook sink, as one process tree on the
embedded defaults (SQLite, in-process ClickHouse, in-process cache).

The collector jobs are the very ones `apollo collect` runs (`build_jobs`), pointed at the
fleet this process started, at the API it started (so Apollo's own SLOs have data) and at
the events database it owns. Without notifiers in the configuration, alerts go to the
demo's own webhook sink, so the whole alert path runs. The terminal stays quiet unless
something happens (`demo_log`): a failed run, a fault, an alert transition or a delivery
gets one line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from collectors.scrape import Target
from services.config import Notifier, Settings, child_environment
from services.fleet.control import FleetControl
from services.fleet.runner import RunningFleet, start_fleet
from services.runtime.demo_log import DemoLog
from services.runtime.demo_sink import WebhookSink
from services.runtime.history import Progress, history_workers, write_history
from services.runtime.jobs import build_delivery, build_jobs, register_services
from services.runtime.processes import Child, start_api, start_dashboard
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
                   ) -> int | None:
    """On first start, the fleet's past `fleet.history_days` days, so every view is full at
    once; on a restart the data is kept, and the demo says how much it holds. Returns where
    the history written now ends (Unix seconds), None when none was written."""
    days = held_days(engine, time.time())
    if days is not None:
        say(f"resumed, {days:.0f} days of history")
        return None
    if not settings.fleet.history_days:
        return None
    # Written up to a little past now: the collector's first scrape only takes a
    # baseline, so the minutes from the history's end to its first whole minute had no
    # rows (1-2 per service, bench/soak.py); live minutes overwrite the ones written ahead.
    result = write_history(settings, engine, days=settings.fleet.history_days, urls=urls,
                           end=time.time() + SEAM_S, progress=progress, stop=stop,
                           workers=history_workers())
    say(f"wrote {settings.fleet.history_days} days of history "
        f"({result.minutes:,} service-minutes)")
    return result.end


def close_seam(settings: Settings, engine: Engine, urls: dict[str, str], end: int,
               stop: threading.Event | None = None) -> int:
    """Just before the collector starts: the history from `end` (where it was written to)
    on to SEAM_S past now, when that lead is used up. Writing a month of history takes
    longer than SEAM_S, and so may starting the API: the history then ended before the
    collector's first whole minute, and the minutes between had no rows. Returns the end."""
    while stop is None or not stop.is_set():
        ahead = int((time.time() + SEAM_S) // MINUTE_S * MINUTE_S)
        if ahead <= end:
            break
        write_history(settings, engine, days=(ahead - end) / 86_400, end=ahead, urls=urls,
                      stop=stop)
        end = ahead
    return end


def api_target(settings: Settings, api_url: str) -> Target | None:
    """The demo's API as the service that stands for it in the configuration, `apollo-api`
    (apollo.example.yaml names its metrics, slos/apollo-api.yaml its SLOs with
    job="apollo-api"); None when the configuration has no such service (nothing would
    read its minutes)."""
    if not any(s.slug == API_SERVICE for s in settings.services):
        return None
    return Target(API_SERVICE, f"{api_url}/metrics")


# name -> (service, fault kind, rate, duration): what `apollo demo --incident NAME` injects
INCIDENTS: dict[str, tuple[str, str, float, str]] = {
    "payment-errors": ("payment-service", "error_burst", 0.2, "20m"),
}
SINK_NOTIFIER = "demo-sink"
SEAM_S = 120  # history written this far ahead of the start (see ensure_history)
MINUTE_S = 60
API_SERVICE = "apollo-api"  # the configured service that is Apollo's own API


def with_sink(settings: Settings, sink: WebhookSink) -> Settings:
    """The settings with the demo's webhook sink as the one notifier."""
    notifier = Notifier(name=SINK_NOTIFIER, kind="webhook", url=sink.url)
    return settings.model_copy(update={"notifiers": [notifier]})


def inject_incident(fleet: RunningFleet, name: str) -> dict[str, object]:
    """Start the scripted incident `name` through the fleet's control endpoint (as the
    dashboard's controls do)."""
    service, kind, rate, duration = INCIDENTS[name]
    with FleetControl(fleet.fleet.control_url) as control:
        return control.inject(service, kind, rate=rate, duration=duration)


@dataclass
class Demo:
    """The running demo; `stop()` ends every part it started."""

    settings: Settings
    fleet: RunningFleet
    scheduler: Scheduler
    children: list[Child] = field(default_factory=list)
    thread: threading.Thread | None = None
    sink: WebhookSink | None = None

    def stop(self) -> None:
        self.scheduler.stop_event.set()
        for child in self.children:
            child.stop(timeout=4)
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.fleet.stop()
        if self.sink is not None:
            self.sink.stop()
        self.scheduler.engine.dispose()


def start_demo(settings: Settings, stop: threading.Event, say: Say,
               *, dashboard: bool = True, api: bool = True, incident: str | None = None,
               progress: Progress | None = None) -> Demo:
    """Migrate the store (the demo owns its file), start the webhook sink (when no notifier
    is configured), the fleet, its history (first start), the API (its own /metrics page is
    scraped as `apollo-api`), the jobs and the dashboard."""
    if incident is not None and incident not in INCIDENTS:
        raise ValueError(f"incident: expected one of {', '.join(INCIDENTS)}, got {incident!r}")
    engine = make_engine(settings.store_url)
    upgrade(engine)
    register_services(settings, engine)
    sink = None if settings.notifiers else WebhookSink().start()
    if sink is not None:
        settings = with_sink(settings, sink)
    fleet = start_fleet(settings)
    demo: Demo | None = None
    children: list[Child] = []
    try:
        history_end = ensure_history(settings, engine, fleet.fleet.urls, say, progress, stop)
        env = child_environment(settings)
        targets = [Target(slug, url) for slug, url in fleet.fleet.urls.items()]
        if api:  # before the jobs: its /metrics page is one of their targets
            children.append(start_api(settings, env=env))
            own = api_target(settings, children[-1].url)
            if own is not None:
                targets.append(own)
        if history_end is not None:
            close_seam(settings, engine, fleet.fleet.urls, history_end, stop)
        client: Any = fleet.writer.client if fleet.writer is not None else None
        worker = build_delivery(settings, engine)
        jobs = build_jobs(settings, engine, targets=targets, events_client=client,
                          on_enqueue=worker.wake.set if worker is not None else None)
        if worker is not None:
            worker.start(stop)
        log = DemoLog(engine, say, fleet.fleet.state)
        demo = Demo(settings, fleet, Scheduler(engine, jobs, stop_event=stop, on_runs=log.runs),
                    children=children, sink=sink)
        demo.thread = demo.scheduler.start()
        if dashboard:
            demo.children.append(start_dashboard(settings, env=env))
        if incident is not None:
            inject_incident(fleet, incident)
        return demo
    except BaseException:
        if demo is not None:
            demo.stop()
        else:
            for child in children:
                child.stop(timeout=4)
            fleet.stop()
            if sink is not None:
                sink.stop()
        raise
