"""Writes of the 15-minute rollup tables (``call_rollups_15m``, ``ticket_rollups_15m``).

Each interval's rows are deleted and inserted again by one ``INSERT ... SELECT`` in the database
(no row round trip). The call columns are the metric contract's SQL (``cockpit.metrics.queries.
call_count_columns``), handed in by the rollup job, so the definitions live once. Intervals are
aligned to 15 minutes of UTC. Functions take a session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, String, cast, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session

from cockpit.store.models import Call, CallRollup, Ticket, TicketRollup

CALL_TARGET = ["city", "interval_start", "offered", "answered", "abandoned", "short_abandoned",
               "answered_within_sl", "wait_answered_sum_s", "ended", "handle_sum_s", "sl_threshold_s"]
TICKET_TARGET = ["city", "district", "category", "subcategory", "interval_start", "created"]


def bucket_sql(dialect: str, column):
    """SQL expression: the start of the 15-minute interval holding ``column``, as the dialect stores
    a naive UTC DateTime (SQLite: SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' text)."""
    if dialect == "postgresql":
        return func.date_bin(text("interval '15 minutes'"), column, text("timestamp '2000-01-01'"))
    epoch = (cast(func.strftime("%s", column), Integer) // 900) * 900
    return func.strftime("%Y-%m-%d %H:%M:%S", epoch, "unixepoch").concat(".000000")


def sub_category_sql(dialect: str):
    """SQL expression: the second level of ``tickets.category_path`` (a JSON array), NULL when the
    path has fewer than two levels (or is NULL)."""
    if dialect == "postgresql":
        return Ticket.category_path.op("->>", return_type=String)(1)
    return func.json_extract(Ticket.category_path, "$[1]", type_=String)


def delete_range(session: Session, start: datetime, end: datetime, cities: Sequence[str] | None) -> None:
    """Delete the rollup rows (both tables) of the intervals starting in ``[start, end)``."""
    for model in (CallRollup, TicketRollup):
        stmt = delete(model).where(model.interval_start >= start, model.interval_start < end)
        if cities:
            stmt = stmt.where(model.city.in_(list(cities)))
        session.execute(stmt)


def insert_calls(session: Session, start: datetime, end: datetime, cities: Sequence[str] | None, *,
                 count_columns: list, sl_threshold_s: float) -> int:
    """Insert the call rollup rows of ``[start, end)`` (calls by ``queued_at``); ``count_columns``
    are the SQL aggregates of CALL_TARGET's counts. Returns the rows now in the range."""
    bucket = bucket_sql(session.get_bind().dialect.name, Call.queued_at)
    stmt = select(Call.city, bucket, *count_columns, literal(int(sl_threshold_s))).where(
        Call.queued_at >= start, Call.queued_at < end
    )
    if cities:
        stmt = stmt.where(Call.city.in_(list(cities)))
    stmt = stmt.group_by(Call.city, bucket)
    session.execute(insert(CallRollup).from_select(CALL_TARGET, stmt))
    return _count(session, CallRollup, start, end, cities)


def insert_tickets(session: Session, start: datetime, end: datetime, cities: Sequence[str] | None) -> int:
    """Insert the ticket rollup rows of ``[start, end)`` (tickets by ``created_at``, per city x
    district x top category x sub-category, '' for a missing one). Returns the rows now in the range."""
    dialect = session.get_bind().dialect.name
    bucket = bucket_sql(dialect, Ticket.created_at)
    district = func.coalesce(Ticket.district, "")
    category = func.coalesce(Ticket.category, "")
    subcategory = func.coalesce(sub_category_sql(dialect), "")
    stmt = select(Ticket.city, district, category, subcategory, bucket, func.count()).where(
        Ticket.created_at >= start, Ticket.created_at < end
    )
    if cities:
        stmt = stmt.where(Ticket.city.in_(list(cities)))
    stmt = stmt.group_by(Ticket.city, district, category, subcategory, bucket)
    session.execute(insert(TicketRollup).from_select(TICKET_TARGET, stmt))
    return _count(session, TicketRollup, start, end, cities)


def _count(session: Session, model, start: datetime, end: datetime, cities) -> int:
    # rowcount of INSERT ... SELECT is not reliable across drivers: count what is there now
    stmt = select(func.count()).select_from(model).where(model.interval_start >= start,
                                                          model.interval_start < end)
    if cities:
        stmt = stmt.where(model.city.in_(list(cities)))
    return int(session.execute(stmt).scalar_one())
