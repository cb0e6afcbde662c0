"""The demo fleet's past: `apollo fleet history --days 30` (and `apollo demo` on first start).

History goes through the collector's own path: each service's simulator, started at the
beginning of the range, shows its /metrics page at every minute boundary; the page is
parsed as a scrape's would be and handed to a `PageScraper`, whose per-minute increases,
row builders and SLO readings write the rows. So history and live minutes come from the
same load model through the same code, and agree at the seam.
"""

from __future__ import annotations

import itertools
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from collectors.runs import RunResult
from collectors.scrape import PageScraper, Target
from collectors.scrape.names import names_by_service
from collectors.scrape.parse import Page
from collectors.scrape.scraper import Fetched
from services.config import Settings
from services.fleet.runner import profiles
from services.fleet.simulator import ServiceSimulator
from services.runtime.jobs import configured_slos, register_services
from services.runtime.processes import die_with_parent
from services.store.engine import make_engine
from slo.model import SLO

MINUTE_S = 60
CHUNK_MINUTES = 1440  # scrapes per write: a day
HISTORY_TARGET = "http://history/{slug}/metrics"  # without a live fleet: instance `history`

Progress = Callable[[int, int], None]  # minutes done, minutes in all


@dataclass(frozen=True)
class History:
    start: int  # Unix seconds, first minute written
    end: int  # end of the last minute written
    services: int
    minutes: int  # service-minutes written
    runs: list[RunResult]

    @property
    def problems(self) -> list[str]:
        return [error for run in self.runs for error in run.errors]


def history_targets(settings: Settings, urls: dict[str, str] | None = None) -> list[Target]:
    """One target per simulated service: the running fleet's URL when given (so history
    and live rows share their instance), else the `history` instance."""
    urls = urls or {}
    return [Target(p.slug, urls.get(p.slug, HISTORY_TARGET.format(slug=p.slug)))
            for p in profiles(settings)]


