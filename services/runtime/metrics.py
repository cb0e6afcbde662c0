"""The collector's own metrics, for Prometheus to scrape: runs, samples, errors, durations.

Kept in one registry so `apollo collect --metrics-port` serves it and the API's /metrics
can later render the same one in-process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from collectors.runs import RunResult

REGISTRY = CollectorRegistry(auto_describe=True)
RUNS = Counter("apollo_collector_runs", "Collector runs by source and outcome.",
               ["collector", "status"], registry=REGISTRY)
SAMPLES = Counter("apollo_collector_samples", "Samples read by each collector.",
                  ["collector"], registry=REGISTRY)
ERRORS = Counter("apollo_collector_errors", "Problems met by each collector (bad lines, "
                 "unreachable targets, store failures).", ["collector"], registry=REGISTRY)
GAPS = Counter("apollo_collector_gaps", "Gaps left in the data (a target silent too long).",
               ["collector"], registry=REGISTRY)
DURATION = Histogram("apollo_collector_run_duration_seconds", "How long one run took.",
                     ["collector"], registry=REGISTRY,
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LAST_SUCCESS = Gauge("apollo_collector_last_success_timestamp_seconds",
                     "When each target was last collected without error.",
                     ["collector", "target"], registry=REGISTRY)


def observe(run: RunResult) -> None:
    RUNS.labels(run.collector, run.status).inc()
    SAMPLES.labels(run.collector).inc(run.samples)
    ERRORS.labels(run.collector).inc(len(run.errors))
    GAPS.labels(run.collector).inc(len(run.gaps))
    if run.duration_s is not None:
        DURATION.labels(run.collector).observe(run.duration_s)
    if run.status == "ok" and run.finished_at is not None:
        LAST_SUCCESS.labels(run.collector, run.target).set(run.finished_at.timestamp())
RUN_BACKLOG = Gauge("apollo_collector_unrecorded_runs",
                    "Runs kept in memory because the store did not answer; written when it "
                    "does.", registry=REGISTRY)
PENDING_ROWS = Gauge("apollo_collector_pending_rows",
                     "Scraped rows kept in memory because the store did not answer; retried "
                     "each round, the oldest dropped (and counted in the runs) past the bound.",
                     registry=REGISTRY)
