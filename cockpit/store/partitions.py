"""Monthly range partitions of the append-only logs on PostgreSQL (SQLite stays unpartitioned).

``events``, ``ticket_steps`` and ``seat_state_changes`` are ``PARTITION BY RANGE (occurred_at)``
with one partition per calendar month (UTC) named ``<table>_pYYYY_MM`` and a ``<table>_default``
partition that takes any row no month partition covers, so an insert never fails for a missing
partition. ``ensure_partitions`` (the worker, daily; ``cockpit db partitions``) creates the
months ahead and moves rows that landed in a default partition into their own month.

A partitioned table's unique keys must contain the partition key, so ``events`` cannot carry
``UNIQUE (event_id)`` any more: every event id is claimed once in the unpartitioned table
``event_ids`` by a BEFORE INSERT trigger on ``events`` (``CLAIM_FUNCTION``), which drops the row of
an id claimed before (in whatever month) exactly as ``ON CONFLICT DO NOTHING`` did; deleting an
event row releases its id. Dropping or detaching a month partition (archiving) keeps the claims of
its events, so a replay of an archived month stays a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

PARTITIONED = ("events", "ticket_steps", "seat_state_changes")
PARTITION_KEY = "occurred_at"
DEFAULT_AHEAD = 3  # months after the current one that always have their partition

CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION cockpit_claim_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A writer that claimed its rows' ids itself, set-based, says so for its transaction
    -- (SET LOCAL cockpit.ids_claimed = 'on': the bulk path); every other insert is claimed here.
    IF current_setting('cockpit.ids_claimed', true) = 'on' THEN
        RETURN NEW;
    END IF;
    -- The one global uniqueness of event ids across all monthly partitions of events.
    INSERT INTO event_ids (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at)
    ON CONFLICT (event_id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;  -- claimed before: the row is skipped, as ON CONFLICT DO NOTHING skipped it
END
$$
"""
RELEASE_FUNCTION = """
CREATE OR REPLACE FUNCTION cockpit_release_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_ids WHERE event_id = OLD.event_id;  -- a deleted event may be stored again
    RETURN NULL;
END
$$
"""
CLAIM_TRIGGERS = (
    "CREATE TRIGGER events_claim_event_id BEFORE INSERT ON events "
    "FOR EACH ROW EXECUTE FUNCTION cockpit_claim_event_id()",
    "CREATE TRIGGER events_release_event_id AFTER DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION cockpit_release_event_id()",
)


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def default_name(table: str) -> str:
    return f"{table}_default"


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    lower: date | None  # None for the default partition
    upper: date | None
    rows: int | None = None


def is_partitioned(conn: Connection, table: str) -> bool:
    """Whether ``table`` is a partitioned table here (False on SQLite and for an unconverted table)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                  "WHERE c.relname = :t AND c.relnamespace = 'public'::regnamespace"),
                             {"t": table}).scalar())


def list_partitions(conn: Connection, table: str, *, count_rows: bool = False) -> list[Partition]:
    """The partitions of ``table``, months in order, the default last."""
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = :t AND p.relnamespace = 'public'::regnamespace"), {"t": table}).all()
    out = []
    for name, bound in rows:
        lower = upper = None
        if bound != "DEFAULT":  # FOR VALUES FROM ('2026-11-01 00:00:00') TO ('2026-12-01 00:00:00')
            parts = bound.split("'")
            lower, upper = date.fromisoformat(parts[1][:10]), date.fromisoformat(parts[3][:10])
        n = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() if count_rows else None
        out.append(Partition(table, name, lower, upper, n))
    return sorted(out, key=lambda p: (p.lower is None, p.lower or date.min))


def _create_month(conn: Connection, table: str, month: date) -> str:
    """Create the partition of ``month``, moving that month's rows out of the default partition first
    (attaching a range the default already holds rows of would fail)."""
    name, lower, upper = partition_name(table, month), month, add_months(month, 1)
    bound = f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
    default = default_name(table)
    has_default = conn.execute(text("SELECT to_regclass(:d) IS NOT NULL"), {"d": default}).scalar()
    stray = has_default and conn.execute(text(
        f'SELECT 1 FROM "{default}" WHERE {PARTITION_KEY} >= :lo AND {PARTITION_KEY} < :hi LIMIT 1'),
        {"lo": lower, "hi": upper}).scalar()
    if not stray:
        conn.execute(text(f'CREATE TABLE "{name}" PARTITION OF "{table}" {bound}'))
        return name
    # Rows of this month sit in the default partition: take them out under the default's lock,
    # put them in a new table of the parent's shape, then attach it (its indexes are built on attach).
    conn.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))
    conn.execute(text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'))
    conn.execute(text(
        f'WITH moved AS (DELETE FROM "{default}" WHERE {PARTITION_KEY} >= :lo AND {PARTITION_KEY} < :hi '
        f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved'), {"lo": lower, "hi": upper})
    conn.execute(text(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" {bound}'))
    if table == "events":  # the DELETE above released the moved events' ids: claim them again
        conn.execute(text(f'INSERT INTO event_ids (event_id, occurred_at) SELECT event_id, occurred_at '
                          f'FROM "{name}" ON CONFLICT DO NOTHING'))
    return name


def ensure_partitions(conn: Connection, *, ahead: int = DEFAULT_AHEAD, now: datetime | None = None,
                      tables: tuple[str, ...] = PARTITIONED) -> list[str]:
    """Create the partitions every partitioned table needs; returns the names created (idempotent).

    For each table: the default partition, the current UTC month and ``ahead`` months after it, and
    the month of any row that landed in the default partition (an import of old history, a worker
    that was down at a month's turn), whose rows move into it. Tables that are not partitioned
    (SQLite, an unconverted database) are left alone. Runs in the caller's transaction.
    """
    if conn.dialect.name != "postgresql":
        return []
    now = now or datetime.now(UTC)
    created = []
    for table in tables:
        if not is_partitioned(conn, table):
            continue
        # One creator at a time per table (two workers, or the CLI beside the worker).
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": "partitions:" + table})
        existing = {p.lower for p in list_partitions(conn, table)}
        if None not in existing:
            conn.execute(text(f'CREATE TABLE "{default_name(table)}" PARTITION OF "{table}" DEFAULT'))
            created.append(default_name(table))
        wanted = {add_months(month_start(now), n) for n in range(ahead + 1)}
        if conn.execute(text("SELECT to_regclass(:d) IS NOT NULL"), {"d": default_name(table)}).scalar():
            wanted.update(m.date() for m in conn.execute(text(
                f"SELECT DISTINCT date_trunc('month', {PARTITION_KEY}) FROM \"{default_name(table)}\"")).scalars())
        for month in sorted(wanted - existing):
            created.append(_create_month(conn, table, month))
    return created


def create_partitioned_objects(conn: Connection, *, ahead: int = DEFAULT_AHEAD) -> None:
    """After ``create_all`` on PostgreSQL: the claim trigger and the first partitions."""
    conn.execute(text(CLAIM_FUNCTION))
    conn.execute(text(RELEASE_FUNCTION))
    for trigger in CLAIM_TRIGGERS:
        conn.execute(text(trigger))
    ensure_partitions(conn, ahead=ahead)
