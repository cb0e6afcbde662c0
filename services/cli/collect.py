"""`apollo collect`: the collectors, once or on their intervals, and Prometheus backfill."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from collectors.runs import RunResult
from services.cli.app import app, flag_duration, flag_time, open_store, settings
from services.errors import ApolloError

collect_app = typer.Typer(help="Collect into the store: scrape pages, or backfill from "
                          "Prometheus.", invoke_without_command=True)
app.add_typer(collect_app, name="collect")


@collect_app.callback()
def collect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Every job once, then exit (a "
                                       "CronJob); exit 1 if any source or target failed.")
                    ] = False,
    every: Annotated[str | None, typer.Option(help="Metrics interval (default: "
                                              "sources.scrape.interval, or "
                                              "sources.prometheus.interval).")] = None,
    metrics_port: Annotated[int | None, typer.Option(min=1, max=65535, help="Serve the "
                                                     "collector's own "
                                                     "metrics on 127.0.0.1:PORT/metrics.")] = None,
) -> None:
    """Run every configured collector (metrics, ClickHouse, documents, OpenCost, roll-up,
    retention), once or each on its interval until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    from services.runtime.jobs import build_delivery, build_jobs
    from services.runtime.scheduler import Scheduler
    from services.runtime.signals import stop_on_signals

    s = settings()
    interval = flag_duration(every, "--every") if every else None
    engine = open_store()
    stop = threading.Event()
    stop_on_signals(stop)
    if metrics_port is not None:
        serve_collector_metrics(metrics_port)
    worker = build_delivery(s, engine)
    wake = worker.wake.set if worker is not None else None
    jobs = build_jobs(s, engine, every=interval, keep_state=once, on_enqueue=wake)
    scheduler = Scheduler(engine, jobs, stop_event=stop)
    if once:
        runs = scheduler.run_once()
        for run in runs:
            typer.echo(run_line(run))
        if worker is not None:  # what this run announced goes out before it exits
            delivered = deliver_due(worker)
            typer.echo(f"{'ok':<8} {'deliveries':<11} outbox  {delivered} settled")
        raise typer.Exit(1 if any(run.status == "failed" for run in runs) else 0)
    names = ", ".join(job.name for job in scheduler.jobs)
    if worker is not None:
        worker.start(stop)
        names += ", delivery"
    typer.echo(f"collecting ({names}); SIGTERM or Ctrl-C stops")
    scheduler.run()
    typer.echo("stopped")


def deliver_due(worker: Any, rounds: int = 100) -> int:
    """Deliver what is due now (retries wait for the next run); rows settled."""
    settled = 0
    try:
        for _ in range(rounds):
            done = worker.deliver_once()
            if not done:
                break
            settled += done
    finally:
        worker.close()
    return settled


def run_line(run: RunResult) -> str:
    """One line per run: status, collector, target, samples and the first problem."""
    first = f"  {run.errors[0]}" if run.errors else ""
    return f"{run.status:<8} {run.collector:<11} {run.target}  {run.samples} samples{first}"


def serve_collector_metrics(port: int) -> None:
    from prometheus_client import start_http_server

    from services.runtime.metrics import REGISTRY
    from services.runtime.processes import claim_port

    claim_port("127.0.0.1", port, "collector metrics")
    start_http_server(port, addr="127.0.0.1", registry=REGISTRY)
    typer.echo(f"collector metrics on http://127.0.0.1:{port}/metrics")


@collect_app.command("backfill")
def collect_backfill(
    start: Annotated[str, typer.Option("--from", help="First minute: now-7d, -7d, ISO 8601 "
                                       "(naive = UTC) or Unix seconds.")],
    end: Annotated[str, typer.Option("--to", help="End of the range, excluded.")],
    chunk: Annotated[int, typer.Option(help="Minutes per range query (1-11000).")] = 10_000,
) -> None:
    """Backfill the minutes [--from, --to) from Prometheus (sources.prometheus.url).

    Service rows and SLO good/total, in chunks, with progress on stderr; e.g. the gap a
    failed `prometheus` collector run recorded during an outage.
    """
    from collectors.prometheus import PrometheusCollector, progress_reporter
    from collectors.runs import record_run
    from services.runtime.jobs import configured_slos, service_infos
    s = settings()
    source_cfg = s.sources.prometheus
    if not source_cfg.url:
        raise ApolloError("sources.prometheus.url is not set; backfill reads from Prometheus")
    first, last = flag_time(start, "--from"), flag_time(end, "--to")
    if last <= first:
        raise ApolloError(f"--to {end!r} is not after --from {start!r}")
    engine = open_store()
    collector = PrometheusCollector.from_settings(
        s, engine, service_infos(s), slos=configured_slos(s), chunk_minutes=chunk)
    for _slo, reason in collector.skipped:
        typer.echo(f"skipped  {reason}", err=True)
    with progress_reporter() as progress:
        run = collector.backfill(first, last, progress=progress)
    with engine.begin() as conn:
        record_run(conn, run)
    typer.echo(f"{run.status:<8} {run.target}  {run.samples} samples")
    for error in run.errors:
        typer.echo(f"  {error}", err=True)
    for gap in run.gaps:
        typer.echo(f"  not read: --from {gap['start']} --to {gap['end']} (run again for these)",
                   err=True)
    if run.status != "ok":
        raise typer.Exit(1)


