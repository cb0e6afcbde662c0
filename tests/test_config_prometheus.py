"""sources.prometheus: Thanos / Mimir options (headers, params, delay, lookback, label),
credentials only by environment variable, errors naming file, line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from collectors.prometheus import PrometheusCollector
from collectors.scrape.names import ConfiguredNames
from services.config import EXAMPLE_CONFIG, load_settings
from services.errors import ConfigError
from services.store.engine import make_engine
from services.store.migrate import upgrade

COMPOSE = Path(__file__).resolve().parents[1] / "deploy" / "compose" / "apollo.yaml"


def store(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    return engine


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "apollo.yaml"
    path.write_text(text)
    return path


def test_the_defaults_are_the_collectors_own():
    cfg = load_settings(EXAMPLE_CONFIG).sources.prometheus
    assert (cfg.delay, cfg.lookback, cfg.label) == (timedelta(seconds=30),
                                                    timedelta(minutes=5), "job")
    assert (cfg.headers, cfg.headers_env, cfg.params) == ({}, {}, {})
    assert cfg.request_headers() == {}


def test_thanos_and_mimir_options_are_read(tmp_path, monkeypatch):
    path = write(tmp_path, """
sources:
  prometheus:
    url: http://mimir:8080/prometheus
    delay: 2m
    lookback: 10m
    label: service
    headers: {X-Scope-OrgID: tenant-a}
    headers_env: {Authorization: MIMIR_AUTHORIZATION}
    params: {dedup: true, partial_response: false, max_source_resolution: 0s,
             "replicaLabels[]": replica}
""")
    cfg = load_settings(path).sources.prometheus
    assert (cfg.delay, cfg.lookback, cfg.label) == (timedelta(minutes=2),
                                                    timedelta(minutes=10), "service")
    # YAML booleans are sent as the API writes them
    assert cfg.params == {"dedup": "true", "partial_response": "false",
                          "max_source_resolution": "0s", "replicaLabels[]": "replica"}
    assert cfg.secret_names() == ["MIMIR_AUTHORIZATION"]
    monkeypatch.setenv("MIMIR_AUTHORIZATION", "Bearer abc")
    assert cfg.request_headers() == {"X-Scope-OrgID": "tenant-a", "Authorization": "Bearer abc"}


def test_the_environment_sets_them_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("APOLLO_SOURCES__PROMETHEUS__HEADERS", '{"X-Scope-OrgID": "t-9"}')
    monkeypatch.setenv("APOLLO_SOURCES__PROMETHEUS__DELAY", "1m")
    cfg = load_settings(write(tmp_path, "sources: {prometheus: {url: 'http://p:9090'}}\n")
                        ).sources.prometheus
    assert (cfg.headers, cfg.delay) == ({"X-Scope-OrgID": "t-9"}, timedelta(minutes=1))


def test_a_header_from_an_unset_variable_or_with_a_line_break_is_refused(tmp_path,
                                                                         monkeypatch):
    cfg = load_settings(write(tmp_path, "sources:\n  prometheus:\n    headers_env: "
                              "{Authorization: PROM_TOKEN}\n")).sources.prometheus
    with pytest.raises(ConfigError, match=r"headers_env\.Authorization: the environment "
                                          r"variable PROM_TOKEN is not set"):
        cfg.request_headers()
    monkeypatch.setenv("PROM_TOKEN", "Bearer a\r\nX-Evil: 1")
    with pytest.raises(ConfigError, match="PROM_TOKEN holds a line break"):
        cfg.request_headers()


@pytest.mark.parametrize(("text", "line", "field", "expected"), [
    pytest.param("    headers: {Authorization: Bearer hunter2}\n", 4,
                 "sources.prometheus.headers",
                 "header 'Authorization' carries a secret: name the environment variable "
                 "holding its value in headers_env", id="a credential written in the file"),
    pytest.param("    headers: {X-Api-Key: hunter2}\n", 4, "sources.prometheus.headers",
                 "carries a secret", id="an API key header"),
    pytest.param("    headers: {\"X Scope\": a}\n", 4,
                 "sources.prometheus.headers.X Scope.[key]", "String should match pattern",
                 id="a header name that is not a token"),
    pytest.param("    headers: {X-Scope-OrgID: \"a\\r\\nX-Other: b\"}\n", 4,
                 "sources.prometheus.headers.X-Scope-OrgID", "String should match pattern",
                 id="a header value that smuggles another header"),
    pytest.param("    headers: {Host: other}\n", 4, "sources.prometheus.headers",
                 "header 'Host' is set by the HTTP client itself", id="a transport header"),
    pytest.param("    headers_env: {Authorization: not-a-variable}\n", 4,
                 "sources.prometheus.headers_env.Authorization", "String should match pattern",
                 id="a variable name that is not one"),
    pytest.param("    headers: {X-Scope-OrgID: a}\n    headers_env: {x-scope-orgid: B}\n", 3,
                 "sources.prometheus", "header(s) x-scope-orgid set in both headers and "
                 "headers_env", id="one header twice"),
    pytest.param("    params: {timeout: 1s}\n", 4, "sources.prometheus.params",
                 "parameter 'timeout' is set by the collector on every query",
                 id="a parameter the collector sets"),
    pytest.param("    params: {query: up}\n", 4, "sources.prometheus.params",
                 "parameter 'query' is set by the collector", id="the query itself"),
    pytest.param("    params: {access_token: hunter2}\n", 4, "sources.prometheus.params",
                 "parameter 'access_token' looks like a credential",
                 id="a credential as a parameter"),
    pytest.param("    delay: -1s\n", 4, "sources.prometheus.delay",
                 "expected a duration such as '30s'", id="a negative delay"),
    pytest.param("    lookback: 90s\n", 4, "sources.prometheus.lookback",
                 "must be a whole number of minutes, at least 1m (got '90s')",
                 id="a lookback in part of a minute"),
    pytest.param("    lookback: 30s\n", 4, "sources.prometheus.lookback",
                 "must be a whole number of minutes, at least 1m", id="less than a minute"),
    pytest.param("    interval: 10m\n    lookback: 5m\n", 3, "sources.prometheus",
                 "lookback 5m is shorter than interval 10m: the minutes between runs would "
                 "never be read", id="runs further apart than the lookback"),
    pytest.param("    label: le\n", 4, "sources.prometheus.label", "'le' holds histogram "
                 "bucket bounds", id="the bucket label"),
    pytest.param("    label: a-b\n", 4, "sources.prometheus.label",
                 "String should match pattern", id="not a label name"),
    pytest.param("    lookbak: 5m\n", 4, "sources.prometheus.lookbak", "unknown field",
                 id="a typo"),
])
def test_a_wrong_prometheus_source_names_file_line_and_field(tmp_path, text, line, field,
                                                            expected):
    path = write(tmp_path, "# Thanos\nsources:\n  prometheus:\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert expected in message, message
    assert "hunter2" not in message


def test_the_collector_gets_what_the_settings_say(tmp_path, monkeypatch):
    """`from_settings`: the names of each service, the label, delay, lookback, the headers
    (one from the environment) and the parameters, without a request sent."""
    path = write(tmp_path, """
