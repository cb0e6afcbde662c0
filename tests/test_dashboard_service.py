"""The Service page: its figures against sums over the store's rows taken here in SQL, the
page in AppTest on a seeded SQLite store (and against a running demo fleet for fault
injection), and in Chromium with the charts' numbers read back from the browser."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from dashboard_pages import (
    SLO_FILES,
    app_env,
    no_exception,
    plotly_data,
    plotly_layout,
    run_page,
    screenshot_whole,
    seeded,
    texts,
    watched_page,
)
from sqlalchemy import text
from support import histogram_quantile

from dashboard.figures import service as figures
from services.config import EXAMPLE_CONFIG, load_settings
from services.store import queries
from services.store.timeutil import from_epoch

SLUG = "payment-service"
HOUR = 3600


@pytest.fixture
def store(tmp_path):
    """Three hours of the fleet before the current minute."""
    url, engine, now = seeded(tmp_path, 180)
    yield url, engine, now
    engine.dispose()


def sql_minutes(engine, slug: str, start: int, end: int) -> pd.DataFrame:
    """The service's minute rows of [start, end), summed over instances, by hand."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.minute, SUM(m.requests), SUM(m.errors), AVG(m.cpu_ratio) "
            "FROM service_minutes m JOIN services s ON s.id = m.service_id "
            "WHERE s.slug = :slug AND m.minute >= :lo AND m.minute < :hi "
            "GROUP BY m.minute ORDER BY m.minute"), {"slug": slug, "lo": start, "hi": end})
        return pd.DataFrame(rows.all(), columns=["minute", "requests", "errors", "cpu"])


def read(engine, slug: str, start: int, end: int, resolution: str):
    with engine.connect() as conn:
        metrics = queries.service_metrics(conn, from_epoch(start), from_epoch(end),
                                          resolution=resolution, services=[slug])
        buckets = queries.latency_buckets(conn, from_epoch(start), from_epoch(end),
                                          resolution=resolution, services=[slug])
    return metrics, buckets


# --- the grid, gaps and the range ---------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "step"), [
    pytest.param(1_800_000_030, 1_800_010_830, HOUR, id="unaligned hour range"),
    pytest.param(1_800_000_000, 1_800_000_060, 60, id="one minute"),
    pytest.param(1_800_000_120, 1_800_021_720, 300, id="six hours of 5m"),
])
def test_the_grid_covers_the_range_from_the_floored_start(start, end, step):
    expected, t = [], start - start % step
    while t < end:
        expected.append(t)
        t += step
    grid = figures.step_grid(start, end, step)
    assert [int(ts.timestamp()) for ts in grid] == expected


def test_hourly_throughput_divides_by_the_seconds_each_hour_covers(store):
    """The known defect: hourly sums divided by 60 s read 60x too high. Each hour here is
    divided by its own seconds (the last one only up to the range's end)."""
    _, engine, now = store
    start = now - now % HOUR - 2 * HOUR
    metrics, buckets = read(engine, SLUG, start, now, "hour")
    series = figures.service_series(metrics, buckets, start=start, end=now, step=HOUR)
    minutes = sql_minutes(engine, SLUG, start, now)
    for ts, row in series.iterrows():
        lo = int(ts.timestamp())
        hi = min(lo + HOUR, now)
        requests = minutes[(minutes.minute >= lo) & (minutes.minute < hi)]["requests"].sum()
        if hi == lo:
            continue
        assert row["seconds"] == hi - lo
        assert row["rps"] == pytest.approx(requests / (hi - lo), rel=1e-9)
    figure = figures.throughput(series, start=start, end=now)
    assert list(figure.data[0].y) == pytest.approx(series["rps"].tolist())
    # the whole range: the tile's throughput is every request over the covered seconds
    overall = figures.range_figures(series, buckets)
    covered = minutes["minute"].min(), now
    assert overall.rps == pytest.approx(minutes["requests"].sum() / (covered[1] - covered[0]),
                                        rel=1e-9)


