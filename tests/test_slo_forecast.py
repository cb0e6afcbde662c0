"""The forecast's daily traffic profiles: one sort of the days instead of numpy's sort per
minute of the day, with numpy's own answers bit for bit (NaNs, ties, empty columns)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from slo.forecast import DAY_MINUTES, daily_profiles, nan_percentiles
from slo.series import MinuteSeries


def _numpy(values: np.ndarray, q: list[float]) -> np.ndarray:
    with warnings.catch_warnings():  # an all-NaN column warns
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(values, q, axis=0)


def _table(rng: np.random.Generator, kind: str) -> np.ndarray:
    days, columns = int(rng.integers(1, 40)), int(rng.integers(1, 80))
    values = {
        "uniform": lambda: rng.random((days, columns)) * 1000,
        "counts with ties": lambda: rng.integers(0, 5, (days, columns)).astype(float),
        "signed and large": lambda: rng.normal(size=(days, columns)) * 1e9,
        "one decimal": lambda: np.round(rng.random((days, columns)) * 100, 1),
    }[kind]()
    values[rng.random(values.shape) < rng.random()] = np.nan
    values[:, 0] = np.nan  # a minute of the day never seen
    if columns > 1:
        values[1:, 1] = np.nan  # seen on one day only
    return values


@pytest.mark.parametrize("kind", ["uniform", "counts with ties", "signed and large",
                                  "one decimal"])
def test_percentiles_are_numpys_bit_for_bit(kind):
    rng = np.random.default_rng(len(kind))
    for _ in range(50):
        values = _table(rng, kind)
        q = [10, 50, 90, float(rng.integers(0, 101))]
        for ours, theirs in zip(nan_percentiles(values, q), _numpy(values, q), strict=True):
            np.testing.assert_array_equal(ours, theirs)
            assert (np.signbit(ours) == np.signbit(theirs)).all()


def _profiles_as_written(series: MinuteSeries, end_index: int) -> dict[str, np.ndarray]:
    """daily_profiles as it was written first, with np.nanpercentile."""
    total = series.total[:end_index + 1]
    days = len(total) // DAY_MINUTES
    shaped = total[len(total) - days * DAY_MINUTES:].reshape(days, DAY_MINUTES)
    offset = (series.start // 60 + len(total) - days * DAY_MINUTES) % DAY_MINUTES
    low, mid, high = _numpy(np.roll(shaped, offset, axis=1), [10, 50, 90])
    return {"low": np.nan_to_num(low), "mid": np.nan_to_num(mid), "high": np.nan_to_num(high)}


@pytest.mark.parametrize("minutes", [DAY_MINUTES, 7 * DAY_MINUTES + 17, 30 * DAY_MINUTES + 600])
def test_daily_profiles_are_those_of_numpy(minutes):
    rng = np.random.default_rng(minutes)
    total = np.round(rng.gamma(3, 200, minutes))
    total[rng.random(minutes) < 0.03] = np.nan  # collector gaps
    total[100:400] = np.nan  # an outage
    series = MinuteSeries(1_793_786_400 - 60 * int(rng.integers(0, 1440)), total * 0.99, total)
    for end in (e for e in (minutes - 1, minutes - 300) if e + 1 >= DAY_MINUTES):
        ours, theirs = daily_profiles(series, end), _profiles_as_written(series, end)
        for name in ("low", "mid", "high"):
            np.testing.assert_array_equal(ours[name], theirs[name])
