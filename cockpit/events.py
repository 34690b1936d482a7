"""The event schema: every fact the cockpit knows arrives as one of these.

Events are flat JSON objects. The common envelope is ``event_id`` (unique, chosen by the
sender), ``type``, ``occurred_at`` (ISO 8601 *with* zone; stored in UTC), ``city`` (a region
code) and ``source``. The remaining fields depend on ``type``; see docs/events.md.

``validate`` turns one raw object into a typed event or a list of ``FieldError`` naming the
field and the reason, which is what the API, the CLI and the dead-letter table report.

Types are strict: a number must be a JSON number (not ``"12"``, not ``true``, not NaN), a flag a
JSON boolean; text must not hold NUL characters or lone surrogates (PostgreSQL and UTF-8 refuse
them). ``occurred_at`` must lie in the accepted ``TimeWindow`` (docs/events.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import re
from typing import Annotated, Any, Literal, Union

from pydantic_core import to_json
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,32}$"
ID_PATTERN = r"^[^\s]{1,128}$"

SEAT_STATES = ("offline", "ready", "ringing", "on_call", "hold", "acw", "not_ready")
LOGGED_OUT_STATES = ("offline",)  # seat states that are not logged in
OPEN_STATUSES = ("created", "dispatched", "returned", "responded", "reopened")  # a ticket status that is not closed
SeatState = Literal["offline", "ready", "ringing", "on_call", "hold", "acw", "not_ready"]
CHANNELS = ("phone", "web", "wechat", "app", "sms", "email", "other")
Channel = Literal["phone", "web", "wechat", "app", "sms", "email", "other"]
URGENCIES = ("normal", "urgent", "emergency")
Urgency = Literal["normal", "urgent", "emergency"]
SATISFACTIONS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "unreachable")
Satisfaction = Literal["very_satisfied", "satisfied", "basic", "dissatisfied", "unreachable"]
Resolved = Literal["yes", "no", "unknown"]

Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Ident = Annotated[str, Field(pattern=ID_PATTERN)]
Seconds = Annotated[float, Field(ge=0, le=86_400, strict=True, allow_inf_nan=False)]
Flag = Annotated[bool, Field(strict=True)]
_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with NUL characters and lone surrogates written as escapes (storable and printable)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    if _SURROGATE.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _text_problem(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\u0000)"
        if _SURROGATE.search(value):
            return "contains a lone surrogate (not valid Unicode text)"
    elif isinstance(value, list):
        for item in value:
            problem = _text_problem(item)
            if problem:
                return problem
    return None


def _utc(value: datetime) -> datetime:
    try:
        moment = value.astimezone(UTC)
        (moment - timedelta(days=2), moment + timedelta(days=2))  # any zone's local time is representable
    except OverflowError:
        raise ValueError("outside the representable date range") from None
    return moment


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Ident
    occurred_at: AwareDatetime
    city: Code
    source: Annotated[str, Field(min_length=1, max_length=64)] = "api"

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = _text_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @property
    def entity_id(self) -> str:
        """The id of the call, seat or ticket the event is about."""
        raise NotImplementedError


class _CallEvent(_Event):
    call_id: Ident

    @property
    def entity_id(self) -> str:
        return self.call_id


class CallOffered(_CallEvent):
    type: Literal["call.offered"]
    channel: Annotated[str, Field(max_length=32)] = "phone"


class CallAnswered(_CallEvent):
    type: Literal["call.answered"]
    seat_id: Ident
    wait_s: Seconds


class CallAbandoned(_CallEvent):
    type: Literal["call.abandoned"]
    wait_s: Seconds


class CallEnded(_CallEvent):
    type: Literal["call.ended"]
    talk_s: Seconds
    hold_s: Seconds = 0.0
    acw_s: Seconds = 0.0
    seat_id: Ident | None = None


class SeatStateChanged(_Event):
    type: Literal["seat.state"]
    seat_id: Ident
    state: SeatState
    reason: Annotated[str, Field(max_length=64)] | None = None

    @property
    def entity_id(self) -> str:
        return self.seat_id


class _TicketEvent(_Event):
    ticket_id: Ident

    @property
    def entity_id(self) -> str:
        return self.ticket_id


class TicketCreated(_TicketEvent):
    type: Literal["ticket.created"]
    district: Code | None = None
    lat: Annotated[float, Field(ge=-90, le=90, strict=True, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, strict=True, allow_inf_nan=False)] | None = None
    category: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=5)]
    channel: Channel = "phone"
    urgency: Urgency = "normal"
    text: Annotated[str, Field(max_length=4000)] = ""
    caller: Annotated[str, Field(max_length=128)] | None = None
    address: Annotated[str, Field(max_length=256)] | None = None
    call_id: Ident | None = None
    due_at: AwareDatetime | None = None

    @field_validator("due_at")
    @classmethod
    def _due_to_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value) if value is not None else None

    @model_validator(mode="after")
    def _lat_lon_together(self) -> "TicketCreated":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class TicketDispatched(_TicketEvent):
    type: Literal["ticket.dispatched"]
    unit: Annotated[str, Field(min_length=1, max_length=128)]
    auto: Flag = False
    confidence: Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)] | None = None


class TicketReturned(_TicketEvent):
    type: Literal["ticket.returned"]
    unit: Annotated[str, Field(min_length=1, max_length=128)]
    reason: Annotated[str, Field(max_length=256)] = ""


class TicketTransferred(_TicketEvent):
    type: Literal["ticket.transferred"]
    from_unit: Annotated[str, Field(min_length=1, max_length=128)]
    to_unit: Annotated[str, Field(min_length=1, max_length=128)]


class TicketResponded(_TicketEvent):
    type: Literal["ticket.responded"]
    unit: Annotated[str, Field(min_length=1, max_length=128)]


class TicketClosed(_TicketEvent):
    type: Literal["ticket.closed"]
    unit: Annotated[str, Field(min_length=1, max_length=128)]
    resolution: Annotated[str, Field(max_length=1000)] = ""
    no_callback: Flag = False


class TicketCallback(_TicketEvent):
    type: Literal["ticket.callback"]
    resolved: Resolved
    satisfaction: Satisfaction


class TicketReopened(_TicketEvent):
    type: Literal["ticket.reopened"]
    reason: Annotated[str, Field(max_length=256)] = ""


CallEvent = CallOffered | CallAnswered | CallAbandoned | CallEnded
TicketEvent = (
    TicketCreated
    | TicketDispatched
    | TicketReturned
    | TicketTransferred
    | TicketResponded
    | TicketClosed
    | TicketCallback
    | TicketReopened
)
Event = Annotated[
    Union[
        CallOffered,
        CallAnswered,
        CallAbandoned,
        CallEnded,
        SeatStateChanged,
        TicketCreated,
        TicketDispatched,
        TicketReturned,
        TicketTransferred,
        TicketResponded,
        TicketClosed,
        TicketCallback,
        TicketReopened,
    ],
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = tuple(
    cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for cls in (
        CallOffered, CallAnswered, CallAbandoned, CallEnded, SeatStateChanged, TicketCreated,
        TicketDispatched, TicketReturned, TicketTransferred, TicketResponded, TicketClosed,
        TicketCallback, TicketReopened,
    )
)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _field_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # A discriminated union puts the tag first: ('call.answered', 'wait_s').
        if loc and isinstance(loc[0], str) and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["type"]
            message = (
                "missing event type" if err["type"] == "union_tag_not_found"
                else f"unknown event type {err['ctx']['tag']!r}; expected one of {', '.join(EVENT_TYPES)}"
            )
        else:
            message = _message(err)
        out.append(FieldError(printable(".".join(str(p) for p in loc)) or "(event)", message))
    return out


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _message(err: dict) -> str:
    """Pydantic's message, reworded where it would mislead a sender of JSON."""
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("float_type", "int_type"):
        return f"must be a JSON number, got {_json_kind(value)}"
    if kind == "finite_number":
        return "must be a finite number (NaN and Infinity are not JSON numbers)"
    if kind == "bool_type":
        return f"must be true or false, got {_json_kind(value)}"
    if kind == "string_type":
        return f"must be a string, got {_json_kind(value)}"
    if kind == "string_unicode":
        return "contains a lone surrogate (not valid Unicode text)"
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    return err["msg"]


