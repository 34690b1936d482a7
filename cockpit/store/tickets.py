"""Ticket reads for the drill-down: the filtered grid, facets, one ticket, related tickets, export pages.

Every query of ``tickets`` behind /supervise, /tickets/<id> and the exports is here, built from one
``TicketFilter`` so the grid, the facets and the export always agree. The caller's scope
(``TicketFilter.restrict``) is ANDed to every query. Times are naive UTC. Functions take a
session first and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from cockpit.events import OPEN_STATUSES
from cockpit.store.models import ADDRESS_NOISE, Alert, AlertItem, Region, Ticket, TicketRollup, TicketStep
from cockpit.store.models import normalized_address_pg
from cockpit.timeutil import local_day_utc

# Grid columns: id -> SQL column. Only these can be sorted or filtered (a whitelist).
GRID_COLUMNS: dict[str, Any] = {
    "ticket_id": Ticket.ticket_id, "created_at": Ticket.created_at, "district": Ticket.district,
    "category": Ticket.category, "unit": Ticket.unit, "status": Ticket.status, "due_at": Ticket.due_at,
    "closed_at": Ticket.closed_at, "returns": Ticket.returns, "transfers": Ticket.transfers,
    "satisfaction": Ticket.satisfaction, "channel": Ticket.channel, "urgency": Ticket.urgency,
    "address": Ticket.address,
}
FACET_COLUMNS = {"district": Ticket.district, "category": Ticket.category}
PLACES_FALLBACK_DAYS = 35  # menus fall back to the last five weeks of rollups (small), never a scan of tickets


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets the grid, the facets and the export show. ``None`` = no condition."""

    city: str | None = None
    district: str | None = None
    category: str | None = None
    unit: str | None = None
    status: str | None = None  # 'open' | 'closed' | a status
    created_from: datetime | None = None  # naive UTC
    created_to: datetime | None = None
    ticket_ids: tuple[str, ...] | None = None
    no_callback: bool | None = None
    alert: int | None = None
    items_alert: int | None = None  # the tickets inside this alert (alert_items)
    items_rule: str | None = None  # the tickets inside the alerts of this rule ...
    items_state: str | None = None  # ... in this state ('open' = any open state; None = any)
    # The caller's scope (cockpit.auth.scope.restriction): ANDed to every query; None = everywhere.
    restrict: tuple | None = None


def scope_condition(restrict: tuple | None, city_column, district_column):
    """An SQL condition keeping rows (tickets, alerts) inside ``restrict`` (``(("city"|"district",
    codes), ...)``, as ``cockpit.auth.scope.restriction`` builds it); None when unrestricted."""
    if restrict is None:
        return None
    parts = [(district_column.in_(codes) if kind == "district" else city_column.in_(codes))
             for kind, codes in restrict if codes]
    return or_(*parts) if parts else false()


def normalized_address_sql(column, dialect: str = "sqlite"):
    """SQL twin of the repeat rule's ``normalize_address``: one translate() on PostgreSQL, nested
    replace() elsewhere."""
    if dialect == "postgresql":
        return normalized_address_pg(column)
    expr = func.lower(column)
    for ch in ADDRESS_NOISE:
        expr = func.replace(expr, ch, "")
    return expr


