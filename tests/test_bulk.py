"""The bulk path (``cockpit.bulk``) reaches the same final state as the per-event path (the day
rollups it keeps included, each equal to a recount from the raw rows)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from cockpit import jobs
from cockpit.bulk import bulk_ingest
from cockpit.ingest import ingest_batch
from cockpit.store import days, live
from cockpit.store.models import Base, CallDay, TicketDay
from tests.factories import Stream, random_stream
from tests.timeofday import daytime_now

# Everything a load writes, compared column by column (ids, receipt times and counters of job runs aside).
_TABLES = {
    "events": "event_id, type, city, entity_id, occurred_at, source, payload",
    "calls": "*",
    "seats": "*",
    "seat_state_changes": "event_id, city, seat_id, state, reason, occurred_at",
    "tickets": "*",
    "ticket_steps": "ticket_id, event_id, city, type, occurred_at, unit, detail",
    "dead_letters": "source, event_id, row_ref, raw, errors",
    "call_rollups_15m": "*",
    "ticket_rollups_15m": "*",
}


def _mixed_stream(now: datetime) -> list[dict]:
    """Four days of history plus today, duplicates, reordering and some invalid events."""
    rng = random.Random(15)
    events: list[dict] = []
    for seed, hours_ago in ((1, 4), (2, 30), (3, 80), (4, 100)):
        for e in random_stream(seed, 300, 120, base=now - timedelta(hours=hours_ago)):
            for key in ("call_id", "ticket_id"):  # one call / ticket per id (a well-formed stream)
                if key in e:
                    e[key] = f"s{seed}-{e[key]}"
            events.append(e)
    s = Stream(base=now - timedelta(hours=2), prefix="late")
    # A ticket whose steps arrive across chunks and out of order, and a call seen outcome-first.
    events += list(reversed(s.ticket("TLATE", 0))) + list(reversed(s.answered_call("cL", 60, 20, 90)))
    events += [{"event_id": "bad1", "type": "call.answered", "occurred_at": s.at(5), "city": "620100",
                "call_id": "x", "seat_id": "s1", "wait_s": -1}, "not an object",
               {"event_id": "bad2", "type": "call.teleported", "occurred_at": s.at(6), "city": "620100"}]
    events += rng.sample(events, 200)  # re-sent events
    rng.shuffle(events)
    return events


def _plain(value):
    """A comparable value: JSON documents parsed (the text may differ in spacing), floats to 1e-6."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def _state(stores) -> dict:
    out = {}
    with stores.session() as session:
        for table, cols in _TABLES.items():
            rows = session.execute(text(f"SELECT {cols} FROM {table}")).all()
            # Float sums of a rollup depend on the physical row order (last bits only).
            out[table] = sorted(tuple(str(_plain(v)) for v in r) for r in rows)
    out["days"] = _days(stores)
    tz = stores.settings.tz
    today = live.day_str(datetime.now(UTC), tz)
    out["redis"] = {k: v for k, v in live.snapshot(stores.redis).items()
                    if (":min:" not in k and ":day:" not in k) or k.endswith(today)}
    return out


def _days(stores) -> tuple[list, list]:
    """The day rollups as the writes kept them, checked against a recount from the raw rows."""
    with stores.session() as session:
        kept = (days.rows(session, CallDay), days.rows(session, TicketDay))
        if days.current_shape(session) is not None:
            days.rebuild(session, stores.settings)
            assert (days.rows(session, CallDay), days.rows(session, TicketDay)) == kept
        session.rollback()
    return kept


def _keep_days(stores) -> None:
    """Keep the day rollups from the first write (as a migrated database after its first rebuild)."""
    with stores.session() as session:
        assert days.ensure(session, stores.settings)


def _reset(stores) -> None:
    with stores.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    stores.redis.flushdb()


def test_bulk001_same_final_state_as_per_event_path(stores):
    now = datetime.now(UTC)
    events = _mixed_stream(now)
    refs = [f"row {i}" for i in range(len(events))]
    lo, hi = now - timedelta(days=5), now + timedelta(days=3)
    _keep_days(stores)

    step = 97
    for i in range(0, len(events), step):
        ingest_batch(stores, events[i : i + step], source="t", row_refs=refs[i : i + step], now=now)
    jobs.rollup_all(stores, lo, hi)
    per_event = _state(stores)

    _reset(stores)
    _keep_days(stores)
    order = list(range(len(events)))
    random.Random(7).shuffle(order)
    result = bulk_ingest(stores, [events[i] for i in order], source="t", row_refs=[refs[i] for i in order],
                         chunk=700, now=now, rollup=False)
    jobs.rollup_all(stores, lo, hi)
    bulk = _state(stores)

    assert per_event["events"] and per_event["tickets"] and per_event["call_rollups_15m"]
    assert per_event["days"][0] and per_event["days"][1]  # kept by the writes, equal to a recount
    bad = sum(1 for e in events if not isinstance(e, dict) or str(e.get("event_id", "")).startswith("bad"))
    assert len(per_event["dead_letters"]) == bad >= 3  # bad rows dead-lettered with their reason
    for table in (*_TABLES, "days", "redis"):
        assert bulk[table] == per_event[table], table
    assert len(result.rejected) == bad
    assert result.accepted == len(per_event["events"])


def test_bulk002_rollups_cover_the_loaded_range(stores):
    now = datetime.now(UTC)
    events = random_stream(5, 200, 50, base=now - timedelta(days=2))
    bulk_ingest(stores, events, source="t", now=now)
    with stores.session() as session:
        rolled = session.execute(text("SELECT coalesce(sum(offered), 0) FROM call_rollups_15m")).scalar()
        offered = session.execute(text("SELECT count(*) FROM calls WHERE offered_at IS NOT NULL")).scalar()
    assert rolled == offered > 0
    # Two days ago is history: not in Redis; seat states are current state, so they are.
    day = live.day_str(now - timedelta(days=2), stores.settings.tz)
    assert not stores.redis.exists(live.key_day("620100", day))
    assert stores.redis.hlen(live.key_seats("620100")) > 0


def test_bulk003_seeding_in_several_processes_equals_one(stores):
    """Cities loaded by two processes at once leave the state one process leaves (rollups included)."""
    from cockpit.simulation import seed_history

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    kwargs = dict(seed=7, end=end, progress=False, cities=["620200", "620300", "623000"], scale=0.05)
    one = seed_history(stores, 2, workers=1, **kwargs)
    single = _state(stores)
    assert one["accepted"] > 500 and single["tickets"] and single["call_rollups_15m"]

    _reset(stores)
    days = []
    two = seed_history(stores, 2, workers=2, on_day=lambda done, total: days.append((done, total)), **kwargs)
    assert {k: two[k] for k in ("accepted", "duplicates", "rejected", "events")} == \
        {k: one[k] for k in ("accepted", "duplicates", "rejected", "events")}
    # two whole local days and today so far; none so far when ``end`` falls on local midnight
    # (run between 02:00 and 03:00 Shanghai, end is 00:00 local)
    local_end = end.astimezone(stores.settings.tz)
    n_days = 2 if (local_end.hour, local_end.minute) == (0, 0) else 3
    assert days[-1] == (n_days, n_days) and days == sorted(days)
    parallel = _state(stores)
    for table in (*_TABLES, "redis"):
        assert parallel[table] == single[table], table


def test_bulk004_trusted_simulator_events_store_what_validated_ones_store(stores):
    """The simulator's fast path (no validation outside the live window) leaves the validated path's
    state, stored JSON text included; a window reaching into today exercises both kinds at once."""
    from cockpit.simulation import seed_history

    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    kwargs = dict(seed=9, end=end, progress=False, cities=["620200", "620300"], scale=0.1)
    checked = seed_history(stores, 3, trusted=False, **kwargs)
    validated = _state(stores)
    with stores.session() as session:
        texts = dict(session.execute(text("SELECT event_id, CAST(payload AS TEXT) FROM events")).all())
    assert checked["accepted"] > 1000 and validated["tickets"] and validated["redis"]

    _reset(stores)
    fast = seed_history(stores, 3, trusted=True, **kwargs)
    assert fast["accepted"] == checked["accepted"] and fast["rejected"] == 0
    trusted = _state(stores)
    for table in (*_TABLES, "redis"):
        assert trusted[table] == validated[table], table
    with stores.session() as session:
        assert dict(session.execute(text("SELECT event_id, CAST(payload AS TEXT) FROM events")).all()) == texts
    again = seed_history(stores, 3, trusted=True, **kwargs)  # a re-run only counts duplicates
    assert again["accepted"] == 0 and again["duplicates"] == fast["events"]


