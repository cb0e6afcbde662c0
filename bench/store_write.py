"""Write-path benchmark of the store: `services.store.writes.upsert_checked` against the raw
driver.

Run: .venv/bin/python bench/store_write.py [--pg-url URL] [--rows-series 2000] [--minutes 500]
     [--repeat 3] [--batch-minutes 50] [--skip-pg]

Rows are `service_minutes` rows (2,000 series x 500 minutes = 1,000,000 by default), arriving
time-ordered the way scrapes do; a series is one instance (pod) of a service, two pods per
service, so the key is (minute, service_id, instance). The store is fed like a collector
feeds it: one `upsert_checked` call per `--batch-minutes` minutes of rows, each in its own
transaction (`engine.begin()`); no row may be set aside.

Cases, each repeated `--repeat` times (median reported):
  first insert  every row into the freshly migrated, empty table;
  rewrite       the very same rows again (idempotent upsert: nothing changes);
  raw           the driver's best bulk path into a plain table with the same columns and no
                keys, in one transaction: sqlite3 `executemany` (WAL, synchronous=NORMAL) and
                psycopg binary COPY.
Without --pg-url a throwaway PostgreSQL 15 is started with the test harness.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine, Table, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from services.store.engine import make_engine  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402
from services.store.models import ServiceMinute  # noqa: E402
from services.store.writes import table_columns, upsert_checked  # noqa: E402

TABLE: Table = ServiceMinute.__table__  # type: ignore[assignment]
COLUMNS = table_columns(TABLE)
RAW_TABLE = "raw_service_minutes"
FIRST_MINUTE = 1_700_000_040  # a multiple of 60
PG_TYPES = ["int8", "int4", "float8", "float8", "float8", "float8", "float8", "float8", "text"]
# Column types of the keyless raw table, the same as the store's (BIGINT, INT, floats, TEXT).
RAW_DDL_TYPES = {
    "sqlite": ["BIGINT", "INTEGER", *["FLOAT"] * 6, "TEXT"],
    "postgresql": ["bigint", "integer", *["double precision"] * 6, "text"],
}
# (backend, case) -> minimum share of the raw driver's rows/s
TARGETS = {
    ("sqlite", "first insert"): 0.50,
    ("sqlite", "rewrite"): 0.25,
    ("postgresql", "first insert"): 0.40,
    ("postgresql", "rewrite"): 0.25,
}

Row = tuple[Any, ...]


class BenchError(RuntimeError):
    """The store wrote something other than what it was given."""


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """The rows (plain Python tuples, in `COLUMNS` order), their batches and their checksum."""

    rows: list[Row]
    batches: list[list[Row]]
    requests_sum: float
    batch_minutes: int


def build_data(series: int, minutes: int, batch_minutes: int, seed: int = 42) -> Data:
    """Time-ordered rows: every series of minute 0, then minute 1, … (not timed)."""
    rng = np.random.default_rng(seed)
    n = series * minutes
    minute = FIRST_MINUTE + 60 * np.repeat(np.arange(minutes, dtype=np.int64), series)
    pod = np.arange(series, dtype=np.int64)  # two pods per service, as Kubernetes runs them
    service_id = np.tile(pod // 2 + 1, minutes)
    addresses = [f"10.0.{p // 250}.{p % 250}:8080" for p in range(series)]
    instance = [addresses[p] for p in np.tile(pod, minutes).tolist()]
    # Integer-valued floats: their sum is exact in float64 whatever the summation order.
    requests = rng.integers(0, 10_000, n).astype(np.float64)
    errors = np.floor(requests * rng.random(n) * 0.05)
    latency_count = requests
    latency_sum = requests * rng.gamma(2.0, 0.05, n)
    cpu_ratio = rng.random(n)
    memory_bytes = rng.integers(50_000_000, 4_000_000_000, n).astype(np.float64)
    columns = [
        minute,
        service_id,
        requests,
        errors,
        latency_sum,
        latency_count,
        cpu_ratio,
        memory_bytes,
    ]
    rows = list(zip(*(c.tolist() for c in columns), instance, strict=True))
    size = series * batch_minutes
    batches = [rows[i : i + size] for i in range(0, n, size)]
    return Data(rows, batches, float(requests.sum()), batch_minutes)


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Results:
    """Seconds per (backend, case), one entry per repetition."""

    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, backend: str, case: str, seconds: float) -> None:
        self.times.setdefault((backend, case), []).append(seconds)

    def median(self, backend: str, case: str) -> float:
        return statistics.median(self.times[(backend, case)])


def timed(action: Callable[[], None]) -> float:
    """Wall-clock seconds of `action()`."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def check(where: str, count: int, requests_sum: float, data: Data) -> None:
    """Fail loudly unless the table holds every row once with the right checksum."""
    if count != len(data.rows) or requests_sum != data.requests_sum:
        raise BenchError(
            f"{where}: {count} rows, sum(requests)={requests_sum!r}; "
            f"expected {len(data.rows)} rows, sum(requests)={data.requests_sum!r}"
        )