services:
  - {slug: shop, name: Shop, metrics: {requests: shop_orders_total, status_label: result},
     cpu_limit_cores: 2}
  - {slug: web, name: Web}
sources:
  prometheus:
    url: http://127.0.0.1:9/prometheus
    delay: 0s
    lookback: 3m
    label: service
    headers: {X-Scope-OrgID: tenant-a}
    headers_env: {Authorization: PROM_TOKEN}
    params: {dedup: true}
""")
    monkeypatch.setenv("PROM_TOKEN", "Bearer abc")
    settings = load_settings(path)
    collector = PrometheusCollector.from_settings(settings, store(tmp_path), chunk_minutes=7)
    assert collector.names == {"shop": ConfiguredNames(requests="shop_orders_total",
                                                       status_label="result",
                                                       cpu_limit_cores=2.0),
                               "web": ConfiguredNames()}
    assert (collector.label, collector.delay_s, collector.lookback, collector.chunk_minutes) == (
        "service", 0.0, timedelta(minutes=3), 7)
    assert collector.complete_minutes(now=6000) == (6000 - 180, 6000)
    assert 'shop_orders_total{service=~"shop",result=~"5.."}' in collector.queries["errors"]
    assert collector.source.client.headers == {"X-Scope-OrgID": "tenant-a",
                                               "Authorization": "Bearer abc"}
    assert collector.source.params == {"dedup": "true"}
    assert collector.source.timeout_s == settings.sources.prometheus.timeout.total_seconds()
    assert list(collector.service_ids) == ["shop", "web"]


def test_the_collector_needs_a_url(tmp_path):
    settings = load_settings(EXAMPLE_CONFIG)
    with pytest.raises(ConfigError, match=r"sources\.prometheus\.url is not set"):
        PrometheusCollector.from_settings(settings, store(tmp_path))


def test_the_compose_configuration_reads_its_api_through_prometheus_by_its_names():
    settings = load_settings(COMPOSE)
    cfg = settings.sources.prometheus
    assert cfg.url == "http://prometheus:9090" and cfg.lookback >= cfg.interval
    [api] = settings.services
    assert (api.metrics.requests, api.metrics.status_label) == ("apollo_api_requests_total",
                                                                "status")
