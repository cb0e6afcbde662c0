"""The Prometheus collector as `sources.prometheus` and `services[].metrics` configure it,
against a real Prometheus 2.42 scraping a loopback target, with no mocks.

The target serves two services whose metrics are not the demo fleet's:

- `orders` names its own (`metrics:` in the settings) and also serves the default names
  with other values, as decoys that must not be read;
- `ledger` names none and serves Micrometer's names (plus a decoy CPU counter after the
  gauge the page scraper would pick), which must be recognised in the scraper's order.

Every sample is served with an explicit timestamp on a line through the origin (counters:
slope × seconds; gauges: constant). The target starts two minutes in the past and moves at
most 15 s per scrape, never past the next minute boundary, so every minute boundary is served
exactly: `increase(X[1m])` at `m + 60` is then value(m + 60) - value(m) with no estimate
involved, and the two past minutes are complete within seconds instead of a minute's wait.
Expected figures are worked out here from the values the target recorded serving, for the
metric names the page scraper resolves from the served page.

A recording proxy in front of the same Prometheus shows what the collector sends: the
configured headers (one from the environment) and query parameters on every request, and
the range the configured delay and lookback select; Prometheus answers them alike.
"""

from __future__ import annotations

import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from harness import wait_until
from support import Answer, loopback_http

from collectors.prometheus import PrometheusCollector
from collectors.scrape.names import MetricNames, names_by_service
from collectors.scrape.parse import Labels, parse_page
from services.config import load_settings
from services.errors import ConfigError
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import LatencyBucketMinute, Service, ServiceMinute

pytestmark = pytest.mark.servers

STEP_S = 15  # the most the served time moves per scrape while it catches up
PAST_MINUTES = 2  # the minutes served from the past: [START, START + 120)
ORDERS_METRICS = {"requests": "orders_handled_total", "status_label": "result",
                  "latency": "orders_latency_seconds", "cpu": "orders_cpu_seconds_total",
                  "memory": "orders_heap_bytes"}
ORDERS_CPU_LIMIT = 2.0
TOKEN_VARIABLE = "PROMETHEUS_TEST_AUTHORIZATION"


# --- the target -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series: value(t) = level + slope × (t - origin)."""

    name: str
    labels: Labels = ()
    slope: float = 0.0  # per second: counters
    level: float = 0.0  # gauges

    def at(self, t: int, origin: int) -> float:
        return self.level + self.slope * (t - origin)


def counter(name: str, slope: float, **labels: str) -> Series:
    return Series(name, tuple(sorted(labels.items())), slope=slope)


def gauge(name: str, level: float, **labels: str) -> Series:
    return Series(name, tuple(sorted(labels.items())), level=level)


def histogram(base: str, buckets: dict[str, float], seconds_per_s: float, **labels: str
              ) -> list[Series]:
    """A histogram's series; `buckets` are cumulative slopes by `le`, +Inf last."""
    return [*(counter(f"{base}_bucket", slope, le=le, **labels) for le, slope in buckets.items()),
            counter(f"{base}_count", buckets["+Inf"], **labels),
            counter(f"{base}_sum", seconds_per_s, **labels)]


