"""Every label matcher a spec writes reaches the exported rules as written, in every format.

A matcher selects only the exact text of a label value, so the rules must carry what the
user wrote: `le="1"` (a Go client's bucket) must not become `le="1.0"`, an escape must not
be undone into another spelling, single quotes may stay single. Apollo copies raw queries
(Sloth, OpenSLO without counters, Apollo's own ratios) untouched, and the selectors it reads
(Pyrra metrics, OpenSLO counters, Apollo's histograms) print back each matcher as written.
The one value Apollo chooses itself is the bucket of Apollo's own `latency_threshold`,
which names a threshold, not a matcher: it is written as prometheus_client writes bounds.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from slo.promql import parse_selector
from slo.rules import prometheus_rules, render_rules
from slo.specs import load_slos

PROMTOOL = "/usr/bin/promtool"
# Matchers as users write them: a Go bucket, single quotes, an escape, a zero-padded value,
# a raw string, a negated regex.
MATCHERS = 'job="api",code=~\'5..\',route="/caf\\u00e9",tier="01",zone=`eu-1`,env!~"dev|test"'
GOOD = 'job="api",code!~\'5..\',route="/caf\\u00e9",tier="01",zone=`eu-1`,env!~"dev|test"'

SPECS = {
    "apollo/v1 request ratio": f"""\
apiVersion: apollo/v1
kind: SLO
service: shop
name: availability
objective: 99.9
sli:
  request_ratio:
    errors: |-
      sum(rate(http_requests_total{{{MATCHERS}}}[{{{{.window}}}}]))
    total: |-
      sum(rate(http_requests_total{{{GOOD}}}[{{{{.window}}}}]))
""",
    "apollo/v1 latency threshold": f"""\
apiVersion: apollo/v1
kind: SLO
service: shop
name: latency
objective: 99
sli:
  latency_threshold:
    histogram: |-
      http_request_duration_seconds{{{MATCHERS}}}
    threshold: 250ms
""",
    "sloth prometheus/v1": f"""\
version: prometheus/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: |-
          sum(rate(http_requests_total{{{MATCHERS}}}[{{{{.window}}}}]))
        total_query: |-
          sum(rate(http_requests_total{{{GOOD}}}[{{{{.window}}}}]))
    alerting:
      name: ShopAvailability
""",
    "sloth kubernetes": f"""\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: shop
spec:
  service: shop
  slos:
    - name: availability
      objective: 99.9
      sli:
        raw:
          errorRatioQuery: |-
            sum(rate(http_requests_total{{{MATCHERS}}}[{{{{.window}}}}]))
            /
            sum(rate(http_requests_total{{{GOOD}}}[{{{{.window}}}}]))
      alerting:
        name: ShopAvailability
""",
    "openslo/v1alpha": f"""\
apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: availability
spec:
  service: shop
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good:
          source: prometheus
          queryType: promql
          query: |-
            sum(rate(http_requests_total{{{GOOD}}}[{{{{.window}}}}]))
        total:
          source: prometheus
          queryType: promql
          query: |-
            sum(rate(http_requests_total{{{MATCHERS}}}[{{{{.window}}}}]))
      target: 0.999
""",
    "openslo/v1 counters": f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: shop
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 30d
      isRolling: true
  indicator:
    metadata:
      name: availability-sli
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: |-
                http_requests_total{{{GOOD}}}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: |-
                sum(http_requests_total{{{MATCHERS}}})
  objectives:
    - target: 0.999
""",
    "pyrra ratio": f"""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: availability
spec:
  target: "99.9"
  window: 4w
  indicator:
    ratio:
      errors:
        metric: |-
          http_requests_total{{{MATCHERS}}}
      total:
        metric: |-
          http_requests_total{{{GOOD}}}
""",
    "pyrra latency": f"""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: latency
spec:
  target: "99"
  window: 2w
  indicator:
    latency:
      success:
        metric: |-
          http_request_duration_seconds_bucket{{{MATCHERS},le="1"}}
      total:
        metric: |-
          http_request_duration_seconds_count{{{MATCHERS}}}
""",
    "pyrra latency grouped": f"""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: latency
spec:
  target: "99"
  window: 1w
  indicator:
    latency:
      grouping: [route]
      success:
        metric: |-
          http_request_duration_seconds_bucket{{{MATCHERS},le="0.50"}}
      total:
        metric: |-
          http_request_duration_seconds_count{{{MATCHERS}}}
""",
    "pyrra bool gauge": f"""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: probes
spec:
  target: "99"
  window: 2w
  indicator:
    bool_gauge:
      metric: |-
        probe_success{{{MATCHERS}}}
""",
}


def written_matchers(text: str) -> list[str]:
    """Each matcher of each selector in the spec's queries, as its text spells it."""
    return [str(m) for selector in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*\{[^{}]+\}", text)
            for m in parse_selector(selector).matchers]


@pytest.mark.parametrize("fmt", list(SPECS))
def test_every_matcher_reaches_the_rules_as_written(tmp_path, fmt):
    text = SPECS[fmt]
    rules = render_rules(prometheus_rules(load_slos(text, path=f"{fmt}.yaml")))
    matchers = written_matchers(text)
    assert len(matchers) >= 6
    assert 'route="/caf\\u00e9"' in matchers and "zone=`eu-1`" in matchers
    for matcher in matchers:
        assert matcher in rules, matcher
    path = tmp_path / "rules.yml"
    path.write_text(rules)
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(("fmt", "bucket"), [
    pytest.param("pyrra latency", 'le="1"', id="Pyrra's le=1 stays 1"),
    pytest.param("pyrra latency grouped", 'le="0.50"', id="Pyrra's le=0.50 stays 0.50"),
    pytest.param("apollo/v1 latency threshold", 'le="0.25"',
                 id="Apollo's 250ms threshold: prometheus_client's text"),
])
def test_the_bucket_matcher_is_the_one_the_spec_means(fmt, bucket):
    rules = render_rules(prometheus_rules(load_slos(SPECS[fmt], path="spec.yaml")))
    buckets = {part.split("}")[0].split(",")[-1] for part in rules.split("_bucket{")[1:]}
    assert buckets == {bucket}


def test_the_spec_files_here_are_the_formats_apollo_reads():
    formats = {load_slos(text, path="spec.yaml")[0].source.format for text in SPECS.values()}
    assert formats == {"apollo/v1", "prometheus/v1", "sloth.slok.dev/v1", "openslo/v1alpha",
                       "openslo/v1", "pyrra.dev/v1alpha1"}
    assert Path(PROMTOOL).is_file()
