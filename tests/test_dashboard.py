"""The platform table's figures from the store (services/documents/platform.py); the fleet
overview that shows them is tested in test_dashboard_fleet.py."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import PROFILES, fill_store_from_fleet, histogram_quantile

from services.config import EXAMPLE_CONFIG, load_settings
from services.documents.platform import p95_by_interval, service_summary
from services.fleet.model import LoadModel
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade
from slo.histogram import histogram_quantile as vectorised_quantile

NOW = (time.time() // 60) * 60


@pytest.fixture
def seeded_store(tmp_path):
    """A SQLite store holding the last 30 minutes of the whole fleet, as a collector would."""
    url = f"sqlite:///{tmp_path / 'var' / 'apollo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    fill_store_from_fleet(engine, NOW - 1800, 30)
    yield url, engine
    engine.dispose()


# --- histogram quantiles -----------------------------------------------------------------


@given(st.lists(st.integers(0, 1000), min_size=2, max_size=12),
       st.floats(0.01, 0.99))
def test_vectorised_quantile_matches_the_written_out_one(increments, q):
    counts = np.cumsum(increments).astype(float)
    bounds = [0.001 * 2**i for i in range(len(counts) - 1)] + [math.inf]
    got = vectorised_quantile(q, np.array(bounds), counts)[0]
    if counts[-1] == 0:
        assert math.isnan(got)
    else:
        assert got == pytest.approx(histogram_quantile(q, bounds, list(counts)), rel=1e-12)


@pytest.mark.parametrize(
    ("bounds", "counts", "q", "expected"),
    [
        pytest.param([0.1, 0.2, math.inf], [0, 0, 0], 0.5, math.nan, id="no observations"),
        pytest.param([0.1, 0.2], [5, 10], 0.5, math.nan, id="no +Inf bucket"),
        pytest.param([0.1, 0.2, math.inf], [5, 10, 20], 0.9, 0.2, id="rank in +Inf bucket"),
        # [10, 5, 20] becomes [10, 10, 20]: rank 10 sits at the top of the first bucket
        pytest.param([0.1, 0.2, math.inf], [10, 5, 20], 0.5, 0.1,
                     id="non-monotonic counts are made monotonic"),
        pytest.param([0.1, 0.2, math.inf], [10, 20, 20], 0.25, 0.05,
                     id="interpolated from zero in the first bucket"),
        pytest.param([0.1, 0.2, math.inf], [10, 20, 20], -1, -math.inf, id="q below 0"),
        pytest.param([0.1, 0.2, math.inf], [10, 20, 20], 2, math.inf, id="q above 1"),
    ],
)
def test_quantile_edge_cases_follow_prometheus(bounds, counts, q, expected):
    got = vectorised_quantile(q, np.array(bounds, dtype=float), np.array(counts, dtype=float))[0]
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


# --- the platform table --------------------------------------------------------------------


def test_the_summary_reproduces_the_fleet_figures(seeded_store):
    _, engine = seeded_store
    settings = load_settings(EXAMPLE_CONFIG)
    with engine.connect() as conn:
        metrics = queries.service_metrics(conn, NOW - 1800, NOW)
        buckets = queries.latency_buckets(conn, NOW - 1800, NOW)
    summary = service_summary(settings.services, metrics, buckets).set_index("service")
    for slug, profile in PROFILES.items():
        row = summary.loc[slug]
        assert row["minutes"] == 30
        assert row["p95_ms"] == pytest.approx(profile.p95_ms, rel=0.10)
        model = LoadModel(profile.throughput_rps, 42, slug)
        expected_rps = model.expected_requests(NOW - 1800, NOW) / 1800
        assert row["throughput_rps"] == pytest.approx(expected_rps, rel=1e-6)
        assert row["error_ratio"] == pytest.approx(profile.error_ratio, rel=1e-6)
        assert row["cpu_ratio"] == pytest.approx(profile.cpu_ratio, rel=0.10)


def test_a_service_without_data_says_so():
    settings = load_settings(EXAMPLE_CONFIG)
    empty = pd.DataFrame(columns=["ts", "service", "requests", "errors", "cpu_ratio",
                                  "memory_bytes"])
    summary = service_summary(settings.services, empty, pd.DataFrame())
    assert summary["p95_ms"].isna().all() and summary["throughput_rps"].isna().all()
    assert (summary["minutes"] == 0).all()
    assert summary.loc[0, "baseline_p95_ms"] == settings.services[0].baseline.p95_ms


def test_p95_by_interval_is_one_value_per_service_and_minute(seeded_store):
    _, engine = seeded_store
    with engine.connect() as conn:
        buckets = queries.latency_buckets(conn, NOW - 600, NOW, services=["payment-service"])
    p95 = p95_by_interval(buckets)
    assert len(p95) == 10
    assert np.allclose(p95["p95_ms"], 45, rtol=0.10)
