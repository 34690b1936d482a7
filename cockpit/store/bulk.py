"""The SQL of the bulk path (``cockpit.bulk``): COPY on PostgreSQL, the driver's executemany on SQLite.

These bypass the ORM's per-row parameter processing, which costs more than the database's own
work at history volumes. Functions take a session first and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, DateTime, text
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.store import history

STAGE_EVENTS = "ck_stage_events"
EVENT_COLUMNS = ("event_id", "type", "city", "entity_id", "occurred_at", "received_at", "source", "payload")
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
SQLITE_IN = 900  # ids per IN (...) list (SQLite allows 999 parameters by default)


class Raced(Exception):
    """Another writer stored some of this chunk's events between our look-up and our insert."""


def _driver(session: Session):
    return session.connection().connection.driver_connection


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _json(value: Any) -> str | None:
    return None if value is None else to_json(value).decode()  # compact, UTF-8 kept (pydantic's serialiser)


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime(SQLITE_TS)


def _tuples(model, names: list[str], rows: Sequence[dict], sqlite: bool) -> list[tuple]:
    """Rows as driver tuples: JSON columns as text, times as SQLite's text on SQLite (one converter
    per column, chosen once from the column type, instead of a type test per cell)."""
    columns = model.__table__.c
    convert = []
    for n in names:
        kind = type(columns[n].type)
        if issubclass(kind, JSON):
            convert.append(_json)
        elif sqlite and issubclass(kind, DateTime):
            convert.append(_sqlite_time)
        else:
            convert.append(None)
    if not any(convert):
        return [tuple(r[n] for n in names) for r in rows]
    pairs = list(zip(names, convert))
    return [tuple(r[n] if f is None else f(r[n]) for n, f in pairs) for r in rows]


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
    for e in events:
        at = e.occurred_at.replace(tzinfo=None)  # validated events are UTC already
        # The same JSON document as ``to_json_dict`` (field order, no nulls), serialised in Rust.
        payload = e.model_dump_json(exclude_none=True)
        if sqlite:
            yield (e.event_id, e.type, e.city, e.entity_id, at.strftime(SQLITE_TS), received.strftime(SQLITE_TS),
                   e.source, payload)
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
