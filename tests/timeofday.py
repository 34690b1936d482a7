"""Seeding "today" at any hour of the clock.

Screens count the local day (Asia/Shanghai by default), so a fixture that seeds "the last 50
minutes" put part of its events on yesterday when the suite ran just after local midnight, and one
that simulates "today so far" had almost no traffic at 01:00 (CI runs at any hour). These helpers
keep a fixture's events on today whatever the clock says:

- ``today_base``: the start of a span ending now, moved to just after local midnight when the span
  would begin yesterday (its later events then lie ahead of the clock; the tests' event window
  accepts 60 days of future, and live counters count an event on its own local day);
- ``daytime_now``: a moment of today with a working day behind it: the clock itself from
  ``hour`` local on, else today's ``hour`` (ahead of the clock, at night);
- ``wait_for_room``: sleeps out the last minutes before local midnight, so a test that seeds
  today and then looks at the screen does not see the day change under it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_midnight(moment: datetime, tz: tzinfo = SHANGHAI) -> datetime:
    """Aware UTC start of the local day holding ``moment`` (aware)."""
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def today_base(now: datetime, span: timedelta, tz: tzinfo = SHANGHAI) -> datetime:
    """``now - span``, or one second after local midnight when that would be yesterday."""
    return max(now - span, local_midnight(now, tz) + timedelta(seconds=1))


def daytime_now(hour: int = 10, *, now: datetime | None = None, tz: tzinfo = SHANGHAI) -> datetime:
    """The clock (aware UTC, whole seconds) from ``hour`` local on; before that, today's ``hour``."""
    real = (now or datetime.now(UTC)).replace(microsecond=0)
    day_hour = local_midnight(real, tz) + timedelta(hours=hour)
    return max(real, day_hour)


def wait_for_room(minutes: float = 3, tz: tzinfo = SHANGHAI) -> None:
    """Sleep until local midnight has passed when fewer than ``minutes`` of today are left."""
    now = datetime.now(UTC)
    left = (local_midnight(now, tz) + timedelta(days=1) - now).total_seconds()
    if left < minutes * 60:
        time.sleep(left + 2)
