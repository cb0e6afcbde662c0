"""The store's schema: `apollo db upgrade` migrates it; every other command only checks it.

Only `upgrade` changes the schema (called by `apollo db upgrade`, and by `apollo demo` on
the SQLite file it owns). Everything else opens the store with `open_store` (or checks an
engine with `require_current`), which refuses a store at another revision and says how
to upgrade, so replicas starting together never race the migrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from services.errors import StoreError
from services.files import mask_url
from services.store.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The PostgreSQL advisory lock `upgrade` holds for its transaction: a fixed key ("apollo").
MIGRATION_LOCK = 0x61706F6C6C6F


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
    """Apply migrations in one transaction; returns the revision now in place.

    On PostgreSQL the transaction first takes an advisory lock, so a second upgrade
    started at the same time waits, then finds the schema in place and does nothing; the
    DDL is transactional, so a failed migration leaves nothing behind. On SQLite the
    transaction starts IMMEDIATE (the write lock first) for the same effect.
    """
    config = _config()
    where = mask_url(str(engine.url))
    try:
        connection = engine.connect().execution_options(sqlite_begin_immediate=True)
    except SQLAlchemyError as exc:
        raise StoreError(f"{where}: cannot connect: {_one_line(exc)}") from exc
    try:
        with connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"{where}: migration to {revision} failed: {_one_line(exc)}") from exc
    return current_revision(engine) or ""


def require_current(engine: Engine) -> str:
    """The store's revision if it is the one this Apollo needs; StoreError otherwise.

    The message is one line naming the store (password masked), its revision and the one
    needed, and what to run. A SQLite file that does not exist is not created."""
    where = mask_url(str(engine.url))
    head = head_revision()
    database = engine.url.database or ""
    if engine.url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and (
            not Path(database).exists()):
        current = None
    else:
        try:
            current = current_revision(engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"{where}: cannot connect: {_one_line(exc)}") from exc
    if current == head:
        return head
    if current is None:
        raise StoreError(f"store {where} is empty, this Apollo needs revision {head}: "
                         "run `apollo db upgrade`")
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise StoreError(f"store {where} is at revision {current}, unknown to this Apollo "
                         f"(which needs {head}): a newer Apollo migrated it; upgrade Apollo")
    raise StoreError(f"store {where} is at revision {current}, this Apollo needs {head}: "
                     "run `apollo db upgrade`")


def open_store(url: str, **kwargs: Any) -> Engine:
    """An engine for the store at `url`, checked to be at this Apollo's revision (never
    migrated: that is `apollo db upgrade`'s job). Raises StoreError with what to run."""
    engine = make_engine(url, **kwargs)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def revision_message(engine: Engine, message: str) -> None:
    """Autogenerate a new migration against `engine` (a developer tool, not used at runtime)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
