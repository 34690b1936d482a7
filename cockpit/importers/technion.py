"""The Technion "Anonymous Bank" per-call log (tab-separated, one row per call) -> call and seat events.

Columns (matched case-insensitively): ``vru+line, call_id, customer_id, priority, type, date,
vru_entry, vru_exit, vru_time, q_start, q_exit, q_time, outcome, ser_start, ser_exit, ser_time,
server``. ``date`` is ``yymmdd`` and every time is ``H:MM:SS`` wall-clock time of that day in
``tz``; ``0:00:00`` means "no such time". See docs/importers.md for every mapping rule and quirk.

Idempotence: every event_id is derived from the row (``technion:<city>:<call_id>:<kind>``), so
importing the same file twice stores nothing new the second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from cockpit.importers.common import (
    CSV_ERROR,
    RowError,
    RowResult,
    Source,
    error_result,
    iso,
    iter_csv,
    zone,
)

FORMAT = "technion"
DEFAULT_TZ = "Asia/Jerusalem"
NO_SERVER = "NO_SERVER"  # the log's "agent not recorded"; kept as the seat id of answered calls
ZERO = "0:00:00"
HALF_DAY_S = 12 * 3600

REQUIRED = ("vru+line", "call_id", "date", "vru_entry", "outcome")
COLUMNS = REQUIRED + ("vru_exit", "q_start", "q_exit", "q_time", "ser_start", "ser_exit", "ser_time", "server")


@dataclass
class _SeatDay:
    first_start: datetime
    last_end: datetime
    first_row: int
    last_row: int


def _hms(record: dict[str, str], name: str) -> int:
    value = record.get(name, "")
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise RowError(name, f"not a H:MM:SS time: {value!r}")
    h, m, s = (int(p) for p in parts)
    if h > 23 or m > 59 or s > 59:
        raise RowError(name, f"time out of range: {value!r}")
    return h * 3600 + m * 60 + s


MAX_SECONDS = 10**8  # beyond this no date arithmetic works; the event schema refuses over a day anyway


def _seconds(record: dict[str, str], name: str) -> int:
    value = record.get(name, "")
    try:
        n = int(value)
    except ValueError:
        raise RowError(name, f"not a whole number of seconds: {value[:40]!r}") from None
    if n > MAX_SECONDS:
        raise RowError(name, f"not a duration in seconds: {value[:40]!r}")
    return n


def _date(value: str) -> date:
    if value.isdigit() and len(value) == 6:
        yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:])
        year = 1900 + yy if yy >= 70 else 2000 + yy  # the log is from 1999; pivot 1970
    elif value.isdigit() and len(value) == 8:
        year, mm, dd = int(value[:4]), int(value[4:6]), int(value[6:])
    else:
        raise RowError("date", f"not a yymmdd date: {value!r}")
    try:
        return date(year, mm, dd)
    except ValueError as exc:
        raise RowError("date", f"invalid date {value!r} ({exc})") from None


class _Clock:
    """Turns a row's ``H:MM:SS`` times into aware datetimes around the call's arrival.

    A time more than 12 hours *before* ``vru_entry`` belongs to the next day (the call crossed
    midnight); more than 12 hours after, to the previous day. Smaller negative offsets are real:
    priority calls are logged with ``vru_exit`` up to ~3 minutes before ``vru_entry``.
    """

    def __init__(self, day: date, entry_s: int, tz: tzinfo):
        self.day, self.entry_s, self.tz = day, entry_s, tz

    def at(self, seconds: int) -> datetime:
        delta = seconds - self.entry_s
        if delta < -HALF_DAY_S:
            delta += 86_400
        elif delta > HALF_DAY_S:
            delta -= 86_400
        naive = datetime.combine(self.day, time()) + timedelta(seconds=self.entry_s + delta)
        return naive.replace(tzinfo=self.tz)


def _call_events(record: dict[str, str], *, city: str, tz: tzinfo) -> tuple[list[dict], str | None, tuple]:
    """Events of one row, or a skip reason. Raises RowError for unreadable fields."""
    for name in REQUIRED:
        if not record.get(name):
            raise RowError(name, "missing value")
    outcome = record["outcome"].upper()
    if outcome not in ("AGENT", "HANG", "PHANTOM"):
        raise RowError("outcome", f"unknown outcome {record['outcome']!r}; expected AGENT, HANG or PHANTOM")
    day = _date(record["date"])
    entry_s = _hms(record, "vru_entry")
    vru_exit_s = _hms(record, "vru_exit")
    q_start_s, q_exit_s = _hms(record, "q_start"), _hms(record, "q_exit")
    q_time = _seconds(record, "q_time")
    if q_time < 0:
        raise RowError("q_time", f"negative queue time {q_time}")
    queued = q_time > 0 or record["q_start"] != ZERO or record["q_exit"] != ZERO
    if outcome == "PHANTOM":
        return [], "phantom", ()
    if outcome == "HANG" and not queued:
        return [], "ivr_hangup", ()

    clock = _Clock(day, entry_s, tz)
    call_id = f"{record['vru+line']}-{day:%Y%m%d}-{record['call_id']}"
    prefix = f"{FORMAT}:{city}:{call_id}"
    base = {"city": city, "call_id": call_id}
    warnings: list[str] = []

    if queued:
        # 0:00:00 is both "no time" and real midnight: rebuild a missing end from the other one.
        if q_start_s or not q_exit_s:
            offered_at = clock.at(q_start_s)
            left_at = clock.at(q_exit_s) if q_exit_s else offered_at + timedelta(seconds=q_time)
        else:
            left_at = clock.at(q_exit_s)
            offered_at = left_at - timedelta(seconds=q_time)
        wait_s = float(q_time)
    else:
        offered_at = clock.at(vru_exit_s)
        left_at = offered_at
        wait_s = 0.0
    events = [{**base, "event_id": f"{prefix}:offered", "type": "call.offered",
               "occurred_at": iso(offered_at), "channel": "phone"}]
    if outcome == "HANG":
        events.append({**base, "event_id": f"{prefix}:abandoned", "type": "call.abandoned",
                       "occurred_at": iso(left_at), "wait_s": wait_s})
        return events, None, ()

    seat_id = record.get("server") or NO_SERVER
    if seat_id == NO_SERVER:
        warnings.append("answered_no_server")
    events.append({**base, "event_id": f"{prefix}:answered", "type": "call.answered",
                   "occurred_at": iso(left_at), "seat_id": seat_id, "wait_s": wait_s})
    ser_time = _seconds(record, "ser_time")
    if queued and record.get("ser_start") != ZERO and clock.at(_hms(record, "ser_start")) < left_at:
        warnings.append("service_before_queue_exit")
    if ser_time < 0:
        raise RowError("ser_time", f"negative service time {ser_time}")
    if record.get("ser_start") == ZERO and record.get("ser_exit") == ZERO and ser_time == 0:
        warnings.append("answered_no_service_times")
        ended_at = left_at
    else:
        ended_at = clock.at(_hms(record, "ser_exit"))
    events.append({**base, "event_id": f"{prefix}:ended", "type": "call.ended",
                   "occurred_at": iso(ended_at), "talk_s": float(ser_time), "seat_id": seat_id})
    return events, None, tuple(warnings)


def _service_span(record: dict[str, str], day: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
    """The agent's service interval of an answered row, or None when it has no real agent/times."""
    if record.get("outcome", "").upper() != "AGENT" or record.get("server", NO_SERVER) in ("", NO_SERVER):
        return None
    if record.get("ser_start") == ZERO and record.get("ser_exit") == ZERO:
        return None
    clock = _Clock(day, _hms(record, "vru_entry"), tz)
    return clock.at(_hms(record, "ser_start")), clock.at(_hms(record, "ser_exit"))


