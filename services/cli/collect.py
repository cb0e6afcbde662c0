"""`apollo collect`: the collectors, once or on their intervals, and Prometheus backfill."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Annotated

import typer

from services.cli.app import app, settings
from services.errors import ApolloError
from slo.durations import parse_duration

collect_app = typer.Typer(help="Collect into the store: scrape pages, or backfill from "
                          "Prometheus.", invoke_without_command=True)
app.add_typer(collect_app, name="collect")


@collect_app.callback()
def collect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (CronJob).")] = False,
    every: Annotated[str | None, typer.Option(help="Round interval (default: "
                                              "sources.scrape.interval).")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve the collector's own "
                                                     "metrics on 127.0.0.1:PORT/metrics.")] = None,
) -> None:
    """Scrape the services' /metrics pages into the store, once or every interval."""
    if ctx.invoked_subcommand is not None:
        return
    from services.runtime.jobs import Collector, build_scraper, document_jobs, scrape_job
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    interval = parse_duration(every) if every else s.sources.scrape.interval
    engine = make_engine(s.store_url)
    upgrade(engine)
    if s.sources.prometheus.url:  # metrics from Prometheus instead of the pages
        from services.runtime.jobs import configured_slos, prometheus_job

        job = prometheus_job(s, engine, configured_slos(s))
        if once:
            runs = Collector(engine, [job]).run_due(0.0)
            for r in runs:
                typer.echo(f"{r.status:<8} {r.target}  {r.samples} samples")
            raise typer.Exit(0 if all(r.status != "failed" for r in runs) else 1)
        with contextlib.suppress(KeyboardInterrupt):
            Collector(engine, [job, *document_jobs(s, engine)]).run()
        return
    scraper = build_scraper(s, engine, keep_state=once)
    if once:
        runs = scraper.scrape_once()
        failed = [r for r in runs if r.status == "failed"]
        for r in runs:
            typer.echo(f"{r.status:<8} {r.target}  {r.samples} samples"
                       + (f"  {r.errors[0]}" if r.errors else ""))
        if failed and len(failed) == len(runs):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from services.runtime.metrics import REGISTRY
        from services.runtime.processes import claim_port

        claim_port("127.0.0.1", metrics_port, "collector metrics")
        start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
        typer.echo(f"collector metrics on http://127.0.0.1:{metrics_port}/metrics")
    typer.echo(f"collecting {len(scraper.targets)} targets every {interval.total_seconds():g}s "
               "(Ctrl-C stops)")
    job = scrape_job(s, scraper)
    job.interval_s = interval.total_seconds()
    with contextlib.suppress(KeyboardInterrupt):
        Collector(engine, [job, *document_jobs(s, engine)], stop).run()


@collect_app.command("backfill")
def collect_backfill(
    start: Annotated[str, typer.Option("--from", help="First minute: ISO 8601 (naive = UTC) "
                                       "or Unix seconds.")],
    end: Annotated[str, typer.Option("--to", help="End of the range, excluded.")],
    chunk: Annotated[int, typer.Option(help="Minutes per range query (1-11000).")] = 10_000,
) -> None:
    """Backfill the minutes [--from, --to) from Prometheus (sources.prometheus.url).

    Service rows and SLO good/total, in chunks, with progress on stderr; e.g. the gap a
    failed `prometheus` collector run recorded during an outage.
    """
    from collectors.prometheus import (
        PrometheusCollector,
        PrometheusSource,
        connect,
        progress_reporter,
    )
    from collectors.runs import record_run
    from services.files import parse_time
    from services.runtime.jobs import configured_slos
    from services.store.catalog import ServiceInfo
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    source_cfg = s.sources.prometheus
    if not source_cfg.url:
        raise ApolloError("sources.prometheus.url is not set; backfill reads from Prometheus")
    try:
        first, last = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise ApolloError(f"--from/--to: {exc}") from None
    if last <= first:
        raise ApolloError(f"--to {end!r} is not after --from {start!r}")
    timeout = source_cfg.timeout.total_seconds()
    engine = make_engine(s.store_url)
    upgrade(engine)
    collector = PrometheusCollector(
        engine, PrometheusSource(connect(source_cfg.url, timeout_s=timeout), timeout_s=timeout),
        [ServiceInfo(c.slug, c.name, c.team, c.unit) for c in s.services],
        slos=configured_slos(s), chunk_minutes=chunk)
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


