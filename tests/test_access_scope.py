"""Scope on every path: a user of city A (or district A1) asking for city B (or district A2) gets 403 or
404, never data, on pages, crafted Dash callbacks, the JSON API and exports; personal data masked,
unmasking audited. Real app, real SQLite/PostgreSQL, real Redis; callbacks sent as the browser would."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from app import create_app
from cockpit.auth import audit
from cockpit.auth.principal import AccessDenied, Principal
from cockpit.ingest import ingest_batch
from cockpit.store.models import Alert
from cockpit.views import ticket as ticket_views
from cockpit.watch import alerts
from cockpit.watch.alerts import Finding
from tests.factories import BASE, Stream
from tests.login import client_for, csrf_of

PHONE, ID_NUMBER, CARD = "13812345678", "620102198001011234", "6222021234567890123"


@pytest.fixture
def app(stores):
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
    lz, ts = Stream("620100", prefix="lz-"), Stream("620500", prefix="ts-")
    raws = lz.ticket("LZ-1", 0, district="620102") + lz.ticket("LZ-2", 60, district="620103")
    raws += ts.ticket("TS-1", 0, district="620502")
    raws[0]["caller"] = PHONE
    raws[0]["text"] = f"电话{PHONE}，身份证{ID_NUMBER}，卡号{CARD}，暖气不热"
    assert ingest_batch(stores, raws, source="test").rejected == []
    findings = [Finding(rule="overdue", key=key, city=city, district=district, severity="major",
                        title=f"工单{key}超期未办结", detail={"ticket_id": key})
                for key, city, district in (("LZ-1", "620100", "620102"), ("TS-1", "620500", "620502"))]
    with stores.session() as session:
        alerts.reconcile(session, "overdue", findings, now=BASE.replace(tzinfo=None))
    return create_app(stores.settings, stores=stores)


def _alert_id(stores, key: str) -> int:
    with stores.session() as session:
        return session.scalar(select(Alert.id).where(Alert.key == key))


def _call(client, app, marker: str, values: dict) -> object:
    """POST /_dash-update-component for the callback whose outputs contain ``marker``; ``values`` maps
    'id.property' of its inputs and states to the values sent (crafted, as an attacker would)."""
    key = next(k for k in app.callback_map if marker in k)
    spec = app.callback_map[key]

    def ident(raw):
        return json.loads(raw) if raw.startswith("{") else raw

    def items(kind):
        return [{"id": ident(i["id"]), "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in spec[kind]]

    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [{"id": ident(p.rsplit(".", 1)[0]), "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0], "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}
    return client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf_of(client)})


def test_scope001_crafted_supervise_callbacks_stay_in_scope(app, stores):
    tianshui = client_for(app, role="supervisor", scope="620500")
    grid = _call(tianshui, app, "sup-grid.getRowsResponse",
                 {"sup-grid.getRowsRequest": {"startRow": 0, "endRow": 100}, "sup-query.data": {"state": "all"}})
    ids = [r["ticket_id"] for r in grid.get_json()["response"]["sup-grid"]["getRowsResponse"]["rowData"]]
    assert ids == ["TS-1"]
    asked = _call(tianshui, app, "sup-grid.getRowsResponse",
                  {"sup-grid.getRowsRequest": {"startRow": 0, "endRow": 100}, "sup-query.data": {"city": "620100"}})
    assert asked.status_code == 403 and "LZ-" not in asked.get_data(as_text=True)
    view = _call(tianshui, app, "sup-breadcrumb.children", {"sup-query.data": {"district": "620102"}})
    assert view.status_code == 403 and "LZ-" not in view.get_data(as_text=True)
    inbox = _call(tianshui, app, "sup-breadcrumb.children", {"sup-query.data": {"state": "open"}})
    assert inbox.status_code == 200 and "LZ-1" not in inbox.get_data(as_text=True)
    district = client_for(app, role="supervisor", scope="620102")
    grid = _call(district, app, "sup-grid.getRowsResponse",
                 {"sup-grid.getRowsRequest": {"startRow": 0, "endRow": 100}, "sup-query.data": {"state": "all"}})
    assert [r["ticket_id"] for r in grid.get_json()["response"]["sup-grid"]["getRowsResponse"]["rowData"]] == ["LZ-1"]


def test_scope002_crafted_ticket_and_action_callbacks_cannot_reach_another_region(app, stores):
    """Probe 1: a crafted POST resolved another city's alert and recorded a typed name."""
    tianshui = client_for(app, role="supervisor", scope="620500")
    answer = _call(tianshui, app, "tk-body.children", {"tk-id.data": "LZ-1"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and PHONE[-4:] not in body and "暖气" not in body  # rendered as 'not found'
    own = _call(client_for(app, role="supervisor", scope="620500"), app, "tk-body.children", {"tk-id.data": "TS-1"})
    assert own.status_code == 200 and "暖气" in own.get_data(as_text=True)
    sibling = client_for(app, role="supervisor", scope="620103")
    answer = _call(sibling, app, "tk-body.children", {"tk-id.data": "LZ-1"})
    assert answer.status_code == 200 and "暖气" not in answer.get_data(as_text=True)
    lz_alert = _alert_id(stores, "LZ-1")
    key = next(k for k in app.callback_map if "tk-message.children" in k)
    spec = app.callback_map[key]
    crafted = {"output": key,
               "outputs": [{"id": "tk-body", "property": "children"}, {"id": "tk-message", "property": "children"},
                           {"id": "tk-note", "property": "value"}],
               "inputs": [[{"id": {"type": "tk-action", "action": "resolve", "alert": lz_alert}, "property": "n_clicks",
                            "value": 1}]],
               "state": [{"id": s["id"], "property": s["property"], "value": v} for s, v in
                         zip(spec["state"], ["LZ-1", "已处理 Mayor (forged)", "", None, "zh"])],
               "changedPropIds": [json.dumps({"action": "resolve", "alert": lz_alert, "type": "tk-action"},
                                             separators=(",", ":")) + ".n_clicks"]}
    tianshui.post("/_dash-update-component", json=crafted, headers={"X-CSRFToken": csrf_of(tianshui)})
    with stores.session() as session:
        alert = alerts.get(session, lz_alert)
        assert alert.state != "resolved" and alert.resolved_by is None
        denied = audit.listing(session, action="alert_resolve", limit=5)
        assert denied and denied[0].outcome == "denied"
    # the inbox path (views.ticket.act_on_alerts) refuses the same
    n, error = ticket_views.act_on_alerts(stores, [lz_alert], action="resolve", note="x",
                                   principal=Principal(kind="user", name="ts", role="supervisor", scopes=("620500",)))
    assert n == 0 and error
    # and a Lanzhou supervisor's action is recorded under their own name
    lanzhou = client_for(app, role="supervisor", scope="620100")
    ack = lanzhou.post(f"/api/v1/alerts/{lz_alert}/ack", json={"by": "Mayor (forged)"},
                       headers={"X-CSRFToken": csrf_of(lanzhou)})
    assert ack.status_code == 200 and ack.get_json()["acknowledged_by"].startswith("supervisor")


def test_scope003_screens_api_and_exports_refuse_other_regions(app, stores):
    lanzhou = client_for(app, role="leader", scope="620100")
    shown = _call(lanzhou, app, "wall-map-sig.data",  # Lanzhou's wall rendered (and shared across screens)
                  {'{"index":"wall","type":"wall-config"}.data': {"code": "620100", "lang": "zh"},
                   "wall-request.data": 1})
    assert shown.status_code == 200
    tianshui = client_for(app, role="supervisor", scope="620500")
    wall = _call(tianshui, app, "wall-map-sig.data",
                 {'{"index":"wall","type":"wall-config"}.data': {"code": "620100", "lang": "zh"},
                  "wall-request.data": 1})
    assert wall.status_code == 403
    own = _call(tianshui, app, "wall-map-sig.data",
                {'{"index":"wall","type":"wall-config"}.data': {"code": "620500", "lang": "zh"}, "wall-request.data": 1})
    assert own.status_code == 200
    province = _call(tianshui, app, "province-map-sig.data",
                     {'{"index":"province","type":"wall-config"}.data': {"code": "620000", "lang": "zh"},
                      "province-request.data": 1})
    assert province.status_code == 403
    listed = tianshui.get("/api/v1/alerts").get_json()["alerts"]
    assert [a["key"] for a in listed] == ["TS-1"]
    assert tianshui.get(f"/api/v1/alerts/{_alert_id(stores, 'LZ-1')}").status_code == 404
    text = tianshui.get("/supervise/export.csv?state=all").get_data(as_text=True).lstrip("\ufeff")
    assert [r["ticket_id"] for r in csv.DictReader(io.StringIO(text))] == ["TS-1"]
    home = _call(tianshui, app, "home-table.children", {"home-refresh.n_intervals": 1})
    assert home.status_code == 200 and "620100" not in home.get_data(as_text=True) and "兰州" not in home.get_data(as_text=True)


def test_scope004_personal_data_masked_and_unmasking_is_a_permission_audited(app, stores):
    supervisor = Principal(kind="user", name="wang", role="supervisor", scopes=("620100",))
    view = ticket_views.ticket_view(stores, "LZ-1", principal=supervisor)
    tk = view["ticket"]
    assert tk["caller"] == "138****5678" and view["masked"]
    assert PHONE not in tk["text"] and ID_NUMBER not in tk["text"] and CARD not in tk["text"]
    assert "138****5678" in tk["text"] and "620102********1234" in tk["text"]
    full = ticket_views.ticket_view(stores, "LZ-1", principal=supervisor, unmask=True)
    assert full["ticket"]["caller"] == PHONE and ID_NUMBER in full["ticket"]["text"]
    token = Principal(kind="token", name="feed", role="token", scopes=("620100",))
    with pytest.raises(AccessDenied):
        ticket_views.ticket_view(stores, "LZ-1", principal=token, unmask=True)
    with stores.session() as session:
        entries = [(a.action, a.actor, a.target) for a in audit.listing(session, limit=10)]
    assert ("unmask", "wang", "LZ-1") in entries and ("ticket_view", "wang", "LZ-1") in entries
    client = client_for(app, role="supervisor", scope="620100")
    text = client.get("/supervise/export.csv?state=all").get_data(as_text=True)
    assert PHONE not in text and ID_NUMBER not in text and CARD not in text
    page = _call(client, app, "tk-body.children", {"tk-id.data": "LZ-1", "tk-unmask.data": False})
    assert PHONE not in page.get_data(as_text=True) and "138****5678" in page.get_data(as_text=True)
    leader = client_for(app, role="leader", scope="620100")
    assert _call(leader, app, "tk-body.children", {"tk-id.data": "LZ-1", "tk-unmask.data": True}).status_code == 403


def test_scope005_assessment_roster_and_report_callbacks_keep_to_the_callers_region(app, stores):
    lanzhou = client_for(app, role="leader", scope="620100")
    for marker, values in (("ass-table.children", {"ass-scope.value": "620500", "ass-level.value": "district",
                                                   "ass-period.value": "month"}),
                           ("roster-body.children", {"roster-scope.value": "620500"})):
        assert _call(lanzhou, app, marker, values).status_code == 403, marker
    own = _call(lanzhou, app, "ass-table.children", {"ass-scope.value": "620100", "ass-level.value": "district",
                                                     "ass-period.value": "month"})
    assert own.status_code == 200
    # the report archive lists only reports of regions inside the caller's scope
    from cockpit.reports import reports_dir

    for scope in ("620100", "620500", "620000"):
        folder = reports_dir(stores.settings) / scope / "week-2026-11-23_2026-11-29"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_text(json.dumps({
            "scope": scope, "files": {}, "headline": {"tickets_created": 1}, "generated_at": "2026-11-30T01:00:00",
            "period": {"kind": "week", "label": "2026-11-23..2026-11-29", "last": "2026-11-29"}}))
    answer = _call(lanzhou, app, "rep-list.children", {"rep-query.data": {}})
    listed = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "(620100)" in listed
    assert "(620500)" not in listed and "(620000)" not in listed


def test_scope006_home_links_only_to_pages_the_viewer_may_open(app, stores):
    """A Lanzhou leader's home page linked the province overview, supervision, the playlist and the
    thirteen other cities' walls: every one of them answered 'forbidden' (a province supervisor keeps all)."""
    from layouts import ids

    def hrefs(client) -> set[str]:
        response = _call(client, app, f"{ids.PAGE}.children", {f"{ids.URL}.pathname": "/", f"{ids.URL}.search": ""})
        assert response.status_code == 200
        return {h.split("?")[0] for h in re.findall(r'"href": "([^"]+)"', json.dumps(response.get_json()))}

    leader = hrefs(client_for(app, role="leader", scope="620100"))
    assert "/wall/620100" in leader
    assert not leader & {"/wall/620200", "/province/620000", "/supervise", "/playlist"}
    supervisor = hrefs(client_for(app, role="supervisor", scope="620000"))
    assert {"/wall/620100", "/wall/620200", "/province/620000", "/supervise", "/playlist"} <= supervisor
