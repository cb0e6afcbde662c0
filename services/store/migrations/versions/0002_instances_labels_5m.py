"""instances in the series keys, labels, 5-minute roll-ups

Minute and hour rows gain `instance` (the target or source a row came from) in their
primary key, so two pods of one service no longer overwrite each other; rows written
before keep instance ''. Latency and SLI hour rows gain `minutes` (minute rows behind
them); hour rows rolled before this revision are taken as whole hours (60). New
`*_5m` tables hold 5-minute roll-ups, filled here from the minute rows kept, and every
hour the minute rows can still give is rolled up, so reads at 5-minute and hour steps see
the past at once (they trust roll-up rows up to the newest one). Services gain
`environment`, `tier` and `labels`; SLOs gain `labels`.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> (time column, series column, extra key columns, value columns)
SERIES = {
    "service": ("service_id", (), ("requests", "errors", "latency_sum", "latency_count",
                                   "cpu_ratio", "memory_bytes")),
    "latency_bucket": ("service_id", ("le",), ("count",)),
    "sli": ("slo_id", (), ("good", "total")),
}
MINUTE_TABLES = {"service": "service_minutes", "latency_bucket": "latency_bucket_minutes",
                 "sli": "sli_minutes"}
HOUR_TABLES = {"service": "service_hours", "latency_bucket": "latency_bucket_hours",
               "sli": "sli_hours"}
FIVE_TABLES = {"service": "service_5m", "latency_bucket": "latency_bucket_5m", "sli": "sli_5m"}


def _instance() -> sa.Column:
    """Compared bytewise on PostgreSQL: a machine name, and a cheaper key index."""
    kind = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
    return sa.Column("instance", kind, server_default="", nullable=False)


def _rekey(table: str, time: str, series: str, extra: tuple[str, ...],
           add_minutes: bool) -> None:
    """Add `instance` (and `minutes`) and put `instance` into the primary key."""
    with op.batch_alter_table(table, recreate="auto",
                              table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.add_column(_instance())
        if add_minutes:
            batch.add_column(sa.Column("minutes", sa.Integer(), server_default="60",
                                       nullable=False))
        batch.drop_constraint(f"pk_{table}", type_="primary")
        batch.create_primary_key(f"pk_{table}", [time, series, "instance", *extra])
    if add_minutes:
        with op.batch_alter_table(table, recreate="auto",
                                  table_kwargs={"sqlite_with_rowid": False}) as batch:
            batch.alter_column("minutes", server_default=None)


def _five_table(name: str, series: str, extra: tuple[str, ...], values: tuple[str, ...],
                maxes: bool) -> None:
    columns = [sa.Column("minute", sa.BigInteger(), nullable=False),
               sa.Column(series, sa.Integer(), nullable=False)]
    columns += [sa.Column(k, sa.Float(), nullable=False) for k in extra]
    nullable = {"cpu_ratio", "memory_bytes"}
    columns += [sa.Column(v, sa.Float(), nullable=v in nullable) for v in values]
    if maxes:
        columns += [sa.Column("cpu_max", sa.Float(), nullable=True),
                    sa.Column("memory_max", sa.Float(), nullable=True)]
    columns += [sa.Column("minutes", sa.Integer(), nullable=False), _instance()]
    op.create_table(
        name, *columns,
        sa.PrimaryKeyConstraint("minute", series, "instance", *extra, name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )


def _roll(kind: str, into: str, time: str, step: int) -> None:
    """Roll every minute row kept into `into`, leaving rows already there as they are."""
    series, extra, values = SERIES[kind]
    keys = [series, "instance", *extra]
    means = {"cpu_ratio", "memory_bytes"}
    aggregates = [f"avg({v})" if v in means else f"sum({v})" for v in values]
    names = [time, *keys, *values]
    if kind == "service":
        aggregates += ["max(cpu_ratio)", "max(memory_bytes)"]
        names += ["cpu_max", "memory_max"]
    names.append("minutes")
    bucket = f"minute / {step} * {step}"
    select = ", ".join([bucket, *keys, *aggregates, "count(*)"])
    # `WHERE true` keeps SQLite from reading ON CONFLICT as part of a join
    op.execute(
        f"INSERT INTO {into} ({', '.join(names)}) SELECT {select} "
        f"FROM {MINUTE_TABLES[kind]} WHERE true GROUP BY {bucket}, {', '.join(keys)} "
        f"ON CONFLICT DO NOTHING"
    )


def upgrade() -> None:
    for kind, (series, extra, _values) in SERIES.items():
        _rekey(MINUTE_TABLES[kind], "minute", series, extra, add_minutes=False)
        _rekey(HOUR_TABLES[kind], "hour", series, extra, add_minutes=kind != "service")
    for kind, (series, extra, values) in SERIES.items():
        _five_table(FIVE_TABLES[kind], series, extra, values, maxes=kind == "service")
        _roll(kind, FIVE_TABLES[kind], "minute", 300)
        _roll(kind, HOUR_TABLES[kind], "hour", 3600)

    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("environment", sa.String(63), server_default="",
                                   nullable=False))
        batch.add_column(sa.Column("tier", sa.String(63), server_default="", nullable=False))
        batch.add_column(sa.Column("labels", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("slos") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("slos") as batch:
        batch.drop_column("labels")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("labels")
        batch.drop_column("tier")
        batch.drop_column("environment")
    for kind, (series, extra, _values) in SERIES.items():
        op.drop_table(FIVE_TABLES[kind])
        for table, time in ((MINUTE_TABLES[kind], "minute"), (HOUR_TABLES[kind], "hour")):
            # the old key holds one row per series: rows of named instances are dropped
            _unkey(table, time, series, extra, drop_minutes=table == HOUR_TABLES[kind]
                   and kind != "service")


def _unkey(table: str, time: str, series: str, extra: tuple[str, ...],
           drop_minutes: bool) -> None:
    op.execute(f"DELETE FROM {table} WHERE instance <> ''")
    with op.batch_alter_table(table, recreate="auto",
                              table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.drop_constraint(f"pk_{table}", type_="primary")
        batch.create_primary_key(f"pk_{table}", [time, series, *extra])
        batch.drop_column("instance")
        if drop_minutes:
            batch.drop_column("minutes")
