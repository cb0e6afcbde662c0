"""Page metric names per service: recognised from what a page exposes (prometheus_client, Go
client, Micrometer) or named in the configuration, and a minute's service figures read with
them.

The pages are in tests/data/pages/clients (SOURCE.md says where each format comes from): two
scrapes of each client 60 s apart. Every expected figure is the difference between the two
files, worked out by hand in the comments.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support import PROFILES, T0, Clock, serving

from collectors.scrape import PageScraper, Target
from collectors.scrape.increases import MinuteValues, TargetIncreases
from collectors.scrape.names import (
    ConfiguredNames,
    MetricNames,
    ServiceValues,
    names_by_service,
    service_values,
)
from collectors.scrape.parse import Page, parse_page
from collectors.scrape.scraper import bucket_rows
from services.config import load_settings
from services.errors import ConfigError
from services.fleet.simulator import ServiceSimulator, metrics_page

PAGES = Path(__file__).parent / "data" / "pages"
CLIENTS = PAGES / "clients"


def page(name: str) -> Page:
    parsed = parse_page((CLIENTS / name).read_text(encoding="utf-8"))
    assert parsed.bad_lines == []
    return parsed


def one_minute(client: str) -> MinuteValues:
    """Minute T0 of a target scraped at T0 (`-1.prom`) and T0+60 (`-2.prom`)."""
    state = TargetIncreases()
    assert state.observe(T0, page(f"{client}-1.prom")) == []
    (minute,) = state.observe(T0 + 60, page(f"{client}-2.prom"))
    return minute


# --- names recognised from the page ------------------------------------------------------------


@pytest.mark.parametrize(("client", "expected"), [
    pytest.param("python-prometheus-client", MetricNames(
        "http_requests_total", "status", "http_request_duration_seconds",
        "process_cpu_seconds_total", "process_resident_memory_bytes"), id="prometheus_client"),
    pytest.param("go-client_golang", MetricNames(
        "http_requests_total", "code", "http_request_duration_seconds",
        "process_cpu_seconds_total", "process_resident_memory_bytes"), id="Go client"),
    pytest.param("micrometer", MetricNames(
        "http_server_requests_seconds_count", "status", "http_server_requests_seconds",
        "process_cpu_usage", "jvm_memory_used_bytes"), id="Micrometer"),
])
def test_names_are_recognised_from_what_the_page_exposes(client, expected):
    assert ConfiguredNames().resolve(page(f"{client}-1.prom")) == expected


def test_the_demo_fleets_page_keeps_the_names_it_always_had():
    fleet_page = parse_page(metrics_page(ServiceSimulator(PROFILES["api-gateway"], seed=1,
                                                          start=T0), T0 + 60).decode())
    assert ConfiguredNames().resolve(fleet_page) == MetricNames()


def test_a_page_without_cpu_or_memory_metrics_has_no_such_figures():
    names = ConfiguredNames(cpu="container_cpu_usage_seconds_total").resolve(
        parse_page("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1\n"))
    assert (names.cpu, names.memory) == ("", "")
    minute = MinuteValues(0, {("http_requests_total", (("code", "200"),)): 5.0}, {})
    assert service_values(minute, names) == ServiceValues(5.0, 0.0, 0.0, 0.0, None, None)


# --- a minute of each client -------------------------------------------------------------------

MIB = 2**20


@pytest.mark.parametrize(("client", "expected"), [
    # requests 2xx GET /items 100->400, 5xx POST /items 5->17, 2xx GET /health 10->16;
    # latency: 300 x 0.05 s + 12 x 0.75 s + 6 x 0.002 s; CPU 12.34 -> 42.34 s in 60 s;
    # memory: the first scrape's 25,600 resident pages of 4 KiB (the only scrape in minute T0)
    pytest.param("python-prometheus-client",
                 ServiceValues(300 + 12 + 6, 12, 15 + 9 + 0.012, 318, 30 / 60, 100 * MIB),
                 id="prometheus_client"),
    # 200 GET 5000->5600, 404 GET 20->26 (not a server error), 200 POST 800->900,
    # 503 POST 7->10; histogram count 5820->6529, sum 290.1->325.55; CPU 120.5 -> 210.5 s
    pytest.param("go-client_golang",
                 ServiceValues(600 + 6 + 100 + 3, 3, 35.45, 709, 90 / 60, 50 * MIB),
                 id="Go client"),
    # counts GET /orders 1000->1300, POST 500 10->16, GET /actuator/prometheus 4->8;
    # sums 25.5->33.0, 4.0->6.1, 0.2->0.4; process_cpu_usage 0.125 at T0; the JVM's six
    # memory pools: 4 + 50 + 40 + 1.25 + 24 + 5 MiB
    pytest.param("micrometer",
                 ServiceValues(300 + 6 + 4, 6, 7.5 + 2.1 + 0.2, 310, 0.125,
                               (4 + 50 + 40 + 1.25 + 24 + 5) * MIB),
                 id="Micrometer"),
])
def test_a_minute_of_each_client_reads_the_same_figures(client, expected):
    got = service_values(one_minute(client), ConfiguredNames().resolve(page(f"{client}-1.prom")))
    assert vars(got) == pytest.approx(vars(expected), rel=1e-9)


@pytest.mark.parametrize(("client", "limit", "ratio"), [
    pytest.param("python-prometheus-client", 2.0, 0.5 / 2, id="0.5 cores of 2"),
    pytest.param("go-client_golang", 0.5, 1.5 / 0.5, id="1.5 cores of half a core: over"),
    pytest.param("python-prometheus-client", None, 0.5, id="no limit: cores of one core"),
    pytest.param("micrometer", 2.0, 0.125, id="Micrometer's ratio gauge kept as it is"),
])
def test_cpu_from_a_seconds_counter_is_a_share_of_the_configured_limit(client, limit, ratio):
    names = ConfiguredNames(cpu_limit_cores=limit).resolve(page(f"{client}-1.prom"))
    assert service_values(one_minute(client), names).cpu_ratio == pytest.approx(ratio)


@pytest.mark.parametrize(("client", "buckets"), [
    # client_golang writes whole bounds without ".0" (le="1"); cumulative increases
    pytest.param("go-client_golang", {0.005: 10, 0.01: 50, 0.025: 200, 0.05: 400, 0.1: 650,
                                      0.25: 700, 0.5: 705, 1: 709, 2.5: 709, 5: 709, 10: 709,
                                      math.inf: 709}, id="Go client"),
    # the three series summed: 240+0+4, 290+0+4, 300+3+4, 300+5+4, 300+6+4
    pytest.param("micrometer", {0.05: 244, 0.1: 294, 0.5: 307, 1.0: 309, math.inf: 310},
                 id="Micrometer"),
])
def test_latency_buckets_come_from_the_recognised_histogram(client, buckets):
    names = ConfiguredNames().resolve(page(f"{client}-1.prom"))
    rows = bucket_rows(one_minute(client), 1, names, "pod-1")
    assert {row[2]: row[3] for row in rows} == pytest.approx(buckets)


# --- names from the configuration --------------------------------------------------------------


def test_configured_names_win_and_the_rest_is_recognised():
    """Prometheus's own page (client_golang) names its HTTP metrics with a prefix."""
    own = parse_page((PAGES / "prometheus-2.42-self.prom").read_text(encoding="utf-8"))
    configured = ConfiguredNames(requests="prometheus_http_requests_total",
                                 latency="prometheus_http_request_duration_seconds")
    assert configured.resolve(own) == MetricNames(
        "prometheus_http_requests_total", "code", "prometheus_http_request_duration_seconds",
        "process_cpu_seconds_total", "process_resident_memory_bytes")
    assert ConfiguredNames(status_label="handler", memory="go_memstats_sys_bytes").resolve(
        own).status_label == "handler"


