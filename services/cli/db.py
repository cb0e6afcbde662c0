"""`apollo db` and `apollo config`: the store's schema and the configuration file."""

from __future__ import annotations

import typer

from services.cli.app import app, settings
from services.config import Settings, read_secret
from services.errors import ApolloError
from services.files import mask_url

db_app = typer.Typer(help="The store.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the newest revision (the only command that
    migrates; safe to run from several places at once)."""
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    engine = make_engine(settings().store_url)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"store {mask_url(str(engine.url))} at revision {revision}")


@db_app.command("check")
def db_check() -> None:
    """Exit 0 if the store is at the revision this Apollo needs, else 1 saying what to run."""
    from services.store.migrate import open_store

    engine = open_store(settings().store_url)
    engine.dispose()
    typer.echo(f"store {mask_url(str(engine.url))} is current")


# --- config ------------------------------------------------------------------------------


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print every source it resolves to (passwords
    masked). Connects to nothing."""
    s = settings()
    for name, value in config_lines(s):
        typer.echo(f"{name:<11} {value}")
    problems = secret_problems(s)
    for problem in problems:
        typer.echo(f"apollo: error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)


def secret_problems(s: Settings) -> list[str]:
    """Secrets the configuration names that the environment does not hold, or holds
    malformed (API tokens)."""
    from services.alerting.notifiers import missing_secrets
    from services.auth import tokens_from_env

    problems = [f"notifiers: {n.name} ({n.kind}) needs the environment variable {name}, "
                "which is not set" for n in s.notifiers for name in missing_secrets(n)]
    problems += [f"sources.prometheus.headers_env.{header}: needs the environment variable "
                 f"{variable}, which is not set"
                 for header, variable in s.sources.prometheus.headers_env.items()
                 if read_secret(variable) is None]
    try:
        tokens_from_env()
    except ApolloError as exc:
        problems.append(str(exc))
    return problems


def config_lines(s: Settings) -> list[tuple[str, str]]:
    """What `apollo config check` shows: one (name, value) per source; URLs masked."""
    scrape, prometheus = s.sources.scrape, s.sources.prometheus
    notifiers = [f"{n.name} ({n.kind})" for n in s.notifiers]
    return [
        ("config", str(s._source or "defaults")),
        ("services", f"{len(s.services)} ({', '.join(s.slugs)})" if s.services else "none"),
        ("store", mask_url(s.store_url)),
        ("events", f"{mask_url(s.events_dsn)} (table {s.sources.clickhouse.table})"),
        ("redis", mask_url(s.redis_url) if s.redis_url else "none (in-process fallback)"),
        ("prometheus", mask_url(prometheus.url) if prometheus.url else "none (scrape pages)"),
        ("scrape", f"{len(scrape.targets)} targets every {scrape.interval.total_seconds():g}s"),
        ("opencost", mask_url(s.sources.costs.opencost_url or "") or "none"),
        ("roadmap", ", ".join(s.sources.roadmap.files) or "none"),
        ("costs", ", ".join(s.sources.costs.files) or "none"),
        ("slo files", ", ".join(s.slo_files) or "none"),
        ("notifiers", ", ".join(notifiers) or "none"),
    ]
