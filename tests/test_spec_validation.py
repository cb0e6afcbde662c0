"""Validation that promises what later steps need: durations bounded, numbers finite, and
whatever `load_slos` (`apollo slo validate`) accepts, rule export, report and backtest
accept too, with every refusal at the field's own line."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from slo.durations import MAX_DURATION, format_duration, parse_duration
from slo.errors import InputError, InputErrors, SpecError, SpecErrors
from slo.specs import load_slos

# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("99999999999d", "'99999999999d' is longer than 10 years", id="overflow"),
    pytest.param("3651d", "'3651d' is longer than 10 years", id="just over 10 years"),
    pytest.param("11y", "'11y' is longer than 10 years", id="years"),
    pytest.param("9" * 500 + "s", "is longer than 10 years", id="500 digits"),
    pytest.param(math.inf, "inf is longer than 10 years", id="infinity"),
    pytest.param(-math.inf, "-inf is longer than 10 years", id="minus infinity"),
    pytest.param(math.nan, "expected a duration such as '30s' or '5m', got nan", id="NaN"),
    pytest.param(10 ** 400, "a number that large is longer than 10 years", id="a huge int"),
    pytest.param(timedelta(days=4000), "is longer than 10 years", id="a timedelta"),
    pytest.param(".inf", "expected a duration such as '30s', '5m' or '1h30m', got '.inf'",
                 id="the text .inf"),
])
def test_durations_past_10_years_or_not_numbers_are_refused_naming_the_text(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert message in str(info.value)
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("3650d", MAX_DURATION, id="10 years of days"),
    pytest.param("10y", MAX_DURATION, id="10 years"),
    pytest.param("1h30m", timedelta(minutes=90), id="hours and minutes"),
    pytest.param(90, timedelta(seconds=90), id="seconds"),
])
def test_durations_up_to_10_years_are_read(text, expected):
    assert parse_duration(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.smhdwy ", max_size=30)
       | st.floats() | st.integers() | st.timedeltas())
def test_a_duration_is_read_within_10_years_or_refused_with_a_value_error(text):
    try:
        value = parse_duration(text)
    except ValueError:
        return
    assert abs(value) <= MAX_DURATION


# --- no NaN, no infinity, in any format --------------------------------------------------------

# Each format with its objective at VALUE: (text, line of VALUE, field, a valid VALUE).
FORMATS = {
    "apollo/v1": ("""\
apiVersion: apollo/v1
kind: SLO
service: api
name: availability
objective: VALUE
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total[{{.window}}]))
""", 5, "objective", "99.9"),
    "sloth prometheus/v1": ("""\
version: prometheus/v1
service: api
slos:
  - name: availability
    objective: VALUE
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting: {name: ApiAvailability}
""", 5, "slos[0].objective", "99.9"),
    "sloth CRD": ("""\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: api}
spec:
  service: api
  slos:
    - name: availability
      objective: VALUE
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total[{{.window}}]))
      alerting: {name: ApiAvailability}
""", 8, "spec.slos[0].objective", "99.9"),
    "openslo/v1": ("""\
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: api
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: ratio}
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[5m]))'}}}
  objectives:
    - target: VALUE
""", 15, "spec.objectives[0].target", "0.999"),
    "openslo/v1 targetPercent": ("""\
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: api
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: ratio}
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[5m]))'}}}
  objectives:
    - targetPercent: VALUE
""", 15, "spec.objectives[0].targetPercent", "99.9"),
    "openslo/v1alpha": ("""\
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: availability}
spec:
  service: api
  timeWindows: [{count: 30, unit: Day}]
  objectives:
    - ratioMetrics:
        good: {source: prometheus, queryType: promql, query: 'sum(rate(ok[{{.window}}]))'}
        total: {source: prometheus, queryType: promql, query: 'sum(rate(all[{{.window}}]))'}
      target: VALUE
""", 11, "spec.objectives[0].target", "0.999"),
    "pyrra": ("""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: availability, namespace: api}
spec:
  target: VALUE
  window: 30d
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{code=~"5.."}'}
      total: {metric: http_requests_total}
""", 5, "spec.target", '"99.9"'),
}
NOT_FINITE = [".nan", ".NaN", ".inf", "-.inf", "1.0e+999", "9" * 400]
PYRRA_NOT_FINITE = ['"NaN"', '"Inf"', '"-Infinity"', '"1e999"', ".nan", ".inf"]


def spec(fmt: str, value: str) -> str:
    return FORMATS[fmt][0].replace("VALUE", value)


def the_errors(text: str, path: str = "slos/x.yaml") -> list[SpecError]:
    with pytest.raises(SpecErrors) as info:
        load_slos(text, path=path)
    return info.value.errors


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_loads_with_a_finite_objective(fmt):
    (slo,) = load_slos(spec(fmt, FORMATS[fmt][3]), path="slos/x.yaml")
    assert slo.objective == pytest.approx(99.9)


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "pyrra"])
def test_a_nan_or_infinite_objective_is_refused_at_its_line_in_every_format(fmt, value):
    _, line, field, _ = FORMATS[fmt]
    (error,) = the_errors(spec(fmt, value))
    assert (error.line, error.field) == (line, field)
    assert error.reason.startswith("must be a finite number, got ")


@pytest.mark.parametrize("value", PYRRA_NOT_FINITE)
def test_a_nan_or_infinite_pyrra_target_is_refused_at_its_line(value):
    (error,) = the_errors(spec("pyrra", value))
    assert (error.line, error.field) == (5, "spec.target")
    assert error.reason.startswith("must be a finite number, got ")


THRESHOLD = """\
apiVersion: apollo/v1
kind: SLO
service: api
name: fast
objective: 99
budgeting: {method: timeslices, slice: 1m}
sli:
  threshold:
    query: histogram_quantile(0.95, sum by (le) (rate(x_bucket[{{.window}}])))
    op: lte
    value: VALUE
"""
LATENCY = """\
apiVersion: apollo/v1
kind: SLO
service: api
name: latency
objective: 99
sli:
  latency_threshold:
    histogram: http_request_duration_seconds{job="api"}
    threshold: VALUE
"""
EVENTS = """\
apiVersion: apollo/v1
kind: SLO
service: shop
name: purchases
objective: 99
sli:
  event_ratio: {table: events, event_types: [purchase], field: response_time, op: lte,
                value: VALUE}
"""
SLICE_TARGET = FORMATS["apollo/v1"][0].replace("objective: VALUE", "objective: 99") + (
    "budgeting: {method: timeslices, slice: 5m, slice_target: VALUE}\n")
OPENSLO_THRESHOLD = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: fast}
spec:
  service: api
  budgetingMethod: Timeslices
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    metadata: {name: p95}
    spec:
      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: 'p95_seconds'}}}
  objectives:
    - {op: lte, value: VALUE, target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 1m}
"""
OPENSLO_CONDITION = FORMATS["openslo/v1"][0].replace("target: VALUE", "target: 0.99") + """\
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: burn}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec:
              severity: page
              condition: {kind: burnrate, threshold: VALUE, lookbackWindow: 1h}
"""


@pytest.mark.parametrize(("text", "line", "field"), [
    pytest.param(THRESHOLD, 11, "sli.threshold.value", id="apollo threshold value"),
    pytest.param(LATENCY, 9, "sli.latency_threshold.threshold", id="apollo latency threshold"),
    pytest.param(EVENTS, 8, "sli.event_ratio.value", id="apollo event value"),
    pytest.param(SLICE_TARGET, 10, "budgeting.slice_target", id="apollo slice target"),
    pytest.param(OPENSLO_THRESHOLD, 13, "spec.objectives[0].value", id="openslo op value"),
    pytest.param(OPENSLO_CONDITION, 25,
                 "spec.alertPolicies[0].spec.conditions[0].spec.condition.threshold",
                 id="openslo burn-rate threshold"),
])
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_no_number_of_a_spec_may_be_nan_or_infinite(text, line, field, value):
    errors = the_errors(text.replace("VALUE", value))
    assert [(e.line, e.field) for e in errors] == [(line, field)]
    assert errors[0].reason.startswith("must be a finite number")


@pytest.mark.parametrize(("text", "value"), [
    pytest.param(THRESHOLD, "0.012", id="apollo threshold value"),
    pytest.param(LATENCY, "0.25", id="apollo latency threshold"),
    pytest.param(EVENTS, "250", id="apollo event value"),
    pytest.param(SLICE_TARGET, "95", id="apollo slice target"),
    pytest.param(OPENSLO_THRESHOLD, "0.3", id="openslo op value"),
    pytest.param(OPENSLO_CONDITION, "14.4", id="openslo burn-rate threshold"),
])
def test_the_same_specs_load_with_finite_numbers(text, value):
    assert load_slos(text.replace("VALUE", value), path="slos/x.yaml")


# --- validate promises what rules, report and backtest need ----------------------------------

APOLLO = FORMATS["apollo/v1"][0].replace("VALUE", "99.9")
SLOTH = FORMATS["sloth prometheus/v1"][0].replace("VALUE", "99.9")
OPENSLO = FORMATS["openslo/v1"][0].replace("VALUE", "0.999")
PYRRA = FORMATS["pyrra"][0].replace("VALUE", '"99.9"')
OPENSLO_LABELS = OPENSLO.replace("metadata: {name: availability}",
                                 "metadata: {name: availability, labels: LABELS}")
OPENSLO_COUNTER = OPENSLO.replace("ratioMetric:\n", "ratioMetric:\n        counter: true\n")
OPENSLO_CALENDAR = OPENSLO.replace(
    "timeWindow: [{duration: 30d, isRolling: true}]",
    "timeWindow: [{duration: DURATION, calendar: {startTime: '2024-01-01 00:00:00', "
    "timeZone: ZONE}}]")
PYRRA_LATENCY = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: latency, namespace: api}
spec:
  target: "99"
  window: 30d
  indicator:
    latency:
      success: {metric: 'http_request_duration_seconds_bucket{le="LE"}'}
      total: {metric: http_request_duration_seconds_count}
