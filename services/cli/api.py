"""`apollo api`: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.app import app, open_store, settings


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535,
                                             help="Port (default: api.port).")] = None,
) -> None:
    """Serve the HTTP API (/api/v1, /health, /ready, /metrics, /docs) until Ctrl-C."""
    import uvicorn

    from services.api.app import create_app
    from services.runtime.processes import claim_port

    s = settings()
    bind_host = host or s.api.host
    bind_port = s.api.port if port is None else port
    application = create_app(s, open_store())
    if bind_port:
        claim_port(bind_host, bind_port, "api")
    typer.echo(f"api http://{bind_host}:{bind_port}/api/v1 (docs at /docs; Ctrl-C stops it)")
    uvicorn.run(application, host=bind_host, port=bind_port, log_level="warning",
                access_log=False, proxy_headers=False, server_header=False)
