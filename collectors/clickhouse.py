"""Engagement rollups and event SLIs from the Analytics Engine's events in ClickHouse.

The same code reads the embedded engine (`chdb:///abs/path`, chdb through
clickhouse-connect) and a ClickHouse server (`http(s)://…`): the client is passed in.

    check_table(client, table)                      the columns the queries read, or an error
    daily_engagement(client, table, since_day=, until_day=)   DataFrame, one row per
                                                    (UTC day, event type) plus `all`
    monthly_active_users(client, table, month_start=, month_end=)   distinct users, int
    event_ratio_minutes(client, sli, start=, end=)  DataFrame(minute, good, total)
    collect_engagement(client, engine, table=, days=, now=)   -> RunResult (engagement_days)
    collect_event_slis(client, engine, slos=, now=, lookback=) -> RunResult (sli_minutes)

Every value reaches ClickHouse as a server-side `{name:Type}` parameter; database, table
and column names as `{name:Identifier}` parameters (checked against `_NAME` first, so a
bad name is refused with a clear message before any query runs). The one piece of SQL
that is not a parameter, a comparison operator, comes from the fixed `OPERATORS` table.
The collect functions never raise for a source problem: they return a failed `RunResult`
naming the source, so the scheduler records it and retries on its next tick.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from sqlalchemy import Engine

from collectors.runs import RunResult
from services.errors import SourceUnavailable
from services.files import mask_url
from services.store import writes
from services.store.catalog import ensure_slo, service_ids
from services.store.models import EngagementDay, SliMinute
from services.store.timeutil import MINUTE, floor_to, from_epoch, to_epoch
from slo.errors import InputError
from slo.model import SLO, Comparison, EventRatio

COLLECTOR = "clickhouse"
INSTANCE = COLLECTOR  # the instance of every SLI row: ClickHouse has counted every event
ENGAGEMENT_TYPES = ("page_view", "click", "purchase")
ALL_TYPES = "all"  # event_type of the row over every engagement type

# Comparison operators an EventRatio may use; nothing else is ever put into SQL text.
OPERATORS: Mapping[Comparison, str] = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

# A database, table or column name. Identifier parameters would already keep SQL out (the
# engine quotes the value as one name), but a strict shape gives a clear error up front
# and keeps names to what the configuration and SLO specs accept anyway.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

_NUMBER = r"(U?Int(8|16|32|64|128|256)|Float(32|64)|BFloat16|Decimal(32|64|128|256)?\(.*\))"
# Column -> accepted ClickHouse types (after unwrapping LowCardinality(...)).
EVENT_COLUMNS: Mapping[str, re.Pattern[str]] = {
    "timestamp": re.compile(r"DateTime(64)?(\(.*\))?"),
    "event_type": re.compile(r"String"),
    "user_id": re.compile(r"U?Int(8|16|32|64|128|256)"),
    "session_duration": re.compile(_NUMBER),  # seconds
    "response_time": re.compile(_NUMBER),  # milliseconds
}
_RATIO_COLUMNS = ("timestamp", "event_type")  # besides the SLI's own field


class EventTableError(InputError):
    """The events table is missing, lacks a column the queries read, or has a wrong type.

    `.table`, `.missing` (column names) and `.wrong` ({column: found type}) say which.
    """

    def __init__(self, table: str, msg: str, *, missing: Iterable[str] = (),
                 wrong: Mapping[str, str] | None = None) -> None:
        super().__init__(msg, field=f"ClickHouse table {table}")
        self.table = table
        self.missing = tuple(missing)
        self.wrong = dict(wrong or {})


# --- names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRef:
    """A checked `database.table`; `params` feeds `{database:Identifier}.{table:Identifier}`.

    A dotted value in ONE Identifier parameter is read as a single name (`db.events` with
    the dot inside), so database and table are two parameters.
    """

    database: str
    table: str

    @property
    def params(self) -> dict[str, str]:
        return {"database": self.database, "table": self.table}

    def __str__(self) -> str:
        return f"{self.database}.{self.table}"


def check_name(name: str, what: str) -> str:
    """`name` if it is a plain identifier, else InputError naming `what` and the value."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"{name!r} is not a plain identifier (letters, digits and '_', "
                         "not starting with a digit)", field=what)
    return name


