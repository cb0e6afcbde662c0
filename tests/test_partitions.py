"""Day partitions of the minute tables on a real PostgreSQL 15 (services/store/partitions.py,
migration 0007), each figure checked against a second computation: the same store before
partitioning, the same data on SQLite and on an unpartitioned PostgreSQL copy (the DELETE
path), or counts worked out from the rows the test wrote.

The data: three and a half days of minutes, 2026-10-31 22:00 to 2026-11-04 10:00 UTC (five
calendar days), for two services with two instances each (service minutes, four latency
buckets) and two SLOs (SLI minutes); integer-valued counts (and binary fractions), so every
sum is exact in any order.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from support import T0

from services.config import EXAMPLE_CONFIG, load_settings
from services.errors import StoreError
from services.runtime.jobs import build_jobs, configured_slos
from services.store import partitions, queries, rollup, slo_data, writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.engine import make_engine
from services.store.migrate import current_revision, head_revision, upgrade
from services.store.models import Base, LatencyBucketMinute, ServiceMinute, SliMinute
from services.store.partitions import DAY, SCHEMA, default_name, partition_name

pytestmark = pytest.mark.servers

MIN = 60
END = int(T0) + 2 * DAY  # 2026-11-04 10:00 UTC
START = END - 3 * DAY - 12 * 3600  # 2026-10-31 22:00 UTC
DAYS = [START - START % DAY + i * DAY for i in range(5)]  # 2026-10-31 … 2026-11-04
SERVICES = ["payment-service", "api-gateway"]
INSTANCES = ["10.0.0.1:8080", "10.0.0.2:8080"]
LES = [0.05, 0.1, 0.5, float("inf")]
SLOS = ["payment-service-availability", "payment-service-latency"]
SLO_FILES = ["slos/payment-service.yaml"]
TABLES = {"service_minutes": ServiceMinute.__table__,
          "latency_bucket_minutes": LatencyBucketMinute.__table__,
          "sli_minutes": SliMinute.__table__}
VALUES = {"service_minutes": ["requests", "errors", "latency_sum", "latency_count",
                              "cpu_ratio", "memory_bytes"],
          "latency_bucket_minutes": ["le", "count"], "sli_minutes": ["good", "total"]}
KEYS = {"service_minutes": "minute, service_id, instance",
        "latency_bucket_minutes": "minute, service_id, instance, le",
        "sli_minutes": "minute, slo_id, instance"}


# --- the data ---------------------------------------------------------------------------------


def rows(start: int = START, end: int = END, seed: int = 7) -> dict[str, list[tuple]]:
    """Rows of every minute table for [start, end): integer-valued floats (exact sums)."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(start, end, MIN)
    out: dict[str, list[tuple]] = {name: [] for name in TABLES}
    for sid, _ in enumerate(SERVICES, start=1):
        for instance in INSTANCES:
            n = len(minutes)
            req = rng.integers(100, 1000, n).astype(float)
            err = rng.integers(0, 5, n).astype(float)
            cpu = rng.integers(1, 100, n) / 128  # binary fractions: exact
            mem = rng.integers(1, 1000, n) * 1_048_576.0
            out["service_minutes"] += zip(minutes.tolist(), [sid] * n, req.tolist(),
                                          err.tolist(), (req * 0.25).tolist(), req.tolist(),
                                          cpu.tolist(), mem.tolist(), [instance] * n,
                                          strict=True)
            cumulative = np.zeros(n)
            for le in LES:
                cumulative = cumulative + rng.integers(0, 250, n)
                out["latency_bucket_minutes"] += zip(
                    minutes.tolist(), [sid] * n, [le] * n, cumulative.tolist(),
                    [instance] * n, strict=True)
    for slo_id, _ in enumerate(SLOS, start=1):
        for instance in INSTANCES:
            n = len(minutes)
            total = rng.integers(40, 60, n).astype(float)
            good = total - rng.binomial(total.astype(int), 0.01)
            out["sli_minutes"] += zip(minutes.tolist(), [slo_id] * n, good.tolist(),
                                      total.tolist(), [instance] * n, strict=True)
    return out


def register(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo(s, s.title()) for s in SERVICES])
        for slug in SLOS:
            ensure_slo(conn, slug=slug, name=slug, objective=99.9, period_s=30 * DAY,
                       service_id=ids["payment-service"])


