"""The store, run on both SQLite and a real PostgreSQL 15: one suite, two backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.errors import StoreError
from services.store import queries, rollup, writes
from services.store.catalog import ServiceInfo, ensure_services, ensure_slo
from services.store.engine import make_engine
from services.store.migrate import current_revision, head_revision, upgrade
from services.store.models import (
    Base,
    LatencyBucketMinute,
    ServiceMinute,
    SliMinute,
)

SERVICE_MINUTES = ServiceMinute.__table__
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # an hour boundary
E0 = int(T0.timestamp())


@pytest.fixture
def ids(engine):
    with engine.begin() as conn:
        return ensure_services(conn, [ServiceInfo("api", "API"), ServiceInfo("db", "DB")])


def service_rows(ids, minutes, *, scale=1.0, instance="10.0.0.1:8080"):
    """Deterministic rows: requests = 100 + minute index, errors = index % 7, per service."""
    rows = []
    for i in range(minutes):
        for n, slug in enumerate(sorted(ids)):
            req = (100 + i + 1000 * n) * scale
            rows.append((E0 + 60 * i, ids[slug], req, float(i % 7), req * 0.01, req,
                         0.25 + 0.01 * (i % 4), 2.0e9 + i, instance))
    return rows


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# --- schema ------------------------------------------------------------------------------


def test_migration_builds_exactly_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert current_revision(engine) == head_revision()


def test_upgrade_twice_changes_nothing(engine):
    before = set(sa.inspect(engine).get_table_names())
    assert upgrade(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) == before


def test_a_failed_migration_leaves_nothing_behind(store_url):
    engine = make_engine(store_url)
    with engine.begin() as conn:  # a table in the way of the first migration
        conn.exec_driver_sql("CREATE TABLE slos (id INTEGER PRIMARY KEY, other TEXT)")
    with pytest.raises(StoreError, match=r"migration to head failed"):
        upgrade(engine)
    assert set(sa.inspect(engine).get_table_names()) == {"slos"}
    assert current_revision(engine) is None
    engine.dispose()


def test_an_unknown_database_url_is_refused():
    with pytest.raises(StoreError, match=r"mysql://h/db.*expected sqlite"):
        make_engine("mysql://h/db")


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


# --- idempotent writes -------------------------------------------------------------------


def test_writing_the_same_rows_twice_changes_nothing(engine, ids):
    rows = service_rows(ids, 90)
    for _ in range(2):
        with engine.begin() as conn:
            assert writes.upsert(conn, SERVICE_MINUTES, rows) == len(rows)
    assert count(engine, SERVICE_MINUTES) == len(rows)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(SERVICE_MINUTES).order_by("minute", "service_id")).all()
    assert [tuple(r) for r in stored] == sorted(rows, key=lambda r: (r[0], r[1]))


def test_a_rewrite_with_new_values_replaces_them(engine, ids):
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, service_rows(ids, 10))
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, service_rows(ids, 10, scale=2.0), chunk=7)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(SERVICE_MINUTES.c.requests))).scalar()
    # by hand: sum over i<10 of (100+i) + (1100+i), doubled
    assert total == 2.0 * sum((100 + i) + (1100 + i) for i in range(10))
    assert count(engine, SERVICE_MINUTES) == 20


def test_a_frame_is_written_like_tuples(engine, ids):
    frame = pd.DataFrame(service_rows(ids, 5), columns=writes.table_columns(SERVICE_MINUTES))
    frame.loc[0, "cpu_ratio"] = np.nan  # a missing gauge is stored as NULL
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, frame)
    with engine.connect() as conn:
        nulls = conn.execute(sa.select(sa.func.count()).where(
            SERVICE_MINUTES.c.cpu_ratio.is_(None))).scalar()
    assert nulls == 1
    assert count(engine, SERVICE_MINUTES) == 10


def test_a_failed_write_keeps_none_of_its_rows(engine, ids):
    rows = service_rows(ids, 20)
    rows[25] = (*rows[25][:2], None, *rows[25][3:])  # requests may not be NULL
    with pytest.raises(StoreError, match=r"service_minutes: bulk upsert failed.*requests"), \
            engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, rows, chunk=10)
    assert count(engine, SERVICE_MINUTES) == 0


def test_rows_that_leave_off_the_instance_are_stored_with_an_empty_one(engine, ids):
    rows = [row[:-1] for row in service_rows(ids, 3)]  # as written before instances existed
    with engine.begin() as conn:
        assert writes.upsert(conn, SERVICE_MINUTES, rows) == 6
    with engine.connect() as conn:
        instances = conn.execute(sa.select(SERVICE_MINUTES.c.instance).distinct()).scalars()
        assert list(instances) == [""]


def bad_row_cases(ids):
    """(row, words its reason must hold): each row is refused; the first three by the
    screen, the last by the database itself (a NULL time)."""
    good = service_rows(ids, 1)[0]
    return [
        ((*good[:2], float("nan"), *good[3:]), "requests is NaN"),
        ((*good[:3], None, *good[4:]), "errors is NULL"),
        ((*good[:4], "fast", *good[5:]), "latency_sum is not a number"),
        (good[:5], "5 values"),
        ((None, *good[1:]), "minute"),
    ]


@pytest.mark.parametrize("rewrite", [False, True], ids=["new rows", "rows already stored"])
def test_bad_rows_are_set_aside_with_their_reason_and_the_rest_is_written(engine, ids,
                                                                          rewrite):
    good = service_rows(ids, 200)  # 400 rows; the bad ones go in the middle of the batch
    cases = bad_row_cases(ids)
    batch = good[:150] + [row for row, _ in cases] + good[150:]
    if rewrite:  # PostgreSQL then stages the batch instead of copying it in
        with engine.begin() as conn:
            writes.upsert(conn, SERVICE_MINUTES, good)
    with engine.begin() as conn:
        result = writes.upsert_checked(conn, SERVICE_MINUTES, batch, chunk=64)
    assert result.written == len(good)
    assert sorted(map(repr, (r.row for r in result.rejected))) == \
        sorted(repr(row) for row, _ in cases)
    reasons = {repr(r.row): r.reason for r in result.rejected}
    for row, words in cases:
        assert words in reasons[repr(row)], reasons[repr(row)]
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(SERVICE_MINUTES.c.requests))).scalar()
    assert count(engine, SERVICE_MINUTES) == len(good)
    assert total == sum(row[2] for row in good)


def test_a_key_given_twice_in_one_batch_keeps_the_later_row(engine, ids):
    first, *rest = service_rows(ids, 3)
    later = (*first[:2], 999.0, *first[3:])
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, service_rows(ids, 3))  # stored: the staged path
        writes.upsert(conn, SERVICE_MINUTES, [first, *rest, later])
        writes.upsert(conn, SERVICE_MINUTES,
                      [(E0 - 60, *first[1:]), (E0 - 60, *later[1:])])  # new: the COPY path
        stored = conn.execute(sa.select(SERVICE_MINUTES.c.minute, SERVICE_MINUTES.c.requests)
                              .where(SERVICE_MINUTES.c.service_id == first[1])
                              .order_by("minute")).all()
    assert [tuple(r) for r in stored] == [(E0 - 60, 999.0), (E0, 999.0), (E0 + 60, 101.0),
                                          (E0 + 120, 102.0)]


@pytest.mark.servers
def test_a_store_that_goes_away_is_an_error_to_retry_not_a_bad_row(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo("api", "API")])
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:  # as a server restart would, end our session
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(StoreError, match="service_minutes: bulk upsert failed"):
            writes.upsert_checked(conn, SERVICE_MINUTES, service_rows(ids, 5))
    engine.dispose()


def test_histogram_buckets_keep_infinity(engine, ids):
    bounds = [0.005, 0.012, float("inf")]
    rows = [(E0 + 60 * i, ids["api"], le, 10.0 * (j + 1)) for i in range(3)
            for j, le in enumerate(bounds)]
    with engine.begin() as conn:
        writes.upsert(conn, LatencyBucketMinute.__table__, rows)
        writes.upsert(conn, LatencyBucketMinute.__table__, rows)
        frame = queries.latency_buckets(conn, T0, T0 + timedelta(minutes=3))
    assert len(frame) == 9
    assert sorted(frame["le"].unique()) == bounds
    assert frame.loc[np.isinf(frame["le"]), "count"].tolist() == [30.0, 30.0, 30.0]


# --- queries and roll-ups -----------------------------------------------------------------


def test_minute_query_is_half_open_and_labelled(engine, ids):
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, service_rows(ids, 30))
        frame = queries.service_metrics(conn, T0 + timedelta(minutes=5),
                                        T0 + timedelta(minutes=10), services=["api"])
    assert frame["ts"].tolist() == [T0 + timedelta(minutes=m) for m in range(5, 10)]
    assert set(frame["service"]) == {"api"}
    assert frame["requests"].tolist() == [100.0 + m for m in range(5, 10)]


def expected_hours(rows, ids):
    """The hourly roll-up computed in pandas, independently of the store's SQL."""
    frame = pd.DataFrame(rows, columns=writes.table_columns(SERVICE_MINUTES))
    assert frame["instance"].nunique() == 1  # one instance: means over minutes
    frame["hour"] = frame["minute"] // 3600 * 3600
    by_id = {v: k for k, v in ids.items()}
    out = frame.groupby(["hour", "service_id"]).agg(
        requests=("requests", "sum"), errors=("errors", "sum"),
        cpu_ratio=("cpu_ratio", "mean"), cpu_max=("cpu_ratio", "max"),
        minutes=("minute", "count")).reset_index()
    out["service"] = out["service_id"].map(by_id)
    return out.sort_values(["hour", "service"]).reset_index(drop=True)


