"""No password in any message; migrations only from `apollo db upgrade`, safe twice at once;
every other command checks the store's revision and says what to run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from services.errors import StoreError
from services.files import mask_url
from services.store.engine import make_engine
from services.store.migrate import (
    MIGRATION_LOCK,
    current_revision,
    head_revision,
    open_store,
    require_current,
    upgrade,
)

APOLLO = str(Path(sys.executable).with_name("apollo"))


def apollo(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APOLLO, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, cwd=cwd)


# --- mask_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    pytest.param("postgresql+psycopg://apollo:s3cret@db:5432/apollo",
                 "postgresql+psycopg://apollo:***@db:5432/apollo", id="SQLAlchemy URL"),
    pytest.param("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0",
                 id="redis with a password and no user"),
    pytest.param("rediss://default:s3cret@cache", "rediss://default:***@cache", id="rediss"),
    pytest.param("https://u:s3cret@mimir:8080/prometheus", "https://u:***@mimir:8080/prometheus",
                 id="basic auth in an http URL"),
    pytest.param("clickhouse://default:s3cret@ch:8123/analytics",
                 "clickhouse://default:***@ch:8123/analytics", id="clickhouse DSN"),
    pytest.param("http://ch:8123/?user=app&password=s3cret&database=a",
                 "http://ch:8123/?user=app&password=***&database=a", id="password parameter"),
    pytest.param("https://oc:9003/allocation?window=1d&token=s3cret",
                 "https://oc:9003/allocation?window=1d&token=***", id="token parameter"),
    pytest.param("http://h/x?client_secret=s3cret;api_key=s3cret",
                 "http://h/x?client_secret=***;api_key=***", id="secret and key parameters"),
    pytest.param("host=db user=apollo password=s3cret", "host=db user=apollo password=***",
                 id="libpq keyword DSN"),
    pytest.param("postgresql://u:p@ss@db/x", "postgresql://u:***@db/x",
                 id="an @ in the password: up to the last @"),
    pytest.param("postgresql://u:s3/cr?e#t@db/x", "postgresql://u:***@db/x",
                 id="a password holding / ? # does not parse, still masked"),
    pytest.param("postgres ql://u:s3cret@db/x", "postgres ql://u:***@db/x",
                 id="a broken scheme"),
    pytest.param("apollo:s3cret@db/x", "apollo:***@db/x", id="no scheme at all"),
    pytest.param("postgresql+psycopg://u:***@db/x", "postgresql+psycopg://u:***@db/x",
                 id="already masked (str of a SQLAlchemy URL)"),
    pytest.param("postgresql+psycopg://postgres@127.0.0.1:5432/x",
                 "postgresql+psycopg://postgres@127.0.0.1:5432/x", id="no password: unchanged"),
    pytest.param("chdb:///var/lib/apollo/events", "chdb:///var/lib/apollo/events",
                 id="an embedded chdb path: unchanged"),
    pytest.param("sqlite:////tmp/apollo.db", "sqlite:////tmp/apollo.db", id="sqlite: unchanged"),
    pytest.param("http://127.0.0.1:9090/api?to=ops@example.com",
                 "http://127.0.0.1:***@example.com",
                 id="host:port then an @: read as a broken password, hidden"),
    pytest.param("http://h/api?to=ops@example.com", "http://h/api?to=ops@example.com",
                 id="an @ in the query without a colon: unchanged"),
    pytest.param("postgresql://u:s3 cret@db/x", "postgresql://u:***@db/x",
                 id="a space in the password"),
    pytest.param("http://u:s3cret@h/metrics: HTTPStatusError: Client error '404 Not Found' "
                 "for url 'http://u:s3cret@h/metrics'",
                 "http://u:***@h/metrics: HTTPStatusError: Client error '404 Not Found' "
                 "for url 'http://u:***@h/metrics'", id="a message quoting two URLs"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown
    assert "s3" not in mask_url(url)


# --- URLs in messages ----------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    pytest.param("postgresql+psycopg://apollo:s3cret@127.0.0.1:port/x", id="a bad port"),
    pytest.param("postgres ql://apollo:s3cret@127.0.0.1/x", id="a bad scheme"),
    pytest.param("apollo:s3cret@127.0.0.1/x", id="no scheme"),
    pytest.param("mysql://apollo:s3cret@127.0.0.1/x?password=s3cret", id="an unknown backend"),
])
def test_a_database_url_that_is_refused_is_shown_without_its_password(url):
    with pytest.raises(StoreError, match=r"database URL .*apollo:\*\*\*@127\.0\.0\.1") as err:
        make_engine(url)
    assert "s3cret" not in str(err.value)


def test_db_upgrade_with_a_bad_url_is_one_line_without_the_password(tmp_path):
    url = "postgresql+psycopg://apollo:s3cret@127.0.0.1:port/x"
    result = apollo("db", "upgrade", env={"APOLLO_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ("apollo: error: database URL 'postgresql+psycopg://apollo:***@"
                             "127.0.0.1:port/x' is not a valid SQLAlchemy URL (expected "
                             "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)\n")


def test_config_check_shows_every_source_with_passwords_masked(tmp_path):
    env = {
        "APOLLO_DATABASE_URL": "postgresql+psycopg://apollo:s3cret@127.0.0.1/x",
        "APOLLO_SOURCES__CLICKHOUSE__DSN": "http://default:s3cret@127.0.0.1:8123/?password=s3cret",
        "APOLLO_REDIS_URL": "redis://:s3cret@127.0.0.1:6379/0",
        "APOLLO_SOURCES__PROMETHEUS__URL": "https://apollo:s3cret@thanos:9090",
        "APOLLO_SOURCES__COSTS__OPENCOST_URL": "http://opencost:9003?token=s3cret",
    }
    result = apollo("config", "check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()
                 if not line.startswith(("slo files",)))
    assert lines["store"] == "postgresql+psycopg://apollo:***@127.0.0.1/x"
    assert lines["events"] == "http://default:***@127.0.0.1:8123/?password=*** (table events)"
    assert lines["redis"] == "redis://:***@127.0.0.1:6379/0"
    assert lines["prometheus"] == "https://apollo:***@thanos:9090"
    assert lines["opencost"] == "http://opencost:9003?token=***"
    assert lines["scrape"] == "0 targets every 15s"
    assert lines["roadmap"] == "docs/platform/roadmap.md"


def test_config_check_on_the_embedded_defaults(tmp_path):
    result = apollo("config", "check", env={"APOLLO_DATA_DIR": str(tmp_path / "var")},
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"store       sqlite:///{tmp_path / 'var' / 'apollo.db'}\n" in result.stdout
    assert f"events      chdb://{tmp_path / 'var' / 'events'} (table events)\n" in result.stdout
    assert "redis       none (in-process fallback)\n" in result.stdout
    assert not (tmp_path / "var").exists()  # a check connects to nothing and creates nothing


# --- migrations under a lock ---------------------------------------------------------------


UPGRADE_AT = """
import sys, time
from services.store.engine import make_engine
from services.store.migrate import upgrade
engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # both start migrating together
print(upgrade(engine))
"""


def _upgrade_processes(url: str, n: int, at: float) -> list[subprocess.Popen[str]]:
    return [subprocess.Popen([sys.executable, "-c", UPGRADE_AT, url, str(at)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]


def _schema(url: str) -> tuple[list[str], list[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = list(conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                            .scalars())
        return versions, sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.servers
def test_two_upgrades_at_once_on_a_fresh_postgresql_both_succeed(pg_url):
    processes = _upgrade_processes(pg_url, 2, time.time() + 4.0)
    results = [p.communicate(timeout=60) for p in processes]
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert out.strip() == head_revision()
    versions, tables = _schema(pg_url)
    assert versions == [head_revision()]
    assert "service_minutes" in tables


def test_two_upgrades_at_once_on_a_fresh_sqlite_file_both_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    processes = _upgrade_processes(url, 2, time.time() + 4.0)
    for process in processes:
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    assert _schema(url)[0] == [head_revision()]


@pytest.mark.servers
def test_an_upgrade_waits_for_the_migration_lock(pg_url, postgres_server):
    """Whoever holds the lock migrates alone; the next one waits, then finds nothing to do."""
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.conninfo(dbname), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        (waiting,) = _upgrade_processes(pg_url, 1, 0.0)
        time.sleep(3.0)
        assert waiting.poll() is None, waiting.communicate()
        assert _schema_is_empty(pg_url)
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert out.strip() == head_revision()


def _schema_is_empty(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# --- every other command checks the revision -----------------------------------------------


def test_a_missing_sqlite_store_is_empty_and_not_created(tmp_path):
    path = tmp_path / "var" / "apollo.db"
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(StoreError) as err:
        require_current(engine)
    assert str(err.value) == (f"store sqlite:///{path} is empty, this Apollo needs revision "
                              f"{head_revision()}: run `apollo db upgrade`")
    assert not path.exists()


def test_a_current_store_opens(store_url):
    upgrade(make_engine(store_url))
    engine = open_store(store_url)
    assert require_current(engine) == head_revision()
    engine.dispose()


@pytest.mark.servers
def test_an_empty_postgresql_store_names_itself_without_the_password(pg_url):
    url = pg_url.replace("postgres@", "postgres:s3cret@")  # trust auth: any password passes
    with pytest.raises(StoreError) as err:
        open_store(url)
    shown = mask_url(url)
    assert "***" in shown
    assert str(err.value) == (f"store {shown} is empty, this Apollo needs revision "
                              f"{head_revision()}: run `apollo db upgrade`")


def test_a_store_from_a_newer_apollo_says_to_upgrade_apollo(tmp_path):
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreError, match=r"at revision 9999_future, unknown to this Apollo "
                       rf"\(which needs {head_revision()}\): a newer Apollo migrated it; "
                       "upgrade Apollo$"):
        require_current(engine)


def test_a_store_behind_names_both_revisions(tmp_path):
    from alembic.script import ScriptDirectory

    from services.store.migrate import _config

    older = [s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()][1:]
    assert older, "migrations 0001-0003 exist: a store can be behind"
    url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine, older[0])
    assert current_revision(engine) == older[0]
    with pytest.raises(StoreError) as err:
        require_current(engine)
    assert str(err.value) == (f"store {url} is at revision {older[0]}, this Apollo needs "
                              f"{head_revision()}: run `apollo db upgrade`")


def test_db_check_on_an_unmigrated_store_is_one_line_and_exit_1(tmp_path):
    env = {"APOLLO_DATA_DIR": str(tmp_path / "var")}
    result = apollo("db", "check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (f"apollo: error: store sqlite:///{tmp_path / 'var' / 'apollo.db'} "
                             f"is empty, this Apollo needs revision {head_revision()}: "
                             "run `apollo db upgrade`\n")
    assert apollo("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = apollo("db", "check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"store sqlite:///{tmp_path / 'var' / 'apollo.db'} is current\n"


@pytest.mark.servers
def test_db_check_on_an_unmigrated_postgresql_store(pg_url, tmp_path):
    url = pg_url.replace("postgres@", "postgres:s3cret@")
    result = apollo("db", "check", env={"APOLLO_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "is empty, this Apollo needs revision" in result.stderr
    assert "s3cret" not in result.stderr


def test_collect_once_on_an_unmigrated_store_says_to_upgrade_and_migrates_nothing(tmp_path):
    store = tmp_path / "var" / "apollo.db"
    result = apollo("collect", "--once", env={"APOLLO_DATA_DIR": str(tmp_path / "var")},
                    cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"apollo: error: store sqlite:///{store} is empty, this Apollo "
                             f"needs revision {head_revision()}: run `apollo db upgrade`\n")
    assert not store.exists()
