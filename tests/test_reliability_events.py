"""Issue 12, defects 1, 3, 5, 6 and 9: bad events never poison a batch, a counter or a rebuild.

Real SQLite and PostgreSQL (the ``stores`` fixture runs each test on both) with real Redis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app import create_app
from cockpit import jobs
from cockpit.events import validate
from cockpit.ingest import LIVE_DIRTY, REBUILD_SOURCE, ingest_batch, rebuild_live_report
from cockpit.store import deadletter, flags, live, tokens
from cockpit.store.models import DeadLetter, EventFlag, EventRecord, JobRun, Ticket
from tests.factories import Stream


def _stream(prefix: str = "r", hours: float = 2) -> Stream:
    return Stream(base=datetime.now(UTC) - timedelta(hours=hours), prefix=prefix)


def _count(stores, model) -> int:
    with stores.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _dead(stores) -> list[DeadLetter]:
    with stores.session() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


# --- defect 1: the accepted time window -----------------------------------------------------


def test_rel001_far_future_event_is_rejected_and_dead_lettered(stores):
    s = _stream()
    good = s.event("call.offered", 0, call_id="c1")
    doomsday = s.event("call.offered", 10, call_id="c2")
    doomsday["occurred_at"] = "9999-12-31T23:59:59+00:00"
    result = ingest_batch(stores, [good, doomsday], source="test")
    assert result.accepted == 1 and result.live_applied
    [rejected] = result.rejected
    assert rejected["index"] == 1 and rejected["errors"][0]["field"] == "occurred_at"
    assert [d.event_id for d in _dead(stores)] == [doomsday["event_id"]]
    totals = live.day_totals(stores.redis, ["620100"], live.day_str(s.base, stores.settings.tz))
    assert totals["off"] == 1


def test_rel002_time_window_is_configurable_and_names_the_bound(stores):
    now = datetime.now(UTC)
    window = stores.settings.with_(events_max_future_s=600, events_earliest="2020-01-01T00:00:00+00:00")
    stores.settings = window
    s = Stream(base=now, prefix="w")
    soon = s.event("call.offered", 9 * 60, call_id="soon")
    late = s.event("call.offered", 11 * 60, call_id="late")
    ancient = s.event("call.offered", 0, call_id="old")
    ancient["occurred_at"] = "2019-12-31T23:59:59+00:00"
    result = ingest_batch(stores, [soon, late, ancient], source="test", now=now)
    assert result.accepted == 1
    reasons = {r["event_id"]: r["errors"][0] for r in result.rejected}
    assert reasons[late["event_id"]]["field"] == "occurred_at"
    assert "600 s in the future" in reasons[late["event_id"]]["message"]
    assert reasons[ancient["event_id"]]["field"] == "occurred_at"
    assert "2020-01-01" in reasons[ancient["event_id"]]["message"]


def _store_raw_row(stores, payload: dict, occurred: datetime) -> None:
    """An event row as an older version stored it, before the window existed (no validation)."""
    with stores.session() as session:
        session.add(EventRecord(event_id=payload["event_id"], type=payload["type"], city=payload["city"],
                                entity_id=payload.get("call_id", "x"), occurred_at=occurred,
                                received_at=datetime.now(UTC).replace(tzinfo=None), source="api", payload=payload))


@pytest.mark.parametrize("via", ["rebuild", "worker"])
def test_rel003_rebuild_skips_a_poisoned_row_reports_and_dead_letters_it_once(stores, redis_client, via):
    s = _stream()
    events = s.answered_call("c1", 0, 9, 60) + s.abandoned_call("c2", 30, 4)
    ingest_batch(stores, events, source="test")
    expected = live.snapshot(redis_client)
    poison = {"event_id": "poison-9999", "type": "call.offered", "occurred_at": "9999-12-31T23:59:59+00:00",
              "city": "620100", "source": "api", "call_id": "c9", "channel": "phone"}
    _store_raw_row(stores, poison, datetime(9999, 12, 31, 23, 59, 59))
    for _ in range(2):  # a second rebuild does not dead-letter the same row again
        if via == "rebuild":
            report = rebuild_live_report(stores)
            assert report.replayed == len(events)
            assert [x["event_id"] for x in report.skipped] == ["poison-9999"]
        else:
            with stores.session() as session:
                session.merge(JobRun(name=LIVE_DIRTY))
            assert jobs.repair_live(stores) is True
        assert live.snapshot(redis_client) == expected
        assert live.epoch_state(redis_client) == "ok"
    [letter] = [d for d in _dead(stores) if d.source == REBUILD_SOURCE]
    assert letter.event_id == "poison-9999" and letter.reason == "occurred_at"


# --- defect 3: per-event isolation ----------------------------------------------------------


@pytest.fixture
def client(stores):
    return create_app(stores.settings, stores=stores).server.test_client()


@pytest.fixture
def token(stores):
    with stores.session() as session:
        return tokens.create(session, "feed", ["620100"])


def test_rel004_hostile_values_are_named_and_the_good_events_kept(client, token, stores):
    s = _stream()
    good = [s.event("call.offered", i, call_id=f"g{i}") for i in range(3)]
    year_one = s.event("call.offered", 5, call_id="b1")
    year_one["occurred_at"] = "0001-01-01T00:00:00+14:00"
    surrogate = s.ticket("T-sur", 0, close=False)[0]
    surrogate["text"] = "暖气\ud800不热"
    nul_text = s.ticket("T-nul", 0, close=False)[0]
    nul_text["text"] = "a\x00b"
    nul_id = s.event("call.offered", 6, call_id="b2")
    nul_id["event_id"] = "nul\x00id"
    body = json.dumps([good[0], year_one, surrogate, good[1], nul_text, nul_id, good[2]])
    response = client.post("/api/v1/events", data=body, headers={"Authorization": f"Bearer {token}",
                                                                 "Content-Type": "application/json"})
    assert response.status_code == 200, response.data[:300]
    answer = response.get_json()
    assert answer["accepted"] == 3
    fields = {r["index"]: r["errors"][0]["field"] for r in answer["rejected"]}
    assert fields == {1: "occurred_at", 2: "text", 4: "text", 5: "event_id"}
    messages = {r["index"]: r["errors"][0]["message"] for r in answer["rejected"]}
    assert "surrogate" in messages[2] and "NUL" in messages[4] and "NUL" in messages[5]
    assert _count(stores, EventRecord) == 3
    letters = _dead(stores)
    assert len(letters) == 4
    assert all("\x00" not in (d.raw + (d.event_id or "")) for d in letters)
    assert any(d.event_id == "nul\\u0000id" for d in letters)


def test_rel005_an_event_the_database_refuses_fails_alone(stores):
    """A database refusal the validator cannot foresee (here a trigger) costs one event, not the batch."""
    s = _stream()
    events = [s.event("call.offered", i, call_id=f"c{i}") for i in range(7)]
    refused = events[4]["event_id"]
    with stores.engine.begin() as conn:
        if stores.dialect == "postgresql":
            conn.execute(text("CREATE OR REPLACE FUNCTION rel005_refuse() RETURNS trigger AS $$ BEGIN "
                              f"IF NEW.event_id = '{refused}' THEN RAISE EXCEPTION 'refused by test'; END IF; "
                              "RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER rel005 BEFORE INSERT ON events FOR EACH ROW "
                              "EXECUTE FUNCTION rel005_refuse()"))
        else:
            conn.execute(text(f"CREATE TRIGGER rel005 BEFORE INSERT ON events WHEN NEW.event_id = '{refused}' "
                              "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"))
    try:
        result = ingest_batch(stores, events, source="test")
    finally:
        with stores.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS rel005" + (" ON events" if stores.dialect == "postgresql" else "")))
    assert result.accepted == 6
    [rejected] = result.rejected
    assert rejected["index"] == 4 and rejected["event_id"] == refused
    assert "refused by the database" in rejected["errors"][0]["message"]
    assert [d.event_id for d in _dead(stores)] == [refused]
    totals = live.day_totals(stores.redis, ["620100"], live.day_str(s.base, stores.settings.tz))
    assert totals["off"] == 6


# --- defect 5: a re-used event_id with another payload ----------------------------------------


def test_rel006_conflicting_event_id_is_dead_lettered_with_both_payloads(stores):
    s = _stream()
    first = s.event("call.answered", 20, call_id="c1", seat_id="s1", wait_s=12)
    same = dict(first, source="resend")  # the same fact sent again by another feed: a duplicate
    other = dict(first, wait_s=40)
    assert ingest_batch(stores, [first], source="test").accepted == 1
    again = ingest_batch(stores, [same, other], source="test")
    assert again.accepted == 0 and again.duplicates == 1
    [conflict] = again.rejected
    assert conflict["index"] == 1 and conflict["errors"][0]["field"] == "event_id"
    assert conflict["errors"][0]["message"].startswith("conflict")
    in_batch = ingest_batch(stores, [s.event("call.offered", 0, call_id="c7"), dict(other, event_id="x")]
                            + [dict(other, event_id="x", wait_s=41)], source="test")
    assert in_batch.accepted == 2 and [r["index"] for r in in_batch.rejected] == [2]
    letters = [d for d in _dead(stores) if d.reason == "event_id"]
    assert len(letters) == 2
    both = json.loads(letters[0].raw)
    assert both["first"]["wait_s"] == 12 and both["second"]["wait_s"] == 40
    with stores.session() as session:
        stored = session.scalars(select(EventRecord).where(EventRecord.event_id == first["event_id"])).one()
    assert stored.payload["wait_s"] == 12  # the first is kept


# --- defect 6: contradictions are accepted and flagged, the same for any order ------------------


def test_rel007_contradictions_are_flagged_whatever_the_arrival_order(stores):
    s = _stream()
    created = s.event("ticket.created", 3600, ticket_id="T1", district="620102", category=["城乡建设"])
    closed_early = s.event("ticket.closed", 0, ticket_id="T1", unit="城关区人民政府")
    offered = s.event("call.offered", 100, call_id="c1")
    long_wait = s.event("call.answered", 110, call_id="c1", seat_id="s1", wait_s=300)
    fine = s.answered_call("c2", 0, 5, 30)
    events = [created, closed_early, offered, long_wait, *fine]
    found = []
    for order in (events, list(reversed(events))):
        with stores.session() as session:
            for table in ("event_flags", "ticket_steps", "tickets", "calls", "events"):
                session.execute(text(f"DELETE FROM {table}"))
        result = ingest_batch(stores, order[:3], source="test")
        result2 = ingest_batch(stores, order[3:], source="test")
        assert result.accepted + result2.accepted == len(events)  # accepted, not rejected
        with stores.session() as session:
            found.append(sorted((f.event_id, f.rule) for f in flags.listing(session)))
            assert session.get(Ticket, "T1") is not None
    assert found[0] == found[1] == sorted([(closed_early["event_id"], "step_before_created"),
                                           (long_wait["event_id"], "wait_before_offer")])
    assert _count(stores, EventFlag) == 2


# --- defect 9: strict types ------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ("12", "must be a JSON number, got a string"),
    (True, "must be a JSON number, got a boolean"),
    (float("nan"), "must be a finite number (NaN and Infinity are not JSON numbers)"),
    (float("inf"), "must be a finite number (NaN and Infinity are not JSON numbers)"),
])
def test_rel008_numbers_must_be_json_numbers(value, message):
    s = _stream()
    event, errors = validate(s.event("call.answered", 10, call_id="c", seat_id="s", wait_s=value))
    assert event is None and [e.as_dict() for e in errors] == [{"field": "wait_s", "message": message}]
    assert validate(s.event("call.answered", 10, call_id="c", seat_id="s", wait_s=12))[0].wait_s == 12.0


def test_rel009_flags_must_be_booleans_and_nan_is_named_over_http(client, token):
    s = _stream()
    dispatched = s.event("ticket.dispatched", 0, ticket_id="T1", unit="u", auto="true")
    body = json.dumps(dispatched)[:-1] + ', "confidence": NaN}'
    response = client.post("/api/v1/events", data=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    errors = response.get_json()["rejected"][0]["errors"]
    assert {e["field"]: e["message"] for e in errors} == {
        "auto": "must be true or false, got a string",
        "confidence": "must be a finite number (NaN and Infinity are not JSON numbers)",
    }


def test_rel010_deadletter_counts_by_reason_after_hostile_batch(stores):
    s = _stream()
    bad = [dict(s.event("call.answered", 5, call_id="c", seat_id="s", wait_s=1), wait_s=v) for v in ("1", False)]
    ingest_batch(stores, bad, source="test")
    with stores.session() as session:
        assert deadletter.counts_by_reason(session) == {"wait_s": 2}
