"""Retention on PostgreSQL: deleting a day of minute rows against dropping its partitions,
and the store's size per service and per SLO per day.

Run: .venv/bin/python bench/retention.py [--pg-url URL] [--services 1000] [--buckets 12]
     [--slos-per-service 2] [--repeat 3] [--kept-days 1]

One day of `--services` services' minute rows: per service and minute one service row, one
row per latency bucket (12 by default: the Prometheus client libraries' default bounds,
5 ms to 10 s, and +Inf) and one SLI row per SLO (2 per service), one instance each, written
through the store's own write path (`writes.upsert_checked`, one transaction per hour of
rows, time-ordered as collectors write them) into two databases of one server:

  partitioned    the store at head (0007): minute tables partitioned by day;
  unpartitioned  the same store at 0006: plain tables, retention's DELETE path.

Both also hold `--kept-days` later day(s) of the same rows, which stay. Each repetition
writes the day again into both, takes a CHECKPOINT, then times in turn (which goes first
alternates):

  delete   retention's DELETE of the day's minute rows (`rollup._delete_before` on the three
           tables, one transaction, commit included), then for the record the VACUUM that
           the dead rows need afterwards;
  drop     `partitions.drop_days_before` on the three tables (the exact row count the result
           reports, then DROP TABLE of each day partition; one transaction, commit included).

Sizing (first repetition, before anything is removed): rows and pg_total_relation_size
(heap, indexes, TOAST) of the day's partitions, and of the day's 5-minute and hour roll-ups
(`rollup.roll_up` of the day), per service and per SLO, extrapolated to 1,000 services and
10,000 SLOs per day and for the default retention (services/config.py: minute 14 days;
hour 400 days; 5-minute rows as long as hours, as the retention job passes no 5-minute
keep). Without --pg-url a throwaway PostgreSQL 15 is started with the test harness
(fsync=off: printed) and autovacuum is turned off on it, so no vacuum runs inside a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import sqlalchemy
from sqlalchemy import Engine, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from services.config import Retention  # noqa: E402
from services.store import partitions, rollup  # noqa: E402
from services.store.engine import make_engine  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute  # noqa: E402
from services.store.series import KINDS  # noqa: E402
from services.store.writes import upsert_checked  # noqa: E402

DAY = partitions.DAY
FIRST_DAY = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())  # the day removed
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, float("inf")]
TABLES = {"service_minutes": ServiceMinute.__table__,
          "latency_bucket_minutes": LatencyBucketMinute.__table__,
          "sli_minutes": SliMinute.__table__}
ROLLUPS = {"service_minutes": ("service_5m", "service_hours"),
           "latency_bucket_minutes": ("latency_bucket_5m", "latency_bucket_hours"),
           "sli_minutes": ("sli_5m", "sli_hours")}


class BenchError(RuntimeError):
    """The store holds or removed something other than what was written."""


# --- data ------------------------------------------------------------------------------------


def bucket_bounds(n: int) -> list[float]:
    if n == len(BOUNDS):
        return BOUNDS
    return [*np.geomspace(0.005, 10.0, n - 1).round(4).tolist(), float("inf")]


def hour_rows(hour: int, services: int, bounds: list[float], slos: int,
              rng: np.random.Generator) -> dict[str, list[tuple[Any, ...]]]:
    """One hour of every minute table's rows, minute-major (as scrapes arrive): per minute
    every service, its buckets together, its SLOs together."""
    minutes = hour + 60 * np.arange(60, dtype=np.int64)
    n, nb = 60 * services, len(bounds)
    sid = np.tile(np.arange(1, services + 1), 60)
    addresses = [f"10.0.{s // 250}.{s % 250}:8080" for s in range(services + 1)]
    instance = [addresses[s] for s in sid.tolist()]
    requests = rng.integers(100, 20_000, n).astype(float)
    errors = np.floor(requests * rng.random(n) * 0.01)
    out: dict[str, list[tuple[Any, ...]]] = {}
    out["service_minutes"] = list(zip(
        np.repeat(minutes, services).tolist(), sid.tolist(), requests.tolist(),
        errors.tolist(), (requests * rng.gamma(2.0, 0.05, n)).tolist(), requests.tolist(),
        rng.random(n).tolist(), rng.integers(50_000_000, 4_000_000_000, n).astype(float).tolist(),
        instance, strict=True))
    shares = np.sort(rng.random((n, nb)), axis=1)
    shares[:, -1] = 1.0
    out["latency_bucket_minutes"] = list(zip(
        np.repeat(minutes, services * nb).tolist(), np.repeat(sid, nb).tolist(),
        bounds * n, np.floor(shares * requests[:, None]).ravel().tolist(),
        [a for a in instance for _ in range(nb)], strict=True))
    bad = np.floor(errors[:, None] * (np.arange(slos) + 1) / slos)
    out["sli_minutes"] = list(zip(
        np.repeat(minutes, services * slos).tolist(),
        ((np.repeat(sid, slos) - 1) * slos + np.tile(np.arange(1, slos + 1), n)).tolist(),
        (requests[:, None] - bad).ravel().tolist(), np.repeat(requests, slos).tolist(),
        [a for a in instance for _ in range(slos)], strict=True))
    return out


def write_day(engines: list[Engine], day: int, args: argparse.Namespace) -> dict[str, int]:
    """One day into every engine, an hour a transaction; rows written per table."""
    rng = np.random.default_rng(day)
    written = dict.fromkeys(TABLES, 0)
    bounds = bucket_bounds(args.buckets)
    for hour in range(day, day + DAY, 3600):
        rows = hour_rows(hour, args.services, bounds, args.slos_per_service, rng)
        for engine in engines:
            with engine.begin() as conn:
                for name, table in TABLES.items():
                    result = upsert_checked(conn, table, rows[name])
                    if result.rejected:
                        raise BenchError(f"{name}: {len(result.rejected)} rows set aside: "
                                         f"{result.rejected[0]}")
        for name in TABLES:
            written[name] += len(rows[name])
    return written


# --- the server ------------------------------------------------------------------------------


@contextmanager
def postgres_server(pg_url: str | None) -> Iterator[tuple[str, bool]]:
    """(maintenance URL, whether this process started the server)."""
    if pg_url:
        yield pg_url, False
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from harness.servers import start_postgres

    workdir = Path(tempfile.mkdtemp(prefix="apollo-bench-pg-", dir="/tmp"))
    workdir.chmod(0o755)
    try:
        server = start_postgres(workdir / "pg")
        try:
            yield server.url, True
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # a day's rows leave ~1 GB of WAL behind


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, dbname: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + dbname


def admin(url: str, *statements: str) -> list[Any]:
    """Statements outside a transaction; the first column of each one's first row."""
    out = []
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            out.append(row[0] if row else None)
    return out


