"""The dashboard's shell (streamlit_app.py, dashboard/shell.py, dashboard/context.py):
which pages it registers, how fresh it says the figures are and how often it refreshes,
the range it keeps across pages, and the banner it shows instead of a traceback when the
store or the configuration is broken."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dashboard_pages import (
    app_env,
    no_exception,
    run_page,
    screenshot_whole,
    seeded,
    texts,
    watched_page,
)

from dashboard import context, shell
from services.store.series import STEPS

PASSWORD = "s3cret-pw"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- pages ------------------------------------------------------------------------------------


def make_pages(root: Path, *names: str) -> Path:
    for name in names:
        path = root / "dashboard" / "pages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return root


def test_only_pages_whose_file_exists_are_registered(tmp_path):
    root = make_pages(tmp_path, "service.py", "targets.py", "platform.py")
    pages = shell.available_pages(root)
    assert [p.url_path for p in pages] == ["service", "targets"]  # platform.py is gone
    assert not any(p.default for p in pages)  # st.navigation then opens the first


def test_the_fleet_overview_is_the_default(tmp_path):
    root = make_pages(tmp_path, "fleet.py", "service.py")
    pages = shell.available_pages(root)
    assert pages[0].url_path == "fleet" and pages[0].default
    assert shell.page_exists("service", root) and not shell.page_exists("slos", root)


def test_every_page_of_the_issue_has_a_place_in_a_section():
    assert [p.url_path for p in shell.PAGES] == [
        "fleet", "service", "slos", "alerts", "roadmap", "cost", "engagement", "targets",
        "environments"]
    assert len({p.url_path for p in shell.PAGES}) == len(shell.PAGES)
    assert {p.section for p in shell.PAGES} == {shell.MONITOR, shell.PLATFORM, shell.OPERATIONS}


# --- freshness --------------------------------------------------------------------------------


def test_refresh_slows_as_the_range_grows_and_stays_within_bounds():
    ranges = sorted({context.make_view(text, "now", 1_800_000_000).seconds
                     for text in context.PRESETS.values()} | {60, 90 * 86_400})
    intervals = [shell.refresh_interval(r) for r in ranges]
    assert intervals == sorted(intervals)  # never faster for a longer range
    assert min(intervals) >= 30  # rows land once a minute: faster repeats the figures
    assert max(intervals) <= shell.LONGEST_REFRESH_S
    assert len(set(intervals)) > 3  # scaled, not one interval for all


@pytest.mark.parametrize(("seconds", "said"), [
    pytest.param(30, "30s", id="seconds"), pytest.param(120, "2m", id="minutes"),
    pytest.param(90, "1m30s", id="minutes and seconds"),
    pytest.param(5400, "1h30m", id="hours and minutes"), pytest.param(3600, "1h", id="hour"),
])
def test_intervals_read_as_people_write_them(seconds, said):
    assert shell.humanise_seconds(seconds) == said


def test_the_status_line_says_what_and_how_fresh():
    now = 1_800_000_123.4
    live = context.make_view("now-6h", "now", now)
    line = shell.status_line(live, now, 60)
    updated = datetime.fromtimestamp(now, UTC).strftime("%H:%M:%S")
    assert line == f"Last 6 hours · updated {updated} UTC · refreshes every 1m"
    fixed = context.make_view("2026-11-02T10:00", "2026-11-02T12:00", now)
    assert shell.status_line(fixed, now, None).endswith("fixed range")
    scoped = context.make_view("now-1h", "now", now, environment="staging")
    assert "environment staging" in shell.status_line(scoped, now, None)
    assert shell.status_line(scoped, now, None).endswith("auto-refresh off")


@pytest.mark.parametrize("from_text", ["now-2d", "now-7d", "now-30d", "now-1h"])
def test_a_view_starts_on_its_step_and_keeps_its_resolution(from_text):
    now = 1_800_000_000 + 17 * 60 + 37  # not on any step
    view = context.make_view(from_text, "now", now)
    typed = view.typed_start
    assert view.start % view.step_s == 0
    assert view.start <= typed < view.start + view.step_s
    assert view.resolution == context.resolution_for(view.end - typed)
    assert view.step_s == STEPS[view.resolution]


# --- the shell in AppTest ---------------------------------------------------------------------


def test_a_store_that_does_not_answer_is_a_banner_naming_it_without_its_password(
        monkeypatch, tmp_path):
    url = f"postgresql+psycopg://apollo:{PASSWORD}@127.0.0.1:{closed_port()}/apollo"
    app_env(monkeypatch, url)
    app = run_page("targets.py")
    assert not app.exception
    [error] = texts(app, "error")
    assert "The store is not answering" in error
    assert "apollo:***@127.0.0.1" in error and PASSWORD not in error
    assert not app.expander and not app.get("plotly_chart")  # the page did not run


def test_an_empty_store_says_what_to_run(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app_env(monkeypatch, url)
    app = run_page("service.py")
    assert not app.exception
    [error] = texts(app, "error")
    assert "is empty" in error and "apollo db upgrade" in error


def test_a_source_whose_newest_run_failed_is_a_banner_and_a_failed_scrape_is_not(
        monkeypatch, tmp_path):
    """A source (documents, Prometheus, ClickHouse, OpenCost) down is said on every page;
    a scrape target down is the Targets page's and the overview's figure, not a banner."""
    from collectors.runs import RunResult, record_run

    url, engine, now = seeded(tmp_path, 5)
    runs = [RunResult("costs", "docs/platform/costs.md", errors=["costs.md:3: no table"]),
            RunResult("roadmap", "docs/platform/roadmap.md"),
            RunResult("scrape", "http://10.0.0.6:8080/metrics", errors=["refused"]),
            # an older failure of ClickHouse, then a good run: up again
            RunResult("clickhouse", "chdb:///x", errors=["too many parts"]),
            RunResult("clickhouse", "chdb:///x")]
    with engine.begin() as conn:
        for i, run in enumerate(runs):
            run.started_at = datetime.fromtimestamp(now - 600 + i, UTC)
            record_run(conn, run.finish())
    app_env(monkeypatch, url)
    app = run_page("service.py")
    assert not app.exception
    [warning] = [w for w in texts(app, "warning") if "A source is down" in w]
    assert "costs" in warning and "costs.md:3: no table" in warning
    assert "refused" not in warning and "clickhouse" not in warning
    assert "roadmap" not in warning


def test_a_broken_configuration_is_a_banner(monkeypatch, tmp_path):
    broken = tmp_path / "apollo.yaml"
    broken.write_text("services:\n  - slug: Not A Slug\n")
    app_env(monkeypatch, f"sqlite:///{tmp_path / 'x.db'}", config=broken)
    app = run_page(None)
    assert not app.exception
    [error] = texts(app, "error")
    assert "The configuration does not load" in error and f"{broken}:2" in error


def test_the_range_survives_a_page_switch(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 5)
    engine.dispose()
    app_env(monkeypatch, url)
    app = run_page("targets.py", {"from": "now-24h", "to": "now"})
    assert texts(app, "caption")[0].startswith("Last 24 hours")
    for name in list(app.query_params):  # Streamlit clears the URL on a page switch
        del app.query_params[name]
    app.switch_page("dashboard/pages/environments.py").run()
    assert not app.exception
    assert texts(app, "caption")[0].startswith("Last 24 hours")
    assert app.query_params["from"] == "now-24h"


def test_auto_refresh_is_on_for_live_ranges_and_off_by_url(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 5)
    engine.dispose()
    app_env(monkeypatch, url)
    app = run_page("environments.py", {"from": "now-1h", "to": "now"})
    every = shell.humanise_seconds(shell.refresh_interval(3600))
    assert app.toggle[0].value is True
    assert texts(app, "caption")[0].endswith(f"refreshes every {every}")
    app = run_page("environments.py", {"from": "now-1h", "to": "now", "refresh": "off"})
    assert app.toggle[0].value is False
    assert texts(app, "caption")[0].endswith("auto-refresh off")
    app = run_page("environments.py", {"from": "2026-11-02T10:00", "to": "2026-11-02T12:00"})
    assert not app.toggle  # a fixed range never refreshes
    assert texts(app, "caption")[0].endswith("fixed range")


# --- the shell in Chromium --------------------------------------------------------------------


@pytest.mark.servers
def test_a_store_down_is_a_banner_in_chromium_and_the_range_follows_the_pages(tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    down = f"postgresql+psycopg://apollo:{PASSWORD}@127.0.0.1:{closed_port()}/apollo"
    with running_dashboard(down, tmp_path) as address, chromium() as browser, \
            watched_page(browser) as page:
        page.goto(f"{address}/targets")
        page.wait_for_selector("text=The store is not answering", timeout=FIRST_PAINT_MS)
        no_exception(page)
        assert PASSWORD not in page.content()
        assert page.get_by_text("apollo:***@127.0.0.1", exact=False).is_visible()
        screenshot_whole(page, "store-down.png")

    url, engine, _ = seeded(tmp_path / "up", 5)
    engine.dispose()
    with running_dashboard(url, tmp_path) as address, chromium() as browser, \
            watched_page(browser) as page:
        page.goto(f"{address}/environments?from=now-24h&to=now")
        page.wait_for_selector("text=Settings that differ", timeout=FIRST_PAINT_MS)
        page.get_by_role("link", name="Targets").click()
        page.wait_for_url("**/targets?**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=Last 24 hours", timeout=FIRST_PAINT_MS)
        assert "from=now-24h" in page.url
        no_exception(page)
