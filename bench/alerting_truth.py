"""The mathematical earliest page and resolve, on the fleet's true counts (bench/alerting.py).

Independent of Apollo's alerting code and of what anyone scraped: the demo fleet's load
model (`ServiceSimulator.load.rate`, the very function the fleet's counters advance by) is
integrated second by second, each second's requests failing at the fault's rate for the
part of that second inside [fault start, fault end) and at the service's baseline error
ratio for the rest. Window error ratios are then exact sums over the last W seconds, and a
page pair fires when both its windows exceed `slo.burn.threshold` (strictly, as the
exported rules compare); the page fires when any page pair does. Times are resolved to the
second (a window's end on the whole-second grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.fleet.simulator import ServiceProfile, ServiceSimulator
from slo.burn import threshold
from slo.model import SLO
from slo.windows import BurnWindow, slo_windows


@dataclass(frozen=True)
class Truth:
    fault_start: float
    fault_end: float | None
    fire_at: float | None  # first whole second at which a page pair fires
    fire_pair: str  # "5m/1h" or "30m/6h"
    resolve_at: float | None  # first whole second after the fault's end with no pair firing
    thresholds: dict[str, float]  # pair -> error ratio to exceed
    ratios_at_fire: dict[str, float]  # window -> error ratio at fire_at

    @property
    def to_fire(self) -> float | None:
        return None if self.fire_at is None else self.fire_at - self.fault_start

    @property
    def to_resolve(self) -> float | None:
        if self.resolve_at is None or self.fault_end is None:
            return None
        return self.resolve_at - self.fault_end


def pair_name(w: BurnWindow) -> str:
    def fmt(seconds: float) -> str:
        return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds / 60:g}m"

    return f"{fmt(w.short.total_seconds())}/{fmt(w.long.total_seconds())}"


def true_counts(profile: ServiceProfile, *, seed: int, amplitude: float, noise: float,
                start: int, end: int, fault_start: float, fault_end: float | None,
                fault_rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per whole second s in [start, end): (s, requests in [s, s+1), server errors in it)."""
    sim = ServiceSimulator(profile, seed=seed, start=start, amplitude=amplitude, noise=noise)
    seconds = np.arange(start, end, dtype=np.int64)
    rate = np.array([sim.load.rate(s + 0.5) for s in seconds.tolist()])
    stop = math.inf if fault_end is None else fault_end
    inside = np.clip(np.minimum(seconds + 1, stop) - np.maximum(seconds, fault_start), 0, 1)
    bad = rate * (inside * fault_rate + (1 - inside) * profile.error_ratio)
    return seconds, rate, bad


def earliest(slo: SLO, profile: ServiceProfile, *, seed: int, amplitude: float, noise: float,
             fault_start: float, fault_end: float | None, fault_rate: float,
             horizon_s: float = 3600) -> Truth:
    """When the page first fires after `fault_start`, and first stops after `fault_end`."""
    pairs = slo_windows(slo).of("page")
    budget = slo.error_budget_ratio
    period = slo_windows(slo).period
    longest = int(max(w.long.total_seconds() for w in pairs))
    first = int(fault_start) - longest - 120
    last = int(max(fault_start, fault_end or fault_start) + horizon_s)
    seconds, total, bad = true_counts(profile, seed=seed, amplitude=amplitude, noise=noise,
                                      start=first, end=last, fault_start=fault_start,
                                      fault_end=fault_end, fault_rate=fault_rate)
    cum_t = np.concatenate([[0.0], np.cumsum(total)])
    cum_b = np.concatenate([[0.0], np.cumsum(bad)])
    ends = np.arange(longest, len(seconds) + 1)  # window [e - w, e) in cell indices
    times = seconds[0] + ends  # a window ending at this Unix second

    def ratio(w_s: int) -> np.ndarray:
        return (cum_b[ends] - cum_b[ends - w_s]) / (cum_t[ends] - cum_t[ends - w_s])

    ratios = {int(d.total_seconds()): ratio(int(d.total_seconds()))
              for w in pairs for d in (w.short, w.long)}
    limits = {pair_name(w): threshold(w, period, budget) for w in pairs}
    fires = {pair_name(w): (ratios[int(w.short.total_seconds())] > limits[pair_name(w)])
             & (ratios[int(w.long.total_seconds())] > limits[pair_name(w)]) for w in pairs}
    page = np.logical_or.reduce(list(fires.values()))
    after = times >= fault_start
    fire_at, fire_pair, at_fire = None, "", {}
    hit = np.flatnonzero(page & after)
    if hit.size:
        i = int(hit[0])
        fire_at = float(times[i])
        fire_pair = next(name for name, f in fires.items() if f[i])
        at_fire = {f"{w_s // 60}m" if w_s < 3600 else f"{w_s // 3600}h": float(r[i])
                   for w_s, r in ratios.items()}
    resolve_at = None
    if fault_end is not None:
        quiet = np.flatnonzero(~page & (times >= fault_end))
        resolve_at = float(times[quiet[0]]) if quiet.size else None
    return Truth(fault_start, fault_end, fire_at, fire_pair, resolve_at, limits, at_fire)
