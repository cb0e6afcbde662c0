"""`apollo`: the command line. Exit codes: 0 ok, 1 bad input or a failed part, 2 usage."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from services.config import Settings, load_settings
from services.errors import ApolloError
from slo.durations import parse_duration

app = typer.Typer(help="Apollo Observatory: SLOs and observability for a microservice platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The store.", no_args_is_help=True)
fleet_app = typer.Typer(help="The simulated demo platform.", invoke_without_command=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
slo_app = typer.Typer(help="SLO specs: validate, export rules, report, backtest.",
                      no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(slo_app, name="slo")
app.add_typer(fleet_app, name="fleet")
app.add_typer(config_app, name="config")

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


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


# --- db ----------------------------------------------------------------------------------


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


# --- fleet -------------------------------------------------------------------------------


def _print_fleet(running: Any) -> None:
    fleet = running.fleet
    width = max(len(slug) for slug in fleet.urls) + 2
    typer.echo(f"  {'fleet control':<{width}} {fleet.control_url}")
    for slug, url in fleet.urls.items():
        typer.echo(f"  {slug:<{width}} {url}")
    if running.writer is not None:
        typer.echo(f"  {'events':<{width}} {settings().events_dsn} "
                   f"({running.backfilled:,} events backfilled)")


@fleet_app.callback()
def fleet_run(ctx: typer.Context) -> None:
    """Run the demo fleet: a /metrics page per service, faults on a control port."""
    if ctx.invoked_subcommand is not None:
        return
    from services.fleet.runner import start_fleet

    running = start_fleet(settings())
    typer.echo("Apollo demo fleet is running (Ctrl-C stops it):")
    _print_fleet(running)
    try:
        _wait_for_interrupt()
    finally:
        running.stop()


def _control_url(control: str | None) -> str:
    if control:
        return control.rstrip("/")
    from services.fleet.runner import read_state

    return str(read_state(settings())["control_url"])


def _call_control(method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = httpx.request(method, url, timeout=5, **kwargs)
    except httpx.HTTPError as exc:
        raise ApolloError(f"fleet control {url}: {exc}") from exc
    body = response.json()
    if response.status_code >= 400:
        raise ApolloError(f"fleet control {url}: {body.get('error', response.text)}")
    return body


ControlOption = Annotated[
    str | None, typer.Option(help="Fleet control URL (default: read from the running fleet).")
]


@fleet_app.command("fault")
def fleet_fault(
    service: Annotated[str, typer.Argument(help="Service slug, e.g. payment-service.")],
    kind: Annotated[str, typer.Argument(help="error_burst, latency or down.")],
    rate: Annotated[float, typer.Option(help="error_burst: share of requests that fail.")] = 0.1,
    factor: Annotated[float, typer.Option(help="latency: how many times slower.")] = 3.0,
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 5m.")] = "5m",
    control: ControlOption = None,
) -> None:
    """Inject a fault into one service of a running fleet."""
    parse_duration(duration)
    body = {"kind": kind.replace("-", "_"), "duration": duration}
    if body["kind"] == "error_burst":
        body["rate"] = rate
    if body["kind"] == "latency":
        body["factor"] = factor
    result = _call_control("POST", f"{_control_url(control)}/faults/{service}", json=body)
    fault = result["fault"]
    until = datetime.fromtimestamp(fault["until"], UTC).strftime("%H:%M:%S UTC")
    typer.echo(f"{result['service']}: {fault['kind']} until {until}")


@fleet_app.command("clear")
def fleet_clear(
    service: str,
    kind: Annotated[str | None, typer.Option(help="Only this kind of fault.")] = None,
    control: ControlOption = None,
) -> None:
    """Clear the faults of one service."""
    params = {"kind": kind} if kind else {}
    result = _call_control("DELETE", f"{_control_url(control)}/faults/{service}", params=params)
    typer.echo(f"{result['service']}: cleared {result['cleared']}")


@fleet_app.command("status")
def fleet_status(control: ControlOption = None) -> None:
    """Services of a running fleet, whether they are up, and their faults."""
    state = _call_control("GET", _control_url(control) + "/")
    for s in state["services"]:
        faults = ", ".join(f["kind"] for f in s["faults"]) or "-"
        typer.echo(f"{s['slug']:<20} {'up' if s['up'] else 'DOWN':<5} {s['metrics_url']}  "
                   f"faults: {faults}")


# --- slo ---------------------------------------------------------------------------------

SpecFiles = Annotated[list[Path], typer.Argument(help="SLO spec files (any supported format).",
                                                 exists=False)]
SpecOption = Annotated[Path, typer.Option("--spec", help="The SLO spec file.")]
DataOption = Annotated[Path, typer.Option("--data", help="CSV: timestamp,good,total per minute.")]
SloOption = Annotated[str | None, typer.Option("--slo", help="Which SLO of the file "
                                               "(name or id), when it holds several.")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of text.")]


def _pick_slo(path: Path, name: str | None) -> Any:
    from services.files import load_slo_files

    slos = load_slo_files([path])
    if name is not None:
        chosen = [s for s in slos if name in (s.name, s.id)]
        if not chosen:
            raise ApolloError(f"{path}: no SLO named {name!r}; it holds "
                              f"{', '.join(s.id for s in slos)}")
        return chosen[0]
    if len(slos) != 1:
        raise ApolloError(f"{path}: holds {len(slos)} SLOs ({', '.join(s.id for s in slos)}); "
                          "choose one with --slo")
    return slos[0]


def _slo_and_series(spec: Path, data: Path, name: str | None) -> tuple[Any, Any]:
    """The chosen SLO and its data, turned into slices when it budgets by timeslices."""
    from services.files import read_minutes_csv
    from slo.timeslices import to_timeslices

    chosen = _pick_slo(spec, name)
    return chosen, to_timeslices(read_minutes_csv(data), chosen)


def _windows_for(slo: Any, windows_files: list[Path] | None) -> Any:
    from services.files import load_windows
    from slo.windows import windows_for

    extra = load_windows(windows_files or [])
    return windows_for(slo.period.length, extra)


@slo_app.command("validate")
def slo_validate(files: SpecFiles) -> None:
    """Check SLO files; every problem is reported with its file, line and field."""
    from services.files import expand, load_slo_files

    slos = load_slo_files(expand(str(f) for f in files))
    by_file: dict[str, list[str]] = {}
    for slo in slos:
        by_file.setdefault(slo.source.path, []).append(slo.id)
    for path, ids in by_file.items():
        typer.echo(f"ok {path}: {len(ids)} SLO{'s' if len(ids) != 1 else ''} ({', '.join(ids)})")


@slo_app.command("rules")
def slo_rules(
    files: SpecFiles,
    period: Annotated[str | None, typer.Option(help="SLO period for every SLO, e.g. 28d.")] = None,
    windows: Annotated[list[Path] | None, typer.Option(
        "--windows", help="Sloth AlertWindows file or directory (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Directory: one rules file "
                                             "per spec file (default: stdout).")] = None,
    disable_alerts: Annotated[bool, typer.Option(help="Only recording rules.")] = False,
) -> None:
    """Prometheus recording and alerting rules, as Sloth writes them for the same specs."""
    from services.files import expand, load_slo_files, load_windows
    from slo.rules import prometheus_rules, render_rules, unexportable

    paths = expand(str(f) for f in files)
    extra = load_windows(windows or [])
    length = parse_duration(period) if period else None
    slos = []
    for slo in load_slo_files(paths):
        reason = unexportable(slo, period=length)
        if reason:
            typer.echo(f"apollo: skipped {slo.id} ({slo.source.path}:{slo.source.line}): "
                       f"{reason}", err=True)
        else:
            slos.append(slo)
    if out is None:
        typer.echo(render_rules(prometheus_rules(slos, windows=extra, period=length,
                                                 disable_alerts=disable_alerts)), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        mine = [s for s in slos if s.source.path == str(path)]
        doc = prometheus_rules(mine, windows=extra, period=length, disable_alerts=disable_alerts)
        target = out / f"{path.stem}.rules.yml"
        target.write_text(render_rules(doc), encoding="utf-8")
        typer.echo(f"wrote {target} ({len(mine)} SLOs)")


def _at(series: Any, at: str | None) -> int:
    from services.files import parse_time

    if at is None:
        return int(series.end)
    try:
        t = parse_time(at)
    except ValueError as exc:
        raise ApolloError(f"--at: {exc}") from None
    if t % 60:
        raise ApolloError(f"--at: {at!r} is not on a minute")
    if not series.start < t <= series.end:
        raise ApolloError(f"--at: {at!r} is outside the data")
    return t


@slo_app.command("report")
def slo_report(
    spec: SpecOption, data: DataOption, slo: SloOption = None,
    at: Annotated[str | None, typer.Option(help="When (ISO 8601 or Unix seconds); default: "
                                           "the end of the last minute of the data.")] = None,
    markers: Annotated[Path | None, typer.Option(help="CSV name,kind,start,end: budget spent "
                                                 "inside each.")] = None,
    windows: Annotated[list[Path] | None, typer.Option("--windows")] = None,
    json_out: JsonOption = False,
) -> None:
    """Budget, burn rates, alert state and time to exhaustion of one SLO on CSV data."""
    import json

    from services.documents.slo_text import report_text
    from services.files import read_markers_csv
    from slo.attribution import attribute
    from slo.forecast import forecast
    from slo.report import report

    chosen, series = _slo_and_series(spec, data, slo)
    t = _at(series, at)
    result = report(chosen, series, t, _windows_for(chosen, windows))
    exhaustion = forecast(chosen, series, t)
    shares = attribute(chosen, series, t, read_markers_csv(markers)) if markers else []
    if json_out:
        payload = {**result.to_dict(), "exhaustion": [e.to_dict() for e in exhaustion],
                   "attribution": [s.to_dict() for s in shares]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(report_text(result, exhaustion, shares))


@slo_app.command("backtest")
def slo_backtest(
    spec: SpecOption, data: DataOption, slo: SloOption = None,
    incidents: Annotated[Path | None, typer.Option(help="CSV name,kind,start,end of known "
                                                   "incidents (default: inferred).")] = None,
    windows: Annotated[list[Path] | None, typer.Option("--windows")] = None,
    json_out: JsonOption = False,
) -> None:
    """Replay the SLO's alerts over the data: firings, detection, budget before the page."""
    import json

    from services.documents.slo_text import backtest_text
    from services.files import read_markers_csv
    from slo.backtest import backtest

    chosen, series = _slo_and_series(spec, data, slo)
    spans = [(m.start, m.end) for m in read_markers_csv(incidents)] if incidents else None
    result = backtest(chosen, series, _windows_for(chosen, windows), incidents=spans)
    typer.echo(json.dumps(result.to_dict(), indent=2) if json_out else backtest_text(result))


