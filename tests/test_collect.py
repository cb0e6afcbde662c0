"""The collector loop: each job on its own interval, failures recorded, the loop going on."""

from __future__ import annotations

import sqlalchemy as sa

from collectors.runs import RunResult
from services.runtime.jobs import Collector, Job
from services.store.engine import make_engine
from services.store.migrate import upgrade


def test_jobs_run_on_their_own_intervals_and_a_failure_does_not_stop_the_others(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    calls: list[str] = []

    def ok() -> list[RunResult]:
        calls.append("fast")
        run = RunResult("scrape", "http://127.0.0.1:1/metrics", samples=3)
        return [run.finish()]

    def broken() -> list[RunResult]:
        calls.append("slow")
        raise RuntimeError("store restarting")

    collector = Collector(engine, [Job("fast", 15, ok), Job("slow", 60, broken)])
    for now in range(1000, 1000 + 121, 5):  # two minutes in 5 s steps
        collector.run_due(float(now))
    assert calls.count("fast") == 9  # at 0, 15, … 120 s
    assert calls.count("slow") == 3  # at 0, 60 and 120 s, each failing
    with engine.connect() as conn:
        statuses = conn.execute(sa.text("SELECT status, samples FROM collector_runs")).all()
    assert statuses == [("ok", 3)] * 9


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

    Collector(engine, [Job("costs", 60, failing)]).run_due(0.0)
    assert sample("apollo_collector_runs_total", collector="costs", status="failed") == before + 1
    assert sample("apollo_collector_errors_total", collector="costs") == errors_before + 1
    assert b"apollo_collector_run_duration_seconds_bucket" in generate_latest(REGISTRY)
