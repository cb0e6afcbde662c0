"""Per-minute good/total counts, the one input of the SLO math, and rolling sums over them.

Minute `i` covers [start + 60 i, start + 60 (i + 1)). "At minute i" means at its end,
so a window of W minutes at minute i holds minutes i-W+1 … i, the same minutes a
Prometheus range `[W]` ending at that instant holds when counters step on the minute.
A minute without data has `total` NaN: it counts as no events, and is reported as a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import numpy as np

MINUTE_S = 60


@dataclass(frozen=True)
class Gap:
    """Minutes [start, end) (Unix seconds) without data."""

    start: int
    end: int

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // MINUTE_S


class InProgress(NamedTuple):
    """An SLO's minute still being counted: good and total from `minute` (its start, Unix
    seconds) up to `through`. A collector hands it to alert evaluation in-process."""

    minute: int
    good: float
    total: float
    through: float


@dataclass(frozen=True)
class MinuteSeries:
    start: int  # Unix seconds of the first minute, a multiple of 60
    good: np.ndarray
    total: np.ndarray

    def __post_init__(self) -> None:
        if self.start % MINUTE_S:
            raise ValueError(f"start: expected a whole minute, got {self.start}")
        if self.good.shape != self.total.shape or self.good.ndim != 1:
            raise ValueError("good and total: expected two 1-D arrays of the same length")

    @classmethod
    def from_counts(cls, start: int, good: object, total: object) -> MinuteSeries:
        return cls(start, np.asarray(good, dtype=float), np.asarray(total, dtype=float))

    def __len__(self) -> int:
        return len(self.total)

    @property
    def end(self) -> int:
        """Unix seconds at the end of the last minute."""
        return self.start + MINUTE_S * len(self)

    @property
    def has_data(self) -> np.ndarray:
        return ~np.isnan(self.total)

    @property
    def bad(self) -> np.ndarray:
        """Bad events per minute, 0 where there is no data."""
        return np.nan_to_num(self.total - self.good, nan=0.0)

    @property
    def totals(self) -> np.ndarray:
        return np.nan_to_num(self.total, nan=0.0)

    def index_at(self, t: int) -> int:
        """Index of the minute that ends at `t` (the last whole minute before `t`)."""
        return (t - self.start) // MINUTE_S - 1

    def time_at(self, i: int | np.ndarray) -> int | np.ndarray:
        """End of minute `i` in Unix seconds."""
        return self.start + MINUTE_S * (np.asarray(i) + 1)

    def gaps(self, first: int = 0, last: int | None = None) -> list[Gap]:
        """Runs of minutes without data within indexes [first, last]."""
        stop = len(self) if last is None else last + 1
        missing = ~self.has_data[first:stop]
        if not missing.any():
            return []
        edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        base = self.start + MINUTE_S * first
        return [Gap(int(base + MINUTE_S * s), int(base + MINUTE_S * e))
                for s, e in zip(starts, ends, strict=True)]


def minutes(window: timedelta) -> int:
    """A window in whole minutes; windows are multiples of a minute."""
    seconds = window.total_seconds()
    if seconds % MINUTE_S or seconds <= 0:
        raise ValueError(f"window: expected a positive whole number of minutes, got {window}")
    return int(seconds // MINUTE_S)


def cumulative(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero along the last axis: c[..., i] = sum(values[..., :i])."""
    shape = (*values.shape[:-1], values.shape[-1] + 1)
    out = np.zeros(shape, dtype=np.float64)
    np.cumsum(values, axis=-1, out=out[..., 1:])
    return out


def window_sums(prefix: np.ndarray, width: int) -> np.ndarray:
    """Sum of the last `width` values at every position, from prefix sums (`cumulative`).

    Positions before a full window sum what there is, as a range query at the start of
    the data does.
    """
    n = prefix.shape[-1] - 1
    out = np.empty((*prefix.shape[:-1], n), dtype=np.float64)
    head = min(width, n)
    out[..., :head] = prefix[..., 1:head + 1]
    if n > width:
        np.subtract(prefix[..., width + 1:], prefix[..., 1:n - width + 1], out=out[..., width:])
    return out


def counter_increases(values: np.ndarray) -> np.ndarray:
    """Increases between successive samples of a counter, resets handled as Prometheus does.

    A sample lower than the one before means the counter restarted from zero, so the
    increase is the new value itself. The first sample has no increase (NaN).
    """
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    if len(values) > 1:
        diff = np.diff(values)
        out[1:] = np.where(diff < 0, values[1:], diff)
    return out
