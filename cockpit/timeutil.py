"""Time helpers, once: storage is naive UTC, screens count local days and minutes, metrics 15-minute intervals.

Every timestamp is stored as a naive UTC datetime; aware datetimes (any zone) are accepted at the
edges and converted with ``naive_utc``. "Local" means ``Settings.tz`` (Asia/Shanghai by default),
passed in as ``tz``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

INTERVAL = timedelta(minutes=15)  # the rollup and staffing interval
INTERVAL_S = 900


def naive_utc(moment: datetime, tz: tzinfo | None = None) -> datetime:
    """Naive UTC (the storage form) from an aware datetime, or from a naive one read in ``tz``.

    A naive ``moment`` without ``tz`` is taken to be naive UTC already and returned unchanged.
    """
    if moment.tzinfo is None:
        if tz is None:
            return moment
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware_utc(moment: datetime | None) -> datetime | None:
    """A stored naive UTC datetime as an aware UTC one (None stays None)."""
    return None if moment is None else moment.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Now, naive UTC (the storage form)."""
    return datetime.now(UTC).replace(tzinfo=None)


def epoch_ms(moment: datetime | float) -> int:
    """Epoch milliseconds of an aware datetime or of epoch seconds."""
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1000)
    return int(moment * 1000)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """Aware UTC datetime of local midnight starting ``day`` in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def local_day_utc(text: str | None, tz: tzinfo, *, end: bool = False) -> datetime | None:
    """'YYYY-MM-DD' (a local date) -> naive UTC of its start, or of the next day's start with ``end``.
    None for a missing or malformed date (a shared link never errors)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return naive_utc(datetime.combine(day, datetime.min.time()), tz)


def minute_of_day(moment: datetime, tz: tzinfo) -> int:
    """Local minutes since local midnight (0..1439) of an aware ``moment``."""
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def floor_interval(moment: datetime) -> datetime:
    """Start of the 15-minute interval holding ``moment``, in ``moment``'s own zone (naive stays naive)."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def ceil_interval(moment: datetime) -> datetime:
    """``moment`` if it starts a 15-minute interval, else the start of the next one (zone kept)."""
    floor = floor_interval(moment)
    return floor if floor == moment else floor + INTERVAL


def floor_interval_utc(moment: datetime) -> datetime:
    """Start of the 15-minute interval holding an aware ``moment``, as aware UTC."""
    return floor_interval(moment.astimezone(UTC))