def parse_table(table: str) -> tuple[str | None, str]:
    """`events` or `db.events` -> (database or None, table); refuses anything else."""
    parts = table.split(".") if isinstance(table, str) else [table]
    if len(parts) > 2:
        raise InputError(f"{table!r} is not a table name (expected table or database.table)",
                         field="ClickHouse table")
    for part in parts:
        check_name(part, f"ClickHouse table {table!r}")
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


_CURRENT_DATABASE = "SELECT currentDatabase()"


def resolve_table(client: Client, table: str) -> TableRef:
    """The table with its database: the client's current database when none is given."""
    database, name = parse_table(table)
    if database is None:
        database = str(client.query(_CURRENT_DATABASE).result_rows[0][0])
    return TableRef(database, name)


# --- the table's columns ---------------------------------------------------------------------

_COLUMNS_SQL = """
SELECT name, type
FROM system.columns
WHERE database = {database:String} AND table = {table:String}
ORDER BY position
"""


def table_columns(client: Client, ref: TableRef) -> dict[str, str]:
    """Column name -> ClickHouse type, in table order; empty when the table does not exist."""
    rows = client.query(_COLUMNS_SQL, parameters=ref.params).result_rows
    return {str(name): str(type_) for name, type_ in rows}


def _base_type(type_: str) -> str:
    match = re.fullmatch(r"LowCardinality\((.*)\)", type_)
    return match.group(1) if match else type_


def _check_columns(ref: TableRef, columns: Mapping[str, str],
                   wanted: Mapping[str, re.Pattern[str]]) -> None:
    if not columns:
        raise EventTableError(str(ref), "does not exist (no columns in system.columns)")
    missing = [name for name in wanted if name not in columns]
    wrong = {name: columns[name] for name, pattern in wanted.items()
             if name in columns and not pattern.fullmatch(_base_type(columns[name]))}
    if not missing and not wrong:
        return
    parts = []
    if missing:
        parts.append(f"lacks column(s) {', '.join(missing)}")
    if wrong:
        parts.append("has the wrong type for " + ", ".join(
            f"{name} ({found}; expected {_EXPECTED[name]})" for name, found in wrong.items()))
    raise EventTableError(str(ref), "; ".join(parts), missing=missing, wrong=wrong)


_EXPECTED = {
    "timestamp": "DateTime or DateTime64",
    "event_type": "String or LowCardinality(String)",
    "user_id": "an integer type",
    "session_duration": "a number, seconds",
    "response_time": "a number, milliseconds",
}


def check_table(client: Client, table: str) -> TableRef:
    """Check that `table` has the five event columns the queries read, with usable types.

    Raises EventTableError naming the table and every missing or wrongly typed column;
    returns the resolved table.
    """
    ref = resolve_table(client, table)
    _check_columns(ref, table_columns(client, ref), EVENT_COLUMNS)
    return ref


# --- time ------------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _utc(value: datetime | pd.Timestamp | float) -> datetime:
    """Aware datetime (naive = UTC), pandas Timestamp or Unix seconds -> aware UTC datetime."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- engagement ------------------------------------------------------------------------------

# One scan gives both grouping sets: (day, event_type) and (day) alone, the `all` row.
# group_by_use_nulls makes event_type NULL in the (day) set whatever the server's defaults,
# so `ifNull` names that row. uniqExact and quantileExactInclusive are exact (see
# docs/clickhouse.md); timestamps are compared as instants, days are UTC days.
# The average is not `avg`: a Float64 sum depends on the order threads and parts add up
# in, so `avg` differs in its last bits from run to run (3 values in 20 runs here) and
# every rerun would rewrite the stored rows. Decimal addition is exact, so the sum of the
# values (each truncated to 1e-12 s) is the same in any order.
ENGAGEMENT_SQL = """
SELECT
    toDate(timestamp, 'UTC') AS day,
    ifNull(event_type, 'all') AS kind,
    uniqExact(user_id) AS active_users,
    count() AS events,
    toFloat64(sum(toDecimal128(session_duration, 12))) / count() AS avg_session_s,
    quantileExactInclusive(0.95)(response_time) AS p95_response_ms
