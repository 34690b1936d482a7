"""The SQL of the columnar history path (``cockpit.bulk_columnar``): PostgreSQL only.

A chunk arrives as four tab-separated COPY buffers built from numpy columns (events with their
JSON payload, call rows, seat changes, ticket steps). Each is copied into a temporary stage;
then, in the same transaction:

1. the stage's event ids are claimed in ``event_ids`` in one ``INSERT ... ON CONFLICT DO NOTHING``
   (the idempotency of every write path: an id is stored once, whatever month its event is in);
2. when every id was new, the rows move set-based: ``events`` (the claim trigger told it is done),
   ``calls`` (merged like ``history.upsert_calls``), ``seat_state_changes``, ``seats`` (newest
   wins), ``ticket_steps``, and ``tickets`` folded in SQL from their steps (``fold_sql``, the SQL
   twin of ``history.fold_ticket``: new tickets from the staged steps, known ones from all of
   their stored steps);
3. when only some ids were new (a re-run over part of a load), the claims are rolled back and
   the caller loads that chunk through the general bulk path; when none was new, nothing is written.

Functions take a session first and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from cockpit.store.history import STEP_ORDER, TICKET_LOCK_KEY

STAGES = {
    "events": "ck_col_events (event_id text, type text, city text, entity_id text, occurred_at timestamp, "
              "payload text)",
    "calls": "ck_col_calls (city text, call_id text, channel text, offered_at timestamp, answered_at timestamp, "
             "abandoned_at timestamp, ended_at timestamp, queued_at timestamp, seat_id text, wait_s float8, "
             "talk_s float8, hold_s float8, acw_s float8)",
    "seat_changes": "ck_col_seat_changes (event_id text, city text, seat_id text, state text, reason text, "
                    "occurred_at timestamp)",
    "steps": "ck_col_steps (ticket_id text, event_id text, city text, type text, occurred_at timestamp, "
             "unit text, detail text)",
}
CALL_COLUMNS = ("channel", "offered_at", "answered_at", "abandoned_at", "ended_at", "queued_at",
                "seat_id", "wait_s", "talk_s", "hold_s", "acw_s")
_ORD = "CASE type " + " ".join(f"WHEN '{t}' THEN {n}" for t, n in STEP_ORDER.items()) + " ELSE 99 END"
_LAST = 'occurred_at DESC, ord DESC, event_id COLLATE "C" DESC'  # history.fold_ticket's order, reversed
_FIRST = 'occurred_at, ord, event_id COLLATE "C"'


def _last(expr: str, types: tuple[str, ...] | None = None, order: str = _LAST) -> str:
    where = "" if types is None else " FILTER (WHERE type IN (" + ", ".join(f"'ticket.{t}'" for t in types) + "))"
    return f"(array_agg({expr} ORDER BY {order}){where})[1]"


def fold_sql(source: str) -> str:
    """SELECT of ``tickets`` rows folded from ``source`` (a relation of ticket_id, event_id, city, type,
    occurred_at, unit, d jsonb): ``history.fold_ticket`` of every ticket in it, in one GROUP BY."""
    status_types = ("dispatched", "returned", "transferred", "responded", "closed", "reopened")
    other_types = ("dispatched", "returned", "transferred", "closed", "reopened")
    created = ("created",)
    first_dispatch = lambda expr: _last(expr, ("dispatched",), _FIRST)  # noqa: E731
    return f"""
SELECT ticket_id,
  {_last("city")} AS city,
  {_last("d->>'district'", created)} AS district,
  NULL AS located_district,
  ({_last("d->>'lat'", created)})::float8 AS lat,
  ({_last("d->>'lon'", created)})::float8 AS lon,
  {_last("d->'category'->>0", created)} AS category,
  ({_last("coalesce(d->'category', '[]'::jsonb)", created)})::json AS category_path,
  {_last("d->>'channel'", created)} AS channel,
  {_last("d->>'urgency'", created)} AS urgency,
  {_last("d->>'text'", created)} AS text,
  {_last("d->>'caller'", created)} AS caller,
  {_last("d->>'address'", created)} AS address,
  {_last("d->>'call_id'", created)} AS call_id,
  CASE WHEN {_last("type", status_types)} IS NULL THEN 'created'
       WHEN {_last("type", status_types)} = 'ticket.responded' THEN
            CASE WHEN {_last("type", other_types)} = 'ticket.closed' THEN 'closed' ELSE 'responded' END
       WHEN {_last("type", status_types)} = 'ticket.transferred' THEN 'dispatched'
       ELSE substr({_last("type", status_types)}, 8) END AS status,
  {_last("unit", ("dispatched", "transferred", "closed"))} AS unit,
  {_last("occurred_at", created)} AS created_at,
  ({_last("d->>'due_at'", created)})::timestamptz AT TIME ZONE 'UTC' AS due_at,
  {first_dispatch("occurred_at")} AS first_dispatched_at,
  {first_dispatch("coalesce((d->>'auto')::boolean, false)")} AS auto_dispatched,
  ({first_dispatch("d->>'confidence'")})::float8 AS dispatch_confidence,
  min(occurred_at) FILTER (WHERE type = 'ticket.responded') AS responded_at,
  {_last("occurred_at", ("closed",))} AS closed_at,
  coalesce({_last("coalesce((d->>'no_callback')::boolean, false)", ("closed",))}, false) AS no_callback,
  count(*) FILTER (WHERE type = 'ticket.returned') AS returns,
  count(*) FILTER (WHERE type = 'ticket.transferred') AS transfers,
  count(*) FILTER (WHERE type = 'ticket.reopened') AS reopens,
  {_last("occurred_at", ("callback",))} AS callback_at,
  {_last("d->>'resolved'", ("callback",))} AS callback_resolved,
  {_last("d->>'satisfaction'", ("callback",))} AS satisfaction,
  {_last("occurred_at")} AS updated_at
