"""The alert, delivery and silence resources of the HTTP API, on SQLite and PostgreSQL.

The store holds what the evaluator and the worker write (Apollo's alerts with their
transitions, outbox rows sent and dead) and an alert a real Alertmanager payload posted to
the receiver. Reads are checked against `apollo alerts … --json` on the same store and
against the rows read back in SQL; writes need a token with scope write (401 without one,
403 with a read token) and refuse bad input with a 422 naming the field.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from services.alerting.policy import fingerprint
from services.alerting.read import ALERTS, OUTBOX, SILENCES, TRANSITIONS
from services.api.app import create_app
from services.config import EXAMPLE_CONFIG, load_settings
from services.store.models import Acknowledgement

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
NOW = float(int(time.time()))  # the CLI lists silences in force at its own `now`
READ, WRITE = "read-token-0123456789abcdef", "write-token-fedcba9876543210"
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
AS_READER = {"Authorization": f"Bearer {READ}"}
ACKS = Acknowledgement.__table__
PAYMENTS = "payment-service-availability"
DELIVERY_TIMES = ("created_at", "sent_at", "next_attempt_at")
SILENCE_TIMES = ("starts_at", "ends_at", "created_at")


def rfc3339(seconds: float | None) -> str | None:
    """Unix seconds as the API writes a time: RFC 3339 in UTC with `Z`, a fraction of a
    second only when there is one (worked out here, not by the API's own renderer)."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def as_answered(row: dict, times: tuple[str, ...]) -> dict:
    """A row of Unix seconds (the store's, the CLI's) with its `times` as the API writes them."""
    return {k: rfc3339(v) if k in times else v for k, v in row.items()}


def _apollo_alert(conn, slo: str, service: str, severity: str, state: str, team: str,
                  **times: float) -> int:
    """An alert as the evaluator writes it, with its transitions up to `state`."""
    alert_id = conn.execute(ALERTS.insert().values(
        fingerprint=fingerprint(slo, "burn", severity), source="apollo", kind="burn",
        name=slo.title().replace("-", ""), slo=slo, service=service, severity=severity,
        state=state, episode=1, labels={"severity": severity, "slo": slo, "service": service,
                                        "team": team},
        annotations={"summary": f"{slo} burning"}, updated_at=NOW,
        values={"burn_rates": {"5m": 20.5, "1h": 16.25}, "budget_remaining": 0.4}, **times,
    ).returning(ALERTS.c.id)).scalar_one()
    steps = [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]
    path = steps[:{"pending": 1, "firing": 2, "resolved": 3}[state]]
    for i, (before, after) in enumerate(path):
        conn.execute(TRANSITIONS.insert().values(
            alert_id=alert_id, key=f"{fingerprint(slo, 'burn', severity)}:1:{after}",
            at=NOW - 600 + 60 * i, from_state=before, to_state=after, episode=1,
            burn_rates={"5m": 20.5 - i, "1h": 16.25}, budget_remaining=0.4 - 0.01 * i,
            reason=f"test step {i}", silenced=False))
    return alert_id


def _outbox(conn, alert_id: int, n: int, status: str, error: str | None = None) -> None:
    conn.execute(OUTBOX.insert().values(
        message_key=f"m{n}", key=f"k{n}", notifier="slack-sre", kind="transition",
        alert_id=alert_id, transition_id=None, group_key="g", group_wait_s=0.0,
        payload={"text": "x"}, status=status, attempts=3 if status == "dead" else 1,
        created_at=NOW - 100 + n, next_attempt_at=NOW - 50 + n, deadline_at=NOW + 3600,
        sent_at=NOW - 90 + n if status == "sent" else None, last_error=error))


@pytest.fixture
def world(engine, tmp_path, monkeypatch):
    """(client, config, ids): the API over a store with alerts, transitions, deliveries."""
    monkeypatch.setenv("APOLLO_API_TOKENS", f"write:{WRITE},read:{READ}")
    with engine.begin() as conn:
        page = _apollo_alert(conn, PAYMENTS, "payment-service", "page", "firing", "payments",
                             active_since=NOW - 600, fired_at=NOW - 540)
        ticket = _apollo_alert(conn, "user-service-latency", "user-service", "ticket",
                               "resolved", "identity", active_since=NOW - 7200,
                               fired_at=NOW - 7000, resolved_at=NOW - 3600)
        for n, (status, error) in enumerate([("sent", None), ("dead", "HTTP 500 from slack"),
                                             ("pending", "timeout"), ("dead", "HTTP 404")]):
            _outbox(conn, page, n, status, error)
    settings = load_settings(EXAMPLE_CONFIG, data_dir=str(tmp_path / "var"))
    client = TestClient(create_app(settings, engine, clock=lambda: NOW))
    received = client.post("/api/v1/alerts/alertmanager", headers=AS_WRITER, json={
        "version": "4", "status": "firing", "receiver": "apollo", "alerts": [{
            "status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical",
                                           "service": "database-cluster", "team": "data"},
            "annotations": {"summary": "disk 95% full"},
            "startsAt": "2026-11-02T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]})
    assert received.status_code == 200, received.text
    config = tmp_path / "apollo.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "var"),
        "database_url": engine.url.render_as_string(hide_password=False)}))
    return client, config, {"page": page, "ticket": ticket}


def apollo(config: Path, *args: str) -> list:
    result = subprocess.run([*APOLLO, "--config", str(config), "alerts", *args, "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- reads ---------------------------------------------------------------------------------


def test_the_list_is_apollo_alerts_and_alertmanagers_as_the_cli_lists_them(world):
    client, config, _ = world
    got = client.get("/api/v1/alerts")
    assert got.status_code == 200, got.text
    api = got.json()
    cli = apollo(config)
    assert [a["id"] for a in api["items"]] == [a["id"] for a in cli] and api["total"] == 3
    for mine, theirs in zip(api["items"], cli, strict=True):
        for key in ("fingerprint", "source", "kind", "name", "slo", "service", "severity",
                    "state", "episode", "labels", "annotations", "values"):
            assert mine[key] == theirs[key], key
        for key in ("fired_at", "resolved_at"):  # the CLI keeps Unix seconds
            assert mine[key] == rfc3339(theirs[key]), key
    assert [a["state"] for a in api["items"]] == ["firing", "firing", "resolved"]
    external = next(a for a in api["items"] if a["source"] == "alertmanager")
    assert (external["name"], external["severity"], external["kind"]) == (
        "DiskFull", "critical", "external")


@pytest.mark.parametrize(("params", "names"), [
    pytest.param({"state": "resolved"}, ["UserServiceLatency"], id="by state"),
    pytest.param({"source": "alertmanager"}, ["DiskFull"], id="by source"),
    pytest.param({"source": "apollo", "state": "firing"}, ["PaymentServiceAvailability"],
                 id="source and state"),
    pytest.param({"team": "data"}, ["DiskFull"], id="by team label"),
    pytest.param({"service": "user-service"}, ["UserServiceLatency"], id="by service"),
    pytest.param({"label": "severity=page"}, ["PaymentServiceAvailability"], id="any label"),
    pytest.param({"slo": PAYMENTS}, ["PaymentServiceAvailability"], id="by SLO"),
    pytest.param({"limit": "1", "offset": "1"}, ["PaymentServiceAvailability"], id="a page"),
])
def test_alerts_filter_by_state_source_labels_and_page(world, params, names):
    client, _, _ = world
    body = client.get("/api/v1/alerts", params=params).json()
    assert [a["name"] for a in body["items"]] == names
    if "limit" in params:
        assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)


def test_one_alert_has_its_transitions_newest_first_as_stored(world, engine):
    client, _, ids = world
    got = client.get(f"/api/v1/alerts/{ids['page']}")
    assert got.status_code == 200, got.text
    alert = got.json()
    with engine.connect() as conn:
        stored = conn.execute(sa.select(TRANSITIONS).where(TRANSITIONS.c.alert_id == ids["page"])
                              .order_by(TRANSITIONS.c.at.desc())).mappings().all()
    assert [(t["to_state"], t["at"], t["burn_rates"], t["budget_remaining"], t["reason"])
            for t in alert["transitions"]] == [
        (t["to_state"], rfc3339(t["at"]), t["burn_rates"], t["budget_remaining"], t["reason"])
        for t in stored]
    assert [t["to_state"] for t in alert["transitions"]] == ["firing", "pending"]
    assert alert["values"] == {"burn_rates": {"5m": 20.5, "1h": 16.25}, "budget_remaining": 0.4}
    assert alert["acknowledgements"] == []
    assert client.get("/api/v1/alerts/999999").status_code == 404
    wrong = client.get("/api/v1/alerts/one")
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["path", "alert_id"]


def test_deliveries_are_the_outbox_newest_first_and_dead_letters_alone(world):
    client, config, _ = world
    every = client.get("/api/v1/alerts/deliveries").json()
    assert [d["key"] for d in every["items"]] == [d["key"] for d in apollo(config, "deliveries")]
    assert [d["status"] for d in every["items"]] == ["dead", "pending", "dead", "sent"]
    dead = client.get("/api/v1/alerts/deliveries", params={"dead": "true"}).json()
    cli = apollo(config, "deliveries", "--dead")
    assert dead["items"] == [as_answered({k: d[k] for k in dead["items"][0]}, DELIVERY_TIMES)
                             for d in cli]
    assert dead["total"] == 2 and [d["last_error"] for d in dead["items"]] == [
        "HTTP 404", "HTTP 500 from slack"]
    page = client.get("/api/v1/alerts/deliveries", params={"limit": "2", "offset": "1"}).json()
    assert [d["key"] for d in page["items"]] == ["k2", "k1"] and page["total"] == 4


def test_reads_answer_304_while_nothing_changed(world):
    client, _, ids = world
    for url in ("/api/v1/alerts", f"/api/v1/alerts/{ids['page']}", "/api/v1/alerts/deliveries",
                "/api/v1/silences"):
        first = client.get(url)
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url


@pytest.mark.parametrize(("url", "params", "named"), [
    pytest.param("/api/v1/alerts", {"state": "burning"}, "state", id="an unknown state"),
    pytest.param("/api/v1/alerts", {"source": "prometheus"}, "source", id="an unknown source"),
    pytest.param("/api/v1/alerts", {"offset": "-1"}, "offset", id="a negative offset"),
    pytest.param("/api/v1/alerts/deliveries", {"dead": "maybe"}, "dead", id="not a boolean"),
    pytest.param("/api/v1/silences", {"limit": "100000"}, "limit", id="too large a page"),
    pytest.param("/api/v1/alerts", {"slo": "pay\x00ments"}, "slo",
                 id="a NUL, which PostgreSQL text cannot hold"),
    pytest.param("/api/v1/alerts/99999999999", {}, "alert_id", id="an id past the store's"),
])
def test_bad_read_parameters_are_422_naming_them(world, url, params, named):
    client, _, _ = world
    got = client.get(url, params=params)
    assert got.status_code == 422, got.text
    assert [e["loc"][-1] for e in got.json()["detail"]] == [named]


# --- writes: acknowledgements --------------------------------------------------------------


def test_acknowledging_needs_a_write_token_and_stores_the_ack(world, engine):
    client, _, ids = world
    url = f"/api/v1/alerts/{ids['page']}/ack"
    body = {"author": "ana", "reason": "rolling back v1.4.2", "for": "2h"}
    assert client.post(url, json=body).status_code == 401
    refused = client.post(url, json=body, headers=AS_READER)
    assert refused.status_code == 403 and "write" in refused.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ACKS)).scalar() == 0
    got = client.post(url, json=body, headers=AS_WRITER)
    assert got.status_code == 201, got.text
    with engine.connect() as conn:
        row = conn.execute(sa.select(ACKS)).mappings().one()
    assert got.json() == as_answered(dict(row), ("at", "expires_at"))
    assert (row["alert_id"], row["episode"], row["author"], row["reason"]) == (
        ids["page"], 1, "ana", "rolling back v1.4.2")
    assert (row["at"], row["expires_at"]) == (NOW, NOW + 7200)
    shown = client.get(f"/api/v1/alerts/{ids['page']}").json()["acknowledgements"]
    assert shown == [got.json()]
    missing = client.post("/api/v1/alerts/424242/ack", json=body, headers=AS_WRITER)
    assert missing.status_code == 404


