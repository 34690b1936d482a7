"""The SQL counts behind every KPI: call, seat and ticket counts for a scope and a window (read-only).

Datetimes passed in are naive UTC, windows are ``[start, end)``. Inside the completed coverage of
the 15-minute rollups (``rollup_coverage``) whole intervals are read from the rollups and the
edges from raw rows; both paths give the same numbers (tests/test_rollup.py). Each function takes
a session first and filters keyword-only, returns the containers of ``metrics.definitions``, and
never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, DateTime, and_, bindparam, case, func, literal, not_, or_, select, true, union_all
from sqlalchemy.orm import Session

from cockpit.events import LOGGED_OUT_STATES, OPEN_STATUSES
from cockpit.metrics.definitions import (CallCounts, SeatTimes, TicketCounts, count_basic_as_satisfied,
                                         response_deadline_s)
from cockpit.settings import Settings
from cockpit.store.conditions import one_of
from cockpit.store.counting import (NEVER_DUE, call_count_columns, handle_time_expr, long_call,  # noqa: F401
                                     seconds_between as _seconds_between, ticket_count_columns)
from cockpit.store.models import (Call, CallDay, CallRollup, JobRun, Seat,
                                  SeatStateChange, Ticket, TicketCohort, TicketCohortDay, TicketDay, TicketRollup)
from cockpit.timeutil import ceil_interval, floor_interval


WAITING_MAX_AGE_S = 3600  # a "waiting" call older than this is a lost event, not a caller on hold
MAX_CALL_SPAN = timedelta(days=2)  # bounds the queued_at range scanned for calls ended in a window
ROLLUP_HANDLING_MIN = 4 * MAX_CALL_SPAN  # longer windows take handling time from rollups + corrections
IN_FLIGHT_SCAN = timedelta(hours=2)  # calls in flight at an edge queued before this: only long ones
ROLLUP_JOB_FROM = "rollup_15m:from"
ROLLUP_JOB_TO = "rollup_15m:to"



def _call_counts_from_row(row) -> CallCounts:
    return CallCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]),
                      float(row[5]), int(row[6]), float(row[7]))


def _in_ranges(column, ranges: list[tuple[datetime, datetime]]):
    """``column`` in any of the half-open ranges (one index range scan each, one round trip)."""
    conds = [and_(column >= s, column < e) for s, e in ranges]
    return conds[0] if len(conds) == 1 else or_(*conds)


def call_counts_raw(session: Session, *, cities: tuple[str, ...] | list[str], start: datetime, end: datetime,
                    sl_threshold_s: float, short_abandon_s: float,
                    ranges: list[tuple[datetime, datetime]] | None = None) -> CallCounts:
    """Call counts from raw ``calls`` rows with ``start <= queued_at < end`` (naive UTC), or with
    ``queued_at`` in any of ``ranges`` when given."""
    ranges = [(s, e) for s, e in (ranges if ranges is not None else [(start, end)]) if s < e]
    if not cities or not ranges:
        return CallCounts()
    stmt = select(*call_count_columns(sl_threshold_s=sl_threshold_s, short_abandon_s=short_abandon_s)).where(
        one_of(Call.city, cities), _in_ranges(Call.queued_at, ranges)
    )
    return _call_counts_from_row(session.execute(stmt).one())


def rollup_coverage(session: Session) -> tuple[datetime, datetime] | None:
    """The contiguous range ``[from, to)`` of intervals the rollup job has completed, or None.

    Cached for the life of the session (``cockpit.rollups`` drops the cache when it moves the range).
    """
    if "rollup_coverage" in session.info:
        return session.info["rollup_coverage"]
    rows = {r.name: r.last_done for r in session.scalars(
        select(JobRun).where(JobRun.name.in_([ROLLUP_JOB_FROM, ROLLUP_JOB_TO])))}
    lo, hi = rows.get(ROLLUP_JOB_FROM), rows.get(ROLLUP_JOB_TO)
    session.info["rollup_coverage"] = None if lo is None or hi is None or lo >= hi else (lo, hi)
    return session.info["rollup_coverage"]


def call_counts_rollup(session: Session, *, cities, start: datetime, end: datetime,
                       sl_threshold_s: float) -> CallCounts | None:
    """Call counts summed from ``call_rollups_15m`` for whole intervals in ``[start, end)``.

    Returns None when any row was computed with another SL threshold (the caller then scans raw).
    """
    if not cities or start >= end:
        return CallCounts()
    r = CallRollup
    stmt = select(
        func.coalesce(func.sum(r.offered), 0), func.coalesce(func.sum(r.answered), 0),
        func.coalesce(func.sum(r.abandoned), 0), func.coalesce(func.sum(r.short_abandoned), 0),
        func.coalesce(func.sum(r.answered_within_sl), 0), func.coalesce(func.sum(r.wait_answered_sum_s), 0.0),
        func.coalesce(func.sum(r.ended), 0), func.coalesce(func.sum(r.handle_sum_s), 0.0),
        func.coalesce(func.sum(case((r.sl_threshold_s != sl_threshold_s, 1), else_=0)), 0),
    ).where(one_of(r.city, cities), r.interval_start >= start, r.interval_start < end)
    row = session.execute(stmt).one()
    if int(row[8]):
        return None
    return _call_counts_from_row(row)


def _split_for_rollups(session: Session, start: datetime, end: datetime) -> tuple[list, tuple | None]:
    """Split ``[start, end)`` into raw edge pieces and one rollup-covered middle piece."""
    coverage = rollup_coverage(session)
    a, b = ceil_interval(start), floor_interval(end)
    if coverage is not None:
        a, b = max(a, coverage[0]), min(b, coverage[1])
    if coverage is None or a >= b:
        return [(start, end)], None
    raw = [(s, e) for s, e in ((start, a), (b, end)) if s < e]
    return raw, (a, b)


def call_counts(session: Session, *, cities, start: datetime, end: datetime, sl_threshold_s: float,
                short_abandon_s: float, use_rollups: bool = True) -> tuple[CallCounts, str]:
    """Call counts for ``[start, end)``: rollups for whole covered intervals + raw rows for the edges.

    Returns the counts and the path used ('raw' or 'rollups+raw'). Both paths give the same
    numbers when the rollups are current (tests/test_rollup*.py proves it).
    """
    if not use_rollups:
        return call_counts_raw(session, cities=cities, start=start, end=end, sl_threshold_s=sl_threshold_s,
                               short_abandon_s=short_abandon_s), "raw"
    raw_pieces, middle = _split_for_rollups(session, start, end)
    total = CallCounts()
    path = "raw"
    if middle is not None:
        rolled = call_counts_rollup(session, cities=cities, start=middle[0], end=middle[1],
                                    sl_threshold_s=sl_threshold_s)
        if rolled is None:
            raw_pieces = [(start, end)]
        else:
            total, path = rolled, "rollups+raw"
    if raw_pieces:
        total = total + call_counts_raw(session, cities=cities, start=start, end=end, ranges=raw_pieces,
                                        sl_threshold_s=sl_threshold_s, short_abandon_s=short_abandon_s)
    return total, path


_BY_CITY_STATEMENTS: dict[tuple, Any] = {}


def _by_city_statement(many: bool, raw_pieces: int, middle: bool):
    """call_counts_by_city's statement for one shape, with bind parameters (cities, sl, short,
    lo0/hi0.. for the raw pieces, mlo/mhi for the rollups' middle): built once per process."""
    key = (many, raw_pieces, middle)
    if key in _BY_CITY_STATEMENTS:
        return _BY_CITY_STATEMENTS[key]
    sl = bindparam("sl")
    columns = call_count_columns(sl_threshold_s=sl, short_abandon_s=bindparam("short"))
    names = [f"c{i}" for i in range(len(columns))] + ["stale"]
    parts = []
    if raw_pieces:
        ranges = or_(*(and_(Call.queued_at >= bindparam(f"lo{i}"), Call.queued_at < bindparam(f"hi{i}"))
                       for i in range(raw_pieces)))
        parts.append(select(Call.city.label("city"), *(c.label(n) for c, n in zip(columns, names)),
                            literal(0).label("stale"))
                     .where(_matches(Call.city, "cities", many), ranges).group_by(Call.city))
    if middle:
        r = CallRollup
        sums = [r.offered, r.answered, r.abandoned, r.short_abandoned, r.answered_within_sl,
                r.wait_answered_sum_s, r.ended, r.handle_sum_s]
        parts.append(select(r.city.label("city"), *(func.sum(c).label(n) for c, n in zip(sums, names)),
                            func.sum(case((r.sl_threshold_s != sl, 1), else_=0)).label("stale"))
                     .where(_matches(r.city, "cities", many), r.interval_start >= bindparam("mlo"),
                            r.interval_start < bindparam("mhi"))
                     .group_by(r.city))
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    stmt = select(both.c.city, *(func.coalesce(func.sum(both.c[n]), 0) for n in names)).group_by(both.c.city)
    _BY_CITY_STATEMENTS[key] = stmt
    return stmt


