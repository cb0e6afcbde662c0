"""`apollo`: the command line. Exit codes: 0 ok, 1 bad input or a failed part, 2 usage."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from services.config import Settings, load_settings
from services.errors import ApolloError
from slo.durations import parse_duration

app = typer.Typer(help="Apollo Observatory: SLOs and observability for a microservice platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The store.", no_args_is_help=True)
fleet_app = typer.Typer(help="The simulated demo platform.", invoke_without_command=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(fleet_app, name="fleet")
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML file (default: $APOLLO_CONFIG, ./apollo.yaml, "
                 "then the bundled example platform).", dir_okay=False),
]


class _State:
    config: Path | None = None
    settings: Settings | None = None


_state = _State()


@app.callback()
def _root(config: ConfigOption = None, verbose: bool = typer.Option(False, "--verbose", "-v")
          ) -> None:
    _state.config = config
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings(_state.config)
    return _state.settings


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


# --- db ----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the newest revision."""
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    engine = make_engine(s.store_url)
    revision = upgrade(engine)
    typer.echo(f"store {engine.url.render_as_string(hide_password=True)} at revision {revision}")


# --- config ------------------------------------------------------------------------------


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print what it resolves to (secrets not shown)."""
    s = settings()
    typer.echo(f"services: {', '.join(s.slugs) or 'none'}")
    typer.echo(f"store: {s.store_url}")
    typer.echo(f"events: {s.events_dsn}")
    typer.echo(f"notifiers: {', '.join(n.name for n in s.notifiers) or 'none'}")


# --- fleet -------------------------------------------------------------------------------


def _print_fleet(running: Any) -> None:
    fleet = running.fleet
    width = max(len(slug) for slug in fleet.urls) + 2
    typer.echo(f"  {'fleet control':<{width}} {fleet.control_url}")
    for slug, url in fleet.urls.items():
        typer.echo(f"  {slug:<{width}} {url}")
    if running.writer is not None:
        typer.echo(f"  {'events':<{width}} {settings().events_dsn} "
                   f"({running.backfilled:,} events backfilled)")


@fleet_app.callback()
def fleet_run(ctx: typer.Context) -> None:
    """Run the demo fleet: a /metrics page per service, faults on a control port."""
    if ctx.invoked_subcommand is not None:
        return
    from services.fleet.runner import start_fleet

    running = start_fleet(settings())
    typer.echo("Apollo demo fleet is running (Ctrl-C stops it):")
    _print_fleet(running)
    try:
        _wait_for_interrupt()
    finally:
        running.stop()


def _control_url(control: str | None) -> str:
    if control:
        return control.rstrip("/")
    from services.fleet.runner import read_state

    return str(read_state(settings())["control_url"])


def _call_control(method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = httpx.request(method, url, timeout=5, **kwargs)
    except httpx.HTTPError as exc:
        raise ApolloError(f"fleet control {url}: {exc}") from exc
    body = response.json()
    if response.status_code >= 400:
        raise ApolloError(f"fleet control {url}: {body.get('error', response.text)}")
    return body


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
    parse_duration(duration)
    body = {"kind": kind.replace("-", "_"), "duration": duration}
    if body["kind"] == "error_burst":
        body["rate"] = rate
    if body["kind"] == "latency":
        body["factor"] = factor
    result = _call_control("POST", f"{_control_url(control)}/faults/{service}", json=body)
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
    params = {"kind": kind} if kind else {}
    result = _call_control("DELETE", f"{_control_url(control)}/faults/{service}", params=params)
    typer.echo(f"{result['service']}: cleared {result['cleared']}")


@fleet_app.command("status")
def fleet_status(control: ControlOption = None) -> None:
    """Services of a running fleet, whether they are up, and their faults."""
    state = _call_control("GET", _control_url(control) + "/")
    for s in state["services"]:
        faults = ", ".join(f["kind"] for f in s["faults"]) or "-"
        typer.echo(f"{s['slug']:<20} {'up' if s['up'] else 'DOWN':<5} {s['metrics_url']}  "
                   f"faults: {faults}")


# --- dashboard ---------------------------------------------------------------------------


@app.command()
def dashboard(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
) -> None:
    """Serve the Streamlit dashboard until Ctrl-C."""
    from services.config import child_environment
    from services.processes import start_dashboard

    s = settings()
    if host is not None:
        s.dashboard.host = host
    if port is not None:
        s.dashboard.port = port
    child = start_dashboard(s, env=child_environment(s))
    typer.echo(f"dashboard {child.url} (Ctrl-C stops it)")
    try:
        _wait_for_interrupt()
    finally:
        child.stop()


# --- demo --------------------------------------------------------------------------------


@app.command()
def demo() -> None:
    """The whole product on embedded defaults: store, demo fleet, events and dashboard."""
    from services.config import child_environment
    from services.fleet.runner import start_fleet
    from services.processes import start_dashboard
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
    try:
        children.append(start_dashboard(s, env=child_environment(s)))
        typer.echo("Apollo Observatory demo is running (Ctrl-C stops everything):")
        typer.echo(f"  dashboard          {children[0].url}")
        typer.echo(f"  store              {engine.url.render_as_string(hide_password=True)}")
        _print_fleet(running)
        _wait_for_interrupt()
    finally:
        for child in children:
            child.stop()
        running.stop()
        engine.dispose()
        typer.echo("stopped")


def main() -> None:
    """Console entry point: one line per problem on stderr, exit 1, for our own errors."""
    try:
        app()
    except ApolloError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"apollo: error: {line}", err=True)
        sys.exit(1)
    except ValueError as exc:  # e.g. a bad --for duration, named by parse_duration
        typer.echo(f"apollo: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
