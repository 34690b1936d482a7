"""Drill-down queries for /supervise and /tickets/<id>: server-side pages, facets, timelines.

Everything the supervision pages show comes from here, page by page: the ticket grid asks for
rows ``[start_row, end_row)`` with AG Grid's sort and filter models, and gets only those rows
plus a row count (exact up to ``COUNT_CAP``, else -1 = unknown, so counting never scans millions
of rows). Filters come from the URL query (``filter_from_query``), so a view can be shared.

Times in and out of the database are naive UTC; what is shown is formatted in ``settings.tz``.
Functions taking a session never commit; functions taking ``stores`` own their transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cockpit import timeutil
from cockpit.watch import alerts
from cockpit.metrics import definitions
from cockpit.store.models import Alert, AlertItem, Region, Ticket, TicketRollup, TicketStep
from cockpit.settings import Settings
from cockpit.views.grid_request import MAX_ID, check_grid_request
from cockpit.watch.evaluate import OPEN_STATUSES, RULE_NAMES, normalize_address, normalized_address_sql

COUNT_CAP = 200_000  # a city's month of tickets counts exactly ('1 to 50 of 41,236'); beyond, -1
MAX_BLOCK = 500
FACET_LIMIT = 15
EXPORT_CHUNK = 5_000
EXPORT_MAX_ROWS = 1_000_000
RELATED_DAYS = 90
RELATED_LIMIT = 20
DEFAULT_WINDOW_DAYS = 30

# Grid columns: id -> SQL column. Only these can be sorted or filtered (a whitelist).
GRID_COLUMNS: dict[str, Any] = {
    "ticket_id": Ticket.ticket_id, "created_at": Ticket.created_at, "district": Ticket.district,
    "category": Ticket.category, "unit": Ticket.unit, "status": Ticket.status, "due_at": Ticket.due_at,
    "closed_at": Ticket.closed_at, "returns": Ticket.returns, "transfers": Ticket.transfers,
    "satisfaction": Ticket.satisfaction, "channel": Ticket.channel, "urgency": Ticket.urgency,
    "address": Ticket.address,
}
EXPORT_COLUMNS = ("ticket_id", "city", "district", "category", "unit", "status", "channel", "urgency",
                  "created_at", "due_at", "closed_at", "returns", "transfers", "satisfaction", "address", "text")
TIME_COLUMNS = ("created_at", "due_at", "closed_at")
QUERY_KEYS = ("city", "district", "category", "unit", "status", "from", "to", "alert", "rule", "state", "page",
              "suppressed")
INBOX_PAGE = 25  # alerts per inbox page (paging has no cap; the total is exact)


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


def _local_day(text: str | None, tz, *, end: bool = False) -> datetime | None:
    """'YYYY-MM-DD' (a local date) -> naive UTC of its start (or of the next day's start)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return timeutil.naive_utc(datetime.combine(day, time(0)), tz)


def _caller(principal=None):
    """The principal a read or write runs for: the one given, else the request's (the system outside
    a request: CLI, jobs)."""
    if principal is not None:
        return principal
    from cockpit.auth.web import current_principal

    return current_principal()


def scoped_filter(session: Session, query: dict[str, str], settings: Settings, principal=None) -> TicketFilter:
    """``filter_from_query`` limited to the caller's scope; a query naming a place outside it -> 403."""
    from cockpit.auth.scope import require_query_places, restriction

    principal = _caller(principal)
    require_query_places(session, principal, query)
    return replace(filter_from_query(query, settings), restrict=restriction(session, principal))


def filter_from_query(query: dict[str, str], settings: Settings) -> TicketFilter:
    """The URL query (city, district, category, unit, status, from, to, alert) as a TicketFilter.

    ``from``/``to`` are local dates, ``to`` inclusive. Unknown or bad values are ignored (a
    shared link never errors). Without an alert and without dates, nothing limits the time.
    """
    tz = settings.tz
    alert = query.get("alert")
    rule = query.get("rule") if query.get("rule") in RULE_NAMES and not alert else None
    state = query.get("state") or "open"
    return TicketFilter(
        items_rule=rule, items_state=None if state == "all" else state,
        city=query.get("city") or None, district=query.get("district") or None,
        category=query.get("category") or None, unit=query.get("unit") or None,
        status=query.get("status") or None,
        created_from=_local_day(query.get("from"), tz), created_to=_local_day(query.get("to"), tz, end=True),
        alert=int(alert) if alert and alert.isdigit() and int(alert) <= MAX_ID else None,
    )


def _apply_alert(session: Session, flt: TicketFilter, now: datetime) -> TicketFilter:
    """Narrow a filter to the tickets behind its alert (the alert's own filter and time window)."""
    if flt.alert is None:
        return flt
    alert = session.get(Alert, flt.alert)
    if alert is None:
        return replace(flt, ticket_ids=())
    spec = (alert.detail or {}).get("filter") or {}
    if spec.get("alert_items"):  # a grouped alert: exactly its tickets
        return replace(flt, items_alert=alert.id, items_rule=None)
    out = replace(flt, city=spec.get("city") or flt.city, district=spec.get("district") or flt.district,
                  category=spec.get("category") or flt.category, unit=spec.get("unit") or flt.unit,
                  no_callback=spec.get("no_callback", flt.no_callback))
    if spec.get("ticket_ids"):
        return replace(out, ticket_ids=tuple(spec["ticket_ids"]))
    if alert.rule.startswith("volume_anomaly"):
        hours = (alert.detail or {}).get("window_h", 1)
        end = alert.resolved_at or now
        return replace(out, created_from=alert.first_seen - timedelta(hours=hours), created_to=end)
    if alert.rule == "no_callback_misuse":
        days = (alert.detail or {}).get("days", 30)
        return replace(out, created_from=out.created_from or alert.first_seen - timedelta(days=days + 15))
    return out


def _conditions(flt: TicketFilter) -> list:
    from cockpit.auth.scope import condition

    t = Ticket
    conds = []
    in_scope = condition(flt.restrict, t.city, t.district)
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


def _grid_filter_conditions(filter_model: dict | None, tz) -> list:
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
            lo = _local_day(spec.get("dateFrom"), tz)
            hi = _local_day(spec.get("dateTo"), tz, end=True)
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


def _fmt(moment: datetime | None, tz) -> str | None:
    return None if moment is None else moment.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _row(t: Ticket, tz) -> dict[str, Any]:
    return {
        "ticket_id": t.ticket_id,
        "created_at": _fmt(t.created_at, tz), "district": t.district, "category": t.category, "unit": t.unit,
        "status": t.status, "due_at": _fmt(t.due_at, tz), "closed_at": _fmt(t.closed_at, tz),
        "returns": t.returns, "transfers": t.transfers, "satisfaction": t.satisfaction, "channel": t.channel,
        "urgency": t.urgency, "address": t.address,
    }


def tickets_page(session: Session, flt: TicketFilter, *, start_row: int, end_row: int,
                 sort_model: list | None = None, filter_model: dict | None = None, settings: Settings,
                 now: datetime | None = None) -> dict[str, Any]:
    """One block of the ticket grid: ``{"rowData": [...], "rowCount": n}`` (AG Grid infinite model).

    ``rowCount`` is exact when the last row is in this block or the total is at most
    COUNT_CAP, else -1 (unknown: the grid keeps extending as the user scrolls). Read-only.
    """
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    flt = _apply_alert(session, flt, now)
    start_row = max(0, int(start_row or 0))
    size = max(1, min(int(end_row or start_row + 100) - start_row, MAX_BLOCK))
    conds = _conditions(flt) + _grid_filter_conditions(filter_model, settings.tz)
    rows = session.scalars(select(Ticket).where(*conds).order_by(*_order(sort_model)).offset(start_row)
                           .limit(size)).all()
    if len(rows) < size:
        count = start_row + len(rows)
    else:
        capped = session.scalar(select(func.count()).select_from(
            select(Ticket.ticket_id).where(*conds).limit(COUNT_CAP + 1).subquery()))
        count = int(capped) if capped <= COUNT_CAP else -1
    return {"rowData": [_row(t, settings.tz) for t in rows], "rowCount": count}


def grid_rows(stores, query: dict[str, str], request: dict | None) -> dict[str, Any]:
    """The grid callback's one call: a block of rows for the URL query and AG Grid's request.
    Raises ``grid_request.RequestError`` (field and reason) for a malformed request."""
    request = check_grid_request(request)
    with stores.session() as session:
        flt = scoped_filter(session, query, stores.settings)
        return tickets_page(session, flt, start_row=request.get("startRow", 0),
                            end_row=request.get("endRow", 100), sort_model=request.get("sortModel"),
                            filter_model=request.get("filterModel"), settings=stores.settings)


def facets(session: Session, flt: TicketFilter, *, now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
    """Ticket counts by district and by category for the filter (top FACET_LIMIT each).

    The facet being drawn ignores its own condition, so a bar chart still shows the other bars
    after one was clicked (classic cross-filtering). Without a time condition the last
    DEFAULT_WINDOW_DAYS are counted, so a facet never scans the whole history.
    """
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    flt = _apply_alert(session, flt, now)
    if flt.created_from is None and flt.ticket_ids is None and flt.items_alert is None and flt.items_rule is None:
        flt = replace(flt, created_from=now - timedelta(days=DEFAULT_WINDOW_DAYS))
    out = {}
    for name, column, own in (("district", Ticket.district, replace(flt, district=None)),
                              ("category", Ticket.category, replace(flt, category=None))):
        rows = session.execute(
            select(func.coalesce(column, ""), func.count()).where(*_conditions(own)).group_by(column)
            .order_by(func.count().desc()).limit(FACET_LIMIT))
        out[name] = [(str(k), int(n)) for k, n in rows]
    return out


def region_names(session: Session, codes: list[str]) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def breadcrumb(session: Session, settings: Settings, *, city: str | None, district: str | None,
               ticket_id: str | None = None) -> list[dict[str, str | None]]:
    """province -> city -> district -> ticket: [{"code", "name", "query"}] (query: the URL filter)."""
    names = region_names(session, [settings.province, city or "", district or ""])
    crumbs = [{"level": "province", "code": settings.province, "name": names.get(settings.province, settings.province),
               "query": ""}]
    if city:
        crumbs.append({"level": "city", "code": city, "name": names.get(city, city), "query": f"city={city}"})
    if district:
        crumbs.append({"level": "district", "code": district, "name": names.get(district, district),
                       "query": f"city={city or ''}&district={district}"})
    if ticket_id:
        crumbs.append({"level": "ticket", "code": ticket_id, "name": ticket_id, "query": None})
    return crumbs


def known_places(session: Session, city: str | None, *, now: datetime,
                 district: str | None = None) -> tuple[list[str], list[str]]:
    """City codes, and the districts of ``city``, for the filter menus: from the regions table,
    else from the last five weeks of ticket rollups (small), never from a scan of ``tickets``."""
    cities = list(session.scalars(select(Region.code).where(Region.level == "city").order_by(Region.code)))
    districts = list(session.scalars(select(Region.code).where(Region.parent == city, Region.level == "district")
                                     .order_by(Region.code))) if city else []
    since = now - timedelta(days=35)
    if not cities:
        cities = list(session.scalars(select(TicketRollup.city).where(TicketRollup.interval_start >= since)
                                      .distinct().order_by(TicketRollup.city)))
    if city and not districts:
        districts = [d for d in session.scalars(
            select(TicketRollup.district).where(TicketRollup.city == city, TicketRollup.interval_start >= since)
            .distinct().order_by(TicketRollup.district)) if d]
    # The current choice is always an option, so a menu never drops the value a URL gave it.
    if city and city not in cities:
        cities.append(city)
    if district and district not in districts:
        districts.append(district)
    return cities, districts


def supervise_view(stores, query: dict[str, str], *, now: datetime | None = None) -> dict[str, Any]:
    """Everything /supervise shows for a URL query, except the grid rows (paged separately):
    the alerts matching the filters, the selected alert, facets, breadcrumb, region names."""
    settings = stores.settings
    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    principal = _caller()
    with stores.session() as session:
        flt = scoped_filter(session, query, settings, principal)
    scope = query.get("district") or query.get("city") or None
    if scope is None and principal.role != "system" and "*" not in principal.scopes:
        scope = principal.scope  # the inbox of one's own region
    state = query.get("state") or "open"
    rule = query.get("rule") if query.get("rule") in RULE_NAMES else None
    page = int(query["page"]) if str(query.get("page") or "").isdigit() else 0
    suppressed = query.get("suppressed") == "1"
    with stores.session() as session:
        box = alerts.inbox(session, scope=scope, state=state, rule=rule, suppressed=suppressed,
                           since=flt.created_from, until=flt.created_to, limit=INBOX_PAGE, offset=page * INBOX_PAGE)
        rows = box.pop("items")
        selected = alerts.get(session, flt.alert) if flt.alert is not None else None
        if selected is not None and not _alert_in_scope(session, principal, selected):
            selected = None
        effective = _apply_alert(session, flt, now_n)
        facet = facets(session, flt, now=now_n)
        cities, districts = known_places(session, flt.city, now=now_n, district=flt.district)
        names = region_names(session, cities + districts + [d for d, _ in facet["district"]]
                             + [a["district"] or "" for a in rows] + list(box["by_area"]))
        crumbs = breadcrumb(session, settings, city=effective.city, district=effective.district)
        return {
            "query": {k: v for k, v in query.items() if k in QUERY_KEYS and v},
            "alerts": rows, "inbox": box | {"page": page, "pages": max(1, -(-box["total"] // INBOX_PAGE))},
            "selected": alerts.as_dict(selected) if selected is not None else None,
            "history": alerts.events_of(session, selected.id) if selected is not None else [],
            "facets": facet, "names": names, "cities": cities, "districts": districts,
            "breadcrumb": crumbs, "rules": RULE_NAMES, "state": state,
        }


# --- one ticket ---------------------------------------------------------------------------


STEP_LABELS = ("ticket.created", "ticket.dispatched", "ticket.returned", "ticket.transferred",
               "ticket.responded", "ticket.closed", "ticket.callback", "ticket.reopened")


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def _alert_in_scope(session: Session, principal, alert) -> bool:
    from cockpit.auth.scope import covers_place

    return covers_place(session, principal.scopes, alert.city, alert.district)


def mask_ticket(data: dict[str, Any]) -> dict[str, Any]:
    """A ticket's personal data masked for display: the caller (a number 138****1234, a name 张**),
    and phone, ID and bank-card numbers inside the text and the address."""
    from cockpit.privacy import mask_address, mask_text

    out = dict(data)
    caller = out.get("caller")
    if caller:
        digits = caller.replace(" ", "").replace("-", "")
        out["caller"] = mask_text(caller) if any(ch.isdigit() for ch in digits) and mask_text(caller) != caller \
            else (caller[0] + "*" * max(1, len(caller) - 1) if len(caller) > 1 else "*")
    for key in ("text", "resolution"):
        if isinstance(out.get(key), str):
            out[key] = mask_text(out[key])
    if isinstance(out.get("address"), str):
        out["address"] = mask_address(out["address"])
    return out


def related_tickets(session: Session, ticket: Ticket, *, principal=None) -> list[dict[str, Any]]:
    """Tickets of the same city with the same normalised address or the same (unmasked) caller,
    created within RELATED_DAYS of this one; newest first, at most RELATED_LIMIT."""
    if ticket.created_at is None:
        return []
    same = []
    if ticket.address:
        dialect = session.get_bind().dialect.name
        same.append(normalized_address_sql(Ticket.address, dialect) == normalize_address(ticket.address))
    if ticket.caller and "*" not in ticket.caller:
        same.append(Ticket.caller == ticket.caller)
    if not same:
        return []
    span = timedelta(days=RELATED_DAYS)
    from cockpit.auth.scope import condition, restriction

    in_scope = condition(restriction(session, _caller(principal)), Ticket.city, Ticket.district)
    if in_scope is not None:
        same = [and_(in_scope, or_(*same))]
    rows = session.scalars(
        select(Ticket).where(Ticket.city == ticket.city, Ticket.ticket_id != ticket.ticket_id,
                             Ticket.created_at >= ticket.created_at - span, Ticket.created_at <= ticket.created_at + span,
                             or_(*same))
        .order_by(Ticket.created_at.desc()).limit(RELATED_LIMIT))
    out = []
    for t in rows:
        reason = []
        if ticket.address and normalize_address(t.address) == normalize_address(ticket.address):
            reason.append("address")
        if ticket.caller and t.caller == ticket.caller:
            reason.append("caller")
        out.append({"ticket_id": t.ticket_id, "created_at": t.created_at, "category": t.category,
                    "status": t.status, "reason": reason})
    return out


def ticket_view(stores, ticket_id: str, *, now: datetime | None = None, principal=None,
                unmask: bool = False) -> dict[str, Any] | None:
    """Everything /tickets/<id> shows, or None for an unknown ticket.

    ``steps``: each step in time order with ``since_prev_s`` and ``since_created_s``;
    ``clocks``: due time (remaining or overdue seconds), response deadline, time to close;
    ``related``: same address or caller; ``alerts``: this ticket's alerts with their history.
    Times are naive UTC datetimes (the layout formats them). Read-only.
    """
    from cockpit.auth import audit
    from cockpit.auth.scope import covers_place

    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    principal = _caller(principal)
    with stores.session() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not covers_place(session, principal.scopes, ticket.city, ticket.district):
            return None  # another region's ticket is 'not found', like an unknown one
        if principal.role != "system":
            audit.record_for(session, principal, "unmask" if unmask else "ticket_view", target=ticket_id)
        steps = session.scalars(select(TicketStep).where(TicketStep.ticket_id == ticket_id)
                                .order_by(TicketStep.occurred_at, TicketStep.id)).all()
        timeline, prev = [], None
        for s in steps:
            timeline.append({"type": s.type, "at": s.occurred_at, "unit": s.unit, "detail": s.detail,
                             "since_prev_s": _seconds(prev, s.occurred_at),
                             "since_created_s": _seconds(ticket.created_at, s.occurred_at)})
            prev = s.occurred_at
        response_due = (ticket.created_at + timedelta(seconds=definitions.response_deadline_s(stores.settings))
                        if ticket.created_at else None)
        open_ = ticket.status != "closed"
        clocks = {
            "due_at": ticket.due_at,
            "due_left_s": _seconds(now_n, ticket.due_at) if open_ and ticket.due_at else None,
            "closed_late_s": (_seconds(ticket.due_at, ticket.closed_at) if not open_ and ticket.due_at
                              and ticket.closed_at and ticket.closed_at > ticket.due_at else None),
            "response_due_at": response_due,
            "responded_in_s": _seconds(ticket.created_at, ticket.responded_at),
            "response_left_s": (_seconds(now_n, response_due) if ticket.responded_at is None and open_
                                and response_due else None),
            "open_for_s": _seconds(ticket.created_at, now_n) if open_ else None,
            "closed_in_s": _seconds(ticket.created_at, ticket.closed_at) if not open_ else None,
        }
        alert_rows = [a for a in alerts.for_ticket(session, ticket_id) if _alert_in_scope(session, principal, a)]
        data = {c.name: getattr(ticket, c.name) for c in Ticket.__table__.columns}
        if unmask:
            principal.require("unmask")
        else:
            data = mask_ticket(data)
        names = region_names(session, [ticket.city, ticket.district or ""])
        return {
            "ticket": data, "steps": timeline, "clocks": clocks,
            "related": related_tickets(session, ticket, principal=principal), "masked": not unmask,
            "alerts": [{**alerts.as_dict(a), "history": alerts.events_of(session, a.id)} for a in alert_rows],
            "names": names,
            "breadcrumb": breadcrumb(session, stores.settings, city=ticket.city, district=ticket.district,
                                     ticket_id=ticket_id),
            "now": now_n,
        }


def act_on_alert(stores, ticket_id: str, *, alert_id: int, action: str, principal, note: str = "", to: str = "",
                 due: datetime | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """A supervisor's action on one alert from a ticket page; returns (fresh ticket view, error).

    ``action`` is 'ack', 'escalate' or 'resolve'. The actor is ``principal`` (cockpit.auth), who
    needs the ``act`` permission over the alert's city and district. A refused action returns its
    reason as the error and changes nothing; it is audited either way.
    """
    from cockpit.auth import audit
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.scope import covers_place

    error = None
    by = principal.label
    try:
        with stores.session() as session:
            principal.require("act")
            alert = alerts.get(session, alert_id)
            if alert is None or not covers_place(session, principal.scopes, alert.city, alert.district):
                raise AccessDenied("not found", status=404)
            audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id))
            if action == "ack":
                alerts.acknowledge(session, alert_id, by=by)
            elif action == "escalate":
                alerts.escalate(session, alert_id, by=by, to=to, note=note, due=due)
            elif action == "resolve":
                alerts.resolve(session, alert_id, by=by, note=note)
            else:
                raise alerts.AlertError(f"unknown action {action!r}")
    except alerts.AlertError as exc:
        error = str(exc)
    except AccessDenied as exc:
        with stores.session() as session:
            audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id), outcome="denied")
        error = "无权操作此告警 / not allowed" if exc.status != 404 else "告警不存在 / no such alert"
    return ticket_view(stores, ticket_id), error


def act_on_alerts(stores, alert_ids: list[int], *, action: str, principal, note: str = "", to: str = "",
                  kind: str = "user", due: datetime | None = None) -> tuple[int, str | None]:
    """A supervisor's action from the inbox on one alert ('ack', 'assign', 'escalate', 'resolve')
    or several ('bulk_ack': the firing ones among them). The actor is ``principal`` (cockpit.auth),
    who needs the ``act`` permission over every alert's city and district; each action is audited.
    Returns (alerts changed, error)."""
    from cockpit.auth import audit
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.scope import covers_place

    by = principal.label
    try:
        with stores.session() as session:
            principal.require("act")
            for alert_id in alert_ids:
                alert = alerts.get(session, int(alert_id))
                if alert is None or not covers_place(session, principal.scopes, alert.city, alert.district):
                    raise AccessDenied("not found", status=404)
            for alert_id in alert_ids:
                audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id))
            if action == "bulk_ack":
                return len(alerts.acknowledge_many(session, alert_ids, by=by)["acknowledged"]), None
            if len(alert_ids) != 1:
                raise alerts.AlertError("select one alert")
            alert_id = alert_ids[0]
            if action == "ack":
                alerts.acknowledge(session, alert_id, by=by)
            elif action == "assign":
                alerts.assign(session, alert_id, by=by, to=to, kind=kind)
            elif action == "escalate":
                alerts.escalate(session, alert_id, by=by, to=to, note=note, due=due)
            elif action == "resolve":
                alerts.resolve(session, alert_id, by=by, note=note)
            else:
                raise alerts.AlertError(f"unknown action {action!r}")
    except alerts.AlertError as exc:
        return 0, str(exc)
    except AccessDenied:
        with stores.session() as session:
            audit.record_for(session, principal, f"alert_{action}"[:32], target=",".join(map(str, alert_ids))[:256],
                             outcome="denied")
        return 0, "alert not found"
    return 1, None


