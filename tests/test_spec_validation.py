"""Validation that promises what later steps need: durations bounded, numbers finite, and
whatever `load_slos` (`apollo slo validate`) accepts, rule export, report and backtest
accept too, with every refusal at the field's own line."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo.durations import MAX_DURATION, parse_duration

# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("99999999999d", "'99999999999d' is longer than 10 years", id="overflow"),
    pytest.param("3651d", "'3651d' is longer than 10 years", id="just over 10 years"),
    pytest.param("11y", "'11y' is longer than 10 years", id="years"),
    pytest.param("9" * 500 + "s", "is longer than 10 years", id="500 digits"),
    pytest.param(math.inf, "inf is longer than 10 years", id="infinity"),
    pytest.param(-math.inf, "-inf is longer than 10 years", id="minus infinity"),
    pytest.param(math.nan, "expected a duration such as '30s' or '5m', got nan", id="NaN"),
    pytest.param(10 ** 400, "a number that large is longer than 10 years", id="a huge int"),
    pytest.param(timedelta(days=4000), "is longer than 10 years", id="a timedelta"),
    pytest.param(".inf", "expected a duration such as '30s', '5m' or '1h30m', got '.inf'",
                 id="the text .inf"),
])
def test_durations_past_10_years_or_not_numbers_are_refused_naming_the_text(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert message in str(info.value)
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("3650d", MAX_DURATION, id="10 years of days"),
    pytest.param("10y", MAX_DURATION, id="10 years"),
    pytest.param("1h30m", timedelta(minutes=90), id="hours and minutes"),
    pytest.param(90, timedelta(seconds=90), id="seconds"),
])
def test_durations_up_to_10_years_are_read(text, expected):
    assert parse_duration(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.smhdwy ", max_size=30)
       | st.floats() | st.integers() | st.timedeltas())
def test_a_duration_is_read_within_10_years_or_refused_with_a_value_error(text):
    try:
        value = parse_duration(text)
    except ValueError:
        return
    assert abs(value) <= MAX_DURATION
