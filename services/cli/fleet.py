"""`apollo fleet`: the simulated demo platform and its fault controls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.cli.app import app, flag_duration, flag_time, open_store, settings, wait_for_interrupt
from services.files import mask_url

if TYPE_CHECKING:
    from services.fleet.control import FleetControl

fleet_app = typer.Typer(help="The simulated demo platform.", invoke_without_command=True)
app.add_typer(fleet_app, name="fleet")


def print_fleet(running: Any) -> None:
    fleet = running.fleet
    width = max(len(slug) for slug in fleet.urls) + 2
    typer.echo(f"  {'fleet control':<{width}} {fleet.control_url}")
    for slug, url in fleet.urls.items():
        typer.echo(f"  {slug:<{width}} {url}")
    if running.writer is not None:
        typer.echo(f"  {'events':<{width}} {mask_url(settings().events_dsn)} "
                   f"({running.backfilled:,} events backfilled)")


@fleet_app.callback()
def fleet_run(ctx: typer.Context) -> None:
    """Run the demo fleet: a /metrics page per service, faults on a control port."""
    if ctx.invoked_subcommand is not None:
        return
    from services.fleet.runner import start_fleet

    running = start_fleet(settings())
    typer.echo("Apollo demo fleet is running (Ctrl-C stops it):")
    print_fleet(running)
    try:
        wait_for_interrupt()
    finally:
        running.stop()


def _control(control: str | None) -> FleetControl:
    """The running fleet's control client: at `--control`, else the one fleet.json names."""
    from services.fleet.control import FleetControl

    return FleetControl(control) if control else FleetControl.from_settings(settings())


ControlOption = Annotated[
    str | None, typer.Option(help="Fleet control URL (default: read from the running fleet).")
]


@fleet_app.command("fault")
def fleet_fault(
    service: Annotated[str, typer.Argument(help="Service slug, e.g. payment-service.")],
    kind: Annotated[str, typer.Argument(help="error_burst, latency or down.")],
    rate: Annotated[float, typer.Option(help="error_burst: share of requests that fail.")] = 0.1,
    factor: Annotated[float, typer.Option(help="latency: how many times slower.")] = 3.0,
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 5m.")] = "5m",
    control: ControlOption = None,
) -> None:
    """Inject a fault into one service of a running fleet."""
    flag_duration(duration, "--for")
    kind = kind.replace("-", "_")
    with _control(control) as fleet:
        result = fleet.inject(service, kind, duration=duration,
                              rate=rate if kind == "error_burst" else None,
                              factor=factor if kind == "latency" else None)
    fault = result["fault"]
    until = datetime.fromtimestamp(fault["until"], UTC).strftime("%H:%M:%S UTC")
    typer.echo(f"{result['service']}: {fault['kind']} until {until}")


@fleet_app.command("clear")
def fleet_clear(
    service: str,
    kind: Annotated[str | None, typer.Option(help="Only this kind of fault.")] = None,
    control: ControlOption = None,
) -> None:
    """Clear the faults of one service."""
    with _control(control) as fleet:
        result = fleet.clear(service, kind)
    typer.echo(f"{result['service']}: cleared {result['cleared']}")


@fleet_app.command("status")
def fleet_status(control: ControlOption = None) -> None:
    """Services of a running fleet, whether they are up, and their faults."""
    with _control(control) as fleet:
        state = fleet.state()
    for s in state["services"]:
        faults = ", ".join(f["kind"] for f in s["faults"]) or "-"
        typer.echo(f"{s['slug']:<20} {'up' if s['up'] else 'DOWN':<5} {s['metrics_url']}  "
                   f"faults: {faults}")




@fleet_app.command("history")
def fleet_history(
    days: Annotated[float, typer.Option(help="How many days, ending this minute.", min=0.001,
                                        max=400)] = 30.0,
    end: Annotated[str | None, typer.Option("--to", help="End of the history (now-1d, "
                                            "ISO 8601, Unix seconds); default: now.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Processes writing spans of the range at once; default: one per core.",
        min=1, max=64)] = None,
) -> None:
    """Write the demo fleet's past into the store (service, latency and SLO minutes), from
    its own load model through the collector's own row builders; safe to run again."""
    from collectors.prometheus import progress_reporter
    from services.runtime.history import history_workers, write_history

    engine = open_store()
    until = flag_time(end, "--to") if end else None
    with progress_reporter(description="history") as progress:
        result = write_history(settings(), engine, days=days, end=until, progress=progress,
                               workers=workers or history_workers())
    typer.echo(f"wrote {result.minutes:,} service-minutes of {result.services} services, "
               f"{days:g} days up to {datetime.fromtimestamp(result.end, UTC):%Y-%m-%d %H:%M} "
               "UTC")
    for problem in result.problems[:20]:
        typer.echo(f"  {problem}", err=True)
    if result.problems:
        raise typer.Exit(1)
