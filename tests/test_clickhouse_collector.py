"""The ClickHouse collector on the real engine (chdb through clickhouse-connect), no mocks.

Every figure is checked against an independent pandas computation over the raw events
(`SELECT * FROM db.events`): distinct users and counts exactly, averages and p95 to 1e-9.
The p95 is ClickHouse's `quantileExactInclusive(0.95)`, which is numpy's default
`method="linear"` (Hyndman & Fan type 7, Excel PERCENTILE.INC).
"""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta

import clickhouse_connect
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from support import T0

from collectors.clickhouse import (
    ENGAGEMENT_TYPES,
    EventTableError,
    check_table,
    collect_engagement,
    collect_event_slis,
    daily_engagement,
    describe,
    event_ratio_minutes,
    monthly_active_users,
)
from services.fleet.events import EventModel, EventWriter, create_table_sql
from services.store.engine import make_engine
from services.store.migrate import upgrade
from services.store.models import EngagementDay, SliMinute, Slo
from slo.errors import InputError
from slo.model import SLO, EventRatio, RequestRatio

TODAY = date(2026, 11, 2)  # T0 is 2026-11-02 10:00 UTC
HISTORY = (date(2026, 10, 30), TODAY)  # three days of backfill start on 10-30 at 10:00
EVENT_COLUMNS = ["timestamp", "event_type", "user_id", "session_duration", "response_time"]


def events_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.astype({"user_id": "uint64", "session_duration": "float64",
                         "response_time": "float64"})


# Hand-placed events on top of the model's: both sides of midnight, a type the engagement
# query must leave out, and response times exactly on an SLI threshold.
EXTRA = events_frame([
    ("2026-11-01 23:59:59.999", "page_view", 900_001, 10.0, 50.0),
    ("2026-11-02 00:00:00.000", "click", 900_001, 20.0, 60.0),
    ("2026-11-01 12:00:00.000", "signup", 900_002, 30.0, 70.0),
    *[(f"2026-11-02 09:50:{s:02d}.000", "purchase", 900_010 + s, 5.0, 120.0) for s in range(5)],
])


@pytest.fixture
def events(clickhouse):
    """(client, table, writer): three days of model events up to T0, plus EXTRA."""
    client, database = clickhouse
    table = f"{database}.events"
    writer = EventWriter(client, EventModel(seed=11, events_per_minute=12, users=5_000),
                         table=table, backfill_days=3)
    writer.ensure_table()
    writer.fill(T0)
    client.insert_df(table, EXTRA)
    return client, table, writer


def raw_events(client, table: str) -> pd.DataFrame:
    frame = client.query_df(f"SELECT * FROM {table}")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["event_type"] = frame["event_type"].astype(object)
    return frame


def reference_engagement(frame: pd.DataFrame, since: date, until: date) -> pd.DataFrame:
    """The engagement rollup computed by pandas, `all` as a copy of every row."""
    kept = frame[frame["event_type"].isin(ENGAGEMENT_TYPES)].copy()
    kept["day"] = kept["timestamp"].dt.date
    kept = kept[(kept["day"] >= since) & (kept["day"] <= until)]
    both = pd.concat([kept, kept.assign(event_type="all")])
    groups = both.groupby(["day", "event_type"])
    return pd.DataFrame({
        "active_users": groups["user_id"].nunique(),
        "events": groups.size(),
        "avg_session_s": groups["session_duration"].mean(),
        "p95_response_ms": groups["response_time"].agg(
            lambda s: np.quantile(s.to_numpy(), 0.95, method="linear")),
    }).reset_index().sort_values(["day", "event_type"], ignore_index=True)


def assert_same_figures(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(zip(got["day"], got["event_type"], strict=True)) == \
        list(zip(want["day"], want["event_type"], strict=True))
    assert got["active_users"].tolist() == want["active_users"].tolist()
    assert got["events"].tolist() == want["events"].tolist()
    for column in ("avg_session_s", "p95_response_ms"):
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), rel=0, abs=1e-9)


# --- the engagement rollup -----------------------------------------------------------------


