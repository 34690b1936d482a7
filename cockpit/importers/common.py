"""What every importer shares: the per-row result, file opening, headers, timestamps.

Parsers are pure: they read text and yield ``RowResult``s; nothing here touches a database.
"""

from __future__ import annotations

import math

import csv
import gzip
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Union
from zoneinfo import ZoneInfo

MAX_CATEGORY_LEN = 64  # events.TicketCreated: each category level is at most 64 characters
MAX_ADDRESS_LEN = 256
MAX_TEXT_LEN = 4000
MAX_RESOLUTION_LEN = 1000
MAX_UNIT_LEN = 128
CSV_ERROR = "(csv)"  # key of a record the csv module could not read; the parser rejects the row
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # the csv default (128 KiB) is below some portals' long texts

Source = Union[str, Path, Iterable[str]]


@dataclass(frozen=True)
class RowResult:
    """One input row turned into events, or an error, or a counted skip.

    ``row`` is the row number as a spreadsheet shows it: the header is row 1, so the first data
    row is row 2 (for a JSON array, the element's 1-based position). ``None`` marks events that
    no single row produced (e.g. seat log-in spans derived from a whole day of calls).
    ``errors`` are ``{"field", "message"}`` dicts, the same shape ``events.FieldError`` gives.
    ``warnings`` name data quirks that were repaired (counted in the import summary).
    """

    row: int | None
    raw: dict[str, Any] | None
    events: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    skipped: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and self.skipped is None


class RowError(ValueError):
    """A field of a row cannot be read; carries the field name for the dead-letter reason."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def error_result(row: int, raw: dict | None, *errors: RowError) -> RowResult:
    return RowResult(row=row, raw=raw, errors=[e.as_dict() for e in errors])


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a UTF-8 text file for csv reading; ``.gz`` files are decompressed on the fly (streamed).

    Bytes that are not UTF-8 become U+FFFD instead of stopping the import halfway.
    """
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def header_lower(name: str) -> str:
    """``" Vru+Line "`` -> ``"vru+line"``."""
    return name.strip().lower()


def header_compact(name: str) -> str:
    """``"Created Date"``, ``"created_date"``, ``"CreatedDate"`` -> ``"createddate"``: portal exports
    and their APIs spell the same column in all three ways."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def iter_csv(
    source: Source,
    *,
    delimiter: str = ",",
    key: Callable[[str], str] = header_lower,
    required: tuple[str, ...] = (),
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row_number, record)`` with header names normalised by ``key`` (lower-cased by default).

    ``source`` is a path (plain or ``.gz``) or any iterable of lines (a list of strings, an open
    file). The row number is the line on which the record starts (header = 1); it differs from
    the data row index only when a quoted field spans several lines. Values are stripped;
    missing trailing fields are ``""``. A record the csv module cannot read comes back as
    ``{CSV_ERROR: message}``. Raises ``RowError("(file)", ...)`` before the first record when a
    ``required`` column (normalised name) is missing from the header: wrong file or format.
    """
    if isinstance(source, (str, Path)):
        with open_text(source) as fh:
            yield from _iter_csv_lines(fh, delimiter, key, required)
    else:
        yield from _iter_csv_lines(source, delimiter, key, required)


def _iter_csv_lines(
    lines: Iterable[str], delimiter: str, key: Callable[[str], str], required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    names = [key(h) for h in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise RowError("(file)", f"missing column(s) {', '.join(missing)}; found {', '.join(names[:20])}")
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_number, start = start, reader.line_num + 1
            yield row_number, {CSV_ERROR: str(exc)}
            continue
        row_number, start = start, reader.line_num + 1
        if not values or all(not v.strip() for v in values):
            continue
        record = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names)}
        if len(values) > len(names):
            record["(extra)"] = delimiter.join(values[len(names):])
        yield row_number, record


def pick(record: dict[str, str], *names: str) -> str:
    """The first non-empty value among header ``names`` (already lower-case), or ``""``."""
    for name in names:
        value = record.get(name)
        if value:
            return value
    return ""


