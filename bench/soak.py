"""Soak (issue 11, part 5): `apollo demo --incident payment-errors` for half an hour, its
processes' memory sampled every minute, and whether the whole path kept working.

Run: .venv/bin/python bench/soak.py [--minutes 30] [--history-days 1] [--start-timeout 600] [--keep]

The demo runs as a user starts it (`apollo demo --incident payment-errors`, the bundled
example configuration, cwd the repository) in a fresh temp data dir, on free loopback
ports (APOLLO_API__PORT=0, APOLLO_DASHBOARD__PORT=0; the fleet and the webhook sink pick
free ports themselves), with `--history-days` of history written on first start (1 by
default to keep start-up short; the demo's own default is 30) and one day of events
backfilled. The clock starts when the demo prints that it is running.

  memory       every minute (minute 0 = running), the RSS (/proc/<pid>/status VmRSS; psutil
               is not a dependency) of each process of the demo's tree: the demo itself
               (fleet, collectors, alert evaluation, outbox worker and sink are threads of
               it) and its two children, the API and the dashboard; also their threads and
               open files. Per process: start, 5-minute, end, and the growth per hour fitted
               by least squares over the samples from minute 5 on, as % of the 5-minute
               value. Target: under 5 % per hour.
  rounds       collector_runs rows of the `scrape` job per fleet target (one a target and
               round), against the rounds the interval allows; failed or partial runs.
  gaps         per service with minute rows, the minutes from the first whole minute of the
               live run to the last minute that ended 30 s (two scrape intervals) before the
               stop, without a service_minutes row (any instance). Target: none.
  alerting     alert_transitions rows and their notification_outbox rows by status; a
               transition should notify when it goes to firing or resolved unsilenced (a
               resolve only if its firing did, as the evaluator decides); each such
               transition's key needs a `sent` outbox row. Target: all of them.
  stop         SIGINT to the demo; how long until the demo and each child exited. Target:
               every one within 5 s.

Before the stop the bench waits (at most 60 s) for pending outbox rows to drain, so a
transition in the last seconds is not counted as undelivered. Also printed: the machine,
the demo's own terminal lines (faults, transitions, deliveries, failed scrapes), each
process's CPU, and, minute by minute, the CPU the rest of the machine used meanwhile (the
whole machine's busy time from /proc/stat less the demo's tree, and `OthersCpu` of
bench/alerting_outbox.py, which sees only processes alive for the whole minute), since
the machine may be shared.

Not a test: prints its figures and verdicts; exit status 0 unless the demo failed to run.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import queue
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.alerting_outbox import OthersCpu  # noqa: E402
from bench.machine import machine_line  # noqa: E402

APOLLO = str(Path(sys.executable).with_name("apollo"))
INCIDENT = "payment-errors"
GROWTH_TARGET = 5.0  # % of the 5-minute RSS per hour
FIT_FROM_MIN = 5.0
STOP_TARGET_S = 5.0
STOP_WAIT_S = 20.0  # how long the bench waits for the processes before it kills them
DRAIN_WAIT_S = 60.0
SCRAPE_S = 15.0
NOTIFIED = ("firing", "resolved")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- /proc --------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return out


def status_field(pid: int, name: str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def alive(pid: int) -> bool:
    """Running, i.e. not gone and not a zombie waiting to be reaped."""
    state = status_field(pid, "State")
    return state is not None and not state.startswith(("Z", "X"))


def machine_ticks() -> tuple[int, int]:
    """(busy, steal) clock ticks of the whole machine since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def rss_bytes(pid: int) -> int | None:
    value = status_field(pid, "VmRSS")
    return int(value.split()[0]) * 1024 if value else None


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def name_of(pid: int, demo_pid: int) -> str:
    if pid == demo_pid:
        return "demo"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    text = " ".join(a.decode(errors="replace") for a in argv)
    if "streamlit" in text:
        return "dashboard"
    if "services.cli.main api" in text or text.rstrip().endswith(" api"):
        return "api"
    return f"{Path(argv[0].decode(errors='replace')).name} {pid}"


@dataclass
class Proc:
    pid: int
    name: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (minutes, RSS bytes)
    anon: list[tuple[float, int]] = field(default_factory=list)  # (minutes, RssAnon bytes)
    threads: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    ticks_start: int | None = None
    ticks_end: int | None = None
    exited_after: float | None = None  # seconds after SIGINT