def test_bulk005_trusted_event_equals_the_validated_model():
    from cockpit import events as ev
    from cockpit.simulation import Province

    start = datetime(2026, 11, 2, 16, tzinfo=UTC)
    raws = list(Province(seed=3, cities=["620100"], scale=0.2, origin=start).events(start, start + timedelta(days=2)))
    assert {r["type"] for r in raws} >= {"call.offered", "call.ended", "seat.state", "ticket.created",
                                         "ticket.closed", "ticket.dispatched"}
    for raw in raws:
        model, errors = ev.validate(raw)
        fast = ev.trusted_event(raw)
        assert not errors
        assert fast.model_dump_json() == model.model_dump_json(exclude_none=True)
        assert ev.to_json_dict(fast) == ev.to_json_dict(model)
        assert fast.entity_id == model.entity_id
        for name in type(model).model_fields:
            assert getattr(fast, name) == getattr(model, name), name


def test_bulk006_today_of_a_longer_history_in_two_processes(stores):
    """The demo's first step: today so far of a history that began days earlier (steps of older
    tickets included), loaded by two processes, equals one bulk load of the same window."""
    from cockpit.simulation import Province, local_midnight, seed_history

    # today so far with a working morning in it at any hour (at 00:24 it held no ticket): 10:00 local
    # at night, ahead of the clock (tests.timeofday)
    now = daytime_now().replace(second=0)
    today = local_midnight(now.astimezone(stores.settings.tz).date())
    origin = today - timedelta(days=3)
    cities, scale = ["620200", "623000"], 0.1
    raws = list(Province(seed=11, cities=cities, scale=scale, origin=origin).events(today, now))
    bulk_ingest(stores, raws, source="sim", now=now)
    one = _state(stores)
    assert one["events"] and one["tickets"]

    _reset(stores)
    totals = seed_history(stores, 0, seed=11, end=now, origin=origin, cities=cities, scale=scale, progress=False,
                          workers=2)
    assert totals["accepted"] == len(raws) and totals["start"] == today.isoformat()
    two = _state(stores)
    for table in (*_TABLES, "redis"):
        assert two[table] == one[table], table
    with stores.session() as session:  # steps of tickets created before today are there
        older = session.execute(text("SELECT count(*) FROM ticket_steps WHERE ticket_id NOT IN "
                                     "(SELECT ticket_id FROM ticket_steps WHERE type = 'ticket.created')")).scalar()
    assert older > 0


def test_bulk007_demo_live_traffic_retries_a_busy_store_with_the_same_province(sqlite_stores, monkeypatch):
    """A locked SQLite (the history load writing) delays live traffic; it must not start the
    simulation over (a new Province re-simulates 15 province-days before its first event)."""
    import threading

    from sqlalchemy.exc import OperationalError

    from cockpit import demo

    settings = sqlite_stores.settings
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    demo.save_state(settings, {"seed": 1, "origin": (now - timedelta(days=1)).isoformat(),
                               "live_from": (now - timedelta(minutes=1)).isoformat()})
    stop = threading.Event()
    calls = []

    def ingest(stores, province, start, end):
        calls.append((province, start))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        stop.set()
        return 0

    monkeypatch.setattr(demo, "_ingest_window", ingest)
    monkeypatch.setattr(demo, "LIVE_STEP_S", 0.01)
    demo.live_traffic(sqlite_stores, seed=1, stop=stop)
    assert len(calls) == 2
    assert calls[0][0] is calls[1][0] and calls[0][1] == calls[1][1]  # same Province, same window again


def _columnar_raws(seed: int, cities: list[str], scale: float, start: datetime, end: datetime) -> list[dict]:
    """The events ``seed_history(columnar=True)`` loads for ``[start, end)`` (history starting at ``start``)."""
    from cockpit.simulation.columnar import city_days
    from cockpit.simulation.incidents import LOCAL_TZ

    lo, hi = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
    first, last = start.astimezone(LOCAL_TZ).date(), (end - timedelta(milliseconds=1)).astimezone(LOCAL_TZ).date()
    return [e for cd in city_days(seed, cities, first, last, scale=scale) for e in cd.clip(lo, hi).raw_events()]


