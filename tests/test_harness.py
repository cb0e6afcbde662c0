"""The harness starts real servers, they answer, they restart, and failures are loud."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from harness import (
    HarnessError,
    PostgresProcess,
    PrometheusProcess,
    ServerProcess,
    free_port,
    start_redis,
    wait_until,
)
from harness.servers import pid_alive, redis_ping

pytestmark = pytest.mark.servers


def libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_answers_and_is_version_15(postgres_server: PostgresProcess, pg_url: str):
    with psycopg.connect(postgres_server.conninfo()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        version = conn.execute("show server_version").fetchone()
    assert version is not None and str(version[0]).startswith("15")

    # pg_url is a separate, fresh database on the same server.
    assert pg_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/")
    with psycopg.connect(libpq_url(pg_url)) as conn:
        row = conn.execute("select current_database()").fetchone()
    assert row is not None and row[0] == pg_url.rsplit("/", 1)[1] != "postgres"


def test_postgres_restart_keeps_committed_data(postgres_server: PostgresProcess, pg_url: str):
    old_pid = postgres_server.pid
    with psycopg.connect(libpq_url(pg_url)) as conn:
        conn.execute("create table kept (id int primary key, note text)")
        conn.execute("insert into kept values (1, 'before restart')")
        conn.commit()

        postgres_server.restart()

        with pytest.raises(psycopg.OperationalError):  # the old session really was cut
            conn.execute("select 1")

    assert postgres_server.is_running()
    assert postgres_server.pid is not None and postgres_server.pid != old_pid
    assert old_pid is not None and not pid_alive(old_pid)
    with psycopg.connect(libpq_url(pg_url)) as conn:
        assert conn.execute("select id, note from kept").fetchall() == [(1, "before restart")]


# --- Redis -----------------------------------------------------------------------------------


def test_redis_round_trip_and_version(redis_url: str):
    with redis.Redis.from_url(redis_url) as client:
        assert client.set("harness:key", "value") is True
        assert client.get("harness:key") == b"value"
        assert str(client.info("server")["redis_version"]).startswith("7")


def test_redis_restart_and_idempotent_stop(tmp_path: Path):
    server = start_redis(tmp_path)
    try:
        first_pid = server.pid
        server.restart()
        assert server.pid != first_pid and first_pid is not None and not pid_alive(first_pid)
        assert redis_ping(server.port)
        with redis.Redis.from_url(server.url) as client:
            assert client.ping() is True
    finally:
        server.stop()
    server.stop()  # a second stop is a no-op
    assert not server.is_running()
    assert not redis_ping(server.port)


# --- Prometheus ------------------------------------------------------------------------------


def self_scrape(job: str, port: int) -> dict[str, Any]:
    return {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}


def test_prometheus_scrapes_itself_and_reloads(
    prometheus_factory: Callable[..., PrometheusProcess],
):
    port = free_port()
    prom = prometheus_factory([self_scrape("prometheus", port)], port=port)
    assert prom.url == f"http://127.0.0.1:{port}"

    prom.wait_for_targets_up(1, timeout=30)
    result: list[dict[str, Any]] = []

    def up_is_one() -> bool:
        nonlocal result
        result = prom.query('up{job="prometheus"}')["result"]
        return [sample["value"][1] for sample in result] == ["1"]

    assert wait_until(up_is_one, 30), f"up never became 1: {result}"

    prom.reload_config(scrape_configs=[self_scrape("prometheus", port), self_scrape("again", port)])
    targets = prom.wait_for_targets_up(2, timeout=30)
    assert {t["labels"]["job"] for t in targets} == {"prometheus", "again"}


# --- Alertmanager ----------------------------------------------------------------------------


def post_alert(alertmanager: ServerProcess, alertname: str) -> None:
    alert = {
        "labels": {"alertname": alertname, "severity": "page"},
        "annotations": {"summary": "harness test alert"},
        "startsAt": datetime.now(UTC).isoformat(),
    }
    response = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], trust_env=False)
    assert response.status_code == 200, response.text


def test_alertmanager_accepts_and_lists_alert(alertmanager_factory: Callable[..., ServerProcess]):
    alertmanager = alertmanager_factory()
    post_alert(alertmanager, "HarnessListed")

    def listed() -> bool:
        response = httpx.get(f"{alertmanager.url}/api/v2/alerts", trust_env=False)
        return any(a["labels"]["alertname"] == "HarnessListed" for a in response.json())

    assert wait_until(listed, 10)


@pytest.fixture
def webhook_sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP server collecting the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_alertmanager_delivers_to_webhook(
    alertmanager_factory: Callable[..., ServerProcess],
    webhook_sink: tuple[str, list[dict[str, Any]]],
):
    url, received = webhook_sink
    alertmanager = alertmanager_factory(receivers_webhook_url=url)
    post_alert(alertmanager, "HarnessDelivered")

    def delivered() -> bool:
        return any(
            a["labels"]["alertname"] == "HarnessDelivered" for p in received for a in p["alerts"]
        )

    assert wait_until(delivered, 15), f"webhook got {received}\n{alertmanager.log_tail()}"


# --- Failures are errors, never skips --------------------------------------------------------


def test_missing_binary_raises_harness_error(tmp_path: Path):
    missing = str(tmp_path / "no-such-redis-server")
    with pytest.raises(HarnessError) as info:
        start_redis(tmp_path, binary=missing)
    message = str(info.value)
    assert missing in message
    assert "redis" in message and "127.0.0.1:" in message and "command:" in message


def test_server_not_ready_by_deadline_is_stopped(tmp_path: Path):
    fake = tmp_path / "fake-redis"
    pid_file = tmp_path / "fake.pid"
    fake.write_text(f'#!/bin/sh\necho "fake redis starting"\necho $$ > {pid_file}\nexec sleep 60\n')
    fake.chmod(0o755)

    started = time.monotonic()
    with pytest.raises(HarnessError) as info:
        start_redis(tmp_path, binary=str(fake), startup_timeout=1.0)
    assert time.monotonic() - started < 15

    message = str(info.value)
    assert "not ready within 1s" in message
    assert "fake redis starting" in message  # the log tail is in the message
    assert not pid_alive(int(pid_file.read_text()))
