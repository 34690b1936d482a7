"""The frozen ticket cohorts: each city-day's settled tickets counted once, read as ~1 row per district.

A ticket rate over a window (``metrics.queries.ticket_counts``) is a cohort figure: the tickets
created in the window, in their current state. Tickets that are closed and settled do not change
until a new step arrives, so the job counts them once per city and local day
(``store.cohorts.recount_day``, with the metric contract's own SQL columns) and readers add the
days' rows to the tickets not frozen (open, recent, changed since). A new step on a frozen ticket
marks its day dirty; until the job recounts it, readers take that day row by row. Both paths give
the same figures (tests/test_cohorts.py). ``run_job`` and ``freeze_days`` commit; the others never do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics.definitions import count_basic_as_satisfied, response_deadline_s
from cockpit.metrics.queries import ticket_count_columns
from cockpit.settings import Settings
from cockpit.store import cohorts as cohort_rows

JOB_DAYS = 200  # city-days recounted per job run at most (the rest next minute)


def local_day(moment: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """The local day (``settings.tz``) holding naive-UTC ``moment``, as naive-UTC bounds."""
    tz = settings.tz
    day = timeutil.aware_utc(moment).astimezone(tz).date()
    return (timeutil.naive_utc(timeutil.local_midnight(day, tz)),
            timeutil.naive_utc(timeutil.local_midnight(day + timedelta(days=1), tz)))


def recount(session: Session, city: str, day_start: datetime, day_end: datetime, *, now: datetime,
            settings: Settings) -> int:
    """Recount one city-day (caller holds ``store.cohorts.lock_folds``); returns tickets frozen."""
    deadline = response_deadline_s(settings)
    columns = ticket_count_columns(session.get_bind().dialect.name, now=now, response_deadline_s=deadline,
                                   count_basic_satisfied=count_basic_as_satisfied(settings))
    return cohort_rows.recount_day(session, city, day_start, day_end, now=now, response_deadline_s=deadline,
                                   count_basic_satisfied=count_basic_as_satisfied(settings),
                                   count_columns=columns)


def due_days(session: Session, *, now: datetime, settings: Settings, limit: int = JOB_DAYS
             ) -> list[tuple[str, datetime, datetime]]:
    """The city-days to recount at ``now``: the dirty ones, then those holding tickets that became
    eligible (closed and settled) since they were last counted; oldest first, at most ``limit``."""
    days: dict[tuple[str, datetime], datetime] = {}
    for city, start, end in cohort_rows.dirty_days(session, limit=limit):
        days[(city, start)] = end
    today = local_day(now, settings)[0]
    for city, interval in cohort_rows.candidate_intervals(session, now=now, before=today,
                                                          response_deadline_s=response_deadline_s(settings),
                                                          limit=limit * 96):
        if len(days) >= limit:
            break
        start, end = local_day(interval, settings)
        days.setdefault((city, start), end)
    return [(city, start, end) for (city, start), end in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def run_job(stores, *, now: datetime | None = None, limit: int = JOB_DAYS) -> dict[str, int]:
    """The scheduled job: recount the ``due_days``, one city-day per transaction (each holds the
    ticket fold lock only while it recounts its day). Commits."""
    settings = stores.settings
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    with stores.session() as session:
        days = due_days(session, now=now, settings=settings, limit=limit)
    frozen = 0
    for city, start, end in days:
        with stores.session() as session:
            cohort_rows.lock_folds(session)
            frozen += recount(session, city, start, end, now=now, settings=settings)
    return {"days": len(days), "tickets_frozen": frozen}


def freeze_days(stores, start: datetime, end: datetime, *, now: datetime | None = None) -> dict[str, int]:
    """Recount every city-day of the local days touching ``[start, end)`` (after a load, an import
    or a migration), one local day per transaction. Commits."""
    settings = stores.settings
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    day_start, _ = local_day(timeutil.naive_utc(start), settings)
    stop = timeutil.naive_utc(end)
    out = {"days": 0, "tickets_frozen": 0}
    while day_start < stop:
        day_end = local_day(day_start + timedelta(hours=36), settings)[0]
        with stores.session() as session:
            cohort_rows.lock_folds(session)
            for city in cohort_rows.cities_with_tickets(session, day_start, day_end):
                out["tickets_frozen"] += recount(session, city, day_start, day_end, now=now, settings=settings)
                out["days"] += 1
        day_start = day_end
    return out
