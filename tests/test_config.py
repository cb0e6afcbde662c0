"""Configuration: the bundled example, environment overrides, and errors that say where."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.config import EXAMPLE_CONFIG, load_settings
from services.errors import ConfigError

SEED_TABLE = {  # the platform overview's service table: p95 ms, req/s, CPU share, memory GiB
    "api-gateway": (12, 45_000, 0.34, 2.1),
    "auth-service": (8, 12_000, 0.28, 1.4),
    "user-service": (15, 8_000, 0.42, 3.2),
    "payment-service": (45, 2_000, 0.18, 1.8),
    "analytics-engine": (120, 500, 0.67, 8.4),
    "notification-hub": (25, 15_000, 0.31, 2.6),
    "database-cluster": (3, 100_000, 0.56, 16),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "apollo.yaml"
    path.write_text(text)
    return path


def test_the_example_describes_the_seed_platform():
    settings = load_settings(EXAMPLE_CONFIG)
    got = {
        s.slug: (s.baseline.p95_ms, s.baseline.throughput_rps, s.baseline.cpu_ratio,
                 s.baseline.memory_gib)
        for s in settings.services
        if s.baseline
    }
    assert got == SEED_TABLE
    assert settings.retention.minute == timedelta(days=14)
    assert settings.sources.scrape.interval == timedelta(seconds=15)


def test_root_example_is_the_bundled_one():
    root = Path(__file__).resolve().parents[1] / "apollo.example.yaml"
    assert root.read_text() == EXAMPLE_CONFIG.read_text()


def test_without_a_file_the_bundled_example_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings().slugs == [*SEED_TABLE, "apollo-api"]  # and Apollo's own API


def test_a_local_apollo_yaml_wins_over_the_example(tmp_path, monkeypatch):
    write(tmp_path, "services: [{slug: shop, name: Shop}]\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().slugs == ["shop"]


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "fleet: {seed: 1}\ndatabase_url: sqlite:///x.db\n")
    monkeypatch.setenv("APOLLO_FLEET__SEED", "7")
    monkeypatch.setenv("APOLLO_DATABASE_URL", "postgresql+psycopg://u:secret@db/apollo")
    settings = load_settings(path)
    assert settings.fleet.seed == 7
    assert settings.store_url == "postgresql+psycopg://u:secret@db/apollo"


def test_apollo_config_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "services: [{slug: only, name: Only}]\n")
    monkeypatch.setenv("APOLLO_CONFIG", str(path))
    assert load_settings().slugs == ["only"]


def test_default_store_is_sqlite_in_the_data_dir(tmp_path):
    settings = load_settings(write(tmp_path, f"data_dir: {tmp_path / 'data'}\n"))
    assert settings.store_url == f"sqlite:///{tmp_path / 'data' / 'apollo.db'}"
    assert settings.events_dsn == f"chdb://{tmp_path / 'data' / 'events'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "services:\n  - slug: api\n    name: API\n    baseline:\n      p95_ms: -3\n"
            "      throughput_rps: 1\n      cpu_ratio: 0.5\n      memory_gib: 1\n",
            ":5: services[0].baseline.p95_ms: Input should be greater than 0 (got -3)",
            id="a negative latency names its line and field",
        ),
        pytest.param(
            "retention:\n  minute: 5 parsecs\n",
            ":2: retention.minute: expected a duration such as '30s', '5m' or '1h30m', "
            "got '5 parsecs'",
            id="a bad duration says what a duration looks like",
        ),
        pytest.param(
            "fleet:\n  sed: 3\n", ":2: fleet.sed: unknown field",
            id="a typo is an unknown field, not silently ignored",
        ),
        pytest.param(
            "services: [{slug: Bad Slug, name: x}]\n",
            ":1: services[0].slug: String should match pattern",
            id="a slug with spaces",
        ),
        pytest.param(
            "notifiers:\n  - name: sre\n    kind: slack\n    url: https://hooks.slack.com/T0/B0/x\n",
            ":2: notifiers[0]: a slack URL carries a secret: set url_env",
            id="a slack webhook written into the file is refused",
        ),
        pytest.param(
            "database_url: postgresql+psycopg://apollo:hunter2@db/apollo\n",
            ":1: database_url: a password or token may not be written in the file "
            "(postgresql+psycopg://apollo:***@db/apollo); set APOLLO_DATABASE_URL in the "
            "environment instead",
            id="a password in the file is refused",
        ),
        pytest.param(
            "services: [{slug: a, name: A}, {slug: a, name: B}]\n",
            ":1: (top level): service slug 'a' appears twice",
            id="duplicate services",
        ),
        pytest.param("services: [\n", ":2: not valid YAML", id="broken YAML"),
        pytest.param("- just\n- a list\n", ":1: (top level): expected a mapping",
                     id="not a mapping"),
    ],
)
def test_a_wrong_file_names_file_line_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "hunter2" not in message


def test_every_problem_of_a_file_is_reported(tmp_path):
    path = write(tmp_path, "fleet:\n  seed: x\n  noise: 2\nretention: {hour: soon}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["fleet.seed", "fleet.noise",
                                                        "retention.hour"]
    assert [line.split(":")[1] for line in lines] == ["2", "3", "4"]


def test_a_bad_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("APOLLO_FLEET__SEED", "abc")
    with pytest.raises(ConfigError, match=r"^environment APOLLO_FLEET__SEED: fleet.seed: "):
        load_settings(write(tmp_path, "fleet: {seed: 1}\n"))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read configuration"):
        load_settings(tmp_path / "nope.yaml")


def test_the_example_carries_the_seed_configuration_matrix():
    envs = load_settings(EXAMPLE_CONFIG).environments
    assert list(envs) == ["development", "staging", "production"]
    assert envs["development"].autoscaling is None and envs["development"].cdn == []
    assert (envs["staging"].autoscaling.min_nodes, envs["staging"].autoscaling.max_nodes) == (2, 5)
    assert envs["staging"].regions == ["us-west-1", "us-east-1"]
    assert envs["production"].cdn == ["CloudFront", "Fastly"] and envs["production"].zones == 5
    assert (envs["production"].autoscaling.min_nodes,
            envs["production"].autoscaling.max_nodes) == (10, 50)


def test_a_target_naming_an_unknown_environment_is_refused_by_field(tmp_path):
    path = write(tmp_path, """
