"""The Alerts page: its builders against hand-made rows, its logic in AppTest over a store
where the alert evaluator, the delivery worker and the Alertmanager receiver wrote real
rows, and its pixels in Chromium.

The store: two SLOs of the payment service over five hours of SLI minutes. Availability
burns at 20 % errors for 40 minutes (page fires then resolves, ticket keeps firing);
latency burns at 100 % for the last 12 minutes (page pending under `for: 5m`, ticket
firing). Notifications go to a sink that answers 200 and to a pager that is down (a
one-hour deadline makes its older ones dead letters); an Alertmanager posts one firing and
one resolved alert. Expected figures are read back with SQL or worked out here.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from dashboard.figures import alerts as figures
from services.alerting.evaluate import AlertEvaluator
from services.alerting.read import ACKS, ALERTS, OUTBOX, SILENCES, TRANSITIONS
from services.alerting.receiver import parse_payload, store_payload
from services.alerting.silences import add_silence
from services.alerting.worker import DeliveryWorker
from services.config import EXAMPLE_CONFIG, load_settings
from services.files import slo_catalog
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import SliMinute
from slo.burn import burn_factor
from slo.windows import GOOGLE_30D

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "dashboard" / "pages" / "alerts.py"
AVAILABILITY, LATENCY = "payment-service-availability", "payment-service-latency"
MINUTES = 300
WRITE_TOKEN = "write-token-fedcba9876543210"
READ_TOKEN = "read-token-0123456789abcdef"


# --- the store ------------------------------------------------------------------------------


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def sink() -> Iterator[str]:
    """A webhook receiver answering 200 to every POST."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, sink_url: str) -> Path:
    """The example configuration with `for: 5m` on pages, a one-hour delivery deadline and
    two webhook notifiers: `sink` (answers) and `pager` (nobody listens)."""
    doc = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    doc["alerting"]["for"] = {"page": "5m", "ticket": "0s"}
    doc["alerting"]["delivery"]["deadline"] = "1h"
    doc["notifiers"] = [
        {"name": "sink", "kind": "webhook", "url": sink_url},
        {"name": "pager", "kind": "webhook", "url": f"http://127.0.0.1:{closed_port()}/x"}]
    doc["slo_files"] = [str(ROOT / "slos" / "*.yaml")]
    path = folder / "apollo.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(now: float) -> tuple[int, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """First minute and (good, total) per SLO: clean traffic with the two bursts."""
    first = int(now) // 60 * 60 - MINUTES * 60
    rng = np.random.default_rng(5)
    series = {}
    for slug, base, burst, ratio in ((AVAILABILITY, 0.0005, slice(60, 100), 0.2),
                                     (LATENCY, 0.002, slice(MINUTES - 12, MINUTES), 1.0)):
        total = rng.poisson(1000, MINUTES).astype(float)
        ratios = np.full(MINUTES, base)
        ratios[burst] = ratio
        bad = rng.binomial(total.astype(int), ratios).astype(float)
        series[slug] = (total - bad, total)
    return first, series


def seed(url: str, config: Path, now: float) -> None:
    """Alerts as Apollo makes them: SLI minutes, the evaluator minute by minute up to now,
    the delivery worker once, and an Alertmanager's webhook through the receiver."""
    settings = load_settings(config)
    engine = make_engine(url)
    upgrade(engine)
    specs = {s.id: s for s in slo_catalog(settings.slo_files)}
    first, series = _minutes(now)
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("payment-service", "Payment Service")])
        for slug, (good, total) in series.items():
            spec = specs[slug]
            slo_id = ensure_slo(conn, slug=slug, name=spec.name, objective=spec.objective,
                                period_s=int(spec.period.length.total_seconds()),
                                service_id=ids["payment-service"])
            writes.upsert(conn, SliMinute.__table__, [
                (first + 60 * i, slo_id, float(good[i]), float(total[i]), "")
                for i in range(MINUTES)])
    clock = [first + 31 * 60 + 5.0]
    evaluator = AlertEvaluator(engine, [specs[AVAILABILITY], specs[LATENCY]],
                               settings.alerting, settings.notifiers, clock=lambda: clock[0])
    while clock[0] < now:
        evaluator.evaluate()
        clock[0] += 60
    clock[0] = now
    evaluator.evaluate()
    worker = DeliveryWorker(engine, settings.notifiers, settings.alerting.delivery)
    try:
        worker.deliver_once()
    finally:
        worker.close()
    payload = {"version": "4", "status": "firing", "receiver": "apollo", "alerts": [
        {"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "severity":
                                        "critical", "service": "user-service",
                                        "namespace": "prod"},
         "annotations": {"summary": "user-service pods restart"},
         "startsAt": rfc3339(now - 40 * 60), "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus.example/graph"},
        {"status": "resolved", "labels": {"alertname": "HighMemory", "severity": "warning",
                                          "service": "analytics-engine"},
         "startsAt": rfc3339(now - 3 * 3600), "endsAt": rfc3339(now - 2 * 3600)}]}
    store_payload(engine, parse_payload(json.dumps(payload).encode()), now=now)
    with engine.begin() as conn:  # one silence that ended an hour ago
        add_silence(conn, [f'slo="{AVAILABILITY}"'], author="carol", reason="maintenance",
                    starts_at=now - 3 * 3600, ends_at=now - 3600, now=now - 3 * 3600)
    engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, float]]:
    """(store URL, config, when it was seeded): written once for the module's page tests,
    which each work on a copy."""
    folder = tmp_path_factory.mktemp("alerts-store")
    now = time.time()
    with sink() as url:
        config = write_config(folder, url)
        store = f"sqlite:///{folder / 'apollo.db'}"
        seed(store, config, now)
        yield store, config, now


@pytest.fixture
def store(seeded, tmp_path) -> tuple[str, Path, sa.Engine]:
    """A copy of the seeded store for one test (its writes stay its own)."""
    url, config, _ = seeded
    source = Path(url.removeprefix("sqlite:///"))
    copy = tmp_path / "apollo.db"
    src, dst = sa.create_engine(url), sa.create_engine(f"sqlite:///{copy}")
    with src.connect() as a, dst.connect() as b:
        a.connection.driver_connection.backup(b.connection.driver_connection)
    src.dispose()
    assert source.exists()
    yield f"sqlite:///{copy}", config, dst
    dst.dispose()


def sql_rows(engine: sa.Engine, query: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
