"""OpenSLO v1: SLO, SLI, Service, DataSource, AlertPolicy, AlertCondition and
AlertNotificationTarget objects, spread over the documents (or YAML lists) of one text.

References are resolved across the whole text, as the OpenSLO Go SDK inlines them:
`indicatorRef` -> SLI, `alertPolicyRef` -> AlertPolicy, `conditionRef` -> AlertCondition,
`targetRef` -> AlertNotificationTarget. A missing one is an error naming the ref. A
`metricSourceRef` must resolve only when the metric source has no `type` of its own (the
spec infers the type from the DataSource then); with a `type`, the ref may name a
DataSource kept elsewhere, as the Go SDK's own examples do.

Objects are checked when an SLO uses them; unused SLIs, policies and targets only need a
name, so files of SLIs or policies alone load (to no SLOs). Unknown keys are ignored.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Final

from slo.durations import bounded
from slo.errors import SpecError
from slo.model import (
    SLI,
    SLO,
    Alerting,
    AlertRule,
    Budgeting,
    BurnRateCondition,
    CalendarUnit,
    Period,
    RawErrorRatio,
    RequestRatio,
    Source,
    Threshold,
    Timeslices,
)
from slo.promql import counter_increase
from slo.specs._common import (
    Field,
    comparison,
    describe,
    exactly_one,
    metadata_label,
    percent,
    promql,
    slug,
    template_actions,
    time_zone,
)

API_VERSION: Final = "openslo/v1"
KINDS = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition",
         "AlertNotificationTarget")
METHODS: dict[str, Budgeting] = {"Occurrences": "occurrences", "Timeslices": "timeslices",
                                 "RatioTimeslices": "ratio_timeslices"}
# duration-shorthand: m minutes, M months. Months, quarters and years are nominal lengths.
UNITS: dict[str, timedelta] = {
    "m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
    "w": timedelta(weeks=1), "M": timedelta(days=30), "Q": timedelta(days=90),
    "Y": timedelta(days=365),
}
CALENDAR_UNITS: dict[str, CalendarUnit] = {"d": "day", "w": "week", "M": "month",
                                           "Q": "quarter", "Y": "year"}
_SHORTHAND = re.compile(r"^(\d+)([mhdwMQY])$")
_SUM = re.compile(r"sum\s*\((.*)\)", re.DOTALL)


class Bundle:
    """The OpenSLO objects of the texts one command reads, by kind, for resolving references
    (`files` texts: a reference may name an object of any of them)."""

    def __init__(self, objects: list[Field], *, files: int = 1) -> None:
        self.by_kind: dict[str, list[Field]] = defaultdict(list)
        self.files = files
        for obj in objects:
            kind = obj["kind"].choice(KINDS, required=True)
            name = _object_checked(obj)
            if kind and name:
                self.by_kind[kind].append(obj)

    def resolve(self, ref: Field, kind: str) -> Field | None:
        """The object of `kind` that `ref` names (an error if none or several)."""
        name = dns_label(ref)
        if name is None:
            return None
        found = [o for o in self.by_kind[kind] if o["metadata"]["name"].value == name]
        if len(found) == 1:
            return found[0]
        where = "in this file" if self.files == 1 else f"in the {self.files} files read together"
        if not found:
            ref.fail(f"no {kind} named {name!r} {where}")
        else:
            places = ("lines " + ", ".join(str(o.line) for o in found) if self.files == 1
                      else ", ".join(f"{o.report.path}:{o.line}" for o in found))
            ref.fail(f"{len(found)} {kind} objects are named {name!r} ({places})")
        return None


def load_bundle(objects: list[Field], *, files: int = 1) -> list[SLO]:
    """Every SLO of the bundle, one per objective. Every object is checked as the OpenSLO
    Go SDK validates it (names, descriptions), used or not; an AlertPolicy's
    conditionRef and targetRef must name objects of the bundle even if no SLO uses it, as
    the SDK's inliner and `oslo validate` require."""
    bundle = Bundle(objects, files=files)
    for sli in bundle.by_kind["SLI"]:
        if sli["spec"].mapping(required=True) is not None:
            exactly_one(sli["spec"], ("ratioMetric", "thresholdMetric"), what="metric")
    for policy in bundle.by_kind["AlertPolicy"]:
        _policy_refs(policy, bundle)
    out: list[SLO] = []
    for obj in bundle.by_kind["SLO"]:
        out.extend(_slo(obj, bundle))
    return out