CONFIG = """\
services:
  - slug: shop-python
    name: Shop (Python)
    cpu_limit_cores: 2
  - slug: shop-go
    name: Shop (Go)
    metrics: {cpu: process_cpu_seconds_total, status_label: code}
  - slug: shop-java
    name: Shop (Java)
    metrics:
      requests: http_server_requests_seconds_count
      latency: http_server_requests_seconds
      memory: jvm_memory_used_bytes
"""


def test_the_configuration_names_metrics_per_service(tmp_path):
    (tmp_path / "apollo.yaml").write_text(CONFIG)
    names = names_by_service(load_settings(tmp_path / "apollo.yaml").services)
    assert names == {
        "shop-python": ConfiguredNames(cpu_limit_cores=2.0),
        "shop-go": ConfiguredNames(cpu="process_cpu_seconds_total", status_label="code"),
        "shop-java": ConfiguredNames(requests="http_server_requests_seconds_count",
                                     latency="http_server_requests_seconds",
                                     memory="jvm_memory_used_bytes"),
    }


@pytest.mark.parametrize(("old", "new", "fragment"), [
    pytest.param("memory: jvm_memory_used_bytes", "memory: jvm memory",
                 "services[2].metrics.memory: String should match pattern",
                 id="a name that is not a metric name"),
    pytest.param("latency: http_server_requests_seconds",
                 "latency: http_server_requests_seconds_bucket",
                 "services[2].metrics.latency: give the histogram's base name, without the "
                 "'bucket' suffix", id="a histogram's bucket series"),
    pytest.param("memory: jvm_memory_used_bytes", "rss: jvm_memory_used_bytes",
                 "services[2].metrics.rss: unknown field", id="an unknown name"),
    pytest.param("cpu_limit_cores: 2", "cpu_limit_cores: 0",
                 "services[0].cpu_limit_cores: Input should be greater than 0", id="no CPU"),
])
def test_a_bad_metrics_section_is_refused_saying_where(tmp_path, old, new, fragment):
    (tmp_path / "apollo.yaml").write_text(CONFIG.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "apollo.yaml")
    assert fragment in str(info.value)


