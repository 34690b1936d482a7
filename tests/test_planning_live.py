"""The plan against the floor: planned seats and adherence on the wall's staffing panel, and the
seat-shortage watchpoint (detection in cockpit.planning.live, lifecycle in cockpit.watch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from cockpit import timeutil
from cockpit.http.planning import roster_document
from cockpit.metrics import staffing
from cockpit.planning import live as planning_live
from cockpit.store import planning as plan_store
from cockpit.store.models import Alert, Roster
from cockpit.views import panels
from cockpit.watch import evaluate as watchpoints
from layouts.roster import current_week, roster_view
from layouts.wall import staffing_body
from tests.metric_events import call, ingest, seat, weekday_call_history

NOW = datetime(2026, 11, 25, 2, 40)  # naive UTC: Wednesday 10:40 in Shanghai


def _busy_half_hour(n_calls: int, n_seats: int) -> list[dict]:
    """n_calls in the 30 minutes before NOW (talk 300 s), and n_seats logged in and ready."""
    events = []
    for i in range(n_calls):
        queued = NOW - timedelta(minutes=30) + timedelta(seconds=i * 1800 / n_calls)
        events += call(f"b{i}", queued=queued, answer_after=20, talk=300, seat=f"S{i % max(n_seats, 1)}")
    for k in range(n_seats):
        events.append(seat(f"S{k}", "ready", NOW - timedelta(hours=1)))
    return events


def test_live001_wall_shows_planned_seats_and_adherence(sqlite_stores):
    stores = sqlite_stores
    now = datetime(2026, 11, 25, 2, 5)  # Wednesday 10:05 in Shanghai: calls every weekday 09:00-11:00
    ingest(stores, weekday_call_history(2, now) + [seat(f"P{k}", "ready", now - timedelta(minutes=5))
                                                   for k in range(2)])
    doc = roster_document(stores, scope="620100", week=current_week(stores.settings.tz, now.replace(tzinfo=UTC)),
                          now=now)
    sec = panels.compute_staffing(stores, "620100", now.replace(tzinfo=UTC))
    first = timeutil.floor_interval(now).replace(tzinfo=UTC).isoformat()
    planned = next(r["planned"] for r in doc["intervals"] if r["start"] == first)
    assert sec["planned"] == planned and planned >= 1  # the plan staffs the 10:00 calls
    assert sec["staffed"] == 2
    assert sec["adherence"] == pytest.approx(2 / planned)
    assert [r["planned"] for r in sec["next"]] == [
        next(r["planned"] for r in doc["intervals"] if r["start"] == n["start"]) for n in sec["next"]]
    text = str(staffing_body(sec, "zh"))
    assert "排班遵从率" in text and f"{2 / planned * 100:.0f}%" in text
    assert "Adherence" in str(staffing_body(sec, "en"))
    # the Redis copy gone: the plan is read from SQL and copied back
    key = planning_live.roster_key("620100", datetime.fromisoformat(doc["monday"]).date())
    stores.redis.delete(key)
    stores.caches.clear()
    assert panels.compute_staffing(stores, "620100", now.replace(tzinfo=UTC))["planned"] == planned
    assert stores.redis.exists(key)
    # without a kept roster (none in SQL either): no planned figure, no adherence (never a made-up plan)
    stores.redis.delete(key)
    with stores.session() as s:
        s.execute(delete(Roster))
    stores.caches.clear()
    bare = panels.compute_staffing(stores, "620100", now.replace(tzinfo=UTC))
    assert bare["planned"] is None and bare["adherence"] is None


def test_live002_shortage_detection(stores):
    ingest(stores, _busy_half_hour(120, 3))  # 240 calls/h x 300 s = 20 erlangs on 3 seats
    with stores.session() as s:
        found = planning_live.shortage(s, city="620100", now=NOW, settings=stores.settings)
        assert found is not None
        assert found["staffed"] == 3 and found["required"] > 3
        assert found["offered_per_hour"] == pytest.approx(240.0)
        assert found["projected_service_level"] < found["target"] == 0.8
        lam = 240 / 3600
        assert found["required"] == staffing.required_erlang_a(lam, found["aht_s"], found["patience_s"], 15, 0.8)
        assert planning_live.shortage(s, city="620200", now=NOW, settings=stores.settings) is None  # no calls


def test_live003_enough_seats_is_no_shortage(stores):
    ingest(stores, _busy_half_hour(120, 30))
    with stores.session() as s:
        assert planning_live.shortage(s, city="620100", now=NOW, settings=stores.settings) is None


def test_live004_watchpoint_holds_then_fires_in_the_inbox(sqlite_stores):
    stores = sqlite_stores
    ingest(stores, _busy_half_hour(120, 3))
    with stores.session() as s:
        report = watchpoints.evaluate(s, stores.settings, now=NOW, rules=["seat_shortage"])
        assert report["seat_shortage"]["opened"] == 1 and report["seat_shortage"]["fired"] == 0  # held 30 min
        alert = s.scalars(select(Alert).where(Alert.rule == "seat_shortage")).one()
        assert alert.state == "pending" and alert.city == "620100" and "坐席不足" in alert.title
        assert alert.detail["staffed"] == 3
    # the shortage still there 31 minutes later (calls keep coming, seats unchanged): it fires
    later = NOW + timedelta(minutes=31)
    more = []
    for i in range(124):
        queued = later - timedelta(minutes=30) + timedelta(seconds=i * 1800 / 124)
        more += call(f"c{i}", queued=queued, answer_after=20, talk=300, seat=f"S{i % 3}")
    ingest(stores, more)
    with stores.session() as s:
        report = watchpoints.evaluate(s, stores.settings, now=later, rules=["seat_shortage"])
        assert report["seat_shortage"]["fired"] == 1
        assert s.scalars(select(Alert.state).where(Alert.rule == "seat_shortage")).one() == "firing"


def test_live005_worker_keeps_this_and_next_weeks_roster(sqlite_stores):
    stores = sqlite_stores
    now = timeutil.utcnow()
    ingest(stores, weekday_call_history(2, now))
    done = planning_live.plan_weeks(stores, now=now)
    assert list(done) == ["620100"] and len(done["620100"]) == 2
    monday = datetime.fromisoformat(roster_document(stores, scope="620100", week=done["620100"][0])["monday"]).date()
    assert planning_live.kept_roster(stores, "620100", monday)["week"] == done["620100"][0]
    assert planning_live.plan_weeks(stores, now=now) == {}  # kept: nothing planned again


@pytest.mark.parametrize("backend", ["sqlite_stores", "stores"])
def test_live006_a_saved_plan_survives_a_redis_flush(request, backend):
    """Plans are kept in SQL: Redis flushed (or replaced), the wall's planned seats still show."""
    stores = request.getfixturevalue(backend)
    now = datetime(2026, 11, 25, 2, 5)  # Wednesday 10:05 in Shanghai
    ingest(stores, weekday_call_history(2, now) + [seat(f"P{k}", "ready", now - timedelta(minutes=5))
                                                   for k in range(2)])
    week = current_week(stores.settings.tz, now.replace(tzinfo=UTC))
    doc = roster_document(stores, scope="620100", week=week, now=now, by="排班员甲")
    assert doc["saved_by"] == "排班员甲" and doc["saved_at"] == now.replace(tzinfo=UTC).isoformat()
    assert "保存人 排班员甲" in str(roster_view(doc, "zh")) and "saved by 排班员甲" in str(roster_view(doc, "en"))
    first = timeutil.floor_interval(now).replace(tzinfo=UTC).isoformat()
    planned = next(r["planned"] for r in doc["intervals"] if r["start"] == first)
    stores.redis.flushdb()
    stores.caches.clear()
    cities = ("620100",)
    value, _at = panels.panel(stores, "620100", cities, "staffing", now.replace(tzinfo=UTC))
    assert value["planned"] == planned >= 1 and value["adherence"] == pytest.approx(2 / planned)
    # the page and the API answer the same kept plan, with who saved it
    again = roster_document(stores, scope="620100", week=week, now=now + timedelta(hours=1))
    assert again["saved_by"] == "排班员甲" and again["planned_at"] == doc["planned_at"]
    # a replan is a new save of the same week; the newest is in force, the older stays on record
    roster_document(stores, scope="620100", week=week, now=now + timedelta(hours=2), replan=True, by="排班员乙")
    stores.redis.flushdb()
    assert planning_live.kept_roster(stores, "620100", datetime.fromisoformat(doc["monday"]).date())[
        "saved_by"] == "排班员乙"
    with stores.session() as s:
        saves = plan_store.roster_saves(s, scope="620100", monday=datetime.fromisoformat(doc["monday"]).date())
    assert [r["saved_by"] for r in saves] == ["排班员乙", "排班员甲"]


