"""Silences over HTTP and from /supervise: scope (a Lanzhou supervisor can neither set nor see nor end
a Tianshui silence), the owner is the logged-in user (never a typed name), bad input names the field,
expiry, and a silenced group neither notifies nor shows as open while the silence lasts.
Real app, real SQLite/PostgreSQL, real Redis; the login is the real /login form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import create_app
from cockpit.auth import audit
from cockpit.auth.principal import Principal
from cockpit.store.models import Alert
from cockpit.timeutil import utcnow
from cockpit.views import silences
from cockpit.watch import alerts
from cockpit.watch.alerts import Finding
from tests.login import client_for, csrf_of

LANZHOU, TIANSHUI = "620100", "620500"


def _group(city: str, district: str, size: int = 3) -> Finding:
    return Finding(rule="overdue", key=f"{city}:{district}", city=city, district=district, severity="minor",
                   title=f"{district} · 超期未办结 · {size} 件", size=size, repeat_s=3600,
                   items=[f"{district}-{i}" for i in range(size)])


@pytest.fixture
def app(stores):
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
    return create_app(stores.settings, stores=stores)


def _in_future(hours: float = 2) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _post(client, body: dict, *, csrf: bool = True):
    return client.post("/api/v1/silences", json=body, headers={"X-CSRFToken": csrf_of(client)} if csrf else {})


def test_sil001_scope_a_lanzhou_supervisor_cannot_silence_list_or_end_tianshui(app, stores):
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    tianshui = client_for(app, role="supervisor", scope=TIANSHUI)
    # Another city, named or through one of its districts: refused (403), audited as denied.
    refused = _post(lanzhou, {"city": TIANSHUI, "comment": "检修", "ends_at": _in_future()})
    assert refused.status_code == 403
    assert _post(lanzhou, {"district": "620502", "comment": "检修", "ends_at": _in_future()}).status_code == 403
    with stores.session() as session:
        assert [e.outcome for e in audit.listing(session, action="silence_create")] == ["denied", "denied"]
    # Tianshui silences its own district; a silence without a place is pinned to the caller's city.
    own = _post(tianshui, {"district": "620502", "rule": "overdue", "comment": "供热检修", "ends_at": _in_future()})
    assert own.status_code == 201, own.get_json()
    pinned = _post(tianshui, {"rule": "dissatisfied", "comment": "回访系统升级", "ends_at": _in_future()})
    assert pinned.status_code == 201 and pinned.get_json()["city"] == TIANSHUI
    assert own.get_json()["city"] == TIANSHUI and own.get_json()["district"] == "620502"
    mine = _post(lanzhou, {"rule": "overdue", "comment": "系统切换", "ends_at": _in_future()}).get_json()
    # Each lists only its own city's silences.
    assert {s["id"] for s in lanzhou.get("/api/v1/silences").get_json()["silences"]} == {mine["id"]}
    assert {s["id"] for s in tianshui.get("/api/v1/silences").get_json()["silences"]} == {
        own.get_json()["id"], pinned.get_json()["id"]}
    # Ending another city's silence: not found (its id is not confirmed), and it stays.
    gone = lanzhou.delete(f"/api/v1/silences/{own.get_json()['id']}", headers={"X-CSRFToken": csrf_of(lanzhou)})
    assert gone.status_code == 404
    assert len(tianshui.get("/api/v1/silences").get_json()["silences"]) == 2
    # A province supervisor sees both cities'; a leader may list nothing of it and set nothing.
    province = client_for(app, role="supervisor", scope="620000")
    assert len(province.get("/api/v1/silences").get_json()["silences"]) == 3
    leader = client_for(app, role="leader", scope=LANZHOU)
    assert leader.get("/api/v1/silences").status_code == 403
    assert _post(leader, {"rule": "overdue", "comment": "x", "ends_at": _in_future()}).status_code == 403


def test_sil002_the_owner_is_the_logged_in_user_and_sessions_need_csrf(app, stores):
    server = app.server
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    assert _post(lanzhou, {"rule": "overdue", "comment": "x", "ends_at": _in_future()}, csrf=False).status_code == 403
    made = _post(lanzhou, {"rule": "overdue", "city": LANZHOU, "comment": "切换", "ends_at": _in_future(),
                           "by": "Mayor (forged)"})
    assert made.status_code == 201
    owner = made.get_json()["by"]
    assert owner.startswith("supervisor") and owner != "Mayor (forged)"
    # A token acts under the token's name.
    from cockpit.store import tokens

    with stores.session() as session:
        token = tokens.create(session, "ops-bot", [LANZHOU])
    bot = server.test_client()
    by_token = bot.post("/api/v1/silences", json={"rule": "queue_surge", "comment": "话务平台维护",
                                                  "ends_at": _in_future(1)},
                        headers={"Authorization": f"Bearer {token}"})
    assert by_token.status_code == 201 and by_token.get_json()["by"] == "ops-bot"
    with stores.session() as session:
        created = audit.listing(session, action="silence_create")
    assert {(e.actor, e.outcome) for e in created} == {(owner, "ok"), ("ops-bot", "ok")}


@pytest.mark.parametrize("body, field", [
    ({"comment": "x", "ends_at": "soon"}, "ends_at"),
    ({"comment": "x"}, "ends_at"),
    ({"comment": "x", "ends_at": "2020-01-01T00:00:00+08:00"}, "ends_at"),
    ({"comment": "x", "ends_at": "2999-01-01T00:00:00+08:00"}, "ends_at"),
    ({"comment": "x", "ends_at": 5}, "ends_at"),
    ({"comment": "", "ends_at": "+2h"}, "comment"),
    ({"comment": ["x"], "ends_at": "+2h"}, "comment"),
    ({"comment": "x" * 501, "ends_at": "+2h"}, "comment"),
    ({"comment": "a\x00b", "ends_at": "+2h"}, "comment"),
    ({"city": "6201\x00", "comment": "x", "ends_at": "+2h"}, "city"),
    ({"rule": "no_such_rule", "comment": "x", "ends_at": "+2h"}, "rule"),
    ({"category": "x" * 65, "comment": "x", "ends_at": "+2h"}, "category"),
    ({"category": 7, "comment": "x", "ends_at": "+2h"}, "category"),
    ({"city": "999999", "comment": "x", "ends_at": "+2h"}, "city"),
    ({"city": {"a": 1}, "comment": "x", "ends_at": "+2h"}, "city"),
    ({"district": "620502", "city": "620100", "comment": "x", "ends_at": "+2h"}, "district"),
    ([1, 2], "body"),
])
def test_sil003_bad_input_is_a_400_naming_the_field(app, body, field):
    admin = client_for(app, role="admin", scope="620000")
    if isinstance(body, dict) and body.get("ends_at") == "+2h":
        body = {**body, "ends_at": _in_future()}
    answer = _post(admin, body)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["field"] == field
    assert admin.get("/api/v1/silences?state=later").get_json()["field"] == "state"
    assert admin.delete("/api/v1/silences/999999", headers={"X-CSRFToken": csrf_of(admin)}).status_code == 404


def test_sil004_a_silenced_group_neither_notifies_nor_shows_as_open_until_the_silence_ends(app, stores):
    now = utcnow().replace(microsecond=0)
    lz, ts = _group(LANZHOU, "620102"), _group(TIANSHUI, "620502")
    with stores.session() as session:
        alerts.reconcile(session, "overdue", [ts], now=now)
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    sil = _post(lanzhou, {"rule": "overdue", "district": "620102", "comment": "系统切换，已知",
                          "ends_at": (now + timedelta(hours=3)).replace(tzinfo=UTC).isoformat()}).get_json()
    # The group opens while silenced: suppressed at once, never notified, not on the wall or in the inbox.
    with stores.session() as session:
        alerts.reconcile(session, "overdue", [lz, ts], now=now + timedelta(minutes=1))
        alerts.apply_suppression(session, now=now + timedelta(minutes=1))
        group = session.scalar(select(Alert).where(Alert.key == lz.key))
        assert group.suppressed_by == f"silence:{sil['id']}" and group.notified_at is None
        assert alerts.count_open(session, scope=LANZHOU) == {}
        assert alerts.open_alerts(session, scope=LANZHOU) == []
        box = alerts.inbox(session, scope=LANZHOU)
        assert box["total"] == 0 and box["suppressed"] == 1
        # It grows worse and the repeat interval passes: still no notification while silenced.
        worse = _group(LANZHOU, "620102", size=60)
        alerts.reconcile(session, "overdue", [worse, ts], now=now + timedelta(hours=2))
        alerts.apply_suppression(session, now=now + timedelta(hours=2))
        history = [e["action"] for e in alerts.events_of(session, group.id)]
        assert "renotified" not in history and history[:3] == ["opened", "fired", "suppressed"]
        ts_history = [e["action"] for e in alerts.events_of(session, session.scalar(
            select(Alert.id).where(Alert.key == ts.key)))]
        assert "renotified" in ts_history  # the unsilenced Tianshui group is reminded as usual
    # The silence expires by itself: the group is shown again and notified at the next evaluation.
    with stores.session() as session:
        later = now + timedelta(hours=3, minutes=1)
        alerts.reconcile(session, "overdue", [worse, ts], now=later)
        alerts.apply_suppression(session, now=later)
        alerts.reconcile(session, "overdue", [worse, ts], now=later + timedelta(minutes=1))
        group = session.scalar(select(Alert).where(Alert.key == lz.key))
        assert group.suppressed_by is None and group.notified_at == later + timedelta(minutes=1)
        assert sum(alerts.count_open(session, scope=LANZHOU).values()) == 1
        assert [e["action"] for e in alerts.events_of(session, group.id)][-2:] == ["unsuppressed", "renotified"]
    wang = Principal(kind="user", name="wang", role="supervisor", scopes=(LANZHOU,))
    assert [s["id"] for s in silences.listing(stores, wang, now=later - timedelta(minutes=2))] == [sil["id"]]
    assert silences.listing(stores, wang, now=later) == []  # expired: no longer listed as active
    assert [s["id"] for s in silences.listing(stores, wang, now=later, active_only=False)] == [sil["id"]]


def test_sil005_ending_a_silence_shows_its_alerts_at_once_under_the_users_name(app, stores):
    now = utcnow().replace(microsecond=0)
    lz = _group(LANZHOU, "620102")
    with stores.session() as session:
        alerts.reconcile(session, "overdue", [lz], now=now)
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    sil = _post(lanzhou, {"rule": "overdue", "comment": "切换", "ends_at": _in_future()}).get_json()
    assert sil["city"] == LANZHOU
    with stores.session() as session:
        assert alerts.count_open(session, scope=LANZHOU) == {}
    ended = lanzhou.delete(f"/api/v1/silences/{sil['id']}", headers={"X-CSRFToken": csrf_of(lanzhou)})
    assert ended.status_code == 200
    assert datetime.fromisoformat(ended.get_json()["ends_at"]) <= datetime.now(UTC)
    assert lanzhou.get("/api/v1/silences").get_json()["silences"] == []
    with stores.session() as session:
        group = session.scalar(select(Alert).where(Alert.key == lz.key))
        assert group.suppressed_by is None and sum(alerts.count_open(session, scope=LANZHOU).values()) == 1
        last = alerts.events_of(session, group.id)[-1]
        assert (last["action"], last["actor"]) == ("unsuppressed", sil["by"])
        assert [(e.action, e.outcome) for e in audit.listing(session, action="silence_expire")] == [
            ("silence_expire", "ok")]


def test_sil006_supervise_action_silences_the_selected_group_for_its_rule_and_area(app, stores):
    now = utcnow().replace(microsecond=0)
    with stores.session() as session:
        alerts.reconcile(session, "overdue", [_group(LANZHOU, "620102"), _group(TIANSHUI, "620502")], now=now)
        lz_id = session.scalar(select(Alert.id).where(Alert.city == LANZHOU))
        ts_id = session.scalar(select(Alert.id).where(Alert.city == TIANSHUI))
    wang = Principal(kind="user", name="wang", role="supervisor", scopes=(LANZHOU,))
    out = silences.silence_alert(stores, wang, lz_id, hours=4, comment="已通知承办单位", now=now)
    assert (out["rule"], out["city"], out["district"], out["by"]) == ("overdue", LANZHOU, "620102", "wang")
    assert out["category"] is None  # a group of work items has no one category
    assert datetime.fromisoformat(out["ends_at"]) == (now + timedelta(hours=4)).replace(tzinfo=UTC)
    with pytest.raises(Exception) as refused:
        silences.silence_alert(stores, wang, ts_id, hours=4, comment="x", now=now)
    assert "no alert" in str(refused.value)
    with stores.session() as session:
        assert session.get(Alert, lz_id).suppressed_by == f"silence:{out['id']}"
        assert session.get(Alert, ts_id).suppressed_by is None


def test_sil007_the_openapi_document_describes_the_silence_api(app):
    admin = client_for(app, role="admin", scope="620000")
    paths = admin.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/silences"]) == {"get", "post"}
    assert "delete" in paths["/api/v1/silences/{silence_id}"]
    body = paths["/api/v1/silences"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"comment", "ends_at"} and "by" not in body["properties"]


def _inbox_action(client, app, action: str, states: dict):
    """POST the /supervise action callback as the browser would (button ``action`` clicked)."""
    key = next(k for k in app.callback_map if "sup-act-msg.children" in k)
    spec = app.callback_map[key]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]}
               for p in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs,
            "inputs": [[{"id": {"type": "sup-action", "action": action}, "property": "n_clicks", "value": 1}]],
            "state": [{"id": s["id"], "property": s["property"], "value": states.get(s["id"])} for s in spec["state"]],
            "changedPropIds": ['{"action":"%s","type":"sup-action"}.n_clicks' % action]}
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(client)})


def test_sil008_the_inbox_silence_button_silences_the_selected_group_as_the_user(app, stores):
    from layouts.supervise import action_bar

    assert "静默" in str(action_bar("zh")) and "Silence" in str(action_bar("en"))
    now = utcnow().replace(microsecond=0)
    with stores.session() as session:
        alerts.reconcile(session, "overdue", [_group(LANZHOU, "620102"), _group(TIANSHUI, "620502")], now=now)
        lz_id = session.scalar(select(Alert.id).where(Alert.city == LANZHOU))
        ts_id = session.scalar(select(Alert.id).where(Alert.city == TIANSHUI))
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    states = {"sup-query": {"alert": str(lz_id)}, "sup-act-note": "", "sup-act-hours": 8, "app-lang": "en"}
    no_note = _inbox_action(lanzhou, app, "silence", states)
    assert no_note.status_code == 200 and "needs a note" in no_note.get_data(as_text=True)
    other = _inbox_action(lanzhou, app, "silence", {**states, "sup-query": {"alert": str(ts_id)}, "sup-act-note": "x"})
    assert other.status_code == 200 and "Silenced" not in other.get_data(as_text=True)
    done = _inbox_action(lanzhou, app, "silence", {**states, "sup-act-note": "已通知承办单位"})
    assert done.status_code == 200 and "Silenced until" in done.get_data(as_text=True)
    with stores.session() as session:
        assert session.get(Alert, ts_id).suppressed_by is None
        silenced = session.get(Alert, lz_id).suppressed_by
    listed = lanzhou.get("/api/v1/silences").get_json()["silences"]
    assert len(listed) == 1 and silenced == f"silence:{listed[0]['id']}"
    assert listed[0]["by"].startswith("supervisor") and listed[0]["comment"] == "已通知承办单位"
    ends = datetime.fromisoformat(listed[0]["ends_at"])
    assert timedelta(hours=7, minutes=58) < ends - datetime.now(UTC) <= timedelta(hours=8)


def _surge(category: str, district: str = "620102") -> Finding:
    return Finding(rule="volume_anomaly", key=f"{LANZHOU}:{district}:{category}", city=LANZHOU, district=district,
                   severity="major", title=f"{category}激增", detail={"category": category, "count": 30})


def test_sil009_a_category_matcher_silences_that_category_only(app, stores):
    now = utcnow().replace(microsecond=0)
    with stores.session() as session:
        alerts.reconcile(session, "volume_anomaly", [_surge("城乡建设"), _surge("交通运输")], now=now)
        alerts.reconcile(session, "overdue", [_group(LANZHOU, "620102")], now=now)
    lanzhou = client_for(app, role="supervisor", scope=LANZHOU)
    made = _post(lanzhou, {"district": "620102", "category": "城乡建设", "comment": "供热季开始，已知",
                           "ends_at": _in_future()})
    assert made.status_code == 201 and made.get_json()["category"] == "城乡建设"

    def suppressed() -> set[str]:
        return set(session.scalars(select(Alert.key).where(Alert.suppressed_by.is_not(None))))

    with stores.session() as session:
        assert suppressed() == {f"{LANZHOU}:620102:城乡建设"}
        # The next evaluation keeps it so, and a new surge of that category elsewhere in the district
        # opens silenced; another category and the category-less group stay shown.
        later = utcnow() + timedelta(minutes=1)
        alerts.reconcile(session, "volume_anomaly",
                         [_surge("城乡建设"), _surge("交通运输"), _surge("城乡建设", "620103")], now=later)
        alerts.apply_suppression(session, now=later)
        assert suppressed() == {f"{LANZHOU}:620102:城乡建设"}
        alerts.reconcile(session, "volume_anomaly", [_surge("城乡建设"), _surge("城乡建设", "620103")],
                         now=later + timedelta(minutes=1))
        assert f"{LANZHOU}:620103:城乡建设" not in suppressed()  # the silence names district 620102 only
    province = client_for(app, role="admin", scope="620000")
    wide = _post(province, {"category": "城乡建设", "comment": "全省供热检修", "ends_at": _in_future()})
    assert wide.status_code == 201 and (wide.get_json()["city"], wide.get_json()["district"]) == (None, None)
    with stores.session() as session:
        assert suppressed() == {f"{LANZHOU}:620102:城乡建设", f"{LANZHOU}:620103:城乡建设"}
    assert {s["category"] for s in province.get("/api/v1/silences").get_json()["silences"]} == {"城乡建设"}
    assert len(province.get("/api/v1/silences").get_json()["silences"]) == 2
