"""cockpit.views.province.province_snapshot on real Redis with SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cockpit.views import province
from cockpit.ingest import ingest_batch
from tests.factories import Stream

NOW = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)


def _seed(stores) -> None:
    raws = []
    for city, answered, abandoned, tickets in (("620100", 6, 2, 4), ("620200", 2, 0, 1)):
        s = Stream(city, base=NOW - timedelta(hours=2), prefix=f"pv-{city}-")
        for i in range(answered):
            raws += s.answered_call(f"a{i}", i * 60, 5, 60)
        for i in range(abandoned):
            raws += s.abandoned_call(f"x{i}", 900 + i * 60, 40)
        for i in range(tickets):
            raws += s.ticket(f"{city}-T{i}", i * 120, district="620102" if city == "620100" else "620201")
    old = Stream("620100", base=NOW - timedelta(days=3), prefix="pv-old-")
    raws += old.ticket("old-T", 0)
    assert ingest_batch(stores, raws, source="test").rejected == []


def test_province010_rows_for_every_city_with_live_and_league(stores):
    _seed(stores)
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
