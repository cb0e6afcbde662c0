"""`apollo slo`: validate specs, export rules, report and backtest."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.app import JsonOption, app, flag_duration, flag_time, open_store, settings
from services.errors import ApolloError, InputError
from slo.durations import format_duration
from slo.errors import InputErrors, SpecError

slo_app = typer.Typer(help="SLO specs: validate, export rules, report, backtest.",
                      no_args_is_help=True)
app.add_typer(slo_app, name="slo")


SpecFiles = Annotated[list[Path], typer.Argument(help="SLO spec files (any supported format).",
                                                 exists=False)]
NameArgument = Annotated[str | None, typer.Argument(
    help="An SLO of the configured slo_files (id or name): its minutes are read from the "
         "store. Or give --spec and --data.", show_default=False)]
SpecOption = Annotated[Path | None, typer.Option("--spec", help="The SLO spec file (with "
                                                 "--data, instead of NAME).")]
DataOption = Annotated[Path | None, typer.Option("--data", help="CSV: timestamp,good,total "
                                                 "per minute.")]
FromOption = Annotated[str | None, typer.Option("--from", help="First minute (now-7d, -7d, "
                                                "ISO 8601, Unix seconds); default: one SLO "
                                                "period before --to.")]
ToOption = Annotated[str | None, typer.Option("--to", help="End, excluded; default: now.")]
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


def configured_slo(name: str) -> Any:
    """The SLO of the configured slo_files whose id (or name) is `name`."""
    from services.runtime.jobs import configured_slos

    slos = configured_slos(settings())
    found = [s for s in slos if s.id == name] or [s for s in slos if s.name == name]
    if not found:
        known = ", ".join(s.id for s in slos) or "none (slo_files matches no spec)"
        raise InputError(f"no SLO {name!r} in the configured slo_files; known: {known}",
                         field="NAME")
    return found[0]


def _minute_range(slo: Any, start: str | None, end: str | None) -> tuple[int, int]:
    """[--from, --to) in whole minutes; by default the SLO's period ending this minute."""
    now = time.time()  # both ends read against one instant
    last = flag_time(end, "--to", now) if end else int(now)
    last -= last % 60
    first = flag_time(start, "--from", now) if start else last - int(
        slo.period.length.total_seconds())
    first -= first % 60
    if first >= last:
        raise InputError(f"{start!r} is not before {end or 'now'!r}", field="--from")
    return first, last


def stored_slo_series(slo: Any, first: int, last: int) -> Any:
    from services.store.slo_data import stored_series

    engine = open_store()
    try:
        with engine.connect() as conn:
            return stored_series(conn, slo.id, first, last)
    finally:
        engine.dispose()


def stored_markers(slo: Any, first: int, last: int) -> Any:
    """The stored markers of the SLO's service (and the platform's) over [first, last)."""
    from services.store.markers import attribution_markers

    engine = open_store()
    try:
        with engine.connect() as conn:
            return attribution_markers(conn, service=slo.service, start=first, end=last)
    finally:
        engine.dispose()


def _slo_and_series(name: str | None, spec: Path | None, data: Path | None,
                    which: str | None, start: str | None = None, end: str | None = None
                    ) -> tuple[Any, Any]:
    """The chosen SLO and its minutes (from the store by NAME, or a spec and a CSV), turned
    into slices when it budgets by timeslices."""
    from services.files import read_minutes_csv
    from slo.timeslices import to_timeslices

    if (name is None) == (spec is None and data is None):
        raise typer.BadParameter("give an SLO NAME (its minutes are read from the store), "
                                 "or --spec and --data, not both", param_hint="NAME")
    if name is not None:
        chosen = configured_slo(name)
        series = stored_slo_series(chosen, *_minute_range(chosen, start, end))
    else:
        if spec is None or data is None:
            raise typer.BadParameter("--spec and --data go together",
                                     param_hint="--spec" if spec is None else "--data")
        chosen = _pick_slo(spec, which)
        series = read_minutes_csv(data)
    if not series.has_data.any():
        raise InputError(f"no minutes of {chosen.id} stored in the range (has it been "
                         "collected?)", field="NAME")
    sliced = to_timeslices(series, chosen)
    if not len(sliced):
        raise InputError(f"{len(series)} minute(s) of data is shorter than one slice "
                         f"({format_duration(chosen.timeslices.window)}) of {chosen.id}",
                         field="--data" if name is None else "NAME")
    return chosen, sliced


