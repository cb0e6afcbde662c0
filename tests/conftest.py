"""Shared pytest configuration and fixtures.

Sections: markers, environment isolation, real servers (see tests/harness). Add new fixtures in
their own clearly named section below.

`tests/` is not a package, so pytest puts it on sys.path and the harness imports as `harness`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from harness import (
    PostgresProcess,
    PrometheusProcess,
    ServerProcess,
    start_alertmanager,
    start_postgres,
    start_prometheus,
    start_redis,
)
from hypothesis import settings
from psycopg import sql

# --- Hypothesis: the same examples on every CI run -------------------------------------------

# A property test that passes in CI passes there every time: CI (CI=true) replays the same
# examples; a developer's runs keep exploring new ones and find what CI would not.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


# --- Markers ---------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here too, so --strict-markers works whatever pyproject says."""
    config.addinivalue_line("markers", "servers: needs real servers started by the harness")


# --- Environment isolation -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_apollo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without APOLLO_* settings leaking in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("APOLLO_"):
            monkeypatch.delenv(name)


# --- Real servers: PostgreSQL ----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresProcess]:
    """One PostgreSQL 15 for the session.

    Its data dir lives under /tmp in a 0o755 dir: the server runs as user `postgres`, which
    cannot reach pytest's private (0o700) tmp_path tree.
    """
    root = Path(tempfile.mkdtemp(prefix="apollo-pg-", dir="/tmp"))
    root.chmod(0o755)
    server: PostgresProcess | None = None
    try:
        server = start_postgres(root / "pg")
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresProcess) -> Iterator[str]:
    """A fresh, uniquely named database per test, dropped afterwards (SQLAlchemy URL)."""
    if not postgres_server.is_running():  # a previous test stopped it and never restarted it
        postgres_server.start()
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.url_for(name)
    finally:
        if not postgres_server.is_running():
            postgres_server.start()
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


# --- Real servers: Redis ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One Redis 7 for the session, without persistence."""
    server: ServerProcess | None = None
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
        yield server
    finally:
        if server is not None:
            server.stop()


@pytest.fixture
def redis_url(redis_server: ServerProcess) -> Iterator[str]:
    """The session Redis, running and emptied (FLUSHALL) before the test."""
    if not redis_server.is_running():
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    yield redis_server.url


# --- Real servers: Prometheus and Alertmanager -----------------------------------------------


@pytest.fixture(scope="session")
def prometheus_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., PrometheusProcess]]:
    """start(scrape_configs=None, rule_files=None, **kwargs) -> a new Prometheus in its own
    tmp dir; kwargs go to harness.start_prometheus. All are stopped at the end of the session.
    """
    started: list[PrometheusProcess] = []

    def start(
        scrape_configs: list[dict[str, Any]] | None = None,
        rule_files: list[Path] | None = None,
        **kwargs: Any,
    ) -> PrometheusProcess:
        workdir = tmp_path_factory.mktemp("prometheus")
        server = start_prometheus(workdir, scrape_configs, rule_files, **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def alertmanager_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ServerProcess]]:
    """start(receivers_webhook_url=None, group_wait="1s", **kwargs) -> a new Alertmanager in its
    own tmp dir; kwargs go to harness.start_alertmanager. All are stopped at session end.
    """
    started: list[ServerProcess] = []

    def start(
        receivers_webhook_url: str | None = None, group_wait: str = "1s", **kwargs: Any
    ) -> ServerProcess:
        workdir = tmp_path_factory.mktemp("alertmanager")
        server = start_alertmanager(workdir, receivers_webhook_url, group_wait, **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


# --- The embedded ClickHouse engine ----------------------------------------------------------


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chdb opens exactly one path per process, so the whole session shares this one."""
    return tmp_path_factory.mktemp("chdb") / "events"


@pytest.fixture
def clickhouse(chdb_path: Path) -> Iterator[tuple[Any, str]]:
    """(client, database): the real engine through clickhouse-connect, a fresh database."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    database = f"test_{uuid.uuid4().hex[:12]}"
    client.command(f"CREATE DATABASE {database}")
    try:
        yield client, database
    finally:
        client.command(f"DROP DATABASE IF EXISTS {database}")


# --- The store on both backends -----------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, then a fresh PostgreSQL database: one store suite, both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'apollo.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(store_url: str) -> Iterator[Any]:
    """The store at `store_url`, migrated to the newest revision."""
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    engine = make_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()
