"""`apollo`: the command line, one module per command group."""

from services.cli.app import main

__all__ = ["main"]