def store_write(engine: Engine, data: Data) -> None:
    """Feed the store like a collector: one upsert call and one transaction per batch."""
    for batch in data.batches:
        with engine.begin() as conn:
            rejected = upsert_checked(conn, TABLE, batch).rejected
        if rejected:
            raise BenchError(f"the store set aside {len(rejected)} rows: {rejected[0]}")


def check_store(engine: Engine, where: str, data: Data) -> None:
    sql = text(f"SELECT count(*), sum(requests) FROM {TABLE.name}")
    with engine.connect() as conn:
        count, total = conn.execute(sql).one()
    check(where, int(count), float(total), data)


def run_store(
    backend: str, engine: Engine, data: Data, results: Results, settle: Callable[[], None]
) -> None:
    """First insert into the migrated empty table, then a rewrite of the same rows."""
    upgrade(engine)
    for case in ("first insert", "rewrite"):
        settle()
        results.add(backend, case, timed(lambda: store_write(engine, data)))
        check_store(engine, f"{backend} {case}", data)


def raw_ddl(backend: str) -> str:
    types = RAW_DDL_TYPES[backend]
    columns = ", ".join(f"{name} {kind}" for name, kind in zip(COLUMNS, types, strict=True))
    return f"CREATE TABLE {RAW_TABLE} ({columns})"


# --- SQLite ----------------------------------------------------------------------------------


def sqlite_raw(path: Path, data: Data) -> float:
    """sqlite3 executemany in one transaction into a keyless table; returns seconds."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(raw_ddl("sqlite"))
        sql = f"INSERT INTO {RAW_TABLE} VALUES ({', '.join('?' for _ in COLUMNS)})"

        def write() -> None:
            conn.execute("BEGIN")
            conn.executemany(sql, data.rows)
            conn.execute("COMMIT")

        seconds = timed(write)
        count, total = conn.execute(f"SELECT count(*), sum(requests) FROM {RAW_TABLE}").fetchone()
        check("sqlite raw", count, total, data)
        return seconds
    finally:
        conn.close()


def bench_sqlite(data: Data, repeat: int, results: Results) -> None:
    """Each repetition in a fresh temp dir: store file and raw file side by side."""
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="apollo-bench-sqlite-") as tmp:
            engine = make_engine(f"sqlite:///{tmp}/store.db")
            try:
                run_store("sqlite", engine, data, results, lambda: None)
            finally:
                engine.dispose()
            results.add("sqlite", "raw", sqlite_raw(Path(tmp) / "raw.db", data))


# --- PostgreSQL ------------------------------------------------------------------------------


@contextmanager
def postgres_server(pg_url: str | None) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a maintenance database: the given one, or a throwaway server."""
    if pg_url:
        yield pg_url
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from harness.servers import start_postgres

    workdir = Path(tempfile.mkdtemp(prefix="apollo-bench-pg-", dir="/tmp"))
    workdir.chmod(0o755)
    server = start_postgres(workdir / "pg")
    try:
        yield server.url
    finally:
        server.stop()


