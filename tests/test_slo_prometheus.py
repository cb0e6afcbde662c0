"""The exported rules, evaluated by a real Prometheus over backfilled history, give the
engine's burn rates and budgets.

History goes in with `promtool tsdb create-blocks-from openmetrics`; the recording rules
are evaluated over it with `promtool tsdb create-blocks-from rules`, layer by layer (a rule
that reads another rule's series needs that series backfilled first), each layer's blocks
moved into Prometheus's data directory and Prometheus restarted to load them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import timedelta

import numpy as np
import pytest
import yaml
from harness import start_prometheus

from slo.durations import format_duration
from slo.model import SLO, Period, RequestRatio
from slo.report import report
from slo.rules import prometheus_rules, render_rules
from slo.series import MinuteSeries
from slo.windows import AlertWindows, BurnWindow

pytestmark = pytest.mark.servers
M, H = timedelta(minutes=1), timedelta(hours=1)
DAY_MINUTES = 1440
N = 1000  # requests a minute, even, so Sloth's averaged period ratio equals the true one
WINDOWS_1D = AlertWindows(period=timedelta(days=1), windows=(
    BurnWindow("page", "quick", 5 * M, H, 2),
    BurnWindow("page", "slow", 30 * M, 6 * H, 5),
    BurnWindow("ticket", "quick", 2 * H, 12 * H, 10),
    BurnWindow("ticket", "slow", 6 * H, 18 * H, 10),
))
SLO_UNDER_TEST = SLO(
    service="checkout", name="availability", objective=99.5, period=Period(timedelta(days=1)),
    sli=RequestRatio(
        error_query='sum(rate(shop_errors_total{service="checkout"}[{{.window}}]))',
        total_query='sum(rate(shop_requests_total{service="checkout"}[{{.window}}]))'),
)


def history(start: int) -> MinuteSeries:
    """Two days at N requests a minute; three error bursts, none near the instants checked."""
    bad = np.zeros(2 * DAY_MINUTES)
    for first, length, share in ((600, 20, 0.05), (1700, 10, 0.30), (2300, 45, 0.02)):
        bad[first:first + length] = N * share
    total = np.full(2 * DAY_MINUTES, float(N))
    return MinuteSeries.from_counts(start, total - bad, total)


def openmetrics(series: MinuteSeries) -> str:
    """Counters stepping on the minute, sampled as the minute opens, in its middle and just
    before it closes, so that `rate(x[W])` evaluated at any second of minute K covers exactly
    the W whole minutes before K (see docs/slo-engine.md). promtool evaluates a rule group at
    an offset into each minute that it derives from the group's name.

    They start where long-running counters would be, not at zero: Prometheus does not
    extrapolate a counter below zero, so an error counter at 0 when a window opens would be
    extrapolated less than the request counter (an edge effect the docs explain)."""
    errors = 7_000 + np.concatenate(([0.0], np.cumsum(series.bad)))
    requests = 9_000_000 + np.concatenate(([0.0], np.cumsum(series.totals)))
    lines = ["# TYPE shop_errors counter", "# TYPE shop_requests counter"]
    for name, values in (("shop_errors_total", errors), ("shop_requests_total", requests)):
        for k, value in enumerate(values):
            t = series.start + 60 * k
            for stamp in (f"{t}", f"{t + 30}", f"{t + 59}.999"):
                lines.append(f'{name}{{service="checkout"}} {value:.0f} {stamp}')
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def promtool(*args: str) -> None:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed (make test installs it)"
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def rule_layers(doc: dict) -> list[list[dict]]:
    """Recording rules ordered so that each layer reads only series of earlier layers."""
    rules = [r for g in doc["groups"] for r in g["rules"] if "record" in r]
    names = {r["record"] for r in rules}
    layers, done = [], set()
    while rules:
        ready = [r for r in rules if not ({n for n in names if re.search(
            rf"\b{re.escape(n)}\b", r["expr"])} - done - {r["record"]})]
        assert ready, "recording rules depend on each other in a cycle"
        layers.append(ready)
        done |= {r["record"] for r in ready}
        rules = [r for r in rules if r not in ready]
    return layers


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """(series, prometheus): the history with every recording rule backfilled over it."""
    workdir = tmp_path_factory.mktemp("prometheus-rules")
    start = (int(time.time()) // 3600 - 72) * 3600  # three days ago, on the hour
    series = history(start)
    data = workdir / "om.txt"
    data.write_text(openmetrics(series))
    promtool("tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=720h",
             str(data), str(workdir / "data"))
    doc = prometheus_rules([SLO_UNDER_TEST], windows=WINDOWS_1D)
    rules_file = workdir / "rules.yml"
    rules_file.write_text(render_rules(doc))
    promtool("check", "rules", str(rules_file))
    server = start_prometheus(workdir, rule_files=[rules_file],
                              extra_args=["--storage.tsdb.retention.time=3650d"])
    try:
        for n, layer in enumerate(rule_layers(doc)):
            layer_file = workdir / f"layer{n}.yml"
            layer_file.write_text(yaml.safe_dump({"groups": [{"name": f"l{n}",
                                                              "rules": layer}]}))
            out = workdir / f"blocks{n}"
            promtool("tsdb", "create-blocks-from", "rules", f"--url={server.url}",
                     f"--start={start + 300}", f"--end={series.end}", "--eval-interval=60s",
                     f"--output-dir={out}", "--quiet", str(layer_file))
            server.stop()
            for block in out.iterdir():
                shutil.move(str(block), workdir / "data" / block.name)
            server.start()
        yield series, server
    finally:
        server.stop()


def recorded(server, name: str, t: int) -> float:
    """The rule's value evaluated during the minute that starts at `t` (rules run once a
    minute at an offset), which sees the same whole minutes as the engine at `t`."""
    result = server.query(f'{name}{{sloth_id="checkout-availability"}}', t + 59.9)["result"]
    assert len(result) == 1, (name, t, result)
    stamp, value = result[0]["value"]
    assert t <= float(stamp) < t + 60, (name, t, stamp)
    return float(value)


# instants a full day into the data (every window complete), spread over the second day
INSTANTS = [DAY_MINUTES + 200 + 97 * k for k in range(13)]


def quiet_edges(minute: int) -> bool:
    """No errors in the 5 minutes before the instant nor before the period's start.

    Sloth's period ratio averages the 5-minute ratios recorded over the period, which
    weighs minutes near either end of the period less than the others; with even traffic
    it equals the period's true ratio exactly when those edge minutes have no errors."""
    bad = history(0).bad
    return not bad[minute - 5:minute].any() and not bad[minute - DAY_MINUTES - 5:
                                                         minute - DAY_MINUTES].any()


