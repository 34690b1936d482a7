"""All SQL writes of the ingestion path, and the folds that turn events into current state.

Functions take a session first and never commit (the caller owns the transaction). Every write
is order-independent: the same set of events gives the same rows whatever order they arrive in.
"""

from __future__ import annotations

import json
from collections import defaultdict

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import JSON, Text, bindparam, case, cast, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from cockpit import events as ev
from cockpit.batching import batches
from cockpit.timeutil import naive_utc
from cockpit.store import cohorts, days
from cockpit.store.models import (
    Call,
    EventId,
    EventRecord,
    Seat,
    SeatStateChange,
    Ticket,
    TicketStep,
)

# Same-instant steps are folded in this order, then by event_id, so arrival order never matters.
STEP_ORDER = {
    "ticket.created": 0,
    "ticket.dispatched": 1,
    "ticket.returned": 2,
    "ticket.transferred": 3,
    "ticket.responded": 4,
    "ticket.closed": 5,
    "ticket.callback": 6,
    "ticket.reopened": 7,
}
TICKET_LOCK_KEY = cohorts.FOLD_LOCK_KEY  # PostgreSQL advisory lock serialising ticket folds (and cohort flags)
IN_CHUNK = 500  # rows per IN (...) list


def _unnest(column, values: list):
    """``unnest(:array)`` typed like ``column``; JSON travels as text[] and is cast back."""
    if isinstance(column.type, JSON):
        array = bindparam(None, [None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                          type_=ARRAY(Text))
        return cast(func.unnest(array), column.type)
    return func.unnest(bindparam(None, values, type_=ARRAY(column.type)))


def bulk_insert(session: Session, model, rows: Sequence[dict], *, finish=lambda stmt: stmt):
    """Insert many rows in one round trip and return the result.

    PostgreSQL gets ``INSERT ... SELECT unnest(:col1), unnest(:col2) ...``: one short statement
    with one array per column, which psycopg neither splits per row nor re-parses per batch (a
    multi-VALUES statement of 1,000 rows costs more to parse than to run). SQLite gets an
    executemany, which its C driver loops cheaply. ``finish`` adds ON CONFLICT / RETURNING to
    the dialect's insert statement.
    """
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        names = list(rows[0])
        select_arrays = select(*[_unnest(table.c[n], [r[n] for r in rows]).label(n) for n in names])
        return session.execute(finish(postgresql.insert(table).from_select(names, select_arrays)))
    return session.execute(finish(sqlite.insert(table)), list(rows))


# --- events ---------------------------------------------------------------------------------


def insert_events(session: Session, events: Sequence[Any], *, received_at: datetime) -> set[str]:
    """Insert events once by ``event_id``; returns the ids that were new (the rest are duplicates).

    Known ids are looked up first (an index-only probe), so a re-sent file costs a read, not a
    write of every payload; ON CONFLICT DO NOTHING still settles races between concurrent writers.
    """
    if not events:
        return set()
    ids = [e.event_id for e in events]
    known: set[str] = set()
    column = EventRecord.__table__.c.event_id
    # Claimed ids: one primary key to probe rather than every monthly partition of events.
    lookup = EventId.__table__.c.event_id if ids_claimed(session) else column
    for chunk in batches(ids, 1000):
        known.update(session.scalars(select(lookup).where(lookup.in_(chunk))))
    fresh = [e for e in events if e.event_id not in known]
    if not fresh:
        return set()
    rows = [
        {
            "event_id": e.event_id,
            "type": e.type,
            "city": e.city,
            "entity_id": e.entity_id,
            "occurred_at": naive_utc(e.occurred_at),
            "received_at": naive_utc(received_at),
            "source": e.source,
            "payload": ev.to_json_dict(e),
        }
        for e in fresh
    ]
    result = bulk_insert(
        session, EventRecord, rows,
        # No conflict target: on PostgreSQL the claim trigger of the partitioned ``events`` drops a
        # known id (cockpit.store.partitions); SQLite's UNIQUE (event_id) is the arbiter there.
        finish=lambda stmt: stmt.on_conflict_do_nothing().returning(column),
    )
    return set(result.scalars().all())


# --- calls ----------------------------------------------------------------------------------

_CALL_COLUMNS = (
    "channel", "offered_at", "answered_at", "abandoned_at", "ended_at", "queued_at",
    "seat_id", "wait_s", "talk_s", "hold_s", "acw_s",
)


def _call_patch(e: Any) -> dict:
    at = naive_utc(e.occurred_at)
    if e.type == "call.offered":
        return {"offered_at": at, "channel": e.channel, "queued_at": at}
    if e.type == "call.answered":
        return {"answered_at": at, "seat_id": e.seat_id, "wait_s": e.wait_s,
                "queued_at": at - timedelta(seconds=e.wait_s)}
    if e.type == "call.abandoned":
        return {"abandoned_at": at, "wait_s": e.wait_s, "queued_at": at - timedelta(seconds=e.wait_s)}
    patch = {"ended_at": at, "talk_s": e.talk_s, "hold_s": e.hold_s, "acw_s": e.acw_s}
    if e.seat_id is not None:
        patch["seat_id"] = e.seat_id
    return patch


def _merge_call(row: dict, patch: dict) -> None:
    """The Python twin of the SQL upsert rule in ``upsert_calls``: first value wins per column,
    except ``queued_at``, where the time derived from an answer/abandon beats the offer time."""
    outcome_known = row.get("answered_at") is not None or row.get("abandoned_at") is not None
    patch_outcome = "answered_at" in patch or "abandoned_at" in patch
    for col, value in patch.items():
        if col == "queued_at":
            if patch_outcome and not outcome_known:
                row["queued_at"] = value
            elif row.get("queued_at") is None:
                row["queued_at"] = value
        elif row.get(col) is None:
            row[col] = value


def call_rows(events: Sequence[Any]) -> list[dict]:
    """The ``calls`` rows these call events make, one per call, merged in time order."""
    merged: dict[tuple[str, str], dict] = {}
    for e in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        row = merged.setdefault((e.city, e.call_id), {"city": e.city, "call_id": e.call_id})
        _merge_call(row, _call_patch(e))
    return [{col: row.get(col) for col in CALL_ROW_COLUMNS} for row in merged.values()]


CALL_ROW_COLUMNS = ("city", "call_id", *_CALL_COLUMNS)


def calls_upsert(stmt):
    """``ON CONFLICT`` of a ``calls`` insert: the SQL twin of ``_merge_call`` (first value wins per
    column; an outcome's ``queued_at`` beats the offer's)."""
    calls = Call.__table__.c
    ex = stmt.excluded
    outcome_old = calls.answered_at.isnot(None) | calls.abandoned_at.isnot(None)
    outcome_new = ex.answered_at.isnot(None) | ex.abandoned_at.isnot(None)
    updates = {col: func.coalesce(calls[col], ex[col]) for col in _CALL_COLUMNS}
    updates["queued_at"] = case(
        (outcome_old, calls.queued_at),
        (outcome_new, ex.queued_at),
        else_=func.coalesce(calls.queued_at, ex.queued_at),
    )
    return stmt.on_conflict_do_update(index_elements=["city", "call_id"], set_=updates)


def upsert_calls(session: Session, events: Sequence[Any]) -> None:
    """Merge call events into ``calls``; order-independent for a well-formed stream."""
    rows = call_rows(events)
    if rows:
        keys = [(r["city"], r["call_id"]) for r in rows]
        days.calls_changed(session, keys, -1)
        bulk_insert(session, Call, rows, finish=calls_upsert)
        days.calls_changed(session, keys, +1)


# --- seats ----------------------------------------------------------------------------------


def upsert_seats(session: Session, events: Sequence[Any], *, append=None) -> None:
    """Record every seat change and keep the newest state per seat (ties broken by event_id).

    ``append(session, model, rows)`` writes the change log (default ``bulk_insert``; the bulk
    path passes COPY)."""
    if not events:
        return
    changes, rows = seat_rows(events)
    (append or bulk_insert)(session, SeatStateChange, changes)
    bulk_insert(session, Seat, rows, finish=seats_newer_wins)


def seat_rows(events: Sequence[Any]) -> tuple[list[dict], list[dict]]:
    """The ``seat_state_changes`` rows of these seat events, and the newest state per seat (``seats`` rows)."""
    changes = [
        {"event_id": e.event_id, "city": e.city, "seat_id": e.seat_id, "state": e.state,
         "reason": e.reason, "occurred_at": naive_utc(e.occurred_at)}
        for e in events
    ]
    latest: dict[tuple[str, str], Any] = {}
    for e in events:
        key = (e.city, e.seat_id)
        if key not in latest or (e.occurred_at, e.event_id) > (latest[key].occurred_at, latest[key].event_id):
            latest[key] = e
    rows = [
        {"city": e.city, "seat_id": e.seat_id, "state": e.state, "reason": e.reason,
         "since": naive_utc(e.occurred_at), "event_id": e.event_id}
        for e in latest.values()
    ]
    return changes, rows


def seats_newer_wins(stmt):
    """``ON CONFLICT`` of a ``seats`` insert: the newer change (ties by event_id) wins."""
    seats = Seat.__table__.c
    ex = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["city", "seat_id"],
        set_={"state": ex.state, "reason": ex.reason, "since": ex.since, "event_id": ex.event_id},
        where=tuple_(ex.since, ex.event_id) > tuple_(seats.since, seats.event_id),
    )


