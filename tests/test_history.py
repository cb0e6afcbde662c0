"""`apollo fleet history`: the fleet's past written through the collector's own path, equal
to the load model minute by minute, idempotent, and continuous with live scrapes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support import PROFILES, T0, Clock

from collectors.scrape import PageScraper, Target
from services.config import EXAMPLE_CONFIG, load_settings
from services.fleet.model import LoadModel
from services.fleet.server import Fleet
from services.runtime.history import write_history
from services.store import queries
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
MINUTES = 90


def model_of(settings, slug: str) -> LoadModel:
    fleet = settings.fleet
    return LoadModel(PROFILES[slug].throughput_rps, fleet.seed, slug, fleet.daily_amplitude,
                     fleet.noise)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history")
    settings = load_settings(EXAMPLE_CONFIG)
    engine = make_engine(f"sqlite:///{tmp / 'apollo.db'}")
    upgrade(engine)
    result = write_history(settings, engine, days=MINUTES / 1440, end=T0)
    return settings, engine, result


def test_every_service_minute_is_written_and_equals_the_load_model(history):
    settings, engine, result = history
    assert result.problems == []
    assert (result.start, result.end) == (T0 - 60 * MINUTES, T0)
    with engine.connect() as conn:
        frame = queries.service_metrics(conn, T0 - 60 * MINUTES, T0)
    assert len(frame) == len(PROFILES) * MINUTES
    for slug in PROFILES:
        rows = frame[frame["service"] == slug]
        model = model_of(settings, slug)
        starts = [int(ts.timestamp()) for ts in rows["ts"]]
        assert starts == list(range(int(T0) - 60 * MINUTES, int(T0), 60))
        expected = [model.expected_requests(t, t + 60) for t in starts]
        # Counters are shown as whole numbers: each of the few series may lose under one.
        assert rows["requests"].tolist() == pytest.approx(expected, abs=20, rel=1e-6)


def test_slo_minutes_agree_with_the_service_minutes(history):
    """The availability SLO's good and total, read from the page by the SLO's own query,
    equal the service rows' requests without and with the server errors."""
    _, engine, _ = history
    with engine.connect() as conn:
        sli = queries.sli(conn, T0 - 60 * MINUTES, T0, slos=["payment-service-availability"])
        service = queries.service_metrics(conn, T0 - 60 * MINUTES, T0,
                                          services=["payment-service"])
    assert len(sli) == MINUTES
    assert sli["total"].tolist() == pytest.approx(service["requests"].tolist())
    assert sli["good"].tolist() == pytest.approx(
        (service["requests"] - service["errors"]).tolist())


def test_writing_the_same_history_again_changes_nothing(history):
    settings, engine, _ = history

    def snapshot():
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT minute, service_id, instance, requests, errors FROM service_minutes "
                "ORDER BY minute, service_id, instance")).all()

    before = snapshot()
    write_history(settings, engine, days=MINUTES / 1440, end=T0)
    assert snapshot() == before


def rows_of(engine, table: str, key: str, values: str) -> dict[tuple, tuple]:
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT {key}, {values} FROM {table}")).all()
    width = key.count(",") + 1
    return {tuple(r[:width]): tuple(r[width:]) for r in found}


def test_history_written_by_two_processes_is_the_one_written_by_one(tmp_path):
    """Two processes each write a day, their simulators starting at their span's beginning:
    every row is there, and each differs from one process's by whole-count rounding only
    (a page shows counters rounded down: under 1 per series summed into the row)."""
    settings = load_settings(EXAMPLE_CONFIG)
    stores = {}
    for workers in (1, 2):
        engine = stores[workers] = make_engine(f"sqlite:///{tmp_path / f'{workers}.db'}")
        upgrade(engine)
        seen: list[tuple[int, int]] = []
        result = write_history(settings, engine, days=2, end=T0, workers=workers,
                               progress=lambda done, total, seen=seen: seen.append((done, total)))
        assert result.problems == [] and result.minutes == 2 * 1440 * len(PROFILES)
        assert seen[-1] == (2 * 1440, 2 * 1440)
        assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    one, two = stores[1], stores[2]
    series = {slug: len(p.routes) for slug, p in PROFILES.items()}
    from services.fleet.simulator import ServiceSimulator

    page, _ = ServiceSimulator(PROFILES["auth-service"], seed=1, start=T0).samples(T0)
    codes = len({dict(labels)["code"] for name, labels in page if name == "http_requests_total"})
    most = max(series.values()) * codes  # request series summed into one service row
    for table, key, values, bound in [
            ("service_minutes", "minute, service_id, instance", "requests, errors", most),
            ("latency_bucket_minutes", "minute, service_id, le, instance", "count",
             max(series.values())),
    ]:
        a, b = rows_of(one, table, key, values), rows_of(two, table, key, values)
        assert a.keys() == b.keys() and len(a) > 0
        worst = max(abs(x - y) for k in a for x, y in zip(a[k], b[k], strict=True))
        assert worst <= bound, (table, worst)  # each series: -1, 0 or +1
    sli_one = rows_of(one, "sli_minutes", "minute, slo_id", "total")
    sli_two = rows_of(two, "sli_minutes", "minute, slo_id", "total")
    assert sli_one.keys() == sli_two.keys()