# --- roadmap and costs -----------------------------------------------------------------------


@app.command()
def roadmap(
    document: Annotated[Path, typer.Argument(help="A markdown roadmap: phases as headings, "
                                             "nested checklists.")],
    json_out: JsonOption = False,
    store: Annotated[bool, typer.Option("--store", help="Also record it (and its progress "
                                        "over time) in the store.")] = False,
) -> None:
    """Completion of a roadmap document, per item, phase and overall."""
    import json

    from collectors.roadmap import collect_roadmap, read_roadmap, roadmap_json, roadmap_text

    tree = read_roadmap(document)
    typer.echo(json.dumps(roadmap_json(tree), indent=2) if json_out else roadmap_text(tree))
    if store:
        from services.store.engine import make_engine
        from services.store.migrate import upgrade

        engine = make_engine(settings().store_url)
        upgrade(engine)
        run = collect_roadmap(engine, document, document=str(document))
        if run.errors:
            raise ApolloError("; ".join(run.errors))


@app.command()
def costs(
    files: Annotated[list[Path], typer.Argument(help="Cost tables: .csv, .md or OpenCost "
                                                ".json.")],
    mau: Annotated[int | None, typer.Option(help="Monthly active users, for cost per "
                                            "user.")] = None,
    month: Annotated[str | None, typer.Option(help="YYYY-MM the lines are for (with "
                                              "--store; default this month).")] = None,
    json_out: JsonOption = False,
    store: Annotated[bool, typer.Option("--store", help="Also record the lines.")] = False,
) -> None:
    """Totals, annual figures, cost per user and the optimisation potential, computed;
    figures a document states that do not add up are flagged."""
    import json

    from collectors.cost import (
        collect_cost_file,
        costs_json,
        costs_text,
        parse_month,
        read_costs,
        summarize_costs,
    )

    for path in files:
        summary = summarize_costs(read_costs(path), mau=mau)
        typer.echo(json.dumps(costs_json(summary), indent=2) if json_out else costs_text(summary))
        if store:
            from services.store.engine import make_engine
            from services.store.migrate import upgrade

            engine = make_engine(settings().store_url)
            upgrade(engine)
            first = parse_month(month or datetime.now(UTC).strftime("%Y-%m"))
            run = collect_cost_file(engine, path, month=first, source=str(path))
            if run.errors:
                raise ApolloError("; ".join(run.errors))


