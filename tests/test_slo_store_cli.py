"""`apollo slo report|backtest NAME` read the SLO's minutes from the store, and `apollo slo
export` writes them as the CSV the file-based commands read: both ways must agree."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from support import PROFILES, T0, Clock

from collectors.scrape import PageScraper, Target
from services.files import expand, load_slo_files
from services.fleet.faults import Fault
from services.fleet.server import Fleet
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
APOLLO = [sys.executable, "-c", "from services.cli import main; main()"]
SLO = "payment-service-availability"
MINUTES = 30


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """A store holding 30 scraped minutes of the payment service, with an error burst."""
    tmp = tmp_path_factory.mktemp("slo-store")
    config = tmp / "apollo.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp / "var"),
                                      "slo_files": [str(ROOT / "slos" / "*.yaml")]}))
    engine = make_engine(f"sqlite:///{tmp / 'var' / 'apollo.db'}")
    upgrade(engine)
    clock = Clock(T0)
    slos = load_slo_files(expand([str(ROOT / "slos" / "*.yaml")]))
    with Fleet([PROFILES["payment-service"]], clock=clock) as fleet:
        simulator = fleet.endpoint("payment-service").simulator
        simulator.faults.set(Fault("error_burst", until=T0 + 15 * 60, rate=0.05))
        scraper = PageScraper(engine, [Target(s, u) for s, u in fleet.urls.items()],
                              slos=slos, clock=clock)
        for i in range(4 * (MINUTES + 1) + 1):
            clock.now = T0 + 15 * i
            scraper.scrape_once()
    engine.dispose()
    return config


def apollo(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*APOLLO, "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def stored_minutes(config: Path) -> dict[int, tuple[float, float]]:
    """Good and total per minute, summed by hand in SQL over every instance."""
    engine = make_engine(f"sqlite:///{config.parent / 'var' / 'apollo.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT m.minute, sum(m.good), sum(m.total) FROM sli_minutes m "
            "JOIN slos s ON s.id = m.slo_id WHERE s.slug = :slug GROUP BY m.minute"),
            {"slug": SLO}).all()
    engine.dispose()
    return {int(minute): (good, total) for minute, good, total in rows}


def test_export_writes_exactly_the_stored_minutes(collected, tmp_path):
    result = apollo(collected, "slo", "export", SLO, "--from", str(int(T0)),
                    "--to", str(int(T0) + 3600))
    assert result.returncode == 0, result.stderr
    exported = {int(r["timestamp"]): (float(r["good"]), float(r["total"]))
                for r in csv.DictReader(io.StringIO(result.stdout))}
    by_hand = stored_minutes(collected)
    assert len(by_hand) >= MINUTES - 1  # the first, partly seen minute is not written
    assert exported == by_hand
    assert any(good < total for good, total in by_hand.values())  # the burst is in there


def test_report_and_backtest_by_name_equal_the_same_on_the_exported_csv(collected, tmp_path):
    data = tmp_path / "minutes.csv"
    end = str(int(T0) + 60 * MINUTES)
    exported = apollo(collected, "slo", "export", SLO, "--from", str(int(T0)), "--to", end,
                      "-o", str(data))
    assert exported.returncode == 0, exported.stderr
    spec = str(ROOT / "slos" / "payment-service.yaml")
    by_name = apollo(collected, "slo", "report", SLO, "--at", end, "--json")
    by_file = apollo(collected, "slo", "report", "--spec", spec, "--slo", SLO,
                     "--data", str(data), "--at", end, "--json")
    assert by_name.returncode == 0, by_name.stderr
    assert by_file.returncode == 0, by_file.stderr
    name_report, file_report = json.loads(by_name.stdout), json.loads(by_file.stdout)
    for key in ("good", "total", "bad", "sli", "windows", "alerts"):
        assert name_report[key] == file_report[key], key
    minutes = stored_minutes(collected)  # by hand: every stored minute up to --at
    good = sum(g for m, (g, _) in minutes.items() if m < int(end))
    total = sum(t for m, (_, t) in minutes.items() if m < int(end))
    assert name_report["good"] == pytest.approx(good)
    assert name_report["total"] == pytest.approx(total) and good < total
    backtest_name = apollo(collected, "slo", "backtest", SLO, "--from", str(int(T0)),
                           "--to", end, "--json")
    backtest_file = apollo(collected, "slo", "backtest", "--spec", spec, "--slo", SLO,
                           "--data", str(data), "--json")
    assert backtest_name.returncode == 0, backtest_name.stderr
    assert json.loads(backtest_name.stdout)["firings"] == json.loads(
        backtest_file.stdout)["firings"]


def test_export_refuses_to_overwrite_and_unknown_names_are_named(collected, tmp_path):
    existing = tmp_path / "there.csv"
    existing.write_text("keep me\n")
    result = apollo(collected, "slo", "export", SLO, "-o", str(existing))
    assert result.returncode == 1 and "exists already" in result.stderr
    assert existing.read_text() == "keep me\n"
    unknown = apollo(collected, "slo", "report", "no-such-slo")
    assert unknown.returncode == 1
    assert "no SLO 'no-such-slo'" in unknown.stderr and SLO in unknown.stderr
    both = apollo(collected, "slo", "report", SLO, "--spec", "x.yaml", "--data", "y.csv")
    assert both.returncode == 2 and "not both" in both.stderr  # a usage error
    assert "Traceback" not in unknown.stderr + both.stderr + result.stderr
