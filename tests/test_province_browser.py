"""The province overview in headless Chromium: loads cleanly, screenshots, drills to a city by clicking."""

from __future__ import annotations

import pytest

from layouts import ids
from tests.browser import ARTIFACTS, external_requests, full_hd, on_fresh
from tests.login import browser_login

pytestmark = pytest.mark.browser


def test_province001_overview_loads_and_drills_to_city(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/province/620000")
    dash_duo.wait_for_element("tr[data-city='620100']", timeout=15)
    dash_duo.wait_for_element(f"#{ids.PROVINCE_MAP_GEO} path, .ck-wall-map path.leaflet-interactive", timeout=10)
    row = dash_duo.find_element("tr[data-city='620100']").text
    assert "兰州市" in row and "13" in row
    assert len(dash_duo.driver.find_elements("css selector", ".ck-league tbody tr")) == 14
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "province_620000_1920x1080.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []
    on_fresh(dash_duo, "tr[data-city='620100'] a.ck-city-link", lambda a: a.click())
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    assert dash_duo.driver.current_url.split("?")[0].endswith("/wall/620100")


def test_province002_map_click_opens_city_wall(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/province/620000")
    dash_duo.wait_for_element(".ck-wall-map path.leaflet-interactive", timeout=15)
    paths = dash_duo.driver.find_elements("css selector", ".ck-wall-map path.leaflet-interactive")
    assert len(paths) == 14
    biggest = max(paths, key=lambda p: p.size["width"] * p.size["height"])
    dash_duo.driver.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "var el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "el.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: r.left + r.width / 2,"
        " clientY: r.top + r.height / 2}));", biggest)
    dash_duo.wait_for_element("[data-figure='offered']", timeout=10)
    assert "/wall/62" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
