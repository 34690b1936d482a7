"""The 15-minute rollup job: ``call_rollups_15m`` and ``ticket_rollups_15m`` from calls and tickets.

A call is counted in the interval of its ``queued_at``; a ticket in the interval of its
``created_at``, per city x district x top category x sub-category (the second level of
``category_path``, "" when there is none). Recomputing an interval deletes its rows and inserts them again, so re-running
gives the same rows (idempotent). Intervals are aligned to 15 minutes of UTC (every whole-hour
time zone agrees). ``job_runs`` keeps the contiguous range of intervals completed for all
cities (``rollup_15m:from`` .. ``rollup_15m:to``); ``cockpit.metrics`` uses rollups only inside it.
The functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.metrics import queries

from cockpit.metrics.queries import ROLLUP_JOB_FROM, ROLLUP_JOB_TO
from cockpit.timeutil import INTERVAL
from cockpit.store.models import Call, CallRollup, JobRun, Ticket, TicketRollup
from cockpit.settings import Settings

CHUNK = timedelta(days=7)
# Intervals newer than this are rolled up but not marked covered: calls queued there may still
# be answered/ended, so KPI queries read them raw until the job has recomputed them.
SETTLE = timedelta(hours=1)
JOB_LOOKBACK = timedelta(hours=2)


def _insert_calls(session: Session, start: datetime, end: datetime, cities, settings: Settings) -> int:
    """INSERT ... SELECT the call rollup rows of ``[start, end)`` in the database (no row round trip)."""
    bucket = queries.interval_bucket(session.get_bind().dialect.name, Call.queued_at)
    cols = queries.call_count_columns(sl_threshold_s=settings.sl_threshold_s,
                                      short_abandon_s=settings.short_abandon_s)
    stmt = select(Call.city, bucket, *cols, literal(int(settings.sl_threshold_s))).where(
        Call.queued_at >= start, Call.queued_at < end
    )
    if cities:
        stmt = stmt.where(Call.city.in_(list(cities)))
    stmt = stmt.group_by(Call.city, bucket)
    target = ["city", "interval_start", "offered", "answered", "abandoned", "short_abandoned",
              "answered_within_sl", "wait_answered_sum_s", "ended", "handle_sum_s", "sl_threshold_s"]
    session.execute(insert(CallRollup).from_select(target, stmt))
    return _count(session, CallRollup, start, end, cities)


def sub_category_sql(dialect: str):
    """SQL expression: the second level of ``tickets.category_path`` (a JSON array), NULL when the
    path has fewer than two levels (or is NULL)."""
    if dialect == "postgresql":
        return Ticket.category_path.op("->>", return_type=String)(1)
    return func.json_extract(Ticket.category_path, "$[1]", type_=String)


def _insert_tickets(session: Session, start: datetime, end: datetime, cities) -> int:
    dialect = session.get_bind().dialect.name
    bucket = queries.interval_bucket(dialect, Ticket.created_at)
    district = func.coalesce(Ticket.district, "")
    category = func.coalesce(Ticket.category, "")
    subcategory = func.coalesce(sub_category_sql(dialect), "")
    stmt = select(Ticket.city, district, category, subcategory, bucket, func.count()).where(
        Ticket.created_at >= start, Ticket.created_at < end
    )
    if cities:
        stmt = stmt.where(Ticket.city.in_(list(cities)))
    stmt = stmt.group_by(Ticket.city, district, category, subcategory, bucket)
    target = ["city", "district", "category", "subcategory", "interval_start", "created"]
    session.execute(insert(TicketRollup).from_select(target, stmt))
    return _count(session, TicketRollup, start, end, cities)


def _count(session: Session, model, start: datetime, end: datetime, cities) -> int:
    # rowcount of INSERT ... SELECT is not reliable across drivers: count what is there now
    stmt = select(func.count()).select_from(model).where(model.interval_start >= start,
                                                          model.interval_start < end)
    if cities:
        stmt = stmt.where(model.city.in_(list(cities)))
    return int(session.execute(stmt).scalar_one())


def _set_job(session: Session, name: str, value: datetime) -> None:
    row = session.get(JobRun, name)
    if row is None:
        session.add(JobRun(name=name, last_done=value, updated_at=timeutil.utcnow()))
    else:
        row.last_done, row.updated_at = value, timeutil.utcnow()
    session.flush()


def _extend_coverage(session: Session, start: datetime, end: datetime) -> None:
    if start >= end:
        return
    current = queries.rollup_coverage(session)
    if current is not None and start <= current[1] and end >= current[0]:
        start, end = min(start, current[0]), max(end, current[1])
    _set_job(session, ROLLUP_JOB_FROM, start)
    _set_job(session, ROLLUP_JOB_TO, end)
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
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + CHUNK, end)
        for model in (CallRollup, TicketRollup):
            stmt = delete(model).where(model.interval_start >= chunk_start, model.interval_start < chunk_end)
            if cities:
                stmt = stmt.where(model.city.in_(list(cities)))
            session.execute(stmt)
        written["call_rollups_15m"] += _insert_calls(session, chunk_start, chunk_end, cities, settings)
        written["ticket_rollups_15m"] += _insert_tickets(session, chunk_start, chunk_end, cities)
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

