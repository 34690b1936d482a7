"""The SQL of the bulk path (``cockpit.bulk``): COPY on PostgreSQL, the driver's executemany on SQLite.

These bypass the ORM's per-row parameter processing, which costs more than the database's own
work at history volumes. Functions take a session first and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, DateTime, text
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.store import cohorts, days, history
from cockpit.store.models import Call, Seat, SeatStateChange, Ticket, TicketStep

STAGE_EVENTS = "ck_stage_events"
EVENT_COLUMNS = ("event_id", "type", "city", "entity_id", "occurred_at", "received_at", "source", "payload")
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
SQLITE_IN = 900  # ids per IN (...) list (SQLite allows 999 parameters by default)


def tune_sqlite_for_load(engine) -> None:
    """SQLite connections of a history loader process: a 128 MiB page cache (the default 2 MiB
    re-reads index pages on every chunk once the file is gigabytes), temporary stages in memory,
    reads through mmap. Durability is unchanged (WAL, synchronous=NORMAL)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _bulk_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by the SQLite loader tests
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA cache_size=-131072")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA mmap_size=1073741824")
        cur.close()


class Raced(Exception):
    """Another writer stored some of this chunk's events between our look-up and our insert."""


def _driver(session: Session):
    return session.connection().connection.driver_connection


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _json(value: Any) -> str | None:
    return None if value is None else to_json(value).decode()  # compact, UTF-8 kept (pydantic's serialiser)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite text of a datetime (``SQLITE_TS``, the zone dropped), without strftime:
    ``isoformat`` is 3x faster and gives the same text, less the microseconds when they are 0."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    text_ = value.isoformat(" ")
    return text_ if value.microsecond else text_ + ".000000"


def _tuples(model, names: Sequence[str], rows: Sequence[dict], sqlite: bool) -> list:
    """Rows as driver rows (in ``names`` order): JSON columns as text, times as SQLite's text on
    SQLite (one converter per column, chosen once from the column type; cells picked by one
    ``itemgetter`` per row, converted only where a column needs it)."""
    columns = model.__table__.c
    convert = []
    for i, n in enumerate(names):
        kind = type(columns[n].type)
        if issubclass(kind, JSON):
            convert.append((i, _json))
        elif sqlite and issubclass(kind, DateTime):
            convert.append((i, _sqlite_time))
    get = itemgetter(*names)
    if len(names) == 1:
        return [[get(r)] if not convert else [convert[0][1](get(r))] for r in rows]
    if not convert:
        return [get(r) for r in rows]
    out = []
    for r in rows:
        row = list(get(r))
        for i, f in convert:
            row[i] = f(row[i])
        out.append(row)
    return out


def append_rows(session: Session, model, rows: list[dict]) -> None:
    """Append rows that cannot conflict (their event ids were just claimed in ``events``): COPY on
    PostgreSQL, the driver's executemany on SQLite. Datetimes naive UTC; dicts and lists as JSON."""
    if not rows:
        return
    names = list(rows[0])
    table = model.__table__.name
    sqlite = _sqlite(session)
    if sqlite:
        marks = ", ".join("?" for _ in names)
        _driver(session).executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", _tuples(model, names, rows, True))
        return
    with _driver(session).cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in _tuples(model, names, rows, False):
            copy.write_row(row)


def upsert_rows(session: Session, model, rows: Sequence[dict], *, key: str) -> None:
    """Insert rows, replacing every other column of a row whose ``key`` exists (whole-row upsert).

    SQLite: one executemany of ``INSERT ... ON CONFLICT DO UPDATE``. PostgreSQL: COPY into a
    temporary stage shaped like the table, then one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``.
    ``rows`` must not repeat a key.
    """
    if not rows:
        return
    names = list(rows[0])
    table = model.__table__.name
    cols = ", ".join(names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
    if _sqlite(session):
        marks = ", ".join("?" for _ in names)
        _driver(session).executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET {updates}",
            _tuples(model, names, rows, True))
        return
    stage = f"ck_stage_{table}"
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS"))
    with _driver(session).cursor() as cur, cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
        for row in _tuples(model, names, rows, False):
            copy.write_row(row)
    session.execute(text(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} "
                         f"ON CONFLICT ({key}) DO UPDATE SET {updates}"))
    session.execute(text(f"TRUNCATE {stage}"))


def _event_rows(events: list[Any], received: datetime, sqlite: bool) -> Iterator[tuple]:
    if sqlite:
        received = _sqlite_time(received)
    for e in events:
        at = e.occurred_at.replace(tzinfo=None)  # validated events are UTC already
        # The same JSON document as ``to_json_dict`` (field order, no nulls), serialised in Rust.
        payload = e.model_dump_json(exclude_none=True)
        if sqlite:
            yield (e.event_id, e.type, e.city, e.entity_id, _sqlite_time(at), received, e.source, payload)
        else:
            yield (e.event_id, e.type, e.city, e.entity_id, at, received, e.source, payload)


