"""Open311 GeoReport v2, read side: the cockpit's tickets as service requests (wiki.open311.org/GeoReport_v2).

- A *service* is a top-level ticket category; its ``service_code`` is a stable ASCII code derived
  from the name (``c`` + 10 hex digits of SHA-1), so generic clients can pass it in a URL.
- A ticket is a *service request*: ``service_request_id`` is the ticket id without its
  ``<city>-`` prefix (the id the portal knew; ``cockpit.importers.tickets.ticket_id`` adds the
  prefix back on import), ``status`` is ``closed`` when the ticket is closed and ``open``
  otherwise, ``updated_datetime`` is the closing time of a closed request (the spec: "for
  requests with status=closed, this will be the date the request was closed") and the last
  change otherwise, ``expected_datetime`` the deadline, ``agency_responsible`` the handling
  unit, ``status_notes`` the resolution of the last closing.
- Personal data never leaves: the caller is not published, ``description`` and ``address`` go
  through ``cockpit.privacy`` (phone/ID/card numbers, e-mail, building/unit/room numbers).
- Times are W3C date-times with the deployment's offset (``2026-11-28T10:00:00+08:00``).

Functions take a session first and never commit; a caller's scope becomes the ``places`` the
reads of ``cockpit.store.open311`` take (``scope_places``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from cockpit.privacy import mask_address, mask_request_text
from cockpit.store import open311
from cockpit.store.models import Ticket
from cockpit.store.regions import resolve_scope
from cockpit.timeutil import naive_utc, utcnow

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_WINDOW = timedelta(days=90)  # the spec: no dates -> the most recent 90 days
MAX_WINDOW = timedelta(days=90)  # "may not span more than 90 days"
PAGE_LIMIT = 1000  # the spec's default "first 1000 requests"
MAX_IDS = 200  # service_request_id values in one call


class GeoReportError(ValueError):
    """A bad parameter (field + reason) or an unknown request; the HTTP layer maps ``status``."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def service_code(name: str) -> str:
    """The stable ASCII code of a service (a top-level category name)."""
    return "c" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def portal_id(ticket_id: str, city: str) -> str:
    """The service_request_id of a ticket: its id without the ``<city>-`` prefix the importers add."""
    prefix = f"{city}-"
    return ticket_id[len(prefix):] if ticket_id.startswith(prefix) and len(ticket_id) > len(prefix) else ticket_id


def w3c(moment: datetime | None, tz: tzinfo) -> str | None:
    """A naive-UTC datetime as a W3C date-time with the zone's offset; None stays None."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(tz).isoformat()


# ---------------------------------------------------------------- scope

@dataclass(frozen=True)
class Caller:
    """Who asks: the region codes they may read (``"*"`` = all)."""

    scopes: tuple[str, ...]

    @property
    def everything(self) -> bool:
        return "*" in self.scopes


def scope_places(session: Session, codes: Sequence[str]) -> open311.Places:
    """The places (cities, districts) of any of ``codes`` (None = no restriction; [] = nothing)."""
    if "*" in codes:
        return None
    places = []
    for code in codes:
        scope = resolve_scope(session, code)
        if scope.city_codes:
            places.append((scope.city_codes, scope.district_codes))
    return places


def caller_places(session: Session, caller: Caller, jurisdiction_id: str | None) -> open311.Places:
    """The places of a caller's scope, narrowed to ``jurisdiction_id`` (a region code) if given.

    A jurisdiction outside the caller's scope is refused with 404 (it does not exist for them).
    """
    if jurisdiction_id:
        from cockpit.store import tokens

        code = jurisdiction_id.strip()
        if not caller.everything and not set(caller.scopes) & set(tokens.ancestors(session, code)):
            raise GeoReportError("jurisdiction_id", f"unknown jurisdiction {code!r}", 404)
        return scope_places(session, [code])
    return scope_places(session, caller.scopes)


# ---------------------------------------------------------------- documents

def services(session: Session, *, caller: Caller, jurisdiction_id: str | None = None) -> list[dict[str, Any]]:
    """GET services.json: one service per top-level category with tickets in the caller's scope."""
    names = sorted(open311.categories(session, places=caller_places(session, caller, jurisdiction_id)))
    return [
        {"service_code": service_code(name), "service_name": name, "description": name,
         "metadata": False, "type": "realtime", "keywords": "", "group": name}
        for name in names
    ]


def _category_names(session: Session, places: open311.Places, codes: Sequence[str]) -> list[str]:
    wanted = set(codes)
    return [n for n in open311.categories(session, places=places) if service_code(n) in wanted]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _parse_w3c(text: str, field: str, tz: tzinfo) -> datetime:
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if " " in value and "T" in value:  # an unescaped '+' arrives as a space
        head, _, tail = value.rpartition(" ")
        value = f"{head}+{tail}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise GeoReportError(field, f"not a W3C date-time (e.g. 2010-01-01T00:00:00Z): {text!r}") from None
    return naive_utc(moment, tz)


