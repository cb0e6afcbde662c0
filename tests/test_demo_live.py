"""`apollo demo` collecting live, in real time: `start_demo` in this process on a short
history, with the real fleet, the real API child and the real collector jobs, on
loopback. Nothing is faked, so the waits are real: the demos here run side by side and
serve every test (about four minutes in all, most of it waiting for minutes to end).

- Its own API is scraped as the service `apollo-api` the configuration names, so the SLOs
  of slos/apollo-api.yaml have data and raise no absent-data ticket.
- The seam between the history written on first start and the live collection has no
  missing minute: every fleet service has a row for every minute from the history's start
  to a minute only the live collector can have written. Also when writing the history
  took longer than the lead it is written with (a month of it takes over 100 s on one
  core): a second demo's history is written as if it had taken 4 minutes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml
from harness.servers import wait_until

from services.config import load_settings
from services.runtime import demo as demo_module
from services.runtime.demo import start_demo
from services.store import queries
from services.store.engine import make_engine

ROOT = Path(__file__).resolve().parents[1]
MINUTE = 60
HISTORY_MINUTES = 72
HISTORY_DAYS = HISTORY_MINUTES / 1440  # 0.05: the config's field is whole days
AHEAD_S = 120  # the history is written this far past its start (demo.SEAM_S, stated again)
LATE_S = 240  # the second demo's history "took" this long to write
ABSENT_AFTER_S = 180  # the absent-data alert's wait, shortened from 10 minutes
SCRAPE_S = 5
API_SLOS = ("apollo-api-availability", "apollo-api-latency")
API_SERVICE = "apollo-api"
# The first live round may be slow (the embedded ClickHouse opens); a bound, not a timing.
FIRST_ROUND_BOUND_S = 60

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]


def floor_minute(t: float) -> int:
    return int(t // MINUTE * MINUTE)


def demo_config(tmp: Path) -> Path:
    """The example configuration, on this test's own data dir and free ports, with absolute
    paths (the API child runs in another directory's context), a 5 s scrape and a 3-minute
    absent-data wait."""
    doc = yaml.safe_load((ROOT / "apollo.example.yaml").read_text(encoding="utf-8"))
    doc["data_dir"] = str(tmp / "var")
    doc["slo_files"] = [str(ROOT / "slos" / "*.yaml")]
    sources = doc["sources"]
    sources["scrape"]["interval"] = f"{SCRAPE_S}s"
    sources["roadmap"]["files"] = [str(ROOT / "docs" / "platform" / "roadmap.md")]
    sources["costs"]["files"] = [str(ROOT / "docs" / "platform" / "costs.md")]
    doc["alerting"]["absent"]["after"] = f"{ABSENT_AFTER_S}s"
    doc["fleet"]["events"]["backfill_days"] = 1
    doc["fleet"]["history_days"] = 1  # replaced below by a shorter one (whole days here)
    doc["api"]["port"] = 0
    doc["dashboard"]["port"] = 0
    path = tmp / "apollo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


class LiveDemo:
    def __init__(self, tmp: Path, *, api: bool = True, events: bool = True) -> None:
        settings = load_settings(demo_config(tmp))
        fleet = settings.fleet.model_copy(update={"history_days": HISTORY_DAYS})
        if not events:
            fleet = fleet.model_copy(update={"events": fleet.events.model_copy(
                update={"enabled": False})})
        self.settings = settings.model_copy(update={"fleet": fleet})
        self.fleet_services = [s.slug for s in settings.services if s.baseline is not None]
        self.stop_event = threading.Event()
        self.said: list[str] = []
        self.before = time.time()
        self.demo = start_demo(self.settings, self.stop_event, self.said.append,
                               dashboard=False, api=api)
        self.started = time.time()  # the first live scrape was taken before this
        self.engine = make_engine(self.settings.store_url)

    def close(self) -> None:
        self.stop_event.set()
        self.demo.stop()
        self.engine.dispose()

    def runs(self, collector: str) -> list[tuple[datetime, datetime, str]]:
        table = sa.table("collector_runs", sa.column("collector"), sa.column("started_at"),
                         sa.column("finished_at"), sa.column("status"), sa.column("id"))
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.started_at, table.c.finished_at,
                                          table.c.status)
                                .where(table.c.collector == collector)
                                .order_by(table.c.id)).all()
        return [(utc(a), utc(b), status) for a, b, status in rows]

    def minutes(self, services: list[str], start: int, end: int) -> dict[str, list[int]]:
        """Per service, the minutes of [start, end) the store has a row for."""
        with self.engine.connect() as conn:
            frame = queries.service_metrics(conn, start, end, services=services)
        return {s: sorted(int(ts.timestamp()) for ts in frame.loc[frame["service"] == s, "ts"])
                for s in services}


def hhmm(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")


def utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text for a raw table
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def late_history(real):
    """`write_history` whose first call writes as if the history had taken LATE_S to write:
    its end is LATE_S behind the one asked for (the time between asking and the collector's
    first scrape is what matters at the seam; later calls are left as they are)."""
    calls = []

    def write(*args, end, **kwargs):
        calls.append(end)
        return real(*args, end=end - LATE_S if len(calls) == 1 else end, **kwargs)

    return write


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Both demos, started one after the other and running side by side: `live` as
    `apollo demo` runs it (without the dashboard), `late` without the API and events,
    its history written as if that had taken LATE_S."""
    started: dict[str, LiveDemo] = {}
    try:
        started["live"] = LiveDemo(tmp_path_factory.mktemp("live"))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(demo_module, "write_history", late_history(demo_module.write_history))
            started["late"] = LiveDemo(tmp_path_factory.mktemp("late"), api=False,
                                       events=False)
        yield started
    finally:
        for demo in started.values():
            demo.close()


def assert_no_missing_minute(live: LiveDemo, ahead_s: float) -> None:
    """Every fleet service has a row for every minute from the history's start to the
    first minute only live collection can have written, and one instance in each."""
    # The history ends `ahead_s` past the moment it was asked for (between `before` and the
    # demo's start), on a whole minute, and is HISTORY_MINUTES long; then the demo may
    # write on to AHEAD_S past a moment before its start.
    ends = [floor_minute(t + ahead_s) for t in (live.before, live.started)]
    starts = {end - HISTORY_MINUTES * MINUTE for end in ends}
    # a minute at or after every possible end of what was written before the start
    live_only = floor_minute(live.started + AHEAD_S)
    assert wait_until(lambda: all(live.minutes(live.fleet_services, live_only,
                                               live_only + MINUTE).values()),
                      timeout=live_only + 2 * MINUTE - time.time()), live.said
    since = min(starts) - HISTORY_MINUTES * MINUTE  # before the history: nothing there
    got = live.minutes(live.fleet_services, since, live_only + MINUTE)
    for service, minutes in got.items():
        history_start = minutes[0]
        assert history_start in starts, (service, hhmm(history_start))
        expected = range(history_start, live_only + MINUTE, MINUTE)
        missing = [hhmm(m) for m in sorted(set(expected) - set(minutes))]
        assert missing == [], f"{service}: no row for minutes {missing}"
    # history and live rows share the fleet's instance: the minutes written ahead were
    # replaced by the live ones, not added to them
    with live.engine.connect() as conn:
        frame = queries.service_metrics(conn, since, live_only + MINUTE,
                                        services=live.fleet_services)
    assert set(frame["instances"]) == {1}


def test_the_seam_between_history_and_live_collection_has_no_missing_minute(demos):
    assert_no_missing_minute(demos["live"], AHEAD_S)


def test_no_minute_is_missing_when_writing_the_history_outlasted_its_lead(demos):
    """The history ends LATE_S - AHEAD_S before the demo started: the collector's first
    whole minute came minutes after it. The demo writes the minutes between before the
    collector starts."""
    assert_no_missing_minute(demos["late"], AHEAD_S - LATE_S)


def test_the_demo_scrapes_its_own_api_and_its_slos_raise_no_absent_data_alert(demos):
    live = demos["live"]
    api = next(child for child in live.demo.children if child.name == "api")
    # what the collector scrapes answers on loopback
    assert "apollo_api_requests_total" in httpx.get(f"{api.url}/metrics", timeout=5,
                                                    trust_env=False).text

    # Alert evaluation began in the demo's first round, before its first run finished.
    assert wait_until(lambda: bool(live.runs("alerts")), FIRST_ROUND_BOUND_S), live.said
    began_by = live.runs("alerts")[0][1]
    # A round at least ABSENT_AFTER_S after that: without SLI data the absent alerts fire by
    # then (plus two rounds' slack).
    due = began_by.timestamp() + ABSENT_AFTER_S + 2 * SCRAPE_S
    assert wait_until(lambda: any(started.timestamp() >= due
                                  for started, _, _ in live.runs("alerts")),
                      timeout=due - time.time() + FIRST_ROUND_BOUND_S), live.said
    with live.engine.connect() as conn:
        alerts = conn.execute(sa.text(
            "SELECT slo, kind, severity, state FROM alerts WHERE service = :service OR slo IN "
            "(:a, :b)"), {"service": API_SERVICE, "a": API_SLOS[0], "b": API_SLOS[1]}).all()
    assert [tuple(a) for a in alerts if a.state in ("pending", "firing")] == []
    assert not [line for line in live.said if API_SERVICE in line], live.said

    # the API's minutes and both of its SLOs' minutes are in the store: the last whole
    # minutes before `due` (each scrape counts as a request to the API)
    end = floor_minute(due)
    with live.engine.connect() as conn:
        service = queries.service_metrics(conn, end - 2 * MINUTE, end, services=[API_SERVICE])
        sli = queries.sli(conn, end - 2 * MINUTE, end, slos=list(API_SLOS))
    assert sorted(int(ts.timestamp()) for ts in service["ts"]) == [end - 2 * MINUTE,
                                                                    end - MINUTE]
    assert (service["requests"] > 0).all()
    assert sorted(set(sli["slo"])) == sorted(API_SLOS)
    for slo in API_SLOS:
        rows = sli[sli["slo"] == slo]
        assert len(rows) == 2 and (rows["total"] > 0).all(), slo
