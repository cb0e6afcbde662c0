"""Console entry point: every command group registered, our own errors as one line each."""

from __future__ import annotations

import sys

import typer

from services.cli import (  # noqa: F401 (register)
    alerts,
    api,
    collect,
    dashboard,
    db,
    demo,
    docs,
    fleet,
    markers,
    slo,
)
from services.cli.app import app
from services.errors import ApolloError


def main() -> None:
    """Console entry point: one line per problem on stderr, exit 1, for our own errors; a
    bug (any other exception) keeps its traceback."""
    try:
        app()
    except ApolloError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"apollo: error: {line}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
