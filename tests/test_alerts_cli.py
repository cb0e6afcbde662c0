"""`apollo alerts` and `apollo config check` as users run them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.sink import RecordingSink
from sqlalchemy import select

from services.alerting.message import AlertMessage
from services.alerting.outbox import Envelope, enqueue
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import OutboxMessage, Silence

APOLLO = str(Path(sys.executable).with_name("apollo"))


def run(config: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APOLLO, "--config", str(config), *args], capture_output=True,
                          text=True, timeout=60, cwd=config.parent,
                          env={**os.environ, **(env or {})})


def make_config(tmp_path: Path, notifiers: list[dict]) -> Path:
    config = tmp_path / "apollo.yaml"
    config.write_text(json.dumps({"data_dir": str(tmp_path / "var"), "slo_files": [],
                                  "notifiers": notifiers}))
    return config


def test_silence_list_and_expire(tmp_path):
    config = make_config(tmp_path, [])
    assert run(config, "db", "upgrade").returncode == 0
    made = run(config, "alerts", "silence", "payment-service-availability", "--for", "2h",
               "--reason", "planned failover", "--author", "ana")
    assert made.returncode == 0, made.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    with engine.connect() as conn:
        row = conn.execute(select(Silence)).one()
    assert row.matchers == ['slo="payment-service-availability"']
    assert row.author == "ana" and row.reason == "planned failover"
    assert row.ends_at - row.starts_at == 7200
    listed = run(config, "alerts", "silences")
    assert "planned failover" in listed.stdout and "by ana" in listed.stdout
    assert run(config, "alerts", "expire", str(row.id)).returncode == 0
    assert "no silences in force" in run(config, "alerts", "silences").stdout
    again = run(config, "alerts", "expire", str(row.id))
    assert again.returncode == 1 and f"silence {row.id}: no such silence" in again.stderr
    bad = run(config, "alerts", "silence", "x", "--for", "soon", "--reason", "r")
    assert bad.returncode == 1 and "--for" in bad.stderr


def test_alerts_on_an_empty_store_and_a_bad_state(tmp_path):
    config = make_config(tmp_path, [])
    run(config, "db", "upgrade")
    assert run(config, "alerts").stdout.strip() == "no alerts"
    bad = run(config, "alerts", "--state", "burning")
    assert bad.returncode == 1 and "--state: expected one of" in bad.stderr


def test_test_notifier_sends_and_reports_a_refusal(tmp_path):
    with RecordingSink() as sink:
        config = make_config(tmp_path, [{"name": "hook", "kind": "webhook",
                                         "url": f"{sink.url}/hook"}])
        sent = run(config, "alerts", "test", "hook")
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.startswith("sent") and "HTTP 200" in sent.stdout
        (request,) = sink.requests
        assert request.json["alerts"][0]["name"] == "ApolloTestAlert"
        sink.fail_next(1, status=500)
        refused = run(config, "alerts", "test", "hook")
        assert refused.returncode == 1 and "HTTP 500" in refused.stdout
    unknown = run(config, "alerts", "test", "nobody")
    assert unknown.returncode == 1 and "notifier 'nobody' is not configured" in unknown.stderr


def test_deliveries_show_dead_letters_with_their_reason(tmp_path):
    config = make_config(tmp_path, [])
    run(config, "db", "upgrade")
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    upgrade(engine)
    message = AlertMessage(key="fp:1:firing", fingerprint="fp", name="A", status="firing",
                           severity="page", starts_at=time.time())
    with engine.begin() as conn:
        enqueue(conn, [Envelope(message, "hook")], now=time.time(), deadline_s=60)
        conn.execute(OutboxMessage.__table__.update().values(
            status="dead", attempts=7, last_error="ConnectError: refused"))
    dead = run(config, "alerts", "deliveries", "--dead")
    assert dead.returncode == 0
    assert "dead" in dead.stdout and "fp:1:firing" in dead.stdout
    assert "attempts 7" in dead.stdout and "ConnectError: refused" in dead.stdout


def test_config_check_names_a_missing_notifier_secret(tmp_path):
    config = make_config(tmp_path, [
        {"name": "pager", "kind": "pagerduty", "secret_env": "TEST_UNSET_PD_KEY"},
        {"name": "chat", "kind": "slack", "url_env": "TEST_SET_SLACK_URL"}])
    env = {"TEST_SET_SLACK_URL": "http://127.0.0.1:9/x"}
    result = run(config, "config", "check", env=env)
    assert result.returncode == 1
    assert ("notifiers: pager (pagerduty) needs the environment variable TEST_UNSET_PD_KEY"
            in result.stderr)
    assert "TEST_SET_SLACK_URL" not in result.stderr
    fixed = run(config, "config", "check", env={**env, "TEST_UNSET_PD_KEY": "k" * 32})
    assert fixed.returncode == 0, fixed.stderr