@pytest.mark.parametrize(("body", "named"), [
    pytest.param({"reason": "x"}, "author", id="no author"),
    pytest.param({"author": ""}, "author", id="an empty author"),
    pytest.param({"author": "   "}, "author", id="a blank author"),
    pytest.param({"author": "ana", "for": "soon"}, "for", id="not a duration"),
    pytest.param({"author": "ana", "for": "0s"}, "for", id="no time at all"),
    pytest.param({"author": "ana", "until": "tomorrow"}, "until", id="an unknown field"),
])
def test_a_bad_acknowledgement_is_422_naming_the_field_and_stores_nothing(world, engine, body,
                                                                         named):
    client, _, ids = world
    got = client.post(f"/api/v1/alerts/{ids['page']}/ack", json=body, headers=AS_WRITER)
    assert got.status_code == 422, got.text
    assert [e["loc"] for e in got.json()["detail"]] == [["body", named]]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ACKS)).scalar() == 0


# --- writes: silences ----------------------------------------------------------------------


def test_a_silence_is_added_listed_as_the_cli_lists_it_and_expired(world, engine):
    client, config, _ = world
    body = {"matchers": [f'slo="{PAYMENTS}"', 'severity=~"page|ticket"'], "author": "ana",
            "reason": "planned failover", "for": "2h"}
    assert client.post("/api/v1/silences", json=body).status_code == 401
    assert client.post("/api/v1/silences", json=body, headers=AS_READER).status_code == 403
    added = client.post("/api/v1/silences", json=body, headers=AS_WRITER)
    assert added.status_code == 201, added.text
    silence = added.json()
    assert (silence["starts_at"], silence["ends_at"], silence["active"]) == (
        rfc3339(NOW), rfc3339(NOW + 7200), True)
    later = client.post("/api/v1/silences", headers=AS_WRITER, json={
        "matchers": ['service="user-service"'], "author": "bo", "reason": "migration",
        "starts_at": "now+1h", "ends_at": NOW + 4 * 3600})
    assert later.status_code == 201, later.text
    assert (later.json()["starts_at"], later.json()["active"]) == (rfc3339(NOW + 3600), False)

    listed = client.get("/api/v1/silences").json()
    assert [s["id"] for s in listed["items"]] == [silence["id"], later.json()["id"]]
    cli = apollo(config, "silences")
    assert [{k: s[k] for k in c} for s, c in zip(listed["items"], cli, strict=True)] == [
        as_answered(c, SILENCE_TIMES) for c in cli]

    assert client.delete(f"/api/v1/silences/{silence['id']}").status_code == 401
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=AS_READER
                         ).status_code == 403
    ended = client.delete(f"/api/v1/silences/{silence['id']}", headers=AS_WRITER)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["ends_at"], ended.json()["active"]) == (rfc3339(NOW), False)
    with engine.connect() as conn:
        assert conn.execute(sa.select(SILENCES.c.ends_at).where(
            SILENCES.c.id == silence["id"])).scalar() == NOW
    assert [s["id"] for s in client.get("/api/v1/silences").json()["items"]] == [
        later.json()["id"]]
    assert len(client.get("/api/v1/silences", params={"expired": "true"}).json()["items"]) == 2
    again = client.delete(f"/api/v1/silences/{silence['id']}", headers=AS_WRITER)
    assert again.status_code == 404


