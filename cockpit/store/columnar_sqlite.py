"""The SQL of the columnar history path on SQLite (``cockpit.bulk_columnar``; PostgreSQL: ``store.columnar``).

A chunk arrives as the same four buffers as on PostgreSQL (tab-separated lines built from numpy
columns: events with their JSON payload, call rows, seat changes, ticket steps; ``\\N`` for NULL,
times as pydantic's UTC text). SQLite has no COPY: each buffer's lines are split and handed to the
driver's executemany into a temporary stage, then, in the same transaction (which holds SQLite's
write lock from the first insert):

1. ``INSERT OR IGNORE`` of the staged events into ``events`` (SQLite's UNIQUE (event_id) is the
   arbiter); its row count says how many ids were new;
2. when all were new, the rows move set-based, times rewritten in SQL to SQLAlchemy's SQLite text:
   ``calls`` (merged with ``history.calls_upsert``'s ON CONFLICT), ``seat_state_changes``, ``seats``
   (the newest staged change per seat, then ``history.seats_newer_wins``), ``ticket_steps``;
   tickets are folded in Python by ``history.fold_new_steps`` / ``fold_ticket`` (SQLite 3.40 has no
   ordered aggregates to write ``store.columnar.fold_sql`` with), from the staged steps;
3. when only some or none were new, the caller rolls the transaction back (see ``bulk_columnar``).

Functions take a session first and never commit.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from cockpit.store import cohorts, days, history
from cockpit.store.bulk import _driver, _prepared, _sqlite_time, _whole_row_upsert
from cockpit.store.models import Call, Seat, Ticket

STAGES = {
    # received_at and source as the buffers carry them; ``claim`` writes SQLite's own text of the time.
    "events": ("ck_cs_events", "event_id TEXT, type TEXT, city TEXT, entity_id TEXT, occurred_at TEXT, payload TEXT, "
                               "received_at TEXT, source TEXT"),
    "calls": ("ck_cs_calls", "city TEXT, call_id TEXT, channel TEXT, offered_at TEXT, answered_at TEXT, "
                             "abandoned_at TEXT, ended_at TEXT, queued_at TEXT, seat_id TEXT, wait_s REAL, "
                             "talk_s REAL, hold_s REAL, acw_s REAL"),
    "seat_changes": ("ck_cs_seat_changes", "event_id TEXT, city TEXT, seat_id TEXT, state TEXT, reason TEXT, "
                                           "occurred_at TEXT"),
    "steps": ("ck_cs_steps", "ticket_id TEXT, event_id TEXT, city TEXT, type TEXT, occurred_at TEXT, unit TEXT, "
                             "detail TEXT"),
}
NULL = "\\N"


def _ts(column: str) -> str:
    """SQL: pydantic's UTC text ('2026-11-02T00:00:01.5Z' forms, or ``\\N``) as SQLAlchemy's SQLite
    DateTime text ('2026-11-02 00:00:01.500000'), NULL for ``\\N``."""
    x = f"NULLIF({column}, '{NULL}')"
    return (f"(substr({x}, 1, 10) || ' ' || substr({x}, 12, 8) || "
            f"CASE WHEN substr({x}, 20, 1) = '.' THEN substr({x}, 20, 7) ELSE '.000000' END)")


def _null(column: str) -> str:
    return f"NULLIF({column}, '{NULL}')"


def _conflict(model, finish, names) -> str:
    """The ON CONFLICT clause of the per-event path's upsert for ``model`` (one definition of the rule)."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    sql = str(finish(sqlite_dialect.insert(model.__table__)).compile(
        dialect=sqlite_dialect.dialect(), column_keys=list(names)))
    return sql[sql.index(" ON CONFLICT "):]


def stage(session: Session, buffers: dict[str, list[str]]) -> None:
    """Create the temporary stages (once per connection), empty them and fill them from the buffers' lines."""
    conn = _driver(session)
    for name, (table, columns) in STAGES.items():
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})")
        conn.execute(f"DELETE FROM {table}")
        lines = buffers.get(name)
        if lines:
            marks = ", ".join("?" for _ in range(columns.count(",") + 1))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", [line[:-1].split("\t") for line in lines])


def claim(session: Session, *, received_at: datetime, source: str = "sim") -> int:
    """Insert the staged events that are new; returns how many were (the rest were stored before)."""
    return _driver(session).execute(
        "INSERT OR IGNORE INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, payload) "
        f"SELECT event_id, type, city, entity_id, {_ts('occurred_at')}, ?, ?, payload FROM ck_cs_events",
        (_sqlite_time(received_at), source)).rowcount


