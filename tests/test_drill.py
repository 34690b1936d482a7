"""Drill-down queries: grid blocks paged, sorted and filtered in SQL; facets; timeline; export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from cockpit.auth.principal import Principal
import pytest

from cockpit.views import drill, export
from cockpit.views import ticket as ticket_views
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import ingest_batch
from layouts.supervise import search_for
from tests.factories import Stream

BASE = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)

# Per-item alerts here (the filter of one ticket's alert); grouped alerts: test_watch_groups.py.
PER_ITEM = {"rules": {r: {"group_by": "ticket"} for r in watchpoints.WORK_ITEM_RULES}}


@pytest.fixture
def settings(settings):
    return settings.with_(watchpoints=PER_ITEM)


def _seed(stores, n: int = 30) -> None:
    s = Stream(base=BASE, prefix="dr-")
    raws = []
    for i in range(n):
        district = ("620102", "620103", "620104")[i % 3]
        category = (("城乡建设", "供热"), ("交通运输", "道路"))[i % 2]
        raws += s.ticket(f"T{i:02d}", i * 600, district=district, category=category, unit=f"U{i % 4}",
                         close=i % 5 != 0)
    ingest_batch(stores, raws, source="test")


def _page(stores, query=None, **kw):
    flt = drill.filter_from_query(query or {}, stores.settings)
    with stores.session() as session:
        return drill.tickets_page(session, flt, settings=stores.settings, now=NOW, **kw)


def test_drill001_blocks_are_paged_sorted_and_filtered_in_sql(stores):
    _seed(stores)
    first = _page(stores, start_row=0, end_row=10)
    assert [r["ticket_id"] for r in first["rowData"]] == [f"T{i:02d}" for i in range(29, 19, -1)]  # newest first
    assert first["rowCount"] == 30  # the whole set is under COUNT_CAP: exact
    last = _page(stores, start_row=25, end_row=35)
    assert len(last["rowData"]) == 5 and last["rowCount"] == 30
    by_id = _page(stores, start_row=0, end_row=5, sort_model=[{"colId": "ticket_id", "sort": "asc"}])
    assert [r["ticket_id"] for r in by_id["rowData"]] == ["T00", "T01", "T02", "T03", "T04"]
    grid_filter = {"district": {"filterType": "text", "type": "equals", "filter": "620103"},
                   "unit": {"filterType": "text", "type": "contains", "filter": "U1"}}
    rows = _page(stores, start_row=0, end_row=100, filter_model=grid_filter)["rowData"]
    assert sorted(r["ticket_id"] for r in rows) == ["T01", "T13", "T25"]
    # Unknown columns and injection attempts in the models are ignored, not executed.
    evil = _page(stores, start_row=0, end_row=3, sort_model=[{"colId": "1; DROP TABLE tickets", "sort": "asc"}],
                 filter_model={"text; --": {"filterType": "text", "filter": "x"}})
    assert evil["rowCount"] == 30
    open_only = _page(stores, {"city": "620100", "status": "open"}, start_row=0, end_row=100)
    assert sorted(r["ticket_id"] for r in open_only["rowData"]) == [f"T{i:02d}" for i in range(0, 30, 5)]


def test_drill002_row_count_is_capped_so_counting_never_scans_everything(stores, monkeypatch):
    _seed(stores)
    monkeypatch.setattr(drill, "COUNT_CAP", 12)
    assert _page(stores, start_row=0, end_row=10)["rowCount"] == -1  # over the cap: unknown
    assert _page(stores, {"district": "620102"}, start_row=0, end_row=5)["rowCount"] == 10


def test_drill003_alert_filter_facets_and_url_query(stores):
    _seed(stores)
    with stores.session() as session:
        watchpoints.evaluate(session, stores.settings, now=NOW, rules=["overdue"])
    with stores.session() as session:
        from sqlalchemy import select

        from cockpit.store.models import Alert

        alert = session.scalars(select(Alert).where(Alert.key == "T05")).one()
    rows = _page(stores, {"alert": str(alert.id)}, start_row=0, end_row=100)["rowData"]
    assert [r["ticket_id"] for r in rows] == ["T05"]
    flt = drill.filter_from_query({"district": "620102"}, stores.settings)
    with stores.session() as session:
        f = drill.facets(session, flt, now=NOW)
    # The district facet ignores its own filter (all three bars stay); the category facet obeys it.
    assert dict(f["district"]) == {"620102": 10, "620103": 10, "620104": 10}
    assert dict(f["category"]) == {"城乡建设": 5, "交通运输": 5}
    q = {"city": "620100", "district": "620102", "alert": "7", "lang": "en"}
    assert search_for(q, category="城乡建设") == "?city=620100&district=620102&category=%E5%9F%8E%E4%B9%A1%E5%BB%BA%E8%AE%BE&lang=en"
    assert search_for(q, city="620200") == "?city=620200&lang=en"  # a new city drops district and alert
    assert search_for(q, alert="9") == "?city=620100&district=620102&alert=9&lang=en"
    days = drill.filter_from_query({"from": "2026-11-20", "to": "2026-11-20"}, stores.settings)
    assert (days.created_from, days.created_to) == (datetime(2026, 11, 19, 16), datetime(2026, 11, 20, 16))


def test_drill004_ticket_view_timeline_clocks_related_and_alerts(stores):
    s = Stream(base=BASE, prefix="tv-")
    raws = s.ticket("A", 0, close=False) + [
        s.event("ticket.returned", 1200, ticket_id="A", unit="城关区人民政府", reason="不属本单位"),
        s.event("ticket.transferred", 1800, ticket_id="A", from_unit="城关区人民政府", to_unit="市住建局"),
    ]
    raws += [s.event("ticket.created", 86400, ticket_id="B", category=["城乡建设"], address="城关区 庆阳路1号",
                     caller="13800000000", district="620102"),
             s.event("ticket.created", 0, ticket_id="C", category=["城乡建设"], address="城关区庆阳路1号",
                     district="620102")]
    ingest_batch(stores, raws, source="test")
    with stores.session() as session:
        watchpoints.evaluate(session, stores.settings, now=NOW, rules=["overdue"])
    view = ticket_views.ticket_view(stores, "A", now=NOW)
    assert [st["type"] for st in view["steps"]] == ["ticket.created", "ticket.dispatched", "ticket.returned",
                                                    "ticket.transferred", "ticket.responded"]
    assert [st["since_prev_s"] for st in view["steps"]] == [None, 600.0, 600.0, 600.0, 1800.0]
    assert view["steps"][-1]["since_created_s"] == 3600.0
    assert view["clocks"]["due_left_s"] == -3 * 86400  # due 5 days after 11-20 02:00; now 11-28 02:00
    assert view["clocks"]["responded_in_s"] == 3600.0
    assert [a["rule"] for a in view["alerts"]] == ["overdue"]
    assert view["alerts"][0]["history"][0]["action"] == "opened"
    b = ticket_views.ticket_view(stores, "B", now=NOW)
    assert [(r["ticket_id"], r["reason"]) for r in b["related"]] == [("C", ["address"])]
    assert ticket_views.ticket_view(stores, "nope") is None
    fresh, error = ticket_views.act_on_alert(stores, "A", alert_id=view["alerts"][0]["id"], action="resolve",
                                             principal=LI, note="")
    assert error and fresh["alerts"][0]["state"] == "firing"  # refused: a note is required
    fresh, error = ticket_views.act_on_alert(stores, "A", alert_id=view["alerts"][0]["id"], action="ack",
                                             principal=LI)
    assert error is None and fresh["alerts"][0]["state"] == "acknowledged"


LI = Principal(kind="user", name="李", role="supervisor", scopes=("620000",))


def test_drill005_csv_export_streams_the_filtered_set(stores, monkeypatch):
    _seed(stores)
    monkeypatch.setattr(export, "EXPORT_CHUNK", 4)  # several chunks
    chunks = list(export.export_csv(stores, {"district": "620103"}))
    assert len(chunks) > 3 and chunks[0].startswith("\ufeffticket_id,")
    rows = list(csv.DictReader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    assert sorted(r["ticket_id"] for r in rows) == [f"T{i:02d}" for i in range(1, 30, 3)]
    assert rows[0]["created_at"] == (BASE + timedelta(seconds=28 * 600)).astimezone(
        stores.settings.tz).strftime("%Y-%m-%d %H:%M")


def test_drill006_export_route_streams_csv(stores):
    from app import create_app
    from tests.login import client_for

    _seed(stores)
    client = client_for(create_app(stores.settings, stores=stores), role="supervisor", scope="620100")
    resp = client.get("/supervise/export.csv?district=620104&status=open")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["ticket_id"] for r in rows] == ["T20", "T05"]

    from openpyxl import load_workbook

    resp = client.get("/supervise/export.xlsx?district=620104&status=open")
    assert resp.status_code == 200 and "spreadsheetml" in resp.mimetype
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert table[0] == list(rows[0].keys())
    assert [[str(v) if v is not None else "" for v in r] for r in table[1:]] == [list(r.values()) for r in rows]


def test_drill020_a_district_without_its_city_in_the_url_keeps_the_city_crumb(stores):
    """The inbox's district chips of a city user link ?district=620121 (no city): the breadcrumb read
    甘肃省 › 永登县, skipping 兰州市; the city comes from the regions table."""
    from geo.regions import load_default_regions

    from cockpit.views.drill import breadcrumb

    with stores.session() as session:
        load_default_regions(session)
        crumbs = breadcrumb(session, stores.settings, city=None, district="620121")
    assert [(c["level"], c["code"]) for c in crumbs] == [("province", "620000"), ("city", "620100"),
                                                         ("district", "620121")]
    assert crumbs[2]["query"] == "city=620100&district=620121"