def insert_events(session: Session, events: list[Any], *, received_at: datetime) -> set[str]:
    """Store new events once; returns the ids that were new.

    PostgreSQL: COPY into a temporary stage, then one ``INSERT ... SELECT ... ON CONFLICT DO
    NOTHING RETURNING``. SQLite: look the ids up, then one executemany of the unknown ones; if
    the row count shows a concurrent writer took some, raises ``Raced`` (the caller retries).
    """
    if not events:
        return set()
    received = timeutil.naive_utc(received_at)
    cols = ", ".join(EVENT_COLUMNS)
    if _sqlite(session):
        known: set[str] = set()
        ids = [e.event_id for e in events]
        conn = _driver(session)
        for i in range(0, len(ids), SQLITE_IN):
            part = ids[i : i + SQLITE_IN]
            known.update(r[0] for r in conn.execute(
                f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' for _ in part)})", part))
        fresh = [e for e in events if e.event_id not in known]
        if not fresh:
            return set()
        cur = conn.executemany(f"INSERT OR IGNORE INTO events ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               _event_rows(fresh, received, True))
        if cur.rowcount != len(fresh):
            raise Raced()
        return {e.event_id for e in fresh}
    session.execute(text(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_EVENTS} (event_id text, type text, city text, entity_id text, "
        "occurred_at timestamp, received_at timestamp, source text, payload text) ON COMMIT DELETE ROWS"))
    with _driver(session).cursor() as cur, cur.copy(f"COPY {STAGE_EVENTS} ({cols}) FROM STDIN") as copy:
        for row in _event_rows(events, received, False):
            copy.write_row(row)
    select_cols = ", ".join(f"s.{c}" if c != "payload" else "s.payload::json" for c in EVENT_COLUMNS)
    if not history.ids_claimed(session):
        new = session.execute(text(
            f"INSERT INTO events ({cols}) SELECT {select_cols} FROM {STAGE_EVENTS} s "
            "ON CONFLICT DO NOTHING RETURNING event_id")).scalars().all()
    else:
        # Claim the stage's ids in event_ids in one statement and insert the rows whose claim
        # succeeded, telling the per-row claim trigger (cockpit.store.partitions) it is done:
        # the trigger's per-row insert cost a third of this statement's time.
        session.execute(text("SET LOCAL cockpit.ids_claimed = 'on'"))
        new = session.execute(text(
            f"WITH claimed AS (INSERT INTO event_ids (event_id, occurred_at) "
            f"SELECT event_id, occurred_at FROM {STAGE_EVENTS} ON CONFLICT (event_id) DO NOTHING "
            f"RETURNING event_id, occurred_at) "
            f"INSERT INTO events ({cols}) SELECT DISTINCT ON (s.event_id) {select_cols} FROM {STAGE_EVENTS} s "
            "JOIN claimed c ON c.event_id = s.event_id AND c.occurred_at = s.occurred_at "
            "RETURNING event_id")).scalars().all()
        session.execute(text("SET LOCAL cockpit.ids_claimed = 'off'"))
    session.execute(text(f"TRUNCATE {STAGE_EVENTS}"))
    return set(new)


# --- SQLite: a chunk prepared outside the write lock ------------------------------------------
#
# SQLite has one writer at a time, and a chunk's Python work (rows, call merges, ticket folds)
# used to run inside the write transaction, so two loader processes mostly waited for each other.
# ``prepare_sqlite`` does that work before the transaction, from what is committed; ``write_sqlite``
# then holds the lock only for the driver's executemany calls, after checking that nothing the
# preparation read has changed (else ``Raced``: the caller prepares again).


@dataclass
class SqliteChunk:
    """A chunk's rows, ready for the driver (see ``prepare_sqlite``)."""

    events: list[Any]  # the events believed new, in input order
    event_rows: list[tuple]
    calls: list = field(default_factory=list)
    call_keys: list[tuple[str, str]] = field(default_factory=list)  # (city, call_id) of ``calls``
    seat_changes: list = field(default_factory=list)
    seats: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    refold: list[str] = field(default_factory=list)  # re-folded from all stored steps, under the lock
    stored: dict[str, dict] = field(default_factory=dict)  # ticket rows the folds started from
    touched: list[str] = field(default_factory=list)  # ids of the folded tickets


_SQLITE_SQL: dict[tuple, tuple[str, list[str]]] = {}


def _sqlite_insert(session: Session, model, names: Sequence[str], finish=None) -> tuple[str, list[str]]:
    """``INSERT`` text for the driver and its column order, compiled once per table and shape from the
    same SQLAlchemy statement the per-event path runs (``finish`` adds its ON CONFLICT)."""
    key = (model.__table__.name, tuple(names), finish)
    if key not in _SQLITE_SQL:
        from sqlalchemy.dialects import sqlite as sqlite_dialect

        stmt = sqlite_dialect.insert(model.__table__)
        compiled = (finish(stmt) if finish else stmt).compile(dialect=session.get_bind().dialect,
                                                              column_keys=list(names))
        order = list(compiled.positiontup)
        assert sorted(order) == sorted(names), (order, names)
        _SQLITE_SQL[key] = (str(compiled), order)
    return _SQLITE_SQL[key]


def _prepared(session: Session, model, rows: Sequence[dict], finish=None) -> tuple[str, list] | None:
    if not rows:
        return None
    sql, order = _sqlite_insert(session, model, list(rows[0]), finish)
    return sql, _tuples(model, order, rows, True)


def _known_ids(conn, ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for i in range(0, len(ids), SQLITE_IN):
        part = ids[i : i + SQLITE_IN]
        known.update(r[0] for r in conn.execute(
            f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' for _ in part)})", part))
    return known


def prepare_sqlite(session: Session, events: list[Any], *, received_at: datetime) -> SqliteChunk:
    """Everything a chunk writes, computed from the committed state without taking the write lock:
    which events are new, their rows, the merged calls, seat states, ticket steps and the folded
    ticket rows (tickets needing a full re-fold are left to ``write_sqlite``)."""
    received = timeutil.naive_utc(received_at)
    known = _known_ids(_driver(session), [e.event_id for e in events]) if events else set()
    fresh = [e for e in events if e.event_id not in known]
    chunk = SqliteChunk(events=fresh, event_rows=list(_event_rows(fresh, received, True)))
    calls = [e for e in fresh if e.type.startswith("call.")]
    seats = [e for e in fresh if e.type == "seat.state"]
    steps = [e for e in fresh if e.type.startswith("ticket.")]
    call_rows = history.call_rows(calls)
    chunk.calls = _prepared(session, Call, call_rows, history.calls_upsert)
    chunk.call_keys = [(r["city"], r["call_id"]) for r in call_rows]
    if seats:
        changes, latest = history.seat_rows(seats)
        chunk.seat_changes = _prepared(session, SeatStateChange, changes)
        chunk.seats = _prepared(session, Seat, latest, history.seats_newer_wins)
    if steps:
        rows = history.step_rows(steps)
        chunk.steps = _prepared(session, TicketStep, rows)
        folded, chunk.refold, stored = history.fold_new_steps(session, rows)
        chunk.touched = [f["ticket_id"] for f in folded]
        chunk.stored = {tid: stored[tid] for tid in chunk.touched if tid in stored}
        chunk.tickets = _prepared(session, Ticket, history.ticket_rows(folded),
                                  _whole_row_upsert(Ticket, "ticket_id"))
    return chunk


_UPSERTS: dict[tuple, Any] = {}


def _whole_row_upsert(model, key: str):
    """The ``finish`` of ``upsert_rows``: replace every other column of a row whose ``key`` exists
    (one function per table, so compiled statements are cached)."""
    cache_key = (model.__table__.name, key)
    if cache_key not in _UPSERTS:
        def finish(stmt):
            return stmt.on_conflict_do_update(
                index_elements=[key], set_={c.name: stmt.excluded[c.name] for c in model.__table__.columns
                                            if c.name != key})
        _UPSERTS[cache_key] = finish
    return _UPSERTS[cache_key]


def write_sqlite(session: Session, chunk: SqliteChunk) -> set[str]:
    """Write a prepared chunk in the session's transaction; returns the ids stored.

    Raises ``Raced`` when another writer changed what the preparation read (an event of the chunk
    stored meanwhile, or a folded ticket's row): the caller prepares the chunk again.
    """
    if not chunk.events:
        return set()
    conn = _driver(session)
    cols = ", ".join(EVENT_COLUMNS)
    # The first write takes SQLite's write lock: from here on nothing changes under us.
    cur = conn.executemany(f"INSERT OR IGNORE INTO events ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           chunk.event_rows)
    if cur.rowcount != len(chunk.event_rows):
        raise Raced()
    if chunk.touched:
        now = history.stored_tickets(session, chunk.touched)
        if now != chunk.stored:
            raise Raced()
    rewritten = chunk.touched + list(chunk.refold)
    if rewritten:  # before the rows are rewritten (and leave their frozen cohorts and their days)
        cohorts.mark_dirty(session, rewritten)
        days.tickets_changed(session, rewritten, -1)
    if chunk.call_keys:
        days.calls_changed(session, chunk.call_keys, -1)
    for part in (chunk.calls, chunk.seat_changes, chunk.seats, chunk.steps, chunk.tickets):
        if part:
            conn.executemany(*part)
    if chunk.refold:
        history.refold_tickets(session, chunk.refold, upsert=upsert_rows)
    if chunk.call_keys:
        days.calls_changed(session, chunk.call_keys, +1)
    if rewritten:
        days.tickets_changed(session, rewritten, +1)
    return {e.event_id for e in chunk.events}