def _conditions(flt: TicketFilter) -> list:
    t = Ticket
    conds = []
    in_scope = scope_condition(flt.restrict, t.city, t.district)
    if in_scope is not None:
        conds.append(in_scope)
    if flt.ticket_ids is not None:
        conds.append(t.ticket_id.in_(list(flt.ticket_ids)) if flt.ticket_ids else t.ticket_id.is_(None))
    if flt.items_alert is not None:
        conds.append(t.ticket_id.in_(select(AlertItem.ticket_id).where(AlertItem.alert_id == flt.items_alert)))
    if flt.items_rule is not None:
        inside = select(AlertItem.ticket_id).join(Alert, Alert.id == AlertItem.alert_id).where(
            Alert.rule == flt.items_rule)
        if flt.items_state == "open":
            inside = inside.where(Alert.open_key.is_not(None))
        elif flt.items_state:
            inside = inside.where(Alert.state == flt.items_state)
        if flt.city:
            inside = inside.where(Alert.city == flt.city)
        if flt.district:
            inside = inside.where(Alert.district == flt.district)
        conds.append(t.ticket_id.in_(inside))
    if flt.city:
        conds.append(t.city == flt.city)
    if flt.district:
        conds.append(t.district == flt.district)
    if flt.category:
        conds.append(t.category == flt.category)
    if flt.unit:
        conds.append(t.unit == flt.unit)
    if flt.status == "open":
        conds.append(t.status.in_(OPEN_STATUSES))
    elif flt.status:
        conds.append(t.status == flt.status)
    if flt.created_from is not None:
        conds.append(t.created_at >= flt.created_from)
    if flt.created_to is not None:
        conds.append(t.created_at < flt.created_to)
    if flt.no_callback is not None:
        conds.append(t.no_callback.is_(bool(flt.no_callback)))
    return conds


def _grid_filter_conditions(filter_model: dict | None, tz: tzinfo) -> list:
    """AG Grid's filter model (text/number/date column filters) as SQL conditions (whitelisted)."""
    conds = []
    for col_id, spec in (filter_model or {}).items():
        column = GRID_COLUMNS.get(col_id)
        if column is None or not isinstance(spec, dict):
            continue
        kind, op = spec.get("filterType"), spec.get("type", "contains")
        if kind == "text":
            value = str(spec.get("filter") or "")
            if not value:
                continue
            pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append({
                "equals": column == value, "notEqual": column != value,
                "startsWith": column.like(pattern + "%", escape="\\"),
                "endsWith": column.like("%" + pattern, escape="\\"),
                "notContains": ~column.like("%" + pattern + "%", escape="\\"),
            }.get(op, column.like("%" + pattern + "%", escape="\\")))
        elif kind == "number":
            try:
                value = float(spec.get("filter"))
            except (TypeError, ValueError):
                continue
            conds.append({"equals": column == value, "notEqual": column != value, "lessThan": column < value,
                          "lessThanOrEqual": column <= value, "greaterThan": column > value,
                          "greaterThanOrEqual": column >= value}.get(op, column == value))
        elif kind == "date":
            lo = local_day_utc(spec.get("dateFrom"), tz)
            hi = local_day_utc(spec.get("dateTo"), tz, end=True)
            if op == "inRange" and lo and hi:
                conds.append(and_(column >= lo, column < hi))
            elif op == "equals" and lo:
                conds.append(and_(column >= lo, column < lo + timedelta(days=1)))
            elif op == "greaterThan" and lo:
                conds.append(column >= lo + timedelta(days=1))
            elif op == "lessThan" and lo:
                conds.append(column < lo)
    return conds


def _order(sort_model: list | None) -> list:
    out = []
    for spec in sort_model or []:
        column = GRID_COLUMNS.get(spec.get("colId"))
        if column is not None:
            out.append(column.asc() if spec.get("sort") == "asc" else column.desc())
    if not out:
        out.append(Ticket.created_at.desc())
    return out + [Ticket.ticket_id.asc()]


def page(session: Session, flt: TicketFilter, *, offset: int, limit: int, sort_model: list | None = None,
         filter_model: dict | None = None, tz: tzinfo) -> list[Ticket]:
    """Tickets ``[offset, offset + limit)`` of the filter (and AG Grid's column filters, dates read
    in ``tz``) in the grid's order: the sort model, then newest first, then ticket id (stable)."""
    conds = _conditions(flt) + _grid_filter_conditions(filter_model, tz)
    return list(session.scalars(select(Ticket).where(*conds).order_by(*_order(sort_model))
                                .offset(offset).limit(limit)))


def count_capped(session: Session, flt: TicketFilter, *, cap: int, filter_model: dict | None = None,
                 tz: tzinfo) -> int:
    """How many tickets match, counted up to ``cap + 1`` (so the count never scans millions of rows)."""
    conds = _conditions(flt) + _grid_filter_conditions(filter_model, tz)
    return int(session.scalar(select(func.count()).select_from(
        select(Ticket.ticket_id).where(*conds).limit(cap + 1).subquery())))