def fill(engine: sa.Engine, data: dict[str, list[tuple]]) -> None:
    """Written the way collectors write (writes.upsert_checked), one transaction a day."""
    for day in DAYS:
        with engine.begin() as conn:
            for name, table in TABLES.items():
                mine = [r for r in data[name] if day <= r[0] < day + DAY]
                assert not writes.upsert_checked(conn, table, mine).rejected


def store(url: str, revision: str = "head", data: dict | None = None) -> sa.Engine:
    engine = make_engine(url)
    upgrade(engine, revision)
    register(engine)
    fill(engine, rows() if data is None else data)
    return engine


def figures(engine: sa.Engine) -> dict[str, tuple]:
    """Per minute table: (rows, sum of each value column, distinct instances)."""
    out = {}
    with engine.connect() as conn:
        for name, columns in VALUES.items():
            sums = ", ".join(f"sum({c})" for c in columns if c != "le")
            out[name] = tuple(conn.execute(sa.text(
                f"SELECT count(*), {sums}, count(DISTINCT instance) FROM {name}")).one())
    return out


def digests(engine: sa.Engine) -> dict[str, str]:
    """Per minute table, an md5 of every row in key order (PostgreSQL): equal iff the rows are."""
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(
            f"SELECT md5(string_agg(t::text, '|' ORDER BY {KEYS[name]})) FROM {name} t")
        ).scalar_one() for name in TABLES}


def where(engine: sa.Engine, table: str) -> dict[str, int]:
    """Rows of `table` by the partition holding them (unqualified names)."""
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")).all()
    return {name.split(".")[-1]: n for name, n in found}


def reads(engine: sa.Engine) -> dict[str, object]:
    """What the query layer answers over the data: every resolution of every kind, one
    SLO's minutes, interval sums, budgets and the report's series."""
    start, end = datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(END, UTC)
    slos = [s for s in configured_slos(load_settings(EXAMPLE_CONFIG, slo_files=SLO_FILES))
            if s.id in SLOS]
    out: dict[str, object] = {}
    with engine.connect() as conn:
        for resolution in ("minute", "5m", "hour"):
            out[f"services/{resolution}"] = queries.service_metrics(
                conn, start, end, resolution=resolution)
            out[f"latency/{resolution}"] = queries.latency_buckets(
                conn, start, end, resolution=resolution)
            out[f"sli/{resolution}"] = queries.sli(conn, start, end, resolution=resolution)
        series = slo_data.stored_series(conn, SLOS[0], START, END)
        out["stored_series"] = pd.DataFrame({"good": series.good, "total": series.total})
        cuts = [START, DAYS[1], DAYS[1] + 7 * 3600 + 25 * MIN, DAYS[3] + 13 * MIN, END]
        out["interval_sums"] = slo_data.interval_sums(conn, {s: cuts for s in SLOS})
        out["budgets_left"] = slo_data.budgets_left(conn, slos, END - 17 * MIN)
        for slug, series in slo_data.report_series(conn, slos, END).items():
            out[f"report_series/{slug}"] = pd.DataFrame(
                {"good": series.good, "total": series.total}, index=[series.start] * len(series))
    return out


def assert_same_reads(before: dict[str, object], after: dict[str, object]) -> None:
    assert before.keys() == after.keys()
    for key, frame in before.items():
        if isinstance(frame, pd.DataFrame):
            assert len(frame) > 0, key
            pd.testing.assert_frame_equal(frame, after[key], check_exact=True, obj=key)
        else:
            assert frame == after[key], key


@pytest.fixture
def pg(pg_url):
    """A migrated, empty PostgreSQL store."""
    engine = make_engine(pg_url)
    upgrade(engine)
    register(engine)
    yield engine
    engine.dispose()


# --- migration 0007 ---------------------------------------------------------------------------


def test_migrating_a_populated_store_keeps_every_row_and_every_answer(pg_url):
    engine = store(pg_url, "0006")
    with engine.begin() as conn:  # the first two days rolled up, the rest read on the fly
        rollup.roll_up(conn, START, DAYS[2])
    before = figures(engine), digests(engine), reads(engine)
    assert before[0]["service_minutes"][0] == len(rows()["service_minutes"])

    assert upgrade(engine) == head_revision()

    after = figures(engine), digests(engine), reads(engine)
    assert after[0] == before[0]  # counts and sums per table
    assert after[1] == before[1]  # every row, byte for byte
    assert_same_reads(before[2], after[2])
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text(
            "SELECT relname, relkind FROM pg_class WHERE relname IN "
            "('service_minutes', 'latency_bucket_minutes', 'sli_minutes')")).all())
        assert kinds == dict.fromkeys(TABLES, "p")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        for name in TABLES:
            found = partitions.partitions(conn, name)
            assert [(p.schema, p.name, p.start) for p in found] == [
                *((SCHEMA, partition_name(name, d), d) for d in DAYS),
                (SCHEMA, default_name(name), None)]
    for name in TABLES:  # each day's rows in its own partition
        by_day = pd.Series([r[0] - r[0] % DAY for r in rows()[name]]).value_counts()
        assert where(engine, name) == {partition_name(name, d): by_day[d] for d in DAYS}


