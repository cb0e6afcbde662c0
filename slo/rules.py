"""Prometheus recording and alerting rules for SLOs, as Sloth (`sloth generate`) writes them.

Per SLO, three rule groups in Sloth's order and names:

    sloth-slo-sli-recordings-<id>   slo:sli_error:ratio_rate<w> for every window of the alert
                                    window set (shortest first), then the period window,
                                    averaged from the shortest page window's rule
    sloth-slo-meta-recordings-<id>  objective, error budget, period, burn rates, budget left,
                                    sloth_slo_info
    sloth-slo-alerts-<id>           one page and one ticket multiwindow multi-burn-rate alert
                                    (the group is left out when neither is enabled)

Windows and burn factors are data (`slo.windows`): the window set is chosen by period, so a
window file for a period replaces the default set, as `--slo-period-windows-path` does; a
Pyrra SLO without one alerts on Pyrra's windows, scaled from its period.
The output is a plain `{"groups": [...]}` document; `render_rules` writes it as YAML, and
`prometheus_rule` wraps it in the `PrometheusRule` Sloth writes for a Kubernetes
`PrometheusServiceLevel`. Maps are written in the order Go's yaml.v2 sorts keys
(`go_key_order`), which is not plain string order: `a9` before `a10`, `_` before letters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import yaml

from slo.errors import SpecError
from slo.model import SLO, AlertRule, EventRatio, Threshold
from slo.promql import LABEL_NAME, go_fixed, go_float, label_filter, sli_error_query, window_str
from slo.windows import AlertWindows, BurnWindow, Severity, Speed, burn_factor, windows_of

__all__ = [
    "ALERT_GROUP",
    "META_GROUP",
    "SLI_GROUP",
    "default_alert_name",
    "go_key_order",
    "prometheus_rule",
    "prometheus_rules",
    "render_rules",
    "sli_record_name",
    "slo_rule_groups",
]

SLI_GROUP = "sloth-slo-sli-recordings-{id}"
META_GROUP = "sloth-slo-meta-recordings-{id}"
ALERT_GROUP = "sloth-slo-alerts-{id}"

# Sloth's label and metric conventions.
ID_LABEL, SERVICE_LABEL, SLO_LABEL = "sloth_id", "sloth_service", "sloth_slo"
WINDOW_LABEL, SEVERITY_LABEL = "sloth_window", "sloth_severity"
OBJECTIVE_RATIO = "slo:objective:ratio"
ERROR_BUDGET_RATIO = "slo:error_budget:ratio"
TIME_PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
PERIOD_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "sloth_slo_info"

# `sloth_mode` per spec format, as Sloth's CLI sets it; anything else is "cli-gen-prom".
MODES: Mapping[str, str] = {
    "prometheus/v1": "cli-gen-prom",
    "sloth.slok.dev/v1": "cli-gen-k8s",
    "openslo/v1alpha": "cli-gen-openslo",
    "openslo/v1": "cli-gen-openslo",
}

WindowsArg = AlertWindows | Mapping[timedelta, AlertWindows] | None


def sli_record_name(window: timedelta) -> str:
    """`slo:sli_error:ratio_rate5m`: the SLI error ratio recorded over `window`."""
    return f"slo:sli_error:ratio_rate{window_str(window)}"


def ignored_budgeting(slo: SLO) -> str | None:
    """The budgeting method the rules leave out, as Sloth does: Sloth reads an OpenSLO
    v1alpha `budgetingMethod` and writes error-ratio rules whatever it says (`report` and
    `backtest` still judge the slices). None when nothing is ignored."""
    if (slo.source.format == "openslo/v1alpha" and slo.budgeting != "occurrences"
            and not isinstance(slo.sli, Threshold)):
        return slo.budgeting
    return None


def unexportable(slo: SLO, *, period: timedelta | None = None) -> str | None:
    """Why no Prometheus rules can be written for this kind of SLO (None if they can).

    Lets `apollo slo rules slos/*.yaml` export what Prometheus can compute and say what it
    skipped, instead of failing on a ClickHouse or timeslice SLO in the same directory.
    """
    if isinstance(slo.sli, EventRatio):
        return "its SLI counts ClickHouse events, which Prometheus cannot query"
    if isinstance(slo.sli, Threshold) or (slo.budgeting != "occurrences"
                                          and ignored_budgeting(slo) is None):
        return "timeslice budgeting has no Sloth-style error-ratio form"
    if period is None and not slo.period.rolling:
        return "a calendar-aligned period has no rolling-window form"
    return None


def prometheus_rules(
    slos: Sequence[SLO],
    *,
    windows: WindowsArg = None,
    period: timedelta | None = None,
    disable_alerts: bool = False,
    disable_recordings: bool = False,
    extra_labels: Mapping[str, str] | None = None,
    spec_version: str = "apollo",
    mode: str | None = None,
) -> dict[str, Any]:
    """The `groups:` document Sloth would write for `slos`, as plain dicts and lists.

    `windows`: alert window sets by period (a single set counts for its own period); they
    replace the default sets (Google's 30d and 28d, and Pyrra's scaled windows for Pyrra
    SLOs). `period` overrides every SLO's period (Sloth's `--default-slo-period`).
    `disable_alerts` and `disable_recordings` leave out the alert groups, or the SLI and
    metadata recording groups (Sloth's flags of the same names). `extra_labels` join every
    SLO's labels and win over them (Sloth's `--extra-labels`). `spec_version` is the
    `sloth_version` label of `sloth_slo_info`; `mode` its `sloth_mode`, by default chosen from
    each SLO's spec format.
    Raises SpecError naming the SLO for SLIs Prometheus cannot compute.
    """
    extra = _windows_by_period(windows)
    seen: set[str] = set()
    groups: list[dict[str, Any]] = []
    for slo in slos:
        if slo.id in seen:
            raise SpecError(f"SLO id {slo.id!r} appears twice; rule group names must be unique",
                            path=slo.source.path, line=slo.source.line, field="name")
        seen.add(slo.id)
        groups.extend(slo_rule_groups(
            slo, windows=extra, period=period, disable_alerts=disable_alerts,
            disable_recordings=disable_recordings, extra_labels=extra_labels,
            spec_version=spec_version, mode=mode,
        ))
    return {"groups": groups}


def slo_rule_groups(
    slo: SLO,
    *,
    windows: WindowsArg = None,
    period: timedelta | None = None,
    disable_alerts: bool = False,
    disable_recordings: bool = False,
    extra_labels: Mapping[str, str] | None = None,
    spec_version: str = "apollo",
    mode: str | None = None,
) -> list[dict[str, Any]]:
    """The rule groups of one SLO, up to three (see `prometheus_rules` for the options).

    Everything is computed even when left out, so a disabled part still reports what is
    wrong with the spec, as Sloth (which disables after generating) does.
    """
    with _located(slo):
        length = _period_of(slo, period)
        alert_windows = windows_of(slo, _windows_by_period(windows), period=length)
        labels = {**slo.labels, **(extra_labels or {})}
        _check_label_names(labels, "labels")
        ctx = _Context(slo, length, alert_windows, labels)
        mode = mode or MODES.get(slo.source.format, "cli-gen-prom")
        groups = [
            {"name": SLI_GROUP.format(id=slo.id), "rules": ctx.sli_rules()},
            {"name": META_GROUP.format(id=slo.id), "rules": ctx.meta_rules(spec_version, mode)},
        ]
        if disable_recordings:
            groups = []
        alerts = ctx.alert_rules()
        if disable_alerts:
            alerts = []
        if alerts:
            groups.append({"name": ALERT_GROUP.format(id=slo.id), "rules": alerts})
        return groups


# --- one SLO -----------------------------------------------------------------------------------


class _Context:
    """What every rule of one SLO shares: ids, filter, labels, period and windows."""

    def __init__(self, slo: SLO, period: timedelta, windows: AlertWindows,
                 labels: Mapping[str, str]) -> None:
        self.slo, self.period, self.windows, self.labels = slo, period, windows, labels
        self.ids = {ID_LABEL: slo.id, SERVICE_LABEL: slo.service, SLO_LABEL: slo.name}
        self.filter = label_filter(self.ids)
        self.page_quick = _pick(windows, "page", "quick")

    def sli_rules(self) -> list[dict[str, Any]]:
        """One rate rule per alert window, then the period's, averaged from the shortest page
        window's rule (Sloth's optimisation: cheap, slightly less exact than a 30d rate)."""
        rules = [self._sli_rule(w, sli_error_query(self.slo.sli, w, slo_id=self.slo.id))
                 for w in self.windows.durations if w != self.period]
        short = self.page_quick.short
        if short == self.period:
            raise SpecError(f"the period ({window_str(self.period)}) cannot be the shortest "
                            "page window it is averaged from", field="period")
        source = f"{sli_record_name(short)}{self.filter}[{window_str(self.period)}]"
        averaged = (f"sum_over_time({source})\n/ ignoring ({WINDOW_LABEL})\n"
                    f"count_over_time({source})\n")
        rules.append(self._sli_rule(self.period, averaged))
        return rules

    def _sli_rule(self, window: timedelta, expr: str) -> dict[str, Any]:
        labels = {**self.ids, WINDOW_LABEL: window_str(window), **self.labels}
        return {"record": sli_record_name(window), "expr": expr, "labels": _sorted(labels)}

    def meta_rules(self, version: str, mode: str) -> list[dict[str, Any]]:
        """Objective, budget, period and burn-rate rules, with Sloth's exact expressions."""
        labels = _sorted({**self.ids, **self.labels})
        objective = go_float(self.slo.objective_ratio)
        f = self.filter

        def burn_rate(window: timedelta) -> str:
            return (f"{sli_record_name(window)}{f}\n"
                    f"/ on({ID_LABEL}, {SLO_LABEL}, {SERVICE_LABEL}) group_left\n"
                    f"{ERROR_BUDGET_RATIO}{f}\n")

        info = _sorted({**labels, "sloth_version": version, "sloth_mode": mode,
                        "sloth_spec": self.slo.source.format,
                        "sloth_objective": go_fixed(self.slo.objective)})
        days = self.period.total_seconds() / 86400
        exprs = [
            (OBJECTIVE_RATIO, f"vector({objective})"),
            (ERROR_BUDGET_RATIO, f"vector(1-{objective})"),
            (TIME_PERIOD_DAYS, f"vector({go_float(days)})"),
            (CURRENT_BURN_RATE, burn_rate(self.page_quick.short)),
            (PERIOD_BURN_RATE, burn_rate(self.period)),
            (PERIOD_BUDGET_REMAINING, f"1 - {PERIOD_BURN_RATE}{f}"),
        ]
        return [*({"record": r, "expr": e, "labels": dict(labels)} for r, e in exprs),
                {"record": INFO, "expr": "vector(1)", "labels": info}]

    def alert_rules(self) -> list[dict[str, Any]]:
        """Page then ticket: each ORs its quick and slow (short AND long window) conditions."""
        alerting = self.slo.alerting
        rules = []
        for severity, rule in (("page", alerting.page), ("ticket", alerting.ticket)):
            if rule.disabled:
                continue
            rules.append(self._alert(severity, rule))
        return rules

    def _alert(self, severity: Severity, rule: AlertRule) -> dict[str, Any]:
        alerting = self.slo.alerting
        budget = go_float(self.slo.error_budget_ratio)

        def over(window: timedelta, factor: float) -> str:
            return (f"max({sli_record_name(window)}{self.filter} > ({go_float(factor)} * "
                    f"{budget})) without ({WINDOW_LABEL})")

        pairs = []
        for speed in ("quick", "slow"):
            w = _pick(self.windows, severity, speed)
            factor = burn_factor(w, self.period)
            pairs.append(f"(\n    {over(w.short, factor)}\n    and\n    {over(w.long, factor)}\n)")
        labels = {SEVERITY_LABEL: severity, **alerting.labels, **rule.labels}
        _check_label_names(labels, f"alerting.{severity}.labels")
        annotations = {
            "title": f"({severity}) {{{{$labels.{SERVICE_LABEL}}}}} {{{{$labels.{SLO_LABEL}}}}} "
                     "SLO error budget burn rate is too fast.",
            "summary": f"{{{{$labels.{SERVICE_LABEL}}}}} {{{{$labels.{SLO_LABEL}}}}} SLO error "
                       "budget burn rate is over expected.",
            **alerting.annotations, **rule.annotations,
        }
        _check_label_names(annotations, f"alerting.{severity}.annotations")
        return {
            "alert": alerting.name or default_alert_name(self.slo),
            "expr": "\nor\n".join(pairs) + "\n",
            "labels": _sorted(labels),
            "annotations": _sorted(annotations),
        }


