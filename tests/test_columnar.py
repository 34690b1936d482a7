"""The columnar simulator (``cockpit.simulation.columnar``) draws the object simulator's history."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from cockpit import events as ev
from cockpit.simulation import catalog
from cockpit.simulation.columnar import CityDayGen
from cockpit.simulation.engine import Province
from cockpit.simulation.incidents import LOCAL_TZ, incidents_on

CITIES = ["620100", "620500"]  # Lanzhou (largest) and Tianshui
FIRST = date(2026, 11, 2)  # Monday; the week has a weekend
DAYS = [FIRST + timedelta(days=k) for k in range(7)]
SCALE = 0.5


def _local(raw: dict) -> datetime:
    return datetime.fromisoformat(raw["occurred_at"]).astimezone(LOCAL_TZ)


@pytest.fixture(scope="module")
def both():
    """{(city, day): raw events} of the same week from both simulators (seed 4: incidents in it)."""
    prov, gen = Province(seed=4, cities=CITIES, scale=SCALE), CityDayGen(4, scale=SCALE)
    old, new = {}, {}
    for day in DAYS:
        for city in CITIES:
            old[city, day] = [e for _ms, _id, e in prov.simulate_city_day(city, day)]
            new[city, day] = gen.city_day(city, day).raw_events()
    return old, new


def _within(a: float, b: float, rel: float, floor: float = 0.0) -> bool:
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), floor)


def test_col001_volumes_per_city_day_and_type(both):
    old, new = both
    for key in old:
        for typ in ("call.offered", "ticket.created"):
            a = sum(1 for e in old[key] if e["type"] == typ)
            b = sum(1 for e in new[key] if e["type"] == typ)
            # Poisson noise: 5 standard deviations of the difference of two counts
            assert abs(a - b) <= 5 * np.sqrt(a + b) + 5, (key, typ, a, b)
    total_old = Counter(e["type"] for v in old.values() for e in v)
    total_new = Counter(e["type"] for v in new.values() for e in v)
    assert set(total_old) == set(total_new)
    for typ, a in total_old.items():
        assert abs(a - total_new[typ]) <= 5 * np.sqrt(a + total_new[typ]) + 10, (typ, a, total_new[typ])


def test_col002_hourly_profile_weekend_and_service(both):
    old, new = both

    def hours(events, typ):
        counts = np.zeros(24)
        for v in events.values():
            for e in v:
                if e["type"] == typ:
                    counts[_local(e).hour] += 1
        return counts

    for typ in ("call.offered", "ticket.created"):
        a, b = hours(old, typ), hours(new, typ)
        assert np.all(np.abs(a - b) <= 5 * np.sqrt(a + b) + 5), (typ, a, b)
    # weekend level: Saturday against Monday
    for data in (old, new):
        sat = sum(1 for c in CITIES for e in data[c, DAYS[5]] if e["type"] == "call.offered")
        mon = sum(1 for c in CITIES for e in data[c, DAYS[0]] if e["type"] == "call.offered")
        assert 0.55 < sat / mon < 0.85

    def service(events):
        offered = sum(1 for v in events.values() for e in v if e["type"] == "call.offered")
        waits = [e["wait_s"] for v in events.values() for e in v if e["type"] == "call.answered"]
        talks = [e["talk_s"] + e["hold_s"] for v in events.values() for e in v if e["type"] == "call.ended"]
        return len(waits) / offered, float(np.mean(waits)), float(np.median(talks))

    (rate_a, wait_a, talk_a), (rate_b, wait_b, talk_b) = service(old), service(new)
    assert abs(rate_a - rate_b) < 0.02 and _within(wait_a, wait_b, 0.3, 2.0) and _within(talk_a, talk_b, 0.08)


def test_col003_districts_categories_units_and_satisfaction(both):
    old, new = both

    def shares(events, typ, key):
        c = Counter(key(e) for v in events.values() for e in v if e["type"] == typ)
        n = sum(c.values())
        return {k: x / n for k, x in c.items()}

    for typ, key in (("ticket.created", lambda e: e["district"]), ("ticket.created", lambda e: e["category"][0]),
                     ("ticket.created", lambda e: e["channel"]), ("ticket.created", lambda e: e["urgency"]),
                     ("ticket.dispatched", lambda e: e["auto"]), ("ticket.callback", lambda e: e["satisfaction"]),
                     ("ticket.closed", lambda e: e["no_callback"]), ("ticket.returned", lambda e: e["reason"])):
        a, b = shares(old, typ, key), shares(new, typ, key)
        for k in set(a) | set(b):
            assert abs(a.get(k, 0) - b.get(k, 0)) < 0.03, (typ, k, a.get(k), b.get(k))
    # the units that handle tickets: same set, same busiest
    a, b = shares(old, "ticket.closed", lambda e: e["unit"]), shares(new, "ticket.closed", lambda e: e["unit"])
    assert max(a, key=a.get) == max(b, key=b.get)
    assert sum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b)) < 0.12


def test_col004_staffing_and_incidents(both):
    old, new = both
    for key in old:
        seats_a = {e["seat_id"] for e in old[key] if e["type"] == "seat.state"}
        seats_b = {e["seat_id"] for e in new[key] if e["type"] == "seat.state"}
        assert seats_a == seats_b, key  # the same plan: same shifts, same seats (absences included)
    surges = [i for d in DAYS for i in incidents_on(4, d) if i.city in CITIES and i.category]
    assert surges, "seed 4 has a surge or a storm in these cities this week"
    for inc in surges:
        day = inc.start.astimezone(LOCAL_TZ).date()

        def during(events):
            return sum(1 for e in events[inc.city, day] if e["type"] == "ticket.created"
                       and tuple(e["category"]) == inc.category and (inc.district is None or e["district"] == inc.district)
                       and inc.start <= datetime.fromisoformat(e["occurred_at"]) < inc.end + timedelta(hours=1))

        a, b = during(old), during(new)
        assert abs(a - b) <= 5 * np.sqrt(a + b) + 5 and b > 0, (inc.id, a, b)


def test_col005_events_valid_unique_and_complete(both):
    _old, new = both
    ids = set()
    calls: dict[str, list[str]] = {}
    tickets: dict[str, list[str]] = {}
    for events in new.values():
        for raw in events:
            model, errors = ev.validate(raw)
            assert not errors, (raw, errors)
            assert raw["event_id"] not in ids
            ids.add(raw["event_id"])
            if raw["type"].startswith("call."):
                calls.setdefault(raw["call_id"], []).append(raw["type"])
            elif raw["type"].startswith("ticket."):
                tickets.setdefault(raw["ticket_id"], []).append(raw["type"])
    for types in calls.values():
        assert types[0] == "call.offered" and sorted(types) in (
            ["call.abandoned", "call.offered"], ["call.answered", "call.ended", "call.offered"])
    for types in tickets.values():
        assert types[0] == "ticket.created" and types.count("ticket.created") == 1
    units = {e["unit"] for v in new.values() for e in v if e["type"] == "ticket.closed"}
    cities = catalog.cities()
    known = {catalog.district_unit(d) for c in CITIES for d in cities[c].districts} | {
        cities[c].dept_unit(cat.dept) for c in CITIES for cat in catalog.CATEGORIES} | {
        cities[c].hotline_unit for c in CITIES}
    assert units <= known


def test_col006_deterministic_and_clipped():
    gen = CityDayGen(2, scale=0.2)
    a = gen.city_day("620200", FIRST).raw_events()
    assert a == CityDayGen(2, scale=0.2).city_day("620200", FIRST).raw_events()
    day = gen.city_day("620200", FIRST)
    lo = int(datetime(2026, 11, 2, 12, tzinfo=LOCAL_TZ).timestamp() * 1000)
    hi = int(datetime(2026, 11, 4, tzinfo=LOCAL_TZ).timestamp() * 1000)
    clipped = day.clip(lo, hi).raw_events()
    assert clipped == [e for e in a if lo <= datetime.fromisoformat(e["occurred_at"]).timestamp() * 1000 < hi]
    assert day.clip(lo, hi).n_events() == len(clipped)


def test_col007_seat_detail_makes_seats_busy_while_on_a_call():
    """``seat_detail``: a seat is ``on_call`` from the answer, ``acw`` after the talk and ``ready``
    after the work (as an ACD reports it), so at 10:30 the busy seats are exactly the calls in
    progress; utilisation (handling / logged-in time) lies strictly between 0 and 1. The other
    events and their ids are those of the run without detail."""
    from cockpit.metrics.definitions import utilisation

    day, city = date(2026, 11, 3), "620100"
    plain = CityDayGen(6, scale=SCALE).city_day(city, day).raw_events()
    detailed = CityDayGen(6, scale=SCALE, seat_detail=True).city_day(city, day).raw_events()
    base = {e["event_id"] for e in plain}
    extra = [e for e in detailed if e["event_id"] not in base]
    assert [e for e in detailed if e["event_id"] in base] == plain
    assert extra and {e["state"] for e in extra} == {"on_call", "acw", "ready"}
    for raw in extra:
        assert not ev.validate(raw)[1], raw
    at = datetime(2026, 11, 3, 10, 30, tzinfo=LOCAL_TZ)
    allowed = {("offline", "ready"), ("ready", "on_call"), ("on_call", "acw"), ("acw", "ready"), ("acw", "on_call"),
               ("ready", "not_ready"), ("not_ready", "ready"), ("acw", "not_ready"), ("acw", "offline"),
               ("ready", "offline"), ("not_ready", "on_call")}
    state: dict[str, str] = {}  # at ``at``
    last: dict[str, str] = {}
    since: dict[str, datetime] = {}
    logged_in_s = handling_s = 0.0
    answered: dict[str, datetime] = {}
    in_progress: set[str] = set()
    for raw in detailed:
        t = _local(raw)
        if raw["type"] == "seat.state":
            seat, new = raw["seat_id"], raw["state"]
            assert (last.get(seat, "offline"), new) in allowed, raw
            last[seat] = new
            if t <= at:
                if state.get(seat, "offline") != "offline":
                    logged_in_s += (t - since[seat]).total_seconds()
                state[seat], since[seat] = new, t
        elif raw["type"] == "call.answered":
            answered[raw["call_id"]] = t
        elif raw["type"] == "call.ended":
            if t <= at:
                handling_s += raw["talk_s"] + raw["hold_s"] + raw["acw_s"]
            if answered[raw["call_id"]] <= at < t + timedelta(seconds=raw["acw_s"]):
                in_progress.add(raw["seat_id"])
    logged_in_s += sum((at - since[s]).total_seconds() for s, v in state.items() if v != "offline")
    busy = {s for s, v in state.items() if v in ("on_call", "acw")}
    assert in_progress and busy == in_progress
    assert 0 < utilisation(handling_s, logged_in_s) < 1
