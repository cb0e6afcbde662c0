"""The services and collector-runs resources of the HTTP API, and the one status rule.

Every figure the API answers is checked against a second computation written out here:
sums and means of the rows read back with plain SQL, a percentile interpolated by hand
from the summed bucket counts, a budget from the counts the test itself wrote.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from support import T0, fill_store_from_fleet

from collectors.runs import RunResult, record_run
from services.alerting.read import ALERTS, TRANSITIONS
from services.api.app import create_app
from services.auth import Authenticator, parse_tokens
from services.config import EXAMPLE_CONFIG, load_settings
from services.documents.status import (
    AlertFact,
    BudgetFact,
    service_status,
)
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo, service_ids
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute
from services.store.rollup import apply_retention
from services.store.slo_data import stored_series
from slo.budget import budget_at
from slo.model import Period

MIN = 60
T_0 = int(T0)  # 10:00 UTC, the fleet's day
START = T_0 - 23 * MIN  # the fleet's minutes start at 09:37 ...
END = START + 180 * MIN  # ... and end at 12:37, `now` floored to the minute
NOW = END + 7  # the test clock: 12:37:07, in the middle of an hour
SEED = ["api-gateway", "auth-service", "user-service", "payment-service", "analytics-engine",
        "notification-hub", "database-cluster"]  # the platform table's services, in order
FILLED = ["api-gateway", "user-service", "payment-service", "notification-hub",
          "analytics-engine"]  # auth-service and database-cluster have no data
SECOND_POD = "10.0.0.2:8080"  # payment-service runs two pods in the last half hour
GIB = 2**30

SLO_FILE = """\
apiVersion: apollo/v1
kind: SLO
service: payment-service
name: availability
objective: 99.9
period: 30d
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="payment-service",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="payment-service"}[{{.window}}]))
---
apiVersion: apollo/v1
kind: SLO
service: user-service
name: availability
objective: 99.5
period: 1d
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="user-service",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="user-service"}[{{.window}}]))
---
apiVersion: apollo/v1
kind: SLO
service: user-service
name: latency
objective: 99
period: 30d
sli:
  latency_threshold:
    histogram: http_request_duration_seconds{job="user-service"}
    threshold: 30ms
