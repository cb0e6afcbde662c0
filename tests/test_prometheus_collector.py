"""The Prometheus collector against a real Prometheus 2.42 scraping the real fleet every second.

One fleet (two services) and two Prometheus servers per module: `reference` is never
stopped and stands for a clean run; `primary` is stopped and started by the outage test.
The fixture waits for the first whole minute M that both scraped from start to end, then
SETTLE_S more (about 70 to 130 s, once). Everything else reads minute M (and the partial
minute before it) back in different ways.

Tolerances, per minute, against the fleet's own model:
- EXTRAPOLATION (3%): the fleet's counters grow linearly within each minute, so `increase`
  over a fully scraped minute is exact up to the two effects below; but a scrape missed at
  a window edge makes Prometheus extrapolate only half an interval past 1.1 intervals,
  losing up to 1.5 s of 60 (2.5%). (Measured with every scrape landing: about 1e-5.)
- FLOOR per series: pages show floor() of each cumulative count, so each series' increase
  may be off by one count, times the extrapolation factor (at most 60/58). It matters for
  small counts (the Payment Service's ~60 errors a minute), not for large ones.
Between the collector's own readings (SLO rows against service rows) the same samples go
through `sum(rate(X[1m])) * 60` and `sum(increase(X[1m]))`, which agree to rounding.
"""

from __future__ import annotations

import io
import math
import os
import select
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from support import PROFILES

from collectors.prometheus import (
    CHUNK_MINUTES,
    MAX_POINTS,
    PrometheusCollector,
    PrometheusSource,
    QueryRejected,
    SliQueries,
    bucket_rows,
    connect,
    describe,
    matrix_frame,
    name_choices,
    per_minute,
    plan_chunks,
    progress_reporter,
    service_queries,
    service_rows,
    sli_plans,
    sli_queries,
    sli_rows,
)
from collectors.runs import record_run
from collectors.scrape.names import (
    CPU,
    LATENCY,
    MEMORY,
    REQUESTS,
    STATUS_LABELS,
    ConfiguredNames,
    MetricNames,
)
from services.errors import SourceUnavailable
from services.files import load_slo_files
from services.fleet.server import Fleet
from services.fleet.simulator import SERVER_ERROR_CODES
from services.store import queries, rollup
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import (
    CollectorRun,
    LatencyBucketMinute,
    Service,
    ServiceMinute,
    SliMinute,
    Slo,
)
from slo.errors import SpecError
from slo.histogram import histogram_quantile
from slo.model import SLO, EventRatio, RawErrorRatio, RequestRatio, Threshold

SLUGS = ("api-gateway", "payment-service")
SETTLE_S = 3  # the last scrape of a minute (1 s interval) is stored well within this
EXTRAPOLATION = 0.03
FLOOR = 60 / 58
CODES = 2 + len(SERVER_ERROR_CODES)  # 200, 404, 500, 503
ROOT = Path(__file__).resolve().parents[1]
PAYMENT_SLOS = load_slo_files([ROOT / "slos" / "payment-service.yaml"])
PAYMENT_SELECTOR = 'http_requests_total{job="payment-service"'
RAW = SLO(service="payment-service", name="availability-raw", objective=99.9,
          sli=RawErrorRatio(f'sum(rate({PAYMENT_SELECTOR},code=~"5.."}}[{{{{.window}}}}]))'
                            f" / sum(rate({PAYMENT_SELECTOR}}}[{{{{.window}}}}]))"))
P95 = SLO(service="payment-service", name="p95-under-50ms", objective=99.0,
          budgeting="timeslices",
          sli=Threshold("histogram_quantile(0.95, sum by (le) (rate("
                        'http_request_duration_seconds_bucket{job="payment-service"}'
                        "[{{.window}}])))", "lte", 0.05))
SLOS = [*PAYMENT_SLOS, RAW, P95]

pytestmark = pytest.mark.servers


