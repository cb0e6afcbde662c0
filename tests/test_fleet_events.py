"""The Analytics Engine's events in the real ClickHouse engine (chdb via clickhouse-connect)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support import T0

from services.fleet.events import EVENT_SHARES, EVENT_TYPES, EventModel, EventWriter
from services.fleet.model import daily_factor


def writer(clickhouse, **kwargs) -> EventWriter:
    client, database = clickhouse
    w = EventWriter(client, EventModel(seed=5, **kwargs), table=f"{database}.events",
                    backfill_days=2)
    w.ensure_table()
    return w


def scalar(clickhouse, sql: str, **parameters) -> float:
    client, database = clickhouse
    return client.query(sql.replace("EVENTS", f"{database}.events"),
                        parameters=parameters).result_rows[0][0]


def test_backfill_writes_the_expected_volume_of_history(clickhouse):
    w = writer(clickhouse, events_per_minute=30)
    written = w.fill(T0)
    minutes = range(int(T0 // 60) - 2 * 1440, int(T0 // 60))
    expected = sum(30 * daily_factor(m * 60 + 30, 0.2) for m in minutes)  # Poisson mean
    assert written == scalar(clickhouse, "SELECT count() FROM EVENTS")
    assert abs(written - expected) < 4 * math.sqrt(expected)
    first, last = (scalar(clickhouse, f"SELECT toUnixTimestamp({f}(timestamp)) FROM EVENTS")
                   for f in ("min", "max"))
    assert first >= T0 - 2 * 86400
    assert last < T0


def test_event_types_users_and_durations_follow_the_model(clickhouse):
    w = writer(clickhouse, events_per_minute=50, users=1000, response_p95_ms=120)
    total = w.fill(T0)
    client, database = clickhouse
    frame = client.query_df(f"SELECT * FROM {database}.events")
    shares = frame["event_type"].value_counts(normalize=True)
    for event_type, share in zip(EVENT_TYPES, EVENT_SHARES, strict=True):
        assert shares[event_type] == pytest.approx(share, abs=0.01)
    assert frame["user_id"].between(1, 1000).all()
    assert frame["user_id"].nunique() < total  # users come back
    assert np.quantile(frame["response_time"], 0.95) == pytest.approx(120, rel=0.03)


def test_a_restarted_writer_continues_without_writing_a_minute_twice(clickhouse):
    writer(clickhouse).fill(T0)
    before = scalar(clickhouse, "SELECT count() FROM EVENTS")
    again = writer(clickhouse)  # a new process: it learns where to resume from the table
    assert again.fill(T0) == 0
    added = again.fill(T0 + 600)
    assert scalar(clickhouse, "SELECT count() FROM EVENTS") == before + added
    per_minute = scalar(clickhouse, "SELECT max(c) FROM (SELECT toStartOfMinute(timestamp) m, "
                        "count() c FROM EVENTS GROUP BY m)")
    assert per_minute < 3 * 20 * 1.2  # no minute holds two writes' worth of events
    newest = scalar(clickhouse, "SELECT toUnixTimestamp(max(timestamp)) FROM EVENTS")
    assert T0 + 540 <= newest < T0 + 600


def test_the_seed_engagement_query_runs_with_server_side_parameters(clickhouse):
    w = writer(clickhouse, events_per_minute=40)
    w.fill(T0)
    client, database = clickhouse
    rows = client.query(
        "SELECT toStartOfDay(timestamp) AS date, count(DISTINCT user_id) AS active_users, "
        "count() AS total_events FROM {db:Identifier}.events "
        "WHERE timestamp >= toDateTime64({since:Int64}, 3, 'UTC') "
        "AND event_type IN {types:Array(String)} GROUP BY date ORDER BY date",
        parameters={"db": database, "since": int(T0) - 86400, "types": list(EVENT_TYPES)},
    ).result_rows
    frame = client.query_df(f"SELECT * FROM {database}.events")
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    recent = frame[stamps >= pd.Timestamp(int(T0) - 86400, unit="s", tz="UTC")]
    by_day = recent.groupby(stamps[recent.index].dt.floor("D"))
    assert [r[2] for r in rows] == by_day.size().tolist()
    assert [r[1] for r in rows] == by_day["user_id"].nunique().tolist()
