"""The SLO math, checked against numbers worked out by hand in the test and a naive loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.budget import budget_at, calendar_start, period_bounds, rolling_remaining
from slo.burn import Prefix, decide, error_ratios, never_fires
from slo.model import SLO, Period, RequestRatio, Timeslices
from slo.report import report
from slo.series import MinuteSeries, counter_increases, cumulative, window_sums
from slo.timeslices import to_timeslices
from slo.windows import GOOGLE_30D, AlertWindows, BurnWindow, burn_factor

H = timedelta(hours=1)
M = timedelta(minutes=1)
WEEK_MINUTES = 7 * 24 * 60
START = 1_793_577_600  # 2026-11-02 00:00 UTC, a Monday

# Sloth's 7-day example windows: (budget %, short, long) per severity and speed
WINDOWS_7D = AlertWindows(period=timedelta(days=7), windows=(
    BurnWindow("page", "quick", 5 * M, H, 8),
    BurnWindow("page", "slow", 30 * M, 6 * H, 12.5),
    BurnWindow("ticket", "quick", 2 * H, 24 * H, 20),
    BurnWindow("ticket", "slow", 6 * H, 72 * H, 42),
))


def slo_995(days: int = 7) -> SLO:
    return SLO(service="shop", name="availability", objective=99.5,
               sli=RequestRatio(total_query="t", error_query="e"),
               period=Period(timedelta(days=days)))


def week_with_burst(error_share: float, burst_start: int, burst_minutes: int = 30):
    """100 requests a minute for a week; `error_share` of them fail during the burst."""
    total = np.full(WEEK_MINUTES, 100.0)
    bad = np.zeros(WEEK_MINUTES)
    bad[burst_start:burst_start + burst_minutes] = 100 * error_share
    return MinuteSeries.from_counts(START, total - bad, total)


# --- the worked example of the issue: 99.5% over 7 days, 30 minutes at 10% errors -------------

BURST = 5 * 24 * 60  # the burst starts on day 6, so every window is full


def test_factors_for_seven_days_by_hand():
    # factor = budget% / 100 * period hours / long-window hours
    assert [burn_factor(w, WINDOWS_7D.period) for w in WINDOWS_7D.windows] == [
        0.08 * 168 / 1, 0.125 * 168 / 6, 0.20 * 168 / 24, 0.42 * 168 / 72]
    assert [round(burn_factor(w, WINDOWS_7D.period), 10) for w in WINDOWS_7D.windows] == [
        13.44, 3.5, 1.4, 0.98]


def test_every_window_at_the_end_of_a_ten_percent_burst():
    series = week_with_burst(0.10, BURST)
    r = report(slo_995(), series, START + 60 * (BURST + 30), WINDOWS_7D)
    # 10 bad per minute for 30 minutes = 300 bad; 100 requests a minute everywhere
    by_hand = {5 * M: 50 / 500, 30 * M: 300 / 3000, H: 300 / 6000, 2 * H: 300 / 12000,
               6 * H: 300 / 36000, 24 * H: 300 / 144000, 72 * H: 300 / 432000}
    for window, ratio in by_hand.items():
        status = r.window(window)
        assert status.error_ratio == pytest.approx(ratio, rel=1e-12), window
        assert status.burn_rate == pytest.approx(ratio / 0.005, rel=1e-12), window
    # budget so far: the data starts 5 days and 30 minutes before, 7230 minutes of 100
    # requests: 3615 bad allowed, 300 spent
    assert r.budget.remaining_ratio == pytest.approx(1 - 300 / 3615, rel=1e-12)
    assert r.budget.minutes_elapsed == 10080 and r.budget.minutes_with_data == 7230
    # at the end of the week: 300 bad of 100 * 10080 * 0.5% = 5040 allowed -> 94.05% left
    week = report(slo_995(), series, series.end, WINDOWS_7D)
    assert week.budget.remaining_ratio == pytest.approx(1 - 300 / 5040, rel=1e-12)
    assert week.budget.budget_minutes == pytest.approx(10080 * 0.005)  # 50.4 minutes
    assert week.budget.spent_minutes == pytest.approx(50.4 * 300 / 5040)  # 3 minutes
    # thresholds 13.44, 3.5, 1.4 and 0.98 x 0.5%: 0.0672, 0.0175, 0.007, 0.0049. Every short
    # window is over its threshold but no long one is: 1h 0.05, 6h 0.0083, 1d 0.0021, 3d 0.0007
    assert [p.firing for a in r.alerts for p in a.pairs] == [False] * 4
    assert [(p.short.error_ratio > p.threshold, p.long.error_ratio > p.threshold)
            for a in r.alerts for p in a.pairs] == [(True, False)] * 4


def test_a_full_outage_pages_from_its_fifth_minute_until_the_30m_window_clears():
    series = week_with_burst(1.0, BURST)
    prefix = Prefix.of_series(series)
    decisions = decide(error_ratios(prefix, WINDOWS_7D.durations), WINDOWS_7D, 0.005)
    page = decisions.severities["page"]
    # page quick: 5m and 1h both over 0.0672. The 1h window holds 6000 requests, so it needs
    # more than 403.2 bad: the 5th outage minute (500 bad) is the first; the 5m window is
    # over from the first minute. It holds until the 5m window has no outage minute left:
    # the last outage minute is BURST+29, so the last 5m window holding it ends at BURST+33.
    quick = decisions.pairs[WINDOWS_7D.windows[0]]
    assert np.flatnonzero(quick).tolist() == list(range(BURST + 4, BURST + 34))
    # page slow: 30m over 0.0175 (more than 52.5 bad: any outage minute) and 6h over 0.0175
    # (36000 requests: more than 630 bad, so 7 outage minutes): from BURST+6 until the 30m
    # window lets go of BURST+29, at BURST+58.
    slow = decisions.pairs[WINDOWS_7D.windows[1]]
    assert np.flatnonzero(slow).tolist() == list(range(BURST + 6, BURST + 59))
    assert np.flatnonzero(page).tolist() == list(range(BURST + 4, BURST + 59))


def test_the_report_and_the_per_minute_decisions_agree_at_every_edge():
    series = week_with_burst(1.0, BURST)
    prefix = Prefix.of_series(series)
    decisions = decide(error_ratios(prefix, WINDOWS_7D.durations), WINDOWS_7D, 0.005)
    for i in range(BURST - 2, BURST + 40):
        r = report(slo_995(), series, START + 60 * (i + 1), WINDOWS_7D)
        assert [a.firing for a in r.alerts] == [decisions.severities["page"][i],
                                                decisions.severities["ticket"][i]], i


def test_the_30_day_windows_page_at_14_4_and_6():
    assert [burn_factor(w, GOOGLE_30D.period) for w in GOOGLE_30D.windows] == [14.4, 6, 3, 1]


def test_a_90_percent_objective_cannot_page_at_14_4():
    impossible = never_fires(GOOGLE_30D, budget_ratio=(100 - 90) / 100)
    assert [(w.severity, w.speed) for w in impossible] == [("page", "quick")]  # 14.4 x 10%


# --- window sums against a naive loop ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=300), st.integers(1, 400))
def test_window_sums_match_a_naive_loop(values, width):
    array = np.array(values, dtype=float)
    fast = window_sums(cumulative(array), width)
    naive = [sum(values[max(0, i - width + 1):i + 1]) for i in range(len(values))]
    assert fast.tolist() == naive


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=200),
       st.sampled_from([1, 5, 30, 60]))
def test_error_ratios_match_a_naive_loop(counts, width):
    bad = np.array([min(b, t) for b, t in counts], dtype=float)
    total = np.array([t for _, t in counts], dtype=float)
    ratio = error_ratios(Prefix.of(bad, total), [width * M])[width * M]
    for i in range(len(counts)):
        b, t = bad[max(0, i - width + 1):i + 1].sum(), total[max(0, i - width + 1):i + 1].sum()
        if t:
            assert ratio[i] == pytest.approx(b / t, rel=1e-12)
        else:
            assert np.isnan(ratio[i])


# --- budgets --------------------------------------------------------------------------------------


def test_rolling_budget_per_minute_matches_the_report():
    series = week_with_burst(0.5, BURST, 60)
    remaining = rolling_remaining(Prefix.of_series(series), timedelta(days=7), 0.005)
    for i in (BURST - 1, BURST + 30, WEEK_MINUTES - 1):
        b = budget_at(series, START + 60 * (i + 1), slo_995().period, 0.005)
        assert remaining[i] == pytest.approx(b.remaining_ratio, rel=1e-12)
    assert remaining[-1] == pytest.approx(1 - 3000 / 5040)


def test_an_overspent_budget_goes_negative():
    series = week_with_burst(1.0, BURST, 120)  # 12,000 bad against 5,040 allowed
    b = budget_at(series, series.end, slo_995().period, 0.005)
    assert b.remaining_ratio == pytest.approx(1 - 12000 / 5040)
    assert b.remaining_requests == pytest.approx(5040 - 12000)


def test_calendar_months_start_on_the_first_in_their_time_zone():
    month = Period(timedelta(days=30), rolling=False, calendar_unit="month",
                   timezone="America/New_York")
    t = int(datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp())
    start, end = period_bounds(t, month)
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 11, 1, 4, tzinfo=UTC)  # EDT
    assert datetime.fromtimestamp(end, UTC) == datetime(2026, 12, 1, 5, tzinfo=UTC)  # EST
    week = Period(timedelta(days=7), rolling=False, calendar_unit="week")
    assert datetime.fromtimestamp(calendar_start(t, week), UTC) == datetime(2026, 11, 23,
                                                                            tzinfo=UTC)


def test_a_calendar_budget_counts_only_this_period():
    day = Period(timedelta(days=1), rolling=False, calendar_unit="day")
    series = week_with_burst(1.0, 24 * 60 - 10, 20)  # 10 minutes on each side of midnight
    b = budget_at(series, START + 2 * 86400, day, 0.005)
    assert (b.bad, b.total) == (1000.0, 144000.0)
    assert b.period_minutes == 1440
    assert b.remaining_ratio == pytest.approx(1 - 1000 / 720)


# --- gaps, counters, timeslices -----------------------------------------------------------------


def test_minutes_without_data_are_gaps_not_numbers():
    total = np.full(60, 10.0)
    total[20:25] = np.nan
    series = MinuteSeries.from_counts(START, total, total)
    r = report(slo_995(1), series, series.end, GOOGLE_30D)
    assert [(g.start, g.minutes) for g in r.gaps] == [(START + 1200, 5)]
    assert r.window(H).minutes_with_data == 55  # the last hour holds the 5-minute gap
    assert not r.window(H).complete
    assert r.window(30 * M).complete
    empty = report(slo_995(1), MinuteSeries.from_counts(START, [np.nan] * 10, [np.nan] * 10),
                   START + 600, GOOGLE_30D)
    assert empty.window(5 * M).error_ratio is None
    assert empty.budget.remaining_ratio is None
    assert "NaN" not in str(empty.to_dict())


def test_counter_resets_count_the_new_value_as_prometheus_does():
    increases = counter_increases(np.array([10, 15, 15, 3, 8, 2]))
    assert np.isnan(increases[0])
    assert increases[1:].tolist() == [5, 0, 3, 5, 2]


def test_timeslices_count_good_minutes():
    slo = SLO(service="api", name="p95", objective=99, budgeting="timeslices",
              timeslices=Timeslices(window=M, slice_target=0.95),
              sli=RequestRatio(total_query="t", good_query="g"))
    good = np.array([96, 94, 100, 0, 95], dtype=float)
    total = np.array([100, 100, 100, 0, 100], dtype=float)
    slices = to_timeslices(MinuteSeries.from_counts(START, good, total), slo)
    assert slices.good.tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(slices.total[3])  # a minute without requests has no verdict
    assert slices.good[4] == 1.0  # exactly at the target counts as good


def test_ratio_timeslices_average_the_slices():
    slo = SLO(service="api", name="r", objective=99, budgeting="ratio_timeslices",
              timeslices=Timeslices(window=2 * M), sli=RequestRatio(total_query="t",
                                                                    good_query="g"))
    good = np.array([9, 10, 5, 5], dtype=float)
    total = np.array([10, 10, 10, 10], dtype=float)
    slices = to_timeslices(MinuteSeries.from_counts(START, good, total), slo)
    # slice 1: 19/20 = 0.95, slice 2: 10/20 = 0.5; SLI = mean = 0.725
    assert slices.good.sum() / slices.total.sum() == pytest.approx((0.95 + 0.5) / 2)


# --- backtest, forecast, attribution --------------------------------------------------------------


def at_end_of(minute_index: int) -> int:
    return START + 60 * (minute_index + 1)


def test_backtest_of_a_full_outage_by_hand():
    from slo.backtest import backtest

    result = backtest(slo_995(), week_with_burst(1.0, BURST), WINDOWS_7D)
    (incident,) = result.incidents  # inferred: the 30 minutes burning over 2x budget pace
    assert (incident.start, incident.end) == (START + 60 * BURST, START + 60 * (BURST + 30))
    assert incident.bad == 3000
    # page first: quick pair at the 5th outage minute (see the decision test above)
    assert incident.first_page_at == incident.first_alert_at == at_end_of(BURST + 4)
    assert incident.detection_s == 300
    # 500 bad before the page; allowed = 0.5% of the 7205 minutes x 100 requests seen
    assert incident.budget_spent_before_page == pytest.approx(500 / (7205 * 100 * 0.005))
    # the last alert to go quiet is the ticket slow pair: its 6h window needs 2 outage
    # minutes (176.4 bad), which it holds until minute BURST+387
    assert incident.resolved_at == at_end_of(BURST + 388)
    assert incident.reset_s == at_end_of(BURST + 388) - (START + 60 * (BURST + 30))
    pages = [f for f in result.firings if f.severity == "page"]
    assert [(f.start, f.end) for f in pages] == [(at_end_of(BURST + 4), at_end_of(BURST + 59))]
    assert result.never_fire == []


def test_backtest_with_given_incidents_and_a_disabled_page():
    from dataclasses import replace

    from slo.backtest import backtest
    from slo.model import Alerting, AlertRule

    quiet = replace(slo_995(), alerting=Alerting(page=AlertRule(disabled=True)))
    result = backtest(quiet, week_with_burst(1.0, BURST),
                      WINDOWS_7D, incidents=[(START + 60 * BURST, START + 60 * (BURST + 30))])
    assert all(f.severity == "ticket" for f in result.firings)
    assert result.incidents[0].first_page_at is None
    # ticket quick: 2h over 0.007 from the first minute, 24h over 0.007 needs 1008 bad: 11
    assert result.incidents[0].first_alert_at == at_end_of(BURST + 10)


def test_forecast_by_hand():
    from slo.forecast import forecast

    total = np.full(3 * 1440, 100.0)
    bad = np.zeros(3 * 1440)
    bad[-60:] = 1.5  # the last hour burns at 3x: 1.5% errors on a 0.5% budget
    series = MinuteSeries.from_counts(START, total - bad, total)
    current, day, week = forecast(slo_995(), series, series.end)
    assert current.burn_rate == pytest.approx(3.0)
    # allowed 0.5% of 432,000 = 2160, spent 90: 2070 left. At 3x, each request spends
    # 0.01 more than it earns, so 207,000 requests: 2070 minutes at 100 a minute
    assert current.hours == pytest.approx(2070 / 60, abs=1 / 60)
    assert current.earliest_hours == current.latest_hours == current.hours  # a flat pattern
    assert day.burn_rate == pytest.approx(90 / 144000 / 0.005)
    assert day.hours is None and week.hours is None  # burning slower than the budget pace


def test_attribution_by_hand():
    from slo.attribution import Marker, attribute

    series = week_with_burst(1.0, BURST)
    shares = attribute(slo_995(), series, series.end, [
        Marker("deploy 2.4.1", START + 60 * (BURST - 10), START + 60 * (BURST + 10), "deploy"),
        Marker("incident 42", START + 60 * BURST, START + 60 * (BURST + 30), "incident"),
    ])
    deploy, incident, rest = shares
    assert (deploy.bad, incident.bad, rest.bad) == (1000.0, 3000.0, 0.0)
    assert deploy.of_spent == pytest.approx(1 / 3)
    assert incident.of_spent == 1.0
    assert incident.of_budget == pytest.approx(3000 / 5040)


def test_a_100_percent_objective_has_no_budget_to_report_on():
    from dataclasses import replace

    from slo.errors import SpecError

    perfect = replace(slo_995(), objective=100)
    with pytest.raises(SpecError, match="objective: an objective of 100% leaves no error budget"):
        report(perfect, week_with_burst(0.1, BURST), START + 86400, WINDOWS_7D)