def sample(procs: dict[int, Proc], demo_pid: int, minute: float) -> None:
    """One RSS sample of every process of the tree (new children join as they appear)."""
    for pid in [demo_pid, *children_of(demo_pid)]:
        if pid not in procs:
            procs[pid] = Proc(pid, name_of(pid, demo_pid), ticks_start=cpu_ticks(pid))
        p = procs[pid]
        rss = rss_bytes(pid)
        if rss is None:
            continue
        p.samples.append((minute, rss))
        anon = status_field(pid, "RssAnon")
        if anon:
            p.anon.append((minute, int(anon.split()[0]) * 1024))
        p.threads.append(int(status_field(pid, "Threads") or 0))
        p.files.append(open_files(pid) or 0)
        p.ticks_end = cpu_ticks(pid)


def growth_per_hour(samples: list[tuple[float, int]]) -> tuple[float | None, float | None]:
    """(% of the 5-minute value per hour, bytes per hour), least squares over the samples
    from minute 5 on; None with fewer than 3 of them."""
    fit = [(t, v) for t, v in samples if t >= FIT_FROM_MIN - 1e-9]
    if len(fit) < 3:
        return None, None
    slope, _ = statistics.linear_regression([t / 60 for t, _ in fit], [float(v) for _, v in fit])
    base = fit[0][1]
    return 100 * slope / base, slope


# --- the demo -----------------------------------------------------------------------------


