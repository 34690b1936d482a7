"""The day rollups (``call_days``, ``ticket_days``): kept by every write, in the write's transaction.

A history read over whole local days (a KPI month, the league's 30 days) sums one row per city and
day (and district for tickets) instead of counting the calls or tickets one by one. Each writer of
``calls`` or ``tickets`` takes the touched rows' contributions out before it rewrites them
(``calls_changed(..., -1)``) and puts the new ones in after (``+1``), by one grouped
``INSERT ... SELECT ... ON CONFLICT`` each; the columns are the metric contract's own SQL
(``store.counting.call_count_columns`` / ``ticket_count_columns``, which the metric queries use
too), so the definitions live once and
every path (per event, bulk, COPY) gives the same rows. Counts are integers, so deltas are exact.

What the columns depend on (the zone's UTC offset for the local day, the short-abandon threshold,
the response deadline, whether "basic" counts as satisfied) is the one row of ``day_rollup_shape``:
writers join it (nothing is kept while it is missing), ``rebuild`` writes it from the settings and
recounts from ``calls`` and ``tickets`` (the tables are always recomputable), readers use the days
only when it matches their settings (``usable``). Local days need a zone with one UTC offset over
2000-2099 (China's is +8); elsewhere nothing is kept and readers take the other paths.
Times are naive UTC. Functions take a session first and never commit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Integer, cast, delete, func, insert, literal, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Selectable

from cockpit.batching import batches
from cockpit.store.counting import NEVER_DUE, call_count_columns, ticket_count_columns
from cockpit.settings import Settings
from cockpit.store.models import Call, CallDay, DayRollupShape, Ticket, TicketDay
from cockpit.timeutil import local_midnight, naive_utc

DAY_S = 86400
CALL_COUNTS = ["offered", "answered", "abandoned", "short_abandoned"]  # call_count_columns' first four
TICKET_COUNTS = [c.name for c in TicketDay.__table__.columns if c.name not in ("city", "day_start", "district")]
IN_CHUNK = 400  # keys per IN (...) list (a call key is two parameters; SQLite allows 999)


@functools.lru_cache(maxsize=16)
def fixed_offset_s(tz: tzinfo) -> int | None:
    """The zone's UTC offset in seconds when it is the same all of 2000-2099, else None."""
    offsets = {tz.utcoffset(datetime(year, month, 1)) for year in range(2000, 2100) for month in (1, 7)}
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) if offset is not None else None


def wanted_shape(settings: Settings) -> dict[str, Any] | None:
    """The shape the days must have for ``settings`` (None: the zone has no fixed offset)."""
    offset = fixed_offset_s(settings.tz)
    if offset is None:
        return None
    return {"tz_offset_s": offset, "short_abandon_s": float(settings.short_abandon_s),
            # the settings behind metrics.definitions.response_deadline_s / count_basic_as_satisfied
            "response_deadline_s": float(settings.response_deadline_s),
            "count_basic_satisfied": bool(settings.count_basic_as_satisfied)}


def current_shape(session: Session) -> dict[str, Any] | None:
    """The stored shape (None when the days are not kept)."""
    row = session.get(DayRollupShape, 1)
    if row is None:
        return None
    return {"tz_offset_s": row.tz_offset_s, "short_abandon_s": row.short_abandon_s,
            "response_deadline_s": row.response_deadline_s, "count_basic_satisfied": row.count_basic_satisfied}


def usable(session: Session, settings: Settings) -> bool:
    """The days are kept and counted as ``settings`` count (the stored shape read once a session)."""
    want = wanted_shape(settings)
    return want is not None and session_shape(session) == want


def session_shape(session: Session) -> dict[str, Any] | None:
    """``current_shape``, cached for the life of the session (``rebuild`` drops it)."""
    if "day_rollup_shape" not in session.info:
        session.info["day_rollup_shape"] = current_shape(session)
    return session.info["day_rollup_shape"]


