"""Screens that never mislead, without a browser: unknown regions get a 404 page with ways out,
English pages carry no Chinese, names and categories have English forms."""

from __future__ import annotations

import pytest

from app import create_app
from geo.regions import load_default_regions
from tests.login import client_for


@pytest.fixture
def client(sqlite_stores):
    with sqlite_stores.session() as session:
        load_default_regions(session)
    return client_for(create_app(sqlite_stores.settings, stores=sqlite_stores))


@pytest.mark.parametrize("path", ["/wall/999999", "/wall/62010", "/province/620100", "/province/999999",
                                  "/wall/620000"])
def test_scr001_unknown_or_out_of_scope_region_is_a_404_with_links(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    code = path.rsplit("/", 1)[1]
    assert code in body and "页面不存在" in body
    assert 'href="/province/620000"' in body and 'href="/wall/620100"' in body and 'href="/supervise"' in body
    english = client.get(path + "?lang=en")
    assert english.status_code == 404 and "Lanzhou wall" in english.get_data(as_text=True)
    assert 'href="/wall/620100?lang=en"' in english.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/wall/620100", "/wall/620102", "/province/620000", "/", "/supervise"])
def test_scr002_known_screens_load(client, path):
    assert client.get(path).status_code == 200


def test_scr003_changes_axes_and_names_format_honestly():
    from layouts.fmt import fmt_change
    from layouts.svg import _nice_ceiling

    assert fmt_change(-0.003) == "±0%" and fmt_change(0.004) == "±0%" and fmt_change(-0.06) == "▼6%"
    assert fmt_change(2.6) == "▲260%" and fmt_change(None) == "—"
    assert _nice_ceiling(2600) == 3000 and _nice_ceiling(13) == 16 and _nice_ceiling(25) == 28  # the axis the data fill


def test_scr004_english_vocabulary_has_no_chinese():
    import layouts.supervise  # noqa: F401 - registers the rule names
    from geo.names import has_cjk
    from layouts.categories import category_label, category_path_label
    from layouts.names import alert_title, place_name, term
    from layouts.supervise import grid_block
    from layouts.ticket import action_error, check_action

    assert category_label("劳动和社会保障", "en") == "Labour & social security"
    assert category_path_label(["城乡建设", "物业服务"], "en") == "Urban & rural construction / Property management"
    assert category_label("某个新类别", "en") and not has_cjk(category_label("某个新类别", "en"))
    assert category_label("Noise - Residential", "en") == "Noise - Residential"
    assert place_name("620105", "en") == "Anning" and place_name("621223", "en") == "Tanchang"
    assert place_name("620105", "zh") == "安宁区"
    assert term("status", "created", "en") == "Created" and term("satisfaction", "dissatisfied", "zh") == "不满意"
    ticket_alert = {"rule": "overdue", "title": "工单T1超期未办结", "detail": {"filter": {"ticket_ids": ["T1"]}}}
    assert alert_title(ticket_alert, "zh") == "工单T1超期未办结"
    assert alert_title(ticket_alert, "en") == "Overdue: ticket T1"
    place_alert = {"rule": "volume_anomaly", "title": "城关区诉求激增", "district": "620102", "detail": {}}
    assert alert_title(place_alert, "en").endswith(": Chengguan") and alert_title(place_alert, "en").startswith("Volume")
    block = grid_block({"rowData": [{"ticket_id": "T1", "district": "620102", "category": "城乡建设",
                                     "status": "created", "satisfaction": None}], "rowCount": 1}, "en")
    row = block["rowData"][0]
    assert (row["district_label"], row["category_label"], row["status_label"]) == (
        "Chengguan", "Urban & rural construction", "Created")
    assert row["district"] == "620102" and block["rowCount"] == 1  # stored values stay for SQL sort/filter
    assert check_action("ack", by="", note="", to="", lang="zh") == "请先填写操作人"
    assert check_action("escalate", by="张", note="", to="", lang="en") == "Escalating needs a target (escalate to)"
    assert check_action("resolve", by="张", note="done", to="", lang="en") is None
    assert action_error("who is acting ('by') is required", "zh") == "请先填写操作人"


def test_scr005_seeding_reports_each_simulated_day(sqlite_stores):
    from cockpit.simulation.seeding import seed_history

    calls: list[tuple[int, int]] = []
    seed_history(sqlite_stores, 2, seed=3, cities=["620200"], scale=0.05, progress=False,
                 on_day=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert total == 3 and calls[-1] == (3, 3)  # two whole days and today so far
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})  # each day once, in order


def test_scr006_alert_reasons_quote_safety_words_in_english():
    from layouts.names import display_alert

    alert = {"rule": "urgent_content", "unit": "城关区人民政府",
             "facts": {"words": ["燃气", "某词"], "handoff": ["119"], "subcategory": "燃气供应"}}
    shown = display_alert(alert, "en")
    assert shown["facts"]["words"] == ["gas", "Mouci"] and shown["facts"]["subcategory"] == "Gas supply"
    assert shown["unit"] == "Chengguan People's Government"
    assert alert["facts"]["words"] == ["燃气", "某词"]  # the stored facts are not changed
    assert display_alert(alert, "zh") == alert


def _supervise_menus(stores, app, *, role: str, scope: str) -> tuple:
    """(city value, city options, district options) of /supervise as ``role`` over ``scope`` sees them."""
    from bench.screens import App, Callback, find_prop
    from tests.login import csrf_of

    client = client_for(app, role=role, scope=scope, stores=stores)
    deps = client.get("/_dash-dependencies").get_json()

    def post(body: bytes) -> dict:
        resp = client.post("/_dash-update-component", data=body, content_type="application/json",
                           headers={"X-CSRFToken": csrf_of(client)})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return resp.get_json()

    layout = post(App(deps).route.body(["/supervise", ""], []))
    view = next(Callback(d) for d in deps if "sup-city.options" in d["output"])
    out = post(view.body([find_prop(layout, "sup-query", "data")], ["zh"]))["response"]
    return find_prop(layout, "sup-city", "value"), out["sup-city"]["options"], out["sup-district"]["options"]


def test_scr010_a_city_supervisor_finds_their_city_chosen_on_supervise(sqlite_stores):
    """/supervise for a city-scoped supervisor lists their own city (the others would answer 403) and
    has it chosen, with its districts in the next menu; a province supervisor chooses among all."""
    with sqlite_stores.session() as session:
        load_default_regions(session)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    value, cities, districts = _supervise_menus(sqlite_stores, app, role="supervisor", scope="620100")
    assert value == "620100" and cities == [{"label": "兰州市", "value": "620100"}]
    assert {"label": "城关区", "value": "620102"} in districts
    value, cities, districts = _supervise_menus(sqlite_stores, app, role="supervisor", scope="620102")
    assert value == "620100" and cities == [{"label": "兰州市", "value": "620100"}]
    assert districts == [{"label": "城关区", "value": "620102"}]
    value, cities, districts = _supervise_menus(sqlite_stores, app, role="supervisor", scope="620000")
    assert value is None and len(cities) >= 14 and districts == []
