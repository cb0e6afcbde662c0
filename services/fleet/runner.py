"""Putting the fleet together from the configuration, and running it until told to stop."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.config import Settings
from services.errors import ConfigError, SourceUnavailable
from services.files import mask_url
from services.fleet.events import EventModel, EventWriter
from services.fleet.server import Fleet
from services.fleet.simulator import ServiceProfile

log = logging.getLogger(__name__)
ANALYTICS_SLUG = "analytics-engine"
EVENT_FILL_INTERVAL_S = 10.0


def profiles(settings: Settings) -> list[ServiceProfile]:
    """Every configured service that has a baseline becomes a simulated one."""
    out = [
        ServiceProfile(
            slug=s.slug, name=s.name, routes=tuple(s.routes), p95_ms=s.baseline.p95_ms,
            throughput_rps=s.baseline.throughput_rps, cpu_ratio=s.baseline.cpu_ratio,
            memory_gib=s.baseline.memory_gib, error_ratio=s.baseline.error_ratio,
        )
        for s in settings.services
        if s.baseline is not None
    ]
    if not out:
        raise ConfigError("services: the demo fleet needs at least one service with a baseline")
    return out


def build_fleet(settings: Settings, clock: Callable[[], float] = time.time) -> Fleet:
    f = settings.fleet
    return Fleet(profiles(settings), host=f.host, base_port=f.base_port,
                 control_port=f.control_port, seed=f.seed, amplitude=f.daily_amplitude,
                 noise=f.noise, clock=clock)


def open_events(settings: Settings) -> Any:
    """A clickhouse-connect client for the configured DSN (embedded chdb by default)."""
    import clickhouse_connect

    dsn = settings.events_dsn
    if dsn.startswith("chdb://"):
        Path(dsn.removeprefix("chdb://")).parent.mkdir(parents=True, exist_ok=True)
    try:
        return clickhouse_connect.get_client(dsn=dsn)
    except Exception as exc:  # the driver raises many kinds; name the source once
        raise SourceUnavailable(f"ClickHouse {mask_url(dsn)}",
                                mask_url(str(exc).splitlines()[0])) from exc


def event_writer(settings: Settings, client: Any) -> EventWriter:
    analytics = next((s for s in settings.services if s.slug == ANALYTICS_SLUG), None)
    p95 = analytics.baseline.p95_ms if analytics and analytics.baseline else 120.0
    ev = settings.fleet.events
    model = EventModel(seed=settings.fleet.seed, events_per_minute=ev.events_per_minute,
                       users=ev.users, response_p95_ms=p95,
                       amplitude=settings.fleet.daily_amplitude)
    return EventWriter(client, model, table=settings.sources.clickhouse.table,
                       backfill_days=ev.backfill_days)


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "fleet.json"


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically, so `apollo fleet fault` never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(path)


@dataclass
class RunningFleet:
    """A started fleet plus its event writer thread; `stop()` ends both."""

    fleet: Fleet
    writer: EventWriter | None
    state_path: Path
    backfilled: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _fill_loop(self) -> None:
        assert self.writer is not None
        while not self._stop.wait(EVENT_FILL_INTERVAL_S):
            try:
                self.writer.fill(self.fleet.clock())
            except Exception:  # an events hiccup must not stop the fleet; next pass retries
                log.exception("writing fleet events")

    def stop(self) -> None:
        self._stop.set()
        self.fleet.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.state_path.unlink(missing_ok=True)


def start_fleet(settings: Settings, *, events_client: Any | None = None) -> RunningFleet:
    """Bind the fleet's ports, backfill events, start writing live ones."""
    settings.ensure_data_dir()  # before any port is taken: nothing to undo
    fleet = build_fleet(settings)
    fleet.start()
    running = RunningFleet(fleet, None, state_file(settings))
    try:
        if settings.fleet.events.enabled:
            client = events_client if events_client is not None else open_events(settings)
            running.writer = event_writer(settings, client)
            running.writer.ensure_table()
            running.backfilled = running.writer.fill(fleet.clock())
            running._thread = threading.Thread(target=running._fill_loop, name="fleet-events",
                                               daemon=True)
            running._thread.start()
        write_state(running.state_path, {**fleet.state(), "pid": os.getpid()})
    except BaseException:
        running.stop()
        raise
    return running


def read_state(settings: Settings) -> dict[str, Any]:
    path = state_file(settings)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no running fleet found (start one with `apollo fleet` or `apollo demo`, "
            "or pass --control URL)"
        ) from None