def test_daily_engagement_matches_pandas_per_type_and_all(events):
    client, table, _ = events
    got = daily_engagement(client, table, since_day=HISTORY[0], until_day=HISTORY[1])
    want = reference_engagement(raw_events(client, table), *HISTORY)
    assert len(got) == 4 * 4  # four days, three types and `all`
    assert set(got["event_type"]) == {*ENGAGEMENT_TYPES, "all"}
    assert_same_figures(got, want)
    assert all(type(day) is date for day in got["day"])  # ready for the store's Date column


def test_days_outside_the_range_are_left_out(events):
    client, table, _ = events
    got = daily_engagement(client, table, since_day=date(2026, 10, 31),
                           until_day=date(2026, 11, 1))
    want = reference_engagement(raw_events(client, table), date(2026, 10, 31),
                                date(2026, 11, 1))
    assert sorted(set(got["day"])) == [date(2026, 10, 31), date(2026, 11, 1)]
    assert_same_figures(got, want)


def test_a_day_is_a_utc_day_from_midnight_to_midnight(clickhouse):
    client, database = clickhouse
    table = f"{database}.events"
    client.command(create_table_sql(table))
    client.insert_df(table, EXTRA.iloc[:3])
    got = daily_engagement(client, table, since_day=date(2026, 11, 1), until_day=TODAY)
    rows = {(r.day, r.event_type): r.events for r in got.itertuples()}
    assert rows == {
        (date(2026, 11, 1), "page_view"): 1, (date(2026, 11, 1), "all"): 1,  # 23:59:59.999
        (TODAY, "click"): 1, (TODAY, "all"): 1,  # 00:00:00.000; the signup is not engagement
    }


def test_p95_is_numpys_linear_quantile_not_an_estimate(clickhouse):
    client, database = clickhouse
    table = f"{database}.events"
    client.command(create_table_sql(table))
    times = [float(v) for v in range(1, 21)]  # 20 values: rank 0.95 * 19 = 18.05
    client.insert_df(table, events_frame(
        [("2026-11-02 01:00:00", "click", i, 1.0, v) for i, v in enumerate(times)]))
    got = daily_engagement(client, table, since_day=TODAY, until_day=TODAY)
    p95 = got.set_index("event_type").loc["all", "p95_response_ms"]
    assert p95 == pytest.approx(19.05, abs=1e-12)
    assert p95 == pytest.approx(np.quantile(times, 0.95, method="linear"), abs=1e-12)
    assert p95 != np.quantile(times, 0.95, method="inverted_cdf")  # 19.0, not interpolated


def test_the_rollup_is_the_same_to_the_last_bit_on_every_run(events):
    """A plain avg() is not: its Float64 sum depends on the order threads add up in."""
    client, table, _ = events
    runs = [daily_engagement(client, table, since_day=HISTORY[0], until_day=HISTORY[1])
            for _ in range(10)]
    for run in runs[1:]:
        pd.testing.assert_frame_equal(run, runs[0], check_exact=True)


def test_monthly_active_users_counts_each_user_once_over_the_month(events):
    client, table, _ = events
    frame = raw_events(client, table)
    engaged = frame[frame["event_type"].isin(ENGAGEMENT_TYPES)]
    day = engaged["timestamp"].dt.date
    for first, last in [(date(2026, 10, 1), date(2026, 10, 31)),
                        (date(2026, 11, 1), date(2026, 11, 30))]:
        want = engaged.loc[(day >= first) & (day <= last), "user_id"].nunique()
        got = monthly_active_users(client, table, month_start=first, month_end=last)
        assert got == want
    daily = daily_engagement(client, table, since_day=date(2026, 11, 1), until_day=TODAY)
    all_rows = daily[daily["event_type"] == "all"]["active_users"]
    november = monthly_active_users(client, table, month_start=date(2026, 11, 1),
                                    month_end=date(2026, 11, 30))
    assert all_rows.max() <= november <= all_rows.sum()


def test_a_table_without_a_database_is_read_from_the_clients_database(events, chdb_path):
    client, table, _ = events
    database, name = table.split(".")
    local = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}", database=database)
    try:
        assert_same_figures(
            daily_engagement(local, name, since_day=HISTORY[0], until_day=HISTORY[1]),
            daily_engagement(client, table, since_day=HISTORY[0], until_day=HISTORY[1]),
        )
    finally:
        local.close()  # the engine stays open for the session's other clients


