"""`apollo dashboard`: the Streamlit dashboard alone."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.app import app, settings, wait_for_interrupt


@app.command()
def dashboard(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
) -> None:
    """Serve the Streamlit dashboard until Ctrl-C."""
    from services.config import child_environment
    from services.runtime.processes import start_dashboard

    s = settings()
    if host is not None:
        s.dashboard.host = host
    if port is not None:
        s.dashboard.port = port
    child = start_dashboard(s, env=child_environment(s))
    typer.echo(f"dashboard {child.url} (Ctrl-C stops it)")
    try:
        wait_for_interrupt()
    finally:
        child.stop()


