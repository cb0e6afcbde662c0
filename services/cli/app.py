"""The root `apollo` command: its options, the settings it loads, helpers every group shares.

Exit codes: 0 ok, 1 bad input or a failed part, 2 usage."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from services.config import Settings, load_settings
from services.errors import InputError
from slo.durations import parse_duration

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


def flag_duration(text: str, flag: str, *, positive: bool = True) -> timedelta:
    """A duration flag (`--every 15s`), or one line naming the flag."""
    try:
        value = parse_duration(text)
    except (ValueError, OverflowError) as exc:
        raise InputError(str(exc), field=flag) from None
    if positive and value <= timedelta(0):
        raise InputError(f"{text!r} must be longer than 0s", field=flag)
    return value


def flag_time(text: str, flag: str, now: float | None = None) -> int:
    """A time flag in the one time grammar (`now-1h`, `-7d`, ISO 8601, Unix seconds);
    give `now` when several flags must be read against the same instant."""
    from services.timerange import parse_time

    return parse_time(text, time.time() if now is None else now, field=flag)


def open_store() -> Engine:
    """The configured store, checked to be at the schema this Apollo needs (commands other
    than `apollo db upgrade` and `apollo demo` never migrate: replicas would race)."""
    from services.store.migrate import open_store as open_checked

    return open_checked(settings().store_url)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C, SIGINT or SIGTERM (also when started in the background)."""
    from services.runtime.signals import wait_for_stop

    wait_for_stop()




JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]