def test_minute_throughput_and_errors_equal_the_rows(store):
    _, engine, now = store
    start = now - HOUR
    metrics, buckets = read(engine, SLUG, start, now, "minute")
    series = figures.service_series(metrics, buckets, start=start, end=now, step=60)
    minutes = sql_minutes(engine, SLUG, start, now).set_index("minute")
    got = series.set_index(series.index.map(lambda t: int(t.timestamp())))
    assert got["rps"].to_numpy() == pytest.approx((minutes["requests"] / 60).to_numpy())
    assert got["error_pct"].to_numpy() == pytest.approx(
        (minutes["errors"] / minutes["requests"] * 100).to_numpy())
    assert got["cpu_pct"].to_numpy() == pytest.approx((minutes["cpu"] * 100).to_numpy())


def test_a_gap_is_nan_on_the_grid_and_the_lines_break(store):
    _, engine, now = store
    start = now - HOUR
    lost = range(now - 40 * 60, now - 30 * 60, 60)  # ten minutes with nothing stored
    with engine.begin() as conn:
        for table in ("service_minutes", "latency_bucket_minutes"):
            conn.execute(text(f"DELETE FROM {table} WHERE minute >= :lo AND minute < :hi"),
                         {"lo": lost[0], "hi": lost[-1] + 60})
    metrics, buckets = read(engine, SLUG, start, now, "minute")
    series = figures.service_series(metrics, buckets, start=start, end=now, step=60)
    stored = set(sql_minutes(engine, SLUG, start, now)["minute"])
    missing = {int(t.timestamp()) for t in series.index[series["requests"].isna()]}
    assert missing == {t for t in range(start, now, 60) if t not in stored} == set(lost)
    for figure in (figures.throughput(series, start=start, end=now),
                   figures.latency(series, start=start, end=now),
                   figures.error_rate(series, start=start, end=now)):
        for trace in figure.data:
            assert trace.connectgaps is False
            y = pd.Series(trace.y, index=pd.DatetimeIndex(trace.x))
            at_gap = y[[from_epoch(t) for t in lost]]
            assert at_gap.isna().all()  # missing is never drawn as 0


def test_every_chart_spans_the_chosen_range_not_the_data(store):
    _, engine, now = store
    start, end = now - 6 * HOUR, now  # the store holds only the last three hours
    metrics, buckets = read(engine, SLUG, start, end, "minute")
    series = figures.service_series(metrics, buckets, start=start, end=end, step=60)
    for build in (figures.latency, figures.throughput, figures.error_rate, figures.cpu,
                  figures.memory):
        figure = build(series, start=start, end=end)
        assert [pd.Timestamp(x) for x in figure.layout.xaxis.range] == [
            from_epoch(start), from_epoch(end)]


def test_quantiles_equal_the_written_out_histogram_quantile(store):
    _, engine, now = store
    start = now - 10 * 60
    metrics, buckets = read(engine, SLUG, start, now, "minute")
    series = figures.service_series(metrics, buckets, start=start, end=now, step=60)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT b.minute, b.le, SUM(b.count) FROM latency_bucket_minutes b "
            "JOIN services s ON s.id = b.service_id WHERE s.slug = :slug AND b.minute >= :lo "
            "GROUP BY b.minute, b.le ORDER BY b.minute, b.le"), {"slug": SLUG, "lo": start}
        ).all()
    by_minute: dict[int, list[tuple[float, float]]] = {}
    for minute, le, count in rows:
        by_minute.setdefault(minute, []).append((le, count))
    for minute, pairs in by_minute.items():
        bounds, counts = [p[0] for p in pairs], [p[1] for p in pairs]
        row = series.loc[from_epoch(minute)]
        for name, q in figures.QUANTILES.items():
            assert row[f"{name}_ms"] == pytest.approx(
                histogram_quantile(q, bounds, counts) * 1000, rel=1e-9)


def test_the_tiles_equal_sums_over_the_rows(store):
    """Over a range aligned to its step, as dashboard.context makes every view."""
    _, engine, now = store
    start = now - now % 300 - 2 * HOUR
    metrics, buckets = read(engine, SLUG, start, now, "5m")
    series = figures.service_series(metrics, buckets, start=start, end=now, step=300)
    overall = figures.range_figures(series, buckets)
    minutes = sql_minutes(engine, SLUG, start, now)
    assert overall.requests == minutes["requests"].sum()
    assert overall.availability == pytest.approx(
        1 - minutes["errors"].sum() / minutes["requests"].sum(), rel=1e-12)
    assert overall.rps == pytest.approx(minutes["requests"].sum() / (now - start), rel=1e-9)