def settings(url: str) -> str:
    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "autovacuum")
    values = admin(url, *(f"SHOW {n}" for n in names))
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# --- timing ----------------------------------------------------------------------------------


class StatementClock:
    """Seconds spent in statements starting with each prefix (SQLAlchemy cursor events)."""

    def __init__(self, engine: Engine, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self.seconds = dict.fromkeys(prefixes, 0.0)
        self._started: float = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        for prefix in self.prefixes:
            if statement.startswith(prefix):
                self.seconds[prefix] += time.perf_counter() - self._started

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.prefixes, 0.0)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


COMMITS: dict[str, float] = {}  # seconds the last commit of each case took


def delete_day(engine: Engine, cut: int) -> int:
    with engine.connect() as conn:
        rows = sum(rollup._delete_before(conn, kind, "minute", cut) for kind in KINDS)
        COMMITS["delete"], _ = timed(conn.commit)
    return rows


def drop_day(engine: Engine, cut: int) -> tuple[int, int]:
    parts = rows = 0
    with engine.connect() as conn:
        for name in TABLES:
            p, r = partitions.drop_days_before(conn, name, cut)
            parts, rows = parts + p, rows + r
        COMMITS["drop"], _ = timed(conn.commit)  # the partitions' files go at commit
    return parts, rows


def vacuum(url: str) -> None:
    admin(url, *(f"VACUUM {name}" for name in TABLES))


