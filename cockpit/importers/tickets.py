"""Building blocks shared by the 311 ticket importers (NYC, Los Angeles, Open311).

A service request becomes up to three events: ``ticket.created`` (at the creation time),
``ticket.dispatched`` (same instant, to the responsible agency) and ``ticket.closed`` (at the
close time). Event ids are ``<format>:<city>:<request id>:<kind>``, so a re-import is all
duplicates and a later export of the same request only adds what is new (e.g. its closing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cockpit.importers.common import (
    MAX_ADDRESS_LEN,
    MAX_CATEGORY_LEN,
    MAX_RESOLUTION_LEN,
    MAX_TEXT_LEN,
    MAX_UNIT_LEN,
    clip,
    iso,
)


@dataclass
class Request:
    """A service request in the cockpit's terms, before it becomes events."""

    fmt: str
    city: str
    request_id: str
    created_at: datetime
    category: list[str]
    unit: str | None = None
    district: str | None = None
    channel: str = "other"
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    text: str = ""
    due_at: datetime | None = None
    closed_at: datetime | None = None
    resolution: str = ""


def ticket_id(city: str, request_id: str) -> str:
    """``<city>-<portal id>``: the tickets table is keyed by ticket_id alone, so ids carry the city."""
    return f"{city}-{request_id}"


def request_events(req: Request) -> tuple[list[dict], tuple[str, ...]]:
    """The events of one request and the names of any repairs made (see module docstring)."""
    tid = ticket_id(req.city, req.request_id)
    prefix = f"{req.fmt}:{req.city}:{req.request_id}"
    base = {"city": req.city, "ticket_id": tid}
    warnings: list[str] = []
    created = {
        **base, "event_id": f"{prefix}:created", "type": "ticket.created", "occurred_at": iso(req.created_at),
        "category": [clip(c, MAX_CATEGORY_LEN) for c in req.category if c][:5],
        "channel": req.channel, "text": clip(req.text, MAX_TEXT_LEN) or "",
    }
    if req.district:
        created["district"] = req.district
    if req.lat is not None and req.lon is not None:
        created["lat"], created["lon"] = req.lat, req.lon
    if req.address:
        created["address"] = clip(req.address, MAX_ADDRESS_LEN)
    if req.due_at is not None:
        created["due_at"] = iso(req.due_at)
    events = [created]
    unit = clip(req.unit, MAX_UNIT_LEN) if req.unit else None
    if unit:
        events.append({**base, "event_id": f"{prefix}:dispatched", "type": "ticket.dispatched",
                       "occurred_at": iso(req.created_at), "unit": unit})
    if req.closed_at is not None:
        closed_at = req.closed_at
        if closed_at < req.created_at:
            # The portals have a few closings logged before the creation; a negative time to
            # close would break every duration figure, so it is closed at creation instead.
            warnings.append("closed_before_created")
            closed_at = req.created_at
        events.append({**base, "event_id": f"{prefix}:closed", "type": "ticket.closed",
                       "occurred_at": iso(closed_at), "unit": unit or "unknown",
                       "resolution": clip(req.resolution, MAX_RESOLUTION_LEN) or ""})
    return events, tuple(warnings)
