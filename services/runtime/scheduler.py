"""Running jobs: each on its own interval until stopped, or every job once (a CronJob).

The loop never dies. A job that raises becomes a failed run carrying the reason; a run
that cannot be recorded because the store is down is kept (a bounded backlog) and
written when the store answers again, so every round stays accounted for; the outage is
logged once as it starts and once as it ends, not at every round.

When the loop stops (SIGTERM, Ctrl-C, the demo's stop) or a run-once round ends, each job's
`close` gives back what it holds: its Redis leases, so another collector takes its
targets and its ClickHouse DSN at once instead of after their TTL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collectors.runs import RunResult, record_run
from services.errors import StoreError
from services.runtime import metrics
from services.store.interrupt import interrupt
from services.store.outage import Outage, store_unavailable

log = logging.getLogger(__name__)
STOP_GRACE_S = 1.0  # a running job's time to end by itself once stopped
RUN_BACKLOG = 10_000  # unrecorded runs kept while the store is down (about a day of rounds)


@dataclass
class Job:
    """One source (or housekeeping task) on its interval; `run` returns the runs it did;
    `close`, if any, is called once the scheduler stops (it gives back the job's leases)."""

    name: str
    interval_s: float
    run: Callable[[], list[RunResult]]
    next_at: float = 0.0
    close: Callable[[], object] | None = None


def failed_run(job: Job, exc: BaseException) -> RunResult:
    """What a job that raised did: nothing, for a reason worth reading."""
    reason = " ".join(str(exc).split())[:500] or type(exc).__name__
    return RunResult(job.name, "job", errors=[f"{type(exc).__name__}: {reason}"]).finish()


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


@dataclass
class RunLog:
    """Records runs in the store, keeping those it could not write for the next try.

    A store outage is logged once (services/store/outage.py): one warning when it starts,
    debug lines while it lasts, one info line when the store answers again, saying how many
    kept runs were written then (and how many a full backlog pushed out)."""

    engine: Engine
    backlog: deque[RunResult] = field(default_factory=lambda: deque(maxlen=RUN_BACKLOG))
    dropped: int = 0  # runs pushed out of a full backlog: counted, never silently lost
    outage: Outage = field(default_factory=lambda: Outage(log, "recording runs", retry_s=None))
    _dropped_before: int = 0  # `dropped` when the current outage began

    def record(self, runs: Sequence[RunResult]) -> bool:
        """Write the backlog and `runs`; False (all kept) if the store is not answering."""
        for run in runs:
            if len(self.backlog) == self.backlog.maxlen:
                self.dropped += 1
            self.backlog.append(run)
        metrics.RUN_BACKLOG.set(len(self.backlog))
        if not self.backlog:
            return True
        try:
            with self.engine.begin() as conn:
                for run in self.backlog:
                    record_run(conn, run)
        except (SQLAlchemyError, StoreError) as exc:
            if not self.outage.down:
                self._dropped_before = self.dropped
            kept = f"{_runs(len(self.backlog))} kept until it answers (at most {RUN_BACKLOG})"
            if self.outage.failed(exc, kept):
                return False
            # Not an outage: a run the store refuses (a NUL in a page's error text, on
            # PostgreSQL) would block every later one. One by one: that run is dropped.
            return self._record_one_by_one()
        if self.outage.down:
            dropped = self.dropped - self._dropped_before
            self.outage.answered(f"wrote the {_runs(len(self.backlog))} kept meanwhile" + (
                f", {dropped} older ones dropped (the backlog was full)" if dropped else ""))
        self.backlog.clear()
        metrics.RUN_BACKLOG.set(0)
        return True

    def _record_one_by_one(self) -> bool:
        """Each kept run in its own transaction; one the store refuses is dropped with an
        error naming it. False (the rest kept) if the store stops answering meanwhile."""
        while self.backlog:
            run = self.backlog[0]
            try:
                with self.engine.begin() as conn:
                    record_run(conn, run)
            except (SQLAlchemyError, StoreError) as exc:
                if store_unavailable(exc):
                    metrics.RUN_BACKLOG.set(len(self.backlog))
                    return False
                self.dropped += 1
                log.error("the store refused run %s %s (dropped, the others recorded): %s",
                          run.collector, run.target, " ".join(str(exc).split())[:300])
            self.backlog.popleft()
        metrics.RUN_BACKLOG.set(0)
        return True


@dataclass
class Scheduler:
    """Every job on its own interval, in the calling thread (or one of its own)."""

    engine: Engine
    jobs: list[Job]
    stop_event: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.time
    on_runs: Callable[[list[RunResult]], None] | None = None  # e.g. the demo's terminal lines

    def __post_init__(self) -> None:
        self.log = RunLog(self.engine)
        self._outages: dict[str, Outage] = {}  # per job: the store unavailable to it

    def run_job(self, job: Job) -> list[RunResult]:
        """One run of one job; whatever happens, its runs are observed and recorded. A job
        that raises because the store is unavailable logs that once per outage (its failed
        runs say it every time); any other exception is logged with its traceback."""
        outage = self._outages.get(job.name)
        if outage is None:
            outage = self._outages[job.name] = Outage(log, f"job {job.name}",
                                                      retry_s=job.interval_s)
        try:
            runs = job.run()
        except Exception as exc:  # any failure is a failed run, never a dead loop
            if self.stop_event.is_set():  # interrupted by the stop (see _interrupt_on_stop)
                log.info("job %s stopped before its end: %s", job.name, type(exc).__name__)
            elif not outage.failed(exc):
                log.exception("job %s failed", job.name)
            runs = [failed_run(job, exc)]
        else:
            outage.answered()
        for run in runs:
            metrics.observe(run)
        self.log.record(runs)
        if self.on_runs is not None:
            try:
                self.on_runs(runs)
            except Exception:  # a printing hook must not stop collection either
                log.exception("run hook failed")
        return runs

    def run_due(self, now: float) -> list[RunResult]:
        done: list[RunResult] = []
        for job in self.jobs:
            if self.stop_event.is_set():  # the rest of the round waits for the next start
                break
            if now < job.next_at:
                continue
            job.next_at = now + job.interval_s
            done += self.run_job(job)
        return done

    def run_once(self) -> list[RunResult]:
        """Every job once, in order (a CronJob's run), then `close` (the next run, in another
        process, takes the leases this one held)."""
        try:
            return [run for job in self.jobs for run in self.run_job(job)]
        finally:
            self.close()

    def close(self) -> None:
        """Each job's `close` once (two jobs may share one: a second call gives back
        nothing); one that fails is logged and the others still run."""
        for job in self.jobs:
            if job.close is None:
                continue
            try:
                job.close()
            except Exception:  # a lease not given back runs out on its own
                log.exception("closing job %s failed", job.name)

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, min((job.next_at for job in self.jobs), default=1.0) - now)

    def run(self) -> None:
        """Until `stop_event` is set; a round that overruns delays only its own job. Then
        the jobs give back their leases (`close`)."""
        left = threading.Event()  # set once the loop is left
        threading.Thread(target=self._interrupt_on_stop, args=(left,),
                         name="scheduler-stop", daemon=True).start()
        try:
            while not self.stop_event.is_set():
                try:
                    self.run_due(self.clock())
                except Exception:  # the loop itself must outlive a bug in a hook or the log
                    log.exception("scheduler round failed")
                self.stop_event.wait(min(1.0, self.seconds_to_next(self.clock())) or 0.05)
        finally:
            left.set()
            self.close()
        self.log.record([])  # one last try for runs kept while the store was down

    def _interrupt_on_stop(self, left: threading.Event) -> None:
        """Once stopped, a job still running after STOP_GRACE_S has its store statements
        aborted (a first roll-up of a month takes ~12 s): Ctrl-C ends within seconds, and
        the job, rolled back, is done again at the next start."""
        self.stop_event.wait()
        if not left.wait(STOP_GRACE_S) and (asked := interrupt(self.engine)):
            log.info("stopping: aborted %d store statement(s) of a running job", asked)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        thread.start()
        return thread