# --- readable charts ------------------------------------------------------------------------------


def one_point(value_ms: float, start: int, end: int) -> pd.DataFrame:
    series = pd.DataFrame(index=figures.step_grid(start, end, 60),
                          columns=figures.SERIES_COLUMNS, dtype=float)
    series.iloc[-1, series.columns.get_indexer(["p50_ms", "p95_ms", "p99_ms", "rps"])] = [
        value_ms / 2, value_ms, value_ms * 1.5, 1234.0]
    return series


def test_a_one_point_chart_has_a_readable_axis_and_a_visible_point():
    start, end = 1_800_000_000, 1_800_003_600
    series = one_point(3.0, start, end)
    figure = figures.latency(series, start=start, end=end)
    low, high = figure.layout.yaxis.range
    assert low == 0 and high > 4.5  # from zero to above the p99, not a sliver around it
    assert high < 10  # and not so tall the point sits on the floor
    assert all("markers" in trace.mode for trace in figure.data)
    rps = figures.throughput(series, start=start, end=end)
    assert rps.layout.yaxis.range[1] > 1234


@pytest.mark.parametrize(("values", "threshold", "kind"), [
    pytest.param([20.0, 45.0, 63.0], 90.0, "linear", id="one service's percentiles"),
    pytest.param([0.4, 2.0, 3.0], None, "linear", id="sub-millisecond p50"),
    pytest.param([2.0, 45.0, 900.0], 90.0, "log", id="a latency fault 300x the p50"),
])
def test_the_latency_axis_reads_in_ms(values, threshold, kind):
    axis = figures.latency_axis(values, threshold)
    assert axis["type"] == kind
    if kind == "log":
        ticks, labels = axis["tickvals"], axis["ticktext"]
        assert all(f"{t:g}".lstrip("0.").strip("0")[:1] in "125" for t in ticks)
        assert all(label.endswith(("ms", " s")) for label in labels)
        low, high = (10**v for v in axis["range"])
        assert low < min(values) and high > max(values)
    else:
        assert axis["range"][0] == 0 and axis["range"][1] > max([*values, threshold or 0])
        assert axis["ticksuffix"] == " ms"


def test_the_slo_threshold_is_a_dashed_annotated_line():
    start, end = 1_800_000_000, 1_800_003_600
    figure = figures.latency(one_point(40.0, start, end), start=start, end=end,
                             threshold_ms=90.0, threshold_label="SLO latency: 99 % within 90 ms")
    [shape] = figure.layout.shapes
    assert shape.line.dash == "dash" and shape.y0 == shape.y1 == 90.0
    assert figure.layout.annotations[0].text == "SLO latency: 99 % within 90 ms"
    assert figure.layout.yaxis.range[1] > 90.0  # the line is on the chart


@pytest.mark.parametrize(("values", "lone"), [
    pytest.param([1, np.nan, 2, np.nan], [True, False, True, False], id="between gaps"),
    pytest.param([1, 2, np.nan, 3], [False, False, False, True], id="at the end"),
    pytest.param([np.nan, 5, np.nan], [False, True, False], id="alone"),
    pytest.param([1, 2, 3], [False, False, False], id="a line"),
])
def test_lone_points_are_found(values, lone):
    assert figures.lone_points(values).tolist() == lone


def test_database_throughput_is_in_queries_not_requests(store):
    _, engine, now = store
    unit = load_settings(EXAMPLE_CONFIG).service("database-cluster").unit
    metrics, buckets = read(engine, "database-cluster", now - HOUR, now, "minute")
    series = figures.service_series(metrics, buckets, start=now - HOUR, end=now, step=60)
    figure = figures.throughput(series, start=now - HOUR, end=now, unit=unit)
    assert figure.layout.yaxis.title.text == "queries/s"
    assert "queries" in figure.layout.title.text


# --- the page in AppTest ---------------------------------------------------------------------


