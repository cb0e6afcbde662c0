"""The Fleet overview: its headline counts, platform table, sparklines, banner and SLO table
against a second computation (SQL over the stored rows, the API's answer for the same
range, counts by hand), in AppTest and in Chromium.

The store is the SLOs page's (`test_dashboard_slos.world`): six hours of the fleet's
service minutes, two days of three SLOs' minutes with an error burst at the end, a firing
page, a deploy marker and collector runs (one target's newest run failed); the payment
service in production, the gateway in staging.
"""

from __future__ import annotations

import math

import pytest
from dashboard_pages import (
    SLO_FILES,
    app_env,
    no_exception,
    run_page,
    screenshot_whole,
    seeded,
    texts,
    watched_page,
)
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_dashboard_slos import (
    AVAILABILITY,
    DATA,
    NOW,
    P95_MINUTES,
    RANGE,
    SLOS,
    left_by_sql,
    sums,
    world,  # noqa: F401  (the store, a fixture)
)

from dashboard.figures import fleet as figures
from dashboard.figures.slo import SloSummary
from services.api.app import create_app
from services.auth import Authenticator
from services.config import EXAMPLE_CONFIG, load_settings

START = NOW - 6 * 3600
WINDOW_S = {"1h": 3600, "6h": 6 * 3600, "1d": 86_400}


@pytest.fixture
def store(world, monkeypatch):  # noqa: F811
    """The store, with dashboard.data reading it."""
    app_env(monkeypatch, world[0])
    return world


def service_sums(engine, slug: str, start: int, end: int) -> tuple[float, int]:
    """(requests, minutes with a row) of the service in [start, end), by SQL."""
    with engine.connect() as conn:
        requests, minutes = conn.execute(text(
            "SELECT COALESCE(SUM(m.requests), 0), COUNT(DISTINCT m.minute) "
            "FROM service_minutes m JOIN services s ON s.id = m.service_id "
            "WHERE s.slug = :slug AND m.minute >= :a AND m.minute < :b"),
            {"slug": slug, "a": start, "b": end}).one()
    return float(requests), int(minutes)


# --- headline figures -----------------------------------------------------------------------


@pytest.mark.parametrize("window", figures.MEETING_WINDOWS)
def test_slos_meeting_target_recomputed_from_the_stored_minutes(store, window):
    from dashboard.data import slo as slo_data

    _, engine = store
    items, _ = slo_data.summaries(NOW, None)
    met = figures.meeting(items, window)
    expected = 0
    for slug in DATA:
        good, total = sums(engine, slug, NOW - WINDOW_S[window], NOW)
        expected += good / total >= SLOS[slug].objective / 100
    assert (met.met, met.measured, met.total) == (expected, len(DATA), len(SLOS))
    assert met.measured > met.met  # the burst misses it


def test_budget_at_risk_is_under_a_quarter_left_by_sql(store):
    from dashboard.data import slo as slo_data

    _, engine = store
    items, _ = slo_data.summaries(NOW, None)
    expected = {slug for slug in DATA if left_by_sql(engine, slug, NOW) < 0.25}
    assert {i.id for i in figures.at_risk(items)} == expected
    assert AVAILABILITY in expected


def test_meeting_counts_by_hand():
    def item(slo_id: str, burn: float | None) -> SloSummary:
        return SloSummary(slo_id, "s", slo_id, "", {}, 99.9, "30d", "errors", None, None,
                          None, None, {"1h": burn}, [], {})

    met = figures.meeting([item("a", 1.0), item("b", 1.01), item("c", None), item("d", 0.2)],
                          "1h")
    assert (met.met, met.measured, met.total, met.text) == (2, 3, 4, "2 / 3")
    assert figures.meeting([item("c", None)], "1h").text == "No data"


def test_the_banner_names_the_pages_firing():
    rows = [{"name": "PayAvail", "service": "payment-service", "slo": "pay", "severity": "page"},
            {"name": "Gw", "service": "api-gateway", "slo": "gw", "severity": "ticket"},
            {"name": "AmCrit", "service": "", "slo": "", "severity": "critical"}]
    text_ = figures.banner(rows)
    assert text_.startswith("2 pages firing:")
    assert "**PayAvail** (payment-service, SLO pay)" in text_
    assert "**AmCrit** (no service)" in text_ and "Gw" not in text_
    assert figures.banner(rows[1:2]) is None