GOOD = {"matchers": ['slo="x"'], "author": "ana", "reason": "why", "for": "1h"}


@pytest.mark.parametrize(("change", "named"), [
    pytest.param({"matchers": []}, "matchers", id="no matcher"),
    pytest.param({"matchers": ["slo=x y"]}, "matchers", id="a matcher that does not parse"),
    pytest.param({"author": " "}, "author", id="a blank author"),
    pytest.param({"reason": ""}, "reason", id="no reason"),
    pytest.param({"for": None}, "ends_at", id="neither ends_at nor for"),
    pytest.param({"ends_at": "now+1h"}, "for", id="both ends_at and for"),
    pytest.param({"for": "forever"}, "for", id="for that is not a duration"),
    pytest.param({"for": None, "ends_at": "now-1h"}, "ends_at", id="ending before it starts"),
    pytest.param({"starts_at": "next tuesday"}, "starts_at", id="a start outside the grammar"),
    pytest.param({"author": "a\x00b"}, "author", id="a NUL in the author"),
    pytest.param({"matchers": ['slo="\x00"']}, "matchers", id="a NUL in a matcher"),
])
def test_a_bad_silence_is_422_naming_the_field_and_stores_nothing(world, engine, change,
                                                                 named):
    client, _, _ = world
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    got = client.post("/api/v1/silences", json=body, headers=AS_WRITER)
    assert got.status_code == 422, got.text
    assert [e["loc"][:2] for e in got.json()["detail"]] == [["body", named]]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SILENCES)).scalar() == 0