---
apiVersion: apollo/v1
kind: SLO
service: analytics-engine
name: availability
objective: 99
period: {calendar: day}
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="analytics-engine",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="analytics-engine"}[{{.window}}]))
"""
# SLO -> (objective %, share of the budget each minute's bad events spend on average)
BURN = {"payment-service-availability": (99.9, 1.2),  # overspent: critical
        "user-service-availability": (99.5, 0.8),  # 20% left: warning
        "user-service-latency": (99.0, 0.5),  # half left: nothing
        "analytics-engine-availability": (99.0, 0.3)}
SLI_START = END - 3 * 86_400 + 17 * MIN  # three days of SLI minutes


# --- the status rule, worked by hand -------------------------------------------------------

A = AlertFact


@pytest.mark.parametrize(("alerts", "budgets", "has_data", "status", "subjects"), [
    pytest.param([], [], True, "healthy", [], id="data and nothing wrong is healthy"),
    pytest.param([], [], False, "unknown", [], id="no data and nothing wrong is unknown"),
    pytest.param([A("PayAvail", "page", "firing", "pay-avail")], [], True, "critical",
                 ["PayAvail"], id="a firing page alert is critical"),
    pytest.param([A("PayAvail", "page", "pending")], [], True, "healthy", [],
                 id="a pending page alert is not firing yet"),
    pytest.param([A("PayAvail", "page", "resolved"), A("Old", "ticket", "inactive")], [],
                 True, "healthy", [], id="resolved and inactive alerts count for nothing"),
    pytest.param([A("PayLat", "ticket", "firing")], [], True, "warning", ["PayLat"],
                 id="a firing ticket alert is a warning"),
    pytest.param([A("am", "critical", "firing")], [], True, "critical", ["am"],
                 id="Alertmanager's critical severity pages"),
    pytest.param([A("am", "warning", "firing")], [], True, "warning", ["am"],
                 id="Alertmanager's warning severity is a ticket"),
    pytest.param([A("am", "info", "firing")], [], True, "healthy", [],
                 id="an info alert firing changes nothing"),
    pytest.param([], [BudgetFact("s", 0.0)], True, "critical", ["s"],
                 id="a budget spent to exactly 0 is critical"),
    pytest.param([], [BudgetFact("s", -0.4)], True, "critical", ["s"],
                 id="an overspent budget is critical"),
    pytest.param([], [BudgetFact("s", 0.2499)], True, "warning", ["s"],
                 id="under 25 percent left is a warning"),
    pytest.param([], [BudgetFact("s", 0.25)], True, "healthy", [],
                 id="exactly 25 percent left is not under 25 percent"),
    pytest.param([], [BudgetFact("s", None), BudgetFact("t", math.nan)], True, "healthy", [],
                 id="an SLO without events has no budget to judge"),
    pytest.param([], [BudgetFact("s", None)], False, "unknown", [],
                 id="no data and no budget is unknown"),
    pytest.param([A("Absent", "page", "firing")], [], False, "critical", ["Absent"],
                 id="a firing page outranks missing data"),
    pytest.param([], [BudgetFact("s", 0.1)], False, "warning", ["s"],
                 id="a low budget outranks missing data"),
    pytest.param([A("T", "ticket", "firing")], [BudgetFact("b", 0.9), BudgetFact("a", -1.0)],
                 True, "critical", ["a", "T"],
                 id="critical reasons come first, each reason listed once"),
])
def test_the_status_rule(alerts, budgets, has_data, status, subjects):
    got = service_status(alerts, budgets, has_data=has_data)
    assert got.status == status
    assert [r.subject for r in got.reasons] == subjects


def test_reasons_say_which_alert_and_slo():
    got = service_status([A("PaymentServiceAvailability", "page", "firing",
                            "payment-service-availability")],
                         [BudgetFact("payment-service-latency", 0.125)], has_data=True)
    alert, budget = got.reasons
    assert (alert.level, alert.kind, alert.slo, alert.severity) == (
        "critical", "alert", "payment-service-availability", "page")
    assert "PaymentServiceAvailability" in alert.message
    assert (budget.level, budget.kind, budget.remaining) == ("warning", "budget", 0.125)
    assert "payment-service-latency" in budget.message and "12.5%" in budget.message


# --- a store to read ---------------------------------------------------------------------


def _settings(tmp_path: Path, **api):
    example = load_settings(EXAMPLE_CONFIG)
    services = [s.model_dump(exclude_none=True) for s in example.services if s.slug in SEED]
    for s in services:
        if s["slug"] in ("payment-service", "api-gateway"):
            s["tier"] = "critical"
        if s["slug"] == "payment-service":
            s["labels"] = {"zone": "a"}
    slo_file = tmp_path / "slos.yaml"
    slo_file.write_text(SLO_FILE, encoding="utf-8")
    targets = [{"service": "payment-service", "url": "http://127.0.0.1:9/metrics",
                "environment": "production"},
               {"service": "user-service", "url": "http://127.0.0.1:9/u/metrics",
                "environment": "staging"}]
    return load_settings(EXAMPLE_CONFIG, data_dir=str(tmp_path / "var"), services=services,
                         slo_files=[str(slo_file)], sources={"scrape": {"targets": targets}},
                         api=api)


def _client(settings, engine, tokens: str | None = None) -> TestClient:
    auth = Authenticator(parse_tokens(tokens) if tokens else None, None)
    return TestClient(create_app(settings, engine, clock=lambda: NOW, authenticator=auth))


def _wrote(client: TestClient) -> None:
    """The test wrote to the store behind the API's back: drop its cached answers, as a
    collection round does."""
    client.app.state.layers.invalidate()


def _second_pod(engine) -> None:
    """payment-service's second pod: its own rows (a third of the first's traffic) for the
    last 30 minutes, so every figure has to add two instances up."""
    with engine.begin() as conn:
        sid = service_ids(conn, ["payment-service"])["payment-service"]
        first = conn.execute(text(
            "SELECT minute, requests, errors, latency_sum, latency_count, cpu_ratio, "
            "memory_bytes FROM service_minutes WHERE service_id = :s AND minute >= :lo"),
            {"s": sid, "lo": END - 30 * MIN}).all()
        writes.upsert(conn, ServiceMinute.__table__, [
            (m, sid, r / 3, e / 3, ls / 3, lc / 3, cpu / 2, mem * 0.9, SECOND_POD)
            for m, r, e, ls, lc, cpu, mem in first])
        buckets = conn.execute(text(
            "SELECT minute, le, count FROM latency_bucket_minutes WHERE service_id = :s "
            "AND minute >= :lo"), {"s": sid, "lo": END - 30 * MIN}).all()
        # the second pod is slower: its counts move up one bucket
        by_minute: dict[int, list[tuple[float, float]]] = {}
        for m, le, c in buckets:
            by_minute.setdefault(m, []).append((le, c))
        rows = []
        for m, pairs in by_minute.items():
            pairs.sort()
            counts = [c for _, c in pairs]
            shifted = [0.0, *counts[:-2], counts[-1]]  # cumulative, still ends at the total
            rows += [(m, sid, le, c / 3, SECOND_POD)
                     for (le, _), c in zip(pairs, shifted, strict=True)]
        writes.upsert(conn, LatencyBucketMinute.__table__, rows)


def _sli_counts(slo: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minutes, good, total) the test writes for `slo`: three days, a few minutes missing."""
    objective, burn = BURN[slo]
    rng = np.random.default_rng(len(slo))
    minutes = np.arange(SLI_START, END, MIN)
    minutes = minutes[rng.random(len(minutes)) > 0.01]  # about 1% of minutes never reported
    total = rng.integers(800, 1200, len(minutes)).astype(float)
    bad = np.round(total * (100 - objective) / 100 * burn * rng.uniform(0.5, 1.5, len(total)))
    return minutes, total - bad, total


