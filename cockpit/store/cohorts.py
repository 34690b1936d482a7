"""Writes of the frozen ticket cohorts (``ticket_cohort_days``, ``ticket_cohorts``, ``tickets.cohort_frozen``).

A ticket is *frozen* into its city's local day (of ``created_at``) once nothing but a new step can
change what it adds to any ticket rate: it is closed, its callback came (or none is expected, or
``CALLBACK_WAIT`` passed), and a dispatched ticket without a response is past its response
deadline (else "due for response" would still depend on the reader's ``now``); and its day is
over. Recounting a day flags its eligible tickets and writes the day's counts per district with
one ``INSERT ... SELECT`` of the metric contract's own columns (``metrics.queries.
ticket_count_columns``, handed in by the job, so the definitions live once). A writer that
rewrites a flagged ticket marks its day dirty first (``mark_dirty``, from ``store.history``) and
the rewrite clears the flag; readers then read that day's tickets row by row until the job
recounts it. Both sides hold the ticket fold lock on PostgreSQL, so a flag and a rewrite never
cross. Times are naive UTC. Functions take a session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, not_, or_, select, text, update
from sqlalchemy.orm import Session

from cockpit.batching import batches
from cockpit.store.models import Ticket, TicketCohort, TicketCohortDay
from cockpit.store.rollups import bucket_sql

CALLBACK_WAIT = timedelta(days=7)  # a closed ticket without its callback freezes after this
COUNT_COLUMNS = [c.name for c in TicketCohort.__table__.columns if c.name not in ("city", "day_start", "district")]
FOLD_LOCK_KEY = 0x12345  # = store.history.TICKET_LOCK_KEY (the ticket fold lock)
IN_CHUNK = 500


def lock_folds(session: Session) -> None:
    """PostgreSQL: hold the ticket fold lock to the end of the transaction (no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FOLD_LOCK_KEY})


def eligible(*, now: datetime, response_deadline_s: float):
    """SQL condition on ``tickets``: the ticket can be frozen at ``now`` (its day not considered)."""
    t = Ticket
    return and_(
        t.status == "closed", t.created_at.is_not(None),
        or_(t.callback_at.is_not(None), t.no_callback.is_(True), t.closed_at <= now - CALLBACK_WAIT),
        or_(t.first_dispatched_at.is_(None), t.responded_at.is_not(None),
            t.first_dispatched_at <= now - timedelta(seconds=response_deadline_s)),
    )


def mark_dirty(session: Session, ticket_ids: Sequence[str]) -> None:
    """Mark dirty the cohort days that count any of these tickets (call before rewriting them, in
    the same transaction): a primary-key look-up per ticket, an update only for frozen ones."""
    d, t = TicketCohortDay, Ticket
    for chunk in batches(sorted(set(ticket_ids)), IN_CHUNK):
        frozen = set(session.execute(select(t.city, t.created_at).where(t.ticket_id.in_(chunk),
                                                                         t.cohort_frozen.is_(True))).all())
        for city, created in sorted(frozen):
            session.execute(update(d).where(d.city == city, d.day_start <= created, d.day_end > created)
                            .values(dirty=True))


def dirty_days(session: Session, *, limit: int) -> list[tuple[str, datetime, datetime]]:
    """(city, day_start, day_end) of dirty days, oldest first."""
    d = TicketCohortDay
    return [tuple(r) for r in session.execute(
        select(d.city, d.day_start, d.day_end).where(d.dirty.is_(True)).order_by(d.day_start).limit(limit))]


def candidate_intervals(session: Session, *, now: datetime, before: datetime, response_deadline_s: float,
                        limit: int) -> list[tuple[str, datetime]]:
    """(city, 15-minute interval start) holding tickets created before ``before`` that are not frozen
    but could be (``ix_tickets_unfrozen_city_created`` finds the unfrozen ones)."""
    bucket = bucket_sql(session.get_bind().dialect.name, Ticket.created_at)
    stmt = (select(Ticket.city, bucket).where(not_(Ticket.cohort_frozen), Ticket.created_at < before,
                                              eligible(now=now, response_deadline_s=response_deadline_s))
            .group_by(Ticket.city, bucket).limit(limit))
    out = []
    for city, start in session.execute(stmt):
        if isinstance(start, str):  # SQLite: the bucket is text
            start = datetime.fromisoformat(start)
        out.append((city, start))
    return out


def recount_day(session: Session, city: str, day_start: datetime, day_end: datetime, *, now: datetime,
                response_deadline_s: float, count_basic_satisfied: bool, count_columns: list) -> int:
    """Flag the day's eligible tickets (and unflag any no longer eligible), rewrite its cohort rows
    from the flagged ones; returns the tickets frozen in it. Caller holds ``lock_folds``."""
    t, d, c = Ticket, TicketCohortDay, TicketCohort
    in_day = [t.city == city, t.created_at >= day_start, t.created_at < day_end]
    ok = eligible(now=now, response_deadline_s=response_deadline_s) if day_end <= now else literal(False)
    should = case((ok, True), else_=False)
    session.execute(update(t).where(*in_day, t.cohort_frozen != should).values(cohort_frozen=should)
                    .execution_options(synchronize_session=False))
    session.execute(delete(c).where(c.city == city, c.day_start == day_start))
    session.execute(delete(d).where(d.city == city, d.day_start == day_start))
    frozen, latest = session.execute(
        select(func.count(), func.max(case((and_(t.first_dispatched_at.is_not(None), t.responded_at.is_(None)),
                                             t.first_dispatched_at))))
        .where(*in_day, t.cohort_frozen.is_(True))).one()
    if not frozen:
        return 0
    district = func.coalesce(t.district, "")
    rows = (select(literal(city), literal(day_start), district, *count_columns)
            .where(*in_day, t.cohort_frozen.is_(True)).group_by(district))
    session.execute(insert(c).from_select(["city", "day_start", "district", *COUNT_COLUMNS], rows))
    session.execute(insert(d).values(city=city, day_start=day_start, day_end=day_end, dirty=False,
                                     response_deadline_s=float(response_deadline_s),
                                     count_basic_satisfied=bool(count_basic_satisfied),
                                     unresponded_dispatch_max=latest, frozen_at=now))
    return int(frozen)


def cities_with_tickets(session: Session, start: datetime, end: datetime) -> list[str]:
    """Cities with tickets created in ``[start, end)``."""
    return list(session.execute(select(Ticket.city).where(Ticket.created_at >= start, Ticket.created_at < end)
                                .distinct()).scalars())
