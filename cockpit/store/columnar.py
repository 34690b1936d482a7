"""The SQL of the columnar history path (``cockpit.bulk_columnar``): PostgreSQL only.

A chunk arrives as five tab-separated COPY buffers built from numpy columns (event ids, events
with their JSON payload, call rows, seat changes, ticket steps). All but the events are copied
into temporary stages; then, in the same transaction:

1. the staged event ids are claimed in ``event_ids`` in one ``INSERT ... ON CONFLICT DO NOTHING``
   (the idempotency of every write path: an id is stored once, whatever month its event is in);
2. when every id was new, the events are copied straight into ``events`` (the claim trigger told
   it is done) and the staged rows move set-based:
   ``calls`` (merged like ``history.upsert_calls``), ``seat_state_changes``, ``seats`` (newest
   wins), ``ticket_steps``, and ``tickets`` folded in SQL from their steps (``fold_sql``, the SQL
   twin of ``history.fold_ticket``: new tickets from the staged steps, known ones from all of
   their stored steps);
3. when only some ids were new (a re-run over part of a load), the claims are rolled back and
   the caller loads that chunk through the general bulk path; when none was new, nothing is written.

Functions take a session first and never commit.
"""

from __future__ import annotations

from sqlalchemy import String, text
from sqlalchemy.orm import Session

from cockpit.store import days
from cockpit.store.history import STEP_ORDER, TICKET_LOCK_KEY