def _write_slis(engine) -> None:
    with engine.begin() as conn:
        ids = service_ids(conn)
        for slo, (objective, _) in BURN.items():
            service = slo.rsplit("-", 1)[0]
            period = 86_400 if slo == "user-service-availability" else 30 * 86_400
            sid = ensure_slo(conn, slug=slo, name=slo.rsplit("-", 1)[1], objective=objective,
                             period_s=period, service_id=ids[service])
            minutes, good, total = _sli_counts(slo)
            writes.upsert(conn, SliMinute.__table__, [
                (int(m), sid, float(g), float(t)) for m, g, t in zip(minutes, good, total,
                                                                      strict=True)])


def _alert(conn, fingerprint, name, service, severity, state, *, slo="", at=None) -> int:
    alert_id = conn.execute(ALERTS.insert().values(
        fingerprint=fingerprint, name=name, service=service, slo=slo, severity=severity,
        state=state, updated_at=NOW, labels={}, annotations={}, values={})
        .returning(ALERTS.c.id)).scalar_one()
    if at is not None:
        conn.execute(TRANSITIONS.insert().values(
            alert_id=alert_id, key=f"{fingerprint}:1:{state}", at=at, from_state="inactive",
            to_state=state, episode=1, burn_rates={}, reason="test"))
    return alert_id


@pytest.fixture
def store(engine):
    """The fleet's five measured services over [09:37, 12:37), payment-service with a
    second pod at the end, SLI minutes over three days, and alerts."""
    fill_store_from_fleet(engine, START, 180, slugs=FILLED)
    _second_pod(engine)
    with engine.begin() as conn:  # the collectors registered analytics-engine's environment
        ensure_services(conn, [ServiceInfo("analytics-engine", "Analytics Engine",
                                           environment="production")])
    _write_slis(engine)
    with engine.begin() as conn:
        _alert(conn, "f1", "ApiGatewayAvailability", "api-gateway", "page", "firing",
               slo="api-gateway-availability", at=END - 20 * MIN)
        _alert(conn, "f2", "NotificationHubLatency", "notification-hub", "ticket", "firing",
               at=END - 50 * MIN)
        _alert(conn, "f3", "PaymentServiceLatency", "payment-service", "page", "resolved",
               at=END - 100 * MIN)
    return engine


@pytest.fixture
def client(store, tmp_path):
    return _client(_settings(tmp_path), store)


@pytest.fixture
def bare(engine, tmp_path):
    """The API over a store holding nothing but the services the collectors registered."""
    with engine.begin() as conn:
        ensure_services(conn, [ServiceInfo("analytics-engine", "Analytics Engine",
                                           environment="production")])
    return _client(_settings(tmp_path), engine)


# --- second computations --------------------------------------------------------------------


def _quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """The q-quantile of cumulative bucket counts: linear inside the bucket holding the rank,
    0 as the first bucket's lower edge, the last finite bound when the rank is past it."""
    rank = q * cumulative[-1]
    for i, count in enumerate(cumulative):
        if count >= rank:
            if math.isinf(bounds[i]):
                return bounds[i - 1]
            lower, below = (bounds[i - 1], cumulative[i - 1]) if i else (0.0, 0.0)
            return lower + (bounds[i] - lower) * (rank - below) / (count - below)
    raise AssertionError("the rank is never reached")


def _minute_rows(engine, slug: str, lo: int, hi: int) -> list:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT m.minute, m.instance, m.requests, m.errors, m.cpu_ratio, m.memory_bytes "
            "FROM service_minutes m JOIN services s ON s.id = m.service_id "
            "WHERE s.slug = :slug AND m.minute >= :lo AND m.minute < :hi"),
            {"slug": slug, "lo": lo, "hi": hi}).all()


def _bucket_sums(engine, slug: str, lo: int, hi: int) -> tuple[list[float], list[float]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT b.le, b.count FROM latency_bucket_minutes b JOIN services s "
            "ON s.id = b.service_id WHERE s.slug = :slug AND b.minute >= :lo "
            "AND b.minute < :hi"), {"slug": slug, "lo": lo, "hi": hi}).all()
    sums: dict[float, float] = {}
    for le, count in rows:
        sums[float(le)] = sums.get(float(le), 0.0) + count
    bounds = sorted(sums)
    return bounds, [sums[b] for b in bounds]