# --- export ---------------------------------------------------------------------------------


def spreadsheet_cell(value):
    from cockpit.auth.sanitize import spreadsheet_cell as neutralise

    return neutralise(value)


def export_rows(stores, query: dict[str, str], *, sort_model: list | None = None) -> Iterator[list]:
    """The filtered ticket set as rows (header first), in the grid's order, EXPORT_CHUNK rows per
    query (offset paging on a stable order); at most EXPORT_MAX_ROWS rows. Times local (settings.tz)."""
    settings = stores.settings
    with stores.session() as session:
        flt = scoped_filter(session, query, settings)
    yield list(EXPORT_COLUMNS)
    offset = 0
    while offset < EXPORT_MAX_ROWS:
        with stores.session() as session:
            effective = _apply_alert(session, flt, timeutil.utcnow())
            rows = session.scalars(select(Ticket).where(*_conditions(effective)).order_by(*_order(sort_model))
                                   .offset(offset).limit(EXPORT_CHUNK)).all()
        for t in rows:  # personal data masked (an export leaves the cockpit), formulas neutralised
            masked = mask_ticket({c: getattr(t, c) for c in EXPORT_COLUMNS})
            yield [_fmt(masked[c], settings.tz) if c in TIME_COLUMNS else spreadsheet_cell(masked[c])
                   for c in EXPORT_COLUMNS]
        offset += len(rows)
        if len(rows) < EXPORT_CHUNK:
            return


def export_csv(stores, query: dict[str, str], *, sort_model: list | None = None) -> Iterator[str]:
    """``export_rows`` as CSV text chunks (UTF-8 with BOM so Excel reads Chinese), one per row."""
    first = True
    for row in export_rows(stores, query, sort_model=sort_model):
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        yield ("\ufeff" if first else "") + buf.getvalue()
        first = False


def export_xlsx(stores, query: dict[str, str], *, sort_model: list | None = None) -> bytes:
    """``export_rows`` as an Excel workbook (one sheet; openpyxl's write-only mode keeps memory flat
    while rows are added; the zip itself is built in memory, capped by EXPORT_MAX_ROWS)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("tickets")
    for row in export_rows(stores, query, sort_model=sort_model):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