# --- what the Go SDK checks of every object ---------------------------------------------------

MAX_DESCRIPTION = 1050  # the SDK's StringMaxLength(1050) on every spec.description
MAX_DISPLAY_NAME = 63
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns_label(field: Field) -> str | None:
    """An object's name or a reference to one: an RFC 1123 label (lower case letters,
    digits and '-', alphanumeric ends, at most 63 characters), as the SDK requires."""
    value = field.text(required=True, nonempty=True)
    if value is None:
        return None
    if len(value) > 63:
        field.fail(f"must be an RFC 1123 label of at most 63 characters, got {len(value)}")
        return None
    if not _DNS_LABEL.match(value):
        field.fail("must be an RFC 1123 label: lower case letters, digits and '-', starting "
                   f"and ending with a letter or digit (e.g. 'my-name'), got {value!r}")
        return None
    return value


# The fields the SDK decodes (it refuses any other, as `oslo validate` shows); below the
# spec level the loader's own reads name what is wrong.
_TOP = ("apiVersion", "kind", "metadata", "spec")
_METADATA = ("name", "displayName", "labels", "annotations")
_SPEC_KEYS = {
    "SLO": ("description", "service", "indicator", "indicatorRef", "budgetingMethod",
            "timeWindow", "objectives", "alertPolicies"),
    "SLI": ("description", "thresholdMetric", "ratioMetric"),
    "Service": ("description",),
    "DataSource": ("description", "type", "connectionDetails"),
    "AlertPolicy": ("description", "alertWhenNoData", "alertWhenBreaching", "alertWhenResolved",
                    "conditions", "notificationTargets"),
    "AlertCondition": ("description", "severity", "condition"),
    "AlertNotificationTarget": ("description", "target"),
}


def _object_checked(obj: Field) -> str | None:
    """The object's name, after the SDK's checks of its fields, metadata and description and
    of the objects written inline in it (an SLO's indicator and policies, a policy's
    conditions and targets); None if the name itself is wrong."""
    kind = obj["kind"].value if isinstance(obj["kind"].value, str) else None
    obj.check_keys(_TOP)
    if isinstance(obj["metadata"].value, dict):
        obj["metadata"].check_keys(_METADATA)
    if isinstance(obj["spec"].value, dict) and kind in _SPEC_KEYS:
        obj["spec"].check_keys(_SPEC_KEYS[kind])
    name = _metadata(obj["metadata"])
    spec = obj["spec"]
    _description(spec)
    if kind == "SLO" and spec.has("indicator"):
        _metadata(spec["indicator"]["metadata"])
        _description(spec["indicator"]["spec"])
    inline_policies = [p for p in spec["alertPolicies"].items() if p.has("spec")]
    for policy in [obj] if kind == "AlertPolicy" else inline_policies if kind == "SLO" else []:
        if policy is not obj:
            _metadata(policy["metadata"])
            _description(policy["spec"])
        for key in ("conditions", "notificationTargets"):
            for item in policy["spec"][key].items():
                if isinstance(item.value, dict) and item.has("spec"):
                    _metadata(item["metadata"])
                    _description(item["spec"])
    return name


def _metadata(metadata: Field) -> str | None:
    if metadata.mapping(required=True) is None:
        return None
    display = metadata["displayName"]
    if isinstance(display.value, str) and len(display.value) > MAX_DISPLAY_NAME:
        display.fail(f"at most {MAX_DISPLAY_NAME} characters, got {len(display.value)}")
    return dns_label(metadata["name"])


def _description(spec: Field) -> None:
    field = spec["description"]
    if isinstance(spec.value, dict) and not field.missing:
        text = field.text()
        if text is not None and len(text) > MAX_DESCRIPTION:
            field.fail(f"at most {MAX_DESCRIPTION:,} characters, got {len(text):,}")


def _policy_refs(policy: Field, bundle: Bundle) -> None:
    """Every conditionRef and targetRef of an AlertPolicy names an object of the bundle."""
    spec = policy["spec"]
    for key, ref_key, kind in (("conditions", "conditionRef", "AlertCondition"),
                               ("notificationTargets", "targetRef", "AlertNotificationTarget")):
        for item in spec[key].items():
            if item.has(ref_key):
                bundle.resolve(item[ref_key], kind)


