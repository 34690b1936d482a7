"""Alert lifecycle, one open alert per rule and key, the wall-screen read and the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cockpit.watch import alerts
from app import create_app
from cockpit.store import tokens
from cockpit.http import alerts as http_alerts
from cockpit.watch.alerts import AlertError, Finding
from cockpit.store.models import Alert, AlertEvent
from tests.login import client_for

NOW = datetime(2026, 11, 28, 3, 0)


def _finding(key: str = "T1", *, hold_s: float = 0, city: str = "620100", district: str | None = "620102",
             severity: str = "major", **detail) -> Finding:
    return Finding(rule="overdue", key=key, city=city, district=district, severity=severity,
                   title=f"工单{key}超期未办结", detail=detail, hold_s=hold_s)


def _rec(stores, findings, at):
    with stores.session() as session:
        return alerts.reconcile(session, "overdue", findings, now=at)


def _alert(stores, key="T1") -> Alert:
    with stores.session() as session:
        return session.scalars(select(Alert).where(Alert.key == key).order_by(Alert.id.desc())).first()


def test_alert001_pending_fires_after_hold_and_resolves_when_condition_clears(stores):
    counts = _rec(stores, [_finding(hold_s=120)], NOW)
    assert counts["opened"] == 1 and counts["fired"] == 0
    assert _alert(stores).state == "pending"
    _rec(stores, [_finding(hold_s=120)], NOW + timedelta(seconds=60))
    assert _alert(stores).state == "pending"
    counts = _rec(stores, [_finding(hold_s=120)], NOW + timedelta(seconds=120))
    assert counts["fired"] == 1 and _alert(stores).fired_at == NOW + timedelta(seconds=120)
    again = _rec(stores, [_finding(hold_s=120)], NOW + timedelta(seconds=180))
    assert again == {"findings": 1, "opened": 0, "fired": 0, "updated": 0, "resolved": 0}  # idempotent
    counts = _rec(stores, [], NOW + timedelta(seconds=240))
    alert = _alert(stores)
    assert counts["resolved"] == 1 and alert.state == "resolved" and alert.open_key is None
    assert alert.resolved_by == "system"
    with stores.session() as session:
        assert [e["action"] for e in alerts.events_of(session, alert.id)] == ["opened", "fired", "resolved"]
    # The condition coming back is a new alert; the old one stays in the history.
    _rec(stores, [_finding()], NOW + timedelta(seconds=300))
    with stores.session() as session:
        rows = session.scalars(select(Alert).order_by(Alert.id)).all()
    assert [(a.state, a.open_key) for a in rows] == [("resolved", None), ("firing", "overdue|T1")]


def test_alert002_database_refuses_a_second_open_alert_per_rule_and_key(stores):
    _rec(stores, [_finding()], NOW)
    with pytest.raises(IntegrityError):
        with stores.session() as session:
            session.add(Alert(rule="overdue", key="T1", city="620100", severity="major", state="firing",
                              title="dup", detail={}, first_seen=NOW, updated_at=NOW, open_key="overdue|T1"))
    # Findings repeating a key in one evaluation give one alert.
    _rec(stores, [_finding("T2"), _finding("T2")], NOW)
    with stores.session() as session:
        assert len(session.scalars(select(Alert).where(Alert.key == "T2")).all()) == 1


def test_alert003_people_acknowledge_escalate_and_resolve_with_mute(stores):
    _rec(stores, [_finding()], NOW)
    alert_id = _alert(stores).id
    with stores.session() as session:
        with pytest.raises(AlertError):
            alerts.acknowledge(session, alert_id, by="")
    with stores.session() as session:
        out = alerts.acknowledge(session, alert_id, by="张科长", now=NOW + timedelta(minutes=1))
    assert out["state"] == "acknowledged" and out["acknowledged_by"] == "张科长"
    due = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with stores.session() as session:
        out = alerts.escalate(session, alert_id, by="张科长", to="城关区政府", note="限期办结", due=due,
                              now=NOW + timedelta(minutes=2))
    assert (out["state"], out["escalated_to"], out["escalation_due"]) == ("escalated", "城关区政府",
                                                                          "2026-11-30T09:00:00+00:00")
    with stores.session() as session, pytest.raises(AlertError):
        alerts.resolve(session, alert_id, by="张科长", note=" ")
    with stores.session() as session:
        out = alerts.resolve(session, alert_id, by="张科长", note="已电话督办，单位承诺今日办结",
                             now=NOW + timedelta(minutes=3))
    assert out["state"] == "resolved" and out["resolved_by"] == "张科长"
    # Still overdue: the next evaluation does not raise it again (muted)...
    assert _rec(stores, [_finding()], NOW + timedelta(minutes=4))["opened"] == 0
    # ...until the condition has cleared once; then it may alert again.
    _rec(stores, [], NOW + timedelta(minutes=5))
    assert _rec(stores, [_finding()], NOW + timedelta(minutes=6))["opened"] == 1
    with stores.session() as session:
        actions = [e["action"] for e in alerts.events_of(session, alert_id)]
        with pytest.raises(AlertError) as err:
            alerts.acknowledge(session, alert_id, by="x")
    assert http_alerts.status_for(err.value) == 409
    assert actions == ["opened", "fired", "acknowledged", "escalated", "resolved"]


def test_alert004_open_alerts_for_the_wall_screen(stores):
    _rec(stores, [_finding("T1", severity="minor"), _finding("T2", severity="critical"),
                  _finding("T3", hold_s=600), _finding("T9", city="620200", district="620201")], NOW)
    with stores.session() as session:
        rows = alerts.open_alerts(session, scope="620100", limit=10)
        assert alerts.open_alerts(session, scope="620102", limit=1)[0]["key"] == "T2"
        assert {r["key"] for r in alerts.open_alerts(session, limit=10)} == {"T1", "T2", "T9"}
    assert [r["key"] for r in rows] == ["T2", "T1"]  # most severe first; pending T3 is not shown
    assert set(rows[0]) == {"id", "rule", "severity", "title", "key", "city", "district", "since", "state",
                            "size", "oldest_at", "unit", "facts"}  # size, age, unit, facts: the wall leads with the reason
    assert rows[0]["since"] == NOW.replace(tzinfo=UTC) and rows[0]["title"] == "工单T2超期未办结"


@pytest.fixture
def client(stores):
    return client_for(create_app(stores.settings, stores=stores))


def test_alert005_http_list_filters_and_actions_need_a_token_in_scope(stores, client):
    _rec(stores, [_finding("T1"), _finding("T9", city="620200", district="620201")], NOW)
    with stores.session() as session:
        lanzhou = tokens.create(session, "lz", ["620100"])
    body = client.get("/api/v1/alerts?scope=620100&state=open&rule=overdue").get_json()
    assert [a["key"] for a in body["alerts"]] == ["T1"]
    assert client.get("/api/v1/alerts?state=bogus").status_code == 400
    assert client.get("/api/v1/alerts?rule=bogus").get_json()["field"] == "rule"
    t1 = body["alerts"][0]["id"]
    t9 = client.get("/api/v1/alerts?scope=620200").get_json()["alerts"][0]["id"]
    auth = {"Authorization": f"Bearer {lanzhou}"}
    anonymous = client.application.test_client()
    assert anonymous.post(f"/api/v1/alerts/{t1}/ack", json={}).status_code == 401
    assert client.post(f"/api/v1/alerts/{t9}/ack", json={}, headers=auth).status_code == 403
    # a typed name is ignored: the actor is the token (issue 11, probe 1)
    acked = client.post(f"/api/v1/alerts/{t1}/ack", json={"by": "王主任"}, headers=auth).get_json()
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "lz"
    assert client.post(f"/api/v1/alerts/{t1}/ack", json={}, headers=auth).status_code == 409
    esc = client.post(f"/api/v1/alerts/{t1}/escalate", headers=auth,
                      json={"to": "城关区政府", "note": "督办", "due": "2026-11-30T17:00:00+08:00"}).get_json()
    assert esc["escalation_due"] == "2026-11-30T09:00:00+00:00" and esc["acknowledged_by"] == "lz"
    assert client.post(f"/api/v1/alerts/{t1}/resolve", json={}, headers=auth).status_code == 400
    done = client.post(f"/api/v1/alerts/{t1}/resolve", json={"note": "已办结"}, headers=auth).get_json()
    assert done["state"] == "resolved" and done["resolved_by"] == "lz"
    one = client.get(f"/api/v1/alerts/{t1}").get_json()
    assert [h["action"] for h in one["history"]] == ["opened", "fired", "acknowledged", "escalated", "resolved"]
    with stores.session() as session:
        assert session.scalar(select(AlertEvent.actor).where(AlertEvent.action == "resolved")) == "lz"
