"""Scrape-path benchmark: `PageScraper.scrape_once` against a real Prometheus and the parser.

Run: .venv/bin/python bench/collect.py [--routes 100] [--cycles 120] [--targets 200]
     [--instances 2] [--rounds 7] [--prom-seconds 40] [--skip-prometheus] [--part a|b|both]

Every service has `--instances` targets (pods, 2 by default, as production runs them): each
its own listener port, so its own `Target.instance` (host:port), its own per-minute state and
its own rows; each pod simulates with its own seed. Both sides scrape the same targets.

(a) One service (`api-gateway`, so its three SLOs apply) with a 2,000-sample page per pod
    (the fleet's own page format, `--routes` routes: request counters by route and code, a
    latency histogram per route), served over loopback by a separate process. A scrape
    cycle is `PageScraper.scrape_once` over its pods: fetch, parse, per-minute increases,
    rows and SLO rows of completed minutes, the store write into SQLite and the run records.
    Cycles are 15 s apart on a hand-moved clock (every 4th completes a minute). Beside it:
    Prometheus 2.42's own `scrape_duration_seconds` for the same targets (one job, scrape
    interval 1 s, `--prom-seconds` of scrapes; the median over intervals of the pods' summed
    durations), and the parse alone with prometheus_client's parser and with the fast path.
(b) A full round: the demo fleet (7 services, the fleet started once per pod) plus
    `--targets` synthetic services of the same 2,000-sample page (each its own seed), all
    served by one separate process. Rounds are 30 s apart on a hand-moved clock; rounds 2,
    4, 6… complete a minute, so they write every target's minute rows. Samples/s end to end
    beside prometheus_client's parser alone (and the fast path alone) on the same pages.
Pages are rendered before each cycle/round, outside the timing. Times are medians.

A collector's process gets slower over its first rounds (the same objects, scattered: see
bench/README.md), so each figure is reported twice: over the first 40 cycles / rounds 0-6
(the method so far), and "settled", over the second half of a longer run: (a) runs 120
cycles (cheap), (b) only with --rounds 14 or more.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import multiprocessing as mp
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.machine import machine_line  # noqa: E402
from collectors.scrape import PageScraper, Target  # noqa: E402
from collectors.scrape import parse as exposition  # noqa: E402
from collectors.scrape import scraper as scrape  # noqa: E402
from collectors.scrape.fastparse import fast_page  # noqa: E402
from collectors.scrape.increases import TargetIncreases  # noqa: E402
from collectors.scrape.parse import Page  # noqa: E402
from services.config import EXAMPLE_CONFIG, load_settings  # noqa: E402
from services.files import expand, load_slo_files  # noqa: E402
from services.fleet.runner import profiles  # noqa: E402
from services.fleet.server import CONTENT_TYPE, Fleet  # noqa: E402
from services.fleet.simulator import ServiceProfile, ServiceSimulator, metrics_page  # noqa: E402
from services.store.engine import make_engine  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402

T0 = 1_793_613_600.0  # 2026-11-02 10:00 UTC, a whole minute
JOB = "apollo-bench"
TARGETS = {  # (what, limit)
    "cycle vs Prometheus": 5.0,  # our cycle at most 5x Prometheus's scrape_duration_seconds
    "e2e vs parse-only": 2.5,  # end-to-end samples/s at least 2.5x prometheus_client's parse
    "round seconds": 4.0,  # a full round (with the minute write) under 4 s
}


# --- pages and the process serving them ------------------------------------------------------


def big_profile(name: str, routes: int, scale: float = 1.0) -> ServiceProfile:
    """The api-gateway's baseline with `routes` routes: ~20 samples a route."""
    base = next(p for p in profiles(load_settings(EXAMPLE_CONFIG)) if p.slug == "api-gateway")
    return dataclasses.replace(
        base, slug=name, name=name, throughput_rps=base.throughput_rps * scale,
        routes=tuple(f"/api/v1/resource{i:03d}/:id" for i in range(routes)))


