"""Scraping /metrics pages: parsing with bad lines, per-minute increases, rows in the store."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import PROFILES, T0, Clock, serving

from collectors.scrape import PageScraper, Target
from collectors.scrape.increases import TargetIncreases, state_from_json, state_to_json
from collectors.scrape.parse import parse_page
from collectors.scrape.sli import good_total, page_sli
from services.files import expand, load_slo_files
from services.fleet.faults import Fault
from services.fleet.server import Fleet
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade
from slo.specs import load_slos

PAGE = """\
# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total{queue="a"} 10
jobs_total{queue="b"} 5
# TYPE temperature gauge
temperature 21.5
"""


def page(text: str = PAGE):
    return parse_page(text)


# --- parsing -----------------------------------------------------------------------------------


def test_a_page_is_read_by_series():
    p = page()
    assert p.values[("jobs_total", (("queue", "a"),))] == 10
    assert p.types["jobs_total"] == "counter"
    assert p.bad_lines == []


def test_bad_lines_are_skipped_and_named_the_rest_is_kept():
    broken = PAGE.replace('jobs_total{queue="b"} 5', 'jobs_total{queue="b"} five') + \
        "this is not a sample line at all {\n"
    p = page(broken)
    assert [b.line for b in p.bad_lines] == [4, 7]
    assert p.values[("jobs_total", (("queue", "a"),))] == 10
    assert ("temperature", ()) in p.values


def test_openmetrics_pages_are_read_with_their_parser():
    text = "# TYPE jobs counter\njobs_total 3.0\njobs_created 1.7e9\n# EOF\n"
    p = parse_page(text, "application/openmetrics-text; version=1.0.0")
    assert p.values == {("jobs_total", ()): 3.0}


def test_nan_and_infinite_counts_are_set_aside_at_their_lines_and_the_rest_is_kept():
    text = ('# TYPE jobs_total counter\njobs_total{queue="a"} 10\njobs_total{queue="b"} NaN\n'
            'jobs_total{queue="c"} -Inf\n# TYPE rpc_seconds histogram\n'
            'rpc_seconds_bucket{le="+Inf"} 4\nrpc_seconds_sum +Inf\nrpc_seconds_count 4\n'
            "# TYPE temperature gauge\ntemperature NaN\n")
    p = page(text)
    assert [(b.line, b.reason) for b in p.bad_lines] == [
        (3, "counter value NaN cannot be counted"), (4, "counter value -Inf cannot be counted"),
        (7, "histogram value +Inf cannot be counted")]
    assert p.set_aside == {("jobs_total", (("queue", "b"),)), ("jobs_total", (("queue", "c"),)),
                           ("rpc_seconds_sum", ())}
    assert p.values[("jobs_total", (("queue", "a"),))] == 10
    assert p.values[("rpc_seconds_count", ())] == 4
    assert ("temperature", ()) in p.values  # a gauge: read, and left out of averages


def test_a_bucket_whose_le_is_not_a_number_is_no_bucket_and_named():
    text = ('# TYPE rpc_seconds histogram\nrpc_seconds_bucket{le="0.5"} 3\n'
            'rpc_seconds_bucket{le="fast"} 4\nrpc_seconds_bucket{le="NaN"} 4\n'
            'rpc_seconds_bucket{path="/"} 4\nrpc_seconds_bucket{le="+Inf"} 4\n')
    p = page(text)
    assert [(b.line, b.reason) for b in p.bad_lines] == [
        (3, "histogram bucket le='fast' is not a number"),
        (4, "histogram bucket le='NaN' is not a number"),
        (5, "histogram bucket without an le label")]
    assert sorted(p.values) == [("rpc_seconds_bucket", (("le", "+Inf"),)),
                                ("rpc_seconds_bucket", (("le", "0.5"),))]
    assert p.set_aside == set()  # their counts are known: they are just no bucket


def test_a_bad_type_line_is_named_at_its_line_and_the_page_after_it_is_read():
    text = ("# TYPE a_total counter\na_total 1\n# TYPE b gaugee\nb 2\n"
            "# TYPE c_total counter\nc_total 3\n")
    p = page(text)
    assert [(b.line, b.text, b.reason) for b in p.bad_lines] == [
        (3, "# TYPE b gaugee", "Invalid metric type: gaugee")]
    assert p.types == {"a_total": "counter", "b": "unknown", "c_total": "counter"}
    assert p.values == {("a_total", ()): 1, ("b", ()): 2, ("c_total", ()): 3}


def test_a_line_only_prometheus_client_reads_is_read_by_it_beside_a_bad_line():
    text = '# TYPE a gauge\na{x="1"}\t5\na{x="2"} 6\na{x="3"} six\n'  # a tab: not the fast path's
    p = page(text)
    assert [b.line for b in p.bad_lines] == [4]
    assert p.values == {("a", (("x", "1"),)): 5, ("a", (("x", "2"),)): 6}


def test_one_bad_line_in_a_large_page_is_judged_alone(monkeypatch):
    """The fast path reads every other line: prometheus_client sees only the bad one."""
    from collectors.scrape import parse

    seen = []
    real = parse.text_families

    def watched(text: str):
        seen.append(text)
        return real(text)

    monkeypatch.setattr(parse, "text_families", watched)
    lines = ["# TYPE jobs_total counter", *(f'jobs_total{{n="{i}"}} {i}' for i in range(20_000))]
    lines[12_345] = "jobs_total{n= 1"
    p = page("\n".join(lines) + "\n")
    assert [b.line for b in p.bad_lines] == [12_346] and len(p) == 19_999
    assert seen == ["jobs_total{n= 1\n"]


# --- per-minute increases ----------------------------------------------------------------------


def counter_page(a: float) -> object:
    return page(f"# TYPE jobs_total counter\njobs_total {a}\n")


def test_increases_are_spread_over_the_minutes_they_cover():
    state = TargetIncreases()
    assert state.observe(T0 + 30, counter_page(0)) == []  # a baseline; minute 0 is partial
    assert state.observe(T0 + 90, counter_page(60)) == []  # 30 s of minute 1 counted so far
    (minute,) = state.observe(T0 + 150, counter_page(120))
    # minute 1 = [T0+60, T0+120): half of each 60 s interval, 30 + 30 jobs
    assert minute.minute == T0 + 60
    assert minute.increases[("jobs_total", ())] == pytest.approx(60)


def test_a_counter_reset_counts_the_new_value():
    state = TargetIncreases()
    state.observe(T0, counter_page(1000))
    state.observe(T0 + 60, counter_page(1100))
    (minute,) = state.observe(T0 + 120, counter_page(40))  # restarted, then 40 jobs
    assert minute.increases[("jobs_total", ())] == pytest.approx(40)


def test_a_counter_set_aside_holds_back_the_minutes_around_it_then_counts_on():
    """Its count is unknown from the last good scrape to the next: those minutes name it
    (no row counting it is written), and the next good minute counts from its last value.
    A run-once collector keeps that across runs."""
    state = TargetIncreases()
    state.observe(T0, counter_page(0))
    (first,) = state.observe(T0 + 60, counter_page(60))
    assert first.increases[("jobs_total", ())] == 60 and first.unknown == frozenset()
    nan = counter_page(float("nan"))
    assert nan.set_aside == {("jobs_total", ())}
    (before,) = state.observe(T0 + 120, nan)
    assert before.minute == T0 + 60 and before.unknown == {("jobs_total", ())}
    state = state_from_json(json.loads(json.dumps(state_to_json(state))))  # a new process
    (after,) = state.observe(T0 + 180, counter_page(180))
    assert after.minute == T0 + 120 and after.unknown == {("jobs_total", ())}
    (again,) = state.observe(T0 + 240, counter_page(240))
    assert again.unknown == frozenset() and again.increases[("jobs_total", ())] == 60


def test_a_long_silence_is_a_gap_not_a_guess():
    state = TargetIncreases(max_gap_s=300)
    state.observe(T0, counter_page(0))
    state.observe(T0 + 60, counter_page(60))
    assert state.observe(T0 + 900, counter_page(960)) == []
    assert state.gaps == [(T0 + 60, T0 + 900)]
    (minute,) = state.observe(T0 + 960, counter_page(1020))
    assert minute.minute == T0 + 900 and minute.increases[("jobs_total", ())] == 60


# --- the fleet, scraped ------------------------------------------------------------------------



@pytest.fixture
def scraped(tmp_path):
    """The fleet on a hand-moved clock, scraped every 15 s for 10 minutes into SQLite."""
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    slos = load_slo_files(expand(["slos/*.yaml"]))
    with Fleet(list(PROFILES.values()), clock=clock, seed=3) as fleet:
        fleet.inject("payment-service", Fault("error_burst", until=T0 + 300, rate=0.2))
        scraper = PageScraper(engine, [Target(s, u) for s, u in fleet.urls.items()], slos=slos,
                              clock=clock)
        for i in range(41):
            clock.now = T0 + 5 + 15 * i
            runs = scraper.scrape_once()
        yield engine, fleet, scraper, runs
    engine.dispose()


def test_service_rows_follow_the_load_model(scraped):
    engine, fleet, _, runs = scraped
    assert all(r.status == "ok" for r in runs)
    with engine.connect() as conn:
        rows = queries.service_metrics(conn, T0, T0 + 600, services=["api-gateway"])
    model = fleet.endpoint("api-gateway").simulator.load
    assert rows["ts"].min().timestamp() == T0 + 60  # the first minute was only partly seen
    # Increases are spread linearly over each 15 s scrape interval, as Prometheus's
    # increase() assumes; the fleet's rate steps by up to 4% at each minute boundary, so a
    # minute can be off by that share of the 5 s it shares with its neighbour's interval.
    for ts, requests in zip(rows["ts"], rows["requests"], strict=True):
        start = ts.timestamp()
        assert requests == pytest.approx(model.expected_requests(start, start + 60), rel=0.005)
    first, last = rows["ts"].min().timestamp(), rows["ts"].max().timestamp() + 60
    assert rows["requests"].sum() == pytest.approx(model.expected_requests(first, last),
                                                   rel=0.001)


def test_slo_rows_show_the_error_burst(scraped):
    engine, *_ = scraped
    with engine.connect() as conn:
        sli = queries.sli(conn, T0, T0 + 600, slos=["payment-service-availability"])
    during = sli[sli["ts"].map(lambda t: t.timestamp() < T0 + 300)]
    after = sli[sli["ts"].map(lambda t: t.timestamp() >= T0 + 360)]
    bad_share = 1 - during["good"].sum() / during["total"].sum()
    assert bad_share == pytest.approx(0.2, rel=0.02)
    assert 1 - after["good"].sum() / after["total"].sum() == pytest.approx(0.0005, rel=0.05)


def test_latency_and_timeslice_slos_are_read_from_the_histograms(scraped):
    engine, *_ = scraped
    with engine.connect() as conn:
        sli = queries.sli(conn, T0, T0 + 600)
    by_slo = sli.groupby("slo")[["good", "total"]].sum()
    assert by_slo.loc["api-gateway-latency", "good"] / by_slo.loc["api-gateway-latency",
                                                                  "total"] == pytest.approx(
        0.9993, abs=0.0005)  # the model's share within the threshold, twice its p95
    minutes = by_slo.loc["api-gateway-latency-p95-minutes"]
    assert minutes["total"] == 9 and minutes["good"] <= 9


def test_a_target_that_is_down_fails_alone_and_leaves_a_gap(tmp_path):
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    with Fleet(list(PROFILES.values())[:2], clock=clock) as fleet:
        scraper = PageScraper(engine, [Target(s, u) for s, u in fleet.urls.items()],
                              clock=clock, timeout_s=1)
        for i in range(5):
            clock.now = T0 + 5 + 15 * i
            scraper.scrape_once()
        fleet.inject("auth-service", Fault("down", until=T0 + 700))
        for i in range(5, 60):
            clock.now = T0 + 5 + 15 * i
            runs = {r.target: r for r in scraper.scrape_once()}
            if i == 20:
                assert runs[fleet.urls["auth-service"]].status == "failed"
                assert "ConnectError" in runs[fleet.urls["auth-service"]].errors[0]
                assert runs[fleet.urls["api-gateway"]].status == "ok"
            fleet._reconcile()
    with engine.connect() as conn:
        auth = queries.service_metrics(conn, T0, T0 + 800, services=["auth-service"])
        gateway = queries.service_metrics(conn, T0, T0 + 800, services=["api-gateway"])
    minutes = {int(t.timestamp()) for t in auth["ts"]}
    assert not any(T0 + 120 <= m < T0 + 660 for m in minutes)  # the gap has no rows
    assert max(minutes) >= T0 + 720  # counting resumed after the restart
    assert len(gateway) == 13  # every whole minute from T0+60 to T0+780, untouched by the gap


def test_slos_pages_cannot_serve_are_listed():
    slos = load_slo_files(expand(["slos/*.yaml"]))
    reading = page_sli(next(s for s in slos if s.id == "payment-service-availability"))
    increases = {("http_requests_total", (("code", "200"),)): 990.0,
                 ("http_requests_total", (("code", "503"),)): 10.0}
    assert good_total(reading, increases, job="payment-service", instance="x") == (990.0, 1000.0)
    assert good_total(reading, increases, job="auth-service", instance="x") is None


def test_a_pyrra_latency_slo_reads_the_bucket_a_go_client_exposes():
    """Pyrra's `le="1"` is matched as written, as Prometheus matches it: a Go client's page
    says `le="1"`, so reading "1.0" (the threshold as prometheus_client prints it) found
    no good events and the SLI was all errors."""
    spec = """apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: checkout-latency, labels: {pyrra.dev/service: payment-service}}
