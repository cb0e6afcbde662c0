"""Inputs the fuzzer found that once gave a traceback or hung; each is now a located error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectors.cost import parse_allocation, parse_cost_csv
from services.config import load_settings
from services.errors import ConfigError
from slo.durations import parse_duration
from slo.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_a_duration_of_65_thousand_digits_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(ValueError, match="is longer than 10 years"):
        parse_duration("1m" + "9" * 65_537)
    assert time.monotonic() - started < 1  # not a conversion of 65k digits


def test_a_nul_in_the_data_dir_is_a_located_config_error(tmp_path):
    path = tmp_path / "apollo.yaml"
    path.write_text('data_dir: "\\0"\n')
    with pytest.raises(ConfigError, match=r":1: data_dir: a path cannot hold a NUL"):
        load_settings(path)


def test_an_opencost_step_that_is_not_a_mapping_is_named():
    with pytest.raises(InputError, match=r"o.json: data\[0\]: expected an allocation set"):
        parse_allocation({"code": 200, "data": [1.5]}, source="o.json")


def test_a_csv_cell_past_the_field_limit_is_named_with_its_line():
    with pytest.raises(InputError, match=r"c.csv:2: not CSV: field larger"):
        parse_cost_csv("component,monthly_cost\nA," + "x" * 200_000 + "\n", source="c.csv")


def test_rules_for_a_period_without_alert_windows_name_the_spec(tmp_path):
    spec = tmp_path / "weekly.yaml"
    shutil.copy(ROOT / "slos" / "payment-service.yaml", spec)
    spec.write_text(spec.read_text().replace("period: 30d", "period: 9d"))
    result = subprocess.run([sys.executable, "-c", "from services.cli import main; main()",
                             "slo", "rules", str(spec)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{spec}:" in result.stderr and "no alert windows for a 9d period" in result.stderr


@pytest.mark.parametrize(("payload", "expected"), [
    ('{"data": [{"a": {"totalCost": 1e30}}]}', "expected a cost from 0 to 1e15"),
    ('{"data": [{"a": {"totalCost": ' + "9" * 400 + "}}]}", "expected a cost from 0 to 1e15"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ('{"data": [{"a": {"totalCost": ' + "9" * 5000 + "}}]}", "not JSON Apollo can read"),
], ids=["1e30", "400 digits", "deep nesting", "5,000 digits"])
def test_opencost_numbers_and_nesting_past_reason_are_named(payload, expected):
    with pytest.raises(InputError, match=expected):
        parse_allocation(payload, source="o.json")


def test_an_allocation_starting_in_year_one_is_read_without_its_time():
    table = parse_allocation('{"data": [{"a": {"totalCost": 1, "start": '
                             '"0001-01-01T00:00:00+01:00"}}]}', source="o.json")
    assert [str(line.monthly_cost) for line in table.lines] == ["1.00"]


def test_a_cost_cell_past_a_quadrillion_is_named():
    with pytest.raises(InputError, match=r"c.csv:2: monthly_cost: .* is past"):
        parse_cost_csv("component,monthly_cost\nA," + "9" * 400 + "\n", source="c.csv")


def test_a_label_of_a_megabyte_is_refused_before_rules_are_made():
    from slo.specs import load_slos

    text = (ROOT / "slos" / "payment-service.yaml").read_text().replace(
        "service: payment-service", "service: " + "x" * 1_048_577, 1)
    with pytest.raises(InputError, match=r"p.yaml:\d+: service: 1,048,577 characters"):
        load_slos(text, path="p.yaml")


def test_two_near_max_gauges_in_a_minute_keep_the_state_file_readable():
    from collectors.scrape.increases import TargetIncreases, state_from_json, state_to_json
    from collectors.scrape.parse import parse_page

    page = parse_page("# TYPE g gauge\ng 1.7976931348623157e+308\n")
    state = TargetIncreases()
    for t in (1020.0, 1030.0, 1040.0):  # one minute: their sum would be inf
        state.observe(t, page)
    restored = state_from_json(state_to_json(state))
    assert restored.gauge_sums[1020] == {("g", ()): [1.7976931348623157e308, 1.0]}


def test_a_family_that_reads_only_line_by_line_costs_the_page_only_that_family():
    from collectors.scrape.parse import parse_page

    page = parse_page("# TYPE up gauge\nup 1\n# TYPE cache_created counter\ncache_created 1e400\n"
                      '# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 5\n')
    assert page.values == {("up", ()): 1.0,
                           ("http_requests_total", (("code", "200"),)): 5.0}
    assert page.bad_lines  # and the odd family is reported


def test_an_infinite_created_counter_is_reported_at_its_own_line():
    """`x_created` under `# TYPE x_created counter` with a value past float range: read
    alone, the line means nothing to either parser, and was reported at line 0."""
    from collectors.scrape.parse import parse_page

    lines = (ROOT / "tests/data/pages/counters.prom").read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("cache_created "))
    lines[at] = "cache_created 3" + "9" * 65_537
    (bad,) = parse_page("\n".join(lines)).bad_lines
    assert (bad.line, bad.reason) == (at + 1, "counter value +Inf cannot be counted")