def simulator(profile: ServiceProfile, seed: int, start: float) -> ServiceSimulator:
    """A fleet simulator whose traffic spreads over all routes (1/rank, not 0.6^rank)."""
    sim = ServiceSimulator(profile, seed=seed, start=start)
    weights = 1.0 / np.arange(1, len(profile.routes) + 1)
    sim.weights = weights / weights.sum()
    sim.restart(start)
    return sim


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # every target of a round connects at once


def handler_for(pages: list[bytes]) -> type[BaseHTTPRequestHandler]:
    """Serves /t/{i}/metrics from `pages` (one listener, i.e. one instance, per list)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            found = re.fullmatch(r"/t/(\d+)/metrics", self.path)
            body = pages[int(found[1])] if found and int(found[1]) < len(pages) else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


POD_SEED = 10_000  # pod k of a synthetic service simulates with seed + k * POD_SEED


def serve(conn: Any, specs: list[tuple[str, int, int, float]], with_fleet: bool,
          instances: int) -> None:
    """Child process: `instances` listeners (one port each: the pods), each serving
    /t/{i}/metrics (pages rendered on "prepare"), and the fleet started `instances` times."""
    now = [T0 - 3600]
    sims = [[simulator(big_profile(name, routes, scale), seed + k * POD_SEED, now[0])
             for name, routes, seed, scale in specs] for k in range(instances)]
    pages: list[list[bytes]] = [[b""] * len(specs) for _ in range(instances)]
    servers = [_PageServer(("127.0.0.1", 0), handler_for(pages[k])) for k in range(instances)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    fleets = []
    if with_fleet:  # each pod of a fleet service has its own seed, so its own traffic
        for k in range(instances):
            fleets.append(Fleet(profiles(load_settings(EXAMPLE_CONFIG)), seed=42 + k,
                                clock=lambda: now[0]))
            fleets[-1].start()
    conn.send(([s.server_address[1] for s in servers], [f.urls for f in fleets]))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            break
        now[0] = message[1]  # the fleet reads it on request, the synthetic pages here
        started = time.perf_counter()
        for k in range(instances):
            pages[k][:] = [metrics_page(sim, now[0]) for sim in sims[k]]
        conn.send(time.perf_counter() - started)
    for fleet in fleets:
        fleet.stop()
    for server in servers:
        server.shutdown()


@dataclasses.dataclass
class Served:
    ports: list[int]  # one listener per instance (pod): Target.instance is host:port
    fleet_urls: list[dict[str, str]]  # per instance: the fleet's service -> URL
    conn: Any
    process: Any

    def url(self, i: int, instance: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[instance]}/t/{i}/metrics"

    def prepare(self, t: float) -> float:
        """Pages of time `t` everywhere (rendered before returning); the seconds it took."""
        self.conn.send(("prepare", t))
        return float(self.conn.recv())


@contextmanager
def page_server(specs: list[tuple[str, int, int, float]], with_fleet: bool, instances: int
                ) -> Iterator[Served]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child, specs, with_fleet, instances), daemon=True)
    process.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the page server did not start")
        ports, urls = parent.recv()
        yield Served(ports, urls, parent, process)
    finally:
        with suppress(OSError):
            parent.send(("stop",))
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


# --- timing the parts of a scrape ------------------------------------------------------------


class Parts:
    """Wall time spent in the scraper's parts, by wrapping them (in this process only),
    and in garbage collection (which happens inside the parts: counted apart)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._undo: list[Callable[[], None]] = []
        self._gc_started = 0.0
        self.gc_log: list[tuple[float, float]] = []  # (began, seconds) of each collection

    def wrap(self, owner: Any, attr: str, label: str,
             clock: Callable[[], float] = time.perf_counter) -> None:
        original = getattr(owner, attr)
        seconds = self.seconds
        if asyncio.iscoroutinefunction(original):
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - started
            setattr(owner, attr, timed_async)
        else:
            def timed(*args: Any, **kwargs: Any) -> Any:
                started = clock()
                try:
                    return original(*args, **kwargs)
                finally:
                    seconds[label] += clock() - started
            setattr(owner, attr, timed)
        self._undo.append(lambda: setattr(owner, attr, original))

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_log.append((self._gc_started, time.perf_counter() - self._gc_started))

    def take(self, until: float = float("inf")) -> dict[str, float]:
        """The parts' seconds since the last take, and the GC pauses begun by `until`."""
        out = dict(self.seconds)
        self.seconds.clear()
        out["GC pauses"] = sum(d for started, d in self.gc_log if started <= until)
        self.gc_log[:] = [(started, d) for started, d in self.gc_log if started > until]
        return out

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


