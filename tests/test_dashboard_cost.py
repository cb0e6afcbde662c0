"""The Cost page: its figure builders against sums made here from the markdown table's
cells (a second reading, one regular expression) and from SQL, the page in AppTest over a
SQLite store the cost collector and the fleet filled, and the page in Chromium."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from support import PROFILES, fill_store_from_fleet

from collectors.cost import collect_cost_file, parse_allocation, read_costs, store_cost_lines
from dashboard.figures import cost as figures
from services.config import EXAMPLE_CONFIG, load_settings
from services.documents.costs import format_money, summarize_costs, tables_from_rows
from services.store import document_rows
from services.store.catalog import ServiceInfo, ensure_services
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "docs/platform/costs.md"
SCREENSHOTS = ROOT / "screenshots"
SETTINGS = load_settings(EXAMPLE_CONFIG)
SERVICES = {s.slug: s.name for s in SETTINGS.services}
NOW = time.time() // 60 * 60
THIS_MONTH = datetime.fromtimestamp(NOW, UTC).date().replace(day=1)
LAST_MONTH = (THIS_MONTH - timedelta(days=1)).replace(day=1)
LAST_MONTH_CSV = ("component,monthly_cost,optimization_potential\n"
                  "Compute,1000,10%\nStorage,250.50,\n")
OPENCOST = {"code": 200, "data": [{
    name: {"name": name, "start": f"{THIS_MONTH}T00:00:00Z", "end": f"{THIS_MONTH}T06:00:00Z",
           "totalCost": cost, **({"totalEfficiency": eff} if eff is not None else {})}
    for name, cost, eff in (("payment-service", 812.4, 0.6), ("api-gateway", 1500.25, 0.5),
                            ("database-cluster", 2210.0, 0.8), ("__idle__", 300.0, None))}]}
_ROW = re.compile(r"^\| \*\*(?P<name>[^*]+)\*\* \| \$(?P<monthly>[\d,]+) \|.*\| (?P<pot>[^|]+) \|$")


def platform_by_hand() -> list[tuple[str, int, Decimal | None]]:
    """The document's component rows: name, monthly dollars, potential percent (Minimal 0)."""
    rows = []
    for line in PLATFORM.read_text().splitlines():
        found = _ROW.match(line)
        if found and found["name"] != "Total":
            pot = found["pot"].strip()
            percent = Decimal(0) if pot == "Minimal" else Decimal(pot.split("%")[0])
            rows.append((found["name"], int(found["monthly"].replace(",", "")), percent))
    return rows


def screenshot_whole(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to it."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 100)})
    page.wait_for_timeout(800)  # plotly redraws at the new size
    page.screenshot(path=str(path))


@pytest.fixture
def store(tmp_path):
    """This month's costs from the platform document and an OpenCost answer, last month's
    from a CSV; the fleet's last 30 minutes, services registered with their units."""
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    assert not collect_cost_file(engine, PLATFORM, month=THIS_MONTH, source="platform").errors
    csv = tmp_path / "last.csv"
    csv.write_text(LAST_MONTH_CSV)
    assert not collect_cost_file(engine, csv, month=LAST_MONTH, source="platform").errors
    with engine.begin() as conn:
        store_cost_lines(conn, parse_allocation(OPENCOST, source="opencost"), month=THIS_MONTH)
    fill_store_from_fleet(engine, NOW - 1800, 30)
    with engine.begin() as conn:
        ensure_services(conn, [ServiceInfo(s.slug, s.name, s.team, s.unit)
                               for s in SETTINGS.services if s.slug in PROFILES])
    yield url, engine
    engine.dispose()


def requests_by_sql(engine, start: datetime, end: datetime, *, unit: str | None = "req/s",
                    service: str | None = None) -> float:
    """Requests (or what one service served) in [start, end), summed from the minutes."""
    query = ("SELECT coalesce(sum(m.requests), 0) FROM service_minutes m JOIN services s "
             "ON s.id = m.service_id WHERE m.minute >= :a AND m.minute < :b")
    if unit is not None:
        query += " AND s.unit = :unit"
    if service is not None:
        query += " AND s.slug = :service"
    with engine.connect() as conn:
        return float(conn.execute(sa.text(query), {
            "a": int(start.timestamp()), "b": int(end.timestamp()), "unit": unit,
            "service": service}).scalar())


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    after = (start + timedelta(days=32)).replace(day=1)
    return start, min(after, datetime.fromtimestamp(NOW, UTC))


# --- figure builders ------------------------------------------------------------------------


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
       st.integers(60, 400 * 86_400))
def test_months_of_a_range_are_the_months_it_touches(start, seconds):
    start = start.replace(tzinfo=UTC)
    end = start + timedelta(seconds=seconds)
    last = end - timedelta(seconds=1)
    days = pd.date_range(start.date(), last.date(), freq="D")
    assert figures.months_of(start, end) == sorted({date(d.year, d.month, 1) for d in days})


def test_monthly_cost_is_stacked_by_component_over_the_range(store):
    _, engine = store
    months = [LAST_MONTH, THIS_MONTH, (THIS_MONTH + timedelta(days=32)).replace(day=1)]
    with engine.connect() as conn:
        rows = [r for r in document_rows.cost_rows(conn, LAST_MONTH, THIS_MONTH)
                if r.source == "platform"]
    figure = figures.by_component(figures.lines_frame(rows), months, "USD")
    labels = [f"{m:%Y-%m}" for m in months]
    bars = {t.name: dict(zip(t.x, t.y, strict=True)) for t in figure.data if t.type == "bar"}
    for name, monthly, _ in platform_by_hand():
        assert bars[name] == {labels[0]: None, labels[1]: monthly, labels[2]: None}
    assert bars["Compute"][labels[0]] == 1000 and bars["Storage"][labels[0]] == 250.5
    (no_data,) = [t for t in figure.data if t.type == "scatter"]
    assert list(no_data.x) == [labels[2]] and list(no_data.text) == ["No data"]
    assert figure.layout.barmode == "stack" and list(figure.layout.xaxis.categoryarray) == labels


def test_a_drop_in_cost_is_green_and_a_rise_red():
    months = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    sums = [Decimal("1250.50"), Decimal("33060"), Decimal("30000"), None]
    figure = figures.changes(pd.Series(sums, index=months, dtype=object), "USD")
    (bars,) = [t for t in figure.data if t.type == "bar"]
    assert list(bars.x) == ["2026-10", "2026-11", "2026-12"]  # September only as the base
    assert list(bars.y) == [33060 - 1250.5, 30000 - 33060, None]
    assert list(bars.marker.color) == [figures.RED, figures.GREEN, figures.GREY]
    assert bars.text[1].startswith("$3,060 lower")
    (no_data,) = [t for t in figure.data if t.type == "scatter"]
    assert list(no_data.x) == ["2026-12"] and list(no_data.text) == ["No data"]


def test_savings_are_each_lines_potential_in_green(store):
    summary = summarize_costs(read_costs(PLATFORM))
    figure = figures.savings(summary)
    (bars,) = figure.data
    hand = platform_by_hand()
    assert list(bars.y) == [name for name, _, _ in hand][::-1]
    assert list(bars.x) == pytest.approx([m * float(p) / 100 for _, m, p in hand][::-1])
    assert set(bars.marker.color) == {figures.GREEN}
    saving = sum(Decimal(m) * p / 100 for _, m, p in hand)
    assert format_money(saving, "USD", places=2) in figure.layout.title.text

    unknown = summarize_costs(tables_from_rows([document_rows.CostRow(
        "x", THIS_MONTH, "Storage", 250.5, "USD", None, "")])[0])
    assert list(figures.savings(unknown).data[0].marker.color) == [figures.GREY]
    assert figures.savings(unknown).data[0].text == ("unknown",)