@pytest.mark.parametrize("rolled", [False, True], ids=["live from minutes", "rolled up"])
def test_hour_resolution_sums_and_averages_the_minutes(engine, ids, rolled):
    rows = service_rows(ids, 150)  # two whole hours and half of a third
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, rows)
        if rolled:
            rollup.roll_up(conn, T0, T0 + timedelta(hours=3))
        got = queries.service_metrics(conn, T0, T0 + timedelta(hours=3), resolution="hour")
    want = expected_hours(rows, ids)
    assert got["ts"].tolist() == [datetime.fromtimestamp(h, UTC) for h in want["hour"]]
    assert got["service"].tolist() == want["service"].tolist()
    for column in ("requests", "errors", "cpu_max", "minutes"):
        assert got[column].tolist() == want[column].tolist(), column
    assert np.allclose(got["cpu_ratio"], want["cpu_ratio"], rtol=1e-12)


def test_only_whole_hours_roll_up_and_a_late_minute_is_rolled_again(engine, ids):
    rows = service_rows(ids, 90)
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, rows)
        rollup.roll_up(conn, T0, T0 + timedelta(minutes=90))  # only 10:00-11:00 is whole
        hours = conn.execute(sa.text("SELECT hour, minutes FROM service_hours")).all()
        assert sorted({(h, m) for h, m in hours}) == [(E0, 60)]
        late = (E0 + 59 * 60, ids["api"], 1e6, 0.0, 0.0, 0.0, 0.5, 1.0, "10.0.0.1:8080")
        writes.upsert(conn, SERVICE_MINUTES, [late])
        rollup.roll_up(conn, T0, T0 + timedelta(hours=1))
        total = conn.execute(sa.text(
            f"SELECT requests FROM service_hours WHERE hour = {E0} "
            f"AND service_id = {ids['api']}")).scalar()
    assert total == sum(100 + i for i in range(59)) + 1e6