def test_names_go_in_as_identifier_parameters_so_a_keyword_table_name_works(clickhouse):
    client, database = clickhouse
    client.command(create_table_sql(f"{database}.`select`"))
    client.insert_df(f"{database}.select", EXTRA)
    got = daily_engagement(client, f"{database}.select", since_day=TODAY, until_day=TODAY)
    assert got.set_index("event_type").loc["all", "events"] == 6


# --- the events table is checked before it is read -------------------------------------------


def test_a_table_missing_response_time_is_refused_naming_it(clickhouse):
    client, database = clickhouse
    table = f"{database}.thin_events"
    client.command(f"CREATE TABLE {table} (timestamp DateTime64(3, 'UTC'), "
                   "event_type String, user_id UInt64, session_duration Float64) "
                   "ENGINE = MergeTree ORDER BY timestamp")
    with pytest.raises(EventTableError, match=r"thin_events.*lacks column\(s\) response_time"
                       ) as caught:
        daily_engagement(client, table, since_day=TODAY, until_day=TODAY)
    assert caught.value.missing == ("response_time",)
    assert caught.value.table == table


def test_a_column_of_the_wrong_type_is_refused_naming_it_and_its_type(clickhouse):
    client, database = clickhouse
    table = f"{database}.odd_events"
    client.command(f"CREATE TABLE {table} (timestamp DateTime64(3, 'UTC'), "
                   "event_type String, user_id String, session_duration Float64, "
                   "response_time Float64) ENGINE = MergeTree ORDER BY timestamp")
    with pytest.raises(EventTableError, match=r"odd_events.*user_id \(String; expected an "
                       r"integer type\)") as caught:
        check_table(client, table)
    assert caught.value.wrong == {"user_id": "String"}


def test_the_fleets_table_passes_the_check(events):
    client, table, _ = events
    assert str(check_table(client, table)) == table


def test_a_table_that_does_not_exist_is_named(clickhouse):
    client, database = clickhouse
    with pytest.raises(EventTableError, match=rf"{database}\.nowhere: does not exist"):
        check_table(client, f"{database}.nowhere")


@pytest.mark.parametrize("table", [
    pytest.param("{real}; DROP TABLE {real}", id="a second statement"),
    pytest.param("{real} WHERE 1=1 --", id="a clause and a comment"),
    pytest.param("`{real}`", id="quoting of its own"),
    pytest.param("db.events.extra", id="three parts"),
    pytest.param("", id="empty"),
    pytest.param("1events", id="starting with a digit"),
    pytest.param("evénts", id="beyond ASCII"),
])
def test_table_names_with_sql_in_them_are_refused_before_any_query(events, table):
    client, real, _ = events
    before = client.query(f"SELECT count() FROM {real}").result_rows[0][0]
    with pytest.raises(InputError, match="ClickHouse table"):
        daily_engagement(client, table.format(real=real), since_day=TODAY, until_day=TODAY)
    assert client.query(f"SELECT count() FROM {real}").result_rows[0][0] == before


@pytest.mark.parametrize(("field", "op", "reason"), [
    pytest.param("response_time) OR (1", "lt", "not a plain identifier", id="SQL in the field"),
    pytest.param("response_time", "<", "not a comparison", id="an operator, not its name"),
    pytest.param("response_time", "ne", "not a comparison", id="outside the whitelist"),
    pytest.param("latency_ms", "lt", "lacks column\\(s\\) latency_ms", id="not a column"),
    pytest.param("event_type", "lt", "event_type \\(LowCardinality", id="not a number"),
])
def test_event_ratio_fields_and_operators_are_checked(events, field, op, reason):
    client, table, _ = events
    sli = EventRatio(table=table, event_types=("purchase",), field=field, op=op, value=1)
    with pytest.raises(InputError, match=reason):
        event_ratio_minutes(client, sli, start=T0 - 3600, end=T0)


def test_event_types_are_values_not_sql(events):
    client, table, _ = events
    sli = EventRatio(table=table, event_types=("purchase' OR '1'='1",), field="response_time",
                     op="gte", value=0)
    assert event_ratio_minutes(client, sli, start=T0 - 3600, end=T0).empty


