"""cockpit.views.wall: the city wall snapshot on real Redis with SQLite and PostgreSQL.

Times are built around a minute of today near the real clock (Asia/Shanghai, tests/scenarios.NOW), so the live store's TTL window (read
from the real clock by ``live.apply``) holds today and last week but not two weeks ago.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib

from cockpit.metrics import definitions
from cockpit.views import curves, sources, wall
from cockpit.watch.alerts import Finding, reconcile
from cockpit.store.db import Stores
from cockpit.metrics.rollups import rollup_range
from tests.scenarios import CITY, NOW, seed_city_today, seed_offered_on


def test_wall010_snapshot_counts_rates_queue_seats(stores):
    seed_city_today(stores)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert snap["failed"] == []
    sec = snap["sections"]
    assert (sec["volume"]["offered"], sec["volume"]["answered"], sec["volume"]["abandoned"]) == (7, 4, 2)
    assert sec["volume"]["tickets"] == 3
    assert sec["rates"]["connection_rate"] == pytest.approx(4 / 6)  # short abandon leaves the denominator
    assert sec["rates"]["service_level"] == pytest.approx(2 / 6)  # answered within 15 s
    assert sec["rates"]["connection_status"] == "red" and sec["rates"]["service_status"] == "red"
    assert sec["queue"]["waiting"] == 1
    assert sec["queue"]["longest_wait_s"] == pytest.approx(100, abs=1)
    assert sec["seats"]["by_state"] == {"offline": 1, "on_call": 1, "ready": 1}
    assert (sec["seats"]["logged_in"], sec["seats"]["handling"]) == (2, 1)
    assert sec["districts"]["counts"] == {"620102": 2, "620103": 1}
    assert sec["districts"]["population"]["620102"] > 1_000_000
    assert [(c["name"], c["today"]) for c in sec["categories"]["top"]] == [("城乡建设", 2), ("交通运输", 1)]
    local = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    assert sec["curves"]["minute"] == local.hour * 60 + local.minute
    assert sec["curves"]["today"]["offered"][-1] == 7
    assert sec["staffing"]["staffed"] == 2  # on_call and ready are staffed; offline is not
    assert sec["alerts"]["items"] == []
    for name in ("volume", "rates", "queue", "seats", "districts", "curves", "categories", "staffing"):
        assert sec[name]["as_of_ms"] > 0 and sec[name]["max_age_ms"] >= 2 * stores.settings.refresh_ms
    assert snap["name"] == {"zh": "兰州市", "en": "Lanzhou"}


def test_wall016_live_panels_turn_stale_after_two_refreshes_plus_grace_not_on_a_busy_machine(stores):
    """Flowing data reaches a screen late on a loaded machine: a shared payload is reused while
    another process renders it (up to STALE_S), so a live panel is stale only past two refreshes
    plus STALE_GRACE_S (14 s), never at two refreshes (4 s: loaded walls flickered 'Stale')."""
    from callbacks.shared_payload import STALE_S, TICK_S

    seed_city_today(stores)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    refresh_ms = stores.settings.refresh_ms
    for name in ("volume", "rates", "queue", "seats", "districts"):
        max_age = snap["sections"][name]["max_age_ms"]
        assert max_age == 2 * refresh_ms + sources.STALE_GRACE_S * 1000 == 14_000, name
        assert max_age > (STALE_S + TICK_S) * 1000 + refresh_ms, name  # a payload being re-rendered is not stale


def test_wall011_baselines_from_live_and_sql(stores):
    seed_city_today(stores)
    seed_offered_on(stores, 7, 3, hour_offset=2, tickets=2)  # in Redis (within the 8-day TTL)
    seed_offered_on(stores, 14, 5, hour_offset=3)  # SQL only, raw rows
    seed_offered_on(stores, 21, 1, hour_offset=3)  # SQL only, through the 15-minute rollups
    day21 = NOW - timedelta(days=21)
    with stores.session() as session:
        rollup_range(session, day21 - timedelta(hours=12), day21 + timedelta(hours=12), now=NOW)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    curves = snap["sections"]["curves"]
    sources = list(curves["baseline_sources"].values())
    assert sources == ["live", "sql", "sql", "none"]
    minute = curves["minute"]
    assert curves["last_week"]["offered"][minute] == 3
    assert curves["median"]["offered"][minute] == 3  # median of 3, 5, 1 (the empty week is skipped)
    assert curves["last_week"]["offered"][minute - 180] == 0  # nothing before 10:00 last week
    assert snap["sections"]["volume"]["offered_last_week"] == 3
    assert snap["sections"]["volume"]["tickets_last_week"] == 2
    assert len(curves["median"]["offered"]) == 1440


def test_wall012_failed_source_is_reported_and_recovers(stores):
    seed_city_today(stores)
    good = stores.redis
    stores.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                                   retry_on_error=[], retry=None)
    try:
        snap = wall.city_snapshot(stores, CITY, now=NOW)
        assert snap["failed"] == ["live"]
        assert "volume" not in snap["sections"] and "staffing" in snap["sections"]
        again = wall.city_snapshot(stores, CITY, now=NOW)
        assert again["errors"]["live"] == "unavailable, retrying"  # fails fast while the source is down
    finally:
        stores.redis = good
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert snap["failed"] == [] and snap["sections"]["volume"]["offered"] == 7


def test_wall013_open_alerts_most_severe_first(stores):
    seed_city_today(stores)
    assert wall.open_alerts(stores, CITY) == []
    findings = [
        Finding(rule="surge", key="k1", city=CITY, district="620102", severity="minor", title="来电激增"),
        Finding(rule="surge", key="k2", city=CITY, district="620103", severity="critical", title="接通率骤降"),
        Finding(rule="surge", key="k3", city="620200", district=None, severity="critical", title="别的城市"),
    ]
    with stores.session() as session:
        reconcile(session, "surge", findings, now=NOW)
    items = wall.city_snapshot(stores, CITY, now=NOW)["sections"]["alerts"]["items"]
    assert [(a["severity"], a["title"], a["district"]) for a in items] == [
        ("critical", "接通率骤降", "620103"), ("minor", "来电激增", "620102")]
    assert items[0]["since"].startswith(NOW.date().isoformat()[:4])


def test_wall014_curve_helpers():
    curve = curves.intervals_to_minutes([15, 0, 30] + [0] * 93)
    assert len(curve) == 1440
    assert (curve[0], curve[14], curve[29], curve[44], curve[-1]) == (1, 15, 15, 45, 45)
    assert curves.median_curve([None, [1, 2], [3, 4], [5, 9]]) == [3, 4]
    assert curves.median_curve([None, None]) is None
    assert curves.cumulative([1, 0, 2]) == [1, 1, 3]
    assert definitions.relative_change(12, 10) == pytest.approx(0.2)
    assert definitions.relative_change(1, 0) is None and definitions.relative_change(None, 3) is None
    assert wall.wall_path("620000") == "/province/620000" and wall.wall_path("620100") == "/wall/620100"


def test_wall040_history_service_rates_and_staffing_readiness(stores):
    """A wall with one ticket 3 days ago and today's traffic: 1 of 28 history days; the service
    section is Lanzhou's row of the province league; staffing says nothing without a forecast."""
    from cockpit.ingest import ingest_batch
    from cockpit.views import wall as wall_view
    from cockpit.views.panels import compute_staffing
    from tests.factories import Stream

    now = NOW
    raws = Stream("620100", base=now - timedelta(days=3), prefix="h40-old-").ticket("h40-old", 0)
    raws += Stream("620100", base=now - timedelta(minutes=30), prefix="h40-").ticket("h40-T", 60, close=False)
    assert ingest_batch(stores, raws, source="test").rejected == []
    snap = wall_view.city_snapshot(stores, "620100", now=now)
    assert snap["history"] == {"days": 1, "needed": 28}
    service = snap["sections"]["service"]
    assert service["days"] == 30 and set(service["targets"]) == {
        "response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate"}
    staffing = compute_staffing(stores, "620100", now)
    assert staffing["forecast_ready"] is False and staffing["required"] is None  # no calls: no forecast
    assert all(r["required"] is None for r in staffing["next"])


def test_wall015_failed_sources_and_caches_belong_to_their_stores(stores):
    seed_city_today(stores)
    dead = Stores(settings=stores.settings, engine=stores.engine, sessionmaker=stores.sessionmaker,
                  redis=redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry_on_error=[],
                                        retry=None))
    assert wall.city_snapshot(dead, CITY, now=NOW)["failed"] == ["live"]
    assert dead.caches.breaker.is_open(("live", id(dead.redis)))
    assert not stores.caches.breaker.is_open(("live", id(dead.redis)))  # another app's failure is not ours
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert snap["failed"] == [] and snap["sections"]["volume"]["offered"] == 7
    assert stores.caches.ttl is not dead.caches.ttl
