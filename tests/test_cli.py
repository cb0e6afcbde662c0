"""The `apollo` command as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.store.migrate import head_revision

APOLLO = str(Path(sys.executable).with_name("apollo"))
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APOLLO, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_db_upgrade_creates_the_store_and_is_safe_twice(tmp_path):
    env = {"APOLLO_DATA_DIR": str(tmp_path / "data")}
    for _ in range(2):
        result = run("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"at revision {head_revision()}" in result.stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'apollo.db'}")
    assert "service_minutes" in sa.inspect(engine).get_table_names()


def test_db_upgrade_on_postgresql(pg_url, tmp_path):
    result = run("db", "upgrade", env={"APOLLO_DATABASE_URL": pg_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "postgresql+psycopg://postgres@127.0.0.1" in result.stdout


def test_an_unreachable_store_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://apollo:pw@127.0.0.1:{port}/apollo"
    result = run("db", "upgrade", env={"APOLLO_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"apollo: error: postgresql+psycopg://apollo:***@127.0.0.1:{port}/apollo: cannot connect")
    assert "pw@" not in result.stderr


def test_a_bad_config_file_is_one_line_naming_file_line_and_field(tmp_path):
    config = tmp_path / "apollo.yaml"
    config.write_text("services:\n  - slug: api\n    name: API\nfleet:\n  base_port: 70000\n")
    result = run("--config", str(config), "config", "check", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"apollo: error: {config}:5: fleet.base_port: Input should be less "
                             "than or equal to 65535 (got 70000)\n")
    assert result.stdout == ""


def test_usage_errors_exit_2(tmp_path):
    assert run("fleet", "fault", cwd=tmp_path).returncode == 2
    assert run("no-such-command", cwd=tmp_path).returncode == 2


def test_a_taken_fleet_port_is_named_and_nothing_is_left_behind(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = {"APOLLO_DATA_DIR": str(tmp_path / "var"), "APOLLO_FLEET__CONTROL_PORT": str(port),
               "APOLLO_FLEET__EVENTS__ENABLED": "false"}
        result = run("fleet", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"apollo: error: port 127.0.0.1:{port} (fleet control) is already "
                             "in use\n")
    assert not (tmp_path / "var" / "fleet.json").exists()


class Demo:
    """`apollo demo` in the background, its output read line by line."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.env = {**os.environ, "APOLLO_DATA_DIR": str(tmp_path / "var"),
                    "APOLLO_CONFIG": str(ROOT / "apollo.example.yaml"),
                    "APOLLO_FLEET__EVENTS__BACKFILL_DAYS": "1", "APOLLO_DASHBOARD__PORT": "0",
                    "APOLLO_API__PORT": "0", "APOLLO_FLEET__HISTORY_DAYS": "1"}
        self.process = subprocess.Popen([APOLLO, "demo", *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=self.env,
                                        cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_until(self, predicate, timeout: float = 60) -> list[str]:
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError("demo output ended or timed out:\n" + "\n".join(seen))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def demo(tmp_path):
    demo = Demo(tmp_path)
    try:
        yield demo
    finally:
        demo.stop()


def test_demo_prints_the_fleet_urls_serves_them_and_stops_cleanly(demo, tmp_path):
    lines = demo.read_until(lambda line: "events backfilled" in line)
    assert any(line.startswith("wrote 1 days of history") for line in lines)
    urls = {line.split()[0]: line.split()[1] for line in lines if "/metrics" in line}
    assert set(urls) == {"api-gateway", "auth-service", "user-service", "payment-service",
                         "analytics-engine", "notification-hub", "database-cluster"}
    for url in urls.values():
        page = httpx.get(url, timeout=5).text
        assert "http_request_duration_seconds_bucket" in page
    dashboard = next(line.split()[1] for line in lines if line.split()[0] == "dashboard")
    assert httpx.get(f"{dashboard}/_stcore/health", timeout=5).text == "ok"
    api = next(line.split()[1] for line in lines if line.split()[0] == "api")
    assert api.endswith("/docs")
    assert httpx.get(api.removesuffix("/docs") + "/health", timeout=5).json() == {"status": "ok"}
    sink = next(line.split()[2] for line in lines if line.startswith("  webhook sink"))
    assert sink.startswith("http://127.0.0.1:")

    fault = subprocess.run([APOLLO, "fleet", "fault", "payment-service", "error_burst",
                            "--rate", "0.2", "--for", "2m"], capture_output=True, text=True,
                           env=demo.env, cwd=tmp_path, timeout=30)
    assert fault.returncode == 0, fault.stderr
    status = subprocess.run([APOLLO, "fleet", "status"], capture_output=True, text=True,
                            env=demo.env, cwd=tmp_path, timeout=30)
    row = next(line for line in status.stdout.splitlines() if line.startswith("payment-service"))
    assert "faults: error_burst" in row
    # the demo's terminal tells the fault in one line (at its next round)
    told = demo.read_until(lambda line: line.startswith("fault injected: payment-service"),
                           timeout=60)
    assert "20% of requests failing" in told[-1]

    store = sa.create_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    with store.connect() as conn:
        services = conn.execute(sa.text("SELECT slug FROM services ORDER BY id")).scalars().all()
    # every configured service is registered: the fleet's, and Apollo's own API (measured,
    # not simulated, so it has no page of the fleet)
    assert services == [*urls, "apollo-api"]

    def engagement_rows() -> int:
        with store.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM engagement_days")).scalar()

    deadline = time.monotonic() + 30
    while engagement_rows() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    # the in-process collector rolled up the backfilled day and today: 2 days x (3 types + all)
    assert engagement_rows() == 8
    with store.connect() as conn:  # and read the platform's roadmap: 26 checklist items
        assert conn.execute(sa.text("SELECT count(*) FROM roadmap_items")).scalar() == 26

    assert demo.stop() == 0
    rest = demo.read_until(lambda line: line == "stopped", timeout=10)
    assert rest[-1] == "stopped"
    assert not (tmp_path / "var" / "fleet.json").exists()
    for url in (urls["api-gateway"], dashboard, api, sink):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)

    again = Demo(tmp_path)  # a restart keeps the data and says so
    try:
        lines = again.read_until(lambda line: "events backfilled" in line)
        assert "resumed, 1 days of history" in lines
        assert not any("wrote" in line and "history" in line for line in lines)
    finally:
        assert again.stop() == 0


@pytest.mark.servers
@pytest.mark.timeout(900)  # the page needs ~4.5 minutes of errors, in real time
def test_demo_incident_pages_through_the_whole_path(tmp_path):
    """`apollo demo --incident payment-errors`: 20% of the payment service's requests fail;
    its availability SLO (99.9%) pages once the hour's error ratio passes 14.4 x 0.1%
    (about 4.3 minutes of 20%) and the 5 minutes' does too; the page goes through the
    outbox to the demo's webhook sink, and the terminal tells each step in one line."""
    demo = Demo(tmp_path, "--incident", "payment-errors")
    try:
        demo.read_until(lambda line: line.startswith("fault injected: payment-service"),
                        timeout=180)
        fired = demo.read_until(
            lambda line: line.startswith("alert firing: page payment-service-availability"),
            timeout=600)
        assert "pending -> firing" in fired[-1] or "inactive -> firing" in fired[-1]
        store = sa.create_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")

        def page_keys(status: str = "%") -> list[str]:
            with store.connect() as conn:
                return conn.execute(sa.text(
                    "SELECT o.key FROM notification_outbox o JOIN alerts a ON a.id = o.alert_id "
                    "WHERE a.slo = 'payment-service-availability' AND a.severity = 'page' "
                    "AND o.status LIKE :status"), {"status": status}).scalars().all()

        # the ticket of the same SLO fires about when the page does: its delivery line may
        # come first, so read delivery lines until the page's key is in one
        for _ in range(10):
            delivered = demo.read_until(lambda line: line.startswith("delivered to demo-sink:"),
                                        timeout=120)
            if any(key in delivered[-1] for key in page_keys()):
                break
        assert any(key in delivered[-1] for key in page_keys())
        for _ in range(50):  # the outbox row is marked sent once the sink has answered
            if any(key in delivered[-1] for key in page_keys("sent")):
                break
            time.sleep(0.1)
        assert any(key in delivered[-1] for key in page_keys("sent"))
        store.dispose()
    finally:
        assert demo.stop() == 0


def test_main_prints_our_errors_in_one_line_and_lets_a_bug_keep_its_traceback(monkeypatch,
                                                                              capsys):
    import sys

    import services.cli.db as db_commands
    from services.cli.main import main
    from services.errors import ConfigError

    def ours() -> None:
        raise ConfigError("apollo.yaml:3: services.0.slug: must be lowercase")

    def bug() -> None:
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(sys, "argv", ["apollo", "config", "check"])
    monkeypatch.setattr(db_commands, "settings", ours)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    assert capsys.readouterr().err == (
        "apollo: error: apollo.yaml:3: services.0.slug: must be lowercase\n")
    monkeypatch.setattr(db_commands, "settings", bug)
    with pytest.raises(ValueError, match="an internal invariant broke"):
        main()
