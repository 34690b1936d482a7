"""Open311 GeoReport v2 read side through the real Flask app, on SQLite and PostgreSQL.

The output is read by ``spec_parse``, a parser written here from the GeoReport v2 specification
(field list, W3C date-times, open/closed) that shares no code with the cockpit, and a round trip
through the cockpit's own Open311 importer must give identical tickets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import create_engine, select

from app import create_app
from cockpit.importers import run
from cockpit.privacy import mask_address, mask_text
from cockpit.settings import Settings
from cockpit.store import tokens
from cockpit.store.db import Stores
from cockpit.store.models import Base, Ticket
from cockpit.ingest import ingest_batch
from tests.services import DATA
from tests.factories import Stream
from tests.login import client_for

# ---------------------------------------------------------------- an independent reader of the spec

SPEC_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
               "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
               "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url")
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")


def spec_parse(doc) -> list[dict]:
    """Check a GeoReport v2 requests.json document against the spec and return it with real datetimes."""
    assert isinstance(doc, list), "requests.json is a JSON array"
    out = []
    for item in doc:
        assert isinstance(item, dict)
        assert set(SPEC_FIELDS) <= set(item), set(SPEC_FIELDS) - set(item)
        assert isinstance(item["service_request_id"], str) and item["service_request_id"]
        assert item["status"] in ("open", "closed")
        for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
            value = item[key]
            assert value is None or W3C.match(value), (key, value)
        assert W3C.match(item["requested_datetime"])
        for key in ("lat", "long"):
            assert item[key] is None or isinstance(item[key], (int, float))
        for key in ("service_name", "service_code", "description", "agency_responsible", "address",
                    "status_notes"):
            assert item[key] is None or isinstance(item[key], str)
        parsed = dict(item)
        for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
            if item[key]:
                parsed[key] = datetime.fromisoformat(item[key].replace("Z", "+00:00"))
        out.append(parsed)
    return out


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def client(stores):
    return create_app(stores.settings, stores=stores).server.test_client()


def _token(stores, scopes) -> str:
    with stores.session() as session:
        return tokens.create(session, "open311-" + "-".join(scopes), scopes)


def _seed(stores, base: datetime) -> None:
    lz = Stream("620100", base, prefix="lz-")
    tsh = Stream("620500", base, prefix="ts-")
    events = []
    events += lz.ticket("620100-A1", 0, district="620102", category=("城乡建设", "供热"), close=True)
    events += lz.ticket("620100-A2", 3600, district="620103", category=("交通运输", "公交"), close=False)
    events += tsh.ticket("620500-B1", 7200, district="620502", category=("环境保护", "噪声"), close=True)
    # personal data in text and address
    events.append(lz.event("ticket.created", 100, ticket_id="620100-A3", district="620102", category=["城乡建设"],
                           text="我的电话13812345678，身份证620102198001011234，邮箱zhang@example.com",
                           caller="13812345678", address="城关区张掖路88号3栋2单元402室"))
    # an old one, outside the default 90 days
    events.append(lz.event("ticket.created", -200 * 86400, ticket_id="620100-OLD", district="620102",
                           category=["城乡建设"], text="旧的"))
    result = ingest_batch(stores, events, source="test")
    assert not result.rejected, result.rejected


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


# ---------------------------------------------------------------- tests

def test_o311001_requests_follow_the_spec_and_scope(client, stores):
    _seed(stores, BASE)
    lz = _token(stores, ["620100"])
    response = client.get(f"/open311/v2/requests.json?api_key={lz}")
    assert response.status_code == 200
    items = spec_parse(response.get_json())
    ids = sorted(i["service_request_id"] for i in items)
    assert ids == ["A1", "A2", "A3"]  # 620500 not in scope; OLD outside the default 90 days
    a1 = next(i for i in items if i["service_request_id"] == "A1")
    assert a1["status"] == "closed" and a1["status_notes"] == "已修复"
    assert a1["service_name"] == "城乡建设" and a1["agency_responsible"] == "城关区人民政府"
    assert a1["requested_datetime"] == BASE and a1["updated_datetime"] == BASE + timedelta(seconds=86400)
    assert a1["requested_datetime"].utcoffset() == timedelta(hours=8)  # the deployment's zone
    assert a1["expected_datetime"] == BASE + timedelta(days=5)
    a2 = next(i for i in items if i["service_request_id"] == "A2")
    assert a2["status"] == "open" and a2["status_notes"] is None
    # a district token sees its district only, a bearer header works like api_key
    d = _token(stores, ["620103"])
    only = client.get("/open311/v2/requests.json", headers={"Authorization": f"Bearer {d}"}).get_json()
    assert [i["service_request_id"] for i in only] == ["A2"]


def test_o311002_personal_data_is_masked(client, stores):
    _seed(stores, BASE)
    key = _token(stores, ["620000"])
    [a3] = client.get(f"/open311/v2/requests/A3.json?api_key={key}").get_json()
    assert "13812345678" not in str(a3) and "620102198001011234" not in str(a3)
    assert a3["description"] == "我的电话138****5678，身份证620102********1234，邮箱***@example.com"
    assert a3["address"] == "城关区张掖路88号*栋*单元*室"
    assert "caller" not in a3
    assert mask_text("座机0931-8123456") == "座机0931-****3456"
    assert mask_text("卡号6222021234567890123") == "卡号6222***********0123"
    assert mask_address("8TH AVE and JUDAH ST") == "8TH AVE and JUDAH ST"


def test_o311003_filters_window_and_paging(client, stores):
    _seed(stores, BASE)
    key = _token(stores, ["620000"])
    get = lambda q: client.get(f"/open311/v2/requests.json?api_key={key}&{q}")  # noqa: E731
    assert sorted(i["service_request_id"] for i in get("status=open").get_json()) == ["A2", "A3"]
    assert sorted(i["service_request_id"] for i in get("status=open,closed").get_json()) == ["A1", "A2", "A3", "B1"]
    services = client.get(f"/open311/v2/services.json?api_key={key}").get_json()
    assert {s["service_name"] for s in services} == {"城乡建设", "交通运输", "环境保护"}
    assert all(set(s) >= {"service_code", "service_name", "description", "metadata", "type", "keywords",
                          "group"} and s["metadata"] is False and s["type"] == "realtime" for s in services)
    code = next(s["service_code"] for s in services if s["service_name"] == "环境保护")
    assert [i["service_request_id"] for i in get(f"service_code={code}").get_json()] == ["B1"]
    # service_request_id overrides every other argument, including the window
    assert sorted(i["service_request_id"] for i in get("service_request_id=OLD,B1&status=open").get_json()) \
        == ["B1", "OLD"]
    old_day = (BASE - timedelta(days=200)).date().isoformat()
    assert [i["service_request_id"] for i in get(f"start_date={old_day}T00:00:00Z").get_json()] == ["OLD"]
    page1 = get("page_size=2").get_json()
    page2 = get("page_size=2&page=2").get_json()
    assert len(page1) == 2 and len(page2) == 2
    assert {i["service_request_id"] for i in page1 + page2} == {"A1", "A2", "A3", "B1"}
    # bad input: spec-shaped errors naming the field
    bad = get("start_date=yesterday")
    assert bad.status_code == 400 and bad.get_json()[0]["field"] == "start_date"
    too_long = get("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
    assert too_long.status_code == 400 and "90 days" in too_long.get_json()[0]["description"]
    assert get("status=pending").status_code == 400
    assert get("page_size=5000").get_json()[0]["field"] == "page_size"


def test_o311004_access(client, stores):
    _seed(stores, BASE)
    assert client.get("/open311/v2/requests.json").status_code == 401
    assert client.get("/open311/v2/requests.json?api_key=ck_nope").status_code == 401
    lz = _token(stores, ["620100"])
    assert client.get(f"/open311/v2/requests/B1.json?api_key={lz}").status_code == 404  # other city
    assert client.get(f"/open311/v2/requests.json?api_key={lz}&jurisdiction_id=620500").status_code == 404
    assert client.get(f"/open311/v2/requests/A1.json?api_key={lz}").status_code == 200
    # discovery holds no data and needs no key
    disc = client.get("/open311/v2/discovery.json").get_json()
    assert disc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert disc["endpoints"][0]["url"].endswith("/open311/v2")
    # a logged-in user reads within their scope without a key (a district user: their district)
    user = client_for(client.application, role="leader", scope="620103", stores=stores)
    assert [i["service_request_id"] for i in user.get("/open311/v2/requests.json").get_json()] == ["A2"]


def test_o311005_public_read_side(stores):
    public = stores.settings.with_(open311_public=True)
    app = create_app(public, stores=Stores.open(public.with_(database_url=stores.settings.database_url),
                                                redis_client=stores.redis))
    client = app.server.test_client()
    _seed(stores, BASE)
    items = client.get("/open311/v2/requests.json").get_json()
    assert {i["service_request_id"] for i in items} == {"A1", "A2", "A3", "B1"}
    assert all("13812345678" not in (i["description"] or "") for i in items)
    assert client.get("/open311/v2/requests.json?api_key=wrong").status_code == 401


def test_o311006_xml_matches_json(client, stores):
    _seed(stores, BASE)
    key = _token(stores, ["620100"])
    as_json = client.get(f"/open311/v2/requests.json?api_key={key}").get_json()
    xml = client.get(f"/open311/v2/requests.xml?api_key={key}")
    assert xml.mimetype == "text/xml"
    root = ET.fromstring(xml.data)
    assert root.tag == "service_requests"
    from_xml = [{child.tag: child.text for child in node} for node in root]
    assert [r["service_request_id"] for r in from_xml] == [r["service_request_id"] for r in as_json]
    assert [r["requested_datetime"] for r in from_xml] == [r["requested_datetime"] for r in as_json]


def test_o311007_round_trip_through_our_importer(client, stores, tmp_path, redis_client):
    """Requests imported from a GeoReport file, served again, imported again: identical tickets."""
    summary = run(stores, DATA / "open311_requests.json", "open311", city="SF")
    assert summary["rejected"] == 0
    key = _token(stores, ["SF"])
    response = client.get(f"/open311/v2/requests.json?api_key={key}&jurisdiction_id=SF"
                          "&start_date=2010-04-01T00:00:00Z&end_date=2010-06-01T00:00:00Z")
    items = spec_parse(response.get_json())
    assert len(items) == 6
    exported = tmp_path / "requests.json"
    exported.write_bytes(response.data)

    url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    second = Stores.open(Settings(var_dir=tmp_path / "v2", redis_url=stores.settings.redis_url,
                                  database_url=url), redis_client=redis_client)
    again = run(second, exported, "open311", city="SF")
    assert again["rejected"] == 0 and again["imported"] == summary["imported"]

    def tickets(s):
        with s.session() as session:
            return [{c.name: getattr(t, c.name) for c in Ticket.__table__.columns}
                    for t in session.scalars(select(Ticket).order_by(Ticket.ticket_id))]

    assert tickets(second) == tickets(stores)
    second.engine.dispose()


def test_o311010_household_numbers_masked_in_the_text_as_in_the_address():
    """The ticket page showed the address 安宁区长安路39号*栋 and, below it, the request's text
    '安宁区长安路39号20栋工地拖欠农民工工资': the text gave back the building the address masked."""
    from cockpit.views.ticket import mask_ticket

    text = "安宁区长安路39号20栋工地拖欠农民工工资，电话13812345678，3单元502室漏水"
    shown = mask_ticket({"address": "安宁区长安路39号20栋", "text": text, "resolution": "已联系20栋物业",
                         "caller": None})
    assert shown["address"] == "安宁区长安路39号*栋"
    assert shown["text"] == "安宁区长安路39号*栋工地拖欠农民工工资，电话138****5678，*单元*室漏水"
    assert shown["resolution"] == "已联系*栋物业"