_US = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*([AaPp][Mm])?)?$"
)
_ISO_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


MIN_YEAR, MAX_YEAR = 1900, 2999  # outside: a typo, and near year 1 or 9999 zone arithmetic overflows


def parse_timestamp(value: str, tz: tzinfo, *, field_name: str) -> datetime | None:
    """``_parse_timestamp`` limited to the years MIN_YEAR..MAX_YEAR (RowError outside)."""
    moment = _parse_timestamp(value, tz, field_name=field_name)
    if moment is not None and not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise RowError(field_name, f"year outside {MIN_YEAR}..{MAX_YEAR}: {value.strip()[:40]!r}")
    return moment


def _parse_timestamp(value: str, tz: tzinfo, *, field_name: str) -> datetime | None:
    """Parse a portal timestamp into an aware datetime; ``""`` gives ``None``.

    Accepted: US style ``05/01/2022 12:00:03 AM`` (or 24-hour ``05/01/2022 00:00:03``, or a bare
    date) and ISO 8601 (``2022-05-01T00:00:03.000``, ``2022-05-01 00:00:03``, with or without an
    offset / ``Z``). Times without a zone are local wall-clock times in ``tz``; an ambiguous time
    in the autumn DST overlap is taken as the first (daylight) occurrence (``fold=0``).
    Raises ``RowError(field_name, ...)`` for anything else.
    """
    value = value.strip()
    if not value:
        return None
    m = _US.match(value)
    if m:
        month, day, year, hour, minute, second, frac, ampm = m.groups()
        h = int(hour or 0)
        if ampm:
            if not 1 <= h <= 12:
                raise RowError(field_name, f"bad hour in timestamp {value!r}")
            h = h % 12 + (12 if ampm.lower() == "pm" else 0)
        try:
            return datetime(
                int(year), int(month), int(day), h, int(minute or 0), int(second or 0),
                int((frac or "0").ljust(6, "0")), tzinfo=tz,
            )
        except ValueError as exc:
            raise RowError(field_name, f"invalid timestamp {value!r} ({exc})") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise RowError(field_name, f"unparseable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        if not _ISO_NAIVE.match(value):
            raise RowError(field_name, f"unparseable timestamp {value!r}")
        return parsed.replace(tzinfo=tz)
    return parsed


def parse_float(value: Any, *, field_name: str) -> float | None:
    """A number from a cell; ``""``/``None`` gives ``None``; anything else unreadable raises RowError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError(field_name, f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        value = str(value).strip()
        if not value or value.lower() in ("nan", "null", "none"):
            return None
        try:
            number = float(value)
        except ValueError:
            raise RowError(field_name, f"not a number: {value[:64]!r}") from None
    if not math.isfinite(number):
        if number != number:
            return None
        raise RowError(field_name, f"not a finite number: {str(value)[:64]!r}")
    return number


def lat_lon(lat_raw: Any, lon_raw: Any) -> tuple[float | None, float | None, str | None]:
    """``(lat, lon, warning)``: both coordinates or neither.

    A lone coordinate or 0/0 (a portal's "unknown") gives neither, silently: there was no
    location. Unreadable or out-of-range values give neither with a warning name
    (``location_unreadable`` / ``location_out_of_range``): 311 exports carry some junk
    coordinates, and a bad location should not cost the ticket.
    """
    try:
        lat = parse_float(lat_raw, field_name="lat")
        lon = parse_float(lon_raw, field_name="lon")
    except RowError:
        return None, None, "location_unreadable"
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
        return None, None, "location_out_of_range"
    return lat, lon, None


def clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value[:limit]


def zone(name: str | tzinfo) -> tzinfo:
    return ZoneInfo(name) if isinstance(name, str) else name


def iso(moment: datetime) -> str:
    """ISO 8601 with the offset, the wire form of ``occurred_at``."""
    return moment.isoformat()


def end_of_local_day(moment: datetime) -> datetime:
    """The next local midnight after ``moment``'s date (wall clock, same zone)."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return day.replace(tzinfo=moment.tzinfo)