def day_start_sql(dialect: str, column, offset_s):
    """SQL: the local midnight (naive UTC, as the dialect stores a DateTime) of the day holding
    ``column``, for a zone ``offset_s`` seconds ahead of UTC (an SQL value or an int)."""
    if dialect == "postgresql":
        origin = literal(datetime(2000, 1, 1)) - func.make_interval(0, 0, 0, 0, 0, 0, offset_s)
        return func.date_bin(text("interval '1 day'"), column, origin)
    epoch = cast(func.strftime("%s", column), Integer) + offset_s
    return func.strftime("%Y-%m-%d %H:%M:%S", (epoch // DAY_S) * DAY_S - offset_s, "unixepoch").concat(".000000")


def whole_days(start: datetime, end: datetime, tz: tzinfo) -> tuple[datetime, datetime] | None:
    """The local midnights ``(first, last)`` (naive UTC) bounding the whole local days inside
    ``[start, end)`` (naive UTC), or None when no whole day lies inside."""
    first_day = start.replace(tzinfo=UTC).astimezone(tz).date()
    lo = naive_utc(local_midnight(first_day, tz))
    if lo < start:
        lo = naive_utc(local_midnight(first_day + timedelta(days=1), tz))
    hi = naive_utc(local_midnight(end.replace(tzinfo=UTC).astimezone(tz).date(), tz))
    return (lo, hi) if lo < hi else None


def day_span(start: datetime, end: datetime, tz: tzinfo) -> tuple[datetime, datetime, datetime] | None:
    """The day rows a ticket read of ``[start, end)`` (naive UTC) takes: ``(lo, hi, upto)``, the local
    midnights bounding the rows and the end of what they stand for. A last day cut by ``end`` past its
    middle is taken whole (``hi`` its end) with ``upto = end``, the tickets of ``[end, hi)`` to be
    taken out (none when ``end`` is now); else ``hi = upto`` = the last midnight before ``end``.
    None when no day qualifies (a window inside one day, before its middle)."""
    first_day = start.replace(tzinfo=UTC).astimezone(tz).date()
    lo = naive_utc(local_midnight(first_day, tz))
    if lo < start:
        lo = naive_utc(local_midnight(first_day + timedelta(days=1), tz))
    last_day = end.replace(tzinfo=UTC).astimezone(tz).date()
    base = naive_utc(local_midnight(last_day, tz))
    hi = upto = base
    if end > base:
        following = naive_utc(local_midnight(last_day + timedelta(days=1), tz))
        if end - base > following - end:
            hi, upto = following, end
    return (lo, hi, upto) if lo < hi else None


# --- the rows a set of calls or tickets adds ------------------------------------------------


def _call_rows(dialect: str, where: list, sign: int = 1):
    s = DayRollupShape
    day = day_start_sql(dialect, Call.queued_at, s.tz_offset_s)
    counts = call_count_columns(sl_threshold_s=0.0, short_abandon_s=s.short_abandon_s)[:len(CALL_COUNTS)]
    return (select(Call.city, day, *(c * sign for c in counts)).select_from(Call).join(s, s.id == 1)
            .where(Call.queued_at.is_not(None), *where)
            .group_by(Call.city, day).order_by(Call.city, day))


def _ticket_rows(dialect: str, where: list, sign: int = 1):
    s, t = DayRollupShape, Ticket
    day = day_start_sql(dialect, t.created_at, s.tz_offset_s)
    district = func.coalesce(t.district, "")
    counts = ticket_count_columns(dialect, now=None, response_deadline_s=s.response_deadline_s,
                                  count_basic_satisfied=s.count_basic_satisfied, due_before=literal(NEVER_DUE))
    return (select(t.city, day, district, *(c * sign for c in counts)).select_from(t).join(s, s.id == 1)
            .where(t.created_at.is_not(None), *where)
            .group_by(t.city, day, district).order_by(t.city, day, district))


def _add(session: Session, model, keys: list[str], names: list[str], rows) -> None:
    """Add ``rows`` (key columns, then ``names``) to ``model``'s rows, inserting missing ones."""
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model).from_select(keys + names, rows)
    table = model.__table__
    session.execute(stmt.on_conflict_do_update(index_elements=keys,
                                               set_={n: table.c[n] + stmt.excluded[n] for n in names}))


def calls_changed(session: Session, keys: Sequence[tuple[str, str]] | Selectable, sign: int) -> None:
    """Take out (``sign`` -1, before a write) or put in (+1, after it) what these calls add to
    ``call_days``; ``keys``: (city, call_id) pairs, or a SELECT of them."""
    dialect = session.get_bind().dialect.name
    key = tuple_(Call.city, Call.call_id)
    chunks = [keys] if isinstance(keys, Selectable) else list(batches(sorted(set(keys)), IN_CHUNK))
    for chunk in chunks:
        _add(session, CallDay, ["city", "day_start"], CALL_COUNTS, _call_rows(dialect, [key.in_(chunk)], sign))


def tickets_changed(session: Session, ticket_ids: Sequence[str] | Selectable, sign: int) -> None:
    """As ``calls_changed`` for ``ticket_days``; ``ticket_ids``: ids, or a SELECT of them."""
    dialect = session.get_bind().dialect.name
    chunks = [ticket_ids] if isinstance(ticket_ids, Selectable) else list(batches(sorted(set(ticket_ids)), IN_CHUNK))
    for chunk in chunks:
        _add(session, TicketDay, ["city", "day_start", "district"], TICKET_COUNTS,
             _ticket_rows(dialect, [Ticket.ticket_id.in_(chunk)], sign))


# --- rebuilding from the raw rows -----------------------------------------------------------


def rebuild(session: Session, settings: Settings, *, start: datetime | None = None,
            end: datetime | None = None) -> dict[str, int]:
    """Recount the days touching ``[start, end)`` (naive UTC) from ``calls`` and ``tickets``, or all
    of them (and the shape) when no range is given or the stored shape is not ``settings``'.
    PostgreSQL: holds SHARE locks on ``calls`` and ``tickets`` (writers wait) to the commit, so no
    write falls between the recount and the rows. Idempotent. Returns the rows the tables hold."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE calls, tickets IN SHARE MODE"))
    session.info.pop("day_rollup_shape", None)
    want = wanted_shape(settings)
    whole = start is None or end is None or want is None or current_shape(session) != want
    call_where: list = []
    ticket_where: list = []
    if whole:
        for model in (CallDay, TicketDay, DayRollupShape):
            session.execute(delete(model))
        if want is None:
            return {"call_days": 0, "ticket_days": 0}
        session.add(DayRollupShape(id=1, built_at=datetime.now(UTC).replace(tzinfo=None), **want))
        session.flush()
    else:
        lo = _floor_day(start, want["tz_offset_s"])
        hi = _floor_day(end - timedelta(microseconds=1), want["tz_offset_s"]) + timedelta(days=1)
        for model in (CallDay, TicketDay):
            session.execute(delete(model).where(model.day_start >= lo, model.day_start < hi))
        call_where = [Call.queued_at >= lo, Call.queued_at < hi]
        ticket_where = [Ticket.created_at >= lo, Ticket.created_at < hi]
    session.execute(insert(CallDay).from_select(["city", "day_start", *CALL_COUNTS], _call_rows(dialect, call_where)))
    session.execute(insert(TicketDay).from_select(["city", "day_start", "district", *TICKET_COUNTS],
                                                  _ticket_rows(dialect, ticket_where)))
    return {"call_days": _rows(session, CallDay), "ticket_days": _rows(session, TicketDay)}


def ensure(session: Session, settings: Settings) -> bool:
    """Rebuild every day when the stored shape is missing or not ``settings``' (after the migration,
    a change of settings); True when it rebuilt. A no-op read otherwise."""
    want = wanted_shape(settings)
    if want is not None and current_shape(session) == want:
        return False
    if want is None and current_shape(session) is None:
        return False
    rebuild(session, settings)
    return True


def _floor_day(moment: datetime, offset_s: int) -> datetime:
    """The local midnight (naive UTC) at or before naive-UTC ``moment``, ``offset_s`` ahead of UTC."""
    seconds = int((moment.replace(tzinfo=UTC) + timedelta(seconds=offset_s)).timestamp())
    return (datetime.fromtimestamp(seconds - seconds % DAY_S, UTC) - timedelta(seconds=offset_s)).replace(tzinfo=None)


def _rows(session: Session, model) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def rows(session: Session, model) -> list[tuple]:
    """Every row of ``call_days`` or ``ticket_days`` with any count, in key order (for comparing paths)."""
    names = CALL_COUNTS if model is CallDay else TICKET_COUNTS
    table = model.__table__
    keys = [c for c in table.primary_key.columns]
    out = session.execute(select(table).order_by(*keys)).all()
    return [tuple(r) for r in out if any(getattr(r, n) for n in names)]