# --- end to end: real pages on loopback, scraped into the store --------------------------------


def test_three_clients_scraped_side_by_side_store_their_own_figures(tmp_path):
    from services.store import queries
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    (tmp_path / "apollo.yaml").write_text(CONFIG)
    settings = load_settings(tmp_path / "apollo.yaml")
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    clients = {"shop-python": "python-prometheus-client", "shop-go": "go-client_golang",
               "shop-java": "micrometer"}
    pages = {slug: (CLIENTS / f"{client}-1.prom").read_text() for slug, client in
             clients.items()}
    clock = Clock(T0)
    with serving(pages) as base:
        scraper = PageScraper(engine, [Target(slug, f"{base}/{slug}") for slug in clients],
                              names=names_by_service(settings.services), clock=clock)
        scraper.scrape_once()
        for slug, client in clients.items():
            pages[slug] = (CLIENTS / f"{client}-2.prom").read_text()
        clock.now = T0 + 60
        assert all(run.status == "ok" for run in scraper.scrape_once())
    with engine.connect() as conn:
        rows = queries.service_metrics(conn, T0, T0 + 60)
    engine.dispose()
    got = {service: (requests, errors, cpu, memory) for service, requests, errors, cpu, memory
           in zip(rows["service"], rows["requests"], rows["errors"], rows["cpu_ratio"],
                  rows["memory_bytes"], strict=True)}
    expected = {
        "shop-python": (318, 12, 0.5 / 2, 100 * MIB),  # 0.5 cores of its 2
        "shop-go": (709, 3, 1.5, 50 * MIB),  # no limit: 1.5 cores read as 1.5
        "shop-java": (310, 6, 0.125, 124.25 * MIB),
    }
    assert got.keys() == expected.keys()
    for service, figures in expected.items():
        assert got[service] == pytest.approx(figures), service