# --- tickets --------------------------------------------------------------------------------


def _step_detail(e: Any) -> dict:
    data = ev.to_json_dict(e)
    for key in ("event_id", "type", "occurred_at", "city", "ticket_id", "source"):
        data.pop(key, None)
    return data


def _step_unit(e: Any) -> str | None:
    if e.type == "ticket.transferred":
        return e.to_unit
    return getattr(e, "unit", None)


class _Step(NamedTuple):
    """The fields of a step that ``fold_ticket`` reads (a TicketStep row has the same names)."""

    ticket_id: str
    event_id: str
    city: str
    type: str
    occurred_at: datetime
    detail: dict


def fold_ticket(ticket_id: str, steps: Sequence[Any], start: dict | None = None) -> dict:
    """A ticket's state from its steps (any order in, time order applied).

    The fold is a left fold in time order, so with ``start`` = the state after all earlier steps,
    folding only the later steps gives the same result as folding them all.
    """
    row: dict[str, Any] = dict(start) if start else {
        "ticket_id": ticket_id, "status": "created", "returns": 0, "transfers": 0, "reopens": 0,
        "no_callback": False,
    }
    ordered = sorted(steps, key=lambda s: (s.occurred_at, STEP_ORDER.get(s.type, 99), s.event_id))
    if ordered and not start:
        row["first_step_at"] = ordered[0].occurred_at
    # (continuing from ``start``, every new step is later: its first_step_at stands, NULL included)
    for step in ordered:
        d, at = step.detail, step.occurred_at
        row["city"] = step.city
        row["updated_at"] = at
        if step.type == "ticket.created":
            category = d.get("category") or []
            row.update(
                created_at=at, district=d.get("district"), lat=d.get("lat"), lon=d.get("lon"),
                category=category[0] if category else None, category_path=category,
                channel=d.get("channel"), urgency=d.get("urgency"), text=d.get("text"),
                caller=d.get("caller"), address=d.get("address"), call_id=d.get("call_id"),
                due_at=(naive_utc(datetime.fromisoformat(d["due_at"])) if d.get("due_at") else None),
            )
        elif step.type == "ticket.dispatched":
            if row.get("first_dispatched_at") is None:
                row["first_dispatched_at"] = at
                row["auto_dispatched"] = bool(d.get("auto"))
                row["dispatch_confidence"] = d.get("confidence")
            row["unit"], row["status"] = d.get("unit"), "dispatched"
        elif step.type == "ticket.returned":
            row["returns"] += 1
            row["status"] = "returned"
        elif step.type == "ticket.transferred":
            row["transfers"] += 1
            row["unit"], row["status"] = d.get("to_unit"), "dispatched"
        elif step.type == "ticket.responded":
            if row.get("responded_at") is None:
                row["responded_at"] = at
            if row["status"] != "closed":
                row["status"] = "responded"
        elif step.type == "ticket.closed":
            row["closed_at"], row["status"] = at, "closed"
            row["unit"] = d.get("unit") or row.get("unit")
            row["no_callback"] = bool(d.get("no_callback"))
        elif step.type == "ticket.callback":
            row["callback_at"] = at
            row["callback_resolved"] = d.get("resolved")
            row["satisfaction"] = d.get("satisfaction")
        elif step.type == "ticket.reopened":
            row["reopens"] += 1
            row["status"] = "reopened"
    return row


