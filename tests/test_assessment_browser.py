"""/assessment in headless Chromium: the table appears, the level switch re-scores by unit."""

from __future__ import annotations

import pytest

from app import create_app
from cockpit.ingest import ingest_batch
from layouts import ids
from tests.login import browser_login
from tests.scenarios import assessment_tickets

pytestmark = pytest.mark.browser


def test_ass101_page_scores_districts_then_units(dash_duo, sqlite_stores):
    assert not ingest_batch(sqlite_stores, assessment_tickets(), source="test").rejected
    browser_login(dash_duo, create_app(sqlite_stores.settings, stores=sqlite_stores), role="leader", scope="620100")
    dash_duo.driver.get(dash_duo.server_url + "/assessment?scope=620100&period=month&end=2026-10-31&lang=en")
    dash_duo.wait_for_element(f"#{ids.ASS_TABLE} .ck-ass-row", timeout=15)
    rows = dash_duo.find_elements(f"#{ids.ASS_TABLE} .ck-ass-row")
    assert [r.find_elements("css selector", "td")[1].text for r in rows] == ["620102", "620103"]
    # 0.2 x 100 + 0.25 x 106.06 + 0.3 x 100 + 0.15 x 102.04 + 0.1 x 102.04 = 102.03 (test_assessment)
    assert rows[0].find_elements("css selector", "td")[-2].text == "102.0"
    dash_duo.select_dcc_dropdown(f"#{ids.ASS_LEVEL}", value="Handling units")
    dash_duo.wait_for_text_to_equal(f"#{ids.ASS_TABLE} .ck-ass-row td:nth-child(2)", "A", timeout=10)
    # a scope outside the user's, typed into the page: refused, no figures
    box = dash_duo.find_element(f"#{ids.ASS_SCOPE}")
    box.clear()
    box.send_keys("620500\n")
    dash_duo.wait_for_element(f"#{ids.ASS_TABLE} .ck-error", timeout=10)
    assert not dash_duo.find_elements(f"#{ids.ASS_TABLE} .ck-ass-row")
    assert dash_duo.get_logs() == []


def test_ass102_form_controls_are_readable_on_the_dark_pages(dash_duo, sqlite_stores):
    """The inputs and dropdowns of /assessment, /roster and /supervise: Dash 4 draws them white while the
    pages' light text colour is inherited, so a typed scope, a note or the chosen period was invisible."""
    from tests.browser import unreadable_controls

    browser_login(dash_duo, create_app(sqlite_stores.settings, stores=sqlite_stores), role="supervisor",
                  scope="620100")
    for path, ready in (("/assessment?scope=620100", f"#{ids.ASS_SCOPE}"), ("/roster?scope=620100", f"#{ids.ROSTER_WEEK}"),
                        ("/supervise", f"#{ids.SUP_ACT_NOTE}")):
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element(ready, timeout=15)
        if path == "/supervise":
            dash_duo.find_element(f"#{ids.SUP_ACT_NOTE}").send_keys("已电话督促")
        assert unreadable_controls(dash_duo) == [], path