def test_bulk008_columnar_history_equals_per_event_path(stores):
    """The columnar path (COPY of numpy columns, moves and ticket folds in SQL) leaves the per-event
    path's state for the same events, with chunks loaded out of order, a day loaded in two halves
    (calls merged and tickets re-folded across chunks), a chunk partly stored before (the general
    path takes it) and a whole re-run (only duplicates); today's part reaches Redis."""
    from cockpit.bulk_columnar import write_chunk
    from cockpit.simulation import seed_history
    from cockpit.simulation.columnar import CityDayGen
    from cockpit.simulation.incidents import LOCAL_TZ
    from cockpit.simulation.seeding import history_window

    now = datetime.now(UTC)
    end = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    seed, cities, scale = 21, ["620100", "620300"], 0.1
    start, _ = history_window(3, end)
    raws = _columnar_raws(seed, cities, scale, start, end)
    assert {e["type"] for e in raws} >= {"call.abandoned", "ticket.transferred", "ticket.reopened", "seat.state"}
    rng = random.Random(3)
    stream = raws + rng.sample(raws, 300)
    rng.shuffle(stream)
    _keep_days(stores)
    for i in range(0, len(stream), 997):
        ingest_batch(stores, stream[i : i + 997], source="sim", now=now)
    lo, hi = start - timedelta(days=1), end + timedelta(days=15)
    jobs.rollup_all(stores, lo, hi)
    per_event = _state(stores)
    assert per_event["tickets"] and per_event["redis"] and per_event["seats"]

    assert per_event["days"][0] and per_event["days"][1]
    _reset(stores)
    _keep_days(stores)
    gen, first = CityDayGen(seed, scale=scale), start.astimezone(LOCAL_TZ).date()
    ms = lambda moment: round(moment.timestamp() * 1000)  # noqa: E731
    day2 = gen.city_day(cities[1], first + timedelta(days=1))
    mid = ms(start + timedelta(days=1, hours=13))
    hist_hi = ms(min(end, start + timedelta(days=2)))  # before today's local midnight: history only
    assert write_chunk(stores, [day2.clip(mid, hist_hi)], received_at=now)[0] > 0  # the later half first
    assert write_chunk(stores, [day2.clip(ms(start), mid)], received_at=now)[1] == 0
    day1 = gen.city_day(cities[0], first)
    part = [e for e in day1.clip(ms(start), hist_hi).raw_events() if rng.random() < 0.1]
    ingest_batch(stores, part, source="sim", now=now)  # this chunk is partly stored: the general path
    totals = seed_history(stores, 3, seed=seed, end=end, cities=cities, scale=scale, progress=False,
                          workers=2, columnar=True)
    assert totals["events"] == len(raws) and totals["rejected"] == 0
    assert totals["accepted"] + totals["duplicates"] == len(raws) and totals["duplicates"] >= len(part)
    jobs.rollup_all(stores, lo, hi)
    columnar = _state(stores)
    for table in (*_TABLES, "days", "redis"):
        assert columnar[table] == per_event[table], table
    if stores.dialect == "postgresql":  # the JSON text too: the bulk path's (pydantic's compact form)
        from cockpit import events as ev

        with stores.session() as session:
            texts = dict(session.execute(text("SELECT event_id, CAST(payload AS TEXT) FROM events")).all())
        by_hand = {e["event_id"] for e in part}
        for raw in raws:
            if raw["event_id"] not in by_hand:
                assert texts[raw["event_id"]] == ev.trusted_event(raw).model_dump_json(exclude_none=True)
    again = seed_history(stores, 3, seed=seed, end=end, cities=cities, scale=scale, progress=False, columnar=True)
    assert again["accepted"] == 0 and again["duplicates"] == len(raws)
    assert _state(stores)["tickets"] == per_event["tickets"]


def test_bulk009_sql_ticket_fold_equals_python_fold(stores):
    """``store.columnar.fold_sql`` (the columnar path's fold) gives ``history.fold_ticket``'s rows for
    the factories' streams: steps out of order, same-instant steps, returns, transfers, reopenings."""
    if stores.dialect != "postgresql":
        return
    from cockpit.store import columnar as col_sql

    now = datetime.now(UTC)
    events = [e for seed in (31, 32) for e in random_stream(seed, 50, 200, base=now - timedelta(hours=30))]
    random.Random(5).shuffle(events)
    ingest_batch(stores, events, source="t", now=now)
    python_fold = _state(stores)["tickets"]
    with stores.session() as session:
        ids = session.execute(text("SELECT ticket_id FROM tickets")).scalars().all()
        session.execute(text("DELETE FROM tickets"))
        col_sql.refold(session, ids)
    assert len(ids) > 100 and _state(stores)["tickets"] == python_fold


