"""Pyrra SLOs exported as Pyrra alerts: its windows for any period, its buckets as written.

Golden data is Pyrra's own, committed under `tests/data/pyrra-cases/` (SOURCE.md names the
repository, path and commit of every file):

- `slo/rules_test.go`: the rules Pyrra's tests expect for its fixtures. Read here as data:
  each case's recorded burn-rate windows, its alerts' short and long windows, factor,
  severity and name (`TestObjective_Burnrates`), and `Windows(28d)` (`Test_windows`).
- `slo/promql_test.go`: those fixtures (`objectiveHTTPLatency()` …), for each one's window.
- `fixtures/`: the same fixtures hand-written as Pyrra YAML, so Apollo's export of each can
  be compared with Pyrra's expected rules: same windows, same series selected.
- `examples/`: every Pyrra example SLO (28 files, 25 with 1w or 2w windows), exported
  without a windows file.

The window arithmetic is also done by hand here (`by_hand`), from the formula in Pyrra's
`Windows()`: a divisor of the period per window, then rounded to the minute.
"""

from __future__ import annotations

import math
import re
import subprocess
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from typer.testing import CliRunner

from services.cli.main import app
from slo.durations import parse_duration
from slo.errors import SpecError
from slo.model import LatencyThreshold
from slo.promql import go_float, parse_selector, window_str
from slo.rules import HEADER, prometheus_rules, render_rules
from slo.specs import load_slos
from slo.windows import AlertWindows, parse_windows_document, pyrra_windows, slo_windows

CASES = Path(__file__).parent / "data" / "pyrra-cases"
RULES_TEST = CASES / "slo" / "rules_test.go"
PROMQL_TEST = CASES / "slo" / "promql_test.go"
SLOTH_7D = Path(__file__).parent / "data" / "sloth-cases" / "examples" / "windows" / "7d.yaml"
PROMTOOL = "/usr/bin/promtool"
DAY = timedelta(days=1)
SEVERITY = {"page": "critical", "ticket": "warning"}  # Apollo's pair -> Pyrra's severity


# --- the windows by hand -------------------------------------------------------------------------

# Pyrra's Windows() (slo/rules.go), read as fractions of the period: (severity, short, long,
# factor). 28d: 5m of 28d is 28*24*12 parts of it, 1h is 28*24 parts, and so on.
FORMULA = [
    ("critical", Fraction(1, 28 * 24 * 12), Fraction(1, 28 * 24), 14),
    ("critical", Fraction(1, 28 * 24 * 2), Fraction(1, 28 * 4), 7),
    ("warning", Fraction(1, 28 * 12), Fraction(1, 28), 2),
    ("warning", Fraction(1, 28 * 4), Fraction(1, 7), 1),
]


def to_minute(seconds: Fraction) -> timedelta:
    """Rounded to the nearest minute, a half minute up (Go's Duration.Round)."""
    return timedelta(minutes=math.floor(seconds / 60 + Fraction(1, 2)))


def by_hand(period: timedelta) -> list[tuple[str, timedelta, timedelta, float]]:
    seconds = Fraction(int(period.total_seconds()))
    return [(severity, to_minute(seconds * short), to_minute(seconds * long), factor)
            for severity, short, long, factor in FORMULA]


def apollo_pairs(windows: AlertWindows) -> list[tuple[str, timedelta, timedelta, float]]:
    return [(SEVERITY[w.severity], w.short, w.long, w.factor) for w in windows.windows]


def test_the_formula_here_is_the_one_in_pyrras_source():
    """Read Windows() in Pyrra's slo/rules.go: each window is `(sloWindow / (N)).Round(…)`
    with N a constant integer expression (Go's integer division), and a fixed Factor."""
    source = (CASES / "slo" / "rules.go").read_text()
    body = source[source.index("func Windows("):source.index("func burnratesFromWindows")]
    windows = re.findall(r"Severity:\s+(\w+),\s*For:[^\n]+\n\s*"
                         r"Long:\s+\(sloWindow / (.+?)\)\.Round\(round\),[^\n]*\n\s*"
                         r"Short:\s+\(sloWindow / (.+?)\)\.Round\(round\),[^\n]*\n\s*"
                         r"Factor:\s+(\d+),", body)
    assert "round := time.Minute" in body

    def divisor(expr: str) -> int:
        assert re.fullmatch(r"[\d\s*/()]+", expr), expr
        return int(eval(expr.replace("/", "//")))  # constants only, checked just above

    assert [(severity, Fraction(1, divisor(short)), Fraction(1, divisor(long)), int(factor))
            for severity, long, short, factor in windows] == FORMULA


