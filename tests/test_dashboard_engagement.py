"""The Engagement page: its figure builders against figures worked out here with plain
loops and SQL, the page in AppTest over a SQLite store holding the rollup as the
ClickHouse collector writes it (with a day missing), and the page in Chromium."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from dashboard.figures import engagement as figures
from services.config import EXAMPLE_CONFIG
from services.store import document_rows, writes
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import EngagementDay

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "screenshots"
TYPES = ("click", "page_view", "purchase")
NOW = time.time()
TODAY = datetime.fromtimestamp(NOW, UTC).date()
MISSING = TODAY - timedelta(days=3)  # the collector wrote nothing that day: a gap


def rollup_rows(first: date, last: date, *, skip: tuple[date, ...] = (), seed: int = 7
                ) -> list[tuple]:
    """Rows as the ClickHouse collector writes them: each type and `all` per day."""
    rng, rows, day = random.Random(seed), [], first
    while day <= last:
        if day not in skip:
            kinds = [(k, rng.randint(50, 900), rng.randint(1_000, 20_000),
                      rng.uniform(20, 400), rng.uniform(40, 300)) for k in TYPES]
            rows += [(day, *k) for k in kinds]
            rows.append((day, "all", max(k[1] for k in kinds) + rng.randint(0, 50),
                         sum(k[2] for k in kinds),
                         sum(k[2] * k[3] for k in kinds) / sum(k[2] for k in kinds),
                         max(k[4] for k in kinds)))
        day += timedelta(days=1)
    return rows


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["day", "event_type", "active_users", "events",
                                       "avg_session_s", "p95_response_ms"])


def screenshot_whole(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to it."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 100)})
    page.wait_for_timeout(800)  # plotly redraws at the new size
    page.screenshot(path=str(path))


# --- figure builders ------------------------------------------------------------------------


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
       st.integers(60, 90 * 86_400))
def test_a_range_is_the_days_it_touches_and_as_many_before(start, seconds):
    start = start.replace(tzinfo=UTC)
    end = start + timedelta(seconds=seconds)
    hours = pd.date_range(start, end - timedelta(seconds=1), freq="h")
    touched = sorted({h.date() for h in hours} | {(end - timedelta(seconds=1)).date()})
    span = figures.periods(start, end)
    assert span.days == touched
    assert len(span.previous) == len(touched)
    assert span.previous[-1] == touched[0] - timedelta(days=1)
    assert all((b - a).days == 1 for a, b in zip(span.previous[:-1], span.previous[1:],
                                                          strict=True))


def test_a_day_without_a_row_is_missing_not_zero():
    days = [date(2026, 11, d) for d in range(1, 6)]
    rows = frame_of(rollup_rows(days[0], days[-1], skip=(days[2],)))
    shown = figures.daily(rows, days)
    assert shown.loc[days[2]].isna().all()
    stored = rows[rows["event_type"] == "all"].set_index("day")
    for day in (days[0], days[1], days[3], days[4]):
        assert shown.loc[day, "events"] == stored.loc[day, "events"]


def test_the_headline_figures_of_a_period():
    days = [date(2026, 11, d) for d in range(1, 8)]
    rows = rollup_rows(days[0], days[-1], skip=(days[4],))
    got = figures.headline(figures.daily(frame_of(rows), days))
    alls = [r for r in rows if r[1] == "all"]
    assert got.days_with_data == len(alls) == 6
    assert got.active_users == pytest.approx(sum(r[2] for r in alls) / len(alls))
    assert got.events == sum(r[3] for r in alls)
    seconds = 0.0
    for r in alls:
        seconds += r[3] * r[4]
    assert got.avg_session_s == pytest.approx(seconds / got.events)
    worst = 0.0
    for r in alls:
        worst = max(worst, r[5])
    assert got.p95_response_ms == worst
    empty = figures.headline(figures.daily(frame_of([]), days))
    assert empty == figures.Headline(0, None, None, None, None)
    assert figures.change(got.events, empty.events) is None
    assert figures.change(110.0, 100.0) == "+10.0%"


def test_the_previous_period_is_drawn_on_the_same_days():
    days = [date(2026, 11, d) for d in range(8, 15)]
    before = [date(2026, 11, d) for d in range(1, 8)]
    rows = frame_of(rollup_rows(before[0], days[-1], skip=(days[2],)))
    figure = figures.by_day(figures.daily(rows, days), figures.daily(rows, before),
                            "events", "Events", "events / day")
    previous, current = figure.data
    alls = rows[rows["event_type"] == "all"].set_index("day")["events"]
    assert list(current.x) == days
    assert [None if pd.isna(v) else v for v in current.y] == [
        None if d == days[2] else alls[d] for d in days]
    assert list(previous.x) == days  # shifted by the period's length
    assert list(previous.y) == [alls[d] for d in before]
    assert list(previous.customdata) == [f"{d:%Y-%m-%d}" for d in before]
    assert current.connectgaps is False and previous.line.dash == "dash"
    first = datetime(2026, 11, 8) - timedelta(hours=12)
    assert list(figure.layout.xaxis.range) == [first, first + timedelta(days=7)]


def test_events_by_type_and_against_the_previous_period():
    days = [date(2026, 11, d) for d in range(8, 11)]
    before = [date(2026, 11, d) for d in range(5, 8)]
    rows = frame_of(rollup_rows(before[0], days[-1]))
    now, then = rows[rows["day"].isin(days)], rows[rows["day"].isin(before)]
    figure = figures.events_by_type(now, days)
    assert [t.name for t in figure.data] == list(TYPES)
    table = figures.types_table(now, then).set_index("Event type")
    for kind, trace in zip(TYPES, figure.data, strict=True):
        mine = [r[3] for r in rollup_rows(before[0], days[-1]) if r[1] == kind]
        assert list(trace.y) == mine[3:]
        ratio = (sum(mine[3:]) - sum(mine[:3])) / sum(mine[:3])
        assert table.loc[kind, "Events"] == sum(mine[3:])
        assert table.loc[kind, "Change"] == f"{ratio:+.1%}"


# --- the page ------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    """The rollup for the 20 days up to today, one day of them missing."""
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        writes.upsert(conn, EngagementDay.__table__,
                      rollup_rows(TODAY - timedelta(days=19), TODAY, skip=(MISSING,)))
    yield url, engine
    engine.dispose()


def run_page(url: str, monkeypatch, **params: str):
    """The shell (range from the URL) switched to the Engagement page."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("APOLLO_DATABASE_URL", url)
    monkeypatch.setenv("APOLLO_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.chdir(ROOT)
    import streamlit

    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
    for key, value in {"refresh": "off", **params}.items():
        app.query_params[key] = value
    app.run()
    return app.switch_page("dashboard/pages/engagement.py").run()


def by_sql(engine, first: date, last: date) -> dict[str, float]:
    """The period's figures as the page defines them, in SQL."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT avg(active_users), sum(events), sum(events * avg_session_s) / sum(events),"
            " max(p95_response_ms) FROM engagement_days WHERE event_type = 'all' "
            "AND day >= :a AND day <= :b"), {"a": first, "b": last}).one()
    return dict(zip(("users", "events", "session", "p95"), map(float, row), strict=True))


def test_the_page_shows_the_days_against_the_days_before(store, monkeypatch):
    url, engine = store
    app = run_page(url, monkeypatch, **{"from": "now-7d", "to": "now"})
    assert not app.exception
    first = datetime.fromtimestamp(NOW - 7 * 86400, UTC).date()  # the range's first day
    count = (TODAY - first).days + 1
    now = by_sql(engine, first, TODAY)
    before = by_sql(engine, first - timedelta(days=count), first - timedelta(days=1))
    shown = {m.label: m for m in app.metric}
    assert shown["Events"].value == f"{now['events']:,.0f}"
    assert shown["Events"].delta == f"{(now['events'] - before['events']) / before['events']:+.1%}"
    assert shown["Active users (daily mean)"].value == f"{now['users']:,.0f}"
    assert shown["p95 response (worst day)"].value == f"{now['p95']:,.0f} ms"
    from streamlit.proto.Metric_pb2 import Metric  # a slower worst day reads red

    assert shown["p95 response (worst day)"].proto.color == (
        Metric.RED if now["p95"] > before["p95"] else Metric.GREEN)
    minutes, seconds = divmod(round(now["session"]), 60)
    assert shown["Average session"].value == (f"{minutes}m {seconds:02d}s" if minutes
                                              else f"{seconds}s")
    days = app.dataframe[1].value
    assert days["Day"].tolist() == [first + timedelta(days=i) for i in range(count)]
    assert days.set_index("Day").loc[MISSING].isna().all()  # missing, not 0
    assert len(app.get("plotly_chart")) == 5


def test_an_empty_store_says_no_data(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    upgrade(make_engine(url))
    app = run_page(url, monkeypatch)
    assert not app.exception
    assert app.info[0].value.startswith("No data: no engagement stored")
    assert not app.metric


@pytest.mark.servers
def test_the_engagement_page_in_chromium(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine = store
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_dashboard(url, tmp_path) as address, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{address}/engagement?from=now-7d&to=now")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 5",
                               timeout=FIRST_PAINT_MS)
        assert page.locator('[data-testid="stException"]').count() == 0
        first = datetime.fromtimestamp(time.time() - 7 * 86400, UTC).date()
        now = by_sql(engine, first, TODAY)
        shown = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert any(t.startswith("Events") and f"{now['events']:,.0f}" in t for t in shown)
        drawn = page.evaluate(  # Streamlit's theme wraps titles in <b>
            "[...document.querySelectorAll('.js-plotly-plot')]"
            ".find(p => p._fullLayout.title.text.replace(/<[^>]+>/g, '') == 'Events')"
            "._fullData.map(t => [t.name, Array.from(t.y)])")
        with engine.connect() as conn:
            stored = document_rows.engagement_days(conn, first, TODAY)
        events = stored[stored["event_type"] == "all"].set_index("day")["events"]
        days = [first + timedelta(days=i) for i in range((TODAY - first).days + 1)]
        assert [None if v != v else v for v in dict(drawn)["this period"]] == [  # NaN: gap
            None if d == MISSING else events[d] for d in days]
        screenshot_whole(page, SCREENSHOTS / "engagement.png")
    assert (SCREENSHOTS / "engagement.png").stat().st_size > 50_000