@contextmanager
def timed_parts() -> Iterator[Parts]:
    parts = Parts()
    parts.wrap(PageScraper, "_fetch_all", "fetch+parse")
    # pages are parsed in worker threads (asyncio.to_thread) while other pages download:
    # their CPU time, not their wall time (which would count waits for the GIL)
    parts.wrap(scrape, "parse_page", "parse", clock=time.thread_time)
    parts.wrap(TargetIncreases, "observe", "increases")
    parts.wrap(scrape, "service_row", "rows")
    parts.wrap(scrape, "bucket_rows", "rows")
    parts.wrap(scrape, "good_total", "SLO rows")  # each SLO's good/total of a minute
    parts.wrap(PageScraper, "_write_pending", "store write")
    gc.callbacks.append(parts.gc_callback)
    try:
        yield parts
    finally:
        gc.callbacks.remove(parts.gc_callback)
        parts.undo()


PART_LABELS = ["fetch", "parse", "increases", "rows", "SLO rows", "store write", "other",
               "GC pauses"]


def breakdown(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Median seconds per part; fetch = fetch+parse - parse; other = the rest of the cycle
    (asyncio.run, run records…); GC pauses happened inside the other parts."""
    out = {}
    for label in PART_LABELS:
        values = []
        for r in rounds:
            if label == "fetch":
                values.append(r.get("fetch+parse", 0.0) - r.get("parse", 0.0))
            elif label == "other":
                known = (r.get("fetch+parse", 0.0) + r.get("increases", 0.0) + r.get("rows", 0.0)
                         + r.get("SLO rows", 0.0) + r.get("store write", 0.0))
                values.append(r["cycle"] - known)
            else:
                values.append(r.get(label, 0.0))
        out[label] = statistics.median(values)
    return out


def fmt_parts(parts: dict[str, float], unit: float = 1e3, suffix: str = "ms") -> str:
    digits = 1 if unit == 1e3 else 2
    text = ", ".join(f"{k} {v * unit:.{digits}f}" for k, v in parts.items() if k != "GC pauses")
    return (f"{text} {suffix}; GC pauses within them {parts['GC pauses'] * unit:.{digits}f} "
            f"{suffix}")


# --- parsing alone ---------------------------------------------------------------------------


def client_parse(text: str) -> Page:
    """parse_page as it was before the fast path: prometheus_client's text parser."""
    page = Page()
    exposition._add(page, text_string_to_metric_families(text))
    return page


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def check_same(text: str) -> None:
    fast, slow = fast_page(text), client_parse(text)
    if fast is None:
        raise RuntimeError("the fast path declined a bench page")
    if [repr(v) for v in fast.values.items()] != [repr(v) for v in slow.values.items()] \
            or fast.types != slow.types:
        raise RuntimeError("the fast path and prometheus_client disagree on a bench page")


# --- scraping --------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def new_engine(workdir: Path, name: str) -> Any:
    engine = make_engine(f"sqlite:///{workdir / name}")
    upgrade(engine)
    return engine


CHECKSUMS = {
    "service_minutes": "count(*), sum(requests), sum(errors), sum(latency_sum), "
                       "sum(latency_count), sum(cpu_ratio), sum(memory_bytes)",
    "latency_bucket_minutes": "count(*), sum(count), "
                              "sum(CASE WHEN le < 1e300 THEN le * count ELSE count END)",
    "sli_minutes": "count(*), sum(good), sum(total)",
}


def checksums(engine: Any) -> dict[str, tuple]:
    """Row counts and column sums of the minute tables: equal runs wrote equal rows."""
    with engine.connect() as conn:
        return {table: tuple(conn.execute(text(f"SELECT {cols} FROM {table}")).one())
                for table, cols in CHECKSUMS.items()}


def same_rows(a: dict[str, tuple], b: dict[str, tuple]) -> bool:
    """Equal counts, sums equal to 1e-9 (fix 5 multiplies by a share: last-bit rounding)."""
    return all(len(a[t]) == len(b[t]) and all(
        (x is None and y is None) or (x is not None and y is not None
                                      and abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1.0))
        for x, y in zip(a[t], b[t], strict=True)) for t in a)