FROM {database:Identifier}.{table:Identifier}
WHERE timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
  AND event_type IN {event_types:Array(String)}
GROUP BY GROUPING SETS ((day, event_type), (day))
ORDER BY day, kind
SETTINGS group_by_use_nulls = 1
"""

ENGAGEMENT_COLUMNS = ["day", "event_type", "active_users", "events", "avg_session_s",
                      "p95_response_ms"]  # = engagement_days, in its column order


def daily_engagement(client: Client, table: str, *, since_day: date,
                     until_day: date) -> pd.DataFrame:
    """Per UTC day in [since_day, until_day] and per engagement type, plus `all` of them.

    Columns as `engagement_days`: day (datetime.date), event_type, active_users (exact
    distinct users), events, avg_session_s, p95_response_ms (exact, linear interpolation).
    A day with no events has no rows. `until_day` may be today: its rows then cover the
    events written so far, and the next run rewrites them.
    """
    if until_day < since_day:
        raise InputError(f"until_day {until_day} is before since_day {since_day}",
                         field="daily_engagement")
    ref = check_table(client, table)
    result = client.query(ENGAGEMENT_SQL, parameters={
        **ref.params,
        "start": _day_start(since_day),
        "end": _day_start(until_day + timedelta(days=1)),
        "event_types": list(ENGAGEMENT_TYPES),
    })
    frame = pd.DataFrame(result.result_rows, columns=ENGAGEMENT_COLUMNS)
    return frame.astype({"day": object, "event_type": object, "active_users": "int64",
                         "events": "int64", "avg_session_s": "float64",
                         "p95_response_ms": "float64"})


MONTHLY_USERS_SQL = """
SELECT uniqExact(user_id)
FROM {database:Identifier}.{table:Identifier}
WHERE timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
  AND event_type IN {event_types:Array(String)}
