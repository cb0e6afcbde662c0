"""Scale-out, for real: two `apollo collect` and two `apollo api` processes on one PostgreSQL
and one Redis, scraping a fleet whose every service runs as two instances.

One scenario runs once for the module (about four minutes of wall clock, minutes being the
unit of the store) and the tests below read what it left:

- collectors A and B (the pair) write into one database and share the targets through
  Redis leases; a lone collector R scrapes the same pages at the same time into a second
  database of the same server, as the reference "one collector" (a second method besides
  the fleet's own load model);
- after a whole minute collected by the pair, the process holding the most leases is
  killed (SIGKILL); the survivor takes its targets, and the events of the embedded
  ClickHouse engine, over once the leases run out; a whole minute later everything stops;
- the two API processes serve the store through one response cache shared in Redis.

The fleet is two in-process `Fleet`s (seeds 1 and 2), so each service has two /metrics
pages on loopback (two instances, `127.0.0.1:<port>` each) whose traffic differs.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
import sqlalchemy as sa
import yaml
from harness.servers import free_port, wait_until
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from services.config import EXAMPLE_CONFIG, load_settings
from services.files import url_instance
from services.fleet.runner import profiles
from services.fleet.server import Fleet
from services.store.engine import make_engine
from services.store.models import LatencyBucketMinute, ServiceMinute, SliMinute

pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
SERVICES = ("api-gateway", "payment-service", "analytics-engine")
SEEDS = (1, 2)  # one fleet per seed: the two instances of every service
INTERVAL_S = 2  # `--every 2s` and sources.scrape.interval: the lease TTL derives from the latter
LEASE_TTL_S = 3 * INTERVAL_S + 5  # build_jobs: a lease outlives three missed rounds
CLICKHOUSE_INTERVAL_S = 4
LEASE_PREFIX = "apollo:lease:"
# A taken-over target is silent from its last scrape by the dead collector to its first
# by the survivor: at most the TTL plus one round. The minutes overlapping that silence
# are the ones lost (the one the dead process was counting, the one the survivor starts
# in): ceil((TTL + interval) / 60) + 1 = 2 at most, per target.
SILENCE_BOUND_S = LEASE_TTL_S + INTERVAL_S + 1.5
LOST_MINUTES_BOUND = math.ceil((LEASE_TTL_S + INTERVAL_S) / 60) + 1
STARTUP_S = 90.0
# Two collectors read one page at different instants: a minute's increase is split at its
# two ends by each scrape's own time. On a loaded machine (2 shared cores) a scrape's time
# can be up to TIMING_S from the instant its page shows, so a minute may differ by twice
# that share of its traffic (5%; a count taken twice would be +100%, an instance lost
# -50%); a block of n consecutive minutes by 1/n of it.
TIMING_S = 1.5  # (measured: up to 1 s, a minute 1.7% off, with other work on the cores)
PER_MINUTE = 2 * TIMING_S / 60


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Child:
    """One `apollo` process started by the test, its output in a file, stopped by PID."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 10 s; the exit code (None if it had to be killed)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.popen.returncode

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


