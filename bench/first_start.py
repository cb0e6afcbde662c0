"""First start of `apollo demo` (issue 11): 30 days of history in under 60 s, with a
progress bar, then the demo running.

Run: .venv/bin/python bench/first_start.py [--days 30] [--runs 2 (0: the demo only)] [--skip-demo]

Two parts:

  history   `write_history` of `--days` days of the seven fleet services into a fresh
            SQLite store (the bundled example configuration, its 18 SLOs), run in one
            process (the baseline: how it ran before) and in one process per core (what
            `apollo fleet history` and the demo do now), interleaved `--runs` times;
            median wall seconds of each and their ratio. Target: under 60 s.
  demo      `apollo demo` in a fresh data dir as a user starts it (cwd the repository, free
            ports, the demo's own defaults: 30 days of history, 30 days of events): seconds
            from launch to the history line, to "is running", and from SIGINT to exit.

Not a test: prints its figures, the machine and its load; exit status 0 unless a run failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_line  # noqa: E402
from services.config import EXAMPLE_CONFIG, load_settings  # noqa: E402
from services.runtime.history import history_workers, write_history  # noqa: E402
from services.store.engine import make_engine  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402

APOLLO = ROOT / ".venv" / "bin" / "apollo"
TARGET_S = 60.0


def history_run(days: float, workers: int, folder: Path) -> float:
    """Wall seconds of one history into a fresh store."""
    db = folder / f"history-{workers}-{time.monotonic_ns()}.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    settings = load_settings(EXAMPLE_CONFIG)
    started = time.monotonic()
    result = write_history(settings, engine, days=days, workers=workers)
    took = time.monotonic() - started
    engine.dispose()
    if result.problems:
        raise SystemExit(f"history with {workers} worker(s) had problems: {result.problems[:3]}")
    for path in folder.glob(db.name + "*"):
        path.unlink()
    return took


def demo_run(folder: Path) -> tuple[float, float, float]:
    """(launch -> history written, launch -> running, SIGINT -> exit) of `apollo demo`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
    env.update({"APOLLO_DATA_DIR": str(folder / "demo"), "APOLLO_API__PORT": "0",
                "APOLLO_DASHBOARD__PORT": "0", "PYTHONUNBUFFERED": "1"})
    launched = time.monotonic()
    process = subprocess.Popen([str(APOLLO), "demo"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    history = running = None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if history is None and "days of history" in line:
            history = time.monotonic() - launched
        if "demo is running" in line:
            running = time.monotonic() - launched
            break
    if history is None or running is None:
        process.kill()
        raise SystemExit("apollo demo did not start:\n" + "\n".join(lines[-20:]))
    time.sleep(5)
    stopping = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    return history, running, time.monotonic() - stopping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args(argv)
    workers = history_workers()
    print(machine_line())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    times: dict[int, list[float]] = {1: [], workers: []}
    with tempfile.TemporaryDirectory(prefix="apollo-first-start-") as tmp:
        folder = Path(tmp)
        for run in range(args.runs):
            for n in times:
                took = history_run(args.days, n, folder)
                times[n].append(took)
                print(f"  run {run + 1}: {args.days:g} days, {n} process(es): {took:.1f} s "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
        if args.runs:
            one, many = (statistics.median(times[n]) for n in times)
            print(f"history of {args.days:g} days, median of {args.runs}: 1 process {one:.1f} s, "
                  f"{workers} processes {many:.1f} s ({one / many:.2f}x); target < "
                  f"{TARGET_S:.0f} s: {'pass' if many < TARGET_S else 'miss'}")
        if not args.skip_demo:
            history, running, stop = demo_run(folder)
            print(f"apollo demo first start: history written {history:.1f} s after launch, "
                  f"running at {running:.1f} s; stopped {stop:.2f} s after SIGINT (target < 5 s: "
                  f"{'pass' if stop < 5 else 'miss'})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
