"""`apollo markers`: deploys, incidents and other events on the charts and in SLO reports."""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from services.cli.app import JsonOption, app, flag_time, open_store, settings
from services.errors import ApolloError, InputError

markers_app = typer.Typer(help="Markers (deploys, incidents, events): list, add, delete.",
                          invoke_without_command=True)
app.add_typer(markers_app, name="markers")

KIND_HELP = "deploy, incident or event."
TIME_HELP = "ISO 8601 (naive = UTC), Unix seconds, now, now-5m or -1h"


def _stale_answers() -> None:
    """Tell the API's response cache the markers changed (when Redis is configured)."""
    url = settings().redis_url
    if url is None:
        return
    from services.store.cache_version import CacheVersion

    version = CacheVersion(url)
    try:
        version.bump()
    except ApolloError as exc:  # the API's cache TTL then bounds how stale it gets
        typer.echo(f"apollo: warning: {exc}", err=True)
    finally:
        version.close()


def _when(seconds: int | None) -> str:
    return "-" if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime(
        "%Y-%m-%d %H:%M:%SZ")


@markers_app.callback()
def markers_list(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help=f"Start: {TIME_HELP}.")] = "now-7d",
    end: Annotated[str, typer.Option("--to", help="End (excluded), same forms.")] = "now",
    service: Annotated[str | None, typer.Option(help="Only this service's markers (and the "
                                                "platform-wide ones).")] = None,
    kind: Annotated[str | None, typer.Option(help=f"Only this kind: {KIND_HELP}")] = None,
    as_json: JsonOption = False,
) -> None:
    """Markers touching [--from, --to), oldest first."""
    if ctx.invoked_subcommand is not None:
        return
    from services.store.markers import KINDS, list_markers
    from services.timerange import parse_range

    if kind is not None and kind not in KINDS:
        raise ApolloError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    span = parse_range(start, end, time.time(), whole_minutes=False, fields=("--from", "--to"))
    engine = open_store()
    try:
        with engine.connect() as conn:
            found = list_markers(conn, start=span.start, end=span.end,
                                 services=[service] if service else None, kind=kind)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in found], indent=2))
        return
    if not found:
        typer.echo("no markers between " + _when(span.start) + " and " + _when(span.end))
        return
    for m in found:
        tags = f"  [{', '.join(m.tags)}]" if m.tags else ""
        typer.echo(f"#{m.id:<5} {m.kind:<8} {m.service or '(platform)':<20} {_when(m.at)}"
                   f"{' .. ' + _when(m.end) if m.end is not None else '':<24}  "
                   f"{m.text.splitlines()[0] if m.text else ''}{tags}  ({m.author})")


@markers_app.command("add")
def markers_add(
    kind: Annotated[str, typer.Option(help=KIND_HELP)],
    at: Annotated[str, typer.Option(help=f"When (it started): {TIME_HELP}.")],
    text: Annotated[str, typer.Option(help="What happened.")],
    service: Annotated[str | None, typer.Option(help="The service (default: the whole "
                                                "platform).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="When it ended (incidents): "
                                            "same forms.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A free tag (repeatable).")
                   ] = None,
    author: Annotated[str | None, typer.Option(help="Who (default: your user).")] = None,
) -> None:
    """Add a marker: a deploy, an incident (give --end once it is over) or any event."""
    from services.store.markers import add_marker, stored_services

    now = time.time()  # --at and --end read against one instant
    first = flag_time(at, "--at", now)
    last = flag_time(end, "--end", now) if end is not None else None
    engine = open_store()
    try:
        with engine.begin() as conn:
            known = set(settings().slugs) | stored_services(conn)
            marker = add_marker(conn, kind=kind, service=service or "", at=first, end=last,
                                text=text, tags=tag or (), author=author or getpass.getuser(),
                                now=now, known_services=known or None)
    except InputError as exc:  # named by the store's field: say the flag instead
        flag = "--tag" if exc.field == "tags" else f"--{exc.field}" if exc.field else ""
        raise InputError(exc.reason, field=flag) from None
    finally:
        engine.dispose()
    _stale_answers()
    typer.echo(f"marker #{marker.id}: {marker.kind} {marker.service or '(platform)'} at "
               f"{_when(marker.at)}")


@markers_app.command("delete")
def markers_delete(
    marker_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**31 - 1)],
) -> None:
    """Remove a marker by its id."""
    from services.store.markers import delete_marker

    engine = open_store()
    try:
        with engine.begin() as conn:
            removed = delete_marker(conn, marker_id)
    finally:
        engine.dispose()
    if not removed:
        raise ApolloError(f"no marker #{marker_id}")
    _stale_answers()
    typer.echo(f"deleted marker #{marker_id}")
