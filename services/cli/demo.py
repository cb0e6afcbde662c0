"""`apollo demo`: the whole product on the embedded defaults."""

from __future__ import annotations

import threading

import typer

from services.cli.app import app, settings, wait_for_interrupt
from services.cli.fleet import print_fleet


@app.command()
def demo() -> None:
    """The whole product on embedded defaults: store, demo fleet, events and dashboard."""
    from services.config import child_environment
    from services.fleet.runner import start_fleet
    from services.runtime.processes import start_dashboard
    from services.store.catalog import ServiceInfo, ensure_services
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    engine = make_engine(s.store_url)
    upgrade(engine)
    with engine.begin() as conn:
        ensure_services(conn, [ServiceInfo(x.slug, x.name, x.team, x.unit) for x in s.services])
    running = start_fleet(s)
    children = []
    stop_collector = threading.Event()
    try:
        from collectors.scrape import Target
        from services.runtime.jobs import (
            Collector,
            build_scraper,
            clickhouse_jobs,
            configured_slos,
            document_jobs,
            scrape_job,
        )

        slos = configured_slos(s)
        targets = [Target(slug, url) for slug, url in running.fleet.urls.items()]
        jobs = [scrape_job(s, build_scraper(s, engine, targets, slos=slos)),
                *document_jobs(s, engine)]
        if running.writer is not None:  # this process owns the embedded events database
            jobs += clickhouse_jobs(s, engine, running.writer.client, slos)
        Collector(engine, jobs, stop_collector).start()
        children.append(start_dashboard(s, env=child_environment(s)))
        typer.echo("Apollo Observatory demo is running (Ctrl-C stops everything):")
        typer.echo(f"  dashboard          {children[0].url}")
        typer.echo(f"  store              {engine.url.render_as_string(hide_password=True)}")
        typer.echo(f"  collector          every {s.sources.scrape.interval.total_seconds():g}s")
        print_fleet(running)
        wait_for_interrupt()
    finally:
        stop_collector.set()
        for child in children:
            child.stop()
        running.stop()
        engine.dispose()
        typer.echo("stopped")


