"""The one time grammar: every form worked by hand against a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.errors import InputError
from services.timerange import (
    LATEST,
    TimeRange,
    floor_minute,
    is_relative,
    parse_range,
    parse_time,
    parse_timestamp,
)

NOW = 1_793_622_645.75  # 2026-11-02 12:30:45.75 UTC
MIDNIGHT = 1_793_577_600  # 2026-11-02 00:00 UTC


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("now", 1_793_622_645, id="now, floored to the second"),
    pytest.param(" NOW ", 1_793_622_645, id="now in any case, spaces around"),
    pytest.param("now-1h", 1_793_622_645 - 3600, id="an hour ago"),
    pytest.param("now+5m", 1_793_622_645 + 300, id="in five minutes"),
    pytest.param("now - 1h30m", 1_793_622_645 - 5400, id="spaces around the sign"),
    pytest.param("-7d", 1_793_622_645 - 7 * 86400, id="a week ago, now left out"),
    pytest.param("+90s", 1_793_622_645 + 90, id="plus, now left out"),
    pytest.param("now-0.5s", 1_793_622_645, id="NOW - 0.5 = ...645.25, floored"),
    pytest.param("now-1w", 1_793_622_645 - 604800, id="a week as 1w"),
    pytest.param("2026-11-02", MIDNIGHT, id="a date is its midnight UTC"),
    pytest.param("2026-11-02T12:30", MIDNIGHT + 45000, id="naive datetime is UTC"),
    pytest.param("2026-11-02 12:30:00", MIDNIGHT + 45000, id="a space instead of T"),
    pytest.param("2026-11-02T12:30:00Z", MIDNIGHT + 45000, id="Z"),
    pytest.param("2026-11-02T12:30:00+02:00", MIDNIGHT + 45000 - 7200, id="an offset east"),
    pytest.param("2026-11-02T12:30:00-05:30", MIDNIGHT + 45000 + 19800, id="an offset west"),
    pytest.param("2026-11-02T12:30:00.999Z", MIDNIGHT + 45000, id="fractions floored"),
    pytest.param("1793577600", MIDNIGHT, id="Unix seconds"),
    pytest.param("1793577600.9", MIDNIGHT, id="float Unix seconds, floored"),
    pytest.param("0", 0, id="the epoch"),
])
def test_parse_time(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("yesterday", "--at: expected now, now-1h, now+5m, -7d, an ISO 8601 date or "
                 "datetime (naive = UTC) or Unix seconds, got 'yesterday'", id="a word"),
    pytest.param("", "--at: expected now, now-1h, now+5m, -7d, an ISO 8601 date or datetime "
                 "(naive = UTC) or Unix seconds, got ''", id="empty"),
    pytest.param("now-1x", "--at: expected a duration such as '30s', '5m' or '1h30m', got "
                 "'1x'; expected now, now-1h, now+5m, -7d, an ISO 8601 date or datetime "
                 "(naive = UTC) or Unix seconds", id="a bad unit"),
    pytest.param("now-", "--at: expected now, now-1h, now+5m, -7d, an ISO 8601 date or "
                 "datetime (naive = UTC) or Unix seconds, got 'now-'", id="no duration"),
    pytest.param("1e9", "got '1e9'", id="exponents are not Unix seconds"),
    pytest.param("nan", "got 'nan'", id="not a number"),
    pytest.param("-60y", "--at: '60y' is longer than 10 years",
                 id="an offset past the longest duration"),
    pytest.param("1969-12-31T23:59:00Z", "--at: '1969-12-31T23:59:00Z' is outside 1970-01-01 "
                 ".. 9999-12-31", id="before 1970"),
    pytest.param("9" * 400, "--at: '" + "9" * 64 + "'… is outside 1970-01-01 .. 9999-12-31",
                 id="a huge number is cut in the message"),
    pytest.param("now-99999999999999999999d", "'99999999999999999999d' is longer than 10 years",
                 id="a duration too long for timedelta"),
    pytest.param("2026-13-01", "got '2026-13-01'", id="month 13"),
])
def test_bad_times_name_the_text_and_the_forms(text, message):
    with pytest.raises(InputError) as err:
        parse_time(text, NOW, field="--at")
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)  # old `except ValueError` callers still catch it


def test_data_files_take_absolute_times_only():
    assert parse_timestamp("2026-11-02T00:00:00Z") == MIDNIGHT
    assert parse_timestamp("1793577600.5") == MIDNIGHT
    with pytest.raises(InputError, match="expected ISO 8601 or Unix seconds, got 'now-1h'"):
        parse_timestamp("now-1h")


@pytest.mark.parametrize(("text", "relative"), [
    ("now", True), ("now-1h", True), ("-7d", True), ("+5m", True),
    ("2026-11-02", False), ("1793577600", False), ("garbage", False),
])
def test_is_relative(text, relative):
    assert is_relative(text) is relative


def test_a_relative_range_is_whole_minutes_and_stable_within_the_minute():
    # NOW is 12:30:45.75: both bounds floor to 12:30 - 1h and 12:30
    expected = TimeRange(MIDNIGHT + 45000 - 3600, MIDNIGHT + 45000)
    assert parse_range("now-1h", "now", NOW) == expected
    assert parse_range("now-1h", "now", NOW - 45) == expected  # 12:30:00.75: same minute
    assert parse_range("now-1h", "now", NOW + 15) != expected  # 12:31:00.75: the next one


def test_a_range_in_seconds_when_asked():
    assert parse_range("-90s", "now", NOW, whole_minutes=False) == (
        1_793_622_645 - 90, 1_793_622_645)


def test_a_range_mixes_forms():
    assert parse_range("2026-11-02", "now", NOW) == (MIDNIGHT, MIDNIGHT + 45000)


@pytest.mark.parametrize(("start", "end", "message"), [
    pytest.param("now", "-1h", "--to: '-1h' is not after --from 'now' (in whole minutes)",
                 id="backwards"),
    pytest.param("now-10s", "now", "--to: 'now' is not after --from 'now-10s' (in whole "
                 "minutes)", id="empty once floored to minutes"),
    pytest.param("bad", "now", "--from: expected now", id="the bad bound is named"),
])
def test_bad_ranges(start, end, message):
    with pytest.raises(InputError) as err:
        parse_range(start, end, NOW, fields=("--from", "--to"))
    assert str(err.value).startswith(message)


# --- properties -----------------------------------------------------------------------------

SECONDS = st.integers(min_value=0, max_value=LATEST)


@given(SECONDS)
def test_unix_seconds_and_iso_8601_agree(t):
    iso = datetime.fromtimestamp(t, UTC).isoformat()
    assert parse_time(str(t), NOW) == t
    assert parse_time(iso, NOW) == t
    assert parse_time(iso.removesuffix("+00:00"), NOW) == t  # naive = UTC


@given(st.floats(min_value=1e9, max_value=4e9), st.integers(min_value=0, max_value=10**8))
def test_relative_times_move_now_by_the_duration(now, seconds):
    assert parse_time(f"now-{seconds}s", now) == parse_time(f"-{seconds}s", now)
    assert parse_time(f"now-{seconds}s", now) == int(now // 1) - seconds
    assert parse_time(f"now+{seconds}s", now) == int(now // 1) + seconds


@given(st.integers(min_value=0, max_value=LATEST - 3600), st.integers(min_value=1, max_value=60))
def test_floored_ranges_are_on_minutes_and_ordered(start, length):
    first, last = parse_range(str(start), str(start + 60 * length), NOW)
    assert first % 60 == last % 60 == 0
    assert first == floor_minute(start) and last - first == 60 * length