def call_counts_by_city(session: Session, *, cities, start: datetime, end: datetime, sl_threshold_s: float,
                        short_abandon_s: float, use_rollups: bool = True) -> dict[str, CallCounts]:
    """``call_counts`` of each city (cities without calls are left out), in one grouped statement:
    the rollups of the covered whole intervals and the raw edges, summed per city (the league)."""
    if not cities or start >= end:
        return {}
    raw_pieces, middle = _split_for_rollups(session, start, end) if use_rollups else ([(start, end)], None)
    cities = list(cities)
    many = len(cities) > 1
    params: dict[str, Any] = {"cities": cities if many else cities[0], "sl": float(sl_threshold_s),
                              "short": float(short_abandon_s)}
    for i, (lo, hi) in enumerate(raw_pieces):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
    if middle is not None:
        params["mlo"], params["mhi"] = middle
    rows = session.execute(_by_city_statement(many, len(raw_pieces), middle is not None), params).all()
    if any(int(row[-1]) for row in rows):  # a rollup row of another SL threshold: raw for the window
        return call_counts_by_city(session, cities=cities, start=start, end=end, sl_threshold_s=sl_threshold_s,
                                   short_abandon_s=short_abandon_s, use_rollups=False)
    return {row[0]: _call_counts_from_row(row[1:]) for row in rows}