def test_the_stated_overall_potential_is_a_warning_beside_the_computed_one():
    hand = platform_by_hand()
    computed = sum(Decimal(m) * p for _, m, p in hand) / sum(m for _, m, _ in hand)
    (stated,) = re.findall(r"\*\*(\d+)% overall\*\*", PLATFORM.read_text())
    callouts = figures.flag_callouts(summarize_costs(read_costs(PLATFORM), mau=1_000_000))
    warnings = [text for level, text in callouts if level == "warning"]
    assert any(f"stated {stated}%" in t and f"{float(computed):.1f}%" in t for t in warnings)
    assert all(level == "info" for level, text in callouts if "rounded" in text)


def test_the_table_divides_by_what_each_service_served(store):
    _, engine = store
    start, until = month_bounds(THIS_MONTH)
    with engine.connect() as conn:
        served = document_rows.served_by_service(conn, start, until)
        (opencost,) = tables_from_rows(r for r in document_rows.cost_rows(conn, THIS_MONTH)
                                       if r.source == "opencost")
    table = figures.cost_table(summarize_costs(opencost), served, SERVICES).set_index(
        "Component")
    for name, cost in (("payment-service", 812.4), ("api-gateway", 1500.25),
                       ("database-cluster", 2210.0)):
        count = requests_by_sql(engine, start, until, unit=None, service=name)
        assert count > 0
        assert table.loc[name, "Per million served"] == pytest.approx(cost / count * 1e6)
    assert table.loc["database-cluster", "Served unit"] == "queries"
    assert table.loc["__idle__", "Service"] == "" and pd.isna(
        table.loc["__idle__", "Per million served"])
    total = 812.4 + 1500.25 + 2210.0 + 300.0
    requests = requests_by_sql(engine, start, until)  # queries are not requests
    assert table.loc["Total (computed)", "Monthly"] == pytest.approx(total)
    assert table.loc["Total (computed)", "Per million served"] == pytest.approx(
        total / requests * 1e6)


# --- the page ------------------------------------------------------------------------------


def run_page(url: str, monkeypatch, **params: str):
    """The shell (range from the URL) switched to the Cost page."""
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
    return app.switch_page("dashboard/pages/cost.py").run()


def metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def cost_by_sql(engine, source: str, month: date) -> Decimal:
    with engine.connect() as conn:
        return Decimal(str(conn.execute(sa.text(
            "SELECT sum(monthly_cost) FROM cost_lines WHERE source = :s AND month = :m"),
            {"s": source, "m": month}).scalar())).quantize(Decimal("0.01"))


def test_the_page_shows_a_sources_month(store, monkeypatch):
    url, engine = store
    app = run_page(url, monkeypatch, **{"from": "now-45d", "to": "now"})
    assert not app.exception
    (source,) = [s for s in app.selectbox if s.label == "Source"]
    assert source.options == ["opencost", "platform"] and source.value == "opencost"
    start, until = month_bounds(THIS_MONTH)
    requests = requests_by_sql(engine, start, until)
    total = cost_by_sql(engine, "opencost", THIS_MONTH)
    shown = metrics(app)
    assert shown["Monthly total"] == figures.money_text(total, "USD")
    assert shown["Annual"] == figures.money_text(total * 12, "USD")
    assert shown["Cost per user"] == "No data"
    assert shown["Per million requests"] == figures.money_text(
        float(total) / requests * 1e6, "USD", places=2)
    assert len(app.get("plotly_chart")) == 4

    source.set_value("platform").run()
    assert not app.exception and app.query_params["source"] == "platform"
    hand = platform_by_hand()
    total = Decimal(sum(m for _, m, _ in hand))
    last = sum(Decimal(line.split(",")[1]) for line in LAST_MONTH_CSV.splitlines()[1:])
    (monthly,) = [m for m in app.metric if m.label == "Monthly total"]
    assert monthly.value == format_money(total, "USD")
    assert monthly.delta == figures.change_text(total - last, "USD")
    table = app.dataframe[0].value
    assert table["Monthly"].tolist() == [*(m for _, m, _ in hand), float(total)]
    assert table["Saving / month"].iloc[-1] == pytest.approx(
        float(sum(Decimal(m) * p / 100 for _, m, p in hand)))

    app.number_input[0].set_value(1_000_000).run()
    assert app.query_params["mau"] == "1000000"
    assert metrics(app)["Cost per user"] == figures.money_text(total / 1_000_000, "USD",
                                                              places=5)
    # the document's Total row states 18% overall; its lines give the cost-weighted mean
    weighted = sum(Decimal(m) * p for _, m, p in hand) / total
    stated = re.search(r"^\|\s*\**Total\**\s*\|.*?(\d+)%", PLATFORM.read_text(),
                       re.MULTILINE)
    assert stated is not None and stated[1] == "18" and f"{weighted:.1f}" == "15.0"
    assert any(f"{stated[1]}%" in w.value and f"{weighted:.1f}%" in w.value
               for w in app.warning), [w.value for w in app.warning]


