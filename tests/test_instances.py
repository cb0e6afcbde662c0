"""Several instances per series, on SQLite and PostgreSQL: two pods of one service add up, a
pod that went missing is visible, two replicas holding different targets write
complementary rows, a rewrite changes nothing, roll-ups equal the minute sums, labels pick
series.

The pods are real /metrics pages on loopback whose counters are a pure function of the
test's clock (a constant rate since T0), so every expected figure is worked out here from
the rates alone, and replaying the clock replays the very same pages.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from support import T0, Clock

from collectors.scrape import PageScraper, Target
from services.files import load_slo_files
from services.store import queries, rollup, writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute

ERROR_SHARE = 0.05
LATENCY_S = 0.05  # every request takes 50 ms: all in the le=0.1 bucket
MEMORY = {10.0: 100e6, 30.0: 300e6}  # bytes, by rate: tells the pods apart in the gauges
SLO_SPEC = """\
apiVersion: apollo/v1
kind: SLO
service: checkout
name: availability
objective: 99.9
period: 30d
labels:
  owner: payments-oncall
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
"""


class Pod:
    """One pod's /metrics page on 127.0.0.1: `rate` requests a second since T0, 5% of them
    503s. `down` makes it answer 503 to the scrape itself, as a pod that is going away."""

    def __init__(self, clock: Clock, rate: float) -> None:
        self.clock, self.rate, self.down = clock, rate, False
        pod = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pod.page().encode()
                self.send_response(503 if pod.down else 200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"

    def page(self) -> str:
        served = self.rate * (self.clock() - T0)
        errors = ERROR_SHARE * served
        return "\n".join([
            "# TYPE http_requests_total counter",
            f'http_requests_total{{code="200"}} {served - errors!r}',
            f'http_requests_total{{code="503"}} {errors!r}',
            "# TYPE http_request_duration_seconds histogram",
            f'http_request_duration_seconds_bucket{{le="0.1"}} {served!r}',
            f'http_request_duration_seconds_bucket{{le="+Inf"}} {served!r}',
            f"http_request_duration_seconds_sum {served * LATENCY_S!r}",
            f"http_request_duration_seconds_count {served!r}",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {MEMORY[self.rate]!r}",
            "",
        ])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def pods(clock):
    """Two pods of the service `checkout`: 10 and 30 requests a second."""
    started = [Pod(clock, 10.0), Pod(clock, 30.0)]
    yield started
    for pod in started:
        pod.close()


@pytest.fixture
def slos(tmp_path):
    path = tmp_path / "checkout.yaml"
    path.write_text(SLO_SPEC, encoding="utf-8")
    return load_slo_files([path])


def scraper(engine, pods, slos, clock, **kwargs) -> PageScraper:
    return PageScraper(engine, [Target("checkout", p.url) for p in pods], slos=slos,
                       clock=clock, timeout_s=2, **kwargs)


def scrape_rounds(clock, scrapers, rounds: int, *, before_round=None) -> list:
    """Every 15 s from T0 + 5 s, each scraper once a round; returns every run."""
    runs = []
    for i in range(rounds):
        clock.now = T0 + 5 + 15 * i
        if before_round:
            before_round(i)
        for each in scrapers:
            runs += each.scrape_once()
    return runs


PER_MINUTE = 60 * (10.0 + 30.0)  # both pods: 2,400 requests a minute
WHOLE = (T0 + 60, T0 + 360)  # the minutes 25 rounds (up to T0 + 365) complete


def read(engine, start=WHOLE[0], end=WHOLE[1], **kwargs):
    with engine.connect() as conn:
        return (queries.service_metrics(conn, start, end, **kwargs),
                queries.latency_buckets(conn, start, end, **kwargs),
                queries.sli(conn, start, end, **kwargs))


def assert_both_pods_counted(service, buckets, sli) -> None:
    assert len(service) == 5
    assert service["requests"].tolist() == pytest.approx([PER_MINUTE] * 5, rel=1e-9)
    assert service["errors"].tolist() == pytest.approx([ERROR_SHARE * PER_MINUTE] * 5,
                                                       rel=1e-9)
    assert (service["latency_sum"] / service["latency_count"]).tolist() == pytest.approx(
        [LATENCY_S] * 5, rel=1e-9)
    assert service["memory_bytes"].tolist() == pytest.approx([200e6] * 5)  # the pods' mean
    assert service["instances"].tolist() == [2] * 5
    assert not service["partial"].any()
    fast = buckets[buckets["le"] == 0.1]
    assert fast["count"].tolist() == pytest.approx([PER_MINUTE] * 5, rel=1e-9)
    assert sli["total"].tolist() == pytest.approx([PER_MINUTE] * 5, rel=1e-9)
    assert sli["good"].tolist() == pytest.approx([(1 - ERROR_SHARE) * PER_MINUTE] * 5,
                                                 rel=1e-9)
    assert sli["instances"].tolist() == [2] * 5


# --- pods scraped ------------------------------------------------------------------------


def test_two_pods_of_one_service_add_up(engine, pods, slos, clock):
    runs = scrape_rounds(clock, [scraper(engine, pods, slos, clock)], 25)
    assert all(run.status == "ok" for run in runs), [r.errors for r in runs if r.errors]
    assert_both_pods_counted(*read(engine))
    with engine.connect() as conn:
        instances = conn.execute(sa.select(ServiceMinute.__table__.c.instance).distinct())
        assert sorted(instances.scalars()) == sorted(p.url.split("/")[2] for p in pods)


def test_a_pod_missing_for_a_while_marks_its_minutes_partial_never_silently_low(
        engine, pods, slos, clock):
    """The 30/s pod answers nothing from T0+185 s to T0+545 s: longer than the scraper
    guesses across (5 minutes), so its minutes in between are not written at all."""
    def outage(i: int) -> None:
        pods[1].down = T0 + 185 <= clock.now < T0 + 545

    scrape_rounds(clock, [scraper(engine, pods, slos, clock)], 61, before_round=outage)
    service, _, sli = read(engine, T0 + 60, T0 + 900)
    alone = service[service["instances"] == 1]
    both = service[service["instances"] == 2]
    assert len(alone) >= 3 and len(both) >= 5
    assert alone["partial"].all() and not both["partial"].any()
    assert alone["requests"].tolist() == pytest.approx([60 * 10.0] * len(alone), rel=1e-9)
    assert both["requests"].tolist() == pytest.approx([PER_MINUTE] * len(both), rel=1e-9)
    # from the minute of its last good scrape (T0+170 s) to that of its first one after
    # (T0+545 s): neither minute was seen whole
    gap = alone["ts"].map(lambda t: t.timestamp())
    assert (gap.min(), gap.max()) == (T0 + 120, T0 + 540)
    assert len(alone) == 8
    assert sli.loc[sli["instances"] == 1, "partial"].all()


def test_two_replicas_holding_different_targets_write_rows_that_add_up(
        engine, pods, slos, clock):
    first = scraper(engine, pods, slos, clock, lease=lambda url: url == pods[0].url)
    second = scraper(engine, pods, slos, clock, lease=lambda url: url == pods[1].url)
    runs = scrape_rounds(clock, [first, second], 25)
    assert sorted({run.target for run in runs}) == sorted(p.url for p in pods)
    assert_both_pods_counted(*read(engine))


def snapshot(engine) -> list[list[tuple]]:
    with engine.connect() as conn:
        return [sorted(tuple(r) for r in conn.execute(sa.select(t.__table__)))
                for t in (ServiceMinute, LatencyBucketMinute, SliMinute)]


def test_the_same_scrapes_written_again_change_nothing(engine, pods, slos, clock):
    scrape_rounds(clock, [scraper(engine, pods, slos, clock)], 25)
    before = snapshot(engine)
    scrape_rounds(clock, [scraper(engine, pods, slos, clock)], 25)  # the same pages again
    assert snapshot(engine) == before
    assert [len(rows) for rows in before] == [2 * 5, 2 * 5 * 2, 2 * 5]


def test_a_row_the_store_cannot_take_is_named_in_its_targets_run(engine, pods, slos, clock):
    """From T0+150 s the 30/s pod's page says its latency sum is NaN: the sample is set
    aside at its page line, the service rows that would count it are not written and its
    runs say so; its other rows and the other pod's are written."""
    page = pods[1].page

    def nan_from_round_10(i: int) -> None:
        if i == 10:
            pods[1].page = lambda: re.sub(r"(?m)^(http_request_duration_seconds_sum) .*$",
                                          r"\1 NaN", page())

    runs = scrape_rounds(clock, [scraper(engine, pods, slos, clock)], 25,
                         before_round=nan_from_round_10)
    named = [e for r in runs if r.target == pods[1].url for e in r.errors]
    assert named and all(f"{pods[1].url}:" in e for e in named)
    assert any("NaN cannot be counted" in e for e in named)
    assert not [e for r in runs if r.target == pods[0].url for e in r.errors]
    service, buckets, sli = read(engine)
    alone = service[service["instances"] == 1]
    assert alone["ts"].min().timestamp() == T0 + 120  # the first minute the NaN reached
    assert alone["partial"].all()
    assert alone["requests"].tolist() == pytest.approx([60 * 10.0] * len(alone), rel=1e-9)
    assert buckets["instances"].tolist() == [2] * len(buckets)  # its other rows are kept
    assert sli["total"].tolist() == pytest.approx([PER_MINUTE] * 5, rel=1e-9)