EVENT_COLUMNS = "event_id, type, city, entity_id, occurred_at, payload, received_at, source"
STAGES = {
    "ids": "ck_col_ids (event_id text, occurred_at timestamp)",
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
def _types(*names: str) -> str:
    return "type IN (" + ", ".join(f"'ticket.{t}'" for t in names) + ")"


def fold_sql(source: str) -> str:
    """SELECT of ``tickets`` rows folded from ``source`` (a relation of ticket_id, event_id, city, type,
    occurred_at, unit, detail json or text): ``history.fold_ticket`` of every ticket in it.

    One sort: every aggregate runs over the same window (a ticket's steps in fold order), the
    filtered ones collect arrays whose last (or first) element is the fold's value, and DISTINCT ON
    keeps one row per ticket. Only the steps whose detail the fold reads are parsed as JSON.
    """
    status = _types("dispatched", "returned", "transferred", "responded", "closed", "reopened")
    other = _types("dispatched", "returned", "transferred", "closed", "reopened")
    unit = _types("dispatched", "transferred", "closed")
    last = lambda a: f"{a}[array_upper({a}, 1)]"  # noqa: E731
    return f"""
SELECT ticket_id, {last("a_city")} AS city,
  {last("a_created")}->>'district' AS district,
  NULL AS located_district,
  ({last("a_created")}->>'lat')::float8 AS lat,
  ({last("a_created")}->>'lon')::float8 AS lon,
  {last("a_created")}->'category'->>0 AS category,
  CASE WHEN a_created IS NOT NULL THEN coalesce({last("a_created")}->'category', '[]'::jsonb)::json END
    AS category_path,
  {last("a_created")}->>'channel' AS channel,
  {last("a_created")}->>'urgency' AS urgency,
  {last("a_created")}->>'text' AS text,
  {last("a_created")}->>'caller' AS caller,
  {last("a_created")}->>'address' AS address,
  {last("a_created")}->>'call_id' AS call_id,
  CASE WHEN a_status IS NULL THEN 'created'
       WHEN {last("a_status")} = 'ticket.responded' THEN
            CASE WHEN {last("a_other")} = 'ticket.closed' THEN 'closed' ELSE 'responded' END
       WHEN {last("a_status")} = 'ticket.transferred' THEN 'dispatched'
       ELSE substr({last("a_status")}, 8) END AS status,
  {last("a_unit")} AS unit,
  {last("a_created_at")} AS created_at,
  ({last("a_created")}->>'due_at')::timestamptz AT TIME ZONE 'UTC' AS due_at,
  first_dispatched_at,
  CASE WHEN a_dispatched IS NOT NULL THEN coalesce((a_dispatched[1]->>'auto')::boolean, false) END
    AS auto_dispatched,
  (a_dispatched[1]->>'confidence')::float8 AS dispatch_confidence,
  responded_at, closed_at,
  coalesce(({last("a_closed")}->>'no_callback')::boolean, false) AS no_callback,
  returns, transfers, reopens, callback_at,
  {last("a_callback")}->>'resolved' AS callback_resolved,
  {last("a_callback")}->>'satisfaction' AS satisfaction,
  updated_at, first_step_at
FROM (
  SELECT DISTINCT ON (ticket_id) ticket_id,
    array_agg(city) OVER w AS a_city,
    array_agg(d) FILTER (WHERE type = 'ticket.created') OVER w AS a_created,
    array_agg(occurred_at) FILTER (WHERE type = 'ticket.created') OVER w AS a_created_at,
    array_agg(type) FILTER (WHERE {status}) OVER w AS a_status,
    array_agg(type) FILTER (WHERE {other}) OVER w AS a_other,
    array_agg(unit) FILTER (WHERE {unit}) OVER w AS a_unit,
    array_agg(d) FILTER (WHERE type = 'ticket.dispatched') OVER w AS a_dispatched,
    min(occurred_at) FILTER (WHERE type = 'ticket.dispatched') OVER w AS first_dispatched_at,
    min(occurred_at) FILTER (WHERE type = 'ticket.responded') OVER w AS responded_at,
    array_agg(d) FILTER (WHERE type = 'ticket.closed') OVER w AS a_closed,
    max(occurred_at) FILTER (WHERE type = 'ticket.closed') OVER w AS closed_at,
    array_agg(d) FILTER (WHERE type = 'ticket.callback') OVER w AS a_callback,
    max(occurred_at) FILTER (WHERE type = 'ticket.callback') OVER w AS callback_at,
    count(*) FILTER (WHERE type = 'ticket.returned') OVER w AS returns,
    count(*) FILTER (WHERE type = 'ticket.transferred') OVER w AS transfers,
    count(*) FILTER (WHERE type = 'ticket.reopened') OVER w AS reopens,
    max(occurred_at) OVER w AS updated_at,
    min(occurred_at) OVER w AS first_step_at
  FROM (SELECT ticket_id, event_id, city, type, occurred_at, unit, {_ORD} AS ord,
               CASE WHEN {_types("created", "dispatched", "closed", "callback")} THEN detail::jsonb END AS d
        FROM {source}) s
  WINDOW w AS (PARTITION BY ticket_id ORDER BY occurred_at, ord, event_id COLLATE "C"
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ORDER BY ticket_id
) f
"""


TICKET_COLUMNS = ("ticket_id, city, district, located_district, lat, lon, category, category_path, channel, "
                  "urgency, text, caller, address, call_id, status, unit, created_at, due_at, first_dispatched_at, "
                  "auto_dispatched, dispatch_confidence, responded_at, closed_at, no_callback, returns, transfers, "
                  "reopens, callback_at, callback_resolved, satisfaction, updated_at, first_step_at")
# A rewritten ticket leaves its frozen cohort (``store.cohorts``); the days that counted it are
# marked dirty first (MARK_DIRTY), under the fold lock.
FOLD_UPDATES = ", ".join([f"{c} = excluded.{c}" for c in TICKET_COLUMNS.split(", ") if c != "ticket_id"]
                         + ["cohort_frozen = false"])
MARK_DIRTY = ("UPDATE ticket_cohort_days d SET dirty = true FROM (SELECT DISTINCT t.city, t.created_at FROM tickets t "
              "WHERE t.cohort_frozen AND t.ticket_id IN ({ids})) f "
              "WHERE d.city = f.city AND f.created_at >= d.day_start AND f.created_at < d.day_end")


def _driver(session: Session):
    return session.connection().connection.driver_connection


def stage(session: Session, buffers: dict[str, str]) -> None:
    """Create the temporary stages (once per connection) and COPY each buffer but the events' into
    its stage (events go straight into ``events`` once their ids are claimed: ``move``)."""
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
        "WITH c AS (INSERT INTO event_ids (event_id, occurred_at) SELECT event_id, occurred_at FROM ck_col_ids "
        "ON CONFLICT (event_id) DO NOTHING RETURNING 1) SELECT count(*) FROM c")).scalar_one())


