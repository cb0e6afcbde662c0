"""Alertmanager's webhooks in (services/alerting/receiver.py), on SQLite and PostgreSQL.

Through FastAPI's TestClient: every refused request says why and leaves the store as it was;
good payloads are stored once, transitions only on a change of state. One real path: a real
Alertmanager posting to the router served by uvicorn, authenticated by a bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from harness import free_port, wait_until
from harness.servers import alertmanager_config

from services.alerting.receiver import alertmanager_router, labels_fingerprint
from services.auth import Authenticator
from services.store.models import Alert, AlertTransition

WRITE = "write-token-0123456789abcdef"
READ = "read-token-fedcba9876543210"
SECRET = "the webhook secret"
NOW = 1_800_000_000.0
T0 = NOW - 600  # when the test alerts begin firing
URL = "/api/v1/alerts/alertmanager"
FP = "3fa2c0d1e5b6a798"
ALERTS = Alert.__table__
TRANSITIONS = AlertTransition.__table__


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def am_alert(status: str = "firing", *, fingerprint: str | None = FP, starts: float = T0,
             ends: float | None = None, **labels: str) -> dict:
    """One alert as Alertmanager's webhook writes it (unset endsAt is Go's zero time)."""
    alert = {
        "status": status,
        "labels": {"alertname": "HighLatency", "severity": "page", "job": "payments",
                   "slo": "payments-latency", **labels},
        "annotations": {"summary": "p95 above 300 ms", "runbook_url": "https://runbooks/x"},
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends) if ends is not None else "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    return alert


def am_payload(*alerts: dict) -> dict:
    alerts = alerts or (am_alert(),)
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "apollo",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts),
    }


def bearer(token: str = WRITE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def signed(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    """The documented scheme, computed here: v1= hex HMAC-SHA256 over "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return {"X-Apollo-Timestamp": str(timestamp), "X-Apollo-Signature": "v1=" + mac.hexdigest(),
            "Content-Type": "application/json"}


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode()


def snapshot(engine) -> tuple[list[dict], list[dict]]:
    """Every row of both tables, in id order."""
    with engine.connect() as conn:
        return tuple(
            [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.id)).mappings()]
            for t in (ALERTS, TRANSITIONS)
        )