def _by_hand(engine, slug: str, lo: int, hi: int) -> dict[str, float]:
    rows = _minute_rows(engine, slug, lo, hi)
    minutes = sorted({r.minute for r in rows})
    requests = sum(r.requests for r in rows)
    cpu_per_minute = [np.mean([r.cpu_ratio for r in rows if r.minute == m]) for m in minutes]
    mem_per_minute = [np.mean([r.memory_bytes for r in rows if r.minute == m])
                      for m in minutes]
    bounds, counts = _bucket_sums(engine, slug, lo, hi)
    newest = max(minutes)
    return {
        "throughput_rps": requests / (60 * len(minutes)),
        "error_ratio": sum(r.errors for r in rows) / requests,
        "cpu_ratio": float(np.mean(cpu_per_minute)),
        "memory_gib": float(np.mean(mem_per_minute)) / GIB,
        "p95_ms": _quantile(0.95, bounds, counts) * 1000,
        "instances": len({r.instance for r in rows if r.minute == newest}),
        "minutes": len(minutes),
    }


def _budget_by_hand(slo: str, start: int, at: int) -> float:
    """1 - bad / (total × budget) over the counts written for minutes in [start, at)."""
    objective, _ = BURN[slo]
    minutes, good, total = _sli_counts(slo)
    inside = (minutes >= start) & (minutes < at)
    bad = float((total - good)[inside].sum())
    return 1 - bad / (float(total[inside].sum()) * (100 - objective) / 100)


# --- GET /services --------------------------------------------------------------------------


def test_the_table_figures_match_the_rows(client, store):
    body = client.get("/api/v1/services").json()
    assert (body["from"], body["to"]) == ("2026-11-02T11:37:00Z", "2026-11-02T12:37:00Z")
    assert body["total"] == 7 and len(body["items"]) == 7
    rows = {r["slug"]: r for r in body["items"]}
    assert list(rows) == SEED
    for slug in FILLED:
        want = _by_hand(store, slug, END - 60 * MIN, END)
        got = rows[slug]
        for key in ("throughput_rps", "error_ratio", "cpu_ratio", "memory_gib", "p95_ms"):
            assert got[key] == pytest.approx(want[key], rel=1e-9), (slug, key)
        assert (got["instances"], got["minutes"]) == (want["instances"], want["minutes"])
    assert rows["payment-service"]["instances"] == 2
    assert rows["api-gateway"]["instances"] == 1
    gateway = rows["api-gateway"]
    assert gateway["baseline"] == {"p95_ms": 12.0, "throughput_rps": 45000.0,
                                   "cpu_ratio": 0.34, "memory_gib": 2.1,
                                   "error_ratio": 0.0005, "status": "healthy"}
    # nothing measured: every live figure is null, never NaN or zero
    empty = rows["database-cluster"]
    assert [empty[k] for k in ("p95_ms", "throughput_rps", "error_ratio", "cpu_ratio",
                               "memory_gib")] == [None] * 5
    assert (empty["instances"], empty["minutes"]) == (0, 0)


def test_a_range_of_the_past(client, store):
    body = client.get("/api/v1/services", params={
        "from": "2026-11-02T10:17:00Z", "to": str(T_0 + 63 * MIN), "service": "user-service"
    }).json()
    [row] = body["items"]
    want = _by_hand(store, "user-service", T_0 + 17 * MIN, T_0 + 63 * MIN)
    assert row["minutes"] == 46
    assert row["throughput_rps"] == pytest.approx(want["throughput_rps"], rel=1e-9)
    assert row["p95_ms"] == pytest.approx(want["p95_ms"], rel=1e-9)


