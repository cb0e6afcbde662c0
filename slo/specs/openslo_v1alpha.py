"""OpenSLO `v1alpha` the way Sloth reads it: kind SLO, `ratioMetrics` good/total PromQL,
`target` as a ratio, at most one time window, counted in days.

Sloth turns each objective into its own SLO named `<name>-<index>`, objective target × 100,
with no alerts; its SLI is the good/total ratio (a `RequestRatio` with a good query, which
the rules exporter writes as Sloth's `1 - (good / total)` raw query).

The window rule is Sloth's at the reference commit: no `timeWindows` takes the default
period (Sloth's `--default-slo-period`, `SLOTH_DEFAULT_PERIOD` here, which `apollo slo
rules --period` overrides as Sloth's flag does); one window of `count` days (`unit: Day`,
any case) is that many days; more windows, or another unit, are refused. (Sloth's
`validate/bad/bad-openslo.yaml`, a 28-day window marked "BAD!", dates from when only 30
days were taken; Sloth has taken any day count since October 2021.)

Sloth never reads `budgetingMethod`. Apollo keeps it, so `report` and `backtest` compute
what the spec says (Timeslices: good slices of one minute, each good when its ratio
reaches the objective's `timeSliceTarget`); the rules exporter writes Sloth's rules
whatever the method, as Sloth does.

v1alpha's Service and AlertNotificationTarget objects hold no SLO; they are checked as
`oslo validate` checks them (an RFC 1123 name) and otherwise left alone.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Final

from slo.durations import bounded
from slo.model import (
    SLO,
    Alerting,
    AlertRule,
    Budgeting,
    Period,
    RequestRatio,
    Source,
    Timeslices,
)
from slo.specs._common import Field, expect_kind, needs_window, percent, promql
from slo.specs.openslo import MAX_DESCRIPTION, MAX_DISPLAY_NAME, dns_label
from slo.specs.sloth import SLOTH_DEFAULT_PERIOD

API_VERSION: Final = "openslo/v1alpha"
METHODS = ("Occurrences", "Timeslices")  # the two v1alpha names (oslo's v1alpha schema)
SLICE = timedelta(minutes=1)  # v1alpha has no slice length; Apollo's data is per minute
NAMED_ONLY = ("Service", "AlertNotificationTarget")  # v1alpha's other kinds (oslo)


def load(obj: Field) -> list[SLO]:
    if obj["kind"].value in NAMED_ONLY:
        _named_only(obj)
        return []
    if not expect_kind(obj, "SLO", f"(Sloth reads only SLOs of {API_VERSION})"):
        return []
    name = obj["metadata"]["name"].name_text()
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return []
    service = spec["service"].name_text()
    description = spec["description"].text() or ""
    method = spec["budgetingMethod"].choice(METHODS) or "Occurrences"
    period = _window(spec["timeWindows"])
    objectives = spec["objectives"].items(required=True)
    if isinstance(spec["objectives"].value, list) and not objectives:
        spec["objectives"].fail("at least one objective is required")
    out = []
    for index, objective in enumerate(objectives):
        sli = _sli(objective)
        target = _target(objective["target"])
        budgeting = _budgeting(objective, method)
        if (name is None or service is None or period is None or sli is None or target is None
                or budgeting is None):
            continue
        line = obj.line if len(objectives) == 1 else objective.line
        out.append(SLO(
            service=service, name=f"{name}-{index}", objective=target, sli=sli, period=period,
            budgeting=budgeting[0], timeslices=budgeting[1], description=description,
            alerting=Alerting(page=AlertRule(disabled=True), ticket=AlertRule(disabled=True)),
            source=Source(obj.report.path, line, API_VERSION),
        ))
    return out


def _named_only(obj: Field) -> None:
    """A Service or AlertNotificationTarget, which Sloth never reads and `oslo validate`
    checks: an RFC 1123 name, a displayName of at most 63 characters, a description of at
    most 1,050. It holds no SLO."""
    metadata = obj["metadata"]
    if metadata.mapping(required=True) is None:
        return
    dns_label(metadata["name"])
    display = metadata["displayName"]
    if isinstance(display.value, str) and len(display.value) > MAX_DISPLAY_NAME:
        display.fail(f"at most {MAX_DISPLAY_NAME} characters, got {len(display.value)}")
    description = obj["spec"]["description"]
    if isinstance(description.value, str) and len(description.value) > MAX_DESCRIPTION:
        description.fail(f"at most {MAX_DESCRIPTION:,} characters, got "
                         f"{len(description.value):,}")


def _window(field: Field) -> Period | None:
    """Sloth's rule: no window is the default period; one window is `count` days."""
    if field.missing:
        return Period(SLOTH_DEFAULT_PERIOD)
    windows = field.items()
    if not windows:
        if isinstance(field.value, list):  # an empty list: Sloth takes the default too
            return Period(SLOTH_DEFAULT_PERIOD)
        return None
    if len(windows) > 1:
        windows[1].fail("Sloth supports only 1 time window")
        return None
    window = windows[0]
    if window.mapping() is None:
        return None
    unit = window["unit"].text(required=True)
    count = window["count"]
    if unit is not None and unit.lower() != "day":
        window["unit"].fail(f"Sloth supports only day based time windows, got {unit!r}")
        return None
    if count.missing or isinstance(count.value, bool) or not isinstance(count.value, int):
        count.fail("must be a whole number of days" if not count.missing else "is required")
        return None
    if count.value <= 0:
        count.fail(f"must be 1 or more days, got {count.value} (Sloth: time window is "
                   "required)")
        return None
    try:
        days = bounded(count.value * 86_400.0 if count.value < 2**64 else math.inf, count.value)
    except ValueError as exc:
        count.fail(str(exc))
        return None
    return Period(days) if unit else None