@dataclass(frozen=True)
class TimeWindow:
    """The accepted range of ``occurred_at``: from ``earliest`` to ``max_future`` after the clock.

    An event outside it is rejected (``occurred_at``, with the bounds) and dead-lettered: a year
    9999 or 0001 is a sender's bug, and it would poison every counter derived from it.
    """

    earliest: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    max_future: timedelta = timedelta(minutes=10)

    @classmethod
    def from_settings(cls, settings) -> "TimeWindow":
        earliest = datetime.fromisoformat(settings.events_earliest)
        if earliest.tzinfo is None:
            earliest = earliest.replace(tzinfo=UTC)
        return cls(earliest.astimezone(UTC), timedelta(seconds=settings.events_max_future_s))

    def check(self, event: Any, now: datetime) -> list[FieldError]:
        latest = now + self.max_future
        errors = []
        if event.occurred_at < self.earliest:
            errors.append(FieldError("occurred_at", f"before the accepted window (earliest {self.earliest.isoformat()})"))
        elif event.occurred_at > latest:
            errors.append(FieldError(
                "occurred_at",
                f"more than {int(self.max_future.total_seconds())} s in the future (latest {latest.isoformat()})"))
        due = getattr(event, "due_at", None)
        if due is not None and not self.earliest <= due <= event.occurred_at + timedelta(days=3660):
            errors.append(FieldError("due_at", "outside the accepted window (from the earliest accepted time "
                                               "to ten years after occurred_at)"))
        return errors




