"""SQL tables (SQLAlchemy 2.0 typed models). SQL is the truth; Redis is rebuilt from it.

All times are naive UTC ``DateTime`` columns: SQLite has no zone type, and storing UTC
everywhere keeps SQLite and PostgreSQL identical. ``cockpit.history`` converts at the edges.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy import false as sql_false
from sqlalchemy import text as sql_text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cockpit.store import partitions

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The append-only logs are range-partitioned by month on PostgreSQL (cockpit.store.partitions).
# A partitioned table's primary key must contain the partition key: ``_pk_with_partition_key``
# adds it on PostgreSQL, while SQLite keeps ``id`` alone as its rowid.
# A "long" call (ix_calls_long_city_queued): over an hour from queueing to its end. The query side
# repeats these predicates word for word (store.counting.long_call), so both planners match them.
LONG_CALL_PG = "ended_at - queued_at > interval '1 hour'"
LONG_CALL_SQLITE = "julianday(ended_at) - julianday(queued_at) > 1.0 / 24"
# PostgreSQL: statistics on the duration, so the planner knows how few long calls there are
# (without them it guesses a third of all calls and prefers scanning by ix_calls_queued)
CALL_DURATION_STATISTICS = "CREATE STATISTICS IF NOT EXISTS st_calls_duration ON (ended_at - queued_at) FROM calls"

# Dispatched without a response (ix_tickets_unresponded_city_created): the tickets whose "due for
# response" depends on the reader's now, read beside the ticket days (store.days).
UNRESPONDED = "first_dispatched_at IS NOT NULL AND responded_at IS NULL"

MONTHLY = {"postgresql_partition_by": f"RANGE ({partitions.PARTITION_KEY})",
           "info": {"partition_key": partitions.PARTITION_KEY}}


@compiles(PrimaryKeyConstraint, "postgresql")
def _pk_with_partition_key(constraint, compiler, **kw):
    ddl = compiler.visit_primary_key_constraint(constraint, **kw)
    key = constraint.table.info.get("partition_key")
    if not key or key in constraint.columns or not ddl.endswith(")"):
        return ddl
    return ddl[:-1] + ", " + compiler.preparer.quote(key) + ")"


class Region(Base):
    """A province, city, district (or borough, community district): the unit of scope."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))  # province | city | district
    parent: Mapped[str | None] = mapped_column(String(32), index=True)
    population: Mapped[int | None] = mapped_column(BigInteger)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class RegionShape(Base):
    """A deployment's own boundary (``cockpit regions load``): WGS84 GeoJSON geometry, valid."""

    __tablename__ = "region_shapes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    geojson: Mapped[str] = mapped_column(Text)


class EventRecord(Base):
    """Every accepted event, raw, once per ``event_id``: the log everything derives from.

    Once per id: SQLite by ``UNIQUE (event_id)``; PostgreSQL, where ``events`` is partitioned by
    month, by the claim trigger on ``event_ids`` (cockpit.store.partitions), across all months.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (
        # PostgreSQL looks ids up in event_ids, whose rows carry the event's time (history.stored_payloads).
        UniqueConstraint("event_id", name="uq_events_event_id").ddl_if(dialect="sqlite"),
        # The live rebuild reads the window from its start (iter_events_since).
        Index("ix_events_occurred", "occurred_at"),
        # One call's or ticket's events: the contradiction flags (store/flags.py) look outcomes up so.
        Index("ix_events_city_entity", "city", "entity_id"),
        MONTHLY,
    )


class EventId(Base):
    """PostgreSQL only (empty on SQLite): every stored event id once, whatever month its event is in.

    Filled by the BEFORE INSERT trigger on the partitioned ``events``; unpartitioned, so its
    primary key is the global uniqueness a partitioned table cannot have.
    """

    __tablename__ = "event_ids"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)


class Call(Base):
    """One call's current state, merged from its events in any order."""

    __tablename__ = "calls"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    abandoned_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)  # answered/abandoned time - wait
    seat_id: Mapped[str | None] = mapped_column(String(128))
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float | None] = mapped_column(Float)
    acw_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_calls_city_queued", "city", "queued_at"),
        # calls lasting over an hour from queueing to their end: the few that can still be in flight
        # two hours after they queued (metrics.queries.handling_seconds reads only these that far back)
        Index("ix_calls_long_city_queued", "city", "queued_at",
              postgresql_where=sql_text(LONG_CALL_PG), sqlite_where=sql_text(LONG_CALL_SQLITE)),
    )


