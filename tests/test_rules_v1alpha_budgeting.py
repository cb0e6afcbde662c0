"""Sloth parity: `rules` ignores an OpenSLO v1alpha budgetingMethod (with a warning) and
writes the error-ratio rules Sloth writes; `report` still judges the slices."""

# ruff: noqa: E501 (the spec keeps Sloth's integration queries on one line)
from __future__ import annotations

from pathlib import Path

from test_slo_cli import apollo

from slo.specs import load_slos

SPEC = """apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: slo1
  displayName: Integration test SLO1
spec:
  service: svc01
  description: "this is SLO1."
  budgetingMethod: {method}
  objectives:
    - ratioMetrics:
        good:
          source: prometheus
          queryType: promql
          query: sum(rate(http_request_duration_seconds_count{{job="myservice",code!~"(5..|429)"}}[{{{{.window}}}}]))
        total:
          source: prometheus
          queryType: promql
          query: sum(rate(http_request_duration_seconds_count{{job="myservice"}}[{{{{.window}}}}]))
      target: 0.999{slice}
  timeWindows:
    - count: 30
      unit: Day
"""


def spec(method: str) -> str:
    slice_target = "\n      timeSliceTarget: 0.95" if method == "Timeslices" else ""
    return SPEC.format(method=method, slice=slice_target)


def test_rules_write_for_timeslices_what_they_write_for_occurrences(tmp_path: Path) -> None:
    (tmp_path / "sliced.yaml").write_text(spec("Timeslices"))
    (tmp_path / "counted.yaml").write_text(spec("Occurrences"))
    sliced = apollo("slo", "rules", str(tmp_path / "sliced.yaml"))
    counted = apollo("slo", "rules", str(tmp_path / "counted.yaml"))
    assert sliced.returncode == 0 and counted.returncode == 0, sliced.stderr + counted.stderr
    assert sliced.stdout == counted.stdout
    assert "groups:" in sliced.stdout and "slo:sli_error:ratio_rate5m" in sliced.stdout
    assert "budgetingMethod timeslices ignored by the rules, as Sloth ignores it" in (
        sliced.stderr)
    assert "ignored" not in counted.stderr


def test_the_spec_still_says_timeslices_for_report_and_backtest() -> None:
    (slo,) = load_slos(spec("Timeslices"), path="sliced.yaml")
    assert slo.budgeting == "timeslices"
    assert slo.timeslices is not None
