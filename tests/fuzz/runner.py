"""The fuzz worker: one entry point's examples, in this process, under limits.

    python -m fuzz.runner ENTRY --out DIR [--examples 300] [--budget 60] [--timeout 5]
                                          [--seed N] [--memory-gib 2]

(with `tests/` on PYTHONPATH). It caps its own address space (RLIMIT_AS) so a bomb ends in
a MemoryError here, not in the test runner; each example runs under an interval timer that
raises `ExampleTimeout` every 0.25 s past `--timeout`; past `--budget` seconds no further
example starts (shrinking stops with the smallest failing example so far). Before each call
it writes the example to DIR/work, so a parent that has to kill it knows what it was
running. The report is DIR/report.json:

    {"entry", "examples", "stats", "seconds", "out_of_time", "harness_error",
     "failures": [{"key", "raised", "last_line", "example", "preview", "file", "count",
                   "shrunk"}]}

Failures are keyed by cause (exception type and the deepest frame of our code that raised
it; a timeout; a MemoryError; an error naming no file); for each, the smallest example
hypothesis's shrinker reached is kept (`shrunk` false: the first one met).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from fuzz.entries import RUNNABLE, BadResult, Entry
from fuzz.strategies import REPO, Example
from slo.errors import ApolloError

GIB = 1 << 30
OURS = [REPO / d for d in ("slo", "services", "collectors", "dashboard")]


class ExampleTimeout(Exception):
    """Raised by the interval timer inside the code under test."""


class OutOfTime(BaseException):
    """The run's budget is spent; hypothesis does not catch BaseException."""


class FuzzFailure(Exception):
    """Re-raised to hypothesis for a failure; one subclass per cause, so hypothesis shrinks
    each cause on its own (it tells failures apart by exception type and origin)."""


def limit_memory(gib: float) -> None:
    size = int(gib * GIB)
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise ExampleTimeout(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _where(exc: BaseException) -> str:
    """The deepest frame of our code (not tests/fuzz) the exception passed through."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if any(Path(f.filename).is_relative_to(d) for d in OURS)]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    name = Path(frame.filename)
    shown = name.relative_to(REPO) if name.is_relative_to(REPO) else name.name
    return f"{shown}:{frame.lineno} in {frame.name}"


def _last_line(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    last = text.splitlines()[-1] if text else type(exc).__name__
    return last if len(last) <= 300 else last[:300] + "…"


def failure_of(exc: Exception, entry: Entry, path: Path, timeout: float) -> str | None:
    """None if the oracle accepts `exc`, else the failure's cause (its key)."""
    if isinstance(exc, ApolloError) and entry.errors_allowed:
        message = str(exc)
        if any(str(p) in message for p in (path, *entry.also_located_in)):
            return None
        return f"{type(exc).__name__} that names no file, raised at {_where(exc)}"
    if isinstance(exc, ExampleTimeout):
        return f"timeout: still running after {timeout:g} s"
    if isinstance(exc, MemoryError):
        return "MemoryError: past the address-space limit"
    if isinstance(exc, BadResult):
        return f"bad result: {exc.kind}"
    return f"{type(exc).__name__} at {_where(exc)}"


def run(entry: Entry, *, out: Path, examples: int, budget: float, timeout: float,
        seed_value: int | None) -> dict[str, Any]:
    """Search, then shrink. The search runs all `examples` and never tells hypothesis of a
    failure (told, it would stop generating soon after the first); then, per cause found,
    the same derandomized search runs again, failing only on that cause, so hypothesis
    meets its first example at the same place and shrinks it alone."""
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    ledger: dict[str, dict[str, Any]] = {}
    stats = {"examples run": 0, "shrink calls": 0, "result": 0, "located error": 0,
             "failure": 0}
    started = time.monotonic()

    def attempt(ex: Example) -> tuple[str | None, dict[str, Any] | None]:
        if time.monotonic() - started > budget:
            raise OutOfTime
        (work / "current.txt").write_text(repr(ex), encoding="utf-8")
        path = work / ex.name
        path.write_bytes(ex.data)
        try:
            with time_limit(timeout):
                entry.call(path, ex)
        except Exception as exc:  # the oracle decides; MemoryError, RecursionError included
            key = failure_of(exc, entry, path, timeout)
            record = {"key": key, "raised": f"{type(exc).__name__} at {_where(exc)}",
                      "last_line": _last_line(exc), "example": repr(ex),
                      "preview": ex.preview(), "name": ex.name, "data": ex.data,
                      "shrunk": False} if key else None
            del exc  # drop the traceback (and what it holds) before the next example
            return key, record
        return None, {}

    def search(shrinking: str | None) -> Any:
        kind = type("FuzzCause", (FuzzFailure,), {})

        @settings(max_examples=examples, deadline=None, derandomize=seed_value is None,
                  database=None, phases=(Phase.generate, Phase.shrink), print_blob=False,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(entry.examples())
        def check(ex: Example) -> None:
            key, record = attempt(ex)
            if shrinking is None:
                stats["examples run"] += 1
                stats["result" if record == {} else "failure" if key else "located error"] += 1
                if key:
                    ledger.setdefault(key, record)
                    ledger[key]["count"] = ledger[key].get("count", 0) + 1
            else:
                stats["shrink calls"] += 1
                if key == shrinking:
                    ledger[key] = {**record, "count": ledger[key]["count"], "shrunk": True}
                    raise kind(key)

        return seed(seed_value)(check) if seed_value is not None else check

    out_of_time, harness_error, current = False, None, None
    try:
        search(None)()
        for key in list(ledger):
            current = key
            try:
                search(key)()  # returns if the cause is not met again (a timeout, say)
            except FuzzFailure:
                pass
            except BaseExceptionGroup as group:  # hypothesis's Flaky: it did not replay
                if not group.subgroup(FuzzFailure):
                    raise
    except OutOfTime:
        out_of_time = True
        if current is not None:
            ledger[current]["shrunk"] = "shrinking cut short by the budget"
    except BaseException as exc:  # a bug of the harness or of a strategy: show it whole
        harness_error = "".join(traceback.format_exception(exc))[-4000:]
    failures = []
    for i, item in enumerate(ledger.values()):
        file = out / f"failure-{i}-{item['name']}"
        file.write_bytes(item.pop("data"))
        failures.append({**item, "file": str(file)})
    return {"entry": entry.name, "examples": examples, "stats": stats,
            "seconds": round(time.monotonic() - started, 1), "out_of_time": out_of_time,
            "harness_error": harness_error, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fuzz.runner")
    parser.add_argument("entry", choices=sorted(RUNNABLE))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--memory-gib", type=float, default=2.0)
    args = parser.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # string hashes steer the examples too
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, "-m", "fuzz.runner", *sys.argv[1:]], env)
    limit_memory(args.memory_gib)
    report = run(RUNNABLE[args.entry], out=args.out, examples=args.examples,
                 budget=args.budget, timeout=args.timeout, seed_value=args.seed)
    (args.out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
