"""The entry points fuzzed, each called in-process the way its CLI command calls it.

The oracle (applied by `fuzz.runner`): a call returns a result, or raises an `ApolloError`
whose message names the input file. Anything else is a failure: another exception
(KeyError, TypeError, RecursionError, MemoryError), a timeout, an error that does not say
which file, or a result that breaks a promise the issue makes (`BadResult`: a NaN minute row
that the store would refuse, a bad page line reported at line 0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from fuzz import strategies as fs
from fuzz.strategies import Example


class BadResult(AssertionError):
    """A result the oracle refuses; `kind` groups the failures of one cause."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass(frozen=True)
class Entry:
    name: str
    examples: Callable[[], st.SearchStrategy[Example]]
    call: Callable[[Path, Example], None]
    area: str  # the code it exercises (who owns a failure)
    errors_allowed: bool = True  # False: any exception is a failure (a page never raises)
    also_located_in: tuple[Path, ...] = ()  # other input files an error may name


# --- configuration -------------------------------------------------------------------------


SECRET = ":secret@"  # the password in the strategies' URLs (strategies.STRINGS)


def call_config(path: Path, ex: Example) -> None:
    """`apollo config check`: load, validate, show every source, never a password."""
    from services.cli.db import config_lines
    from services.config import load_settings

    shown = "\n".join(f"{name} {value}" for name, value in config_lines(load_settings(path)))
    if SECRET in shown:
        raise BadResult("a password shown by config check", shown[:300])


# --- SLO specs, then rules, report and backtest on what loaded -------------------------------

MINUTE = 60


def plan_series(plan: tuple[int, float, int, int, float, int]):
    """A small MinuteSeries from `strategies.series_plans`."""
    from slo.series import MinuteSeries

    n, total, start, length, good_share, gap = plan
    totals = np.full(n, total)
    good = totals.copy()
    good[start:start + length] = total * good_share
    gap_at = n // 3
    totals[gap_at:gap_at + gap] = np.nan
    good[gap_at:gap_at + gap] = np.nan
    return MinuteSeries(fs.T0, good, totals)


def report_and_backtest(slos: Iterable, series) -> None:
    """`apollo slo report` and `apollo slo backtest` (--spec, --data) on each SLO."""
    from services.documents.slo_text import backtest_text, report_text
    from slo.backtest import backtest
    from slo.forecast import forecast
    from slo.report import report
    from slo.timeslices import to_timeslices
    from slo.windows import slo_windows

    if not series.has_data.any():  # the CLI refuses a series without data before this
        return
    for slo in slos:
        sliced = to_timeslices(series, slo)
        windows = slo_windows(slo)  # as the CLI does: an error located at the spec
        result = report(slo, sliced, sliced.end, windows)
        exhaustion = forecast(slo, sliced, sliced.end)
        report_text(result, exhaustion, [])
        json.dumps(result.to_dict())
        replay = backtest(slo, sliced, windows)
        backtest_text(replay)
        json.dumps(replay.to_dict())


def call_spec(path: Path, ex: Example) -> None:
    """`apollo slo validate`, `rules` (skipping what Prometheus cannot compute, as the CLI
    does), then `report` and `backtest` of each SLO on a small series."""
    from services.files import load_slo_files
    from slo.rules import prometheus_rules, render_rules, unexportable

    slos = load_slo_files([path])
    exportable = [s for s in slos if unexportable(s) is None]
    render_rules(prometheus_rules(exportable))
    report_and_backtest(slos, plan_series(ex.extra))


# --- SLI CSV ----------------------------------------------------------------------------------

CSV_SPEC = fs.REPO / "slos" / "api-gateway.yaml"


@cache
def csv_slos() -> list:
    """The availability (occurrences) and per-minute p95 (timeslices) SLOs the CSV is
    reported against."""
    from services.files import load_slo_files

    slos = load_slo_files([CSV_SPEC])
    return [s for s in slos if s.name in ("availability", "latency-p95-minutes")]


def call_csv(path: Path, ex: Example) -> None:
    """`apollo slo report/backtest --spec slos/api-gateway.yaml --data FILE`."""
    from services.files import read_minutes_csv

    report_and_backtest(csv_slos(), read_minutes_csv(path))


# --- documents ------------------------------------------------------------------------------


def call_roadmap(path: Path, ex: Example) -> None:
    """`apollo roadmap FILE` and `--json`."""
    from collectors.roadmap import read_roadmap
    from services.documents.roadmap import roadmap_json, roadmap_text

    tree = read_roadmap(path)
    roadmap_text(tree)
    json.dumps(roadmap_json(tree))


def call_costs(path: Path, ex: Example) -> None:
    """`apollo costs FILE --mau 1000000` and `--json`."""
    from collectors.cost import read_costs
    from services.documents.costs import costs_json, costs_text, summarize_costs

    summary = summarize_costs(read_costs(path), mau=1_000_000)
    costs_text(summary)
    json.dumps(costs_json(summary))


# --- /metrics pages -------------------------------------------------------------------------

INSTANCE = "127.0.0.1:9100"
JOB = "api-gateway"


