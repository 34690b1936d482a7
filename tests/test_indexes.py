"""Every index of the big tables earns its write cost: the queries the screens, the API and ingestion
run use them. A database of its own is filled (set-based SQL: a year of tickets, calls and events in
time order over fourteen cities, partitioned by month as in production), the application's
own functions run, every SQL statement they send is captured and EXPLAINed with its parameters, and
the plan must reach the big tables through the expected index, never by a sequential scan.
docs/scaling.md lists the indexes and these plans."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text

from cockpit import events as ev
from cockpit.metrics import kpi
from cockpit.settings import Settings
from cockpit.store import flags, history, partitions, tickets
from cockpit.store.db import Stores, make_engine
from cockpit.store.models import Base
from cockpit.views import drill
from cockpit.watch import inbox as alert_inbox
from geo.regions import load_default_regions
from tests.services import PG_URL, SKIP_PG

pytestmark = pytest.mark.skipif(SKIP_PG, reason="PostgreSQL half switched off")

NOW = datetime(2026, 11, 30, 4, 0)  # naive UTC, as stored
NOV = (datetime(2026, 10, 31, 16, 0), datetime(2026, 11, 30, 16, 0))  # November in Asia/Shanghai, as UTC
# The history tables; alerts are kept a bounded time (watch.evaluate.prune_all), so a scan of them
# is no growth risk, though the inbox must still use its index (test_idx006).
BIG = {"events", "event_ids", "ticket_steps", "seat_state_changes", "calls", "tickets", "call_rollups_15m",
       "ticket_rollups_15m"}

FILL = """
INSERT INTO tickets (ticket_id, city, district, category, status, unit, created_at, due_at, closed_at,
                     no_callback, returns, transfers, reopens, address, caller, updated_at)
SELECT 'T' || g, c.code, d.code, (ARRAY['城乡建设','交通运输','市场监管','社会保障'])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN 'dispatched' ELSE 'closed' END, 'unit-' || (g % 40),
       t, t + interval '5 days', CASE WHEN g % 5 = 0 THEN NULL ELSE t + interval '1 day' END,
       false, 0, 0, 0, 'addr ' || (g % 5000), 'caller-' || (g % 20000), t
FROM generate_series(1, :n_tickets) g
CROSS JOIN LATERAL (SELECT timestamp '2025-12-01' + (g::float8 / :n_tickets * 365) * interval '1 day' AS t) tt
JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM regions WHERE level = 'city') c
  ON c.k = g % 14
LEFT JOIN LATERAL (SELECT code FROM regions WHERE parent = c.code ORDER BY code
                   OFFSET (g / 14) % 5 LIMIT 1) d ON true;

INSERT INTO ticket_steps (ticket_id, event_id, city, type, occurred_at, unit, detail)
SELECT ticket_id, ticket_id || ':' || s, city, (ARRAY['ticket.created','ticket.dispatched','ticket.closed'])[s],
       created_at + (s - 1) * interval '3 hours', unit, '{}'
FROM tickets, generate_series(1, 3) s ORDER BY created_at, s;

INSERT INTO calls (city, call_id, channel, offered_at, answered_at, queued_at, wait_s, talk_s)
SELECT c.code, 'c' || g, 'phone', t, t + interval '9 seconds', t, 9, 120
FROM generate_series(1, :n_calls) g
CROSS JOIN LATERAL (SELECT timestamp '2025-12-01' + (g::float8 / :n_calls * 365) * interval '1 day' AS t) tt
JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM regions WHERE level = 'city') c
  ON c.k = g % 14;

INSERT INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, payload)
SELECT 'ev-' || g, 'call.offered', '620100', 'c' || g, t, t, 'fill', '{}'
FROM generate_series(1, :n_events) g
CROSS JOIN LATERAL (SELECT timestamp '2025-12-01' + (g::float8 / :n_events * 365) * interval '1 day' AS t) tt;

INSERT INTO seat_state_changes (event_id, city, seat_id, state, reason, occurred_at)
SELECT 'seat-' || g, c.code, 's' || (g / 14 % 40), (ARRAY['ready','on_call','acw','not_ready'])[1 + g % 4], NULL, t
FROM generate_series(1, :n_seats) g
CROSS JOIN LATERAL (SELECT timestamp '2025-12-01' + (g::float8 / :n_seats * 365) * interval '1 day' AS t) tt
JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM regions WHERE level = 'city') c
  ON c.k = g % 14;

