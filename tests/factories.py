"""Small deterministic event builders for tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


class Stream:
    """Builds events with sequential ids; times are offsets in seconds from ``base``."""

    def __init__(self, city: str = "620100", base: datetime = BASE, prefix: str = "e") -> None:
        self.city, self.base, self.prefix, self.n = city, base, prefix, 0

    def at(self, seconds: float) -> str:
        return (self.base + timedelta(seconds=seconds)).isoformat()

    def event(self, type_: str, seconds: float, **fields) -> dict:
        self.n += 1
        return {"event_id": f"{self.prefix}{self.n}", "type": type_, "occurred_at": self.at(seconds),
                "city": fields.pop("city", self.city), **fields}

    def answered_call(self, call_id: str, t: float, wait: float, talk: float, seat: str = "s1") -> list[dict]:
        return [
            self.event("call.offered", t, call_id=call_id),
            self.event("call.answered", t + wait, call_id=call_id, seat_id=seat, wait_s=wait),
            self.event("call.ended", t + wait + talk, call_id=call_id, talk_s=talk, hold_s=0, acw_s=10,
                       seat_id=seat),
        ]

    def abandoned_call(self, call_id: str, t: float, wait: float) -> list[dict]:
        return [
            self.event("call.offered", t, call_id=call_id),
            self.event("call.abandoned", t + wait, call_id=call_id, wait_s=wait),
        ]

    def ticket(self, ticket_id: str, t: float, *, district: str = "620102", category=("城乡建设", "供热"),
               unit: str = "城关区人民政府", close: bool = True, satisfaction: str = "satisfied") -> list[dict]:
        out = [
            self.event("ticket.created", t, ticket_id=ticket_id, district=district, category=list(category),
                       channel="phone", urgency="normal", text="暖气不热", due_at=self.at(t + 5 * 86400)),
            self.event("ticket.dispatched", t + 600, ticket_id=ticket_id, unit=unit, auto=True, confidence=0.9),
            self.event("ticket.responded", t + 3600, ticket_id=ticket_id, unit=unit),
        ]
        if close:
            out += [
                self.event("ticket.closed", t + 86400, ticket_id=ticket_id, unit=unit, resolution="已修复"),
                self.event("ticket.callback", t + 2 * 86400, ticket_id=ticket_id, resolved="yes",
                           satisfaction=satisfaction),
            ]
        return out


def random_stream(seed: int, n_calls: int, n_tickets: int, *, cities=("620100", "620200"),
                  base: datetime = BASE) -> list[dict]:
    """A valid, mixed stream (calls, seats, tickets) over a few hours; deterministic for ``seed``."""
    rng = random.Random(seed)
    out: list[dict] = []
    streams = {c: Stream(c, base, prefix=f"r{seed}-{c}-") for c in cities}
    for i in range(n_calls):
        s = streams[rng.choice(cities)]
        t = rng.uniform(0, 4 * 3600)
        wait = rng.choice([0.0, 2.0, 4.5, 5.0, 8.0, 15.0, 15.5, 40.0, rng.uniform(0, 300)])
        if rng.random() < 0.8:
            out += s.answered_call(f"c{i}", t, wait, rng.uniform(20, 600), seat=f"s{rng.randrange(8)}")
        else:
            out += s.abandoned_call(f"c{i}", t, wait)
    for i in range(n_tickets):
        s = streams[rng.choice(cities)]
        out += s.ticket(f"T{seed}-{i}", rng.uniform(0, 4 * 3600), district=rng.choice(["620102", "620103", ""]) or None,
                        close=rng.random() < 0.7, satisfaction=rng.choice(["satisfied", "dissatisfied", "basic"]))
    for seat in range(8):
        s = streams[rng.choice(cities)]
        for k in range(rng.randrange(1, 5)):
            out.append(s.event("seat.state", rng.uniform(0, 4 * 3600), seat_id=f"s{seat}",
                               state=rng.choice(["ready", "on_call", "acw", "not_ready", "offline"])))
    return out


def stored_state(stores) -> dict:
    """Every stored call, ticket and seat as sorted tuples: compare two ways of reaching a state."""
    from sqlalchemy import select

    from cockpit.store.models import Call, Seat, Ticket

    with stores.session() as session:
        calls = sorted(
            (c.city, c.call_id, c.offered_at, c.answered_at, c.abandoned_at, c.ended_at, c.queued_at, c.wait_s,
             c.talk_s, c.seat_id)
            for c in session.scalars(select(Call))
        )
        tickets = sorted(
            tuple(getattr(t, col) for col in ("ticket_id", "status", "unit", "returns", "transfers", "reopens",
                                               "created_at", "closed_at", "responded_at", "satisfaction"))
            for t in session.scalars(select(Ticket))
        )
        seats = sorted((x.city, x.seat_id, x.state, x.since) for x in session.scalars(select(Seat)))
    return {"calls": calls, "tickets": tickets, "seats": seats}
