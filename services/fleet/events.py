"""The Analytics Engine's user events, written into ClickHouse (embedded chdb or a server).

Events arrive at `events_per_minute` on the same daily curve as the services' traffic;
users are drawn with a skew (a few heavy users, a long tail), session lengths and
response times are log-normal. On start the writer backfills history, and after a
restart it continues from the last whole minute it wrote, so no minute is written twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.fleet.model import Z95, daily_factor

EVENT_TYPES = ("page_view", "click", "purchase")
EVENT_SHARES = (0.70, 0.25, 0.05)
SESSION_MEDIAN_S = 180.0
SESSION_SIGMA = 0.8
RESPONSE_SIGMA = 0.5
DAY = 86400


def create_table_sql(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " timestamp DateTime64(3, 'UTC'),"
        " event_type LowCardinality(String),"
        " user_id UInt64,"
        " session_duration Float64,"  # seconds
        " response_time Float64"  # milliseconds
        ") ENGINE = MergeTree ORDER BY (event_type, timestamp)"
    )


@dataclass(frozen=True)
class EventModel:
    """How many events, of which kind, by whom, how long, for a seed."""

    seed: int
    events_per_minute: float = 20.0
    users: int = 50_000
    response_p95_ms: float = 120.0
    amplitude: float = 0.2

    def generate(self, start_minute: int, end_minute: int) -> pd.DataFrame:
        """Events of the whole minutes [start, end) (Unix minutes), deterministic per range."""
        rng = np.random.default_rng([self.seed, start_minute, end_minute])
        minutes = np.arange(start_minute, end_minute)
        rates = self.events_per_minute * np.array(
            [daily_factor(m * 60 + 30, self.amplitude) for m in minutes]
        )
        counts = rng.poisson(rates)
        n = int(counts.sum())
        seconds = np.repeat(minutes * 60, counts) + rng.random(n) * 60
        response_median = self.response_p95_ms / math.exp(Z95 * RESPONSE_SIGMA)
        return pd.DataFrame({
            "timestamp": pd.to_datetime(np.floor(seconds * 1000).astype("int64"), unit="ms",
                                        utc=True),
            "event_type": rng.choice(EVENT_TYPES, size=n, p=EVENT_SHARES),
            "user_id": (1 + np.floor(self.users * rng.random(n) ** 2)).astype("uint64"),
            "session_duration": np.round(rng.lognormal(math.log(SESSION_MEDIAN_S),
                                                       SESSION_SIGMA, n), 3),
            "response_time": np.round(rng.lognormal(math.log(response_median),
                                                    RESPONSE_SIGMA, n), 3),
        })


class EventWriter:
    """Keeps the events table filled up to the last whole minute."""

    def __init__(self, client: object, model: EventModel, *, table: str = "events",
                 backfill_days: int = 30) -> None:
        self.client = client
        self.model = model
        self.table = table
        self.backfill_days = backfill_days
        self.written_until: int | None = None  # Unix minute after the last one written

    def ensure_table(self) -> None:
        self.client.command(create_table_sql(self.table))  # type: ignore[attr-defined]

    def _resume_point(self, end_minute: int) -> int:
        if self.written_until is not None:
            return self.written_until
        last = self.client.query(  # type: ignore[attr-defined]
            f"SELECT toUnixTimestamp(max(timestamp)), count() FROM {self.table}"
        ).result_rows[0]
        if last[1]:
            return int(last[0]) // 60 + 1
        return end_minute - self.backfill_days * DAY // 60

    def fill(self, now: float) -> int:
        """Write every whole minute not yet written up to `now`; returns events written."""
        end = int(now // 60)
        start = self._resume_point(end)
        written = 0
        for chunk_start in range(start, end, DAY // 60):
            chunk_end = min(end, chunk_start + DAY // 60)
            frame = self.model.generate(chunk_start, chunk_end)
            if len(frame):
                self.client.insert_df(self.table, frame)  # type: ignore[attr-defined]
            written += len(frame)
            self.written_until = chunk_end
        if start >= end:
            self.written_until = start
        return written
