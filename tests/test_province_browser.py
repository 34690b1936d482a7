"""The province overview in headless Chromium: loads cleanly, screenshots, drills to a city by clicking."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

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


# Pairs of city labels whose text boxes overlap, and how much of the map's box the drawn regions
# fill (the larger of width and height ratios, since a region only fills its panel one way), and
# whether the drawn regions stay inside the map.
MAP_LAYOUT_JS = """
var map = document.querySelector('.ck-wall-map .ck-map');
var spans = Array.from(map.querySelectorAll('.ck-map-label span'));
var boxes = spans.map(function (s) { return [s.textContent, s.getBoundingClientRect()]; });
var clashes = [];
for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
  var a = boxes[i][1], b = boxes[j][1];
  if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
    clashes.push(boxes[i][0] + '/' + boxes[j][0]);
}
var paths = Array.from(map.querySelectorAll('path.leaflet-interactive')).map(function (p) {
  return p.getBoundingClientRect(); });
var box = map.getBoundingClientRect();
var l = Math.min.apply(null, paths.map(function (r) { return r.left; })),
    r = Math.max.apply(null, paths.map(function (r) { return r.right; })),
    t = Math.min.apply(null, paths.map(function (r) { return r.top; })),
    b = Math.max.apply(null, paths.map(function (r) { return r.bottom; }));
var fill = Math.max((r - l) / box.width, (b - t) / box.height);
var both = Math.min((r - l) / box.width, (b - t) / box.height);  // no empty bands beside or above it
var inside = l >= box.left - 1 && r <= box.right + 1 && t >= box.top - 1 && b <= box.bottom + 1;
return {labels: spans.length, clashes: clashes, fill: fill, inside: inside, both: both, shapes: paths.length,
        box: [Math.round(box.width), Math.round(box.height)],
        margins: [l - box.left, box.right - r, t - box.top, box.bottom - b].map(Math.round)};
"""


def _settled_map(dash_duo, ok, timeout: float = 10) -> dict:
    """MAP_LAYOUT_JS's answer once ``ok`` holds for it (fitBounds may still be zooming, the panel's
    row still settling), or its last answer after ``timeout`` s, for the caller's assertions."""
    state = {}

    def settled(_driver):
        state["now"] = dash_duo.driver.execute_script(MAP_LAYOUT_JS)
        return ok(state["now"])

    try:
        WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.2).until(settled)
    except TimeoutException:
        pass
    return state["now"]


def test_province003_city_labels_apart_and_map_fills_panel(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    for lang in ("zh", "en"):
        dash_duo.wait_for_page(f"{dash_duo.server_url}/province/620000?lang={lang}")
        dash_duo.wait_for_element(".ck-wall-map .ck-map-label span", timeout=15)
        now = _settled_map(dash_duo, lambda m: m["labels"] == 14 and not m["clashes"] and m["fill"] >= 0.9
                           and m["inside"] and m["both"] >= 0.8)
        assert now["labels"] == 14, (lang, now)
        assert now["clashes"] == [], (lang, now)
        assert now["fill"] >= 0.9 and now["inside"], (lang, now)
        # the panel is shaped like the province: no empty band above and below the map (was 0.52)
        assert now["both"] >= 0.8, (lang, now)
    assert dash_duo.get_logs() == []


RESIZES = ((1920, 1080), (1280, 900), (3840, 2160), (1920, 1080))


def test_province004_map_refits_when_the_window_is_resized(dash_duo, wall_app):
    """The map is fitted again whenever its box changes size (assets/cockpit_map.js): after each
    resize of the window the drawn province fills its box (80 % both ways) and stays inside it.
    Leaflet alone only re-centres a map on a window resize, keeping its zoom."""
    app, _stores = wall_app
    browser_login(dash_duo, app)
    ARTIFACTS.mkdir(exist_ok=True)
    for lang in ("zh", "en"):
        full_hd(dash_duo)
        dash_duo.wait_for_page(f"{dash_duo.server_url}/province/620000?lang={lang}")
        dash_duo.wait_for_element(".ck-wall-map path.leaflet-interactive", timeout=15)
        for width, height in RESIZES:
            dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            now = _settled_map(dash_duo, lambda m: m["shapes"] == 14 and m["inside"] and m["fill"] >= 0.9
                               and m["both"] >= 0.8 and m["box"][0] > width * 0.2)
            assert now["shapes"] == 14, (lang, width, height, now)
            assert now["inside"], (lang, width, height, now)
            assert now["fill"] >= 0.9 and now["both"] >= 0.8, (lang, width, height, now)
            dash_duo.driver.save_screenshot(str(ARTIFACTS / f"province_620000_{lang}_{width}x{height}_resized.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []
