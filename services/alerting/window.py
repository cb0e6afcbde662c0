"""Running sums of an SLO's recent minutes, so that each round costs its new minutes.

Minute `i` of the buffer starts at `start + 60 i`. Prefix sums of bad and total events
are kept beside the values: appending k minutes costs O(k), rewriting one of the last r
minutes (a late scrape) costs O(r), and the error ratio over any window ending at any
minute is one subtraction. Windows reaching before the first minute kept sum what there
is, as `slo.series.window_sums` does, so decisions here are the engine's decisions.
"""

from __future__ import annotations

import math

import numpy as np

from slo.series import MINUTE_S


class MinuteWindow:
    """The last `keep` minutes (at least) of one SLO: bad and total events per minute."""

    def __init__(self, start: int, keep: int) -> None:
        if start % MINUTE_S:
            raise ValueError(f"start: expected a whole minute, got {start}")
        self.start = start
        self.keep = keep
        self.length = 0
        capacity = 2 * keep + 64
        self._bad = np.zeros(capacity)
        self._total = np.full(capacity, np.nan)
        self._cb = np.zeros(capacity + 1)
        self._ct = np.zeros(capacity + 1)
        self.last_data: int | None = None  # start of the newest minute with data

    @property
    def end(self) -> int:
        """Unix seconds at the end of the last minute held."""
        return self.start + MINUTE_S * self.length

    def write(self, minute: int, good: float, total: float) -> None:
        """Set one minute (NaN total: no data); minutes before the buffer are ignored,
        minutes past its end extend it (the ones skipped hold no data)."""
        i = (minute - self.start) // MINUTE_S
        if i < 0:
            return
        while i > self.length:
            self._append(math.nan, math.nan)
        if i == self.length:
            self._append(good, total)
        else:
            self._rewrite(i, good, total)
        if not math.isnan(total) and (self.last_data is None or minute > self.last_data):
            self.last_data = minute

    def _values(self, good: float, total: float) -> tuple[float, float]:
        if math.isnan(total):
            return 0.0, math.nan
        return max(0.0, total - good), total

    def _append(self, good: float, total: float) -> None:
        if self.length + 1 >= len(self._bad):
            self._compact()
        i = self.length
        bad, total = self._values(good, total)
        self._bad[i], self._total[i] = bad, total
        self._cb[i + 1] = self._cb[i] + bad
        self._ct[i + 1] = self._ct[i] + (0.0 if math.isnan(total) else total)
        self.length += 1

    def _rewrite(self, i: int, good: float, total: float) -> None:
        bad, total = self._values(good, total)
        d_bad = bad - self._bad[i]
        d_total = (0.0 if math.isnan(total) else total) - np.nan_to_num(self._total[i])
        self._bad[i], self._total[i] = bad, total
        self._cb[i + 1:self.length + 1] += d_bad
        self._ct[i + 1:self.length + 1] += d_total

    def _compact(self) -> None:
        """Drop all but the last `keep` minutes (amortised O(1) per minute)."""
        drop = max(0, self.length - self.keep)
        n = self.length - drop
        self._bad[:n] = self._bad[drop:self.length]
        self._total[:n] = self._total[drop:self.length]
        self._cb[:n + 1] = self._cb[drop:self.length + 1] - self._cb[drop]
        self._ct[:n + 1] = self._ct[drop:self.length + 1] - self._ct[drop]
        self._total[n:] = np.nan
        self.start += MINUTE_S * drop
        self.length = n

    def counts(self, minute: int) -> tuple[float, float]:
        """(bad, total) events held for `minute`; (0, 0) for one without data or not held."""
        i = (minute - self.start) // MINUTE_S
        if not 0 <= i < self.length or math.isnan(self._total[i]):
            return 0.0, 0.0
        return float(self._bad[i]), float(self._total[i])

    def sums(self, start: int, end: int) -> tuple[float, float]:
        """(bad, total) events over minutes [start, end), clipped to the minutes held."""
        lo = min(self.length, max(0, (start - self.start) // MINUTE_S))
        hi = min(self.length, max(0, (end - self.start) // MINUTE_S))
        if hi <= lo:
            return 0.0, 0.0
        return float(self._cb[hi] - self._cb[lo]), float(self._ct[hi] - self._ct[lo])

    def ratio(self, width: int, end: int) -> float:
        """Error ratio over the `width` minutes ending at `end` (Unix seconds, a minute
        boundary within the buffer); NaN when they saw no events."""
        hi = (end - self.start) // MINUTE_S
        if not 0 < hi <= self.length:
            raise ValueError(f"end {end} is outside the minutes held")
        lo = max(0, hi - width)
        total = self._ct[hi] - self._ct[lo]
        if total <= 0:
            return math.nan
        return float((self._cb[hi] - self._cb[lo]) / total)