def test_the_rules_load_and_evaluate_in_prometheus(evaluated):
    _, server = evaluated
    groups = server._api("/api/v1/rules", {})["groups"]
    assert {g["name"] for g in groups} >= {"sloth-slo-sli-recordings-checkout-availability",
                                           "sloth-slo-meta-recordings-checkout-availability",
                                           "sloth-slo-alerts-checkout-availability"}
    assert all(r["health"] != "err" for g in groups for r in g["rules"])


@pytest.mark.parametrize("minute", INSTANTS)
def test_every_window_burns_as_the_engine_says(evaluated, minute):
    series, server = evaluated
    t = series.start + 60 * minute
    mine = report(SLO_UNDER_TEST, series, t, WINDOWS_1D)
    for window in WINDOWS_1D.durations:
        theirs = recorded(server, f"slo:sli_error:ratio_rate{format_duration(window)}", t)
        ours = mine.window(window).error_ratio
        assert ours is not None
        assert theirs == pytest.approx(ours, rel=1e-6, abs=1e-12), window


@pytest.mark.parametrize("minute", [m for m in INSTANTS if quiet_edges(m)])
def test_budget_and_burn_rates_match_the_engine(evaluated, minute):
    series, server = evaluated
    t = series.start + 60 * minute
    mine = report(SLO_UNDER_TEST, series, t, WINDOWS_1D)
    remaining = recorded(server, "slo:period_error_budget_remaining:ratio", t)
    assert remaining == pytest.approx(mine.budget.remaining_ratio, rel=1e-6, abs=1e-9)
    current = recorded(server, "slo:current_burn_rate:ratio", t)
    assert current == pytest.approx(mine.current_burn_rate, rel=1e-6, abs=1e-9)
    period = recorded(server, "slo:period_burn_rate:ratio", t)
    assert period == pytest.approx(mine.period_burn_rate, rel=1e-6, abs=1e-9)


def test_alert_expressions_agree_with_the_engine_decisions(evaluated):
    series, server = evaluated
    doc = prometheus_rules([SLO_UNDER_TEST], windows=WINDOWS_1D)
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    fired_somewhere = False
    for minute in range(DAY_MINUTES + 5, 2 * DAY_MINUTES, 13):
        t = series.start + 60 * minute
        mine = report(SLO_UNDER_TEST, series, t, WINDOWS_1D)
        for rule, status in zip(alerts, mine.alerts, strict=True):
            theirs = bool(server.query(rule["expr"], t + 59.9)["result"])
            assert theirs == status.firing, (minute, status.severity)
            fired_somewhere |= theirs
    assert fired_somewhere, "the history should make at least one alert fire"


def test_a_budget_of_the_whole_history_is_what_the_engine_reports(evaluated):
    series, _ = evaluated
    end = report(SLO_UNDER_TEST, series, series.end, WINDOWS_1D).budget
    # by hand: the last day holds the 1700 (10 x 300 bad) and 2300 (45 x 20 bad) bursts
    assert end.bad == 10 * 300 + 45 * 20
    assert end.remaining_ratio == pytest.approx(1 - 3900 / (1440 * N * 0.005))
