"""Metric definitions: pure functions by hand, then SQL figures from events fed through ingest_batch.

Every expected number below is worked out by hand in the comments next to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from cockpit import ingest as ingest_mod
from cockpit import timeutil
from cockpit.metrics import definitions, kpi
from cockpit.store.models import Region
from cockpit.store.regions import resolve_scope
from tests.metric_events import T0, W_END, call, ingest, scenario_calls, scenario_tickets, seat, ticket


# ------------------------------------------------------------------ pure functions

def test_met001_rates_by_hand():
    # offered 7, answered 4, abandoned 2 of which 1 short, 3 answered within 15 s
    assert definitions.connection_rate(4, 7, 1) == pytest.approx(4 / 6)
    assert definitions.service_level(3, 7, 1) == pytest.approx(3 / 6)
    assert definitions.abandon_rate(2, 7, 1) == pytest.approx(1 / 6)
    assert definitions.asa(51.0, 4) == pytest.approx(12.75)
    assert definitions.aht(420.0, 2) == pytest.approx(210.0)
    assert definitions.occupancy(420.0, 3290.0) == pytest.approx(420 / 3710)
    assert definitions.utilisation(420.0, 5400.0) == pytest.approx(420 / 5400)
    assert definitions.transfer_chain_mean(2, 4) == pytest.approx(1.5)
    assert definitions.per_100k(2, 1_000_000) == pytest.approx(0.2)
    # wall figures: 6 of 24 logged-in seats handling a contact; 150 tickets against a normal of 120
    assert definitions.busy_share(6, 24) == pytest.approx(0.25)
    assert definitions.relative_change(150, 120) == pytest.approx(0.25)
    assert definitions.relative_change(90, 120) == pytest.approx(-0.25)


def test_met002_empty_denominators_are_none_not_zero():
    assert definitions.connection_rate(0, 0, 0) is None
    # every offered call was a short abandon: nothing left to judge
    assert definitions.connection_rate(0, 3, 3) is None
    assert definitions.service_level(0, 3, 3) is None
    assert definitions.abandon_rate(3, 3, 3) is None
    assert definitions.asa(0.0, 0) is None
    assert definitions.aht(0.0, 0) is None
    assert definitions.occupancy(0.0, 0.0) is None
    assert definitions.response_rate(0, 0) is None
    assert definitions.per_100k(5, None) is None
    assert definitions.busy_share(0, 0) is None
    assert definitions.relative_change(5, 0) is None and definitions.relative_change(None, 4) is None
    # a real zero stays zero
    assert definitions.connection_rate(0, 4, 1) == 0.0


def test_met003_status_scores_and_targets_override(settings):
    assert definitions.status("connection_rate", 0.95) == "green"
    assert definitions.status("connection_rate", 0.92) == "amber"
    assert definitions.status("connection_rate", 0.5) == "red"
    assert definitions.status("abandon_rate", 0.04) == "green"
    assert definitions.status("abandon_rate", 0.2) == "red"
    assert definitions.status("connection_rate", None) is None
    assert definitions.score(0.5, 0.95) == pytest.approx(0.5 / 0.95)
    assert definitions.score(2.0, 0.95) == definitions.SCORE_CAP
    assert definitions.score(0.10, 0.05, better="lower") == pytest.approx(0.5)
    assert definitions.score(0.0, 0.05, better="lower") == definitions.SCORE_CAP
    assert definitions.composite_score({"response_rate": 0.95, "satisfaction_rate": None}) == pytest.approx(1.0)
    assert definitions.composite_score({"response_rate": None}) is None
    custom = settings.with_(targets={"satisfaction_rate": {"target": 0.5, "green": 0.6}})
    table = definitions.targets(custom)
    assert table["satisfaction_rate"]["target"] == 0.5
    assert table["satisfaction_rate"]["amber"] == 0.80  # untouched fields keep their default
    assert "COCKPIT_TARGETS" in table["satisfaction_rate"]["source"]
    assert definitions.TARGETS["satisfaction_rate"]["target"] == 0.90  # the defaults are not mutated


# ------------------------------------------------------------------ SQL figures from ingested events

def test_met010_telephony_by_hand(stores):
    ingest(stores, scenario_calls())
    with stores.session() as s:
        doc = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings,
                          now=T0 + timedelta(minutes=30), use_rollups=False)
    # offered C1..C7 = 7; answered C1 C2 C5 C7 = 4; abandoned C3 C4 = 2, short C3 = 1
    assert (doc["offered"], doc["answered"], doc["abandoned"], doc["short_abandoned"]) == (7, 4, 2, 1)
    assert doc["connection_rate"] == pytest.approx(4 / 6)
    # within 15 s: C1 (10), C5 (15), C7 (6) = 3
    assert doc["service_level"] == pytest.approx(3 / 6)
    assert doc["abandon_rate"] == pytest.approx(1 / 6)
    assert doc["asa_s"] == pytest.approx((10 + 20 + 15 + 6) / 4)
    assert doc["aht_s"] == pytest.approx((300 + 120) / 2)
    # at 02:30 C6 has waited 10 minutes; nobody else is waiting
    assert doc["waiting_now"] == 1
    assert doc["longest_wait_now_s"] == pytest.approx(600)
    assert doc["definitions_version"] == definitions.DEFINITIONS_VERSION
    assert doc["status"]["connection_rate"] == "red"


def test_met011_sl_threshold_parameter(stores):
    ingest(stores, scenario_calls())
    with stores.session() as s:
        doc = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings, sl_threshold_s=10)
    # within 10 s: C1 (10) and C7 (6)
    assert doc["service_level"] == pytest.approx(2 / 6)
    assert doc["sl_threshold_s"] == 10


def test_met012_no_calls_and_all_short_abandons(stores):
    ingest(stores, [*call("A1", queued=T0, abandon_after=1), *call("A2", queued=T0, abandon_after=5)])
    with stores.session() as s:
        empty = kpi.kpi(s, scope="620100", start=T0 - timedelta(days=1), end=T0, settings=stores.settings)
        short = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings)
    assert empty["offered"] == 0
    assert empty["connection_rate"] is None and empty["asa_s"] is None and empty["aht_s"] is None
    assert empty["status"]["connection_rate"] is None
    # 5 s is "within 5 s": both are short abandons
    assert (short["offered"], short["short_abandoned"]) == (2, 2)
    assert short["connection_rate"] is None and short["abandon_rate"] is None and short["service_level"] is None


def test_met013_events_across_local_midnight(stores):
    # 15:59:58 UTC = 23:59:58 in Shanghai on Nov 2; answered at 00:00:05 on Nov 3 local time
    late = datetime(2026, 11, 2, 15, 59, 58)
    ingest(stores, [*call("M1", queued=late, answer_after=7), *call("M2", queued=late + timedelta(seconds=2),
                                                                     answer_after=1)])
    tz = stores.settings.tz
    day2 = timeutil.naive_utc(datetime(2026, 11, 2), tz), timeutil.naive_utc(datetime(2026, 11, 3), tz)
    day3 = timeutil.naive_utc(datetime(2026, 11, 3), tz), timeutil.naive_utc(datetime(2026, 11, 4), tz)
    with stores.session() as s:
        d2 = kpi.kpi(s, scope="620100", start=day2[0], end=day2[1], settings=stores.settings)
        d3 = kpi.kpi(s, scope="620100", start=day3[0], end=day3[1], settings=stores.settings)
    assert (d2["offered"], d2["answered"]) == (1, 1)  # M1 queued on Nov 2 local
    assert (d3["offered"], d3["answered"]) == (1, 1)  # M2 queued at 00:00:00 on Nov 3 local


def _scenario_seats() -> list[dict]:
    return [
        seat("S1", "ready", T0 - timedelta(minutes=10)),
        seat("S1", "on_call", T0 + timedelta(seconds=10)),
        seat("S1", "acw", T0 + timedelta(seconds=310)),
        seat("S1", "ready", T0 + timedelta(seconds=320)),
        seat("S1", "offline", T0 + timedelta(minutes=40)),
        seat("S2", "ready", T0 + timedelta(minutes=10)),
        seat("S2", "not_ready", T0 + timedelta(minutes=30)),
        seat("S9", "ready", T0 + timedelta(minutes=5), city="620200"),  # another city
    ]


def test_met020_seat_occupancy_and_utilisation(stores):
    events = _scenario_seats()
    events.reverse()
    ingest(stores, events + scenario_calls())
    with stores.session() as s:
        doc = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings,
                          now=T0 + timedelta(hours=2))
        early = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings,
                            now=T0 + timedelta(minutes=20))
    # S1 logged in 02:00-02:40 (2400 s), ready 10 s + (02:05:20-02:40) 2080 s = 2090 s
    # S2 logged in 02:10-03:00 (3000 s), ready 02:10-02:30 = 1200 s
    assert doc["seat_logged_in_s"] == pytest.approx(5400)
    assert doc["seat_ready_s"] == pytest.approx(3290)
    # handling: C1 ended 02:05:00 (300 s), C2 ended 02:03:00 (120 s); C5, C7 not ended
    assert doc["seat_handling_s"] == pytest.approx(420)
    assert doc["occupancy"] == pytest.approx(420 / (420 + 3290))
    assert doc["utilisation"] == pytest.approx(420 / 5400)
    assert doc["seats_by_state_now"] == {"offline": 1, "not_ready": 1}
    assert doc["seats_logged_in_now"] == 1
    # at 02:20 the window is clipped to now: S1 1200 s, S2 600 s logged in
    assert early["seat_logged_in_s"] == pytest.approx(1800)


def test_met030_ticket_rates_by_hand(stores):
    events = scenario_tickets()
    events.reverse()
    ingest(stores, events)
    now = T0 + timedelta(days=3)
    with stores.session() as s:
        doc = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings, now=now)
        basic = kpi.kpi(s, scope="620100", start=T0, end=W_END, now=now,
                            settings=stores.settings.with_(count_basic_as_satisfied=True))
    assert doc["tickets_created"] == 5            # T1..T5; T6 is created at the window end
    assert doc["tickets_dispatched"] == 4         # T1..T4
    assert doc["tickets_closed"] == 3             # T1 T2 T5 (T4 was reopened)
    assert doc["response_rate"] == pytest.approx(2 / 4)       # T1, T4 in time; T2 late; T3 never
    assert doc["resolution_rate"] == pytest.approx(1 / 2)     # valid callbacks T1 T2 (T4 unreachable)
    assert doc["satisfaction_rate"] == pytest.approx(1 / 2)   # T1 very satisfied; T2 basic not counted
    assert basic["satisfaction_rate"] == pytest.approx(2 / 2)
    assert doc["on_time_closure_rate"] == pytest.approx(1 / 2)  # T1 on time, T2 late; T5 has no due_at
    assert doc["rework_rate"] == pytest.approx(1 / 4)         # T4 reopened of T1 T2 T4 T5 ever closed
    assert doc["return_rate"] == pytest.approx(1 / 4)         # T3
    assert doc["transfer_chain_mean"] == pytest.approx(6 / 4)  # T3 went through 3 units, others 1
    assert doc["dispatch_accuracy"] == pytest.approx(2 / 3)   # auto T1 T3 T4; T3 returned
    assert doc["overdue_open_now"] == 2                       # T3 (open) and T4 (reopened) past due
    assert doc["status"]["response_rate"] == "red"


def test_met031_response_not_yet_due_is_excluded(stores):
    ingest(stores, [
        ticket("P1", "created", T0, category=["城建"]),
        ticket("P1", "dispatched", T0 + timedelta(minutes=5), unit="U1"),
    ])
    with stores.session() as s:
        soon = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings,
                           now=T0 + timedelta(hours=2))
        later = kpi.kpi(s, scope="620100", start=T0, end=W_END, settings=stores.settings,
                            now=T0 + timedelta(hours=25))
        short = kpi.kpi(s, scope="620100", start=T0, end=W_END, now=T0 + timedelta(hours=2),
                            settings=stores.settings.with_(response_deadline_s=3600))
    assert soon["response_rate"] is None   # its 24 h deadline is still running
    assert later["response_rate"] == 0.0   # the deadline passed without a response
    assert short["response_rate"] == 0.0   # configurable deadline: 1 h


def _regions(stores):
    rows = [
        {"code": "620000", "name": "甘肃省", "level": "province", "parent": None, "population": 25_000_000},
        {"code": "620100", "name": "兰州市", "level": "city", "parent": "620000", "population": 4_000_000},
        {"code": "620200", "name": "嘉峪关市", "level": "city", "parent": "620000", "population": None},
        {"code": "620102", "name": "城关区", "level": "district", "parent": "620100", "population": 1_000_000},
        {"code": "620103", "name": "七里河区", "level": "district", "parent": "620100", "population": None},
    ]
    with stores.session() as s:
        s.execute(insert(Region), rows)
    ingest_mod.forget_regions(stores)


def test_met040_scopes_province_city_district(stores):
    _regions(stores)
    ingest(stores, scenario_calls() + scenario_tickets()
           + call("J1", queued=T0 + timedelta(minutes=7), city="620200", answer_after=4))
    now = T0 + timedelta(days=3)
    with stores.session() as s:
        assert tuple(resolve_scope(s, "620000")) == ("province", ("620100", "620200"), None)
        assert tuple(resolve_scope(s, "620102")) == ("district", ("620100",), ("620102",))
        prov = kpi.kpi(s, scope="620000", start=T0, end=W_END, settings=stores.settings, now=now)
        dist = kpi.kpi(s, scope="620102", start=T0, end=W_END, settings=stores.settings, now=now)
    assert prov["offered"] == 8 and prov["answered"] == 5
    assert prov["tickets_created"] == 5
    assert dist["offered"] is None and dist["connection_rate"] is None  # calls have no district
    assert dist["tickets_created"] == 2 and dist["response_rate"] == pytest.approx(1 / 2)


def test_met041_adcode_fallback_without_regions(sqlite_stores):
    ingest(sqlite_stores, call("K1", queued=T0, city="620100", answer_after=1)
           + call("K2", queued=T0, city="620200", answer_after=1)
           + call("K3", queued=T0, city="630100", answer_after=1))
    with sqlite_stores.session() as s:
        assert tuple(resolve_scope(s, "620000")) == ("province", ("620100", "620200"), None)
        assert tuple(resolve_scope(s, "620102")) == ("district", ("620100",), ("620102",))
        assert tuple(resolve_scope(s, "technion")) == ("city", ("technion",), None)


def test_met050_rankings_districts_units_cities(stores):
    _regions(stores)
    ingest(stores, scenario_tickets() + scenario_calls())
    now = T0 + timedelta(days=3)
    with stores.session() as s:
        by_district = kpi.rankings(s, scope="620100", level="district", start=T0, end=W_END,
                                       settings=stores.settings, now=now)
        by_unit = kpi.rankings(s, scope="620100", level="unit", start=T0, end=W_END,
                                   settings=stores.settings, now=now)
        by_city = kpi.rankings(s, scope="620000", level="city", start=T0, end=W_END,
                                   settings=stores.settings, now=now)
    rows = {r["key"]: r for r in by_district["rows"]}
    # 620102: T1 T2 -> response, resolution, satisfaction, on-time all 1/2
    expected_102 = (0.5 / 0.95 + 0.5 / 0.85 + 0.5 / 0.90 + 0.5 / 0.95) / 4
    assert rows["620102"]["score"] == pytest.approx(expected_102)
    assert rows["620102"]["tickets_per_100k"] == pytest.approx(0.2)
    # 620103: T3 T4 -> only response rate 1/2 exists
    assert rows["620103"]["score"] == pytest.approx(0.5 / 0.95)
    assert rows["620103"]["tickets_per_100k"] is None
    assert rows[""]["score"] is None  # T5 has no district and no rate
    assert [r["key"] for r in by_district["rows"]] == ["620102", "620103", ""]
    assert [r["rank"] for r in by_district["rows"]] == [1, 2, 3]
    units = {r["key"]: r for r in by_unit["rows"]}
    assert set(units) == {"U1", "U2", "U4", "centre"}
    cities = {r["key"]: r for r in by_city["rows"]}
    assert cities["620100"]["connection_rate"] == pytest.approx(4 / 6)
    assert cities["620100"]["offered_per_100k"] == pytest.approx(7 * 100_000 / 4_000_000)
    with pytest.raises(ValueError):
        with stores.session() as s:
            kpi.rankings(s, scope="620100", level="street", start=T0, end=W_END, settings=stores.settings)
