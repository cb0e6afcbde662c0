"""Faults injected into the demo fleet so SLO alerts have something to catch.

A fault holds over the interval [start, until) of Unix seconds, and the simulator splits
its traffic at both ends (see `ServiceSimulator.advance`): requests served before a fault
started are never failed by it, and clearing a fault ends it at the clear time without
taking back the errors it already caused.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

FaultKind = Literal["error_burst", "latency", "down"]
KINDS: tuple[str, ...] = ("error_burst", "latency", "down")
Clock = Callable[[], float]


@dataclass(frozen=True)
class Fault:
    """`error_burst`: `rate` of requests fail with 5xx. `latency`: every request takes
    `factor` times longer. `down`: the service stops answering (and serves nothing).

    Each holds from `start` until `until` (Unix seconds; `until` excluded). `start` is
    the injection time by default: a board with a clock sets it when the fault is set;
    on a board without one a fault without `start` holds from the beginning."""

    kind: FaultKind
    until: float
    rate: float = 0.0
    factor: float = 1.0
    start: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "error_burst" and not 0 < self.rate <= 1:
            raise ValueError(f"rate: expected a share in (0, 1], got {self.rate!r}")
        if self.kind == "latency" and not self.factor > 0:
            raise ValueError(f"factor: expected a positive multiplier, got {self.factor!r}")
        if self.start is not None and not self.until > self.start:
            raise ValueError(f"until: expected a time after start ({self.start!r}), "
                             f"got {self.until!r}")

    @property
    def begins(self) -> float:
        """`start`, or minus infinity for a fault that holds from the beginning."""
        return -math.inf if self.start is None else self.start

    def holds(self, t: float) -> bool:
        return self.begins <= t < self.until

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBoard:
    """The faults of one service, past, present and future; thread-safe.

    At most one fault of each kind holds at any time: setting a fault ends the one of
    its kind that holds at the new one's start (and drops any that would start later).
    A board belongs to one simulator, which tells it (`forget`) when ended faults can no
    longer reach traffic it has still to count.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def _now(self, now: float | None) -> float:
        if now is not None:
            return now
        if self.clock is None:
            raise TypeError("a fault board without a clock needs now=")
        return self.clock()

    def set(self, fault: Fault) -> Fault:
        """Add `fault` (its start defaulting to the board's clock) and return it as kept."""
        if fault.start is None and self.clock is not None:
            fault = replace(fault, start=self.clock())
        with self._lock:
            kept = []
            for f in self._faults:
                if f.kind != fault.kind or f.until <= fault.begins:
                    kept.append(f)
                elif f.begins < fault.begins:  # holding when the new one starts: ends then
                    kept.append(replace(f, until=fault.begins))
            kept.append(fault)
            self._faults = kept
        return fault

    def clear(self, kind: str | None = None, *, now: float | None = None) -> list[Fault]:
        """End the faults (of `kind`, or all) at `now` (default: the board's clock).

        The time a fault already held stays: traffic before `now` keeps its errors.
        Faults that had not started yet are dropped. Returns the faults that were ended.
        """
        now = self._now(now)
        ended = []
        with self._lock:
            kept = []
            for f in self._faults:
                if (kind is not None and f.kind != kind) or f.until <= now:
                    kept.append(f)
                elif f.begins < now:
                    ended.append(replace(f, until=now))
                    kept.append(ended[-1])
            self._faults = kept
        return ended

    def forget(self, before: float) -> None:
        """Drop faults that ended at or before `before`: no traffic left to count is theirs."""
        if not self._faults:
            return
        with self._lock:
            self._faults = [f for f in self._faults if f.until > before]

    def faults(self) -> list[Fault]:
        """Every fault the board still remembers, ended ones included."""
        with self._lock:
            return list(self._faults)

    def changes(self, start: float, end: float) -> list[float]:
        """The times strictly inside (start, end) at which a fault starts or ends, sorted."""
        if not self._faults:  # the common case, asked for every simulated minute
            return []
        with self._lock:
            times = {t for f in self._faults for t in (f.begins, f.until) if start < t < end}
        return sorted(times)

    def active(self, now: float) -> dict[str, Fault]:
        """The fault of each kind that holds at `now`."""
        if not self._faults:  # the common case, asked several times per simulated minute
            return {}
        with self._lock:
            return {f.kind: f for f in self._faults if f.holds(now)}

    def error_rate(self, now: float, normal: float) -> float:
        fault = self.active(now).get("error_burst")
        return fault.rate if fault else normal

    def latency_factor(self, now: float) -> float:
        fault = self.active(now).get("latency")
        return fault.factor if fault else 1.0

    def is_down(self, now: float) -> bool:
        return "down" in self.active(now)
