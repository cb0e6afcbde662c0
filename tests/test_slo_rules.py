"""Prometheus rules for SLOs: what Sloth writes for the same spec, accepted by promtool.

Golden files are Sloth's own (`shared/reference/sloth` beside the repository, see its
SOURCE.md). Their generator-only labels are not stripped: the examples' `cmd:
examplesgen.sh` label is passed as `extra_labels` and their `sloth_version` as
`spec_version`, so whole documents compare equal.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.utils import floatToGoString

from slo.errors import SpecError
from slo.model import (
    SLO,
    Alerting,
    AlertRule,
    EventRatio,
    LatencyThreshold,
    Period,
    RawErrorRatio,
    RequestRatio,
    Source,
    Threshold,
)
from slo.promql import bucket_bound, go_fixed, go_float, split_selector, window_str
from slo.rules import (
    default_alert_name,
    prometheus_rules,
    render_rules,
    sli_record_name,
    slo_rule_groups,
)
from slo.specs import load_slos
from slo.windows import (
    GOOGLE_28D,
    GOOGLE_30D,
    AlertWindows,
    BurnWindow,
    burn_factor,
    parse_windows_document,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
SLOTH = REFERENCE / "sloth"
INTEGRATION = SLOTH / "integration"
PROMTOOL = "/usr/bin/promtool"
DAY = timedelta(days=1)


def windows_file(name: str) -> AlertWindows:
    path = SLOTH / name
    return parse_windows_document(yaml.safe_load(path.read_text()), path=str(path))




def slos_of(spec: str) -> list[SLO]:
    """The SLOs of a reference spec, read by the real loader."""
    path = SLOTH / spec
    return load_slos(path.read_text(), path=str(path))


def golden(name: str, *, version: str = "dev") -> dict[str, Any]:
    """A golden file as parsed YAML: Sloth's Go-template escapes undone, CRDs unwrapped."""
    text = (SLOTH / name).read_text().replace("{{ .version }}", version)
    text = re.sub(r'\{\{"(\{\{.*?\}\})"\}\}', r"\1", text)
    doc = yaml.safe_load(text)
    return {"groups": doc["spec"]["groups"]} if doc.get("kind") == "PrometheusRule" else doc


def golden_body(name: str, *, version: str = "dev") -> str:
    """The golden file's YAML text below Sloth's `# DO NOT EDIT.` header."""
    text = (SLOTH / name).read_text().replace("{{ .version }}", version)
    text = re.sub(r'\{\{"(\{\{.*?\}\})"\}\}', r"\1", text)
    return text.split("# DO NOT EDIT.\n\n", 1)[1]


TPL_VERSION = "v0.0.0-apollo-test"
EXAMPLES = {"extra_labels": {"cmd": "examplesgen.sh"}, "spec_version": "dev"}
INTEGRATION_OPTS = {"spec_version": TPL_VERSION}

# (spec, golden, options, does Sloth write a plain rules file, i.e. not a CRD)
CASES = [
    pytest.param("integration/in-base.yaml", "integration/out-base.yaml.tpl",
                 INTEGRATION_OPTS, True, id="integration: two SLOs, default 30d"),
    pytest.param("integration/in-base.yaml", "integration/out-base-28d.yaml.tpl",
                 {**INTEGRATION_OPTS, "period": 28 * DAY}, True,
                 id="integration: --default-slo-period 28d"),
    pytest.param("integration/in-base.yaml", "integration/out-base-custom-windows-7d.yaml.tpl",
                 {**INTEGRATION_OPTS, "period": 7 * DAY, "windows": "windows-7d.yaml"}, True,
                 id="integration: 7d with the windows-7d file"),
    pytest.param("integration/in-base.yaml", "integration/out-base-no-alerts.yaml.tpl",
                 {**INTEGRATION_OPTS, "disable_alerts": True}, True,
                 id="integration: --disable-alerts"),
    pytest.param("integration/in-openslo.yaml", "integration/out-openslo.yaml.tpl",
                 INTEGRATION_OPTS, True, id="integration: OpenSLO good/total"),
    pytest.param("getting-started.spec.yml", "getting-started.gen.yml", EXAMPLES, True,
                 id="example: getting-started"),
    pytest.param("raw-home-wifi.spec.yml", "raw-home-wifi.gen.yml", EXAMPLES, True,
                 id="example: raw-home-wifi"),
    pytest.param("no-alerts.spec.yml", "no-alerts.gen.yml", EXAMPLES, True,
                 id="example: no-alerts"),
    pytest.param("k8s-getting-started.spec.yml", "k8s-getting-started.gen.yml", EXAMPLES, False,
                 id="example: k8s CRD spec.groups"),
    pytest.param("openslo-getting-started.spec.yml", "openslo-getting-started.gen.yml",
                 EXAMPLES, True, id="example: openslo-getting-started"),
]


def rules_for(spec: str, opts: dict[str, Any]) -> dict[str, Any]:
    opts = dict(opts)
    if isinstance(opts.get("windows"), str):
        opts["windows"] = windows_file(opts["windows"])
    return prometheus_rules(slos_of(spec), **opts)


def promtool_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    assert Path(PROMTOOL).is_file(), f"{PROMTOOL} is missing: apt-get install prometheus"
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)


# --- goldens -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "gold", "opts", "plain"), CASES)
def test_rules_equal_what_sloth_generates(spec, gold, opts, plain):
    version = opts.get("spec_version", "dev")
    assert rules_for(spec, opts) == golden(gold, version=version)


# Sloth wraps the k8s example's rules in a PrometheusRule CRD: no plain rules text to compare.
PLAIN_CASES = [case for case in CASES if case.values[3]]


@pytest.mark.parametrize(("spec", "gold", "opts", "plain"), PLAIN_CASES)
def test_rendered_yaml_is_sloths_text_below_the_header(spec, gold, opts, plain):
    text = render_rules(rules_for(spec, opts), header=False)
    assert text == golden_body(gold, version=opts.get("spec_version", "dev"))


@pytest.mark.parametrize(("spec", "gold", "opts", "plain"), CASES)
def test_promtool_accepts_every_golden_case(tmp_path, spec, gold, opts, plain):
    result = promtool_check(tmp_path, render_rules(rules_for(spec, opts)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_reference_specs_all_have_a_golden_case():
    covered = {p.values[0] for p in CASES}
    specs = {f"integration/{p.name}" for p in INTEGRATION.glob("in-*.yaml")}
    specs |= {p.name for p in SLOTH.glob("*.spec.yml")}
    assert specs <= covered


# --- windows and burn factors ------------------------------------------------------------------

WINDOW_SETS = [
    pytest.param(GOOGLE_30D, id="google 30d"),
    pytest.param(GOOGLE_28D, id="google 28d"),
    pytest.param(windows_file("windows-7d.yaml"), id="sloth example 7d"),
    pytest.param(windows_file("windows-custom-30d.yaml"), id="sloth example custom 30d"),
]


def an_slo(**changes: Any) -> SLO:
    base = SLO(service="api-gateway", name="availability", objective=99.5,
               sli=RequestRatio(
                   error_query='sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
                   total_query="sum(rate(http_requests_total[{{ .window }}]))"),
               alerting=Alerting(name="ApiGatewayAvailability"))
    return dataclasses.replace(base, **changes)


def groups_by_name(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {g["name"].split("-recordings-")[0].split("-alerts-")[0]: g["rules"]
            for g in doc["groups"]}


@pytest.mark.parametrize("windows", WINDOW_SETS)
def test_every_window_of_the_set_has_a_recording_rule_then_the_period(windows):
    doc = prometheus_rules([an_slo(period=Period(windows.period))], windows=windows)
    records = [r["record"] for r in groups_by_name(doc)["sloth-slo-sli"]]
    expected = [sli_record_name(w) for w in windows.durations]
    assert records == [*expected, sli_record_name(windows.period)]


@pytest.mark.parametrize("windows", WINDOW_SETS)
def test_the_period_ratio_averages_the_shortest_page_window(windows):
    doc = prometheus_rules([an_slo(period=Period(windows.period))], windows=windows)
    period_rule = groups_by_name(doc)["sloth-slo-sli"][-1]
    page_quick = next(w for w in windows.windows if (w.severity, w.speed) == ("page", "quick"))
    assert period_rule["expr"].startswith(f"sum_over_time({sli_record_name(page_quick.short)}{{")
    assert f"[{window_str(windows.period)}])" in period_rule["expr"]


@pytest.mark.parametrize("windows", WINDOW_SETS)
def test_burn_factors_from_the_windows_appear_in_their_alerts(windows):
    slo = an_slo(period=Period(windows.period))
    doc = prometheus_rules([slo], windows=windows)
    alerts = {r["labels"]["sloth_severity"]: r["expr"] for r in groups_by_name(doc)["sloth-slo"]}
    budget = go_float(slo.error_budget_ratio)
    for w in windows.windows:
        threshold = f"> ({go_float(burn_factor(w, windows.period))} * {budget})"
        branches = alerts[w.severity].split("\nor\n")
        branch = branches[0 if w.speed == "quick" else 1]
        assert f"{sli_record_name(w.short)}{{" in branch
        assert f"{sli_record_name(w.long)}{{" in branch
        assert branch.count(threshold) == 2


def test_a_windows_file_replaces_the_default_set_for_its_period():
    custom = windows_file("windows-custom-30d.yaml")
    doc = prometheus_rules([an_slo()], windows={custom.period: custom})
    records = [r["record"] for r in groups_by_name(doc)["sloth-slo-sli"]]
    assert records[0] == "slo:sli_error:ratio_rate2m"
    assert "slo:sli_error:ratio_rate5m" not in records


def test_a_windows_file_for_another_period_leaves_the_default_in_place():
    doc = prometheus_rules([an_slo()], windows=windows_file("windows-7d.yaml"))
    assert doc == prometheus_rules([an_slo()])


def test_a_period_without_windows_names_the_slo_and_the_period():
    with pytest.raises(SpecError, match=r"'api-gateway-availability'.*no alert windows for a 2w"):
        prometheus_rules([an_slo(period=Period(14 * DAY))])


@pytest.mark.parametrize(("period", "days"), [
    pytest.param(30 * DAY, "vector(30)", id="30 days"),
    pytest.param(28 * DAY, "vector(28)", id="28 days"),
])
def test_the_period_override_changes_every_slo(period, days):
    doc = prometheus_rules([an_slo(), an_slo(name="latency")], period=period)
    meta = [g for g in doc["groups"] if g["name"].startswith("sloth-slo-meta-")]
    assert [next(r["expr"] for r in g["rules"] if r["record"] == "slo:time_period:days")
            for g in meta] == [days, days]


# --- alerts --------------------------------------------------------------------------------------


def test_disable_alerts_drops_every_alert_group():
    doc = prometheus_rules([an_slo(), an_slo(name="b")], disable_alerts=True)
    assert [g["name"] for g in doc["groups"]] == [
        "sloth-slo-sli-recordings-api-gateway-availability",
        "sloth-slo-meta-recordings-api-gateway-availability",
        "sloth-slo-sli-recordings-api-gateway-b", "sloth-slo-meta-recordings-api-gateway-b",
    ]


def test_a_disabled_ticket_leaves_only_the_page_alert():
    slo = an_slo(alerting=Alerting(name="X", ticket=AlertRule(disabled=True)))
    alerts = groups_by_name(prometheus_rules([slo]))["sloth-slo"]
    assert [a["labels"]["sloth_severity"] for a in alerts] == ["page"]


def test_alert_labels_and_annotations_merge_as_sloth_merges_them():
    slo = an_slo(alerting=Alerting(
        name="A", labels={"team": "core", "severity": "x"}, annotations={"runbook": "r1"},
        page=AlertRule(labels={"severity": "critical"}, annotations={"title": "mine"})))
    page, ticket = groups_by_name(prometheus_rules([slo]))["sloth-slo"]
    assert page["labels"] == {"severity": "critical", "sloth_severity": "page", "team": "core"}
    assert page["annotations"]["title"] == "mine"
    assert ticket["labels"] == {"severity": "x", "sloth_severity": "ticket", "team": "core"}
    assert ticket["annotations"]["title"].startswith("(ticket) {{$labels.sloth_service}}")
    assert ticket["annotations"]["runbook"] == "r1"


def test_extra_labels_win_over_spec_labels_and_stay_off_the_alerts():
    slo = an_slo(labels={"team": "spec", "tier": "1"})
    doc = prometheus_rules([slo], extra_labels={"team": "cli"})
    groups = groups_by_name(doc)
    assert {r["labels"]["team"] for r in groups["sloth-slo-sli"] + groups["sloth-slo-meta"]} == {
        "cli"}
    assert all("team" not in a["labels"] for a in groups["sloth-slo"])


def test_an_slo_without_an_alert_name_gets_one_promtool_accepts(tmp_path):
    slo = an_slo(service="9-lives", alerting=Alerting())
    assert default_alert_name(slo) == "SLO9LivesAvailabilityErrorBudgetBurn"
    result = promtool_check(tmp_path, render_rules(prometheus_rules([slo])))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sloth_mode_follows_the_spec_format_unless_given():
    def mode(slo: SLO, **kw: Any) -> str:
        meta = groups_by_name(prometheus_rules([slo], **kw))["sloth-slo-meta"]
        return meta[-1]["labels"]["sloth_mode"]

    assert mode(an_slo(source=Source(format="sloth.slok.dev/v1"))) == "cli-gen-k8s"
    assert mode(an_slo(source=Source(format="openslo/v1"))) == "cli-gen-openslo"
    assert mode(an_slo()) == "cli-gen-prom"
    assert mode(an_slo(), mode="apollo") == "apollo"


# --- latency SLIs from histograms -------------------------------------------------------------

LATENCY = an_slo(name="latency", sli=LatencyThreshold(
    'http_request_duration_seconds{job="api-gateway",route=~"/a,b|/c"}', 0.012))


def test_a_latency_slo_counts_requests_slower_than_the_threshold_bucket():
    rule = groups_by_name(prometheus_rules([LATENCY]))["sloth-slo-sli"][0]
    count = 'http_request_duration_seconds_count{job="api-gateway",route=~"/a,b|/c"}'
    bucket = ('http_request_duration_seconds_bucket{job="api-gateway",route=~"/a,b|/c",'
              'le="0.012"}')
    assert rule["expr"] == (f"(sum(rate({count}[5m])) - sum(rate({bucket}[5m])))\n/\n"
                            f"(sum(rate({count}[5m])))\n")


def test_a_latency_slo_renders_rules_promtool_accepts(tmp_path):
    result = promtool_check(tmp_path, render_rules(prometheus_rules([LATENCY])))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("metric", "series"), [
    pytest.param("latency_seconds", 'latency_seconds_bucket{le="0.25"}', id="bare name"),
    pytest.param("latency_seconds{}", 'latency_seconds_bucket{le="0.25"}', id="empty braces"),
    pytest.param('latency_seconds{ job = "a" , }', 'latency_seconds_bucket{job="a",le="0.25"}',
                 id="spaces and a trailing comma"),
    pytest.param("latency_seconds{path='/x\\'}'}",
                 "latency_seconds_bucket{path='/x\\'}',le=\"0.25\"}",
                 id="a quoted brace inside a value"),
])
def test_the_le_matcher_joins_the_selector(metric, series):
    slo = an_slo(sli=LatencyThreshold(metric, 0.25))
    assert series in groups_by_name(prometheus_rules([slo]))["sloth-slo-sli"][0]["expr"]


@pytest.mark.parametrize(("metric", "reason"), [
    pytest.param('latency_seconds{le="0.5"}', "le", id="an le matcher of its own"),
    pytest.param("rate(latency_seconds[5m])", "metric name", id="a query, not a selector"),
    pytest.param('latency_seconds{job="a"', "expected", id="an unclosed selector"),
    pytest.param("{job='a'}", "no metric name", id="no metric name"),
])
def test_a_latency_metric_that_is_not_a_plain_selector_is_refused(metric, reason):
    with pytest.raises(SpecError, match=reason):
        split_selector(metric)


@pytest.mark.parametrize("bound", [0.012, 0.005, 0.1, 0.25, 1.0, 2.5, 10.0, 1e-05, 2500000.0,
                                   123456.7, math.inf])
def test_le_values_are_written_as_the_prometheus_client_writes_bucket_bounds(bound):
    assert bucket_bound(bound) == floatToGoString(bound)


@pytest.mark.parametrize("threshold", [0.0, -1.0, math.inf, math.nan])
def test_a_latency_threshold_must_be_a_positive_number(threshold):
    slo = an_slo(sli=LatencyThreshold("latency_seconds", threshold))
    with pytest.raises(SpecError, match="positive number of seconds"):
        prometheus_rules([slo])


# --- counter queries (OpenSLO `counter: true`) ------------------------------------------------


def test_counter_queries_become_increases_over_each_window():
    slo = an_slo(sli=RequestRatio(good_query='http_requests_total{code!~"5.."}',
                                  total_query="http_requests_total", counter=True))
    rule = groups_by_name(prometheus_rules([slo]))["sloth-slo-sli"][1]
    assert 'sum(increase(http_requests_total{code!~"5.."}[30m]))' in rule["expr"]
    assert "sum(increase(http_requests_total[30m]))" in rule["expr"]
    assert rule["expr"].startswith("(\n  1 - (\n")


def test_a_counter_query_that_is_not_a_selector_is_refused():
    slo = an_slo(sli=RequestRatio(error_query="sum(http_errors_total)",
                                  total_query="http_requests_total", counter=True))
    with pytest.raises(SpecError, match="one series selector"):
        prometheus_rules([slo])


def test_counter_rules_are_accepted_by_promtool(tmp_path):
    slo = an_slo(sli=RequestRatio(error_query='http_requests_total{code=~"5.."}',
                                  total_query="http_requests_total", counter=True))
    result = promtool_check(tmp_path, render_rules(prometheus_rules([slo])))
    assert result.returncode == 0, result.stdout + result.stderr


# --- what cannot be written ------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "reason"), [
    pytest.param({"sli": EventRatio("events", ("purchase",), "latency_ms", "lte", 250)},
                 "ClickHouse", id="an event ratio lives in ClickHouse"),
    pytest.param({"sli": Threshold("avg(up)", "gte", 0.9)}, "threshold SLI",
                 id="a threshold SLI is judged per slice"),
    pytest.param({"budgeting": "timeslices"}, "timeslices budgeting",
                 id="timeslice budgeting"),
    pytest.param({"period": Period(30 * DAY, rolling=False, calendar_unit="month")},
                 "calendar-aligned", id="a calendar month"),
    pytest.param({"labels": {"bad-name": "x"}}, "not a Prometheus label name",
                 id="a label name Prometheus refuses"),
    pytest.param({"sli": RawErrorRatio("avg(x[{{.window}}]) + {{.other}}")},
                 "unknown template action", id="a template variable Sloth does not know"),
])
def test_specs_rules_cannot_express_are_refused_naming_the_slo(changes, reason):
    slo = an_slo(source=Source(path="slos/api.yaml", line=7), **changes)
    with pytest.raises(SpecError, match=reason) as info:
        prometheus_rules([slo])
    assert str(info.value).startswith("slos/api.yaml:7: ")
    assert "'api-gateway-availability'" in str(info.value)