def metric(app, label: str):
    return next(m for m in app.metric if m.label == label)


def test_the_page_shows_the_service_the_url_names(store, monkeypatch):
    url, engine, _ = store
    app_env(monkeypatch, url)
    app = run_page("service.py", {"service": SLUG, "from": "now-1h", "to": "now"})
    assert not app.exception
    assert app.query_params["service"] == SLUG
    assert next(s for s in app.selectbox if s.label == "Service").value == SLUG
    start = (app.session_state["apollo.view"]).start
    end = (app.session_state["apollo.view"]).end
    minutes = sql_minutes(engine, SLUG, start, end)
    availability = 1 - minutes["errors"].sum() / minutes["requests"].sum()
    assert metric(app, "Availability").value == f"{availability:.3%}"
    rps = minutes["requests"].sum() / (60 * len(minutes))
    assert metric(app, "Throughput").value == f"{rps:,.1f} req/s"
    assert len(app.get("plotly_chart")) == 5
    # the service's SLOs, listed from the SLO file with a budget column
    import yaml

    names = [d["name"] for d in yaml.safe_load_all(
        (EXAMPLE_CONFIG.parents[1] / "slos" / f"{SLUG}.yaml").read_text())]
    assert app.dataframe[0].value["SLO"].tolist() == names


def test_an_unknown_service_says_so_and_shows_the_first(store, monkeypatch):
    url, *_ = store
    app_env(monkeypatch, url)
    app = run_page("service.py", {"service": "nope"})
    assert not app.exception
    assert any("No service 'nope'" in w for w in texts(app, "warning"))
    first = load_settings(EXAMPLE_CONFIG).services[0].slug
    assert app.query_params["service"] == first


def test_a_service_without_data_says_no_data_not_zero(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0)
    engine.dispose()
    app_env(monkeypatch, url)
    app = run_page("service.py", {"service": SLUG})
    assert not app.exception
    assert metric(app, "Throughput").value == "No data"
    assert metric(app, "Availability").value == "No data"
    assert any("No data stored for Payment Service" in i for i in texts(app, "info"))
    assert any("Unknown" in m for m in texts(app, "markdown"))


def test_a_firing_page_alert_makes_the_service_critical(store, monkeypatch):
    from services.alerting.read import ALERTS

    url, engine, now = store
    with engine.begin() as conn:
        conn.execute(ALERTS.insert().values(
            fingerprint="f1", name="PaymentServiceAvailability", slo=f"{SLUG}-availability",
            service=SLUG, severity="page", state="firing", updated_at=float(now)))
    app_env(monkeypatch, url)
    app = run_page("service.py", {"service": SLUG, "from": "now-1h", "to": "now"})
    assert not app.exception
    markdown = texts(app, "markdown")
    assert ":red[Critical]" in " ".join(markdown)
    assert any("page alert PaymentServiceAvailability is firing" in c
               for c in texts(app, "caption"))


def test_the_environment_scopes_the_services_offered(store, monkeypatch):
    url, *_ = store
    targets = [{"service": "api-gateway", "url": "http://10.0.0.5:8080/metrics",
                "environment": "production"},
               {"service": SLUG, "url": "http://10.0.0.7:8080/metrics",
                "environment": "staging"}]
    app_env(monkeypatch, url, extra={"APOLLO_SOURCES__SCRAPE__TARGETS": json.dumps(targets)})
    app = run_page("service.py", {"env": "production"})
    assert not app.exception
    offered = next(s for s in app.selectbox if s.label == "Service").options
    assert offered == ["API Gateway"]
    assert app.query_params["service"] == "api-gateway"


