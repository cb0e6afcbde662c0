"""`apollo slo`: validate specs, export rules, report and backtest."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.app import JsonOption, app
from services.errors import ApolloError
from slo.durations import parse_duration

slo_app = typer.Typer(help="SLO specs: validate, export rules, report, backtest.",
                      no_args_is_help=True)
app.add_typer(slo_app, name="slo")


SpecFiles = Annotated[list[Path], typer.Argument(help="SLO spec files (any supported format).",
                                                 exists=False)]
SpecOption = Annotated[Path, typer.Option("--spec", help="The SLO spec file.")]
DataOption = Annotated[Path, typer.Option("--data", help="CSV: timestamp,good,total per minute.")]
SloOption = Annotated[str | None, typer.Option("--slo", help="Which SLO of the file "
                                               "(name or id), when it holds several.")]


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
    """`--at` in the time grammar; a relative time (`now-1h`) is floored to its minute."""
    from services.timerange import floor_minute, is_relative, parse_time

    if at is None:
        return int(series.end)
    t = parse_time(at, time.time(), field="--at")
    if is_relative(at):
        t = floor_minute(t)
    if t % 60:
        raise ApolloError(f"--at: {at!r} is not on a minute")
    if not series.start < t <= series.end:
        raise ApolloError(f"--at: {at!r} is outside the data")
    return t


@slo_app.command("report")
def slo_report(
    spec: SpecOption, data: DataOption, slo: SloOption = None,
    at: Annotated[str | None, typer.Option(help="When: ISO 8601 (naive = UTC), Unix seconds, "
                                           "now-1h or -7d; default: the end of the last "
                                           "minute of the data.")] = None,
    markers: Annotated[Path | None, typer.Option(help="CSV name,kind,start,end: budget spent "
                                                 "inside each.")] = None,
    windows: Annotated[list[Path] | None, typer.Option("--windows")] = None,
    json_out: JsonOption = False,
) -> None:
    """Budget, burn rates, alert state and time to exhaustion of one SLO on CSV data."""

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

    from services.documents.slo_text import backtest_text
    from services.files import read_markers_csv
    from slo.backtest import backtest

    chosen, series = _slo_and_series(spec, data, slo)
    spans = [(m.start, m.end) for m in read_markers_csv(incidents)] if incidents else None
    result = backtest(chosen, series, _windows_for(chosen, windows), incidents=spans)
    typer.echo(json.dumps(result.to_dict(), indent=2) if json_out else backtest_text(result))