_TICKET_COLUMNS = [c.name for c in Ticket.__table__.columns]
_EMPTY_TICKET = dict.fromkeys(_TICKET_COLUMNS)


def insert_ticket_steps(session: Session, events: Sequence[Any], *, append=None, upsert=None) -> None:
    """Store ticket steps and bring every touched ticket's row up to date (``append`` as in ``upsert_seats``;
    ``upsert(session, model, rows, key=...)`` writes whole ticket rows, default ``bulk_insert``'s upsert).

    A ticket whose new steps all come after its last folded step continues the fold from its
    stored row (the common, in-order case: no step is read back); any other ticket is re-folded
    from all of its stored steps. Either way the row equals a fold of every step in time order.
    """
    if not events:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Serialise folds so a concurrent writer's steps are always seen by one of the two folds.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TICKET_LOCK_KEY})
    rows = step_rows(events)
    (append or bulk_insert)(session, TicketStep, rows)
    folded, refold, stored = fold_new_steps(session, rows)
    frozen = [tid for tid, row in stored.items() if row.get("cohort_frozen")]
    if frozen:  # counted in a frozen cohort: its day must be recounted (before the rewrite unflags it)
        cohorts.mark_dirty(session, frozen)
    if stored:  # their old state leaves the day rollups; the new one enters below
        days.tickets_changed(session, list(stored), -1)
    _upsert_tickets(session, folded, upsert)
    refold_tickets(session, refold, upsert=upsert)
    days.tickets_changed(session, [f["ticket_id"] for f in folded] + list(refold), +1)