FROM (SELECT *, {_ORD} AS ord FROM {source}) s
GROUP BY ticket_id
"""


TICKET_COLUMNS = ("ticket_id, city, district, located_district, lat, lon, category, category_path, channel, "
                  "urgency, text, caller, address, call_id, status, unit, created_at, due_at, first_dispatched_at, "
                  "auto_dispatched, dispatch_confidence, responded_at, closed_at, no_callback, returns, transfers, "
                  "reopens, callback_at, callback_resolved, satisfaction, updated_at")


def _driver(session: Session):
    return session.connection().connection.driver_connection


def stage(session: Session, buffers: dict[str, str]) -> None:
    """Create the temporary stages (once per connection) and COPY each buffer into its stage."""
    conn = _driver(session)
    with conn.cursor() as cur:
        for name, ddl in STAGES.items():
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {ddl} ON COMMIT DELETE ROWS")
            data = buffers.get(name)
            if data:
                table = ddl.split(" ", 1)[0]
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data)


def claim(session: Session) -> int:
    """Claim the staged event ids; returns how many were new (the rest were stored before)."""
    return int(session.execute(text(
        "WITH c AS (INSERT INTO event_ids (event_id, occurred_at) SELECT event_id, occurred_at FROM ck_col_events "
        "ON CONFLICT (event_id) DO NOTHING RETURNING 1) SELECT count(*) FROM c")).scalar_one())


def move(session: Session, *, received_at: datetime, source: str = "sim") -> None:
    """Move every staged row into the tables (all staged ids were just claimed as new)."""
    run = lambda sql, **p: session.execute(text(sql), p)  # noqa: E731
    run("SET LOCAL cockpit.ids_claimed = 'on'")
    run("INSERT INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, payload) "
        "SELECT event_id, type, city, entity_id, occurred_at, :received, :source, payload::json FROM ck_col_events",
        received=received_at, source=source)
    run("SET LOCAL cockpit.ids_claimed = 'off'")
    cols = ", ".join(("city", "call_id") + CALL_COLUMNS)
    merge = ", ".join(f"{c} = coalesce(calls.{c}, excluded.{c})" for c in CALL_COLUMNS if c != "queued_at")
    # history.upsert_calls' rule: a queue time derived from an outcome beats the offer time
    run(f"INSERT INTO calls ({cols}) SELECT {cols} FROM ck_col_calls ON CONFLICT (city, call_id) DO UPDATE SET "
        f"{merge}, queued_at = CASE WHEN calls.answered_at IS NOT NULL OR calls.abandoned_at IS NOT NULL "
        "THEN calls.queued_at WHEN excluded.answered_at IS NOT NULL OR excluded.abandoned_at IS NOT NULL "
        "THEN excluded.queued_at ELSE coalesce(calls.queued_at, excluded.queued_at) END")
    run("INSERT INTO seat_state_changes (event_id, city, seat_id, state, reason, occurred_at) "
        "SELECT event_id, city, seat_id, state, reason, occurred_at FROM ck_col_seat_changes")
    run("INSERT INTO seats (city, seat_id, state, reason, since, event_id) "
        "SELECT DISTINCT ON (city, seat_id) city, seat_id, state, reason, occurred_at, event_id "
        'FROM ck_col_seat_changes ORDER BY city, seat_id, occurred_at DESC, event_id COLLATE "C" DESC '
        "ON CONFLICT (city, seat_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
        "since = excluded.since, event_id = excluded.event_id "
        "WHERE (excluded.since, excluded.event_id) > (seats.since, seats.event_id)")
    run("INSERT INTO ticket_steps (ticket_id, event_id, city, type, occurred_at, unit, detail) "
        "SELECT ticket_id, event_id, city, type, occurred_at, unit, detail::json FROM ck_col_steps")
    # Serialised with the other writers' folds (history.insert_ticket_steps).
    run("SELECT pg_advisory_xact_lock(:k)", k=TICKET_LOCK_KEY)
    known = ("SELECT DISTINCT s.ticket_id FROM ck_col_steps s JOIN tickets t ON t.ticket_id = s.ticket_id")
    source = (
        "(SELECT ticket_id, event_id, city, type, occurred_at, unit, detail::jsonb AS d FROM ck_col_steps s "
        " WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = s.ticket_id) "
        " UNION ALL "
        " SELECT ticket_id, event_id, city, type, occurred_at, unit, detail::jsonb FROM ticket_steps "
        f" WHERE ticket_id IN ({known})) src")
    updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS.split(", ") if c != "ticket_id")
    run(f"INSERT INTO tickets ({TICKET_COLUMNS}) {fold_sql(source)} ON CONFLICT (ticket_id) DO UPDATE SET {updates}")


def clear(session: Session) -> None:
    for ddl in STAGES.values():
        session.execute(text(f"TRUNCATE {ddl.split(' ', 1)[0]}"))


def refold(session: Session, ticket_ids: list[str]) -> None:
    """Recompute these tickets' rows from all of their stored steps with ``fold_sql`` (tests compare it
    with ``history.fold_ticket``)."""
    source = ("(SELECT ticket_id, event_id, city, type, occurred_at, unit, detail::jsonb AS d FROM ticket_steps "
              "WHERE ticket_id = ANY(:ids)) src")
    updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS.split(", ") if c != "ticket_id")
    session.execute(text(f"INSERT INTO tickets ({TICKET_COLUMNS}) {fold_sql(source)} "
                         f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"), {"ids": list(ticket_ids)})
