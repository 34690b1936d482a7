"""The wall's hot-topics panel (cockpit.views.topics) on real SQL and Redis, with hand-made requests.

Today's requests are compared with the same hours of the four days before: a phrase that surges
against that baseline ranks first; a phrase as common as every day does not. The panel says when
there is no text, when the baseline is still loading and when the worker has not run, and a wall
refresh never computes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from cockpit.store import panels as store
from cockpit.views import panels, sources, topics, wall
from tests.scenarios import seed_topics

CITY = "620100"
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai


def _seed(stores, **kwargs) -> None:
    seed_topics(stores, NOW, **kwargs)


def test_walltopic001_a_phrase_surging_against_the_same_hours_before_ranks_first(stores):
    _seed(stores)
    value = topics.compute_city_topics(stores, CITY, NOW)
    assert value["state"] == "ok" and value["texts"] == 12 and value["baseline"] == {"days": 4, "needed": 4}
    first, *rest = value["topics"]
    assert "电梯" in first["terms"] and first["count"] == 5 and first["rank"] == 1
    assert first["baseline_per_period"] == 0 and first["growth"] == 6.0 and first["emerging"]
    assert first["district"] == "620102" and first["district_name"]["zh"] == "城关区"
    assert first["category"] == "城乡建设"
    dance = next(t for t in rest if "噪音" in t["terms"] or "广场舞" in t["terms"])
    assert dance["count"] == 3 and dance["baseline_per_period"] == 3.0 and dance["growth"] == 1.0
    assert not dance["emerging"] and dance["district"] == "620103"
    # a district wall sees only its own district's topics
    mine = topics.for_scope(value, "district", "620103")
    assert [t["district"] for t in mine["topics"]] == ["620103"] and mine["topics"][0]["rank"] == 1


def test_walltopic002_states_say_when_there_is_nothing_to_compare(stores):
    _seed(stores, baseline_days=2)
    value = topics.compute_city_topics(stores, CITY, NOW)
    assert value["state"] == "baseline_loading" and value["baseline"] == {"days": 2, "needed": 4}
    assert value["topics"][0]["count"] == 5 and all(t["growth"] is None for t in value["topics"])


def test_walltopic003_no_text_is_a_state_not_an_empty_list(stores):
    _seed(stores, text=False)
    value = topics.compute_city_topics(stores, CITY, NOW)
    assert value["state"] == "no_text" and value["tickets"] == 12 and value["texts"] == 0 and value["topics"] == []


def test_walltopic004_the_worker_computes_and_a_refresh_only_reads(stores):
    _seed(stores)
    snap = wall.city_snapshot(stores, CITY, now=NOW)
    assert snap["sections"]["topics"]["state"] == "pending"  # nothing stored: the refresh did not run jieba
    assert store.read_panel(stores.redis, CITY, "topics") is None
    assert CITY in panels.precompute_topics(stores, now=NOW)
    stored = store.read_panel(stores.redis, CITY, "topics")
    assert stored["value"]["topics"][0]["label"]
    section = wall.city_snapshot(stores, CITY, now=NOW)["sections"]["topics"]
    assert section["state"] == "ok" and section["as_of_ms"] == int(stored["computed_at"] * 1000)
    assert section["max_age_ms"] == sources.max_age_ms(panels.PANELS["topics"])
    # the minute's panel job leaves it to its own job; a stale value is still shown (marked by its age)
    panels.precompute_panels(stores, now=NOW)
    assert store.read_panel(stores.redis, CITY, "topics")["computed_at"] == stored["computed_at"]
    store.store_panel(stores.redis, CITY, "topics", stored["tag"], stored["value"],
                      computed_at=stored["computed_at"] - 3600)
    old = wall.city_snapshot(stores, CITY, now=NOW)["sections"]["topics"]
    assert old["state"] == "ok" and old["as_of_ms"] == int((stored["computed_at"] - 3600) * 1000)
    district = wall.city_snapshot(stores, "620102", now=NOW)["sections"]["topics"]
    assert district["district_only"] and [t["district"] for t in district["topics"]] == ["620102"]
    # Redis down: the panel is not "waiting for the worker" but failed with the live source (kept on screen)
    stores.redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    down = wall.city_snapshot(stores, CITY, now=NOW)
    assert "live" in down["failed"] and "topics" not in down["sections"]