def libpq_url(url: str) -> str:
    """SQLAlchemy's postgresql+psycopg:// URL as a libpq one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, dbname: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + dbname


def admin(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(statement)


def checkpoint(url: str) -> None:
    """Write out dirty pages now, so that no case pays for the checkpoint of the one before."""
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):  # a plain --pg-url user
        admin(url, "CHECKPOINT")


def postgres_raw(url: str, data: Data) -> float:
    """psycopg binary COPY in one transaction into a keyless regular table; returns seconds."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(raw_ddl("postgresql"))
        conn.commit()
        checkpoint(url)

        def write() -> None:
            with conn.cursor() as cur:
                copy = f"COPY {RAW_TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                with cur.copy(copy) as cp:
                    cp.set_types(PG_TYPES)
                    for row in data.rows:
                        cp.write_row(row)
            conn.commit()

        seconds = timed(write)
        row = conn.execute(f"SELECT count(*), sum(requests) FROM {RAW_TABLE}").fetchone()
        assert row is not None
        check("postgresql raw", int(row[0]), float(row[1]), data)
        return seconds


def bench_postgres(maintenance_url: str, data: Data, repeat: int, results: Results) -> None:
    """Each repetition in a fresh database, dropped afterwards."""
    for i in range(repeat):
        dbname = f"apollo_bench_{os.getpid()}_{i}"
        admin(maintenance_url, f"CREATE DATABASE {dbname}")
        url = with_database(maintenance_url, dbname)
        try:
            engine = make_engine(url)
            try:
                run_store("postgresql", engine, data, results, partial(checkpoint, url))
            finally:
                engine.dispose()
            results.add("postgresql", "raw", postgres_raw(url, data))
        finally:
            admin(maintenance_url, f"DROP DATABASE IF EXISTS {dbname}")


def postgres_settings(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        values = [
            f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
            for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers")
        ]
    return ", ".join(values)


# --- report ----------------------------------------------------------------------------------


def machine(pg_info: str | None) -> list[str]:
    lines = [
        machine_line(),
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}), numpy {np.__version__}",
    ]
    if pg_info:
        lines.append(f"PostgreSQL: {pg_info}")
    return lines


def report(results: Results, data: Data, backends: list[str], repeat: int) -> list[str]:
    n = len(data.rows)
    lines = [f"{'backend':<11} {'case':<13} {'median s':>9} {'rows/s':>11} {'vs raw':>7}  runs (s)"]
    for backend in backends:
        raw = results.median(backend, "raw")
        for case in ("first insert", "rewrite", "raw"):
            median = results.median(backend, case)
            runs = " ".join(f"{t:.2f}" for t in results.times[(backend, case)])
            lines.append(
                f"{backend:<11} {case:<13} {median:>9.3f} {n / median:>11,.0f} "
                f"{raw / median:>6.0%}  {runs}"
            )
    lines.append("")
    lines.append(f"targets (median rows/s as a share of raw, {repeat} runs):")
    for backend in backends:
        raw = results.median(backend, "raw")
        for case in ("first insert", "rewrite"):
            target = TARGETS[(backend, case)]
            share = raw / results.median(backend, case)
            verdict = "PASS" if share >= target else "MISS"
            lines.append(f"  {backend:<11} {case:<13} >= {target:.0%}: {share:5.0%}  {verdict}")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-url",
        help="postgresql+psycopg:// URL of a maintenance database "
        "(CREATE DATABASE allowed); default: start a throwaway PostgreSQL 15",
    )
    parser.add_argument("--rows-series", type=int, default=2000, help="series per minute")
    parser.add_argument("--minutes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--batch-minutes",
        type=int,
        default=50,
        help="minutes of rows per upsert call / transaction",
    )
    parser.add_argument("--skip-pg", action="store_true", help="SQLite only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    data = build_data(args.rows_series, args.minutes, args.batch_minutes)
    print(
        f"{len(data.rows):,} rows = {args.rows_series} series x {args.minutes} minutes, "
        f"time-ordered; store fed in {len(data.batches)} upsert calls of "
        f"{args.rows_series * args.batch_minutes:,} rows ({args.batch_minutes} minutes), "
        "one transaction each; raw = one transaction; PostgreSQL: CHECKPOINT before each case"
    )
    results = Results()
    bench_sqlite(data, args.repeat, results)
    backends = ["sqlite"]
    pg_info = None
    if not args.skip_pg:
        with postgres_server(args.pg_url) as url:
            pg_info = postgres_settings(url)
            bench_postgres(url, data, args.repeat, results)
        backends.append("postgresql")
    print("\n".join(machine(pg_info)))
    print()
    print("\n".join(report(results, data, backends, args.repeat)))
    print(f"\ntotal wall time {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