class DemoRun:
    """`apollo demo` in the background, its terminal read line by line with timestamps
    (as tests/test_cli.py's `Demo` reads it)."""

    def __init__(self, data_dir: Path, history_days: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
        env.update({"APOLLO_DATA_DIR": str(data_dir), "APOLLO_API__PORT": "0",
                    "APOLLO_DASHBOARD__PORT": "0",
                    "APOLLO_FLEET__HISTORY_DAYS": str(history_days),
                    "APOLLO_FLEET__EVENTS__BACKFILL_DAYS": "1", "PYTHONUNBUFFERED": "1"})
        self.started = time.time()
        self.process = subprocess.Popen([APOLLO, "demo", "--incident", INCIDENT],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.all: list[tuple[float, str]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.time(), line.rstrip("\n")))

    def drain(self, timeout: float = 0.0) -> list[tuple[float, str]]:
        """Lines read so far (waiting up to `timeout` for the first)."""
        got = []
        try:
            got.append(self.lines.get(timeout=timeout) if timeout else self.lines.get_nowait())
            while True:
                got.append(self.lines.get_nowait())
        except queue.Empty:
            pass
        self.all += got
        return got

    def read_until(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, line in self.drain(timeout=0.5):
                if text in line:
                    return t
            if self.process.poll() is not None and self.lines.empty():
                break
        tail = "\n".join(line for _, line in self.all[-30:])
        raise SystemExit(f"the demo did not print {text!r} within {timeout:.0f} s "
                         f"(exit {self.process.poll()}):\n{tail}")


# --- the store ----------------------------------------------------------------------------


def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def pending_outbox(db: Path) -> int:
    with connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM notification_outbox WHERE status = 'pending'").fetchone()[0]


@dataclass
class StoreFigures:
    runs_per_target: dict[str, int]
    runs_bad: dict[str, int]  # status -> rows
    first_run: float | None
    last_run: float | None
    gaps: dict[str, list[int]]  # service -> missing minutes
    checked_minutes: int
    window: tuple[int, int]
    transitions: list[dict[str, object]]
    outbox_status: dict[str, int]
    history_last: int | None  # the last minute with rows before the first scrape's minute
    first_scrape_minute: int  # the minute the first scrape round ran in


def store_figures(db: Path, launched: float, live_from: float, stopped_at: float,
                  targets: set[str]) -> StoreFigures:
    last_minute = math.floor((stopped_at - 2 * SCRAPE_S) / 60) * 60 - 60  # ended 30 s before
    with connect(db) as conn:
        runs_per_target: dict[str, int] = {}
        runs_bad: dict[str, int] = {}
        for target, status, n in conn.execute(
                "SELECT target, status, count(*) FROM collector_runs WHERE collector = 'scrape' "
                "GROUP BY target, status"):
            if target in targets or not targets:
                runs_per_target[target] = runs_per_target.get(target, 0) + n
            if status != "ok":
                runs_bad[status] = runs_bad.get(status, 0) + n
        first_run, last_run = conn.execute(
            "SELECT min(started_at), max(started_at) FROM collector_runs "
            "WHERE collector = 'scrape'").fetchone()
        # The live run's minutes start where the history written on start ends (the minute
        # it was started in), or at the minute of the first scrape round if that is earlier
        # (no history): the collector never writes that first, partial minute itself.
        first_scrape_minute = int((_epoch(first_run) or live_from) // 60 * 60)
        history_last = conn.execute("SELECT max(minute) FROM service_minutes WHERE minute < ?",
                                    (first_scrape_minute,)).fetchone()[0]
        first_minute = first_scrape_minute
        if history_last is not None and history_last >= launched // 60 * 60 - 60:
            first_minute = min(first_minute, int(history_last) + 60)
        services = dict(conn.execute("SELECT id, slug FROM services"))
        have: dict[int, set[int]] = {}
        for service_id, minute in conn.execute(
                "SELECT DISTINCT service_id, minute FROM service_minutes WHERE minute >= ? "
                "AND minute <= ?", (first_minute - 86_400, last_minute)):
            have.setdefault(service_id, set()).add(int(minute))
        wanted = range(first_minute, last_minute + 1, 60)
        # A service with no history (the demo's own API, started with it) has no minute
        # before its first scrape, and that minute is partial: its minutes start after it.
        gaps = {services.get(sid, str(sid)): [
                    m for m in wanted if m not in minutes
                    and (min(minutes) < first_scrape_minute or m > first_scrape_minute)]
                for sid, minutes in sorted(have.items())}
        transitions = [dict(zip(("id", "key", "at", "from", "to", "silenced", "episode",
                                 "fingerprint", "slo", "severity"), row, strict=True))
                       for row in conn.execute(
            "SELECT t.id, t.key, t.at, t.from_state, t.to_state, t.silenced, t.episode, "
            "a.fingerprint, a.slo, a.severity FROM alert_transitions t "
            "JOIN alerts a ON a.id = t.alert_id ORDER BY t.id")]
        outbox = conn.execute("SELECT transition_id, key, kind, status, attempts, notifier "
                              "FROM notification_outbox").fetchall()
    by_transition: dict[object, list[tuple]] = {}
    for row in outbox:
        by_transition.setdefault(row[0], []).append(row)
    silenced_keys = {str(t["key"]) for t in transitions if t["silenced"]}
    for t in transitions:
        rows = by_transition.get(t["id"], [])
        t["outbox"] = [(r[2], r[3], r[4], r[5]) for r in rows]
        notifies = t["to"] in NOTIFIED and not t["silenced"]
        if notifies and t["to"] == "resolved":  # as the evaluator: only if its firing was told
            notifies = f"{t['fingerprint']}:{t['episode']}:firing" not in silenced_keys
        t["notifies"] = notifies
        t["sent"] = any(r[3] == "sent" and r[1] == t["key"] for r in rows)
    outbox_status: dict[str, int] = {}
    for row in outbox:
        outbox_status[row[3]] = outbox_status.get(row[3], 0) + 1
    return StoreFigures(runs_per_target, runs_bad, _epoch(first_run), _epoch(last_run), gaps,
                        len(wanted), (first_minute, last_minute), transitions, outbox_status,
                        history_last, first_scrape_minute)


def _epoch(value: object) -> float | None:
    """collector_runs.started_at as stored by SQLAlchemy (naive UTC text)."""
    from datetime import UTC, datetime

    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


# --- the run ------------------------------------------------------------------------------


def hms(t: float | None) -> str:
    return "—" if t is None else time.strftime("%H:%M:%S", time.gmtime(t))


def mib(b: float | None) -> str:
    return "—" if b is None else f"{b / 2**20:.1f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


@dataclass
class LoadMinute:
    minute: int
    others: float  # cores: other processes alive at both ends of the minute (OthersCpu)
    machine: float  # cores busy on the whole machine (/proc/stat)
    ours: float  # cores used by the demo's tree and this script
    steal: float  # cores taken by the hypervisor
    loadavg: float


class MinuteCpu:
    """The machine's CPU over one minute, two ways: `OthersCpu` (bench/alerting_outbox.py:
    processes outside this script's tree that are alive at both ends, so a test run that
    starts and ends within the minute is missed) and the whole machine's busy time from
    /proc/stat less this script's tree (counts everything; includes the kernel's work)."""

    def __init__(self, procs: dict[int, Proc]) -> None:
        self.procs = procs
        self.others = OthersCpu()
        self.machine, self.steal = machine_ticks()
        self.ours = self._ours()
        self.t = time.monotonic()

    def _ours(self) -> int:
        return sum(cpu_ticks(pid) or 0 for pid in [os.getpid(), *self.procs])

    def close(self, minute: int) -> LoadMinute:
        busy, steal = machine_ticks()
        ours = self._ours()
        wall = (time.monotonic() - self.t) * CLK_TCK
        return LoadMinute(minute, self.others.cores(), (busy - self.machine) / wall,
                          (ours - self.ours) / wall, (steal - self.steal) / wall,
                          os.getloadavg()[0])


def stop_demo(demo: DemoRun, procs: dict[int, Proc]) -> tuple[float, float | None]:
    """SIGINT; (when it was sent, seconds until every process had exited or None)."""
    sent = time.time()
    t0 = time.monotonic()
    demo.process.send_signal(signal.SIGINT)
    waiting = {pid for pid in procs if alive(pid)}
    while waiting and time.monotonic() - t0 < STOP_WAIT_S:
        demo.process.poll()  # reap the demo itself
        for pid in list(waiting):
            if not alive(pid):
                procs[pid].exited_after = time.monotonic() - t0
                waiting.discard(pid)
        time.sleep(0.02)
    for pid in waiting:  # still there: ours to end
        progress(f"{procs[pid].name} (pid {pid}) still running {STOP_WAIT_S:.0f} s after "
                 "SIGINT: killing it")
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    try:
        demo.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        demo.process.kill()
        demo.process.wait(timeout=10)
    done = [p.exited_after for p in procs.values()]
    return sent, (max(done) if done and None not in done else None)  # type: ignore[type-var]


def run(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="apollo-soak-"))
    db = data_dir / "apollo.db"
    out: list[str] = []
    procs: dict[int, Proc] = {}
    loads: list[LoadMinute] = []
    progress(f"starting apollo demo --incident {INCIDENT} in {data_dir} "
             f"({args.history_days} day(s) of history)")
    demo = DemoRun(data_dir, args.history_days)
    try:
        ready = demo.read_until("demo is running", timeout=args.start_timeout)
        startup_s = ready - demo.started
        progress(f"running after {startup_s:.1f} s; sampling every minute for "
                 f"{args.minutes:g} minutes")
        sample(procs, demo.process.pid, 0.0)  # the tree's pids, for the CPU below
        minute_cpu = MinuteCpu(procs)
        total = int(args.minutes)
        for k in range(total + 1):
            due = ready + 60 * k
            while time.time() < due:
                demo.drain(timeout=min(1.0, max(0.01, due - time.time())))
                if demo.process.poll() is not None:
                    raise SystemExit(f"the demo exited early (code {demo.process.returncode}):\n"
                                     + "\n".join(line for _, line in demo.all[-30:]))
            if k:
                sample(procs, demo.process.pid, (time.time() - ready) / 60)
                loads.append(minute_cpu.close(k))
                minute_cpu = MinuteCpu(procs)
            if k % 5 == 0:
                rss = ", ".join(f"{p.name} {mib(p.samples[-1][1])} MiB"
                                for p in procs.values() if p.samples)
                progress(f"minute {k}: {rss}; others "
                         f"{loads[-1].machine - loads[-1].ours if loads else 0:.2f} cores")
        wait_from = time.monotonic()
        while pending_outbox(db) and time.monotonic() - wait_from < DRAIN_WAIT_S:
            demo.drain(timeout=1.0)
        still_pending = pending_outbox(db)
        demo.drain()
        sent_at, all_exited = stop_demo(demo, procs)
        with contextlib.suppress(SystemExit):  # the demo's last lines ("stopped")
            demo.read_until("stopped", timeout=5)
        targets = {line.split()[1] for _, line in demo.all
                   if len(line.split()) == 2 and line.split()[1].endswith("/metrics")}
        figures = store_figures(db, demo.started, ready, sent_at, targets)
        out += report(args, demo, procs, loads, figures, startup_s, ready, sent_at,
                      all_exited, still_pending)
    finally:
        if demo.process.poll() is None:
            demo.process.send_signal(signal.SIGINT)
            try:
                demo.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                demo.process.kill()
        for pid, p in procs.items():
            if alive(pid) and p.name != "demo":
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if args.keep:
            progress(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("\n".join(out))
    return 0


def load_lines(loads: list[LoadMinute]) -> list[str]:
    if not loads:
        return []

    def spread(values: list[float]) -> str:
        return (f"{statistics.fmean(values):.2f} cores on average (minutes: "
                f"{min(values):.2f}-{max(values):.2f})")

    others = [max(0.0, m.machine - m.ours) for m in loads]
    return [
        f"load while the demo ran, per minute: the whole machine busy "
        f"{spread([m.machine for m in loads])}, of which the demo's tree and this script "
        f"{spread([m.ours for m in loads])} and everything else {spread(others)}; "
        f"hypervisor steal {spread([m.steal for m in loads])}; 1-min load average "
        f"{min(m.loadavg for m in loads):.1f}-{max(m.loadavg for m in loads):.1f}",
        f"  other processes alive throughout a minute (bench/alerting_outbox.OthersCpu): "
        f"{spread([m.others for m in loads])}",
        "  the others, cores by minute: " + " ".join(f"{v:.1f}" for v in others),
    ]


def report(args: argparse.Namespace, demo: DemoRun, procs: dict[int, Proc],
           loads: list[LoadMinute], f: StoreFigures, startup_s: float, ready: float,
           stopped: float, all_exited: float | None, still_pending: int) -> list[str]:
    live_s = stopped - ready
    lines = [
        machine_line(),
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at "
        f"the end {os.getloadavg()[0]:.2f} (1 min)",
        *load_lines(loads),
        "",
        f"soak: apollo demo --incident {INCIDENT}, {args.history_days} day(s) of history "
        f"written on first start in {startup_s:.1f} s (to the 'running' line), then "
        f"{live_s / 60:.1f} minutes live ({hms(ready)}-{hms(stopped)} UTC); one sample a minute",
        "",
        "memory (RSS, MiB; growth fitted over minutes 5 on, per hour, as % of the 5-minute value)",
        f"  {'process':<10} {'pid':>7} {'start':>7} {'5 min':>7} {'end':>7} {'max':>7} "
        f"{'growth/h':>9} {'MiB/h':>7} {'anon/h':>8} {'threads':>9} {'files':>9} {'CPU':>6} "
        f"{'exit':>6}  target",
    ]
    growth_ok: bool | None = True
    for p in procs.values():
        if not p.samples:
            continue
        pct, slope = growth_per_hour(p.samples)
        anon_pct, _ = growth_per_hour(p.anon)
        five = next((v for t, v in p.samples if t >= FIT_FROM_MIN - 1e-9), None)
        ok = None if pct is None else pct < GROWTH_TARGET
        growth_ok = None if ok is None or growth_ok is None else growth_ok and ok
        cpu = ((p.ticks_end - p.ticks_start) / CLK_TCK / live_s
               if p.ticks_end is not None and p.ticks_start is not None and live_s > 0 else None)
        exit_s = "—" if p.exited_after is None else f"{p.exited_after:.2f}s"
        lines.append(
            f"  {p.name:<10} {p.pid:>7} {mib(p.samples[0][1]):>7} {mib(five):>7} "
            f"{mib(p.samples[-1][1]):>7} {mib(max(v for _, v in p.samples)):>7} "
            f"{'—' if pct is None else f'{pct:+.2f}%':>9} "
            f"{'—' if slope is None else f'{slope / 2**20:+.2f}':>7} "
            f"{'—' if anon_pct is None else f'{anon_pct:+.2f}%':>8} "
            f"{f'{p.threads[0]}->{p.threads[-1]}':>9} {f'{p.files[0]}->{p.files[-1]}':>9} "
            f"{'—' if cpu is None else f'{cpu:.0%}':>6} {exit_s:>6}  {verdict(ok)}")
    lines.append("  anon/h: the same fit of RssAnon (heap and other private memory; RSS also "
                 "holds file pages the kernel may drop)")
    lines.append("  per minute (MiB): " + "; ".join(
        f"{p.name} " + " ".join(f"{v / 2**20:.0f}" for _, v in p.samples)
        for p in procs.values()))
    lines.append("")

    expected = (stopped - (f.first_run or ready)) / SCRAPE_S
    counts = sorted(f.runs_per_target.values())
    lines += [
        f"rounds: {min(counts, default=0)}-{max(counts, default=0)} scrape runs per target over "
        f"{len(counts)} targets (collector_runs, collector 'scrape'), ~{expected:.0f} rounds "
        f"of {SCRAPE_S:.0f} s fit between the first and the stop; first {hms(f.first_run)}, last "
        f"{hms(f.last_run)} UTC; runs not ok: "
        + (", ".join(f"{k} {v}" for k, v in sorted(f.runs_bad.items())) or "none"),
    ]
    gap_total = sum(len(g) for g in f.gaps.values())
    at_start = sum(1 for g in f.gaps.values() for m in g if m <= f.first_scrape_minute)
    lines.append(
        f"gaps: minutes {hms(f.window[0])[:5]}-{hms(f.window[1])[:5]} UTC ({f.checked_minutes} "
        f"minutes: from the history's end, the history's last minute being "
        f"{hms(f.history_last)[:5]}, to the last minute that ended 30 s before the stop) x "
        f"{len(f.gaps)} services: {gap_total} without a service_minutes row; {at_start} of them "
        f"up to the minute of the first scrape round ({hms(f.first_scrape_minute)[:5]}), "
        f"{gap_total - at_start} later (a service without history, the demo's own API, "
        "from the minute after its first scrape)")
    for service, missing in f.gaps.items():
        if missing:
            lines.append(f"  {service}: {len(missing)} missing: "
                         + ", ".join(hms(m)[:5] for m in missing[:20]))
    lines.append("")

    notify = [t for t in f.transitions if t["notifies"]]
    undelivered = [t for t in notify if not t["sent"]]
    status = ", ".join(f"{k} {v}" for k, v in sorted(f.outbox_status.items())) or "none"
    lines += [f"alerting: {len(f.transitions)} transitions, {len(notify)} of them notify; "
              f"outbox rows: {status}; {still_pending} pending when the stop began"]
    for t in f.transitions:
        box = ", ".join(f"{kind} {st} x{att} to {n}" for kind, st, att, n in t["outbox"])
        lines.append(f"  {hms(float(t['at']))} {t['severity']:<6} {t['slo']:<36} "
                     f"{t['from']} -> {t['to']}{' (silenced)' if t['silenced'] else ''}: "
                     f"{box or 'no outbox row'}"
                     + ("" if not t["notifies"] else (" [sent]" if t["sent"] else " [NOT SENT]")))
    told = [(t, line) for t, line in demo.all
            if line.startswith(("fault ", "alert ", "delivered to", "delivery to", "failed:",
                                "partial:"))]
    lines.append(f"the demo's terminal ({len(told)} lines of news):")
    lines += [f"  +{(t - ready) / 60:5.1f} min  {line}" for t, line in told]
    lines.append("")

    stop_ok = all_exited is not None and all_exited <= STOP_TARGET_S
    exits = ", ".join(f"{p.name} " + ("still running" if p.exited_after is None
                                      else f"{p.exited_after:.2f} s") for p in procs.values())
    lines += [
        f"stop: SIGINT at {hms(stopped)} UTC; exited after: {exits}; exit code "
        f"{demo.process.returncode}",
        "",
        "verdicts:",
        f"  no gaps: {gap_total} missing minutes ({at_start} at the start, "
        f"{gap_total - at_start} later)  {verdict(gap_total == 0)}",
        f"  growth under {GROWTH_TARGET:g} % per hour after the first 5 minutes, every process  "
        f"{verdict(growth_ok)}",
        f"  every transition's key delivered: {len(notify) - len(undelivered)} of {len(notify)}  "
        f"{verdict(not undelivered and bool(notify))}"
        + ("" if notify else " (no transition to deliver: the incident did not page)"),
        f"  every process exited within {STOP_TARGET_S:g} s of SIGINT: "
        f"{'—' if all_exited is None else f'{all_exited:.2f} s'}  {verdict(stop_ok)}",
    ]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="minutes live")
    parser.add_argument("--history-days", type=int, default=1,
                        help="history written on first start (the demo's default is 30)")
    parser.add_argument("--start-timeout", type=float, default=600.0,
                        help="seconds the demo may take to start")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args(argv)
    if args.minutes < 1:
        parser.error("--minutes: at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
