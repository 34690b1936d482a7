"""Monthly partitions on PostgreSQL: the migration keeps every row and figure, an event id stays
once-only across months, and the partition job makes months ahead and empties the default."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import func, select, text

from cockpit import jobs
from cockpit.ingest import ingest_batch
from cockpit.metrics import kpi
from cockpit.settings import Settings
from cockpit.store import partitions
from cockpit.store.db import Stores, make_engine
from cockpit.store.migrate import alembic_config, upgrade
from cockpit.store.models import EventId, EventRecord
from geo.regions import load_default_regions
from tests.factories import Stream, random_stream
from tests.services import PG_URL, SKIP_PG

BEFORE = "0005"  # the revision before 0006_monthly_partitions
pg_only = pytest.mark.skipif(SKIP_PG, reason="PostgreSQL half switched off")

OCT = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TABLES = ("events", "ticket_steps", "seat_state_changes", "calls", "tickets", "seats", "call_rollups_15m",
          "ticket_rollups_15m", "dead_letters")


@pytest.fixture
def fresh_pg(tmp_path):
    """A database of its own on the test server, dropped afterwards: Settings pointing at it."""
    name = f"cockpit_part_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield Settings(var_dir=tmp_path, database_url=PG_URL.rsplit("/", 1)[0] + "/" + name, mode="development",
                       events_max_future_s=60 * 86400)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _figures(stores: Stores) -> dict:
    """Row counts, event row ids and KPI documents of both months: what a migration must keep."""
    out: dict = {}
    with stores.session() as session:
        for table in TABLES:
            out[table] = session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        out["event_rows"] = sorted(session.execute(select(EventRecord.id, EventRecord.event_id)).all())
        out["steps"] = sorted(session.execute(text(
            "SELECT id, ticket_id, event_id, occurred_at FROM ticket_steps")).all())
        for label, start in (("oct", OCT), ("nov", NOV)):
            for raw in (True, False):
                out[f"kpi_{label}_{raw}"] = kpi.kpi(session, scope="620100", start=start - timedelta(days=2),
                                                    end=start + timedelta(days=5), settings=stores.settings,
                                                    use_rollups=not raw, now=NOV + timedelta(days=6))
    return out


def _relkind(stores: Stores, table: str) -> str:
    with stores.engine.connect() as conn:
        return conn.execute(text("SELECT relkind FROM pg_class WHERE relname = :t"), {"t": table}).scalar()


@pg_only
def test_part001_migration_partitions_a_populated_database_and_keeps_every_row_and_figure(fresh_pg, redis_client):
    # Filled by today's code (whose ticket rows carry columns of later revisions, 0011), then taken
    # down to the unpartitioned revision: a populated database at BEFORE, whose figures are known.
    upgrade(fresh_pg)
    stores = Stores.open(fresh_pg, redis_client=redis_client)
    try:
        with stores.session() as session:
            load_default_regions(session)
        stream = random_stream(7, 60, 25, base=OCT) + random_stream(8, 60, 25, base=NOV)
        assert ingest_batch(stores, stream, source="before").accepted == len(stream)
        jobs.rollup_all(stores, OCT - timedelta(days=1), NOV + timedelta(days=4))
        before = _figures(stores)
    finally:
        stores.close()
    command.downgrade(alembic_config(fresh_pg), BEFORE)
    stores = Stores.open(fresh_pg, redis_client=redis_client)
    try:
        assert _relkind(stores, "events") == "r"
        with stores.session() as session:
            for table in TABLES:
                assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar() == before[table], table
    finally:
        stores.close()

    upgrade(fresh_pg)
    stores = Stores.open(fresh_pg, redis_client=redis_client)
    try:
        assert _figures(stores) == before
        for table in partitions.PARTITIONED:
            assert _relkind(stores, table) == "p"
            with stores.engine.connect() as conn:
                parts = {p.name: p.rows for p in partitions.list_partitions(conn, table, count_rows=True)}
            assert {f"{table}_p2026_10", f"{table}_p2026_11", f"{table}_default"} <= set(parts)
            assert parts[f"{table}_default"] == 0  # every month of the history got its partition
            assert sum(parts.values()) == before[table]
        with stores.session() as session:
            assert session.scalar(select(func.count()).select_from(EventId)) == before["events"]

        # Idempotency holds across the new partitions: a re-send is a duplicate, a re-used id with
        # another time (another month) a conflict, and new rows continue the old id sequence.
        again = ingest_batch(stores, stream, source="after")
        assert (again.accepted, again.duplicates, again.rejected) == (0, len(stream), [])
        moved = dict(stream[0], occurred_at=NOV.isoformat())
        clash = ingest_batch(stores, [moved], source="after")
        assert clash.accepted == 0 and clash.rejected[0]["errors"][0]["message"].startswith("conflict")
        fresh = Stream(base=NOV, prefix="after-").answered_call("after-c1", 0, 5, 60)
        assert ingest_batch(stores, fresh, source="after").accepted == 3
        with stores.session() as session:
            assert session.scalar(select(func.min(EventRecord.id)).where(EventRecord.event_id.like("after-%"))) \
                > before["event_rows"][-1][0]
            assert session.scalar(select(func.count()).select_from(EventRecord)) == before["events"] + 3
    finally:
        stores.close()

    # And back: the downgrade keeps every row too.
    command.downgrade(alembic_config(fresh_pg), BEFORE)
    stores = Stores.open(fresh_pg, redis_client=redis_client)
    try:
        assert _relkind(stores, "events") == "r"
        with stores.session() as session:
            assert session.execute(text("SELECT count(*) FROM events")).scalar() == before["events"] + 3
            assert session.execute(text("SELECT count(*) FROM ticket_steps")).scalar() == before["ticket_steps"]
        again = ingest_batch(stores, fresh, source="after")
        assert again.duplicates == 3  # UNIQUE (event_id) is back
    finally:
        stores.close()


def test_part002_same_event_id_in_another_month_is_still_a_duplicate_or_conflict(stores):
    """On partitioned PostgreSQL (and on SQLite) an id is once-only whatever month its event is in."""
    s = Stream(base=OCT, prefix="m-")
    first = s.event("call.offered", 0, call_id="c1")
    assert ingest_batch(stores, [first], source="t").accepted == 1
    assert ingest_batch(stores, [first], source="t").duplicates == 1
    next_month = dict(first, occurred_at=NOV.isoformat())
    clash = ingest_batch(stores, [next_month], source="t")
    assert clash.accepted == 0 and clash.rejected[0]["event_id"] == "m-1"
    from cockpit.bulk import bulk_ingest

    bulk = bulk_ingest(stores, [first, next_month, dict(next_month, occurred_at="2027-01-05T00:00:00+00:00")],
                       source="bulk", rollup=False)
    assert bulk.accepted == 0
    with stores.session() as session:
        rows = session.execute(select(EventRecord.event_id, EventRecord.occurred_at)).all()
    assert rows == [("m-1", OCT.replace(tzinfo=None))]
    if stores.dialect == "postgresql":
        # Below the application: a plain INSERT of a known id into another month's partition is dropped.
        with stores.engine.begin() as conn:
            inserted = conn.execute(text(
                "INSERT INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, payload) "
                "VALUES ('m-1', 'call.offered', '620100', 'c1', '2026-12-03', now(), 'sql', '{}') "
                "ON CONFLICT DO NOTHING RETURNING event_id")).all()
            assert inserted == []
            # Deleting an event releases its id.
            conn.execute(text("DELETE FROM events WHERE event_id = 'm-1'"))
            assert conn.execute(text("SELECT count(*) FROM event_ids")).scalar() == 0
        assert ingest_batch(stores, [next_month], source="t").accepted == 1


@pg_only
@pytest.mark.parametrize("backend", ["postgresql"])
def test_part003_default_partition_takes_any_month_and_the_job_moves_it_out(stores):
    """An event of a month without a partition lands in the default one (never an error); the job
    then makes that month's partition, moves the rows, and the id stays claimed."""
    old = Stream(base=datetime(2024, 3, 9, 1, 0, tzinfo=UTC), prefix="old-")
    events = old.answered_call("c1", 0, 4, 50) + old.ticket("T-old", 30)
    assert ingest_batch(stores, events, source="t").accepted == len(events)
    with stores.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events_default")).scalar() == 3 + 5
        assert conn.execute(text("SELECT count(*) FROM ticket_steps_default")).scalar() == 5

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    created = jobs.create_partitions(stores, now=now)
    assert {"events_p2024_03", "ticket_steps_p2024_03"} <= set(created)
    assert jobs.create_partitions(stores, now=now) == []  # idempotent
    with stores.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events_default")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM events_p2024_03")).scalar() == 8
        assert conn.execute(text("SELECT count(*) FROM ticket_steps_p2024_03")).scalar() == 5
        months = [p.name for p in partitions.list_partitions(conn, "events")]
    assert months[-1] == "events_default"
    assert {"events_p2026_11", "events_p2026_12", "events_p2027_01", "events_p2027_02"} <= set(months)
    assert ingest_batch(stores, events, source="t").duplicates == len(events)  # still claimed after the move
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 8

    # The CLI creates further months ahead and lists every partition with its rows.
    from cockpit.cli import main

    result = CliRunner().invoke(main, ["db", "partitions", "--ahead", "14"],
                                env={"COCKPIT_DATABASE_URL": stores.settings.database_url,
                                     "COCKPIT_REDIS_URL": stores.settings.redis_url, "COCKPIT_MODE": "development"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    current = datetime.now(UTC)
    last = partitions.partition_name("events", partitions.add_months(partitions.month_start(current), 14))
    assert last in doc["created"]
    rows = {p["name"]: p["rows"] for p in doc["partitions"]["events"]}
    assert rows["events_p2024_03"] == 8 and rows["events_default"] == 0


def test_part004_sqlite_stays_unpartitioned_and_the_job_does_nothing(sqlite_stores):
    assert jobs.create_partitions(sqlite_stores) == []
    with sqlite_stores.engine.connect() as conn:
        assert not partitions.is_partitioned(conn, "events")
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'events'")).scalar()
    assert "UNIQUE (event_id)" in ddl


def test_part005_the_worker_schedules_the_partition_job(sqlite_stores):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    jobs.schedule(scheduler, sqlite_stores)
    job = scheduler.get_job("partitions")
    assert job is not None and job.func is jobs.create_partitions


def test_part006_bulk_claims_its_chunk_at_once_and_a_repeated_id_inside_it_is_stored_once(stores):
    """The bulk path claims a chunk's ids set-based (PostgreSQL); an id twice in one chunk, in two
    months, is stored once, and its claim carries the stored row's time."""
    from cockpit.bulk import bulk_ingest

    s = Stream(base=OCT, prefix="b-")
    first = s.event("call.offered", 0, call_id="c1")
    again = dict(first, occurred_at=NOV.isoformat())
    other = s.event("call.offered", 5, call_id="c2")
    result = bulk_ingest(stores, [first, again, other], source="bulk", rollup=False)
    assert result.accepted == 2
    with stores.session() as session:
        rows = dict(session.execute(select(EventRecord.event_id, EventRecord.occurred_at)).all())
        assert set(rows) == {"b-1", "b-2"}
        if stores.dialect == "postgresql":
            claims = dict(session.execute(select(EventId.event_id, EventId.occurred_at)).all())
            assert claims == rows
            # The set-based claim is this transaction's only: a later plain insert is claimed again.
            assert session.execute(text("SELECT current_setting('cockpit.ids_claimed', true)")).scalar() in (None, "", "off")
    assert ingest_batch(stores, [first], source="t").duplicates == 1


@pg_only
def test_part007_timeline_reads_only_the_months_its_steps_span(stores):
    """The ticket page's timeline is bounded by the ticket's first and last step: only those months'
    partitions of ticket_steps are read, and a late step dated before the creation still shows."""
    from sqlalchemy import event

    from cockpit.views import ticket as ticket_view
    from tests.metric_events import ticket

    at = datetime(2026, 10, 5, 2, 0)
    steps = [ticket("TL1", "created", at, category=["城建"]),
             ticket("TL1", "dispatched", at + timedelta(days=1), unit="U1"),
             ticket("TL1", "closed", datetime(2026, 11, 2, 3, 0), unit="U1"),
             ticket("TL1", "callback", datetime(2026, 11, 3, 3, 0), resolved="yes", satisfaction="satisfied")]
    late = [ticket("TL1", "responded", datetime(2026, 9, 28, 5, 0), unit="U1")]  # dated before the creation
    for batch in (steps, late):
        assert ingest_batch(stores, batch, source="t").rejected == []
    jobs.create_partitions(stores, now=datetime(2026, 8, 1, tzinfo=UTC))  # Aug ..; the default moved out
    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM ticket_steps" in statement:
            seen.append((statement, parameters))

    event.listen(stores.engine, "before_cursor_execute", capture)
    try:
        view = ticket_view.ticket_view(stores, "TL1", now=datetime(2026, 11, 30, tzinfo=UTC))
    finally:
        event.remove(stores.engine, "before_cursor_execute", capture)
    assert [s["type"] for s in view["steps"]] == ["ticket.responded", "ticket.created", "ticket.dispatched",
                                                  "ticket.closed", "ticket.callback"]
    assert len(seen) == 1
    if stores.engine.dialect.name != "postgresql":
        return  # SQLite: one table, nothing to prune; the steps above must still all be there
    with stores.engine.connect() as conn:
        months = [p.name for p in partitions.list_partitions(conn, "ticket_steps")]
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + seen[0][0], seen[0][1]))
    read = {m for m in months if m + " " in plan or m + "_" in plan}
    assert read == {"ticket_steps_p2026_09", "ticket_steps_p2026_10", "ticket_steps_p2026_11"}, plan
    assert len(months) > 6  # the other months exist and are pruned