def window(start_date: str | None, end_date: str | None, *, now: datetime,
           tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end]`` in naive UTC: the spec's default of the most recent 90 days, at most 90 days."""
    end = _parse_w3c(end_date, "end_date", tz) if end_date else None
    start = _parse_w3c(start_date, "start_date", tz) if start_date else None
    if end is None:
        end = start + DEFAULT_WINDOW if start is not None else now
    if start is None:
        start = end - DEFAULT_WINDOW
    if end < start:
        raise GeoReportError("end_date", "end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise GeoReportError("end_date", "start_date..end_date may not span more than 90 days")
    return start, end


def _positive_int(text: str | None, field: str, default: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise GeoReportError(field, f"not an integer: {text!r}") from None
    if not 1 <= value <= high:
        raise GeoReportError(field, f"must be between 1 and {high}")
    return value


def request_dict(ticket: Ticket, *, tz: tzinfo, notes: str | None = None) -> dict[str, Any]:
    """One ticket as a GeoReport v2 service request (personal data masked)."""
    closed = ticket.status == "closed"
    updated = ticket.closed_at if closed and ticket.closed_at is not None else ticket.updated_at
    return {
        "service_request_id": portal_id(ticket.ticket_id, ticket.city),
        "status": "closed" if closed else "open",
        "status_notes": mask_request_text(notes) if closed and notes else None,
        "service_name": ticket.category,
        "service_code": service_code(ticket.category) if ticket.category else None,
        "description": mask_request_text(ticket.text) or None,
        # the unit it was dispatched to; a ticket never dispatched has none (a closing "unknown" is not one)
        "agency_responsible": ticket.unit if ticket.first_dispatched_at is not None else None,
        "service_notice": None,
        "requested_datetime": w3c(ticket.created_at, tz),
        "updated_datetime": w3c(updated, tz),
        "expected_datetime": w3c(ticket.due_at, tz),
        "address": mask_address(ticket.address) or None,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": None,
    }


def requests(session: Session, *, caller: Caller, tz: tzinfo, now: datetime, params: dict[str, str | None]
             ) -> list[dict[str, Any]]:
    """GET requests.json for query parameters ``params`` (raw strings).

    ``service_request_id`` (comma list) overrides every other filter. Otherwise ``start_date`` /
    ``end_date`` select ``requested_datetime`` in ``[start, end]`` (default: the last 90 days; at
    most 90 days), ``status`` and ``service_code`` are comma lists; at most ``page_size`` (default
    and maximum 1000) requests, newest first, page ``page`` (1-based; both are extensions common
    among Open311 servers).
    """
    places = caller_places(session, caller, params.get("jurisdiction_id"))
    ids = _split(params.get("service_request_id"))
    if ids:
        if len(ids) > MAX_IDS:
            raise GeoReportError("service_request_id", f"more than {MAX_IDS} ids")
        cities = _scope_cities(session, caller, params.get("jurisdiction_id"))
        candidates = set(ids) | {f"{city}-{i}" for city in cities for i in ids}
        tickets = open311.tickets_with_ids(session, places=places, ticket_ids=sorted(candidates))
        wanted = set(ids)
        tickets = [t for t in tickets if portal_id(t.ticket_id, t.city) in wanted or t.ticket_id in wanted]
    else:
        start, end = window(params.get("start_date"), params.get("end_date"), now=now, tz=tz)
        statuses = [s.lower() for s in _split(params.get("status"))]
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise GeoReportError("status", f"status must be open or closed, got {bad[0]!r}")
        status = statuses[0] if len(set(statuses)) == 1 else None
        codes = _split(params.get("service_code"))
        names = None
        if codes:
            names = _category_names(session, places, codes)
            if not names:
                return []
        size = _positive_int(params.get("page_size"), "page_size", PAGE_LIMIT, PAGE_LIMIT)
        page = _positive_int(params.get("page"), "page", 1, 1_000_000)
        tickets = open311.ticket_page(session, places=places, start=start, end=end, status=status,
                                      categories=names, limit=size, offset=(page - 1) * size)
    notes = open311.closing_resolutions(session, [t.ticket_id for t in tickets if t.status == "closed"])
    return [request_dict(t, tz=tz, notes=notes.get(t.ticket_id)) for t in tickets]


def _scope_cities(session: Session, caller: Caller, jurisdiction_id: str | None) -> set[str]:
    """The city codes a caller (or the jurisdiction asked for) covers, for id look-ups by primary key."""
    codes = [jurisdiction_id.strip()] if jurisdiction_id else list(caller.scopes)
    if "*" in codes:
        return open311.ticket_cities(session)
    return {city for code in codes for city in resolve_scope(session, code).city_codes}


def one_request(session: Session, *, caller: Caller, tz: tzinfo, request_id: str,
                jurisdiction_id: str | None = None) -> list[dict[str, Any]]:
    """GET requests/<id>.json: a one-element list (the spec's shape); 404 when not in scope."""
    out = requests(session, caller=caller, tz=tz, now=utcnow(),
                   params={"service_request_id": request_id, "jurisdiction_id": jurisdiction_id})
    if not out:
        raise GeoReportError("service_request_id", f"no service request {request_id!r}", 404)
    return out[:1]


def discovery(base_url: str, *, changeset: str) -> dict[str, Any]:
    """GET discovery.json: where the GeoReport v2 endpoint is and what it speaks."""
    return {
        "changeset": changeset,
        "contact": "",
        "key_service": "",
        "endpoints": [
            {"specification": SPECIFICATION, "url": base_url.rstrip("/"), "changeset": changeset,
             "type": "production", "formats": ["application/json", "text/xml"]},
        ],
    }