class Seat(Base):
    """A seat's latest state (the newest ``seat.state`` event wins, whatever the arrival order)."""

    __tablename__ = "seats"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    seat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(DateTime)
    event_id: Mapped[str] = mapped_column(String(128))


class SeatStateChange(Base):
    """Every seat state change (history); a state lasts until the seat's next change."""

    __tablename__ = "seat_state_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(32))
    seat_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        # Once per event: the event's own claim guarantees it (only new events are written here);
        # PostgreSQL, partitioned by month, has no index to spend on it.
        UniqueConstraint("event_id", name="uq_seat_state_changes_event_id").ddl_if(dialect="sqlite"),
        Index("ix_seat_state_changes_city_seat_occurred", "city", "seat_id", "occurred_at"),
        MONTHLY,
    )


class Ticket(Base):
    """A ticket's current state, recomputed from all its steps in time order (see history.fold_ticket)."""

    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    city: Mapped[str] = mapped_column(String(32))  # every (city, ...) index below serves city alone too
    district: Mapped[str | None] = mapped_column(String(32))
    located_district: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(64))
    category_path: Mapped[list | None] = mapped_column(JSON)
    channel: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    caller: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    call_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # created|dispatched|returned|responded|closed|reopened
    unit: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    auto_dispatched: Mapped[bool | None] = mapped_column(Boolean)
    dispatch_confidence: Mapped[float | None] = mapped_column(Float)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    no_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    callback_at: Mapped[datetime | None] = mapped_column(DateTime)
    callback_resolved: Mapped[str | None] = mapped_column(String(8))
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)  # the latest step's time
    # The earliest step's time (NULL: not known, a row folded before migration 0011): with
    # ``updated_at`` it bounds the ticket_steps partitions the timeline reads.
    first_step_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Counted in its day's frozen cohort (``ticket_cohorts``): set by the cohort job only, reset by
    # every rewrite of the row (store.history), which marks the day dirty first.
    cohort_frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false(), nullable=False)

    __table_args__ = (
        Index("ix_tickets_city_created", "city", "created_at"),
        # the tickets not in a frozen cohort (open, recent, changed since): what a cohort read
        # still aggregates row by row
        Index("ix_tickets_unfrozen_city_created", "city", "created_at",
              postgresql_where=sql_text("NOT cohort_frozen"), sqlite_where=sql_text("NOT cohort_frozen")),
        Index("ix_tickets_city_district_created", "city", "district", "created_at"),
        Index("ix_tickets_unresponded_city_created", "city", "created_at",
              postgresql_where=sql_text(UNRESPONDED), sqlite_where=sql_text(UNRESPONDED)),
        Index("ix_tickets_status_due", "status", "due_at"),
        Index("ix_tickets_city_status_due", "city", "status", "due_at"),
    )


class TicketStep(Base):
    """One step of a ticket's history: created, dispatched, returned, ... in event time."""

    __tablename__ = "ticket_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    unit: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("event_id", name="uq_ticket_steps_event_id").ddl_if(dialect="sqlite"),  # as seat changes
        Index("ix_ticket_steps_ticket_occurred", "ticket_id", "occurred_at"),
        MONTHLY,
    )