def _windows_for(slo: Any, windows_files: list[Path] | None) -> Any:
    from services.files import load_windows
    from slo.windows import slo_windows

    return slo_windows(slo, load_windows(windows_files or []))


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
    disable_recordings: Annotated[bool, typer.Option(
        help="Only alert rules (their recordings are expected from another file).")] = False,
    extra_labels: Annotated[list[str] | None, typer.Option(
        "--extra-labels", "-l", help="KEY=VALUE label added to every SLO's rules "
        "(repeatable), as Sloth's --extra-labels.")] = None,
    sloth_version: Annotated[str, typer.Option(
        help="The sloth_version label of sloth_slo_info (Sloth writes its own version).")
    ] = "apollo",
) -> None:
    """Prometheus recording and alerting rules, as Sloth writes them for the same specs: one
    output document per input document, a Kubernetes PrometheusServiceLevel as a
    PrometheusRule."""
    from services.files import expand, load_slo_files, load_windows, write_atomically
    from slo.rules import render_documents, render_rules
    from slo.specs.k8s import merge_plain

    if disable_alerts and disable_recordings:
        raise typer.BadParameter("with --disable-alerts too, no rule would be left",
                                 param_hint="--disable-recordings")
    paths = expand(str(f) for f in files)
    options: dict[str, Any] = {
        "windows": load_windows(windows or []),
        "period": flag_duration(period, "--period") if period else None,
        "disable_alerts": disable_alerts, "disable_recordings": disable_recordings,
        "extra_labels": _label_flags(extra_labels or [], "--extra-labels"),
        "spec_version": sloth_version,
    }
    slos = [slo for slo in load_slo_files(paths) if _exportable(slo, options["period"])]
    # Everything is checked before anything is written: one bad input leaves no half output.
    by_file = {path: _documents(path, [s for s in slos if s.source.path == str(path)],
                                options) for path in paths}
    problems = [p for found in by_file.values() if isinstance(found, InputErrors)
                for p in found.errors]
    if problems:
        raise InputErrors(problems)
    documents = {path: found for path, found in by_file.items() if isinstance(found, list)}
    # Specs whose SLOs were all skipped still give a rules file Prometheus loads.
    empty = [render_rules({"groups": []})]
    if out is None:
        merged = merge_plain(d for path in paths for d in documents[path])
        typer.echo(render_documents(_render(merged, options) or empty), nl=False)
        return
    if out.exists() and not out.is_dir():
        raise InputError("is a file; -o names the folder the rules files go in", path=str(out))
    targets: dict[Path, Path] = {}
    for path, target in rules_targets(paths, out).items():
        if target in targets:
            raise InputError(f"would write {target} as {targets[target]} does: rename one",
                             path=str(path))
        targets[target] = path
    for target, path in targets.items():
        text = render_documents(_render(merge_plain(documents[path]), options) or empty)
        write_atomically(target, text)
        count = sum(1 for s in slos if s.source.path == str(path))
        typer.echo(f"wrote {target} ({count} SLOs)")


def _exportable(slo: Any, period: Any) -> bool:
    """Whether Prometheus rules can be written for `slo`; if not, say why on stderr."""
    from slo.rules import ignored_budgeting, unexportable

    reason = unexportable(slo, period=period)
    ignored = ignored_budgeting(slo)
    if reason is None and ignored is not None:
        typer.echo(f"apollo: warning: {slo.id} ({slo.source.path}:{slo.source.line}): "
                   f"budgetingMethod {ignored} ignored by the rules, as Sloth ignores it "
                   "(report and backtest judge the slices)", err=True)
    if reason:
        typer.echo(f"apollo: skipped {slo.id} ({slo.source.path}:{slo.source.line}): "
                   f"{reason}", err=True)
    return reason is None


def _label_flags(values: list[str], flag: str) -> dict[str, str]:
    """`KEY=VALUE` flags as labels (split at the first `=`; a later key wins, as Sloth's)."""
    from slo.promql import LABEL_NAME

    labels = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep:
            raise InputError(f"expected KEY=VALUE, got {value!r}", field=flag)
        if not LABEL_NAME.fullmatch(key):
            raise InputError(f"{key!r} is not a Prometheus label name", field=flag)
        labels[key] = text
    return labels


def _documents(path: Path, slos: list[Any], options: dict[str, Any]
               ) -> list[Any] | InputErrors:
    """The documents of the spec file `path` holding its (exportable) SLOs, or every problem
    found, each at its SLO's (or document's) line: what rendering would find included."""
    from services.files import read_text
    from slo.rules import prometheus_rules
    from slo.specs.k8s import by_document, merge_plain, spec_documents

    try:
        documents = by_document(spec_documents(read_text(path), path=str(path)), slos)
    except InputErrors as exc:
        return exc
    problems: list[InputError] = []
    for slo in slos:  # every SLO's problems, each located at the SLO it is about
        try:
            prometheus_rules([slo], **options)
        except SpecError as exc:
            problems.append(exc)
    for document in merge_plain(documents):
        if not problems and not prometheus_rules(list(document.slos), **options)["groups"]:
            problems.append(SpecError(
                "no rules left: the alerts of its SLOs are disabled, and --disable-recordings "
                "leaves out their recordings", path=str(path), line=document.line))
    return InputErrors(problems) if problems else documents


