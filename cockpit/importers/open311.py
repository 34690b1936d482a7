"""Open311 GeoReport v2 ``GET requests.json`` responses -> ticket events.

A response is a JSON array of service requests with the fields ``service_request_id, status,
status_notes, service_name, service_code, description, agency_responsible, service_notice,
requested_datetime, updated_datetime, expected_datetime, address, address_id, zipcode, lat,
long, media_url`` (GeoReport v2, wiki.open311.org/GeoReport_v2). Times are ISO 8601 with an
offset as the spec requires; a time without one is read in ``tz``. GeoReport has no district
and no intake channel: ``district`` is left empty (the map places the ticket by lat/lon) and
the channel is ``other``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any

from cockpit.importers.common import (
    RowError,
    RowResult,
    error_result,
    lat_lon,
    parse_timestamp,
    zone,
)
from cockpit.importers.tickets import Request, request_events

FORMAT = "open311"
DEFAULT_TZ = "UTC"
WRAPPERS = ("service_requests", "requests", "request")  # some servers wrap the array in an object


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def load(lines_or_path: str | Path | Iterable[str]) -> list[Any]:
    """The list of request objects of a ``requests.json`` file (or ``.gz``), or of its text lines.

    The whole document is read at once: a GeoReport page holds at most a few thousand requests.
    Raises ``RowError("(file)", ...)`` when the document is not JSON or not a list of requests.
    """
    if isinstance(lines_or_path, (str, Path)):
        path = Path(lines_or_path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            text = fh.read()
    else:
        text = "".join(lines_or_path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError("(file)", f"not JSON: {exc}") from None
    if isinstance(doc, dict):
        for key in WRAPPERS:
            if isinstance(doc.get(key), list):
                return doc[key]
        raise RowError("(file)", "a JSON object without a list of service requests")
    if not isinstance(doc, list):
        raise RowError("(file)", "expected a JSON array of service requests")
    return doc


def _request(item: Any, *, city: str, tz: tzinfo) -> tuple[Request, tuple[str, ...]]:
    if not isinstance(item, dict):
        raise RowError("(request)", f"expected a JSON object, got {type(item).__name__}")
    request_id = _text(item.get("service_request_id"))
    if not request_id:
        raise RowError("service_request_id", "missing value")
    created = parse_timestamp(_text(item.get("requested_datetime")), tz, field_name="requested_datetime")
    if created is None:
        raise RowError("requested_datetime", "missing value")
    name = _text(item.get("service_name")) or _text(item.get("service_code"))
    if not name:
        raise RowError("service_name", "missing value (and no service_code)")
    status = _text(item.get("status")).lower()
    if status not in ("open", "closed"):
        raise RowError("status", f"expected 'open' or 'closed', got {item.get('status')!r}")
    updated = parse_timestamp(_text(item.get("updated_datetime")), tz, field_name="updated_datetime")
    if status == "closed" and updated is None:
        raise RowError("updated_datetime", "a closed request needs the time of its last update")
    lat, lon, location_warning = lat_lon(item.get("lat"), item.get("long"))
    address = _text(item.get("address"))
    zipcode = _text(item.get("zipcode"))
    req = Request(
        fmt=FORMAT,
        city=city,
        request_id=request_id,
        created_at=created,
        category=[name],
        unit=_text(item.get("agency_responsible")) or None,
        lat=lat,
        lon=lon,
        address=(f"{address}, {zipcode}" if address and zipcode and zipcode not in address
                 else address) or None,
        text=_text(item.get("description")),
        due_at=parse_timestamp(_text(item.get("expected_datetime")), tz, field_name="expected_datetime"),
        closed_at=updated if status == "closed" else None,
        resolution=_text(item.get("status_notes")),
    )
    return req, (location_warning,) if location_warning else ()


def parse(
    lines_or_path: str | Path | Iterable[str], *, city: str, tz: str | tzinfo = DEFAULT_TZ
) -> Iterator[RowResult]:
    """Parse a GeoReport v2 ``requests.json``: one ``RowResult`` per request (row = 1-based position).

    Each request gives ``ticket.created`` (category ``[service_name]``, lat/long, address,
    description, due = ``expected_datetime``), ``ticket.dispatched`` to ``agency_responsible``
    when given, and for ``status: closed`` a ``ticket.closed`` at ``updated_datetime`` (the
    spec's time of the last status change) with ``status_notes`` as resolution. A document that
    is not a JSON array yields one error with ``row=0``. Pure; deterministic event ids.
    """
    tz = zone(tz)
    try:
        items = load(lines_or_path)
    except RowError as exc:
        yield error_result(0, None, exc)
        return
    for row, item in enumerate(items, start=1):
        raw = item if isinstance(item, dict) else {"value": item}
        try:
            req, warnings = _request(item, city=city, tz=tz)
        except RowError as exc:
            yield error_result(row, raw, exc)
            continue
        events, more = request_events(req)
        yield RowResult(row=row, raw=raw, events=events, warnings=warnings + more)