# --- roll-ups against sums worked out here ------------------------------------------------


def minute_rows(ids: dict[str, int]) -> list[tuple]:
    """150 minutes of two pods of `api` and one of `db`, with holes: pod b misses every
    17th minute, and a third pod c reports minutes 40-44 only (a rollout)."""
    rows = []
    for i in range(150):
        minute = int(T0) + 60 * i
        for pod, base in (("a", 100.0), ("b", 300.0), ("c", 50.0)):
            if (pod == "b" and i % 17 == 5) or (pod == "c" and not 40 <= i < 45):
                continue
            rows.append((minute, ids["api"], base + i, float(i % 3), 0.1 * (base + i), base + i,
                         0.2 + 0.01 * (i % 5) + (0.1 if pod == "b" else 0.0), 1e8 + i, pod))
        rows.append((minute, ids["db"], 7.0, 0.0, 0.7, 7.0, None, 5e8, "db-0"))
    return rows


def expected(rows: list[tuple], step: int, ids: dict[str, int]) -> pd.DataFrame:
    """The read at `step` seconds, worked out in pandas: per instance first (sums, means,
    maxima, minutes), then across instances; partial where the instance-minutes per minute
    fall below the series' most, rounded to whole instances."""
    frame = pd.DataFrame(rows, columns=writes.table_columns(ServiceMinute.__table__))
    frame["ts"] = frame["minute"] // step * step
    per_instance = frame.groupby(["ts", "service_id", "instance"]).agg(
        requests=("requests", "sum"), errors=("errors", "sum"),
        cpu_ratio=("cpu_ratio", "mean"), cpu_max=("cpu_ratio", "max"),
        minutes=("minute", "count")).reset_index()
    out = per_instance.groupby(["ts", "service_id"]).agg(
        requests=("requests", "sum"), errors=("errors", "sum"), cpu_ratio=("cpu_ratio", "mean"),
        cpu_max=("cpu_max", "max"), minutes=("minutes", "sum"),
        instances=("instance", "count")).reset_index()
    coverage = out["minutes"] / (step // 60)
    most = coverage.groupby(out["service_id"]).transform("max")
    out["partial"] = coverage < np.round(most)
    out["service"] = out["service_id"].map({v: k for k, v in ids.items()})
    return out.sort_values(["ts", "service"]).reset_index(drop=True)


@pytest.mark.parametrize("rolled", ["none", "first hour", "all"])
@pytest.mark.parametrize("resolution", ["5m", "hour"])
def test_roll_ups_equal_the_minute_sums(engine, resolution, rolled):
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API"), ServiceInfo("db", "DB")])
    rows = minute_rows(ids)
    end = T0 + 150 * 60
    with engine.begin() as conn:
        writes.upsert(conn, ServiceMinute.__table__, rows)
        if rolled != "none":
            rollup.roll_up(conn, int(T0), int(T0) + 3600 if rolled == "first hour" else end)
        got = queries.service_metrics(conn, T0, end, resolution=resolution)
    want = expected(rows, 300 if resolution == "5m" else 3600, ids)
    assert got["ts"].map(lambda t: int(t.timestamp())).tolist() == want["ts"].tolist()
    assert got["service"].tolist() == want["service"].tolist()
    for column in ("requests", "errors", "minutes", "instances", "partial"):
        assert got[column].tolist() == want[column].tolist(), column
    for column in ("cpu_ratio", "cpu_max"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("resolution", ["5m", "hour"])
def test_rows_written_behind_the_newest_roll_up_are_read_at_once_and_rolled_next(
        engine, resolution):
    """As the demo's history or a backfill: the last hour is written and rolled up first,
    then the two hours before it."""
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API"), ServiceInfo("db", "DB")])
    rows = minute_rows(ids)  # 150 minutes from T0
    late, early = [r for r in rows if r[0] >= T0 + 7200], [r for r in rows if r[0] < T0 + 7200]
    end = T0 + 150 * 60
    step = 300 if resolution == "5m" else 3600
    want = expected(rows, step, ids)

    def read() -> pd.DataFrame:
        with engine.connect() as conn:
            return queries.service_metrics(conn, T0, end, resolution=resolution)

    with engine.begin() as conn:
        writes.upsert(conn, ServiceMinute.__table__, late)
        rollup.roll_up(conn, T0 + 7200, end)
    with engine.begin() as conn:
        writes.upsert_checked(conn, ServiceMinute.__table__, early)
    for rolled in (False, True):
        if rolled:  # the roll-up job's next run, an hour on
            with engine.begin() as conn:
                rollup.roll_up(conn, end + 3600, end + 3600)
                assert conn.execute(sa.text("SELECT count(*) FROM rollup_marks")).scalar() == 0
        got = read()
        assert got["ts"].map(lambda t: int(t.timestamp())).tolist() == want["ts"].tolist()
        for column in ("requests", "minutes", "instances", "partial"):
            assert got[column].tolist() == want[column].tolist(), (rolled, column)


def test_retention_leaves_no_mark_behind_the_minutes_it_deleted(engine):
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API"), ServiceInfo("db", "DB")])
        writes.upsert(conn, ServiceMinute.__table__, minute_rows(ids))
        before = queries.service_metrics(conn, T0, T0 + 9000, resolution="hour")
        rollup.apply_retention(conn, now=pd.Timestamp(T0 + 9000, unit="s", tz="UTC"),
                               minute_keep=pd.Timedelta(hours=1), hour_keep=pd.Timedelta(days=9))
        marks = conn.execute(sa.text("SELECT min(minute) FROM rollup_marks")).scalar()
        after = queries.service_metrics(conn, T0, T0 + 9000, resolution="hour")
    assert marks is None or marks >= T0 + 3600
    pd.testing.assert_frame_equal(before, after)


def test_minutes_say_how_many_instances_reported_them(engine):
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API"), ServiceInfo("db", "DB")])
        writes.upsert(conn, ServiceMinute.__table__, minute_rows(ids))
        got = queries.service_metrics(conn, T0, T0 + 150 * 60, services=["api"])
    by_minute = got.set_index(got["ts"].map(lambda t: int((t.timestamp() - T0) // 60)))
    assert by_minute.loc[5, ["instances", "partial"]].tolist() == [1, True]  # b missed it
    assert by_minute.loc[5, "requests"] == 100.0 + 5
    assert by_minute.loc[6, ["instances", "partial"]].tolist() == [2, True]  # c is the most
    assert by_minute.loc[40, ["instances", "partial"]].tolist() == [3, False]


def test_a_pod_minute_missing_in_every_block_marks_every_block_partial(engine):
    """Two pods; pod b misses one minute in every 5 minutes: each block holds 9 of its 10
    pod-minutes, 1.8 pods on average, which reads as 2 pods with one missing."""
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API")])
        writes.upsert(conn, ServiceMinute.__table__, [
            (int(T0) + 60 * i, ids["api"], 1.0, 0.0, 0.0, 1.0, None, None, pod)
            for i in range(60) for pod in ("a", "b") if not (pod == "b" and i % 5 == 2)])
        fives = queries.service_metrics(conn, T0, T0 + 3600, resolution="5m")
    assert fives["requests"].tolist() == [9.0] * 12
    assert fives["partial"].all()


def test_sli_and_latency_roll_ups_sum_their_instances(engine):
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API")])
        slo = ensure_slo(conn, slug="api-availability", name="availability", objective=99.9,
                         period_s=30 * 86400, service_id=ids["api"])
        minutes = range(0, 120)
        writes.upsert(conn, SliMinute.__table__,
                      [(int(T0) + 60 * i, slo, 90.0 + pod, 100.0 + pod, f"p{pod}")
                       for i in minutes for pod in (0, 1)])
        writes.upsert(conn, LatencyBucketMinute.__table__,
                      [(int(T0) + 60 * i, ids["api"], le, count + pod, f"p{pod}")
                       for i in minutes for pod in (0, 1)
                       for le, count in ((0.1, 5.0), (float("inf"), 8.0))])
        rollup.roll_up(conn, int(T0), int(T0) + 3600)
        for resolution, step in (("5m", 5), ("hour", 60)):
            sli = queries.sli(conn, T0, T0 + 7200, resolution=resolution)
            assert sli["good"].tolist() == [step * (90.0 + 91.0)] * (120 // step)
            assert sli["total"].tolist() == [step * (100.0 + 101.0)] * (120 // step)
            assert sli["instances"].tolist() == [2] * (120 // step)
            buckets = queries.latency_buckets(conn, T0, T0 + 7200, resolution=resolution)
            assert buckets.loc[buckets["le"] == 0.1, "count"].tolist() == \
                [step * 11.0] * (120 // step)
            assert buckets.loc[np.isinf(buckets["le"]), "count"].tolist() == \
                [step * 17.0] * (120 // step)


# --- labels ----------------------------------------------------------------------------------


def test_reads_pick_series_by_their_labels(engine):
    with engine.begin() as conn:
        ids = ensure_services(conn, [
            ServiceInfo("checkout", "Checkout", team="payments", environment="production",
                        tier="critical", labels={"region": "eu-west-1"}),
            ServiceInfo("checkout-staging", "Checkout", team="payments",
                        environment="staging"),
            ServiceInfo("search", "Search", team="discovery", environment="production"),
        ])
        slo_ids = {slug: ensure_slo(conn, slug=f"{slug}-availability", name="availability",
                                    objective=99.9, period_s=86400, service_id=ids[slug],
                                    labels={"owner": f"{slug}-oncall"})
                   for slug in ids}
        writes.upsert(conn, ServiceMinute.__table__,
                      [(int(T0), id_, 1.0, 0.0, 0.0, 1.0, None, None, "x")
                       for id_ in ids.values()])
        writes.upsert(conn, SliMinute.__table__,
                      [(int(T0), id_, 1.0, 1.0, "x") for id_ in slo_ids.values()])

        def services(**labels: str) -> list[str]:
            frame = queries.service_metrics(conn, T0, T0 + 60, labels=labels)
            return sorted(frame["service"])

        def slos(**labels: str) -> list[str]:
            return sorted(queries.sli(conn, T0, T0 + 60, labels=labels)["slo"])

        assert services(team="payments") == ["checkout", "checkout-staging"]
        assert services(team="payments", environment="production") == ["checkout"]
        assert services(region="eu-west-1", tier="critical") == ["checkout"]
        assert services(service="search") == ["search"]
        assert services(team="nobody") == []
        assert slos(team="payments", environment="staging") == \
            ["checkout-staging-availability"]  # the service's labels, inherited
        assert slos(owner="search-oncall") == ["search-availability"]  # the spec's own
        assert slos(service="checkout") == ["checkout-availability"]