class DeadLetter(Base):
    """A rejected event or import row, kept raw with its reasons; nothing is silently dropped."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(String(128))
    row_ref: Mapped[str | None] = mapped_column(String(64))  # batch index or file row number
    raw: Mapped[str] = mapped_column(Text)
    errors: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(64))  # first error's field, for counting by reason


class ApiToken(Base):
    """A bearer token for the HTTP API, stored as a SHA-256 hash, scoped to region codes."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class CallRollup(Base):
    """Calls per city per 15-minute interval (by queue time), rebuilt idempotently by a job."""

    __tablename__ = "call_rollups_15m"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    answered_within_sl: Mapped[int] = mapped_column(Integer, default=0)
    wait_answered_sum_s: Mapped[float] = mapped_column(Float, default=0.0)
    ended: Mapped[int] = mapped_column(Integer, default=0)
    handle_sum_s: Mapped[float] = mapped_column(Float, default=0.0)
    sl_threshold_s: Mapped[int] = mapped_column(Integer, default=15)


class TicketRollup(Base):
    """Tickets created per district x category x sub-category per 15-minute interval.

    ``category`` is the top level of the category path, ``subcategory`` its second level ("" when
    the path has one level): readers that want the top level sum over sub-categories."""

    __tablename__ = "ticket_rollups_15m"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    district: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" when unknown
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(64), primary_key=True, default="", server_default="")
    interval_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_ticket_rollups_city_interval", "city", "interval_start"),)


class TicketCohortDay(Base):
    """A city's frozen ticket cohort of one local day: the day's bounds and whether its rows are usable.

    Written by the cohort job (``metrics.cohorts``) with the rows of ``ticket_cohorts`` and the
    ``cohort_frozen`` flags of the tickets it counted, in one transaction. ``dirty`` is set by a
    writer that rewrites a counted ticket (then readers take the day's tickets row by row until the
    job recomputes it). The rows hold for the settings they were counted with, and only at a ``now``
    from which every counted dispatched-but-unanswered ticket's response deadline has passed
    (``unresponded_dispatch_max`` + the deadline)."""

    __tablename__ = "ticket_cohort_days"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    day_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # naive UTC, local midnight
    day_end: Mapped[datetime] = mapped_column(DateTime)
    dirty: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    response_deadline_s: Mapped[float] = mapped_column(Float)
    count_basic_satisfied: Mapped[bool] = mapped_column(Boolean)
    unresponded_dispatch_max: Mapped[datetime | None] = mapped_column(DateTime)
    frozen_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_ticket_cohort_days_dirty", "city", "day_start",
                            postgresql_where=sql_text("dirty"), sqlite_where=sql_text("dirty")),)


class _DistrictDayCounts:
    """The columns of ``TicketCohort`` and ``TicketDay``: a city, a local day and a district ("" when
    unknown), then the counts of ``metrics.definitions.TicketCounts`` in the order
    ``store.counting.ticket_count_columns`` gives them (one list, so the two tables cannot drift)."""

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    day_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    district: Mapped[str] = mapped_column(String(32), primary_key=True)
    created: Mapped[int] = mapped_column(Integer)
    dispatched: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    due_for_response: Mapped[int] = mapped_column(Integer)
    responded_in_time: Mapped[int] = mapped_column(Integer)
    valid_callbacks: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    closed_with_due: Mapped[int] = mapped_column(Integer)
    closed_on_time: Mapped[int] = mapped_column(Integer)
    ever_closed: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    handoffs_sum: Mapped[int] = mapped_column(Integer)
    auto_dispatched: Mapped[int] = mapped_column(Integer)
    auto_never_returned: Mapped[int] = mapped_column(Integer)


class TicketCohort(_DistrictDayCounts, Base):
    """The counts (``metrics.definitions.TicketCounts``, as ``store.counting.ticket_count_columns``
    computes them) of a city-day's frozen tickets per district ("" when unknown)."""

    __tablename__ = "ticket_cohorts"


