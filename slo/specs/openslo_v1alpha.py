"""OpenSLO `v1alpha` the way Sloth reads it: kind SLO, `ratioMetrics` good/total PromQL,
`target` as a ratio, one time window of 30 days.

Sloth turns each objective into its own SLO named `<name>-<index>`, objective target × 100,
with no alerts; its SLI is the good/total ratio (a `RequestRatio` with a good query, which
the rules exporter writes as Sloth's `1 - (good / total)` raw query).

The window rule is the one Sloth's OpenSLO loader enforced when its
`validate-bad/bad-openslo.yaml` fixture (`count: 28`) was written: exactly one window, in
days, of 30 days ("Sloth only supports 30 day based time windows"). Later Sloth versions
take any day count, so that fixture only fails with the older rule, reproduced here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from slo.model import SLO, Alerting, AlertRule, Period, RequestRatio, Source
from slo.specs._common import Field, expect_kind, needs_window, percent, promql

API_VERSION: Final = "openslo/v1alpha"
SLOTH_WINDOW_DAYS = 30


def load(obj: Field) -> list[SLO]:
    if not expect_kind(obj, "SLO", f"(Sloth reads only SLOs of {API_VERSION})"):
        return []
    name = obj["metadata"]["name"].name_text()
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return []
    service = spec["service"].name_text()
    description = spec["description"].text() or ""
    method = spec["budgetingMethod"].text()
    if method not in (None, "Occurrences"):
        spec["budgetingMethod"].fail(f"Sloth computes Occurrences only, got {method!r}")
    period = _window(spec["timeWindows"])
    objectives = spec["objectives"].items(required=True)
    if isinstance(spec["objectives"].value, list) and not objectives:
        spec["objectives"].fail("at least one objective is required")
    out = []
    for index, objective in enumerate(objectives):
        sli = _sli(objective)
        target = _target(objective["target"])
        if name is None or service is None or period is None or sli is None or target is None:
            continue
        line = obj.line if len(objectives) == 1 else objective.line
        out.append(SLO(
            service=service, name=f"{name}-{index}", objective=target, sli=sli, period=period,
            description=description,
            alerting=Alerting(page=AlertRule(disabled=True), ticket=AlertRule(disabled=True)),
            source=Source(obj.report.path, line, API_VERSION),
        ))
    return out


def _window(field: Field) -> Period | None:
    windows = field.items(required=True)
    if not windows:
        if isinstance(field.value, list):
            field.fail("one time window is required")
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
    if count.value != SLOTH_WINDOW_DAYS:
        count.fail(f"Sloth supports only a {SLOTH_WINDOW_DAYS} day time window for "
                   f"{API_VERSION}, got {count.value}")
        return None
    return Period(timedelta(days=SLOTH_WINDOW_DAYS)) if unit else None


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
