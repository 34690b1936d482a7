"""/roster: the view built from a roster document (unit), and the page in headless Chromium."""

from __future__ import annotations

import json

import pytest
from dash import html

from app import create_app
from cockpit import timeutil
from cockpit.http.planning import roster_document
from layouts import ids
from layouts.roster import coverage_figure, current_week, roster_view
from tests.metric_events import ingest, weekday_call_history
from tests.login import browser_login


def _texts(component) -> list[str]:
    out = []

    def walk(c):
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
        elif hasattr(c, "children"):
            walk(c.children)
    walk(component)
    return out


def test_rospage001_view_from_a_document_in_chinese_and_english(sqlite_stores):
    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    week = current_week(sqlite_stores.settings.tz)
    doc = json.loads(json.dumps(roster_document(sqlite_stores, scope="620100", week=week)))
    zh = _texts(roster_view(doc, "zh"))
    assert "带薪工时" in zh and "缺员坐席·小时" in zh and any(s.startswith("计划生成于") for s in zh)
    en = _texts(roster_view(doc, "en"))
    assert "Paid hours" in en and "Under-staffed seat-hours" in en
    fig = coverage_figure(doc, "en")
    assert [tr.name for tr in fig.data] == ["Required seats", "Planned seats", "Projected service level"]
    assert len(fig.data[0].x) == 7 * 96
    shifts = [s for d in doc["days"] for s in d["shifts"]]
    assert shifts and all(s["people"] > 0 for s in shifts)
    assert isinstance(roster_view(doc, "zh"), html.Div)


@pytest.mark.browser
def test_rospage101_page_shows_the_plan_and_switches_language(dash_duo, sqlite_stores):
    now = timeutil.utcnow()
    ingest(sqlite_stores, weekday_call_history(2, now))
    week = current_week(sqlite_stores.settings.tz)
    browser_login(dash_duo, create_app(sqlite_stores.settings, stores=sqlite_stores))
    dash_duo.driver.get(dash_duo.server_url + f"/roster?scope=620100&week={week}")
    dash_duo.wait_for_element(f"#{ids.ROSTER_PLAN} .ck-roster-row", timeout=60)
    assert "排班计划" in dash_duo.find_element("header").text
    paid = dash_duo.find_element(f"#{ids.ROSTER_PLAN} .ck-roster-total").text
    assert "预测来电" in paid
    dash_duo.wait_for_element(f"#{ids.ROSTER_CHART} .xtick text", timeout=10)
    # the Chinese page's date axis in Chinese (it read 'Nov 30 2026', 'Dec 1', ...)
    ticks = [e.text for e in dash_duo.find_elements(f"#{ids.ROSTER_CHART} .xtick text")]
    assert ticks and not [x for x in ticks if any(c.isascii() and c.isalpha() for c in x)], ticks
    # day, shift, hours and people on one line each (班次 and 人数 wrapped a character per line on 1080p
    # next to a busy day's long list of breaks; a narrow window squeezes them the same way here)
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 900, "height": 1080, "deviceScaleFactor": 1, "mobile": False})
    lines = dash_duo.driver.execute_script(
        "const cells = [...document.querySelectorAll('.ck-roster-table th'),"
        " ...document.querySelector('.ck-roster-row').querySelectorAll('td:not(.ck-roster-breaks)')];"
        "return cells.filter(c => c.textContent).map(c => { const r = document.createRange();"
        " r.selectNodeContents(c); return [c.textContent, new Set([...r.getClientRects()].map(x => Math.round(x.top))).size]; });")
    assert [text for text, n in lines if n > 1] == [], lines
    dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    dash_duo.driver.get(dash_duo.server_url + f"/roster?scope=620100&week={week}&lang=en")
    dash_duo.wait_for_element(f"#{ids.ROSTER_PLAN} .ck-roster-row", timeout=30)
    assert "Shift roster" in dash_duo.find_element("header").text
    dash_duo.find_element(f"#{ids.ROSTER_WEEK}").clear()
    dash_duo.find_element(f"#{ids.ROSTER_WEEK}").send_keys("next\n")
    dash_duo.wait_for_contains_text(f"#{ids.ROSTER_BODY} .ck-error", "week", timeout=10)
    assert dash_duo.get_logs() == []