"""


def monthly_active_users(client: Client, table: str, *, month_start: date,
                         month_end: date) -> int:
    """Distinct users with an engagement event in the UTC days [month_start, month_end].

    Both ends included (pass the month's first and last day). Exact (`uniqExact`), so it is
    at least every day's `all` active users in that range and at most their sum.
    """
    if month_end < month_start:
        raise InputError(f"month_end {month_end} is before month_start {month_start}",
                         field="monthly_active_users")
    ref = check_table(client, table)
    result = client.query(MONTHLY_USERS_SQL, parameters={
        **ref.params,
        "start": _day_start(month_start),
        "end": _day_start(month_end + timedelta(days=1)),
        "event_types": list(ENGAGEMENT_TYPES),
    })
    return int(result.result_rows[0][0])


# --- event-ratio SLIs ---------------------------------------------------------------------------

# `<OP>` is replaced, once at import, by each operator of OPERATORS: four fixed texts. An
# empty event_types list means every type.
_EVENT_RATIO_TEMPLATE = """
SELECT
    toUnixTimestamp(toStartOfMinute(timestamp)) AS minute,
    countIf({field:Identifier} <OP> {value:Float64}) AS good,
    count() AS total
FROM {database:Identifier}.{table:Identifier}
WHERE timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
  AND (empty({event_types:Array(String)}) OR event_type IN {event_types:Array(String)})
GROUP BY minute
ORDER BY minute
"""
EVENT_RATIO_SQL: Mapping[Comparison, str] = {
    op: _EVENT_RATIO_TEMPLATE.replace("<OP>", symbol) for op, symbol in OPERATORS.items()
}


def event_ratio_minutes(client: Client, sli: EventRatio, *,
                        start: datetime | float, end: datetime | float) -> pd.DataFrame:
    """Good and total events per whole minute in [start, end) for an EventRatio SLI.

    `start` and `end` (aware datetimes, naive = UTC, or Unix seconds) are floored to the
    minute. Columns: minute (Unix seconds, int64), good, total (int64); a minute without
    events has no row. Refuses an unknown operator, and a field that is not a numeric
    column of the table.
    """
    sql = EVENT_RATIO_SQL.get(sli.op)
    if sql is None:
        raise InputError(f"{sli.op!r} is not a comparison ({', '.join(OPERATORS)})",
                         field="event_ratio op")
    check_name(sli.field, "event_ratio field")
    ref = resolve_table(client, sli.table)
    wanted = {name: EVENT_COLUMNS[name] for name in _RATIO_COLUMNS}
    wanted[sli.field] = re.compile(_NUMBER)
    _check_columns(ref, table_columns(client, ref), wanted)
    low = floor_to(to_epoch(_utc(start)), MINUTE)
    high = floor_to(to_epoch(_utc(end)), MINUTE)
    result = client.query(sql, parameters={
        **ref.params,
        "field": sli.field,
        "value": float(sli.value),
        "start": from_epoch(low),
        "end": from_epoch(max(low, high)),
        "event_types": [str(t) for t in sli.event_types],
    })
    frame = pd.DataFrame(result.result_rows, columns=["minute", "good", "total"])
    return frame.astype("int64")


# --- collect: write through the store --------------------------------------------------------


def describe(source: Client | str) -> str:
    """The source's DSN or URL, password hidden: what a RunResult and its errors name."""
    text = source if isinstance(source, str) else str(getattr(source, "uri", "") or source)
    return mask_url(text)


class _Source:
    """The client for one run: the one given, or one opened from a DSN (and closed after)."""

    def __init__(self, source: Client | str) -> None:
        self.given = source
        self.target = describe(source)
        self.client: Client | None = None if isinstance(source, str) else source

    def __enter__(self) -> _Source:
        return self

    def open(self) -> Client:
        if self.client is None:
            import clickhouse_connect

            self.client = clickhouse_connect.get_client(dsn=str(self.given))
        return self.client

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.given, str) and self.client is not None:
            self.client.close()


def _failure(target: str, exc: Exception) -> str:
    """One line naming the source: `ClickHouse <dsn>: <the error, on one line>`.

    A server's error spans lines (driver line, then ClickHouse's `Code: …`), so all of it
    is kept, joined and cut at 500 characters.
    """
    reason = " ".join(str(exc).split())[:500] or type(exc).__name__
    if target.startswith("chdb:") and "EmbeddedServer" in reason:
        # chdb's own message for a path locked by another process is just "Error
        # initializing EmbeddedServer: ." (the lock error goes to stderr only).
        reason += f" ({_ONE_PATH})"
    return str(SourceUnavailable(f"ClickHouse {target}", reason))


_ONE_PATH = ("the embedded engine opens one path per process and one process per path: "
             "another path is open here, or another process owns this one")


# What a source can throw at a run: the driver's errors (including a refused connection,
# which it raises as OperationalError), socket errors, and our refusals of names and tables.
_SOURCE_ERRORS = (ClickHouseError, OSError, InputError)