def test_each_status_and_its_reasons(client):
    rows = {r["slug"]: r for r in client.get("/api/v1/services").json()["items"]}
    assert {slug: r["status"] for slug, r in rows.items()} == {
        "api-gateway": "critical",  # a page alert fires
        "auth-service": "unknown",  # no data, nothing wrong known
        "user-service": "warning",  # 20% of a budget left
        "payment-service": "critical",  # its budget is overspent (its page alert resolved)
        "analytics-engine": "healthy",
        "notification-hub": "warning",  # a ticket alert fires
        "database-cluster": "unknown",
    }
    [gateway] = rows["api-gateway"]["reasons"]
    assert (gateway["kind"], gateway["subject"], gateway["severity"], gateway["slo"]) == (
        "alert", "ApiGatewayAvailability", "page", "api-gateway-availability")
    [hub] = rows["notification-hub"]["reasons"]
    assert (hub["level"], hub["subject"]) == ("warning", "NotificationHubLatency")

    [pay] = rows["payment-service"]["reasons"]
    pay_start = END - 30 * 86_400
    assert (pay["level"], pay["kind"], pay["subject"]) == (
        "critical", "budget", "payment-service-availability")
    assert pay["remaining"] == pytest.approx(
        _budget_by_hand("payment-service-availability", pay_start, END), rel=1e-12)
    assert pay["remaining"] < 0

    [user] = rows["user-service"]["reasons"]
    user_start = END - 86_400  # a one-day period: its start is inside the data, mid-hour
    assert user["subject"] == "user-service-availability"
    assert user["remaining"] == pytest.approx(
        _budget_by_hand("user-service-availability", user_start, END), rel=1e-12)
    assert 0 < user["remaining"] < 0.25
    budgets = {b["slo"]: b for b in rows["user-service"]["slos"]}
    assert budgets["user-service-latency"]["remaining"] == pytest.approx(
        _budget_by_hand("user-service-latency", END - 30 * 86_400, END), rel=1e-12)
    assert budgets["user-service-availability"]["period_start"] == "2026-11-01T12:37:00Z"
    calendar = rows["analytics-engine"]["slos"][0]
    assert calendar["period_start"] == "2026-11-02T00:00:00Z"  # the calendar day so far
    assert calendar["remaining"] == pytest.approx(_budget_by_hand(
        "analytics-engine-availability", T_0 - 10 * 3600, END), rel=1e-12)
    assert rows["auth-service"]["slos"] == [] and rows["auth-service"]["reasons"] == []


def test_budgets_equal_the_engine_over_minutes_and_over_roll_ups(client, store):
    """The table sums roll-ups and the minutes at the period's edges; the SLO engine's
    `budget_at` over the stored minutes says the same. Once retention rolled up and
    deleted the old minutes, it still does, but for a period's first minutes before its
    first whole 5-minute block (12:37 to 12:40 of the one-day SLO)."""
    def remaining():
        rows = client.get("/api/v1/services", params={"team": "identity"}).json()["items"]
        return {b["slo"]: b["remaining"] for r in rows for b in r["slos"]}

    before = remaining()
    day = END - 86_400
    with store.connect() as conn:
        series = stored_series(conn, "user-service-availability", day, END)
    engine_view = budget_at(series, END, Period(timedelta(days=1)), 0.005)
    assert before["user-service-availability"] == pytest.approx(
        engine_view.remaining_ratio, rel=1e-12)

    with store.begin() as conn:
        apply_retention(conn, now=datetime.fromtimestamp(END, UTC),
                        minute_keep=timedelta(hours=6), hour_keep=timedelta(days=400))
        left = conn.execute(text("SELECT min(minute) FROM sli_minutes")).scalar()
        assert left == END - END % 3600 - 6 * 3600  # minutes before 06:00 are gone
    _wrote(client)
    after = remaining()
    assert after["user-service-latency"] == pytest.approx(before["user-service-latency"],
                                                          rel=1e-12)
    assert after["user-service-availability"] == pytest.approx(
        _budget_by_hand("user-service-availability", day + 3 * MIN, END), rel=1e-12)


def test_alerts_as_they_stood_at_the_end_of_a_past_range(client):
    """At 12:00 the gateway's page (fired 12:17) was not firing yet; the ticket alert
    (from 11:47) was."""
    rows = {r["slug"]: r for r in client.get("/api/v1/services", params={
        "from": "2026-11-02T11:30:00Z", "to": "2026-11-02T12:00:00Z"}).json()["items"]}
    assert rows["api-gateway"]["status"] == "healthy"
    assert rows["notification-hub"]["status"] == "warning"


@pytest.mark.parametrize(("params", "slugs"), [
    pytest.param({"team": "identity"}, ["auth-service", "user-service"], id="team"),
    pytest.param({"environment": "production"}, ["payment-service", "analytics-engine"],
                 id="environment from a target and from the store"),
    pytest.param({"environment": "staging", "team": "identity"}, ["user-service"],
                 id="filters combine"),
    pytest.param({"service": "notification-hub"}, ["notification-hub"], id="service"),
    pytest.param({"label": "tier=critical"}, ["api-gateway", "payment-service"],
                 id="a label from the tier"),
    pytest.param({"label": ["zone=a", "team=payments"]}, ["payment-service"],
                 id="labels repeat"),
    pytest.param({"label": "zone=b"}, [], id="no match is an empty page"),
    pytest.param({"service": "", "team": ""}, None,
                 id="empty filters ask nothing, as on /slos and /alerts"),
])
def test_filters(bare, params, slugs):
    body = bare.get("/api/v1/services", params=params).json()
    if slugs is None:
        slugs = [r["slug"] for r in bare.get("/api/v1/services").json()["items"]]
        assert len(slugs) == 7
    assert [r["slug"] for r in body["items"]] == slugs
    assert body["total"] == len(slugs)


