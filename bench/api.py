"""Load on the HTTP API over loopback: wrk against uvicorn serving `create_app`, beside a
raw ASGI app returning the same bytes under the same uvicorn settings, in the same run.

    .venv/bin/python bench/api.py [--days 30] [--connections 64] [--low-connections 8]
                                  [--duration 8] [--runs 3] [--cache-dir /tmp/apollo-bench-api]
                                  [--skip-pg]

The store holds `--days` days of the seed's demo fleet ending at a fixed instant, written
as `apollo fleet history` writes them (`write_history`: simulators, pages, the page
collector's row builders), every whole hour rolled up. It is built once and kept under
`--cache-dir`: the SQLite file, and for PostgreSQL a `pg_dump` restored into a fresh
server on later runs (both keyed by days, end and the store's migration head).

Three servers, each its own process under uvicorn with `apollo api`'s settings (log level
warning, no access log, no proxy headers, no server header; uvicorn picks uvloop and
httptools when installed, and the line above the table says which it picked):

- the API over SQLite (cache and rate limits in process, no Redis),
- the API over PostgreSQL + Redis (the harness's servers: PostgreSQL 15 with fsync=off,
  Redis 7 without persistence), cache shared through Redis,
- a raw ASGI app answering each route with the status, headers and body the SQLite API
  gave for it (captured before the runs).

The APIs' clock starts 20 s after the data ends and runs on. Routes: `/api/v1/services`
(the platform table over the last hour) and `/api/v1/slos/{id}` (one SLO in full over its
30-day period). Each is loaded with `wrk -t1 -d8s` per API: uncached (every request a new
query string, `?u=N`, so every answer is computed: a miss that is kept) at 64 connections
and, for orientation, at `--low-connections`; cached at 64 (one URL, its answer kept by one
request sent as wrk sends it, within one minute of the APIs' clock: answers are keyed by
the minute); the raw app at 64. Every measurement runs `--runs` times, interleaved (run 1
of every case, then run 2, …) after a one-second warm-up of its own, and the server is let
settle after each wrk run (idle, and `/health` answering at once). The table shows the
medians of requests/s and of wrk's p50 and p99 (over answered requests), the mean latency
by Little's law (connections / requests/s: every request, answered or not when wrk
stopped), the CPU the server and wrk used (share of one core over the run), the 5xx the
API counted on its /metrics, and the verdicts at 64 connections: cached ≥ 20 % of the raw
app's requests/s and p99 < 25 ms, uncached p99 < 100 ms, the p99 that counts being at
least the Little's-law mean, and any error or 5xx a miss.

How the load generator is known not to be the bottleneck: wrk is C on epoll with one
thread; the raw ASGI row is the ceiling of the same server stack, and its requests/s far
above the API's show wrk had room to send more; wrk's own CPU share is printed beside each
row (well under one core while the server is at one).

Not a unit test: figures vary by machine and load; only the same-run ratios count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402

END = 1_793_786_400  # 2026-11-04 10:00 UTC: the stored data ends here
CLOCK_AFTER_END_S = 20  # the APIs' clock starts this long after the data's end
SLO_ID = "payment-service-availability"
ROUTES = ("/api/v1/services", f"/api/v1/slos/{SLO_ID}")
PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PG_DATABASE = "apollo_bench"
RATE_LIMIT = 1_000_000_000  # per minute: the limiter does its work, and never refuses
TARGET_CONNECTIONS = 64
TARGET_CACHED_SHARE = 0.20
TARGET_CACHED_P99_MS = 25.0
TARGET_UNCACHED_P99_MS = 100.0
WARM_UP_S = 1

# wrk: a new query string per request (uncached) or the one URL (cached, raw); both count
# what they sent, so `done` can say how many went unanswered by the end. Latencies in
# microseconds, of the answered requests only.
WRK_SCRIPT = """
local unique = os.getenv("APOLLO_BENCH_UNIQUE") == "1"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  sent = 0
  fixed = wrk.format("GET", wrk.path)
end
function request()
  sent = sent + 1
  if unique then return wrk.format("GET", wrk.path .. "?u=" .. sent) end
  return fixed
