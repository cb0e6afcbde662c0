"""`apollo db upgrade`: bring a store's schema to the newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _one_line(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's trailer, on one line."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply migrations in one transaction per run; returns the revision now in place.

    On PostgreSQL the DDL is transactional, so a failed migration leaves nothing behind.
    """
    config = _config()
    where = engine.url.render_as_string(hide_password=True)
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise StoreError(f"{where}: cannot connect: {_one_line(exc)}") from exc
    try:
        with connection, connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"{where}: migration to {revision} failed: {_one_line(exc)}") from exc
    return current_revision(engine) or ""


def revision_message(engine: Engine, message: str) -> None:
    """Autogenerate a new migration against `engine` (a developer tool, not used at runtime)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