def test_targets_down_are_those_whose_newest_run_failed(store):
    from dashboard.data import fleet as data

    assert data.targets_down(START, NOW + 60, None) == (1, 2)


# --- the platform table ---------------------------------------------------------------------


def test_the_platform_table_is_the_apis_for_the_same_range(store, tmp_path, monkeypatch):
    from dashboard.data import fleet as data

    _, engine = store
    clock = NOW + 7
    monkeypatch.setenv("APOLLO_SLO_FILES", SLO_FILES)
    settings = load_settings(EXAMPLE_CONFIG)
    client = TestClient(create_app(settings, engine, clock=lambda: clock,
                                   authenticator=Authenticator(None, None)))
    answer = client.get("/api/v1/services", params={"from": START, "to": NOW, "limit": 100})
    assert answer.status_code == 200, answer.text
    api = {item["slug"]: item for item in answer.json()["items"]}
    platform = data.platform(START, NOW, "minute", 60, None, clock)
    summary = platform.summary.set_index("service")
    assert sorted(summary.index) == sorted(api)
    for slug, item in api.items():
        row = summary.loc[slug]
        assert row["status"] == item["status"], slug
        for ours, theirs in (("p95_ms", "p95_ms"), ("throughput_rps", "throughput_rps"),
                             ("cpu_ratio", "cpu_ratio"), ("memory_gib", "memory_gib")):
            if theirs is None or item[theirs] is None:
                assert math.isnan(row[ours]), (slug, ours)
            else:
                assert row[ours] == pytest.approx(item[theirs], rel=1e-9), (slug, ours)
    assert summary.loc["payment-service", "status"] == "critical"  # its budget is spent
    assert summary.loc["apollo-api", "status"] == "unknown"  # nothing measured
    # and by SQL: requests over the seconds of the minutes measured
    requests, minutes = service_sums(engine, "auth-service", START, NOW)
    assert summary.loc["auth-service", "throughput_rps"] == pytest.approx(
        requests / (60 * minutes))


def test_throughput_per_interval_divides_by_the_seconds_it_covers(store):
    from dashboard.data import fleet as data

    _, engine = store
    step, start, end = 300, NOW - 3600, NOW - 120  # the range ends inside its last interval
    platform = data.platform(start, end, "5m", step, None, NOW)
    mine = platform.intervals[platform.intervals["service"] == "user-service"].set_index("ts")
    first = start - start % step
    last = end - (end - first) % step if (end - first) % step else end - step
    assert mine.index.max() == last
    for ts in (first, last):
        requests, _ = service_sums(engine, "user-service", ts, min(ts + step, end))
        assert mine.loc[ts, "rps"] == pytest.approx(requests / (min(ts + step, end) - ts))


def test_sparklines_scale_to_the_highest_and_count_the_gaps():
    assert figures.sparkline([1.0, math.nan, 4.0, 2.0]) == [0.25, 1.0, 0.5]
    assert figures.gaps([1.0, math.nan, 4.0, math.nan]) == 2
    assert figures.sparkline([math.nan, math.nan]) == []
    assert figures.sparkline([0.0, 0.0]) == [0.0, 0.0]


def test_the_services_frame_says_status_in_words_and_no_data(store):
    from dashboard.data import fleet as data

    platform = data.platform(START, NOW, "minute", 60, None, NOW)
    grid = list(range(START, NOW, 60))
    frame = figures.services_frame(platform.summary, platform.intervals, grid).set_index(
        "Service")
    assert frame.loc["Payment Service", "Status"] == ["Critical"]
    assert "budget" in frame.loc["Payment Service", "Why"]
    assert frame.loc["Apollo API", "Status"] == ["Unknown"]
    assert frame.loc["Apollo API", "p95"] == "No data"
    assert frame.loc["Apollo API", "p95 trend"] == []
    assert frame.loc["Auth Service", "Measured"] == "360 / 360 intervals"
    assert frame.loc["Database Cluster", "Throughput"].endswith("queries/s")
    assert max(frame.loc["Auth Service", "Throughput trend"]) == 1.0


def test_the_slo_trend_is_each_intervals_burn_by_sql(store):
    from dashboard.data import fleet as data

    _, engine = store
    step = 300
    burns = data.slo_burns(START, NOW, "5m", step, None)
    first = START - START % step  # intervals are whole 5 minutes, as the store keeps them
    for slug in (AVAILABILITY, P95_MINUTES):  # occurrences, and one-minute timeslices
        budget = 1 - SLOS[slug].objective / 100
        for k in (0, 35, 71):
            good, total = sums(engine, slug, first + k * step, first + (k + 1) * step)
            assert burns[slug][k] == pytest.approx((total - good) / total / budget), (slug, k)
    assert all(math.isnan(v) for v in burns["auth-service-availability"])  # No data