def counts(engine) -> tuple[int, int]:
    alerts, transitions = snapshot(engine)
    return len(alerts), len(transitions)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(engine, clock, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("APOLLO_API_TOKENS", f"write:{WRITE},read:{READ}")
    monkeypatch.setenv("APOLLO_WEBHOOK_SECRET", SECRET)
    app = FastAPI()
    app.include_router(alertmanager_router(engine, Authenticator.from_env(), clock=clock))
    with TestClient(app) as client:
        yield client


def post(client: TestClient, payload: object, headers: dict[str, str] | None = None):
    return client.post(URL, content=encode(payload), headers=bearer() if headers is None
                       else headers)


# --- refused requests ---------------------------------------------------------------------

GOOD = encode(am_payload())
BIG = encode(am_payload(am_alert(summary="x" * (1 << 20))))

REFUSED = [
    # (headers, body, status, reason)
    pytest.param({}, GOOD, 401, "missing bearer token or signature", id="no credentials"),
    pytest.param(bearer("wrong-token-000000000000"), GOOD, 401, "unknown bearer token",
                 id="a wrong token"),
    pytest.param({"Authorization": "Basic d3JpdGU6dG9rZW4="}, GOOD, 401, "not a bearer token",
                 id="Basic instead of Bearer"),
    pytest.param(bearer(READ), GOOD, 403, "token does not grant write", id="a read token"),
    pytest.param(signed(b"{}", int(NOW)), GOOD, 401, "does not match the body",
                 id="a signature of another body"),
    pytest.param(signed(GOOD, int(NOW), secret="not the secret"), GOOD, 401,
                 "does not match the body", id="a signature with another secret"),
    pytest.param(signed(GOOD, int(NOW) - 301), GOOD, 401, "outside the 300s replay window",
                 id="a signature 301 s old"),
    pytest.param(signed(GOOD, int(NOW) + 301), GOOD, 401, "outside the 300s replay window",
                 id="a signature 301 s in the future"),
    pytest.param(bearer(), b'{"version": "4",', 400, "malformed JSON", id="malformed JSON"),
    pytest.param(bearer(), b"", 400, "empty body", id="an empty body"),
    pytest.param(bearer(), b"\xff\xfe\xfa", 400, "not UTF-8", id="bytes that are not text"),
    pytest.param(bearer(), BIG, 413, "body larger than 1048576 bytes", id="a body over 1 MiB"),
    pytest.param(bearer(), encode([am_payload()]), 422, "(top level): expected a JSON object",
                 id="a list instead of an object"),
    pytest.param(bearer(), encode({**am_payload(), "version": "3"}), 422, "version: ",
                 id="payload version 3"),
    pytest.param(bearer(), encode({**am_payload(), "version": 4}), 422, "version: ",
                 id="version as a number"),
    pytest.param(bearer(), encode({k: v for k, v in am_payload().items() if k != "alerts"}),
                 422, "alerts: Field required", id="no alerts field"),
    pytest.param(bearer(), encode(am_payload(am_alert("pending"))), 422, "alerts[0].status: ",
                 id="an alert neither firing nor resolved"),
    pytest.param(bearer(), encode(am_payload(am_alert(), {**am_alert(), "startsAt": "today"})),
                 422, "alerts[1].startsAt: expected an RFC 3339 time",
                 id="the second alert's startsAt is not a time (nothing of the batch stored)"),
    pytest.param(bearer(), encode(am_payload({**am_alert(), "endsAt": "2024-05-01T12:00:00"})),
                 422, "alerts[0].endsAt: expected an RFC 3339 time", id="a time without zone"),
    pytest.param(bearer(), encode(am_payload({**am_alert(), "startsAt": "2024-02-30T12:00:00Z"})),
                 422, "alerts[0].startsAt", id="a day that does not exist"),
    pytest.param(bearer(), encode(am_payload(am_alert(severity=1))), 422,
                 "alerts[0].labels.severity: ", id="a label value that is not a string"),
    pytest.param(bearer(), encode(am_payload({**am_alert(), "labels": {}})), 422,
                 "alerts[0].labels: ", id="an alert without labels"),
    pytest.param(bearer(), encode(am_payload(am_alert(fingerprint="a b"))), 422,
                 "alerts[0].fingerprint: ", id="a fingerprint with a space"),
]


@pytest.mark.parametrize(("headers", "body", "status", "reason"), REFUSED)
def test_a_refused_request_says_why_and_changes_nothing(client, engine, headers, body, status,
                                                        reason):
    seeded = am_alert(fingerprint="00000000000000aa", alertname="Seeded")
    assert post(client, am_payload(seeded)).status_code == 200  # the store is not empty
    before = snapshot(engine)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    if status in (401, 403):
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(engine) == before
    assert counts(engine) == (1, 1)


def test_no_secret_reaches_a_response(client):
    for headers in (bearer(READ), bearer(WRITE + "x"), signed(b"{}", int(NOW))):
        text = client.post(URL, content=GOOD, headers=headers).text
        assert WRITE not in text and READ not in text and SECRET not in text


# --- stored ---------------------------------------------------------------------------------


def test_a_good_payload_is_stored_as_external_alerts(client, engine):
    other = am_alert(fingerprint="0123456789abcdef", alertname="Down", severity="ticket",
                     service="checkout", job="blackbox", slo="")
    response = post(client, am_payload(am_alert(), other))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2, "transitions": 2}

    alerts, transitions = snapshot(engine)
    by_fp = {a["fingerprint"]: a for a in alerts}
    assert set(by_fp) == {f"am:{FP}", "am:0123456789abcdef"}
    first, second = by_fp[f"am:{FP}"], by_fp["am:0123456789abcdef"]
    assert (first["source"], first["kind"], first["state"], first["episode"]) == (
        "alertmanager", "external", "firing", 1)
    assert (first["name"], first["severity"], first["service"], first["slo"]) == (
        "HighLatency", "page", "payments", "payments-latency")  # service from job
    assert (second["name"], second["severity"], second["service"], second["slo"]) == (
        "Down", "ticket", "checkout", "")  # the service label wins over job
    assert first["labels"] == am_alert()["labels"]
    assert first["annotations"] == {"summary": "p95 above 300 ms",
                                    "runbook_url": "https://runbooks/x"}
    assert first["active_since"] == T0 and first["fired_at"] == T0
    assert first["resolved_at"] is None and first["updated_at"] == NOW
    assert {t["key"] for t in transitions} == {f"am:{FP}:1:firing",
                                               "am:0123456789abcdef:1:firing"}
    assert all((t["from_state"], t["to_state"], t["at"]) == ("inactive", "firing", T0)
               for t in transitions)