PERIODS = [
    pytest.param(28 * DAY, id="28d"), pytest.param(30 * DAY, id="30d"),
    pytest.param(7 * DAY, id="7d (1w)"), pytest.param(14 * DAY, id="14d (2w)"),
    pytest.param(3 * DAY, id="3d"), pytest.param(10 * DAY, id="10d"),
    pytest.param(90 * DAY, id="90d"), pytest.param(365 * DAY, id="365d"),
    pytest.param(17 * DAY + timedelta(hours=5, minutes=7), id="17d5h7m"),
]


@pytest.mark.parametrize("period", PERIODS)
def test_every_window_pair_is_pyrras_formula_rounded_to_the_minute(period):
    assert apollo_pairs(pyrra_windows(period)) == by_hand(period)


def test_half_a_minute_rounds_up_as_go_rounds():
    # 14d / (28*24*12) = 1209600 s / 8064 = 150 s exactly: 2m30s, which Go rounds to 3m.
    assert Fraction(14 * 86400, 28 * 24 * 12) == 150
    assert pyrra_windows(14 * DAY).windows[0].short == timedelta(minutes=3)


def test_the_factor_is_pyrras_whole_number_and_the_budget_share_follows_from_it():
    windows = pyrra_windows(30 * DAY)
    assert [w.factor for w in windows.windows] == [14, 7, 2, 1]
    for w in windows.windows:  # the share of the budget the factor spends in the long window
        assert w.budget_percent == pytest.approx(100 * w.factor * (w.long / (30 * DAY)))


@pytest.mark.parametrize(("period", "pair"), [
    pytest.param(DAY, "page quick", id="1d: 1d/8064 is 10.7s, 0 minutes"),
    pytest.param(timedelta(hours=6), "page quick", id="6h"),
])
def test_a_period_too_short_for_pyrras_windows_is_an_error(period, pair):
    with pytest.raises(SpecError) as info:
        pyrra_windows(period)
    assert info.value.field == "period" and pair in info.value.reason


# --- Pyrra's own expectations -------------------------------------------------------------------


def go_duration(text: str) -> timedelta:
    """A Go duration as Pyrra's tests write it: `2m0s`, `1h30m0s`, or `4 * 24 * time.Hour`."""
    if "time." in text:
        units = {"time.Hour": 3600, "time.Minute": 60, "time.Second": 1}
        seconds = 1
        for factor in text.split("*"):
            factor = factor.strip()
            seconds *= units[factor] if factor in units else int(factor)
        return timedelta(seconds=seconds)
    return parse_duration(text)


def objective_windows() -> dict[str, timedelta]:
    """Each fixture function of promql_test.go -> its window (following `o := other()`)."""
    text = PROMQL_TEST.read_text()
    bodies = dict(re.findall(r"\n\t(objective\w+) = func\(\) Objective \{(.*?)\n\t\}", text,
                             re.DOTALL))
    windows: dict[str, timedelta] = {}

    def window(name: str) -> timedelta:
        found = re.search(r"Window:\s+model\.Duration\(([^)]+)\)", bodies[name])
        if found:
            return go_duration(found.group(1))
        return window(re.search(r"o := (objective\w+)\(\)", bodies[name]).group(1))

    for name in bodies:
        windows[name] = window(name)
    return windows