# --- collect ------------------------------------------------------------------------------

collect_app = typer.Typer(help="Collect into the store: scrape pages, or backfill from "
                          "Prometheus.", invoke_without_command=True)
app.add_typer(collect_app, name="collect")


@collect_app.callback()
def collect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (CronJob).")] = False,
    every: Annotated[str | None, typer.Option(help="Round interval (default: "
                                              "sources.scrape.interval).")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve the collector's own "
                                                     "metrics on 127.0.0.1:PORT/metrics.")] = None,
) -> None:
    """Scrape the services' /metrics pages into the store, once or every interval."""
    if ctx.invoked_subcommand is not None:
        return
    from services.runtime.jobs import Collector, build_scraper, document_jobs, scrape_job
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    interval = parse_duration(every) if every else s.sources.scrape.interval
    engine = make_engine(s.store_url)
    upgrade(engine)
    if s.sources.prometheus.url:  # metrics from Prometheus instead of the pages
        from services.runtime.jobs import configured_slos, prometheus_job

        job = prometheus_job(s, engine, configured_slos(s))
        if once:
            runs = Collector(engine, [job]).run_due(0.0)
            for r in runs:
                typer.echo(f"{r.status:<8} {r.target}  {r.samples} samples")
            raise typer.Exit(0 if all(r.status != "failed" for r in runs) else 1)
        with contextlib.suppress(KeyboardInterrupt):
            Collector(engine, [job, *document_jobs(s, engine)]).run()
        return
    scraper = build_scraper(s, engine, keep_state=once)
    if once:
        runs = scraper.scrape_once()
        failed = [r for r in runs if r.status == "failed"]
        for r in runs:
            typer.echo(f"{r.status:<8} {r.target}  {r.samples} samples"
                       + (f"  {r.errors[0]}" if r.errors else ""))
        if failed and len(failed) == len(runs):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from services.runtime.metrics import REGISTRY
        from services.runtime.processes import claim_port

        claim_port("127.0.0.1", metrics_port, "collector metrics")
        start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
        typer.echo(f"collector metrics on http://127.0.0.1:{metrics_port}/metrics")
    typer.echo(f"collecting {len(scraper.targets)} targets every {interval.total_seconds():g}s "
               "(Ctrl-C stops)")
    job = scrape_job(s, scraper)
    job.interval_s = interval.total_seconds()
    with contextlib.suppress(KeyboardInterrupt):
        Collector(engine, [job, *document_jobs(s, engine)], stop).run()


