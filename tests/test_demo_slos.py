"""The demo's SLOs (slos/*.yaml) have the headroom a real team gives them: a clean fleet
raises no page and no ticket at any minute of a day, and spends at most half of each
SLO's error budget; a real error burst or latency regression still pages.

The clean day is the fleet's own history (`write_history`, what `apollo demo` writes on
first start): each service's simulator read at every minute through the collector's page
SLIs into the store. The purchase SLO counts the Analytics Engine's events, made by the
fleet's own event model. Decisions are the SLO engine's (`slo.burn.decide`) over the
SLO's own alert windows.
"""

from __future__ import annotations

import operator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import PROFILES, T0

from collectors.scrape import PageScraper, Target
from collectors.scrape.names import names_by_service
from collectors.scrape.parse import Page
from collectors.scrape.scraper import Fetched
from services.config import EXAMPLE_CONFIG, load_settings
from services.files import expand, load_slo_files
from services.fleet.faults import Fault, FaultBoard
from services.fleet.model import bucket_bounds
from services.fleet.runner import event_writer
from services.fleet.simulator import ServiceSimulator
from services.runtime.history import write_history
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade
from slo.burn import Prefix, decide, error_ratios
from slo.model import SLO, EventRatio, LatencyThreshold, Threshold
from slo.series import MinuteSeries
from slo.windows import slo_windows

ROOT = Path(__file__).resolve().parents[1]
SLOS = {s.id: s for s in load_slo_files(expand([str(ROOT / "slos" / "*.yaml")]))
        if s.service in PROFILES}  # the fleet's services (not Apollo's own API)
DAY_MINUTES = 1440
START = int(T0) - 60 * DAY_MINUTES  # the day of history ends at T0 (10:00 UTC)
# Clean traffic may spend at most this share of an SLO's error budget. The availability
# SLOs of the services failing 0.05% of requests against a 99.9% objective sit exactly
# on it, so the counters' whole numbers get a 0.1% (relative) allowance.
MARGIN = 0.5
WHOLE_NUMBERS = 1.001
COMPARE = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "ge": operator.ge}


