"""The SLOs page: its list and detail figures against a second computation, in AppTest and
in Chromium.

The store (`world`) holds six hours of the fleet's service minutes and two days of SLI
minutes the test writes itself: the payment service's availability from two instances
with a 20% error burst ending ten minutes before the data does and a ten-minute gap
earlier, the gateway's availability, and the gateway's one-minute timeslice SLO; a
firing page the evaluator would have written, a deploy marker before the burst and
collector runs (one target failing). Expected figures come from SQL sums over the rows
written (`sums`), by hand, or from a replay written out here; never from the code shown.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml
from dashboard_pages import (
    ROOT,
    SLO_FILES,
    app_env,
    no_exception,
    plotly_data,
    run_page,
    screenshot_whole,
    seeded,
    texts,
    watched_page,
)
from sqlalchemy import text

from collectors.runs import RunResult, record_run
from dashboard.figures import slo as figures
from dashboard.figures.slo import PairState, SloSummary
from services.alerting.policy import fingerprint
from services.alerting.read import ALERTS
from services.files import expand, load_slo_files
from services.store import writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.markers import add_marker
from services.store.models import SliMinute
from services.store.rollup import roll_up
from slo.backtest import Firing
from slo.forecast import Exhaustion

MIN = 60
NOW = int(datetime.now(UTC).timestamp()) // MIN * MIN  # the data ends here
START = NOW - 2 * 86_400 + 13 * MIN  # two days of SLI minutes, not hour-aligned
BURST = (NOW - 30 * MIN, NOW - 10 * MIN)  # 20% of payment requests fail
GAP = (NOW - 3 * 3600, NOW - 3 * 3600 + 10 * MIN)  # the payment SLO has no rows here
DEPLOY_AT = BURST[0] - 2 * MIN
AVAILABILITY = "payment-service-availability"
GATEWAY = "api-gateway-availability"
P95_MINUTES = "api-gateway-latency-p95-minutes"
BUDGET = {AVAILABILITY: 0.001, GATEWAY: 0.001, P95_MINUTES: 0.01}
SLOS = {s.id: s for s in load_slo_files(expand([str(ROOT / "slos" / "*.yaml")]))}
RANGE = {"from": str(NOW - 6 * 3600), "to": str(NOW)}


# --- the store ------------------------------------------------------------------------------


def _counts(seed: int, error_ratio: float, burst: bool, gap: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per instance (2) and minute of [START, NOW): good and total, NaN where not written."""
    rng = np.random.default_rng(seed)
    n = (NOW - START) // MIN
    total = rng.integers(40, 60, size=(2, n)).astype(float)
    bad = rng.binomial(total.astype(int), error_ratio).astype(float)
    if burst:
        lo, hi = ((t - START) // MIN for t in BURST)
        bad[:, lo:hi] = np.round(total[:, lo:hi] * 0.2)
    missing = rng.random((2, n)) < 0.01
    if gap:
        lo, hi = ((t - START) // MIN for t in GAP)
        missing[:, lo:hi] = True
    return np.where(missing, np.nan, total - bad), np.where(missing, np.nan, total)


def _slices(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The timeslice SLO: one row per minute, 1 when the minute's p95 met the bar."""
    rng = np.random.default_rng(seed)
    n = (NOW - START) // MIN
    return (rng.random((1, n)) > 0.02).astype(float), np.ones((1, n))


DATA = {AVAILABILITY: _counts(1, 0.0005, True, True), GATEWAY: _counts(2, 0.0004, False, False),
        P95_MINUTES: _slices(3)}
SERVICES = {"payment-service": "production", "api-gateway": "staging"}


def fill(engine) -> None:
    """The SLI minutes, alerts, marker and runs described at the top (service minutes are
    written by `seeded`)."""
    with engine.begin() as conn:
        ids = ensure_services(conn, [
            ServiceInfo("payment-service", "Payment Service", team="payments",
                        environment="production"),
            ServiceInfo("api-gateway", "API Gateway", team="platform", environment="staging")])
        for slug, (good, total) in DATA.items():
            slo = SLOS[slug]
            sid = ensure_slo(conn, slug=slug, name=slo.name, objective=slo.objective,
                             period_s=30 * 86_400, service_id=ids[slo.service],
                             labels=dict(slo.labels))
            rows = [(START + MIN * j, sid, float(good[i, j]), float(total[i, j]), f"pod-{i}")
                    for i in range(good.shape[0]) for j in range(good.shape[1])
                    if not np.isnan(total[i, j])]
            writes.upsert(conn, SliMinute.__table__, rows)
        conn.execute(ALERTS.insert().values(  # as the evaluator writes a firing page
            fingerprint=fingerprint(AVAILABILITY, "burn", "page"), source="apollo",
            kind="burn", name="PaymentServiceAvailability", slo=AVAILABILITY,
            service="payment-service", severity="page", state="firing", episode=1,
            labels={"severity": "page", "slo": AVAILABILITY}, annotations={},
            active_since=BURST[0] + 5 * MIN, fired_at=BURST[0] + 7 * MIN, updated_at=NOW,
            values={}))
        add_marker(conn, kind="deploy", at=DEPLOY_AT, text="v1.4.2 rollout",
                   service="payment-service", now=NOW)
        for target, errors, age in (("http://127.0.0.1:9/metrics", ["connection refused"], 30),
                                    ("http://127.0.0.1:9/metrics", [], 90),
                                    ("http://127.0.0.1:8/metrics", [], 30)):
            at = datetime.fromtimestamp(NOW - age, UTC)
            record_run(conn, RunResult("scrape", target, started_at=at,
                                       finished_at=at + timedelta(seconds=1), errors=errors))
        roll_up(conn, START, START + 86_400)  # the first day's hours rolled up, not the last


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(url, engine): the store described above."""
    url, engine, _ = seeded(tmp_path_factory.mktemp("slos"), 360, now=NOW)
    fill(engine)
    yield url, engine
    engine.dispose()


def sums(engine, slug: str, start: int, end: int) -> tuple[float, float]:
    """(good, total) of the SLO's stored minutes in [start, end), by SQL."""
    with engine.connect() as conn:
        good, total = conn.execute(text(
            "SELECT COALESCE(SUM(m.good), 0), COALESCE(SUM(m.total), 0) FROM sli_minutes m "
            "JOIN slos s ON s.id = m.slo_id WHERE s.slug = :slug AND m.minute >= :a "
            "AND m.minute < :b"), {"slug": slug, "a": start, "b": end}).one()
    return float(good), float(total)


def left_by_sql(engine, slug: str, at: int) -> float:
    """Error budget left at `at` over the 30 days before: 1 - bad / (total x budget)."""
    good, total = sums(engine, slug, at - 30 * 86_400, at)
    return 1 - (total - good) / (total * BUDGET[slug])


def burn_by_sql(engine, slug: str, at: int, seconds: int) -> float:
    good, total = sums(engine, slug, at - seconds, at)
    return (total - good) / total / BUDGET[slug]


@pytest.fixture
def dashboard_env(world, monkeypatch):
    url, _ = world
    app_env(monkeypatch, url)


def connect_data(world, monkeypatch):
    """dashboard.data reading the test store (its settings and engine are per process)."""
    app_env(monkeypatch, world[0])


# --- the list, by hand ----------------------------------------------------------------------


def summary(slo_id: str, budget: float | None, *, burns: dict | None = None,
            pairs: list | None = None, labels: dict | None = None,
            states: dict | None = None) -> SloSummary:
    return SloSummary(
        id=slo_id, service=slo_id.split("-")[0], name=slo_id, description="",
        labels=labels or {"team": "a"}, objective=99.9, period="30d", kind="errors",
        sli=None if budget is None else 0.999, budget=budget, good=None, total=None,
        burns=burns or {}, pairs=pairs or [], states=states or {"page": "inactive"})


def page_pair(short_burn: float | None, long_burn: float | None, factor: float = 14.4
              ) -> PairState:
    return PairState("page", "5m", "1h", factor, factor * 0.001, short_burn, long_burn,
                     firing=(short_burn or 0) > factor and (long_burn or 0) > factor,
                     can_fire=True)


def test_the_list_puts_the_worst_budget_first_and_no_data_last():
    items = [summary("b", 0.5), summary("none", None), summary("a", -0.2), summary("c", 0.9),
             summary("d", 0.5)]
    frame = figures.list_frame(items)
    assert frame.index.tolist() == ["a", "b", "d", "c", "none"]
    assert frame.loc["none", "Budget state"] == "No data"
    assert frame.loc["a", "Budget state"] == "exhausted"
    assert frame.loc["c", "Budget state"] == "healthy"


@pytest.mark.parametrize(("burn", "shown", "level"), [
    pytest.param(20.0, "20.00 page", "page", id="above 14.4 pages"),
    pytest.param(7.0, "7.00 ticket", "ticket", id="above the ticket factor of its other pair"),
    pytest.param(0.5, "0.50", "ok", id="under every threshold"),
    pytest.param(None, "No data", "", id="no events: No data, never 0"),
])
def test_a_burn_cell_names_the_alert_it_would_raise(burn, shown, level):
    # 1h is the long window of the page pair (14.4) and, here, the short one of a ticket
    # pair at 3
    ticket = PairState("ticket", "1h", "1d", 3.0, 0.003, None, None, False, True)
    item = summary("x", 0.5, burns={"1h": burn}, pairs=[page_pair(None, burn), ticket])
    frame = figures.list_frame([item])
    display = figures.list_display(frame, [item]).data
    assert display.loc["x", "Burn 1h"] == shown
    assert figures.burn_level(burn, figures.thresholds(item)["1h"]) == level


@pytest.mark.parametrize(("query", "labels", "kept"), [
    pytest.param("", [], ["pay-avail", "gw-latency"], id="no filter keeps all"),
    pytest.param("PAY", [], ["pay-avail"], id="search is case-blind over the id"),
    pytest.param("", ["team=payments"], ["pay-avail"], id="a label must be held"),
    pytest.param("latency", ["team=payments"], [], id="both must match"),
])
def test_search_and_label_filters(query, labels, kept):
    items = [summary("pay-avail", 0.5, labels={"team": "payments"}),
             summary("gw-latency", 0.5, labels={"team": "platform"})]
    assert [i.id for i in items if figures.matches(i, query, labels)] == kept


@pytest.mark.parametrize(("states", "word"), [
    pytest.param({"page": "firing", "ticket": "pending"}, "firing (page)", id="firing first"),
    pytest.param({"page": "pending", "ticket": "firing"}, "firing (ticket)",
                 id="firing outranks pending"),
    pytest.param({"page": "inactive", "absent": "firing"}, "firing (no data)", id="absent"),
    pytest.param({"page": "resolved", "ticket": "inactive"}, "inactive", id="quiet"),
])
def test_the_alert_word(states, word):
    assert figures.alert_word(states) == word


# --- the detail's figures against SQL ----------------------------------------------------------


def test_the_summary_is_the_period_by_sql(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    _, engine = world
    item = data.summary(AVAILABILITY, NOW)
    good, total = sums(engine, AVAILABILITY, NOW - 30 * 86_400, NOW)
    assert item.good == pytest.approx(good) and item.total == pytest.approx(total)
    assert item.budget == pytest.approx(left_by_sql(engine, AVAILABILITY, NOW))
    assert item.budget < 0  # the burst spent it
    assert item.burns["1h"] == pytest.approx(burn_by_sql(engine, AVAILABILITY, NOW, 3600))
    assert item.states["page"] == "firing"
    assert item.labels["team"] == "payments" and item.labels["service"] == "payment-service"
    assert figures.objective_text(item.objective, item.period) == "99.900% in 30d"


def test_the_list_is_the_one_slo_reports(world, monkeypatch):
    """The list's cheap series (roll-ups) give what each SLO's full report gives."""
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    items, problem = data.summaries(NOW, None)
    assert problem is None
    by_id = {i.id: i for i in items}
    assert set(by_id) == set(SLOS)
    for slug in DATA:
        full = data.summary(slug, NOW)
        assert by_id[slug].budget == pytest.approx(full.budget, rel=1e-9)
        for window, burn in full.burns.items():
            assert by_id[slug].burns[window] == pytest.approx(burn, rel=1e-9), window
    assert by_id["auth-service-availability"].budget is None  # nothing stored: No data
    frame = figures.list_frame(items)
    worst = min(DATA, key=lambda slug: left_by_sql(world[1], slug, NOW))
    assert frame.index[0] == worst
    assert frame.index[-1] not in DATA


def test_the_budget_chart_ends_on_the_budget_by_sql(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    _, engine = world
    start, step = NOW - 6 * 3600, 60
    history = data.history(AVAILABILITY, start, NOW, step)
    budget = figures.on_grid(history, "budget_remaining", start, NOW, step)
    figure = figures.budget_chart(budget, start=start, end=NOW, title="budget")
    green, red = figure.data[0], figure.data[1]
    assert list(figure.layout.xaxis.range) == [figures.utc(start), figures.utc(NOW)]
    assert green.connectgaps is False and red.connectgaps is False
    assert green.fill == red.fill == "tozeroy"
    last = left_by_sql(engine, AVAILABILITY, NOW) * 100
    assert last < 0 and red.y[-1] == pytest.approx(last) and green.y[-1] == 0
    an_hour_ago = left_by_sql(engine, AVAILABILITY, NOW - 3600) * 100
    assert an_hour_ago > 0 and green.y[-61] == pytest.approx(an_hour_ago) and red.y[-61] == 0
    assert len(green.x) == 360 and green.x[0] == figures.utc(start + step)


def test_the_burn_chart_ends_on_each_window_by_sql_and_draws_its_thresholds(world,
                                                                            monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    _, engine = world
    start, step = NOW - 6 * 3600, 60
    burns = data.window_burns(AVAILABILITY, start, NOW, step)
    item = data.summary(AVAILABILITY, NOW)
    figure = figures.burn_chart(burns, item.pairs, "page", start=start, end=NOW)
    traces = {t.name: t for t in figure.data}
    for window, seconds in (("5m", 300), ("30m", 1800), ("1h", 3600), ("6h", 21_600)):
        trace = traces[f"{window} window"]
        assert trace.connectgaps is False
        assert trace.y[-1] == pytest.approx(burn_by_sql(engine, AVAILABILITY, NOW, seconds))
    lines = sorted(s.y0 for s in figure.layout.shapes if s.type == "line")
    assert lines == pytest.approx([30 * 24 * 0.05 / 6, 30 * 24 * 0.02 / 1])  # 6 and 14.4
    assert list(figure.layout.xaxis.range) == [figures.utc(start), figures.utc(NOW)]


def test_a_gap_in_the_data_breaks_the_lines(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    start, step = NOW - 6 * 3600, 60
    burns = data.window_burns(AVAILABILITY, start, NOW, step)
    history = data.history(AVAILABILITY, start, NOW, step)
    # the 5m window ending inside the gap's last five minutes saw nothing
    inside = figures.utc(GAP[1])
    assert math.isnan(burns.loc[GAP[1], "5m"])
    assert not math.isnan(burns.loc[GAP[0], "5m"])
    assert history.loc[GAP[0], "minutes_with_data"] == 0
    assert math.isnan(figures.on_grid(history, "burn_rate", start, NOW, step)[inside])


def replay_pages(slug: str, start: int, end: int) -> list[int]:
    """The minutes (their ends) where the page alert would fire: both windows of a pair
    above factor x budget, replayed from the rows written (not from the store)."""
    good, total = DATA[slug]
    seen = ~np.isnan(total)
    g = np.where(seen, good, 0).sum(axis=0)
    t = np.where(seen, total, 0).sum(axis=0)
    offset = (start - START) // MIN
    bad, tot = (t - g)[offset:(end - START) // MIN], t[offset:(end - START) // MIN]
    cum_bad, cum_tot = np.concatenate([[0], np.cumsum(bad)]), np.concatenate([[0], np.cumsum(tot)])

    def ratio(i: int, width: int) -> float:
        lo = max(0, i + 1 - width)
        total_ = cum_tot[i + 1] - cum_tot[lo]
        return (cum_bad[i + 1] - cum_bad[lo]) / total_ if total_ else math.nan

    fired = []
    for i in range(len(bad)):
        if any(ratio(i, s) > f * 0.001 and ratio(i, lg) > f * 0.001
               for s, lg, f in ((5, 60, 14.4), (30, 360, 6.0))):
            fired.append(start + MIN * (i + 1))
    return fired


def test_the_backtest_pages_when_a_replay_by_hand_does(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    period = data.period_figures(AVAILABILITY, NOW)
    fired = replay_pages(AVAILABILITY, START, NOW)  # the period reaches before the data
    pages = [f for f in period.backtest.firings if f.severity == "page"]
    assert len(pages) == 1 and pages[0].start == fired[0] and pages[0].end is None
    assert fired == list(range(fired[0], NOW + 1, MIN))  # paging without a pause since
    figure = figures.budget_chart(figures.on_grid(data.history(
        AVAILABILITY, period.start, NOW, 3600), "budget_remaining", period.start, NOW, 3600),
        start=period.start, end=NOW, title="burn-down", firings=period.backtest.firings,
        markers=period.markers)
    bands = {(b.x0, b.x1) for b in figure.layout.shapes if b.type == "rect"}
    assert (figures.utc(pages[0].start), figures.utc(NOW)) in bands  # still firing
    assert len(bands) == len(period.backtest.firings)  # every episode lies in the period
    deploy = [s for s in figure.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert [d.x0 for d in deploy] == [figures.utc(DEPLOY_AT)]


def test_the_deploy_is_charged_the_bad_events_of_its_hour(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    _, engine = world
    period = data.period_figures(AVAILABILITY, NOW)
    frame = figures.attribution_frame(period.shares).set_index("Marker")
    good, total = sums(engine, AVAILABILITY, DEPLOY_AT, NOW)  # a point deploy: its hour
    _, period_total = sums(engine, AVAILABILITY, NOW - 30 * 86_400, NOW)
    deploy = next(name for name in frame.index if "v1.4.2 rollout" in name)
    assert frame.loc[deploy, "Bad events"] == pytest.approx(total - good)
    assert frame.loc[deploy, "Of the budget"] == pytest.approx(
        (total - good) / (period_total * 0.001) * 100)
    assert frame.loc["unattributed", "Kind"] == "not covered by a marker"


def test_the_alert_table_against_the_thresholds_by_hand():
    pairs = [page_pair(20.0, 15.0), page_pair(3.0, None, factor=6.0)]
    frame = figures.alert_frame(pairs, {"page": "firing"}, 30 * 86_400, 0.001,
                                {"page": 120.0})
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["Exhaustion"] == "2d 2h"  # 30d / 14.4 = 50 hours
    assert first["Threshold"] == "14.4 (1.440% errors)"
    assert (first["Short burn"], first["Long burn"]) == ("20.00 > 14.4", "15.00 > 14.4")
    assert first["Burning now"].startswith("yes") and first["For"] == "2m"
    assert (second["Short burn"], second["Long burn"]) == ("3.00", "No data")
    assert second["Exhaustion"] == "5d" and second["Burning now"] == "no"


def test_the_forecast_band_reaches_zero_when_the_forecast_says():
    items = [Exhaustion("current", 10.0, 5.0, 4.0, 7.0), Exhaustion("1d", 0.5, None, None, None)]
    figure = figures.forecast_chart(items, at=NOW, remaining=0.4)
    band, line = figure.data
    assert list(line.x) == [figures.utc(NOW), figures.utc(NOW + 5 * 3600)]
    assert list(line.y) == [40.0, 0]
    assert figures.utc(NOW + 4 * 3600) in band.x and figures.utc(NOW + 7 * 3600) in band.x
    assert band.fill == "toself"
    assert figures.forecast_chart(items, at=NOW, remaining=-0.1) is None  # already spent
    table = figures.forecast_frame(items)
    assert table["Budget runs out in"].tolist() == ["5h", "not at this rate"]


def test_the_exported_rules_page_at_the_factor_by_hand(world, monkeypatch):
    from dashboard.data import slo as data

    connect_data(world, monkeypatch)
    rules, reason = data.rules_yaml(SLOS[AVAILABILITY])
    assert reason is None
    doc = yaml.safe_load(rules)
    alerts = next(g for g in doc["groups"] if g["name"].startswith("sloth-slo-alerts"))
    page = next(r for r in alerts["rules"] if r["labels"].get("sloth_severity") == "page")
    products = [(float(a), float(b)) for a, b in
                re.findall(r"\((\d+(?:\.\d+)?) \* ([0-9.e-]+)\)", page["expr"])]
    assert sorted({a for a, _ in products}) == [6.0, 14.4]  # 30d x 5% / 6h, x 2% / 1h
    assert all(b == pytest.approx(0.001) for _, b in products)


def test_episodes_outside_the_range_are_not_drawn():
    figure = figures.budget_chart(figures.on_grid(
        pd.DataFrame(), "budget_remaining", NOW - 3600, NOW, 60), start=NOW - 3600,
        end=NOW, title="x", firings=[Firing(NOW - 7200, NOW - 3700, "page"),
                                     Firing(NOW - 600, None, "ticket")])
    bands = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [(b.x0, b.x1) for b in bands] == [(figures.utc(NOW - 600), figures.utc(NOW))]
    assert all(math.isnan(v) for v in figure.data[0].y)  # no data: nothing drawn, not 0


# --- the page ----------------------------------------------------------------------------------


def test_the_list_page_in_apptest(dashboard_env, world):
    app = run_page("slos.py", RANGE)
    assert not app.exception
    _, engine = world
    table = app.dataframe[0].value
    worst = min(DATA, key=lambda slug: left_by_sql(engine, slug, NOW))
    assert table["SLO"].iloc[0] == worst
    assert table["Budget state"].iloc[-1] == "No data"
    captions = " ".join(texts(app, "caption"))
    assert f"{len(SLOS)} SLOs" in captions


def test_the_list_filters_come_from_the_url(dashboard_env, world):
    app = run_page("slos.py", {**RANGE, "q": "api-gateway", "label": "team=platform"})
    assert not app.exception
    table = app.dataframe[0].value
    shown = table.index.tolist() if table.index.name == "id" else table["SLO"].tolist()
    gateway = sorted(s for s in SLOS if s.startswith("api-gateway"))
    assert sorted(shown) == gateway
    assert f"{len(SLOS) - len(gateway)} hidden by filters" in " ".join(texts(app, "caption"))


def test_the_detail_page_in_apptest(dashboard_env, world):
    _, engine = world
    app = run_page("slos.py", {**RANGE, "slo": AVAILABILITY})
    assert not app.exception
    shown = " ".join(texts(app, "markdown"))
    assert "99.900% in 30d" in shown
    budget = left_by_sql(engine, AVAILABILITY, NOW)
    assert f"{budget * 100:.2f}%" in shown and "firing (page)" in shown
    assert len(app.get("plotly_chart")) == 4  # budget, page, ticket, burn-down (spent: no forecast)
    assert "groups:" in app.code[0].value
    assert "The budget is already spent" in " ".join(texts(app, "caption"))


def test_an_unknown_slo_and_an_empty_store_say_so(tmp_path, monkeypatch):
    url, engine, _ = seeded(tmp_path, 0, now=NOW)
    app_env(monkeypatch, url)
    app = run_page("slos.py", {**RANGE, "slo": "no-such-slo"})
    assert not app.exception
    assert "No SLO 'no-such-slo' is configured" in texts(app, "warning")[0]
    app = run_page("slos.py", RANGE)
    table = app.dataframe[0].value
    assert (table["Budget state"] == "No data").all()
    detail = run_page("slos.py", {**RANGE, "slo": AVAILABILITY})
    assert not detail.exception
    assert "No data" in " ".join(texts(detail, "markdown"))
    engine.dispose()


def test_broken_slo_files_are_a_banner_not_a_traceback(world, tmp_path, monkeypatch):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: apollo/v1\nkind: SLO\nservice: x\nobjective: 120\n")
    app_env(monkeypatch, world[0], extra={"APOLLO_SLO_FILES": f'["{broken}"]'})
    app = run_page("slos.py", RANGE)
    assert not app.exception
    assert "The SLO files do not load" in texts(app, "error")[0]
    assert "broken.yaml" in texts(app, "error")[0]
    fleet = run_page("fleet.py", RANGE)
    assert not fleet.exception
    assert "The SLO files do not load" in texts(fleet, "warning")[0]
    assert {m.label: m.value for m in fleet.metric}["SLOs met, 1h"] == "No data"


@pytest.mark.servers
def test_the_slo_pages_in_chromium(world, tmp_path):
    from harness.dashboard import FIRST_PAINT_MS, chromium, running_dashboard

    url, engine = world
    query = f"from={RANGE['from']}&to={RANGE['to']}"
    with running_dashboard(url, tmp_path, env={"APOLLO_SLO_FILES": SLO_FILES}) as address, \
            chromium() as browser, watched_page(browser, height=1200) as page:
        page.goto(f"{address}/slos?{query}")
        page.wait_for_selector("text=worst budget first", timeout=FIRST_PAINT_MS)
        no_exception(page)
        screenshot_whole(page, "slos.png")
        # searching keeps the text in the URL; picking the row opens its detail
        search = page.get_by_role("textbox", name="Search")
        search.fill("payment-service-avail")
        search.press("Enter")
        page.wait_for_url("**q=payment-service-avail**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=17 hidden by filters", timeout=FIRST_PAINT_MS)
        grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
        page.mouse.click(grid["x"] + 18, grid["y"] + 35 + 17)
        page.wait_for_url(f"**slo={AVAILABILITY}**", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=Multi-burn-rate alerts", timeout=FIRST_PAINT_MS)
        page.wait_for_selector("text=Prometheus rules", timeout=FIRST_PAINT_MS)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4",
                               timeout=FIRST_PAINT_MS)
        no_exception(page)
        left = left_by_sql(engine, AVAILABILITY, NOW)
        assert page.get_by_text("99.900% in 30d").is_visible()
        assert page.get_by_text(f"{left * 100:.2f}%", exact=True).is_visible()
        # the budget chart as drawn: x spans the range, its last point is the budget by SQL
        green, red = plotly_data(page, 0)[:2]
        assert red["y"][-1] == pytest.approx(left * 100)
        assert pd.Timestamp(green["x"][-1], tz="UTC") == figures.utc(NOW)
        layout = page.evaluate("document.querySelectorAll('.js-plotly-plot')[0].layout"
                               ".xaxis.range")
        assert [pd.Timestamp(x, tz="UTC") for x in layout] == [figures.utc(NOW - 6 * 3600),
                                                               figures.utc(NOW)]
        # the page pair's 1h burn as drawn, against SQL
        page_chart = {t["name"]: t for t in plotly_data(page, 1)}
        assert page_chart["1h window"]["y"][-1] == pytest.approx(
            burn_by_sql(engine, AVAILABILITY, NOW, 3600))
        screenshot_whole(page, "slo-detail.png")