def test_retention_rolls_up_before_it_deletes(engine, ids):
    rows = service_rows(ids, 180)
    now = T0 + timedelta(hours=3)
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, rows)
        before = queries.service_metrics(conn, T0, now, resolution="hour")
        result = rollup.apply_retention(conn, now=now, minute_keep=timedelta(hours=1),
                                        hour_keep=timedelta(days=400))
        after = queries.service_metrics(conn, T0, now, resolution="hour")
        minutes_left = queries.service_metrics(conn, T0, now)
    assert result.minute_rows_deleted == 2 * 120
    assert minutes_left["ts"].min() == T0 + timedelta(hours=2)
    pd.testing.assert_frame_equal(before, after, check_dtype=False)


def test_old_hours_expire_too(engine, ids):
    with engine.begin() as conn:
        writes.upsert(conn, SERVICE_MINUTES, service_rows(ids, 120))
        rollup.roll_up(conn, T0, T0 + timedelta(hours=2))
        result = rollup.apply_retention(conn, now=T0 + timedelta(hours=3, minutes=30),
                                        minute_keep=timedelta(minutes=10),
                                        hour_keep=timedelta(hours=2))
        left = conn.execute(sa.text("SELECT DISTINCT hour FROM service_hours")).scalars().all()
    assert left == [E0 + 3600]
    assert result.hour_rows_deleted == 2