def checkpoint(url: str) -> None:
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        admin(url, "CHECKPOINT")


# --- sizing ----------------------------------------------------------------------------------


def relation_sizes(engine: Engine, names: list[str]) -> dict[str, tuple[int, int]]:
    """name -> (rows, pg_total_relation_size) of tables or partitions."""
    out = {}
    with engine.connect() as conn:
        for name in names:
            rows = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            size = conn.execute(text("SELECT pg_total_relation_size(CAST(:n AS regclass))"),
                                {"n": name}).scalar_one()
            out[name] = (int(rows), int(size))
    return out


def sizing(engine: Engine, day: int, args: argparse.Namespace) -> list[str]:
    """Rows and bytes per service and per SLO per day, measured on the day just written."""
    with engine.begin() as conn:
        rollup.roll_up(conn, day, day + DAY)
    names = [f"{partitions.SCHEMA}.{partitions.partition_name(t, day)}" for t in TABLES]
    minute = relation_sizes(engine, names)
    rolled = relation_sizes(engine, [r for pair in ROLLUPS.values() for r in pair])
    per = {"service_minutes": args.services, "latency_bucket_minutes": args.services,
           "sli_minutes": args.services * args.slos_per_service}
    keep = Retention()
    keep_days = {"minute": keep.minute.days, "5m": keep.hour.days, "hour": keep.hour.days}
    lines = [f"{'table (one day)':<40} {'rows':>11} {'MiB':>9} {'B/row':>6} "
             f"{'rows/unit/day':>14} {'KiB/unit/day':>13}  unit"]
    unit_bytes: dict[tuple[str, str], float] = {}
    for (table, (r5, rh)), part in zip(ROLLUPS.items(), names, strict=True):
        unit = "SLO" if table == "sli_minutes" else "service"
        for resolution, name, (rows, size) in (("minute", part, minute[part]),
                                               ("5m", r5, rolled[r5]), ("hour", rh, rolled[rh])):
            label = name.split(".")[-1] if resolution == "minute" else name
            lines.append(f"{label:<40} {rows:>11,} {size / 2**20:>9.1f} {size / rows:>6.0f} "
                         f"{rows / per[table]:>14,.0f} {size / per[table] / 1024:>13.1f}  {unit}")
            unit_bytes[(table, resolution)] = size / per[table]
    services, slos = 1_000, 10_000
    lines.append("")
    lines.append(f"{services:,} services and {slos:,} SLOs (one instance each; each further "
                 "pod of a service adds its service and bucket rows again):")
    total_keep = 0.0
    for resolution in ("minute", "5m", "hour"):
        per_day = sum(unit_bytes[(t, resolution)] * (slos if t == "sli_minutes" else services)
                      for t in TABLES)
        kept = per_day * keep_days[resolution]
        total_keep += kept
        lines.append(f"  {resolution:<7} {per_day / 2**30:8.2f} GiB a day, kept "
                     f"{keep_days[resolution]:>3} days: {kept / 2**30:9.1f} GiB")
    lines.append(f"  {'total':<7} {'':>8}                    {total_keep / 2**30:9.1f} GiB "
                 "at the default retention")
    return lines


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", help="postgresql+psycopg:// URL of a maintenance "
                        "database (CREATE DATABASE allowed); default: a throwaway PostgreSQL 15")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--buckets", type=int, default=len(BOUNDS),
                        help="latency buckets per service and minute, +Inf included")
    parser.add_argument("--slos-per-service", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kept-days", type=int, default=1,
                        help="later days written once, which retention keeps")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    print(machine_line())
    print(f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
          f"psycopg {psycopg.__version__}; at start: {load()}")
    per_day = 1440 * args.services * (1 + args.buckets + args.slos_per_service)
    print(f"one day = {args.services:,} services x 1,440 minutes x (1 service row + "
          f"{args.buckets} bucket rows + {args.slos_per_service} SLI rows) = {per_day:,} rows; "
          f"{args.kept_days} later day(s) kept; {args.repeat} repetitions")
    times: dict[str, list[float]] = {"delete": [], "vacuum": [], "drop": [], "count": [],
                                     "DROP": [], "commit": []}
    with postgres_server(args.pg_url) as (url, ours):
        if ours:  # our own throwaway server: no autovacuum inside a timing
            admin(url, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()")
        print(f"PostgreSQL: {settings(url)}")
        tag = f"{os.getpid()}"
        urls = {"partitioned": with_database(url, f"apollo_ret_part_{tag}"),
                "unpartitioned": with_database(url, f"apollo_ret_plain_{tag}")}
        engines: dict[str, Engine] = {}
        try:
            for label, db_url in urls.items():
                admin(url, f"CREATE DATABASE {db_url.rsplit('/', 1)[1]}")
                engines[label] = make_engine(db_url)
                upgrade(engines[label], "head" if label == "partitioned" else "0006")
            clock = StatementClock(engines["partitioned"], ("SELECT count(*)", "DROP TABLE"))
            both = list(engines.values())
            t, _ = timed(lambda: [write_day(both, FIRST_DAY + (i + 1) * DAY, args)
                                  for i in range(args.kept_days)])
            print(f"kept day(s) written into both stores in {t:.0f} s")
            cut = FIRST_DAY + DAY
            for rep in range(args.repeat):
                t, written = timed(lambda: write_day(both, FIRST_DAY, args))
                expected = sum(written.values())
                print(f"repetition {rep + 1}: the day written into both stores in {t:.0f} s "
                      f"({expected:,} rows each); {load()}")
                if rep == 0:
                    sizes = sizing(engines["partitioned"], FIRST_DAY, args)
                order = ["delete", "drop"] if rep % 2 == 0 else ["drop", "delete"]
                for case in order:
                    checkpoint(url)
                    if case == "delete":
                        seconds, removed = timed(lambda: delete_day(engines["unpartitioned"],
                                                                    cut))
                        if removed != expected:
                            raise BenchError(f"delete removed {removed:,} rows, not {expected:,}")
                        times["delete"].append(seconds)
                        t, _ = timed(lambda: vacuum(urls["unpartitioned"]))
                        times["vacuum"].append(t)
                    else:
                        clock.reset()
                        seconds, (parts, removed) = timed(lambda: drop_day(
                            engines["partitioned"], cut))
                        if (parts, removed) != (3, expected):
                            raise BenchError(f"drop removed {parts} partitions and "
                                             f"{removed:,} rows, not 3 and {expected:,}")
                        times["drop"].append(seconds)
                        times["count"].append(clock.seconds["SELECT count(*)"])
                        times["DROP"].append(clock.seconds["DROP TABLE"])
                        times["commit"].append(COMMITS["drop"])
                print("  " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items()))
        finally:
            for engine in engines.values():
                engine.dispose()
            for db_url in urls.values():
                admin(url, f"DROP DATABASE IF EXISTS {db_url.rsplit('/', 1)[1]} WITH (FORCE)")
    median = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"removing one day ({per_day:,} minute rows), median of {args.repeat} (s):")
    print(f"  delete (DELETE ... WHERE minute < cut, 3 tables, commit)   {median['delete']:8.3f}"
          f"   runs {' '.join(f'{t:.2f}' for t in times['delete'])}")
    print(f"  then VACUUM of the 3 tables (the dead rows' bill)          {median['vacuum']:8.3f}")
    print(f"  drop (exact count + DROP TABLE of 3 partitions, commit)    {median['drop']:8.3f}"
          f"   runs {' '.join(f'{t:.3f}' for t in times['drop'])}")
    print(f"    of which count(*) {median['count']:.3f}, DROP TABLE {median['DROP']:.3f}, "
          f"commit (the files unlinked) {median['commit']:.3f}")
    both = median["delete"] + median["vacuum"]
    print(f"  delete / drop = {median['delete'] / median['drop']:,.0f}x; "
          f"(delete + vacuum) / drop = {both / median['drop']:,.0f}x")
    print()
    print("store sizing, measured on the partitioned store's day (PostgreSQL, "
          "pg_total_relation_size: heap + indexes):")
    print("\n".join(sizes))
    print(f"\nat the end: {load()}; total wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