@dataclass(frozen=True)
class Unparsed:
    """A line that was not JSON: validated into a clear error and dead-lettered as text."""

    text: str
    error: str


def validate(raw: Any, *, window: TimeWindow | None = None,
             now: datetime | None = None) -> tuple[Any | None, list[FieldError]]:
    """Validate one raw event; returns ``(event, [])`` or ``(None, errors)``. Never raises.

    ``window`` (ingestion passes the configured one; None: the schema only, e.g. for a simulator's
    future) is checked against ``now`` (default: the clock, UTC).
    """
    if isinstance(raw, Unparsed):
        return None, [FieldError("(event)", f"not JSON: {printable(raw.error)}")]
    if not isinstance(raw, dict):
        return None, [FieldError("(event)", f"an event must be a JSON object, got {_json_kind(raw)}")]
    try:
        event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        return None, _field_errors(exc)
    except (RecursionError, OverflowError, TypeError, ValueError) as exc:  # defensive: never raise
        return None, [FieldError("(event)", f"cannot be validated: {exc.__class__.__name__}")]
    if window is not None:
        errors = window.check(event, now or datetime.now(UTC))
        if errors:
            return None, errors
    return event, []


def json_schema() -> dict:
    """The JSON Schema of one event, as published at ``/api/v1/events/schema``."""
    schema = EVENT_ADAPTER.json_schema()
    schema["title"] = "Hotline cockpit event"
    return schema


def to_json_dict(event: Any) -> dict:
    """The canonical JSON form of an event (times in UTC, ISO 8601)."""
    return event.model_dump(mode="json", exclude_none=True)


# --- events from a trusted producer ---------------------------------------------------------

_MODELS: dict[str, type[BaseModel]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        CallOffered, CallAnswered, CallAbandoned, CallEnded, SeatStateChanged, TicketCreated,
        TicketDispatched, TicketReturned, TicketTransferred, TicketResponded, TicketClosed,
        TicketCallback, TicketReopened,
    )
}
# Per type: (field names in the model's order, defaults of the optional fields, entity id field).
_SHAPES: dict[str, tuple[tuple[str, ...], dict[str, Any], str]] = {
    name: (
        tuple(cls.model_fields),
        {f: info.default for f, info in cls.model_fields.items() if not info.is_required()},
        "call_id" if "call_id" in cls.model_fields and name.startswith("call.")
        else "ticket_id" if name.startswith("ticket.") else "seat_id",
    )
    for name, cls in _MODELS.items()
}


def _json_time(moment: datetime) -> str:
    """A UTC instant as the validated models serialise it (``2026-11-29T00:00:00.120000Z``)."""
    return moment.replace(tzinfo=None).isoformat() + "Z"


class TrustedEvent:
    """An event from the project's own simulator, built without validation.

    It has the attributes of the validated model (defaults filled in, times aware UTC) and the
    same JSON form (``model_dump``/``model_dump_json`` with ``exclude_none``), so every writer
    stores exactly what it stores for the model (tests/test_bulk.py proves it on a simulated
    history). Only for events this process made itself: external input is always ``validate``d.
    """

    def __init__(self, fields: dict[str, Any], doc: dict[str, Any], entity: str) -> None:
        self.__dict__.update(fields)
        self._doc = doc
        self.entity_id = fields[entity]

    def model_dump(self, *, mode: str = "json", exclude_none: bool = True) -> dict:
        assert mode == "json" and exclude_none, "a trusted event has only its JSON form"
        return dict(self._doc)

    def model_dump_json(self, *, exclude_none: bool = True) -> str:
        assert exclude_none, "a trusted event has only its JSON form"
        return to_json(self._doc).decode()  # pydantic's serialiser: the models' own compact form


def trusted_event(raw: dict) -> TrustedEvent:
    """A ``TrustedEvent`` from one of the simulator's raw events (``occurred_at``/``due_at`` ISO 8601
    with zone). Raises ``KeyError``/``ValueError`` on anything the simulator never makes."""
    order, defaults, entity = _SHAPES[raw["type"]]
    fields = {**defaults, **raw}
    if len(fields) != len(order):
        raise ValueError(f"unexpected fields {sorted(set(fields) - set(order))}")
    doc = {}
    for name in order:
        value = fields[name]
        if name in ("occurred_at", "due_at") and value is not None:
            moment = datetime.fromisoformat(value).astimezone(UTC)
            fields[name] = moment
            value = _json_time(moment)
        if value is not None:
            doc[name] = value
    return TrustedEvent(fields, doc, entity)
