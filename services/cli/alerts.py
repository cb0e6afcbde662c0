"""`apollo alerts`: what is firing, silences and acknowledgements, deliveries, test sends."""

from __future__ import annotations

import getpass
import json
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from services.cli.app import JsonOption, app, flag_duration, open_store, settings
from services.errors import ApolloError

alerts_app = typer.Typer(help="SLO alerts: list, silence, acknowledge, deliveries, test "
                         "a notifier, run a delivery worker.", invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")
STATES = ("inactive", "pending", "firing", "resolved")


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _author(author: str | None) -> str:
    return author or getpass.getuser()


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="Only alerts in this state: "
                                              + ", ".join(STATES) + ".")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every alert, Apollo's own and those an Alertmanager posted, firing first."""
    if ctx.invoked_subcommand is not None:
        return
    from services.alerting import read

    if state is not None and state not in STATES:
        raise ApolloError(f"--state: expected one of {', '.join(STATES)}, got {state!r}")
    with open_store().connect() as conn:
        rows = read.alerts(conn, state=state)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("no alerts" + (f" in state {state}" if state else ""))
        return
    for r in rows:
        values = r["values"] or {}
        rates = ", ".join(f"{w} {v:.1f}x" for w, v in (values.get("burn_rates") or {}).items())
        budget = values.get("budget_remaining")
        left = f"  budget {budget:.1%}" if isinstance(budget, int | float) else ""
        since = {"firing": r["fired_at"], "pending": r["active_since"],
                 "resolved": r["resolved_at"]}.get(r["state"]) or r["updated_at"]
        typer.echo(f"{r['state']:<9} {r['severity']:<7} {r['name']:<36} "
                   f"{r['slo'] or r['service'] or '-':<36} since {_when(since)}"
                   + (f"  {rates}" if rates else "") + left
                   + ("  [alertmanager]" if r["source"] != "apollo" else ""))


@alerts_app.command("silence")
def silence(
    slo: Annotated[str, typer.Argument(help="The SLO (service-name) to silence.")],
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 2h.")],
    reason: Annotated[str, typer.Option(help="Why (shown with the silence).")],
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    author: Annotated[str | None, typer.Option(help="Who (default: your user).")] = None,
) -> None:
    """Silence an SLO's alerts: they still change state, nobody is notified."""
    from services.alerting.silences import add_silence

    length = flag_duration(duration, "--for")
    matchers = [f'slo="{slo}"'] + ([f'severity="{severity}"'] if severity else [])
    now = time.time()
    with open_store().begin() as conn:
        silence_id = add_silence(conn, matchers, author=_author(author), reason=reason,
                                 starts_at=now, ends_at=now + length.total_seconds(), now=now)
    typer.echo(f"silence {silence_id}: {', '.join(matchers)} until "
               f"{_when(now + length.total_seconds())}")


@alerts_app.command("silences")
def list_silences(as_json: JsonOption = False) -> None:
    """The silences in force."""
    from services.alerting import read

    with open_store().connect() as conn:
        rows = read.silences(conn, now=time.time())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows or []:
        typer.echo(f"{r['id']:<5} until {_when(r['ends_at'])}  {', '.join(r['matchers'])}  "
                   f"by {r['author']}: {r['reason']}")
    if not rows:
        typer.echo("no silences in force")


@alerts_app.command("expire")
def expire(silence_id: Annotated[int, typer.Argument(help="The silence to end now.")]) -> None:
    """End a silence now."""
    from services.alerting.silences import expire_silence

    with open_store().begin() as conn:
        if not expire_silence(conn, silence_id, now=time.time()):
            raise ApolloError(f"silence {silence_id}: no such silence in force")
    typer.echo(f"silence {silence_id} expired")


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (`apollo alerts --json`).")],
    duration: Annotated[str, typer.Option("--for", help="How long repeats stop.")] = "4h",
    reason: Annotated[str, typer.Option(help="What is being done.")] = "",
    author: Annotated[str | None, typer.Option(help="Who (default: your user).")] = None,
) -> None:
    """Acknowledge an alert's current episode: its repeats stop until the expiry."""
    from services.alerting.silences import acknowledge

    length = flag_duration(duration, "--for")
    now = time.time()
    with open_store().begin() as conn:
        acknowledge(conn, alert_id, author=_author(author), reason=reason, now=now,
                    expires_at=now + length.total_seconds())
    typer.echo(f"alert {alert_id} acknowledged until {_when(now + length.total_seconds())}")


@alerts_app.command("deliveries")
def deliveries(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead letters.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Notifications in the outbox, newest first: status, attempts, the last error."""
    from services.alerting import read

    with open_store().connect() as conn:
        rows = read.deliveries(conn, dead=dead, limit=limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        error = f"  {r['last_error']}" if r["last_error"] and r["status"] != "sent" else ""
        typer.echo(f"{r['status']:<8} {r['notifier']:<16} {r['kind']:<10} "
                   f"attempts {r['attempts']:<3} {_when(r['created_at'])}  {r['key']}{error}")
    if not rows:
        typer.echo("no dead letters" if dead else "the outbox is empty")


@alerts_app.command("test")
def test_notifier(
    notifier: Annotated[str, typer.Argument(help="A notifier name from the configuration.")],
) -> None:
    """Send a test notification to NOTIFIER now and print what it answered."""
    import httpx

    from services.alerting.message import AlertMessage
    from services.alerting.notifiers import build_requests

    s = settings()
    found = next((n for n in s.notifiers if n.name == notifier), None)
    if found is None:
        known = ", ".join(n.name for n in s.notifiers) or "none configured"
        raise ApolloError(f"notifier {notifier!r} is not configured (known: {known})")
    now = time.time()
    message = AlertMessage(
        key=f"apollo-test:{int(now)}", fingerprint="apollo-test", name="ApolloTestAlert",
        status="firing", severity="ticket", starts_at=now, slo="apollo-test",
        service="apollo", labels={"alertname": "ApolloTestAlert", "severity": "ticket"},
        annotations={"summary": "Test notification from `apollo alerts test`"}, kind="test")
    failures = 0
    with httpx.Client(trust_env=False) as client:
        for request in build_requests(found, [message], now=now):
            try:
                response = client.post(request.url, content=request.body,
                                       headers=dict(request.headers),
                                       timeout=found.timeout.total_seconds())
            except httpx.HTTPError as exc:
                raise ApolloError(f"notifier {notifier!r}: {type(exc).__name__}: {exc}"
                                  ) from None
            ok = 200 <= response.status_code < 300
            failures += not ok
            typer.echo(f"{'sent' if ok else 'refused':<8} {notifier}: HTTP "
                       f"{response.status_code} {response.text[:200]}")
    if failures:
        raise typer.Exit(1)


@alerts_app.command("deliver")
def deliver() -> None:
    """Run a delivery worker until SIGTERM or Ctrl-C (beside `apollo collect`, to add
    workers: they share the outbox and never send a row twice at once)."""
    from services.runtime.jobs import build_delivery
    from services.runtime.signals import stop_on_signals

    s = settings()
    worker: Any = build_delivery(s, open_store())
    if worker is None:
        raise ApolloError("no notifiers configured (or alerting.enabled is false)")
    stop = threading.Event()
    stop_on_signals(stop)
    typer.echo(f"delivering as {worker.name}; SIGTERM or Ctrl-C stops")
    worker.run(stop)
    typer.echo("stopped")
