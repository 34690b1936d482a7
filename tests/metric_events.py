"""Event builders and the hand-checked scenario shared by the metrics, staffing, rollup and API tests.

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


# ------------------------------------------------------------------ the hand-checked scenario

T0 = datetime(2026, 11, 2, 2, 0, 0)  # naive UTC = 10:00 Asia/Shanghai, a Monday
W_END = T0 + timedelta(hours=1)


def scenario_calls() -> list[dict]:
    c1 = call("C1", queued=T0, answer_after=10, seat="S1", talk=280, hold=10, acw=10)  # handle 300
    c1.reverse()  # out of order: ended, answered, offered
    return [
        *c1,
        *call("C2", queued=T0 + timedelta(minutes=1), answer_after=20, seat="S2", talk=100, acw=20),  # 120
        *call("C3", queued=T0 + timedelta(minutes=2), abandon_after=3),     # short abandon
        *call("C4", queued=T0 + timedelta(minutes=3), abandon_after=30),    # abandon
        *call("C5", queued=T0 + timedelta(minutes=4), answer_after=15),     # exactly 15 s: within
        *call("C6", queued=T0 + timedelta(minutes=20)),                     # still waiting
        # queued 02:59:59 (answered after the window): belongs to the window
        *call("C7", queued=W_END - timedelta(seconds=1), answer_after=6, offered=False),
        # queued exactly at the window end: belongs to the next window
        *call("C8", queued=W_END, answer_after=2),
    ]


def scenario_tickets() -> list[dict]:
    d1 = T0 + timedelta(days=1)
    return [
        ticket("T1", "created", T0, district="620102", category=["城建", "道路"], due_at=(T0 + timedelta(days=2)).isoformat() + "Z"),
        ticket("T1", "dispatched", T0 + timedelta(minutes=10), unit="U1", auto=True, confidence=0.9),
        ticket("T1", "responded", T0 + timedelta(minutes=30), unit="U1"),
        ticket("T1", "closed", d1 - timedelta(hours=1), unit="U1"),
        ticket("T1", "callback", d1, resolved="yes", satisfaction="very_satisfied"),
        ticket("T2", "created", T0 + timedelta(minutes=10), district="620102", category=["环保"],
               due_at=(d1 + timedelta(minutes=10)).isoformat() + "Z"),
        ticket("T2", "dispatched", T0 + timedelta(minutes=20), unit="U2"),
        ticket("T2", "responded", d1 + timedelta(hours=1), unit="U2"),        # 24h40m after dispatch: late
        ticket("T2", "closed", d1 + timedelta(hours=2), unit="U2"),           # after due_at
        ticket("T2", "callback", d1 + timedelta(hours=3), resolved="no", satisfaction="basic"),
        ticket("T3", "created", T0 + timedelta(minutes=20), district="620103", category=["交通"],
               due_at=(d1 + timedelta(minutes=20)).isoformat() + "Z"),
        ticket("T3", "dispatched", T0 + timedelta(minutes=25), unit="U1", auto=True),
        ticket("T3", "returned", T0 + timedelta(hours=1), unit="U1", reason="not ours"),
        ticket("T3", "dispatched", T0 + timedelta(hours=1, minutes=10), unit="U3"),
        ticket("T3", "transferred", T0 + timedelta(hours=2), from_unit="U3", to_unit="U4"),
        ticket("T4", "created", T0 + timedelta(minutes=30), district="620103", category=["交通"],
               due_at=(d1 + timedelta(minutes=30)).isoformat() + "Z"),
        ticket("T4", "dispatched", T0 + timedelta(minutes=35), unit="U1", auto=True),
        ticket("T4", "responded", T0 + timedelta(minutes=40), unit="U1"),
        ticket("T4", "closed", T0 + timedelta(hours=1), unit="U1"),
        ticket("T4", "callback", T0 + timedelta(hours=2), resolved="unknown", satisfaction="unreachable"),
        ticket("T4", "reopened", T0 + timedelta(hours=3)),
        ticket("T5", "created", W_END - timedelta(seconds=1), category=["咨询"]),
        ticket("T5", "closed", W_END + timedelta(minutes=5), unit="centre", no_callback=True),
        ticket("T6", "created", W_END, district="620102", category=["城建"]),
    ]


def weekday_call_history(weeks: int, now: datetime) -> list[dict]:
    """Calls every day at 09:00-11:00 local (01:00-03:00 UTC): 3 per quarter hour, 1 at weekends."""
    events, n = [], 0
    day0 = (now - timedelta(days=7 * weeks)).replace(hour=1, minute=0, second=0, microsecond=0)
    for d in range(7 * weeks + 1):
        day = day0 + timedelta(days=d)
        if day + timedelta(hours=2) > now:
            break
        per_q = 1 if (day + timedelta(hours=8)).weekday() >= 5 else 3
        for q in range(8):
            for i in range(per_q):
                n += 1
                events += call(f"f{n}", queued=day + timedelta(minutes=15 * q + 3 * i + 1), answer_after=4, talk=100)
    return events