def _rows(lines_or_path: Source, *, city: str, tz: tzinfo, seat_days: dict) -> Iterator[RowResult]:
    for row, record in iter_csv(lines_or_path, delimiter="\t", required=COLUMNS):
        if CSV_ERROR in record:
            yield error_result(row, record, RowError("(row)", record[CSV_ERROR]))
            continue
        try:
            events, skipped, warnings = _call_events(record, city=city, tz=tz)
            span = _service_span(record, _date(record["date"]), tz) if events else None
        except RowError as exc:
            yield error_result(row, record, exc)
            continue
        if skipped:
            yield RowResult(row=row, raw=record, skipped=skipped)
            continue
        if span is not None:
            key = (record["server"], _date(record["date"]))
            sd = seat_days.get(key)
            if sd is None:
                seat_days[key] = _SeatDay(span[0], span[1], row, row)
            else:
                if span[0] < sd.first_start:
                    sd.first_start, sd.first_row = span[0], row
                if span[1] > sd.last_end:
                    sd.last_end, sd.last_row = span[1], row
        yield RowResult(row=row, raw=record, events=events, warnings=warnings)


def parse(lines_or_path: Source, *, city: str, tz: str | tzinfo = DEFAULT_TZ) -> Iterator[RowResult]:
    """Parse a Technion call log into call events, then seat log-in spans.

    Yields one ``RowResult`` per data row, in file order (row numbers: header = 1), then one
    ``RowResult`` with ``row=None`` per agent and call day holding two ``seat.state`` events:
    ``ready`` at the first service start and ``offline`` at the last service end of that day.
    This is an approximation of logged-in time (the log has no log-in records): idle time before
    the first and after the last call of the day is not seen. ``tz`` names the zone of the log's
    wall-clock times (Israel for the Anonymous Bank data). Pure: no database, no network.
    """
    tz = zone(tz)
    seat_days: dict[tuple[str, date], _SeatDay] = {}
    try:
        yield from _rows(lines_or_path, city=city, tz=tz, seat_days=seat_days)
    except RowError as exc:  # only the header check raises out of the row loop
        yield error_result(1, None, exc)
        return

    for (seat_id, day), sd in sorted(seat_days.items()):
        prefix = f"{FORMAT}:{city}:seat:{seat_id}:{day:%Y%m%d}"
        yield RowResult(
            row=None,
            raw={"seat_id": seat_id, "date": day.isoformat(),
                 "first_row": sd.first_row, "last_row": sd.last_row},
            events=[
                {"event_id": f"{prefix}:ready", "type": "seat.state", "city": city, "seat_id": seat_id,
                 "state": "ready", "occurred_at": iso(sd.first_start), "reason": "first service of day"},
                {"event_id": f"{prefix}:offline", "type": "seat.state", "city": city, "seat_id": seat_id,
                 "state": "offline", "occurred_at": iso(sd.last_end), "reason": "last service of day"},
            ],
        )