def scrape_rounds(served: Served, targets: list[Target], slos: list, times: list[float],
                  workdir: Path, name: str, timeout_s: float = 2.0
                  ) -> tuple[list[dict[str, Any]], dict[str, tuple], list[float]]:
    """scrape_once at each of `times` (pages rendered first, untimed); per round its wall
    time, its parts, the rows it wrote and its samples; then the tables' checksums."""
    engine = new_engine(workdir, name)
    clock = Clock(times[0])
    rounds, render = [], []
    try:
        with timed_parts() as parts:
            scraper = PageScraper(engine, targets, slos=slos, clock=clock, timeout_s=timeout_s)
            for k, t in enumerate(times):
                clock.now = t
                render.append(served.prepare(t))
                before = checksums(engine)
                parts.take()
                started = time.perf_counter()
                runs = scraper.scrape_once()
                ended = time.perf_counter()
                took = ended - started
                inside = parts.take(until=ended)
                failed = [r for r in runs if r.status != "ok"]
                if failed:
                    raise RuntimeError(f"{len(failed)} scrapes failed: {failed[0].errors[:2]}")
                after = checksums(engine)
                written = [after[t][0] - before[t][0] for t in CHECKSUMS]
                gc_after = parts.take()["GC pauses"]  # deferred by fix 6 to after the round
                rounds.append({**inside, "cycle": took, "k": k, "written": written,
                               "samples": sum(r.samples for r in runs), "GC after": gc_after})
        return rounds, checksums(engine), render
    finally:
        engine.dispose()


# --- (a) one page ----------------------------------------------------------------------------


def prometheus_scrapes(urls: list[str], seconds: int, workdir: Path
                       ) -> tuple[list[list[float]], int]:
    """Prometheus 2.42's scrape_duration_seconds of each of `urls` (one job, one target
    each, the same path), every 1 s for `seconds`: per target, its durations in time order;
    and the samples of one scrape."""
    sys.path.insert(0, str(ROOT / "tests"))
    from harness.servers import start_prometheus

    split = [url.removeprefix("http://").split("/", 1) for url in urls]
    if len({path for _, path in split}) != 1:
        raise ValueError("one job: every target must have the same path")
    config = [{"job_name": JOB, "metrics_path": "/" + split[0][1],
               "static_configs": [{"targets": [host_port for host_port, _ in split]}]}]
    server = start_prometheus(workdir / "prometheus", config, scrape_interval="1s")
    try:
        server.wait_for_targets_up(len(urls), timeout=60)
        time.sleep(seconds + 1)
        result = server.query(f'scrape_duration_seconds{{job="{JOB}"}}[{seconds}s]')["result"]
        if len(result) != len(urls):
            raise RuntimeError(f"Prometheus has {len(result)} series for {len(urls)} targets")
        durations = [[float(v) for _, v in series["values"]] for series in result]
        samples = server.query(f'scrape_samples_scraped{{job="{JOB}"}}')["result"]
        return durations, int(float(samples[0]["value"][1]))
    finally:
        server.stop()


