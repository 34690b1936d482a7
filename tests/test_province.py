"""cockpit.views.province.province_snapshot on real Redis with SQLite and PostgreSQL."""

from __future__ import annotations


import pytest

from cockpit.views import province
from tests.scenarios import NOW, seed_province


def test_province010_rows_for_every_city_with_live_and_league(stores):
    seed_province(stores)
    snap = province.province_snapshot(stores, "620000", now=NOW)
    assert snap["failed"] == []
    assert snap["name"]["zh"] == "甘肃省"
    codes = [r["code"] for r in snap["rows"]]
    assert len(codes) == 14 and len(set(codes)) == 14
    by = {r["code"]: r for r in snap["rows"]}
    lz = by["620100"]
    assert (lz["offered_today"], lz["answered_today"], lz["tickets_today"]) == (8, 6, 4)
    assert lz["connection_rate_today"] == pytest.approx(6 / 8)
    assert lz["connection_status"] == "red"
    assert lz["tickets_created"] == 5  # league window: the last 30 days
    assert lz["rank"] in (1, 2) and by["620200"]["rank"] in (1, 2)
    assert lz["tickets_per_100k_today"] == pytest.approx(4 * 100_000 / lz["population"])
    assert len(lz["trend"]) == 14 and lz["trend"][-1] == 4 and lz["trend"][-4] == 1
    assert by["620900"]["offered_today"] == 0 and by["620900"]["rank"] is None
    assert snap["rows"][0]["rank"] == 1  # ranked first, unranked cities last
    assert snap["sections"]["live"]["as_of_ms"] > 0 and snap["sections"]["league"]["as_of_ms"] > 0


def test_province011_headline_totals_history_and_freshness(stores):
    """Totals by the metric contract, computed by hand from the seed: calls 8 + 2 = 10 offered,
    6 + 2 = 8 answered, no short abandons (abandoned after 40 s) -> connection 8 / 10 = 0.8;
    tickets 4 + 1 = 5 today. One old ticket 3 days ago: 1 of 28 history days."""
    seed_province(stores)
    snap = province.province_snapshot(stores, "620000", now=NOW)
    totals = snap["totals"]
    assert (totals["offered_today"], totals["tickets_today"]) == (10, 5)
    assert totals["connection_rate_today"] == pytest.approx(0.8)
    assert totals["status"]["connection_rate_today"] == "red" and totals["targets"]["connection_rate"] == 0.95
    assert set(totals) >= {"response_rate", "resolution_rate", "satisfaction_rate", "on_time_closure_rate"}
    assert snap["history"] == {"days": 1, "needed": 28}
    assert snap["last_event_ms"] is not None
