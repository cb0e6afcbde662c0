"""A stop reaches a job inside a long store statement: the scheduler aborts it after its
grace, so Ctrl-C ends a collector (or the demo) within seconds, and the job rolls back."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from collectors.runs import RunResult
from services.runtime import scheduler as scheduler_module
from services.runtime.scheduler import Job, Scheduler
from services.store.interrupt import interrupt

# a statement that runs for minutes unless aborted
LONG = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
              "WHERE i < 5000000000) SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(300)",
}


def test_a_stop_aborts_the_statement_a_running_job_is_in(engine, monkeypatch):
    monkeypatch.setattr(scheduler_module, "STOP_GRACE_S", 0.2)
    started = threading.Event()
    with engine.begin() as conn:  # a row the job's transaction changes before its long read
        conn.execute(sa.text("CREATE TABLE marks (n integer)"))
        conn.execute(sa.text("INSERT INTO marks VALUES (1)"))

    def long_job() -> list[RunResult]:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE marks SET n = 2"))
            started.set()
            conn.execute(sa.text(LONG[engine.dialect.name])).scalar()
        return [RunResult("long", "store").finish()]

    scheduler = Scheduler(engine, [Job("long", 3600, long_job)])
    thread = scheduler.start()
    assert started.wait(30)
    scheduler.stop_event.set()
    thread.join(timeout=30)
    assert not thread.is_alive()  # (without the abort: minutes; pg_sleep 300 s)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM marks")).scalar() == 1  # rolled back
        failed = conn.execute(sa.text(
            "SELECT status FROM collector_runs WHERE collector = 'long'")).scalars().all()
    assert failed == ["failed"]


def test_interrupting_an_engine_with_nothing_running_asks_nothing(engine):
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert interrupt(engine) == 0


def test_a_job_that_ends_within_the_grace_is_not_aborted(engine, monkeypatch):
    monkeypatch.setattr(scheduler_module, "STOP_GRACE_S", 5.0)
    asked: list[int] = []
    monkeypatch.setattr(scheduler_module, "interrupt",
                        lambda e: asked.append(1) or 0)
    release = threading.Event()
    started = threading.Event()

    def short_job() -> list[RunResult]:
        started.set()
        release.wait(10)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return [RunResult("short", "store").finish()]

    scheduler = Scheduler(engine, [Job("short", 3600, short_job)])
    thread = scheduler.start()
    assert started.wait(30)
    scheduler.stop_event.set()
    release.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and asked == []
    with engine.connect() as conn:
        statuses = conn.execute(sa.text(
            "SELECT status FROM collector_runs WHERE collector = 'short'")).scalars().all()
    assert statuses == ["ok"]


def test_connections_are_still_found_after_the_engine_was_disposed(engine):
    """dispose() gives the engine a new pool: its connections must still be reachable."""
    engine.dispose()
    with engine.execution_options(sqlite_begin_immediate=True).connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        assert interrupt(engine) == 1
    assert interrupt(engine) == 0


def test_a_run_the_store_refuses_is_dropped_and_the_others_recorded(pg_url, caplog):
    """A run the store refuses (here a collector name past its 63 characters) is dropped
    alone, named in the log; the runs before and after it are recorded, and the log does
    not stay blocked behind it. A NUL in an error or a target past 500 characters are
    made storable instead (the runs are kept)."""
    from services.runtime.scheduler import RunLog
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    log = RunLog(engine)
    good = RunResult("scrape", "http://one/metrics").finish()
    bad = RunResult("s" * 64, "http://two/metrics").finish()
    nul = RunResult("scrape", "http://four/metrics",
                    errors=["http://four/metrics:3: invalid value 'a\x00b'"]).finish()
    long = RunResult("scrape", "http://five/" + "x" * 600).finish()
    later = RunResult("scrape", "http://three/metrics").finish()
    with caplog.at_level("ERROR"):
        assert log.record([good, bad]) is True
    assert log.record([nul, long, later]) is True and not log.backlog and log.dropped == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT target, message FROM collector_runs ORDER BY id")).all()
    assert [target for target, _ in rows] == [
        "http://one/metrics", "http://four/metrics", "http://five/" + "x" * 487 + "…",
        "http://three/metrics"]
    assert rows[1][1] == "http://four/metrics:3: invalid value 'a\\x00b'"
    assert f"refused run {'s' * 64} http://two/metrics" in caplog.text
    engine.dispose()
