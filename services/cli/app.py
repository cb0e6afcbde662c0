"""The root `apollo` command: its options, the settings it loads, helpers every group shares.

Exit codes: 0 ok, 1 bad input or a failed part, 2 usage."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from services.config import Settings, load_settings

app = typer.Typer(help="Apollo Observatory: SLOs and observability for a microservice platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

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


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass




JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
