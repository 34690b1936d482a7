"""Count series: calls offered per 15-minute interval for seat planning, and the per-interval and
per-day series behind the screens' curves.

Same definitions as the KPI counts (``counts``): an offered call is one queued that was offered,
answered or abandoned; a ticket counts on its ``created_at``. Inside the rollups' coverage the
rollups are read. Times are naive UTC. Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Integer, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from cockpit.metrics.queries.counts import one_of, call_count_columns, rollup_coverage
from cockpit.store.models import Call, CallRollup, Ticket, TicketRollup
from cockpit.store.rollups import bucket_sql as interval_bucket
from cockpit.timeutil import INTERVAL_S, local_midnight, naive_utc


def offered_per_interval(session: Session, *, cities, start: datetime, end: datetime) -> dict[datetime, int]:
    """Calls offered (by ``queued_at``) per 15-minute interval start in [start, end) (naive UTC);
    intervals without a call are absent. One grouped query over raw calls (the forecast's history)."""
    bucket = interval_bucket(session.get_bind().dialect.name, Call.queued_at).label("b")
    stmt = (select(bucket, call_count_columns(sl_threshold_s=0, short_abandon_s=0)[0])
            .where(one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end)
            .group_by(bucket))
    found: dict[datetime, int] = {}
    for b, n in session.execute(stmt):
        when = b if isinstance(b, datetime) else datetime.fromisoformat(str(b))
        found[when.replace(tzinfo=None)] = int(n or 0)
    return found


def calls_queued(session: Session, *, cities, start: datetime, end: datetime) -> int:
    """Calls that entered the queue in [start, end) (naive UTC), answered, abandoned or waiting."""
    return int(session.execute(select(func.count()).select_from(Call)
                               .where(one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end))
               .scalar_one())


def cities_with_calls(session: Session, *, start: datetime, end: datetime) -> list[str]:
    """Cities with a call queued in [start, end) (naive UTC), sorted."""
    return sorted(session.scalars(select(Call.city).where(Call.queued_at >= start, Call.queued_at < end)
                                  .distinct()))


# --- the screens' curves (per 15-minute interval and per local day) ------------------------------
# Same definitions as above: an offered call is one queued that was offered, answered or abandoned;
# a ticket counts on its ``created_at``. Inside the rollups' coverage the rollups are read.

INTERVALS_PER_DAY = 96


def _bucket_epoch(dialect: str, column):
    """SQL: epoch second of the 15-minute interval (UTC-aligned) holding a naive-UTC column."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / INTERVAL_S), Integer) * INTERVAL_S
    return (cast(func.strftime("%s", column), Integer) // INTERVAL_S) * INTERVAL_S


def _interval_index(start: datetime, epoch_s: int) -> int:
    return int((epoch_s - start.replace(tzinfo=UTC).timestamp()) // INTERVAL_S)


def interval_series(session: Session, *, cities: Sequence[str], start: datetime, kind: str) -> list[int]:
    """Per-15-minute counts of one local day starting at ``start`` (naive UTC), 96 values.

    ``kind`` 'offered' (calls by queued_at) or 'tickets' (tickets by created_at). Uses the 15-minute
    rollups inside their completed coverage and raw rows elsewhere (same definitions as
    ``cockpit.metrics.rollups``).
    """
    end = start + timedelta(days=1)
    out = [0] * INTERVALS_PER_DAY
    if not cities:
        return out
    dialect = session.get_bind().dialect.name
    coverage = rollup_coverage(session)
    lo, hi = (max(start, coverage[0]), min(end, coverage[1])) if coverage else (end, end)
    raw_pieces = [(start, end)] if lo >= hi else [(s, e) for s, e in ((start, lo), (hi, end)) if s < e]
    if lo < hi:
        if kind == "offered":
            r = CallRollup
            stmt = select(r.interval_start, func.sum(r.offered)).where(
                one_of(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        else:
            r = TicketRollup
            stmt = select(r.interval_start, func.sum(r.created)).where(
                one_of(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        for at, n in session.execute(stmt):
            i = int((at - start).total_seconds() // INTERVAL_S)
            if 0 <= i < INTERVALS_PER_DAY:
                out[i] += int(n or 0)
    for s, e in raw_pieces:
        if kind == "offered":
            column = Call.queued_at
            offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None),
                          Call.abandoned_at.is_not(None))
            conds = [one_of(Call.city, cities), column >= s, column < e, offered]
        else:
            column = Ticket.created_at
            conds = [one_of(Ticket.city, cities), column >= s, column < e]
        bucket = _bucket_epoch(dialect, column).label("b")
        for b, n in session.execute(select(bucket, func.count()).where(*conds).group_by(bucket)):
            i = _interval_index(start, int(b))
            if 0 <= i < INTERVALS_PER_DAY:
                out[i] += int(n)
    return out


def category_counts(session: Session, *, cities: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """Tickets created in ``[start, end)`` (naive UTC) by top-level category."""
    if not cities or start >= end:
        return {}
    rows = session.execute(
        select(Ticket.category, func.count()).where(
            one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end
        ).group_by(Ticket.category)
    )
    return {(c or ""): int(n) for c, n in rows}


def daily_tickets(session: Session, *, cities: Sequence[str], days: Sequence[date], tz: tzinfo) -> dict[str, list[int]]:
    """Tickets created per city per local day in ``days`` (consecutive, ascending)."""
    out = {c: [0] * len(days) for c in cities}
    if not cities or not days:
        return out
    start = naive_utc(local_midnight(days[0], tz))
    end = naive_utc(local_midnight(days[-1] + timedelta(days=1), tz))
    dialect = session.get_bind().dialect.name
    offset_s = int(datetime.now(tz).utcoffset().total_seconds())
    if dialect == "postgresql":
        day = cast(func.floor((func.extract("epoch", Ticket.created_at) + offset_s) / 86400), Integer)
    else:
        day = cast((cast(func.strftime("%s", Ticket.created_at), Integer) + offset_s) / 86400, Integer)
    day = day.label("d")
    first = days[0].toordinal() - date(1970, 1, 1).toordinal()
    stmt = select(Ticket.city, day, func.count()).where(
        one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end
    ).group_by(Ticket.city, day)
    for city, d, n in session.execute(stmt):
        i = int(d) - first
        if city in out and 0 <= i < len(days):
            out[city][i] += int(n)
    return out


def days_with_tickets(session: Session, *, cities: Sequence[str], days: Sequence[date], tz: tzinfo) -> list[bool]:
    """Whether any ticket of ``cities`` was created on each local day of ``days``: one statement of
    one index probe per day (the first ticket found answers), not a count of every ticket."""
    if not cities or not days:
        return [False] * len(days)
    probes = []
    for day in days:
        lo, hi = naive_utc(local_midnight(day, tz)), naive_utc(local_midnight(day + timedelta(days=1), tz))
        probes.append(exists().where(one_of(Ticket.city, cities), Ticket.created_at >= lo,
                                     Ticket.created_at < hi))
    return [bool(v) for v in session.execute(select(*probes)).one()]