def test_bulk010_sqlite_columnar_folds_again_when_a_ticket_changed_after_its_fold(sqlite_stores, monkeypatch):
    """On SQLite the columnar path folds a chunk's tickets before taking the write lock; a ticket
    another writer changed in between (here: an earlier step of it stored by ``ingest_batch``) is
    folded again under the lock, so the state still equals the per-event path's."""
    from cockpit import bulk_columnar
    from cockpit.simulation.columnar import CityDayGen
    from cockpit.simulation.incidents import LOCAL_TZ
    from cockpit.simulation.seeding import history_window
    from cockpit.store import columnar_sqlite

    stores = sqlite_stores
    now = datetime.now(UTC)
    end = now.replace(second=0, microsecond=0) - timedelta(days=1)
    seed, cities, scale = 23, ["620300"], 0.1
    start, _ = history_window(2, end)
    ms = lambda moment: round(moment.timestamp() * 1000)  # noqa: E731
    gen, first = CityDayGen(seed, scale=scale), start.astimezone(LOCAL_TZ).date()
    day1 = gen.city_day(cities[0], first).clip(ms(start), ms(start + timedelta(days=1)))
    day2 = gen.city_day(cities[0], first).clip(ms(start + timedelta(days=1)), ms(start + timedelta(days=2)))
    raws1, raws2 = day1.raw_events(), day2.raw_events()
    later = {e["ticket_id"] for e in raws2 if e["type"].startswith("ticket.")}
    # A step of day 1 whose ticket also has steps on day 2: the other writer stores it late.
    late = next(e for e in reversed(raws1) if e["type"].startswith("ticket.") and e["type"] != "ticket.created"
                and e.get("ticket_id") in later)
    ingest_batch(stores, raws1 + raws2, source="sim", now=now)
    jobs.rollup_all(stores, start - timedelta(days=1), end + timedelta(days=15))
    per_event = _state(stores)

    _reset(stores)
    bulk_ingest(stores, [e for e in raws1 if e is not late], source="sim", now=now, rollup=False)
    fold = columnar_sqlite.fold
    refolds = []

    def fold_then_change(session, steps):
        folded = fold(session, steps)
        ingest_batch(stores, [late], source="sim", now=now)  # another writer, between fold and write
        refolds.append(folded)
        return folded

    monkeypatch.setattr(columnar_sqlite, "fold", fold_then_change)
    new, dup, _lo, _hi = bulk_columnar.write_chunk(stores, [day2], received_at=now)
    assert new == len(raws2) and dup == 0 and refolds
    with stores.session() as session:
        assert not refolds[0].still_valid(session)  # the fold was stale: move folded again
    jobs.rollup_all(stores, start - timedelta(days=1), end + timedelta(days=15))
    bulk = _state(stores)
    for table in _TABLES:
        assert bulk[table] == per_event[table], table


def test_bulk011_demo_traffic_continues_the_columnar_seed_then_the_object_simulator():
    """After a columnar seed up to ``now`` on day0, the demo's live windows hand out exactly the
    columnar events still to come of contacts up to day0's end (late ticket steps, calls past
    midnight), each once, and from the next local midnight the object simulator's events, whose
    history starts there (no step of a ticket it never created)."""
    from cockpit.demo import DemoTraffic
    from cockpit.simulation import Province, local_midnight
    from cockpit.simulation.columnar import CityDayGen, city_days
    from cockpit.simulation.engine import HORIZON_DAYS
    from cockpit.simulation.incidents import LOCAL_TZ

    day0 = datetime(2026, 11, 10, tzinfo=LOCAL_TZ).date()
    next_midnight = local_midnight(day0 + timedelta(days=1))
    first = day0 - timedelta(days=3)  # a 3-day history: no columnar contact before it
    seed = 5
    province = Province(seed=seed, cities=["620300"], scale=0.1, origin=next_midnight)
    traffic = DemoTraffic(seed, day0, province, first=first, cities=["620300"], scale=0.1)
    assert traffic.days == [first + timedelta(days=i) for i in range(4)] and HORIZON_DAYS > 3
    live_from = next_midnight - timedelta(hours=2)
    cuts = [live_from + timedelta(hours=h) for h in (0, 1, 2, 7, 30)]
    got = [e for a, b in zip(cuts, cuts[1:]) for e in traffic.events(a, b)]
    lo, hi = round(live_from.timestamp() * 1000), round(cuts[-1].timestamp() * 1000)
    detail = CityDayGen(seed, scale=0.1, seat_detail=True)  # the demo's seats report their calls
    want_columnar = [e for cd in city_days(seed, ["620300"], first, day0, gen=detail) for e in cd.clip(lo, hi).raw_events()]
    want_object = list(Province(seed=seed, cities=["620300"], scale=0.1, origin=next_midnight)
                       .events(next_midnight, cuts[-1]))
    ids = [e["event_id"] for e in got]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(e["event_id"] for e in want_columnar + want_object)
    assert want_object and any(datetime.fromisoformat(e["occurred_at"]) >= next_midnight for e in want_columnar)
    created = {e["ticket_id"] for e in want_object if e["type"] == "ticket.created"}
    assert all(e["ticket_id"] in created for e in want_object if e["type"].startswith("ticket."))
