"""Faults injected into the demo fleet so SLO alerts have something to catch."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["error_burst", "latency", "down"]
KINDS: tuple[str, ...] = ("error_burst", "latency", "down")


@dataclass(frozen=True)
class Fault:
    """`error_burst`: `rate` of requests fail with 5xx. `latency`: every request takes
    `factor` times longer. `down`: the service stops answering. Each lasts until `until`
    (Unix seconds) or until cleared."""

    kind: FaultKind
    until: float
    rate: float = 0.0
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "error_burst" and not 0 < self.rate <= 1:
            raise ValueError(f"rate: expected a share in (0, 1], got {self.rate!r}")
        if self.kind == "latency" and not self.factor > 0:
            raise ValueError(f"factor: expected a positive multiplier, got {self.factor!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBoard:
    """The faults active on one service; thread-safe, expired faults drop out on read."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._faults[fault.kind] = fault

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            if kind is None:
                self._faults.clear()
            else:
                self._faults.pop(kind, None)

    def active(self, now: float) -> dict[str, Fault]:
        if not self._faults:  # the common case, asked several times per simulated minute
            return {}
        with self._lock:
            return {k: f for k, f in self._faults.items() if f.until > now}

    def error_rate(self, now: float, normal: float) -> float:
        fault = self.active(now).get("error_burst")
        return fault.rate if fault else normal

    def latency_factor(self, now: float) -> float:
        fault = self.active(now).get("latency")
        return fault.factor if fault else 1.0

    def is_down(self, now: float) -> bool:
        return "down" in self.active(now)