def start(name: str, args: list[str], env: dict[str, str], logs: Path) -> Child:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([*APOLLO, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Child(name, popen, log)


def run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([*APOLLO, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"apollo {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


WRITE_EVENTS = """
import time
from services.config import load_settings
from services.fleet.runner import event_writer, open_events
settings = load_settings()
client = open_events(settings)
writer = event_writer(settings, client)
writer.ensure_table()
print(writer.fill(time.time() + 900))  # a day back and 15 minutes ahead: the whole test
client.close()
"""


# --- configuration -------------------------------------------------------------------------------


def write_config(path: Path, fleets: list[Fleet], *, data_dir: Path,
                 events: Path | None) -> Path:
    """The three services of the example platform, each at two URLs (one per fleet)."""
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config = {
        "data_dir": str(data_dir),
        "services": [s for s in example["services"] if s["slug"] in SERVICES],
        "slo_files": [str(ROOT / "slos" / f"{slug}.yaml") for slug in SERVICES],
        "sources": {
            "scrape": {"interval": f"{INTERVAL_S}s", "timeout": "1s",
                       "targets": [{"service": slug, "url": fleet.urls[slug]}
                                   for slug in SERVICES for fleet in fleets]},
        },
        "fleet": {"events": {"backfill_days": 1}},
        "api": {"host": "127.0.0.1", "port": 0},
    }
    if events is not None:
        config["sources"]["clickhouse"] = {"dsn": f"chdb://{events}", "table": "events",
                                           "interval": f"{CLICKHOUSE_INTERVAL_S}s"}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def database(postgres_server) -> Iterator[str]:
    """A fresh database on the harness's PostgreSQL, dropped afterwards."""
    name = f"scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.url_for(name)
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


# --- what the scenario observed ------------------------------------------------------------------


@dataclass
class Scenario:
    pair: sa.Engine  # collectors A and B
    reference: sa.Engine  # the lone collector R
    redis_url: str
    fleets: list[Fleet]
    targets: dict[str, tuple[str, str]]  # url -> (service, instance)
    chdb_lease: str
    collectors: dict[str, Child]  # a, b, r
    owners: dict[str, str]  # a, b -> the lease owner each writes ("host:pid")
    apis: list[str]
    t_ready: float = 0.0  # every collector had scraped every target
    t_kill: float = 0.0
    t_taken: float = 0.0  # the survivor held every lease
    t_stop: float = 0.0
    victim: str = ""
    survivor: str = ""
    leases_before: dict[str, str] = field(default_factory=dict)  # lease name -> owner
    leases_after: dict[str, str] = field(default_factory=dict)
    pages_before: dict[str, str] = field(default_factory=dict)  # a, b -> /metrics text
    page_after: str = ""  # the survivor's
    exit_codes: dict[str, int | None] = field(default_factory=dict)

    def stamp(self) -> str:
        return (f"ready {self.t_ready:.0f}, kill {self.t_kill:.0f}, taken {self.t_taken:.0f}, "
                f"stop {self.t_stop:.0f}; victim {self.victim}")


def leases(url: str) -> dict[str, str]:
    with redis.Redis.from_url(url) as client:
        return {key.decode().removeprefix(LEASE_PREFIX): client.get(key).decode()
                for key in client.scan_iter(f"{LEASE_PREFIX}*")}


def metrics_page(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False).text


def scraped_targets(page: str) -> dict[str, float]:
    """Target -> last successful scrape, from a collector's own metrics page."""
    out = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if (sample.name == "apollo_collector_last_success_timestamp_seconds"
                    and sample.labels.get("collector") == "scrape"):
                out[sample.labels["target"]] = sample.value
    return out


def runs_total(page: str, collector: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if (sample.name == "apollo_collector_runs_total"
                    and sample.labels.get("collector") == collector):
                total += sample.value
    return total


def epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def runs(engine: sa.Engine, collector: str) -> list[tuple[str, float, str, str]]:
    """(target, started, status, message) of every recorded run of `collector`, in order."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT target, started_at, status, message FROM collector_runs "
            "WHERE collector = :c ORDER BY started_at"), {"c": collector}).all()
    return [(t, epoch(s), status, message) for t, s, status, message in rows]


def scrape_starts(engine: sa.Engine) -> dict[str, list[float]]:
    """Target -> the starts of its successful scrapes, in order."""
    out: dict[str, list[float]] = {}
    for target, started, status, _ in runs(engine, "scrape"):
        if status == "ok":
            out.setdefault(target, []).append(started)
    return out


def service_rows(engine: sa.Engine) -> dict[tuple[str, str, int], tuple[float, float, float]]:
    """(service, instance, minute) -> (requests, errors, latency_count)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.slug, m.instance, m.minute, m.requests, m.errors, m.latency_count "
            "FROM service_minutes m JOIN services s ON s.id = m.service_id")).all()
    return {(slug, inst, int(minute)): (float(r), float(e), float(c))
            for slug, inst, minute, r, e, c in rows}


def wait_for(check, timeout: float, what: str, scenario: Scenario | None = None) -> None:
    if wait_until(check, timeout):
        return
    logs = ""
    if scenario is not None:
        logs = "\n".join(f"--- {c.name} ---\n{c.output()[-3000:]}"
                         for c in scenario.collectors.values())
    raise AssertionError(f"not within {timeout:g} s: {what}\n{logs}")


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def next_minute(t: float) -> int:
    return math.ceil(t / 60) * 60


# --- the scenario ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(postgres_server, redis_server, tmp_path_factory) -> Iterator[Scenario]:
    if not postgres_server.is_running():
        postgres_server.start()
    if not redis_server.is_running():
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    tmp = tmp_path_factory.mktemp("scale-out")
    settings = load_settings(EXAMPLE_CONFIG)
    chosen = [p for p in profiles(settings) if p.slug in SERVICES]
    children: list[Child] = []
    with contextlib.ExitStack() as stack:
        fleets = [stack.enter_context(Fleet(chosen, seed=seed)) for seed in SEEDS]
        pair_url = stack.enter_context(database(postgres_server))
        reference_url = stack.enter_context(database(postgres_server))
        events = tmp / "chdb" / "events"
        pair_config = write_config(tmp / "pair.yaml", fleets, data_dir=tmp / "var-pair",
                                   events=events)
        reference_config = write_config(tmp / "reference.yaml", fleets,
                                        data_dir=tmp / "var-reference", events=None)
        base = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
        pair_env = {**base, "APOLLO_CONFIG": str(pair_config),
                    "APOLLO_DATABASE_URL": pair_url, "APOLLO_REDIS_URL": redis_server.url}
        reference_env = {**base, "APOLLO_CONFIG": str(reference_config),
                         "APOLLO_DATABASE_URL": reference_url}
        written = subprocess.run([sys.executable, "-c", WRITE_EVENTS], cwd=ROOT, env=pair_env,
                                 capture_output=True, text=True, timeout=120)
        assert written.returncode == 0 and int(written.stdout) > 0, written.stderr
        run(["db", "upgrade"], pair_env)
        run(["db", "upgrade"], reference_env)

        ports = {name: free_port() for name in ("a", "b", "r")}
        every = ["collect", "--every", f"{INTERVAL_S}s", "--metrics-port"]
        try:
            for name in ("a", "b"):
                children.append(start(name, [*every, str(ports[name])], pair_env, tmp))
            children.append(start("r", [*every, str(ports["r"])], reference_env, tmp))
            api_ports = [free_port(), free_port()]
            for i, port in enumerate(api_ports):
                children.append(start(f"api{i + 1}", ["api", "--port", str(port)], pair_env, tmp))
            s = Scenario(
                pair=make_engine(pair_url), reference=make_engine(reference_url),
                redis_url=redis_server.url, fleets=fleets,
                targets={f.urls[slug]: (slug, url_instance(f.urls[slug]))
                         for slug in SERVICES for f in fleets},
                chdb_lease=f"clickhouse:chdb://{events}",
                collectors={c.name: c for c in children[:3]},
                owners={c.name: f"{socket.gethostname()}:{c.pid}" for c in children[:2]},
                apis=[f"http://127.0.0.1:{p}" for p in api_ports])
            stack.callback(s.pair.dispose)
            stack.callback(s.reference.dispose)
            play(s, ports)
            yield s
        finally:
            for child in reversed(children):
                child.stop()


def play(s: Scenario, ports: dict[str, int]) -> None:
    """The timeline: start, a whole minute by the pair, kill, take-over, a whole minute, stop."""
    every_target = set(s.targets)

    def ready(api: str) -> bool:
        try:
            body = httpx.get(f"{api}/ready", timeout=2, trust_env=False).json()
        except (httpx.HTTPError, ValueError):
            return False
        return body.get("status") == "ready" and body.get("cache") == "redis"

    if not wait_until(lambda: all(ready(api) for api in s.apis), STARTUP_S):
        answers = [httpx.get(f"{api}/ready", timeout=5, trust_env=False).text for api in s.apis]
        raise AssertionError(f"the APIs are not ready on Redis: {answers}")
    wait_for(lambda: set(scrape_starts(s.pair)) >= every_target
             and set(scrape_starts(s.reference)) >= every_target, STARTUP_S,
             "every target scraped into both databases", s)
    s.t_ready = time.time()
    # one minute that every collector saw whole, written (a scrape after its end, a round)
    whole_minute_written(s, next_minute(s.t_ready))
    s.leases_before = leases(s.redis_url)
    s.pages_before = {name: metrics_page(ports[name]) for name in ("a", "b")}
    held = {name: sum(owner == s.owners[name] for owner in s.leases_before.values())
            for name in ("a", "b")}
    s.victim = max(held, key=held.get)
    s.survivor = "b" if s.victim == "a" else "a"
    s.t_kill = time.time()
    s.collectors[s.victim].kill()

    survivor = s.owners[s.survivor]
    wait_for(lambda: {n for n, o in leases(s.redis_url).items() if o == survivor}
             >= every_target, LEASE_TTL_S + 3 * INTERVAL_S + 5,
             "the survivor holds every target's lease", s)
    s.t_taken = time.time()

    def scraped_since_kill() -> list[float]:
        starts = scrape_starts(s.pair)
        return [min((t for t in starts.get(u, []) if t > s.t_kill), default=math.inf)
                for u in every_target]

    wait_for(lambda: max(scraped_since_kill()) < math.inf, 3 * INTERVAL_S + 5,
             "the survivor scraped every target", s)
    # and one minute after the take-over, whole
    whole_minute_written(s, next_minute(max(scraped_since_kill())))
    s.leases_after = leases(s.redis_url)
    s.page_after = metrics_page(ports[s.survivor])
    s.t_stop = time.time()
    for name in (s.survivor, "r"):
        s.exit_codes[name] = s.collectors[name].stop()


def whole_minute_written(s: Scenario, minute: int) -> None:
    """Wait until `minute` is over, and its rows of every instance in both databases."""
    sleep_until(minute + 60 + INTERVAL_S + 1)
    keys = set(s.targets.values())

    def written() -> bool:
        return all({(slug, inst) for slug, inst, m in service_rows(engine) if m == minute}
                   >= keys for engine in (s.pair, s.reference))

    wait_for(written, 5 * INTERVAL_S, f"the rows of minute {minute} in both databases", s)


def window(s: Scenario) -> range:
    """The minutes every collector alive saw whole: from the first after all had started
    to the last that ended a round before the stop."""
    last = math.floor((s.t_stop - INTERVAL_S - 1) / 60) * 60 - 60
    return range(next_minute(s.t_ready), last + 1, 60)


def silences(s: Scenario) -> dict[str, tuple[float, float]]:
    """Per target of the victim: its last scrape before the kill, the survivor's first after."""
    starts = scrape_starts(s.pair)
    out = {}
    for url in s.targets:
        if s.leases_before.get(url) == s.owners[s.victim]:
            before = max(t for t in starts[url] if t <= s.t_kill)
            after = min(t for t in starts[url] if t > s.t_kill)
            out[url] = (before, after)
    return out


def consecutive(minutes: list[int]) -> list[list[int]]:
    """Runs of consecutive minutes: [0, 60, 180] -> [[0, 60], [180]]."""
    out: list[list[int]] = []
    for m in minutes:
        if out and out[-1][-1] + 60 == m:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def overlapping_minutes(start: float, end: float) -> set[int]:
    return set(range(int(start // 60) * 60, int(end // 60) * 60 + 1, 60))


# --- the tests ---------------------------------------------------------------------------------


def test_every_target_is_collected_by_one_collector_once_per_interval(scenario):
    s = scenario
    before = {name: set(scraped_targets(page)) for name, page in s.pages_before.items()}
    assert before["a"].isdisjoint(before["b"]), s.stamp()  # no target scraped by both
    assert before["a"] | before["b"] == set(s.targets)
    targets = {u for u in s.leases_before if u in s.targets}
    assert targets == set(s.targets)
    assert {s.leases_before[u] for u in targets} <= set(s.owners.values())
    for name in ("a", "b"):  # each scraped exactly the targets whose leases it holds
        assert before[name] == {u for u in targets if s.leases_before[u] == s.owners[name]}
    for name, engine in (("pair", s.pair), ("reference", s.reference)):
        longest = max((b - a, url, a) for url, starts in scrape_starts(engine).items()
                      for a, b in itertools.pairwise(starts) if not a <= s.t_kill < b)
        print(f"\n{name}: longest scrape interval {longest[0]:.2f} s "
              f"({longest[1]} at {longest[2]:.0f})")
    for url, starts in scrape_starts(s.pair).items():
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # two collectors in one interval would leave two runs closer than the interval
        assert min(gaps) >= 0.75 * INTERVAL_S, (url, min(gaps), s.stamp())
        span = starts[-1] - starts[0]
        assert len(starts) <= span / INTERVAL_S + 1, (url, len(starts), span)
    # Once running, every scrape worked. (Starting together, both may register the SLOs
    # at once: catalog.ensure_slo selects, then inserts, so one of them can meet the
    # other's row, a failed `scrape` run of target `job`, and its next round goes on.)
    failed = [(t, at, m[:120]) for t, at, status, m in runs(s.pair, "scrape") if status != "ok"]
    assert [f for f in failed if f[1] > s.t_ready] == [], failed
    if failed:
        print(f"\nfailed at start: {failed}")


def test_minute_rows_summed_across_instances_equal_a_lone_collectors(scenario):
    """Every whole minute that both the pair and the lone collector wrote, instance by
    instance and summed per service, equals the lone collector's and the integral of the
    two instances' load models, within what scrape timing explains (a count taken twice
    would be +100%, an instance lost -50%); over consecutive minutes the timing error stays
    at the two ends, so a block's total is held to that bound over its length."""
    s = scenario
    pair, reference = service_rows(s.pair), service_rows(s.reference)
    gaps = silences(s)
    minutes = {url: [m for m in window(s)
                     if url not in gaps or m not in overlapping_minutes(*gaps[url])]
               for url in s.targets}
    worst = dict.fromkeys(("instance", "service", "model", "block"), 0.0)
    where: dict[str, object] = {}

    def check(what: str, mine: float, theirs: float, tolerance: float, place: object) -> None:
        off = abs(mine / theirs - 1)
        if off >= worst[what]:
            worst[what], where[what] = off, place
        assert off <= tolerance, (what, place, mine, theirs, s.stamp())

    for url, (slug, instance) in s.targets.items():
        assert any(m < s.t_kill for m in minutes[url]), (url, s.stamp())
        assert any(m > s.t_taken for m in minutes[url]), (url, s.stamp())
        for minute in minutes[url]:
            mine, theirs = pair[(slug, instance, minute)], reference[(slug, instance, minute)]
            check("instance", mine[0], theirs[0], PER_MINUTE, (slug, instance, minute))
            assert mine[1] == pytest.approx(theirs[1], rel=PER_MINUTE, abs=20)  # errors
            assert mine[2] == pytest.approx(theirs[2], rel=PER_MINUTE)  # latency count
        for block in consecutive(minutes[url]):
            keys = [(slug, instance, m) for m in block]
            check("block", sum(pair[k][0] for k in keys), sum(reference[k][0] for k in keys),
                  PER_MINUTE / len(block), (slug, instance, block))
    for slug in SERVICES:
        urls = [f.urls[slug] for f in s.fleets]
        for minute in sorted(set(minutes[urls[0]]) & set(minutes[urls[1]])):
            keys = [(slug, url_instance(u), minute) for u in urls]
            summed = sum(pair[k][0] for k in keys)
            check("service", summed, sum(reference[k][0] for k in keys), PER_MINUTE,
                  (slug, minute))
            # the second method: the load models of both instances, integrated
            expected = sum(f.endpoint(slug).simulator.load.expected_requests(minute, minute + 60)
                           for f in s.fleets)
            check("model", summed, expected, PER_MINUTE, (slug, minute))
    compared = sum(map(len, minutes.values()))
    print(f"\n{compared} instance-minutes compared; largest relative gaps: "
          + ", ".join(f"{k} {v:.3%} at {where[k]}" for k, v in worst.items())
          + f"\n{s.stamp()}")


def test_the_api_sums_the_instances_as_the_store_holds_them(scenario):
    s = scenario
    minutes = window(s)
    params = {"from": str(minutes[0]), "to": str(minutes[-1] + 60), "resolution": "minute"}
    pair = service_rows(s.pair)
    body = httpx.get(f"{s.apis[0]}/api/v1/services/api-gateway/series", params=params,
                     timeout=30, trust_env=False).json()
    points = {int(datetime.fromisoformat(p["ts"]).timestamp()): p for p in body["points"]}
    for minute in minutes:
        rows = [v for (slug, _, m), v in pair.items() if slug == "api-gateway" and m == minute]
        if minute not in points:
            assert not rows
            continue
        assert points[minute]["instances"] == len(rows)
        assert points[minute]["requests"] == pytest.approx(sum(r[0] for r in rows), rel=1e-9)
    assert sum(p["instances"] == 2 for p in points.values()) >= 2


def test_no_row_is_written_twice(scenario):
    s = scenario
    with s.pair.connect() as conn:
        for model in (ServiceMinute, LatencyBucketMinute, SliMinute):
            table = model.__table__
            key = sa.tuple_(*table.primary_key.columns)
            total, distinct = conn.execute(sa.select(
                sa.func.count(), sa.func.count(sa.distinct(key)))).one()
            assert total == distinct > 0, table.name
        per_minute = conn.execute(sa.text(
            "SELECT service_id, minute, count(*) FROM service_minutes "
            "GROUP BY service_id, minute")).all()
        instances = set(conn.execute(sa.text(
            "SELECT DISTINCT instance FROM service_minutes")).scalars())
        event_instances = set(conn.execute(sa.text(
            "SELECT DISTINCT m.instance FROM sli_minutes m JOIN slos o ON o.id = m.slo_id "
            "WHERE o.slug = 'analytics-engine-purchase-response'")).scalars())
    assert max(n for _, _, n in per_minute) == len(SEEDS)  # one row per instance, never more
    assert instances == {instance for _, instance in s.targets.values()}
    assert event_instances == {"clickhouse"}


def test_an_answer_computed_by_one_api_is_served_shared_by_the_other(scenario):
    s = scenario
    minutes = window(s)  # absolute minutes: one key for both processes
    params = {"from": str(minutes[0]), "to": str(minutes[-1] + 60)}
    time.sleep(2.5)  # answers of the tests before are shared within a sync (1 s): all out
    with redis.Redis.from_url(s.redis_url) as client:
        before = set(client.scan_iter("apollo:cache:r:*"))
        computed = httpx.get(f"{s.apis[0]}/api/v1/services", params=params, timeout=30,
                             trust_env=False)
        assert computed.status_code == 200
        assert computed.headers["x-apollo-cache"] == "miss"
        assert wait_until(lambda: set(client.scan_iter("apollo:cache:r:*")) - before, 5)
        shared = sorted(k.decode()[:40]
                        for k in set(client.scan_iter("apollo:cache:r:*")) - before)
        version = client.get("apollo:cache:version")
    fetched = httpx.get(f"{s.apis[1]}/api/v1/services", params=params, timeout=30,
                        trust_env=False)
    assert fetched.headers["x-apollo-cache"] == "shared", (shared, version, time.time(), s.t_stop)
    assert fetched.content == computed.content
    again = httpx.get(f"{s.apis[1]}/api/v1/services", params=params, timeout=30,
                      trust_env=False)
    assert again.headers["x-apollo-cache"] == "hit"


def test_a_killed_collectors_targets_are_taken_over_once_its_leases_run_out(scenario):
    s = scenario
    assert s.exit_codes[s.survivor] == 0 and s.exit_codes["r"] == 0
    survivor = s.owners[s.survivor]
    assert {n for n, o in s.leases_after.items() if o == survivor} >= set(s.targets)
    after = scraped_targets(s.page_after)
    assert set(after) == set(s.targets)
    assert min(after.values()) > s.t_kill  # every target, again and again after the kill
    gaps = silences(s)
    assert gaps, "the victim held no target"
    for url, (before, first) in gaps.items():
        # not before the lease ran out (no overlap), and within a round after it did
        assert LEASE_TTL_S - 1 <= first - before <= SILENCE_BOUND_S, (url, first - before)
    # minutes lost: only those overlapping a taken-over target's silence, 2 at most each,
    # among them always the one the survivor started counting in (seen in part by both:
    # no row rather than a low one); none of the other targets'
    pair, reference = service_rows(s.pair), service_rows(s.reference)
    lost = {}
    for url, (slug, instance) in s.targets.items():
        missing = {m for m in window(s) if (slug, instance, m) not in pair}
        assert all((slug, instance, m) in reference for m in window(s))
        if url in gaps:
            assert missing <= overlapping_minutes(*gaps[url]), (url, missing)
            started_in = int(gaps[url][1] // 60) * 60
            assert started_in in missing or started_in not in window(s)
            assert len(missing) <= LOST_MINUTES_BOUND
            lost[f"{slug} {instance}"] = len(missing)
        else:
            assert not missing, (url, missing)
    print(f"\nsilences after the kill: {sorted(round(b - a, 2) for a, b in gaps.values())} s "
          f"(TTL {LEASE_TTL_S} s); minutes lost per taken-over target: {lost}")


def test_one_collector_reads_the_embedded_clickhouse_engine_per_interval(scenario):
    """Both collectors name the same chdb path; one process at a time may open it. Without
    a lease both read, and a run that tries while the other has it open fails."""
    s = scenario
    readers = [n for n in ("a", "b") if runs_total(s.pages_before[n], "clickhouse") > 0]
    done = runs(s.pair, "clickhouse")
    assert [r for r in done if r[2] != "ok"] == []  # no run met the engine locked
    assert len(readers) == 1, readers  # the other never opened it
    (reader,) = readers
    standby = "b" if reader == "a" else "a"
    assert s.leases_before.get(s.chdb_lease) == s.owners[reader]
    assert f"lease held by {s.owners[reader]}" in s.collectors[standby].output()
    before = [t for _, t, _, _ in done if t <= s.t_kill]
    span = s.t_kill - before[0]
    one_reader = span / INTERVAL_S + span / CLICKHOUSE_INTERVAL_S + 2
    assert len(before) <= one_reader, (len(before), one_reader)
    # the killed one's lease runs out too: the survivor reads the events from then on
    assert s.leases_after.get(s.chdb_lease) == s.owners[s.survivor]
    after = [t for _, t, _, _ in done if t > s.t_kill]
    assert after and after[0] - s.t_kill <= SILENCE_BOUND_S
    assert runs_total(s.page_after, "clickhouse") > 0
    print(f"\nClickHouse: {len(before)} runs in {span:.0f} s before the kill, all by {reader} "
          f"(one reader's worth at most {one_reader:.0f}); the survivor's first "
          f"{after[0] - s.t_kill:.1f} s after it")


# --- the lease that guards the embedded engine, on its own -----------------------------------


def test_a_source_guarded_by_one_lease_is_read_by_one_replica_then_taken_over(
        redis_server, redis_url, caplog):
    """What the ClickHouse jobs are wrapped in (services/runtime/jobs.py): the replica
    holding the lease runs them, the other skips them (no run) and says who reads; when
    the reader stops renewing, the other takes over; Redis down is a failed run."""
    from collectors.runs import RunResult
    from services.runtime.leases import OneReader, RedisLeases

    read: list[str] = []

    def replica(owner: str) -> OneReader:
        return OneReader(RedisLeases(redis_url, owner, ttl_s=1), "clickhouse:chdb:///x",
                         collector="clickhouse", source="ClickHouse chdb:///x")

    def job(owner: str):
        def run() -> list[RunResult]:
            read.append(owner)
            return [RunResult("clickhouse", "chdb:///x").finish()]
        return run

    first, second = replica("host:1"), replica("host:2")
    one, two = first.guard(job("host:1")), second.guard(job("host:2"))
    with caplog.at_level("WARNING", logger="services.runtime.leases"):
        for _ in range(3):
            assert len(one()) == 1
            assert two() == []
        assert read == ["host:1"] * 3
        assert caplog.text.count("held by host:1") == 1  # said once, not every round
        time.sleep(1.2)  # the first replica is gone: its lease runs out
        assert len(two()) == 1 and read[-1] == "host:2"
        assert "this collector reads it now" in caplog.text
        assert one() == [] and read[-1] == "host:2"
    redis_server.stop()
    try:
        (failed,) = two()
    finally:
        redis_server.start()
    assert failed.status == "failed" and failed.target == "leases"
    assert "Redis 127.0.0.1" in failed.errors[0]
    assert "ClickHouse chdb:///x not read" in failed.errors[0]