def move(session: Session, events: str) -> None:
    """Write the chunk: ``events`` (COPY text of EVENT_COLUMNS) straight into ``events``, the staged
    rows into the other tables (every staged id was just claimed as new)."""
    run = lambda sql, **p: session.execute(text(sql), p)  # noqa: E731
    run("SET LOCAL cockpit.ids_claimed = 'on'")  # the claim trigger's work is done (``claim``)
    with _driver(session).cursor() as cur, cur.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as copy:
        copy.write(events)
    run("SET LOCAL cockpit.ids_claimed = 'off'")
    call_keys = text("SELECT city, call_id FROM ck_col_calls").columns(city=String, call_id=String)
    days.calls_changed(session, call_keys, -1)
    cols = ", ".join(("city", "call_id") + CALL_COLUMNS)
    merge = ", ".join(f"{c} = coalesce(calls.{c}, excluded.{c})" for c in CALL_COLUMNS if c != "queued_at")
    # history.upsert_calls' rule: a queue time derived from an outcome beats the offer time
    run(f"INSERT INTO calls ({cols}) SELECT {cols} FROM ck_col_calls ON CONFLICT (city, call_id) DO UPDATE SET "
        f"{merge}, queued_at = CASE WHEN calls.answered_at IS NOT NULL OR calls.abandoned_at IS NOT NULL "
        "THEN calls.queued_at WHEN excluded.answered_at IS NOT NULL OR excluded.abandoned_at IS NOT NULL "
        "THEN excluded.queued_at ELSE coalesce(calls.queued_at, excluded.queued_at) END")
    days.calls_changed(session, call_keys, +1)
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
    # The chunk's tickets that have a row already (steps stored before): one index probe per
    # ticket, not a scan of ``tickets`` per chunk.
    run("CREATE TEMP TABLE IF NOT EXISTS ck_col_known (ticket_id text) ON COMMIT DELETE ROWS")
    run("INSERT INTO ck_col_known SELECT t.ticket_id FROM (SELECT DISTINCT ticket_id FROM ck_col_steps) s "
        "JOIN tickets t ON t.ticket_id = s.ticket_id")
    run(MARK_DIRTY.format(ids="SELECT ticket_id FROM ck_col_known"))
    days.tickets_changed(session, text("SELECT ticket_id FROM ck_col_known").columns(ticket_id=String), -1)
    known = ("(SELECT ticket_id, event_id, city, type, occurred_at, unit, detail FROM ticket_steps "
             "WHERE ticket_id IN (SELECT ticket_id FROM ck_col_known)) src")
    run(f"INSERT INTO tickets ({TICKET_COLUMNS}) {fold_sql(known)} ON CONFLICT (ticket_id) DO UPDATE SET {FOLD_UPDATES}")
    # The others have all their steps in this chunk: folded from the stage, inserted without
    # ON CONFLICT (the advisory lock keeps any other folding writer out until the commit).
    new = ("(SELECT ticket_id, event_id, city, type, occurred_at, unit, detail FROM ck_col_steps s "
           "WHERE NOT EXISTS (SELECT 1 FROM ck_col_known k WHERE k.ticket_id = s.ticket_id)) src")
    run(f"INSERT INTO tickets ({TICKET_COLUMNS}) {fold_sql(new)}")
    days.tickets_changed(session, text("SELECT DISTINCT ticket_id FROM ck_col_steps").columns(ticket_id=String), +1)


def clear(session: Session) -> None:
    for ddl in STAGES.values():
        session.execute(text(f"TRUNCATE {ddl.split(' ', 1)[0]}"))


def refold(session: Session, ticket_ids: list[str]) -> None:
    """Recompute these tickets' rows from all of their stored steps with ``fold_sql`` (tests compare it
    with ``history.fold_ticket``)."""
    source = ("(SELECT ticket_id, event_id, city, type, occurred_at, unit, detail FROM ticket_steps "
              "WHERE ticket_id = ANY(:ids)) src")
    session.execute(text(MARK_DIRTY.format(ids="SELECT unnest(CAST(:ids AS text[]))")), {"ids": list(ticket_ids)})
    days.tickets_changed(session, list(ticket_ids), -1)
    session.execute(text(f"INSERT INTO tickets ({TICKET_COLUMNS}) {fold_sql(source)} "
                         f"ON CONFLICT (ticket_id) DO UPDATE SET {FOLD_UPDATES}"), {"ids": list(ticket_ids)})
    days.tickets_changed(session, list(ticket_ids), +1)
