"""`apollo db` and `apollo config`: the store's schema and the configuration file."""

from __future__ import annotations

import typer

from services.cli.app import app, settings

db_app = typer.Typer(help="The store.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


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


