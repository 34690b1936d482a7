"""Report and assessment periods: a week, a month or a year ending on a local date.

- ``week``: the 7 local days ending on ``end`` (inclusive);
- ``month``: the calendar month of ``end``, from its 1st up to and including ``end`` (month to
  date when ``end`` is not the last day);
- ``year``: the calendar year of ``end`` up to and including ``end``.

The previous period has the same length and shape (the 7 days before; the previous month from its
1st over the same number of days, clipped to its end; the previous year to the same date); the
same period last year is the same dates one year earlier (29 February -> 28 February).
Windows are half-open ``[start, stop)`` in naive UTC, built from local midnights in ``tz``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from cockpit.timeutil import local_midnight, naive_utc

PERIODS = ("week", "month", "year")


@dataclass(frozen=True)
class Period:
    kind: str
    first: date  # first local day, inclusive
    last: date  # last local day, inclusive

    def window(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """``[first 00:00, day after last 00:00)`` local, as naive UTC."""
        return _utc(self.first, tz), _utc(self.last + timedelta(days=1), tz)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "year":
            return f"{self.first:%Y}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "first": self.first.isoformat(), "last": self.last.isoformat(),
                "label": self.label, "days": self.days}


def _utc(day: date, tz: tzinfo) -> datetime:
    return naive_utc(local_midnight(day, tz))


def _shift_year(day: date, years: int) -> date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def period(kind: str, end: date) -> Period:
    """The period of ``kind`` ending on local date ``end`` (see module docstring)."""
    if kind == "week":
        return Period(kind, end - timedelta(days=6), end)
    if kind == "month":
        return Period(kind, end.replace(day=1), end)
    if kind == "year":
        return Period(kind, end.replace(month=1, day=1), end)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def previous(p: Period) -> Period:
    """The period before ``p``, same shape and length."""
    if p.kind == "week":
        return Period(p.kind, p.first - timedelta(days=7), p.last - timedelta(days=7))
    if p.kind == "month":
        first = (p.first - timedelta(days=1)).replace(day=1)
        month_end = p.first - timedelta(days=1)
        last = min(first + timedelta(days=p.days - 1), month_end)
        if p.last == _month_end(p.last):
            last = month_end  # a whole month compares with the whole previous month
        return Period(p.kind, first, last)
    return Period(p.kind, _shift_year(p.first, -1), _shift_year(p.last, -1))


def year_before(p: Period) -> Period:
    """The same dates one year earlier."""
    return Period(p.kind, _shift_year(p.first, -1), _shift_year(p.last, -1))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def default_end(now_utc: datetime, tz: tzinfo) -> date:
    """Yesterday in local time: the last complete day."""
    return (now_utc.replace(tzinfo=UTC).astimezone(tz) - timedelta(days=1)).date()