def bench_one_page(args: argparse.Namespace, workdir: Path, slos: list) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with page_server([("api-gateway", args.routes, 1, 1.0)], with_fleet=False,
                     instances=args.instances) as served:
        urls = [served.url(0, k) for k in range(args.instances)]  # api-gateway's pods
        served.prepare(T0 - 15)  # pages like those scraped, before the first of them
        pages = [httpx.get(url, trust_env=False).text for url in urls]
        for page in pages:
            check_same(page)
        page = pages[0]
        out["samples"] = len(client_parse(page))
        out["bytes"] = len(page.encode())
        out["client parse"] = median_time(lambda: client_parse(page), 30)
        out["fast parse"] = median_time(lambda: fast_page(page), 200)
        out["parse_page"] = median_time(lambda: exposition.parse_page(page), 200)
        if not args.skip_prometheus:
            progress(f"(a) Prometheus scraping the {len(urls)} pages every 1 s for "
                     f"{args.prom_seconds} s")
            out["prometheus"], out["prometheus samples"] = prometheus_scrapes(
                urls, args.prom_seconds, workdir)
        progress(f"(a) {args.cycles} scrape cycles of {len(urls)} targets")
        times = [T0 + 15 * k for k in range(args.cycles + 1)]
        rounds, sums, _ = scrape_rounds(served, [Target("api-gateway", url) for url in urls],
                                        slos, times, workdir, "one-page.db")
        out["targets"] = len(urls)
        out["cycles"] = rounds[1:]  # the first scrape only sets the baseline
        out["checksums"] = sums
    return out


# --- (b) a full round ------------------------------------------------------------------------


def bench_round(args: argparse.Namespace, workdir: Path, slos: list) -> dict[str, Any]:
    specs = [(f"synthetic-{i:03d}", args.routes, 100 + i, 0.5 + (i % 10) / 10)
             for i in range(args.targets)]
    out: dict[str, Any] = {}
    with page_server(specs, with_fleet=True, instances=args.instances) as served:
        # every service has `instances` pods (targets), each its own port: its own instance
        fleet = served.fleet_urls
        targets = [Target(slug, fleet[k][slug]) for slug in fleet[0]
                   for k in range(args.instances)]
        targets += [Target(name, served.url(i, k)) for i, (name, *_) in enumerate(specs)
                    for k in range(args.instances)]
        out["services"] = len(fleet[0]) + len(specs)
        progress(f"(b) {args.rounds} rounds of {len(targets)} targets")
        times = [T0 + 30 * k for k in range(args.rounds)]
        rounds, sums, render = scrape_rounds(served, targets, slos, times, workdir,
                                             "round.db", timeout_s=30)
        for r in rounds:
            progress(f"(b) round {r['k']} at T0+{30 * r['k']}s: {r['cycle']:.2f} s, "
                     f"{r['samples']:,} samples, rows written {r['written']}")
        out.update(rounds=rounds, checksums=sums, render=statistics.median(render),
                   targets=len(targets), instances=args.instances, fleet=len(fleet[0]))
        progress("(b) parsing the same pages alone")
        with httpx.Client(trust_env=False, timeout=30) as client:
            texts = [client.get(t.url).text for t in targets]
        for page in texts:
            check_same(page)
        out["page samples"] = sum(len(client_parse(page)) for page in texts)
        out["client parse"] = median_time(lambda: [client_parse(p) for p in texts], 3)
        out["fast parse"] = median_time(lambda: [fast_page(p) for p in texts], 5)
    return out


# --- report ----------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).split("\n")[0].split(" (")[0]
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def machine() -> list[str]:
    from importlib.metadata import version

    return [
        machine_line(),
        f"python {platform.python_version()}, prometheus_client {version('prometheus_client')}, "
        f"httpx {httpx.__version__}, httpcore {version('httpcore')}, "
        f"SQLite {sqlite3.sqlite_version}, {version_of(['prometheus', '--version'])}",
    ]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def median_of(rows: list[dict[str, Any]], key: str = "cycle") -> float:
    return statistics.median(r[key] for r in rows)


FIRST_CYCLES = 40  # (a) the figure as measured so far: the first 40 cycles of a process
FIRST_ROUNDS = 7  # (b) likewise rounds 0-6 (the minute rounds 2, 4, 6)