@collect_app.command("backfill")
def collect_backfill(
    start: Annotated[str, typer.Option("--from", help="First minute: ISO 8601 (naive = UTC) "
                                       "or Unix seconds.")],
    end: Annotated[str, typer.Option("--to", help="End of the range, excluded.")],
    chunk: Annotated[int, typer.Option(help="Minutes per range query (1-11000).")] = 10_000,
) -> None:
    """Backfill the minutes [--from, --to) from Prometheus (sources.prometheus.url).

    Service rows and SLO good/total, in chunks, with progress on stderr; e.g. the gap a
    failed `prometheus` collector run recorded during an outage.
    """
    from collectors.prometheus import (
        PrometheusCollector,
        PrometheusSource,
        connect,
        progress_reporter,
    )
    from collectors.runs import record_run
    from services.files import parse_time
    from services.runtime.jobs import configured_slos
    from services.store.catalog import ServiceInfo
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    source_cfg = s.sources.prometheus
    if not source_cfg.url:
        raise ApolloError("sources.prometheus.url is not set; backfill reads from Prometheus")
    try:
        first, last = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise ApolloError(f"--from/--to: {exc}") from None
    if last <= first:
        raise ApolloError(f"--to {end!r} is not after --from {start!r}")
    timeout = source_cfg.timeout.total_seconds()
    engine = make_engine(s.store_url)
    upgrade(engine)
    collector = PrometheusCollector(
        engine, PrometheusSource(connect(source_cfg.url, timeout_s=timeout), timeout_s=timeout),
        [ServiceInfo(c.slug, c.name, c.team, c.unit) for c in s.services],
        slos=configured_slos(s), chunk_minutes=chunk)
    for _slo, reason in collector.skipped:
        typer.echo(f"skipped  {reason}", err=True)
    with progress_reporter() as progress:
        run = collector.backfill(first, last, progress=progress)
    with engine.begin() as conn:
        record_run(conn, run)
    typer.echo(f"{run.status:<8} {run.target}  {run.samples} samples")
    for error in run.errors:
        typer.echo(f"  {error}", err=True)
    for gap in run.gaps:
        typer.echo(f"  not read: --from {gap['start']} --to {gap['end']} (run again for these)",
                   err=True)
    if run.status != "ok":
        raise typer.Exit(1)