def burnrate_cases() -> dict[str, dict[str, Any]]:
    """TestObjective_Burnrates: name -> fixture, its recorded windows and its alerts."""
    text = RULES_TEST.read_text()
    text = text[text.index("func TestObjective_Burnrates"):
                text.index("func TestObjective_BurnrateNames")]
    starts = list(re.finditer(r'\n\t\tname: "([^"]+)",\n\t\tslo:\s+(objective\w+)\(\),', text))
    cases = {}
    for start, end in zip(starts, [*starts[1:], None], strict=True):
        body = text[start.end():end.start() if end else len(text)]
        records = re.findall(r'Record:\s+"[^"]+:burnrate(\w+)",\s*Expr:\s+intstr\.FromString'
                             r"\(`([^`]*)`\)", body)
        alerts = []
        for rule in re.split(r"\n\t\t\t\}, \{\n", body):  # one rule each, fields in any order
            name = re.search(r'Alert:\s+"([^"]+)"', rule)
            if name is None or "burnrate" not in rule:  # recordings; absent-metric alerts
                continue
            expr = re.search(r"Expr:\s+intstr\.FromString\(`([^`]*)`\)", rule).group(1)
            labels = re.search(r"Labels:\s+map\[string\]string\{([^}]*)\}", rule).group(1)
            label = dict(re.findall(r'"([^"]+)": "([^"]*)"', labels))
            factor = float(re.search(r"> \(([\d.]+) \* \(1-", expr).group(1))
            alerts.append({"name": name.group(1), "severity": label["severity"],
                           "factor": factor, "short": parse_duration(label["short"]),
                           "long": parse_duration(label["long"])})
        cases[start.group(1)] = {
            "objective": start.group(2),
            "records": {parse_duration(w): expr for w, expr in records},
            "alerts": alerts,
        }
    return cases


BURNRATES = burnrate_cases()
WINDOW_OF = objective_windows()
FIXTURES = CASES / "fixtures"
# Pyrra's Prometheus 3 migration option (`le=~"1(\\.0)?"`) is a generation option Apollo
# does not have: that case is compared on its windows only.
SAME_SERIES = [name for name in BURNRATES if name != "http-latency-prom3-migration"]


def test_pyrras_cases_are_all_read():
    assert len(BURNRATES) == 22
    assert {c["objective"] for c in BURNRATES.values()} <= set(WINDOW_OF)
    assert sum(len(c["alerts"]) for c in BURNRATES.values()) == 4 * 20  # 2 alert-less
    assert {p.stem for p in FIXTURES.glob("*.yaml")} == set(SAME_SERIES)


def test_windows_of_28_days_are_pyrras_test_windows():
    text = RULES_TEST.read_text()
    body = text[text.index("func Test_windows"):text.index("func TestObjective_GrafanaRules")]
    expected = [(severity, go_duration(short), go_duration(long), float(factor))
                for severity, long, short, factor in re.findall(
                    r"Severity:\s+(\w+),\s*For:\s+[^,]+,\s*Long:\s+([^,]+),\s*"
                    r"Short:\s+([^,]+),\s*Factor:\s+(\d+),", body)]
    assert len(expected) == 4
    assert apollo_pairs(pyrra_windows(28 * DAY)) == expected == by_hand(28 * DAY)


@pytest.mark.parametrize("name", list(BURNRATES))
def test_windows_are_those_pyrras_tests_expect(name):
    case = BURNRATES[name]
    period = WINDOW_OF[case["objective"]]
    windows = pyrra_windows(period)
    assert set(case["records"]) == set(windows.durations)
    if case["alerts"]:
        assert [(a["severity"], a["short"], a["long"], a["factor"]) for a in case["alerts"]
                ] == apollo_pairs(windows) == by_hand(period)


def fixture_slo(name: str) -> Any:
    path = FIXTURES / f"{name}.yaml"
    (slo,) = load_slos(path.read_text(), path=str(path))
    return slo


def selectors(expr: str) -> set[tuple[str, frozenset[tuple[str, str, str]]]]:
    """Every vector selector of a PromQL expression, read by a real PromQL parser: its name
    and its matchers (label, operator, value: values compared as exact text)."""
    found = []
    promql_parser.walk(promql_parser.parse(expr),
                       lambda node: found.append(node)
                       if isinstance(node, promql_parser.VectorSelector) else None)
    return {(s.name or "", frozenset((m.name, str(m.op), m.value)
                                     for m in s.matchers.matchers)) for s in found}