def windows(items: list[dict[str, Any]], first: int, label: str
            ) -> list[tuple[str, list[dict[str, Any]]]]:
    """The first `first` items (the method so far), and the second half of a longer run: a
    collector's process slows down over its first rounds (bench/README.md, "settled")."""
    out = [(f"first {min(first, len(items))} {label}", items[:first])]
    if len(items) >= 2 * first:
        half = len(items) // 2
        out.append((f"settled ({label} {items[half]['k']}-{items[-1]['k']})", items[half:]))
    return out


def report_one_page(a: dict[str, Any],
                    args: argparse.Namespace) -> list[str]:
    n = a["targets"]
    lines = [
        f"(a) one service, {n} instance(s) (pods: one port each, same path): a page of "
        f"{a['samples']:,} samples, {a['bytes'] / 1024:.0f} KiB, "
        f"{args.routes} routes (the fleet's page format), over loopback from a separate "
        "server process",
        f"    parse alone, prometheus_client text parser: {a['client parse'] * 1e3:7.2f} ms "
        f"({a['samples'] / a['client parse']:>9,.0f} samples/s)",
        f"    parse alone, fast path (fast_page):        {a['fast parse'] * 1e3:7.2f} ms "
        f"({a['samples'] / a['fast parse']:>9,.0f} samples/s), "
        f"{a['client parse'] / a['fast parse']:.1f}x faster",
        f"    parse_page (fast path first):               {a['parse_page'] * 1e3:7.2f} ms",
    ]
    prom = one = None
    if "prometheus" in a:
        series = a["prometheus"]
        pooled = [d for durations in series for d in durations]
        one = statistics.median(pooled)
        # the k-th scrape of every target falls in the same 1 s interval: their sum is
        # Prometheus's scrape time for the same targets once, as a cycle covers them once
        prom = statistics.median(sum(ds) for ds in zip(*series, strict=False))
        lines.append(
            f"    Prometheus 2.42 scrape_duration_seconds of the same {n} targets "
            f"({a['prometheus samples']:,} samples a scrape, interval 1s): per target, median "
            f"of {len(pooled)} scrapes {one * 1e3:.2f} ms (min {min(pooled) * 1e3:.2f}, max "
            f"{max(pooled) * 1e3:.2f}); all {n} targets once (sum per interval), median of "
            f"{min(map(len, series))}: {prom * 1e3:.2f} ms")
    else:
        lines.append("    Prometheus: skipped (--skip-prometheus)")
    for label, cycles in windows(a["cycles"], FIRST_CYCLES, "cycles"):
        minute = [c for c in cycles if sum(c["written"])]
        plain = [c for c in cycles if not sum(c["written"])]
        med = median_of(cycles)
        lines += [
            f"    Apollo scrape cycle over the {n} targets (PageScraper.scrape_once, fetch to "
            f"SQLite commit), {label}, median of {len(cycles)}: {med * 1e3:.1f} ms",
            f"      cycles completing a minute (service, bucket and SLO rows written), median "
            f"of {len(minute)}: {median_of(minute) * 1e3:.1f} ms" if minute else "",
            f"      cycles completing no minute (run record only), median of {len(plain)}: "
            f"{median_of(plain) * 1e3:.1f} ms" if plain else "",
            f"      parts, all cycles: {fmt_parts(breakdown(cycles))}",
            f"      parts, minute cycles: {fmt_parts(breakdown(minute))}" if minute else "",
        ]
        if prom is not None and one is not None:
            lines += [
                f"      target: cycle <= {TARGETS['cycle vs Prometheus']:.0f}x Prometheus's "
                f"scrape of the same targets: {med / prom:.1f}x  "
                f"{verdict(med / prom <= TARGETS['cycle vs Prometheus'])}",
                f"      (stricter, as if Prometheus scraped the {n} at once on separate cores: "
                f"cycle / one target's scrape = {med / one:.1f}x)" if n > 1 else "",
            ]
    return [line for line in lines if line]