# --- dashboard ---------------------------------------------------------------------------


@app.command()
def dashboard(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
) -> None:
    """Serve the Streamlit dashboard until Ctrl-C."""
    from services.config import child_environment
    from services.runtime.processes import start_dashboard

    s = settings()
    if host is not None:
        s.dashboard.host = host
    if port is not None:
        s.dashboard.port = port
    child = start_dashboard(s, env=child_environment(s))
    typer.echo(f"dashboard {child.url} (Ctrl-C stops it)")
    try:
        _wait_for_interrupt()
    finally:
        child.stop()


# --- demo --------------------------------------------------------------------------------


@app.command()
def demo() -> None:
    """The whole product on embedded defaults: store, demo fleet, events and dashboard."""
    from services.config import child_environment
    from services.fleet.runner import start_fleet
    from services.runtime.processes import start_dashboard
    from services.store.catalog import ServiceInfo, ensure_services
    from services.store.engine import make_engine
    from services.store.migrate import upgrade

    s = settings()
    engine = make_engine(s.store_url)
    upgrade(engine)
    with engine.begin() as conn:
        ensure_services(conn, [ServiceInfo(x.slug, x.name, x.team, x.unit) for x in s.services])
    running = start_fleet(s)
    children = []
    stop_collector = threading.Event()
    try:
        from collectors.scrape import Target
        from services.runtime.jobs import (
            Collector,
            build_scraper,
            clickhouse_jobs,
            configured_slos,
            document_jobs,
            scrape_job,
        )

        slos = configured_slos(s)
        targets = [Target(slug, url) for slug, url in running.fleet.urls.items()]
        jobs = [scrape_job(s, build_scraper(s, engine, targets, slos=slos)),
                *document_jobs(s, engine)]
        if running.writer is not None:  # this process owns the embedded events database
            jobs += clickhouse_jobs(s, engine, running.writer.client, slos)
        Collector(engine, jobs, stop_collector).start()
        children.append(start_dashboard(s, env=child_environment(s)))
        typer.echo("Apollo Observatory demo is running (Ctrl-C stops everything):")
        typer.echo(f"  dashboard          {children[0].url}")
        typer.echo(f"  store              {engine.url.render_as_string(hide_password=True)}")
        typer.echo(f"  collector          every {s.sources.scrape.interval.total_seconds():g}s")
        _print_fleet(running)
        _wait_for_interrupt()
    finally:
        stop_collector.set()
        for child in children:
            child.stop()
        running.stop()
        engine.dispose()
        typer.echo("stopped")


def main() -> None:
    """Console entry point: one line per problem on stderr, exit 1, for our own errors."""
    try:
        app()
    except ApolloError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"apollo: error: {line}", err=True)
        sys.exit(1)
    except ValueError as exc:  # e.g. a bad --for duration, named by parse_duration
        typer.echo(f"apollo: error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
