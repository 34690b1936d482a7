"""The fixtures' clock helpers keep "today" on today's local date at any hour (tests/timeofday.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.timeofday import SHANGHAI, daytime_now, local_midnight, today_base


def _local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_tod001_a_span_that_would_start_yesterday_starts_after_midnight():
    midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Shanghai
    assert local_midnight(_local(0, 24)) == midnight
    assert today_base(_local(0, 24), timedelta(minutes=50)) == midnight + timedelta(seconds=1)
    assert today_base(_local(0, 51), timedelta(minutes=50)) == _local(0, 1)
    assert today_base(_local(23, 59), timedelta(minutes=50)) == _local(23, 9)


def test_tod002_daytime_now_is_the_clock_by_day_and_that_hour_at_night():
    assert daytime_now(10, now=_local(1, 10)) == _local(10)
    assert daytime_now(20, now=_local(4, 0)) == _local(20)
    assert daytime_now(10, now=_local(15, 30)) == _local(15, 30)
    assert daytime_now(20, now=_local(23, 5)) == _local(23, 5)
