"""`apollo slo …` as a user runs it: real processes, files, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APOLLO = str(Path(sys.executable).with_name("apollo"))
START = 1_793_577_600  # 2026-11-02 00:00 UTC
SPEC = """\
apiVersion: apollo/v1
kind: SLO
service: shop
name: availability
objective: 99.5
period: 7d
sli:
  request_ratio:
    errors: sum(rate(http_requests_total{job="shop",code=~"5.."}[{{.window}}]))
    total: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
alerting:
  name: ShopAvailability
"""
WINDOWS_7D = ROOT.parent / "shared" / "reference" / "sloth" / "windows-7d.yaml"


def apollo(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APOLLO, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def week_csv(path: Path, *, outage_at: int, minutes: int = 30) -> Path:
    """A week of 100 requests a minute, all failing for `minutes` from minute `outage_at`."""
    total = np.full(7 * 1440, 100)
    bad = np.zeros(7 * 1440, dtype=int)
    bad[outage_at:outage_at + minutes] = 100
    rows = ["timestamp,good,total"]
    for i in range(len(total)):
        stamp = START + 60 * i
        shown = str(stamp) if i % 2 else f"{np.datetime64(stamp, 's')}Z"  # both forms
        rows.append(f"{shown},{total[i] - bad[i]},{total[i]}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SPEC)
    return path


def test_validate_accepts_the_platform_slos():
    result = apollo("slo", "validate", "slos/*.yaml")
    assert result.returncode == 0, result.stderr
    counts = [int(line.split(": ")[1].split()[0]) for line in result.stdout.splitlines()]
    files = sorted((ROOT / "slos").glob("*.yaml"))
    documents = [sum(1 for d in yaml.safe_load_all(p.read_text()) if d) for p in files]
    assert len(counts) == len(files) >= 7
    assert sum(counts) == sum(documents)


def test_validate_reports_every_problem_with_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("objective: 99.5", "objective: 101")
                   .replace("period: 7d", "period: soon")
                   .replace("service: shop", "service: ''"))
    result = apollo("slo", "validate", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert all(line.startswith(f"apollo: error: {bad}:") for line in lines)
    assert any(":5: objective: must be below 100, got 101" in line for line in lines), lines


def test_rules_are_written_per_file_and_accepted_by_promtool(tmp_path):
    result = apollo("slo", "rules", "slos/*.yaml", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = sorted(tmp_path.glob("*.rules.yml"))
    assert len(written) == len(list((ROOT / "slos").glob("*.yaml")))
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 2  # the timeslice and the ClickHouse SLOs have no PromQL form
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed (make test installs it)"
    check = subprocess.run([promtool, "check", "rules", *map(str, written)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_rules_for_a_seven_day_period_need_its_windows(spec, tmp_path):
    missing = apollo("slo", "rules", str(spec))
    assert missing.returncode == 1
    assert "no alert windows for a 1w period" in missing.stderr
    ok = apollo("slo", "rules", str(spec), "--windows", str(WINDOWS_7D))
    assert ok.returncode == 0, ok.stderr
    assert "(13.44 * 0.005)" in ok.stdout  # 8% of 7d in 1h; (100 - 99.5) / 100 is exact


def test_report_by_hand(spec, tmp_path):
    data = week_csv(tmp_path / "data.csv", outage_at=5 * 1440)
    result = apollo("slo", "report", "--spec", str(spec), "--data", str(data), "--windows",
                    str(WINDOWS_7D), "--json", "--at", str(START + 60 * (5 * 1440 + 30)))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # 3000 bad of 7230 minutes x 100 requests so far; 0.5% allowed
    assert report["bad"] == 3000
    assert report["budget"]["remaining"] == pytest.approx(1 - 3000 / (723_000 * 0.005))
    windows = {w["window"]: w["burn_rate"] for w in report["windows"]}
    assert windows["5m"] == pytest.approx(1 / 0.005)  # all 5 minutes failed
    assert windows["1h"] == pytest.approx(3000 / 6000 / 0.005)
    assert [a["firing"] for a in report["alerts"]] == [True, True]
    assert "NaN" not in result.stdout


def test_report_defaults_to_the_end_of_the_data_and_reads_as_text(spec, tmp_path):
    data = week_csv(tmp_path / "data.csv", outage_at=2 * 1440)
    result = apollo("slo", "report", "--spec", str(spec), "--data", str(data), "--windows",
                    str(WINDOWS_7D))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "shop-availability: objective 99.5% over 1w (rolling), at 2026-11-09 00:00 UTC" in text
    assert f"{(1 - 3000 / 5040) * 100:.1f}% left" in text  # the whole week: 5040 allowed
    assert "page          ok" in text


def test_backtest_lists_the_outage_and_its_detection(spec, tmp_path):
    data = week_csv(tmp_path / "data.csv", outage_at=5 * 1440)
    result = apollo("slo", "backtest", "--spec", str(spec), "--data", str(data), "--windows",
                    str(WINDOWS_7D), "--json")
    assert result.returncode == 0, result.stderr
    backtest = json.loads(result.stdout)
    (incident,) = backtest["incidents"]
    assert incident["start"] == START + 60 * 5 * 1440
    assert incident["detection_s"] == 300  # the page pair needs 5 failed minutes (see math)
    assert [f["severity"] for f in backtest["firings"]] == ["page", "ticket"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(["2026-11-02T00:00:30Z,1,1"], ":2: timestamp: '2026-11-02T00:00:30Z' is "
                     "not on a minute", id="a timestamp off the minute"),
        pytest.param(["1793577600,5,4"], ":2: good: 5 is more than total 4",
                     id="more good than total"),
        pytest.param(["1793577600,x,4"], ":2: good: expected a number, got 'x'",
                     id="not a number"),
        pytest.param(["1793577600,1,1", "1793577600,1,1"], ":3: timestamp: minute already "
                     "given on line 2", id="a duplicate minute"),
        pytest.param(["yesterday,1,1"], ":2: timestamp: expected ISO 8601 or Unix seconds",
                     id="an unreadable time"),
    ],
)
def test_bad_data_lines_are_named(spec, tmp_path, rows, expected):
    data = tmp_path / "data.csv"
    data.write_text("timestamp,good,total\n" + "\n".join(rows) + "\n")
    result = apollo("slo", "report", "--spec", str(spec), "--data", str(data))
    assert result.returncode == 1
    assert f"apollo: error: {data}{expected}" in result.stderr, result.stderr


def test_usage_errors_exit_2(spec):
    assert apollo("slo", "report", "--spec", str(spec)).returncode == 2
    assert apollo("slo", "rules").returncode == 2


def test_at_takes_the_time_grammar(spec, tmp_path):
    data = week_csv(tmp_path / "data.csv", outage_at=5 * 1440)
    at = START + 60 * (5 * 1440 + 30)
    args = ("slo", "report", "--spec", str(spec), "--data", str(data), "--windows",
            str(WINDOWS_7D), "--json", "--at")
    by_seconds = apollo(*args, str(at))
    by_iso = apollo(*args, "2026-11-07T00:30:00+00:00")  # START + 5 days 30 minutes
    assert by_seconds.returncode == by_iso.returncode == 0, by_iso.stderr
    assert json.loads(by_iso.stdout) == json.loads(by_seconds.stdout)
    bad = apollo(*args, "yesterday")
    assert bad.returncode == 1
    assert bad.stderr == ("apollo: error: --at: expected now, now-1h, now+5m, -7d, an ISO 8601 "
                          "date or datetime (naive = UTC) or Unix seconds, got 'yesterday'\n")