def test_sli_rows_round_trip(engine, ids):
    with engine.begin() as conn:
        slo_id = ensure_slo(conn, slug="api-availability", name="API availability",
                            objective=99.9, period_s=30 * 86400, service_id=ids["api"])
        assert ensure_slo(conn, slug="api-availability", name="renamed", objective=99.0,
                          period_s=86400) == slo_id
        writes.upsert(conn, SliMinute.__table__,
                      [(E0 + 60 * i, slo_id, 990.0 + i, 1000.0) for i in range(5)])
        frame = queries.sli(conn, T0, T0 + timedelta(hours=1), slos=["api-availability"])
        hourly = queries.sli(conn, T0, T0 + timedelta(hours=1), resolution="hour")
    assert frame["good"].tolist() == [990.0, 991.0, 992.0, 993.0, 994.0]
    assert hourly[["good", "total"]].values.tolist() == [[990 * 5 + 10, 5000.0]]


def test_services_are_registered_once_and_updated(engine):
    with engine.begin() as conn:
        first = ensure_services(conn, [ServiceInfo("api", "API")])
        again = ensure_services(conn, [ServiceInfo("api", "API Gateway", team="platform")])
        name = conn.execute(sa.text("SELECT name FROM services")).scalar()
    assert first == again
    assert name == "API Gateway"


@pytest.mark.parametrize(("rowcount", "counted"), [(-1, 0), (None, 0), (0, 0), (7, 7)])
def test_rows_a_driver_does_not_count_are_none_not_minus_one(rowcount, counted):
    """psycopg says -1 when it does not know; counted as -1 it made the retention run's
    samples negative and the collector's own counter refused them, skipping the round."""
    from types import SimpleNamespace

    from services.store.rollup import affected_rows

    assert affected_rows(SimpleNamespace(rowcount=rowcount)) == counted


def test_a_slug_another_process_just_registered_is_taken_not_refused(engine):
    """Two collectors starting together both find an SLO (or service) missing; the second
    insert is a no-op and both get the one row, where the unique key failed a run."""
    from services.store.catalog import _insert_new
    from services.store.models import Slo

    with engine.begin() as first:
        first_id = ensure_slo(first, slug="api-availability", name="API", objective=99.9,
                              period_s=2_592_000)
    table = Slo.__table__
    with engine.begin() as second:  # the other process's insert, after its own lookup
        _insert_new(second, table, {"slug": "api-availability", "name": "API",
                                    "objective": 99.9, "period_s": 2_592_000,
                                    "updated_at": datetime.now(UTC), "labels": {}})
        again = ensure_slo(second, slug="api-availability", name="API", objective=99.9,
                           period_s=2_592_000)
        count = second.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    assert again == first_id and count == 1