INSERT INTO call_rollups_15m (city, interval_start, offered, answered, abandoned, short_abandoned,
                              answered_within_sl, wait_answered_sum_s, ended, handle_sum_s, sl_threshold_s)
SELECT city, date_bin('15 minutes', queued_at, timestamp '2026-01-01'), count(*), count(*), 0, 0, count(*),
       sum(wait_s), count(*), sum(talk_s), 15
FROM calls GROUP BY 1, 2;

INSERT INTO ticket_rollups_15m (city, district, category, subcategory, interval_start, created)
SELECT city, coalesce(district, ''), category, '', date_bin('15 minutes', created_at, timestamp '2026-01-01'),
       count(*)
FROM tickets GROUP BY 1, 2, 3, 5;

INSERT INTO job_runs (name, last_done, updated_at) VALUES
    ('rollup_15m:from', timestamp '2025-12-01', now()), ('rollup_15m:to', timestamp '2026-11-30 03:45', now());

INSERT INTO alerts (rule, key, city, district, severity, state, title, detail, first_seen, fired_at,
                    resolved_at, updated_at, open_key)
SELECT 'overdue', 'T' || g, t.city, t.district, (ARRAY['critical','major','minor'])[1 + g % 3],
       CASE WHEN g % 50 = 0 THEN 'firing' ELSE 'resolved' END, 'overdue', '{}', t.created_at, t.created_at,
       CASE WHEN g % 50 = 0 THEN NULL ELSE t.created_at + interval '1 day' END, t.created_at,
       CASE WHEN g % 50 = 0 THEN 'overdue|T' || g END