def _render(documents: list[Any], options: dict[str, Any]) -> list[str]:
    """Each output document's rules as YAML: a PrometheusRule for a Kubernetes one."""
    from slo.rules import prometheus_rule, prometheus_rules, render_rules

    texts = []
    for document in documents:
        doc = prometheus_rules(list(document.slos), **options)
        if document.k8s is not None:
            doc = prometheus_rule(doc, **vars(document.k8s))
        texts.append(render_rules(doc))
    return texts


def rules_targets(paths: list[Path], out: Path) -> dict[Path, Path]:
    """Each spec's rules file under `out`, mirroring the specs' paths below the folder they
    share (as Sloth mirrors an input directory): `slos/a/x.yaml` -> `OUT/a/x.rules.yml`."""
    folders = [p.resolve().parent for p in paths]
    common = Path(os.path.commonpath(folders)) if folders else Path(".")
    return {p: out / p.resolve().parent.relative_to(common) / f"{p.stem}.rules.yml"
            for p in paths}


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
    name: NameArgument = None, spec: SpecOption = None, data: DataOption = None,
    slo: SloOption = None,
    at: Annotated[str | None, typer.Option(help="When: ISO 8601 (naive = UTC), Unix seconds, "
                                           "now-1h or -7d; default: the end of the last "
                                           "minute of the data.")] = None,
    markers: Annotated[Path | None, typer.Option(help="CSV name,kind,start,end: budget spent "
                                                 "inside each (default with NAME: the "
                                                 "markers stored for its service).")] = None,
    windows: Annotated[list[Path] | None, typer.Option("--windows")] = None,
    json_out: JsonOption = False,
) -> None:
    """Budget, burn rates, alert state and time to exhaustion of one SLO, on its stored
    minutes (NAME) or on CSV data."""

    from services.documents.slo_text import report_text
    from services.files import read_markers_csv
    from slo.attribution import attribute
    from slo.forecast import forecast
    from slo.report import report

    end = None
    if name is not None and at is not None:  # read the period up to --at, not up to now
        end = str(_whole_minute(flag_time(at, "--at")))
    chosen, series = _slo_and_series(name, spec, data, slo, end=end)
    t = _at(series, at)
    result = report(chosen, series, t, _windows_for(chosen, windows))
    exhaustion = forecast(chosen, series, t)
    if markers is not None:
        shares = attribute(chosen, series, t, read_markers_csv(markers))
    else:  # by NAME without --markers: the markers stored for its service, if any
        stored = stored_markers(chosen, int(series.start), t) if name is not None else []
        shares = attribute(chosen, series, t, stored) if stored else []
    if json_out:
        payload = {**result.to_dict(), "exhaustion": [e.to_dict() for e in exhaustion],
                   "attribution": [s.to_dict() for s in shares]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(report_text(result, exhaustion, shares))


@slo_app.command("backtest")
def slo_backtest(
    name: NameArgument = None, spec: SpecOption = None, data: DataOption = None,
    slo: SloOption = None, start: FromOption = None, end: ToOption = None,
    incidents: Annotated[Path | None, typer.Option(help="CSV name,kind,start,end of known "
                                                   "incidents (default: inferred).")] = None,
    windows: Annotated[list[Path] | None, typer.Option("--windows")] = None,
    json_out: JsonOption = False,
) -> None:
    """Replay the SLO's alerts over the data: firings, detection, budget before the page."""

    from services.documents.slo_text import backtest_text
    from services.files import read_markers_csv
    from slo.backtest import backtest

    chosen, series = _slo_and_series(name, spec, data, slo, start, end)
    spans = [(m.start, m.end) for m in read_markers_csv(incidents)] if incidents else None
    result = backtest(chosen, series, _windows_for(chosen, windows), incidents=spans)
    typer.echo(json.dumps(result.to_dict(), indent=2) if json_out else backtest_text(result))




def _count(value: float) -> str:
    """Exactly the stored count: whole numbers without `.0`, others in full precision."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _whole_minute(t: int) -> int:
    return t - t % 60


@slo_app.command("export")
def slo_export(
    name: Annotated[str, typer.Argument(help="An SLO of the configured slo_files.")],
    start: FromOption = None, end: ToOption = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="CSV file to write (must not "
                                             "exist yet; default: stdout).")] = None,
) -> None:
    """The SLO's stored minutes as CSV (timestamp,good,total), ready for `slo report --data`;
    minutes nothing reported are left out (gaps)."""
    import csv
    import io
    import math

    chosen = configured_slo(name)
    series = stored_slo_series(chosen, *_minute_range(chosen, start, end))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "good", "total"])
    rows = 0
    for i, (good, total) in enumerate(zip(series.good, series.total, strict=True)):
        if math.isnan(total):
            continue
        writer.writerow([series.start + 60 * i, _count(good), _count(total)])
        rows += 1
    if out is None:
        typer.echo(buffer.getvalue(), nl=False)
        return
    from services.files import write_atomically

    if out.exists():
        raise InputError("exists already; choose another file or remove it", path=str(out))
    write_atomically(out, buffer.getvalue())
    typer.echo(f"wrote {out} ({rows} minutes of {chosen.id})", err=True)
