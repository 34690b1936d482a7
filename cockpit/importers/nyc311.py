"""NYC 311 service requests (NYC Open Data "311 Service Requests from 2010 to Present" CSV) -> ticket events.

Columns are matched ignoring case, spaces and underscores, so both the portal's export
(``Created Date``) and the API's names (``created_date``) work. Timestamps carry no zone: they
are New York wall-clock times unless ``tz`` says otherwise. District codes: community board
``"01 BROOKLYN"`` -> ``NYC-BK01``; no usable board -> the borough (``NYC-BK``). See docs/importers.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo

from cockpit.importers.common import (
    CSV_ERROR,
    RowError,
    RowResult,
    Source,
    error_result,
    header_compact,
    iter_csv,
    lat_lon,
    parse_timestamp,
    pick,
    zone,
)
from cockpit.importers.tickets import Request, request_events

FORMAT = "nyc311"
DEFAULT_TZ = "America/New_York"
REQUIRED_COLUMNS = ("uniquekey", "createddate", "complainttype")  # normalised header names
CITY_PREFIX = "NYC"
BOROUGHS = {
    "MANHATTAN": "MN",
    "BRONX": "BX",
    "BROOKLYN": "BK",
    "QUEENS": "QN",
    "STATEN ISLAND": "SI",
}
CHANNELS = {"phone": "phone", "online": "web", "mobile": "app", "email": "email", "sms": "sms", "text": "sms"}
_BOARD = re.compile(r"^\s*(\d{1,3})\s+(.+?)\s*$")


def district_code(community_board: str, borough: str = "") -> str | None:
    """``"01 BROOKLYN"`` -> ``"NYC-BK01"``; ``"64 MANHATTAN"`` (a joint interest area such as
    Central Park, BoroCD 164) -> ``"NYC-MN64"``; ``"0 Unspecified"`` / ``"Unspecified QUEENS"``
    fall back to the borough (``"NYC-QN"``), and an unknown borough gives ``None``."""
    m = _BOARD.match(community_board or "")
    if m and int(m.group(1)) > 0:
        boro = BOROUGHS.get(m.group(2).upper())
        if boro:
            return f"{CITY_PREFIX}-{boro}{int(m.group(1)):02d}"
    name = (community_board or "").upper().replace("UNSPECIFIED", "").strip()
    boro = BOROUGHS.get(name) or BOROUGHS.get((borough or "").strip().upper())
    return f"{CITY_PREFIX}-{boro}" if boro else None


def channel(value: str) -> str:
    """``Open Data Channel Type`` -> our channel: PHONE -> phone, ONLINE -> web, MOBILE -> app, else other."""
    return CHANNELS.get(value.strip().lower(), "other")


def _request(record: dict[str, str], *, city: str, tz: tzinfo) -> tuple[Request, tuple[str, ...]]:
    request_id = pick(record, "uniquekey")
    if not request_id:
        raise RowError("Unique Key", "missing value")
    created = parse_timestamp(pick(record, "createddate"), tz, field_name="Created Date")
    if created is None:
        raise RowError("Created Date", "missing value")
    complaint = pick(record, "complainttype")
    if not complaint:
        raise RowError("Complaint Type", "missing value")
    lat, lon, location_warning = lat_lon(pick(record, "latitude"), pick(record, "longitude"))
    closed = parse_timestamp(pick(record, "closeddate"), tz, field_name="Closed Date")
    warnings: list[str] = [location_warning] if location_warning else []
    if closed is None and pick(record, "status").lower() == "closed":
        closed = parse_timestamp(pick(record, "resolutionactionupdateddate"), tz,
                                 field_name="Resolution Action Updated Date")
        warnings.append("closed_without_date" if closed is None else "closed_date_from_resolution_update")
    address = pick(record, "incidentaddress")
    place = pick(record, "city")
    req = Request(
        fmt=FORMAT,
        city=city,
        request_id=request_id,
        created_at=created,
        category=[complaint, pick(record, "descriptor")],
        unit=pick(record, "agency", "agencyname") or None,
        district=district_code(pick(record, "communityboard"), pick(record, "borough")),
        channel=channel(pick(record, "opendatachanneltype")),
        lat=lat,
        lon=lon,
        address=(f"{address}, {place}" if address and place else address) or None,
        due_at=parse_timestamp(pick(record, "duedate"), tz, field_name="Due Date"),
        closed_at=closed,
        resolution=pick(record, "resolutiondescription"),
    )
    return req, tuple(warnings)


def parse(lines_or_path: Source, *, city: str, tz: str | tzinfo = DEFAULT_TZ) -> Iterator[RowResult]:
    """Parse an NYC 311 CSV export: one ``RowResult`` per data row (header = row 1), in file order.

    Each request gives ``ticket.created`` (category ``[Complaint Type, Descriptor]``, district,
    channel, lat/lon, address, due date), ``ticket.dispatched`` to ``Agency`` at the creation
    time, and ``ticket.closed`` at ``Closed Date`` when there is one. Naive timestamps are read
    in ``tz``. Pure: no database, no network; deterministic event ids (idempotent import).
    """
    tz = zone(tz)
    try:
        for row, record in iter_csv(lines_or_path, key=header_compact, required=REQUIRED_COLUMNS):
            try:
                if CSV_ERROR in record:
                    raise RowError("(row)", record[CSV_ERROR])
                req, warnings = _request(record, city=city, tz=tz)
            except RowError as exc:
                yield error_result(row, record, exc)
                continue
            events, more = request_events(req)
            yield RowResult(row=row, raw=record, events=events, warnings=warnings + more)
    except RowError as exc:  # only the header check raises out of the row loop
        yield error_result(1, None, exc)
