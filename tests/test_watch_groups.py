"""Grouped work items, inhibition, silences, repeat interval, pausing for history, and the
supervise grid following a grouped alert or a rule (issue 13). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cockpit.ingest import ingest_batch
from cockpit.store.models import Alert, AlertItem
from cockpit.views import drill, export
from cockpit.watch import alerts, pause
from cockpit.watch import evaluate as watchpoints
from cockpit.watch.alerts import AlertError, Finding
from tests.factories import Stream

BASE = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
DAY = 86400


def _eval(stores, at: datetime, rules: list[str]) -> dict:
    with stores.session() as session:
        return watchpoints.evaluate(session, stores.settings, redis=stores.redis, now=at, rules=rules)


def _open(stores, rule: str | None = None) -> dict[str, Alert]:
    with stores.session() as session:
        conds = [Alert.open_key.is_not(None)] + ([Alert.rule == rule] if rule else [])
        return {a.key: a for a in session.scalars(select(Alert).where(*conds))}


def _created(s: Stream, tid: str, t: float, district: str = "620102", **fields) -> dict:
    base = {"ticket_id": tid, "district": district, "category": ["城乡建设", "供热"], "text": "暖气不热",
            "due_at": s.at(t + 5 * DAY)}
    base.update(fields)
    return s.event("ticket.created", t, **base)


def _items(stores, alert_id: int) -> list[str]:
    with stores.session() as session:
        return sorted(session.scalars(select(AlertItem.ticket_id).where(AlertItem.alert_id == alert_id)))


def test_group001_overdue_items_fold_into_one_alert_per_district_with_size_age_and_tickets(stores):
    s = Stream(prefix="g1-")
    raws = [_created(s, f"A{i}", i * 3600) for i in range(12)]  # 12 in 城关区
    raws += [_created(s, "B0", 0, district="620103")]  # 1 in 七里河区
    raws += [_created(s, "U0", 0, text="楼道里煤气泄漏了")]  # life safety: its own alert
    ingest_batch(stores, raws, source="test")
    due = BASE + timedelta(days=5)
    _eval(stores, due + timedelta(minutes=30), ["overdue", "urgent_content"])
    groups = _open(stores, "overdue")
    assert set(groups) == {"620100:620102", "620100:620103"}
    g = groups["620100:620102"]
    assert g.size == 1 + 1 and g.district == "620102"  # A0 and U0 are past due 30 minutes later, A1 not yet
    _eval(stores, due + timedelta(hours=11, minutes=30), ["overdue"])
    g = _open(stores, "overdue")["620100:620102"]
    assert g.size == 13 and g.oldest_at == due.replace(tzinfo=None)
    assert g.title.startswith("620102 · 超期未办结 · 13 件") or " · 超期未办结 · 13 件" in g.title
    assert g.severity == "major"  # 13 >= major size 10
    assert g.state == "firing"
    assert _items(stores, g.id) == sorted([f"A{i}" for i in range(12)] + ["U0"])
    # Age raises a group to major at most (one old ticket is not a critical backlog); the size of
    # the overdue backlog makes it critical: 50 overdue tickets in 西固区.
    ingest_batch(stores, [_created(s, f"C{i}", 0, district="620104") for i in range(50)], source="test")
    _eval(stores, due + timedelta(hours=72, minutes=1), ["overdue"])
    assert _open(stores, "overdue")["620100:620102"].severity == "major"
    assert _open(stores, "overdue")["620100:620104"].severity == "critical"
    with stores.session() as session:
        actions = [e["action"] for e in alerts.events_of(session, g.id)]
    assert actions[:2] == ["opened", "fired"] and "updated" in actions
    # Closing tickets shrinks the group and its ticket list; closing all resolves it.
    ingest_batch(stores, [s.event("ticket.closed", 9 * DAY, ticket_id=f"A{i}", unit="U1") for i in range(12)]
                 + [s.event("ticket.closed", 9 * DAY, ticket_id="U0", unit="U1")], source="test")
    _eval(stores, due + timedelta(days=4, minutes=1), ["overdue"])
    assert set(_open(stores, "overdue")) == {"620100:620103", "620100:620104"}


def test_group002_urgent_content_stays_individual_and_only_judges_the_present(stores):
    s = Stream(prefix="g2-")
    ingest_batch(stores, [_created(s, "OLD", 0, text="煤气泄漏"), _created(s, "N1", 5 * 3600, text="着火了"),
                          _created(s, "N2", 5 * 3600, text="有人轻生")], source="test")
    _eval(stores, BASE + timedelta(hours=5, minutes=5), ["urgent_content"])
    # One alert per ticket; the ticket from 5 hours earlier is not news any more.
    assert set(_open(stores, "urgent_content")) == {"N1", "N2"}
    assert all(a.severity == "critical" for a in _open(stores, "urgent_content").values())


def test_group003_grid_and_export_follow_the_selected_group_and_rule(stores):
    s = Stream(prefix="g3-")
    raws = [_created(s, f"O{i}", 0) for i in range(3)]  # overdue in 城关区
    raws += [_created(s, "F0", 0, due_at=s.at(30 * DAY))]  # not overdue, same district
    raws += [_created(s, f"Q{i}", 0, district="620103") for i in range(2)]
    ingest_batch(stores, raws, source="test")
    now = BASE + timedelta(days=6)
    _eval(stores, now, ["overdue"])
    g = _open(stores, "overdue")["620100:620102"]

    def grid(query):
        return sorted(r["ticket_id"] for r in drill.grid_rows(stores, query, {"startRow": 0, "endRow": 100})["rowData"])

    assert grid({"alert": str(g.id)}) == ["O0", "O1", "O2"]
    assert grid({"rule": "overdue"}) == ["O0", "O1", "O2", "Q0", "Q1"]
    assert grid({"rule": "overdue", "city": "620100", "district": "620103"}) == ["Q0", "Q1"]
    assert grid({"rule": "dissatisfied"}) == []
    exported = list(export.export_rows(stores, {"rule": "overdue", "district": "620102", "city": "620100"}))
    assert sorted(r[0] for r in exported[1:]) == ["O0", "O1", "O2"]
    by_alert = list(export.export_rows(stores, {"alert": str(g.id)}))
    assert sorted(r[0] for r in by_alert[1:]) == ["O0", "O1", "O2"]  # the export follows the selected group
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(export.export_xlsx(stores, {"alert": str(g.id)}))).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == ["O0", "O1", "O2"]
    view = drill.supervise_view(stores, {"alert": str(g.id)}, now=now)
    assert view["selected"]["size"] == 3


def test_group004_inhibition_hides_explained_district_alerts_and_silences_need_owner_and_expiry(stores):
    now = datetime(2026, 11, 28, 4, 0)
    district = Finding(rule="volume_anomaly", key="620100:620102:城乡建设:供热", city="620100", district="620102",
                       severity="major", title="城关区供热激增")
    other_city = Finding(rule="volume_anomaly", key="620200:620201:城乡建设:供热", city="620200", district="620201",
                         severity="major", title="嘉峪关供热激增")
    city = Finding(rule="volume_anomaly_city", key="620100", city="620100", district=None, severity="major",
                   title="兰州全市诉求激增")
    with stores.session() as session:
        alerts.reconcile(session, "volume_anomaly", [district, other_city], now=now)
        alerts.reconcile(session, "volume_anomaly_city", [city], now=now)
        alerts.apply_suppression(session, now=now, inhibit_rules=watchpoints.INHIBIT_RULES)
    by_key = _open(stores)
    assert by_key["620100:620102:城乡建设:供热"].suppressed_by == f"alert:{by_key['620100'].id}"
    assert by_key["620200:620201:城乡建设:供热"].suppressed_by is None
    assert by_key["620100"].suppressed_by is None
    with stores.session() as session:
        counts = alerts.count_open(session)
    assert sum(counts.values()) == 2  # the inhibited one is not counted
    # The city surge clears: the district alert is shown again.
    with stores.session() as session:
        alerts.reconcile(session, "volume_anomaly_city", [], now=now + timedelta(minutes=15))
        alerts.apply_suppression(session, now=now + timedelta(minutes=15), inhibit_rules=watchpoints.INHIBIT_RULES)
    assert _open(stores)["620100:620102:城乡建设:供热"].suppressed_by is None
    # Silences: owner, comment and an end are required; they hide matching alerts until they end.
    with stores.session() as session:
        for bad in ({"by": "", "comment": "x"}, {"by": "张三", "comment": ""}):
            try:
                alerts.silence(session, ends_at=now + timedelta(hours=2), city="620200", now=now, **bad)
                raise AssertionError("accepted a silence without owner or comment")
            except AlertError:
                pass
        sil = alerts.silence(session, by="张三", comment="嘉峪关供热检修，已知", city="620200",
                             ends_at=now + timedelta(hours=2), now=now)
    assert _open(stores)["620200:620201:城乡建设:供热"].suppressed_by == f"silence:{sil['id']}"
    with stores.session() as session:
        alerts.apply_suppression(session, now=now + timedelta(hours=3), inhibit_rules=watchpoints.INHIBIT_RULES)
    assert _open(stores)["620200:620201:城乡建设:供热"].suppressed_by is None  # expired


def test_group005_actions_record_the_actor_assign_bulk_ack_and_repeat_interval(stores):
    now = datetime(2026, 11, 28, 4, 0)
    fs = [Finding(rule="connection_drop", key=c, city=c, district=None, severity="critical", title="接通率下降",
                  repeat_s=3600) for c in ("620100", "620200", "620300")]
    with stores.session() as session:
        alerts.reconcile(session, "connection_drop", fs, now=now)
        ids = sorted(a.id for a in session.scalars(select(Alert)))
        alerts.assign(session, ids[0], by="李四", to="市话务中心", kind="unit", now=now)
        with_ack = alerts.acknowledge_many(session, ids[:2] + [999999], by="李四", now=now)
    assert with_ack == {"acknowledged": ids[:2], "skipped": [999999]}
    with stores.session() as session:
        alerts.reconcile(session, "connection_drop", fs, now=now + timedelta(minutes=61))
        history = alerts.events_of(session, ids[0])
        third = alerts.events_of(session, ids[2])
    assert [(e["action"], e["actor"]) for e in history] == [
        ("opened", "system"), ("fired", "system"), ("assigned", "李四"), ("acknowledged", "李四")]
    assert history[2]["detail"] == {"to": "市话务中心", "kind": "unit"}
    assert [e["action"] for e in third] == ["opened", "fired", "renotified"]  # still unacknowledged an hour on


def test_group006_loading_history_pauses_the_live_evaluation(stores):
    s = Stream(prefix="g6-")
    with pause.history_load(stores, "test"):
        ingest_batch(stores, [_created(s, "H1", 0)], source="test")
        report = watchpoints.evaluate_all(stores, now=BASE + timedelta(days=6))
        assert report == {}
        with stores.session() as session:
            assert pause.paused(session)
    with stores.session() as session:
        assert not pause.paused(session)
    assert watchpoints.evaluate_all(stores, now=BASE + timedelta(days=6), rules=["overdue"])["overdue"]["opened"] == 1


def test_group007_closed_late_is_off_by_default_and_bare_gas_words_are_not_an_emergency(stores):
    """A ticket closed late has nothing left to act on (it was in the overdue group until it
    closed): no alert by default. A gas bill is not a gas leak: only a leak or its smell is urgent."""
    s = Stream(prefix="g7-")
    raws = [_created(s, "L1", 0), s.event("ticket.closed", 6 * DAY, ticket_id="L1", unit="U1")]
    raws += [_created(s, "L2", 0), s.event("ticket.closed", 6 * DAY, ticket_id="L2", unit="U1")]
    raws += [_created(s, "L3", 0), s.event("ticket.closed", 6 * DAY, ticket_id="L3", unit="U1")]
    raws += [_created(s, "G1", 6 * DAY, text="城关区庆阳路100号燃气缴费后仍无法使用，燃气公司电话打不通。"),
             _created(s, "G2", 6 * DAY, text="城关区庆阳路100号楼道里有明显燃气味，担心泄漏，请尽快派人检查。"),
             _created(s, "E1", 6 * DAY, text="城关区庆阳路100号人行道井盖缺失，存在安全隐患。", urgency="emergency")]
    ingest_batch(stores, raws, source="test")
    report = watchpoints.evaluate_all(stores, now=BASE + timedelta(days=6, minutes=5))
    assert "closed_late" not in report
    assert _open(stores, "closed_late") == {}
    urgent = _open(stores, "urgent_content")
    assert set(urgent) == {"G2", "E1"} and urgent["G2"].detail["handoff"] == ["119"]
    assert urgent["G2"].detail["words"] == ["燃气味"]
    # Marked emergency at intake, no safety word: urgent, but no emergency line is guessed for it.
    assert urgent["E1"].detail["handoff"] == [] and "标记为紧急" in urgent["E1"].title


def test_group008_a_telephony_outage_suppresses_the_queue_and_surges_it_explains_in_its_city_only(stores):
    now = datetime(2026, 11, 28, 4, 0)

    def f(rule, key, city, district=None):
        return Finding(rule=rule, key=key, city=city, district=district, severity="major", title=key)

    with stores.session() as session:
        alerts.reconcile(session, "queue_surge", [f("queue_surge", "620100", "620100"),
                                                  f("queue_surge", "620200", "620200")], now=now)
        alerts.reconcile(session, "volume_anomaly", [f("volume_anomaly", "620100:620102:x:y", "620100", "620102")],
                         now=now)
        alerts.reconcile(session, "overdue", [f("overdue", "620100:620102", "620100", "620102")], now=now)
        alerts.reconcile(session, "connection_drop", [f("connection_drop", "620100", "620100")], now=now)
        alerts.apply_suppression(session, now=now, inhibit_rules=watchpoints.INHIBIT_RULES)
    by_key = {}
    with stores.session() as session:
        for a in session.scalars(select(Alert).where(Alert.open_key.is_not(None))):
            by_key[(a.rule, a.key)] = a
    source = f"alert:{by_key[('connection_drop', '620100')].id}"
    assert by_key[("queue_surge", "620100")].suppressed_by == source
    assert by_key[("volume_anomaly", "620100:620102:x:y")].suppressed_by == source
    assert by_key[("queue_surge", "620200")].suppressed_by is None  # another city's queue
    assert by_key[("overdue", "620100:620102")].suppressed_by is None  # work items are not explained by it
    assert by_key[("connection_drop", "620100")].suppressed_by is None
    with stores.session() as session:
        shown = alerts.inbox(session, scope="620100")
    assert shown["total"] == 2 and shown["suppressed"] == 2
    assert shown["area"] == "district" and shown["by_area"] == {"620102": 1, "": 1}  # a city's inbox: its districts


def test_group009_group_by_handling_unit_waits_group_wait_before_it_fires(stores):
    """``group_by: "unit"`` folds a unit's items across districts into one alert titled by the
    unit; ``group_wait_s`` keeps a new group pending (not notified) until the wait has passed."""
    s = Stream(prefix="g9-")
    raws = []
    for tid, district, unit in (("U1", "620102", "市水务局"), ("U2", "620103", "市水务局"), ("U3", "620103", "七里河区人民政府")):
        raws += [_created(s, tid, 0, district=district), s.event("ticket.dispatched", 60, ticket_id=tid, unit=unit)]
    ingest_batch(stores, raws, source="test")
    settings = stores.settings.with_(watchpoints={"rules": {"overdue": {"group_by": "unit", "group_wait_s": 600}}})
    due = BASE + timedelta(days=5)

    def run(at):
        with stores.session() as session:
            watchpoints.evaluate(session, settings, now=at, rules=["overdue"])

    run(due + timedelta(minutes=1))
    groups = {a.title: a for a in _open(stores, "overdue").values()}
    assert set(groups) == {"市水务局 · 超期未办结 · 2 件", "七里河区人民政府 · 超期未办结 · 1 件"}
    water = groups["市水务局 · 超期未办结 · 2 件"]
    assert water.district is None and water.detail["unit"] == "市水务局"
    assert _items(stores, water.id) == ["U1", "U2"]
    assert (water.state, water.notified_at) == ("pending", None)  # waiting for the group to settle
    with stores.session() as session:
        assert alerts.inbox(session, scope="620100")["total"] == 2  # the inbox lists it, pending
        assert alerts.open_alerts(session, scope="620100") == []  # the wall shows only what fired
    run(due + timedelta(minutes=12))
    water = next(a for a in _open(stores, "overdue").values() if a.detail["unit"] == "市水务局")
    assert water.state == "firing" and water.notified_at is not None


def test_group010_a_group_a_person_resolved_opens_again_when_a_new_ticket_joins_it(stores):
    s = Stream(prefix="g10-")
    ingest_batch(stores, [_created(s, f"R{i}", 0) for i in range(3)], source="test")
    due = BASE + timedelta(days=5)
    _eval(stores, due + timedelta(minutes=1), ["overdue"])
    (g,) = _open(stores, "overdue").values()
    with stores.session() as session:
        alerts.resolve(session, g.id, by="钱科长", note="已督促承办单位", now=due + timedelta(minutes=2))
    # Same tickets, or fewer: it stays resolved (the person's judgement holds).
    _eval(stores, due + timedelta(minutes=3), ["overdue"])
    assert _open(stores, "overdue") == {}
    ingest_batch(stores, [s.event("ticket.closed", 5 * DAY + 240, ticket_id="R0", unit="U1")], source="test")
    _eval(stores, due + timedelta(minutes=5), ["overdue"])
    assert _open(stores, "overdue") == {}
    # A ticket it did not hold becomes overdue: the district's group opens anew, with every ticket.
    ingest_batch(stores, [_created(s, "R9", 3600)], source="test")
    _eval(stores, due + timedelta(hours=1, minutes=1), ["overdue"])
    (again,) = _open(stores, "overdue").values()
    assert again.id != g.id and again.key == g.key and again.size == 3
    assert _items(stores, again.id) == ["R1", "R2", "R9"]
    with stores.session() as session:
        assert alerts.get(session, g.id).resolved_by == "钱科长"