def _slo(obj: Field, bundle: Bundle) -> list[SLO]:
    name = obj["metadata"]["name"].text()
    labels = _metadata_labels(obj["metadata"]["labels"])
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return []
    service = spec["service"].name_text()
    description = spec["description"].text() or ""
    indicator = _indicator_spec(spec, bundle)
    metric = _Metric.read(indicator, bundle) if indicator is not None else None
    period = _time_window(spec["timeWindow"])
    method = spec["budgetingMethod"].choice(METHODS, required=True)
    alerting = _alerting(spec["alertPolicies"], bundle)
    objectives = spec["objectives"].items(required=True)
    if isinstance(spec["objectives"].value, list) and not objectives:
        spec["objectives"].fail("at least one objective is required")
    if metric is not None and metric.threshold_query is not None and len(objectives) > 1:
        objectives[1].fail("an SLO on a thresholdMetric takes exactly one objective")
        return []
    out = []
    for objective, suffix in zip(objectives, _suffixes(objectives), strict=True):
        if objective.mapping() is None:
            continue
        target = _target(objective)
        sli = metric.for_objective(objective) if metric is not None else None
        budgeting = _budgeting(objective, method, period)
        if (name is None or service is None or sli is None or period is None or target is None
                or budgeting is None or alerting is None):
            continue
        line = obj.line if len(objectives) == 1 else objective.line
        out.append(SLO(
            service=service, name=f"{name}-{suffix}" if suffix else name, objective=target,
            sli=sli, period=period, budgeting=budgeting[0], timeslices=budgeting[1],
            description=description, labels=labels, alerting=alerting,
            source=Source(obj.report.path, line, API_VERSION),
        ))
    return out


def _suffixes(objectives: list[Field]) -> list[str]:
    """Names of several objectives: the slug of each displayName, or the index when it has
    none or shares its slug with another objective; one objective keeps the SLO's name."""
    if len(objectives) == 1:
        return [""]
    slugs = [slug(o["displayName"].value) if isinstance(o["displayName"].value, str) else ""
             for o in objectives]
    return [s if s and slugs.count(s) == 1 else str(i) for i, s in enumerate(slugs)]


def _metadata_labels(field: Field) -> dict[str, str]:
    """OpenSLO labels (a string or a list of strings each) as Prometheus-safe labels: keys
    sanitized as kube-state-metrics does, list values joined with `,`, null as empty."""
    out: dict[str, str] = {}
    for key, child in field.entries():
        values = [] if child.missing else child.value
        values = values if isinstance(values, list) else [values]
        if any(isinstance(v, dict | list) for v in values):
            child.fail("must be a string or a list of strings")
            continue
        name = metadata_label(child, key)
        if name is not None:
            out[name] = ",".join("" if v is None else str(v).lower() if isinstance(v, bool)
                                 else str(v) for v in values)
    return out


# --- the indicator ------------------------------------------------------------------------


def _indicator_spec(spec: Field, bundle: Bundle) -> Field | None:
    """The SLI's `spec`, inline (`indicator`) or referenced (`indicatorRef`)."""
    kind = exactly_one(spec, ("indicator", "indicatorRef"), what="indicator")
    if kind == "indicatorRef":
        sli = bundle.resolve(spec["indicatorRef"], "SLI")
        return sli["spec"].mapping(required=True) if sli is not None else None
    if kind == "indicator" and spec["indicator"].mapping() is not None:
        return spec["indicator"]["spec"].mapping(required=True)
    return None


class _Metric:
    """An SLI read once per SLO: a finished ratio SLI, or a threshold query waiting for each
    objective's `op` and `value`."""

    def __init__(self, sli: SLI | None = None, threshold_query: str | None = None) -> None:
        self.sli, self.threshold_query = sli, threshold_query

    @classmethod
    def read(cls, spec: Field, bundle: Bundle) -> _Metric | None:
        kind = exactly_one(spec, ("ratioMetric", "thresholdMetric"), what="metric")
        if kind == "thresholdMetric":
            query = _query(spec["thresholdMetric"], bundle)
            return cls(threshold_query=query) if query else None
        if kind == "ratioMetric" and spec["ratioMetric"].mapping() is not None:
            sli = _ratio(spec["ratioMetric"], bundle)
            return cls(sli=sli) if sli else None
        return None

    def for_objective(self, objective: Field) -> SLI | None:
        if self.threshold_query is None:
            return self.sli if _no_comparison(objective) else None
        op = comparison(objective["op"])
        value = objective["value"].number(required=True)
        if op is None or value is None:
            return None
        return Threshold(query=self.threshold_query, op=op, value=value)


