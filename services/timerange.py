"""One time grammar for CLI flags, API parameters and dashboard URLs.

    now                 the given `now`
    now-1h, now+5m      `now` moved by a duration (`30s`, `5m`, `1h30m`, `7d`, `1w`)
    -7d, +5m            the same, `now` left out
    2026-11-02          ISO 8601 date: its midnight, UTC
    2026-11-02T12:30    ISO 8601 datetime: naive means UTC; `Z` and `+02:00` are honoured
    1793577600, 1793577600.5
                        Unix seconds

Times come out as whole Unix seconds (floored). `now` is always a parameter, so the same
text and the same `now` give the same answer. Data files take only absolute times
(`parse_timestamp`): a file must read the same tomorrow.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import NamedTuple

from slo.durations import parse_duration
from slo.errors import InputError

FORMS = ("now, now-1h, now+5m, -7d, an ISO 8601 date or datetime (naive = UTC) "
         "or Unix seconds")
LATEST = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime can show

_EPOCH = re.compile(r"\d+(\.\d*)?|\.\d+")
_RELATIVE = re.compile(r"(?:now)?\s*(?P<sign>[+-])\s*(?P<duration>\S.*)", re.IGNORECASE)


class TimeRange(NamedTuple):
    """`[start, end)` in Unix seconds."""

    start: int
    end: int


def parse_timestamp(text: str, *, field: str = "") -> int:
    """An absolute time: ISO 8601 (naive = UTC) or Unix seconds -> Unix seconds.

    Raises InputError (a ValueError) naming the text and the accepted forms."""
    t = _absolute(text.strip())
    if t is None:
        raise InputError(f"expected ISO 8601 or Unix seconds, got {_shown(text)}", field=field)
    return _checked(t, text, field)


def parse_time(text: str, now: float, *, field: str = "") -> int:
    """`text` in the grammar above -> Unix seconds, relative forms counted from `now`.

    Raises InputError (a ValueError) naming the text and the accepted forms; `field`
    (a flag or parameter name) leads the message when given."""
    value = text.strip()
    if value.lower() == "now":
        return _checked(math.floor(now), text, field)
    relative = _RELATIVE.fullmatch(value)
    if relative is None:
        t = _absolute(value)
        if t is None:
            raise InputError(f"expected {FORMS}, got {_shown(text)}", field=field)
        return _checked(t, text, field)
    try:
        offset = parse_duration(relative["duration"]).total_seconds()
    except (ValueError, OverflowError) as exc:  # parse_duration's own words say what is wrong
        raise InputError(f"{exc}; expected {FORMS}", field=field) from None
    sign = -1 if relative["sign"] == "-" else 1
    return _checked(math.floor(now + sign * offset), text, field)


def parse_range(start: str, end: str, now: float, *, whole_minutes: bool = True,
                fields: tuple[str, str] = ("start", "end")) -> TimeRange:
    """`[start, end)` from two times in the grammar above, both read against one `now`.

    With `whole_minutes` (the default) both bounds are floored to the minute, so a
    relative range read twice within a minute gives the same bounds (stable cache keys).
    Raises InputError when `end` is not after `start`."""
    first = parse_time(start, now, field=fields[0])
    last = parse_time(end, now, field=fields[1])
    if whole_minutes:
        first, last = floor_minute(first), floor_minute(last)
    if last <= first:
        unit = " (in whole minutes)" if whole_minutes else ""
        raise InputError(f"{_shown(end)} is not after {fields[0]} {_shown(start)}{unit}",
                         field=fields[1])
    return TimeRange(first, last)


def is_relative(text: str) -> bool:
    """Whether `text` is counted from `now` (`now`, `now-1h`, `-7d`), not a fixed time."""
    value = text.strip()
    return value.lower() == "now" or _RELATIVE.fullmatch(value) is not None


def floor_minute(t: int) -> int:
    """The start of the minute that holds `t`."""
    return t - t % 60


def _absolute(value: str) -> int | None:
    """ISO 8601 or Unix seconds, floored to the second; None when it is neither."""
    if _EPOCH.fullmatch(value):
        seconds = value.partition(".")[0] or "0"
        return int(seconds) if len(seconds) <= 15 else LATEST + 1
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return math.floor(parsed.timestamp())


def _checked(t: int, text: str, field: str) -> int:
    if not 0 <= t <= LATEST:
        raise InputError(f"{_shown(text)} is outside 1970-01-01 .. 9999-12-31", field=field)
    return t


def _shown(text: str, limit: int = 64) -> str:
    """`text` quoted for a message, cut at `limit` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}…"
