"""Event builders for the metrics, staffing and rollup tests (no tests here).

Every fixture fact goes through ``cockpit.ingest.ingest_batch``, so the numbers the tests check
are the numbers the product computes from what it actually stores.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from cockpit.ingest import ingest_batch

_ids = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat() if moment.tzinfo is None else moment.isoformat()


def ev(kind: str, at: datetime, city: str = "620100", **fields) -> dict:
    return {"event_id": f"e{next(_ids)}-{kind}", "type": kind, "occurred_at": iso(at), "city": city,
            "source": "test", **fields}


def call(call_id: str, *, queued: datetime, city: str = "620100", answer_after: float | None = None,
         abandon_after: float | None = None, seat: str = "S1", talk: float | None = None,
         hold: float = 0.0, acw: float = 0.0, offered: bool = True) -> list[dict]:
    """The events of one call, queued at ``queued``; talk None = not ended yet."""
    out = []
    if offered:
        out.append(ev("call.offered", queued, city, call_id=call_id))
    if answer_after is not None:
        answered = queued + timedelta(seconds=answer_after)
        out.append(ev("call.answered", answered, city, call_id=call_id, seat_id=seat, wait_s=answer_after))
        if talk is not None:
            end = answered + timedelta(seconds=talk + hold)
            out.append(ev("call.ended", end, city, call_id=call_id, talk_s=talk, hold_s=hold, acw_s=acw,
                          seat_id=seat))
    elif abandon_after is not None:
        out.append(ev("call.abandoned", queued + timedelta(seconds=abandon_after), city, call_id=call_id,
                      wait_s=abandon_after))
    return out


def seat(seat_id: str, state: str, at: datetime, city: str = "620100") -> dict:
    return ev("seat.state", at, city, seat_id=seat_id, state=state)


def ticket(ticket_id: str, kind: str, at: datetime, city: str = "620100", **fields) -> dict:
    return ev(f"ticket.{kind}", at, city, ticket_id=ticket_id, **fields)


def ingest(stores, events: list[dict]) -> None:
    result = ingest_batch(stores, events, source="test")
    assert result.rejected == [], result.rejected


def random_calls(seed: int, *, start: datetime, hours: int, cities=("620100", "620200"),
                 per_hour: int = 40) -> list[dict]:
    """Deterministic random call traffic (queue times spread over ``hours`` from ``start``)."""
    rng = random.Random(seed)
    out = []
    n = 0
    for city in cities:
        for _ in range(hours * per_hour):
            n += 1
            queued = start + timedelta(seconds=rng.randrange(hours * 3600))
            outcome = rng.random()
            if outcome < 0.7:
                out += call(f"r{n}", queued=queued, city=city, answer_after=rng.choice([0, 3, 15, 16, 40, 90]),
                            seat=f"S{rng.randrange(8)}", talk=rng.choice([None, 60.0, 200.0, 415.5]),
                            hold=rng.choice([0.0, 12.0]), acw=rng.choice([0.0, 30.0]))
            elif outcome < 0.9:
                out += call(f"r{n}", queued=queued, city=city, abandon_after=rng.choice([1, 5, 6, 30, 120]),
                            offered=rng.random() < 0.8)
            else:
                out += call(f"r{n}", queued=queued, city=city)
    rng.shuffle(out)
    return out


def random_tickets(seed: int, *, start: datetime, hours: int, cities=("620100", "620200"),
                   per_hour: int = 10) -> list[dict]:
    rng = random.Random(seed)
    out = []
    n = 0
    for city in cities:
        districts = [city[:4] + "02", city[:4] + "03", None]
        for _ in range(hours * per_hour):
            n += 1
            created = start + timedelta(seconds=rng.randrange(hours * 3600))
            fields = {"category": [rng.choice(["城建", "环保", "交通"])]}
            district = rng.choice(districts)
            if district:
                fields["district"] = district
            out.append(ticket(f"t{n}", "created", created, city, **fields))
    rng.shuffle(out)
    return out