def _no_comparison(objective: Field) -> bool:
    """A ratio objective compares nothing: `op` and `value` belong to thresholdMetric SLIs,
    and the SDK forbids them here (a ratio SLO with `op: gt` is not what it seems)."""
    ok = True
    for key in ("op", "value"):
        if objective.has(key):
            objective[key].fail("is forbidden on an objective of a ratioMetric SLI (only a "
                                "thresholdMetric objective compares a value)")
            ok = False
    return ok


def _ratio(ratio: Field, bundle: Bundle) -> SLI | None:
    """good/total or bad/total (`counter: true`: the queries return counters), or raw."""
    if ratio.has("raw"):
        for part in ("good", "bad", "total"):
            if ratio.has(part):
                ratio[part].fail("cannot be used together with raw")
                return None
        raw_type = ratio["rawType"].choice(("success", "failure"), required=True)
        query = _query(ratio["raw"], bundle)
        if query is None or raw_type is None:
            return None
        return RawErrorRatio(query if raw_type == "failure" else f"1 - ({query})")
    numerator = exactly_one(ratio, ("good", "bad"), what="numerator (with total)")
    total = _query(ratio["total"], bundle, required=True)
    counter = ratio["counter"].boolean()
    query = _query(ratio[numerator], bundle) if numerator else None
    if counter:
        total = _counter(ratio["total"], total)
        query = _counter(ratio[numerator], query) if numerator else None
    if query is None or total is None:
        return None
    if numerator == "good":
        return RequestRatio(total_query=total, good_query=query, counter=counter)
    return RequestRatio(total_query=total, error_query=query, counter=counter)


def _counter(metric: Field, query: str | None) -> str | None:
    """With `counter: true` a query returns counters, whose increase Apollo takes
    (`sum(increase(q[w]))`, as rule export and the collector write it): so it must be a
    series selector. `sum(selector)`, as the OpenSLO examples write it, is read as the
    selector: the increase of a sum of counters is the sum of their increases."""
    if query is None:
        return None
    summed = _SUM.fullmatch(query.strip())
    try:
        counter_increase(summed.group(1) if summed else query)
        return summed.group(1).strip() if summed else query
    except SpecError as exc:
        reason = exc.reason
    metric["metricSource"]["spec"]["query"].fail(
        f"{reason}; with counter: true, write a selector such as http_requests_total{{job="
        '"api"} or sum() of one (rate(...) is not a counter)')
    return None


def _query(parent: Field, bundle: Bundle, *, required: bool = True) -> str | None:
    """`metricSource.spec.query` of a metric; the source's type may come from its DataSource."""
    if parent.mapping(required=required) is None:
        return None
    source = parent["metricSource"]
    if source.mapping(required=True) is None:
        return None
    kind = source["type"].text()
    if kind is None and source["type"].missing:
        if not source.has("metricSourceRef"):
            source.fail("needs a type or a metricSourceRef to a DataSource")
            return None
        data_source = bundle.resolve(source["metricSourceRef"], "DataSource")
        if data_source is None:
            return None
        kind = data_source["spec"]["type"].text() or "its DataSource's"
    spec = source["spec"]
    if spec.mapping(required=True) is None:
        return None
    if not spec.has("query"):
        keys = ", ".join(k for k, _ in spec.entries()) or "nothing"
        spec.fail(f"Apollo reads one `query` from each metric source; this {kind} source "
                  f"has {keys}")
        return None
    query = template_actions(spec["query"], spec["query"].text(nonempty=True))
    foreign = str(kind) if str(kind).lower() != "prometheus" else ""
    return promql(spec["query"], query, source=foreign)


# --- objectives and budgeting -------------------------------------------------------------