def history_workers() -> int:
    """Processes for writing history: one per core this process may run on (all cores
    where the system cannot say, as on macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def write_history(settings: Settings, engine: Engine, *, days: float,
                  end: float | None = None, urls: dict[str, str] | None = None,
                  slos: Sequence[SLO] | None = None, progress: Progress | None = None,
                  stop: threading.Event | None = None, workers: int = 1) -> History:
    """Write the minutes of [end - days, end) for every simulated service; `end` defaults to
    this minute. Rewriting the same range writes the same rows (upserts).

    With `workers` > 1 the range is cut into that many spans, each written by its own
    process (30 days take about 90 s of CPU, more than the demo's minute on one core).
    Each span's simulators start at its beginning, as if the services had restarted
    there: the minutes are the same load model's, whole counts aside (a page shows
    counters rounded down, so a minute may differ by less than one per series)."""
    last = int((time.time() if end is None else end) // MINUTE_S * MINUTE_S)
    first = last - round(days * 1440) * MINUTE_S  # whole minutes (30/1440 days is 30)
    if first >= last:
        raise ValueError(f"days: expected more than one minute, got {days}")
    register_services(settings, engine)
    targets = history_targets(settings, urls)
    slos = configured_slos(settings) if slos is None else list(slos)
    total = (last - first) // MINUTE_S
    part = _Part(settings, targets, first, last, slos)
    spans = part.split(workers)
    if len(spans) == 1:
        done = 0

        def on_chunk(service_minutes: int) -> None:
            nonlocal done
            done += service_minutes
            if progress is not None:
                progress(done // len(targets), total)

        halted = stop.is_set if stop is not None else (lambda: False)
        runs = part.write(engine, on_chunk, halted)
    else:
        url = engine.url.render_as_string(hide_password=False)
        runs = _in_processes(spans, url, len(targets), total, progress, stop)
    return History(first, last, len(targets), total * len(targets), runs)


@dataclass(frozen=True)
class _Part:
    """The services over a span of the range: what one process writes."""

    settings: Settings
    targets: list[Target]
    first: int
    last: int
    slos: list[SLO]

    def simulators(self) -> dict[str, ServiceSimulator]:
        fleet = self.settings.fleet
        by_slug = {p.slug: p for p in profiles(self.settings)}
        return {t.url: ServiceSimulator(by_slug[t.service], seed=fleet.seed, start=self.first,
                                        amplitude=fleet.daily_amplitude, noise=fleet.noise)
                for t in self.targets}

    def split(self, workers: int) -> list[_Part]:
        """At most `workers` spans of about as many whole days (a day is the unit written)."""
        days = -(-(self.last - self.first) // (CHUNK_MINUTES * MINUTE_S))
        count = max(1, min(workers, days))
        bounds = [self.last - (count - n) * (self.last - self.first) // count // MINUTE_S
                  * MINUTE_S for n in range(count + 1)]
        bounds[0] = self.first
        return [_Part(self.settings, self.targets, a, b, self.slos)
                for a, b in itertools.pairwise(bounds)]

    def write(self, engine: Engine, on_chunk: Callable[[int], None],
              halted: Callable[[], bool]) -> list[RunResult]:
        """Scrape the simulators at every minute boundary and write a day at a time; the runs
        that had errors. `halted` is asked between days (what is written stays)."""
        simulators = self.simulators()
        # Spans are written side by side: a SQLite transaction takes the write lock when it
        # begins (a read then a write would fail at once with "database is locked").
        engine = engine.execution_options(sqlite_begin_immediate=True)
        scraper = PageScraper(engine, self.targets, slos=self.slos,
                              names=names_by_service(self.settings.services))
        runs: list[RunResult] = []
        # The first scrape, at the start of the range, starts the counting; each later scrape
        # at a minute's end completes that minute.
        times = range(self.first, self.last + 1, MINUTE_S)
        for i in range(0, len(times), CHUNK_MINUTES):
            if halted():
                break
            fetched = []
            chunk = times[i:i + CHUNK_MINUTES]
            for t in chunk:
                for target in self.targets:
                    values, types = simulators[target.url].samples(float(t))
                    fetched.append(Fetched(target, float(t), page=Page(values, types)))
            runs += [run for run in scraper.ingest(fetched) if run.errors]
            minutes = len(chunk) - (1 if i == 0 else 0)  # the first scrape completes none
            on_chunk(minutes * len(self.targets))
        return runs


def _in_processes(parts: list[_Part], url: str, services: int, total: int,
                  progress: Progress | None, stop: threading.Event | None) -> list[RunResult]:
    """Run each part in its own process on the store at `url`; their runs with errors. A
    worker that fails fails the history; `stop` halts them between days.

    The workers are fresh interpreters (`python -c`), not multiprocessing's spawn: spawn
    runs the parent's `__main__` again, which in a host like Streamlit's test runner is an
    app script (seen in the full test suite)."""
    messages: queue.Queue[tuple[int, str, Any]] = queue.Queue()
    processes = []
    for n, part in enumerate(parts):
        process = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, preexec_fn=die_with_parent)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(pickle.dumps((part, url)))
        process.stdin.close()
        threading.Thread(target=_relay, args=(n, process, messages), daemon=True,
                         name=f"apollo-history-{n}").start()
        processes.append(process)
    runs: list[RunResult] = []
    done, finished = 0, 0
    try:
        while finished < len(processes):
            if stop is not None and stop.is_set():
                break
            try:
                n, kind, value = messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "chunk":
                done += value
                if progress is not None:
                    progress(done // services, total)
            elif kind == "done":
                runs += value
                finished += 1
            elif kind == "error":
                raise RuntimeError(f"history: worker {n} failed:\n{value}")
            else:  # its output ended before it said it was done
                raise RuntimeError(f"history: worker {n} exited with code {value}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()  # it ends after the day it is writing (see _worker)
        for process in processes:
            try:
                process.wait(timeout=4)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return runs


WORKER = "from services.runtime.history import _worker; _worker()"


def _relay(n: int, process: subprocess.Popen[bytes], messages: queue.Queue) -> None:
    """A worker's messages (pickled one after the other on its stdout) to `messages`."""
    assert process.stdout is not None
    while True:
        try:
            kind, value = pickle.load(process.stdout)
        except (EOFError, pickle.UnpicklingError, OSError):
            messages.put((n, "exit", process.wait()))
            return
        messages.put((n, kind, value))
        if kind in ("done", "error"):
            return


def _worker() -> None:
    """One history process: its part (pickled on stdin), reported day by day on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    halted = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halted.set())  # finish the day, then stop
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the messages

    def send(kind: str, value: Any) -> None:
        pickle.dump((kind, value), out)
        out.flush()

    part, url = pickle.load(sys.stdin.buffer)
    engine = make_engine(url)
    try:
        send("done", part.write(engine, lambda n: send("chunk", n), halted.is_set))
    except BaseException:
        send("error", traceback.format_exc())
        raise
    finally:
        engine.dispose()