def test_fault_injection_reaches_the_running_demo_fleet(tmp_path, monkeypatch):
    from services.fleet.control import FleetControl
    from services.fleet.runner import start_fleet

    url, engine, _ = seeded(tmp_path, 5)
    engine.dispose()
    app_env(monkeypatch, url, extra={"APOLLO_DATA_DIR": str(tmp_path / "var"),
                                     "APOLLO_FLEET__EVENTS__ENABLED": "false"})
    fleet = start_fleet(load_settings(EXAMPLE_CONFIG))
    try:
        app = run_page("service.py", {"service": SLUG})
        assert not app.exception
        assert "Fault injection (demo fleet)" in texts(app, "subheader")
        kind = next(s for s in app.selectbox if s.label == "Fault")
        kind.set_value("error_burst")
        next(n for n in app.number_input if n.label.startswith("Error rate")).set_value(0.25)
        next(b for b in app.button if b.label == "Inject").click()
        app.run()
        assert not app.exception
        assert any("error burst set on payment-service" in s for s in texts(app, "success"))
        with FleetControl(fleet.fleet.control_url) as control:
            mine = next(s for s in control.state()["services"] if s["slug"] == SLUG)
        assert [(f["kind"], f["rate"]) for f in mine["faults"]] == [("error_burst", 0.25)]
    finally:
        fleet.stop()


def test_fault_injection_needs_the_write_token_when_tokens_are_set(tmp_path, monkeypatch):
    from services.fleet.control import FleetControl
    from services.fleet.runner import start_fleet

    url, engine, _ = seeded(tmp_path, 5)
    engine.dispose()
    token = "w" * 24
    app_env(monkeypatch, url, extra={"APOLLO_DATA_DIR": str(tmp_path / "var"),
                                     "APOLLO_FLEET__EVENTS__ENABLED": "false",
                                     "APOLLO_API_TOKENS": f"write:{token}"})
    fleet = start_fleet(load_settings(EXAMPLE_CONFIG))
    try:
        app = run_page("service.py", {"service": SLUG})
        next(b for b in app.button if b.label == "Inject").click()
        app.run()
        assert any("a write token is needed" in e for e in texts(app, "error"))
        with FleetControl(fleet.fleet.control_url) as control:
            mine = next(s for s in control.state()["services"] if s["slug"] == SLUG)
        assert mine["faults"] == []
        next(t for t in app.text_input if t.label == "API write token").set_value(token)
        next(b for b in app.button if b.label == "Inject").click()
        app.run()
        with FleetControl(fleet.fleet.control_url) as control:
            mine = next(s for s in control.state()["services"] if s["slug"] == SLUG)
        assert [f["kind"] for f in mine["faults"]] == ["error_burst"]
    finally:
        fleet.stop()


# --- the page in Chromium --------------------------------------------------------------------


@pytest.mark.servers
def test_the_service_page_in_chromium_draws_the_stored_figures(store, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine, _ = store
    env = {"APOLLO_SLO_FILES": SLO_FILES}
    with running_dashboard(url, tmp_path, env=env) as address, chromium() as browser, \
            watched_page(browser) as page:
        page.goto(f"{address}/service?service={SLUG}&from=now-1h&to=now")
        page.wait_for_selector("text=Memory: how much", timeout=FIRST_PAINT_MS)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 5",
                               timeout=FIRST_PAINT_MS)
        no_exception(page)
        selector = page.get_by_role("combobox", name="Service")
        assert selector.input_value() == "Payment Service"
        # throughput as drawn against requests / 60 s of each stored minute, read in SQL
        layout = plotly_layout(page, 1)
        assert "Throughput" in layout["title"]
        [drawn] = plotly_data(page, 1)
        start = pd.Timestamp(layout["xrange"][0], tz="UTC")
        end = pd.Timestamp(layout["xrange"][1], tz="UTC")
        assert end - start == pd.Timedelta(hours=1)
        minutes = sql_minutes(engine, SLUG, int(start.timestamp()), int(end.timestamp()))
        y = [v for v in drawn["y"] if v is not None and not math.isnan(v)]
        assert y == pytest.approx((minutes["requests"] / 60).tolist())
        # the latency chart carries the SLO threshold of slos/payment-service.yaml
        assert page.get_by_text("SLO latency: 99 % within 90 ms").is_visible()
        screenshot_whole(page, "service.png")
        # one interaction: another service from the selector moves the URL
        selector.click()
        page.get_by_role("option", name="Database Cluster").click()
        page.wait_for_url("**service=database-cluster**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=how many queries per second", timeout=FIRST_PAINT_MS)
        assert "service=database-cluster" in page.url
        no_exception(page)
