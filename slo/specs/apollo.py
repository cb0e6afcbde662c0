"""Apollo's own format, `apiVersion: apollo/v1`, `kind: SLO`: one flat document per SLO.

It is strict where the foreign formats are lenient: an unknown key is an error (with a
"did you mean" hint), since a misspelt `ticket:` would otherwise silently page nobody.
Field by field in docs/slo-spec.md.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final, cast

from slo.durations import format_duration
from slo.model import (
    SLI,
    Alerting,
    AlertRule,
    Budgeting,
    CalendarUnit,
    EventRatio,
    LatencyThreshold,
    Period,
    RawErrorRatio,
    RequestRatio,
    Source,
    Threshold,
    Timeslices,
)
from slo.model import SLO as SLOModel
from slo.specs._common import (
    Field,
    comparison,
    exactly_one,
    expect_kind,
    needs_window,
    percent,
    prometheus_duration,
    prometheus_labels,
    promql,
    selector,
    template_actions,
    time_zone,
    whole_minutes,
)

API_VERSION: Final = "apollo/v1"
DEFAULT_PERIOD = timedelta(days=30)
CALENDAR_UNITS: dict[str, timedelta] = {  # nominal lengths; boundaries come from the calendar
    "day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=30),
    "quarter": timedelta(days=90), "year": timedelta(days=365),
}
BUDGETING_METHODS = ("occurrences", "timeslices", "ratio_timeslices")
SLI_KINDS = ("request_ratio", "raw_error_ratio", "latency_threshold", "threshold", "event_ratio")
_TOP = ("apiVersion", "kind", "service", "name", "description", "objective", "period",
        "budgeting", "labels", "sli", "alerting")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def load(obj: Field) -> list[SLOModel]:
    """One `kind: SLO` object -> one SLO (none, with errors recorded, if it does not check)."""
    obj.check_keys(_TOP)
    if not expect_kind(obj, "SLO", f"for {API_VERSION}"):
        return []
    service = obj["service"].name_text()
    name = obj["name"].name_text()
    description = obj["description"].text() or ""
    objective = _objective(obj["objective"])
    period = _period(obj["period"])
    sli = _sli(obj["sli"])
    budgeting, timeslices = _budgeting(obj["budgeting"], sli, period)
    labels = prometheus_labels(obj["labels"])
    alerting = _alerting(obj["alerting"], default_name=_camel(f"{service}-{name}"))
    if (service is None or name is None or objective is None or period is None
            or sli is None or budgeting is None or alerting is None):
        return []
    return [SLOModel(
        service=service, name=name, objective=objective, sli=sli, period=period,
        budgeting=budgeting, timeslices=timeslices, description=description, labels=labels,
        alerting=alerting, source=Source(obj.report.path, obj.line, API_VERSION),
    )]


def _objective(field: Field) -> float | None:
    """Percent, 0 < objective < 100: a 100% objective leaves no error budget to spend."""
    value = field.number(required=True)
    if value is None:
        return None
    if value <= 0:
        field.fail(f"must be above 0, got {percent(value)}")
        return None
    if value >= 100:
        field.fail(f"must be below 100, got {percent(value)}")
        return None
    return value


def _period(field: Field) -> Period | None:
    """`30d` (rolling, whole minutes) or `{calendar: month, timezone: Europe/Paris}`."""
    if field.missing:
        return Period(DEFAULT_PERIOD)
    if isinstance(field.value, str):
        length = whole_minutes(field, prometheus_duration(field), "a period")
        return Period(length) if length else None
    if field.mapping() is None:
        return None
    field.check_keys(("calendar", "timezone"))
    unit = field["calendar"].choice(CALENDAR_UNITS, required=True)
    timezone = time_zone(field["timezone"])
    if unit is None or timezone is None:
        return None
    return Period(CALENDAR_UNITS[unit], rolling=False, calendar_unit=cast(CalendarUnit, unit),
                  timezone=timezone)


def _sli(field: Field) -> SLI | None:
    if field.mapping(required=True) is None:
        return None
    field.check_keys(SLI_KINDS)
    kind = exactly_one(field, SLI_KINDS, what="SLI kind")
    if kind is None:
        return None
    spec = field[kind]
    if spec.mapping(required=True) is None:
        return None
    return _SLI_READERS[kind](spec)


def _request_ratio(spec: Field) -> SLI | None:
    spec.check_keys(("errors", "good", "total"))
    numerator = exactly_one(spec, ("errors", "good"), what="numerator")
    total = promql(spec["total"], needs_window(spec["total"],
                                               spec["total"].text(required=True, nonempty=True)))
    if numerator is None:
        return None
    query = promql(spec[numerator], needs_window(spec[numerator],
                                                 spec[numerator].text(nonempty=True)))
    if total is None or query is None:
        return None
    if query == total:
        spec[numerator].fail("must differ from total")
        return None
    if numerator == "errors":
        return RequestRatio(total_query=total, error_query=query)
    return RequestRatio(total_query=total, good_query=query)


def _raw_error_ratio(spec: Field) -> SLI | None:
    spec.check_keys(("query",))
    query = promql(spec["query"], needs_window(spec["query"],
                                               spec["query"].text(required=True, nonempty=True)))
    return RawErrorRatio(query) if query else None


def _latency_threshold(spec: Field) -> SLI | None:
    spec.check_keys(("histogram", "threshold"))
    metric = spec["histogram"].text(required=True, nonempty=True)
    threshold = _threshold_seconds(spec["threshold"])
    if metric is not None:
        example = 'http_request_duration_seconds{job="api"}'
        parsed = selector(spec["histogram"], metric, example=example)
        if parsed is None:
            metric = None
        elif not parsed.name:
            spec["histogram"].fail(f"expected a histogram name with an optional selector, "
                                   f"e.g. {example}, got {metric!r}")
            metric = None
        elif parsed.name.endswith(("_bucket", "_count", "_sum")):
            spec["histogram"].fail(f"give the histogram's base name, without the "
                                   f"{parsed.name.rsplit('_', 1)[1]!r} suffix")
            metric = None
        elif any(m.label == "le" for m in parsed.matchers):
            spec["histogram"].fail("must not select `le`: the threshold picks the bucket")
            metric = None
    if metric is None or threshold is None:
        return None
    return LatencyThreshold(metric=metric.strip(), threshold_s=threshold)


def _threshold_seconds(field: Field) -> float | None:
    """`12ms`, `0.25s` or a number of seconds; the bucket bound the SLI counts up to."""
    if isinstance(field.value, int | float) and not isinstance(field.value, bool):
        number = field.number()
        if number is None:
            return None
        seconds = number
    else:
        length = prometheus_duration(field, required=True)
        if length is None:
            return None
        seconds = length.total_seconds()
    if seconds <= 0:
        field.fail(f"must be above 0, got {field.value!r}")
        return None
    return seconds


def _threshold(spec: Field) -> SLI | None:
    spec.check_keys(("query", "op", "value"))
    query = promql(spec["query"], template_actions(
        spec["query"], spec["query"].text(required=True, nonempty=True)))
    op = comparison(spec["op"])
    value = spec["value"].number(required=True)
    if query is None or op is None or value is None:
        return None
    return Threshold(query=query, op=op, value=value)


def _event_ratio(spec: Field) -> SLI | None:
    spec.check_keys(("table", "event_types", "field", "op", "value"))
    table = _identifier(spec["table"])
    column = _identifier(spec["field"])
    op = comparison(spec["op"])
    value = spec["value"].number(required=True)
    types = tuple(t for t in (item.text(required=True, nonempty=True)
                              for item in spec["event_types"].items()) if t is not None)
    if table is None or column is None or op is None or value is None:
        return None
    return EventRatio(table=table, event_types=types, field=column, op=op, value=value)


def _identifier(field: Field) -> str | None:
    """Table and column names go into SQL as identifiers (parameters cannot): plain only."""
    value = field.text(required=True, nonempty=True)
    if value is not None and not _IDENTIFIER.match(value):
        field.fail(f"must be a plain identifier (letters, digits, '_', optionally "
                   f"database.table), got {value!r}")
        return None
    return value


_SLI_READERS = {
    "request_ratio": _request_ratio, "raw_error_ratio": _raw_error_ratio,
    "latency_threshold": _latency_threshold, "threshold": _threshold,
    "event_ratio": _event_ratio,
}


def _budgeting(field: Field, sli: SLI | None, period: Period | None
               ) -> tuple[Budgeting | None, Timeslices | None]:
    """`occurrences` (default), or `{method: timeslices, slice: 1m, slice_target: 95}`; a
    slice is whole minutes, at most the period."""
    if field.missing:
        method: str | None = "occurrences"
    elif isinstance(field.value, dict):
        field.check_keys(("method", "slice", "slice_target"))
        method = field["method"].choice(BUDGETING_METHODS, required=True)
    else:
        method = field.choice(BUDGETING_METHODS)
    # Both read as missing when budgeting is written as a plain string.
    slice_field, target_field = field["slice"], field["slice_target"]
    if method is None:
        return None, None
    threshold = isinstance(sli, Threshold)
    if threshold and method != "timeslices":
        where = field if isinstance(field.value, str) or field.missing else field["method"]
        where.fail("a threshold SLI is judged per time slice: use method timeslices")
        return None, None
    if method == "occurrences":
        for extra in (slice_field, target_field):
            if not extra.missing:
                extra.fail("only applies to timeslices budgeting")
        return "occurrences", None
    window = timedelta(minutes=1) if slice_field.missing else _slice(slice_field, period)
    target = None if target_field.missing else _slice_target(target_field)
    if window is None or (target is None and not target_field.missing):
        return None, None
    if method == "ratio_timeslices" and target is not None:
        target_field.fail("only applies to method timeslices")
    elif method == "timeslices" and threshold and target is not None:
        target_field.fail("a threshold SLI's slice is good when its value compares true; "
                          "slice_target only applies to ratio SLIs")
    elif method == "timeslices" and sli is not None and not threshold and target is None:
        target_field.fail("is required for timeslices budgeting of a ratio SLI "
                          "(percent of good events that makes a slice good)")
    else:
        return cast(Budgeting, method), Timeslices(window=window, slice_target=target)
    return None, None


def _slice(field: Field, period: Period | None) -> timedelta | None:
    window = whole_minutes(field, prometheus_duration(field), "a slice")
    if window is not None and period is not None and window > period.length:
        field.fail(f"a slice ({field.value}) cannot be longer than the period "
                   f"({format_duration(period.length)})")
        return None
    return window


def _slice_target(field: Field) -> float | None:
    """Percent in Apollo's format like the objective (95 -> 0.95 in the model)."""
    value = field.number()
    if value is None:
        return None
    if not 0 < value <= 100:
        field.fail(f"must be a percent in (0, 100], got {percent(value)}")
        return None
    return value / 100


def _alerting(field: Field, *, default_name: str) -> Alerting | None:
    if field.missing:
        return Alerting(name=default_name)
    if field.mapping() is None:
        return None
    field.check_keys(("name", "labels", "annotations", "page", "ticket"))
    name = field["name"].text(nonempty=True) if field.has("name") else default_name
    page, ticket = _rule(field["page"]), _rule(field["ticket"])
    if name is None or page is None or ticket is None:
        return None
    return Alerting(
        name=name,
        labels=prometheus_labels(field["labels"]),
        annotations=prometheus_labels(field["annotations"], what="annotation"),
        page=page, ticket=ticket,
    )


def _rule(field: Field) -> AlertRule | None:
    if field.missing:
        return AlertRule()
    if field.mapping() is None:
        return None
    field.check_keys(("disabled", "labels", "annotations"))
    return AlertRule(
        disabled=field["disabled"].boolean(),
        labels=prometheus_labels(field["labels"]),
        annotations=prometheus_labels(field["annotations"], what="annotation"),
    )


def _camel(text: str) -> str:
    """`api-gateway-availability` -> `ApiGatewayAvailability`, the default alert name."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))