def connection_counts_by_city(session: Session, *, cities, start: datetime, end: datetime,
                              settings: Settings) -> dict[str, CallCounts]:
    """The counts of the connection rate (``offered``, ``answered``, ``abandoned``,
    ``short_abandoned``; the other fields 0) of each city for ``[start, end)``: ``call_days`` for the
    whole local days inside it (``store.days``, when kept as ``settings`` count), ``call_counts_by_city``
    for the rest. Cities without calls are left out."""
    from cockpit.store import days  # here: store.days builds its rows from this package's columns

    whole = days.whole_days(start, end, settings.tz) if days.usable(session, settings) else None
    pieces = [(start, end)] if whole is None else [(lo, hi) for lo, hi in ((start, whole[0]), (whole[1], end))
                                                    if lo < hi]
    out: dict[str, CallCounts] = {}

    def add(city: str, cc: CallCounts) -> None:
        cc = CallCounts(offered=cc.offered, answered=cc.answered, abandoned=cc.abandoned,
                        short_abandoned=cc.short_abandoned)
        out[city] = out[city] + cc if city in out else cc

    for lo, hi in pieces:
        for city, cc in call_counts_by_city(session, cities=cities, start=lo, end=hi,
                                            sl_threshold_s=float(settings.sl_threshold_s),
                                            short_abandon_s=settings.short_abandon_s).items():
            add(city, cc)
    if whole is not None and cities:
        cities = list(cities)
        many = len(cities) > 1
        stmt = _once_statement(("call_days", many), lambda: _call_day_statement(many))
        for row in session.execute(stmt, {"cities": cities if many else cities[0], "lo": whole[0], "hi": whole[1]}):
            if row[1]:
                add(row[0], CallCounts(offered=int(row[1]), answered=int(row[2]), abandoned=int(row[3]),
                                       short_abandoned=int(row[4])))
    return out


def _once_statement(key: tuple, build):
    if key not in _BY_CITY_STATEMENTS:
        _BY_CITY_STATEMENTS[key] = build()
    return _BY_CITY_STATEMENTS[key]


def _call_day_statement(many: bool):
    d = CallDay
    return (select(d.city, func.sum(d.offered), func.sum(d.answered), func.sum(d.abandoned),
                   func.sum(d.short_abandoned))
            .where(_matches(d.city, "cities", many), d.day_start >= bindparam("lo"), d.day_start < bindparam("hi"))
            .group_by(d.city))


def queue_now(session: Session, *, cities, now: datetime) -> tuple[int, float | None]:
    """Calls waiting in the agent queue at ``now`` and the longest wait (seconds), from SQL.

    A call waits when it was queued at or before ``now`` (within WAITING_MAX_AGE_S) and has
    neither an answer nor an abandon yet.
    """
    if not cities:
        return 0, None
    stmt = select(func.count(), func.min(Call.queued_at)).where(
        one_of(Call.city, cities), Call.queued_at <= now,
        Call.queued_at > now - timedelta(seconds=WAITING_MAX_AGE_S),
        Call.answered_at.is_(None), Call.abandoned_at.is_(None),
    )
    n, oldest = session.execute(stmt).one()
    return int(n), ((now - oldest).total_seconds() if oldest is not None else None)