def collect_engagement(client: Client | str, engine: Engine, *, table: str, days: int,
                       now: datetime | float) -> RunResult:
    """Rewrite `engagement_days` for the last `days` UTC days, today (partial) included.

    `client` is a clickhouse-connect client or a DSN opened for this run. Idempotent: a
    rerun writes the same rows, and the rows of today and the days before are rewritten on
    every run, so a partial day becomes whole once the day is over. A source error (down,
    refused, bad table) is returned as a failed RunResult; store errors propagate.
    """
    if days < 1:
        raise InputError(f"must be at least 1, got {days}", field="collect_engagement days")
    until_day = _utc(now).date()
    since_day = until_day - timedelta(days=days - 1)
    with _Source(client) as source:
        run = RunResult(COLLECTOR, source.target)
        try:
            frame = daily_engagement(source.open(), table, since_day=since_day,
                                     until_day=until_day)
        except _SOURCE_ERRORS as exc:
            run.errors.append(_failure(source.target, exc))
            return run.finish()
    with engine.begin() as conn:
        run.samples = writes.upsert(conn, EngagementDay.__table__, frame)
    return run.finish()


def collect_event_slis(client: Client | str, engine: Engine, *, slos: Iterable[SLO],
                       now: datetime | float,
                       lookback: timedelta = timedelta(hours=1),
                       instance: str = INSTANCE) -> RunResult:
    """Rewrite `sli_minutes` for every EventRatio SLO over the whole minutes before `now`.

    Covers [floor(now) - lookback, floor(now)), the current partial minute excluded. SLOs
    of other SLI kinds are skipped. Each SLO is registered by slug (`SLO.id`) with its
    objective in percent, as the spec states it, and its labels. One SLO's failure (say its
    field is not a column) is recorded and the others are still written: the run is then
    `partial`. Rows carry `instance`: ClickHouse counts every event of the table, so one
    name serves every collector replica (their rows rewrite each other). A row the store
    cannot take is set aside and named in the run.
    """
    chosen = [slo for slo in slos if isinstance(slo.sli, EventRatio)]
    end = floor_to(to_epoch(_utc(now)), MINUTE)
    start = end - int(lookback.total_seconds())
    frames: list[tuple[SLO, pd.DataFrame]] = []
    with _Source(client) as source:
        run = RunResult(COLLECTOR, source.target)
        try:
            opened = source.open()
        except _SOURCE_ERRORS as exc:
            run.errors.append(_failure(source.target, exc))
            return run.finish()
        for slo in chosen:
            assert isinstance(slo.sli, EventRatio)
            try:
                frames.append((slo, event_ratio_minutes(opened, slo.sli, start=start, end=end)))
            except _SOURCE_ERRORS as exc:
                run.errors.append(f"SLO {slo.id}: {_failure(source.target, exc)}")
    if frames:
        with engine.begin() as conn:
            services = service_ids(conn, {slo.service for slo, _ in frames})
            for slo, frame in frames:
                slo_id = ensure_slo(
                    conn, slug=slo.id, name=slo.name, objective=slo.objective,
                    period_s=int(slo.period.length.total_seconds()),
                    service_id=services.get(slo.service), spec_path=slo.source.path,
                    labels=slo.labels,
                )
                rows = [(int(m), slo_id, float(g), float(t), instance)
                        for m, g, t in frame[["minute", "good", "total"]].itertuples(index=False)]
                result = writes.upsert_checked(conn, SliMinute.__table__, rows)
                run.samples += result.written
                run.errors += [f"SLO {slo.id}: the store set aside a row: {reason}; "
                               f"row: {row!r:.160}" for row, reason in result.rejected]
    return run.finish()


__all__ = [
    "ALL_TYPES", "COLLECTOR", "ENGAGEMENT_SQL", "ENGAGEMENT_TYPES", "EVENT_COLUMNS",
    "EVENT_RATIO_SQL", "MONTHLY_USERS_SQL", "OPERATORS", "EventTableError", "TableRef",
    "check_name", "check_table", "collect_engagement", "collect_event_slis",
    "daily_engagement", "describe", "event_ratio_minutes", "monthly_active_users",
    "parse_table", "resolve_table", "table_columns",
]