def test_live007_the_api_saves_a_plan_as_the_logged_in_user(sqlite_stores):
    from app import create_app
    from tests.login import login, make_user

    stores = sqlite_stores
    now = timeutil.utcnow()
    ingest(stores, weekday_call_history(2, now))
    app = create_app(stores.settings, stores=stores)
    client = app.server.test_client()
    name = make_user(stores, role="supervisor", scope="620100")
    assert login(client, name).status_code == 302
    week = current_week(stores.settings.tz)
    answer = client.get(f"/api/v1/roster?scope=620100&week={week}")
    assert answer.status_code == 200
    assert answer.get_json()["saved_by"] == name
    with stores.session() as s:
        saves = plan_store.roster_saves(s, scope="620100",
                                        monday=datetime.fromisoformat(answer.get_json()["monday"]).date())
    assert [r["saved_by"] for r in saves] == [name]


def test_live008_a_down_redis_costs_one_failed_read_then_sql_at_once(sqlite_stores, monkeypatch):
    """Redis down: the first read of the roster copy fails and opens the screens' breaker; while it
    is open the kept plan comes from SQL without asking Redis again (each ask would wait for the
    client's retries, seconds added to every wall refresh that shows planned seats)."""
    import redis as redis_lib

    from cockpit.store import cache

    stores = sqlite_stores
    now = datetime(2026, 11, 25, 2, 5)
    ingest(stores, weekday_call_history(2, now))
    week = current_week(stores.settings.tz, now.replace(tzinfo=UTC))
    doc = roster_document(stores, scope="620100", week=week, now=now, by="排班员甲")
    monday = datetime.fromisoformat(doc["monday"]).date()
    stores.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry_on_timeout=False)
    asked: list[str] = []
    real = plan_store.cached_roster
    monkeypatch.setattr(plan_store, "cached_roster", lambda *a, **k: asked.append("redis") or real(*a, **k))
    assert planning_live.kept_roster(stores, "620100", monday)["saved_by"] == "排班员甲"  # from SQL
    assert asked == ["redis"] and stores.caches.breaker.is_open(cache.live_key(stores.redis))
    assert planning_live.kept_roster(stores, "620100", monday)["saved_by"] == "排班员甲"
    assert asked == ["redis"]  # the breaker held: SQL at once, Redis not asked again
