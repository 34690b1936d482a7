"""Drill-down read models for /supervise: the URL filter, server-side grid pages, facets, the alert inbox.

Everything the supervision page shows comes from here, page by page: the ticket grid asks for
rows ``[start_row, end_row)`` with AG Grid's sort and filter models, and gets only those rows
plus a row count (exact up to ``COUNT_CAP``, else -1 = unknown, so counting never scans millions
of rows). Filters come from the URL query (``filter_from_query``), so a view can be shared. The
queries themselves are in ``cockpit.store.tickets``; one ticket's page is ``views.ticket``, the
exports ``views.export``.

Times in and out of the database are naive UTC; what is shown is formatted in ``settings.tz``.
Functions taking a session never commit; functions taking ``stores`` own their transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit import timeutil
from cockpit.settings import Settings
from cockpit.store import regions, tickets
from cockpit.store.tickets import TicketFilter
from cockpit.views.grid_request import MAX_ID, check_grid_request
from cockpit.watch import alerts
from cockpit.watch.evaluate import RULE_NAMES

COUNT_CAP = 200_000  # a city's month of tickets counts exactly ('1 to 50 of 41,236'); beyond, -1
MAX_BLOCK = 500
FACET_LIMIT = 15
DEFAULT_WINDOW_DAYS = 30
QUERY_KEYS = ("city", "district", "category", "unit", "status", "from", "to", "alert", "rule", "state", "page",
              "suppressed")
INBOX_PAGE = 25  # alerts per inbox page (paging has no cap; the total is exact)


def caller(principal=None):
    """The principal a read or write runs for: the one given, else the request's (the system outside
    a request: CLI, jobs)."""
    if principal is not None:
        return principal
    from cockpit.auth.web import current_principal

    return current_principal()


def scoped_filter(session, query: dict[str, str], settings: Settings, principal=None) -> TicketFilter:
    """``filter_from_query`` limited to the caller's scope; a query naming a place outside it -> 403."""
    from cockpit.auth.scope import require_query_places, restriction

    principal = caller(principal)
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
        created_from=timeutil.local_day_utc(query.get("from"), tz),
        created_to=timeutil.local_day_utc(query.get("to"), tz, end=True),
        alert=int(alert) if alert and alert.isdigit() and int(alert) <= MAX_ID else None,
    )


def apply_alert(session, flt: TicketFilter, now: datetime) -> TicketFilter:
    """Narrow a filter to the tickets behind its alert (the alert's own filter and time window)."""
    if flt.alert is None:
        return flt
    alert = alerts.get(session, flt.alert)
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


def fmt_local(moment: datetime | None, tz) -> str | None:
    """A naive UTC datetime as local 'YYYY-MM-DD HH:MM' (None stays None)."""
    return None if moment is None else moment.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _row(t, tz) -> dict[str, Any]:
    return {
        "ticket_id": t.ticket_id,
        "created_at": fmt_local(t.created_at, tz), "district": t.district, "category": t.category, "unit": t.unit,
        "status": t.status, "due_at": fmt_local(t.due_at, tz), "closed_at": fmt_local(t.closed_at, tz),
        "returns": t.returns, "transfers": t.transfers, "satisfaction": t.satisfaction, "channel": t.channel,
        "urgency": t.urgency, "address": t.address,
    }


def tickets_page(session, flt: TicketFilter, *, start_row: int, end_row: int,
                 sort_model: list | None = None, filter_model: dict | None = None, settings: Settings,
                 now: datetime | None = None) -> dict[str, Any]:
    """One block of the ticket grid: ``{"rowData": [...], "rowCount": n}`` (AG Grid infinite model).

    ``rowCount`` is exact when the last row is in this block or the total is at most
    COUNT_CAP, else -1 (unknown: the grid keeps extending as the user scrolls). Read-only.
    """
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    flt = apply_alert(session, flt, now)
    start_row = max(0, int(start_row or 0))
    size = max(1, min(int(end_row or start_row + 100) - start_row, MAX_BLOCK))
    rows = tickets.page(session, flt, offset=start_row, limit=size, sort_model=sort_model,
                        filter_model=filter_model, tz=settings.tz)
    if len(rows) < size:
        count = start_row + len(rows)
    else:
        capped = tickets.count_capped(session, flt, cap=COUNT_CAP, filter_model=filter_model, tz=settings.tz)
        count = capped if capped <= COUNT_CAP else -1
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