def report_round(b: dict[str, Any]) -> list[str]:
    rounds = b["rounds"]
    client = b["page samples"] / b["client parse"]
    fast = b["page samples"] / b["fast parse"]
    samples = median_of(rounds, "samples")
    lines = [
        f"(b) full round: {b['targets']} targets = {b['services']} services ({b['fleet']} fleet"
        f" + {b['services'] - b['fleet']} synthetic) x {b['instances']} instance(s) (pods, one "
        f"port each), {samples:,.0f} samples a round, over loopback from one separate server "
        f"process (pages rendered before each round, untimed: {b['render']:.1f} s)",
        f"    round 0 (first scrape of every target, nothing to write): "
        f"{rounds[0]['cycle']:.2f} s",
        "    rounds, s: " + ", ".join(
            f"{r['k']}{'*' if sum(r['written']) else ''} {r['cycle']:.2f}" for r in rounds)
        + "  (* completes a minute)",
        f"    prometheus_client parser alone, the same {b['targets']} pages: "
        f"{b['client parse']:.2f} s = {client:,.0f} samples/s",
        f"    fast path alone, the same pages: {b['fast parse']:.2f} s = {fast:,.0f} samples/s",
    ]
    for label, window in windows(rounds, FIRST_ROUNDS, "rounds"):
        minute = [r for r in window if r["k"] and sum(r["written"])]
        middle = [r for r in window if r["k"] and not sum(r["written"])]
        head = minute or window
        med = median_of(head)
        e2e = median_of(head, "samples") / med
        rows = minute[-1]["written"] if minute else [0, 0, 0]
        lines += [
            f"    {label}: rounds completing a minute (each writes every target's minute: "
            f"{rows[0]} service, {rows[1]:,} bucket and {rows[2]} SLO rows, and "
            f"{b['targets']} run records), median of {len(minute)}: {med:.2f} s = "
            f"{e2e:,.0f} samples/s end to end",
            f"      rounds completing no minute, median of {len(middle)}: "
            f"{median_of(middle):.2f} s" if middle else "",
            f"      parts, minute rounds: {fmt_parts(breakdown(head), 1, 's')}; GC just after "
            f"each round (outside it) {median_of(head, 'GC after'):.2f} s",
            f"      target: end to end >= {TARGETS['e2e vs parse-only']}x prometheus_client's "
            f"parse-only: {e2e / client:.2f}x  "
            f"{verdict(e2e / client >= TARGETS['e2e vs parse-only'])}",
            f"      target: full round < {TARGETS['round seconds']:.0f} s: {med:.2f} s  "
            f"{verdict(med < TARGETS['round seconds'])}",
        ]
    return [line for line in lines if line]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--routes", type=int, default=100, help="routes a page (~20 samples each)")
    parser.add_argument("--cycles", type=int, default=120,
                        help="(a) scrape cycles, 15 s apart (the first 40 and, from 80 on, the "
                             "settled second half are reported)")
    parser.add_argument("--targets", type=int, default=200,
                        help="(b) synthetic services (each with --instances targets)")
    parser.add_argument("--instances", type=int, default=2,
                        help="targets (pods, one port each) per service, in (a) and (b)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="(b) rounds, 30 s apart (from 14 on, the settled second half is "
                             "reported too: --rounds 31 takes ~4 more minutes)")
    parser.add_argument("--prom-seconds", type=int, default=40, help="(a) Prometheus scrapes")
    parser.add_argument("--skip-prometheus", action="store_true")
    parser.add_argument("--part", choices=("a", "b", "both"), default="both",
                        help="run (a) one service, (b) the full round, or both")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="apollo-bench-collect-", dir="/tmp"))
    try:
        slos = load_slo_files(expand([str(ROOT / "slos" / "*.yaml")]))
        a = bench_one_page(args, workdir, slos) if args.part in ("a", "both") else None
        b = bench_round(args, workdir, slos) if args.part in ("b", "both") else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(machine()))
    if a is not None:
        print()
        print("\n".join(report_one_page(a, args)))
    if b is not None:
        print()
        print("\n".join(report_round(b)))
    print(f"\ntotal wall time {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