class DayRollupShape(Base):
    """The one row saying what ``call_days`` and ``ticket_days`` were counted with (the zone's fixed
    UTC offset and the settings their columns depend on). Writers join it, so they keep the days
    with these values and keep nothing while it is missing; readers use the days only when it
    matches their settings (``store.days``)."""

    __tablename__ = "day_rollup_shape"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    tz_offset_s: Mapped[int] = mapped_column(Integer)
    short_abandon_s: Mapped[float] = mapped_column(Float)
    response_deadline_s: Mapped[float] = mapped_column(Float)
    count_basic_satisfied: Mapped[bool] = mapped_column(Boolean)
    built_at: Mapped[datetime] = mapped_column(DateTime)


class CallDay(Base):
    """Calls per city per local day of ``queued_at``: the counts of the connection rate
    (``store.counting.call_count_columns``' first four), kept by every write of ``calls`` in its
    transaction (``store.days``). A day can hold a row of zeros (a call moved to another day)."""

    __tablename__ = "call_days"

    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    day_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # naive UTC, local midnight
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandoned: Mapped[int] = mapped_column(Integer)


class TicketDay(_DistrictDayCounts, Base):
    """Tickets per city, local day of ``created_at`` and district ("" when unknown): the counts of
    ``TicketCounts`` over *all* of the day's tickets in their current state, kept by every write of
    ``tickets`` in its transaction (``store.days``). ``due_for_response`` here counts the dispatched
    tickets that responded; the ones past their deadline without a response depend on the reader's
    ``now`` and are read from ``tickets`` (``ix_tickets_unresponded_city_created``)."""

    __tablename__ = "ticket_days"


class JobRun(Base):
    """Bookkeeping for scheduled jobs: the last interval each job completed."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_done: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


# --- watchpoint alerts (cockpit.watchpoints / cockpit.alerts) ---------------------------------

# Characters the repeat-complaint rule ignores when comparing addresses (spaces and punctuation,
# ASCII and full-width); cockpit.watchpoints.normalize_address applies the same list in Python.
ADDRESS_NOISE = (" ", "\t", "\u3000", "-", "_", ",", ".", "#", "(", ")", "/", "，", "。", "、", "（", "）", "－", "—", "·")


def normalized_address_pg(column):
    """PostgreSQL expression of a normalised address: lower case, noise characters removed."""
    return func.translate(func.lower(column), "".join(ADDRESS_NOISE), "")


# Indexes the set-based watchpoint rules read through (the tickets table itself is unchanged).
Index("ix_tickets_created", Ticket.created_at)
Index("ix_tickets_closed", Ticket.closed_at)
Index("ix_tickets_callback", Ticket.callback_at)
Index("ix_calls_queued", Call.queued_at)
# The repeat-complaint rule resolves candidate places and callers through these two.
Index("ix_tickets_place", Ticket.city, normalized_address_pg(Ticket.address), Ticket.created_at).ddl_if(
    dialect="postgresql")
Index("ix_tickets_caller", Ticket.city, Ticket.caller, Ticket.created_at)


class Alert(Base):
    """One alert of a watchpoint rule about one key (a ticket, a unit, a place, a city).

    Lifecycle: pending -> firing -> acknowledged -> escalated -> resolved. ``open_key`` is
    ``rule|key`` while the alert is open and NULL once resolved: its UNIQUE constraint keeps
    one open alert per rule and key on SQLite and PostgreSQL alike (NULLs never collide).
    ``mute_key`` is set when a person resolves an alert whose condition still holds, so the
    next evaluation does not raise it again until the condition has cleared once.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(256))
    city: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))  # critical | major | minor
    state: Mapped[str] = mapped_column(String(16))  # pending|firing|acknowledged|escalated|resolved
    title: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict] = mapped_column(JSON)
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_to: Mapped[str | None] = mapped_column(String(128))
    escalation_note: Mapped[str | None] = mapped_column(Text)
    escalation_due: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    open_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    mute_key: Mapped[str | None] = mapped_column(String(300))
    # Grouped work items (cockpit.watch.grouping): how many tickets, the oldest one's start.
    size: Mapped[int | None] = mapped_column(Integer)
    oldest_at: Mapped[datetime | None] = mapped_column(DateTime)
    assignee: Mapped[str | None] = mapped_column(String(128))
    assignee_kind: Mapped[str | None] = mapped_column(String(8))  # user | unit
    # Set while an inhibiting alert or a silence hides it: 'alert:<id>' or 'silence:<id>'.
    suppressed_by: Mapped[str | None] = mapped_column(String(64))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)  # last (re)notification

    __table_args__ = (
        Index("ix_alerts_city_state", "city", "state"),
        Index("ix_alerts_first_seen", "first_seen"),
        Index("ix_alerts_key", "key"),
        Index("ix_alerts_rule_state", "rule", "state"),
    )