def default_alert_name(slo: SLO) -> str:
    """`ApiGatewayAvailabilityErrorBudgetBurn` for SLOs without an alert name (Sloth needs one)."""
    words = "".join(ch if ch.isalnum() else " " for ch in slo.id).split()
    name = "".join(w[:1].upper() + w[1:] for w in words) + "ErrorBudgetBurn"
    return name if name[:1].isalpha() else "SLO" + name


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def _located(slo: SLO) -> Iterator[None]:
    """Give every SpecError raised for `slo` its spec file, line and the SLO's name."""
    try:
        yield
    except SpecError as exc:
        if exc.path:
            raise
        reason = exc.reason if f"SLO {slo.id!r}" in exc.reason else f"SLO {slo.id!r}: {exc.reason}"
        raise SpecError(reason, path=slo.source.path, line=slo.source.line,
                        field=exc.field) from None


def _windows_by_period(windows: WindowsArg) -> dict[timedelta, AlertWindows]:
    if windows is None:
        return {}
    if isinstance(windows, AlertWindows):
        return {windows.period: windows}
    return dict(windows)


def _period_of(slo: SLO, override: timedelta | None) -> timedelta:
    """The rolling period the rules cover; calendar periods and timeslices have no Sloth form."""
    if slo.budgeting != "occurrences" and ignored_budgeting(slo) is None:
        raise SpecError(f"{slo.budgeting} budgeting cannot be written as Sloth's error-ratio "
                        "rules; only occurrences budgeting can", field="budgetingMethod")
    if override is not None:
        return override
    if not slo.period.rolling:
        raise SpecError(f"a calendar-aligned ({slo.period.calendar_unit or 'calendar'}) period "
                        "cannot be written as rolling-window rules; give a rolling period",
                        field="period")
    return slo.period.length