def _budgeting(objective: Field, method: str) -> tuple[Budgeting, Timeslices | None] | None:
    """Occurrences, or Timeslices of one minute judged against `timeSliceTarget` (a ratio,
    required then: without it no slice can be judged)."""
    if method == "Occurrences":
        return "occurrences", None
    field = objective["timeSliceTarget"]
    target = field.number()
    if field.missing:
        field.fail("is required with budgetingMethod: Timeslices (the share of good events "
                   "that makes a slice good, e.g. 0.95)")
        return None
    if target is None:
        return None
    if not 0 < target <= 1:
        field.fail(f"must be a ratio in (0, 1], got {percent(target)}")
        return None
    return "timeslices", Timeslices(window=SLICE, slice_target=target)


def _sli(objective: Field) -> RequestRatio | None:
    ratio = objective["ratioMetrics"]
    if ratio.mapping() is None:
        if ratio.missing:
            ratio.fail("is required: Sloth reads ratioMetrics objectives only")
        return None
    good, total = _query(ratio["good"]), _query(ratio["total"])
    if good is None or total is None:
        return None
    return RequestRatio(good_query=good, total_query=total)


def _query(field: Field) -> str | None:
    if field.mapping(required=True) is None:
        return None
    source = field["source"].text(required=True)
    if source is not None and source not in ("prometheus", "sloth"):
        field["source"].fail(f"must be prometheus or sloth, got {source!r}")
    query_type = field["queryType"].text(required=True)
    if query_type is not None and query_type != "promql":
        field["queryType"].fail(f"must be promql, got {query_type!r}")
    query = promql(field["query"], needs_window(field["query"],
                                                field["query"].text(required=True, nonempty=True)))
    if source not in ("prometheus", "sloth") or query_type != "promql":
        return None
    return query


def _target(field: Field) -> float | None:
    """A ratio; Sloth keeps target × 100 as the objective, which must be in (0, 100]."""
    value = field.number(required=True)
    if value is None:
        return None
    objective = value * 100
    if not 0 < objective <= 100:
        field.fail(f"must be a ratio in (0, 1] (0.999 for 99.9%), got {percent(value)}")
        return None
    return objective
