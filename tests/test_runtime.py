"""The collection runtime: one job list for every mode, a loop that never dies, every run
accounted for, and a clean stop on SIGTERM or SIGINT in every mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml
from harness.servers import free_port, wait_until
from support import PROFILES, T0, Clock, serving

from collectors.runs import RunResult
from collectors.scrape import PageScraper, Target
from services.config import load_settings
from services.fleet.server import Fleet
from services.runtime.jobs import build_jobs
from services.runtime.scheduler import Job, Scheduler
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]


def runs_in(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT collector, target, status FROM collector_runs ORDER BY id"))]


def test_jobs_run_on_their_own_intervals_and_a_job_that_raises_is_a_failed_run(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    calls: list[str] = []

    def ok() -> list[RunResult]:
        calls.append("fast")
        return [RunResult("scrape", "http://127.0.0.1:1/metrics", samples=3).finish()]

    def broken() -> list[RunResult]:
        calls.append("slow")
        raise RuntimeError("disk on fire")

    scheduler = Scheduler(engine, [Job("fast", 15, ok), Job("slow", 60, broken)])
    for now in range(1000, 1000 + 121, 5):  # two minutes in 5 s steps
        scheduler.run_due(float(now))
    assert calls.count("fast") == 9  # at 0, 15, … 120 s
    assert calls.count("slow") == 3  # at 0, 60 and 120 s
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT collector, status, message FROM collector_runs ORDER BY id")).all()
    assert [r for r in rows if r[0] == "scrape"] == [("scrape", "ok", "")] * 9
    failed = [r for r in rows if r[0] == "slow"]
    assert len(failed) == 3
    assert all(r[1] == "failed" and r[2] == "RuntimeError: disk on fire" for r in failed)


def test_runs_are_counted_on_the_collectors_own_metrics(tmp_path):
    from prometheus_client import generate_latest

    from services.runtime.metrics import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    before = sample("apollo_collector_runs_total", collector="costs", status="failed")
    errors_before = sample("apollo_collector_errors_total", collector="costs")

    def failing() -> list[RunResult]:
        return [RunResult("costs", "costs.csv", errors=["costs.csv:3: monthly_cost: x"]).finish()]

    Scheduler(engine, [Job("costs", 60, failing)]).run_due(0.0)
    assert sample("apollo_collector_runs_total", collector="costs", status="failed") == before + 1
    assert sample("apollo_collector_errors_total", collector="costs") == errors_before + 1
    assert b"apollo_collector_run_duration_seconds_bucket" in generate_latest(REGISTRY)


def test_runs_that_cannot_be_recorded_are_kept_and_written_later(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'nothing.db'}")
    (tmp_path / "missing-dir" / "x").rmdir()  # make_engine created it: take it away again

    def ok() -> list[RunResult]:
        return [RunResult("roadmap", "doc.md", samples=1).finish()]

    scheduler = Scheduler(broken, [Job("roadmap", 10, ok)])
    for now in (0.0, 10.0, 20.0):
        scheduler.run_due(now)  # the store cannot be opened: nothing raises
    assert len(scheduler.log.backlog) == 3
    scheduler.log.engine = engine  # the store is back
    scheduler.run_due(30.0)
    assert runs_in(engine) == [("roadmap", "doc.md", "ok")] * 4
    assert not scheduler.log.backlog


def example_settings(tmp_path: Path, **overrides):
    data = yaml.safe_load((ROOT / "services" / "apollo.example.yaml").read_text())
    data.update(data_dir=str(tmp_path / "var"), **overrides)
    path = tmp_path / "apollo.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_settings(path), path


def test_build_jobs_wires_every_configured_source(tmp_path):
    settings, _ = example_settings(tmp_path)
    settings.sources.costs.opencost_url = "http://127.0.0.1:9/"
    settings.sources.clickhouse.dsn = "http://127.0.0.1:9/"
    engine = make_engine(settings.store_url)
    upgrade(engine)
    names = [job.name for job in build_jobs(settings, engine, targets=[])]
    assert names[0] == "scrape"
    assert {"clickhouse", "roadmap", "costs", "opencost", "rollup", "retention"} <= set(names)
    settings.sources.prometheus.url = "http://127.0.0.1:9/"
    assert build_jobs(settings, engine, targets=[])[0].name == "prometheus"


@pytest.mark.servers
def test_postgresql_stopped_for_30s_under_a_running_collector(postgres_server, pg_url, tmp_path):
    """The loop stays alive, every run it made is recorded once the store is back, and the
    rows equal those of an undisturbed scraper of the same pages at the same moments."""
    clock = Clock(T0 + 5)
    engine = make_engine(pg_url)
    upgrade(engine)
    reference_engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(reference_engine)
    done: list[RunResult] = []
    with Fleet(list(PROFILES.values())[:2], clock=clock) as fleet:
        targets = [Target(s, u) for s, u in fleet.urls.items()]
        scraper = PageScraper(engine, targets, clock=clock)
        reference = PageScraper(reference_engine, targets, clock=clock)
        scheduler = Scheduler(engine, [Job("scrape", 15, scraper.scrape_once),
                                       Job("reference", 15, reference.scrape_once)],
                              clock=clock, on_runs=done.extend)
        thread = scheduler.start()

        def rounds(n: int, pause: float) -> None:
            for _ in range(n):
                seen = len(done)
                clock.now += 15
                assert wait_until(lambda seen=seen: len(done) >= seen + 4, 10), "the loop stopped"
                time.sleep(pause)

        assert wait_until(lambda: len(done) >= 4, 10)  # the first round, at start
        rounds(6, 0.1)
        postgres_server.stop()
        stopped_at = time.monotonic()
        rounds(15, 2.0)  # 30 s of rounds with the store down
        assert time.monotonic() - stopped_at >= 30
        assert thread.is_alive()
        postgres_server.start()
        rounds(6, 0.1)
        scheduler.stop_event.set()
        thread.join(10)
    assert not thread.is_alive()
    down = [r for r in done if any(e.startswith("store:") for e in r.errors)]
    assert len(down) >= 2 * 14  # the scrapes while the store was down said so
    recorded = runs_in(engine)
    assert len(recorded) == len(done) == 28 * 4  # every run of every round, once
    last_scrape = T0 + 5 + 27 * 15
    whole_minutes = len(range(int(T0) + 60, int(last_scrape) - 60 + 1, 60))
    with engine.connect() as conn, reference_engine.connect() as ref:
        mine = queries.service_metrics(conn, T0, T0 + 3600)
        theirs = queries.service_metrics(ref, T0, T0 + 3600)
    assert whole_minutes == 5 and len(theirs) == 2 * whole_minutes
    assert mine[["ts", "service", "requests", "errors"]].equals(
        theirs[["ts", "service", "requests", "errors"]])


def write_config(tmp_path: Path, targets: list[dict[str, str]], **extra) -> Path:
    roadmap = tmp_path / "roadmap.md"
    roadmap.write_text("# Plan\n\n## Stage A\n\n- [x] one\n- [ ] two\n")
    costs = tmp_path / "costs.csv"
    costs.write_text("component,monthly_cost\nDatabase,100\n")
    config = {
        "data_dir": str(tmp_path / "var"),
        "services": [{"slug": "api-gateway", "name": "API Gateway"}],
        "slo_files": [],
        "sources": {"scrape": {"targets": targets, "timeout": "1s"},
                    "roadmap": {"files": [str(roadmap)]}, "costs": {"files": [str(costs)]}},
        **extra,
    }
    path = tmp_path / "apollo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def apollo(config: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*APOLLO, "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_collect_once_runs_every_job_once_and_exits_1_when_a_target_fails(tmp_path):
    clock = Clock(T0)
    with Fleet(list(PROFILES.values())[:1], clock=clock) as fleet:
        closed = f"http://127.0.0.1:{free_port()}/metrics"
        config = write_config(tmp_path, [{"service": "api-gateway", "url": fleet.urls[
            "api-gateway"]}, {"service": "api-gateway", "url": closed}])
        assert apollo(config, "db", "upgrade").returncode == 0
        result = apollo(config, "collect", "--once")
    assert result.returncode == 1, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'apollo.db'}")
    recorded = runs_in(engine)
    by_collector = sorted(c for c, _, _ in recorded)
    assert by_collector == ["costs", "retention", "roadmap", "rollup", "scrape", "scrape"]
    assert ("scrape", closed, "failed") in recorded
    assert f"failed   scrape      {closed}" in result.stdout


def test_collect_once_exits_0_when_everything_worked(tmp_path):
    with Fleet(list(PROFILES.values())[:1], clock=Clock(T0)) as fleet:
        config = write_config(tmp_path, [{"service": "api-gateway",
                                          "url": fleet.urls["api-gateway"]}])
        assert apollo(config, "db", "upgrade").returncode == 0
        result = apollo(config, "collect", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") == 5  # scrape, roadmap, costs, rollup, retention


def test_collect_refuses_a_store_that_is_not_migrated(tmp_path):
    config = write_config(tmp_path, [])
    result = apollo(config, "collect", "--once")
    assert result.returncode == 1
    assert "apollo db upgrade" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_collector_started_in_the_background_stops_on_sigint_and_sigterm(tmp_path, signum):
    """Started as `&` or nohup starts it (SIGINT ignored on entry), with its metrics page."""
    with Fleet(list(PROFILES.values())[:1], clock=Clock(T0)) as fleet:
        config = write_config(tmp_path, [{"service": "api-gateway",
                                          "url": fleet.urls["api-gateway"]}])
        assert apollo(config, "db", "upgrade").returncode == 0
        port = free_port()
        child = subprocess.Popen(
            [*APOLLO, "--config", str(config), "collect", "--every", "1s",
             "--metrics-port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            def collected() -> bool:
                try:
                    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                except httpx.HTTPError:
                    return False
                return 'apollo_collector_runs_total{collector="scrape",status="ok"}' in page

            assert wait_until(collected, 30), child.stderr.read() if child.poll() else ""
            child.send_signal(signum)
            out, err = child.communicate(timeout=5)
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
    assert child.returncode == 0, err
    assert "stopped" in out


def test_the_demo_scheduler_survives_a_store_error_inside_a_job(tmp_path):
    """A job that raises a store error is a failed run; the other jobs go on."""
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    calls = []

    def store_error() -> list[RunResult]:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
        return []

    def fine() -> list[RunResult]:
        calls.append(1)
        return [RunResult("roadmap", "doc.md").finish()]

    stop = threading.Event()
    clock = Clock(0.0)
    scheduler = Scheduler(engine, [Job("broken", 1, store_error), Job("roadmap", 1, fine)],
                          stop_event=stop, clock=clock)
    thread = scheduler.start()
    for _ in range(3):
        seen = len(calls)
        clock.now += 1
        assert wait_until(lambda seen=seen: len(calls) > seen, 5)
    stop.set()
    thread.join(5)
    statuses = runs_in(engine)
    assert ("broken", "job", "failed") in statuses and len(calls) >= 3


def test_configured_services_are_registered_with_their_labels_and_environment(tmp_path):
    with Fleet(list(PROFILES.values())[:1], clock=Clock(T0)) as fleet:
        url = fleet.urls["api-gateway"]
        config = write_config(
            tmp_path, [{"service": "api-gateway", "url": url, "environment": "production"}],
            environments={"production": {"database": "PostgreSQL 15 (HA)"}},
            services=[{"slug": "api-gateway", "name": "API Gateway", "team": "platform",
                       "tier": "critical", "labels": {"owner": "sre"}}])
        settings = load_settings(config)
        engine = make_engine(settings.store_url)
        upgrade(engine)
        Scheduler(engine, build_jobs(settings, engine)[:1]).run_once()
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT name, team, environment, tier, labels FROM services "
                                   "WHERE slug = 'api-gateway'")).one()
    assert tuple(row[:4]) == ("API Gateway", "platform", "production", "critical")
    assert "sre" in str(row[4])


def test_a_services_configured_metric_names_reach_the_scraper(tmp_path):
    """`metrics:` and `cpu_limit_cores` of a service shape its rows through build_jobs' scraper:
    a counter under its own name and label, CPU seconds as a share of two cores."""
    from services.runtime.jobs import build_scraper

    def page(n: int) -> str:  # the nth scrape: 1,010 orders and 90 CPU-seconds a minute
        return ("# TYPE shop_orders_total counter\n"
                f'shop_orders_total{{result="200"}} {1000 * n}\n'
                f'shop_orders_total{{result="503"}} {10 * n}\n'
                "# TYPE process_cpu_seconds_total counter\n"
                f"process_cpu_seconds_total {90 * n}\n")

    clock = Clock(T0)
    pages = {"metrics": page(0)}
    with serving(pages) as base:
        config = write_config(tmp_path, [{"service": "shop", "url": f"{base}/metrics"}],
                              services=[{"slug": "shop", "name": "Shop", "cpu_limit_cores": 2,
                                         "metrics": {"requests": "shop_orders_total",
                                                     "status_label": "result"}}])
        settings = load_settings(config)
        engine = make_engine(settings.store_url)
        upgrade(engine)
        scraper = build_scraper(settings, engine)
        scraper.clock = clock
        for i in range(3):  # one scrape a minute
            clock.now = T0 + 60 * i
            pages["metrics"] = page(i)
            scraper.scrape_once()
    with engine.connect() as conn:
        rows = queries.service_metrics(conn, T0, T0 + 180, services=["shop"])
    assert rows["requests"].tolist() == [1010.0, 1010.0]
    assert rows["errors"].tolist() == [10.0, 10.0]
    assert rows["cpu_ratio"].tolist() == pytest.approx([90 / 60 / 2] * 2)  # 1.5 of 2 cores