def test_the_receiver_keeps_its_path_beside_alert_ids(world):
    client, _, _ = world
    assert client.post("/api/v1/alerts/alertmanager", json={}).status_code == 401
    assert client.get("/api/v1/alerts/alertmanager").status_code == 422  # not an alert id
    assert client.post("/api/v1/alerts/alertmanager/ack", json=GOOD, headers=AS_WRITER
                       ).status_code == 422


def test_openapi_documents_each_alert_route_its_model_and_refusals(world):
    client, _, _ = world
    paths = client.get("/openapi.json").json()["paths"]
    reads = {"/api/v1/alerts": "AlertListOut", "/api/v1/alerts/{alert_id}": "AlertDetailOut",
             "/api/v1/alerts/deliveries": "DeliveryListOut",
             "/api/v1/silences": "SilenceListOut"}
    for path, model in reads.items():
        answers = paths[path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert {"304", "401", "403", "422"} <= answers.keys()
    writes = {("/api/v1/alerts/{alert_id}/ack", "post"): "201",
              ("/api/v1/silences", "post"): "201",
              ("/api/v1/silences/{silence_id}", "delete"): "200"}
    for (path, method), ok in writes.items():
        answers = paths[path][method]["responses"]
        assert answers[ok]["content"]["application/json"]["schema"]["$ref"].endswith(
            "SilenceOut" if "silence" in path else "AcknowledgementOut")
        assert {"401", "403", "422"} <= answers.keys()
    assert "post" in paths["/api/v1/alerts/alertmanager"]  # the receiver, untouched
