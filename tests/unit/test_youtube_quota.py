"""The quota planner (pure) and the video id parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.collectors.youtube_parse import parse_page, parse_video_id
from aggregator.collectors.youtube_quota import (
    OVERRUN_SECONDS, pacific_day, plan_interval, projected_units, quota_reset_at, seconds_left,
    usable_units,
)
from aggregator.config import ConfigError, parse_config


@given(daily=st.integers(1, 1_000_000), spent=st.integers(0, 1_000_000),
       left=st.floats(0, 86_400, allow_nan=False), server=st.floats(0, 600, allow_nan=False))
def test_the_chosen_interval_never_lets_the_projection_exceed_the_budget(
        daily: int, spent: int, left: float, server: float) -> None:
    plan = plan_interval(daily_units=daily, spent=spent, seconds_left=left)
    if plan.interval is None:
        assert spent + 5 > usable_units(daily)  # not even one more poll fits
        return
    assert plan.projected <= usable_units(daily) <= daily
    # the collector polls at max(server interval, floor): slower never projects more
    assert projected_units(spent, plan.horizon, max(plan.interval, server)) <= plan.projected


@given(daily=st.integers(100, 100_000), spent=st.integers(0, 100_000),
       left=st.floats(OVERRUN_SECONDS, 86_400, allow_nan=False))
def test_the_floor_is_not_wastefully_slow(daily: int, spent: int, left: float) -> None:
    plan = plan_interval(daily_units=daily, spent=spent, seconds_left=left)
    if plan.interval is not None:
        # one poll more over the horizon would not have fitted
        polls = (usable_units(daily) - spent) // 5
        assert projected_units(spent, left, left / (polls + 1)) > usable_units(daily)


@pytest.mark.parametrize("minutes,floor", [(60, 1.894), (120, 3.789)])
def test_readme_arithmetic(minutes: int, floor: float) -> None:
    plan = plan_interval(daily_units=10_000, spent=0, seconds_left=minutes * 60)
    assert plan.interval == pytest.approx(floor, abs=0.001)
    assert plan.projected == 9_500


def test_pacific_day_and_reset() -> None:
    # 07:30 UTC on 5 March is 23:30 on 4 March in Los Angeles (PST, UTC-8)
    moment = datetime(2026, 3, 5, 7, 30, tzinfo=timezone.utc)
    assert pacific_day(moment) == "2026-03-04"
    assert quota_reset_at(moment) == datetime(2026, 3, 5, 8, 0, tzinfo=timezone.utc)
    # summer time (PDT, UTC-7)
    assert quota_reset_at(datetime(2026, 7, 1, 12, tzinfo=timezone.utc)) == datetime(
        2026, 7, 2, 7, 0, tzinfo=timezone.utc)
    # the horizon stops at the reset, when the budget is renewed
    assert seconds_left(moment, datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)) == 1800


@pytest.mark.parametrize("value,expected", [
    ("dQw4w9WgXcQ", "dQw4w9WgXcQ"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10s", "dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?si=abc", "dQw4w9WgXcQ"),
    ("https://www.youtube.com/live/dQw4w9WgXcQ?feature=share", "dQw4w9WgXcQ"),
    ("youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"),
    ("https://evil.example/watch?v=dQw4w9WgXcQ", None),
    ("https://www.youtube.com/watch?v=short", None),
    ("VIDEO_ID", None),
    ("", None),
    ("http://[::1", None),
])
def test_video_ids(value: str, expected: str | None) -> None:
    assert parse_video_id(value) == expected


def test_a_bad_video_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[youtube\] video") as info:
        parse_config('[youtube]\nenabled = true\nvideo = "https://example.org/x"\n', "t.toml")
    assert "youtu.be" in info.value.fix


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                    max_leaves=30))
def test_pages_of_any_shape_never_crash_the_parser(data: object) -> None:
    page = parse_page(data)
    parse_page({"items": [data, {"id": "x", "snippet": data}], "pollingIntervalMillis": data})
    assert page.incomings == [] or isinstance(data, dict)
