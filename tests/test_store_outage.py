"""The store down, for real: the API answers 503 with Retry-After (never 500, never cached),
and the delivery worker and the scheduler (its run log, a job that needs the store) log the
outage once, then its end.

PostgreSQL is really stopped (`pg_ctl stop -m fast`) and started again on the same port;
the API runs under uvicorn on a free loopback port, as `apollo api` runs it. What counts as
an outage (services/store/outage.py) is checked on errors real drivers raise.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter
from fastapi.testclient import TestClient
from harness.servers import PostgresProcess, free_port, wait_until
from harness.sink import RecordingSink

import services.alerting.worker as worker_module
import services.runtime.scheduler as scheduler_module
from collectors.runs import RunResult
from services.alerting.message import AlertMessage
from services.alerting.outbox import Envelope, enqueue
from services.alerting.worker import DeliveryWorker
from services.api.app import create_app
from services.api.deps import Conn
from services.config import EXAMPLE_CONFIG, Delivery, Notifier, load_settings
from services.errors import StoreError
from services.runtime.scheduler import Job, Scheduler
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import Marker
from services.store.outage import RETRY_AFTER_S, Outage, store_unavailable
from services.store.writes import upsert

WRITE = "write-token-fedcba9876543210"
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
SLUG, SLO = "payment-service", "payment-service-availability"
READS = ["/api/v1/services", f"/api/v1/services/{SLUG}", f"/api/v1/services/{SLUG}/series",
         "/api/v1/slos", f"/api/v1/slos/{SLO}", f"/api/v1/slos/{SLO}/history",
         "/api/v1/alerts", "/api/v1/alerts/deliveries", "/api/v1/silences", "/api/v1/runs",
         "/api/v1/markers", "/api/v1/roadmap", "/api/v1/costs", "/api/v1/engagement"]
DETAIL = f"the store is unavailable (OperationalError); retry in {RETRY_AFTER_S} s"


def alertmanager_payload() -> dict:
    return {"version": "4", "groupKey": '{}:{alertname="HighLatency"}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "apollo", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency"},
                        "annotations": {}, "startsAt": "2026-12-01T00:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": ""}]}


WRITES = [
    ("/api/v1/markers", {"kind": "deploy", "at": "now", "text": "v2"}),
    ("/api/v1/silences", {"matchers": [f'slo="{SLO}"'], "author": "me", "reason": "test",
                          "for": "1h"}),
    ("/api/v1/alerts/alertmanager", alertmanager_payload()),
]


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def served(pg_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """create_app over the PostgreSQL store, under uvicorn on a free loopback port."""
    monkeypatch.setenv("APOLLO_API_TOKENS", f"write:{WRITE}")
    app = create_app(load_settings(EXAMPLE_CONFIG, api={"rate_limit_per_minute": 10**6}),
                     pg_engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started or not thread.is_alive(), 15)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/ready").status_code == 200
    except httpx.HTTPError:
        return False


def _assert_unavailable(answer: httpx.Response, what: str) -> None:
    assert answer.status_code == 503, (what, answer.status_code, answer.text)
    assert answer.headers["retry-after"] == str(RETRY_AFTER_S), what
    assert answer.headers["cache-control"] == "no-store", what
    assert answer.headers["content-type"] == "application/json", what
    assert "x-apollo-cache" not in answer.headers, what  # never kept, never replayed
    assert answer.json() == {"detail": DETAIL}, what


def test_postgresql_stopped_every_route_answers_503_then_200_when_it_is_back(
        served: str, postgres_server: PostgresProcess, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    with httpx.Client(base_url=served, trust_env=False, timeout=30) as client:
        assert client.get("/ready").json()["status"] == "ready"
        postgres_server.stop()
        try:
            for path in READS:
                for _ in range(2):  # the second is not a cached refusal either
                    _assert_unavailable(client.get(path), path)
            for path, body in WRITES:
                _assert_unavailable(client.post(path, json=body, headers=AS_WRITER), path)
            # requests asking the same thing at once follow one computation (single
            # flight); none of them is served the refusal from the cache
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: client.get("/api/v1/slos"), range(16)))
            for answer in answers:
                _assert_unavailable(answer, "concurrent /api/v1/slos")
            assert client.get("/ready").status_code == 503
            assert client.get("/health").status_code == 200
        finally:
            postgres_server.start()
        assert wait_until(lambda: _ready(client), 30), "the API did not get ready again"
        for path in READS:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["x-apollo-cache"] == "miss", path  # computed, not replayed
        for path, body in WRITES:
            assert client.post(path, json=body, headers=AS_WRITER).status_code in (200, 201)
        metrics = client.get("/metrics").text
    assert 'route="/api/v1/slos",status="503"' in metrics
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if r.name == "services.api.errors"]
    assert len(lines) == 1 and "store unavailable, answering 503" in lines[0], lines


def test_the_openapi_document_declares_503_with_retry_after_on_every_api_operation(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    paths = TestClient(create_app(load_settings(EXAMPLE_CONFIG), engine)).get(
        "/openapi.json").json()["paths"]
    operations = [(p, m, op) for p, ops in paths.items() if p.startswith("/api/v1/")
                  for m, op in ops.items()]
    assert len(operations) > 20
    for path, method, operation in operations:
        answer = operation["responses"]["503"]
        assert "Retry-After" in answer["headers"], (method, path)
        assert "application/json" in answer["content"], (method, path)
    assert "503" not in paths["/health"]["get"]["responses"]


def _app_with_bugs(engine: sa.Engine) -> TestClient:
    """The API with two routes that fail as bugs do, inside the store."""
    app = create_app(load_settings(EXAMPLE_CONFIG), engine)
    bugs = APIRouter()

    @bugs.get("/api/v1/bug/statement")
    def bad_statement(conn: Conn) -> dict:
        return {"n": conn.execute(sa.text("SELECT * FROM no_such_table")).scalar()}

    @bugs.get("/api/v1/bug/row")
    def refused_row(conn: Conn) -> dict:
        upsert(conn, Marker.__table__, [(None,)])  # a row the store refuses
        return {}

    app.include_router(bugs)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_bug_in_the_store_is_still_a_500(engine, caplog):
    client = _app_with_bugs(engine)
    for path in ("/api/v1/bug/statement", "/api/v1/bug/row"):
        answer = client.get(path)
        assert answer.status_code == 500, (path, answer.text)
        assert "retry-after" not in answer.headers
    assert client.get("/api/v1/runs").status_code == 200


# --- what counts as the store being unavailable: errors real drivers raise ----------------


def _raised(call) -> BaseException:
    try:
        call()
    except Exception as exc:  # the error itself is the subject
        return exc
    raise AssertionError("it did not fail")


def test_a_closed_port_is_unavailable_a_bad_statement_is_not(tmp_path: Path):
    closed = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    refused = _raised(lambda: closed.connect().close())
    assert isinstance(refused, sa.exc.OperationalError)
    assert store_unavailable(refused).startswith("OperationalError: connection failed")
    try:  # a bulk write cut off: the raw driver's error, wrapped
        raise StoreError("minutes: bulk upsert failed") from refused.orig
    except StoreError as exc:
        assert store_unavailable(exc) == store_unavailable(refused)

    path = tmp_path / "apollo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        bad = _raised(lambda: conn.execute(sa.text("SELEC 1")))
        missing = _raised(lambda: conn.execute(sa.text("SELECT * FROM nothing_here")))
    assert store_unavailable(bad) is None and store_unavailable(missing) is None
    with engine.begin() as conn:
        refused_row = _raised(lambda: upsert(conn, Marker.__table__, [(None,)]))
    assert isinstance(refused_row, StoreError) and store_unavailable(refused_row) is None

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held
    try:
        waiter = sqlite3.connect(path, timeout=0.0, isolation_level=None)
        locked = _raised(lambda: waiter.execute("BEGIN IMMEDIATE"))
        waiter.close()
    finally:
        holder.rollback()
        holder.close()
    assert store_unavailable(locked) == "OperationalError: database is locked"
    engine.dispose()


def test_an_outage_is_one_warning_and_one_info_line(caplog):
    closed = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    refused = _raised(lambda: closed.connect().close())
    log = logging.getLogger("test.outage")
    caplog.set_level(logging.DEBUG, logger="test.outage")
    outage = Outage(log, "work", retry_s=2)
    outage.answered()  # up all along: nothing to say
    assert all(outage.failed(refused) for _ in range(5))
    assert not outage.failed(RuntimeError("a bug"))  # for the caller to log, with traceback
    outage.answered()
    outage.answered()
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == ["WARNING"] + ["DEBUG"] * 4 + ["INFO"]
    assert levels[0][1].startswith("work paused: the store is unavailable (OperationalError: ")
    assert levels[-1][1].startswith("work resumed: the store answers again")
    assert levels[-1][1].endswith(", 5 failed rounds)")


# --- the delivery worker, PostgreSQL really stopped -----------------------------------------


def _message(i: int) -> AlertMessage:
    return AlertMessage(key=f"fp{i}:1:firing", fingerprint=f"fp{i}", name="PaymentsBurn",
                        status="firing", severity="page", starts_at=time.time(),
                        slo="payments-avail", service="payments",
                        labels={"alertname": "PaymentsBurn"})  # type: ignore[arg-type]


def _enqueue(engine: sa.Engine, i: int) -> None:
    with engine.begin() as conn:
        enqueue(conn, [Envelope(_message(i), "hook", group_key=f"fp{i}")], now=time.time(),
                deadline_s=3600)


def _keys(sink: RecordingSink) -> list[str]:
    return [a["key"] for r in sink.delivered() for a in json.loads(r.body)["alerts"]]


def test_the_delivery_worker_logs_a_store_outage_once_and_its_end(
        pg_engine, postgres_server, caplog, monkeypatch):
    monkeypatch.setattr(worker_module, "STORE_RETRY_S", 0.05)  # rounds come quickly
    caplog.set_level(logging.DEBUG, logger="services.alerting.worker")
    stop = threading.Event()
    with RecordingSink() as sink:
        worker = DeliveryWorker(pg_engine, [Notifier(name="hook", kind="webhook",
                                                     url=f"{sink.url}/hook")], Delivery())
        thread = worker.start(stop)
        try:
            _enqueue(pg_engine, 1)
            worker.wake.set()
            sink.wait_for(lambda _: _keys(sink) == ["fp1:1:firing"], 30)
            postgres_server.stop()
            try:
                def failed_rounds() -> int:
                    return sum("still unavailable" in r.getMessage() for r in caplog.records)

                assert wait_until(lambda: failed_rounds() >= 20, 60), "the worker stopped"
                assert thread.is_alive()
            finally:
                postgres_server.start()
            assert wait_until(lambda: any("resumed" in r.getMessage()
                                          for r in caplog.records), 60)
            _enqueue(pg_engine, 2)  # delivery goes on after the outage
            worker.wake.set()
            sink.wait_for(lambda _: _keys(sink) == ["fp1:1:firing", "fp2:1:firing"], 30)
        finally:
            stop.set()
            worker.wake.set()
            thread.join(15)
    assert not thread.is_alive()
    said = [(r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "services.alerting.worker" and r.levelno >= logging.INFO]
    assert len(said) == 2, said
    (first, warning), (second, info) = said
    assert first == "WARNING" and second == "INFO"
    # the reason: the connection cut (AdminShutdown) or refused (OperationalError)
    assert re.fullmatch(r"delivery paused: the store is unavailable \((AdminShutdown|"
                        r"OperationalError): [^\n]+\); retrying every 0.05 s", warning), warning
    assert info.startswith("delivery resumed: the store answers again")
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"


def test_a_delivery_round_failing_on_a_bug_still_logs_its_traceback(tmp_path, caplog,
                                                                   monkeypatch):
    """A store without the outbox table (never migrated): `no such table` is a bug, not an
    outage, and is logged with its traceback every round."""
    monkeypatch.setattr(worker_module, "STORE_RETRY_S", 0.05)
    caplog.set_level(logging.WARNING, logger="services.alerting.worker")
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    stop = threading.Event()
    worker = DeliveryWorker(engine, [], Delivery())
    thread = worker.start(stop)
    try:
        assert wait_until(lambda: len(caplog.records) >= 3, 30)
    finally:
        stop.set()
        thread.join(15)
    engine.dispose()
    errors = [r for r in caplog.records if r.name == "services.alerting.worker"]
    assert all(r.levelname == "ERROR" and r.exc_info for r in errors)
    assert all(r.getMessage() == "delivery round failed" for r in errors)


# --- the scheduler's run log, PostgreSQL really stopped ---------------------------------------


def _recorded(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT collector, status, message FROM collector_runs ORDER BY id"))]


def test_the_scheduler_logs_a_store_outage_once_and_writes_the_runs_it_kept(
        pg_engine, postgres_server, caplog):
    """Five rounds with PostgreSQL stopped (the rounds driven, not waited for): one warning
    as recording fails, one for the job that needs the store, debug lines after, one info
    line each when the store answers again, naming how many kept runs were written; no
    traceback, and every run of every round is in the store afterwards."""
    caplog.set_level(logging.DEBUG, logger="services.runtime.scheduler")

    def roadmap() -> list[RunResult]:  # needs no store to run
        return [RunResult("roadmap", "plan.md", samples=1).finish()]

    def rollup() -> list[RunResult]:  # reads the store
        with pg_engine.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM collector_runs")).scalar()
        return [RunResult("rollup", "minutes").finish()]

    scheduler = Scheduler(pg_engine, [Job("roadmap", 10, roadmap), Job("rollup", 10, rollup)])
    scheduler.run_due(0.0)
    assert len(_recorded(pg_engine)) == 2
    postgres_server.stop()
    try:
        for now in (10.0, 20.0, 30.0, 40.0, 50.0):
            ran = scheduler.run_due(now)
            assert [(r.collector, r.status) for r in ran] == [("roadmap", "ok"),
                                                              ("rollup", "failed")]
        assert len(scheduler.log.backlog) == 10
    finally:
        postgres_server.start()
    scheduler.run_due(60.0)
    assert not scheduler.log.backlog

    recorded = _recorded(pg_engine)
    assert [(c, s) for c, s, _ in recorded] == [("roadmap", "ok"), ("rollup", "ok")] + [
        ("roadmap", "ok"), ("rollup", "failed")] * 5 + [("roadmap", "ok"), ("rollup", "ok")]
    assert all(m.startswith("OperationalError: ") for c, s, m in recorded if s == "failed")

    ours = [r for r in caplog.records if r.name == "services.runtime.scheduler"]
    assert not any(r.exc_info for r in ours), "a traceback was logged"
    said = [(r.levelname, r.getMessage()) for r in ours if r.levelno >= logging.INFO]
    assert [level for level, _ in said] == ["WARNING", "WARNING", "INFO", "INFO"], said
    assert re.fullmatch(r"recording runs paused: the store is unavailable \(OperationalError: "
                        r"[^\n]+\); retrying at each round; 1 run kept until it answers "
                        r"\(at most 10000\)", said[0][1]), said[0][1]
    assert re.fullmatch(r"job rollup paused: the store is unavailable \(OperationalError: "
                        r"[^\n]+\); retrying every 10 s", said[1][1]), said[1][1]
    assert re.fullmatch(r"recording runs resumed: the store answers again \(unavailable for "
                        r"\d+ s, 10 failed rounds\); wrote the 11 runs kept meanwhile",
                        said[2][1]), said[2][1]
    assert re.fullmatch(r"job rollup resumed: the store answers again \(unavailable for \d+ s, "
                        r"5 failed rounds\)", said[3][1]), said[3][1]
    debug = [m for level, m in ((r.levelname, r.getMessage()) for r in ours) if level == "DEBUG"]
    assert len(debug) == 9 + 4
    assert "recording runs: the store is still unavailable (OperationalError: " in debug[0]
    assert debug[-1].endswith("; 10 runs kept until it answers (at most 10000)")


def test_a_full_run_backlog_says_how_many_runs_it_dropped(tmp_path, caplog, monkeypatch):
    """The store's file cannot be opened for four rounds with room for three runs: as it
    answers again at the fifth, the three last runs are written and the info line says the
    two oldest were dropped."""
    monkeypatch.setattr(scheduler_module, "RUN_BACKLOG", 3)
    caplog.set_level(logging.INFO, logger="services.runtime.scheduler")
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    broken = make_engine(f"sqlite:///{tmp_path / 'gone' / 'apollo.db'}")
    (tmp_path / "gone").rmdir()  # make_engine created the folder: take it away again
    scheduler = Scheduler(broken, [Job("roadmap", 10, lambda: [
        RunResult("roadmap", "plan.md").finish()])])
    for now in (0.0, 10.0, 20.0, 30.0):
        scheduler.run_due(now)
    assert scheduler.log.dropped == 1
    scheduler.log.engine = engine  # the store is back
    scheduler.run_due(40.0)
    said = [r.getMessage() for r in caplog.records if r.name == "services.runtime.scheduler"]
    assert len(said) == 2, said
    assert said[0].startswith("recording runs paused: the store is unavailable "
                              "(OperationalError: unable to open database file)")
    assert said[1].endswith("; wrote the 3 runs kept meanwhile, 2 older ones dropped "
                            "(the backlog was full)")
    assert len(_recorded(engine)) == 3
    engine.dispose()