def test_the_downgrade_keeps_every_row_too(pg_url):
    from alembic import command

    from services.store.migrate import _config

    engine = store(pg_url)
    before = figures(engine), digests(engine)
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    assert current_revision(engine) == "0006"
    assert (figures(engine), digests(engine)) == before
    with engine.connect() as conn:
        assert partitions.partitions(conn, "service_minutes") is None
        assert conn.execute(sa.text("SELECT to_regnamespace(:s)"), {"s": SCHEMA}).scalar() is None
    upgrade(engine)
    assert (figures(engine), digests(engine)) == before


def test_sqlite_is_not_partitioned_and_partitions_do_nothing_there(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        assert partitions.partitions(conn, "service_minutes") is None
        assert partitions.ensure_days(conn, "service_minutes", START, END) == []
        assert partitions.maintain(conn, END) == []
        assert partitions.drop_days_before(conn, "service_minutes", END) == (0, 0)


# --- partitions made on demand and ahead ----------------------------------------------------


def test_a_write_for_a_past_day_makes_its_partition_once(pg):
    past = END - 40 * DAY  # a backfill of a day nothing has written
    day = past - past % DAY
    data = rows(past, past + 30 * MIN)
    statements: list[str] = []
    sa.event.listen(pg, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with pg.begin() as conn:
        result = writes.upsert_checked(conn, ServiceMinute.__table__, data["service_minutes"])
    assert result.written == len(data["service_minutes"]) and not result.rejected
    assert where(pg, "service_minutes") == {partition_name("service_minutes", day): 120}
    assert any("ATTACH PARTITION" in s for s in statements)

    statements.clear()  # the day is known now: the next write asks the catalog nothing
    with pg.begin() as conn:
        writes.upsert_checked(conn, ServiceMinute.__table__, rows(past + 30 * MIN, past + 3600)[
            "service_minutes"])
    assert not [s for s in statements if "pg_inherits" in s or "LOCK TABLE" in s]
    assert where(pg, "service_minutes") == {partition_name("service_minutes", day): 240}


def test_a_partition_made_in_a_transaction_that_rolls_back_is_not_remembered(pg):
    data = rows(START, START + 10 * MIN)["sli_minutes"]
    with pytest.raises(RuntimeError), pg.begin() as conn:
        writes.upsert(conn, SliMinute.__table__, data)
        raise RuntimeError("the caller fails after the write")
    assert where(pg, "sli_minutes") == {}
    with pg.connect() as conn:
        assert [p.name for p in partitions.partitions(conn, "sli_minutes")] == [
            default_name("sli_minutes")]
    with pg.begin() as conn:  # made again, so the rows do not fall into DEFAULT
        writes.upsert(conn, SliMinute.__table__, data)
    assert where(pg, "sli_minutes") == {partition_name("sli_minutes", DAYS[0]): len(data)}


def test_rows_spanning_many_days_make_partitions_only_for_the_days_they_hold(pg):
    data = rows(START, START + 5 * MIN)["service_minutes"]
    stray = [(START + 30 * DAY, *data[0][1:])]  # one row a month later
    with pg.begin() as conn:
        made = partitions.ensure_days(conn, "service_minutes", START, START + 30 * DAY,
                                      [r[0] for r in data + stray])
        writes.upsert(conn, ServiceMinute.__table__, data + stray)
    assert made == [partition_name("service_minutes", DAYS[0]),
                    partition_name("service_minutes", DAYS[0] + 30 * DAY)]


def test_the_rollup_job_makes_today_and_the_next_two_days(pg):
    settings = load_settings(EXAMPLE_CONFIG)
    [job] = [j for j in build_jobs(settings, pg, targets=[], clock=lambda: END + 7)
             if j.name == "rollup"]
    for _ in range(2):  # a second run finds them made
        [run] = job.run()
        assert run.status == "ok", run.errors
    with pg.connect() as conn:
        for name in TABLES:
            assert [p.start for p in partitions.partitions(conn, name)][:-1] == [
                DAYS[4], DAYS[4] + DAY, DAYS[4] + 2 * DAY]


# --- DEFAULT's rows -------------------------------------------------------------------------


def _into_default(engine: sa.Engine, name: str, data: list[tuple]) -> None:
    """Rows written past `writes` (no partition made), as a stray writer would."""
    columns = [c.name for c in TABLES[name].columns]
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                             f"({', '.join(':' + c for c in columns)})"),
                     [dict(zip(columns, r, strict=True)) for r in data])