def test_the_environment_scopes_services_and_slos(store):
    from dashboard.data import fleet as data
    from dashboard.data import slo as slo_data

    platform = data.platform(START, NOW, "minute", 60, "production", NOW)
    assert platform.summary["service"].tolist() == ["payment-service"]
    items, _ = slo_data.summaries(NOW, "staging")
    assert {i.service for i in items} == {"api-gateway"}
    assert data.firing("staging") == [] and len(data.firing("production")) == 1


# --- the page ---------------------------------------------------------------------------------


def metric_values(app) -> dict[str, str]:
    return {m.label: str(m.value) for m in app.metric}


def test_the_fleet_page_in_apptest(store):
    _, engine = store
    app = run_page("fleet.py", RANGE)
    assert not app.exception
    metrics = metric_values(app)
    one_hour = sum(sums(engine, s, NOW - 3600, NOW)[0] / sums(engine, s, NOW - 3600, NOW)[1]
                   >= SLOS[s].objective / 100 for s in DATA)
    assert metrics["SLOs met, 1h"] == f"{one_hour} / {len(DATA)}"
    assert metrics["Alerts firing"] == "1"
    assert metrics["Targets down"] == "1 / 2"
    assert "1 page firing: **PaymentServiceAvailability**" in texts(app, "error")[0]
    services = app.dataframe[0].value.set_index("Service")
    assert list(services.loc["Payment Service", "Status"]) == ["Critical"]
    slos = app.dataframe[1].value
    worst = min(DATA, key=lambda slug: left_by_sql(engine, slug, NOW))
    assert slos["SLO"].iloc[0] == worst


def test_the_environment_in_the_url_scopes_the_page(store):
    app = run_page("fleet.py", {**RANGE, "env": "production"})
    assert not app.exception
    assert app.dataframe[0].value["Service"].tolist() == ["Payment Service"]
    assert set(app.dataframe[1].value["Service"]) == {"payment-service"}


def test_an_empty_store_shows_no_data_not_zero(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0, now=NOW)
    app_env(monkeypatch, url)
    app = run_page("fleet.py", RANGE)
    assert not app.exception
    metrics = metric_values(app)
    assert metrics["SLOs met, 1h"] == "No data" and metrics["Targets down"] == "No data"
    assert metrics["Alerts firing"] == "0"
    services = app.dataframe[0].value
    assert services["p95"].eq("No data").all()
    assert all(list(s) == ["Unknown"] for s in services["Status"])
    assert not texts(app, "error")  # no banner
    engine.dispose()


@pytest.mark.servers
def test_the_fleet_page_in_chromium(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine = store
    query = f"from={RANGE['from']}&to={RANGE['to']}"
    risky = sum(left_by_sql(engine, s, NOW) < 0.25 for s in DATA)
    with running_dashboard(url, tmp_path, env={"APOLLO_SLO_FILES": SLO_FILES}) as address, \
            chromium() as browser, watched_page(browser, height=1200) as page:
        page.goto(f"{address}/?{query}")
        page.wait_for_selector("text=SLOs, worst budget first", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("[data-testid=stDataFrame]", timeout=FIRST_PAINT_MS)
        no_exception(page)
        assert page.get_by_text("1 page firing:").is_visible()
        budget = page.locator("[data-testid=stMetric]", has_text="Budget at risk")
        assert f"{risky} / {len(DATA)}" in budget.inner_text()
        down = page.locator("[data-testid=stMetric]", has_text="Targets down")
        assert "1 / 2" in down.inner_text()
        assert page.locator("[data-testid=stDataFrame]").count() == 2
        screenshot_whole(page, "fleet.png")
        # one interaction: an environment scopes the page and goes into the URL
        page.get_by_role("combobox", name="Environment").click()
        page.get_by_role("option", name="production").click()
        page.wait_for_url("**env=production**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=environment production", timeout=FIRST_PAINT_MS)
        no_exception(page)
        assert "1 page firing:" in page.inner_text("[data-testid=stMain]")
        screenshot_whole(page, "fleet-production.png")