def test_an_event_ratio_error_says_which_slo_and_why():
    slo = an_slo(name="checkout", sli=EventRatio("events", ("purchase",), "latency_ms", "lte",
                                                 250))
    with pytest.raises(SpecError) as info:
        slo_rule_groups(slo)
    assert "SLO 'api-gateway-checkout'" in str(info.value)
    assert "Prometheus cannot query" in str(info.value)


def test_two_slos_with_one_id_are_refused():
    with pytest.raises(SpecError, match="appears twice"):
        prometheus_rules([an_slo(), an_slo()])


# --- numbers as Go prints them ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (14.4, "14.4"), (6.0, "6"), (1.0, "1"), (30.0, "30"), (0.0009999999999999432,
                                                          "0.0009999999999999432"),
    (0.9990000000000001, "0.9990000000000001"), (5.6000000000000005, "5.6000000000000005"),
    (0.9333333333333333, "0.9333333333333333"), (1.4000000000000001, "1.4000000000000001"),
    (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (1e-4, "0.0001"),
    (1.0000000000047748e-05, "1.0000000000047748e-05"), (0.0, "0"), (-2.5, "-2.5"),
    (1e21, "1e+21"), (math.inf, "+Inf"),
])
def test_floats_print_as_go_prints_them(value, text):
    assert go_float(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (99.9, "99.9"), (95.0, "95"), (99.99, "99.99"), (1e-07, "0.0000001"), (1e21, "1" + "0" * 21),
])
def test_objectives_print_as_strconv_f_prints_them(value, text):
    assert go_fixed(value) == text