def step_rows(events: Sequence[Any]) -> list[dict]:
    """The ``ticket_steps`` rows of these ticket events."""
    return [
        {"ticket_id": e.ticket_id, "event_id": e.event_id, "city": e.city, "type": e.type,
         "occurred_at": naive_utc(e.occurred_at), "unit": _step_unit(e), "detail": _step_detail(e)}
        for e in events
    ]


def stored_tickets(session: Session, ticket_ids: Sequence[str]) -> dict[str, dict]:
    """ticket_id -> the stored ``tickets`` row (a dict of every column), for the ids that have one."""
    table = Ticket.__table__
    current: dict[str, dict] = {}
    names = [c.name for c in table.columns]
    for chunk in batches(list(ticket_ids), IN_CHUNK):
        for found in session.execute(select(table).where(table.c.ticket_id.in_(chunk))):
            current[found.ticket_id] = dict(zip(names, found))
    return current


def fold_new_steps(session: Session, rows: Sequence[dict]) -> tuple[list[dict], list[str], dict[str, dict]]:
    """Fold new step rows into their tickets' stored rows: ``(folded, refold, stored)``.

    ``folded``: the new state of every ticket without a row (all its steps are new) or whose new
    steps all come after its last folded step (the fold continues from the stored row, no step
    read back); ``refold``: the other ids, to re-fold from all their stored steps
    (``refold_tickets``, once these steps are stored); ``stored``: the rows the folds started from.
    """
    new_steps: dict[str, list[_Step]] = defaultdict(list)
    for r in rows:
        new_steps[r["ticket_id"]].append(
            _Step(r["ticket_id"], r["event_id"], r["city"], r["type"], r["occurred_at"], r["detail"]))
    ids = sorted(new_steps)
    current = stored_tickets(session, ids)
    folded, refold = [], []
    for tid in ids:
        stored = current.get(tid)
        if stored is None:  # no row means no earlier step: every step of it is new
            folded.append(fold_ticket(tid, new_steps[tid]))
        elif stored["updated_at"] is not None and min(s.occurred_at for s in new_steps[tid]) > stored["updated_at"]:
            folded.append(fold_ticket(tid, new_steps[tid], start=stored))
        else:
            refold.append(tid)
    return folded, refold, current


def ticket_rows(folded: Sequence[dict]) -> list[dict]:
    """Whole ``tickets`` rows (every column) from folded states. A written row leaves its frozen
    cohort (``cohort_frozen`` false): the writer marks the day dirty first (``cohorts.mark_dirty``)."""
    rows = []
    empty = _EMPTY_TICKET
    for f in folded:
        row = {**empty, **f}  # every column, in the table's order (a merge in C, not a lookup per column)
        if len(row) != len(empty):
            row = {col: row[col] for col in _TICKET_COLUMNS}
        row["returns"] = row["returns"] or 0
        row["transfers"] = row["transfers"] or 0
        row["reopens"] = row["reopens"] or 0
        row["no_callback"] = bool(row["no_callback"])
        row["cohort_frozen"] = False
        rows.append(row)
    return rows


def _upsert_tickets(session: Session, folded: Sequence[dict], upsert=None) -> None:
    if not folded:
        return
    rows = ticket_rows(folded)
    if upsert is not None:
        upsert(session, Ticket, rows, key="ticket_id")
        return
    bulk_insert(
        session, Ticket, rows,
        finish=lambda stmt: stmt.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={col: stmt.excluded[col] for col in _TICKET_COLUMNS if col != "ticket_id"},
        ),
    )