spec:
  target: "99"
  window: 4w
  indicator:
    latency:
      success:
        metric: http_request_duration_seconds_bucket{job="payment-service",le="1"}
      total:
        metric: http_request_duration_seconds_count{job="payment-service"}
"""
    (slo,) = load_slos(spec, path="checkout.yaml")
    reading = page_sli(slo)
    # one minute of a Go client's page: 970 of 1,000 requests within a second
    increases = {("http_request_duration_seconds_bucket", (("le", "0.5"),)): 900.0,
                 ("http_request_duration_seconds_bucket", (("le", "1"),)): 970.0,
                 ("http_request_duration_seconds_bucket", (("le", "+Inf"),)): 1000.0,
                 ("http_request_duration_seconds_count", ()): 1000.0}
    assert good_total(reading, increases, job="payment-service", instance="x") == (970.0,
                                                                                   1000.0)


def test_a_scrape_runs_duration_counts_its_fetch(tmp_path):
    """A run lasts from its request: a page that takes 0.4 s to answer is a run of at
    least 0.4 s (it was created after the fetch and read "<1ms" on the Targets page)."""
    delay_s = 0.4

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay_s)
            body = b'http_requests_total{code="200"} 1\n'
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    try:
        target = Target("api-gateway", f"http://127.0.0.1:{server.server_port}/metrics")
        started = time.monotonic()
        runs = PageScraper(engine, [target]).scrape_once()
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()
    (run,) = [r for r in runs if r.target.endswith("/metrics")]
    assert delay_s <= run.duration_s <= elapsed


def test_a_collector_run_once_per_scrape_keeps_its_state_between_runs(tmp_path):
    """As a CronJob: a new process each round, the last scrapes kept in a state file."""
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    state = tmp_path / "scrape-state.json"
    with Fleet(list(PROFILES.values())[:1], clock=clock) as fleet:
        targets = [Target(s, u) for s, u in fleet.urls.items()]
        for i in range(13):
            clock.now = T0 + 5 + 15 * i
            PageScraper(engine, targets, clock=clock, state_path=state).scrape_once()
        with engine.connect() as conn:
            once = queries.service_metrics(conn, T0, T0 + 600)
        model = fleet.endpoint("api-gateway").simulator.load
    assert [int(t.timestamp()) for t in once["ts"]] == [T0 + 60, T0 + 120]
    assert once["requests"].sum() == pytest.approx(model.expected_requests(T0 + 60, T0 + 180),
                                                   rel=0.001)


@pytest.mark.servers
def test_postgresql_restarted_in_the_middle_of_a_write_loses_and_doubles_nothing(
        postgres_server, pg_url, tmp_path):
    import threading

    import sqlalchemy as sa

    clock = Clock(T0)
    engine = make_engine(pg_url)
    upgrade(engine)
    restarted = threading.Event()

    def restart_during_the_write(conn) -> None:
        if not restarted.is_set() and fleet_round[0] == 10:
            restarted.set()  # the minute rows are already sent: the transaction dies here
            postgres_server.restart(mode="immediate")

    with Fleet(list(PROFILES.values())[:2], clock=clock) as fleet:
        targets = [Target(s, u) for s, u in fleet.urls.items()]
        scraper = PageScraper(engine, targets, clock=clock)
        clean = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
        upgrade(clean)
        reference = PageScraper(clean, targets, clock=clock)  # the same rounds, no restart
        sa.event.listen(engine, "commit", restart_during_the_write)
        failed_rounds = 0
        fleet_round = [0]
        for i in range(25):
            fleet_round[0] = i
            clock.now = T0 + 5 + 15 * i
            runs = scraper.scrape_once()
            reference.scrape_once()
            failed_rounds += any(e.startswith("store:") for r in runs for e in r.errors)
        assert restarted.is_set() and failed_rounds == 1
    with engine.connect() as conn, reference.engine.connect() as ref:
        mine = queries.service_metrics(conn, T0, T0 + 600)
        theirs = queries.service_metrics(ref, T0, T0 + 600)
    assert len(mine) == len(theirs) == 2 * 5  # 5 whole minutes of 2 services, once each
    assert mine["requests"].tolist() == theirs["requests"].tolist()


def test_a_slow_target_times_out_alone_and_does_not_hold_the_round(tmp_path):
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)  # answers only when the test is over
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    slow = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    try:
        with Fleet(list(PROFILES.values())[:1], clock=clock) as fleet:
            slow_url = f"http://127.0.0.1:{slow.server_address[1]}/metrics"
            targets = [*(Target(s, u) for s, u in fleet.urls.items()),
                       Target("slow-service", slow_url)]
            scraper = PageScraper(engine, targets, clock=clock, timeout_s=0.5)
            started = time.monotonic()
            runs = {r.target: r for r in scraper.scrape_once()}
            took = time.monotonic() - started
    finally:
        release.set()
        slow.shutdown()
    assert runs[slow_url].status == "failed" and "Timeout" in runs[slow_url].errors[0]
    assert runs[fleet.urls["api-gateway"]].status == "ok"
    assert took < 2  # bounded by the per-target timeout, not by the slow target


def test_rows_wait_in_a_bounded_queue_while_the_store_refuses_and_a_loss_is_counted(tmp_path):
    """The store refuses every write (a table gone) for 40 rounds (10 minutes): the rows
    queue up to the bound, the oldest rounds are dropped and counted in a failed run, and
    what is left goes in with the first round after the store is back."""
    clock = Clock(T0)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)

    def hide(table: str, name: str) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {name}")

    with Fleet(list(PROFILES.values())[:1], clock=clock) as fleet:
        targets = [Target(s, u) for s, u in fleet.urls.items()]
        scraper = PageScraper(engine, targets, clock=clock, max_pending_rows=50)
        runs, high = [], 0
        for i in range(60):
            clock.now = T0 + 5 + 15 * i
            if i == 10:
                hide("service_minutes", "hidden")
            if i == 50:
                hide("hidden", "service_minutes")
            runs += scraper.scrape_once()
            high = max(high, scraper.pending_rows)
        assert scraper.pending_rows == 0
    refused = [r for r in runs if any(e.startswith("store:") for e in r.errors)]
    losses = [r for r in runs if r.target == "pending rows"]
    assert len(refused) == 38  # rounds 12-49: 10 and 11 complete no minute, write nothing
    assert high <= 50 and losses and all(r.status == "failed" for r in losses)
    dropped = sum(int(re.search(r"dropped ([\d,]+) rows", e).group(1).replace(",", ""))
                  for r in losses for e in r.errors)
    with engine.connect() as conn:
        kept = queries.service_metrics(conn, T0, T0 + 900)
        buckets = queries.latency_buckets(conn, T0, T0 + 900)
    minutes = {int(t.timestamp()) for t in kept["ts"]}
    # whole minutes T0+60 … T0+780 were completed (the last scrape is at T0+890); the oldest
    # ones the store refused, from T0+120 (completed in round 12) on, are missing, and
    # every one after them is kept
    completed = range(int(T0) + 60, int(T0) + 840, 60)
    lost = sorted(set(completed) - minutes)
    assert lost == list(range(int(T0) + 120, lost[-1] + 60, 60))
    assert minutes == set(completed) - set(lost)
    per_minute = 1 + len(buckets) // len(kept)  # a service row and its bucket rows
    assert dropped == len(lost) * per_minute


def test_a_minute_whose_figures_overflow_is_set_aside_and_named(tmp_path):
    """Two counters near the largest float each add up fine but not together: the minute's
    service row would say infinity, so it is not written, and the run says why."""
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    clock = Clock(T0 + 60)

    def counters(value: float) -> str:
        return ("# TYPE http_requests_total counter\n"
                f'http_requests_total{{code="200"}} {value!r}\n'
                f'http_requests_total{{code="201"}} {value!r}\n')

    pages = {"metrics": counters(0.0)}
    with serving(pages) as base:
        scraper = PageScraper(engine, [Target("big", f"{base}/metrics")], clock=clock)
        scraper.scrape_once()
        clock.now, pages["metrics"] = T0 + 120, counters(1.7e308)
        (run,) = scraper.scrape_once()
    assert run.status == "partial"
    assert re.fullmatch(rf"{base}/metrics: 1 row\(s\) set aside, a figure is not a finite "
                        r"number; first: \(.+", run.errors[0])
    with engine.connect() as conn:
        assert queries.service_metrics(conn, T0, T0 + 600).empty
    engine.dispose()


def test_the_minute_being_counted_is_handed_over_summed_over_pods(tmp_path):
    """`in_progress`: per SLO, the good and total counted so far in the minute the pods are
    in, summed over pods, up to the older of their last scrapes (worked by hand)."""
    from slo.model import SLO, RequestRatio

    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    slo = SLO(service="pay", name="availability", objective=99.9, sli=RequestRatio(
        total_query='sum(rate(http_requests_total{job="pay"}[{{.window}}]))',
        error_query='sum(rate(http_requests_total{job="pay",code=~"5.."}[{{.window}}]))'))

    def counters(ok: float, failed: float) -> str:
        return ("# TYPE http_requests_total counter\n"
                f'http_requests_total{{code="200"}} {ok}\n'
                f'http_requests_total{{code="500"}} {failed}\n')

    start = T0 - T0 % 60 + 60  # a minute boundary
    clock = Clock(start)
    pages = {"a": counters(0, 0), "b": counters(0, 0)}
    with serving(pages) as base:
        scraper = PageScraper(engine, [Target("pay", f"{base}/a"), Target("pay", f"{base}/b")],
                              clock=clock, slos=[slo])
        scraper.scrape_once()
        assert scraper.in_progress() == {}  # nothing counted yet
        clock.now = start + 20  # 20 s into the minute: a counted 300 ok + 30 failed, b 90 + 10
        pages.update(a=counters(300, 30), b=counters(90, 10))
        scraper.scrape_once()
        (slug, current), = scraper.in_progress().items()
    assert slug == slo.id
    assert current == (start, 300 + 90, 300 + 30 + 90 + 10, start + 20)
    engine.dispose()