def test_the_same_payload_twice_changes_nothing(client, engine, clock):
    payload = am_payload(am_alert(), am_alert(fingerprint=None, alertname="NoFingerprint"))
    assert post(client, payload).json() == {"accepted": 2, "transitions": 2}
    before = snapshot(engine)
    clock.now += 60  # Alertmanager repeats a minute later
    assert post(client, payload).json() == {"accepted": 2, "transitions": 0}
    assert snapshot(engine) == before


def test_firing_resolved_firing_is_three_transitions_and_a_second_episode(client, engine, clock):
    assert post(client, am_payload(am_alert())).json()["transitions"] == 1
    clock.now += 300
    resolved = am_alert("resolved", ends=NOW + 290)
    assert post(client, am_payload(resolved)).json()["transitions"] == 1
    assert post(client, am_payload(resolved)).json()["transitions"] == 0  # repeated
    clock.now += 300
    again = am_alert(starts=NOW + 550)
    assert post(client, am_payload(again)).json()["transitions"] == 1

    (alert,), transitions = snapshot(engine)
    assert (alert["state"], alert["episode"]) == ("firing", 2)
    assert (alert["active_since"], alert["resolved_at"]) == (NOW + 550, None)
    assert [(t["key"], t["from_state"], t["to_state"], t["episode"], t["at"])
            for t in transitions] == [
        (f"am:{FP}:1:firing", "inactive", "firing", 1, T0),
        (f"am:{FP}:1:resolved", "firing", "resolved", 1, NOW + 290),
        (f"am:{FP}:2:firing", "resolved", "firing", 2, NOW + 550),
    ]


def test_a_late_resolve_of_an_earlier_episode_is_ignored(client, engine):
    post(client, am_payload(am_alert()))
    post(client, am_payload(am_alert("resolved", ends=T0 + 60)))
    post(client, am_payload(am_alert(starts=T0 + 120)))  # episode 2
    late = am_alert("resolved", ends=T0 + 60)  # a retry of episode 1's resolve
    assert post(client, am_payload(late)).json() == {"accepted": 1, "transitions": 0}
    (alert,), _ = snapshot(engine)
    assert (alert["state"], alert["episode"]) == ("firing", 2)


def test_a_resolve_without_an_end_time_is_dated_when_it_arrived(client, engine):
    post(client, am_payload(am_alert("resolved")))
    (alert,), (transition,) = snapshot(engine)
    assert (alert["state"], alert["resolved_at"], transition["at"]) == ("resolved", NOW, NOW)


def test_a_missing_fingerprint_is_computed_from_the_labels(client, engine):
    post(client, am_payload(am_alert(fingerprint=None)))
    reordered = am_alert(fingerprint=None)
    reordered["labels"] = dict(reversed(reordered["labels"].items()))
    assert post(client, am_payload(reordered)).json()["transitions"] == 0
    (alert,), _ = snapshot(engine)
    assert alert["fingerprint"] == "am:" + labels_fingerprint(am_alert()["labels"])
    assert len(alert["fingerprint"]) == 3 + 16


def test_times_are_read_as_rfc3339_with_offsets_and_nanoseconds(client, engine):
    alert = {**am_alert(), "startsAt": "2027-01-15T10:00:00.500000123+02:00"}
    assert post(client, am_payload(alert)).status_code == 200
    (stored,), _ = snapshot(engine)
    assert stored["active_since"] == datetime(2027, 1, 15, 8, 0, 0, 500000, UTC).timestamp()


