"""Watchpoint rules: each fires for its injected incident at the expected time, and clears.

Deterministic ticket and call streams go through the one ingestion path; rules run with an
explicit ``now``. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cockpit.watch import alerts
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import ingest_batch
from cockpit.store.models import Alert, JobRun
from tests.factories import Stream

BASE = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
# These tests check each rule's own logic, one alert per item; grouping is tested in test_watch_groups.py.
PER_ITEM = {"rules": {r: {"group_by": "ticket", "enabled": True} for r in watchpoints.WORK_ITEM_RULES}}


@pytest.fixture
def settings(settings):
    return settings.with_(watchpoints=PER_ITEM)
DAY = 86400


def _eval(stores, at: datetime, rules: list[str]) -> dict:
    with stores.session() as session:
        return watchpoints.evaluate(session, stores.settings, redis=stores.redis, now=at, rules=rules)


def _open(stores, rule: str) -> dict[str, Alert]:
    with stores.session() as session:
        return {a.key: a for a in session.scalars(
            select(Alert).where(Alert.rule == rule, Alert.open_key.is_not(None)))}


def _all(stores, rule: str) -> list[Alert]:
    with stores.session() as session:
        return list(session.scalars(select(Alert).where(Alert.rule == rule).order_by(Alert.id)))


def _created(s: Stream, tid: str, t: float, **fields) -> dict:
    base = {"ticket_id": tid, "district": "620102", "category": ["城乡建设", "供热"], "text": "暖气不热",
            "due_at": s.at(t + 5 * DAY)}
    base.update(fields)
    return s.event("ticket.created", t, **base)


def test_watch001_overdue_fires_at_due_time_and_clears_on_closure(stores):
    s = Stream(prefix="w1-")
    ingest_batch(stores, [_created(s, "T1", 0), s.event("ticket.dispatched", 60, ticket_id="T1", unit="U1"),
                          _created(s, "T2", 0)] + [s.event("ticket.closed", 3600, ticket_id="T2", unit="U1")],
                 source="test")
    due = BASE + timedelta(days=5)
    _eval(stores, due - timedelta(minutes=1), ["overdue", "closed_late"])
    assert _open(stores, "overdue") == {}
    _eval(stores, due + timedelta(minutes=1), ["overdue", "closed_late"])
    opened = _open(stores, "overdue")
    assert set(opened) == {"T1"}  # T2 was closed in time
    assert opened["T1"].state == "firing" and opened["T1"].severity == "major"
    assert opened["T1"].fired_at == (due + timedelta(minutes=1)).replace(tzinfo=None)
    # Three days late it becomes critical; closing it late resolves it and raises closed_late.
    _eval(stores, due + timedelta(days=3, minutes=1), ["overdue"])
    assert _open(stores, "overdue")["T1"].severity == "critical"
    ingest_batch(stores, [s.event("ticket.closed", 8 * DAY, ticket_id="T1", unit="U1")], source="test")
    _eval(stores, due + timedelta(days=3, minutes=2), ["overdue", "closed_late"])
    assert _open(stores, "overdue") == {}
    gone = _all(stores, "overdue")[0]
    assert gone.state == "resolved" and gone.resolved_by == "system"
    assert set(_open(stores, "closed_late")) == {"T1"}
    # closed_late only looks back 24 h: it clears by itself afterwards.
    _eval(stores, due + timedelta(days=4, minutes=2), ["closed_late"])
    assert _open(stores, "closed_late") == {}


def test_watch002_repeat_complaint_by_normalised_address_and_by_caller(stores):
    s = Stream(prefix="w2-")
    raws = [
        _created(s, "A1", 0, address="城关区 庆阳路 100号", caller="13800000001"),
        _created(s, "A2", 5 * DAY, address="城关区庆阳路100号", caller="13800000002"),
        _created(s, "B1", 0, address="七里河区西津路1号", category=["交通运输", "公交"]),
        _created(s, "B2", DAY, address="七里河区西津路1号", category=["交通运输", "公交"]),
        _created(s, "C1", 0, caller="186****2832", address="x1"),
        _created(s, "C2", DAY, caller="186****2832", address="x2"),
        _created(s, "C3", 2 * DAY, caller="186****2832", address="x3"),
        _created(s, "D1", 0, caller="13900000009", address="y1"),
        _created(s, "D2", 2 * DAY, caller="13900000009", address="y2"),
        _created(s, "D3", 3 * DAY, caller="13900000009", address="y3", category=["环境保护", "噪音"]),
    ]
    ingest_batch(stores, raws, source="test")
    _eval(stores, BASE + timedelta(days=6), ["repeat_complaint"])
    keys = set(_open(stores, "repeat_complaint"))
    assert keys == {"caller:620100:13900000009"}  # two at one address; masked callers are no identity
    # A third ticket at the same address (other spelling) and category within 30 days fires.
    ingest_batch(stores, [_created(s, "A3", 7 * DAY, address="城关区，庆阳路100号")], source="test")
    _eval(stores, BASE + timedelta(days=7, minutes=1), ["repeat_complaint"])
    found = _open(stores, "repeat_complaint")
    addr = [a for k, a in found.items() if k.startswith("addr:")]
    assert len(addr) == 1 and addr[0].detail["ticket_ids"] == ["A1", "A2", "A3"]
    assert addr[0].detail["count"] == 3
    # 31 days after the first ticket it has left the window: the alert resolves by itself.
    _eval(stores, BASE + timedelta(days=31, minutes=1), ["repeat_complaint"])
    assert not [k for k in _open(stores, "repeat_complaint") if k.startswith("addr:")]


def test_watch003_long_transfer_chain_fires_on_third_handoff(stores):
    s = Stream(prefix="w3-")
    raws = [_created(s, "T1", 0), s.event("ticket.dispatched", 60, ticket_id="T1", unit="U1"),
            s.event("ticket.returned", 600, ticket_id="T1", unit="U1"),
            s.event("ticket.dispatched", 700, ticket_id="T1", unit="U2"),
            s.event("ticket.transferred", 1200, ticket_id="T1", from_unit="U2", to_unit="U3")]
    ingest_batch(stores, raws, source="test")
    _eval(stores, BASE + timedelta(seconds=1300), ["transfer_chain"])
    assert _open(stores, "transfer_chain") == {}
    ingest_batch(stores, [s.event("ticket.returned", 1800, ticket_id="T1", unit="U3")], source="test")
    _eval(stores, BASE + timedelta(seconds=1860), ["transfer_chain"])
    alert = _open(stores, "transfer_chain")["T1"]
    assert alert.detail["handoffs"] == 3 and alert.detail["returns"] == 2
    ingest_batch(stores, [s.event("ticket.dispatched", 2000, ticket_id="T1", unit="U4"),
                          s.event("ticket.responded", 2400, ticket_id="T1", unit="U4"),
                          s.event("ticket.closed", 9000, ticket_id="T1", unit="U4")], source="test")
    _eval(stores, BASE + timedelta(seconds=9100), ["transfer_chain"])
    assert _open(stores, "transfer_chain") == {}


def test_watch004_dissatisfied_callback_tracks_the_rework_loop(stores):
    s = Stream(prefix="w4-")
    ingest_batch(stores, s.ticket("T1", 0, close=True, satisfaction="dissatisfied"), source="test")
    _eval(stores, BASE + timedelta(days=2, minutes=1), ["dissatisfied"])
    alert = _open(stores, "dissatisfied")["T1"]
    assert alert.detail["stage"] == "awaiting_rework"
    ingest_batch(stores, [s.event("ticket.reopened", 3 * DAY, ticket_id="T1", reason="回访不满意")], source="test")
    _eval(stores, BASE + timedelta(days=3, minutes=1), ["dissatisfied"])
    assert _open(stores, "dissatisfied")["T1"].detail["stage"] == "in_rework"
    ingest_batch(stores, [s.event("ticket.closed", 4 * DAY, ticket_id="T1", unit="U1")], source="test")
    _eval(stores, BASE + timedelta(days=4, minutes=1), ["dissatisfied"])
    assert _open(stores, "dissatisfied")["T1"].detail["stage"] == "reworked_awaiting_callback"
    ingest_batch(stores, [s.event("ticket.callback", 5 * DAY, ticket_id="T1", resolved="yes",
                                  satisfaction="satisfied")], source="test")
    _eval(stores, BASE + timedelta(days=5, minutes=1), ["dissatisfied"])
    assert _open(stores, "dissatisfied") == {}
    with stores.session() as session:
        history = [e["action"] for e in alerts.events_of(session, alert.id)]
    assert history == ["opened", "fired", "updated", "updated", "resolved"]


def test_watch005_no_callback_misuse_flags_the_outlier_unit_only(stores):
    s = Stream(prefix="w5-")
    raws = []
    shares = {"U1": 0.1, "U2": 0.1, "U3": 0.13, "U4": 0.07, "U5": 0.6}
    for unit, share in shares.items():
        for i in range(30):
            tid = f"{unit}-{i}"
            raws += [_created(s, tid, i * 600), s.event("ticket.dispatched", i * 600 + 60, ticket_id=tid, unit=unit),
                     s.event("ticket.closed", i * 600 + 3600, ticket_id=tid, unit=unit,
                             no_callback=i < round(30 * share))]
    ingest_batch(stores, raws, source="test")
    _eval(stores, BASE + timedelta(days=1), ["no_callback_misuse"])
    found = _open(stores, "no_callback_misuse")
    assert set(found) == {"unit:620100:U5"}
    assert found["unit:620100:U5"].detail["share"] == pytest.approx(0.6)


def test_watch006_urgent_content_suggests_a_handoff(stores):
    s = Stream(prefix="w6-")
    ingest_batch(stores, [_created(s, "T1", 0, text="楼道里闻到煤气泄漏的味道，很危险"),
                          _created(s, "T2", 0, text="邻居家暴，有人持刀"),
                          _created(s, "T3", 0, text="路灯不亮")], source="test")
    _eval(stores, BASE + timedelta(minutes=1), ["urgent_content"])
    found = _open(stores, "urgent_content")
    assert set(found) == {"T1", "T2"}
    assert found["T1"].detail["handoff"] == ["119"] and found["T1"].severity == "critical"
    assert found["T2"].detail["handoff"] == ["110"] and set(found["T2"].detail["words"]) == {"家暴", "持刀"}


def _calls(s: Stream, start: float, n: int, answered: int, prefix: str) -> list[dict]:
    out = []
    for i in range(n):
        t = start + i * (800 / n)
        if i < answered:
            out += s.answered_call(f"{prefix}{i}", t, 10, 60)
        else:
            out += s.abandoned_call(f"{prefix}{i}", t, 60)
    return out


def test_watch007_connection_drop_needs_two_bad_intervals(stores):
    s = Stream(prefix="w7-")
    # 10:00-10:15 local fine (29/30), 10:15-10:30 bad (20/30), 10:30-10:45 bad (21/30).
    ingest_batch(stores, _calls(s, 0, 30, 29, "a") + _calls(s, 900, 30, 20, "b") + _calls(s, 1800, 30, 21, "c"),
                 source="test")
    _eval(stores, BASE + timedelta(minutes=31), ["connection_drop"])
    assert _open(stores, "connection_drop") == {}  # intervals 10:00 (good) and 10:15 (bad)
    _eval(stores, BASE + timedelta(minutes=46), ["connection_drop"])
    alert = _open(stores, "connection_drop")["620100"]
    assert alert.fired_at == (BASE + timedelta(minutes=46)).replace(tzinfo=None)
    assert alert.severity == "critical"


def test_watch008_queue_surge_fires_after_its_hold_time(stores):
    now = datetime.now(UTC).replace(microsecond=0)
    s = Stream(base=now - timedelta(minutes=5), prefix="w8-")
    ingest_batch(stores, [s.event("call.offered", i, call_id=f"q{i}") for i in range(35)], source="test")
    _eval(stores, now, ["queue_surge"])
    alert = _open(stores, "queue_surge")["620100"]
    assert alert.state == "pending" and alert.fired_at is None
    _eval(stores, now + timedelta(seconds=61), ["queue_surge"])
    assert _open(stores, "queue_surge")["620100"].state == "firing"
    with stores.session() as session:
        assert alerts.open_alerts(session, scope="620100", limit=5)[0]["rule"] == "queue_surge"


def test_watch009_per_scope_thresholds_override_defaults(stores):
    s = Stream(prefix="w9-")
    raws = [_created(s, f"T{i}", i * DAY, address="城关区庆阳路100号") for i in range(3)]
    raws += [_created(s, f"L{i}", i * DAY, address="兰州新区某路1号", district="620105") for i in range(3)]
    ingest_batch(stores, raws, source="test")
    stores.settings = stores.settings.with_(watchpoints={**PER_ITEM, "scopes": {"620105": {"repeat_complaint": {
        "k": 4}}, "620102": {"repeat_complaint": {"severity": "critical"}}}})
    _eval(stores, BASE + timedelta(days=3), ["repeat_complaint"])
    found = list(_open(stores, "repeat_complaint").values())
    assert [a.district for a in found] == ["620102"] and found[0].severity == "critical"
    with pytest.raises(ValueError):
        watchpoints.WatchConfig(stores.settings.with_(watchpoints={"rules": {"nope": {}}}))


def test_watch010_robust_z_and_address_normalisation():
    z, med, scale = watchpoints.robust_z(20, [3, 4, 2, 5])
    ys = [2 * (b + 0.375) ** 0.5 for b in (2, 3, 4, 5)]
    assert med == 3.5 and scale == 1.0  # MAD of the transformed baseline is below the Poisson floor
    assert z == pytest.approx(2 * (20.375 ** 0.5) - (ys[1] + ys[2]) / 2)
    assert watchpoints.robust_z(12, [4, 4, 4, 4])[0] < 4 <= watchpoints.robust_z(17, [4, 4, 4, 4])[0]
    assert watchpoints.normalize_address("城关区 庆阳路，100号") == watchpoints.normalize_address("城关区庆阳路100号")


def test_watch011_incremental_repeat_pass_matches_the_full_pass(stores):
    """Between hourly full passes PostgreSQL only re-checks recent places/callers and open alerts."""
    s = Stream(prefix="w11-")
    raws = [_created(s, f"P{i}", i * 3600, address="城关区庆阳路100号") for i in range(2)]
    raws += [_created(s, f"Q{i}", i * 3600, caller="13911112222", address=f"q{i}") for i in range(3)]
    ingest_batch(stores, raws, source="test")
    at = BASE + timedelta(days=2)
    _eval(stores, at, ["repeat_complaint"])  # a full pass: the caller group
    assert set(_open(stores, "repeat_complaint")) == {"caller:620100:13911112222"}
    # A third ticket at the place, 30 minutes later: found by the incremental pass on PostgreSQL.
    ingest_batch(stores, [_created(s, "P9", 2 * DAY + 1200, address="城关区 庆阳路 100号")], source="test")
    _eval(stores, at + timedelta(minutes=30), ["repeat_complaint"])
    found = _open(stores, "repeat_complaint")
    place = [a for k, a in found.items() if k.startswith("addr:")]
    assert len(place) == 1 and place[0].detail["ticket_ids"] == ["P0", "P1", "P9"]
    if stores.dialect == "postgresql":  # it was the incremental pass: the last full pass is still at ``at``
        with stores.session() as session:
            assert session.get(JobRun, watchpoints.REPEAT_FULL_JOB).last_done == at.replace(tzinfo=None)
    assert place[0].detail["norm"] == "城关区庆阳路100号"
    # A full pass just before the first tickets leave the 30-day window: both alerts hold...
    _eval(stores, BASE + timedelta(days=30, minutes=-10), ["repeat_complaint"])
    assert len(_open(stores, "repeat_complaint")) == 2
    # ...20 minutes later (an incremental pass on PostgreSQL) P0 and Q0 have left the window and
    # both groups, re-checked because their alerts are open, clear.
    _eval(stores, BASE + timedelta(days=30, minutes=20), ["repeat_complaint"])
    assert set(_open(stores, "repeat_complaint")) == set()
    # Same data, evaluated again within the hour: nothing changes.
    with stores.session() as session:
        before = [(a.id, a.state, a.fingerprint) for a in session.scalars(select(Alert).order_by(Alert.id))]
    _eval(stores, BASE + timedelta(days=30, minutes=21), ["repeat_complaint"])
    with stores.session() as session:
        assert [(a.id, a.state, a.fingerprint) for a in session.scalars(select(Alert).order_by(Alert.id))] == before


def test_watch012_volume_rules_stay_silent_without_baseline_rollups(stores):
    s = Stream(prefix="w12-")
    ingest_batch(stores, [_created(s, f"T{i}", i * 60) for i in range(30)], source="test")
    report = _eval(stores, BASE + timedelta(minutes=40), ["volume_anomaly", "volume_anomaly_city"])
    assert report["volume_anomaly"]["findings"] == 0  # 30 tickets in 40 minutes, but no history to compare


def test_watch013_sub_category_level_finds_a_surge_hidden_in_a_busy_top_category(stores):
    from cockpit.metrics import rollups

    s = Stream(prefix="w13-")
    raws, n = [], 0
    for week in range(5):  # the same hour of five weeks: 20 other 城乡建设 tickets, 1 heating ticket
        base = week * 7 * DAY
        for i in range(20):
            n += 1
            raws.append(_created(s, f"B{n}", base + i * 170, category=["城乡建设", "道路维修"]))
        n += 1
        raws.append(_created(s, f"B{n}", base + 1700, category=["城乡建设", "冬季采暖"]))
    for i in range(12):  # week five: a heating surge, 12 more tickets in the hour
        raws.append(_created(s, f"H{i}", 4 * 7 * DAY + 100 + i * 250, category=["城乡建设", "冬季采暖"]))
    ingest_batch(stores, raws, source="test")
    with stores.session() as session:
        rollups.rollup_range(session, BASE - timedelta(days=1), BASE + timedelta(days=30),
                             now=BASE + timedelta(days=40))
    at = BASE + timedelta(days=28, hours=1)
    default_settings = stores.settings
    stores.settings = default_settings.with_(watchpoints={"rules": {"volume_anomaly": {
        "category_level": "top"}}})
    _eval(stores, at, ["volume_anomaly"])
    assert _open(stores, "volume_anomaly") == {}  # 33 vs 21 in the top category: not anomalous
    stores.settings = default_settings  # the default: the sub-category level, baseline from the rollups
    _eval(stores, at, ["volume_anomaly"])
    assert set(_open(stores, "volume_anomaly")) == {"620100:620102:城乡建设:冬季采暖"}
