"""Contradictions between accepted events: found at ingest, kept in ``event_flags``.

Rules (docs/events.md, "Contradictions"):

- ``step_before_created``: a ticket step (dispatched, closed, ...) that occurred before its ticket's
  ``ticket.created``. The step is flagged.
- ``wait_before_offer``: a ``call.answered``/``call.abandoned`` whose ``wait_s`` puts the queue entry
  more than ``WAIT_TOLERANCE`` before the call's ``call.offered``. The outcome is flagged.

Such events are accepted (the stored state and the counters include them) and flagged, never
rejected: events arrive in any order, so rejecting "the second one" would make the stored state
depend on arrival order. The check runs over the whole stored call or ticket each time one of its
events arrives, so the flags are the same for every order. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cockpit.store.models import Call, EventFlag, EventRecord, TicketStep

WAIT_TOLERANCE = timedelta(seconds=1)
CHUNK = 500


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _ticket_flags(session: Session, ticket_ids: list[str]) -> list[dict]:
    out = []
    created = select(TicketStep.ticket_id, func.min(TicketStep.occurred_at).label("created_at")).where(
        TicketStep.type == "ticket.created").group_by(TicketStep.ticket_id)
    for chunk in _chunks(ticket_ids):
        sub = created.where(TicketStep.ticket_id.in_(chunk)).subquery()
        rows = session.execute(
            select(TicketStep.event_id, TicketStep.city, TicketStep.ticket_id, TicketStep.type,
                   TicketStep.occurred_at, sub.c.created_at)
            .join(sub, sub.c.ticket_id == TicketStep.ticket_id)
            .where(TicketStep.type != "ticket.created", TicketStep.occurred_at < sub.c.created_at)
        ).all()
        out += [{"event_id": r[0], "rule": "step_before_created", "city": r[1], "entity_id": r[2],
                 "detail": {"type": r[3], "occurred_at": r[4].isoformat() + "Z", "created_at": r[5].isoformat() + "Z"}}
                for r in rows]
    return out


def _call_flags(session: Session, keys: list[tuple[str, str]]) -> list[dict]:
    out = []
    for chunk in _chunks(keys):
        calls = session.execute(
            select(Call.city, Call.call_id, Call.offered_at, Call.queued_at, Call.wait_s)
            .where(func.coalesce(Call.answered_at, Call.abandoned_at).isnot(None), Call.offered_at.isnot(None),
                   Call.city.in_({c for c, _ in chunk}), Call.call_id.in_({i for _, i in chunk}))
        ).all()
        wanted = set(chunk)
        bad = {(c, i): (offered, queued, wait) for c, i, offered, queued, wait in calls
               if (c, i) in wanted and queued is not None and queued < offered - WAIT_TOLERANCE}
        if not bad:
            continue
        outcomes = session.execute(
            select(EventRecord.event_id, EventRecord.city, EventRecord.entity_id).where(
                EventRecord.type.in_(("call.answered", "call.abandoned")),
                EventRecord.entity_id.in_({i for _, i in bad}), EventRecord.city.in_({c for c, _ in bad}))
        ).all()
        for event_id, city, call_id in outcomes:
            if (city, call_id) in bad:
                offered, queued, wait = bad[(city, call_id)]
                out.append({"event_id": event_id, "rule": "wait_before_offer", "city": city, "entity_id": call_id,
                            "detail": {"wait_s": wait, "offered_at": offered.isoformat() + "Z",
                                       "queued_at": queued.isoformat() + "Z"}})
    return out


def check(session: Session, events: Sequence[Any], *, now: datetime | None = None) -> int:
    """Flag contradictions on the calls and tickets that ``events`` (just stored) belong to.

    Idempotent (one flag per event and rule); returns the number of flags found."""
    tickets = sorted({e.ticket_id for e in events if e.type.startswith("ticket.")})
    calls = sorted({(e.city, e.call_id) for e in events if e.type in ("call.offered", "call.answered",
                                                                      "call.abandoned")})
    found = (_ticket_flags(session, tickets) if tickets else []) + (_call_flags(session, calls) if calls else [])
    if not found:
        return 0
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    rows = [{**f, "flagged_at": at} for f in found]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(EventFlag).values(rows).on_conflict_do_nothing(index_elements=["event_id", "rule"]))
    return len(found)


def listing(session: Session, *, limit: int = 50, rule: str | None = None) -> list[EventFlag]:
    """Newest flags first."""
    stmt = select(EventFlag).order_by(EventFlag.id.desc()).limit(limit)
    if rule:
        stmt = stmt.where(EventFlag.rule == rule)
    return list(session.scalars(stmt))


def by_rule(session: Session) -> dict[str, int]:
    return {rule: n for rule, n in session.execute(select(EventFlag.rule, func.count()).group_by(EventFlag.rule)).all()}



