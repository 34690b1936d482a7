"""The ingestion path on real SQLite and PostgreSQL with real Redis."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import func, select

from cockpit.store import deadletter
from cockpit.store import live
from cockpit.ingest import ingest_batch, rebuild_live
from cockpit.store.models import Call, DeadLetter, EventRecord, Seat, SeatStateChange, Ticket, TicketStep
from tests.factories import Stream, random_stream, stored_state


def _now_stream(prefix: str = "e") -> Stream:
    # Live counters only keep the TTL window, so tests that read Redis use recent times.
    return Stream(base=datetime.now(UTC) - timedelta(hours=5), prefix=prefix)


def test_ing001_valid_events_land_in_sql_and_redis(stores):
    s = _now_stream()
    events = s.answered_call("c1", 0, 12, 100) + s.abandoned_call("c2", 60, 3) + s.ticket("T1", 120)
    result = ingest_batch(stores, events, source="test")
    assert result.as_dict() == {"accepted": len(events), "duplicates": 0, "rejected": []}
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == len(events)
        c1 = session.get(Call, ("620100", "c1"))
        assert c1.wait_s == 12 and c1.talk_s == 100 and c1.seat_id == "s1"
        assert c1.queued_at == c1.offered_at
        ticket = session.get(Ticket, "T1")
        assert (ticket.status, ticket.unit, ticket.category) == ("closed", "城关区人民政府", "城乡建设")
        assert ticket.satisfaction == "satisfied" and ticket.callback_resolved == "yes"
    day = live.day_str(s.base, stores.settings.tz)
    totals = live.day_totals(stores.redis, ["620100"], day)
    assert totals["off"] == 2 and totals["ans"] == 1 and totals["abn"] == 1
    assert totals["sab"] == 1  # waited 3 s <= 5 s
    assert totals["sl"] == 1  # answered in 12 s <= 15 s
    assert totals["wait_ms"] == 12_000
    assert totals["tkt"] == 1 and totals["dist:620102"] == 1 and totals["cat:城乡建设"] == 1


def test_ing002_invalid_event_names_field_and_is_dead_lettered(stores):
    s = _now_stream()
    good = s.event("call.offered", 0, call_id="c1")
    bad_wait = s.event("call.answered", 5, call_id="c1", seat_id="s1", wait_s=-3)
    bad_type = {"event_id": "x1", "type": "call.teleported", "occurred_at": s.at(1), "city": "620100"}
    no_zone = s.event("call.offered", 9, call_id="c9")
    no_zone["occurred_at"] = "2026-11-28T10:00:00"
    result = ingest_batch(stores, [good, bad_wait, bad_type, no_zone, "not an object"], source="test")
    assert result.accepted == 1
    by_index = {r["index"]: r for r in result.rejected}
    assert by_index[1]["errors"] == [{"field": "wait_s", "message": "Input should be greater than or equal to 0"}]
    assert by_index[1]["event_id"] == bad_wait["event_id"]
    assert by_index[2]["errors"][0]["field"] == "type"
    assert "call.teleported" in by_index[2]["errors"][0]["message"]
    assert by_index[3]["errors"][0]["field"] == "occurred_at"
    assert by_index[4]["errors"][0]["field"] == "(event)"
    with stores.session() as session:
        assert deadletter.total(session) == 4
        assert deadletter.counts_by_reason(session) == {"wait_s": 1, "type": 1, "occurred_at": 1, "(event)": 1}
        row = session.scalars(select(DeadLetter).where(DeadLetter.event_id == bad_wait["event_id"])).one()
        assert '"wait_s": -3' in row.raw and row.row_ref == "1"


def test_ing003_duplicates_are_reported_and_never_counted_twice(stores):
    s = _now_stream()
    events = s.answered_call("c1", 0, 20, 100)
    first = ingest_batch(stores, events, source="test")
    again = ingest_batch(stores, events + [events[0]], source="test")
    assert first.accepted == 3 and first.duplicates == 0
    assert again.accepted == 0 and again.duplicates == 4
    totals = live.day_totals(stores.redis, ["620100"], live.day_str(s.base, stores.settings.tz))
    assert totals["off"] == 1 and totals["ans"] == 1 and totals["end"] == 1
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 3


def test_ing004_reordered_stream_gives_the_same_state_and_counters(stores, redis_client):
    s = _now_stream()
    events = (
        s.answered_call("c1", 0, 30, 200) + s.abandoned_call("c2", 10, 50) + s.ticket("T1", 0)
        + [s.event("ticket.returned", 900, ticket_id="T1", unit="城关区人民政府", reason="非本单位"),
           s.event("ticket.transferred", 1000, ticket_id="T1", from_unit="城关区人民政府", to_unit="兰州市供热办"),
           s.event("ticket.reopened", 3 * 86400, ticket_id="T1", reason="回访不满意"),
           s.event("seat.state", 0, seat_id="s1", state="ready"),
           s.event("seat.state", 40, seat_id="s1", state="on_call"),
           s.event("seat.state", 300, seat_id="s1", state="acw")]
    )
    ingest_batch(stores, events, source="ordered")
    ordered_state, ordered_live = stored_state(stores), live.snapshot(redis_client)
    # The closure names the unit that closed it, after the transfer.
    assert ordered_state["tickets"][0][1:6] == ("reopened", "城关区人民政府", 1, 1, 1)
    assert ordered_state["seats"][0][2] == "acw"

    # Start again and feed the same events one per batch, in time order (each ticket step continues
    # the stored fold) and reversed (answer before offer, callback before close: full re-folds).
    for order in (sorted(events, key=lambda e: e["occurred_at"]), list(reversed(events))):
        with stores.session() as session:
            for model in (Call, Seat, SeatStateChange, Ticket, TicketStep, EventRecord):
                session.query(model).delete()
        redis_client.flushdb()
        for event in order:
            ingest_batch(stores, [event], source="one-by-one")
        assert stored_state(stores) == ordered_state
        assert live.snapshot(redis_client) == ordered_live


def test_ing005_rebuild_equals_incremental(stores, redis_client):
    base = datetime.now(UTC) - timedelta(hours=6)
    events = random_stream(7, 300, 120, base=base)
    random.Random(1).shuffle(events)
    for i in range(0, len(events), 97):
        ingest_batch(stores, events[i : i + 97], source="test")
    incremental = live.snapshot(redis_client)
    assert any(":min:" in key for key in incremental)
    replayed = rebuild_live(stores)
    assert replayed == len(events)
    assert live.snapshot(redis_client) == incremental


@hsettings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_ing006_random_events_redis_equals_sql_count(sqlite_stores, seed):
    """10,000 random events: every Redis counter equals a count over SQL."""
    stores = sqlite_stores
    stores.redis.flushdb()
    base = datetime.now(UTC) - timedelta(hours=5)
    events = random_stream(seed, 2200, 500, base=base)[:10_000]
    random.Random(seed).shuffle(events)
    for i in range(0, len(events), 1000):
        ingest_batch(stores, events[i : i + 1000], source="hyp")
    tz = stores.settings.tz
    with stores.session() as session:
        calls = list(session.scalars(select(Call)))
        tickets = list(session.scalars(select(Ticket)))
    for city in ("620100", "620200"):
        expected: dict[str, int] = {}
        for c in (c for c in calls if c.city == city):
            day = live.day_str(c.queued_at.replace(tzinfo=UTC), tz)
            bump = lambda key, n=1: expected.__setitem__((day, key), expected.get((day, key), 0) + n)  # noqa: E731
            if c.offered_at is not None:
                bump("off")
            if c.answered_at is not None:
                bump("ans")
                bump("wait_ms", round(c.wait_s * 1000))
                if c.wait_s <= stores.settings.sl_threshold_s:
                    bump("sl")
            if c.abandoned_at is not None:
                bump("abn")
                if c.wait_s <= stores.settings.short_abandon_s:
                    bump("sab")
        for t in (t for t in tickets if t.city == city and t.created_at is not None):
            day = live.day_str(t.created_at.replace(tzinfo=UTC), tz)
            expected[(day, "tkt")] = expected.get((day, "tkt"), 0) + 1
        days = {d for d, _ in expected}
        for day in days:
            totals = live.day_totals(stores.redis, [city], day)
            for (d, metric), n in expected.items():
                if d == day:
                    assert totals.get(metric, 0) == n, (city, day, metric)
    stores.redis.flushdb()


def test_ing007_ticket_history_keeps_every_step_in_time_order(stores):
    s = _now_stream()
    events = s.ticket("T9", 0)
    ingest_batch(stores, list(reversed(events)), source="test")
    with stores.session() as session:
        steps = session.scalars(
            select(TicketStep).where(TicketStep.ticket_id == "T9").order_by(TicketStep.occurred_at)
        ).all()
    assert [x.type for x in steps] == [
        "ticket.created", "ticket.dispatched", "ticket.responded", "ticket.closed", "ticket.callback",
    ]
    assert steps[1].unit == "城关区人民政府" and steps[1].detail["confidence"] == 0.9


def test_ing008_waiting_queue_and_seats_follow_events(stores, redis_client):
    now = datetime.now(UTC)
    s = Stream(base=now - timedelta(minutes=10))
    events = [
        s.event("call.offered", 0, call_id="w1"),
        s.event("call.offered", 60, call_id="w2"),
        s.event("call.answered", 120, call_id="w2", seat_id="s1", wait_s=60),
        s.event("call.abandoned", 30, call_id="w3", wait_s=20),  # outcome before its offer
        s.event("call.offered", 10, call_id="w3"),
        s.event("seat.state", 0, seat_id="s1", state="ready"),
        s.event("seat.state", 120, seat_id="s1", state="on_call"),
        s.event("seat.state", 5, seat_id="s2", state="not_ready", reason="break"),
    ]
    ingest_batch(stores, events, source="test")
    waiting = live.waiting(redis_client, ["620100"], now=now)
    assert waiting.calls == 1
    assert abs(waiting.longest_wait_s - 600) < 1
    assert live.seat_counts(redis_client, ["620100"]) == {"on_call": 1, "not_ready": 1}
    # An older state arriving late does not override the newer one.
    ingest_batch(stores, [s.event("seat.state", 60, seat_id="s1", state="offline")], source="test")
    assert live.seat_counts(redis_client, ["620100"]) == {"on_call": 1, "not_ready": 1}


def test_ing009_redis_down_keeps_sql_and_the_worker_repairs_redis(stores, redis_client):
    """Accepted events are never lost: with Redis down they stay in SQL and the job rebuilds Redis."""
    import redis as redis_lib

    from cockpit import jobs
    from cockpit.ingest import LIVE_DIRTY
    from cockpit.store.models import JobRun
    from cockpit.store.db import Stores

    dead_redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True,
                                 retry_on_timeout=False)
    offline = Stores(settings=stores.settings, engine=stores.engine, redis=dead_redis,
                     sessionmaker=stores.sessionmaker)
    s = _now_stream(prefix="down-")
    events = s.answered_call("c1", 0, 4, 60) + s.abandoned_call("c2", 30, 12)
    result = ingest_batch(offline, events, source="test")
    assert result.accepted == len(events) and result.live_applied is False
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == len(events)
        assert session.get(JobRun, LIVE_DIRTY) is not None
    assert live.snapshot(redis_client) == {}

    assert jobs.repair_live(stores) is True
    totals = live.day_totals(redis_client, ["620100"], live.day_str(s.base, stores.settings.tz))
    assert (totals["off"], totals["ans"], totals["abn"]) == (2, 1, 1)
    with stores.session() as session:
        assert session.get(JobRun, LIVE_DIRTY) is None
    assert jobs.repair_live(stores) is False  # nothing left to repair


def test_ing010_queue_keys_are_pruned_and_expire(stores, redis_client):
    now = datetime.now(UTC)
    stale = (now - live.QUEUE_HORIZON - timedelta(minutes=5)).timestamp()
    redis_client.zadd(live.key_waiting("620100"), {"lost-offer": stale})
    redis_client.zadd(live.key_done("620100"), {"old-done": stale})
    s = Stream(base=now - timedelta(minutes=10), prefix="q-")
    ingest_batch(stores, [s.event("call.offered", 0, call_id="w1")] + s.answered_call("a1", 30, 5, 60),
                 source="test")
    waiting = redis_client.zrange(live.key_waiting("620100"), 0, -1)
    assert "lost-offer" not in waiting and len(waiting) == 1
    assert "old-done" not in redis_client.zrange(live.key_done("620100"), 0, -1)
    horizon_s = live.QUEUE_HORIZON.total_seconds()
    assert 0 < redis_client.ttl(live.key_waiting("620100")) <= horizon_s
    assert 0 < redis_client.ttl(live.key_done("620100")) <= horizon_s