@cache
def page_readings() -> list:
    """The repository's SLOs that pages can serve (what a scraper reads from pages)."""
    from collectors.scrape.sli import readings
    from services.files import expand, load_slo_files

    return readings(load_slo_files(expand([str(fs.REPO / "slos" / "*.yaml")])))[0]


@cache
def seed_page(text: str):
    from collectors.scrape.parse import parse_page

    return parse_page(text)


def _finite(kind: str, values: Iterable, where: str) -> None:
    for v in values:
        if isinstance(v, float | np.floating) and not math.isfinite(v):
            raise BadResult(kind, f"{v!r} in {where}")


def call_page(path: Path, ex: Example) -> None:
    """The scraper's path for one target: parse each scrape, turn the scrapes into minute
    increases, build the service, latency-bucket and SLI rows of every completed minute, and
    keep the state a run-once collector saves. Never raises; rows are finite; every bad
    line is named by its line number."""
    from collectors.scrape.increases import TargetIncreases, state_from_json, state_to_json
    from collectors.scrape.names import ConfiguredNames
    from collectors.scrape.parse import OPENMETRICS, parse_page
    from collectors.scrape.scraper import bucket_rows, service_row
    from collectors.scrape.sli import good_total

    (_, seed_text), steps = ex.extra
    content_type = (f"{OPENMETRICS}; version=1.0.0" if ex.name.endswith(".openmetrics")
                    else "text/plain; version=0.0.4")
    page = parse_page(ex.data.decode("utf-8", "replace"), content_type)
    for bad in page.bad_lines:
        if bad.line < 1:
            raise BadResult("a bad line reported at line 0", f"{bad.reason[:200]!r}")
    state = TargetIncreases()
    t = float(fs.T0)
    state.observe(t, page)
    for dt, edited in steps:
        t += dt
        scraped = page if edited else seed_page(seed_text)
        names = ConfiguredNames().resolve(scraped)
        for minute in state.observe(t, scraped):
            _finite("a non-finite value in a service row",
                    service_row(minute, 1, names, INSTANCE), "service_minutes")
            for row in bucket_rows(minute, 1, names, INSTANCE):  # le may be +Inf; not the count
                _finite("a non-finite bucket count", row[3:4], f"the le={row[2]} bucket row")
            for reading in page_readings():
                found = good_total(reading, minute.increases, job=JOB, instance=INSTANCE)
                _finite("a non-finite SLI count", found or (), f"SLO {reading.slo.id}")
    saved = json.loads(json.dumps(state_to_json(state)))
    state_from_json(saved)


# --- the list ---------------------------------------------------------------------------------

ENTRIES = {e.name: e for e in [
    Entry("config", fs.configs, call_config, "services/config.py, slo/yamlpos.py"),
    Entry("spec-apollo", lambda: fs.specs("apollo"), call_spec,
          "slo/specs/apollo.py, slo/yamlpos.py, slo/rules.py, report, backtest"),
    Entry("spec-sloth", lambda: fs.specs("sloth"), call_spec,
          "slo/specs/sloth.py, slo/yamlpos.py, slo/rules.py, report, backtest"),
    Entry("spec-sloth-k8s", lambda: fs.specs("sloth-k8s"), call_spec,
          "slo/specs/sloth.py, slo/yamlpos.py, slo/rules.py, report, backtest"),
    Entry("spec-openslo", lambda: fs.specs("openslo"), call_spec,
          "slo/specs/openslo*.py, slo/yamlpos.py, slo/rules.py, report, backtest"),
    Entry("spec-pyrra", lambda: fs.specs("pyrra"), call_spec,
          "slo/specs/pyrra.py, slo/yamlpos.py, slo/rules.py, report, backtest"),
    Entry("sli-csv", fs.sli_csvs, call_csv, "services/files.py, report, backtest",
          also_located_in=(CSV_SPEC,)),
    Entry("roadmap", fs.roadmaps, call_roadmap, "collectors/roadmap.py, documents/roadmap"),
    Entry("costs", fs.cost_files, call_costs, "collectors/cost.py, documents/costs"),
    Entry("page", fs.pages, call_page, "collectors/scrape/*", errors_allowed=False),
]}


# --- the harness's own check -------------------------------------------------------------------


def call_selftest(path: Path, ex: Example) -> None:
    """Each way an entry point can misbehave, on purpose (tests/test_fuzz.py checks that the
    worker reports each, and survives the bomb)."""
    from slo.errors import InputError

    what = ex.data.decode()
    if what == "located":
        raise InputError("a located error", path=str(path), line=1)
    if what == "unlocated":
        raise InputError("an error that names no file")
    if what == "traceback":
        raise KeyError("slo")
    if what == "recursion":
        def down(n: int) -> int:
            return down(n + 1) + 1
        down(0)
    if what == "memory":
        bytearray(3 << 30)  # 3 GiB, over the 2 GiB address space
    if what == "timeout":
        while True:
            pass


SELFTEST_CASES = ["result", "located", "unlocated", "traceback", "recursion", "memory",
                  "timeout"]
SELFTEST = Entry("selftest", lambda: st.sampled_from(SELFTEST_CASES).map(
    lambda w: Example("selftest.txt", w.encode(), (w,))), call_selftest, "tests/fuzz")
RUNNABLE = {**ENTRIES, SELFTEST.name: SELFTEST}