end
function done(summary, latency, requests)
  local e, total = summary.errors, 0
  for _, t in ipairs(threads) do total = total + t:get("sent") end
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, total))
end
"""


# --- the store ------------------------------------------------------------------------------


def settings_for(data_dir: Path, database_url: str, redis_url: str | None = None) -> Any:
    from services.config import EXAMPLE_CONFIG, load_settings

    return load_settings(EXAMPLE_CONFIG, data_dir=str(data_dir), database_url=database_url,
                         redis_url=redis_url, slo_files=[str(ROOT / "slos" / "*.yaml")],
                         fleet={"events": {"enabled": False}},
                         api={"rate_limit_per_minute": RATE_LIMIT})


def _store_key(days: float) -> str:
    from services.store.migrate import head_revision

    return f"{days:g}d-{END}-{head_revision()}"


def _fill(settings: Any, engine: Any, days: float) -> str:
    """`days` of history ending at END, hours rolled up (as the roll-up job leaves them)."""
    from services.runtime.history import write_history
    from services.store.migrate import upgrade
    from services.store.rollup import roll_up

    t0 = time.perf_counter()
    upgrade(engine)
    history = write_history(settings, engine, days=days, end=END)
    with engine.begin() as conn:
        roll_up(conn, history.start, END)
    return (f"{days:g} days, {history.minutes:,} service-minutes, written in "
            f"{time.perf_counter() - t0:.0f} s")


def sqlite_store(cache: Path, days: float) -> Path:
    """The SQLite store file, built on the first run and kept."""
    import sqlalchemy as sa

    from services.store.engine import make_engine

    path = cache / f"sqlite-{_store_key(days)}.db"
    if path.exists():
        return path
    building = path.with_name(path.name + ".building")
    for old in cache.glob(building.name + "*"):
        old.unlink()
    engine = make_engine(f"sqlite:///{building}")
    done = _fill(settings_for(cache / "var", f"sqlite:///{building}"), engine, days)
    with engine.connect() as conn:
        conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    building.rename(path)
    print(f"built {path}: {done}", flush=True)
    return path


def pg_store(cache: Path, days: float, port: int) -> str:
    """A database on the PostgreSQL at `port` holding the store: restored from the kept dump,
    or written (and dumped for later runs)."""
    import psycopg

    from services.store.engine import make_engine

    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    libpq = f"postgresql://postgres@127.0.0.1:{port}/{PG_DATABASE}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{PG_DATABASE}"
    dump = cache / f"pg-{_store_key(days)}.dump"
    t0 = time.perf_counter()
    if dump.exists():
        subprocess.run([str(PG_BINDIR / "pg_restore"), "--no-owner", "--jobs", "2",
                        "--dbname", libpq, str(dump)], check=True)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("ANALYZE")
        print(f"restored {dump} in {time.perf_counter() - t0:.0f} s", flush=True)
        return url
    engine = make_engine(url)
    done = _fill(settings_for(cache / "var", url), engine, days)
    engine.dispose()
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("ANALYZE")
    partial = dump.with_name(dump.name + ".partial")
    subprocess.run([str(PG_BINDIR / "pg_dump"), "--format", "custom", "--file", str(partial),
                    libpq], check=True)
    partial.rename(dump)
    print(f"built PostgreSQL store ({done}), kept as {dump}", flush=True)
    return url


# --- the servers (each its own process: `bench/api.py --serve api|raw SPEC`) ----------------


def uvicorn_run(app: Any, port: int) -> None:
    """`apollo api`'s uvicorn settings (loop and http parser: uvicorn's `auto`)."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                proxy_headers=False, server_header=False)


def serve_api(spec: dict[str, Any]) -> None:
    from services.api.app import create_app
    from services.store.engine import make_engine

    settings = settings_for(Path(spec["data_dir"]), spec["database_url"], spec["redis_url"])
    offset = spec["clock_offset"]
    app = create_app(settings, make_engine(settings.store_url),
                     clock=lambda: time.time() - offset)
    uvicorn_run(app, spec["port"])


