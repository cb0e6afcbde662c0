"""`apollo demo`: the whole product on the embedded defaults."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from services.cli.app import app, settings
from services.cli.fleet import print_fleet


@app.command()
def demo(
    incident: Annotated[str | None, typer.Option(
        help="Inject a scripted incident once running: payment-errors (20% of the payment "
             "service's requests fail for 20 minutes; its availability SLO pages within "
             "minutes).")] = None,
) -> None:
    """The whole product on embedded defaults: store, demo fleet, events, every collector
    job, alert evaluation and delivery, the API, the dashboard and a local webhook sink;
    Ctrl-C, SIGINT or SIGTERM stops every part."""
    from collectors.prometheus import progress_reporter
    from services.files import mask_url
    from services.runtime.demo import INCIDENTS, start_demo
    from services.runtime.signals import stop_on_signals, wait_for_stop

    if incident is not None and incident not in INCIDENTS:
        raise typer.BadParameter(f"expected one of {', '.join(INCIDENTS)}, got {incident!r}",
                                 param_hint="--incident")
    s = settings()
    stop = threading.Event()
    stop_on_signals(stop)  # before anything starts: a stop during start-up is kept
    with progress_reporter(description="history") as progress:
        running = start_demo(s, stop, say=lambda line: typer.echo(line, err=True),
                             incident=incident, progress=progress)
    try:
        typer.echo("Apollo Observatory demo is running (Ctrl-C stops everything):")
        for child in running.children:
            suffix = "/docs" if child.name == "api" else ""
            typer.echo(f"  {child.name:<18} {child.url}{suffix}")
        if running.sink is not None:
            typer.echo(f"  webhook sink       {running.sink.url}")
        typer.echo(f"  store              {mask_url(s.store_url)}")
        jobs = ", ".join(job.name for job in running.scheduler.jobs)
        typer.echo(f"  collector jobs     {jobs}")
        print_fleet(running.fleet)
        if incident is not None:
            service, _kind, rate, duration = INCIDENTS[incident]
            typer.echo(f"incident {incident}: {service} {rate:.0%} errors for {duration}; "
                       "watch the Alerts page")
        wait_for_stop(stop)
    finally:
        running.stop()
        typer.echo("stopped")
