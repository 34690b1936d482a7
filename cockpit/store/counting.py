"""The SQL of the metric contract's counts: the aggregate columns over ``calls`` and ``tickets``
that make ``metrics.definitions.CallCounts`` and ``TicketCounts`` (in field order).

They live in the store layer because two layers use the same columns: the metric queries
(``metrics.queries.counts``, which imports them from here) and the day rollups every write keeps
(``store.days``), so the definitions are written once and a rollup counts exactly what a raw read
counts. Only SQLAlchemy expressions over the store's models; no session, no settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import text as sql_text

from cockpit.store.models import LONG_CALL_PG, LONG_CALL_SQLITE, Call, Ticket

NEVER_DUE = datetime(1900, 1, 1)  # ``due_before`` of the day rollups: only responded tickets are "due" there


def long_call(dialect: str):
    """SQL: the call lasted over an hour from queueing to its end; the predicate of the partial index
    ``ix_calls_long_city_queued``, in the words of its definition (``store.models.LONG_CALL_*``)."""
    return sql_text(LONG_CALL_PG if dialect == "postgresql" else LONG_CALL_SQLITE)


def handle_time_expr():
    """SQL: talk + hold + after-call work of a call, seconds (missing parts count 0)."""
    return func.coalesce(Call.talk_s, 0.0) + func.coalesce(Call.hold_s, 0.0) + func.coalesce(Call.acw_s, 0.0)


def call_count_columns(*, sl_threshold_s: float, short_abandon_s: float) -> list:
    """The aggregate columns over ``calls`` that make a CallCounts (in field order)."""
    offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None), Call.abandoned_at.is_not(None))
    answered = Call.answered_at.is_not(None)
    abandoned = and_(Call.abandoned_at.is_not(None), Call.answered_at.is_(None))
    ended = and_(answered, Call.ended_at.is_not(None))
    handle = handle_time_expr()

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        count_if(offered),
        count_if(answered),
        count_if(abandoned),
        count_if(and_(abandoned, Call.wait_s <= short_abandon_s)),
        count_if(and_(answered, Call.wait_s <= sl_threshold_s)),
        func.coalesce(func.sum(case((answered, func.coalesce(Call.wait_s, 0.0)), else_=0.0)), 0.0),
        count_if(ended),
        func.coalesce(func.sum(case((ended, handle), else_=0.0)), 0.0),
    ]


def seconds_between(dialect: str, a, b):
    """Seconds from a to b, as an SQL expression valid on the session's dialect."""
    if dialect == "postgresql":
        return func.extract("epoch", b - a)
    return (func.julianday(b) - func.julianday(a)) * 86400.0


def ticket_count_columns(dialect: str, *, now: datetime | None, response_deadline_s: Any,
                         count_basic_satisfied: Any, due_before: Any = None) -> list:
    """Aggregate columns over ``tickets`` making a TicketCounts (in field order).

    ``due_before`` (default ``now - response_deadline_s``) and ``response_deadline_s`` may be bind
    parameters, for a statement built once and run with many values; they and
    ``count_basic_satisfied`` may also be SQL columns (the day rollups' shape, ``store.days``)."""
    t = Ticket
    dispatched = t.first_dispatched_at.is_not(None)
    closed = t.status == "closed"
    valid_cb = and_(t.satisfaction.is_not(None), t.satisfaction != "unreachable")
    if isinstance(count_basic_satisfied, bool):
        happy = t.satisfaction.in_(["very_satisfied", "satisfied"] + (["basic"] if count_basic_satisfied else []))
    else:
        happy = or_(t.satisfaction.in_(["very_satisfied", "satisfied"]),
                    and_(count_basic_satisfied.is_(True), t.satisfaction == "basic"))
    in_time = and_(
        dispatched, t.responded_at.is_not(None),
        seconds_between(dialect, t.first_dispatched_at, t.responded_at) <= response_deadline_s,
    )
    due_for_response = and_(
        dispatched,
        or_(t.responded_at.is_not(None),
            t.first_dispatched_at <= (now - timedelta(seconds=response_deadline_s) if due_before is None
                                      else due_before)),
    )
    auto = t.auto_dispatched.is_(True)

    def count_if(cond):
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        func.count(),
        count_if(dispatched),
        count_if(closed),
        count_if(due_for_response),
        count_if(in_time),
        count_if(valid_cb),
        count_if(and_(valid_cb, t.callback_resolved == "yes")),
        count_if(and_(valid_cb, happy)),
        count_if(and_(closed, t.due_at.is_not(None))),
        count_if(and_(closed, t.due_at.is_not(None), t.closed_at <= t.due_at)),
        count_if(or_(t.closed_at.is_not(None), t.reopens > 0)),
        count_if(t.reopens > 0),
        count_if(and_(dispatched, t.returns > 0)),
        func.coalesce(func.sum(case((dispatched, t.returns + t.transfers), else_=0)), 0),
        count_if(and_(dispatched, auto)),
        count_if(and_(dispatched, auto, t.returns == 0)),
    ]