PAGES: dict[str, tuple[dict[str, str], list[Series]]] = {
    "orders": (
        {"orders_handled_total": "counter", "orders_latency_seconds": "histogram",
         "orders_cpu_seconds_total": "counter", "orders_heap_bytes": "gauge",
         "http_requests_total": "counter", "process_cpu_usage": "gauge",
         "process_resident_memory_bytes": "gauge"},
        [counter("orders_handled_total", 50, result="200"),
         counter("orders_handled_total", 3, result="404"),
         counter("orders_handled_total", 2, result="500"),
         counter("orders_handled_total", 1, result="503"),
         *histogram("orders_latency_seconds", {"0.05": 30, "0.1": 50, "0.25": 55, "+Inf": 56},
                    3.5),
         counter("orders_cpu_seconds_total", 0.5),
         gauge("orders_heap_bytes", 1e8, pool="eden"),
         gauge("orders_heap_bytes", 3e8, pool="old"),
         # decoys under the default names: configured names must win over them
         counter("http_requests_total", 1000, code="200"),
         counter("http_requests_total", 100, code="500"),
         gauge("process_cpu_usage", 0.9),
         gauge("process_resident_memory_bytes", 123.0)],
    ),
    "ledger": (
        {"http_server_requests_seconds": "histogram", "process_cpu_usage": "gauge",
         "process_cpu_seconds_total": "counter", "jvm_memory_used_bytes": "gauge"},
        [*histogram("http_server_requests_seconds", {"0.1": 15, "0.5": 19, "+Inf": 20}, 2.0,
                    status="200", uri="/entries"),
         *histogram("http_server_requests_seconds", {"0.1": 0, "0.5": 0.5, "+Inf": 1}, 0.25,
                    status="500", uri="/entries"),
         gauge("process_cpu_usage", 0.125),
         counter("process_cpu_seconds_total", 3),  # after the gauge in the scraper's order
         gauge("jvm_memory_used_bytes", 5e7, area="heap", id="eden"),
         gauge("jvm_memory_used_bytes", 2.5e7, area="nonheap", id="metaspace")],
    ),
}


def exposition(types: dict[str, str], series: list[Series], t: int, origin: int) -> str:
    """The text format, every sample stamped `t` (milliseconds on the wire)."""
    lines, typed = [], set()
    for s in series:
        family = next((f for f in types if s.name == f or (
            types[f] == "histogram" and s.name in (f"{f}_bucket", f"{f}_count", f"{f}_sum"))),
            s.name)
        if family not in typed:
            typed.add(family)
            lines.append(f"# TYPE {family} {types.get(family, 'untyped')}")
        labels = ",".join(f'{k}="{v}"' for k, v in s.labels)
        lines.append(f"{s.name}{{{labels}}} {s.at(t, origin)!r} {t * 1000}")
    return "\n".join(lines) + "\n"


class Target:
    """Serves PAGES at /<service>; records every (time, values) it served per page."""

    def __init__(self, start: int) -> None:
        self.start, self.origin = start, start - 3600
        self.cursor: dict[str, int] = {}
        self.served: dict[str, dict[int, dict[tuple[str, Labels], float]]] = {
            slug: {} for slug in PAGES}
        self.text: dict[str, str] = {}
        self.lock = threading.Lock()
        self.address = ""  # host:port, once entered
        self._server = ExitStack()

    def _answer(self, request: BaseHTTPRequestHandler) -> Answer | None:
        slug = request.path.strip("/")
        if slug not in PAGES:
            return None
        return 200, "text/plain; version=0.0.4", self.scrape(slug).encode()

    def scrape(self, slug: str) -> str:
        """The next instant: START first, then up to STEP_S on, never past the next minute
        boundary or now; the same instant again (the same values) when caught up."""
        with self.lock:
            last = self.cursor.get(slug)
            if last is None:
                t = self.start
            else:
                boundary = (last // 60 + 1) * 60
                t = max(last, min(last + STEP_S, boundary, int(time.time())))
            self.cursor[slug] = t
            types, series = PAGES[slug]
            self.served[slug][t] = {(s.name, s.labels): s.at(t, self.origin) for s in series}
            self.text[slug] = exposition(types, series, t, self.origin)
            return self.text[slug]

    def increase(self, slug: str, name: str, minute: int, **match: str) -> float:
        """By hand: the served values at the minute's end minus those at its start, summed
        over the series of `name` whose labels include `match`."""
        start, end = self.served[slug][minute], self.served[slug][minute + 60]
        return sum(end[key] - start[key] for key in end
                   if key[0] == name and match.items() <= dict(key[1]).items())

    def level(self, slug: str, name: str, minute: int) -> float:
        """A gauge's series summed, as served at the minute's start (they are constant)."""
        return sum(v for (n, _), v in self.served[slug][minute].items() if n == name)

    def __enter__(self) -> Target:
        url = self._server.enter_context(loopback_http(self._answer))
        self.address = url.removeprefix("http://")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()


# --- the recording proxy ----------------------------------------------------------------------


@dataclass
class Recorded:
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased


@dataclass
class Proxy:
    """Forwards every GET to `upstream` and records it; loopback only, no proxies."""

    upstream: str
    requests: list[Recorded] = field(default_factory=list)
    _opener: urllib.request.OpenerDirector = field(  # no proxies from the environment
        default_factory=lambda: urllib.request.build_opener(urllib.request.ProxyHandler({})))

    def __enter__(self) -> Proxy:
        self._server = ExitStack()
        self.url = self._server.enter_context(loopback_http(self._forward))
        return self

    def _forward(self, request: BaseHTTPRequestHandler) -> Answer:
        url = urllib.parse.urlsplit(request.path)
        self.requests.append(Recorded(
            url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True),
            {k.lower(): v for k, v in request.headers.items()}))
        try:
            with self._opener.open(self.upstream + request.path, timeout=30) as answer:
                return answer.status, "application/json", answer.read()
        except urllib.error.HTTPError as error:
            return error.code, "application/json", error.read()

    def __exit__(self, *exc: object) -> None:
        self._server.close()


