"""The text of requests: what the hot-topics engine (``cockpit.topics``) reads from tickets.

Functions take a session first, filters keyword-only, and never commit. Times are naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cockpit.store.models import Ticket


def _place(cities: Sequence[str], districts: Sequence[str] | None) -> list:
    cities = list(cities)
    conds = [Ticket.city == cities[0] if len(cities) == 1 else Ticket.city.in_(cities)]
    if districts:
        districts = list(districts)
        conds.append(Ticket.district == districts[0] if len(districts) == 1 else Ticket.district.in_(districts))
    return conds


def _has_text():
    return [Ticket.text.is_not(None), Ticket.text != ""]


def ticket_texts(session: Session, *, cities: Sequence[str], districts: Sequence[str] | None, start: datetime,
                 end: datetime, limit: int) -> list[tuple[str, str, datetime, str | None, str | None]]:
    """(ticket_id, text, created_at, category, district) of the tickets of ``cities`` (and
    ``districts`` when given) created in ``[start, end)`` with a non-empty text: the ``limit``
    newest, newest first. No cities: nothing."""
    if not cities:
        return []
    stmt = (select(Ticket.ticket_id, Ticket.text, Ticket.created_at, Ticket.category, Ticket.district)
            .where(*_place(cities, districts), Ticket.created_at >= start, Ticket.created_at < end, *_has_text())
            .order_by(Ticket.created_at.desc()).limit(limit))
    return [tuple(row) for row in session.execute(stmt)]


def text_coverage(session: Session, *, cities: Sequence[str], windows: Sequence[tuple[datetime, datetime]]
                  ) -> list[tuple[int, int]]:
    """Per ``[start, end)`` window: (tickets created, of which with a non-empty text) in ``cities``."""
    out = []
    for start, end in windows:
        if not cities:
            out.append((0, 0))
            continue
        with_text = func.sum(case((func.coalesce(func.length(Ticket.text), 0) > 0, 1), else_=0))
        total, texts = session.execute(
            select(func.count(), with_text)
            .where(*_place(cities, None), Ticket.created_at >= start, Ticket.created_at < end)).one()
        out.append((int(total or 0), int(texts or 0)))
    return out
