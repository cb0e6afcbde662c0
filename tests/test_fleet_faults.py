"""Faults hold from their start to their end: the simulator splits traffic at both times.

With the model's noise and daily curve off (noise 0, amplitude 0) a service serves exactly
its baseline rate, so the counts of any interval are worked out here by hand, piece by
piece, and compared with what the simulator's counters (and its page) show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import PROFILES, T0, Clock, requests_by_code

from services.fleet.faults import Fault, FaultBoard
from services.fleet.model import LatencyModel
from services.fleet.simulator import CLIENT_ERROR_RATIO, ServiceSimulator, metrics_page

PROFILE = PROFILES["payment-service"]
RATE = PROFILE.throughput_rps  # requests a second, exactly, with noise and amplitude off
NORMAL = PROFILE.error_ratio


def quiet_service(clock: Clock) -> ServiceSimulator:
    """The payment service with its load flat at the baseline and a board on `clock`."""
    return ServiceSimulator(PROFILE, seed=1, start=clock.now, amplitude=0.0, noise=0.0,
                            faults=FaultBoard(clock))


def server_errors(sim: ServiceSimulator, now: float) -> float:
    """The (unrounded) 5xx counter at `now`, as a read of the page at `now` advances it."""
    sim.advance(now)
    return float(sim.requests["500"].sum() + sim.requests["503"].sum())


def served(sim: ServiceSimulator, now: float) -> float:
    sim.advance(now)
    return float(sum(v.sum() for v in sim.requests.values()))


@pytest.mark.parametrize(
    ("previous", "injected", "read"),
    [
        pytest.param(T0 + 60, T0 + 100, T0 + 115, id="inside one minute"),
        pytest.param(T0 + 45, T0 + 50, T0 + 75, id="the read interval crosses a minute"),
        pytest.param(T0 + 30, T0 + 90, T0 + 200, id="the fault starts a minute later"),
    ],
)
def test_a_fault_injected_between_two_reads_fails_only_the_traffic_after_it(
        previous, injected, read):
    clock = Clock(T0)
    sim = quiet_service(clock)
    before = server_errors(sim, previous)
    clock.now = injected
    sim.faults.set(Fault("error_burst", until=injected + 600, rate=0.2))
    after = server_errors(sim, read)
    expected = (read - injected) * RATE * 0.2 + (injected - previous) * RATE * NORMAL
    assert after - before == pytest.approx(expected, rel=1e-9)
    assert served(sim, read) == pytest.approx((read - T0) * RATE, rel=1e-9)


def test_a_clear_keeps_the_errors_the_fault_caused():
    """Injected at t0 and cleared at t2 with no read in between: [t0, t2) keeps its
    errors, and from t2 on the service fails at its normal rate again."""
    clock = Clock(T0)
    sim = quiet_service(clock)
    t_prev, t0, t2, t3 = T0 + 60, T0 + 80, T0 + 130, T0 + 150
    before = server_errors(sim, t_prev)
    clock.now = t0
    sim.faults.set(Fault("error_burst", until=t0 + 3600, rate=0.2))
    clock.now = t2
    (ended,) = sim.faults.clear()
    assert (ended.start, ended.until) == (t0, t2)
    after = server_errors(sim, t3)
    expected = ((t0 - t_prev) + (t3 - t2)) * RATE * NORMAL + (t2 - t0) * RATE * 0.2
    assert after - before == pytest.approx(expected, rel=1e-9)


def test_a_fault_that_runs_out_between_reads_ends_at_its_until():
    clock = Clock(T0 + 10)
    sim = quiet_service(clock)
    sim.faults.set(Fault("error_burst", until=T0 + 70, rate=0.5))
    errors = server_errors(sim, T0 + 100)
    assert errors == pytest.approx(60 * RATE * 0.5 + 30 * RATE * NORMAL, rel=1e-9)


def test_the_page_shows_the_split_counts_as_whole_numbers():
    clock = Clock(T0)
    sim = quiet_service(clock)
    first = requests_by_code(metrics_page(sim, T0 + 60).decode())
    clock.now = T0 + 100
    sim.faults.set(Fault("error_burst", until=T0 + 400, rate=0.2))
    second = requests_by_code(metrics_page(sim, T0 + 115).decode())
    failed = sum(second[c] - first[c] for c in ("500", "503"))
    expected = 15 * RATE * 0.2 + 40 * RATE * NORMAL
    series = 2 * len(PROFILE.routes)  # each 5xx series shows its count rounded down
    assert abs(failed - expected) < series


def test_a_latency_fault_slows_only_the_requests_after_it():
    clock = Clock(T0)
    sim = quiet_service(clock)
    p95 = PROFILE.p95_ms / 1000
    at = list(sim.bounds).index(p95)
    sim.advance(T0 + 60)
    fast_before = sim.buckets[:, at].sum()
    clock.now = T0 + 90
    sim.faults.set(Fault("latency", until=T0 + 600, factor=3.0))
    sim.advance(T0 + 120)
    model = LatencyModel(p95)
    slow_share = model.cdf(np.array([p95]), 3.0)[0]
    expected = 30 * RATE * 0.95 + 30 * RATE * slow_share
    assert sim.buckets[:, at].sum() - fast_before == pytest.approx(expected, rel=1e-9)


def test_a_down_service_serves_nothing_while_it_is_down():
    clock = Clock(T0)
    sim = quiet_service(clock)
    clock.now = T0 + 20
    sim.faults.set(Fault("down", until=T0 + 50))
    assert served(sim, T0 + 80) == pytest.approx(50 * RATE, rel=1e-9)


def test_a_fault_with_a_later_start_waits_for_it():
    board = FaultBoard()
    board.set(Fault("error_burst", start=T0 + 60, until=T0 + 120, rate=0.3))
    assert board.error_rate(T0 + 59.9, NORMAL) == NORMAL
    assert board.error_rate(T0 + 60, NORMAL) == 0.3
    assert board.error_rate(T0 + 120, NORMAL) == NORMAL
    assert board.changes(T0, T0 + 600) == [T0 + 60, T0 + 120]
    assert board.changes(T0 + 60, T0 + 120) == []  # the ends of the range are not inside


def test_a_new_fault_of_a_kind_ends_the_one_before_at_its_start():
    clock = Clock(T0)
    board = FaultBoard(clock)
    board.set(Fault("error_burst", until=T0 + 600, rate=0.1))
    board.set(Fault("latency", until=T0 + 600, factor=2))
    clock.now = T0 + 100
    board.set(Fault("error_burst", until=T0 + 300, rate=0.4))
    spans = sorted((f.kind, f.start, f.until, f.rate) for f in board.faults())
    assert spans == [("error_burst", T0, T0 + 100, 0.1), ("error_burst", T0 + 100, T0 + 300, 0.4),
                     ("latency", T0, T0 + 600, 0.0)]


def test_clearing_one_kind_leaves_the_others_and_drops_faults_not_yet_started():
    clock = Clock(T0)
    board = FaultBoard(clock)
    board.set(Fault("latency", until=T0 + 600, factor=2))
    board.set(Fault("down", start=T0 + 300, until=T0 + 400))
    clock.now = T0 + 60
    assert board.clear("down") == []
    assert [f.kind for f in board.faults()] == ["latency"]
    assert board.clear("error_burst") == []
    (ended,) = board.clear("latency")
    assert ended.until == T0 + 60 and board.latency_factor(T0 + 59) == 2


def test_ended_faults_are_forgotten_once_the_simulator_has_counted_past_them():
    clock = Clock(T0)
    sim = quiet_service(clock)
    sim.faults.set(Fault("error_burst", until=T0 + 90, rate=0.2))
    sim.advance(T0 + 60)
    assert len(sim.faults.faults()) == 1  # [T0+60, T0+90) is still to be counted
    sim.advance(T0 + 90)
    assert sim.faults.faults() == []


def test_a_board_without_a_clock_asks_when_to_clear():
    board = FaultBoard()
    board.set(Fault("error_burst", until=T0 + 60, rate=0.2))
    assert board.faults()[0].start is None  # no clock: it holds from the beginning
    assert board.error_rate(-math.inf, NORMAL) == 0.2
    with pytest.raises(TypeError, match="needs now="):
        board.clear()
    (ended,) = board.clear(now=T0 + 30)
    assert ended.until == T0 + 30


def test_a_fault_must_end_after_it_starts():
    with pytest.raises(ValueError, match="until: expected a time after start"):
        Fault("down", start=T0, until=T0)


def test_a_burst_of_every_request_leaves_no_counter_going_down():
    clock = Clock(T0)
    sim = quiet_service(clock)
    sim.faults.set(Fault("error_burst", until=T0 + 600, rate=1.0))
    sim.advance(T0 + 60)
    assert all((v >= 0).all() for v in sim.requests.values())
    assert sim.requests["404"].sum() == 0
    assert server_errors(sim, T0 + 60) == pytest.approx(60 * RATE, rel=1e-9)
    assert CLIENT_ERROR_RATIO > 0  # (what a full burst would otherwise have counted twice)
