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


# Official State Council holiday days off (放假) 2025-2027; make-up workdays (调休) are treated as
# ordinary days of their weekday. 2027 follows the published pattern where the schedule was not
# yet announced at the time of writing (assumption). The simulator's calendar and the forecast's
# default holidays (``planning.forecast.holidays``).
_HOLIDAY_RANGES = (
    ("2025-01-01", "2025-01-01"),
    ("2025-01-28", "2025-02-04"),
    ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"),
    ("2025-05-31", "2025-06-02"),
    ("2025-10-01", "2025-10-08"),
    ("2026-01-01", "2026-01-03"),
    ("2026-02-15", "2026-02-23"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
    ("2027-01-01", "2027-01-03"),
    ("2027-02-05", "2027-02-13"),
    ("2027-04-05", "2027-04-07"),
    ("2027-05-01", "2027-05-05"),
    ("2027-06-09", "2027-06-11"),
    ("2027-09-15", "2027-09-17"),
    ("2027-10-01", "2027-10-07"),
)


def _expand_ranges(ranges: tuple[tuple[str, str], ...]) -> frozenset[date]:
    days: set[date] = set()
    for a, b in ranges:
        d0, d1 = date.fromisoformat(a), date.fromisoformat(b)
        for n in range((d1 - d0).days + 1):
            days.add(date.fromordinal(d0.toordinal() + n))
    return frozenset(days)


CN_HOLIDAYS: frozenset[date] = _expand_ranges(_HOLIDAY_RANGES)
