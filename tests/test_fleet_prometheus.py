"""A real Prometheus 2.42 scrapes the running fleet; its own PromQL gives the seed's figures."""

from __future__ import annotations

import time

import pytest
from support import PROFILES

from services.fleet.model import daily_factor
from services.fleet.server import Fleet

pytestmark = pytest.mark.servers
WINDOW = "15s"


@pytest.fixture(scope="module")
def scraped_fleet(prometheus_factory):
    """The fleet on the real clock, scraped every second by a real Prometheus."""
    fleet = Fleet(list(PROFILES.values()), seed=11)
    with fleet:
        jobs = [
            {"job_name": slug, "scrape_interval": "1s",
             "static_configs": [{"targets": [url.removeprefix("http://").removesuffix(
                 "/metrics")]}]}
            for slug, url in fleet.urls.items()
        ]
        prometheus = prometheus_factory(scrape_configs=jobs)
        prometheus.wait_for_targets_up(len(jobs), timeout=30)
        time.sleep(17)  # a full rate window of scrapes after the first one
        yield fleet, prometheus


def instant(prometheus, expr: str) -> float:
    result = prometheus.query(expr)["result"]
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


@pytest.mark.parametrize("slug", list(PROFILES))
def test_histogram_quantile_reproduces_the_seed_p95(scraped_fleet, slug):
    _, prometheus = scraped_fleet
    p95 = instant(prometheus, "histogram_quantile(0.95, sum by (le) ("
                  f'rate(http_request_duration_seconds_bucket{{job="{slug}"}}[{WINDOW}])))')
    assert p95 == pytest.approx(PROFILES[slug].p95_ms / 1000, rel=0.10)


@pytest.mark.parametrize("slug", list(PROFILES))
def test_gauges_reproduce_the_seed_cpu_and_memory(scraped_fleet, slug):
    _, prometheus = scraped_fleet
    profile = PROFILES[slug]
    assert instant(prometheus, f'process_cpu_usage{{job="{slug}"}}') == pytest.approx(
        profile.cpu_ratio, rel=0.10)
    memory = instant(prometheus, f'process_resident_memory_bytes{{job="{slug}"}}')
    assert memory == pytest.approx(profile.memory_gib * 2**30, rel=0.10)


@pytest.mark.parametrize("slug", list(PROFILES))
def test_throughput_follows_the_seed_figure_on_the_daily_curve(scraped_fleet, slug):
    fleet, prometheus = scraped_fleet
    rate = instant(prometheus, f'sum(rate(http_requests_total{{job="{slug}"}}[{WINDOW}]))')
    expected = PROFILES[slug].throughput_rps * daily_factor(time.time(), fleet.endpoint(
        slug).simulator.amplitude)
    assert rate == pytest.approx(expected, rel=0.05)
