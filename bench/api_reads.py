"""Uncached reads of the API's SLO and services routes on a store with the demo fleet's past.

    .venv/bin/python bench/api_reads.py [--store FILE] [--days 30] [--n 30]
                                        [--save FILE.json | --compare FILE.json]

The store (SQLite) holds `--days` days of the demo fleet's minutes ending at a fixed
instant (`apollo fleet history`'s own path: simulators, pages, the page collector's row
builders), every whole hour rolled up as the roll-up job leaves it and no minute expired:
the most minutes a 30-day SLO can read. It is built once per (days, end) and kept at
`--store` (about 2 minutes for 30 days), and migrated to this checkout's schema before each
run (a store built earlier gets the newer indexes).

Each route is asked `--n` times through Starlette's TestClient (in process, no socket) with
the API's response cache emptied before each (every answer is computed) and the API's clock
fixed a few seconds after the data ends; the first answer of each route is not timed (it
reads the SLO files). Printed: median, p90, p99 (nearest rank: the max below 100
requests) and max milliseconds per route, the machine and its load when the run starts
(the figures move with what else runs on it).

`--save` writes every route's JSON answer; `--compare` checks the answers against such a
file (figures equal up to float summation order): run it before and after a change to see
that the answers did not move.

Not a unit test: figures vary by machine and load; only a before/after on one machine
counts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402

END = 1_793_786_400 + 17 * 60  # 2026-11-04 10:17 UTC: mid-hour, as `now` usually is


def _settings(store: Path) -> Any:
    from services.config import EXAMPLE_CONFIG, load_settings

    return load_settings(EXAMPLE_CONFIG, data_dir=store.parent / "var",
                         database_url=f"sqlite:///{store}",
                         slo_files=[str(ROOT / "slos" / "*.yaml")],
                         api={"rate_limit_per_minute": 10_000_000})


def build(store: Path, days: float) -> None:
    """The store with `days` of history ending at END, hours rolled up; kept when it exists
    with the same (days, END)."""
    from services.runtime.history import write_history
    from services.store.engine import make_engine
    from services.store.migrate import upgrade
    from services.store.rollup import roll_up

    stamp = store.with_suffix(".built")
    wanted = f"{days} {END}"
    if store.exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    for path in store.parent.glob(store.name + "*"):
        path.unlink()
    store.parent.mkdir(parents=True, exist_ok=True)
    settings = _settings(store)
    engine = make_engine(settings.store_url)
    t0 = time.perf_counter()
    upgrade(engine)
    history = write_history(settings, engine, days=days, end=END)
    with engine.begin() as conn:
        rows = roll_up(conn, history.start, END)
    engine.dispose()
    stamp.write_text(wanted)
    print(f"built {store}: {days:g} days, {history.minutes:,} service-minutes, {rows:,} "
          f"roll-up rows in {time.perf_counter() - t0:.0f} s", flush=True)


def _paths(client: Any) -> list[str]:
    ids = [s["id"] for s in client.get("/api/v1/slos").json()["items"]]
    # one SLO of each kind the detail treats differently: occurrences, timeslices
    chosen = ["payment-service-availability", "api-gateway-latency-p95-minutes"]
    chosen = [i for i in chosen if i in ids] or ids[:1]
    return ["/api/v1/services", "/api/v1/slos", *(f"/api/v1/slos/{i}" for i in chosen)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _close(a: Any, b: Any, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{where}: keys {sorted(set(a) ^ set(b))}")
        for k in set(a) & set(b):
            _close(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items against {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _close(x, y, f"{where}[{i}]", out)
    elif isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, int | float) and isinstance(b, int | float)
                and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)):
            out.append(f"{where}: {a!r} against {b!r}")
    elif a != b:
        out.append(f"{where}: {a!r} against {b!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/apollo-api-reads/apollo.db"))
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--n", type=int, default=30, help="timed requests per route")
    parser.add_argument("--save", type=Path, help="write the answers to this JSON file")
    parser.add_argument("--compare", type=Path, help="check the answers against this file")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    build(args.store, args.days)
    engine = make_engine(f"sqlite:///{args.store}")
    upgrade(engine)  # a store built by an older Apollo gets this one's indexes
    app = create_app(_settings(args.store), engine, clock=lambda: END + 7)
    cache = app.state.layers.cache  # the in-process response cache (no Redis here)
    client = TestClient(app)
    print(f"{machine_line()}; load average {os.getloadavg()[0]:.2f} at the start")
    print(f"store: {args.store} ({args.days:g} days of the demo fleet ending {END}), "
          f"{args.n} uncached requests per route through TestClient")
    answers: dict[str, Any] = {}
    print(f"{'route':<52} {'median ms':>10} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for path in _paths(client):
        cache.clear()
        first = client.get(path)
        if first.status_code != 200 or first.headers.get("x-apollo-cache") == "hit":
            raise SystemExit(f"{path}: {first.status_code} "
                             f"{first.headers.get('x-apollo-cache')} {first.text[:300]}")
        answers[path] = first.json()
        times = []
        for _ in range(args.n):
            cache.clear()  # every answer computed
            t0 = time.perf_counter()
            reply = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert reply.status_code == 200 and reply.headers.get("x-apollo-cache") != "hit"
        print(f"{path:<52} {statistics.median(times):>10.1f} {_percentile(times, 0.9):>8.1f} "
              f"{_percentile(times, 0.99):>8.1f} {max(times):>8.1f}", flush=True)
    engine.dispose()
    if args.save:
        args.save.write_text(json.dumps(answers, indent=1, sort_keys=True))
    if args.compare:
        problems: list[str] = []
        _close(answers, json.loads(args.compare.read_text()), "answers", problems)
        print(f"compared with {args.compare}: "
              + ("equal" if not problems else f"{len(problems)} differences"))
        for line in problems[:40]:
            print("  " + line)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
