"""`apollo demo`: the whole product on the embedded defaults."""

from __future__ import annotations

import threading

import typer

from services.cli.app import app, settings
from services.cli.fleet import print_fleet


@app.command()
def demo() -> None:
    """The whole product on embedded defaults: store, demo fleet, events, every collector
    job and the dashboard; Ctrl-C, SIGINT or SIGTERM stops every part."""
    from collectors.prometheus import progress_reporter
    from services.files import mask_url
    from services.runtime.demo import start_demo
    from services.runtime.signals import stop_on_signals, wait_for_stop

    s = settings()
    stop = threading.Event()
    stop_on_signals(stop)  # before anything starts: a stop during start-up is kept
    with progress_reporter(description="history") as progress:
        running = start_demo(s, stop, say=lambda line: typer.echo(line, err=True),
                             progress=progress)
    try:
        typer.echo("Apollo Observatory demo is running (Ctrl-C stops everything):")
        for child in running.children:
            typer.echo(f"  dashboard          {child.url}")
        typer.echo(f"  store              {mask_url(s.store_url)}")
        jobs = ", ".join(job.name for job in running.scheduler.jobs)
        typer.echo(f"  collector jobs     {jobs}")
        print_fleet(running.fleet)
        wait_for_stop(stop)
    finally:
        running.stop()
        typer.echo("stopped")
