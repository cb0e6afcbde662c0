"""The Platform page: its figures from the store, its logic in AppTest, its pixels in Chromium."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import PROFILES, fill_store_from_fleet, histogram_quantile

from dashboard.figures import platform as figures
from services.config import EXAMPLE_CONFIG, load_settings
from services.documents.platform import p95_by_interval, service_summary
from services.fleet.model import LoadModel
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade
from slo.histogram import histogram_quantile as vectorised_quantile

ROOT = Path(__file__).resolve().parents[1]
CONFIGURED = load_settings(EXAMPLE_CONFIG).services
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
    table = figures.platform_table(summary)
    assert table["p95"].str.startswith("no data").all()
    assert table.loc[0, "p95"] == "no data ms (expected 12)"


def test_p95_by_interval_is_one_value_per_service_and_minute(seeded_store):
    _, engine = seeded_store
    with engine.connect() as conn:
        buckets = queries.latency_buckets(conn, NOW - 600, NOW, services=["payment-service"])
    p95 = p95_by_interval(buckets)
    assert len(p95) == 10
    assert np.allclose(p95["p95_ms"], 45, rtol=0.10)


def test_figures_have_one_trace_per_service(seeded_store):
    _, engine = seeded_store
    with engine.connect() as conn:
        metrics = queries.service_metrics(conn, NOW - 600, NOW)
    figure = figures.throughput(metrics, step_s=60)
    assert sorted(trace.name for trace in figure.data) == sorted(PROFILES)
    gateway = next(t for t in figure.data if t.name == "api-gateway")
    want = metrics[metrics["service"] == "api-gateway"]["requests"] / 60
    assert list(gateway.y) == pytest.approx(want.tolist())


# --- the page --------------------------------------------------------------------------------


def test_the_page_renders_the_table_from_the_store(seeded_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    url, _ = seeded_store
    monkeypatch.setenv("APOLLO_DATABASE_URL", url)
    monkeypatch.setenv("APOLLO_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.chdir(ROOT)
    import streamlit as st_module

    st_module.cache_resource.clear()
    st_module.cache_data.clear()
    # a generous script timeout: one full-suite run on the loaded 2-core box exceeded 30 s
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    assert not app.exception
    # the fleet's services report; Apollo's own API is configured but not running here
    assert app.metric[0].value == f"{len(PROFILES)} reporting of {len(CONFIGURED)}"
    table = app.dataframe[0].value
    assert table["Service"].tolist() == [s.name for s in CONFIGURED]  # every configured one
    assert table.loc[3, "p95"].startswith("45.")


@pytest.mark.servers
def test_the_dashboard_paints_in_chromium(seeded_store, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _ = seeded_store
    env = {**os.environ, "APOLLO_DATABASE_URL": url, "APOLLO_DASHBOARD__PORT": "0",
           "APOLLO_CONFIG": str(EXAMPLE_CONFIG)}
    process = subprocess.Popen([str(Path(sys.executable).with_name("apollo")), "dashboard"],
                               stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = process.stdout.readline()
        assert line.startswith("dashboard http://127.0.0.1:"), line
        address = line.split()[1]
        assert httpx.get(f"{address}/_stcore/health", timeout=5).text == "ok"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(address)
            page.wait_for_selector("text=Latency (p95)", timeout=60_000)
            assert page.get_by_text(
                f"{len(PROFILES)} reporting of {len(CONFIGURED)}").is_visible()
            assert page.locator(".js-plotly-plot").count() == 2
            page.screenshot(path=str(tmp_path / "platform.png"), full_page=True)
            browser.close()
        assert (tmp_path / "platform.png").stat().st_size > 50_000
    finally:
        process.terminate()
        process.wait(timeout=20)