def facets(session, flt: TicketFilter, *, now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
    """Ticket counts by district and by category for the filter (top FACET_LIMIT each).

    The facet being drawn ignores its own condition, so a bar chart still shows the other bars
    after one was clicked (classic cross-filtering). Without a time condition the last
    DEFAULT_WINDOW_DAYS are counted, so a facet never scans the whole history.
    """
    now = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    flt = apply_alert(session, flt, now)
    if flt.created_from is None and flt.ticket_ids is None and flt.items_alert is None and flt.items_rule is None:
        flt = replace(flt, created_from=now - timedelta(days=DEFAULT_WINDOW_DAYS))
    return {"district": tickets.facet_counts(session, replace(flt, district=None), "district", limit=FACET_LIMIT),
            "category": tickets.facet_counts(session, replace(flt, category=None), "category", limit=FACET_LIMIT)}


def breadcrumb(session, settings: Settings, *, city: str | None, district: str | None,
               ticket_id: str | None = None) -> list[dict[str, str | None]]:
    """province -> city -> district -> ticket: [{"code", "name", "query"}] (query: the URL filter).
    A district given without its city gets the city of the regions table."""
    if district and not city:
        city = regions.city_of(session, district)
    names = tickets.region_names(session, [settings.province, city or "", district or ""])
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


def known_places(session, city: str | None, *, now: datetime,
                 district: str | None = None) -> tuple[list[str], list[str]]:
    """City codes, and the districts of ``city``, for the filter menus (``store.tickets.known_places``);
    the current choice is always an option, so a menu never drops the value a URL gave it."""
    cities, districts = tickets.known_places(session, city, now=now)
    if city and city not in cities:
        cities.append(city)
    if district and district not in districts:
        districts.append(district)
    return cities, districts


def alert_in_scope(session, principal, alert) -> bool:
    """Whether ``alert``'s place is inside the principal's scopes."""
    from cockpit.auth.scope import covers_place

    return covers_place(session, principal.scopes, alert.city, alert.district)


def supervise_view(stores, query: dict[str, str], *, now: datetime | None = None) -> dict[str, Any]:
    """Everything /supervise shows for a URL query, except the grid rows (paged separately):
    the alerts matching the filters, the selected alert, facets, breadcrumb, region names."""
    settings = stores.settings
    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    principal = caller()
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
        if selected is not None and not alert_in_scope(session, principal, selected):
            selected = None
        effective = apply_alert(session, flt, now_n)
        facet = facets(session, flt, now=now_n)
        from cockpit.auth.scope import covers_code, home_city

        home = home_city(session, principal)
        city = flt.city or home  # a city user's menus are their city's, chosen from the start
        cities, districts = known_places(session, city, now=now_n, district=flt.district)
        if home is not None:
            cities = [c for c in cities if c == home or covers_code(session, principal.scopes, c)]
            districts = [d for d in districts if covers_code(session, principal.scopes, d)]
        names = tickets.region_names(session, cities + districts + [d for d, _ in facet["district"]]
                                     + [a["district"] or "" for a in rows] + list(box["by_area"]))
        crumbs = breadcrumb(session, settings, city=effective.city or home, district=effective.district)
        return {
            "query": {k: v for k, v in query.items() if k in QUERY_KEYS and v},
            "alerts": rows, "inbox": box | {"page": page, "pages": max(1, -(-box["total"] // INBOX_PAGE))},
            "selected": alerts.as_dict(selected) if selected is not None else None,
            "history": alerts.events_of(session, selected.id) if selected is not None else [],
            "facets": facet, "names": names, "cities": cities, "districts": districts, "city": city,
            "breadcrumb": crumbs, "rules": RULE_NAMES, "state": state,
        }
