"""Pyrra `pyrra.dev/v1alpha1` `ServiceLevelObjective`: one SLO per object.

Pyrra has no service field: the service is the object's namespace (Pyrra's own grouping,
and with the name the object's identity in Kubernetes), `default` when it has none.
Indicators become Sloth-style queries with a `{{.window}}` placeholder, Pyrra's formulas:
ratio and bool_gauge -> RequestRatio; latency -> LatencyThreshold when the success
selector is the total's histogram with an `le` bucket, its value kept as written (`le="1"`
stays "1", a Go client's bucket), else a RequestRatio on the two selectors; latencyNative
-> RequestRatio with `histogram_fraction`. Grouping becomes `sum by (...)`. Alerts: Pyrra's
critical/warning pair maps onto page/ticket, on Pyrra's own windows scaled from the SLO's
window (`slo.windows.pyrra_windows`, chosen by format).
Like Pyrra (Kubernetes decoding) unknown keys are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from slo.model import SLI, SLO, Alerting, AlertRule, LatencyThreshold, Period, RequestRatio, Source
from slo.promql import Selector, bucket_bound
from slo.specs._common import (
    Field,
    exactly_one,
    expect_kind,
    finite,
    is_label_name,
    metadata_label,
    percent,
    prometheus_duration,
    promql,
    selector,
    template_actions,
    whole_minutes,
)

API_VERSION: Final = "pyrra.dev/v1alpha1"
DEFAULT_NAMESPACE = "default"
DEFAULT_ALERT_NAME = "ErrorBudgetBurn"  # Pyrra's default
PROPAGATED_PREFIX = "pyrra.dev/"  # metadata labels Pyrra copies onto its rules
INDICATORS = ("ratio", "latency", "latencyNative", "bool_gauge")


def load(obj: Field) -> list[SLO]:
    if not expect_kind(obj, "ServiceLevelObjective", f"for {API_VERSION}"):
        return []
    metadata = obj["metadata"]
    name = metadata["name"].name_text()
    service = metadata["namespace"].name_text(required=False) or DEFAULT_NAMESPACE
    labels = _labels(metadata["labels"])
    spec = obj["spec"]
    if spec.mapping(required=True) is None:
        return []
    objective = _target(spec["target"])
    window = whole_minutes(spec["window"], prometheus_duration(spec["window"], required=True),
                           "a window")
    description = spec["description"].text() or ""
    sli = _indicator(spec["indicator"])
    alerting = _alerting(spec["alerting"])
    if name is None or objective is None or window is None or sli is None or alerting is None:
        return []
    return [SLO(
        service=service, name=name, objective=objective, sli=sli, period=Period(window),
        description=description, labels=labels, alerting=alerting,
        source=Source(obj.report.path, obj.line, API_VERSION),
    )]


def _labels(field: Field) -> dict[str, str]:
    """The `pyrra.dev/` metadata labels, which Pyrra copies onto its rules, prefix dropped."""
    out: dict[str, str] = {}
    for key, child in field.entries():
        if not key.startswith(PROPAGATED_PREFIX):
            continue
        name = metadata_label(child, key[len(PROPAGATED_PREFIX):])
        value = child.text(required=True)
        if name is not None and value is not None:
            out[name] = value
    return out


def _target(field: Field) -> float | None:
    """A string percent ("99.5"; a plain number is taken too). Pyrra accepts 0-100; Apollo
    also refuses 0, an objective nothing can miss, and NaN or infinities."""
    if isinstance(field.value, int | float) and not isinstance(field.value, bool):
        value = field.number()
    else:
        text = field.text(required=True, nonempty=True)
        try:
            value = finite(field, text) if text is not None else None
        except ValueError:
            field.fail(f"must be a percent such as '99.5', got {text!r}")
            return None
    if value is not None and not 0 < value <= 100:
        field.fail(f"must be a percent in (0, 100], got {percent(value)}")
        return None
    return value


def _indicator(field: Field) -> SLI | None:
    if field.mapping(required=True) is None:
        return None
    kind = exactly_one(field, INDICATORS, what="indicator")
    if kind is None or field[kind].mapping() is None:
        return None
    return _READERS[kind](field[kind])


def _selector(field: Field) -> Selector | None:
    """Pyrra metrics are plain vector selectors (it parses them as such)."""
    text = template_actions(field["metric"], field["metric"].text(required=True, nonempty=True))
    if text is None:
        return None
    parsed = selector(field["metric"], text, example='http_requests_total{job="api"}')
    # The selector reader says where a selector goes wrong; the real parser is the net.
    return parsed if parsed is not None and promql(field["metric"], text) else None


def _sum(field: Field, inner: str) -> str:
    groups = []
    for group in field["grouping"].items():
        name = group.text(required=True)
        if name is not None and not is_label_name(name):
            group.fail(f"{name!r} is not a label name to group by")
        elif name is not None:
            groups.append(name)
    return f"sum by ({', '.join(groups)}) ({inner})" if groups else f"sum({inner})"


def _rate(metric: Selector) -> str:
    return f"rate({metric}[{{{{.window}}}}])"


def _ratio(field: Field) -> SLI | None:
    errors, total = _selector(field["errors"]), _selector(field["total"])
    if errors is None or total is None:
        return None
    return RequestRatio(total_query=_sum(field, _rate(total)),
                        error_query=_sum(field, _rate(errors)))


def _latency(field: Field) -> SLI | None:
    success, total = _selector(field["success"]), _selector(field["total"])
    if success is None or total is None:
        return None
    le = [m for m in success.matchers if m.label == "le"]
    if len(le) != 1 or le[0].op != "=":
        field["success"]["metric"].fail('must select one bucket with le="<seconds>"')
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        field["success"]["metric"].fail(f"le must be a number of seconds, got {le[0].value!r}")
        return None
    base = Selector(success.name.removesuffix("_bucket"),
                    tuple(m for m in success.matchers if m.label != "le"))
    if (success.name.endswith("_bucket") and total.name == f"{base.name}_count"
            and set(base.matchers) == set(total.matchers) and not field.has("grouping")
            and math.isfinite(threshold) and threshold > 0):
        written = None if le[0].value == bucket_bound(threshold) else le[0].value
        return LatencyThreshold(metric=str(base), threshold_s=threshold, le=written)
    return RequestRatio(total_query=_sum(field, _rate(total)),
                        good_query=_sum(field, _rate(success)))


def _latency_native(field: Field) -> SLI | None:
    total = _selector(field["total"])
    latency = prometheus_duration(field["latency"], required=True)
    if total is None or latency is None:
        return None
    rates = _sum(field, _rate(total))
    seconds = repr(latency.total_seconds())
    return RequestRatio(
        total_query=f"histogram_count({rates})",
        good_query=f"histogram_fraction(0, {seconds}, {rates}) * histogram_count({rates})",
    )


def _bool_gauge(field: Field) -> SLI | None:
    metric = _selector(field)
    if metric is None:
        return None
    over = f"{metric}[{{{{.window}}}}]"
    return RequestRatio(total_query=_sum(field, f"count_over_time({over})"),
                        good_query=_sum(field, f"sum_over_time({over})"))


_READERS: dict[str, Callable[[Field], SLI | None]] = {
    "ratio": _ratio, "latency": _latency, "latencyNative": _latency_native,
    "bool_gauge": _bool_gauge,
}


def _alerting(field: Field) -> Alerting | None:
    if not field.missing and field.mapping() is None:
        return None
    disabled = field["disabled"].boolean() or not field["burnrates"].boolean(default=True)
    name = field["name"].text() or DEFAULT_ALERT_NAME
    return Alerting(
        name=name,
        page=AlertRule(disabled=disabled, labels={"severity": "critical"}),
        ticket=AlertRule(disabled=disabled, labels={"severity": "warning"}),
    )