def _pick(windows: AlertWindows, severity: Severity, speed: Speed) -> BurnWindow:
    for w in windows.windows:
        if w.severity == severity and w.speed == speed:
            return w
    raise SpecError(f"the alert window set for {window_str(windows.period)} has no "
                    f"{severity} {speed} window", field="windows")


def _check_label_names(labels: Mapping[str, str], field: str) -> None:
    for name in labels:
        if not LABEL_NAME.fullmatch(name) or name == "__name__":
            raise SpecError(f"{name!r} is not a Prometheus label name", field=field)


def _sorted(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels in the order Go's yaml.v2 writes a map's keys (`go_key_order`)."""
    return {k: labels[k] for k in go_key_order(labels)}


def _go_key_less(a: str, b: str) -> bool:
    """yaml.v2's `keyList.Less` on two string keys (its sorter.go), rune by rune.

    At the first difference: two letters compare as runes; a letter sorts after anything
    else (`a_b` < `ab`); otherwise the runs of digits there compare as numbers (`a9` <
    `a10`), of equal value the shorter run first (`a1` < `a01`), with yaml.v2's own rule for
    a zero inside a number. A key that is a prefix of the other sorts first.
    """
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y:
            continue
        x_letter, y_letter = x.isalpha(), y.isalpha()
        if x_letter and y_letter:
            return x < y
        if x_letter or y_letter:
            return y_letter
        x_num = y_num = 0
        if x == "0" or y == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    x_num = y_num = 1
                    break
                j -= 1
        x_end, x_num = _digits_from(a, i, x_num)
        y_end, y_num = _digits_from(b, i, y_num)
        if x_num != y_num:
            return x_num < y_num
        if x_end != y_end:
            return x_end < y_end
        return x < y
    return len(a) < len(b)


def _digits_from(text: str, start: int, number: int) -> tuple[int, int]:
    """Where the run of decimal digits at `start` ends, and `number` extended by them."""
    end = start
    while end < len(text) and text[end].isdecimal():
        number = number * 10 + ord(text[end]) - ord("0")
        end += 1
    return end, number


def go_key_order(keys: Iterable[str]) -> list[str]:
    """String keys in the order Go's yaml.v2 encoder writes a map (Sloth's writer)."""
    return sorted(keys, key=functools.cmp_to_key(
        lambda a, b: -1 if _go_key_less(a, b) else (1 if _go_key_less(b, a) else 0)))


def _go_sorted(value: Any) -> Any:
    """Every mapping in `value` with its keys in yaml.v2's order (lists keep theirs)."""
    if isinstance(value, Mapping):
        return {k: _go_sorted(value[k]) for k in go_key_order(value)}
    if isinstance(value, list):
        return [_go_sorted(v) for v in value]
    return value