@settings(max_examples=300)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_floats_read_back_as_the_same_number(value):
    text = go_float(value)
    assert float(text) == value
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d{2,3})?", text)


@pytest.mark.parametrize(("window", "text"), [
    (timedelta(minutes=5), "5m"), (DAY, "1d"), (3 * DAY, "3d"), (7 * DAY, "1w"),
    (28 * DAY, "4w"), (30 * DAY, "30d"), (365 * DAY, "1y"), (timedelta(hours=36), "1d12h"),
])
def test_windows_print_as_prometheus_durations(window, text):
    assert window_str(window) == text


# --- properties over window sets ------------------------------------------------------------

_MINUTES = st.integers(min_value=1, max_value=6 * 24 * 60)


@st.composite
def window_sets(draw: st.DrawFn) -> AlertWindows:
    period = timedelta(days=draw(st.integers(min_value=14, max_value=90)))
    windows = []
    for severity in ("page", "ticket"):
        for speed in ("quick", "slow"):
            short = draw(_MINUTES)
            long = short + draw(_MINUTES)
            budget = draw(st.floats(min_value=0.5, max_value=50).map(lambda x: round(x, 1)))
            windows.append(BurnWindow(severity, speed, timedelta(minutes=short),  # type: ignore[arg-type]
                                      timedelta(minutes=long), budget))
    return AlertWindows(period=period, windows=tuple(windows))


@settings(max_examples=60, deadline=None)
@given(window_sets(), st.floats(min_value=50, max_value=99.999).map(lambda x: round(x, 3)))
def test_any_window_set_records_each_window_once_and_alerts_on_its_factors(windows, objective):
    slo = an_slo(objective=objective, period=Period(windows.period))
    groups = groups_by_name(prometheus_rules([slo], windows=windows))
    records = [r["record"] for r in groups["sloth-slo-sli"]]
    assert records == [*(sli_record_name(w) for w in windows.durations),
                       sli_record_name(windows.period)]
    exprs = "\n".join(a["expr"] for a in groups["sloth-slo"])
    for w in windows.windows:
        assert f"({go_float(burn_factor(w, windows.period))} * " in exprs
