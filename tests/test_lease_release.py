"""Leases given back on a clean stop, for real: Redis of the harness, the embedded ClickHouse
engine (chdb), loopback /metrics pages of an in-process fleet.

A collector holds a Redis lease per scrape target and one per ClickHouse DSN (905 s for the
5-minute ClickHouse job). When it stops cleanly (SIGTERM or Ctrl-C of `apollo collect
--every`, the end of `--once`, the demo's scheduler stop) it gives them back, deleting
each key only while it still holds its own token, so:

- a standby replica takes the DSN and the targets at its next round, not 905 s later;
- a restarted collector (a rolling update) reads ClickHouse at its first round;
- `apollo collect --once` run twice reads ClickHouse both times, and a run that finds the
  DSN leased by another holder records a failed run naming it and when its lease runs out.

A killed process still leaves its leases to run out (tests/test_scale_out.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import yaml
from harness.servers import wait_until
from support import LEASE_PREFIX, PROFILES
from support import leases_in as leases

from services.config import load_settings
from services.fleet.events import EventModel, EventWriter
from services.fleet.server import Fleet
from services.runtime import jobs as runtime_jobs
from services.runtime.jobs import build_jobs
from services.runtime.leases import RedisLeases
from services.runtime.scheduler import Scheduler
from services.store.engine import make_engine
from services.store.migrate import upgrade

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
PREFIX = LEASE_PREFIX
SERVICE = "api-gateway"
CLICKHOUSE_TTL_S = 3 * 300 + 5  # the 5-minute ClickHouse job alone: 905 s
DEADLINE_S = 90.0  # bounded polling for a process to do a round (far below 905 s)


def write_config(path: Path, *, data_dir: Path, target: str, dsn: str, table: str,
                 redis_url: str | None = None) -> Path:
    """One service at one URL, ClickHouse at `dsn` on its default 5-minute interval, no
    SLO files (so no event-SLI job: the DSN lease is the ClickHouse job's, 905 s)."""
    config: dict = {
        "data_dir": str(data_dir),
        "services": [{"slug": SERVICE, "name": "API Gateway", "team": "platform"}],
        "slo_files": [],
        "sources": {
            "scrape": {"interval": "1s", "timeout": "1s",
                       "targets": [{"service": SERVICE, "url": target}]},
            "clickhouse": {"dsn": dsn, "table": table},
        },
        "fleet": {"events": {"backfill_days": 1}},
    }
    if redis_url is not None:
        config["redis_url"] = redis_url
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def seconds_left(text: str) -> int:
    """The `(in N s)` a skip's message gives until the holder's lease runs out."""
    found = re.search(r"Z \(in (\d+) s\)", text)
    assert found, text
    return int(found.group(1))


def clickhouse_runs(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    """(status, target, message, started_at) of every ClickHouse run, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT status, target, message, started_at FROM collector_runs "
            "WHERE collector = 'clickhouse' ORDER BY id")).all()
    return [(r[0], r[1], r[2], str(r[3])) for r in rows]


# --- two schedulers in this process, the real 905 s lease ------------------------------------


@pytest.fixture
def one_fleet() -> Iterator[str]:
    """One /metrics page on loopback, on the real clock."""
    with Fleet([PROFILES[SERVICE]]) as fleet:
        yield fleet.urls[SERVICE]


@pytest.fixture
def events_table(clickhouse) -> str:
    """A small events table in the session's chdb path (one path per process)."""
    client, database = clickhouse
    table = f"{database}.events"
    writer = EventWriter(client, EventModel(seed=3, events_per_minute=4, users=200),
                         table=table, backfill_days=1)
    writer.ensure_table()
    assert writer.fill(time.time()) > 0
    return table


def test_a_stopped_schedulers_leases_are_taken_by_the_standby_at_its_next_round(
        redis_url, chdb_path, events_table, one_fleet, tmp_path, monkeypatch, caplog):
    """Replica A reads ClickHouse and scrapes the target; standby B skips both (and says who
    holds the DSN, until when). A's scheduler stops: it gives both leases back, and B's next
    round (its clock driven here; Redis's TTLs are real) takes them, 905 s before the DSN
    lease would have run out. A lease taken over meanwhile is never deleted by its old
    holder."""
    dsn = f"chdb://{chdb_path}"
    config = write_config(tmp_path / "apollo.yaml", data_dir=tmp_path / "var",
                          target=one_fleet, dsn=dsn, table=events_table, redis_url=redis_url)
    settings = load_settings(config)
    engine = make_engine(settings.store_url)
    upgrade(engine)

    def replica(owner: str) -> Scheduler:  # two processes' tokens in one process
        monkeypatch.setattr(runtime_jobs, "lease_owner", lambda: owner)
        return Scheduler(engine, build_jobs(settings, engine))

    a, b = replica("host-a:1"), replica("host-b:2")
    dsn_lease = f"clickhouse:{dsn}"
    with caplog.at_level(logging.WARNING, logger="services.runtime.leases"):
        ran_a = a.run_due(0.0)
        ran_b = b.run_due(0.0)
        assert [(r.collector, r.status) for r in ran_a if r.collector in ("scrape",
                                                                          "clickhouse")] == [
            ("scrape", "ok"), ("clickhouse", "ok")]
        assert not [r for r in ran_b if r.collector in ("scrape", "clickhouse")]  # skipped
        assert leases(redis_url) == {one_fleet: "host-a:1", dsn_lease: "host-a:1"}
        with redis.Redis.from_url(redis_url) as client:
            left_s = client.pttl(PREFIX + dsn_lease) / 1000
        assert CLICKHOUSE_TTL_S - 60 < left_s <= CLICKHOUSE_TTL_S
        assert f"ClickHouse {dsn}: read by another collector (lease held by host-a:1 until " \
            in caplog.text
        assert CLICKHOUSE_TTL_S - 60 < seconds_left(caplog.text) <= CLICKHOUSE_TTL_S

        a.stop_event.set()
        a.run()  # what SIGTERM leads to: the loop ends, the jobs give their leases back
        assert leases(redis_url) == {}

        ran_b = b.run_due(300.0)  # B's next round: the scrape's and the ClickHouse job's
        assert [(r.collector, r.status) for r in ran_b if r.collector in ("scrape",
                                                                          "clickhouse")] == [
            ("scrape", "ok"), ("clickhouse", "ok")]
        assert leases(redis_url) == {one_fleet: "host-b:2", dsn_lease: "host-b:2"}
        assert f"ClickHouse {dsn}: this collector reads it now" in caplog.text

    # B's DSN lease taken over meanwhile (say B stalled past its TTL): B's stop leaves it
    with redis.Redis.from_url(redis_url) as client:
        client.set(PREFIX + dsn_lease, "host-c:3", px=60_000)
    b.close()
    assert leases(redis_url) == {dsn_lease: "host-c:3"}
    assert [s for s, *_ in clickhouse_runs(engine)] == ["ok", "ok"]  # one by A, one by B
    engine.dispose()


def test_release_deletes_only_the_keys_that_still_hold_our_token(redis_url):
    mine, theirs = (RedisLeases(redis_url, owner, ttl_s=600) for owner in ("me:1", "them:2"))
    for name in ("t1", "t2", "t3"):
        assert mine.hold(name)
    assert not theirs.hold("t1")
    with redis.Redis.from_url(redis_url) as client:
        client.set(PREFIX + "t2", "them:2", px=60_000)  # taken over after ours ran out
        client.delete(PREFIX + "t3")  # ran out
    assert mine.release() == 1  # t1 only
    assert leases(redis_url) == {"t2": "them:2"}
    assert mine.release() == 0  # nothing held any more
    owner, until = theirs.holding("t2")
    assert owner == "them:2" and until is not None and 0 < until - time.time() <= 60
    assert theirs.holding("t1") == (None, None)


# --- real processes: `apollo collect --every` stopped by SIGTERM, `--once` twice ----------------

WRITE_EVENTS = """
import time
from services.config import load_settings
from services.fleet.runner import event_writer, open_events
settings = load_settings()
client = open_events(settings)
writer = event_writer(settings, client)
writer.ensure_table()
print(writer.fill(time.time() + 900))
client.close()
"""


@pytest.fixture(scope="module")
def module_fleet() -> Iterator[str]:
    with Fleet([PROFILES[SERVICE]], seed=7) as fleet:
        yield fleet.urls[SERVICE]


@pytest.fixture(scope="module")
def events_dsn(tmp_path_factory) -> str:
    """An events table at a chdb path of its own, written by a child process (this one may
    open only the session's path); the collectors below open it one at a time."""
    tmp = tmp_path_factory.mktemp("events")
    dsn = f"chdb://{tmp / 'chdb'}"
    config = write_config(tmp / "writer.yaml", data_dir=tmp, target="http://127.0.0.1:9/",
                          dsn=dsn, table="events")
    env = {**base_env(), "APOLLO_CONFIG": str(config)}
    written = subprocess.run([sys.executable, "-c", WRITE_EVENTS], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert written.returncode == 0 and int(written.stdout) > 0, written.stderr
    return dsn


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}


@pytest.fixture
def collector_env(tmp_path, redis_url, events_dsn, module_fleet) -> dict[str, str]:
    config = write_config(tmp_path / "apollo.yaml", data_dir=tmp_path / "var",
                          target=module_fleet, dsn=events_dsn, table="events")
    env = {**base_env(), "APOLLO_CONFIG": str(config), "APOLLO_REDIS_URL": redis_url,
           "APOLLO_DATABASE_URL": f"sqlite:///{tmp_path / 'apollo.db'}"}
    upgrade(make_engine(env["APOLLO_DATABASE_URL"]))
    return env


@contextlib.contextmanager
def collecting(name: str, env: dict[str, str], logs: Path) -> Iterator[subprocess.Popen]:
    """`apollo collect --every 1s`, its output in `logs/name.log`; killed by PID if the test
    leaves it running."""
    with (logs / f"{name}.log").open("wb") as out:
        popen = subprocess.Popen([*APOLLO, "collect", "--every", "1s"], cwd=ROOT, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield popen
    finally:
        if popen.poll() is None:
            os.kill(popen.pid, signal.SIGKILL)
            popen.wait(timeout=10)


def owner(popen: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{popen.pid}"


def sigterm(popen: subprocess.Popen) -> int:
    popen.send_signal(signal.SIGTERM)
    return popen.wait(timeout=30)


def test_a_collector_stopped_by_sigterm_gives_its_leases_back_and_its_successor_reads_at_once(
        collector_env, redis_url, events_dsn, module_fleet, tmp_path):
    """A rolling update: collector A reads ClickHouse under a 905 s lease, SIGTERM stops it,
    its leases are gone as it exits, and its successor B reads ClickHouse at its first
    round (before the fix: not for 905 s)."""
    engine = make_engine(collector_env["APOLLO_DATABASE_URL"])
    dsn_lease = f"clickhouse:{events_dsn}"
    with collecting("a", collector_env, tmp_path) as a:
        reads_a = wait_until(lambda: leases(redis_url) == {module_fleet: owner(a),
                                                           dsn_lease: owner(a)}
                             and [s for s, *_ in clickhouse_runs(engine)] == ["ok"],
                             DEADLINE_S)
        log_a = (tmp_path / "a.log").read_text(errors="replace")
        assert reads_a, f"A never held both leases and read ClickHouse:\n{log_a[-3000:]}"
        with redis.Redis.from_url(redis_url) as client:
            assert client.pttl(PREFIX + dsn_lease) / 1000 > CLICKHOUSE_TTL_S - 60
        assert sigterm(a) == 0
    assert "stopped" in (tmp_path / "a.log").read_text(errors="replace")
    assert leases(redis_url) == {}  # given back as it exited, not left to run out
    with collecting("b", collector_env, tmp_path) as b:
        reads_b = wait_until(lambda: [s for s, *_ in clickhouse_runs(engine)] == ["ok", "ok"],
                             DEADLINE_S)
        log_b = (tmp_path / "b.log").read_text(errors="replace")
        assert reads_b, f"B did not read ClickHouse:\n{log_b[-3000:]}"
        assert leases(redis_url).get(dsn_lease) == owner(b)
        assert "read by another collector" not in log_b
        assert sigterm(b) == 0
    assert leases(redis_url) == {}
    engine.dispose()


def collect_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APOLLO, "collect", "--once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_collect_once_twice_reads_clickhouse_both_times_and_a_skip_names_the_holder(
        collector_env, redis_url, events_dsn):
    """`apollo collect --once` as a CronJob with Redis: each run gives its leases back at
    its end, so the next one reads ClickHouse too. When another holder really holds the
    DSN's lease, the run records a failed ClickHouse run naming it and when its lease runs
    out (exit 1), and leaves that lease alone."""
    engine = make_engine(collector_env["APOLLO_DATABASE_URL"])
    dsn_lease = f"clickhouse:{events_dsn}"
    for n in (1, 2):
        done = collect_once(collector_env)
        assert done.returncode == 0, f"run {n}:\n{done.stdout}\n{done.stderr}"
        lines = [line.split() for line in done.stdout.splitlines()]
        assert ["ok", "clickhouse", events_dsn] in [line[:3] for line in lines], done.stdout
        assert leases(redis_url) == {}, f"run {n} left its leases"
    assert [s for s, *_ in clickhouse_runs(engine)] == ["ok", "ok"]

    with redis.Redis.from_url(redis_url) as client:  # a holder that is really there
        client.set(PREFIX + dsn_lease, "elsewhere:42", px=600_000)
    done = collect_once(collector_env)
    assert done.returncode == 1, f"{done.stdout}\n{done.stderr}"
    (line,) = [line for line in done.stdout.splitlines() if line.split()[1] == "clickhouse"]
    assert line.split()[:5] == ["failed", "clickhouse", "leases", "0", "samples"]
    assert f"ClickHouse {events_dsn} not read (clickhouse): lease held by elsewhere:42 until " \
        in line
    assert 540 < seconds_left(line) <= 600
    assert "lease held by elsewhere:42 until" in done.stderr  # the warning too
    status, target, message, _ = clickhouse_runs(engine)[-1]
    assert (status, target) == ("failed", "leases") and "elsewhere:42" in message
    assert leases(redis_url) == {dsn_lease: "elsewhere:42"}  # not ours: left alone
    engine.dispose()
