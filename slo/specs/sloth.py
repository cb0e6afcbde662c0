"""Sloth specs: `version: prometheus/v1` and its Kubernetes CRD `sloth.slok.dev/v1`
`PrometheusServiceLevel` (the same fields, camelCase, under `spec`).

Checks reproduce Sloth's own validation (service and SLO names, 0 < objective <= 100, one
SLI kind, `{{.window}}` in every query, an alert name unless both alerts are disabled,
Prometheus label names), so what `sloth validate` refuses, Apollo refuses. Like Sloth
(Go YAML, not strict) unknown keys are ignored: Sloth's own `validate-good` fixtures hold
camelCase `pageAlert` in prometheus/v1 files. Unquoted label values (`tier: 2`) are taken
as text in prometheus/v1, as Sloth's loader does, and refused in the CRD, as Kubernetes'
decoder does. SLI plugins run Sloth's Go code and are
refused. The period is not part of a Sloth spec: `SLOTH_DEFAULT_PERIOD`, as Sloth's
`--default-slo-period`; the rules exporter may override it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertRule,
    Period,
    RawErrorRatio,
    RequestRatio,
    Source,
    SpecFormat,
)
from slo.specs._common import (
    Field,
    exactly_one,
    expect_kind,
    needs_window,
    percent,
    prometheus_labels,
    promql,
)

SLOTH_DEFAULT_PERIOD = timedelta(days=30)  # Sloth's --default-slo-period


@dataclass(frozen=True)
class _Keys:
    """Where the two Sloth flavours put the same field."""

    format: SpecFormat
    error_query: str
    total_query: str
    error_ratio_query: str
    page_alert: str
    ticket_alert: str
    slo_plugins: str
    go_strings: bool  # labels read as Sloth's loader reads them (see `go_string`)


# prometheus/v1 files go through sigs.k8s.io/yaml, which turns an unquoted `2` or `true`
# bound for a string field into its text; the CRD goes through Kubernetes' decoder, whose
# JSON step refuses a number where the schema says string (so does the API server).
PROMETHEUS_V1 = _Keys("prometheus/v1", "error_query", "total_query", "error_ratio_query",
                      "page_alert", "ticket_alert", "slo_plugins", go_strings=True)
KUBERNETES_V1 = _Keys("sloth.slok.dev/v1", "errorQuery", "totalQuery", "errorRatioQuery",
                      "pageAlert", "ticketAlert", "sloPlugins", go_strings=False)


def load_prometheus(obj: Field) -> list[SLO]:
    """A `version: prometheus/v1` document."""
    return _load_group(obj, PROMETHEUS_V1)


def load_kubernetes(obj: Field) -> list[SLO]:
    """A `PrometheusServiceLevel` object: the same group under `spec`."""
    if not expect_kind(obj, "PrometheusServiceLevel", "for sloth.slok.dev/v1 (AlertWindows "
                       "files go to `apollo slo rules --windows`)"):
        return []
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return []
    return _load_group(spec, KUBERNETES_V1)


def _load_group(group: Field, keys: _Keys) -> list[SLO]:
    service = group["service"].name_text()
    common_labels = prometheus_labels(group["labels"], go_strings=keys.go_strings)
    _refuse_plugins(group[keys.slo_plugins])
    slos = group["slos"].items(required=True)
    if isinstance(group["slos"].value, list) and not slos:
        group["slos"].fail("at least one SLO is required")
    out = [_slo(item, service, common_labels, keys) for item in slos if item.mapping()]
    return [slo for slo in out if slo is not None]


def _slo(item: Field, service: str | None, common: Mapping[str, str], keys: _Keys
         ) -> SLO | None:
    name = item["name"].name_text()
    objective = _objective(item["objective"])
    description = item["description"].text() or ""
    labels = {**common, **prometheus_labels(item["labels"], go_strings=keys.go_strings)}
    _refuse_plugins(item["plugins"])
    sli = _sli(item["sli"], keys)
    alerting = _alerting(item["alerting"], keys)
    if service is None or name is None or objective is None or sli is None or alerting is None:
        return None
    return SLO(
        service=service, name=name, objective=objective, sli=sli,
        period=Period(SLOTH_DEFAULT_PERIOD), description=description, labels=labels,
        alerting=alerting, source=Source(item.report.path, item.line, keys.format),
    )


def _objective(field: Field) -> float | None:
    """Sloth's rule is `gt=0,lte=100`: unlike Apollo's own format, 100 passes."""
    value = field.number(required=True)
    if value is None:
        return None
    if value <= 0:
        field.fail(f"must be above 0, got {percent(value)}")
        return None
    if value > 100:
        field.fail(f"must be at most 100, got {percent(value)}")
        return None
    return value


def _sli(field: Field, keys: _Keys) -> SLI | None:
    if field.mapping(required=True) is None:
        return None
    kind = exactly_one(field, ("events", "raw", "plugin"), what="SLI kind")
    if kind == "plugin":
        plugin_id = field["plugin"]["id"].value
        which = f" (plugin {plugin_id!r})" if isinstance(plugin_id, str) else ""
        field["plugin"].fail(f"SLI plugins run Sloth's Go code, which Apollo cannot run{which}; "
                             "write the SLI as events or raw")
        return None
    if kind == "events":
        events = field["events"]
        if events.mapping() is None:
            return None
        error = _query(events[keys.error_query])
        total = _query(events[keys.total_query])
        if error is None or total is None:
            return None
        if error == total:
            events[keys.error_query].fail(f"must differ from {keys.total_query}")
            return None
        return RequestRatio(total_query=total, error_query=error)
    if kind == "raw":
        raw = field["raw"]
        if raw.mapping() is None:
            return None
        query = _query(raw[keys.error_ratio_query])
        return RawErrorRatio(query) if query else None
    return None


def _query(field: Field) -> str | None:
    """A query template: `{{.window}}` in it, and PromQL once it is filled in (Sloth's own
    validation renders it with a window and parses it)."""
    return promql(field, needs_window(field, field.text(required=True, nonempty=True)))


def _alerting(field: Field, keys: _Keys) -> Alerting | None:
    if not field.missing and field.mapping() is None:
        return None
    page = _rule(field[keys.page_alert], keys)
    ticket = _rule(field[keys.ticket_alert], keys)
    name = field["name"].text() or ""
    labels = prometheus_labels(field["labels"], go_strings=keys.go_strings)
    annotations = prometheus_labels(field["annotations"], what="annotation",
                                    go_strings=keys.go_strings)
    if page is None or ticket is None:
        return None
    if not name and not (page.disabled and ticket.disabled):
        field["name"].fail(f"is required unless {keys.page_alert} and {keys.ticket_alert} "
                           "are both disabled")
        return None
    return Alerting(name=name, labels=labels, annotations=annotations, page=page,
                    ticket=ticket)


def _rule(field: Field, keys: _Keys) -> AlertRule | None:
    if field.missing:
        return AlertRule()
    if field.mapping() is None:
        return None
    return AlertRule(
        disabled=field["disable"].boolean(),
        labels=prometheus_labels(field["labels"], go_strings=keys.go_strings),
        annotations=prometheus_labels(field["annotations"], what="annotation",
                                      go_strings=keys.go_strings),
    )


def _refuse_plugins(field: Field) -> None:
    """SLO plugins rewrite Sloth's generated rules with Go code: Apollo cannot follow."""
    if field.mapping() is not None and field["chain"].items():
        field["chain"].fail("Sloth SLO plugins run Go code, which Apollo cannot run")
