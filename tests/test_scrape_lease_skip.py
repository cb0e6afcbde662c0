"""A scrape target another collector holds the lease of, for real (the harness's Redis,
loopback /metrics pages of an in-process fleet).

`apollo collect --once` records it as a failed run naming the holder and when its lease runs
out (that run did not scrape it), as it does for a ClickHouse DSN, exits 1 and leaves the
holder's lease alone; a long-running collector skips it without a run (the holder records
its own).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import yaml
from support import LEASE_PREFIX, PROFILES
from support import leases_in as leases

from services.config import load_settings
from services.fleet.server import Fleet
from services.runtime import jobs as runtime_jobs
from services.runtime.jobs import build_jobs
from services.runtime.scheduler import Scheduler
from services.store.engine import make_engine
from services.store.migrate import upgrade

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
PREFIX = LEASE_PREFIX
MINE, THEIRS = "api-gateway", "auth-service"
HOLDER = "elsewhere:42"
HELD_FOR_MS = 600_000


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[str, str]]:
    """Two services' /metrics pages on loopback: slug -> URL."""
    with Fleet([PROFILES[MINE], PROFILES[THEIRS]], seed=11) as fleet:
        yield dict(fleet.urls)


def write_config(tmp_path: Path, pages: dict[str, str]) -> Path:
    config = {
        "data_dir": str(tmp_path / "var"),
        "services": [{"slug": s, "name": s, "team": "platform"} for s in pages],
        "slo_files": [],
        "sources": {"scrape": {"interval": "15s", "timeout": "2s",
                               "targets": [{"service": s, "url": u} for s, u in pages.items()]}},
    }
    path = tmp_path / "apollo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def held_elsewhere(redis_url: str, target: str) -> None:
    """Another collector, really there, holds `target`'s lease."""
    with redis.Redis.from_url(redis_url) as client:
        client.set(PREFIX + target, HOLDER, px=HELD_FOR_MS)


def scrape_runs(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """(status, target, message) of every scrape run, oldest first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT status, target, message FROM collector_runs WHERE collector = 'scrape' "
            "ORDER BY id"))]


def assert_names_the_holder(message: str, target: str) -> None:
    found = re.fullmatch(
        rf"{re.escape(target)} not scraped: lease held by {HOLDER} until "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (\d+) s\); another collector scrapes it, or "
        r"a killed one's lease has yet to run out", message)
    assert found, message
    assert 0 < int(found.group(1)) <= HELD_FOR_MS / 1000


def test_collect_once_records_a_target_held_elsewhere_as_a_failed_run_naming_the_holder(
        pages, redis_url, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'apollo.db'}"
    engine = make_engine(store_url)
    upgrade(engine)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")},
           "APOLLO_CONFIG": str(write_config(tmp_path, pages)),
           "APOLLO_REDIS_URL": redis_url, "APOLLO_DATABASE_URL": store_url}

    def collect_once() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*APOLLO, "collect", "--once"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    held_elsewhere(redis_url, pages[THEIRS])
    done = collect_once()
    assert done.returncode == 1, f"{done.stdout}\n{done.stderr}"
    lines = {tuple(line.split()[:3]): line for line in done.stdout.splitlines()
             if line.split()[1:2] == ["scrape"]}
    assert set(lines) == {("ok", "scrape", pages[MINE]), ("failed", "scrape", pages[THEIRS])}
    line = lines["failed", "scrape", pages[THEIRS]]
    assert line.split()[3:5] == ["0", "samples"]
    assert_names_the_holder(line.split("samples  ", 1)[1], pages[THEIRS])
    assert [(s, t) for s, t, _ in scrape_runs(engine)] == [("failed", pages[THEIRS]),
                                                           ("ok", pages[MINE])]
    assert_names_the_holder(scrape_runs(engine)[0][2], pages[THEIRS])
    assert leases(redis_url) == {pages[THEIRS]: HOLDER}  # ours given back, theirs left alone

    with redis.Redis.from_url(redis_url) as client:  # the holder gives it back
        client.delete(PREFIX + pages[THEIRS])
    done = collect_once()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert [(s, t) for s, t, _ in scrape_runs(engine)[2:]] == [("ok", pages[MINE]),
                                                               ("ok", pages[THEIRS])]
    assert leases(redis_url) == {}
    engine.dispose()


def test_a_long_running_collector_skips_a_target_held_elsewhere_without_a_run(
        pages, redis_url, tmp_path, monkeypatch, caplog):
    """The same jobs as `apollo collect --every`: the held target is not scraped and no run
    is recorded for it, round after round, and nothing is logged about it; built as
    `--once` builds them (keep_state), the skip is a failed run."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(runtime_jobs, "lease_owner", lambda: "here:1")
    settings = load_settings(write_config(tmp_path, pages), redis_url=redis_url)
    engine = make_engine(settings.store_url)
    upgrade(engine)
    held_elsewhere(redis_url, pages[THEIRS])

    scheduler = Scheduler(engine, build_jobs(settings, engine))
    for now in (0.0, 15.0, 30.0):
        ran = scheduler.run_due(now)
        assert [(r.status, r.target) for r in ran if r.collector == "scrape"] == [
            ("ok", pages[MINE])]
    assert leases(redis_url) == {pages[MINE]: "here:1", pages[THEIRS]: HOLDER}
    scheduler.stop_event.set()
    scheduler.run()  # the clean stop: our lease given back, theirs left
    assert leases(redis_url) == {pages[THEIRS]: HOLDER}
    assert scrape_runs(engine) == [("ok", pages[MINE], "")] * 3
    assert not [r for r in caplog.records if pages[THEIRS] in r.getMessage()]

    runs = Scheduler(engine, build_jobs(settings, engine, keep_state=True)).run_once()
    skipped = [r for r in runs if r.collector == "scrape" and r.target == pages[THEIRS]]
    assert [r.status for r in skipped] == ["failed"]
    assert_names_the_holder(skipped[0].errors[0], pages[THEIRS])
    assert leases(redis_url) == {pages[THEIRS]: HOLDER}
    engine.dispose()
