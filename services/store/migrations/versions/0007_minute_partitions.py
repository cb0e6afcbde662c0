"""minute tables partitioned by day on PostgreSQL

`service_minutes`, `latency_bucket_minutes` and `sli_minutes` become range-partitioned on
`minute` (Unix seconds), one partition per UTC day, plus a DEFAULT partition, so that
retention drops a day's partition instead of deleting its rows (see
services/store/partitions.py, which makes the partitions from here on). Their primary keys
already lead with `minute`, so they hold as the partitioned tables' keys (a unique
constraint on a partitioned table must include the partition key). Partitions live in
the schema `apollo_partitions`.

Each table: renamed aside (its key and index too), a partitioned table of the same columns
made under the old name with the same key and indexes, DEFAULT made, then for each day that
has rows (found by index probes) a plain table filled from the old one and attached (its
CHECK constraint spares the scan; the key index is built once, after the rows); the old
table is dropped once the rows moved equal its count. SQLite: nothing changes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "apollo_partitions"
DAY = 86_400
KEYS = {
    "service_minutes": ("minute", "service_id", "instance"),
    "latency_bucket_minutes": ("minute", "service_id", "instance", "le"),
    "sli_minutes": ("minute", "slo_id", "instance"),
}
INDEXES = {"sli_minutes": {"ix_sli_minutes_slo_minute": ("slo_id", "minute", "good", "total")}}
ASIDE = "_unpartitioned"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _scalar(sql: str, **params: object) -> object:
    return op.get_bind().execute(text(sql), params).scalar()


def _key_and_indexes(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} "
               f"PRIMARY KEY ({', '.join(KEYS[table])})")
    for name, columns in INDEXES.get(table, {}).items():
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")


def _set_aside(table: str) -> str:
    old = table + ASIDE
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    for name in INDEXES.get(table, {}):
        op.execute(f"ALTER INDEX {name} RENAME TO {name}{ASIDE}")
    return old


def _partition(table: str) -> None:
    old = _set_aside(table)
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (minute)")
    _key_and_indexes(table)
    op.execute(f"CREATE TABLE {SCHEMA}.{table}_default PARTITION OF {table} DEFAULT")
    moved = 0
    minute = _scalar(f"SELECT min(minute) FROM {old}")
    while minute is not None:
        day = int(minute) - int(minute) % DAY
        part = f"{SCHEMA}.{table}_p{datetime.fromtimestamp(day, UTC):%Y%m%d}"
        bounds = f"minute >= {day} AND minute < {day + DAY}"
        op.execute(f"CREATE TABLE {part} (LIKE {table} INCLUDING DEFAULTS)")
        op.execute(f"ALTER TABLE {part} ADD CONSTRAINT {table}_range CHECK ({bounds})")
        moved += op.get_bind().execute(text(
            f"INSERT INTO {part} SELECT * FROM {old} WHERE {bounds}")).rowcount
        op.execute(f"ALTER TABLE {table} ATTACH PARTITION {part} "
                   f"FOR VALUES FROM ({day}) TO ({day + DAY})")
        op.execute(f"ALTER TABLE {part} DROP CONSTRAINT {table}_range")
        minute = _scalar(f"SELECT min(minute) FROM {old} WHERE minute >= :next", next=day + DAY)
    stored = _scalar(f"SELECT count(*) FROM {old}")
    if moved != stored:  # cannot happen: every row has a minute, every minute a day
        raise RuntimeError(f"{table}: {moved} rows moved into day partitions, {stored} stored")
    op.execute(f"DROP TABLE {old}")


def _unpartition(table: str) -> None:
    plain = table + ASIDE
    op.execute(f"CREATE TABLE {plain} (LIKE {table} INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {plain} SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")  # and its partitions
    op.execute(f"ALTER TABLE {plain} RENAME TO {table}")
    _key_and_indexes(table)


def upgrade() -> None:
    if not _postgres():
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in KEYS:
        _partition(table)


def downgrade() -> None:
    if not _postgres():
        return
    for table in KEYS:
        _unpartition(table)
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}")
