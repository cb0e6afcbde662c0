"""Cumulative counters scraped every few seconds -> increases per whole minute.

Between two scrapes of a target, each counter's increase is spread over the minutes the
interval covers, in proportion to the overlap (a counter that went down was reset, so
its increase is its new value, as Prometheus counts it). A minute is complete, and
handed out, once a scrape at or after its end has been seen. Gauges are averaged over
the scrapes inside the minute; a NaN or infinite gauge sample is left out of the average.

A counter the page had to set aside (NaN, ±Inf: `Page.set_aside`) has no known increase
over the intervals before and after that scrape: the minutes they cover list it in
`MinuteValues.unknown`, so that no row counting it is written for them (a row that left it
out would be too low: a NaN error counter would read as no errors). It keeps its last good
value, so counting goes on from there.

The raw values are kept only as long as needed: the last scrape of each target. A scrape
interval longer than `max_gap_s` (a target down) is not guessed at: it is a gap, the
minutes in it get no rows, and counting starts again from the next scrape; a later
backfill from Prometheus can fill it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from collectors.scrape.parse import Key, Page, counted

MINUTE = 60
MAX_GAP_S = 300.0


@dataclass
class MinuteValues:
    minute: int  # Unix seconds at the start of the minute
    increases: dict[Key, float]
    gauges: dict[Key, float]
    unknown: frozenset[Key] = frozenset()  # counters whose increase in it is not known


@dataclass
class TargetIncreases:
    """The per-minute bookkeeping of one scrape target."""

    max_gap_s: float = MAX_GAP_S
    last_t: float | None = None
    last: dict[Key, float] = field(default_factory=dict)
    counts: dict[int, dict[Key, float]] = field(default_factory=lambda: defaultdict(dict))
    gauge_sums: dict[int, dict[Key, list[float]]] = field(
        default_factory=lambda: defaultdict(dict))
    gaps: list[tuple[float, float]] = field(default_factory=list)
    covered_from: float = 0.0  # counting (re)started here: earlier minutes are partial
    unknown: dict[int, set[Key]] = field(default_factory=lambda: defaultdict(set))
    aside_before: set[Key] = field(default_factory=set)  # set aside in the last scrape
    _types: dict[str, str] | None = field(default=None, repr=False, compare=False)
    _counted: set[str] = field(default_factory=set, repr=False, compare=False)

    def observe(self, t: float, page: Page) -> list[MinuteValues]:
        """Take one scrape at `t`; returns the minutes it completed, oldest first."""
        counter_names = self._counter_names(page.types)
        counters: dict[Key, float] = {}
        gauges = None
        for key, value in page.values.items():
            if key[0] in counter_names:
                counters[key] = value
            elif math.isfinite(value):
                if gauges is None:
                    gauges = self.gauge_sums[int(t // MINUTE) * MINUTE]
                bucket = gauges.setdefault(key, [0.0, 0.0])
                if math.isfinite(bucket[0] + value):  # two near-max floats sum to inf: skip
                    bucket[0] += value
                    bucket[1] += 1
        for key in page.set_aside:  # not countable this time: as it was, not gone
            if key in self.last:
                counters.setdefault(key, self.last[key])
        unknown = page.set_aside | self.aside_before  # either end of the interval unknown
        self.aside_before = set(page.set_aside)
        if self.last_t is None or t <= self.last_t:
            self._restart(t, counters)
            return []
        if t - self.last_t > self.max_gap_s:
            self.gaps.append((self.last_t, t))
            self._drop_before(t)
            self._restart(t, counters)
            return []
        covered = _shares(self.last_t, t)
        for minute, _ in covered if unknown else ():
            self.unknown[minute] |= unknown
        before = self.last.get
        increases = {}
        for key, value in counters.items():
            old = before(key, 0.0)  # a new series started at 0 since the last scrape
            increase = value - old if value >= old else value
            if increase:
                increases[key] = increase
        for minute, share in covered:
            per_minute = self.counts[minute]
            if not per_minute and share == 1.0:  # a scrape on each minute's end: most often
                per_minute.update(increases)
                continue
            for key, increase in increases.items():
                per_minute[key] = per_minute.get(key, 0.0) + increase * share
        self.last, self.last_t = counters, t
        return self._complete(t)

    def _counter_names(self, types: dict[str, str]) -> set[str]:
        """The counted sample names of a page's types, remembered while the same types
        object comes back (the fleet's simulator hands out one)."""
        if types is not self._types:
            self._types = types
            self._counted = {name for name in types if counted(name, types)}
        return self._counted

    def _restart(self, t: float, counters: dict[Key, float]) -> None:
        self.last, self.last_t, self.covered_from = counters, t, t

    def _complete(self, t: float) -> list[MinuteValues]:
        done = sorted(m for m in set(self.counts) | set(self.gauge_sums) if m + MINUTE <= t)
        out = []
        for minute in done:
            unknown = frozenset(self.unknown.pop(minute, ()))
            if minute < self.covered_from:  # only partly seen since counting (re)started
                self.counts.pop(minute, None)
                self.gauge_sums.pop(minute, None)
                continue
            gauges = {k: s / n for k, (s, n) in self.gauge_sums.pop(minute, {}).items()}
            out.append(MinuteValues(minute, dict(self.counts.pop(minute, {})), gauges, unknown))
        return out

    def _drop_before(self, t: float) -> None:
        """Minutes inside a gap are incomplete: drop what was counted towards them."""
        for minute in [m for m in self.counts if m + MINUTE <= t]:
            del self.counts[minute]
        for minute in [m for m in self.gauge_sums if m + MINUTE <= t]:
            del self.gauge_sums[minute]
        for minute in [m for m in self.unknown if m + MINUTE <= t]:
            del self.unknown[minute]


def _key_json(key: Key) -> list:
    return [key[0], [list(pair) for pair in key[1]]]


def _key_from(raw: list) -> Key:
    name, labels = raw
    if not isinstance(name, str):
        raise ValueError(f"a series name must be text, got {name!r:.40}")
    return name, tuple((str(k), str(v)) for k, v in labels)


def _number(raw: object) -> float:
    """A finite number from the state file; ValueError for anything else."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"expected a finite number, got {raw!r:.40}")
    return float(raw)


def state_to_json(state: TargetIncreases) -> dict:
    """What a collector that runs once (a CronJob) must keep until its next run."""
    return {
        "last_t": state.last_t, "covered_from": state.covered_from,
        "last": [[_key_json(k), v] for k, v in state.last.items()],
        "counts": {str(m): [[_key_json(k), v] for k, v in c.items()]
                   for m, c in state.counts.items()},
        "gauges": {str(m): [[_key_json(k), sn] for k, sn in g.items()]
                   for m, g in state.gauge_sums.items()},
        "unknown": {str(m): [_key_json(k) for k in keys] for m, keys in state.unknown.items()},
        "aside": [_key_json(k) for k in state.aside_before],
    }


def state_from_json(data: dict, max_gap_s: float = MAX_GAP_S) -> TargetIncreases:
    """The state `state_to_json` wrote; ValueError, KeyError or TypeError if it is not that
    (a file cut short or edited by hand)."""
    last_t = data["last_t"]
    state = TargetIncreases(max_gap_s=max_gap_s,
                            last_t=None if last_t is None else _number(last_t),
                            covered_from=_number(data["covered_from"]))
    state.last = {_key_from(k): _number(v) for k, v in data["last"]}
    for minute, items in data["counts"].items():
        state.counts[int(minute)] = {_key_from(k): _number(v) for k, v in items}
    for minute, items in data["gauges"].items():
        state.gauge_sums[int(minute)] = {_key_from(k): [_number(s), _number(n)]
                                         for k, (s, n) in items}
    for minute, keys in data.get("unknown", {}).items():  # (absent from older files)
        state.unknown[int(minute)] = {_key_from(k) for k in keys}
    state.aside_before = {_key_from(k) for k in data.get("aside", [])}
    return state


def _shares(t0: float, t1: float) -> list[tuple[int, float]]:
    """(minute, share of the interval (t0, t1] inside it) for every minute it covers; every
    covered minute is listed, so it gets a row even with no increase."""
    span = t1 - t0
    out = []
    for minute in range(int(t0 // MINUTE) * MINUTE, int(t1), MINUTE):
        overlap = min(t1, minute + MINUTE) - max(t0, minute)
        out.append((minute, max(overlap, 0.0) / span))
    return out