def _target(objective: Field) -> float | None:
    """`target` (a ratio, 0 < target < 1) or `targetPercent` (0 < p < 100), as a percent."""
    if objective.has("target") and objective.has("targetPercent"):
        objective["targetPercent"].fail("give target or targetPercent, not both")
        return None
    if objective.has("targetPercent"):
        field = objective["targetPercent"]
        value = field.number()
        if value is not None and not 0 < value < 100:
            field.fail(f"must be a percent in (0, 100), got {percent(value)}")
            return None
        return value
    field = objective["target"]
    value = field.number()
    if field.missing:
        objective.fail("target (a ratio such as 0.999) or targetPercent is required")
        return None
    if value is not None and not 0 < value < 1:
        field.fail(f"must be a ratio in (0, 1) (0.999 for 99.9%), got {percent(value)}")
        return None
    return value * 100 if value is not None else None  # Sloth's order: ratio × 100


def _budgeting(objective: Field, method: str | None, period: Period | None
               ) -> tuple[Budgeting, Timeslices | None] | None:
    if method is None:
        return None
    budgeting = METHODS[method]
    if budgeting == "occurrences":
        return budgeting, None
    window = _slice_window(objective["timeSliceWindow"])
    if window is not None and period is not None and window > period.length:
        objective["timeSliceWindow"].fail(f"a slice ({objective['timeSliceWindow'].value}) "
                                          "cannot be longer than the time window")
        return None
    target: float | None = None
    if budgeting == "timeslices" or objective.has("timeSliceTarget"):
        field = objective["timeSliceTarget"]
        target = field.number(required=budgeting == "timeslices")
        if target is not None and not 0 < target <= 1:
            field.fail(f"must be a ratio in (0, 1], got {percent(target)}")
            return None
        if target is None:
            return None
    if window is None:
        return None
    return budgeting, Timeslices(window=window, slice_target=target)


def _slice_window(field: Field) -> timedelta | None:
    """A duration-shorthand, or a number of minutes (the spec's default unit)."""
    if isinstance(field.value, int) and not isinstance(field.value, bool):
        if field.value <= 0:
            field.fail(f"must be above 0, got {field.value}")
            return None
        return _bounded(field, float(field.value) * 60 if field.value < 2**64 else math.inf)
    return _shorthand(field, required=True)


def _bounded(field: Field, seconds: float) -> timedelta | None:
    """At most 10 years (`MAX_DURATION`), as every duration Apollo reads."""
    try:
        return bounded(seconds, field.value)
    except ValueError as exc:
        field.fail(str(exc))
        return None


# --- the time window -------------------------------------------------------------------------


def _shorthand(field: Field, *, required: bool = False, allow_zero: bool = False
               ) -> timedelta | None:
    parsed = _count_unit(field, required=required, allow_zero=allow_zero)
    return parsed[0] * UNITS[parsed[1]] if parsed else None


def _count_unit(field: Field, *, required: bool = False, allow_zero: bool = False
                ) -> tuple[int, str] | None:
    """Count and unit of a duration-shorthand of at most 10 years."""
    text = field.text(required=required)
    if text is None:
        return None
    match = _SHORTHAND.match(text.strip())
    if not match:
        field.fail("expected a duration-shorthand: a whole number and one of m (minutes), "
                   f"h, d, w, M (months), Q, Y, e.g. 30d or 1M; got {text!r}")
        return None
    count, unit = float(match.group(1)), match.group(2)
    if count == 0 and not allow_zero:
        field.fail(f"must be longer than 0, got {text!r}")
        return None
    if _bounded(field, count * UNITS[unit].total_seconds()) is None:
        return None
    return int(count), unit


def _time_window(field: Field) -> Period | None:
    """Exactly one window: rolling (`isRolling: true`) or calendar-aligned (`calendar`)."""
    windows = field.items(required=True)
    if len(windows) != 1:
        if isinstance(field.value, list):
            field.fail(f"must hold exactly one time window, found {len(windows)}")
        return None
    window = windows[0]
    if window.mapping() is None:
        return None
    parsed = _count_unit(window["duration"], required=True)
    calendar = window["calendar"]
    rolling = window["isRolling"].boolean(default=calendar.missing)
    if parsed is None:
        return None
    count, unit = parsed
    if rolling:
        if not calendar.missing:
            calendar.fail("only applies to a window with isRolling: false")
            return None
        return Period(count * UNITS[unit])
    return _calendar_period(window, count, unit)