def test_pages(bare):
    every = [r["slug"] for r in bare.get("/api/v1/services").json()["items"]]
    body = bare.get("/api/v1/services", params={"limit": 2, "offset": 3}).json()
    assert [r["slug"] for r in body["items"]] == every[3:5]
    assert (body["total"], body["limit"], body["offset"]) == (7, 2, 3)
    past = bare.get("/api/v1/services", params={"offset": 7}).json()
    assert past["items"] == [] and past["total"] == 7


def test_etags_answer_304_until_something_changes(client, store):
    first = client.get("/api/v1/services")
    tag = first.headers["etag"]
    again = client.get("/api/v1/services", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/api/v1/services", headers={"If-None-Match": '"other", ' + tag}
                      ).status_code == 304
    with store.begin() as conn:
        _alert(conn, "f9", "AuthAvailability", "auth-service", "page", "firing")
    _wrote(client)
    changed = client.get("/api/v1/services", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    rows = {r["slug"]: r for r in changed.json()["items"]}
    assert rows["auth-service"]["status"] == "critical"  # no data, but a page fires


def test_one_service(client):
    row = client.get("/api/v1/services/payment-service").json()
    listed = client.get("/api/v1/services", params={"service": "payment-service"}).json()
    assert row == listed["items"][0]
    assert row["labels"] == {"zone": "a", "team": "payments", "environment": "production",
                             "tier": "critical", "service": "payment-service"}
    assert "etag" in client.get("/api/v1/services/payment-service").headers


def test_an_unknown_service_is_404_naming_it(bare):
    for path in ("/api/v1/services/no-such-svc", "/api/v1/services/no-such-svc/series"):
        answer = bare.get(path)
        assert answer.status_code == 404
        assert "no-such-svc" in answer.json()["detail"]


@pytest.mark.parametrize(("path", "params", "parameter"), [
    pytest.param("", {"from": "yesterday"}, "from", id="a time outside the grammar"),
    pytest.param("", {"from": "now", "to": "now-1h"}, "to", id="an end before the start"),
    pytest.param("", {"from": "-40d"}, "from", id="more than 31 days of minutes"),
    pytest.param("", {"limit": 0}, "limit", id="an empty page"),
    pytest.param("", {"offset": -1}, "offset", id="a negative offset"),
    pytest.param("", {"label": "tier"}, "label", id="a label without a value"),
    pytest.param("/payment-service", {"to": "soon"}, "to", id="one service's range"),
    pytest.param("/payment-service/series", {"resolution": "week"}, "resolution",
                 id="an unknown resolution"),
    pytest.param("/payment-service/series", {"percentile": "1"}, "percentile",
                 id="percentile 1 is not inside (0, 1)"),
    pytest.param("/payment-service/series", {"percentile": "0"}, "percentile",
                 id="percentile 0 is not inside (0, 1)"),
    pytest.param("/payment-service/series", {"percentile": "95"}, "percentile",
                 id="a percent is not a percentile"),
    pytest.param("/payment-service/series", {"percentile": "nan"}, "percentile",
                 id="NaN is no percentile"),
    pytest.param("/payment-service/series", {"from": "-14d", "resolution": "minute"},
                 "resolution", id="more than 20,000 points asks for a coarser resolution"),
])
def test_bad_parameters_are_422_naming_them(bare, path, params, parameter):
    answer = bare.get(f"/api/v1/services{path}", params=params)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["query", parameter]
    if parameter == "resolution" and "from" in params:
        assert "coarser resolution" in problem["msg"]


def test_slo_files_that_do_not_load_are_503_naming_the_file(store, tmp_path):
    settings = _settings(tmp_path)
    client = _client(settings, store)
    assert client.get("/api/v1/services").status_code == 200
    broken = Path(settings.slo_files[0])
    broken.write_text(SLO_FILE.replace("objective: 99.9", "objective: 120"), encoding="utf-8")
    _wrote(client)
    answer = client.get("/api/v1/services")
    assert answer.status_code == 503
    assert f"{broken}:5" in answer.json()["detail"] and "objective" in answer.json()["detail"]
    broken.write_text(SLO_FILE, encoding="utf-8")  # mended: read again
    _wrote(client)
    assert client.get("/api/v1/services").status_code == 200


# --- GET /services/{slug}/series -------------------------------------------------------------


def test_a_minute_series(client, store):
    body = client.get("/api/v1/services/payment-service/series", params={
        "from": "now-40m", "resolution": "minute"}).json()
    assert (body["from"], body["to"]) == ("2026-11-02T11:57:00Z", "2026-11-02T12:37:00Z")
    assert len(body["points"]) == 40
    rows = _minute_rows(store, "payment-service", END - 40 * MIN, END)
    for point in body["points"]:
        t = int(datetime.fromisoformat(point["ts"]).timestamp())
        mine = [r for r in rows if r.minute == t]
        requests = sum(r.requests for r in mine)
        assert point["seconds"] == 60
        assert point["requests"] == pytest.approx(requests, rel=1e-12)
        assert point["throughput_rps"] == pytest.approx(requests / 60, rel=1e-12)
        assert point["error_ratio"] == pytest.approx(sum(r.errors for r in mine) / requests)
        assert point["cpu_ratio"] == pytest.approx(np.mean([r.cpu_ratio for r in mine]))
        assert point["memory_gib"] == pytest.approx(
            np.mean([r.memory_bytes for r in mine]) / GIB)
        assert point["instances"] == len(mine) == (2 if t >= END - 30 * MIN else 1)
        bounds, counts = _bucket_sums(store, "payment-service", t, t + 60)
        assert point["latency_ms"] == pytest.approx(_quantile(0.95, bounds, counts) * 1000)


@pytest.mark.parametrize(("resolution", "step", "percentile"), [
    pytest.param("5m", 300, 0.99, id="5-minute blocks at p99"),
    pytest.param("hour", 3600, 0.5, id="hours at the median"),
])
def test_coarser_series_sum_their_minutes(client, store, resolution, step, percentile):
    """Intervals start at multiples of the resolution; the one still filling (12:00 to
    12:37 of the hours) takes its rates over the minutes it has had."""
    body = client.get("/api/v1/services/user-service/series", params={
        "from": "2026-11-02T10:07:00Z", "to": "2026-11-02T12:58:00Z",
        "resolution": resolution, "percentile": percentile}).json()
    lo = T_0 + 7 * MIN - (T_0 + 7 * MIN) % step  # widened to whole intervals
    hi = T_0 + 3 * 3600  # 12:58 widened to 13:00
    assert (body["resolution"], body["percentile"]) == (resolution, percentile)
    assert body["to"] == "2026-11-02T13:00:00Z"
    assert datetime.fromisoformat(body["from"]).timestamp() == lo < hi
    stamps = [int(datetime.fromisoformat(p["ts"]).timestamp()) for p in body["points"]]
    assert stamps == list(range(lo, END, step))  # none after the data ends
    for t, point in zip(stamps, body["points"], strict=True):
        rows = _minute_rows(store, "user-service", t, t + step)
        requests = sum(r.requests for r in rows)
        seconds = min(step, END - t)
        assert point["seconds"] == seconds
        assert point["throughput_rps"] == pytest.approx(requests / seconds, rel=1e-9)
        assert point["error_ratio"] == pytest.approx(sum(r.errors for r in rows) / requests)
        assert point["cpu_ratio"] == pytest.approx(np.mean([r.cpu_ratio for r in rows]))
        bounds, counts = _bucket_sums(store, "user-service", t, t + step)
        assert point["latency_ms"] == pytest.approx(
            _quantile(percentile, bounds, counts) * 1000, rel=1e-9)
    if resolution == "hour":
        assert [p["seconds"] for p in body["points"]] == [3600, 3600, 37 * 60]


def test_a_series_without_data_is_empty(bare):
    body = bare.get("/api/v1/services/database-cluster/series").json()
    assert body["points"] == []


# --- GET /runs ------------------------------------------------------------------------------


def _run(conn, collector, target, ago, *, samples=10, errors=(), seconds=2.5) -> int:
    started = datetime.fromtimestamp(END - ago * MIN, UTC)
    return record_run(conn, RunResult(collector, target, started_at=started,
                                      finished_at=started + timedelta(seconds=seconds),
                                      samples=samples, errors=list(errors),
                                      gaps=[{"start": 1, "end": 2}] if errors else []))


@pytest.fixture
def runs(engine, tmp_path):
    """Runs that started minutes before the test clock's now (12:37)."""
    with engine.begin() as conn:
        ids = {
            "scrape-old": _run(conn, "scrape", "http://a/metrics", 170),
            "costs": _run(conn, "costs", "costs.csv", 80, samples=0, errors=["no file"]),
            "scrape-partial": _run(conn, "scrape", "http://b/metrics", 30,
                                   errors=["timeout"]),
            "scrape-new": _run(conn, "scrape", "http://a/metrics", 10, seconds=0.25),
            "roadmap": _run(conn, "roadmap", "doc.md", 10),  # same start: higher id first
            "yesterday": _run(conn, "scrape", "http://a/metrics", 25 * 60),
        }
        # a run still going has no end
        ids["running"] = record_run(conn, RunResult(
            "clickhouse", "chdb:///x", started_at=datetime.fromtimestamp(END - 5 * MIN, UTC)))
    return _client(_settings(tmp_path), engine), ids


def test_runs_newest_first(runs):
    client, ids = runs
    body = client.get("/api/v1/runs").json()
    assert [r["id"] for r in body["items"]] == [
        ids["running"], ids["roadmap"], ids["scrape-new"], ids["scrape-partial"],
        ids["costs"], ids["scrape-old"]]
    assert body["total"] == 6
    new = body["items"][2]
    assert new == {"id": ids["scrape-new"], "collector": "scrape",
                   "target": "http://a/metrics", "status": "ok",
                   "started_at": "2026-11-02T12:27:00Z",
                   "finished_at": "2026-11-02T12:27:00.250000Z", "duration_s": 0.25,
                   "samples": 10, "errors": 0, "gaps": [], "message": ""}
    running = body["items"][0]
    assert (running["finished_at"], running["duration_s"]) == (None, None)
    partial = body["items"][3]
    assert (partial["status"], partial["errors"], partial["message"], partial["gaps"]) == (
        "partial", 1, "timeout",
        [{"start": "1970-01-01T00:00:01Z", "end": "1970-01-01T00:00:02Z"}])


@pytest.mark.parametrize(("params", "names"), [
    pytest.param({"collector": "scrape"}, ["scrape-new", "scrape-partial", "scrape-old"],
                 id="by collector"),
    pytest.param({"status": "failed"}, ["costs"], id="by status"),
    pytest.param({"collector": "scrape", "status": "ok"}, ["scrape-new", "scrape-old"],
                 id="both"),
    pytest.param({"from": "2026-11-02T11:17:00Z", "to": "2026-11-02T12:27:00Z"},
                 ["scrape-partial", "costs"], id="[from, to) holds runs that started in it"),
    pytest.param({"from": "-2d", "collector": "scrape"},
                 ["scrape-new", "scrape-partial", "scrape-old", "yesterday"],
                 id="the default range is the last day"),
    pytest.param({"collector": "opencost"}, [], id="no such collector"),
])
def test_runs_filter(runs, params, names):
    client, ids = runs
    body = client.get("/api/v1/runs", params=params).json()
    assert [r["id"] for r in body["items"]] == [ids[n] for n in names]
    assert body["total"] == len(names)


def test_runs_page(runs):
    client, ids = runs
    body = client.get("/api/v1/runs", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in body["items"]] == [ids["scrape-new"], ids["scrape-partial"]]
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 2)
    tag = client.get("/api/v1/runs").headers["etag"]
    assert client.get("/api/v1/runs", headers={"If-None-Match": tag}).status_code == 304