@pytest.mark.parametrize("name", SAME_SERIES)
def test_each_recorded_window_selects_the_series_pyrra_selects(name):
    case = BURNRATES[name]
    slo = fixture_slo(name)
    assert slo.period.length == WINDOW_OF[case["objective"]]
    doc = prometheus_rules([slo])
    ours = {r["labels"]["sloth_window"]: r["expr"] for r in doc["groups"][0]["rules"]}
    assert set(case["records"]) < {parse_duration(w) for w in ours}
    for window, expected in case["records"].items():
        assert selectors(ours[window_str(window)]) == selectors(expected), window_str(window)


@pytest.mark.parametrize("name", SAME_SERIES)
def test_every_fixture_exports_rules_promtool_accepts(tmp_path, name):
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(prometheus_rules([fixture_slo(name)])))
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr


@pytest.mark.parametrize("name", [n for n in SAME_SERIES if BURNRATES[n]["alerts"]])
def test_alerts_carry_pyrras_name_severity_and_factors(name):
    case = BURNRATES[name]
    slo = fixture_slo(name)
    doc = prometheus_rules([slo])
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert [(a["alert"], a["labels"]["severity"]) for a in alerts] == [
        (case["alerts"][i]["name"], case["alerts"][i]["severity"]) for i in (0, 2)]
    budget = (100 - slo.objective) / 100
    for alert, pairs in zip(alerts, (case["alerts"][:2], case["alerts"][2:]), strict=True):
        for pair in pairs:  # each window pair's threshold: factor × error budget, as Go prints
            assert f"> ({go_float(pair['factor'])} * {go_float(budget)})" in alert["expr"]


@pytest.mark.parametrize("name", [n for n in SAME_SERIES if not BURNRATES[n]["alerts"]])
def test_a_fixture_with_alerting_disabled_has_no_alert_group(name):
    doc = prometheus_rules([fixture_slo(name)])
    assert [g["name"].split("-")[2] for g in doc["groups"]] == ["sli", "meta"]


def test_a_windows_file_for_the_period_still_wins(tmp_path):
    windows = parse_windows_document(yaml.safe_load(SLOTH_7D.read_text()), path=str(SLOTH_7D))
    slo = fixture_slo("grpc-latency")  # a 1w Pyrra SLO
    assert slo_windows(slo) == pyrra_windows(7 * DAY)
    assert slo_windows(slo, {windows.period: windows}) == windows
    doc = prometheus_rules([slo], windows=windows)
    recorded = [r["labels"]["sloth_window"] for r in doc["groups"][0]["rules"]]
    assert recorded == [window_str(d) for d in windows.durations] + ["1w"]
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(doc))
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


# --- Pyrra's examples ---------------------------------------------------------------------------

EXAMPLES = sorted((CASES / "examples").rglob("*.yaml"))
EXAMPLE_CASES = [pytest.param(p, id=str(p.relative_to(CASES / "examples"))) for p in EXAMPLES]


def documents(text: str) -> list[str]:
    parts = re.split("(?:---\n)?" + re.escape(HEADER), text)
    assert parts[0] == ""
    return parts[1:]


def test_the_examples_are_pyrras_28_and_25_of_them_need_scaled_windows():
    # openshift/ holds the kubernetes/ examples again, in another namespace
    pyrras = [p for p in EXAMPLES if "openshift" not in p.parts]
    assert len(pyrras) == 28
    weekly = {p for p in pyrras for d in yaml.safe_load_all(p.read_text())
              if d and d["spec"]["window"] in ("1w", "7d", "2w", "14d")}
    assert len(weekly) == 25