def _calendar_period(window: Field, count: int, unit: str) -> Period | None:
    """A calendar window is one day, week, month, quarter or year. `1m` is one minute
    (months are `M`), which no calendar aligns to: refused rather than read as a month.
    The budget is aligned on one unit, so `2w` is refused rather than read as a week."""
    duration = window["duration"]
    if unit not in CALENDAR_UNITS:
        hint = f" (m is minutes; months are M, as in {count}M)" if unit == "m" else " (hours)"
        duration.fail(f"a calendar window is counted in d, w, M, Q or Y, got "
                      f"{duration.value!r}{hint}")
        return None
    if count != 1:
        duration.fail(f"a calendar window is one day, week, month, quarter or year (1{unit}); "
                      f"Apollo cannot align a budget on {duration.value!r}")
        return None
    calendar = window["calendar"]
    if calendar.mapping(required=True) is None:
        return None
    start = _start_time(calendar["startTime"])
    timezone = time_zone(calendar["timeZone"], required=True)
    if start is None or timezone is None:
        return None
    return Period(count * UNITS[unit], rolling=False, calendar_unit=CALENDAR_UNITS[unit],
                  calendar_start=start, timezone=timezone)


def _start_time(field: Field) -> datetime | None:
    """`2022-01-01 12:00:00`: wall-clock time without a zone (the window's `timeZone` says
    where). YAML may already have read it as a timestamp or a date."""
    value = field.value
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            field.fail(f"expected a date and time such as '2022-01-01 12:00:00', got {value!r}")
            return None
    if not isinstance(value, datetime):
        field.text(required=True)  # records what is wrong with it
        return None
    if value.tzinfo is not None:
        field.fail("must be written without a time zone (calendar.timeZone gives it), "
                   f"got {field.value!s}")
        return None
    return value


# --- alerting ------------------------------------------------------------------------------


def _alerting(field: Field, bundle: Bundle) -> Alerting | None:
    """The burnrate conditions of the SLO's alert policies. Apollo's own page/ticket pair is
    off: an OpenSLO SLO alerts as its policies say (and not at all without one, as in Sloth)."""
    conditions: list[BurnRateCondition] = []
    ok = True
    for item in field.items():
        policy = _inline_or_ref(item, "alertPolicyRef", "AlertPolicy", bundle)
        if policy is None or policy["spec"].mapping(required=True) is None:
            ok = False
            continue
        spec = policy["spec"]
        for entry in spec["conditions"].items(required=True):
            condition = _inline_or_ref(entry, "conditionRef", "AlertCondition", bundle)
            parsed = _condition(condition) if condition is not None else None
            if parsed is None:
                ok = False
            else:
                conditions.append(parsed)
        for entry in spec["notificationTargets"].items():
            target = _inline_or_ref(entry, "targetRef", "AlertNotificationTarget", bundle)
            if target is None or target["spec"]["target"].text(required=True) is None:
                ok = False
    if not ok:
        return None
    return Alerting(page=AlertRule(disabled=True), ticket=AlertRule(disabled=True),
                    conditions=tuple(conditions))


def _inline_or_ref(item: Field, ref_key: str, kind: str, bundle: Bundle) -> Field | None:
    if item.mapping() is None:
        return None
    if item.has(ref_key):
        return bundle.resolve(item[ref_key], kind)
    if item["kind"].value == kind:
        return item if dns_label(item["metadata"]["name"]) else None
    item.fail(f"needs {ref_key} or an inline {kind} (kind: {kind}), got "
              f"{describe(item['kind'].value) if item.has('kind') else 'neither'}")
    return None


def _condition(obj: Field) -> BurnRateCondition | None:
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return None
    severity = spec["severity"].text(required=True, nonempty=True)
    condition = spec["condition"]
    if condition.mapping(required=True) is None:
        return None
    kind = condition["kind"].text() or "burnrate"
    if kind != "burnrate":
        condition["kind"].fail(f"only burnrate conditions are supported, got {kind!r}")
        return None
    op = comparison(condition["op"], required=False) or "gt"
    threshold = condition["threshold"].number(required=True)
    lookback = _shorthand(condition["lookbackWindow"], required=True)
    after = _shorthand(condition["alertAfter"], allow_zero=True) or timedelta(0)
    if severity is None or threshold is None or lookback is None:
        return None
    return BurnRateCondition(name=str(obj["metadata"]["name"].value), severity=severity,
                             threshold=threshold, lookback=lookback, alert_after=after, op=op)
