"""The backtest (prefix sums and binary searches) equals a slow reference written here from
the definitions: every window summed minute by minute, every incident walked minute by
minute, the budget taken from `budget_at`. Whole-number counts, so both sides add the same
integers and every figure must be equal, not close."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.backtest import INCIDENT_BURN, INCIDENT_JOIN_MINUTES, backtest, infer_incidents
from slo.budget import budget_at
from slo.durations import format_duration
from slo.model import SLO, Alerting, AlertRule, Period, RequestRatio
from slo.series import MinuteSeries
from slo.windows import GOOGLE_30D, AlertWindows, BurnWindow, burn_factor

M = timedelta(minutes=1)
MIDNIGHT = 1_793_577_600  # 2026-11-02 00:00 UTC, a Monday
# a 2-hour period with minute-sized windows, so a few hundred minutes exercise every pair;
# factors 6, 3, 2 and 1
WINDOWS_2H = AlertWindows(period=timedelta(hours=2), windows=(
    BurnWindow("page", "quick", 2 * M, 10 * M, 50),
    BurnWindow("page", "slow", 5 * M, 30 * M, 75),
    BurnWindow("ticket", "quick", 10 * M, 60 * M, 100),
    BurnWindow("ticket", "slow", 30 * M, 120 * M, 100),
))
PERIODS = [
    Period(timedelta(hours=2)),
    Period(timedelta(minutes=45)),
    Period(timedelta(days=1), rolling=False, calendar_unit="day"),
    Period(timedelta(days=1), rolling=False, calendar_unit="day", timezone="America/New_York"),
    Period(timedelta(days=7), rolling=False, calendar_unit="week", timezone="Asia/Kolkata"),
]


def make_slo(objective: float, period: Period, page_off: bool = False,
             ticket_off: bool = False) -> SLO:
    return SLO(service="shop", name="checkout", objective=objective, period=period,
               sli=RequestRatio(total_query="t", error_query="e"),
               alerting=Alerting(page=AlertRule(disabled=page_off),
                                 ticket=AlertRule(disabled=ticket_off)))


# --- the reference: one minute at a time -----------------------------------------------------


def reference(slo: SLO, series: MinuteSeries, windows: AlertWindows,
              incidents: Sequence[tuple[int, int]] | None = None) -> dict[str, Any]:
    """`Backtest.to_dict()` as the docs define it, by loops over minutes."""
    n, s0, budget = len(series), series.start, slo.error_budget_ratio
    total = [0.0 if math.isnan(t) else t for t in series.total.tolist()]
    bad = [0.0 if math.isnan(t) or math.isnan(g) else t - g
           for g, t in zip(series.good.tolist(), series.total.tolist(), strict=True)]

    def ratio(i: int, window: timedelta) -> float | None:
        first = max(0, i - window // M + 1)
        b, t = sum(bad[first:i + 1]), sum(total[first:i + 1])
        return b / t if t > 0 else None

    ratios = {w: [ratio(i, w) for i in range(n)] for w in windows.durations}

    def fires(i: int, w: BurnWindow) -> bool:
        limit = burn_factor(w, windows.period) * budget
        short, long = ratios[w.short][i], ratios[w.long][i]
        return short is not None and long is not None and short > limit and long > limit

    off = {sev for sev, rule in (("page", slo.alerting.page), ("ticket", slo.alerting.ticket))
           if rule.disabled}
    firing = {sev: [sev not in off and any(fires(i, w) for w in windows.of(sev))
                    for i in range(n)]
              for sev in ("page", "ticket") if windows.of(sev)}
    alerting = [any(f[i] for f in firing.values()) for i in range(n)]
    quiet = [not a for a in alerting]
    page = firing.get("page", [False] * n)

    def end_of(i: int) -> int:
        return s0 + 60 * (i + 1)

    firings = []
    for sev, fired in firing.items():
        for i in range(n):
            if fired[i] and (i == 0 or not fired[i - 1]):
                last = i
                while last + 1 < n and fired[last + 1]:
                    last += 1
                firings.append({"start": end_of(i), "end": None if last + 1 >= n
                                else end_of(last + 1), "severity": sev})
    firings.sort(key=lambda f: (f["start"], f["severity"]))

    if incidents is None:  # minutes burning over 2x the budget pace, joined across pauses
        joined: list[list[int]] = []
        for i in range(n):
            if total[i] > 0 and bad[i] / total[i] > INCIDENT_BURN * budget:
                if joined and i - joined[-1][1] <= INCIDENT_JOIN_MINUTES + 1:
                    joined[-1][1] = i
                else:
                    joined.append([i, i])
        incidents = [(s0 + 60 * a, s0 + 60 * (b + 1)) for a, b in joined]

    def first(condition: list[bool], at: int) -> int | None:
        return next((i for i in range(at, n) if condition[i]), None)

    found = []
    for start, end in incidents:
        lo, hi = max(0, (start - s0) // 60), min(n, (end - s0) // 60)  # minutes lo .. hi-1
        alert_i, page_i = first(alerting, lo), first(page, lo)
        quiet_i = first(quiet, max(lo, hi))
        spent = None
        if page_i is not None:
            allowed = budget_at(series, end_of(page_i), slo.period, budget).allowed_bad
            spent = sum(bad[lo:page_i + 1]) / allowed if allowed > 0 else None
        alert_at = None if alert_i is None else end_of(alert_i)
        resolved = None if quiet_i is None else end_of(quiet_i)
        found.append({
            "start": start, "end": end, "bad": sum(bad[lo:hi]) if lo < hi else 0.0,
            "first_alert_at": alert_at,
            "detection_s": None if alert_at is None else alert_at - start,
            "first_page_at": None if page_i is None else end_of(page_i),
            "budget_spent_before_page": spent, "resolved_at": resolved,
            "reset_s": None if resolved is None else max(0, resolved - end),
        })
    never = [{"severity": w.severity, "short": format_duration(w.short),
              "long": format_duration(w.long)} for w in windows.windows
             if burn_factor(w, windows.period) * budget >= 1]
    return {"slo": slo.id, "start": s0, "end": s0 + 60 * n, "firings": firings,
            "incidents": found, "never_fire": never}


# --- series: mostly good, bursts, gaps -------------------------------------------------------


def noisy_series(start: int, n: int, seed: int, bursts: int, gaps: int,
                 background: float = 0.002) -> MinuteSeries:
    """~20 requests a minute with rare background errors, `bursts` error bursts (5-100% of
    requests for 1-40 minutes) and `gaps` runs of minutes without data (some with a stray
    good count beside the missing total)."""
    rng = np.random.default_rng(seed)
    total = rng.poisson(20, n).astype(float)
    bad = rng.binomial(total.astype(int), background).astype(float)
    for _ in range(bursts):
        first, length = int(rng.integers(0, n)), int(rng.integers(1, 41))
        share = float(rng.uniform(0.05, 1.0))
        bad[first:first + length] = rng.binomial(total[first:first + length].astype(int), share)
    good = total - bad
    for _ in range(gaps):
        first, length = int(rng.integers(0, n)), int(rng.integers(1, 30))
        total[first:first + length] = np.nan
        if rng.random() < 0.5:
            good[first:first + length] = np.nan
    return MinuteSeries.from_counts(start, good, total)


@st.composite
def cases(draw: st.DrawFn) -> tuple[SLO, MinuteSeries, list[tuple[int, int]] | None]:
    n = draw(st.integers(1, 360))
    start = MIDNIGHT - 60 * draw(st.integers(0, 400))  # often across a midnight
    series = noisy_series(start, n, draw(st.integers(0, 2**32 - 1)),
                          bursts=draw(st.integers(0, 4)), gaps=draw(st.integers(0, 3)))
    objective = draw(st.sampled_from([80.0, 90.0, 99.0, 99.5]))  # 80%: page quick never fires
    slo = make_slo(objective, draw(st.sampled_from(PERIODS)), page_off=draw(st.booleans()),
                   ticket_off=draw(st.booleans()))
    if draw(st.booleans()):
        return slo, series, None  # inferred
    # given: anywhere from before the data to after it, not always on a minute, overlapping
    edge = st.integers(start - 3000, start + 60 * n + 3000)
    spans = draw(st.lists(st.tuples(edge, st.integers(1, 6000)), max_size=6))
    return slo, series, [(s, s + length) for s, length in spans]


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_backtest_equals_the_minute_by_minute_reference(case):
    slo, series, incidents = case
    result = backtest(slo, series, WINDOWS_2H, incidents=incidents).to_dict()
    assert result == reference(slo, series, WINDOWS_2H, incidents)


@pytest.mark.parametrize("seed", range(3))
def test_the_30_day_windows_over_five_days_equal_the_reference(seed):
    """The shipped window set over enough minutes for its hours-long windows to fill."""
    series = noisy_series(MIDNIGHT, 5 * 1440, seed, bursts=6, gaps=3, background=0.0005)
    slo = make_slo(99.0, Period(timedelta(days=2)))
    windows = replace(GOOGLE_30D, period=timedelta(days=2))
    result = backtest(slo, series, windows).to_dict()
    assert result["incidents"] and result["firings"]
    assert result == reference(slo, series, windows)


def test_an_incident_before_or_after_the_data_has_no_minutes_of_it():
    series = noisy_series(MIDNIGHT, 300, 7, bursts=2, gaps=0)
    slo = make_slo(99.0, PERIODS[0])
    before = (MIDNIGHT - 7200, MIDNIGHT - 3600)
    after = (series.end + 60, series.end + 600)
    early, late = backtest(slo, series, WINDOWS_2H, incidents=[before, after]).incidents
    assert early.bad == 0.0  # not the data's minutes counted from its end
    assert late.bad == 0.0 and late.first_alert_at is None and late.resolved_at is None
    assert backtest(slo, series, WINDOWS_2H, incidents=[]).incidents == []


def test_inferred_incidents_join_pauses_up_to_five_minutes():
    total = np.full(60, 100.0)
    bad = np.zeros(60)
    bad[[10, 11, 17, 24, 40]] = 50  # 11 -> 17: a 5-minute pause; 17 -> 24: 6 minutes
    series = MinuteSeries.from_counts(MIDNIGHT, total - bad, total)
    at = [(MIDNIGHT + 60 * a, MIDNIGHT + 60 * b) for a, b in ((10, 18), (24, 25), (40, 41))]
    assert infer_incidents(series, 0.01) == at
    assert infer_incidents(MinuteSeries.from_counts(MIDNIGHT, total, total), 0.01) == []