def test_postgres_refuses_a_partition_whose_rows_sit_in_default(pg):
    data = rows(START, START + 10 * MIN)["sli_minutes"]
    _into_default(pg, "sli_minutes", data)
    assert where(pg, "sli_minutes") == {default_name("sli_minutes"): len(data)}
    with pytest.raises(sa.exc.IntegrityError, match="would be violated by some row"), \
            pg.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {SCHEMA}.x PARTITION OF sli_minutes "
                             f"FOR VALUES FROM ({DAYS[0]}) TO ({DAYS[0] + DAY})"))


def test_a_write_moves_its_days_rows_out_of_default_then_upserts(pg):
    old = rows(START, START + 20 * MIN)["sli_minutes"]  # 20 minutes in DEFAULT
    _into_default(pg, "sli_minutes", old)
    new = [(m, slo, good - 1, total, inst) for m, slo, good, total, inst in
           rows(START + 10 * MIN, START + 30 * MIN)["sli_minutes"]]  # half of them rewritten
    with pg.begin() as conn:
        assert writes.upsert_checked(conn, SliMinute.__table__, new).written == len(new)
    part = partition_name("sli_minutes", DAYS[0])
    assert where(pg, "sli_minutes") == {part: 30 * 2 * 2}  # 30 minutes, 2 SLOs, 2 instances
    expected = {r[:2] + r[4:]: r[2:4] for r in [*old, *new]}  # later rows win
    with pg.connect() as conn:
        stored = conn.execute(sa.text("SELECT minute, slo_id, instance, good, total "
                                      "FROM sli_minutes")).all()
    assert {tuple(r[:3]): tuple(r[3:]) for r in stored} == expected


