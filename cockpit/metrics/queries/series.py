"""Count series: calls offered per 15-minute interval for seat planning, and the per-interval and
per-day series behind the screens' curves.

Same definitions as the KPI counts (``counts``): an offered call is one queued that was offered,
answered or abandoned; a ticket counts on its ``created_at``. Inside the rollups' coverage the
rollups are read. Times are naive UTC. Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, cast, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from cockpit.metrics.queries.counts import _matches, call_count_columns, one_of, rollup_coverage
from cockpit.store.models import Call, CallRollup, Ticket, TicketCohort, TicketCohortDay, TicketDay, TicketRollup
from cockpit.store.rollups import bucket_sql as interval_bucket
from cockpit.timeutil import INTERVAL_S, local_midnight, naive_utc


def offered_per_interval(session: Session, *, cities, start: datetime, end: datetime) -> dict[datetime, int]:
    """Calls offered (by ``queued_at``) per 15-minute interval start in [start, end) (naive UTC);
    intervals without a call are absent. One grouped query over raw calls (the forecast's history)."""
    bucket = interval_bucket(session.get_bind().dialect.name, Call.queued_at).label("b")
    stmt = (select(bucket, call_count_columns(sl_threshold_s=0, short_abandon_s=0)[0])
            .where(one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end)
            .group_by(bucket))
    found: dict[datetime, int] = {}
    for b, n in session.execute(stmt):
        when = b if isinstance(b, datetime) else datetime.fromisoformat(str(b))
        found[when.replace(tzinfo=None)] = int(n or 0)
    return found


def calls_queued(session: Session, *, cities, start: datetime, end: datetime) -> int:
    """Calls that entered the queue in [start, end) (naive UTC), answered, abandoned or waiting."""
    return int(session.execute(select(func.count()).select_from(Call)
                               .where(one_of(Call.city, cities), Call.queued_at >= start, Call.queued_at < end))
               .scalar_one())


def cities_with_calls(session: Session, *, start: datetime, end: datetime) -> list[str]:
    """Cities with a call queued in [start, end) (naive UTC), sorted."""
    return sorted(session.scalars(select(Call.city).where(Call.queued_at >= start, Call.queued_at < end)
                                  .distinct()))


# --- the screens' curves (per 15-minute interval and per local day) ------------------------------
# Same definitions as above: an offered call is one queued that was offered, answered or abandoned;
# a ticket counts on its ``created_at``. Inside the rollups' coverage the rollups are read.

INTERVALS_PER_DAY = 96


def _bucket_epoch(dialect: str, column):
    """SQL: epoch second of the 15-minute interval (UTC-aligned) holding a naive-UTC column."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / INTERVAL_S), Integer) * INTERVAL_S
    return (cast(func.strftime("%s", column), Integer) // INTERVAL_S) * INTERVAL_S


def _interval_index(start: datetime, epoch_s: int) -> int:
    return int((epoch_s - start.replace(tzinfo=UTC).timestamp()) // INTERVAL_S)


def interval_series(session: Session, *, cities: Sequence[str], start: datetime, kind: str) -> list[int]:
    """Per-15-minute counts of one local day starting at ``start`` (naive UTC), 96 values.

    ``kind`` 'offered' (calls by queued_at) or 'tickets' (tickets by created_at). Uses the 15-minute
    rollups inside their completed coverage and raw rows elsewhere (same definitions as
    ``cockpit.metrics.rollups``).
    """
    end = start + timedelta(days=1)
    out = [0] * INTERVALS_PER_DAY
    if not cities:
        return out
    dialect = session.get_bind().dialect.name
    coverage = rollup_coverage(session)
    lo, hi = (max(start, coverage[0]), min(end, coverage[1])) if coverage else (end, end)
    raw_pieces = [(start, end)] if lo >= hi else [(s, e) for s, e in ((start, lo), (hi, end)) if s < e]
    if lo < hi:
        if kind == "offered":
            r = CallRollup
            stmt = select(r.interval_start, func.sum(r.offered)).where(
                one_of(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        else:
            r = TicketRollup
            stmt = select(r.interval_start, func.sum(r.created)).where(
                one_of(r.city, cities), r.interval_start >= lo, r.interval_start < hi
            ).group_by(r.interval_start)
        for at, n in session.execute(stmt):
            i = int((at - start).total_seconds() // INTERVAL_S)
            if 0 <= i < INTERVALS_PER_DAY:
                out[i] += int(n or 0)
    for s, e in raw_pieces:
        if kind == "offered":
            column = Call.queued_at
            offered = or_(Call.offered_at.is_not(None), Call.answered_at.is_not(None),
                          Call.abandoned_at.is_not(None))
            conds = [one_of(Call.city, cities), column >= s, column < e, offered]
        else:
            column = Ticket.created_at
            conds = [one_of(Ticket.city, cities), column >= s, column < e]
        bucket = _bucket_epoch(dialect, column).label("b")
        for b, n in session.execute(select(bucket, func.count()).where(*conds).group_by(bucket)):
            i = _interval_index(start, int(b))
            if 0 <= i < INTERVALS_PER_DAY:
                out[i] += int(n)
    return out


def category_counts(session: Session, *, cities: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """Tickets created in ``[start, end)`` (naive UTC) by top-level category."""
    if not cities or start >= end:
        return {}
    rows = session.execute(
        select(Ticket.category, func.count()).where(
            one_of(Ticket.city, cities), Ticket.created_at >= start, Ticket.created_at < end
        ).group_by(Ticket.category)
    )
    return {(c or ""): int(n) for c, n in rows}


_STATEMENTS: dict[tuple, Any] = {}  # statements built once per shape (their SQL construction costs
# more client CPU than running them): pure, so shared by every session of the process


def _once(key: tuple, build):
    if key not in _STATEMENTS:
        _STATEMENTS[key] = build()
    return _STATEMENTS[key]


def _day_of(column, n: int):
    """SQL: the index of the day holding ``column`` among ``n`` consecutive days whose ends are the
    bind parameters ``end0 .. end{n-1}`` (naive UTC): exact for any zone (a 23- or 25-hour day too),
    the same on every dialect."""
    return case(*((column < bindparam(f"end{i}"), i) for i in range(n)), else_=n)


def _daily_statements(n: int, many: bool) -> dict[str, Any]:
    """daily_tickets' statements for ``n`` days (bind parameters: cities, lo, hi, end0..)."""
    t, d, c = Ticket, TicketCohortDay, TicketCohort
    in_window = [_matches(t.city, "cities", many), t.created_at >= bindparam("lo"), t.created_at < bindparam("hi")]
    day = _day_of(t.created_at, n).label("d")
    return {
        "in_window": in_window, "day": day,
        "raw": select(t.city, day, func.count()).where(*in_window).group_by(t.city, day),
        "unfrozen": select(t.city, day, func.count()).where(*in_window, not_(t.cohort_frozen)).group_by(t.city, day),
        "day_rows": (select(TicketDay.city, TicketDay.day_start, func.sum(TicketDay.created))
                     .where(_matches(TicketDay.city, "cities", many), TicketDay.day_start >= bindparam("lo"),
                            TicketDay.day_start < bindparam("hi"))
                     .group_by(TicketDay.city, TicketDay.day_start)),
        "frozen_days": (select(d.city, d.day_start, d.day_end, d.dirty, func.sum(c.created))
                        .join(c, and_(c.city == d.city, c.day_start == d.day_start))
                        .where(_matches(d.city, "cities", many), d.day_start < bindparam("hi"),
                               d.day_end > bindparam("lo"))
                        .group_by(d.city, d.day_start, d.day_end, d.dirty)),
    }


def days_kept_in(session: Session, tz: tzinfo) -> bool:
    """The day rollups are kept for local days of ``tz`` (what ``created`` needs of their shape)."""
    from cockpit.store import days  # here: store.days builds its rows from this package's columns

    shape = days.session_shape(session)
    return shape is not None and shape["tz_offset_s"] == days.fixed_offset_s(tz)


def daily_tickets(session: Session, *, cities: Sequence[str], days: Sequence[date], tz: tzinfo,
                  use_cohorts: bool = True) -> dict[str, list[int]]:
    """Tickets created per city per local day in ``days`` (consecutive, ascending).

    With ``use_cohorts`` the day rollups give the counts (``store.days``, kept for the zone ``tz``:
    a row per city and day); without them the frozen city-days (``metrics.cohorts``) give their
    ``created`` sums and only the tickets not frozen, and those of days that cannot be used as they
    are (dirty, or not one of ``days`` exactly), are counted row by row; the counts are the same."""
    out = {c: [0] * len(days) for c in cities}
    if not cities or not days:
        return out
    bounds = [(naive_utc(local_midnight(d, tz)), naive_utc(local_midnight(d + timedelta(days=1), tz)))
              for d in days]
    cities = list(cities)
    many = len(cities) > 1
    parts = _once(("daily", len(days), many), lambda: _daily_statements(len(days), many))
    params = {"cities": cities if many else cities[0], "lo": bounds[0][0], "hi": bounds[-1][1],
              **{f"end{i}": hi for i, (_lo, hi) in enumerate(bounds)}}
    rows: list[tuple[str, int, int]] = []
    if not use_cohorts:
        rows += session.execute(parts["raw"], params).all()
    elif days_kept_in(session, tz):  # the day rollups: a row per city and day (store.days)
        index = {lo: i for i, (lo, _hi) in enumerate(bounds)}
        for city, day_start, n in session.execute(parts["day_rows"], params):
            if isinstance(day_start, str):  # SQLite
                day_start = datetime.fromisoformat(day_start)
            if day_start in index:
                rows.append((city, index[day_start], int(n)))
    else:
        t = Ticket
        index = {lo: (i, hi) for i, (lo, hi) in enumerate(bounds)}
        bad = []
        for city, lo, hi, dirty, n in session.execute(parts["frozen_days"], params):
            i, day_end = index.get(lo, (None, None))
            if dirty or i is None or day_end != hi:
                bad.append(and_(t.city == city, t.created_at >= lo, t.created_at < hi))
            else:
                rows.append((city, i, int(n)))
        rows += session.execute(parts["unfrozen"], params).all()
        if bad:  # rare (a day recounted within the minute, other zone settings): built as it comes
            day = parts["day"]
            rows += session.execute(select(t.city, day, func.count())
                                    .where(*parts["in_window"], t.cohort_frozen.is_(True), or_(*bad))
                                    .group_by(t.city, day), params).all()
    for city, i, n in rows:
        if city in out and 0 <= int(i) < len(days):
            out[city][int(i)] += int(n)
    return out


def _probes(n: int, many: bool):
    return select(*(exists().where(_matches(Ticket.city, "cities", many), Ticket.created_at >= bindparam(f"lo{i}"),
                                   Ticket.created_at < bindparam(f"hi{i}")) for i in range(n)))


def days_with_tickets(session: Session, *, cities: Sequence[str], days: Sequence[date], tz: tzinfo) -> list[bool]:
    """Whether any ticket of ``cities`` was created on each local day of ``days``: the day rollups'
    rows when they are kept for ``tz`` (``store.days``), else one statement of one index probe per
    day (the first ticket found answers), not a count of every ticket."""
    if not cities or not days:
        return [False] * len(days)
    cities = list(cities)
    many = len(cities) > 1
    params: dict[str, Any] = {"cities": cities if many else cities[0]}
    for i, day in enumerate(days):
        params[f"lo{i}"] = naive_utc(local_midnight(day, tz))
        params[f"hi{i}"] = naive_utc(local_midnight(day + timedelta(days=1), tz))
    if days_kept_in(session, tz):
        d = TicketDay
        stmt = _once(("day_rows_filled", many), lambda: select(d.day_start).where(
            _matches(d.city, "cities", many), d.day_start >= bindparam("lo"), d.day_start < bindparam("hi"),
            d.created > 0).distinct())
        filled = set()
        for (start,) in session.execute(stmt, {**params, "lo": params["lo0"], "hi": params[f"hi{len(days) - 1}"]}):
            filled.add(datetime.fromisoformat(start) if isinstance(start, str) else start)
        return [params[f"lo{i}"] in filled for i in range(len(days))]
    stmt = _once(("probes", len(days), many), lambda: _probes(len(days), many))
    return [bool(v) for v in session.execute(stmt, params).one()]
