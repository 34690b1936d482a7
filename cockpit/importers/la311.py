"""Los Angeles MyLA311 service requests (data.lacity.org "MyLA311 Service Request Data" CSV) -> ticket events.

Columns are matched ignoring case, spaces and underscores (``CreatedDate``, ``created_date``).
Timestamps carry no zone: Los Angeles wall-clock time unless ``tz`` says otherwise. District
codes: council district ``CD`` 1..15 -> ``LA-CD01`` .. ``LA-CD15``. See docs/importers.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from cockpit.importers.common import (
    CSV_ERROR,
    RowError,
    RowResult,
    Source,
    end_of_local_day,
    error_result,
    header_compact,
    iter_csv,
    lat_lon,
    parse_float,
    parse_timestamp,
    pick,
    zone,
)
from cockpit.importers.tickets import Request, request_events

FORMAT = "la311"
DEFAULT_TZ = "America/Los_Angeles"
REQUIRED_COLUMNS = ("srnumber", "createddate", "requesttype")  # normalised header names
CITY_PREFIX = "LA"
CHANNELS = {
    "call": "phone",
    "voicemail": "phone",
    "queue initiated customer call back": "phone",
    "mobile app": "app",
    "self service": "web",
    "chat": "web",
    "email": "email",
    "text": "sms",
}


def district_code(cd: str) -> str | None:
    """Council district ``"13"`` (or ``"13.0"``) -> ``"LA-CD13"``; empty -> ``None``."""
    number = parse_float(cd, field_name="CD")
    if number is None:
        return None
    if number != int(number) or number < 1:
        raise RowError("CD", f"not a council district number: {cd!r}")
    return f"{CITY_PREFIX}-CD{int(number):02d}"


def channel(value: str) -> str:
    """``RequestSource`` -> our channel (Call -> phone, Mobile App -> app, Self Service -> web,
    Email -> email; Driver Self Report, Council's Office, Walk-in and the rest -> other)."""
    return CHANNELS.get(value.strip().lower(), "other")


def _request(record: dict[str, str], *, city: str, tz: tzinfo) -> tuple[Request, tuple[str, ...]]:
    request_id = pick(record, "srnumber")
    if not request_id:
        raise RowError("SRNumber", "missing value")
    created = parse_timestamp(pick(record, "createddate"), tz, field_name="CreatedDate")
    if created is None:
        raise RowError("CreatedDate", "missing value")
    request_type = pick(record, "requesttype")
    if not request_type:
        raise RowError("RequestType", "missing value")
    lat, lon, location_warning = lat_lon(pick(record, "latitude"), pick(record, "longitude"))
    status = pick(record, "status")
    closed = parse_timestamp(pick(record, "closeddate"), tz, field_name="ClosedDate")
    warnings: list[str] = [location_warning] if location_warning else []
    if closed is None and status.lower() == "closed":
        closed = parse_timestamp(pick(record, "updateddate"), tz, field_name="UpdatedDate")
        warnings.append("closed_without_date" if closed is None else "closed_date_from_update")
    service = parse_timestamp(pick(record, "servicedate"), tz, field_name="ServiceDate")
    req = Request(
        fmt=FORMAT,
        city=city,
        request_id=request_id,
        created_at=created,
        category=[request_type],
        unit=pick(record, "owner") or None,
        district=district_code(pick(record, "cd", "councildistrict")),
        channel=channel(pick(record, "requestsource")),
        lat=lat,
        lon=lon,
        address=pick(record, "address") or None,
        # ServiceDate is the scheduled service day (given as its midnight): due by the end of it.
        due_at=end_of_local_day(service) if service is not None else None,
        closed_at=closed,
        resolution="" if status.lower() == "closed" else status,
    )
    return req, tuple(warnings)


def parse(lines_or_path: Source, *, city: str, tz: str | tzinfo = DEFAULT_TZ) -> Iterator[RowResult]:
    """Parse a MyLA311 CSV export: one ``RowResult`` per data row (header = row 1), in file order.

    Each request gives ``ticket.created`` (category ``[RequestType]``, council district,
    channel from ``RequestSource``, lat/lon, address, due = end of ``ServiceDate``),
    ``ticket.dispatched`` to ``Owner`` at the creation time, and ``ticket.closed`` at
    ``ClosedDate`` when there is one (the resolution names a Cancelled / Referred Out status).
    Naive timestamps are read in ``tz``. Pure; deterministic event ids (idempotent import).
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