# --- fixtures ---------------------------------------------------------------------------------


@dataclass
class Stack:
    target: Target
    prometheus: object  # harness PrometheusProcess
    start: int  # START: the first of the PAST_MINUTES complete minutes


@pytest.fixture(scope="module")
def stack(prometheus_factory) -> Iterator[Stack]:
    start = (int(time.time()) // 60 - PAST_MINUTES) * 60
    end = start + 60 * PAST_MINUTES
    with Target(start) as target:
        jobs = [{"job_name": slug, "scrape_interval": "1s", "metrics_path": f"/{slug}",
                 "static_configs": [{"targets": [target.address]}]} for slug in PAGES]
        prometheus = prometheus_factory(scrape_configs=jobs)
        prometheus.wait_for_targets_up(len(jobs), timeout=30)

        def stored_to_the_end() -> bool:  # both pages served END and Prometheus holds it
            result = prometheus.query('max by (job) (timestamp({__name__=~'
                                      '"orders_handled_total|process_cpu_usage"}))')["result"]
            seen = {r["metric"].get("job"): float(r["value"][1]) for r in result}
            return all(seen.get(slug, 0) >= end for slug in PAGES)

        assert wait_until(stored_to_the_end, 60), (target.cursor, prometheus.log_tail())
        yield Stack(target, prometheus, start)


def settings_file(tmp_path: Path, url: str, **prometheus: object) -> Path:
    config = {
        "data_dir": str(tmp_path / "var"),
        "services": [
            {"slug": "orders", "name": "Orders", "metrics": ORDERS_METRICS,
             "cpu_limit_cores": ORDERS_CPU_LIMIT},
            {"slug": "ledger", "name": "Ledger"},
        ],
        "sources": {"prometheus": {"url": url, **prometheus}},
    }
    path = tmp_path / "apollo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def store(path: Path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def service_minutes(engine) -> dict[tuple[str, int], dict]:
    t, s = ServiceMinute.__table__, Service.__table__
    query = sa.select(s.c.slug, t).join(s, s.c.id == t.c.service_id)
    with engine.connect() as conn:
        return {(r.slug, r.minute): r._asdict() for r in conn.execute(query)}


def bucket_minutes(engine) -> dict[tuple[str, int, float], float]:
    t, s = LatencyBucketMinute.__table__, Service.__table__
    query = sa.select(s.c.slug, t.c.minute, t.c.le, t.c.count).join(
        s, s.c.id == t.c.service_id)
    with engine.connect() as conn:
        return {(r.slug, r.minute, r.le): r.count for r in conn.execute(query)}


def page_scraper_names(stack: Stack, settings) -> dict[str, MetricNames]:
    """The names the page scraper reads each served page with (its own resolution)."""
    configured = names_by_service(settings.services)
    return {slug: configured[slug].resolve(parse_page(stack.target.text[slug]))
            for slug in PAGES}


def expected_row(stack: Stack, slug: str, names: MetricNames, minute: int) -> dict:
    """One service minute worked out from the served values."""
    target = stack.target
    requests = target.increase(slug, names.requests, minute)
    errors = sum(target.increase(slug, names.requests, minute, **{names.status_label: code})
                 for code in ("500", "503"))
    if names.cpu_is_seconds:
        cpu = target.increase(slug, names.cpu, minute) / 60 / (names.cpu_limit_cores or 1.0)
    else:
        cpu = target.level(slug, names.cpu, minute)
    return {"requests": requests, "errors": errors,
            "latency_sum": target.increase(slug, f"{names.latency}_sum", minute),
            "latency_count": target.increase(slug, f"{names.latency}_count", minute),
            "cpu_ratio": cpu, "memory_bytes": target.level(slug, names.memory, minute)}


# --- tests ------------------------------------------------------------------------------------


def test_the_page_scraper_resolves_the_names_the_test_expects(stack, tmp_path):
    """The expectations below use the page scraper's own reading of the served pages."""
    settings = load_settings(settings_file(tmp_path, stack.prometheus.url))
    names = page_scraper_names(stack, settings)
    assert names["orders"] == MetricNames(**ORDERS_METRICS, cpu_limit_cores=ORDERS_CPU_LIMIT)
    assert names["ledger"] == MetricNames(
        requests="http_server_requests_seconds_count", status_label="status",
        latency="http_server_requests_seconds", cpu="process_cpu_usage",
        memory="jvm_memory_used_bytes")


def test_configured_and_recognised_names_are_read_through_prometheus(stack, tmp_path):
    settings = load_settings(settings_file(tmp_path, stack.prometheus.url, delay="0s"))
    engine = store(tmp_path / "apollo.db")
    collector = PrometheusCollector.from_settings(settings, engine)
    end = stack.start + 60 * PAST_MINUTES
    run = collector.backfill(stack.start, end)
    assert (run.status, run.errors, run.gaps) == ("ok", [], [])

    names = page_scraper_names(stack, settings)
    rows, buckets = service_minutes(engine), bucket_minutes(engine)
    minutes = range(stack.start, end, 60)
    assert set(rows) == {(slug, m) for slug in PAGES for m in minutes}
    for slug in PAGES:
        for m in minutes:
            row = rows[(slug, m)]
            want = expected_row(stack, slug, names[slug], m)
            assert {k: row[k] for k in want} == pytest.approx(want, rel=1e-9), (slug, m)
            assert row["requests"] > 0 and row["errors"] > 0
            for le in {dict(labels)["le"] for (name, labels) in stack.target.served[slug][m]
                       if name == f"{names[slug].latency}_bucket"}:
                count = stack.target.increase(slug, f"{names[slug].latency}_bucket", m, le=le)
                assert buckets[(slug, m, float(le))] == pytest.approx(count, rel=1e-9)
    # the decoys under default names were not read: they would give other figures
    decoy = stack.target.increase("orders", "http_requests_total", stack.start)
    assert rows[("orders", stack.start)]["requests"] != pytest.approx(decoy)
    assert math.isclose(rows[("orders", stack.start)]["cpu_ratio"], 0.5 / ORDERS_CPU_LIMIT)


def test_headers_params_delay_and_lookback_from_the_settings_reach_prometheus(
        stack, tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_VARIABLE, "Bearer s3cret-token")
    params = {"dedup": True, "partial_response": False, "max_source_resolution": "0s"}
    with Proxy(stack.prometheus.url) as proxy:
        settings = load_settings(settings_file(
            tmp_path, proxy.url, delay="90s", lookback="2m", params=params,
            headers={"X-Scope-OrgID": "tenant-a"},
            headers_env={"Authorization": TOKEN_VARIABLE}))
        engine = store(tmp_path / "proxied.db")
        collector = PrometheusCollector.from_settings(settings, engine)
        # a run at END + 90 s + 5 s: the last 2 minutes that ended 90 s ago are [START, END)
        end = stack.start + 60 * PAST_MINUTES
        run = collector.collect(now=end + 90 + 5)
    assert (run.status, run.errors, run.gaps) == ("ok", [], [])
    asked = [r for r in proxy.requests if r.path == "/api/v1/query_range"]
    assert len(asked) == len(collector.queries)
    for request in asked:
        assert request.headers["x-scope-orgid"] == "tenant-a"
        assert request.headers["authorization"] == "Bearer s3cret-token"
        assert {k: request.params[k] for k in params} == {
            "dedup": ["true"], "partial_response": ["false"], "max_source_resolution": ["0s"]}
        # evaluated at the ends of the minutes [START, END): START + 60 … END
        assert (request.params["start"], request.params["end"], request.params["step"]) == (
            [str(stack.start + 60)], [str(end)], ["60"])
    assert "s3cret-token" not in " ".join(run.errors) + run.target

    # Prometheus ignores the Thanos parameters: the same rows as without the proxy
    direct = store(tmp_path / "direct.db")
    plain = load_settings(settings_file(tmp_path, stack.prometheus.url, delay="0s"))
    assert PrometheusCollector.from_settings(plain, direct).backfill(
        stack.start, end).status == "ok"
    assert service_minutes(engine) == service_minutes(direct)


def test_a_header_whose_variable_is_not_set_names_it(tmp_path):
    settings = load_settings(settings_file(
        tmp_path, "http://127.0.0.1:9", headers_env={"Authorization": TOKEN_VARIABLE}))
    with pytest.raises(ConfigError, match=f"headers_env.Authorization: the environment "
                                          f"variable {TOKEN_VARIABLE} is not set"):
        PrometheusCollector.from_settings(settings, store(tmp_path / "apollo.db"))


def test_the_collectors_prometheus_job_sends_the_configured_headers(stack, tmp_path,
                                                                    monkeypatch):
    """`apollo collect` builds its Prometheus job from the same settings (build_jobs)."""
    from services.runtime.jobs import build_jobs

    monkeypatch.setenv(TOKEN_VARIABLE, "Bearer job-token")
    with Proxy(stack.prometheus.url) as proxy:
        settings = load_settings(settings_file(
            tmp_path, proxy.url, headers={"X-Scope-OrgID": "tenant-b"},
            headers_env={"Authorization": TOKEN_VARIABLE}, params={"dedup": True}))
        jobs = {job.name: job for job in build_jobs(settings, store(tmp_path / "jobs.db"))}
        runs = jobs["prometheus"].run()
    assert [run.status for run in runs] == ["ok"], [run.errors for run in runs]
    asked = [r for r in proxy.requests if r.path == "/api/v1/query_range"]
    assert asked and all(r.headers["x-scope-orgid"] == "tenant-b"
                         and r.headers["authorization"] == "Bearer job-token"
                         and r.params["dedup"] == ["true"] for r in asked)


def test_config_check_names_a_header_variable_that_is_not_set(tmp_path, monkeypatch):
    from services.cli.db import secret_problems

    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    settings = load_settings(settings_file(
        tmp_path, "http://127.0.0.1:9", headers_env={"Authorization": TOKEN_VARIABLE}))
    assert secret_problems(settings) == [
        f"sources.prometheus.headers_env.Authorization: needs the environment variable "
        f"{TOKEN_VARIABLE}, which is not set"]
    monkeypatch.setenv(TOKEN_VARIABLE, "Bearer x")
    assert secret_problems(settings) == []
