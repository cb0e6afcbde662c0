"""Store times are Unix seconds; these turn them into and out of aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

MINUTE = 60
FIVE_MINUTES = 300
HOUR = 3600


def to_epoch(value: datetime | pd.Timestamp | int | float) -> int:
    """Aware datetime (naive ones are taken as UTC) or number -> whole Unix seconds."""
    if isinstance(value, int | float):
        return int(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def from_epoch(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def floor_to(seconds: int, step: int) -> int:
    return seconds - seconds % step


def ceil_to(seconds: int, step: int) -> int:
    return -floor_to(-seconds, step)


def epoch_index(seconds: pd.Series) -> pd.Series:
    """A column of Unix seconds -> UTC timestamps."""
    return pd.to_datetime(seconds.astype("int64"), unit="s", utc=True)
