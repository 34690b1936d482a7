"""The 15-minute rollup job: ``call_rollups_15m`` and ``ticket_rollups_15m`` from calls and tickets.

A call is counted in the interval of its ``queued_at``; a ticket in the interval of its
``created_at``, per city x district x top category x sub-category (the second level of
``category_path``, "" when there is none). Recomputing an interval deletes its rows and inserts them again, so re-running
gives the same rows (idempotent). Intervals are aligned to 15 minutes of UTC (every whole-hour
time zone agrees). ``job_runs`` keeps the contiguous range of intervals completed for all
cities (``rollup_15m:from`` .. ``rollup_15m:to``); ``cockpit.metrics`` uses rollups only inside it.
The SQL is in ``cockpit.store.rollups``; the functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics import queries
from cockpit.metrics.queries import ROLLUP_JOB_FROM, ROLLUP_JOB_TO
from cockpit.settings import Settings
from cockpit.store import days as day_rows
from cockpit.store import jobruns
from cockpit.store import rollups as rollup_rows
from cockpit.timeutil import INTERVAL

CHUNK = timedelta(days=7)
# Intervals newer than this are rolled up but not marked covered: calls queued there may still
# be answered/ended, so KPI queries read them raw until the job has recomputed them.
SETTLE = timedelta(hours=1)
JOB_LOOKBACK = timedelta(hours=2)


def _extend_coverage(session: Session, start: datetime, end: datetime) -> None:
    if start >= end:
        return
    current = queries.rollup_coverage(session)
    if current is not None and start <= current[1] and end >= current[0]:
        start, end = min(start, current[0]), max(end, current[1])
    jobruns.set_done(session, ROLLUP_JOB_FROM, start)
    jobruns.set_done(session, ROLLUP_JOB_TO, end)
    session.info.pop("rollup_coverage", None)


def rollup_range(session: Session, start: datetime, end: datetime, *, cities=None,
                 settings: Settings | None = None, now: datetime | None = None) -> dict[str, int]:
    """Recompute every 15-minute interval touching ``[start, end)`` (naive UTC or aware, widened to
    whole intervals): delete their rows, insert fresh ones. Idempotent.

    With ``cities=None`` (all cities) the recomputed range joins the covered range, up to
    ``now - SETTLE``. Uses ``settings.sl_threshold_s`` / ``short_abandon_s`` (default Settings()).
    Returns the number of rows written per table. Never commits.
    """
    settings = settings or Settings()
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    start = timeutil.floor_interval(timeutil.naive_utc(start))
    end = timeutil.ceil_interval(timeutil.naive_utc(end))
    written = {"call_rollups_15m": 0, "ticket_rollups_15m": 0}
    count_columns = queries.call_count_columns(sl_threshold_s=settings.sl_threshold_s,
                                               short_abandon_s=settings.short_abandon_s)
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + CHUNK, end)
        rollup_rows.delete_range(session, chunk_start, chunk_end, cities)
        written["call_rollups_15m"] += rollup_rows.insert_calls(session, chunk_start, chunk_end, cities,
                                                                count_columns=count_columns,
                                                                sl_threshold_s=settings.sl_threshold_s)
        written["ticket_rollups_15m"] += rollup_rows.insert_tickets(session, chunk_start, chunk_end, cities)
        chunk_start = chunk_end
    if not cities:
        _extend_coverage(session, start, min(end, timeutil.floor_interval(now - SETTLE)))
    session.flush()
    return written


def rollup_interval(session: Session, start_utc: datetime, *, cities=None, settings: Settings | None = None,
                    now: datetime | None = None) -> dict[str, int]:
    """Recompute the rollup rows of the one 15-minute interval starting at ``start_utc`` (naive UTC,
    floored to the interval). Idempotent: delete + insert. Never commits."""
    start = timeutil.floor_interval(timeutil.naive_utc(start_utc))
    return rollup_range(session, start, start + INTERVAL, cities=cities, settings=settings, now=now)


def run_job(session: Session, *, now: datetime | None = None, settings: Settings | None = None,
            lookback: timedelta = JOB_LOOKBACK) -> dict[str, int]:
    """The scheduled job: recompute the last ``lookback`` of whole intervals before ``now``."""
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    end = timeutil.floor_interval(now)
    return rollup_range(session, end - lookback, end, settings=settings, now=now)


def rollup_days(stores, start: datetime, end: datetime, *, now: datetime | None = None) -> None:
    """Recompute the rollups of ``[start, end)`` (aware) one day per transaction (after seeding, an
    import or a stop of the worker): a failure rolls back that day only. Commits. (The frozen
    ticket cohorts of those days follow from the worker's job, or ``cockpit rollup``.) The day
    rollups, kept by the writes, are rebuilt whole only when they were not kept as the settings count
    (``store.days.ensure``: a load into a database that never had them)."""
    day = timeutil.floor_interval_utc(start)
    while day < end:
        stop = min(day + timedelta(days=1), timeutil.floor_interval_utc(end) + INTERVAL)
        with stores.session() as session:
            rollup_range(session, day, stop, settings=stores.settings, now=now)
        day = stop
    with stores.session() as session:
        day_rows.ensure(session, stores.settings)