# Steps whose detail ``history.fold_ticket`` never reads: their JSON is not parsed.
_NO_DETAIL = frozenset({"ticket.responded", "ticket.returned", "ticket.reopened"})


def step_rows(lines: list[str]) -> list[dict]:
    """The staged ticket steps as ``history.fold_new_steps`` takes them (naive UTC times, parsed
    detail where the fold reads it)."""
    out = []
    loads, parse, skip = json.loads, datetime.fromisoformat, _NO_DETAIL
    for line in lines:
        tid, eid, city, typ, at, _unit, detail = line[:-1].split("\t")
        out.append({"ticket_id": tid, "event_id": eid, "city": city, "type": typ,
                    "occurred_at": parse(at[:-1]), "detail": {} if typ in skip else loads(detail)})
    return out


class Folded:
    """Tickets folded from a chunk's steps, before the write transaction (``fold``), and what the
    folds started from, so ``move`` can tell whether another writer changed them meanwhile."""

    def __init__(self, session: Session, steps: list[dict]) -> None:
        folded, self.refold, stored = history.fold_new_steps(session, steps)
        self.ids = [f["ticket_id"] for f in folded]
        self.stored = {tid: stored[tid] for tid in self.ids if tid in stored}
        self.rows = _prepared(session, Ticket, history.ticket_rows(folded), _whole_row_upsert(Ticket, "ticket_id"))

    def still_valid(self, session: Session) -> bool:
        return not self.ids or history.stored_tickets(session, self.ids) == self.stored


def fold(session: Session, steps: list[dict]) -> Folded:
    """Fold the chunk's tickets from the committed state (no write lock needed)."""
    return Folded(session, steps)


def move(session: Session, steps: list[dict], folded: Folded | None = None) -> None:
    """Move the staged calls, seat changes and steps into the tables and write the steps' tickets
    (every staged event id was just stored as new). ``folded``: the tickets folded before the
    transaction (``fold``), used when the rows they started from are unchanged, else folded again."""
    conn = _driver(session)
    call_cols = history.CALL_ROW_COLUMNS
    times = {"offered_at", "answered_at", "abandoned_at", "ended_at", "queued_at"}
    select = ", ".join(_ts(c) if c in times else _null(c) if c not in ("city", "call_id") else c for c in call_cols)
    call_keys = sql_text("SELECT city, call_id FROM ck_cs_calls").columns(city=String, call_id=String)
    days.calls_changed(session, call_keys, -1)
    conn.execute(f"INSERT INTO calls ({', '.join(call_cols)}) SELECT {select} FROM ck_cs_calls WHERE true"
                 + _conflict(Call, history.calls_upsert, call_cols))
    days.calls_changed(session, call_keys, +1)
    conn.execute("INSERT INTO seat_state_changes (event_id, city, seat_id, state, reason, occurred_at) "
                 f"SELECT event_id, city, seat_id, state, {_null('reason')}, {_ts('occurred_at')} FROM ck_cs_seat_changes")
    seat_cols = ("city", "seat_id", "state", "reason", "since", "event_id")
    conn.execute(
        f"INSERT INTO seats ({', '.join(seat_cols)}) SELECT {', '.join(seat_cols)} FROM ("
        f"SELECT city, seat_id, state, {_null('reason')} AS reason, {_ts('occurred_at')} AS since, event_id, "
        f"row_number() OVER (PARTITION BY city, seat_id ORDER BY {_ts('occurred_at')} DESC, event_id DESC) AS rn "
        "FROM ck_cs_seat_changes) WHERE rn = 1" + _conflict(Seat, history.seats_newer_wins, seat_cols))
    conn.execute("INSERT INTO ticket_steps (ticket_id, event_id, city, type, occurred_at, unit, detail) "
                 f"SELECT ticket_id, event_id, city, type, {_ts('occurred_at')}, {_null('unit')}, detail FROM ck_cs_steps")
    if not steps:
        return
    if folded is None or not folded.still_valid(session):
        folded = Folded(session, steps)  # under the write lock: nothing changes now
    rewritten = folded.ids + list(folded.refold)
    if rewritten:  # before the rows are rewritten (and leave their frozen cohorts and their days)
        cohorts.mark_dirty(session, rewritten)
        days.tickets_changed(session, rewritten, -1)
    if folded.rows:
        conn.executemany(*folded.rows)
    if folded.refold:
        from cockpit.store.bulk import upsert_rows

        history.refold_tickets(session, folded.refold, upsert=upsert_rows)
    if rewritten:
        days.tickets_changed(session, rewritten, +1)