"""


def apollo_with(**fields: str) -> str:
    text = APOLLO
    for key, value in fields.items():
        if f"\n{key}:" in text:
            text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line
                             for line in text.splitlines()) + "\n"
        else:
            text += f"{key}: {value}\n"
    return text


def with_query(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


# Specs `validate` refuses, each at the line and field of the problem: before, each passed
# validate and failed in rules, report or backtest (at line 1, or with a traceback).
REFUSED = [
    pytest.param(with_query(OPENSLO, "sum(rate(ok[5m]))", "sum(rate(ok[{{.Window}}]))"), 12,
                 "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
                 "unknown template action '{{.Window}}'", id="openslo: {{.Window}}"),
    pytest.param(with_query(OPENSLO, "sum(rate(all[5m]))", "sum(rate(all[{{ window }}]))"), 13,
                 "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
                 "unknown template action '{{ window }}'", id="openslo: {{ window }}"),
    pytest.param(with_query(OPENSLO, "sum(rate(ok[5m]))", "sum(rate(ok[{{.window]))"), 12,
                 "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
                 "unknown template action '{{.window]))'", id="openslo: an unclosed {{"),
    pytest.param(with_query(SLOTH, "total_query: sum(rate(http_requests_total[{{.window}}]))",
                            "total_query: sum(rate(http_requests_total[{{.window}}])) "
                            "* {{.factor}}"), 9, "slos[0].sli.events.total_query",
                 "unknown template action '{{.factor}}'", id="sloth: a second action"),
    pytest.param(with_query(THRESHOLD.replace("VALUE", "0.012"), "[{{.window}}]", "[{{.slice}}]"),
                 9, "sli.threshold.query", "unknown template action '{{.slice}}'",
                 id="apollo: a threshold query's action"),
    pytest.param(with_query(PYRRA, "{metric: http_requests_total}",
                            "{metric: 'http_requests_total{path=\"{{x}}\"}'}"), 10,
                 "spec.indicator.ratio.total.metric", "unknown template action '{{x}}'",
                 id="pyrra: {{ in a label value"),
    pytest.param(OPENSLO_COUNTER, 13,
                 "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
                 "with counter: true", id="openslo: counter: true with rate queries"),
    pytest.param(OPENSLO_COUNTER.replace("'sum(rate(all[5m]))'", "'sum by (code) (all)'")
                 .replace("'sum(rate(ok[5m]))'", "ok"), 14,
                 "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
                 "with counter: true", id="openslo: counter: true with sum by"),
    pytest.param(OPENSLO_LABELS.replace("LABELS", "{__name__: x}"), 3, "metadata.labels.__name__",
                 "'__name__' cannot be a Prometheus label name", id="openslo: a __name__ label"),
    pytest.param(OPENSLO_LABELS.replace("LABELS", '{"": x}'), 3, "metadata.labels.",
                 "'' cannot be a Prometheus label name", id="openslo: an empty label name"),
    pytest.param(PYRRA.replace("namespace: api}", "namespace: api, labels: "
                               "{pyrra.dev/__name__: x}}"), 3,
                 "metadata.labels.pyrra.dev/__name__", "'__name__' cannot be a Prometheus label",
                 id="pyrra: a __name__ label"),
    pytest.param(PYRRA.replace("total: {metric: http_requests_total}",
                               "total: {metric: http_requests_total}\n      grouping: [a-b]"),
                 11, "spec.indicator.ratio.grouping[0]", "'a-b' is not a label name",
                 id="pyrra: grouping by a non-label"),
    pytest.param(apollo_with(labels="{__name__: x}"), 10, "labels.__name__",
                 "'__name__' is not a valid label name", id="apollo: a __name__ label"),
    pytest.param(apollo_with(budgeting="{method: ratio_timeslices, slice: 7s}"), 10,
                 "budgeting.slice", "a slice must be a whole number of minutes",
                 id="apollo: slice: 7s"),
    pytest.param(apollo_with(budgeting="{method: ratio_timeslices, slice: 60d}"), 10,
                 "budgeting.slice", "a slice (60d) cannot be longer than the period (30d)",
                 id="apollo: a slice longer than the period"),
    pytest.param(OPENSLO_THRESHOLD.replace("VALUE", "0.3").replace("timeSliceWindow: 1m",
                                                                    "timeSliceWindow: 29d"),
                 13, "spec.objectives[0].timeSliceWindow", "cannot be longer than the time "
                 "window", id="openslo: a slice longer than the time window"),
    pytest.param(apollo_with(period="90s"), 10, "period",
                 "a period must be a whole number of minutes", id="apollo: period: 90s"),
    pytest.param(PYRRA.replace("window: 30d", "window: 1h30s"), 6, "spec.window",
                 "a window must be a whole number of minutes", id="pyrra: window: 1h30s"),
    pytest.param(apollo_with(period="99999999999d"), 10, "period",
                 "'99999999999d' is longer than 10 years", id="apollo: period: 99999999999d"),
    pytest.param(apollo_with(period="{calendar: month, timezone: Mars/Olympus}"), 10,
                 "period.timezone", "unknown time zone 'Mars/Olympus'",
                 id="apollo: an unknown time zone"),
    pytest.param(OPENSLO_CALENDAR.replace("DURATION", "1M").replace("ZONE", "Europe/Pariss"), 7,
                 "spec.timeWindow[0].calendar.timeZone", "unknown time zone 'Europe/Pariss'",
                 id="openslo: an unknown time zone"),
    pytest.param(OPENSLO_CALENDAR.replace("DURATION", "2w").replace("ZONE", "UTC"), 7,
                 "spec.timeWindow[0].duration", "a calendar window is one day, week, month",
                 id="openslo: a calendar window of 2 weeks"),
]

# Specs `validate` accepts that looked risky: rules, report and backtest accept them too
# (rules may skip one that Prometheus rules cannot express, saying why: not an error).
ACCEPTED = [
    pytest.param(APOLLO, id="apollo"),
    pytest.param(SLOTH, id="sloth"),
    pytest.param(PYRRA, id="pyrra"),
    pytest.param(with_query(OPENSLO_COUNTER, "'sum(rate(ok[5m]))'", "'sum(ok_total)'").replace(
        "'sum(rate(all[5m]))'", "'all_total{job=\"api\"}'"),
                 id="openslo: counter: true with sum(selector) and a selector"),
    pytest.param(OPENSLO_LABELS.replace("LABELS", "{team: [a, b], tier: null, app.k8s.io/x: y}"),
                 id="openslo: list, null and dotted labels"),
    pytest.param(OPENSLO_CALENDAR.replace("DURATION", "1M").replace("ZONE", "America/New_York"),
                 id="openslo: a calendar month in New York"),
    pytest.param(PYRRA_LATENCY.replace("LE", "0.25"), id="pyrra: latency at 0.25 s"),
    pytest.param(PYRRA_LATENCY.replace("LE", "+Inf"), id="pyrra: latency at le=+Inf"),
    pytest.param(apollo_with(period="{calendar: month, timezone: Europe/Paris}"),
                 id="apollo: a calendar month in Paris"),
    pytest.param(apollo_with(budgeting="{method: timeslices, slice: 5m, slice_target: 95}"),
                 id="apollo: 5-minute timeslices"),
    pytest.param(EVENTS.replace("VALUE", "250"), id="apollo: ClickHouse events"),
    pytest.param(THRESHOLD.replace("VALUE", "0.012"), id="apollo: a threshold per slice"),
    pytest.param(OPENSLO_THRESHOLD.replace("VALUE", "0.3"), id="openslo: a threshold metric"),
]


@pytest.fixture(scope="module")
def minutes_csv(tmp_path_factory):
    """Two days of 100 requests a minute, one in 50 minutes with 10 errors."""
    path = tmp_path_factory.mktemp("data") / "minutes.csv"
    start = 1_793_577_600  # 2026-11-02 00:00 UTC, a Monday
    rows = ["timestamp,good,total"]
    rows += [f"{start + 60 * i},{90 if i % 50 == 0 else 100},100" for i in range(2 * 1440)]
    path.write_text("\n".join(rows) + "\n")
    return path


def run(*args: str) -> Any:
    from typer.testing import CliRunner

    from services.cli.main import app

    return CliRunner().invoke(app, list(args))


def steps(path: Path, data: Path) -> dict[str, Any]:
    return {
        "validate": run("slo", "validate", str(path)),
        "rules": run("slo", "rules", str(path)),
        "report": run("slo", "report", "--spec", str(path), "--data", str(data)),
        "backtest": run("slo", "backtest", "--spec", str(path), "--data", str(data)),
    }


@pytest.mark.parametrize(("text", "line", "field", "message"), REFUSED)
def test_validate_refuses_at_the_fields_line_what_later_steps_would_fail_on(
        text, line, field, message, tmp_path, minutes_csv):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    for step, result in steps(path, minutes_csv).items():
        assert isinstance(result.exception, InputError), (step, result.exception)
        first = result.exception.errors[0] if isinstance(result.exception, InputErrors) else (
            result.exception)
        assert (first.path, first.line, first.field) == (str(path), line, field), step
        assert message in first.reason, step


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_validate_accepts_rules_report_and_backtest_accept(text, tmp_path, minutes_csv):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    for step, result in steps(path, minutes_csv).items():
        assert result.exit_code == 0, (step, result.output, result.exception)


@pytest.mark.parametrize(("text", "reason"), [
    pytest.param(EVENTS.replace("VALUE", "250"), "its SLI counts ClickHouse events",
                 id="ClickHouse events"),
    pytest.param(apollo_with(budgeting="{method: timeslices, slice: 5m, slice_target: 95}"),
                 "timeslice budgeting has no Sloth-style error-ratio form", id="timeslices"),
    pytest.param(apollo_with(period="{calendar: month, timezone: Europe/Paris}"),
                 "a calendar-aligned period has no rolling-window form", id="calendar"),
])
def test_rules_skip_what_prometheus_rules_cannot_express_saying_why(text, reason, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = run("slo", "rules", str(path))
    assert result.exit_code == 0
    assert "apollo: skipped api-" in result.output or "apollo: skipped shop-" in result.output
    assert reason in result.output
    assert "groups: []" in result.output


def test_an_objective_of_100_passes_sloth_validation_and_rules_but_has_no_budget_to_report(
        tmp_path, minutes_csv):
    """Sloth accepts 100 (its rule is 0 < o <= 100) and writes rules for it; a report or a
    backtest needs an error budget, so they refuse it, naming the SLO's objective."""
    path = tmp_path / "spec.yaml"
    path.write_text(SLOTH.replace("objective: 99.9", "objective: 100"))
    results = steps(path, minutes_csv)
    assert results["validate"].exit_code == results["rules"].exit_code == 0
    for step in ("report", "backtest"):
        error = results[step].exception
        assert isinstance(error, InputError), step
        assert (error.path, error.line, error.field) == (str(path), 4, "objective")
        assert "an objective of 100% leaves no error budget" in error.reason