def series_from_store(engine, slo_ids, start: int, minutes: int) -> dict[str, MinuteSeries]:
    """Good and total per minute of each SLO, every minute of [start, start + minutes)."""
    with engine.connect() as conn:
        frame = queries.sli(conn, start, start + 60 * minutes, slos=list(slo_ids))
    out = {}
    for slo_id, rows in frame.groupby("slo"):
        index = ((rows["ts"].map(lambda t: int(t.timestamp())) - start) // 60).to_numpy()
        good, total = np.full(minutes, np.nan), np.full(minutes, np.nan)
        good[index], total[index] = rows["good"].to_numpy(), rows["total"].to_numpy()
        out[str(slo_id)] = MinuteSeries.from_counts(start, good, total)
    return out


def event_series(settings, slo: SLO, start: int, minutes: int) -> MinuteSeries:
    """The event SLO's good and total per minute, from the events the fleet writes."""
    sli = slo.sli
    assert isinstance(sli, EventRatio)
    events = event_writer(settings, None).model.generate(start // 60, start // 60 + minutes)
    events = events[events["event_type"].isin(sli.event_types)]
    minute = ((events["timestamp"] - pd.Timestamp(start, unit="s", tz="UTC"))
              // pd.Timedelta(minutes=1)).to_numpy()
    good = COMPARE[sli.op](events[sli.field], sli.value).to_numpy()
    return MinuteSeries.from_counts(
        start, np.bincount(minute[good], minlength=minutes).astype(float),
        np.bincount(minute, minlength=minutes).astype(float))


def decisions(slo: SLO, series: MinuteSeries):
    windows = slo_windows(slo)
    ratios = error_ratios(Prefix.of_series(series), windows.durations)
    return decide(ratios, windows, slo.error_budget_ratio).severities


@pytest.fixture(scope="module")
def clean_day(tmp_path_factory) -> dict[str, MinuteSeries]:
    tmp = tmp_path_factory.mktemp("demo-slos")
    settings = load_settings(EXAMPLE_CONFIG)
    engine = make_engine(f"sqlite:///{tmp / 'apollo.db'}")
    upgrade(engine)
    result = write_history(settings, engine, days=1, end=T0, slos=list(SLOS.values()))
    assert result.problems == []
    day = series_from_store(engine, SLOS, START, DAY_MINUTES)
    engine.dispose()
    for slo in SLOS.values():
        if isinstance(slo.sli, EventRatio):
            day[slo.id] = event_series(settings, slo, START, DAY_MINUTES)
    return day


def test_every_demo_slo_has_a_whole_clean_day(clean_day):
    assert sorted(clean_day) == sorted(SLOS)
    for slo_id, series in clean_day.items():
        assert len(series) == DAY_MINUTES and series.has_data.all(), slo_id
        assert series.totals.sum() > 0, slo_id


@pytest.mark.parametrize("slo_id", sorted(SLOS))
def test_a_clean_day_raises_no_page_and_no_ticket(clean_day, slo_id):
    fired = decisions(SLOS[slo_id], clean_day[slo_id])
    assert set(fired) == {"page", "ticket"}
    for severity, verdicts in fired.items():
        minutes = np.flatnonzero(verdicts)
        assert minutes.size == 0, f"{slo_id}: {severity} at {minutes.size} minute(s)"


@pytest.mark.parametrize("slo_id", sorted(SLOS))
def test_clean_traffic_spends_at_most_half_the_error_budget(clean_day, slo_id):
    series = clean_day[slo_id]
    ratio = series.bad.sum() / series.totals.sum()
    assert ratio <= MARGIN * SLOS[slo_id].error_budget_ratio * WHOLE_NUMBERS, slo_id


@pytest.mark.parametrize("slo_id", sorted(s.id for s in SLOS.values()
                                          if isinstance(s.sli, LatencyThreshold | Threshold)))
def test_latency_thresholds_are_bucket_bounds_above_the_baseline_p95(slo_id):
    slo = SLOS[slo_id]
    p95_s = PROFILES[slo.service].p95_ms / 1000
    threshold = slo.sli.threshold_s if isinstance(slo.sli, LatencyThreshold) else slo.sli.value
    assert threshold in bucket_bounds(p95_s)
    assert threshold >= 1.25 * p95_s


# --- and the SLOs still catch what they are for --------------------------------------------


def scraped_minutes(settings, slug: str, minutes: int, fault: Fault) -> dict[str, MinuteSeries]:
    """One service's minutes through the collector's page SLIs (as `write_history` does),
    with `fault` on its board."""
    import tempfile

    fleet = settings.fleet
    board = FaultBoard()
    board.set(fault)
    sim = ServiceSimulator(PROFILES[slug], seed=fleet.seed, start=START,
                           amplitude=fleet.daily_amplitude, noise=fleet.noise, faults=board)
    slos = [s for s in SLOS.values() if s.service == slug and not isinstance(s.sli, EventRatio)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/apollo.db")
        upgrade(engine)
        target = Target(slug, f"http://history/{slug}/metrics")
        scraper = PageScraper(engine, [target], slos=slos,
                              names=names_by_service(settings.services))
        fetched = []
        for t in range(START, START + 60 * minutes + 1, 60):
            values, types = sim.samples(float(t))
            fetched.append(Fetched(target, float(t), page=Page(values, types)))
        runs = scraper.ingest(fetched)
        assert all(not run.errors for run in runs)
        out = series_from_store(engine, [s.id for s in slos], START, minutes)
        engine.dispose()
    return out


# Faults start after six clean hours, so every page window (up to 6h) is full: a window
# cut short by the start of the data would page early for the wrong reason.
CLEAN_BEFORE = START + 6 * 3600


@pytest.mark.parametrize(
    ("fault", "slo_id", "within"),
    [
        pytest.param(Fault("error_burst", start=CLEAN_BEFORE + 20, until=CLEAN_BEFORE + 620,
                           rate=0.2),
                     "payment-service-availability", 10, id="20% errors for 10 minutes"),
        pytest.param(Fault("latency", start=CLEAN_BEFORE, until=CLEAN_BEFORE + 3600,
                           factor=3.0),
                     "payment-service-latency", 60, id="three times slower for an hour"),
    ],
)
def test_a_real_fault_still_pages(fault, slo_id, within):
    settings = load_settings(EXAMPLE_CONFIG)
    minutes = 8 * 60
    series = scraped_minutes(settings, "payment-service", minutes, fault)
    for other_id, other in series.items():
        fired = decisions(SLOS[other_id], other)
        before = int(fault.start - START) // 60
        assert not any(v[:before].any() for v in fired.values()), other_id
        if other_id != slo_id:  # an error burst is not slow, a slow service does not fail
            assert not fired["page"].any(), other_id
    page = np.flatnonzero(decisions(SLOS[slo_id], series[slo_id])["page"])
    assert page.size > 0, f"{slo_id} did not page"
    first = START + 60 * (page[0] + 1)  # a minute's verdict is known at its end
    assert fault.start < first <= fault.start + 60 * within