def test_an_empty_store_says_no_data(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    upgrade(make_engine(url))
    app = run_page(url, monkeypatch)
    assert not app.exception
    assert app.info[0].value.startswith("No data: no cost lines are stored")


def test_a_range_without_costs_names_the_newest_month(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    old = date(2020, 1, 1)
    assert not collect_cost_file(engine, PLATFORM, month=old, source="platform").errors
    app = run_page(url, monkeypatch, **{"from": "now-1h", "to": "now"})
    assert not app.exception
    assert f"newest stored month is {old:%Y-%m}" in app.info[0].value
    assert not app.metric


@pytest.mark.servers
def test_the_cost_page_in_chromium(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine = store
    hand = platform_by_hand()
    total = Decimal(sum(m for _, m, _ in hand))
    assert cost_by_sql(engine, "platform", THIS_MONTH) == total
    start, until = month_bounds(THIS_MONTH)
    per_million = float(total) / requests_by_sql(engine, start, until) * 1e6
    SCREENSHOTS.mkdir(exist_ok=True)
    with running_dashboard(url, tmp_path) as address, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{address}/cost?from=now-45d&to=now&source=platform&mau=1000000")
        page.wait_for_selector("text=Cost per million requests", timeout=FIRST_PAINT_MS)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4",
                               timeout=FIRST_PAINT_MS)
        assert page.locator('[data-testid="stException"]').count() == 0
        shown = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert any(format_money(total, "USD") in t for t in shown)
        assert any(figures.money_text(per_million, "USD", places=2) in t for t in shown)
        bars = page.evaluate("document.querySelector('.js-plotly-plot')._fullData"
                             ".filter(t => t.type == 'bar').map(t => [t.name, Array.from(t.y)])")
        this = list(figures.months_of(datetime.fromtimestamp(NOW - 45 * 86400, UTC),
                                      datetime.fromtimestamp(NOW, UTC))).index(THIS_MONTH)
        assert {name: ys[this] for name, ys in bars} == {
            **{name: monthly for name, monthly, _ in hand}, "Compute": None, "Storage": None}
        screenshot_whole(page, SCREENSHOTS / "cost.png")

        opencost = cost_by_sql(engine, "opencost", THIS_MONTH)
        per_million = float(opencost) / requests_by_sql(engine, start, until) * 1e6
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{address}/cost?from=now-45d&to=now&source=opencost")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4",
                               timeout=FIRST_PAINT_MS)
        shown = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert any(format_money(opencost, "USD") in t for t in shown)
        assert any(figures.money_text(per_million, "USD", places=2) in t for t in shown)
        screenshot_whole(page, SCREENSHOTS / "cost-opencost.png")
    assert (SCREENSHOTS / "cost.png").stat().st_size > 50_000