# --- the same promise, over generated specs ------------------------------------------------------

PERIODS = ["30d", "28d", "7d", "1h", "61m", "{calendar: week, timezone: Asia/Tokyo}",
           "{calendar: month}", "90s", "1500ms", "3651d", "99999999999d",
           "{calendar: day, timezone: Nowhere/Land}", "{calendar: year, timezone: ../etc}"]
BUDGETING = ["occurrences", "{method: timeslices, slice: 5m, slice_target: 95}",
             "{method: ratio_timeslices, slice: 2h}", "{method: ratio_timeslices, slice: 7s}",
             "{method: ratio_timeslices, slice: 31d}", "{method: timeslices, slice: 1m, "
             "slice_target: .nan}", "{method: ratio_timeslices, slice: 99999999999m}"]
QUERIES = ["sum(rate(x[{{.window}}]))", "sum(rate(x[{{ .window }}]))", "rate(x[{{.window}}])",
           "sum(rate(x[{{.Window}}]))", "sum(rate(x[{{.window}]))", "sum(rate(x[5m]))",
           "sum(rate(x[{{.window}}])) / {{.n}}"]
LABELS = ["{team: a}", "{}", "{__name__: a}", "{'': a}", "{team: ''}", "{1a: b}"]
NUMBERS = st.one_of(st.floats(), st.integers(-10, 200), st.floats(0.01, 99.99))


