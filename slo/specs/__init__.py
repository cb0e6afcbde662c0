"""SLO spec files, whatever their format, to `slo.model.SLO`: text in, dataclasses out.

    load_slos(text, path=...)  every SLO of a text; raises SpecErrors listing every error
    load_slo_texts([(path, text), ...])  the texts of one command, OpenSLO references
                                          resolved across all of them

Each YAML document (or each item of a document that is a YAML list, as the OpenSLO Go SDK
writes them) is one object, dispatched on `apiVersion` (or Sloth's `version`):

    apollo/v1            apollo.py           Apollo's own format (strict: unknown keys fail)
    openslo/v1           openslo.py          all seven kinds, references resolved in the text
    openslo/v1alpha      openslo_v1alpha.py  as Sloth reads it
    prometheus/v1        sloth.py            Sloth's spec (`version:`), and its CRD
    sloth.slok.dev/v1    sloth.py            `PrometheusServiceLevel`
    pyrra.dev/v1alpha1   pyrra.py            `ServiceLevelObjective`

A spec objective with several objectives gives several SLOs. Errors never stop at the
first: every format records into one report, raised at the end in line order.

What loads here, the later steps take: each format checks, at the field's own line, what
rule export, the collectors, report and backtest need (finite numbers, durations of at most
10 years, whole-minute periods and slices, known time zones, Prometheus label names, no
template action but `{{.window}}`, counter queries that are selectors, every query PromQL
as a real parser reads it: `slo.promql_check`); and every SLO's queries are then rendered
once as the Prometheus collector and rule export render them, and parsed again whole, so
nothing `validate` passes fails there or in Prometheus. A kind of SLO that a step cannot
serve at all (ClickHouse events, timeslices or a calendar period in Sloth-style rules:
`slo.rules.unexportable`) is not an error: that step skips it and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from slo.errors import InputError, SpecError, SpecErrors
from slo.model import SLO, EventRatio, Threshold
from slo.promql import render_window, sli_error_query
from slo.promql_check import promql_error
from slo.specs import apollo, openslo, openslo_v1alpha, pyrra, sloth
from slo.specs._common import Field, Report, describe
from slo.specs.sloth import SLOTH_DEFAULT_PERIOD
from slo.yamlpos import YamlDocument, iter_documents

__all__ = ["FORMATS", "SLOTH_DEFAULT_PERIOD", "SpecErrors", "load_slo_texts", "load_slos"]

_LOADERS: dict[str, Callable[[Field], list[SLO]]] = {
    apollo.API_VERSION: apollo.load,
    openslo_v1alpha.API_VERSION: openslo_v1alpha.load,
    "prometheus/v1": sloth.load_prometheus,
    "sloth.slok.dev/v1": sloth.load_kubernetes,
    pyrra.API_VERSION: pyrra.load,
}
FORMATS = (apollo.API_VERSION, openslo.API_VERSION, openslo_v1alpha.API_VERSION,
           "prometheus/v1", "sloth.slok.dev/v1", pyrra.API_VERSION)


def load_slos(text: str | bytes, *, path: str) -> list[SLO]:
    """Every SLO in `text` (read from `path`, which only names it in messages), in file order.

    Raises `SpecErrors` (an `InputError`) holding every error found, each naming
    `path:line: field`. A text with no SLO objects (only OpenSLO SLIs, say) gives []; a
    text with no object at all (empty, or comments only) is an error, as in Sloth.
    """
    return load_slo_texts([(path, text)])


def load_slo_texts(texts: Iterable[tuple[str, str | bytes]]) -> list[SLO]:
    """Every SLO of the texts one command reads, as (path, text) pairs: file by file, in
    file order, each checked as `load_slos` checks it, except that OpenSLO v1 references
    (indicatorRef, alertPolicyRef, conditionRef, targetRef, metricSourceRef) may name an
    object of any of the texts, and must name one of them (as `oslo validate` and the
    OpenSLO SDK's inliner see the objects they are given together).

    Raises `SpecErrors` holding every error of every text.
    """
    reports: dict[str, Report] = {}
    objects: list[tuple[str, Field]] = []
    for path, text in texts:
        report = reports.setdefault(path, Report(path))
        found = False
        try:
            for doc in iter_documents(text, path=path):
                found = found or doc.data is not None
                objects.extend(_objects(doc, report))
        except InputError as exc:  # YAML syntax: keep the documents read before it
            report.add(exc.reason, line=exc.line)
            found = True
        if not found:
            report.add("holds no spec (the file is empty or only comments); Sloth refuses "
                       "an empty spec too", line=1)
    slos: list[SLO] = []
    for fmt, obj in objects:
        if fmt != openslo.API_VERSION:
            slos.extend(_LOADERS[fmt](obj))
    slos.extend(openslo.load_bundle([obj for fmt, obj in objects if fmt == openslo.API_VERSION],
                                    files=len(reports)))
    order = {path: i for i, path in enumerate(reports)}
    slos = [slo for slo in slos if _sizes_bounded(slo, reports[slo.source.path])
            and _queries_render(slo, reports[slo.source.path])]
    slos.sort(key=lambda s: (order[s.source.path], s.source.line or 0))
    for path, report in reports.items():
        _unique_ids([s for s in slos if s.source.path == path], report)
    errors = [e for report in reports.values() for e in report.errors]
    if errors:
        raise SpecErrors(errors)
    return slos


def _objects(doc: YamlDocument, report: Report) -> list[tuple[str, Field]]:
    """The objects of one document with their format: the document, or each list item."""
    if doc.data is None:
        return []
    if isinstance(doc.data, list):
        fields = [Field(item, doc=doc, report=report, keys=(i,), base=1)
                  for i, item in enumerate(doc.data)]
    else:
        fields = [Field(doc.data, doc=doc, report=report)]
    out = []
    for obj in fields:
        fmt = _format(obj)
        if fmt is not None:
            out.append((fmt, obj))
    return out


def _format(obj: Field) -> str | None:
    if not isinstance(obj.value, dict):
        obj.fail(f"expected an SLO spec (a mapping), got {describe(obj.value)}")
        return None
    if obj.has("version") and not obj.has("apiVersion"):
        version = obj["version"].value
        if version == "prometheus/v1":
            return "prometheus/v1"
        obj["version"].fail(f"unknown Sloth spec version {version!r}, expected prometheus/v1")
        return None
    api = obj["apiVersion"].value
    if api in FORMATS:
        return str(api)
    known = ", ".join(FORMATS)
    if obj["apiVersion"].missing:
        obj["apiVersion"].fail(f"is required: one of {known} (or Sloth's version: "
                               "prometheus/v1)")
    else:
        obj["apiVersion"].fail(f"unknown spec format {api!r}; known: {known}")
    return None


MAX_NAME = 253  # a service or SLO name (a DNS name's length)
MAX_LABEL_VALUE = 4096  # a label or annotation: room for a runbook paragraph
MAX_QUERY = 65_536  # one query's text


def _sizes_bounded(slo: SLO, report: Report) -> bool:
    """Names, labels, annotations and queries of sane length: each is copied into every
    exported rule, so a 1 MB label would make a 100 MB rules file (an error at the SLO)."""
    texts = [("service", slo.service, MAX_NAME), ("name", slo.name, MAX_NAME)]
    for where, mapping in (("labels", slo.labels), ("alerting.labels", slo.alerting.labels),
                           ("alerting.annotations", slo.alerting.annotations),
                           ("alerting.page", {**slo.alerting.page.labels,
                                              **slo.alerting.page.annotations}),
                           ("alerting.ticket", {**slo.alerting.ticket.labels,
                                                **slo.alerting.ticket.annotations})):
        texts += [(f"{where}.{str(k)[:40]}", f"{k}{v}", MAX_LABEL_VALUE)
                  for k, v in mapping.items()]
    texts += [(f"sli.{name}", value, MAX_QUERY) for name, value in vars(slo.sli).items()
              if isinstance(value, str)]
    too_long = [(field, len(text), limit) for field, text, limit in texts if len(text) > limit]
    for field, length, limit in too_long:
        report.add(f"{length:,} characters; at most {limit:,}", line=slo.source.line,
                   field=field)
    return not too_long


def _queries_render(slo: SLO, report: Report) -> bool:
    """Whether the SLO's queries render as the Prometheus collector and rule export render
    them (`slo.promql`); if not, an error at the SLO's line. The formats' own checks catch
    the known cases first, at the field's line: this is the net under them."""
    try:
        if isinstance(slo.sli, Threshold):
            rendered = render_window(slo.sli.query, timedelta(minutes=1))
        elif isinstance(slo.sli, EventRatio):
            return True
        else:
            rendered = sli_error_query(slo.sli, timedelta(minutes=1))
    except SpecError as exc:
        report.add(exc.reason, line=slo.source.line, field=exc.field)
        return False
    error = promql_error(rendered)  # what the rules and the collector send, as a whole
    if error is not None:
        report.add(error, line=slo.source.line, field="sli")
        return False
    return True


def _unique_ids(slos: list[SLO], report: Report) -> None:
    """`service-name` identifies an SLO (Sloth's `sloth_id`): two in one text is an error."""
    first: dict[str, SLO] = {}
    for slo in slos:
        if slo.id in first:
            report.add(f"SLO id {slo.id!r} is already used at line {first[slo.id].source.line}",
                       line=slo.source.line, field="name")
        else:
            first[slo.id] = slo