def history_workers_alive() -> list[int]:
    """This process's children running a history worker."""
    me, alive = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == me and b"services.runtime.history" in command:
            alive.append(int(stat.parent.name))
    return alive


def test_history_workers_do_not_run_the_parents_main_script(tmp_path, monkeypatch):
    """A host whose `__main__` is a script (Streamlit's test runner: the app) must not have
    it run again in each worker, as multiprocessing's spawn did (seen in the full suite)."""
    import types

    script = tmp_path / "app.py"
    script.write_text("raise SystemExit('the parent script ran in a worker')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    settings = load_settings(EXAMPLE_CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    result = write_history(settings, engine, days=2, end=T0, workers=2)
    assert result.problems == []
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT count(*) FROM service_minutes")).scalar()
    assert written == result.minutes == 2 * 1440 * len(PROFILES)


def test_stopping_a_history_in_processes_halts_them_and_keeps_what_they_wrote(tmp_path):
    import threading

    settings = load_settings(EXAMPLE_CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    stop = threading.Event()
    result = write_history(settings, engine, days=30, end=T0, workers=2, stop=stop,
                           progress=lambda done, total: stop.set())
    assert history_workers_alive() == []
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT count(*) FROM service_minutes")).scalar()
    # each process finishes the day it was writing: between one and a few days of 30
    assert 0 < written < result.minutes / 4


def test_history_and_live_scrapes_meet_at_the_seam(tmp_path):
    """History up to T0 under the fleet's own URL, then the live fleet scraped from T0: the
    rows share their instance and both sides equal the load model."""
    settings = load_settings(EXAMPLE_CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    clock = Clock(T0)
    profile = PROFILES["auth-service"]
    with Fleet([profile], clock=clock, seed=settings.fleet.seed,
               amplitude=settings.fleet.daily_amplitude, noise=settings.fleet.noise) as fleet:
        write_history(settings, engine, days=30 / 1440, end=T0, urls=fleet.urls)
        scraper = PageScraper(engine, [Target(s, u) for s, u in fleet.urls.items()],
                              clock=clock)
        for i in range(4 * 5 + 1):
            clock.now = T0 + 15 * i
            scraper.scrape_once()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT m.minute, m.instance, m.requests FROM service_minutes m JOIN services s "
            "ON s.id = m.service_id WHERE s.slug = 'auth-service' ORDER BY m.minute")).all()
    model = model_of(settings, "auth-service")
    instance = fleet.urls["auth-service"].split("//")[1].split("/")[0]
    assert {r[1] for r in rows} == {instance}
    minutes = [r[0] for r in rows]
    assert minutes[0] == T0 - 30 * 60 and T0 - 60 in minutes  # history up to the seam
    assert max(minutes) >= T0 + 3 * 60  # live minutes after it (the first one is partial)
    for minute, _, requests in rows:
        assert requests == pytest.approx(model.expected_requests(minute, minute + 60),
                                         rel=1e-3)


def test_the_command_writes_history_into_a_migrated_store(tmp_path):
    config = tmp_path / "apollo.yaml"
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    example.update(data_dir=str(tmp_path / "var"), slo_files=[str(ROOT / "slos/*.yaml")])
    config.write_text(yaml.safe_dump(example))
    apollo = [sys.executable, "-c", "from services.cli import main; main()", "--config",
              str(config)]
    refused = subprocess.run([*apollo, "fleet", "history", "--days", "0.01"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "apollo db upgrade" in refused.stderr
    assert subprocess.run([*apollo, "db", "upgrade"], cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0
    done = subprocess.run([*apollo, "fleet", "history", "--days", "0.01", "--to",
                           str(int(T0))], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    minutes = int(0.01 * 1440)
    assert f"wrote {minutes * len(PROFILES):,} service-minutes of {len(PROFILES)}" in done.stdout


@pytest.mark.parametrize("slug", sorted(PROFILES))
def test_the_simulators_samples_are_what_a_scrape_of_its_page_reads(slug):
    """History skips writing and reading the page text: the samples must be the same."""
    from collectors.scrape.parse import parse_page
    from services.fleet.faults import Fault
    from services.fleet.simulator import ServiceSimulator, metrics_page

    direct = ServiceSimulator(PROFILES[slug], seed=7, start=T0)
    scraped = ServiceSimulator(PROFILES[slug], seed=7, start=T0)
    for sim in (direct, scraped):
        sim.faults.set(Fault("error_burst", until=T0 + 3600, rate=0.1))
    for t in (T0, T0 + 61, T0 + 5 * 3600 + 17):
        values, types = direct.samples(t)
        page = parse_page(metrics_page(scraped, t).decode())
        assert values == page.values
        assert types == page.types