# --- Kubernetes --------------------------------------------------------------------------------

# Labels Sloth's writer sets on every object it generates, over the object's own.
PROMETHEUS_RULE_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/component": "SLO",
    "app.kubernetes.io/managed-by": "sloth",
}


def prometheus_rule(doc: Mapping[str, Any], *, name: str = "", namespace: str = "",
                    labels: Mapping[str, str] | None = None,
                    annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The prometheus-operator `PrometheusRule` Sloth writes for a `PrometheusServiceLevel`.

    `doc` is `prometheus_rules`' document; name, namespace, labels and annotations are the
    input object's (an empty name or namespace is left out, None labels or annotations too).
    Sloth builds it as an unstructured Kubernetes object, so every map, the rules' included,
    is written in key order (`expr` before `labels` before `record`).
    """
    metadata: dict[str, Any] = {}
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    metadata["labels"] = {**(labels or {}), **PROMETHEUS_RULE_LABELS}
    if name:
        metadata["name"] = name
    if namespace:
        metadata["namespace"] = namespace
    return _go_sorted({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": list(doc.get("groups", []))},
    })


# --- YAML --------------------------------------------------------------------------------------


class _RulesDumper(yaml.SafeDumper):
    """Writes scalars as Go's yaml.v2 (Sloth's encoder) does: multi-line expressions as `|`
    blocks, strings that would read as numbers or booleans double-quoted ("99.9")."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style: str | None = "|"
    elif dumper.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        style = '"'
    else:
        style = None
    return dumper.represent_scalar(_STR_TAG, value, style=style)


_STR_TAG = "tag:yaml.org,2002:str"


_RulesDumper.add_representer(str, _str)

HEADER = "# Code generated by Apollo Observatory (Sloth-compatible SLO rules).\n# DO NOT EDIT.\n\n"


def render_rules(doc: Mapping[str, Any], *, header: bool = True) -> str:
    """The rules document as YAML for Prometheus's `rule_files` (and `promtool check rules`);
    a `prometheus_rule` object as YAML for Kubernetes."""
    body = yaml.dump(dict(doc), Dumper=_RulesDumper, sort_keys=False, allow_unicode=True,
                     width=80, default_flow_style=False)
    return (HEADER if header else "") + body


DOCUMENT_SEPARATOR = "---\n"


def render_documents(texts: Iterable[str]) -> str:
    """Rendered documents as one multi-document YAML text, as Sloth writes one output
    document per input document. Prometheus reads only the first document of a rules file:
    a file of several is for Kubernetes (`kubectl apply`) or to be split."""
    return DOCUMENT_SEPARATOR.join(texts)