@pytest.mark.parametrize("path", EXAMPLE_CASES)
def test_every_example_exports_without_a_windows_file_and_passes_promtool(tmp_path, path):
    result = CliRunner().invoke(app, ["slo", "rules", str(path)])
    assert result.exit_code == 0, result.output
    # Pyrra is not a Sloth format: all of a file's objectives share one rules document,
    # which Prometheus reads whole.
    (body,) = documents(result.stdout)
    groups = {g["name"]: g["rules"] for g in yaml.safe_load(body)["groups"]}
    specs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert len(groups) == 3 * len(specs)
    for spec in specs:
        meta = spec["metadata"]
        alerts = groups[f"sloth-slo-alerts-{meta.get('namespace', 'default')}-{meta['name']}"]
        expected = by_hand(parse_duration(spec["spec"]["window"]))
        for alert, pairs in zip(alerts, (expected[:2], expected[2:]), strict=True):
            for severity, short, long, factor in pairs:
                assert alert["labels"]["severity"] == severity
                for window in (short, long):
                    assert f"slo:sli_error:ratio_rate{window_str(window)}{{" in alert["expr"]
                    assert f"> ({factor:g} * " in alert["expr"]
    out = tmp_path / "rules.yml"
    out.write_text(result.stdout)
    # Two objectives of one file (nginx.yaml) share Pyrra's default alert name and labels:
    # promtool's duplicate-rule lint notes it (exit 0). Their alerts differ by the sloth_id
    # their expressions carry, as Sloth's do; the count below is of every rule checked.
    check = subprocess.run([PROMTOOL, "check", "rules", "--lint=none", str(out)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {sum(len(r) for r in groups.values())} rules found" in check.stdout


def metrics_of(spec: dict[str, Any]) -> list[str]:
    """Every `metric:` selector of a Pyrra spec."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "metric" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return found


@pytest.mark.parametrize("path", EXAMPLE_CASES)
def test_every_matcher_of_every_example_is_copied_as_written(path):
    text = render_rules(prometheus_rules(load_slos(path.read_text(), path=str(path))))
    for spec in (d for d in yaml.safe_load_all(path.read_text()) if d):
        for metric in metrics_of(spec):
            for matcher in parse_selector(metric).matchers:
                assert str(matcher) in text, (metric, str(matcher))


# --- a Go histogram: the bucket as written, evaluated by Prometheus's own rule tester -------------

GO_LATENCY = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-latency
  namespace: shop
spec:
  target: "99"
  window: 4w
  indicator:
    latency:
      success:
        metric: http_request_duration_seconds_bucket{job="api",le="1"}
      total:
        metric: http_request_duration_seconds_count{job="api"}
"""


def test_a_go_bucket_keeps_its_le_text(tmp_path):
    (slo,) = load_slos(GO_LATENCY, path="go.yaml")
    assert slo.sli == LatencyThreshold('http_request_duration_seconds{job="api"}', 1.0, le="1")
    text = render_rules(prometheus_rules([slo]))
    assert 'le="1"}' in text and 'le="1.0"' not in text
    (tmp_path / "rules.yml").write_text(text)
    check = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "rules.yml")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_promtool_evaluates_the_error_ratio_on_a_go_histogram(tmp_path):
    (slo,) = load_slos(GO_LATENCY, path="go.yaml")
    doc = prometheus_rules([slo])
    (rule,) = [r for r in doc["groups"][0]["rules"] if r["labels"]["sloth_window"] == "5m"]
    (tmp_path / "rules.yml").write_text(render_rules(doc))
    # A Go client (client_golang) exposes `le="1"`, not "1.0"; Prometheus 2 keeps it so.
    # Each minute 8 requests, 6 of them within 1 s (2 within 0.5 s).
    minutes = 30
    series = {'http_request_duration_seconds_bucket{job="api",le="0.5"}': 2,
              'http_request_duration_seconds_bucket{job="api",le="1"}': 6,
              'http_request_duration_seconds_bucket{job="api",le="+Inf"}': 8,
              'http_request_duration_seconds_count{job="api"}': 8}
    # At 30m, rate(x[5m]) takes the 6 samples from 25m to 30m: 5 minutes of increments over
    # 300 s (the samples span the whole range: nothing extrapolated).
    count_rate = 5 * 8 / 300
    good_rate = 5 * 6 / 300
    expected = (count_rate - good_rate) / count_rate  # errors = all - within 1 s
    assert expected == pytest.approx(2 / 8)
    labels = ",".join(f'{k}="{v}"' for k, v in rule["labels"].items())
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": f"0+{n}x{minutes}"}
                             for s, n in series.items()],
            "promql_expr_test": [{
                "expr": rule["record"], "eval_time": f"{minutes}m",
                "exp_samples": [{"labels": f"{rule['record']}{{{labels}}}",
                                 "value": expected}],
            }],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
