"""Prometheus-style durations (`30s`, `5m`, `1h30m`, `28d`, `1w`) to and from timedelta.

Every duration Apollo reads is at most `MAX_DURATION` (10 years of 365 days), so that
`99999999999d`, `.inf` or NaN is a message naming the text, never an OverflowError.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
MAX_DURATION = timedelta(days=3650)


def bounded(seconds: float, text: object) -> timedelta:
    """`seconds` as a timedelta if it is a number of at most `MAX_DURATION` either way;
    else ValueError naming `text`, what the user wrote."""
    if math.isnan(seconds):
        raise ValueError(f"expected a duration such as '30s' or '5m', got {_shown(text)}")
    if abs(seconds) > MAX_DURATION.total_seconds():
        raise ValueError(f"{_shown(text)} is longer than 10 years, the longest duration "
                         "Apollo takes")
    return timedelta(seconds=seconds)


def _shown(text: object) -> str:
    """What the user wrote, cut short: a message must not repeat 5,000 digits."""
    if isinstance(text, int) and abs(text).bit_length() > 64:
        return "a number that large"
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "…"


MAX_DURATION_TEXT = 64  # `1y2w3d4h5m6s7ms` is 15


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`"1h30m"` -> 1:30:00. Plain numbers are seconds. Raises ValueError naming the text,
    also for anything longer than 10 years (`MAX_DURATION`), infinite or NaN."""
    if isinstance(text, timedelta):
        return bounded(text.total_seconds(), text)
    if isinstance(text, int | float) and not isinstance(text, bool):
        try:
            seconds = float(text)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
        return bounded(seconds, text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as '30s' or '5m', got {_shown(text)}")
    s = text.strip()
    if not s:
        raise ValueError("expected a duration such as '30s' or '5m', got an empty string")
    if len(s) > MAX_DURATION_TEXT:  # no real duration is this long; digits cost to convert
        raise ValueError(f"{_shown(text)} is longer than 10 years, the longest duration "
                         "Apollo takes")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return bounded(float(s), text)
    pos, seconds = 0, 0.0
    for match in _PART.finditer(s):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"expected a duration such as '30s', '5m' or '1h30m', got {_shown(text)}")
    return bounded(seconds, text)


def format_duration(value: timedelta) -> str:
    """Prometheus's `model.Duration.String()`: 300s -> `5m`, 90000s -> `1d1h`, 28d -> `4w`.

    Years and weeks are used only when they divide the whole duration (90d, not 12w6d).
    """
    remaining = round(value.total_seconds())
    if remaining == 0:
        return "0s"
    out = []
    for unit in ("y", "w", "d", "h", "m", "s"):
        size = int(_UNITS[unit])
        if unit in ("y", "w") and remaining % size:
            continue
        if remaining >= size:
            out.append(f"{remaining // size}{unit}")
            remaining %= size
    return "".join(out)
