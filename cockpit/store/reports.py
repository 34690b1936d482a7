"""The reads of the written reports (``cockpit.reports``) that are not metric counts: whether a
period holds anything, tickets by category and by area, the alert summary, candidate typical
cases, offered calls per interval for the staffing section, and which scopes get reports.

Functions take a session first, filters keyword-only, and never commit. Times are naive UTC;
``[start, end)`` windows. ``cities`` is never empty; ``districts`` None means every district.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cockpit.store.conditions import one_of
from cockpit.store.models import Alert, AlertEvent, Call, CallRollup, Region, Ticket

CASE_CANDIDATES = 5  # each case rule looks at this many tickets (a ticket picked by an earlier rule is skipped)



def has_activity(session: Session, *, cities, districts, start: datetime, end: datetime) -> bool:
    """Whether any ticket was created, or (for a whole city or province) any call queued, in the window."""
    t_conds = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        t_conds.append(one_of(Ticket.district, districts))
    if session.execute(select(Ticket.ticket_id).where(*t_conds).limit(1)).first():
        return True
    if districts:
        return False
    c_conds = [one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end]
    return session.execute(select(Call.call_id).where(*c_conds).limit(1)).first() is not None


def tickets_by_category(session: Session, *, cities, districts, start: datetime, end: datetime) -> Counter:
    """Tickets created in the window per top-level category ('' for none)."""
    conds = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    rows = session.execute(select(Ticket.category, func.count()).where(*conds).group_by(Ticket.category))
    return Counter({(c or ""): int(n) for c, n in rows})


def tickets_by_area(session: Session, *, cities, districts, by_city: bool, start: datetime, end: datetime) -> Counter:
    """Tickets created in the window per city (``by_city``) or per district ('' for none)."""
    column = Ticket.city if by_city else Ticket.district
    conds = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    rows = session.execute(select(column, func.count()).where(*conds).group_by(column))
    return Counter({(c or ""): int(n) for c, n in rows})


def alert_summary(session: Session, *, cities, districts, start: datetime, end: datetime) -> dict[str, Any]:
    """Alerts raised, escalated and resolved in the window, open at its end, and raised per rule."""
    conds = [one_of(Alert.city, cities)]
    if districts:
        conds.append(one_of(Alert.district, districts))
    raised = session.scalar(select(func.count()).select_from(Alert).where(
        *conds, Alert.first_seen >= start, Alert.first_seen < end)) or 0
    escalated = session.scalar(
        select(func.count(func.distinct(AlertEvent.alert_id))).join(Alert, Alert.id == AlertEvent.alert_id)
        .where(*conds, AlertEvent.action == "escalated", AlertEvent.at >= start, AlertEvent.at < end)) or 0
    resolved = session.scalar(select(func.count()).select_from(Alert).where(
        *conds, Alert.resolved_at >= start, Alert.resolved_at < end)) or 0
    still_open = session.scalar(select(func.count()).select_from(Alert).where(
        *conds, Alert.first_seen < end, or_(Alert.resolved_at.is_(None), Alert.resolved_at >= end))) or 0
    by_rule = dict(session.execute(select(Alert.rule, func.count()).where(
        *conds, Alert.first_seen >= start, Alert.first_seen < end).group_by(Alert.rule)).all())
    return {"raised": int(raised), "escalated": int(escalated), "resolved": int(resolved),
            "open_at_end": int(still_open), "raised_by_rule": {k: int(v) for k, v in by_rule.items()}}


def case_candidates(session: Session, *, cities, districts, start: datetime, end: datetime,
                    now: datetime) -> dict[str, list[Ticket]]:
    """Tickets created in the window that the typical-case rules choose from:
    ``most_handoffs`` (returns + transfers > 0, most first), ``dissatisfied`` (earliest first), both
    CASE_CANDIDATES at most, and ``late`` (closed after, or still open past, their deadline at ``now``;
    unordered, every one)."""
    base = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        base.append(one_of(Ticket.district, districts))
    handoffs = Ticket.returns + Ticket.transfers
    most = session.scalars(select(Ticket).where(*base, handoffs > 0)
                           .order_by(handoffs.desc(), Ticket.created_at, Ticket.ticket_id).limit(CASE_CANDIDATES))
    unhappy = session.scalars(select(Ticket).where(*base, Ticket.satisfaction == "dissatisfied")
                              .order_by(Ticket.created_at, Ticket.ticket_id).limit(CASE_CANDIDATES))
    out = {"most_handoffs": list(most), "dissatisfied": list(unhappy)}
    out["late"] = list(session.scalars(select(Ticket).where(
        *base, Ticket.due_at.is_not(None),
        or_(and_(Ticket.closed_at.is_not(None), Ticket.closed_at > Ticket.due_at),
            and_(Ticket.status != "closed", Ticket.due_at < now)))))
    return out


def rollup_offered(session: Session, *, cities, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(interval start, offered calls) per 15-minute rollup interval in the window."""
    r = CallRollup
    rows = session.execute(select(r.interval_start, func.sum(r.offered)).where(
        one_of(r.city, cities), r.interval_start >= start, r.interval_start < end).group_by(r.interval_start))
    return [(at, int(n or 0)) for at, n in rows]


def offered_queue_times(session: Session, *, cities, start: datetime, end: datetime) -> list[datetime]:
    """The queue-entry time of every offered call (offered, answered or abandoned) queued in the window."""
    offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None), Call.abandoned_at.is_not(None))
    return [at for (at,) in session.execute(select(Call.queued_at).where(
        one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end, offered))]


def region_names(session: Session, codes: Sequence[str], *, english: bool = False) -> dict[str, str]:
    """{code: name} (English with ``english``) of those ``codes`` the regions table names."""
    column = Region.name_en if english else Region.name
    return {c: n for c, n in session.execute(select(Region.code, column).where(Region.code.in_(list(codes)))) if n}


def report_cities(session: Session, province: str) -> list[str]:
    """The cities of ``province`` in the regions table, else every city tickets carry."""
    cities = list(session.scalars(select(Region.code).where(Region.parent == province, Region.level == "city")))
    if not cities:
        cities = [c for c in session.scalars(select(Ticket.city).distinct()) if c]
    return cities
