"""The event schema: every fact the cockpit knows arrives as one of these.

Events are flat JSON objects. The common envelope is ``event_id`` (unique, chosen by the
sender), ``type``, ``occurred_at`` (ISO 8601 *with* zone; stored in UTC), ``city`` (a region
code) and ``source``. The remaining fields depend on ``type``; see docs/events.md.

``validate`` turns one raw object into a typed event or a list of ``FieldError`` naming the
field and the reason, which is what the API, the CLI and the dead-letter table report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union

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
Seconds = Annotated[float, Field(ge=0, le=86_400)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Ident
    occurred_at: AwareDatetime
    city: Code
    source: Annotated[str, Field(min_length=1, max_length=64)] = "api"

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

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
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
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
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _lat_lon_together(self) -> "TicketCreated":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class TicketDispatched(_TicketEvent):
    type: Literal["ticket.dispatched"]
    unit: Annotated[str, Field(min_length=1, max_length=128)]
    auto: bool = False
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


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
    no_callback: bool = False


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
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown field"
        out.append(FieldError(".".join(str(p) for p in loc) or "(event)", message))
    return out


@dataclass(frozen=True)
class Unparsed:
    """A line that was not JSON: validated into a clear error and dead-lettered as text."""

    text: str
    error: str


def validate(raw: Any) -> tuple[Any | None, list[FieldError]]:
    """Validate one raw event; returns ``(event, [])`` or ``(None, errors)``. Never raises."""
    if isinstance(raw, Unparsed):
        return None, [FieldError("(event)", f"not JSON: {raw.error}")]
    if not isinstance(raw, dict):
        return None, [FieldError("(event)", f"an event must be a JSON object, got {type(raw).__name__}")]
    try:
        return EVENT_ADAPTER.validate_python(raw), []
    except ValidationError as exc:
        return None, _field_errors(exc)


def json_schema() -> dict:
    """The JSON Schema of one event, as published at ``/api/v1/events/schema``."""
    schema = EVENT_ADAPTER.json_schema()
    schema["title"] = "Hotline cockpit event"
    return schema


def to_json_dict(event: Any) -> dict:
    """The canonical JSON form of an event (times in UTC, ISO 8601)."""
    return event.model_dump(mode="json", exclude_none=True)