def test_a_signed_request_passes(client, engine):
    response = client.post(URL, content=GOOD, headers=signed(GOOD, int(NOW) - 299))
    assert response.status_code == 200, response.text
    assert counts(engine) == (1, 1)


def test_the_receiver_is_described_in_openapi(client):
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["version"]["const"] == "4"
    assert "$ref" not in json.dumps(schema)
    assert {"401", "413", "422"} <= set(operation["responses"])


# --- one real path: Alertmanager -> uvicorn -> store ----------------------------------------


@pytest.fixture
def served_receiver(engine, monkeypatch) -> Iterator[str]:
    """The router served by uvicorn on a free loopback port in a thread; yields its URL."""
    monkeypatch.setenv("APOLLO_API_TOKENS", f"write:{WRITE}")
    app = FastAPI()
    app.include_router(alertmanager_router(engine, Authenticator.from_env()))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="receiver", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started or not thread.is_alive(), 15)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}{URL}"
    finally:
        server.should_exit = True
        thread.join(15)


def stored_state(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(ALERTS.c.state).where(
            ALERTS.c.source == "alertmanager")).scalar()


@pytest.mark.servers
def test_a_real_alertmanager_posts_to_the_receiver(engine, served_receiver,
                                                   alertmanager_factory):
    alertmanager = alertmanager_factory(served_receiver, group_wait="1s")
    # the harness's config has no http_config: write it with the bearer token and reload
    config = alertmanager_config(served_receiver, "1s")
    config["receivers"][0]["webhook_configs"][0]["http_config"] = {
        "authorization": {"type": "Bearer", "credentials": WRITE}}
    (alertmanager.workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    reload = httpx.post(f"{alertmanager.url}/-/reload", timeout=10, trust_env=False)
    assert reload.status_code == 200, reload.text

    labels = {"alertname": "ErrorBudgetBurn", "severity": "page", "service": "payments",
              "slo": "payments-availability"}
    started = time.time() - 5
    alert = {"labels": labels, "annotations": {"summary": "burning 14.4x"},
             "startsAt": rfc3339(started), "generatorURL": "http://127.0.0.1:9090/graph"}
    posted = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], timeout=10,
                        trust_env=False)
    assert posted.status_code == 200, posted.text
    assert wait_until(lambda: stored_state(engine) == "firing", 30), alertmanager.log_tail()

    # resolved: Alertmanager notifies once endsAt has passed (send_resolved is on)
    alert["endsAt"] = rfc3339(time.time() - 1)
    posted = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], timeout=10,
                        trust_env=False)
    assert posted.status_code == 200, posted.text
    assert wait_until(lambda: stored_state(engine) == "resolved", 30), alertmanager.log_tail()

    (row,), transitions = snapshot(engine)
    # Alertmanager's own fingerprint is the one computed from the labels
    assert row["fingerprint"] == "am:" + labels_fingerprint(labels)
    assert (row["source"], row["kind"], row["name"], row["service"], row["slo"]) == (
        "alertmanager", "external", "ErrorBudgetBurn", "payments", "payments-availability")
    assert row["annotations"] == {"summary": "burning 14.4x"}
    assert row["active_since"] == pytest.approx(started, abs=0.001)
    assert [(t["from_state"], t["to_state"]) for t in transitions] == [
        ("inactive", "firing"), ("firing", "resolved")]


def test_concurrent_posts_of_one_new_alert_store_it_once(engine, served_receiver):
    # Alertmanager HA pairs both post the same group at once: one alert, one transition.
    body = encode(am_payload(am_alert(starts=time.time() - 5)))
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def send() -> None:
        barrier.wait(timeout=10)
        response = httpx.post(served_receiver, content=body, headers=bearer(), timeout=30,
                              trust_env=False)
        codes.append(response.status_code)

    senders = [threading.Thread(target=send) for _ in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    assert codes == [200] * 8
    assert counts(engine) == (1, 1)
