"""Durations as workflow authors write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from aims_workflows.spec.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    "text, delta",
    [
        ("90d", timedelta(days=90)),
        ("2w", timedelta(weeks=2)),
        ("36h", timedelta(hours=36)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        (" 14d ", timedelta(days=14)),
        ("P90D", timedelta(days=90)),
        ("p90d", timedelta(days=90)),
        ("PT4H", timedelta(hours=4)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT1M30S", timedelta(minutes=1, seconds=30)),
    ],
)
def test_parse(text, delta):
    assert parse_duration(text) == delta


def test_a_timedelta_passes_through():
    assert parse_duration(timedelta(hours=1)) == timedelta(hours=1)


@pytest.mark.parametrize(
    "value", ["", "d", "90", "1y", "3 days", "-1d", "1.5d", "12h1d", "P", "PT", "P1H", "1d 2h"]
)
def test_not_a_duration(value):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert "is not a duration" in str(caught.value)


@pytest.mark.parametrize("value", ["0d", "0s", "P0D", "0w0d"])
def test_zero_is_refused(value):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == f"{value!r} is zero: a duration must be longer than that"


@pytest.mark.parametrize("value", [90, 1.5, None, True, ["90d"]])
def test_wrong_types(value):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == f"expected a duration such as '90d', '12h' or 'P90D', got {value!r}"


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(days=90), "90d"),
        (timedelta(days=14), "2w"),
        (timedelta(days=10), "10d"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(0), "0s"),
    ],
)
def test_format(delta, text):
    assert format_duration(delta) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_format_then_parse_is_the_identity(seconds):
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


def test_as_a_pydantic_type():
    adapter = TypeAdapter(Duration)
    assert adapter.validate_python("1d12h") == timedelta(days=1, hours=12)
    assert adapter.dump_python(timedelta(days=30), mode="json") == "30d"
    with pytest.raises(ValidationError):
        adapter.validate_python("soon")