def facet_counts(session: Session, flt: TicketFilter, name: str, *, limit: int) -> list[tuple[str, int]]:
    """Ticket counts of the filter by ``name`` ('district' or 'category'), most first, top ``limit``;
    a missing value counts as ''."""
    column = FACET_COLUMNS[name]
    rows = session.execute(
        select(func.coalesce(column, ""), func.count()).where(*_conditions(flt)).group_by(column)
        .order_by(func.count().desc()).limit(limit))
    return [(str(k), int(n)) for k, n in rows]


def region_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Code -> Chinese name for the known ones among ``codes`` (empty codes ignored)."""
    codes = [c for c in codes if c]
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def known_places(session: Session, city: str | None, *, now: datetime) -> tuple[list[str], list[str]]:
    """City codes, and the districts of ``city``, for the filter menus: from the regions table,
    else from the last PLACES_FALLBACK_DAYS of ticket rollups (small), never from a scan of ``tickets``."""
    cities = list(session.scalars(select(Region.code).where(Region.level == "city").order_by(Region.code)))
    districts = list(session.scalars(select(Region.code).where(Region.parent == city, Region.level == "district")
                                     .order_by(Region.code))) if city else []
    since = now - timedelta(days=PLACES_FALLBACK_DAYS)
    if not cities:
        cities = list(session.scalars(select(TicketRollup.city).where(TicketRollup.interval_start >= since)
                                      .distinct().order_by(TicketRollup.city)))
    if city and not districts:
        districts = [d for d in session.scalars(
            select(TicketRollup.district).where(TicketRollup.city == city, TicketRollup.interval_start >= since)
            .distinct().order_by(TicketRollup.district)) if d]
    return cities, districts


def get(session: Session, ticket_id: str) -> Ticket | None:
    """One ticket row, or None."""
    return session.get(Ticket, ticket_id)


def steps(session: Session, ticket_id: str, *, first: datetime | None = None,
          last: datetime | None = None) -> list[TicketStep]:
    """The stored steps of one ticket in time order (ties by arrival).

    ``first``/``last``: the ticket row's ``first_step_at`` / ``updated_at`` (its earliest and latest
    step), which bound ``occurred_at`` so PostgreSQL reads only those months' partitions of
    ``ticket_steps`` instead of probing every month; without them every month is probed."""
    conds = [TicketStep.ticket_id == ticket_id]
    if first is not None and last is not None:
        conds += [TicketStep.occurred_at >= first, TicketStep.occurred_at <= last]
    return list(session.scalars(select(TicketStep).where(*conds).order_by(TicketStep.occurred_at, TicketStep.id)))


def related(session: Session, ticket: Ticket, *, normalized_address: str | None, restrict: tuple | None,
            days: int, limit: int) -> list[Ticket]:
    """Tickets of the same city as ``ticket`` created within ``days`` of it whose normalised address
    equals ``normalized_address`` (None: not compared) or whose caller is its (unmasked) caller;
    inside ``restrict``; newest first, at most ``limit``. Empty when there is nothing to compare."""
    if ticket.created_at is None:
        return []
    same = []
    if normalized_address is not None:
        dialect = session.get_bind().dialect.name
        same.append(normalized_address_sql(Ticket.address, dialect) == normalized_address)
    if ticket.caller and "*" not in ticket.caller:
        same.append(Ticket.caller == ticket.caller)
    if not same:
        return []
    span = timedelta(days=days)
    in_scope = scope_condition(restrict, Ticket.city, Ticket.district)
    if in_scope is not None:
        same = [and_(in_scope, or_(*same))]
    return list(session.scalars(
        select(Ticket).where(Ticket.city == ticket.city, Ticket.ticket_id != ticket.ticket_id,
                             Ticket.created_at >= ticket.created_at - span, Ticket.created_at <= ticket.created_at + span,
                             or_(*same))
        .order_by(Ticket.created_at.desc()).limit(limit)))


def columns(ticket: Ticket) -> dict[str, Any]:
    """Every column of a ticket row by name (the ticket page shows them all)."""
    return {c.name: getattr(ticket, c.name) for c in Ticket.__table__.columns}