# --- event-ratio SLIs ------------------------------------------------------------------------


def reference_minutes(frame: pd.DataFrame, sli: EventRatio, start: int, end: int):
    seconds = (frame["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    minute = seconds - seconds % 60
    kept = frame.assign(minute=minute)
    kept = kept[(kept["minute"] >= start) & (kept["minute"] < end)]
    if sli.event_types:
        kept = kept[kept["event_type"].isin(sli.event_types)]
    compare = {"lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal}
    kept = kept.assign(good=compare[sli.op](kept[sli.field], sli.value))
    groups = kept.groupby("minute")
    return pd.DataFrame({"good": groups["good"].sum(), "total": groups.size()}) \
        .reset_index().astype("int64")


@pytest.mark.parametrize("op", ["lt", "lte", "gt", "gte"])
def test_event_ratio_minutes_match_pandas(events, op):
    client, table, _ = events
    sli = EventRatio(table=table, event_types=("purchase", "click"), field="response_time",
                     op=op, value=120.0)  # five purchases at 09:50 sit exactly on it
    got = event_ratio_minutes(client, sli, start=T0 - 3600 + 30, end=T0)  # start is floored
    want = reference_minutes(raw_events(client, table), sli, int(T0) - 3600, int(T0))
    pd.testing.assert_frame_equal(got, want)
    assert got["minute"].between(T0 - 3600, T0 - 60).all()
    assert got["total"].sum() > 100


def test_no_event_types_means_every_type(events):
    client, table, _ = events
    sli = EventRatio(table=table, event_types=(), field="session_duration", op="lt", value=60)
    got = event_ratio_minutes(client, sli, start=T0 - 7200, end=T0)
    pd.testing.assert_frame_equal(
        got, reference_minutes(raw_events(client, table), sli, int(T0) - 7200, int(T0)))


# --- collect: through the store, on SQLite and PostgreSQL --------------------------------------


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store' / 'apollo.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def stored(engine, table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key))]


ENGAGEMENT = EngagementDay.__table__
SLI_MINUTES = SliMinute.__table__


def test_collect_engagement_writes_the_rollup_and_a_rerun_writes_the_same_rows(events, engine):
    client, table, _ = events
    first = collect_engagement(client, engine, table=table, days=4, now=T0)
    assert (first.status, first.samples, first.collector) == ("ok", 16, "clickhouse")
    assert first.target.startswith("chdb://")
    rows = stored(engine, ENGAGEMENT)
    frame = daily_engagement(client, table, since_day=HISTORY[0], until_day=HISTORY[1])
    assert rows == [tuple(r) for r in frame.itertuples(index=False)]
    again = collect_engagement(client, engine, table=table, days=4, now=T0)
    assert again.status == "ok"
    assert stored(engine, ENGAGEMENT) == rows


def test_todays_partial_row_is_rewritten_as_the_day_goes_on(events, engine):
    client, table, writer = events
    collect_engagement(client, engine, table=table, days=2, now=T0)
    before = {(r[0], r[1]): r for r in stored(engine, ENGAGEMENT)}
    writer.fill(T0 + 3600)  # another hour of events
    collect_engagement(client, engine, table=table, days=2, now=T0 + 3600)
    after = {(r[0], r[1]): r for r in stored(engine, ENGAGEMENT)}
    assert after.keys() == before.keys()
    assert after[(TODAY, "all")][3] > before[(TODAY, "all")][3]  # more events today
    yesterday = date(2026, 11, 1)
    assert [after[k] for k in after if k[0] == yesterday] == \
        [before[k] for k in before if k[0] == yesterday]
    want = reference_engagement(raw_events(client, table), yesterday, TODAY)
    assert_same_figures(pd.DataFrame(sorted(after.values()), columns=list(want.columns)), want)


def purchase_slo(table: str, field: str = "response_time", name: str = "purchase-latency"):
    return SLO(service="analytics-engine", name=name, objective=99.0,
               sli=EventRatio(table=table, event_types=("purchase",), field=field, op="lte",
                              value=120.0))


def test_collect_event_slis_writes_minutes_and_a_rerun_changes_nothing(events, engine):
    client, table, _ = events
    slo = purchase_slo(table)
    other = SLO(service="api", name="availability", objective=99.9,
                sli=RequestRatio(total_query="sum(rate(x[{{.window}}]))", error_query="y"))
    run = collect_event_slis(client, engine, slos=[slo, other], now=T0 + 20,
                             lookback=timedelta(hours=2))
    assert run.status == "ok"
    with engine.connect() as conn:
        slos = conn.execute(sa.select(Slo.__table__.c.id, Slo.__table__.c.slug,
                                      Slo.__table__.c.objective)).all()
    assert [(slug, objective) for _, slug, objective in slos] == \
        [("analytics-engine-purchase-latency", 99.0)]  # the RequestRatio SLO is not ours
    want = reference_minutes(raw_events(client, table), slo.sli, int(T0) - 7200, int(T0))
    rows = stored(engine, SLI_MINUTES)
    assert rows == [(m, slos[0][0], float(g), float(t), "clickhouse")
                    for m, g, t in want.itertuples(index=False)]
    assert run.samples == len(rows)
    collect_event_slis(client, engine, slos=[slo], now=T0 + 20, lookback=timedelta(hours=2))
    assert stored(engine, SLI_MINUTES) == rows


def test_one_broken_slo_does_not_stop_the_others(events, sqlite_engine):
    client, table, _ = events
    broken = purchase_slo(table, field="latency_ms", name="broken")
    run = collect_event_slis(client, sqlite_engine, slos=[broken, purchase_slo(table)], now=T0)
    assert run.status == "partial"
    assert len(run.errors) == 1
    assert "analytics-engine-broken" in run.errors[0]
    assert "latency_ms" in run.errors[0]
    assert run.samples == len(stored(sqlite_engine, SLI_MINUTES)) > 0


# --- a source that fails gives a failed run, never an exception -------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: bound (so free) and released again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_gives_a_failed_run_naming_it(sqlite_engine):
    dsn = f"http://127.0.0.1:{closed_port()}"
    run = collect_engagement(dsn, sqlite_engine, table="events", days=2, now=T0)
    assert (run.status, run.collector, run.target, run.samples) == ("failed", "clickhouse",
                                                                     dsn, 0)
    assert run.errors[0].startswith(f"ClickHouse {dsn}: ")
    assert run.finished_at is not None
    slis = collect_event_slis(dsn, sqlite_engine, slos=[purchase_slo("events")], now=T0)
    assert slis.status == "failed"
    assert slis.errors[0].startswith(f"ClickHouse {dsn}: ")
    assert stored(sqlite_engine, ENGAGEMENT) == stored(sqlite_engine, SLI_MINUTES) == []


def test_a_failed_run_does_not_show_the_dsns_password(sqlite_engine):
    port = closed_port()
    run = collect_engagement(f"http://apollo:s3cret@127.0.0.1:{port}/analytics", sqlite_engine,
                             table="events", days=1, now=T0)
    assert run.status == "failed"
    assert "s3cret" not in run.target + "".join(run.errors)
    assert run.target == f"http://apollo:***@127.0.0.1:{port}/analytics"
    assert describe("chdb:///var/lib/apollo/events") == "chdb:///var/lib/apollo/events"


def test_a_query_error_gives_a_failed_run_naming_the_table(clickhouse, sqlite_engine):
    client, database = clickhouse
    run = collect_engagement(client, sqlite_engine, table=f"{database}.missing", days=1,
                             now=datetime.fromtimestamp(T0, UTC))
    assert run.status == "failed"
    assert f"{database}.missing: does not exist" in run.errors[0]
    assert run.errors[0].startswith("ClickHouse chdb://")


def test_a_second_chdb_path_in_one_process_gives_a_failed_run_saying_why(
        clickhouse, sqlite_engine, tmp_path):
    dsn = f"chdb://{tmp_path / 'other-events'}"  # the session already holds another path
    run = collect_engagement(dsn, sqlite_engine, table="events", days=1, now=T0)
    assert run.status == "failed"
    assert run.errors[0].startswith(f"ClickHouse {dsn}: ")
    assert "one path per process and one process per path" in run.errors[0]
