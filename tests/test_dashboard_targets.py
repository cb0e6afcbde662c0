"""The Targets page: its table and run counts against the runs written here (counted again
in Python from the list that was written), its pure parts, the page in AppTest with
filters from the URL, and in Chromium."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
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

from collectors.runs import RunResult, record_run
from dashboard.data import targets as data
from dashboard.figures import targets as figures
from services.config import EXAMPLE_CONFIG, load_settings
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services
from services.store.models import ServiceMinute

TARGETS = [
    {"service": "api-gateway", "url": "http://10.0.0.5:8080/metrics",
     "environment": "production", "labels": {"zone": "a"}},
    {"service": "api-gateway", "url": "http://10.0.0.6:8080/metrics",
     "environment": "production", "labels": {"zone": "b"}},
    {"service": "payment-service", "url": "http://10.0.0.7:8080/metrics",
     "environment": "staging"},
    {"service": "auth-service", "url": "http://10.0.0.8:8080/metrics",
     "environment": "staging"},  # configured, never scraped
]
UNCONFIGURED = "http://127.0.0.1:9106/metrics"  # a demo fleet page: its rows name the service
REFUSED = "ConnectError: [Errno 111] Connection refused"
MINUTES = 30


def written_runs(now: int) -> list[RunResult]:
    """Every 15 s for 30 minutes: three configured targets and the unconfigured page (the
    second gateway refused for the last 5 minutes, a gap found on the payment page), the
    roadmap every 10 minutes, and one failed cost run."""
    runs = []
    for k in range(MINUTES * 4):
        t = now - MINUTES * 60 + 15 * k
        for i, url in enumerate([*(x["url"] for x in TARGETS[:3]), UNCONFIGURED]):
            at = datetime.fromtimestamp(t + 0.001 * i, UTC)
            if url == TARGETS[1]["url"] and k >= (MINUTES - 5) * 4:
                run = RunResult("scrape", url, started_at=at, errors=[f"{url}: {REFUSED}"])
            else:
                run = RunResult("scrape", url, started_at=at, samples=300 + i)
            if url == TARGETS[2]["url"] and k == 40:
                run.gaps = [{"start": t - 180, "end": t - 60}]
            run.finished_at = at + timedelta(milliseconds=20 + 5 * i)
            runs.append(run)
        if k % 40 == 0:
            run = RunResult("roadmap", "docs/platform/roadmap.md",
                            started_at=datetime.fromtimestamp(t, UTC), samples=42)
            run.finished_at = run.started_at + timedelta(milliseconds=50)
            runs.append(run)
    cost = RunResult("costs", "docs/platform/costs.md",
                     started_at=datetime.fromtimestamp(now - 120, UTC),
                     errors=["docs/platform/costs.md:3: cannot read: no table", "second"])
    cost.finished_at = cost.started_at + timedelta(milliseconds=3)
    return [*runs, cost]


@pytest.fixture
def targets_env(monkeypatch):
    monkeypatch.setenv("APOLLO_SOURCES__SCRAPE__TARGETS", json.dumps(TARGETS))


@pytest.fixture
def store(tmp_path, targets_env):
    """The fleet's last 30 minutes (notification-hub's rows carry the unconfigured page's
    instance, as a demo collector writes them) and the runs above."""
    url, engine, now = seeded(tmp_path, MINUTES)
    runs = written_runs(now)
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("notification-hub", "Notification Hub")])
        writes.upsert(conn, ServiceMinute.__table__, [
            (now - 120, ids["notification-hub"], 10.0, 0.0, 0.1, 10.0, 0.3, 1.0e9,
             "127.0.0.1:9106")])
        for run in runs:
            record_run(conn, run)
    yield url, engine, now, runs
    engine.dispose()


def table(engine, start: int, end: int) -> pd.DataFrame:
    with engine.connect() as conn:
        return data.target_table(conn, load_settings(EXAMPLE_CONFIG), start, end)


# --- the table against the runs written -------------------------------------------------------


def test_each_target_shows_its_newest_run_and_the_range_counts(store):
    _, engine, now, runs = store
    start = now - 20 * 60
    got = table(engine, start, now).set_index("endpoint")
    in_range = [r for r in runs if start <= r.started_at.timestamp() < now]
    for url in {r.target for r in runs}:
        mine = [r for r in runs if r.target == url and r.started_at.timestamp() < now]
        newest = max(mine, key=lambda r: r.started_at)
        row = got.loc[url]
        assert row["state"] == {"ok": "up", "partial": "partial", "failed": "down"}[
            newest.status]
        assert row["samples"] == newest.samples
        assert row["duration_s"] == pytest.approx(newest.duration_s, abs=1e-3)
        assert row["runs"] == sum(r.target == url for r in in_range)
        assert row["failed"] == sum(r.target == url and r.status == "failed" for r in in_range)
        assert row["error"] == (newest.errors[0] if newest.errors else "")
    # a configured target never scraped is listed, unknown
    assert got.loc[TARGETS[3]["url"], "state"] == "unknown"
    assert got.loc[TARGETS[3]["url"], "runs"] == 0


def test_pools_are_jobs_from_config_fleet_rows_or_the_collector(store):
    _, engine, now, _ = store
    got = table(engine, now - 20 * 60, now).set_index("endpoint")
    for target in TARGETS:
        assert got.loc[target["url"], "pool"] == target["service"]
        assert got.loc[target["url"], "environment"] == target["environment"]
    assert got.loc[UNCONFIGURED, "pool"] == "notification-hub"  # from the rows' instance
    assert got.loc["docs/platform/roadmap.md", "pool"] == "roadmap"
    summary = figures.pool_summary(got.reset_index()).set_index("pool")
    assert summary.loc["api-gateway", ["up", "total", "health"]].tolist() == [1, 2, "down"]
    assert summary.loc["auth-service", "health"] == "unknown"
    assert summary.loc["payment-service", "health"] == "up"


def test_gaps_found_by_runs_in_the_range_are_listed(store):
    _, engine, now, runs = store
    got = table(engine, now - MINUTES * 60, now).set_index("endpoint")
    found = [(g["start"], g["end"]) for r in runs for g in r.gaps]
    assert got.loc[TARGETS[2]["url"], "gaps"] == found
    assert got.loc[TARGETS[0]["url"], "gaps"] == []
    start, end = found[0]
    assert figures.gap_text(found) == (
        f"{datetime.fromtimestamp(start, UTC):%H:%M}-"
        f"{datetime.fromtimestamp(end, UTC):%H:%M} UTC (2m)")


@pytest.mark.parametrize("step", [60, 300])
def test_runs_over_time_count_every_run_by_interval_and_outcome(store, step):
    _, engine, now, runs = store
    start = now - MINUTES * 60
    with engine.connect() as conn:
        got = data.runs_over_time(conn, start, now, step)
    counted = Counter((int(r.started_at.timestamp()) // step * step, r.collector, r.status)
                      for r in runs if start <= r.started_at.timestamp() < now)
    assert {(int(t.timestamp()), c, s): n for t, c, s, n in
            got[["ts", "collector", "status", "runs"]].itertuples(index=False)} == counted
    figure = figures.runs_over_time(got, start=start, end=now, step=step)
    drawn = {trace.name: sum(trace.y) for trace in figure.data}
    assert drawn == {status: sum(n for (_, _, s), n in counted.items() if s == status)
                     for status in ("ok", "failed")}
    assert [pd.Timestamp(x) for x in figure.layout.xaxis.range] == [
        pd.Timestamp(start, unit="s", tz="UTC"), pd.Timestamp(now, unit="s", tz="UTC")]


# --- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "said"), [
    pytest.param(12.7, "12s ago", id="seconds"),
    pytest.param(61, "1m ago", id="a minute"),
    pytest.param(3 * 3600 + 5, "3h ago", id="hours"),
    pytest.param(2 * 86_400, "2d ago", id="days"),
    pytest.param(None, "never", id="never run"),
    pytest.param(-3, "0s ago", id="a clock slightly behind"),
])
def test_ago_reads_as_people_say_it(seconds, said):
    assert figures.ago(seconds) == said


@pytest.mark.parametrize(("states", "health"), [
    pytest.param(["up", "up"], "up", id="all up is green"),
    pytest.param(["up", "down"], "down", id="one down is red"),
    pytest.param(["up", "partial"], "partial", id="partial is amber"),
    pytest.param(["up", "unknown"], "partial", id="one never run among up ones is amber"),
    pytest.param(["unknown"], "unknown", id="none run is grey"),
])
def test_a_pools_ring(states, health):
    assert figures.pool_health(states) == health


def test_filters_keep_what_they_name(store):
    _, engine, now, _ = store
    frame = table(engine, now - 20 * 60, now)
    down = figures.filter_targets(frame, health=["down"])
    assert sorted(down["endpoint"]) == sorted([TARGETS[1]["url"], "docs/platform/costs.md"])
    zone = figures.filter_targets(frame, text="zone=b")
    assert zone["endpoint"].tolist() == [TARGETS[1]["url"]]
    refused = figures.filter_targets(frame, text="connection refused")
    assert refused["endpoint"].tolist() == [TARGETS[1]["url"]]
    pool = figures.filter_targets(frame, pools=["api-gateway"], health=["up"])
    assert pool["endpoint"].tolist() == [TARGETS[0]["url"]]
    assert len(figures.filter_targets(frame)) == len(frame)


def test_labels_read_as_prometheus_shows_them(store):
    _, engine, now, _ = store
    frame = table(engine, now - 20 * 60, now)
    row = frame[frame["endpoint"] == TARGETS[0]["url"]].iloc[0]
    labels = figures.labels_of(row)
    assert labels == {"job": "api-gateway", "instance": "10.0.0.5:8080",
                      "environment": "production", "zone": "a"}
    assert figures.label_chips(labels).count(":gray-badge[") == 4
    roadmap = frame[frame["endpoint"] == "docs/platform/roadmap.md"].iloc[0]
    assert figures.labels_of(roadmap) == {"job": "roadmap", "collector": "roadmap"}


# --- the page in AppTest ----------------------------------------------------------------------


def expanders(app) -> list[str]:
    return [e.label for e in app.expander]


def test_the_page_lists_pools_with_their_up_counts(store, monkeypatch):
    url, *_ = store
    app_env(monkeypatch, url)
    app = run_page("targets.py", {"from": "now-20m", "to": "now"})
    assert not app.exception
    labels = expanders(app)
    assert any("**api-gateway** · 1 / 2 up" in label for label in labels)
    assert any("**auth-service** · 0 / 1 up" in label for label in labels)
    assert any(":red[●] **costs**" in label for label in labels)
    errors = [m.replace("\\", "") for m in texts(app, "markdown") if m.startswith(":red[")]
    assert any(REFUSED in m for m in errors)
    assert any("cannot read: no table" in m for m in errors)  # only the first line
    assert not any("second" in m for m in errors)
    assert len(app.get("plotly_chart")) == 2


def test_filters_come_from_the_url_and_hidden_pools_are_counted(store, monkeypatch):
    url, engine, *_ = store
    app_env(monkeypatch, url)
    app = run_page("targets.py", {"from": "now-20m", "to": "now", "health": "down"})
    assert not app.exception
    labels = expanders(app)
    assert len(labels) == 2 and any("api-gateway" in label for label in labels)
    assert any("pool(s)" in c and "hidden by filters" in c for c in texts(app, "caption"))
    next(b for b in app.button if b.label == "Reset filters").click()
    app.run()
    assert "health" not in app.query_params
    view = app.session_state["apollo.view"]
    pools = set(table(engine, view.start, view.end)["pool"])
    assert len(expanders(app)) == len(pools)


def test_with_no_target_and_no_run_the_page_says_how_to_get_some(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0)
    engine.dispose()
    app_env(monkeypatch, url)
    app = run_page("targets.py")
    assert not app.exception
    assert any("No scrape target is configured" in i for i in texts(app, "info"))


# --- the page in Chromium ---------------------------------------------------------------------


@pytest.mark.servers
def test_the_targets_page_in_chromium(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, *_ = store
    env = {"APOLLO_SLO_FILES": SLO_FILES, "APOLLO_SOURCES__SCRAPE__TARGETS": json.dumps(TARGETS)}
    with running_dashboard(url, tmp_path, env=env) as address, chromium() as browser, \
            watched_page(browser) as page:
        page.goto(f"{address}/targets?from=now-20m&to=now")
        page.wait_for_selector("text=Run duration", timeout=FIRST_PAINT_MS)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 2",
                               timeout=FIRST_PAINT_MS)
        no_exception(page)
        assert page.get_by_text("1 / 2 up").is_visible()
        assert page.get_by_text(REFUSED).first.is_visible()
        screenshot_whole(page, "targets.png")
        # one interaction: the text filter goes into the URL and keeps one target
        box = page.get_by_label("Filter by endpoint, label or error")
        box.fill("zone=b")
        box.press("Enter")
        page.wait_for_url("**q=zone%3Db**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=hidden by filters", timeout=FIRST_PAINT_MS)
        endpoints = page.get_by_role("code")
        assert endpoints.filter(has_text="http://10.0.0.5:8080/metrics").count() == 0
        assert endpoints.filter(has_text="http://10.0.0.6:8080/metrics").is_visible()
        no_exception(page)
