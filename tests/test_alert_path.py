"""The whole path in real time: fleet fault -> collection -> SLO page -> Alertmanager -> sink.

No clock is faked here: the demo fleet serves its pages, the collector scrapes them every
5 s, the alert job evaluates each whole minute, the delivery worker posts to a real
Alertmanager (group_wait 1 s), and Alertmanager's webhook reaches the sink.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from harness.sink import RecordingSink

from collectors.scrape import Target
from services.config import EXAMPLE_CONFIG, load_settings
from services.fleet.faults import Fault
from services.fleet.runner import start_fleet
from services.runtime.jobs import build_delivery, build_jobs
from services.runtime.scheduler import Scheduler
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SLUG = "payment-service"
SLO_ID = "payment-service-availability"


def _page_firing(requests: list) -> bool:
    return any(a["status"] == "firing" and a["labels"].get("slo") == SLO_ID
               and a["labels"].get("severity") == "page"
               for r in requests if r.path == "/am" and r.json for a in r.json["alerts"])


def test_an_error_burst_pages_through_a_real_alertmanager(tmp_path, alertmanager_factory):
    with RecordingSink() as sink:
        alertmanager = alertmanager_factory(receivers_webhook_url=f"{sink.url}/am")
        settings = load_settings(
            EXAMPLE_CONFIG, data_dir=str(tmp_path / "var"),
            slo_files=[str(ROOT / "slos" / f"{SLUG}.yaml")],
            notifiers=[{"name": "am", "kind": "alertmanager", "url": alertmanager.url}],
            fleet={"events": {"enabled": False}},
            sources={"scrape": {"interval": "5s", "timeout": "2s"}})
        engine = make_engine(settings.store_url)
        upgrade(engine)
        fleet = start_fleet(settings)
        stop = threading.Event()
        worker = build_delivery(settings, engine)
        assert worker is not None
        try:
            targets = [Target(SLUG, fleet.fleet.urls[SLUG])]
            jobs = build_jobs(settings, engine, targets=targets, on_enqueue=worker.wake.set)
            assert [j.name for j in jobs][:2] == ["scrape", "alerts"]
            scheduler = Scheduler(engine, jobs, stop_event=stop)
            scheduler.start()
            worker.start(stop)
            time.sleep(70)  # a clean minute or more first, so the fault starts mid-window
            fault = fleet.fleet.inject(SLUG, Fault("error_burst", until=time.time() + 900,
                                                   rate=0.2))
            assert fault.start is not None
            sink.wait_for(_page_firing, timeout=240)
            paged = next(r.received_at for r in sink.requests if _page_firing([r]))
            # the page came from whole minutes: the minute the burst began, or later
            assert paged - fault.start < 150
            active = httpx.get(f"{alertmanager.url}/api/v2/alerts", timeout=5).json()
            page = [a for a in active if a["labels"].get("slo") == SLO_ID
                    and a["labels"].get("severity") == "page"]
            assert page and page[0]["status"]["state"] == "active"
            assert page[0]["annotations"]["apollo_key"].endswith(":firing")
        finally:
            stop.set()
            fleet.stop()
            engine.dispose()
