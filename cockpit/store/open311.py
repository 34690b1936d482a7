"""The ticket reads of the Open311 GeoReport v2 read side (``cockpit.georeport``).

A caller's scope arrives as ``places``: None for everywhere, else a list of (city codes, district
codes or None) from ``store.regions.resolve_scope``, any of which a ticket may match (an empty list
matches nothing). Functions take a session first and never commit. Times are naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cockpit.store.conditions import one_of
from cockpit.store.models import Ticket, TicketStep

Places = list[tuple[Sequence[str], Sequence[str] | None]] | None



def _in_places(places: Places) -> list:
    """The WHERE conditions keeping the tickets of ``places`` (none for everywhere)."""
    if places is None:
        return []
    parts = []
    for cities, districts in places:
        cond = one_of(Ticket.city, cities)
        if districts:
            cond = and_(cond, one_of(Ticket.district, districts))
        parts.append(cond)
    if not parts:
        return [Ticket.city.is_(None) & Ticket.city.is_not(None)]  # nothing
    return [parts[0] if len(parts) == 1 else or_(*parts)]


def categories(session: Session, *, places: Places) -> list[str]:
    """The distinct top-level categories of the tickets in ``places`` (no order)."""
    stmt = select(Ticket.category).where(Ticket.category.is_not(None), *_in_places(places)).distinct()
    return [name for name in session.scalars(stmt) if name]


def tickets_with_ids(session: Session, *, places: Places, ticket_ids: Sequence[str]) -> list[Ticket]:
    """The tickets in ``places`` with any of ``ticket_ids``, newest first."""
    stmt = (select(Ticket).where(*_in_places(places), Ticket.ticket_id.in_(sorted(ticket_ids)))
            .order_by(Ticket.created_at.desc(), Ticket.ticket_id))
    return list(session.scalars(stmt))


def ticket_page(session: Session, *, places: Places, start: datetime, end: datetime, status: str | None,
                categories: Sequence[str] | None, limit: int, offset: int) -> list[Ticket]:
    """Tickets in ``places`` created in ``[start, end]`` (both inclusive), only closed ones
    (``status='closed'``) or only the others (``'open'``), of ``categories`` when given; newest first,
    ``limit`` from ``offset``."""
    conds = [*_in_places(places), Ticket.created_at >= start, Ticket.created_at <= end]
    if status is not None:
        conds.append(Ticket.status == "closed" if status == "closed" else Ticket.status != "closed")
    if categories:
        conds.append(one_of(Ticket.category, categories))
    stmt = (select(Ticket).where(*conds).order_by(Ticket.created_at.desc(), Ticket.ticket_id)
            .limit(limit).offset(offset))
    return list(session.scalars(stmt))


def closing_resolutions(session: Session, ticket_ids: Sequence[str]) -> dict[str, str]:
    """{ticket_id: the resolution text of its last closing step} ('' when it gave none)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(TicketStep.ticket_id, TicketStep.occurred_at, TicketStep.detail)
        .where(TicketStep.ticket_id.in_(list(ticket_ids)), TicketStep.type == "ticket.closed")
        .order_by(TicketStep.ticket_id, TicketStep.occurred_at)
    )
    out: dict[str, str] = {}
    for tid, _at, detail in rows:
        out[tid] = (detail or {}).get("resolution") or ""
    return out


def ticket_cities(session: Session) -> set[str]:
    """Every city code tickets carry."""
    return set(session.scalars(select(Ticket.city).distinct()))