def refold_tickets(session: Session, ticket_ids: Sequence[str], *, upsert=None) -> None:
    """Recompute ``tickets`` rows for these ids from ``ticket_steps`` (idempotent; ``upsert`` as in
    ``insert_ticket_steps``)."""
    for chunk in batches(ticket_ids, IN_CHUNK):
        steps: dict[str, list] = {tid: [] for tid in chunk}
        columns = TicketStep.__table__.c
        for step in session.execute(
            select(columns.ticket_id, columns.event_id, columns.city, columns.type, columns.occurred_at,
                   columns.detail).where(columns.ticket_id.in_(chunk))
        ):
            steps[step.ticket_id].append(step)
        _upsert_tickets(session, [fold_ticket(tid, tsteps) for tid, tsteps in steps.items() if tsteps], upsert)


# --- reads used by the live rebuild ---------------------------------------------------------


def iter_events_since(session: Session, since_utc: datetime, *, batch: int = 5000,
                      until_id: int | None = None) -> Iterable[list[dict]]:
    """Payloads of stored events with ``occurred_at >= since_utc`` (and row id <= ``until_id``),
    in id order, in chunks."""
    last_id = 0
    while True:
        stmt = (select(EventRecord.id, EventRecord.payload)
                .where(EventRecord.occurred_at >= naive_utc(since_utc), EventRecord.id > last_id))
        if until_id is not None:
            stmt = stmt.where(EventRecord.id <= until_id)
        rows = session.execute(stmt.order_by(EventRecord.id).limit(batch)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield [r[1] for r in rows]


def current_seats(session: Session, *, cities: Iterable[str] | None = None) -> list[Seat]:
    """The current state of every seat (of ``cities`` when given)."""
    stmt = select(Seat)
    if cities is not None:
        stmt = stmt.where(Seat.city.in_(sorted(cities)))
    return list(session.scalars(stmt))


def last_event_at(session: Session, *, source: str) -> datetime | None:
    """``occurred_at`` (naive UTC) of the newest stored event from ``source``, or None."""
    return session.scalar(select(func.max(EventRecord.occurred_at)).where(EventRecord.source == source))


def has_events(session: Session) -> bool:
    """Whether any event is stored."""
    return session.scalar(select(EventRecord.id).limit(1)) is not None


__all__ = [
    "insert_events", "upsert_calls", "upsert_seats", "insert_ticket_steps",
    "refold_tickets", "fold_ticket", "iter_events_since", "current_seats", "last_event_at", "has_events",
    "call_rows", "calls_upsert", "seat_rows", "seats_newer_wins", "step_rows", "stored_tickets", "fold_new_steps",
    "ticket_rows",
]


def max_event_row(session: Session) -> int:
    """The highest row id of ``events`` (0 when empty): a rebuild's watermark."""
    return int(session.scalar(select(func.max(EventRecord.id))) or 0)


def iter_events_after(session: Session, after_id: int, *, batch: int = 5000) -> Iterable[list[tuple[int, dict]]]:
    """``(row id, payload)`` of events stored after row ``after_id``, in id order, in chunks."""
    last_id = after_id
    while True:
        rows = session.execute(select(EventRecord.id, EventRecord.payload).where(EventRecord.id > last_id)
                               .order_by(EventRecord.id).limit(batch)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield [(r[0], r[1]) for r in rows]


def stored_payloads(session: Session, event_ids: Sequence[str]) -> dict[str, dict]:
    """event_id -> stored payload, for the ids that are stored (to tell a re-send from a conflict)."""
    out: dict[str, dict] = {}
    claims = ids_claimed(session)
    for chunk in batches(list(event_ids), IN_CHUNK):
        if not claims:
            out.update(session.execute(select(EventRecord.event_id, EventRecord.payload)
                                       .where(EventRecord.event_id.in_(chunk))).all())
            continue
        # The claim holds the event's time: the times prune the monthly partitions and find the
        # rows through ix_events_occurred, so events needs no index of its own on event_id.
        found = set(session.execute(select(EventId.event_id, EventId.occurred_at)
                                    .where(EventId.event_id.in_(chunk))).all())
        if found:
            rows = session.execute(
                select(EventRecord.event_id, EventRecord.occurred_at, EventRecord.payload)
                .where(EventRecord.occurred_at.in_({t for _, t in found}),
                       EventRecord.event_id.in_([e for e, _ in found])))
            out.update({e: payload for e, t, payload in rows if (e, t) in found})
    return out


def ids_claimed(session: Session) -> bool:
    """Whether event ids are claimed in ``event_ids`` (PostgreSQL at migration 0006 or later);
    known once per pooled connection (restart the app after ``cockpit db upgrade``)."""
    info = session.connection().info
    if "cockpit_claims" not in info:
        info["cockpit_claims"] = session.get_bind().dialect.name == "postgresql" and bool(
            session.scalar(text("SELECT to_regclass('event_ids') IS NOT NULL")))
    return info["cockpit_claims"]
