"""Backtest benchmark: `slo.backtest.backtest` against the quadratic version it replaced.

Run: .venv/bin/python bench/backtest.py [--minutes 100000,400000,2000000] [--repeat 5]
     [--old-repeat 3] [--old-max-minutes 400000]

The data (built once per size with numpy, not timed): a 99.9% SLO over 30 days with the
`GOOGLE_30D` windows; 100-500 requests a minute on a daily curve, background errors at a
third of the budget (so a single failed request makes a quiet minute burn over 2x: the
inferred incidents are many and short, as on a real low-traffic service), one incident a
week (10-360 minutes at 1-20% errors) and a collector gap a week (1-60 minutes without data).
Timed: `backtest(slo, series, GOOGLE_30D).to_dict()` with incidents inferred, as
`apollo slo backtest` runs it. The old version (kept below as it was, `old_backtest`) rescans
the whole series for every incident, so it runs only up to `--old-max-minutes`; wherever it
runs, both results must be equal.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from slo.backtest import Backtest, Firing, Incident, backtest, runs  # noqa: E402
from slo.budget import budget_at, require_budget  # noqa: E402
from slo.burn import Decisions, Prefix, decide, error_ratios, never_fires  # noqa: E402
from slo.model import SLO, Period, RequestRatio  # noqa: E402
from slo.series import MINUTE_S, MinuteSeries  # noqa: E402
from slo.windows import GOOGLE_30D, AlertWindows  # noqa: E402

START = 1_767_225_600  # 2026-01-01 00:00 UTC
WEEK = 7 * 1440
SLO_999 = SLO(service="checkout", name="availability", objective=99.9,
              sli=RequestRatio(total_query="t", error_query="e"),
              period=Period(timedelta(days=30)))
TARGET_S = {2_000_000: 10.0}


# --- the data ------------------------------------------------------------------------------------


def realistic_series(minutes: int, seed: int = 13) -> MinuteSeries:
    """Mostly good minutes, an incident and a gap a week (see the module docstring)."""
    rng = np.random.default_rng(seed)
    t = np.arange(minutes)
    rate = 300 + 200 * np.sin(2 * np.pi * t / 1440)
    total = rng.poisson(rate).astype(float)
    share = np.full(minutes, SLO_999.error_budget_ratio / 3)
    for first in rng.integers(0, minutes, max(1, minutes // WEEK)):
        share[first:first + rng.integers(10, 361)] = rng.uniform(0.01, 0.20)
    bad = rng.binomial(total.astype(np.int64), share).astype(float)
    good = total - bad
    for first in rng.integers(0, minutes, max(1, minutes // WEEK)):
        gap = slice(first, first + rng.integers(1, 61))
        good[gap], total[gap] = np.nan, np.nan
    return MinuteSeries.from_counts(START, good, total)


# --- the old version, as it was before the O(n log n) one (baseline only) -----------------------


def old_infer_incidents(series: MinuteSeries, budget_ratio: float) -> list[tuple[int, int]]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(series.totals > 0, series.bad / series.totals, 0.0)
    hot = ratio > 2.0 * budget_ratio
    joined: list[list[int]] = []
    for first, last in runs(hot):
        if joined and first - joined[-1][1] <= 5 + 1:
            joined[-1][1] = last
        else:
            joined.append([first, last])
    return [(series.start + MINUTE_S * a, series.start + MINUTE_S * (b + 1)) for a, b in joined]


def old_incident(series: MinuteSeries, slo: SLO, decisions: Decisions, start: int, end: int
                 ) -> Incident:
    """O(n) per incident: the alert masks, `series.bad` and `budget_at`'s arrays are built
    over the whole series each time."""
    lo = max(0, (start - series.start) // MINUTE_S)
    hi = min(len(series), (end - series.start) // MINUTE_S)
    any_alert = np.zeros(len(series), dtype=bool)
    for fired in decisions.severities.values():
        any_alert |= fired
    page = decisions.severities.get("page", np.zeros(len(series), dtype=bool))

    def first_from(mask: np.ndarray, index: int) -> int | None:
        hits = np.flatnonzero(mask[index:])
        return None if not len(hits) else index + int(hits[0])

    alert_i, page_i = first_from(any_alert, lo), first_from(page, lo)
    spent = None
    if page_i is not None:
        at = int(series.time_at(page_i))
        allowed = budget_at(series, at, slo.period, slo.error_budget_ratio).allowed_bad
        spent = float(series.bad[lo:page_i + 1].sum()) / allowed if allowed > 0 else None
    quiet = first_from(~any_alert, max(hi, lo))
    return Incident(
        start=start, end=end, bad=float(series.bad[lo:hi].sum()),
        first_alert_at=None if alert_i is None else int(series.time_at(alert_i)),
        first_page_at=None if page_i is None else int(series.time_at(page_i)),
        budget_spent_before_page=spent,
        resolved_at=None if quiet is None else int(series.time_at(quiet)),
    )


def old_backtest(slo: SLO, series: MinuteSeries, windows: AlertWindows,
                 incidents: Sequence[tuple[int, int]] | None = None) -> Backtest:
    require_budget(slo)
    ratios = error_ratios(Prefix.of_series(series), windows.durations)
    disabled = [s for s, rule in (("page", slo.alerting.page), ("ticket", slo.alerting.ticket))
                if rule.disabled]
    decisions = decide(ratios, windows, slo.error_budget_ratio,
                       disabled=disabled)  # type: ignore[arg-type]
    firings = []
    for severity, fired in decisions.severities.items():
        for first, last in runs(fired):
            end = None if last + 1 >= len(series) else int(series.time_at(last + 1))
            firings.append(Firing(int(series.time_at(first)), end, severity=severity))
    firings.sort(key=lambda f: (f.start, f.severity))
    spans = incidents if incidents is not None else old_infer_incidents(
        series, slo.error_budget_ratio)
    found = [old_incident(series, slo, decisions, s, e) for s, e in spans]
    return Backtest(slo=slo, start=series.start, end=series.end, firings=firings,
                    incidents=found, never_fire=never_fires(windows, slo.error_budget_ratio))


# --- timing --------------------------------------------------------------------------------------


def timed(run: Callable[..., Backtest], series: MinuteSeries, repeat: int
          ) -> tuple[float, dict[str, Any]]:
    """Median seconds of `repeat` backtests of `series` by `run`, and the last one's result."""
    seconds, result = [], {}
    for _ in range(repeat):
        began = time.perf_counter()
        result = run(SLO_999, series, GOOGLE_30D).to_dict()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="100000,400000,2000000",
                        help="series lengths, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the new version")
    parser.add_argument("--old-repeat", type=int, default=3, help="runs of the old version")
    parser.add_argument("--old-max-minutes", type=int, default=400_000,
                        help="longest series the old (quadratic) version is run on")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line())
    print(f"Python {platform.python_version()}, numpy {np.__version__}; medians of "
          f"{args.repeat} runs (new) and {args.old_repeat} (old); backtest(...).to_dict(), "
          "incidents inferred")
    print()
    print("| minutes | inferred incidents | firings | new s | old s | old / new | target |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for minutes in (int(m) for m in args.minutes.split(",")):
        series = realistic_series(minutes)
        new_s, new = timed(backtest, series, args.repeat)
        old_cell = ratio_cell = "not run (quadratic)"
        if minutes <= args.old_max_minutes:
            old_s, old = timed(old_backtest, series, args.old_repeat)
            if old != new:
                print(f"MISMATCH at {minutes:,} minutes: the new result differs from the old")
                failed = True
            old_cell, ratio_cell = f"{old_s:.3f}", f"{old_s / new_s:,.0f}×"
        target = TARGET_S.get(minutes)
        verdict = "" if target is None else \
            f"< {target:g} s: {'pass' if new_s < target else 'miss'}"
        failed |= target is not None and new_s >= target
        print(f"| {minutes:,} | {len(new['incidents']):,} | {len(new['firings']):,} | "
              f"{new_s:.3f} | {old_cell} | {ratio_cell} | {verdict} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