environments:
  production: {database: PostgreSQL 15}
services:
  - {slug: api, name: API, tier: critical, labels: {owner: sre}}
sources:
  scrape:
    targets:
      - {service: api, url: "http://127.0.0.1:9/metrics", environment: production}
      - {service: api, url: "http://127.0.0.1:8/metrics", environment: prod}
""")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "sources.scrape.targets.1.environment" in message and "'prod'" in message
    assert "production" in message


def test_autoscaling_bounds_must_be_ordered(tmp_path):
    path = write(tmp_path, "environments:\n  staging:\n    autoscaling: "
                 "{min_nodes: 5, max_nodes: 2}\n")
    with pytest.raises(ConfigError, match="max_nodes 2 is below min_nodes 5"):
        load_settings(path)


def test_a_refused_url_is_shown_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("APOLLO_REDIS_URL", "http://:s3cret@127.0.0.1:6379")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, "data_dir: var\n"))
    assert "APOLLO_REDIS_URL" in str(caught.value) and "s3cret" not in str(caught.value)


def test_every_password_in_the_file_is_refused_at_once(tmp_path):
    path = write(tmp_path, """
redis_url: redis://:hunter2@cache:6379/0
sources:
  prometheus:
    url: https://sre:hunter3@prometheus.internal
  clickhouse:
    dsn: http://default:hunter4@clickhouse:8123/?secure=1
  costs:
    opencost_url: http://opencost:9003/?token=hunter5
""")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "redis_url", "sources.prometheus.url", "sources.clickhouse.dsn",
        "sources.costs.opencost_url"]
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in lines] == ["2", "5", "7", "9"]
    assert "APOLLO_SOURCES__PROMETHEUS__URL" in lines[1]
    assert not any(secret in str(caught.value)
                   for secret in ("hunter2", "hunter3", "hunter4", "hunter5"))


@pytest.mark.parametrize(("text", "expected"), [
    ("sources:\n  scrape:\n    interval: 0s\n", "sources.scrape.interval: must be longer than 0s"),
    ("sources:\n  scrape:\n    timeout: -1s\n", "sources.scrape.timeout"),
    ("sources:\n  scrape:\n    interval: 5s\n    timeout: 10s\n",
     "timeout 10s is longer than interval 5s"),
    ("retention:\n  minute: 0d\n", "retention.minute: must be longer than 0s"),
    ("notifiers:\n  - {name: sre, kind: webhook, url: 'http://127.0.0.1:9/'}\n"
     "  - {name: sre, kind: webhook, url: 'http://127.0.0.1:8/'}\n",
     "notifier name(s) sre appear more than once"),
    ("services:\n  - {slug: a, name: A}\n  - {slug: b, name: B}\nsources:\n  scrape:\n"
     "    targets:\n      - {service: a, url: 'http://10.0.0.1:80/metrics'}\n"
     "      - {service: b, url: 'http://10.0.0.1:80/metrics'}\n",
     "sources.scrape.targets.1: http://10.0.0.1:80/metrics repeats target 0"),
], ids=["zero interval", "negative timeout", "timeout past interval", "zero retention",
        "duplicate notifier", "one URL for two services"])
def test_settings_that_cannot_work_are_refused(tmp_path, text, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert expected in str(caught.value) and str(caught.value).startswith(str(tmp_path))


def test_a_configuration_that_is_not_utf8_names_its_file(tmp_path):
    path = tmp_path / "apollo.yaml"
    path.write_bytes(b"data_dir: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_settings(path)
    assert str(caught.value).startswith(str(path))
