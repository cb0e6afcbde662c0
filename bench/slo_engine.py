"""SLO engine benchmark: `slo.batch` against pandas and against a real Prometheus 2.42.

Run: .venv/bin/python bench/slo_engine.py [--slos-a 1000] [--slos-b 100] [--days 30]
     [--repeat 3] [--skip-prometheus] [--skip-per-slo] [--skip-pg] [--pg-url URL]
     [--workers N] [--chunk-rows R]

The data: per SLO and minute, good and total events (synthetic: a daily traffic curve with a
weekend dip, per-minute noise, a background error ratio below the budget, a few incidents
with error bursts, some still going on at the end, some low-traffic SLOs with empty
minutes, a few collector gaps). Figures, each beside its peer measured in the same run:
  (a) every minute of `--slos-a` SLOs × `--days` days: the error ratio of each window of the
      30-day alert set (5m 30m 1h 2h 6h 1d 3d) and of the 30d period, the rolling budget
      remaining and the page/ticket verdicts; peer: pandas rolling().sum() on 50 SLOs.
  (b) the eight windows' burn rates of `--slos-b` SLOs at 5-minute steps over the days, by
      the engine (in memory, and with the store read through `queries.sli` from SQLite and
      PostgreSQL: the old read path of minute rows into a DataFrame as the baseline, beside
      the minute read summed across instances into numpy and the 5-minute roll-up read)
      and by Prometheus range queries on the same data backfilled with promtool.
  (c) the current page/ticket verdicts of `--slos-a` SLOs: engine vs Prometheus instant
      queries of the four window-pair rules.
Every figure is checked: (a) against `slo.report.report` and the pandas peer, (b) and (c)
against Prometheus's answers. Most of the ~10 minutes of a default run is Prometheus
answering the range queries (3 grouped runs + 1 per-SLO run); `--skip-per-slo` saves ~2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from bench.store_write import admin, postgres_server, postgres_settings  # noqa: E402
from bench.store_write import with_database as pg_database  # noqa: E402
from services.store import queries  # noqa: E402
from services.store.catalog import ensure_slo  # noqa: E402
from services.store.engine import make_engine  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402
from services.store.models import SliMinute, Slo  # noqa: E402
from services.store.rollup import roll_up  # noqa: E402
from services.store.timeutil import epoch_index, from_epoch  # noqa: E402
from services.store.writes import table_columns, upsert  # noqa: E402
from slo.batch import (  # noqa: E402
    SEVERITIES,
    Chunk,
    Plan,
    current,
    current_from_prefix,
    evaluate,
    prefix_sums,
    ratios_at,
    ratios_every,
)
from slo.durations import format_duration  # noqa: E402
from slo.model import SLO, Period, RequestRatio  # noqa: E402
from slo.report import report  # noqa: E402
from slo.series import MinuteSeries  # noqa: E402
from slo.windows import GOOGLE_30D  # noqa: E402

PLAN = Plan.of(GOOGLE_30D)
WINDOW_NAMES = [format_duration(timedelta(minutes=w)) for w in PLAN.widths]
OBJECTIVES = (99.0, 99.5, 99.9, 99.95, 99.99)
BAD, TOTAL, BUDGET = "apollo_bench_bad", "apollo_bench_requests", "apollo_bench_slo_error_budget"
STEP_S = 300  # Prometheus refuses more than 11,000 points per series: 30 days at 5m = 8,640
PANDAS_SLOS = 50
PROBE_SLOS = 6
PROBE_MINUTES = 60
RATIO_TOL = 1e-9
PROM_TOL = 1e-6
TARGET_A_S, TARGET_A_BYTES = 3.0, 1.5e9
TARGET_B_MEMORY, TARGET_B_STORE, TARGET_B_READ = 100.0, 5.0, 4.0
TARGET_C_S, TARGET_C_RATIO = 0.050, 50.0
TAIL_MINUTES = 3 * 1440 + 10  # (c): the decision needs the 3d window; a few minutes more


class BenchError(RuntimeError):
    """A figure disagrees with its reference; the message says which and by how much."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def runs(times: Sequence[float], fmt: str = "{:.2f}") -> str:
    return " ".join(fmt.format(t) for t in times)


# --- data ------------------------------------------------------------------------------------


@dataclass
class Data:
    """Per-minute good and total events of many SLOs (rows); total NaN = no data."""

    start: int  # Unix seconds of minute 0, a whole day
    good: np.ndarray
    total: np.ndarray
    objective: np.ndarray  # percent per row
    slugs: list[str]
    gap_rows: list[int] = field(default_factory=list)
    low_rows: list[int] = field(default_factory=list)

    @property
    def budget(self) -> np.ndarray:
        """(100 - objective) / 100 per row, as `SLO.error_budget_ratio` computes it."""
        return (100 - self.objective) / 100

    @property
    def minutes(self) -> int:
        return self.total.shape[1]

    @property
    def end(self) -> int:
        return self.start + 60 * self.minutes

    @property
    def nbytes(self) -> int:
        return self.good.nbytes + self.total.nbytes

    def slo(self, row: int) -> SLO:
        return SLO(service="bench", name=self.slugs[row], objective=float(self.objective[row]),
                   sli=RequestRatio(total_query="t", error_query="e"),
                   period=Period(timedelta(days=30)))

    def series(self, row: int) -> MinuteSeries:
        return MinuteSeries(self.start, self.good[row], self.total[row])