def handling_seconds(session: Session, *, cities, start: datetime, end: datetime,
                     use_rollups: bool = True) -> tuple[float, str]:
    """Talk + hold + after-call work of answered calls *ended* in ``[start, end)``, and the path used.

    Short windows scan the calls queued from ``start - MAX_CALL_SPAN``. Long windows (over
    ROLLUP_HANDLING_MIN) take the calls *queued* in the window from the rollups (+ raw edges),
    minus those that ended after the window, plus those queued before it that ended inside:
    both corrections only scan MAX_CALL_SPAN next to each end.
    """
    handle = handle_time_expr()
    answered = [one_of(Call.city, cities), Call.answered_at.is_not(None)]
    long_only = long_call(session.get_bind().dialect.name)

    def sum_of(q_lo: datetime, q_hi: datetime, e_lo: datetime | None, e_hi: datetime | None, *extra):
        conds = [*answered, Call.queued_at >= q_lo, Call.queued_at < q_hi, Call.ended_at.is_not(None), *extra]
        if e_lo is not None:
            conds.append(Call.ended_at >= e_lo)
        if e_hi is not None:
            conds.append(Call.ended_at < e_hi)
        return select(func.coalesce(func.sum(handle), 0.0)).where(*conds).scalar_subquery()

    def raw_sum(q_lo: datetime, q_hi: datetime, e_lo: datetime | None, e_hi: datetime | None) -> float:
        return float(session.execute(select(sum_of(q_lo, q_hi, e_lo, e_hi))).scalar_one())

    def in_flight(q_lo: datetime, edge: datetime, e_hi: datetime | None, *also) -> float:
        """Calls queued in ``[q_lo, edge)`` that ended in ``[edge, e_hi)`` (plus the sums ``also``),
        one statement: those queued over IN_FLIGHT_SCAN before the edge lasted over two hours,
        so ``ix_calls_long_city_queued`` holds them; only the last IN_FLIGHT_SCAN is scanned."""
        mid = max(q_lo, edge - IN_FLIGHT_SCAN)
        total = sum_of(mid, edge, edge, e_hi) + sum_of(q_lo, mid, edge, e_hi, long_only)
        for part in also:
            total = total + part
        return float(session.execute(select(total)).scalar_one())

    if not use_rollups or end - start <= ROLLUP_HANDLING_MIN:
        # queued inside and ended inside, plus those in flight at the start that ended inside
        return in_flight(start - MAX_CALL_SPAN, start, end, sum_of(start, end, start, end)), "raw"
    pieces, middle = _split_for_rollups(session, start, end)
    queued_in = 0.0
    if middle is not None:
        r = CallRollup
        queued_in = float(session.execute(
            select(func.coalesce(func.sum(r.handle_sum_s), 0.0))
            .where(one_of(r.city, cities), r.interval_start >= middle[0], r.interval_start < middle[1])
        ).scalar_one())
    queued_in += sum(raw_sum(lo, hi, None, None) for lo, hi in pieces)
    ended_after = in_flight(max(start, end - MAX_CALL_SPAN), end, None)
    ended_inside_from_before = in_flight(start - MAX_CALL_SPAN, start, end)
    return queued_in - ended_after + ended_inside_from_before, "rollups+raw" if middle is not None else "raw"


_SEAT_STATEMENTS: dict[tuple, Any] = {}


