"""The many-SLO evaluator agrees, minute by minute, with the one-SLO engine it speeds up."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from slo.batch import Plan, current, current_from_prefix, evaluate, prefix_sums
from slo.budget import rolling_remaining
from slo.burn import Prefix, decide, error_ratios
from slo.windows import GOOGLE_30D, AlertWindows, BurnWindow

H, M = timedelta(hours=1), timedelta(minutes=1)
SMALL = AlertWindows(period=timedelta(days=1), windows=(
    BurnWindow("page", "quick", 5 * M, H, 2), BurnWindow("page", "slow", 30 * M, 6 * H, 5),
    BurnWindow("ticket", "quick", 2 * H, 12 * H, 10),
    BurnWindow("ticket", "slow", 6 * H, 18 * H, 10)))


def history(rows: int, minutes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random traffic with bursts, quiet minutes and gaps (NaN)."""
    rng = np.random.default_rng(seed)
    total = rng.poisson(200, size=(rows, minutes)).astype(float)
    total[:, rng.integers(0, minutes, 30)] = 0  # minutes without requests
    total[:, rng.integers(0, minutes, 30)] = np.nan  # minutes without data
    share = np.where(rng.random((rows, minutes)) < 0.03, 0.3, 0.002)
    bad = np.floor(np.nan_to_num(total) * share)
    return np.where(np.isnan(total), np.nan, total - bad), total


@pytest.mark.parametrize(("workers", "chunk_rows"), [(1, 1), (2, 3)])
def test_every_minute_matches_the_single_slo_engine(workers, chunk_rows):
    good, total = history(5, 3 * 1440, seed=workers)
    budgets = np.array([0.001, 0.005, 0.01, 0.05, 0.1])
    plan = Plan.of(SMALL)
    seen: dict[int, dict] = {}

    def visit(chunk) -> None:
        for k, row in enumerate(range(chunk.rows.start, chunk.rows.stop)):
            seen[row] = {s: v[k].copy() for s, v in chunk.severities.items()}
            seen[row]["remaining"] = chunk.remaining[k].copy()

    evaluate(good, total, budgets, plan, chunk_rows=chunk_rows, workers=workers, visit=visit)
    for row, budget in enumerate(budgets):
        bad = np.nan_to_num(total[row] - good[row])
        prefix = Prefix.of(bad, np.nan_to_num(total[row]))
        decisions = decide(error_ratios(prefix, SMALL.durations), SMALL, budget)
        for severity in ("page", "ticket"):
            assert np.array_equal(seen[row][severity], decisions.severities[severity]), severity
        want = rolling_remaining(prefix, SMALL.period, budget)
        assert np.allclose(seen[row]["remaining"], want, rtol=1e-12, equal_nan=True)


def test_the_current_verdict_two_ways_matches_the_last_minute():
    good, total = history(8, 4 * 1440, seed=7)
    budgets = np.full(8, 0.01)
    plan = Plan.of(GOOGLE_30D)
    limits = plan.limits(budgets)
    from_prefix = current_from_prefix(*prefix_sums(good, total), limits, plan)
    from_minutes = current(good, total, limits, plan)
    for row in range(8):
        bad = np.nan_to_num(total[row] - good[row])
        decisions = decide(error_ratios(Prefix.of(bad, np.nan_to_num(total[row])),
                                        GOOGLE_30D.durations), GOOGLE_30D, 0.01)
        for severity in ("page", "ticket"):
            last = bool(decisions.severities[severity][-1])
            assert from_prefix.severities[severity][row] == last
            assert from_minutes.severities[severity][row] == last