def make_data(n: int, days: int, seed: int = 7) -> Data:
    """Synthetic but realistic SLI minutes, vectorised per block of rows (not timed)."""
    rng = np.random.default_rng(seed)
    t = days * 1440
    end = (int(time.time()) // 86400 - 1) * 86400  # midnight UTC, yesterday
    start = end - 60 * t
    minute = np.arange(t)
    day_phase = (minute % 1440) / 1440
    weekday = (start // 86400 + minute // 1440 + 3) % 7  # 1970-01-01 was a Thursday
    weekly = np.where(weekday >= 5, 0.75, 1.0)
    base = np.exp(rng.uniform(np.log(20), np.log(3000), n))  # requests per minute
    rows = np.arange(n)
    low = rows % 29 == 3  # a few SLOs with under 3 requests a minute: empty windows
    base[low] = rng.uniform(0.2, 3.0, low.sum())
    objective = rng.choice(OBJECTIVES, n, p=[0.1, 0.2, 0.4, 0.2, 0.1])
    budget = (100 - objective) / 100
    background = budget * rng.uniform(0.05, 0.6, n)
    phase = rng.uniform(-0.08, 0.08, n)
    good, total = np.empty((n, t)), np.empty((n, t))
    gap_rows = [int(r) for r in rows[rows % 23 == 7]]
    block = 50
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        k = hi - lo
        curve = 1 + 0.55 * np.sin(2 * np.pi * (day_phase[None, :] - 0.35 - phase[lo:hi, None]))
        rate = base[lo:hi, None] * curve * weekly[None, :] * rng.lognormal(0, 0.12, (k, t))
        tot = rng.poisson(rate)
        p = np.repeat(background[lo:hi, None], t, axis=1)
        for j in range(k):
            r = lo + j
            starts = list(rng.integers(0, t, rng.poisson(2.5)))
            if rng.random() < 0.04:  # an incident still going on at the end
                starts.append(t - int(rng.integers(5, 360)))
            for s in starts:
                length = int(np.clip(rng.lognormal(np.log(25), 1.0), 2, 720))
                p[j, s:s + length] += np.exp(rng.uniform(np.log(3 * budget[r]), np.log(0.6)))
        np.minimum(p, 1.0, out=p)
        bad = rng.binomial(tot, p)
        total[lo:hi] = tot
        good[lo:hi] = tot - bad
    for r in gap_rows:  # collector outages: minutes without data
        for _ in range(int(rng.integers(1, 4))):
            s = int(rng.integers(0, t - 90))
            gap = slice(s, s + int(rng.integers(3, 90)))
            good[r, gap] = total[r, gap] = np.nan
    slugs = [f"s{r:04d}" for r in range(n)]
    return Data(start, good, total, objective, slugs, gap_rows, [int(r) for r in rows[low]])


# --- (a) every minute ------------------------------------------------------------------------


@dataclass
class Probes:
    """Full per-minute results of a few SLOs, copied out of the chunks during a run."""

    rows: list[int]
    ratios: np.ndarray  # probes × windows × minutes
    remaining: np.ndarray  # probes × minutes
    severities: dict[str, np.ndarray]  # probes × minutes
    last: dict[str, np.ndarray]  # every row's verdict at the last minute
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, rows: list[int], n_rows: int, minutes: int) -> Probes:
        k = len(rows)
        return cls(rows, np.full((k, len(PLAN.widths), minutes), np.nan),
                   np.full((k, minutes), np.nan),
                   {s: np.zeros((k, minutes), dtype=bool) for s in SEVERITIES},
                   {s: np.zeros(n_rows, dtype=bool) for s in SEVERITIES})

    def visit(self, chunk: Chunk) -> None:
        for s in SEVERITIES:
            self.last[s][chunk.rows] = chunk.severities[s][:, -1]
        for p, row in enumerate(self.rows):
            if chunk.rows.start <= row < chunk.rows.stop:
                i = row - chunk.rows.start
                with self.lock:
                    self.ratios[p] = chunk.ratios[:, i]
                    self.remaining[p] = chunk.remaining[i]
                    for s in SEVERITIES:
                        self.severities[s][p] = chunk.severities[s][i]


def engine_a(data: Data, workers: int, chunk_rows: int, probes: Probes) -> Any:
    return evaluate(data.good, data.total, data.budget, PLAN, chunk_rows=chunk_rows,
                    workers=workers, visit=probes.visit)


def pandas_a(data: Data, rows: slice) -> dict[str, np.ndarray]:
    """The same per-minute figures with pandas rolling sums, one frame of SLO columns."""
    good = pd.DataFrame(data.good[rows].T)
    total = pd.DataFrame(data.total[rows].T)
    bad = (total - good).fillna(0.0)
    tot = total.fillna(0.0)
    budget = pd.Series(data.budget[rows])
    ratios = {}
    for width in PLAN.widths:
        sum_bad = bad.rolling(width, min_periods=1).sum()
        sum_total = tot.rolling(width, min_periods=1).sum()
        ratios[width] = (sum_bad / sum_total).where(sum_total > 0)
        if width == PLAN.widths[PLAN.period_index]:
            remaining = (1 - sum_bad / sum_total.mul(budget, axis=1)).where(sum_total > 0)
    fired: dict[str, pd.DataFrame] = {}
    for w in GOOGLE_30D.windows:
        limit = pd.Series([PLAN.limits(np.array([b]))[GOOGLE_30D.windows.index(w), 0]
                           for b in budget])
        short = ratios[int(w.short.total_seconds() // 60)]
        long = ratios[int(w.long.total_seconds() // 60)]
        pair = short.gt(limit, axis=1) & long.gt(limit, axis=1)
        fired[w.severity] = pair if w.severity not in fired else fired[w.severity] | pair
    out = {"peak_ratio": np.column_stack([ratios[w].max().to_numpy() for w in PLAN.widths]),
           "min_remaining": remaining.min().to_numpy()}
    for s in SEVERITIES:
        out[f"firing_{s}"] = fired[s].sum().to_numpy()
        starts = fired[s] & ~fired[s].shift(1, fill_value=False)
        out[f"episodes_{s}"] = starts.sum().to_numpy()
    return out


def same(a: float | None, b: float, tol: float) -> float:
    """Relative difference of a report value (None = no ratio) and an engine value (NaN)."""
    if a is None or not np.isfinite(b):
        if a is None and np.isnan(b):
            return 0.0
        raise BenchError(f"one side has no value: report {a!r}, engine {b!r}")
    diff = abs(a - b) / max(abs(a), abs(b), 1e-300) if a != b else 0.0
    if diff > tol:
        raise BenchError(f"report {a!r} vs engine {b!r}: relative difference {diff:.3g}")
    return diff


def verify_a(data: Data, probes: Probes, rng: np.random.Generator) -> tuple[int, float, int]:
    """Compare the probed SLOs with `slo.report.report` at random minutes and at every minute
    where a verdict changes; returns (reports checked, max ratio difference, firing seen)."""
    checked, worst, firing = 0, 0.0, 0
    for p, row in enumerate(probes.rows):
        slo, series = data.slo(row), data.series(row)
        changes = set()
        for s in SEVERITIES:
            edges = np.flatnonzero(np.diff(probes.severities[s][p].astype(np.int8)))
            changes.update(int(i) for i in edges[:20])
            changes.update(int(i) + 1 for i in edges[:20])
        picks = set(rng.integers(0, data.minutes, PROBE_MINUTES).tolist()) | changes
        picks |= {0, 4, 5, data.minutes - 1}
        for i in sorted(picks):
            rep = report(slo, series, int(series.time_at(i)), GOOGLE_30D)
            for k, width in enumerate(PLAN.widths):
                if k == PLAN.period_index:  # the period's ratio is the budget's
                    b = rep.budget
                    value = b.bad / b.total if b.total > 0 else None
                else:
                    value = rep.window(timedelta(minutes=width)).error_ratio
                worst = max(worst, same(value, probes.ratios[p, k, i], RATIO_TOL))
            worst = max(worst, same(rep.budget.remaining_ratio, probes.remaining[p, i],
                                    RATIO_TOL))
            for alert in rep.alerts:
                mine = bool(probes.severities[alert.severity][p, i])
                if alert.firing != mine:
                    raise BenchError(f"{slo.id} minute {i}: report says {alert.severity} "
                                     f"firing={alert.firing}, engine {mine}")
                firing += mine
            checked += 1
    return checked, worst, firing


def compare_pandas(summary: Any, peer: dict[str, np.ndarray], rows: slice) -> float:
    """The pandas peer's per-SLO results must equal the engine's; returns max ratio diff."""
    a, b = summary.peak_ratio[rows], peer["peak_ratio"]
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        raise BenchError("pandas and engine disagree on which windows ever saw events")
    ok = ~np.isnan(a)
    diff = float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300), initial=0))
    m_a, m_b = summary.min_remaining[rows], peer["min_remaining"]
    diff = max(diff, float(np.nanmax(np.abs(m_a - m_b) / np.maximum(np.abs(m_a), 1e-300))))
    if diff > RATIO_TOL:
        raise BenchError(f"pandas and engine peaks differ by {diff:.3g}")
    for s in SEVERITIES:
        if not np.array_equal(summary.firing_minutes[s][rows], peer[f"firing_{s}"]):
            raise BenchError(f"pandas and engine disagree on {s} firing minutes")
        if not np.array_equal(summary.episodes[s][rows], peer[f"episodes_{s}"]):
            raise BenchError(f"pandas and engine disagree on {s} episodes")
    return diff


def bench_a(data: Data, args: argparse.Namespace, out: list[str]) -> dict[str, np.ndarray]:
    n = data.total.shape[0]
    rng = np.random.default_rng(11)
    probe_rows = sorted({data.gap_rows[0], data.low_rows[0], n - 1,
                         *rng.choice(n, PROBE_SLOS - 3, replace=False).tolist()})
    times, summary, probes = [], None, None
    for r in range(args.repeat):
        probes = Probes.of(probe_rows, n, data.minutes)
        seconds, summary = timed(lambda p=probes: engine_a(data, args.workers, args.chunk_rows, p))
        times.append(seconds)
        progress(f"(a) engine run {r + 1}: {seconds:.2f}s")
    assert summary is not None and probes is not None
    # Memory: one more run under tracemalloc (numpy reports its allocations to it).
    traced = Probes.of(probe_rows, n, data.minutes)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    engine_a(data, args.workers, args.chunk_rows, traced)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    checked, worst, firing = verify_a(data, probes, rng)
    progress(f"(a) verified {checked} reports")

    n_pd = min(PANDAS_SLOS, n)
    pd_times, peer = [], None
    for r in range(args.repeat):
        seconds, peer = timed(lambda: pandas_a(data, slice(0, n_pd)))
        pd_times.append(seconds)
        progress(f"(a) pandas run {r + 1}: {seconds:.2f}s")
    pd_diff = compare_pandas(summary, peer, slice(0, n_pd))

    eng = statistics.median(times)
    pdm = statistics.median(pd_times)
    per_eng, per_pd = eng / n * 1e3, pdm / n_pd * 1e3
    pd_full = per_pd * n / 1e3
    total_bytes = data.nbytes + peak
    page, ticket = summary.firing_minutes["page"], summary.firing_minutes["ticket"]
    checksum = float(np.nansum(summary.peak_ratio)) + float(np.nansum(summary.min_remaining))
    out += [
        f"(a) every minute of {n:,} SLOs x {data.minutes:,} minutes: error ratio of "
        f"{' '.join(WINDOW_NAMES)}, rolling budget remaining, page/ticket verdicts",
        f"    {'what':<50} {'median s':>9} {'ms/SLO':>8}  runs (s)",
        f"    {f'engine slo.batch.evaluate, {n:,} SLOs':<50} {eng:>9.3f} {per_eng:>8.3f}  "
        f"{runs(times)}",
        f"    {f'pandas rolling(w, min_periods=1).sum(), {n_pd} SLOs':<50} {pdm:>9.3f} "
        f"{per_pd:>8.3f}  {runs(pd_times)}",
        f"    {f'pandas extrapolated to {n:,} SLOs':<50} {pd_full:>9.1f} {per_pd:>8.3f}  "
        f"engine {pd_full / eng:,.0f}x faster",
        f"    engine: {args.workers} worker threads, {args.chunk_rows} rows per chunk; "
        "per-minute results reduced per SLO (peak ratio per window, lowest budget, firing "
        "minutes, alert episodes)",
        f"    peak memory: tracemalloc peak of one extra evaluation run under tracing "
        f"{peak / 1e6:,.0f} MB (numpy buffers included) + input arrays "
        f"{data.nbytes / 1e6:,.0f} MB (float64 good, total, allocated before) = "
        f"{total_bytes / 1e6:,.0f} MB; for context: process maxrss so far "
        f"{rss_after / 1e6:,.0f} MB (set by data generation; the evaluation added "
        f"{(rss_after - rss_before) / 1e6:,.0f} MB to it)",
        f"    results: page fired {int(page.sum()):,} SLO-minutes in "
        f"{int(summary.episodes['page'].sum()):,} episodes ({int((page > 0).sum())} SLOs), "
        f"ticket {int(ticket.sum()):,} in {int(summary.episodes['ticket'].sum()):,} "
        f"({int((ticket > 0).sum())} SLOs); checksum {checksum:.10g}",
        f"    verified: {checked} slo.report.report calls ({len(probe_rows)} SLOs incl. gaps and "
        f"low traffic, random minutes + every verdict change): verdicts equal ({firing} "
        f"firing), max ratio/budget rel. diff {worst:.1e} (allowed {RATIO_TOL:g}); pandas "
        f"peer equal on {n_pd} SLOs (max rel. diff {pd_diff:.1e})",
        f"    targets: < {TARGET_A_S:g} s: {verdict(eng < TARGET_A_S)}; "
        f"< {TARGET_A_BYTES / 1e9:g} GB (input + evaluation peak): "
        f"{verdict(total_bytes < TARGET_A_BYTES)}",
    ]
    return probes.last


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- OpenMetrics backfill ----------------------------------------------------------------------


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> ASCII digits, zero-padded to `width` (values × width)."""
    v = values.astype(np.int64)
    out = np.empty((*v.shape, width), dtype=np.uint8)
    for d in range(width - 1, -1, -1):
        out[..., d] = 48 + v % 10
        v //= 10
    return out


def om_lines(prefixes: list[bytes], values: np.ndarray | None, times: np.ndarray) -> bytes:
    """OpenMetrics sample lines `PREFIX[VALUE] TIME\\n` for series (rows) × samples.

    Prefixes of equal length hold the name, labels and a space (and the value, when
    `values` is None); values are integers written zero-padded, which the parser accepts.
    """
    width = len(prefixes[0])
    vwidth = 0 if values is None else max(1, len(str(int(values.max()))))
    tw = len(str(int(times.max())))
    line = width + vwidth + (1 if vwidth else 0) + tw + 1
    out = np.empty((len(prefixes), len(times), line), dtype=np.uint8)
    out[:, :, :width] = np.frombuffer(b"".join(prefixes), np.uint8).reshape(-1, 1, width)
    at = width
    if values is not None:
        out[:, :, at:at + vwidth] = digits(values, vwidth)
        out[:, :, at + vwidth] = 32
        at += vwidth + 1
    out[:, :, at:at + tw] = digits(times, tw)[None]
    out[:, :, -1] = 10
    return out.tobytes()


def write_openmetrics(path: Path, data: Data, rows: range, first: int) -> int:
    """Counters of `rows` from minute boundary `first` to the end, two samples a minute.

    At k*60 and k*60+30 both counters hold the events of minutes < k (flat within a
    minute), so `rate(x[W])` at a minute boundary covers exactly the W minutes before it.
    The budget gauge is written every 4 minutes. Returns the number of samples.
    """
    n = data.minutes
    ks = np.arange(first, n + 1)
    times = np.repeat(data.start + 60 * ks, 2)
    times[1::2] += 30
    gauge_ks = np.arange(n, first - 1, -4)[::-1]
    gauge_times = data.start + 60 * gauge_ks
    samples = 0
    block = 10
    with path.open("wb") as f:
        for name, kind in ((BAD, "counter"), (TOTAL, "counter")):
            f.write(f"# TYPE {name} {kind}\n".encode())
            for lo in range(rows.start, rows.stop, block):
                chunk = range(lo, min(lo + block, rows.stop))
                pb, pt = prefix_sums(data.good[chunk.start:chunk.stop],
                                     data.total[chunk.start:chunk.stop])
                counts = (pb if name == BAD else pt)[:, ks]
                prefixes = [f'{name}_total{{slo="{data.slugs[r]}"}} '.encode() for r in chunk]
                f.write(om_lines(prefixes, np.repeat(counts, 2, axis=1), times))
                samples += counts.size * 2
        f.write(f"# TYPE {BUDGET} gauge\n".encode())
        for r in rows:
            prefix = f'{BUDGET}{{slo="{data.slugs[r]}"}} {float(data.budget[r])!r} '.encode()
            f.write(om_lines([prefix], None, gauge_times))
            samples += len(gauge_times)
        f.write(b"# EOF\n")
    return samples


def backfill(data: Data, rows: range, first: int, workdir: Path) -> tuple[int, float, float]:
    """Write the OpenMetrics file, promtool it into `workdir/data`, delete the file.

    Returns (samples, seconds writing, seconds in promtool)."""
    fd, name = tempfile.mkstemp(prefix="apollo-bench-", suffix=".om", dir="/tmp")
    os.close(fd)
    path = Path(name)
    try:
        write_s, samples = timed(lambda: write_openmetrics(path, data, rows, first))
        size = path.stat().st_size
        progress(f"wrote {samples:,} samples ({size / 1e6:,.0f} MB) in {write_s:.1f}s; backfilling")
        command = ["promtool", "tsdb", "create-blocks-from", "openmetrics",
                   "--max-block-duration=720h", str(path), str(workdir / "data")]
        promtool_s, result = timed(lambda: subprocess.run(command, capture_output=True, text=True,
                                                          check=False))
        if result.returncode != 0:
            raise BenchError(f"promtool failed ({result.returncode}): {result.stderr[-2000:]}")
        progress(f"promtool: {promtool_s:.1f}s")
        return samples, write_s, promtool_s
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def prometheus(data: Data, rows: range, first: int) -> Iterator[Any]:
    """A Prometheus 2.42 on 127.0.0.1 serving the backfilled rows; stopped on exit."""
    sys.path.insert(0, str(ROOT / "tests"))
    from harness.servers import start_prometheus

    workdir = Path(tempfile.mkdtemp(prefix="apollo-bench-prom-", dir="/tmp"))
    server = None
    try:
        info = backfill(data, rows, first, workdir)
        server = start_prometheus(
            workdir, extra_args=("--storage.tsdb.retention.time=3650d", "--query.timeout=30m"),
            startup_timeout=120)
        deadline = time.monotonic() + 120
        while True:  # the blocks are loaded when the query sees every series
            result = server.query(f"count({TOTAL}_total)", data.end)["result"]
            if result and int(float(result[0]["value"][1])) == len(rows):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"Prometheus does not see the backfilled data: {result}")
            time.sleep(0.2)
        yield server, info
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def prometheus_version() -> str:
    try:
        text = subprocess.run(["prometheus", "--version"], capture_output=True, text=True,
                              check=False).stdout
    except OSError:
        return "not installed"
    return text.split("\n", 1)[0].replace("prometheus, version ", "") or "unknown"


# --- (b) burn rates at 5-minute steps --------------------------------------------------------


def burn_expr(width: str, selector: str = "") -> str:
    """Burn rate over one window for every SLO (or those `selector` picks), grouped by slo."""
    return (f"sum by (slo) (rate({BAD}_total{selector}[{width}])) / "
            f"sum by (slo) (rate({TOTAL}_total{selector}[{width}])) / on (slo) "
            f"{BUDGET}{selector}")


class Client:
    """Timed HTTP queries: the clock stops when the whole response body has arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=3600.0, trust_env=False)

    def get(self, path: str, params: dict[str, str]) -> tuple[float, list[dict[str, Any]]]:
        start = time.perf_counter()
        response = self.http.get(path, params=params)
        body = response.content
        seconds = time.perf_counter() - start
        parsed = json.loads(body)
        if parsed.get("status") != "success":
            raise BenchError(f"{path} {params}: {parsed.get('error')}")
        return seconds, parsed["data"]["result"]

    def range(self, expr: str, start: int, end: int, step: int
              ) -> tuple[float, list[dict[str, Any]]]:
        return self.get("/api/v1/query_range", {"query": expr, "start": str(start),
                                                "end": str(end), "step": str(step)})

    def instant(self, expr: str, at: int) -> tuple[float, list[dict[str, Any]]]:
        return self.get("/api/v1/query", {"query": expr, "time": str(at)})

    def close(self) -> None:
        self.http.close()


def steps_matrix(result: list[dict[str, Any]], index: dict[str, int], start: int, step: int,
                 count: int) -> np.ndarray:
    out = np.full((len(index), count), np.nan)
    for series in result:
        values = np.array(series["values"], dtype=object)
        at = (values[:, 0].astype(np.int64) - start) // step
        out[index[series["metric"]["slo"]], at] = values[:, 1].astype(float)
    return out


def engine_burn(good: np.ndarray, total: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Burn rate of every window every STEP_S seconds: windows × rows × instants.

    Minutes are summed into 5-minute blocks first; every window is a whole number of them.
    """
    ratios = ratios_every(good, total, PLAN.widths, STEP_S // 60)
    return np.divide(ratios, budget[None, :, None], out=ratios)


def engine_burn_gather(good: np.ndarray, total: np.ndarray, budget: np.ndarray,
                       at: np.ndarray) -> np.ndarray:
    """The same at any minute indexes `at`: per-minute prefix sums, one gather per window."""
    pb, pt = prefix_sums(good, total)
    return np.stack([ratios_at(pb, pt, w, at) for w in PLAN.widths]) / budget[None, :, None]


def engine_burn_blocks(good: np.ndarray, total: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """`engine_burn` from 5-minute sums (rows × blocks): the windows in blocks, one a step."""
    step = STEP_S // 60
    ratios = ratios_every(good, total, [w // step for w in PLAN.widths], 1)
    return np.divide(ratios, budget[None, :, None], out=ratios)


def write_store(url: str, data: Data, rows: range) -> tuple[int, float]:
    """The rows' minute rows into a fresh store (untimed), each SLO from one instance, then
    the roll-up job's 5-minute and hour rows; returns (minute rows, roll-up seconds)."""
    engine = make_engine(url)
    upgrade(engine)
    columns = table_columns(SliMinute.__table__)  # type: ignore[arg-type]
    written = 0
    with engine.begin() as conn:
        ids = [ensure_slo(conn, slug=data.slugs[r], name=data.slugs[r],
                          objective=float(data.objective[r]), period_s=30 * 86400)
               for r in rows]
    block = 1440
    for lo in range(0, data.minutes, block):
        hi = min(lo + block, data.minutes)
        good = data.good[rows.start:rows.stop, lo:hi]
        total = data.total[rows.start:rows.stop, lo:hi]
        minute = np.broadcast_to(data.start + 60 * np.arange(lo, hi), good.shape)
        slo_id = np.broadcast_to(np.array(ids)[:, None], good.shape)
        keep = ~np.isnan(total)
        values = {"minute": minute[keep], "slo_id": slo_id[keep], "good": good[keep],
                  "total": total[keep]}
        values["instance"] = np.array([f"10.0.0.{i % 250}:8080" for i in ids])[
            np.searchsorted(ids, slo_id[keep])]
        records = list(zip(*(values[c].tolist() for c in columns), strict=True))
        with engine.begin() as conn:
            written += upsert(conn, SliMinute.__table__, records)  # type: ignore[arg-type]
    started = time.perf_counter()
    with engine.begin() as conn:
        roll_up(conn, data.start, data.end)
    rolled_s = time.perf_counter() - started
    engine.dispose()
    return written, rolled_s


def old_sli_read(conn: Any, start: int, end: int) -> pd.DataFrame:
    """The read path before instances and numpy columns (the baseline, kept here as it was):
    minute rows joined to their SLO's slug, one SQLAlchemy Row each, made plain tuples,
    then a DataFrame."""
    t, s = SliMinute.__table__, Slo.__table__
    query = (select(t.c.minute, s.c.slug, t.c.good, t.c.total)
             .join(s, s.c.id == t.c.slo_id)
             .where(t.c.minute >= start, t.c.minute < end)
             .order_by(t.c.minute, s.c.slug))
    rows = [tuple(row) for row in conn.execute(query)]
    frame = pd.DataFrame.from_records(rows, columns=["ts", "slo", "good", "total"])
    frame["ts"] = epoch_index(frame["ts"])
    return frame


@dataclass(frozen=True)
class ReadPath:
    """One way to read the SLOs' minutes from the store, and the step it reads at."""

    name: str
    read: Callable[[Any, Data], pd.DataFrame]
    step_s: int


READ_PATHS = (
    ReadPath("old: minute rows -> DataFrame (baseline)",
             lambda conn, d: old_sli_read(conn, d.start, d.end), 60),
    ReadPath("queries.sli minutes: summed in SQL -> numpy",
             lambda conn, d: queries.sli(conn, from_epoch(d.start), from_epoch(d.end)), 60),
    ReadPath("queries.sli resolution=5m: roll-up rows -> numpy",
             lambda conn, d: queries.sli(conn, from_epoch(d.start), from_epoch(d.end),
                                         resolution="5m"), STEP_S),
)


def frame_arrays(frame: pd.DataFrame, data: Data, slugs: list[str], step_s: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(good, total) as rows × steps from a read's frame; intervals without a row are NaN."""
    row = pd.Categorical(frame["slo"], categories=slugs).codes
    col = (frame["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64) - data.start) // step_s
    good = np.full((len(slugs), data.minutes * 60 // step_s), np.nan)
    total = np.full_like(good, np.nan)
    good[row, col] = frame["good"].to_numpy()
    total[row, col] = frame["total"].to_numpy()
    return good, total


def store_burn(engine: Any, data: Data, slugs: list[str], path: ReadPath
               ) -> tuple[np.ndarray, int, float]:
    """Read the SLOs with `path`, then the engine: what a service would do.

    Returns the burn rates, the rows read and the seconds spent reading alone."""
    start = time.perf_counter()
    with engine.connect() as conn:
        frame = path.read(conn, data)
    read_s = time.perf_counter() - start
    good, total = frame_arrays(frame, data, slugs, path.step_s)
    objectives = dict(zip(data.slugs, data.objective, strict=True))
    budget = np.array([(100 - objectives[s]) / 100 for s in slugs])
    burn = engine_burn(good, total, budget) if path.step_s == 60 else \
        engine_burn_blocks(good, total, budget)
    return burn, len(frame), read_s


@dataclass
class StoreRun:
    """The read paths on one backend: seconds per path, read + engine and read alone."""

    backend: str
    minute_rows: int
    rolled_s: float
    total: dict[str, list[float]] = field(default_factory=dict)
    read: dict[str, list[float]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def bench_store(backend: str, url: str, data: Data, rows: range, mine: np.ndarray,
                repeat: int) -> StoreRun:
    """Write once, then each read path in turn, `repeat` rounds; every result must equal
    the engine's in-memory burn rates."""
    (written, rolled_s) = write_store(url, data, rows)
    progress(f"(b) {backend}: {written:,} minute rows written, rolled up in {rolled_s:.1f}s")
    run = StoreRun(backend, written, rolled_s)
    engine = make_engine(url)
    try:
        for r in range(repeat):
            for path in READ_PATHS:
                seconds, (burn, read_rows, read_s) = timed(
                    lambda p=path: store_burn(engine, data, data.slugs[:len(rows)], p))
                if not np.array_equal(burn, mine, equal_nan=True):
                    raise BenchError(f"(b) {backend} {path.name}: the store round trip "
                                     "changed the engine's burn rates")
                run.total.setdefault(path.name, []).append(seconds)
                run.read.setdefault(path.name, []).append(read_s)
                run.rows[path.name] = read_rows
                progress(f"(b) {backend} run {r + 1}, {path.name}: {seconds:.2f}s "
                         f"(read {read_s:.2f}s)")
    finally:
        engine.dispose()
    return run


def store_lines(run: StoreRun) -> list[str]:
    base = READ_PATHS[0].name
    base_read = statistics.median(run.read[base])
    base_total = statistics.median(run.total[base])
    lines = [f"      {run.backend}: {run.minute_rows:,} sli_minutes rows (one instance per SLO) "
             f"written once before timing; 5-minute and hour roll-ups made by "
             f"rollup.roll_up in {run.rolled_s:.1f}s (the roll-up job's work, not timed)"]
    for path in READ_PATHS:
        read = statistics.median(run.read[path.name])
        total = statistics.median(run.total[path.name])
        verdict_text = "" if path.step_s != STEP_S else (  # the target is the 5-minute read's
            f"  target >= {TARGET_B_READ:g}x: {verdict(base_read / read >= TARGET_B_READ)}")
        lines.append(
            f"        {path.name:<48} {run.rows[path.name]:>10,} {read:>8.3f} "
            f"{base_read / read:>6.1f}x {total:>8.3f} {base_total / total:>6.1f}x  "
            f"{runs(run.read[path.name])}{verdict_text}")
    return lines


def bench_sqlite_store(data: Data, rows: range, mine: np.ndarray, repeat: int) -> StoreRun:
    """The read paths on a SQLite (WAL) file in a temp dir, deleted after."""
    tmp = Path(tempfile.mkdtemp(prefix="apollo-bench-store-", dir="/tmp"))
    try:
        return bench_store("SQLite", f"sqlite:///{tmp}/store.db", data, rows, mine, repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_pg_store(data: Data, rows: range, mine: np.ndarray, args: argparse.Namespace
                   ) -> StoreRun:
    """The read paths on PostgreSQL: a fresh database of `--pg-url`'s server, or of a
    throwaway PostgreSQL 15 started with the test harness; dropped after."""
    with postgres_server(args.pg_url) as maintenance:
        args.pg_info = postgres_settings(maintenance)
        name = f"apollo_bench_read_{os.getpid()}"
        admin(maintenance, f"CREATE DATABASE {name}")
        try:
            return bench_store("PostgreSQL", pg_database(maintenance, name), data, rows, mine,
                               args.repeat)
        finally:
            admin(maintenance, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def compare_burns(engine: np.ndarray, prom: np.ndarray, at: np.ndarray) -> dict[str, Any]:
    """Relative differences where both have a value, split by full / partial windows."""
    out: dict[str, Any] = {"full": 0.0, "partial": 0.0, "compared": 0, "nan_mismatch": [],
                           "worst": None}
    for k, width in enumerate(PLAN.widths):
        full = (at + 1) >= width  # the window lies inside the data
        e, p = engine[k], prom[k]
        both = ~np.isnan(e) & ~np.isnan(p)
        one = np.isnan(e) != np.isnan(p)
        if one.any():
            out["nan_mismatch"].append((WINDOW_NAMES[k], int(one.sum()),
                                        int((one & full[None, :]).sum())))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(both, np.abs(e - p) / np.maximum(np.abs(e), np.abs(p)), 0.0)
        rel = np.nan_to_num(rel)  # 0/0: both zero
        f = float(rel[:, full].max(initial=0.0))
        if f > out["full"]:
            out["full"] = f
            i, j = np.unravel_index(np.argmax(np.where(full[None, :], rel, 0)), rel.shape)
            out["worst"] = (WINDOW_NAMES[k], int(i), int(j), float(e[i, j]), float(p[i, j]))
        out["partial"] = max(out["partial"], float(rel[:, ~full].max(initial=0.0)))
        out["compared"] += int((both & full[None, :]).sum())
    return out


def bench_b(data: Data, args: argparse.Namespace, out: list[str]) -> None:
    n = min(args.slos_b, data.total.shape[0])
    rows = range(n)
    slugs = data.slugs[:n]
    index = {s: i for i, s in enumerate(slugs)}
    first_t, last_t = data.start + STEP_S, data.end
    instants = np.arange(first_t, last_t + 1, STEP_S)
    at = (instants - data.start) // 60 - 1  # the minute ending at each instant
    good, total, budget = data.good[:n], data.total[:n], data.budget[:n]

    mem_times, gather_times = [], []
    for _ in range(max(args.repeat, 10)):
        seconds, mine = timed(lambda: engine_burn(good, total, budget))
        mem_times.append(seconds)
        seconds, gathered = timed(lambda: engine_burn_gather(good, total, budget, at))
        gather_times.append(seconds)
    if not np.array_equal(mine, gathered, equal_nan=True):
        raise BenchError("(b) 5-minute blocks and per-minute gathers disagree")
    store_runs = [bench_sqlite_store(data, rows, mine, args.repeat)]
    if not args.skip_pg:
        store_runs.append(bench_pg_store(data, rows, mine, args))
    mem = statistics.median(mem_times)
    gather = statistics.median(gather_times)
    headline = READ_PATHS[-1].name
    store = statistics.median(store_runs[0].total[headline])
    out += [
        "",
        f"(b) burn rates of {n} SLOs, windows {' '.join(WINDOW_NAMES)}, every {STEP_S // 60} "
        f"minutes over {data.minutes // 1440} days ({len(instants):,} instants): "
        f"{len(PLAN.widths) * n * len(instants):,} values",
        f"    {'what':<62} {'median s':>9}  runs (s)",
        f"    {'engine in memory, 5-minute blocks (slo.batch.ratios_every)':<62} {mem:>9.4f}  "
        f"{runs(mem_times, '{:.3f}')}",
        f"    {'engine in memory, per-minute prefix sums + gathers':<62} {gather:>9.4f}  "
        f"{runs(gather_times, '{:.3f}')}",
        f"    {'engine + store read (SQLite, 5-minute roll-ups)':<62} {store:>9.3f}  "
        f"{runs(store_runs[0].total[headline])}",
        f"    store reads, median of {args.repeat} runs each, the paths taking turns; every "
        "result equal to the in-memory burn rates:",
        f"      {'read path':<50} {'rows':>10} {'read s':>8} {'vs old':>7} {'+engine':>8} "
        f"{'vs old':>7}  read runs (s)",
    ]
    for run in store_runs:
        out += store_lines(run)
    if args.skip_prometheus:
        out.append("    Prometheus: skipped (--skip-prometheus)")
        return

    with prometheus(data, rows, 0) as (server, (samples, om_s, promtool_s)):
        client = Client(server.url)
        try:
            grouped: list[list[float]] = []
            prom = np.full((len(PLAN.widths), n, len(instants)), np.nan)
            for r in range(args.repeat):
                per_window = []
                for k, name in enumerate(WINDOW_NAMES):
                    seconds, result = client.range(burn_expr(name), first_t, last_t, STEP_S)
                    per_window.append(seconds)
                    if r == 0:
                        prom[k] = steps_matrix(result, index, first_t, STEP_S, len(instants))
                grouped.append(per_window)
                progress(f"(b) Prometheus grouped range queries, run {r + 1}: "
                         f"{sum(per_window):.1f}s ({runs(per_window, '{:.1f}')})")
            per_slo_s = None
            per_slo_diff = 0.0
            if not args.skip_per_slo:
                start = time.perf_counter()
                for k, name in enumerate(WINDOW_NAMES):
                    for s in slugs:
                        _, result = client.range(burn_expr(name, f'{{slo="{s}"}}'), first_t,
                                                 last_t, STEP_S)
                        one = steps_matrix(result, index, first_t, STEP_S, len(instants))[
                            index[s]]
                        a, b = one, prom[k, index[s]]
                        if not np.array_equal(np.isnan(a), np.isnan(b)):
                            raise BenchError(f"per-SLO and grouped queries disagree on {s}")
                        ok = ~np.isnan(a)
                        per_slo_diff = max(per_slo_diff, float(np.max(
                            np.abs(a[ok] - b[ok]), initial=0.0)))
                    progress(f"(b) per-SLO queries, window {name} done "
                             f"({time.perf_counter() - start:.0f}s)")
                per_slo_s = time.perf_counter() - start
        finally:
            client.close()
    check = compare_burns(mine, prom, at)
    totals = [sum(g) for g in grouped]
    prom_s = statistics.median(totals)
    window_medians = [statistics.median(g[k] for g in grouped) for k in range(len(WINDOW_NAMES))]
    out += [
        f"    {'Prometheus range queries, one per window for all SLOs (HEADLINE)':<62} "
        f"{prom_s:>9.2f}  "
        f"{runs(totals, '{:.1f}')}",
        "      per window (median s): " + ", ".join(
            f"{w} {s:.2f}" for w, s in zip(WINDOW_NAMES, window_medians, strict=True)),
    ]
    if per_slo_s is not None:
        out.append(f"    {f'Prometheus per-SLO range queries ({n * len(PLAN.widths)}, 1 run)':<62} "
                   f"{per_slo_s:>9.2f}  same values as grouped (max abs diff {per_slo_diff:.1e})")
    worst = check["worst"]
    out += [
        f"    Prometheus data: {samples:,} samples backfilled (OpenMetrics written in "
        f"{om_s:.1f}s, promtool {promtool_s:.1f}s, not timed); queries: "
        f"{burn_expr('W')}; time = HTTP round trip until the body is in, JSON parsing excluded",
        f"    speed-up vs grouped Prometheus: in memory {prom_s / mem:,.0f}x (target >= "
        f"{TARGET_B_MEMORY:g}x: {verdict(prom_s / mem >= TARGET_B_MEMORY)}; gathers "
        f"{prom_s / gather:,.0f}x), with the store read {prom_s / store:,.1f}x "
        f"(target >= {TARGET_B_STORE:g}x: {verdict(prom_s / store >= TARGET_B_STORE)})",
        f"    agreement: {check['compared']:,} values with full windows, max rel. diff "
        f"{check['full']:.1e} (allowed {PROM_TOL:g}: {verdict(check['full'] < PROM_TOL)})"
        + (f", worst {worst[0]} {slugs[worst[1]]} step {worst[2]}: {worst[3]!r} vs {worst[4]!r}"
           if worst and check["full"] > 0 else "")
        + f"; windows reaching before the data: max rel. diff {check['partial']:.1e}; "
        f"NaN on one side only: {check['nan_mismatch'] or 'none'}",
    ]
    if check["full"] >= PROM_TOL:
        raise BenchError("\n".join(out[-1:]))


# --- (c) the current verdicts ----------------------------------------------------------------


def pair_expr(index: int) -> str:
    """One window pair of the multiwindow rule for every SLO, as Sloth writes it grouped."""
    w = GOOGLE_30D.windows[index]
    factor = repr(PLAN.pairs[index].factor)

    def over(window: timedelta) -> str:
        name = format_duration(window)
        return (f"(sum by (slo) (rate({BAD}_total[{name}])) / sum by (slo) "
                f"(rate({TOTAL}_total[{name}])) > on (slo) ({factor} * {BUDGET}))")

    return f"{over(w.short)} and on (slo) {over(w.long)}"


def bench_c(data: Data, args: argparse.Namespace, out: list[str],
            last_a: dict[str, np.ndarray] | None) -> None:
    n = data.total.shape[0]
    limits = PLAN.limits(data.budget)
    pb, pt = prefix_sums(data.good, data.total)  # kept cumulative counts (not timed)
    repeats = 200
    prefix_times = [timed(lambda: current_from_prefix(pb, pt, limits, PLAN))[0]
                    for _ in range(repeats)]
    kept = current_from_prefix(pb, pt, limits, PLAN)
    direct_times = [timed(lambda: current(data.good, data.total, limits, PLAN))[0]
                    for _ in range(repeats // 4)]
    fresh = current(data.good, data.total, limits, PLAN)
    for s in SEVERITIES:
        if not np.array_equal(kept.severities[s], fresh.severities[s]):
            raise BenchError(f"(c) the two engine methods disagree on {s}")
        if last_a is not None and not np.array_equal(kept.severities[s], last_a[s]):
            raise BenchError(f"(c) current verdicts differ from (a)'s last minute for {s}")
    reports = 0
    for row in np.random.default_rng(5).choice(n, 20, replace=False):
        rep = report(data.slo(int(row)), data.series(int(row)), data.end, GOOGLE_30D)
        reports += 1
        for alert in rep.alerts:
            if alert.firing != bool(kept.severities[alert.severity][row]):
                raise BenchError(f"(c) {data.slugs[row]}: report and engine disagree")
    kept_s = statistics.median(prefix_times)
    direct_s = statistics.median(direct_times)
    firing = {s: int(kept.severities[s].sum()) for s in SEVERITIES}
    out += [
        "",
        f"(c) current page/ticket verdicts (last minute) of {n:,} SLOs: page firing for "
        f"{firing['page']}, ticket for {firing['ticket']}",
        f"    {'what':<62} {'median ms':>10}  runs",
        f"    {'engine from kept prefix sums (8 gathers + divides)':<62} "
        f"{kept_s * 1e3:>10.3f}  {repeats} (min {min(prefix_times) * 1e3:.3f})",
        f"    {'engine from raw minutes (sums the last 3d, nothing precomputed)':<62} "
        f"{direct_s * 1e3:>10.3f}  {repeats // 4} (min {min(direct_times) * 1e3:.3f})",
        "    kept prefix sums = cumulative good/total per SLO, computed once outside the timing "
        "(the state Prometheus keeps as counters); both agree with each other, with (a)'s last "
        f"minute and with {reports} slo.report.report calls",
    ]
    if args.skip_prometheus:
        out.append("    Prometheus: skipped (--skip-prometheus)")
        return
    rows = range(n)
    first = max(0, data.minutes - TAIL_MINUTES)
    index = {s: i for i, s in enumerate(data.slugs)}
    with prometheus(data, rows, first) as (server, (samples, _om_s, promtool_s)):
        client = Client(server.url)
        try:
            exprs = [pair_expr(k) for k in range(len(PLAN.pairs))]
            totals, verdicts = [], None
            for r in range(max(args.repeat, 10)):
                results, spent = [], 0.0
                for expr in exprs:
                    seconds, result = client.instant(expr, data.end)
                    spent += seconds
                    results.append(result)
                totals.append(spent)
                if r == 0:
                    verdicts = results
                    progress(f"(c) Prometheus 4 instant queries: {spent:.2f}s")
        finally:
            client.close()
    assert verdicts is not None
    mismatches = 0
    for k, result in enumerate(verdicts):
        fired = np.zeros(n, dtype=bool)
        for series in result:
            fired[index[series["metric"]["slo"]]] = True
        mismatches += int((fired != kept.pairs[k]).sum())
    prom_s = statistics.median(totals)
    out += [
        f"    {'Prometheus: 4 pair rules as instant queries, grouped by slo':<62} "
        f"{prom_s * 1e3:>10.1f}  {len(totals)} ({runs(totals)} s)",
        f"    Prometheus data: the last {data.minutes - first:,} minutes of the {n:,} SLOs, "
        f"{samples:,} samples (promtool {promtool_s:.1f}s, not timed); rule: "
        f"{pair_expr(0)}",
        f"    agreement: per pair and SLO, {len(PLAN.pairs) * n:,} verdicts, "
        f"{mismatches} differ",
        f"    targets: < {TARGET_C_S * 1e3:g} ms: {verdict(kept_s < TARGET_C_S)} "
        f"(raw minutes: {verdict(direct_s < TARGET_C_S)}); >= {TARGET_C_RATIO:g}x faster than "
        f"Prometheus: {prom_s / kept_s:,.0f}x {verdict(prom_s / kept_s >= TARGET_C_RATIO)} "
        f"(raw minutes: {prom_s / direct_s:,.0f}x "
        f"{verdict(prom_s / direct_s >= TARGET_C_RATIO)})",
    ]
    if mismatches:
        raise BenchError("\n".join(out[-2:]))


# --- report ----------------------------------------------------------------------------------


def machine() -> list[str]:
    return [
        machine_line(),
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, Prometheus {prometheus_version()}",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slos-a", type=int, default=1000, help="SLOs for (a) and (c)")
    parser.add_argument("--slos-b", type=int, default=100, help="SLOs for (b)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="engine threads for (a) (default: nproc)")
    parser.add_argument("--chunk-rows", type=int, default=2, help="SLOs per chunk in (a)")
    parser.add_argument("--skip-prometheus", action="store_true")
    parser.add_argument("--skip-per-slo", action="store_true",
                        help="(b) without the one-query-per-SLO-and-window variant")
    parser.add_argument("--skip-pg", action="store_true",
                        help="(b) reads the store from SQLite only")
    parser.add_argument("--pg-url", help="postgresql+psycopg:// URL of a maintenance database "
                        "(CREATE DATABASE allowed); default: start a throwaway PostgreSQL 15")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.pg_info = None
    started = time.perf_counter()
    progress(f"generating {args.slos_a} SLOs x {args.days} days")
    gen_s, data = timed(lambda: make_data(args.slos_a, args.days))
    progress(f"generated in {gen_s:.1f}s")
    out = [
        f"SLO engine benchmark: {args.slos_a:,} SLOs x {args.days} days of per-minute good/total "
        f"({data.minutes:,} minutes each; generated in {gen_s:.1f}s, not timed), GOOGLE_30D "
        f"alert windows, objectives {'/'.join(f'{o:g}' for o in OBJECTIVES)}",
        *machine(),
        "",
    ]
    last_a = bench_a(data, args, out)
    bench_b(data, args, out)
    bench_c(data, args, out, last_a)
    if args.pg_info:
        out.insert(3, f"PostgreSQL (b): {args.pg_info}")
    print("\n".join(out))
    print(f"\ntotal wall time {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
