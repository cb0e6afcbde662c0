"""Prometheus-style durations (`30s`, `5m`, `1h30m`, `28d`, `1w`) to and from timedelta."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`"1h30m"` -> 1:30:00. Plain numbers are seconds. Raises ValueError naming the text."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration such as '30s' or '5m', got {text!r}")
    s = text.strip()
    if not s:
        raise ValueError("expected a duration such as '30s' or '5m', got an empty string")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return timedelta(seconds=float(s))
    pos, seconds = 0, 0.0
    for match in _PART.finditer(s):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"expected a duration such as '30s', '5m' or '1h30m', got {text!r}")
    return timedelta(seconds=seconds)


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