def test_the_rollup_job_moves_defaults_rows_into_new_partitions(pg):
    data = rows(START, START + DAY)  # 2026-10-31 22:00 to 2026-11-01 22:00: two days
    for name in TABLES:
        _into_default(pg, name, data[name])
    before = figures(pg)
    with pg.begin() as conn:
        made = partitions.maintain(conn, END)
    assert sorted(made) == sorted(partition_name(n, d) for n in TABLES
                                  for d in [DAYS[0], DAYS[1], DAYS[4], DAYS[4] + DAY,
                                            DAYS[4] + 2 * DAY])
    assert figures(pg) == before
    for name in TABLES:
        held = where(pg, name)
        assert default_name(name) not in held
        assert held == {partition_name(name, DAYS[0]): len(data[name]) // 12,  # 2 of 24 h
                        partition_name(name, DAYS[1]): len(data[name]) * 11 // 12}


def test_a_partition_that_cannot_be_made_sends_the_rows_to_default(pg, caplog):
    """A stray table holds the day's partition name: the write still lands (in DEFAULT,
    with a warning); the roll-up job's maintenance fails loudly, naming the table."""
    name = partition_name("service_minutes", DAYS[0])
    with pg.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {SCHEMA}.{name} (x int)"))
    data = rows(START, START + 5 * MIN)["service_minutes"]
    with caplog.at_level(logging.WARNING, "services.store.partitions"), pg.begin() as conn:
        assert writes.upsert_checked(conn, ServiceMinute.__table__, data).written == len(data)
    assert where(pg, "service_minutes") == {default_name("service_minutes"): len(data)}
    assert "rows go to service_minutes_default" in caplog.text
    assert "2026-10-31" in caplog.text
    with pytest.raises(StoreError, match="service_minutes: cannot make day partitions"), \
            pg.begin() as conn:
        partitions.maintain(conn, END)


# --- retention ------------------------------------------------------------------------------


def _remaining(engine: sa.Engine) -> dict[str, tuple]:
    """Every table retention touches: rows and sums, minute tables and roll-ups alike."""
    out = figures(engine)
    with engine.connect() as conn:
        for kind in ("service", "latency_bucket", "sli"):
            for table in (f"{kind}_5m", f"{kind}_hours"):  # sums only (means: order)
                values = VALUES[f"{kind}_minutes"]
                sums = ", ".join(f"sum({c})" for c in values
                                 if c not in ("le", "cpu_ratio", "memory_bytes"))
                out[table] = tuple(conn.execute(sa.text(
                    f"SELECT count(*), {sums}, sum(minutes) FROM {table}")).one())
        out["oldest minute"] = conn.execute(sa.text(
            "SELECT min(minute) FROM service_minutes")).scalar()
    return out


@pytest.mark.parametrize(("keep", "dropped"), [
    pytest.param(timedelta(days=2), 2, id="cut 2026-11-02 10:00: two whole days and a part"),
    pytest.param(timedelta(days=3), 1, id="cut 2026-11-01 10:00: one whole day and a part"),
    pytest.param(timedelta(days=2, hours=10), 2, id="cut at midnight: two whole days"),
])
def test_retention_drops_the_days_before_the_cut_as_delete_would_remove_them(
        pg_url, postgres_server, tmp_path, keep, dropped):
    """The same data, and a day of stray rows in DEFAULT before the cut, in a partitioned
    store, an unpartitioned PostgreSQL copy (0006: the DELETE path) and SQLite: the same
    rows and sums remain everywhere, and only the partitions of whole days before the cut
    were dropped."""
    import uuid

    import psycopg

    data = rows()
    stray = rows(START - DAY, START - DAY + 30 * MIN, seed=8)  # 2026-10-30: no partition
    copy = f"copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {copy}")
    engines = {"partitioned": store(pg_url, data=data),
               "unpartitioned": store(postgres_server.url_for(copy), "0006", data=data),
               "sqlite": store(f"sqlite:///{tmp_path / 'a.db'}", data=data)}
    try:
        for engine in engines.values():
            for name in TABLES:
                _into_default(engine, name, stray[name])
        now = datetime.fromtimestamp(END, UTC)
        cut = END - int(keep.total_seconds())
        results = {}
        for label, engine in engines.items():
            with engine.begin() as conn:
                results[label] = rollup.apply_retention(
                    conn, now=now, minute_keep=keep,
                    hour_keep=timedelta(days=400))
        remaining = {label: _remaining(engine) for label, engine in engines.items()}
        with engines["partitioned"].connect() as conn:
            left = {name: [p.start for p in partitions.partitions(conn, name)]
                    for name in TABLES}
    finally:
        for engine in engines.values():
            engine.dispose()
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")

    whole = [d for d in DAYS if d + DAY <= cut]  # days wholly before the cut
    assert whole == DAYS[:dropped]
    assert results["partitioned"].minute_partitions_dropped == 3 * dropped
    assert results["unpartitioned"].minute_partitions_dropped == 0
    assert results["sqlite"].minute_partitions_dropped == 0
    assert replace(results["partitioned"], minute_partitions_dropped=0) == \
        results["unpartitioned"] == results["sqlite"]
    expected = sum(len([r for r in data[n] + stray[n] if r[0] < cut]) for n in TABLES)
    assert results["partitioned"].minute_rows_deleted == expected
    assert remaining["partitioned"] == remaining["unpartitioned"] == remaining["sqlite"]
    assert remaining["partitioned"]["oldest minute"] == cut
    for name in TABLES:  # the cut's own day kept its partition (its rows deleted), DEFAULT too
        assert left[name] == [d for d in DAYS if d + DAY > cut] + [None]


def test_the_retention_job_cuts_at_a_day_start_on_postgres(pg):
    """Hourly, a cut on the hour would delete an hour of minute rows each time and leave
    only emptied partitions to drop: the job keeps whole days (two days and ten hours here,
    where `minute: 2d` asked for two), so it drops partitions and deletes no row."""
    fill(pg, rows())
    settings = load_settings(EXAMPLE_CONFIG)
    settings.retention.minute = timedelta(days=2)
    [job] = [j for j in build_jobs(settings, pg, targets=[], clock=lambda: END + 7)
             if j.name == "retention"]
    deletes: list[int] = []
    sa.event.listen(pg, "after_cursor_execute", lambda _c, cursor, statement, *_: deletes.append(
        cursor.rowcount) if statement.startswith("DELETE FROM service_minutes") else None)
    [run] = job.run()
    assert run.status == "ok", run.errors
    assert deletes == [0]
    with pg.connect() as conn:
        assert conn.execute(sa.text("SELECT min(minute) FROM service_minutes")).scalar() == DAYS[2]
        assert [p.start for p in partitions.partitions(conn, "service_minutes")] == [
            *DAYS[2:], None]
    assert run.samples == sum(len([r for r in rows()[n] if r[0] < DAYS[2]]) for n in TABLES)