FROM generate_series(1, :n_alerts) g JOIN tickets t ON t.ticket_id = 'T' || g;
"""
SIZES = {"n_tickets": 120_000, "n_calls": 300_000, "n_events": 200_000, "n_alerts": 30_000, "n_seats": 150_000}


@pytest.fixture(scope="module")
def filled() -> Iterator[Stores]:
    name = f"cockpit_idx_{uuid.uuid4().hex[:8]}"
    base = PG_URL.rsplit("/", 1)[0]
    admin = make_engine(base + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    stores = Stores.open(Settings(database_url=f"{base}/{name}", redis_url="redis://127.0.0.1:6379/0",
                                  mode="development"), redis_client=object())
    try:
        with stores.engine.begin() as conn:
            Base.metadata.create_all(conn)
        with stores.session() as session:
            load_default_regions(session)
            for statement in FILL.split(";\n\n"):
                session.execute(text(statement), {k: v for k, v in SIZES.items() if f":{k}" in statement})
        with stores.engine.begin() as conn:  # the year's rows went to the default partition: give them months
            partitions.ensure_partitions(conn, now=NOW)
        with stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        yield stores
    finally:
        stores.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def captured(stores: Stores) -> Iterator[list[tuple[str, object]]]:
    """Every statement (with its parameters) the engine sends while the block runs."""
    seen: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany:
            seen.append((statement, parameters))

    event.listen(stores.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(stores.engine, "before_cursor_execute", grab)


def _parents(stores: Stores) -> dict[str, str]:
    """Index name -> the partitioned parent index it belongs to (itself when not a partition's)."""
    with stores.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE c.relkind = 'i'")).all()
    return dict(rows)


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _table(relation: str) -> str:
    for big in sorted(BIG, key=len, reverse=True):
        if relation == big or relation.startswith(big + "_p") or relation == big + "_default":
            return big
    return relation


TINY = 1000  # rows: a sequential scan of an empty or nearly empty partition is the right plan


def _rows(stores: Stores) -> dict[str, float]:
    with stores.engine.connect() as conn:
        return dict(conn.execute(text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")).all())


def explain(stores: Stores, statements: list[tuple[str, object]]) -> tuple[set[str], list[str]]:
    """(indexes used, sequential scans of big tables) over the plans of ``statements``."""
    parents, rows = _parents(stores), _rows(stores)
    used, seq = set(), []
    raw = stores.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            for statement, parameters in statements:
                head = statement.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
                    continue
                cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                plan = cur.fetchone()[0][0]["Plan"]
                for node in _nodes(plan):
                    if "Index Name" in node:
                        used.add(parents.get(node["Index Name"], node["Index Name"]))
                    relation = node.get("Relation Name", "")
                    if (node["Node Type"] == "Seq Scan" and _table(relation) in BIG
                            and rows.get(relation, 0) >= TINY):
                        seq.append(f"{relation}: {statement}")
                for arbiter in plan.get("Conflict Arbiter Indexes", []):
                    used.add(arbiter)
        raw.rollback()
    finally:
        raw.close()
    return used, seq


def _check(stores: Stores, run, expected: set[str]) -> None:
    with captured(stores) as statements:
        with stores.session() as session:
            run(session)
            session.rollback()
    used, seq = explain(stores, statements)
    print(f"indexes used: {sorted(used)}")  # docs/scaling.md lists these (pytest -s)
    assert seq == [], seq
    assert expected <= used, (expected - used, used)


def test_idx001_kpi_city_month_reads_rollups_by_city_and_interval(filled):
    _check(filled, lambda s: kpi.kpi(s, scope="620100", start=NOV[0], end=NOV[1], settings=filled.settings, now=NOW),
           {"pk_call_rollups_15m", "ix_seat_state_changes_city_seat_occurred", "ix_tickets_city_status_due",
            "ix_calls_long_city_queued"})


def test_idx002_league_table_of_districts_and_of_cities(filled):
    def run(session):
        kpi.rankings(session, scope="620100", level="district", start=NOV[0], end=NOV[1], settings=filled.settings,
                     now=NOW)
        kpi.rankings(session, scope="620000", level="city", start=NOV[0], end=NOV[1], settings=filled.settings,
                     now=NOW)

    _check(filled, run, {"ix_tickets_created", "pk_call_rollups_15m"})


def test_idx003_drill_down_first_page_newest_first(filled):
    def run(session):
        drill.tickets_page(session, tickets.TicketFilter(city="620100"), start_row=0, end_row=100,
                           settings=filled.settings, now=NOW)
        drill.tickets_page(session, tickets.TicketFilter(city="620100", district="620102"), start_row=0,
                           end_row=100, settings=filled.settings, now=NOW)

    _check(filled, run, {"ix_tickets_city_created", "ix_tickets_city_district_created"})


def test_idx004_ticket_timeline_by_ticket_id_in_every_month(filled):
    def run(session):
        tickets.get(session, "T4242")
        tickets.steps(session, "T4242")

    _check(filled, run, {"pk_tickets", "ix_ticket_steps_ticket_occurred"})


def test_idx005_ingest_dedupe_looks_ids_up_and_claims_them_once(filled):
    batch = [ev.validate({"event_id": f"ev-{i}", "type": "call.offered", "occurred_at": "2026-11-02T01:00:00+00:00",
                          "city": "620100", "call_id": f"x{i}"})[0] for i in range(1, 400)]

    def run(session):
        history.insert_events(session, batch, received_at=datetime.now(UTC))
        assert len(history.stored_payloads(session, [e.event_id for e in batch])) == len(batch)  # a re-send
        # The claim trigger's statement (triggers are not captured): its arbiter is the global key.
        session.execute(text("INSERT INTO event_ids (event_id, occurred_at) VALUES (:e, :t) "
                             "ON CONFLICT (event_id) DO NOTHING"),
                        {"e": "ev-1", "t": NOW})

    _check(filled, run, {"pk_event_ids", "ix_events_occurred"})


def test_idx007_contradiction_flags_find_a_calls_outcome_by_city_and_call(filled):
    def run(session):
        session.execute(text("UPDATE calls SET queued_at = offered_at - interval '1 hour', answered_at = offered_at "
                             "WHERE city = '620100' AND call_id = 'c14'"))
        session.execute(text("INSERT INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, "
                             "payload) VALUES ('ans-c14', 'call.answered', '620100', 'c14', :t, :t, 't', '{}')"),
                        {"t": NOW})
        assert flags._call_flags(session, [("620100", "c14")])

    _check(filled, run, {"ix_events_city_entity"})


def test_idx008_live_rebuild_reads_the_window_by_time(filled):
    def run(session):
        next(iter(history.iter_events_since(session, datetime(2026, 11, 29, 16, 0), batch=5000)), None)

    _check(filled, run, {"ix_events_occurred"})


def test_idx006_alerts_inbox_of_a_city(filled):
    _check(filled, lambda s: alert_inbox.inbox(s, scope="620100", state="open"), {"ix_alerts_city_state"})


def test_idx009_watchpoint_rules_read_through_their_indexes(filled, redis_client):
    from cockpit.watch.evaluate import evaluate

    _check(filled, lambda s: evaluate(s, filled.settings, redis=redis_client, now=NOW), set())
