"""The counts of the volume watchpoints (``cockpit.watch.rules_volume``, ``rules_scan``, ``rules_stscan``).

Keys are the city, or city x district x category (x sub-category); raw tickets give the recent
windows, ``ticket_rollups_15m`` the baseline weeks (one index range scan of (city, interval_start)
per window). Times are naive UTC, windows ``[a, b)``. Read-only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cockpit.store.models import Ticket, TicketRollup
from cockpit.store.rollups import sub_category_sql


def volume_keys(t=Ticket, r=TicketRollup, *, by_district: bool, sub: bool, dialect: str) -> tuple[list, list]:
    """The key columns of a volume rule on tickets (``t``) and on ticket rollups (``r``): the city,
    or city x district x category (x sub-category) — one definition for every volume rule."""
    if by_district:
        keys_t = [t.city, func.coalesce(t.district, "").label("district"),
                  func.coalesce(t.category, "").label("category")]
        keys_r = [r.city, r.district, r.category]
        if sub:
            keys_t.append(func.coalesce(sub_category_sql(dialect), "").label("subcategory"))
            keys_r.append(r.subcategory)
        return keys_t, keys_r
    return [t.city], [r.city]


def volume_counts(session: Session, *, by_district: bool, sub: bool, start: datetime, end: datetime,
                  min_count: int) -> list:
    """Tickets created in ``[start, end)`` per key, keys with at least ``min_count`` only."""
    keys_t, _ = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    t = Ticket
    return session.execute(
        select(*keys_t, func.count().label("n")).where(t.created_at >= start, t.created_at < end)
        .group_by(*keys_t).having(func.count() >= min_count)).all()


def volume_window_counts(session: Session, *, by_district: bool, sub: bool, end: datetime,
                         windows_h: tuple[float, ...], min_count: int) -> list:
    """Tickets per key in each window ``[end - w hours, end)`` (columns ``w0``, ``w1``, ...), keys
    with at least ``min_count`` tickets in the longest window only."""
    keys_t, _ = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    t = Ticket
    cols = [func.sum(case((t.created_at >= end - timedelta(hours=w), 1), else_=0)).label(f"w{j}")
            for j, w in enumerate(windows_h)]
    return session.execute(
        select(*keys_t, *cols).where(t.created_at >= end - timedelta(hours=max(windows_h)), t.created_at < end)
        .group_by(*keys_t).having(func.count() >= min_count)).all()


def volume_rollup_windows(session: Session, *, by_district: bool, sub: bool,
                          windows: list[tuple[datetime, datetime]], cities: list[str],
                          keys: list[tuple] | None = None) -> dict[tuple, list[int]]:
    """Rollup ticket sums per key and window: ``{key: [sum in windows[0], sum in windows[1], ...]}``.
    ``keys`` (tuples of the key columns) narrows the read when given (up to 1,000 keys)."""
    from sqlalchemy import literal_column, tuple_, union_all

    _, keys_r = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    r, nk = TicketRollup, len(keys_r)
    out: dict[tuple, list[int]] = {}
    if not windows:
        return out
    only = [tuple_(*keys_r).in_(keys)] if keys is not None and nk > 1 and len(keys) <= 1000 else []
    parts = [select(*keys_r, literal_column(str(i)).label("week"), func.sum(r.created).label("n"))
             .where(r.city.in_(cities), r.interval_start >= a, r.interval_start < b, *only).group_by(*keys_r)
             for i, (a, b) in enumerate(windows)]
    for row in session.execute(union_all(*parts)):
        out.setdefault(tuple(row[:nk]), [0] * len(windows))[int(row.week)] += int(row.n or 0)
    return out


def volume_rollup_multiwindow(session: Session, *, by_district: bool, sub: bool, ends: list[datetime],
                              windows_h: tuple[float, ...], cities: list[str],
                              keys: list[tuple] | None = None) -> tuple[dict[tuple, list[float]], dict[str, list[float]]]:
    """Rollup sums of the windows ``[e - w hours, e)`` summed over the ``ends``, per key and per
    city: ``({key: [per window]}, {city: [per window]})`` (the baseline weeks of the scan)."""
    from sqlalchemy import tuple_, union_all

    _, keys_r = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    r, nk, wmax = TicketRollup, len(keys_r), max(windows_h)
    nw = len(windows_h)

    def cols(b_end):
        return [func.sum(case((r.interval_start >= b_end - timedelta(hours=w), r.created), else_=0)).label(f"w{j}")
                for j, w in enumerate(windows_h)]

    only = [tuple_(*keys_r).in_(keys)] if keys is not None and nk > 1 and len(keys) <= 1000 else []
    parts, cparts = [], []
    for b_end in ends:
        rng = (r.interval_start >= b_end - timedelta(hours=wmax), r.interval_start < b_end, r.city.in_(cities))
        parts.append(select(*keys_r, *cols(b_end)).where(*rng, *only).group_by(*keys_r))
        cparts.append(select(r.city, *cols(b_end)).where(*rng).group_by(r.city))
    own: dict[tuple, list[float]] = {}
    city: dict[str, list[float]] = {}
    for row in session.execute(union_all(*parts)):
        acc = own.setdefault(tuple(row[:nk]), [0.0] * nw)
        for j in range(nw):
            acc[j] += float(row._mapping[f"w{j}"] or 0)
    for row in session.execute(union_all(*cparts)):
        acc = city.setdefault(row.city, [0.0] * nw)
        for j in range(nw):
            acc[j] += float(row._mapping[f"w{j}"] or 0)
    return own, city


def volume_key_totals(session: Session, *, by_district: bool, sub: bool, start: datetime,
                      end: datetime) -> list[tuple[tuple, int]]:
    """Rollup ticket totals per key over ``[start, end)``: ``[(key, n)]`` (keys with n > 0)."""
    _, keys_r = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    r, nk = TicketRollup, len(keys_r)
    rows = session.execute(select(*keys_r, func.sum(r.created).label("n"))
                           .where(r.interval_start >= start, r.interval_start < end).group_by(*keys_r))
    return [(tuple(row[:nk]), int(row.n or 0)) for row in rows if int(row.n or 0) > 0]


def city_interval_counts(session: Session, *, cities: list[str], start: datetime,
                         end: datetime) -> list[tuple[str, datetime, int]]:
    """Tickets created per city and 15-minute interval in ``[start, end)``, from the rollups:
    ``[(city, interval_start, n)]`` (intervals without tickets are absent)."""
    r = TicketRollup
    rows = session.execute(select(r.city, r.interval_start, func.sum(r.created))
                           .where(r.city.in_(cities), r.interval_start >= start, r.interval_start < end)
                           .group_by(r.city, r.interval_start))
    return [(city, at, int(n or 0)) for city, at, n in rows]


def volume_rollup_series(session: Session, *, by_district: bool, sub: bool, start: datetime,
                         end: datetime) -> list[tuple[tuple, datetime, int]]:
    """Every key's rollup ticket count per 15-minute interval in ``[start, end)``:
    ``[(key, interval_start, n)]`` (intervals without tickets are absent)."""
    _, keys_r = volume_keys(by_district=by_district, sub=sub, dialect=session.get_bind().dialect.name)
    r, nk = TicketRollup, len(keys_r)
    rows = session.execute(select(*keys_r, r.interval_start, r.created)
                           .where(r.interval_start >= start, r.interval_start < end, r.created > 0))
    return [(tuple(row[:nk]), row[nk], int(row[nk + 1])) for row in rows]
