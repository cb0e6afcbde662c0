"""The demo fleet's model: figures checked against the platform table by a second method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import PROFILES, T0, gauge, histogram_quantile, page_histogram, requests_by_code

from services.fleet.faults import Fault, FaultBoard
from services.fleet.model import LatencyModel, LoadModel, bucket_bounds, daily_factor
from services.fleet.simulator import ServiceSimulator, metrics_page


@pytest.mark.parametrize("slug", list(PROFILES))
def test_a_bucket_bound_sits_on_the_p95_objective(slug):
    p95_s = PROFILES[slug].p95_ms / 1000
    assert p95_s in bucket_bounds(p95_s)


@pytest.mark.parametrize("p95_ms", [3, 12, 45, 120])
def test_the_latency_model_has_its_p95_where_asked(p95_ms):
    model = LatencyModel(p95_ms / 1000)
    assert model.cdf(np.array([p95_ms / 1000]))[0] == pytest.approx(0.95, abs=1e-12)
    samples = np.random.default_rng(1).lognormal(math.log(model.median_s), model.sigma, 200_000)
    assert np.quantile(samples, 0.95) == pytest.approx(p95_ms / 1000, rel=0.01)
    assert samples.mean() == pytest.approx(model.mean_s(), rel=0.01)


def test_daily_traffic_averages_to_the_baseline():
    model = LoadModel(45_000, seed=3, stream="api", amplitude=0.2, noise=0.02)
    day = model.expected_requests(T0, T0 + 86400)
    assert day / 86400 == pytest.approx(45_000, rel=0.002)
    assert daily_factor(14 * 3600, 0.2) == pytest.approx(1.2)  # the 14:00 UTC peak
    assert daily_factor(2 * 3600, 0.2) == pytest.approx(0.8)


def test_the_load_is_deterministic_for_a_seed():
    a, b, c = (LoadModel(100, seed=s, stream="x") for s in (1, 1, 2))
    times = [T0 + 61 * i for i in range(50)]
    assert [a.rate(t) for t in times] == [b.rate(t) for t in times]
    assert [a.rate(t) for t in times] != [c.rate(t) for t in times]


def simulate(slug: str, seconds: float, faults: FaultBoard | None = None, start: float = T0):
    sim = ServiceSimulator(PROFILES[slug], seed=42, start=start, faults=faults)
    first = metrics_page(sim, start + 60).decode()
    second = metrics_page(sim, start + 60 + seconds).decode()
    return sim, first, second


@pytest.mark.parametrize("slug", list(PROFILES))
def test_pages_reproduce_the_seed_figures_within_ten_percent(slug):
    profile = PROFILES[slug]
    sim, first, second = simulate(slug, 300)
    b1, c1 = page_histogram(first)
    b2, c2 = page_histogram(second)
    assert b1 == b2
    p95 = histogram_quantile(0.95, b2, [y - x for x, y in zip(c1, c2, strict=True)])
    assert p95 == pytest.approx(profile.p95_ms / 1000, rel=0.10)
    assert gauge(second, "process_cpu_usage") == pytest.approx(profile.cpu_ratio, rel=0.10)
    assert gauge(second, "process_resident_memory_bytes") == pytest.approx(
        profile.memory_gib * 2**30, rel=0.10)
    served = sum(requests_by_code(second).values()) - sum(requests_by_code(first).values())
    expected = sim.load.expected_requests(T0 + 60, T0 + 360)
    assert served == pytest.approx(expected, rel=0.001, abs=20)


def test_counters_only_go_up_and_buckets_stay_cumulative():
    sim = ServiceSimulator(PROFILES["payment-service"], seed=1, start=T0)
    previous: dict[str, float] = {}
    for step in range(1, 20):
        page = metrics_page(sim, T0 + 7.5 * step).decode()
        now = requests_by_code(page)
        assert all(now[c] >= previous.get(c, 0) for c in now)
        previous = now
        _, cumulative = page_histogram(page)
        assert cumulative == sorted(cumulative)


def test_an_error_burst_fails_the_asked_share_of_requests():
    board = FaultBoard()
    board.set(Fault("error_burst", until=T0 + 10_000, rate=0.25))
    _, first, second = simulate("payment-service", 600, board)
    before, after = requests_by_code(first), requests_by_code(second)
    delta = {code: after[code] - before[code] for code in after}
    failed = delta["500"] + delta["503"]
    assert failed / sum(delta.values()) == pytest.approx(0.25, rel=0.01)


def test_a_latency_regression_moves_the_p95():
    board = FaultBoard()
    board.set(Fault("latency", until=T0 + 10_000, factor=3.0))
    _, first, second = simulate("auth-service", 300, board)
    bounds, c1 = page_histogram(first)
    _, c2 = page_histogram(second)
    p95 = histogram_quantile(0.95, bounds, [y - x for x, y in zip(c1, c2, strict=True)])
    assert p95 == pytest.approx(3 * 0.008, rel=0.10)


def test_a_fault_ends_by_itself():
    board = FaultBoard()
    board.set(Fault("error_burst", until=T0 + 100, rate=0.5))
    assert board.error_rate(T0 + 99, 0.001) == 0.5
    assert board.error_rate(T0 + 100, 0.001) == 0.001


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"kind": "error_burst", "rate": 1.5}, "rate: expected a share",
                     id="a rate above 1"),
        pytest.param({"kind": "latency", "factor": 0}, "factor: expected a positive",
                     id="a zero latency factor"),
        pytest.param({"kind": "meteor"}, "kind: expected one of", id="an unknown kind"),
    ],
)
def test_bad_faults_are_refused_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Fault(until=T0, **kwargs)


def test_a_restart_starts_counters_from_zero():
    sim = ServiceSimulator(PROFILES["user-service"], seed=1, start=T0)
    before = sum(requests_by_code(metrics_page(sim, T0 + 600).decode()).values())
    sim.restart(T0 + 600)
    after = sum(requests_by_code(metrics_page(sim, T0 + 610).decode()).values())
    assert after < before / 10
    assert after == pytest.approx(sim.load.expected_requests(T0 + 600, T0 + 610), abs=20)