@pytest.mark.parametrize(("params", "parameter"), [
    pytest.param({"status": "broken"}, "status", id="an unknown status"),
    pytest.param({"limit": 5000}, "limit", id="a page past the largest"),
    pytest.param({"to": "then"}, "to", id="a bad time"),
])
def test_runs_refuse_bad_parameters(runs, params, parameter):
    client, _ = runs
    answer = client.get("/api/v1/runs", params=params)
    assert answer.status_code == 422
    assert [p["loc"] for p in answer.json()["detail"]] == [["query", parameter]]


# --- reads behind a token, and the contract -------------------------------------------------


def test_reads_need_a_token_when_configured(engine, tmp_path):
    client = _client(_settings(tmp_path, require_token_for_reads=True), engine,
                     tokens="read:r-token-1234567890abcdef,write:w-token-1234567890abcdef")
    for path in ("/api/v1/services", "/api/v1/services/payment-service",
                 "/api/v1/services/payment-service/series", "/api/v1/runs"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        for token in ("r-token-1234567890abcdef", "w-token-1234567890abcdef"):
            assert client.get(path, headers={"Authorization": f"Bearer {token}"}
                              ).status_code == 200, (path, token)


def test_the_openapi_document_declares_every_answer(engine, tmp_path):
    spec = _client(_settings(tmp_path), engine).get("/openapi.json").json()
    ours = {"/api/v1/services": "ServiceList", "/api/v1/services/{slug}": "ServiceOut",
            "/api/v1/services/{slug}/series": "ServiceSeries", "/api/v1/runs": "RunList"}
    for path, model in ours.items():
        answers = spec["paths"][path]["get"]["responses"]
        assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/" + model)
        assert {"304", "401", "422"} <= set(answers), path
        assert answers["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorOut")
        if "{slug}" in path:
            assert "404" in answers
    series = spec["paths"]["/api/v1/services/{slug}/series"]["get"]["parameters"]
    resolution = next(p for p in series if p["name"] == "resolution")
    assert resolution["schema"]["enum"] == ["minute", "5m", "hour"]
    point = spec["components"]["schemas"]["SeriesPoint"]["properties"]
    assert {"ts", "throughput_rps", "error_ratio", "latency_ms", "cpu_ratio",
            "memory_gib"} <= set(point)
