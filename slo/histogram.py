"""Quantiles from cumulative histogram buckets, exactly as Prometheus's histogram_quantile.

Follows Prometheus 2.42 `bucketQuantile`: buckets sorted by bound, counts forced to be
monotonic, linear interpolation inside the bucket holding the rank, the lower edge of the
first bucket taken as 0 (unless its bound is not positive), and the last finite bound
returned when the rank falls in the +Inf bucket. No data (no observations, no +Inf
bucket, fewer than two buckets) gives NaN; callers turn that into an explicit gap.
"""

from __future__ import annotations

import math

import numpy as np


def histogram_quantile(q: float, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """q-quantile for each row of `counts` (rows × buckets, cumulative, one column per bound).

    `bounds` must be sorted ascending and end with +Inf. Returns one value per row.
    """
    bounds = np.asarray(bounds, dtype=float)
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    rows = counts.shape[0]
    if math.isnan(q):
        return np.full(rows, np.nan)
    if q < 0:
        return np.full(rows, -np.inf)
    if q > 1:
        return np.full(rows, np.inf)
    if len(bounds) < 2 or not np.isposinf(bounds[-1]):
        return np.full(rows, np.nan)
    counts = np.maximum.accumulate(np.nan_to_num(counts, nan=0.0), axis=1)
    total = counts[:, -1]
    rank = q * total
    b = np.argmax(counts >= rank[:, None], axis=1)
    last = len(bounds) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        start = np.where(b > 0, bounds[np.maximum(b - 1, 0)], 0.0)
        below = np.where(b > 0, counts[np.arange(rows), np.maximum(b - 1, 0)], 0.0)
        end = bounds[b]
        in_bucket = counts[np.arange(rows), b] - below
        value = start + (end - start) * ((rank - below) / in_bucket)
    value = np.where(b == last, bounds[last - 1], value)
    value = np.where((b == 0) & (bounds[0] <= 0), bounds[0], value)
    return np.where(total > 0, value, np.nan)
