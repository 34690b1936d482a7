"""Precomputed wall panels (cockpit.views.panels.precompute_panels + cockpit.store.panels) on real Redis, SQLite and PostgreSQL.

The worker job stores the slow SQL figures in Redis; a wall refresh reads them instead of running
the SQL, computes a missing one inline once (under a Redis lock) and lets the screen mark an old
one stale.
"""

from __future__ import annotations

import time
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import event

from cockpit import jobs
from cockpit.store import live
from cockpit.store import panels as store
from cockpit.timeutil import minute_of_day
from cockpit.views import curves, panels, province, wall
from tests.scenarios import CITY, NOW, seed_city_today, seed_offered_on, seed_province

PROVINCE = "620000"
SLOW_TABLES = ("calls", "tickets", "call_rollups_15m", "ticket_rollups_15m", "seat_state_changes", "seats")


def _statements(stores) -> list[str]:
    """Every SQL statement the engine runs from now on (a real listener, not a fake)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lower())

    event.listen(stores.engine, "before_cursor_execute", record)
    return seen


def _touches_slow_tables(statements: list[str]) -> list[str]:
    return [s for s in statements
            if any(f"from {t}" in s or f'from "{t}"' in s or f"join {t}" in s for t in SLOW_TABLES)]


def test_wallpanel001_job_stores_what_inline_computes(stores):
    seed_city_today(stores)
    seed_offered_on(stores, 7, 3, hour_offset=2, tickets=2)
    seed_offered_on(stores, 14, 5, hour_offset=3)
    seed_province(stores)
    took = panels.precompute_panels(stores, now=NOW)
    assert CITY in took and "620200" in took and PROVINCE in took
    names = [(CITY, n) for n in panels.CITY_PANELS] + [(PROVINCE, "league")]
    by_job = {k: store.read_panel(stores.redis, *k) for k in names}
    assert all(v is not None and v["tag"] == NOW.astimezone(stores.settings.tz).date().isoformat()
               for v in by_job.values())
    minute = minute_of_day(NOW, stores.settings.tz)
    assert by_job[(CITY, "baselines")]["value"]["last_week"]["offered"][minute] == 3
    assert by_job[(CITY, "catnorm")]["value"] == {"城乡建设": 0}  # 2 tickets a week ago, none earlier: median 0
    assert by_job[(PROVINCE, "league")]["value"]["rows"][CITY]["tickets_created"] >= 5

    panels.forget(stores)
    assert store.read_panel(stores.redis, CITY, "staffing") is None
    wall.city_snapshot(stores, CITY, now=NOW)  # missing -> computed inline and stored
    province.province_snapshot(stores, PROVINCE, now=NOW)
    for key, job in by_job.items():
        inline = store.read_panel(stores.redis, *key)
        assert inline["value"] == job["value"], key
        assert inline["computed_at"] >= job["computed_at"]


def test_wallpanel002_snapshot_reads_the_stored_value_not_sql(stores):
    seed_city_today(stores)
    seed_province(stores)
    probe = _statements(stores)
    wall.city_snapshot(stores, CITY, now=NOW)  # nothing stored yet: computed inline, through SQL
    assert _touches_slow_tables(probe), "the detector sees the slow reads"
    tag = NOW.astimezone(stores.settings.tz).date().isoformat()
    sql_staffing = panels.compute_staffing(stores, CITY, NOW)
    stored = dict(sql_staffing, required=99, staffed=77, next=[])
    assert sql_staffing["required"] != 99
    store.store_panel(stores.redis, CITY, "staffing", tag, stored)
    flat = [42.0] * curves.MINUTES
    store.store_panel(stores.redis, CITY, "baselines", tag, {
        "last_week": {"offered": flat, "tickets": flat}, "median": {"offered": flat, "tickets": None},
        "sources": {}})
    store.store_panel(stores.redis, CITY, "catnorm", tag, {"城乡建设": 8})
    store.store_panel(stores.redis, CITY, "util", tag, 0.123)
    league = panels.compute_league(stores, PROVINCE, NOW)
    league["rows"][CITY] = dict(league["rows"][CITY], score=12.5, rank=1)
    store.store_panel(stores.redis, PROVINCE, "league", tag, league)

    statements = _statements(stores)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    sec = snap["sections"]
    assert snap["failed"] == []
    assert (sec["staffing"]["required"], sec["staffing"]["staffed"]) == (99, 77)
    assert sec["volume"]["offered_last_week"] == 42.0 and sec["volume"]["tickets_median"] is None
    assert {r["name"]: r["normal"] for r in sec["categories"]["top"]}["城乡建设"] == 8
    assert sec["seats"]["utilisation_today"] == 0.123
    prov = province.province_snapshot(stores, PROVINCE, now=NOW)
    assert {r["code"]: r["score"] for r in prov["rows"]}[CITY] == 12.5
    assert statements, "the listener sees the small reads (scope, alerts)"
    assert _touches_slow_tables(statements) == []


def test_wallpanel003_missing_panel_computed_once_under_a_lock(stores):
    seed_city_today(stores)
    stores.redis.set(live.key_panel_lock(CITY, "staffing"), "another-process", ex=30)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert "staffing" not in snap["sections"] and snap["failed"] == []  # someone else is computing it
    assert store.read_panel(stores.redis, CITY, "staffing") is None
    assert store.read_panel(stores.redis, CITY, "baselines") is not None  # the unlocked ones were stored
    stores.redis.delete(live.key_panel_lock(CITY, "staffing"))

    before = time.time()
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    stored = store.read_panel(stores.redis, CITY, "staffing")
    assert stored is not None and stored["computed_at"] >= before
    assert stored["value"] == panels.compute_staffing(stores, CITY, NOW)
    assert snap["sections"]["staffing"]["as_of_ms"] == int(stored["computed_at"] * 1000)
    assert stores.redis.exists(live.key_panel_lock(CITY, "staffing")) == 0  # released
    assert 0 < stores.redis.ttl(live.key_panel(CITY, "staffing")) <= store.PANEL_KEEP_S


def test_wallpanel004_stale_panel_is_marked_stale_then_recomputed(stores):
    seed_city_today(stores)
    tag = NOW.astimezone(stores.settings.tz).date().isoformat()
    old = time.time() - 3 * panels.PANELS["staffing"]
    value = store.jsonable(panels.compute_staffing(stores, CITY, NOW))
    store.store_panel(stores.redis, CITY, "staffing", tag, dict(value, required=55), computed_at=old)
    baselines = panels.compute_baselines(stores, (CITY,), NOW.astimezone(stores.settings.tz).date())
    store.store_panel(stores.redis, CITY, "baselines", tag, store.jsonable(baselines),
                     computed_at=time.time() - 3 * panels.PANELS["baselines"])
    for name in ("staffing", "baselines"):  # another process is already recomputing them
        stores.redis.set(live.key_panel_lock(CITY, name), "another-process", ex=30)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    staff, curves = snap["sections"]["staffing"], snap["sections"]["curves"]
    now_ms = time.time() * 1000
    assert staff["required"] == 55 and staff["as_of_ms"] == int(old * 1000)
    assert now_ms - staff["as_of_ms"] > staff["max_age_ms"]  # the screen marks it stale
    assert now_ms - curves["as_of_ms"] > curves["max_age_ms"]
    fresh_volume = snap["sections"]["volume"]
    assert now_ms - fresh_volume["as_of_ms"] < fresh_volume["max_age_ms"]

    for name in ("staffing", "baselines"):
        stores.redis.delete(live.key_panel_lock(CITY, name))
    snap = wall.city_snapshot(stores, CITY, now=NOW)  # the lock is free: one refresh recomputes it
    staff = snap["sections"]["staffing"]
    assert staff["required"] == value["required"] and time.time() * 1000 - staff["as_of_ms"] < staff["max_age_ms"]


def test_wallpanel005_other_day_counts_as_missing_and_job_is_scheduled(stores):
    seed_city_today(stores)
    yesterday = (NOW.astimezone(stores.settings.tz).date() - timedelta(days=1)).isoformat()
    store.store_panel(stores.redis, CITY, "staffing", yesterday, {"required": 99, "next": []})
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert snap["sections"]["staffing"]["required"] != 99
    assert store.read_panel(stores.redis, CITY, "staffing")["tag"] != yesterday
    scheduler = BackgroundScheduler()
    jobs.schedule(scheduler, stores)
    job = scheduler.get_job("wall_panels")
    assert job is not None and job.func is panels.precompute_panels and job.max_instances == 1


def test_wallpanel006_history_needed_follows_the_seeded_days(stores, tmp_path):
    """``cockpit demo --days 7`` seeds a week: its screens count 7 needed days ('3/7', then complete),
    not 28 they would wait for forever; a deployment keeps the four weeks by default."""
    from cockpit.demo import demo_settings, demo_state
    from cockpit.ingest import ingest_batch
    from tests.factories import Stream

    today = NOW.astimezone(stores.settings.tz).date()
    base = NOW - timedelta(days=7)
    s = Stream(CITY, base=base, prefix="hist-")
    ingest_batch(stores, [e for d in range(7) for e in s.ticket(f"H{d}", d * 86_400.0)], source="test")
    assert panels.history_days(stores, (CITY,), today) == {"days": 7, "needed": 28}
    settings = stores.settings.with_(var_dir=tmp_path)
    state = demo_state(settings, days=7, seed=3)
    assert state["days"] == 7 and demo_state(settings, days=28, seed=3)["days"] == 7  # reused as seeded
    week = demo_settings(settings, state)
    assert week.history_days == 7 and demo_settings(settings, {"days": 90}).history_days == 28
    from dataclasses import replace

    demo = replace(stores, settings=stores.settings.with_(history_days=week.history_days))
    assert panels.history_days(demo, (CITY,), today) == {"days": 7, "needed": 7}