class AlertItem(Base):
    """A ticket inside an alert (the members of a grouped work-item alert, or the ticket of a
    per-ticket alert); the supervise grid and export follow these rows."""

    __tablename__ = "alert_items"

    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_alert_items_ticket_id", "ticket_id"),)


class AlertSilence(Base):
    """A silence (Alertmanager): alerts matching rule/city/district/category (NULL = any; the
    category is the alert detail's) are hidden from the inbox and the wall between ``starts_at``
    and ``ends_at``; owner and comment required."""

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AlertEvent(Base):
    """One step of an alert's history: opened, fired, updated, acknowledged, escalated, resolved."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)


class EventFlag(Base):
    """An accepted event that contradicts another one of its call or ticket (see cockpit.store.flags).

    Contradictions are accepted and flagged, not rejected: events arrive in any order, so which of two
    contradicting events came second is an accident; the flag is the same for every arrival order.
    """

    __tablename__ = "event_flags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(64))
    city: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict] = mapped_column(JSON)
    flagged_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_event_flags_event_rule", "event_id", "rule", unique=True),)


class Roster(Base):
    """A saved shift roster: the whole plan document of one scope and ISO week, as planned.

    Every save is a new row (who saved it and when stay on record); the newest row of a scope and
    week is the plan in force. Redis holds a copy for the wall (``cockpit.store.rosters``) that
    this table can always rebuild.
    """

    __tablename__ = "rosters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))
    week: Mapped[str] = mapped_column(String(8))  # ISO week YYYY-Www
    monday: Mapped[date] = mapped_column(Date)  # local Monday of the week
    saved_at: Mapped[datetime] = mapped_column(DateTime)
    saved_by: Mapped[str] = mapped_column(String(128))
    document: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_rosters_scope_week", "scope", "week", "id"),)


# ---------------------------------------------------------------- access control (cockpit.auth)

class User(Base):
    """A person who logs in: a role (leader | supervisor | admin) over one region (scope)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)


class KioskLink(Base):
    """A signed, revocable link that lets a wall screen run without a person, for one scope."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A server-side login session: the cookie carries only the random id (stored as SHA-256).

    Exactly one of ``user_id`` / ``kiosk_id`` is set. Deleting the row logs the browser out.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("kiosk_links.id", ondelete="CASCADE"),
                                                 index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(Base):
    """Who did what, when, from where: logins, ticket views, unmasking, exports, actions, changes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | token | kiosk | cli | anonymous
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(256))
    scope: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | failed
    detail: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )


@event.listens_for(Base.metadata, "after_create")
def _partitioned_objects(_metadata, connection, **_kw):
    """``create_all`` on PostgreSQL builds what the migrations build: the claim trigger, partitions,
    the calls' duration statistics."""
    if connection.dialect.name == "postgresql":
        partitions.create_partitioned_objects(connection)
        connection.execute(sql_text(CALL_DURATION_STATISTICS))