def serve_raw(spec: dict[str, Any]) -> None:
    """The same status, headers and body per path as the API gave, and nothing else."""
    answers = {path: (a["status"], [(k.encode("latin-1"), v.encode("latin-1"))
                                    for k, v in a["headers"]], a["body"].encode("latin-1"))
               for path, a in spec["answers"].items()}
    missing = (404, [(b"content-type", b"text/plain"), (b"content-length", b"0")], b"")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        status, headers, body = answers.get(scope["path"], missing)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn_run(app, spec["port"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(eq=False)
class Server:
    name: str
    kind: str  # api or raw
    url: str
    process: subprocess.Popen[bytes]

    def cpu_s(self) -> float:
        """User + system CPU seconds of the server process so far (every thread)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(name: str, kind: str, spec: dict[str, Any], log_dir: Path) -> Iterator[Server]:
    """A server process on a free loopback port, ready (or its log shown), stopped after."""
    import httpx

    port = free_port()
    spec_file = log_dir / f"{name}.json"
    spec_file.write_text(json.dumps({**spec, "port": port}))
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(spec_file)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    probe = "/health" if kind == "api" else ROUTES[0]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + probe, timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise SystemExit(f"{name} did not start:\n"
                                 f"{(log_dir / f'{name}.log').read_text()[-3000:]}")
            time.sleep(0.1)
        yield Server(name, kind, url, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def capture(url: str) -> dict[str, Any]:
    """What the API answers on each route: status, headers (bar date and server), body."""
    import httpx

    out = {}
    for path in ROUTES:
        answer = httpx.get(url + path, timeout=60, trust_env=False)
        if answer.status_code != 200:
            raise SystemExit(f"{url}{path}: HTTP {answer.status_code}: {answer.text[:500]}")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers.raw]
        out[path] = {"status": answer.status_code,
                     "headers": [(k, v) for k, v in headers
                                 if k.lower() not in ("date", "server")],
                     "body": answer.content.decode("latin-1")}
    return out


# --- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests_s: float  # answered requests per second
    p50_ms: float  # wrk's percentiles, over the answered requests
    p99_ms: float
    max_ms: float
    little_ms: float  # connections / requests_s: the mean latency of every request (closed loop)
    unanswered: int  # sent but not answered when wrk stopped (at most one per connection
    #                  for a server that keeps up)
    failures: int  # connect/read/write errors and timeouts
    non_2xx: int  # seen by wrk
    server_5xx: int  # counted by the API's /metrics, answered after wrk stopped too
    server_cpu: float  # share of one core over the run
    wrk_cpu: float


def wrk(target: Server, path: str, *, unique: bool, connections: int, duration: int,
        script: Path) -> Load:
    """One wrk run against `target` (the server settled after it); CPU of both sides."""
    env = {**os.environ, "APOLLO_BENCH_UNIQUE": "1" if unique else "0"}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
               "-s", str(script), target.url + path]
    errors_before = server_errors(target)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = target.cpu_s()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    server_cpu = (target.cpu_s() - before_server) / wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = ((after.ru_utime - before_children.ru_utime)
               + (after.ru_stime - before_children.ru_stime)) / wall
    settle(target)
    lines = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    n, duration_us, p50, p99, worst, failures, non_2xx, sent = map(int, lines[-1].split()[1:])
    rate = n / (duration_us / 1e6)
    return Load(rate, p50 / 1000, p99 / 1000, worst / 1000,
                connections / rate * 1000 if rate else math.inf, sent - n - failures,
                failures, non_2xx, server_errors(target) - errors_before, server_cpu, wrk_cpu)


def server_errors(target: Server) -> int:
    """5xx answers the API counted so far (its /metrics); 0 for the raw app."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    if target.kind != "api":
        return 0
    page = httpx.get(target.url + "/metrics", timeout=120, trust_env=False).text
    return int(sum(sample.value for family in text_string_to_metric_families(page)
                   if family.name == "apollo_api_requests"
                   for sample in family.samples
                   if sample.name.endswith("_total") and sample.labels["status"][0] == "5"))


def settle(target: Server, *, timeout_s: float = 300) -> None:
    """Wait until the server is idle and answers at once: requests wrk left behind (it
    stops waiting when its time is up; the server still works on them) are done."""
    import httpx

    deadline = time.monotonic() + timeout_s
    last = target.cpu_s()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = target.cpu_s()
        if now - last < 0.02:  # under 8 % of a core: idle, or every worker waiting
            try:  # /health needs a worker thread of the API: free ones answer at once
                httpx.get(target.url + "/health", timeout=0.5, trust_env=False)
                return
            except httpx.TimeoutException:
                pass
        last = now
    raise SystemExit(f"{target.name} still busy {timeout_s:g} s after the load stopped")


@dataclass(frozen=True)
class Case:
    backend: str
    target: Server
    path: str
    mode: str  # raw, uncached or cached
    connections: int

    @property
    def unique(self) -> bool:
        return self.mode == "uncached"

    @property
    def name(self) -> str:
        return f"{self.mode}/{self.connections}"


def within_one_minute(offset: float, seconds: float) -> None:
    """Wait, if need be, until the APIs' clock has `seconds` left in its minute: a relative
    range (`from=now-1h`) is keyed by the minute, so a new minute is a new cache key, and
    the cached case must measure hits, not the misses at a minute's start."""
    left = 60 - (time.time() - offset) % 60
    if left < seconds:
        time.sleep(left + 0.5)


def prime(target: Server, path: str) -> None:
    """One request, so the cached case starts from a kept answer."""
    status, _ = like_wrk(target, path)
    if status != 200:
        raise SystemExit(f"{target.name} {path}: HTTP {status}")


def like_wrk(target: Server, path: str) -> tuple[int, str]:
    """(status, X-Apollo-Cache) of one GET sent as wrk sends it: `Host` and nothing else
    the cache key reads (no `Accept`, no `Origin`: httpx's `Accept: */*` is another key)."""
    import http.client

    host, port = target.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        answer = conn.getresponse()
        answer.read()
        return answer.status, answer.getheader("x-apollo-cache") or "none"
    finally:
        conn.close()


def median_load(loads: list[Load]) -> Load:
    def med(name: str) -> float:
        return statistics.median(getattr(x, name) for x in loads)

    return Load(med("requests_s"), med("p50_ms"), med("p99_ms"), max(x.max_ms for x in loads),
                med("little_ms"), max(x.unanswered for x in loads),
                sum(x.failures for x in loads), sum(x.non_2xx for x in loads),
                sum(x.server_5xx for x in loads), med("server_cpu"), med("wrk_cpu"))


def verdict(case: Case, load: Load, raw: Load) -> str:
    """PASS or MISS against the targets. The p99 that counts is at least the mean latency
    of every request (Little's law), since wrk's percentiles leave out the requests still
    unanswered when it stopped; any error or 5xx is a miss."""
    if case.mode == "raw":
        return ""
    if case.connections != TARGET_CONNECTIONS:
        return f"(orientation: the targets are at {TARGET_CONNECTIONS} connections)"
    p99 = max(load.p99_ms, load.little_ms)
    clean = not (load.failures or load.non_2xx or load.server_5xx)
    if case.mode == "cached":
        share = load.requests_s / raw.requests_s
        ok = share >= TARGET_CACHED_SHARE and p99 < TARGET_CACHED_P99_MS and clean
        return (f"{'PASS' if ok else 'MISS'} (≥ {TARGET_CACHED_SHARE:.0%} of raw, p99 < "
                f"{TARGET_CACHED_P99_MS:g} ms)")
    ok = p99 < TARGET_UNCACHED_P99_MS and clean
    return f"{'PASS' if ok else 'MISS'} (p99 < {TARGET_UNCACHED_P99_MS:g} ms)"


def label(path: str) -> str:
    return path.replace(SLO_ID, "{id}")


def report(cases: list[Case], loads: dict[Case, list[Load]], sizes: dict[str, int]) -> None:
    medians = {c: median_load(loads[c]) for c in cases}
    raw = {c.path: medians[c] for c in cases if c.mode == "raw"}
    print()
    print("route sizes: " + ", ".join(f"{label(p)} {n:,} B" for p, n in sizes.items()))
    print(f"{'backend':<20}{'route':<20}{'mode/conns':<13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'mean ms':>9}{'vs raw':>8}{'server':>8}{'wrk':>6}  target")
    for c in cases:
        m = medians[c]
        print(f"{c.backend:<20}{label(c.path):<20}{c.name:<13}{m.requests_s:>9,.0f}"
              f"{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}{m.little_ms:>9.2f}"
              f"{m.requests_s / raw[c.path].requests_s:>8.0%}{m.server_cpu:>8.0%}"
              f"{m.wrk_cpu:>6.0%}  {verdict(c, m, raw[c.path])}")
        if m.failures or m.non_2xx or m.server_5xx:
            print(f"{'':<20}!! over the runs: {m.failures} socket errors or timeouts, "
                  f"{m.non_2xx} non-2xx seen by wrk, {m.server_5xx} 5xx counted by the API")
    print("\nmean ms: connections / req/s (Little's law: every request, answered or not by "
          "the end); server, wrk: CPU as a share of one core")
    print("per run (req/s; p99 ms):")
    for c in cases:
        runs = ", ".join(f"{x.requests_s:,.0f}; {x.p99_ms:.1f}" for x in loads[c])
        print(f"  {c.backend:<20}{label(c.path):<20}{c.name:<13}{runs}")


def stack_line() -> str:
    import importlib.metadata as md
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return (f"python {sys.version.split()[0]}, uvicorn {md.version('uvicorn')} ({loop}, "
            f"{http}), fastapi {md.version('fastapi')}, {' '.join(version[:2])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--low-connections", type=int, default=8,
                        help="uncached once more at this many connections (0: not)")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/apollo-bench-api"))
    parser.add_argument("--skip-pg", action="store_true", help="SQLite and raw ASGI only")
    parser.add_argument("--serve", choices=("api", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        spec = json.loads(args.spec.read_text())
        (serve_api if args.serve == "api" else serve_raw)(spec)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (`make bench` does)")

    print(machine_line())
    print(stack_line(), flush=True)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    args.cache_dir.chmod(0o755)  # PostgreSQL (user postgres) works in a folder under it
    offset = time.time() - (END + CLOCK_AFTER_END_S)  # the APIs' clock: time.time() - offset
    n = args.connections
    modes = [("uncached", n), ("cached", n)]
    if args.low_connections:
        modes.insert(1, ("uncached", args.low_connections))
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="run-", dir=args.cache_dir)))
        work.chmod(0o755)
        script = work / "bench.lua"
        script.write_text(WRK_SCRIPT)
        store = sqlite_store(args.cache_dir, args.days)
        live = stack.enter_context(server("api-sqlite", "api", {
            "data_dir": str(work / "var-sqlite"), "database_url": f"sqlite:///{store}",
            "redis_url": None, "clock_offset": offset}, work))
        answers = capture(live.url)
        raw = stack.enter_context(server("raw-asgi", "raw", {"answers": answers}, work))
        cases = [Case("raw ASGI", raw, p, "raw", n) for p in ROUTES]
        cases += [Case("SQLite", live, p, m, c) for p in ROUTES for m, c in modes]
        if not args.skip_pg:
            sys.path.insert(0, str(ROOT / "tests"))
            from harness.servers import start_postgres, start_redis

            pg = start_postgres(work / "pg")
            stack.callback(pg.stop)
            redis = start_redis(work / "redis")
            stack.callback(redis.stop)
            url = pg_store(args.cache_dir, args.days, pg.port)
            shared = stack.enter_context(server("api-pg-redis", "api", {
                "data_dir": str(work / "var-pg"), "database_url": url,
                "redis_url": redis.url, "clock_offset": offset}, work))
            capture(shared.url)  # the SLO files read, a first answer computed
            cases += [Case("PostgreSQL + Redis", shared, p, m, c) for p in ROUTES
                      for m, c in modes]
        sizes = {p: len(a["body"]) for p, a in answers.items()}
        stamp = datetime.fromtimestamp(END, UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"store: {args.days:g} days of the seed's fleet ending {stamp}; wrk -t1 "
              f"-d{args.duration}s, {args.runs} runs per case, interleaved; medians",
              flush=True)
        loads: dict[Case, list[Load]] = {c: [] for c in cases}
        for run in range(args.runs):
            for c in cases:
                if c.mode == "cached":
                    within_one_minute(offset, WARM_UP_S + args.duration + 5)
                    prime(c.target, c.path)
                for duration in (WARM_UP_S, args.duration):
                    load = wrk(c.target, c.path, unique=c.unique, connections=c.connections,
                               duration=duration, script=script)
                loads[c].append(load)
                if c.mode != "raw" and run == 0:  # the cache did what the mode says
                    check = f"?u=check-{time.time_ns()}" if c.unique else ""
                    seen = like_wrk(c.target, c.path + check)[1]
                    if not c.unique:  # the first may be a new minute's first request
                        seen = like_wrk(c.target, c.path + check)[1]
                    wanted = "miss" if c.unique else "hit"
                    if seen != wanted:
                        print(f"!! {c.backend} {c.path} {c.name}: the cache answered "
                              f"{seen!r}, not {wanted!r}", flush=True)
            print(f"run {run + 1} of {args.runs} done", flush=True)
        report(cases, loads, sizes)
        kept = args.cache_dir / "last-run-logs"
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir()
        for log in work.glob("*.log"):
            shutil.copy(log, kept / log.name)
            said = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
            if said:
                print(f"{log.stem} said {len(said)} lines, the last: {said[-1][:200]}")
        print(f"server logs kept in {kept}")


if __name__ == "__main__":
    main()