# --- pure: chunks, queries, frames, rows --------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "size", "chunks"), [
    pytest.param(0, 600, 3, [(0, 180), (180, 360), (360, 540), (540, 600)],
                 id="ten minutes in threes leave a one-minute tail"),
    pytest.param(0, 540, 3, [(0, 180), (180, 360), (360, 540)], id="an exact multiple"),
    pytest.param(30, 601, 10_000, [(0, 600)],
                 id="start floors into its minute, end drops the partial minute"),
    pytest.param(600, 600, 5, [], id="an empty range asks nothing"),
    pytest.param(0, 60 * 25_000, 10_000,
                 [(0, 600_000), (600_000, 1_200_000), (1_200_000, 1_500_000)],
                 id="25,000 minutes in 10,000-minute chunks"),
    pytest.param(0, 60 * 11_001, MAX_POINTS, [(0, 660_000), (660_000, 660_060)],
                 id="11,000 points is the most one query asks"),
])
def test_chunk_planner_covers_the_range_without_overlap_or_hole(start, end, size, chunks):
    assert plan_chunks(start, end, max_minutes=size) == chunks
    for (_, b), (a, _) in pairwise(chunks):
        assert a == b
    if chunks:
        assert (chunks[0][0], chunks[-1][1]) == (start // 60 * 60, end // 60 * 60)
    assert all((b - a) // 60 <= size for a, b in chunks)


@pytest.mark.parametrize(("start", "end", "size"), [
    pytest.param(0, 600, 0, id="no empty chunks"),
    pytest.param(0, 600, MAX_POINTS + 1, id="Prometheus refuses more than 11,000 points"),
    pytest.param(600, 0, 10, id="a range ending before it starts"),
])
def test_chunk_planner_refuses_bad_plans(start, end, size):
    with pytest.raises(ValueError):
        plan_chunks(start, end, max_minutes=size)


def test_the_default_chunk_stays_under_the_point_limit():
    assert CHUNK_MINUTES <= MAX_POINTS


def test_service_queries_match_services_on_the_label_given():
    queries = service_queries(["api-gateway", "a.b"], label="service", names=MetricNames())
    assert queries["requests"] == ('sum by (service) (increase(http_requests_total'
                                   '{service=~"api-gateway|a\\\\.b"}[1m]))')
    assert 'code=~"5.."' in queries["errors"]
    assert queries["buckets"].startswith("sum by (service, le) (increase(")
    assert queries["cpu"].startswith("avg by (service) (avg_over_time(process_cpu_usage")
    with pytest.raises(ValueError):
        service_queries(["x"], label="not a label")


def test_unconfigured_names_are_tried_in_the_page_scrapers_order():
    """Without `metrics:` a service is read from the first known name it has series of,
    the same names in the same order as the page scraper recognises them."""
    choices = name_choices(ConfiguredNames())
    assert choices.requests == (*REQUESTS, *(f"{n}_count" for n in LATENCY))
    assert (choices.status_labels, choices.latency, choices.cpu, choices.memory) == (
        STATUS_LABELS, LATENCY, CPU, MEMORY)
    queries = service_queries(["a"])
    assert queries["requests"] == " or ".join(
        f'sum by (job) (increase({n}{{job=~"a"}}[1m]))' for n in choices.requests)
    # errors of a later counter only for services that have none of the earlier ones
    assert queries["errors"].count("unless on (job)") == len(choices.requests) - 1
    assert queries["buckets"].count(" or on (job) ") == len(LATENCY) - 1


def test_configured_names_fix_what_they_name_and_services_share_queries_by_names():
    shop = ConfiguredNames(requests="shop_orders_total", status_label="result",
                           latency="shop_order_seconds", cpu="shop_cpu_seconds_total",
                           memory="shop_heap_bytes", cpu_limit_cores=2.0)
    queries = service_queries(["shop", "a", "b"], names={"shop": shop})
    assert queries["requests"] == (
        '(sum by (job) (increase(shop_orders_total{job=~"shop"}[1m]))) or ('
        + " or ".join(f'sum by (job) (increase({n}{{job=~"a|b"}}[1m]))'
                      for n in name_choices(ConfiguredNames()).requests) + ")")
    assert queries["errors"].startswith(
        '(sum by (job) (increase(shop_orders_total{job=~"shop",result=~"5.."}[1m]))) or (')
    assert queries["cpu"].startswith(
        '(avg by (job) (rate(shop_cpu_seconds_total{job=~"shop"}[1m])) / 2.0) or (')
    assert queries["memory"].startswith(
        '(avg by (job) (sum by (job, instance) (avg_over_time(shop_heap_bytes{job=~"shop"}')
    # exact names: one name each, and no CPU or memory query when there is none
    exact = service_queries(["a"], names=MetricNames(cpu="", memory=""))
    assert set(exact) == {"requests", "errors", "latency_sum", "latency_count", "buckets"}
    with pytest.raises(ValueError, match="not a metric name"):
        service_queries(["a"], names=ConfiguredNames(requests='x{job="b"}'))


def test_the_value_at_instant_m_plus_60_is_the_row_of_minute_m():
    result = [{"metric": {"job": "a", "route": "/x"}, "values": [[1260, "5"], [1320, "NaN"]]},
              {"metric": {"job": "a", "route": "/y"}, "values": [[1260, "1"], [1320, "2"]]},
              {"metric": {"job": "b"}, "values": [[1320, "7"]]}]
    frame = matrix_frame(result)
    assert per_minute(frame, ("job",)).to_dict() == {("a", 1200): 6.0, ("a", 1260): 2.0,
                                                     ("b", 1260): 7.0}
    rows = service_rows({"requests": frame}, {"a": 1}, label="job")
    assert rows == [(1200, 1, 6.0, 0.0, 0.0, 0.0, None, None, "prometheus"),
                    (1260, 1, 2.0, 0.0, 0.0, 0.0, None, None, "prometheus")]
    buckets = matrix_frame([{"metric": {"job": "a", "le": "+Inf"}, "values": [[1260, "3"]]}])
    assert bucket_rows(buckets, {"a": 1}) == [(1200, 1, math.inf, 3.0, "prometheus")]


def test_sli_queries_render_each_kind_for_one_minute():
    events = sli_queries(PAYMENT_SLOS[0])
    assert events.kind == "events" and events.scales == {"total": 60.0, "errors": 60.0}
    assert "[1m]" in events.queries["total"] and "{{" not in events.queries["errors"]
    latency = sli_queries(PAYMENT_SLOS[1])
    assert latency.strict and 'le="0.09"' in latency.queries["errors"]
    counter = sli_queries(SLO("s", "c", 99.0, RequestRatio("x_total", good_query="y_total",
                                                             counter=True)))
    assert counter.queries == {"total": "sum(increase(x_total[1m]))",
                               "good": "sum(increase(y_total[1m]))"}
    assert counter.scales == {"total": 1.0, "good": 1.0}
    ratio = sli_queries(RAW)
    assert ratio.kind == "ratio" and ratio.queries["ratio"].startswith("(sum(rate(")
    assert sli_queries(P95).compare == ("lte", 0.05)
    served, skipped = sli_plans([RAW, SLO("s", "events", 99.0, EventRatio(
        "events", ("purchase",), "response_time", "lte", 250.0))])
    assert [p.slo for p in served] == [RAW]
    assert "ClickHouse" in skipped[0][1]


def _frame(values: dict[int, float], series: int = 1) -> pd.DataFrame:
    return matrix_frame([{"metric": {"i": str(i)}, "values": [[m + 60, str(v)]
                                                                for m, v in values.items()]}
                         for i in range(series)])


def test_a_raw_error_ratio_is_written_as_one_minute_of_weight_one():
    plan = SliQueries(RAW, "ratio", {"ratio": "q"})
    rows = sli_rows(plan, {"ratio": _frame({0: 0.25, 60: math.nan, 120: 1.5, 180: -0.1})})
    assert rows.to_dict("records") == [{"minute": 0, "good": 0.75, "total": 1.0},
                                       {"minute": 120, "good": 0.0, "total": 1.0},
                                       {"minute": 180, "good": 1.0, "total": 1.0}]
    with pytest.raises(SpecError, match="returns 2 series"):
        sli_rows(plan, {"ratio": _frame({0: 0.1}, series=2)})


def test_events_clamp_good_into_0_to_total_and_missing_errors_are_none():
    plan = SliQueries(PAYMENT_SLOS[0], "events", {"total": "t", "errors": "e"},
                      {"total": 60.0, "errors": 60.0})
    rows = sli_rows(plan, {"total": _frame({0: 2.0, 60: 1.0}), "errors": _frame({60: 1.5})})
    assert rows.to_dict("records") == [{"minute": 0, "good": 120.0, "total": 120.0},
                                       {"minute": 60, "good": 0.0, "total": 60.0}]
    strict = SliQueries(PAYMENT_SLOS[1], "events", {"total": "t", "errors": "e"}, strict=True)
    with pytest.raises(SpecError, match="bucket bound"):
        sli_rows(strict, {"total": _frame({0: 2.0}), "errors": _frame({})})


def test_describe_hides_a_password():
    assert describe("https://u:secret@mimir:8080/prometheus") == (
        "https://u:***@mimir:8080/prometheus")


# --- progress ---------------------------------------------------------------------------------


def test_progress_off_a_terminal_is_one_plain_line_per_chunk():
    out = io.StringIO()
    with progress_reporter(out) as progress:
        progress(0, 3)
        progress(2, 3)
    assert out.getvalue().splitlines() == ["backfill 0/3 minutes (0.0%)",
                                           "backfill 2/3 minutes (66.7%)"]


def test_progress_on_a_terminal_draws_a_rich_bar():
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert tty.isatty()
            with progress_reporter(tty, description="backfill") as progress:
                progress(0, 4)
                progress(4, 4)
        output = b""
        while select.select([master], [], [], 0.2)[0]:
            output += os.read(master, 65536)
    finally:
        os.close(master)
        os.close(slave)
    text = output.decode("utf-8", "replace")
    assert "backfill" in text and "4/4" in text and "\x1b[" in text  # drawn with escapes


# --- the real fleet scraped by real Prometheus --------------------------------------------------


@dataclass
class Stack:
    fleet: Fleet
    reference: object  # harness PrometheusProcess
    primary: object
    minute: int  # M: the first whole minute both servers scraped


@pytest.fixture(scope="module")
def stack(prometheus_factory):
    fleet = Fleet([PROFILES[s] for s in SLUGS], seed=11)
    with fleet:
        jobs = [{"job_name": slug, "scrape_interval": "1s",
                 "static_configs": [{"targets": [fleet.endpoint(slug).url.removeprefix(
                     "http://").removesuffix("/metrics")]}]} for slug in SLUGS]
        reference = prometheus_factory(scrape_configs=jobs)
        primary = prometheus_factory(scrape_configs=jobs)
        reference.wait_for_targets_up(len(jobs), timeout=30)
        primary.wait_for_targets_up(len(jobs), timeout=30)
        minute = (int(time.time()) // 60 + 1) * 60  # both scrape every second from here on
        time.sleep(max(0.0, minute + 60 + SETTLE_S - time.time()))
        yield Stack(fleet, reference, primary, minute)


def store(path: Path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def collector(engine, url: str, *, slos=SLOS, timeout_s: float = 5.0, **kwargs):
    source = PrometheusSource(connect(url, timeout_s=timeout_s, retries=0), timeout_s=timeout_s)
    return PrometheusCollector(engine, source, SLUGS, slos=slos, delay_s=SETTLE_S, **kwargs)


def snapshot(engine) -> tuple[list, ...]:
    with engine.connect() as conn:
        return tuple(sorted(conn.execute(sa.select(t.__table__)).all())
                     for t in (ServiceMinute, LatencyBucketMinute, SliMinute))


def service_minutes(engine) -> dict[tuple[str, int], dict]:
    t, s = ServiceMinute.__table__, Service.__table__
    query = sa.select(s.c.slug, t).join(s, s.c.id == t.c.service_id)
    with engine.connect() as conn:
        return {(r.slug, r.minute): r._asdict() for r in conn.execute(query)}


def buckets(engine, slug: str, minute: int) -> tuple[np.ndarray, np.ndarray]:
    t, s = LatencyBucketMinute.__table__, Service.__table__
    query = (sa.select(t.c.le, t.c.count).join(s, s.c.id == t.c.service_id)
             .where(s.c.slug == slug, t.c.minute == minute).order_by(t.c.le))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return np.array([r.le for r in rows]), np.array([r.count for r in rows])


def sli_minutes(engine) -> dict[tuple[str, int], tuple[float, float]]:
    t, s = SliMinute.__table__, Slo.__table__
    query = sa.select(s.c.slug, t.c.minute, t.c.good, t.c.total).join(s, s.c.id == t.c.slo_id)
    with engine.connect() as conn:
        return {(r.slug, r.minute): (r.good, r.total) for r in conn.execute(query)}


@pytest.fixture(scope="module")
def clean(stack, tmp_path_factory):
    """What an undisturbed `collect` writes from the reference server at M + 60 + SETTLE_S."""
    engine = store(tmp_path_factory.mktemp("clean") / "apollo.db")
    run = collector(engine, stack.reference.url, lookback=timedelta(minutes=2)).collect(
        now=stack.minute + 60 + SETTLE_S)
    assert run.status == "ok", run.errors
    assert run.gaps == []
    return engine


def floors(series: int) -> float:
    return series * FLOOR


@pytest.mark.parametrize("slug", SLUGS)
def test_service_rows_follow_the_fleets_load_model(stack, clean, slug):
    m = stack.minute
    row = service_minutes(clean)[(slug, m)]
    simulator = stack.fleet.endpoint(slug).simulator
    profile = PROFILES[slug]
    routes = len(profile.routes)
    expected = simulator.load.expected_requests(m, m + 60)
    assert row["requests"] == pytest.approx(expected, rel=EXTRAPOLATION,
                                            abs=floors(routes * CODES))
    assert row["latency_count"] == pytest.approx(expected, rel=EXTRAPOLATION,
                                                 abs=floors(routes))
    # Extrapolation scales errors and requests alike: the share is off by the floors only.
    assert row["errors"] == pytest.approx(profile.error_ratio * row["requests"],
                                          rel=1e-3, abs=floors(routes * 2))
    mean_latency = simulator.latency.mean_s()
    assert row["latency_sum"] / row["latency_count"] == pytest.approx(mean_latency, rel=0.02)
    instants = [m + s + 0.5 for s in range(60)]
    assert row["cpu_ratio"] == pytest.approx(
        np.mean([simulator.cpu_ratio(t) for t in instants]), rel=0.01)
    assert row["memory_bytes"] == pytest.approx(
        np.mean([simulator.memory_bytes(t) for t in instants]), rel=0.01)


@pytest.mark.parametrize("slug", SLUGS)
def test_bucket_rows_give_back_the_profiles_p95(stack, clean, slug):
    bounds, counts = buckets(clean, slug, stack.minute)
    assert math.isinf(bounds[-1])
    assert counts[-1] == pytest.approx(service_minutes(clean)[(slug, stack.minute)][
        "latency_count"], rel=1e-9)
    p95 = float(histogram_quantile(0.95, bounds, counts)[0])
    assert p95 == pytest.approx(PROFILES[slug].p95_ms / 1000, rel=0.10)


def test_slo_rows_agree_with_the_service_rows(stack, clean):
    m = stack.minute
    service = service_minutes(clean)[("payment-service", m)]
    sli = sli_minutes(clean)
    good, total = sli[("payment-service-availability", m)]
    assert total == pytest.approx(service["requests"], rel=1e-9)
    assert good == pytest.approx(service["requests"] - service["errors"], rel=1e-9)
    bounds, counts = buckets(clean, "payment-service", m)
    good, total = sli[("payment-service-latency", m)]
    assert total == pytest.approx(service["latency_count"], rel=1e-9)
    assert good == pytest.approx(counts[list(bounds).index(0.09)], rel=1e-9)
    assert good / total == pytest.approx(0.9993, abs=0.0005)  # threshold: twice the p95
    # A raw error ratio is one minute of weight one whose good share is 1 - the ratio.
    good, total = sli[("payment-service-availability-raw", m)]
    assert total == 1.0
    assert good == pytest.approx(1 - service["errors"] / service["requests"], rel=1e-9)
    assert sli[("payment-service-p95-under-50ms", m)] == (1.0, 1.0)


def test_a_backfill_longer_than_a_chunk_joins_its_chunks_exactly(stack, clean, tmp_path):
    start, end = stack.minute - 120, stack.minute + 60
    single_store, chunked_store = store(tmp_path / "single.db"), store(tmp_path / "chunked.db")
    single = collector(single_store, stack.reference.url)
    chunked = collector(chunked_store, stack.reference.url, chunk_minutes=1)
    calls: list[tuple[int, int]] = []
    assert chunked.backfill(start, end, progress=lambda d, t: calls.append((d, t))).errors == []
    assert single.backfill(start, end).errors == []
    per_chunk = len(single.queries) + sum(len(p.queries) for p in single.plans)
    assert single.source.queries == per_chunk
    assert chunked.source.queries == 3 * per_chunk
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert snapshot(chunked_store) == snapshot(single_store)
    assert {m for _, m in service_minutes(chunked_store)} >= {stack.minute}
    assert service_minutes(chunked_store)[("api-gateway", stack.minute)] == (
        service_minutes(clean)[("api-gateway", stack.minute)])


def test_a_backfill_is_one_instance_and_read_at_5_minutes_rolled_up_or_not(stack, tmp_path):
    start, end = stack.minute - 240, stack.minute + 60
    engine = store(tmp_path / "apollo.db")
    with engine.begin() as conn:  # a roll-up already ran later on: the backfill is behind it
        rollup.roll_up(conn, end + 3600, end + 3600)
    run = collector(engine, stack.reference.url, chunk_minutes=2).backfill(start, end)
    assert run.errors == []

    def fives() -> pd.Series:
        with engine.connect() as conn:
            frame = queries.service_metrics(conn, start, end, resolution="5m")
        return frame.set_index(["ts", "service"])["requests"]

    with engine.connect() as conn:
        instances = conn.execute(sa.select(ServiceMinute.__table__.c.instance).distinct())
        assert list(instances.scalars()) == ["prometheus"]
        minutes = queries.service_metrics(conn, start, end)
    # the same sums, worked out here from the minute rows
    blocks = minutes.assign(block=minutes["ts"].dt.floor("5min"))
    want = blocks.groupby(["block", "service"])["requests"].sum().to_dict()
    assert fives().to_dict() == pytest.approx(want, rel=1e-12)  # aggregated on the fly
    with engine.begin() as conn:
        rollup.roll_up(conn, end + 3600, end + 3600)  # the roll-up job: it rolls the marked
        assert conn.execute(sa.text("SELECT count(*) FROM service_5m")).scalar() > 0
        assert conn.execute(sa.text("SELECT count(*) FROM rollup_marks")).scalar() == 0
    assert fives().to_dict() == pytest.approx(want, rel=1e-12)  # from the roll-up rows


def test_an_outage_is_a_failed_run_with_a_gap_that_a_backfill_fills(stack, clean, tmp_path):
    m, primary = stack.minute, stack.primary
    engine = store(tmp_path / "apollo.db")
    job = collector(engine, primary.url, lookback=timedelta(minutes=1))
    primary.stop()
    try:
        began = time.monotonic()
        run = job.collect(now=m + 60 + SETTLE_S)
        assert time.monotonic() - began < 5
    finally:
        primary.start()
    assert run.status == "failed"
    assert primary.url in run.errors[0] and "cannot connect" in run.errors[0]
    assert run.gaps == [{"start": m, "end": m + 60}]
    assert snapshot(engine) == ([], [], [])
    with engine.begin() as conn:
        record_run(conn, run)
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(CollectorRun.__table__)).one()
    assert (recorded.status, recorded.gaps) == ("failed", {"gaps": [{"start": m, "end": m + 60}]})
    assert primary.url in recorded.message

    for gap in run.gaps:
        filled = job.backfill(gap["start"], gap["end"])
        assert filled.status == "ok", filled.errors
    written = service_minutes(engine)
    assert set(written) == {(slug, m) for slug in SLUGS}
    reference = service_minutes(clean)
    for slug in SLUGS:
        routes = len(PROFILES[slug].routes)
        for name, series in (("requests", routes * CODES), ("errors", routes * 2),
                             ("latency_count", routes), ("latency_sum", 0)):
            assert written[(slug, m)][name] == pytest.approx(
                reference[(slug, m)][name], rel=EXTRAPOLATION, abs=2 * floors(series)), name
        for name in ("cpu_ratio", "memory_bytes"):
            assert written[(slug, m)][name] == pytest.approx(reference[(slug, m)][name],
                                                             rel=0.01)
    assert set(sli_minutes(engine)) == {(s.id, m) for s in SLOS}

    before = snapshot(engine)
    assert job.backfill(m, m + 60).status == "ok"
    assert snapshot(engine) == before


def test_a_rejected_query_fails_only_its_slo(stack, tmp_path):
    broken = SLO(service="payment-service", name="broken", objective=99.0,
                 sli=Threshold("sum(rate(http_requests_total[{{.window}}])", "lte", 1.0))
    engine = store(tmp_path / "apollo.db")
    run = collector(engine, stack.reference.url, slos=[PAYMENT_SLOS[0], broken]).backfill(
        stack.minute, stack.minute + 60)
    assert run.status == "partial"
    assert len(run.errors) == 1
    assert "SLO payment-service-broken" in run.errors[0]
    assert stack.reference.url in run.errors[0] and "HTTP 400" in run.errors[0]
    assert run.gaps == []
    assert set(sli_minutes(engine)) == {("payment-service-availability", stack.minute)}
    assert ("payment-service", stack.minute) in service_minutes(engine)


def test_a_source_that_never_answers_fails_within_the_timeout(tmp_path):
    with socket.socket() as silent:  # accepts connections (the kernel does), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        job = collector(store(tmp_path / "apollo.db"), url, timeout_s=0.5)
        began = time.monotonic()
        run = job.backfill(1_800_000_000 - 600, 1_800_000_000)
        assert time.monotonic() - began < 5
    assert run.status == "failed"
    assert run.errors == [f"{url}: no answer within 0.5s (timeout)"]
    assert run.gaps == [{"start": 1_800_000_000 - 600, "end": 1_800_000_000}]


def test_source_errors_are_typed_and_name_the_url(stack):
    source = PrometheusSource(connect(stack.reference.url, retries=0), timeout_s=5)
    with pytest.raises(QueryRejected, match="bad_data") as rejected:
        source.fetch("rate(", stack.minute, stack.minute + 60)
    assert rejected.value.source == stack.reference.url
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    down = PrometheusSource(connect(f"http://127.0.0.1:{port}", retries=0), timeout_s=1)
    with pytest.raises(SourceUnavailable, match=f"127.0.0.1:{port}: cannot connect"):
        down.fetch("up", stack.minute, stack.minute + 60)
    with pytest.raises(ValueError, match="11000"):
        source.fetch("up", 0, 60 * MAX_POINTS)
