"""The SLO resources of the HTTP API, on SQLite and PostgreSQL.

The store holds two days of SLI minutes the test writes itself (two instances of the
payment service, an error burst at the end; a timeslice SLO of the gateway), an alert the
evaluator would have written, and a deploy marker. Every figure the API answers is checked
against a second computation: `apollo slo report|backtest NAME --json` on the same store
for the same instant or range, and sums over the rows written here, done by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient
from support import T0

from services.alerting.policy import fingerprint
from services.alerting.read import ALERTS
from services.api.app import create_app
from services.api.deps import configured_slos
from services.auth import Authenticator, parse_tokens
from services.config import EXAMPLE_CONFIG, load_settings
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.markers import add_marker
from services.store.models import SliMinute
from services.store.rollup import roll_up

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
MIN = 60
END = int(T0) + 2 * 86_400  # 2026-11-04 10:00 UTC: the data ends here
NOW = END + 7  # the API's clock: `now` floors to END
START = END - 2 * 86_400 + 13 * MIN  # two days of minutes, not hour-aligned
BURST = (END - 30 * MIN, END - 10 * MIN)  # 20% of payment requests fail
AVAILABILITY = "payment-service-availability"
LATENCY = "payment-service-latency"
P95_MINUTES = "api-gateway-latency-p95-minutes"
SLO_FILES = [str(ROOT / "slos" / "payment-service.yaml"), str(ROOT / "slos" / "api-gateway.yaml")]
ALL_IDS = ["api-gateway-availability", "api-gateway-latency", P95_MINUTES, AVAILABILITY,
           LATENCY]
READ, WRITE = "read-token-0123456789abcdef", "write-token-fedcba9876543210"


# --- the store ------------------------------------------------------------------------------


def _counts(seed: int, error_ratio: float, burst: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per minute of [START, END) and instance (2): good and total, NaN where not reported."""
    rng = np.random.default_rng(seed)
    n = (END - START) // MIN
    total = rng.integers(40, 60, size=(2, n)).astype(float)
    bad = rng.binomial(total.astype(int), error_ratio).astype(float)
    if burst:
        lo, hi = ((t - START) // MIN for t in BURST)
        bad[:, lo:hi] = np.round(total[:, lo:hi] * 0.2)
    missing = rng.random((2, n)) < 0.01
    return np.where(missing, np.nan, total - bad), np.where(missing, np.nan, total)


def _slices(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The p95 SLO: one row per minute (1 when its p95 met 15 ms), about 2% bad minutes."""
    rng = np.random.default_rng(seed)
    n = (END - START) // MIN
    good = (rng.random((1, n)) > 0.02).astype(float)
    return good, np.ones((1, n))


DATA = {AVAILABILITY: _counts(1, 0.0005, True), LATENCY: _counts(2, 0.003, False),
        P95_MINUTES: _slices(3)}


def by_hand(slo: str) -> tuple[np.ndarray, np.ndarray]:
    """Good and total per minute of [START, END), summed over instances (NaN: nothing)."""
    good, total = DATA[slo]
    seen = ~np.isnan(total)
    return (np.where(seen.any(0), np.nansum(good, 0), np.nan),
            np.where(seen.any(0), np.nansum(total, 0), np.nan))


def _fill(engine) -> None:
    with engine.begin() as conn:
        ids = ensure_services(conn, [
            ServiceInfo("payment-service", "Payment Service", team="payments",
                        environment="production"),
            ServiceInfo("api-gateway", "API Gateway", team="platform", environment="staging")])
        for slug, (objective, service, team) in {
                AVAILABILITY: (99.9, "payment-service", "payments"),
                LATENCY: (99.0, "payment-service", "payments"),
                P95_MINUTES: (99.0, "api-gateway", "platform")}.items():
            sid = ensure_slo(conn, slug=slug, name=slug.removeprefix(service + "-"),
                             objective=objective, period_s=30 * 86_400,
                             service_id=ids[service], labels={"team": team})
            good, total = DATA[slug]
            rows = [(START + MIN * j, sid, float(good[i, j]), float(total[i, j]), f"pod-{i}")
                    for i in range(good.shape[0]) for j in range(good.shape[1])
                    if not np.isnan(total[i, j])]
            writes.upsert(conn, SliMinute.__table__, rows)
        conn.execute(ALERTS.insert().values(  # as the evaluator writes a firing page
            fingerprint=fingerprint(AVAILABILITY, "burn", "page"), source="apollo",
            kind="burn", name="PaymentServiceAvailability", slo=AVAILABILITY,
            service="payment-service", severity="page", state="firing", episode=1,
            labels={"severity": "page", "slo": AVAILABILITY}, annotations={},
            active_since=BURST[0] + 5 * MIN, fired_at=BURST[0] + 7 * MIN,
            updated_at=NOW, values={}))
        roll_up(conn, START, START + 86_400)  # the first day's hours rolled up, not the last
        add_marker(conn, kind="deploy", at=BURST[0] - 2 * MIN, end=BURST[1],
                   text="v1.4.2 rollout", service="payment-service", now=NOW)


@pytest.fixture
def world(engine, tmp_path):
    """(client, config path): the API over the filled store, and a config the CLI reads."""
    _fill(engine)
    url = engine.url.render_as_string(hide_password=False)
    config = tmp_path / "apollo.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "var"), "database_url": url,
                                      "slo_files": SLO_FILES}))
    return client_for(engine, tmp_path), config


def client_for(engine, tmp_path, **api) -> TestClient:
    settings = load_settings(config_file(tmp_path), api=api) if api else load_settings(
        config_file(tmp_path))
    auth = Authenticator(parse_tokens(f"read:{READ},write:{WRITE}"), None)
    return TestClient(create_app(settings, engine, clock=lambda: NOW, authenticator=auth))


def config_file(tmp_path) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "var"),
                                    "slo_files": SLO_FILES}))
    return path


def apollo(config: Path, *args: str) -> dict:
    """`apollo --config CONFIG ARGS --json`, parsed."""
    result = subprocess.run([*APOLLO, "--config", str(config), *args, "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def close(a, b) -> bool:
    """Equal, floats up to summation order."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def unix(doc):
    """An API answer with its instants (RFC 3339 in UTC) as the Unix seconds the CLI
    prints: whole seconds as int."""
    if isinstance(doc, dict):
        return {k: unix(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [unix(v) for v in doc]
    if isinstance(doc, str) and _INSTANT.fullmatch(doc):
        seconds = datetime.fromisoformat(doc).timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    return doc


def burn_rates(items: list[dict]) -> dict[str, float | None]:
    return {w["window"]: w["burn_rate"] for w in items}


# --- one SLO, against the CLI's report -------------------------------------------------------


@pytest.mark.parametrize("slo", [AVAILABILITY, P95_MINUTES])
def test_an_slo_in_full_is_the_cli_report_at_the_same_instant(world, slo):
    client, config = world
    cli = apollo(config, "slo", "report", slo, "--at", str(END))
    got = client.get(f"/api/v1/slos/{slo}")
    assert got.status_code == 200, got.text
    api = unix(got.json())
    assert api["at"] == cli["at"] == END
    for key in ("sli", "good", "total", "bad", "coverage", "period_burn_rate"):
        assert api[key] == cli[key], key
    assert api["budget_remaining"] == cli["budget"]["remaining"]
    assert api["current_burn_rate"] == cli["current_burn_rate"]
    assert api["budget"] == cli["budget"]  # ratio, spent, remaining, requests and minutes
    assert api["period_window"] == {**cli["period"], "rolling": True}
    assert burn_rates(api["burn_rates"]) == {w["window"]: w["burn_rate"] for w in cli["windows"]}
    assert [w["complete"] for w in api["burn_rates"]] == [w["complete"] for w in cli["windows"]]
    assert api["gaps"] == cli["gaps"]
    assert api["exhaustion"] == cli["exhaustion"]
    current = next(e for e in cli["exhaustion"] if e["basis"] == "current")
    assert api["time_to_exhaustion_hours"] == current["hours"]
    for alert in cli["alerts"]:
        mine = next(a for a in api["alerts"] if a["severity"] == alert["severity"])
        assert mine["firing_now"] == alert["firing"]
        assert mine["disabled"] == alert["disabled"]
        assert [{k: p[k] for k in ("short", "long", "factor", "threshold", "firing",
                                   "can_fire")} for p in mine["pairs"]] == alert["pairs"]

    # and by hand, from the rows this test wrote
    good, total = by_hand(slo)
    assert api["total"] == pytest.approx(np.nansum(total))
    assert api["good"] == pytest.approx(np.nansum(good))
    budget_ratio = {AVAILABILITY: 0.001, P95_MINUTES: 0.01}[slo]
    assert api["budget"]["ratio"] == pytest.approx(budget_ratio)
    bad = np.nansum(total) - np.nansum(good)
    assert api["budget_remaining"] == pytest.approx(1 - bad / (np.nansum(total) * budget_ratio))
    assert api["budget"]["minutes"] == pytest.approx(30 * 1440 * budget_ratio)
    assert api["coverage"] == pytest.approx(np.sum(~np.isnan(total)) / (30 * 1440))


def test_the_burst_shows_in_burn_rates_alert_state_and_attribution(world, tmp_path):
    client, config = world
    api = unix(client.get(f"/api/v1/slos/{AVAILABILITY}").json())
    good, total = by_hand(AVAILABILITY)
    last_hour = slice(len(total) - 60, None)
    hour_ratio = (np.nansum(total[last_hour]) - np.nansum(good[last_hour])) / np.nansum(
        total[last_hour])
    assert burn_rates(api["burn_rates"])["1h"] == pytest.approx(hour_ratio / 0.001)
    assert burn_rates(api["burn_rates"])["1h"] > 14.4  # the burst burns it fast
    page = next(a for a in api["alerts"] if a["severity"] == "page")
    assert page["state"] == "firing" and page["since"] == BURST[0] + 7 * MIN  # as stored
    assert page["firing_now"] is True and page["alert_id"] is not None
    ticket = next(a for a in api["alerts"] if a["severity"] == "ticket")
    assert ticket["state"] == "inactive" and ticket["alert_id"] is None

    # the deploy marker's share, as `apollo slo report --markers` gives it for its span
    markers = tmp_path / "markers.csv"
    name = api["attribution"][0]["name"]
    assert name.startswith("deploy #") and "payment-service" in name
    markers.write_text(f"name,kind,start,end\n{name},deploy,{BURST[0] - 2 * MIN},{BURST[1]}\n")
    cli = apollo(config, "slo", "report", AVAILABILITY, "--at", str(END), "--markers",
                 str(markers))
    assert api["attribution"] == cli["attribution"]
    lo, hi = ((t - START) // MIN for t in (BURST[0] - 2 * MIN, BURST[1]))
    inside = np.nansum(total[lo:hi]) - np.nansum(good[lo:hi])
    assert api["attribution"][0]["bad"] == pytest.approx(inside)


def test_a_forecast_and_a_backtest_are_the_clis(world):
    client, config = world
    got = client.get(f"/api/v1/slos/{AVAILABILITY}/forecast", params={"at": str(END)})
    assert got.status_code == 200, got.text
    forecast = unix(got.json())
    report = apollo(config, "slo", "report", AVAILABILITY, "--at", str(END))
    assert forecast["at"] == report["at"] == END
    assert forecast["exhaustion"] == report["exhaustion"]
    assert forecast["budget_remaining"] == report["budget"]["remaining"]
    assert forecast["remaining_requests"] == report["budget"]["remaining_requests"]

    span = {"from": str(START), "to": str(END)}
    got = client.get(f"/api/v1/slos/{AVAILABILITY}/backtest", params=span)
    assert got.status_code == 200, got.text
    backtest = unix(got.json())
    cli = apollo(config, "slo", "backtest", AVAILABILITY, "--from", str(START), "--to", str(END))
    assert backtest == cli
    firings = backtest["firings"]
    assert any(f["severity"] == "page" and BURST[0] < f["start"] <= BURST[1] for f in firings)
    incident = next(i for i in backtest["incidents"] if i["start"] == BURST[0])
    assert incident["end"] == BURST[1]  # inferred from the minutes burning 2x


def test_history_is_the_written_minutes_per_interval_and_the_budget_at_each_end(world):
    client, config = world
    got = client.get(f"/api/v1/slos/{AVAILABILITY}/history",
                     params={"from": str(END - 6 * 3600), "to": str(END), "resolution": "hour"})
    assert got.status_code == 200, got.text
    history = unix(got.json())
    assert (history["step_s"], history["start"], history["end"]) == (3600, END - 6 * 3600, END)
    good, total = by_hand(AVAILABILITY)
    assert len(history["points"]) == 6
    for point in history["points"]:
        lo = (point["ts"] - START) // MIN
        interval = slice(lo, lo + 60)
        assert point["total"] == pytest.approx(np.nansum(total[interval]))
        assert point["good"] == pytest.approx(np.nansum(good[interval]))
        assert point["sli"] == pytest.approx(np.nansum(good[interval]) / np.nansum(
            total[interval]))
        assert point["minutes_with_data"] == np.sum(~np.isnan(total[interval]))
        upto = slice(0, lo + 60)  # the whole period before the interval's end has no more
        bad = np.nansum(total[upto]) - np.nansum(good[upto])
        assert point["budget_remaining"] == pytest.approx(
            1 - bad / (np.nansum(total[upto]) * 0.001))
    report = apollo(config, "slo", "report", AVAILABILITY, "--at", str(END))
    assert history["points"][-1]["budget_remaining"] == pytest.approx(
        report["budget"]["remaining"], rel=1e-12)

    # a timeslice SLO's SLI is the share of good minutes; intervals without data are null
    got = client.get(f"/api/v1/slos/{P95_MINUTES}/history",
                     params={"from": str(START - 3600), "to": str(START + 3600 - 13 * MIN),
                             "resolution": "5m"}).json()
    got = unix(got)
    slices, _ = by_hand(P95_MINUTES)
    assert got["points"][0]["sli"] is None and got["points"][0]["minutes_with_data"] == 0
    first = next(p for p in got["points"] if p["ts"] >= START)
    lo = (first["ts"] - START) // MIN
    assert first["sli"] == pytest.approx(slices[lo:lo + 5].mean())


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_every_configured_slo_with_the_same_figures_as_each_one(world):
    client, _ = world
    listed = client.get("/api/v1/slos")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [s["id"] for s in body["items"]] == ALL_IDS and body["total"] == 5
    for item in body["items"]:  # the list sums hour roll-ups where it can: the same sums
        one = client.get(f"/api/v1/slos/{item['id']}").json()
        for key in (k for k in item if k not in ("alerts", "burn_rates")):
            assert close(item[key], one[key]), key
        assert [w["window"] for w in item["burn_rates"]] == [w["window"] for w in
                                                              one["burn_rates"]]
        for mine, full in zip(item["burn_rates"], one["burn_rates"], strict=True):
            assert close(mine["burn_rate"], full["burn_rate"]), mine["window"]
            assert close(mine["error_ratio"], full["error_ratio"]), mine["window"]
        assert all(w["complete"] is None for w in item["burn_rates"])  # not read there
        assert [(a["severity"], a["state"], a["firing_now"]) for a in item["alerts"]] == [
            (a["severity"], a["state"], a["firing_now"]) for a in one["alerts"]]
    no_data = next(s for s in body["items"] if s["id"] == "api-gateway-availability")
    assert no_data["has_data"] is False and no_data["sli"] is None
    assert "no minutes stored" in no_data["problem"]
    kinds = {s["id"]: (s["sli_kind"], s["budgeting"], s["objective"], s["period"])
             for s in body["items"]}
    assert kinds[P95_MINUTES] == ("threshold", "timeslices", 99.0, "30d")
    assert kinds[AVAILABILITY] == ("request_ratio", "occurrences", 99.9, "30d")
    assert kinds[LATENCY] == ("latency_threshold", "occurrences", 99.0, "30d")


@pytest.mark.parametrize(("params", "ids"), [
    pytest.param({"team": "payments"}, [AVAILABILITY, LATENCY], id="by team"),
    pytest.param({"environment": "production"}, [AVAILABILITY, LATENCY],
                 id="by environment, registered by the collectors"),
    pytest.param({"service": "api-gateway"}, ALL_IDS[:3], id="by service, stored or not"),
    pytest.param({"label": "team=platform", "environment": "staging"}, [P95_MINUTES],
                 id="labels combine"),
    pytest.param({"team": "nobody"}, [], id="no match is an empty page"),
    pytest.param({"limit": "2", "offset": "1"}, ALL_IDS[1:3], id="a page"),
])
def test_the_list_filters_by_labels_and_pages(world, params, ids):
    client, _ = world
    body = client.get("/api/v1/slos", params=params).json()
    assert [s["id"] for s in body["items"]] == ids
    if "limit" in params:
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)


# --- refusals, ETags, OpenAPI --------------------------------------------------------------


@pytest.mark.parametrize(("url", "params", "named"), [
    pytest.param("/api/v1/slos", {"at": "yesterday"}, "at", id="a time outside the grammar"),
    pytest.param("/api/v1/slos", {"label": "team"}, "label", id="a label without a value"),
    pytest.param("/api/v1/slos", {"limit": "0"}, "limit", id="an empty page"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/history", {"resolution": "week"}, "resolution",
                 id="an unknown resolution"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/history",
                 {"from": "-30d", "resolution": "minute"}, "resolution",
                 id="too many intervals"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/history", {"from": "now", "to": "-1h"}, "to",
                 id="a range ending before it starts"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/backtest", {"from": str(END), "to": str(START)},
                 "to", id="a backtest ending before it starts"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/backtest", {"from": "-401d"}, "from",
                 id="a backtest over more than 400 days"),
    pytest.param(f"/api/v1/slos/{AVAILABILITY}/history",
                 {"from": "9999-12-31", "to": "9999-12-31T23:59:59", "resolution": "hour"},
                 "to", id="an interval ending past 9999"),
])
def test_bad_input_is_a_422_naming_the_parameter(world, url, params, named):
    client, _ = world
    got = client.get(url, params=params)
    assert got.status_code == 422, got.text
    assert [e["loc"][-1] for e in got.json()["detail"]] == [named]


def test_unknown_slos_are_404_and_an_slo_without_data_has_no_forecast(world):
    client, _ = world
    for path in ("", "/history", "/backtest", "/forecast"):
        got = client.get(f"/api/v1/slos/no-such-slo{path}")
        assert got.status_code == 404 and "no-such-slo" in got.json()["detail"]
    got = client.get("/api/v1/slos/api-gateway-availability/forecast")
    assert got.status_code == 409 and "no minutes stored" in got.json()["detail"]


def test_etags_answer_304_until_the_figures_change(world, engine):
    client, _ = world
    first = client.get(f"/api/v1/slos/{AVAILABILITY}")
    tag = first.headers["etag"]
    again = client.get(f"/api/v1/slos/{AVAILABILITY}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    listed = client.get("/api/v1/slos")
    assert client.get("/api/v1/slos", headers={"If-None-Match": listed.headers["etag"]}
                      ).status_code == 304
    with engine.begin() as conn:  # the evaluator resolves the page…
        conn.execute(ALERTS.update().values(state="resolved", resolved_at=NOW))
    page = next(a for a in first.json()["alerts"] if a["severity"] == "page")
    acked = client.post(f"/api/v1/alerts/{page['alert_id']}/ack",  # …and a write lands
                        json={"author": "ana", "for": "1h"},
                        headers={"Authorization": f"Bearer {WRITE}"})
    assert acked.status_code == 201, acked.text
    changed = client.get(f"/api/v1/slos/{AVAILABILITY}", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    page = next(a for a in unix(changed.json())["alerts"] if a["severity"] == "page")
    assert page["state"] == "resolved" and page["since"] == NOW


def test_reads_need_a_token_when_the_config_says_so(world, engine, tmp_path):
    client = client_for(engine, tmp_path, require_token_for_reads=True)
    assert client.get("/api/v1/slos").status_code == 401
    assert client.get("/api/v1/slos", headers={"Authorization": "Bearer not-a-token-at-all"}
                      ).status_code == 401
    for token in (READ, WRITE):
        got = client.get(f"/api/v1/slos/{LATENCY}", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200
    assert client.get(f"/api/v1/slos/{LATENCY}").status_code == 401  # answered before: still


def test_openapi_documents_every_slo_route_with_its_model_and_errors(world):
    client, _ = world
    spec = client.get("/openapi.json").json()
    routes = {"/api/v1/slos": "SloListOut", "/api/v1/slos/{slo_id}": "SloDetailOut",
              "/api/v1/slos/{slo_id}/history": "SloHistoryOut",
              "/api/v1/slos/{slo_id}/backtest": "BacktestOut",
              "/api/v1/slos/{slo_id}/forecast": "ForecastOut"}
    for path, model in routes.items():
        answers = spec["paths"][path]["get"]["responses"]
        schema = answers["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}"), path
        assert {"304", "422"} <= answers.keys(), path
        assert path == "/api/v1/slos" or "404" in answers
    assert "SloSummaryOut" in spec["components"]["schemas"]


def test_the_lists_series_gives_the_report_the_minutes_sums(engine):
    """`summary_series` (for occurrence budgets `slo_data.report_series`: a short series
    holding the sums of the period and of each window, from the roll-ups and the minutes
    at their edges) against the minutes themselves: the report on either has the same
    budget, SLI, burn rates and alert verdicts; also at an instant mid-hour, for a period
    starting mid-hour inside the data (the first day is rolled up, the second is not) and
    for a calendar month beginning at 18:30 UTC."""
    from dataclasses import replace
    from datetime import timedelta

    from services.store.slo_data import stored_series, window_lengths
    from services.store.slo_evaluation import evaluate, summary_series
    from slo.model import Period

    _fill(engine)
    settings = load_settings(EXAMPLE_CONFIG, slo_files=SLO_FILES)
    slo = next(s for s in configured_slos(settings) if s.id == AVAILABILITY)
    short = replace(slo, period=Period(timedelta(hours=30)))  # starts at 03:43 of day one
    month = replace(slo, period=Period(timedelta(days=30), rolling=False,  # from 18:30 UTC
                                       calendar_unit="month", timezone="Asia/Kolkata"))
    for at in (END, END - 17 * MIN):
        for chosen, length in ((slo, 30 * 86_400), (short, 30 * 3600), (month, 30 * 86_400)):
            with engine.connect() as conn:
                cheap = summary_series(conn, [chosen], at)[AVAILABILITY]
                minutes = stored_series(conn, AVAILABILITY, at - length, at)
                ours, theirs = evaluate(conn, chosen, at, cheap), evaluate(conn, chosen, at,
                                                                           minutes)
            assert cheap.end == minutes.end == at and len(cheap) < len(minutes)
            if chosen.period.rolling:  # the longest window (3 days) and a minute
                assert len(cheap) <= 3 * 1440 + 1
            assert np.nansum(cheap.total) == pytest.approx(np.nansum(minutes.total), rel=1e-12)
            assert np.nansum(cheap.good) == pytest.approx(np.nansum(minutes.good), rel=1e-12)
            for w in window_lengths(chosen):  # a 30h period has no alert windows: just 5m
                w = int(w.total_seconds()) // MIN
                assert np.nansum(cheap.total[-w:]) == pytest.approx(np.nansum(
                    minutes.total[-w:]), rel=1e-12)
                assert np.nansum(cheap.bad[-w:]) == pytest.approx(np.nansum(
                    minutes.bad[-w:]), rel=1e-12)
            assert (ours.problem, ours.has_data, ours.at) == (theirs.problem, theirs.has_data,
                                                              theirs.at)
            if theirs.report is None:
                continue
            a, b = ours.report, theirs.report
            for key in ("good", "total", "sli", "remaining_ratio", "remaining_requests"):
                assert getattr(a.budget, key) == pytest.approx(getattr(b.budget, key),
                                                               rel=1e-12), key
            assert [w.window for w in a.windows] == [w.window for w in b.windows]
            assert [w.total for w in a.windows] == pytest.approx([w.total for w in b.windows],
                                                                 rel=1e-12)
            assert [w.burn_rate for w in a.windows] == pytest.approx(
                [w.burn_rate for w in b.windows], rel=1e-12)
            assert [(x.severity, x.firing, [p.firing for p in x.pairs]) for x in a.alerts] == [
                (x.severity, x.firing, [p.firing for p in x.pairs]) for x in b.alerts]


def _cuts(rng: np.random.Generator, n: int) -> list[int]:
    """`n` + 1 distinct whole minutes around the data, some on the hour or 5 minutes."""
    points = set()
    while len(points) < n + 1:
        t = int(rng.integers(START - 3 * 3600, END + 3600)) // MIN * MIN
        points.add(t - t % (3600, 300, 60)[len(points) % 3])
    return sorted(points)


@pytest.mark.parametrize("intervals", [1, 4, 30])
def test_interval_sums_are_the_written_minutes_in_a_few_queries(engine, intervals):
    """`interval_sums` of several SLOs against the rows the test wrote, summed by hand, for
    cuts anywhere (on the hour, on 5 minutes, or neither; in the rolled-up first day, the
    second that is not, before and after the data); its statements do not grow with the
    SLOs or the intervals asked."""
    from dataclasses import replace
    from datetime import timedelta

    from sqlalchemy import event

    from services.store.slo_data import Sums, interval_sums, period_sums, stored_series
    from slo.model import Period

    _fill(engine)
    rng = np.random.default_rng(intervals)
    cuts = {slug: _cuts(rng, intervals) for slug in DATA}
    cuts["no-such-slo"] = [START, END]
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    with engine.connect() as conn:
        got = interval_sums(conn, cuts)
    assert len(statements) <= 9  # ids, where the roll-ups end (2 each), one per resolution
    assert got["no-such-slo"] == [Sums()]
    for slug, points in cuts.items():
        if slug not in DATA:
            continue
        good, total = DATA[slug]
        assert len(got[slug]) == intervals
        for (lo, hi), sums in zip(pairwise(points), got[slug], strict=True):
            a, b = (min(max(t - START, 0), END - START) // MIN for t in (lo, hi))
            assert sums.good == pytest.approx(np.nansum(good[:, a:b]), rel=1e-12)
            assert sums.total == pytest.approx(np.nansum(total[:, a:b]), rel=1e-12)
            assert sums.rows == np.sum(~np.isnan(total[:, a:b]))
    # a budget period beginning mid-hour on the rolled-up day: a calendar day in India
    day = replace(next(s for s in configured_slos(load_settings(
        EXAMPLE_CONFIG, slo_files=SLO_FILES)) if s.id == AVAILABILITY), period=Period(
        timedelta(days=1), rolling=False, calendar_unit="day", timezone="Asia/Kolkata"))
    at = END - 17 * MIN
    with engine.connect() as conn:
        [(start, sums)] = period_sums(conn, [day], at).values()
    assert start == END - 86_400 + 8 * 3600 + 30 * MIN  # 2026-11-03 18:30 UTC
    good, total = DATA[AVAILABILITY]
    a, b = (start - START) // MIN, (at - START) // MIN
    assert (sums.good, sums.total) == pytest.approx(
        (np.nansum(good[:, a:b]), np.nansum(total[:, a:b])), rel=1e-12)

    with engine.connect() as conn:  # and the minutes one SLO's report reads, exactly
        series = stored_series(conn, AVAILABILITY, START - 5 * MIN, END + 5 * MIN)
    good, total = by_hand(AVAILABILITY)
    np.testing.assert_array_equal(series.total[5:-5], total)
    np.testing.assert_array_equal(series.good[5:-5], good)
    assert np.isnan(series.total[:5]).all() and np.isnan(series.total[-5:]).all()


def test_the_slo_files_are_parsed_once_for_every_route_until_one_changes(engine, tmp_path,
                                                                          monkeypatch):
    """/slos, /slos/{id} and /services share one catalog of the configured files
    (`files.slo_catalog`): parsed on the first request, again only after a file changed;
    a file that no longer loads is 503 naming its line on both resources."""
    from services import files

    _fill(engine)
    spec = tmp_path / "slos" / "payment-service.yaml"
    spec.parent.mkdir()
    text = Path(SLO_FILES[0]).read_text(encoding="utf-8")
    spec.write_text(text, encoding="utf-8")
    settings = load_settings(EXAMPLE_CONFIG, data_dir=tmp_path / "var",  # its services
                             slo_files=[str(spec.parent / "*.yaml")])
    app = create_app(settings, engine, clock=lambda: NOW,
                     authenticator=Authenticator(parse_tokens(f"read:{READ}"), None))
    client = TestClient(app)
    parsed = []
    real = files.load_slo_files
    monkeypatch.setattr(files, "load_slo_files",
                        lambda paths: parsed.append(list(paths)) or real(paths))
    for path in ("/api/v1/slos", f"/api/v1/slos/{AVAILABILITY}", "/api/v1/services"):
        assert client.get(path).status_code == 200, path
    assert parsed == [[spec]]

    broken = text.replace("objective: 99.9", "objective: 120", 1)
    assert broken != text
    spec.write_text(broken, encoding="utf-8")
    app.state.layers.invalidate()  # cached answers dropped, as a collection round does
    for path in ("/api/v1/slos", f"/api/v1/slos/{AVAILABILITY}", "/api/v1/services"):
        answer = client.get(path)
        assert answer.status_code == 503, path
        assert f"{spec}:" in answer.json()["detail"] and "objective" in answer.json()["detail"]
    spec.write_text(text, encoding="utf-8")  # mended: parsed again, once
    app.state.layers.invalidate()
    before = len(parsed)
    for path in ("/api/v1/slos", f"/api/v1/slos/{AVAILABILITY}", "/api/v1/services"):
        assert client.get(path).status_code == 200, path
    assert len(parsed) == before + 1