def _seat_span_statement(dialect: str, many: bool):
    """seat_times' statement (bind parameters: cities, start, stop), built once per shape: seconds
    per state of the seats' changes in ``[start, stop)``, each lasting until the seat's next one."""
    key = (dialect, many)
    if key in _SEAT_STATEMENTS:
        return _SEAT_STATEMENTS[key]
    c = SeatStateChange
    start, stop = bindparam("start", type_=DateTime()), bindparam("stop", type_=DateTime())
    # Each seat's last change before the window: one backward probe of
    # ix_seat_state_changes_city_seat_occurred per seat (every seat with a change has a ``seats``
    # row), not a scan of the cities' whole seat history (tests/test_indexes.py).
    before = (select(func.max(c.occurred_at)).where(c.city == Seat.city, c.seat_id == Seat.seat_id,
                                                   c.occurred_at < start).scalar_subquery())
    last_before = (select(Seat.city, Seat.seat_id, before.label("at"))
                   .where(_matches(Seat.city, "cities", many)).subquery())
    opening = select(c.city, c.seat_id, c.occurred_at, c.id, c.state).join(
        last_before,
        and_(c.city == last_before.c.city, c.seat_id == last_before.c.seat_id,
             c.occurred_at == last_before.c.at),
    )
    inside = select(c.city, c.seat_id, c.occurred_at, c.id, c.state).where(
        _matches(c.city, "cities", many), c.occurred_at >= start, c.occurred_at < stop
    )
    # Each change lasts until the seat's next one (LEAD), clipped to the window; summed in SQL.
    changes = opening.union_all(inside).subquery()
    following = func.lead(changes.c.occurred_at).over(
        partition_by=(changes.c.city, changes.c.seat_id), order_by=(changes.c.occurred_at, changes.c.id)
    )
    spans = select(changes.c.state, changes.c.occurred_at.label("at"), following.label("next_at")).subquery()
    greatest, least = (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    lo = greatest(spans.c.at, start)
    hi = least(func.coalesce(spans.c.next_at, stop), stop)
    seconds = func.sum(case((hi > lo, _seconds_between(dialect, lo, hi)), else_=0.0))
    _SEAT_STATEMENTS[key] = select(spans.c.state, seconds).group_by(spans.c.state)
    return _SEAT_STATEMENTS[key]


def seat_times(session: Session, *, cities, start: datetime, end: datetime, now: datetime,
               use_rollups: bool = True) -> SeatTimes:
    """Handling, ready and logged-in seconds in ``[start, min(end, now))`` for the cities' seats.

    Logged-in and ready time come from ``seat_state_changes`` (a state lasts until the seat's
    next change; 'offline' = logged out), clipped to the window. Handling time is talk + hold +
    after-call work of answered calls ended in the window (``handling_seconds``; answered calls
    always carry their seat).
    """
    out = SeatTimes(by_state_now={})
    if not cities:
        return out
    for state, n in session.execute(
        select(Seat.state, func.count()).where(one_of(Seat.city, cities)).group_by(Seat.state)
    ):
        out.by_state_now[state] = int(n)
    stop = min(end, now)
    if start >= stop:
        return out
    out.handling_s, _path = handling_seconds(session, cities=cities, start=start, end=stop,
                                             use_rollups=use_rollups)
    dialect = session.get_bind().dialect.name
    cities = list(cities)
    stmt = _seat_span_statement(dialect, len(cities) > 1)
    params = {"cities": cities if len(cities) > 1 else cities[0], "start": start, "stop": stop}
    for state, total in session.execute(stmt, params):
        total = float(total or 0.0)
        if state not in LOGGED_OUT_STATES:
            out.logged_in_s += total
        if state == "ready":
            out.ready_s += total
    return out


def _ticket_filters(cities, districts, start: datetime, end: datetime) -> list:
    conds = [one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    return conds


TICKET_GROUPS = {"city": Ticket.city, "district": Ticket.district, "unit": Ticket.unit, "category": Ticket.category}


def ticket_counts(session: Session, *, cities, districts=None, start: datetime, end: datetime, now: datetime,
                  settings: Settings, group_by: str | tuple[str, ...] | None = None, use_cohorts: bool = True
                  ) -> TicketCounts | dict[Any, TicketCounts]:
    """Counts over the tickets created in ``[start, end)`` (naive UTC) in their current state.

    With ``group_by`` (a name of TICKET_GROUPS) returns ``{group value: TicketCounts}`` instead;
    with a tuple of names, ``{(value, value, ...): TicketCounts}``. Ungrouped and by city or
    district, the frozen cohorts' rows stand in for their tickets (``ticket_counts_cohorts``) unless
    ``use_cohorts`` is False; the figures are the same.
    """
    if not cities or start >= end:
        return {} if group_by is not None else TicketCounts()
    if use_cohorts and group_by in (None, "city", "district"):
        return ticket_counts_days(session, cities=cities, districts=districts, start=start, end=end,
                                  now=now, settings=settings, group_by=group_by)
    cols = ticket_count_columns(
        session.get_bind().dialect.name, now=now, response_deadline_s=response_deadline_s(settings),
        count_basic_satisfied=count_basic_as_satisfied(settings),
    )
    conds = _ticket_filters(cities, districts, start, end)
    if group_by is None:
        return TicketCounts(*(int(v) for v in session.execute(select(*cols).where(*conds)).one()))
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    keys = [TICKET_GROUPS[n] for n in names]
    rows = session.execute(select(*keys, *cols).where(*conds).group_by(*keys))
    n = len(keys)
    return {(row[0] if isinstance(group_by, str) else tuple(row[:n])): TicketCounts(*(int(v) for v in row[n:]))
            for row in rows}


_COHORT_STATEMENTS: dict[tuple, Any] = {}


def _matches(column, name: str, many: bool):
    return column.in_(bindparam(name, expanding=True)) if many else column == bindparam(name)


def _cohort_statement(dialect: str, *, many_cities: bool, districts: int, group_by: str | None,
                      count_basic: bool):
    """The cohort read of ``ticket_counts_cohorts`` for one shape, with bind parameters (cities,
    districts, lo, hi, due_before, deadline): built once per process, since building this
    statement costs more client CPU than running it."""
    key = (dialect, many_cities, districts, group_by, count_basic)
    if key in _COHORT_STATEMENTS:
        return _COHORT_STATEMENTS[key]
    d, c, t = TicketCohortDay, TicketCohort, Ticket
    lo, hi, due_before, deadline = bindparam("lo"), bindparam("hi"), bindparam("due_before"), bindparam("deadline")
    cols = ticket_count_columns(dialect, now=None, response_deadline_s=deadline, count_basic_satisfied=count_basic,
                                due_before=due_before)
    usable = and_(d.dirty.is_(False), d.response_deadline_s == deadline, d.count_basic_satisfied.is_(count_basic),
                  or_(d.unresponded_dispatch_max.is_(None), d.unresponded_dispatch_max <= due_before),
                  d.day_start >= lo, d.day_end <= hi)
    names = [n for n in TicketCohort.__table__.c.keys() if n not in ("city", "day_start", "district")]
    row_key = {"city": c.city, "district": func.nullif(c.district, "")}.get(group_by or "")
    ticket_key = TICKET_GROUPS.get(group_by or "")
    days_in = [_matches(d.city, "cities", many_cities), d.day_start < hi, d.day_end > lo]
    frozen_rows = select(*([row_key.label("k")] if row_key is not None else []),
                         *(getattr(c, n).label(n) for n in names)).join(
        d, and_(d.city == c.city, d.day_start == c.day_start)).where(
        _matches(c.city, "cities", many_cities), *days_in, usable)
    conds = [_matches(t.city, "cities", many_cities), t.created_at >= lo, t.created_at < hi]
    if districts:
        frozen_rows = frozen_rows.where(_matches(c.district, "districts", districts > 1))
        conds.append(_matches(t.district, "districts", districts > 1))
    lead = [ticket_key.label("k")] if ticket_key is not None else []
    labelled = [col.label(n) for col, n in zip(cols, names)]
    unfrozen = select(*lead, *labelled).where(*conds, not_(t.cohort_frozen))
    if dialect == "postgresql":
        # day by day (LATERAL): the few unusable days drive an index range scan each, never a scan
        # of the window's tickets
        bad = select(d.city, d.day_start, d.day_end).where(*days_in, not_(usable)).subquery()
        per_day = select(*lead, *labelled).where(
            *conds, t.cohort_frozen.is_(True), t.city == bad.c.city, t.created_at >= bad.c.day_start,
            t.created_at < bad.c.day_end)
        if ticket_key is not None:
            per_day = per_day.group_by(ticket_key)
        per_day = per_day.lateral()
        cut = select(*(per_day.c[n] for n in (["k"] if lead else []) + names)).select_from(
            bad.join(per_day, true()))
    else:
        cut = select(*lead, *labelled).join(
            d, and_(d.city == t.city, t.created_at >= d.day_start, t.created_at < d.day_end)).where(
            *conds, t.cohort_frozen.is_(True), *days_in, not_(usable))
        if ticket_key is not None:
            cut = cut.group_by(ticket_key)
    if ticket_key is not None:
        unfrozen = unfrozen.group_by(ticket_key)
    parts = union_all(frozen_rows, unfrozen, cut).subquery()
    sums = [func.coalesce(func.sum(parts.c[n]), 0) for n in names]
    stmt = select(*sums) if ticket_key is None else select(parts.c.k, *sums).group_by(parts.c.k)
    _COHORT_STATEMENTS[key] = stmt
    return stmt


def ticket_counts_cohorts(session: Session, *, cities, districts, start: datetime,
                          end: datetime, now: datetime, settings: Settings, group_by: str | None
                          ) -> TicketCounts | dict[Any, TicketCounts]:
    """``ticket_counts`` from the frozen cohorts, in one statement (one snapshot): the rows of the
    usable city-days inside the window, plus the tickets not frozen
    (``ix_tickets_unfrozen_city_created``), plus the frozen tickets of days that are not usable
    (dirty, counted with other settings, not settled at ``now``, or cut by the window's edges)."""
    deadline = response_deadline_s(settings)
    cities, districts = list(cities), list(districts or ())
    stmt = _cohort_statement(session.get_bind().dialect.name, many_cities=len(cities) > 1,
                             districts=min(len(districts), 2), group_by=group_by,
                             count_basic=count_basic_as_satisfied(settings))
    params = {"cities": cities if len(cities) > 1 else cities[0], "lo": start, "hi": end, "deadline": deadline,
              "due_before": now - timedelta(seconds=deadline)}
    if districts:
        params["districts"] = districts if len(districts) > 1 else districts[0]
    if group_by is None:
        return TicketCounts(*(int(v) for v in session.execute(stmt, params).one()))
    return {row[0]: TicketCounts(*(int(v) for v in row[1:])) for row in session.execute(stmt, params)}


def _day_statement(dialect: str, many_cities: bool, districts: int, group_by: str | None, tail: bool):
    """The days' read of ``ticket_counts_days`` for one shape, with bind parameters (cities,
    districts, lo, hi, upto, due_before): the ``ticket_days`` rows of ``[lo, hi)``, plus the dispatched
    tickets created in ``[lo, upto)`` without a response whose deadline passed before ``due_before``
    (``ix_tickets_unresponded_city_created``; the days leave them out of ``due_for_response``), and with
    ``tail`` minus the tickets created in ``[upto, hi)`` (the rest of the window's last day: none when
    the window ends now). Built once per process."""
    key = ("days", dialect, many_cities, districts, group_by, tail)
    if key in _COHORT_STATEMENTS:
        return _COHORT_STATEMENTS[key]
    d, t = TicketDay, Ticket
    lo, hi, upto = bindparam("lo"), bindparam("hi"), bindparam("upto")
    names = [n for n in TicketDay.__table__.c.keys() if n not in ("city", "day_start", "district")]
    row_key = {"city": d.city, "district": func.nullif(d.district, "")}.get(group_by or "")
    ticket_key = TICKET_GROUPS.get(group_by or "")
    lead = [ticket_key.label("k")] if ticket_key is not None else []
    day_rows = select(*([row_key.label("k")] if row_key is not None else []),
                      *(getattr(d, n).label(n) for n in names)).where(
        _matches(d.city, "cities", many_cities), d.day_start >= lo, d.day_start < hi)
    late = [func.count().label(n) if n == "due_for_response" else literal(0).label(n) for n in names]
    ticket_parts = [select(*lead, *late).where(
        _matches(t.city, "cities", many_cities), t.created_at >= lo, t.created_at < upto,
        t.first_dispatched_at.is_not(None), t.responded_at.is_(None), t.first_dispatched_at <= bindparam("due_before"))]
    if tail:  # counted as the day rows count them (only responded tickets "due"), taken out
        cols = ticket_count_columns(dialect, now=None, response_deadline_s=bindparam("deadline"),
                                    count_basic_satisfied=bindparam("basic", type_=Boolean),
                                    due_before=literal(NEVER_DUE))
        ticket_parts.append(select(*lead, *((-c).label(n) for c, n in zip(cols, names))).where(
            _matches(t.city, "cities", many_cities), t.created_at >= upto, t.created_at < hi))
    if districts:
        day_rows = day_rows.where(_matches(d.district, "districts", districts > 1))
        ticket_parts = [p.where(_matches(t.district, "districts", districts > 1)) for p in ticket_parts]
    if ticket_key is not None:
        ticket_parts = [p.group_by(ticket_key) for p in ticket_parts]
    parts = union_all(day_rows, *ticket_parts).subquery()
    sums = [func.coalesce(func.sum(parts.c[n]), 0) for n in names]
    stmt = select(*sums) if ticket_key is None else select(parts.c.k, *sums).group_by(parts.c.k)
    _COHORT_STATEMENTS[key] = stmt
    return stmt


def ticket_counts_days(session: Session, *, cities, districts, start: datetime, end: datetime, now: datetime,
                       settings: Settings, group_by: str | None) -> TicketCounts | dict[Any, TicketCounts]:
    """``ticket_counts`` from the day rollups (``store.days``): the rows of the whole local days of the
    window; a last day cut past its middle (the window ends now, late in the day) as its row minus
    the tickets after the window's end (none when it ends now); the parts of days left at the edges
    from the frozen cohorts (``ticket_counts_cohorts``), and everything from them when the day
    rollups are not kept as ``settings`` count."""
    from cockpit.store import days  # here: store.days builds its rows from this package's columns

    span = days.day_span(start, end, settings.tz) if days.usable(session, settings) else None
    if span is None:
        return ticket_counts_cohorts(session, cities=cities, districts=districts, start=start, end=end,
                                     now=now, settings=settings, group_by=group_by)
    lo, hi, upto = span
    cities, districts = list(cities), list(districts or ())
    tail = upto < hi
    stmt = _day_statement(session.get_bind().dialect.name, len(cities) > 1, min(len(districts), 2), group_by, tail)
    deadline = response_deadline_s(settings)
    params = {"cities": cities if len(cities) > 1 else cities[0], "lo": lo, "hi": hi, "upto": upto,
              "due_before": now - timedelta(seconds=deadline)}
    if tail:
        params.update(deadline=deadline, basic=count_basic_as_satisfied(settings))
    if districts:
        params["districts"] = districts if len(districts) > 1 else districts[0]
    if group_by is None:
        total = TicketCounts(*(int(v) for v in session.execute(stmt, params).one()))
    else:
        total = {row[0]: TicketCounts(*(int(v) for v in row[1:])) for row in session.execute(stmt, params)}
    for a, b in ((start, lo), (upto, end)):
        if a < b:
            edge = ticket_counts_cohorts(session, cities=cities, districts=districts, start=a, end=b, now=now,
                                         settings=settings, group_by=group_by)
            if group_by is None:
                total = total + edge
            else:
                for k, v in edge.items():
                    total[k] = total[k] + v if k in total else v
    if group_by is not None:  # a group of zero rows (a day row of zeros) is no group
        total = {k: v for k, v in total.items() if v.created}
    return total


def tickets_created(session: Session, *, cities, districts=None, start: datetime, end: datetime,
                    use_rollups: bool = True) -> int:
    """Tickets created in ``[start, end)``: ``ticket_rollups_15m`` for covered intervals + raw edges."""
    if not cities or start >= end:
        return 0

    def raw(ranges):
        conds = [one_of(Ticket.city, cities), _in_ranges(Ticket.created_at, ranges)]
        if districts:
            conds.append(one_of(Ticket.district, districts))
        return int(session.execute(select(func.count()).select_from(Ticket).where(*conds)).scalar_one())

    if not use_rollups:
        return raw([(start, end)])
    pieces, middle = _split_for_rollups(session, start, end)
    total = 0
    if middle is not None:
        r = TicketRollup
        conds = [one_of(r.city, cities), r.interval_start >= middle[0], r.interval_start < middle[1]]
        if districts:
            conds.append(one_of(r.district, districts))
        total = int(session.execute(select(func.coalesce(func.sum(r.created), 0)).where(*conds)).scalar_one())
    return total + (raw(pieces) if pieces else 0)


def overdue_open_now(session: Session, *, cities, districts=None, now: datetime) -> int:
    """Tickets not closed whose due_at is before ``now`` (all of the scope, not a cohort)."""
    if not cities:
        return 0
    # an IN list (not "!= 'closed'") lets the (status, due_at) index serve each open status
    conds = [one_of(Ticket.city, cities), Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now]
    if districts:
        conds.append(one_of(Ticket.district, districts))
    return int(session.execute(select(func.count()).select_from(Ticket).where(*conds)).scalar_one())


def abandon_wait_totals(session: Session, *, cities, start: datetime, end: datetime) -> tuple[int, float]:
    """(calls abandoned unanswered, total queue wait in seconds of calls with a wait) over the calls
    queued in ``[start, end)`` (naive UTC): the two sums behind the patience estimate."""
    abandoned = and_(Call.abandoned_at.is_not(None), Call.answered_at.is_(None))
    waited = Call.wait_s.is_not(None)
    n_ab, wait_sum = session.execute(
        select(func.coalesce(func.sum(case((abandoned, 1), else_=0)), 0),
               func.coalesce(func.sum(case((waited, Call.wait_s), else_=0.0)), 0.0))
        .where(one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end)
    ).one()
    return int(n_ab or 0), float(wait_sum or 0.0)


def seats_in_states(session: Session, *, cities, states: Sequence[str]) -> int:
    """Seats of ``cities`` whose current state is one of ``states`` (now)."""
    return int(session.execute(
        select(func.count()).select_from(Seat).where(one_of(Seat.city, cities), Seat.state.in_(list(states)))
    ).scalar_one())