def mostly(valid: int, options: list[str]) -> st.SearchStrategy[str]:
    """One of `options`, the first `valid` of them (which validate accepts) half the time."""
    return st.sampled_from(options[:valid]) | st.sampled_from(options)


def yaml_scalar(value: float) -> str:
    return "-.inf" if value == -math.inf else ".inf" if value == math.inf else (
        ".nan" if math.isnan(value) else repr(value))


@settings(max_examples=200, deadline=None)
@given(objective=NUMBERS, period=mostly(6, PERIODS), budgeting=mostly(3, BUDGETING),
       query=mostly(3, QUERIES), labels=mostly(2, LABELS))
def test_generated_apollo_specs_either_fail_validate_or_pass_every_later_step(
        objective, period, budgeting, query, labels, minutes_csv, tmp_path_factory):
    text = (APOLLO.replace("objective: 99.9", f"objective: {yaml_scalar(objective)}")
            .replace('sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))', query)
            + f"period: {period}\nbudgeting: {budgeting}\nlabels: {labels}\n")
    path = tmp_path_factory.mktemp("spec") / "spec.yaml"
    path.write_text(text)
    windows = path.parent / "windows.yaml"  # the 30d set, for any period the spec may have
    results = {"validate": run("slo", "validate", str(path))}
    if results["validate"].exit_code != 0:
        error = results["validate"].exception
        assert isinstance(error, InputErrors), error
        assert all(e.path == str(path) and e.line and e.line > 1 for e in error.errors)
        event("refused by validate")
        return
    event("accepted by validate")
    (slo,) = load_slos(text, path=str(path))
    windows.write_text(WINDOWS.replace("PERIOD", format_duration(slo.period.length)))
    results["rules"] = run("slo", "rules", str(path), "--windows", str(windows))
    for step in ("report", "backtest"):
        results[step] = run("slo", step, "--spec", str(path), "--data", str(minutes_csv),
                            "--windows", str(windows))
    for step, result in results.items():
        assert result.exit_code == 0, (text, step, result.output, result.exception)


WINDOWS = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: PERIOD
  page:
    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}
"""
