"""The city wall, the province overview and the playlist in headless Chromium (dash_duo).

Each page loads with no console errors and no request leaving 127.0.0.1; 1920x1080 screenshots
go to tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from dash.testing.wait import until

from app import create_app
from cockpit.views import wall
from cockpit.ingest import forget_regions, ingest_batch
from geo.regions import load_default_regions
from layouts import ids
from tests.browser import ARTIFACTS, crowded_titles, cut_alert_rows, external_requests, full_hd, on_fresh
from tests.factories import Stream
from tests.login import browser_login
from tests.timeofday import daytime_now, today_base

pytestmark = pytest.mark.browser

def _figure(dash_duo, name: str) -> str:
    """A figure's text, read again when a repaint replaced its element (the wall re-renders each tick)."""
    return on_fresh(dash_duo, f"[data-figure='{name}']", lambda element: element.text)


def test_wall001_city_wall_loads_and_screenshots(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    dash_duo.wait_for_text_to_equal(f"#{ids.WALL_TITLE}", "兰州市", timeout=5)
    dash_duo.wait_for_element(f"#{ids.WALL_MAP_GEO} path, .ck-wall-districts path.leaflet-interactive", timeout=10)
    dash_duo.wait_for_contains_text(".ck-wall-volume .ck-wall-as-of", "数据时间", timeout=5)
    assert _figure(dash_duo, "tickets") == "6"
    assert _figure(dash_duo, "waiting") == "1"
    assert "接通率" in dash_duo.find_element(".ck-wall-rates").text
    size = dash_duo.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " window.innerWidth, window.innerHeight];")
    assert size[0] <= size[2] and size[1] <= size[3], f"the wall scrolls: {size}"
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "wall_620100_1920x1080.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_wall002_new_event_shows_within_three_seconds(dash_duo, wall_app):
    app, stores = wall_app
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    s = Stream("620100", base=today_base(datetime.now(UTC), timedelta(seconds=5)), prefix="wb-new-")
    assert ingest_batch(stores, [s.event("call.offered", 0, call_id="new-1")], source="test").accepted == 1
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "14", timeout=3)
    assert dash_duo.get_logs() == []


def test_wall003_failed_source_keeps_values_marks_failed_at_once_and_recovers(dash_duo, wall_app):
    app, stores = wall_app
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    good = stores.redis
    # A real client to a port nothing listens on: redis-py retries with backoff (~4 s), then fails;
    # the stream's probe (no retries) says so at its next tick.
    stores.redis = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        dash_duo.wait_for_element(".ck-wall-volume.ck-failed", timeout=5)
        dash_duo.wait_for_element(".ck-wall-rates.ck-failed", timeout=1)
        assert _figure(dash_duo, "offered") == "13"
        dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据源故障", timeout=2)
    finally:
        stores.redis = good
    dash_duo.wait_for_element(".ck-wall-volume:not(.ck-stale):not(.ck-failed)", timeout=12)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=3)
    assert "数据正常" in dash_duo.find_element(f"#{ids.WALL_STATUS}").text
    assert dash_duo.get_logs() == []


def test_wall004_kiosk_english_has_no_navigation(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100?kiosk=1&lang=en")
    dash_duo.wait_for_text_to_equal(f"#{ids.WALL_TITLE}", "Lanzhou", timeout=10)
    root = dash_duo.find_element(f"#{ids.WALL_ROOT}")
    assert "ck-kiosk" in root.get_attribute("class")
    assert dash_duo.driver.find_elements("css selector", ".ck-wall-lang") == []
    assert "Connection rate" in dash_duo.find_element(".ck-wall-rates").text
    cursor = dash_duo.driver.execute_script(
        f"return getComputedStyle(document.getElementById('{ids.WALL_ROOT}')).cursor;")
    assert cursor == "none"
    dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=10)
    assert "Chengguan" in dash_duo.find_element(".ck-wall-districts").text
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "wall_620100_en_kiosk.png"))
    assert dash_duo.get_logs() == []


def test_playlist001_rotates_through_scopes(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/playlist?scopes=620100,620200,620000&seconds=2")
    frame = f"#{ids.PLAYLIST_FRAME}"
    dash_duo.wait_for_element(frame, timeout=10)
    assert "/wall/620100?kiosk=1" in dash_duo.find_element(frame).get_attribute("src")
    until(lambda: "/wall/620200" in dash_duo.find_element(frame).get_attribute("src"), timeout=5)
    until(lambda: "/province/620000" in dash_duo.find_element(frame).get_attribute("src"), timeout=5)
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


@pytest.mark.slow
def test_wall005_simulated_hours_screenshots(dash_duo, sqlite_stores):
    """A few simulated hours (cockpit.simulation) for the screenshots a person looks at."""
    from cockpit.simulation import generate

    with sqlite_stores.session() as session:
        load_default_regions(session)
    forget_regions(sqlite_stores)
    now = daytime_now(14)  # six working hours of today, ahead of the clock at night
    start = now - timedelta(hours=6)
    for days_ago, cities in ((0, None), (7, ["620100"]), (14, ["620100"])):
        s = start - timedelta(days=days_ago)
        raws = list(generate(s, timedelta(hours=8 if days_ago else 6), seed=7, cities=cities, origin=s))
        for i in range(0, len(raws), 5000):
            assert ingest_batch(sqlite_stores, raws[i:i + 5000], source="sim").rejected == []
    wall.city_snapshot(sqlite_stores, "620100")
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=15)
    dash_duo.wait_for_element(".ck-wall-curves img", timeout=10)
    dash_duo.wait_for_element(".ck-wall-staffing [data-figure='required']", timeout=10)
    assert int(_figure(dash_duo, "offered").replace(",", "")) > 0
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "wall_620100_simulated_1920x1080.png"))
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 3840, "height": 2160, "deviceScaleFactor": 1, "mobile": False})
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100?kiosk=1")
    dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=15)
    dash_duo.wait_for_element(".ck-wall-staffing [data-figure='required']", timeout=10)
    size = dash_duo.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
    assert size == [3840, 2160], f"the 4K wall scrolls: {size}"
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "wall_620100_simulated_3840x2160.png"))
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/province/620000")
    dash_duo.wait_for_element(".ck-wall-map path.leaflet-interactive", timeout=15)
    dash_duo.wait_for_element("tr[data-city='620100'] img.ck-spark", timeout=15)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "province_620000_simulated_1920x1080.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_wall006_district_click_drills_to_supervision(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=15)
    paths = dash_duo.driver.find_elements("css selector", ".ck-wall-districts path.leaflet-interactive")
    biggest = max(paths, key=lambda p: p.size["width"] * p.size["height"])
    dash_duo.driver.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "var el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "el.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: r.left + r.width / 2,"
        " clientY: r.top + r.height / 2}));", biggest)
    until(lambda: "/supervise?city=620100&district=62" in dash_duo.driver.current_url, timeout=10)


def test_wall007_panels_turn_stale_by_the_browser_clock_when_the_server_is_gone(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    dash_duo.wait_for_element(".ck-wall-volume:not(.ck-stale)", timeout=5)
    clock = dash_duo.find_element(f"#{ids.WALL_CLOCK}").text
    dash_duo.server.stop()
    # No get_logs() check here: the browser rightly logs the refused refresh requests.
    # Stale once the figures are two refreshes + the grace old: 14 s (docs/architecture.md, freshness)
    dash_duo.wait_for_element(".ck-wall-volume.ck-stale", timeout=20)
    dash_duo.wait_for_element(".ck-wall-rates.ck-stale", timeout=2)
    badge = dash_duo.find_element(".ck-wall-volume .ck-wall-as-of").text
    assert re.fullmatch(r"数据过期 \d\d:\d\d:\d\d", badge), badge  # one short word: the title keeps its room
    assert crowded_titles(dash_duo, [badge]) == []
    assert _figure(dash_duo, "offered") == "13"  # the last good value stays on screen
    until(lambda: dash_duo.find_element(f"#{ids.WALL_CLOCK}").text != clock, timeout=3)


def test_wall008_hot_topics_in_both_languages_fit_beside_the_map(dash_duo, sqlite_stores):
    """Hand-made requests (tests.scenarios.seed_topics): the worker's topics panel shows the surging
    lift complaint first, in Chinese and in English (pinyin, no Chinese), and no panel overlaps another
    at 1920x1080; both languages are screenshotted."""
    from cockpit.views import panels
    from tests.scenarios import NOW, seed_topics

    with sqlite_stores.session() as session:
        load_default_regions(session)
    forget_regions(sqlite_stores)
    seed_topics(sqlite_stores, NOW)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app)
    full_hd(dash_duo)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_element(".ck-wall-topics [data-state='pending']", timeout=10)  # no worker yet: says so
    panels.precompute_topics(sqlite_stores, now=NOW)
    first = ".ck-wall-topics .ck-wall-topic[data-rank='1'] .ck-wall-topic-label"
    dash_duo.wait_for_contains_text(first, "电梯", timeout=10)
    row = dash_duo.find_element(".ck-wall-topics .ck-wall-topic[data-rank='1']").text
    assert "城关区" in row and "5" in row and "×6.0" in row
    ARTIFACTS.mkdir(exist_ok=True)
    for lang in ("zh", "en"):
        if lang == "en":
            dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100?lang=en")
            dash_duo.wait_for_contains_text(first, "Dianti", timeout=10)
            text = dash_duo.find_element(".ck-wall-topics").text
            assert "Chengguan" in text and "Hot topics today" in text
            assert not any("\u3400" <= ch <= "\u9fff" for ch in text), text
        dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=10)
        rects = dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('.ck-wall-panel')).map(function (p) {"
            " var r = p.getBoundingClientRect(); return [p.className.split(' ')[1], r.left, r.top, r.right, r.bottom]; });")
        assert len(rects) == 11
        for i, (name, left, top, right, bottom) in enumerate(rects):
            assert 0 <= left and right <= 1920 and 0 <= top and bottom <= 1080, (name, left, top, right, bottom)
            for other, l2, t2, r2, b2 in rects[i + 1:]:
                assert right <= l2 or r2 <= left or bottom <= t2 or b2 <= top, f"{name} overlaps {other}"
        body = dash_duo.driver.execute_script(
            "var b = document.querySelector('.ck-wall-topics .ck-wall-panel-body');"
            "var last = b.lastElementChild.getBoundingClientRect();"
            "return [last.bottom, b.getBoundingClientRect().bottom];")
        assert body[0] <= body[1] + 0.5, f"the last topic row is cut off: {body}"
        dash_duo.driver.save_screenshot(str(ARTIFACTS / f"wall_620100_topics_{lang}_1920x1080.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_wall009_every_alert_shown_or_counted_and_titles_whole_1080p_4k(dash_duo, wall_app):
    """Twelve open alerts: the panel shows the rows that fit, each whole, and counts the rest in its
    head ("+7 more", linking to Supervision), never cutting one silently; every panel title reads in
    full beside each freshness badge ("As of", "Stale", "Failed"), in both languages at 1080p and 4K."""
    from cockpit.watch.alerts import Finding, reconcile
    from layouts.i18n import t
    from layouts.wall import ALERT_ROWS

    app, stores = wall_app
    now = datetime.now(UTC)
    districts = ("620102", "620103", "620104", "620105", "620111", "620121")
    findings = [Finding(rule=rule, key=f"k{i}", city="620100", district=districts[i % len(districts)],
                        severity=("critical", "major", "minor")[i % 3], title=f"t{i}", size=10 + i,
                        since=(now - timedelta(hours=30 + i)).replace(tzinfo=None))
                for i, rule in enumerate(["overdue", "transfer_chain", "repeat_complaint", "dissatisfied"] * 3)]
    with stores.session() as session:
        for rule in {f.rule for f in findings}:
            reconcile(session, rule, [f for f in findings if f.rule == rule], now=now)
    browser_login(dash_duo, app)
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1920, 1080), (3840, 2160)):
        dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        for lang in ("zh", "en"):
            dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100?lang={lang}")
            more = dash_duo.wait_for_element(".ck-wall-alerts [data-more]", timeout=10)
            dash_duo.wait_for_element(".ck-wall-districts path.leaflet-interactive", timeout=10)
            rows = dash_duo.driver.find_elements("css selector", ".ck-wall-alerts .ck-wall-alert")
            total = int(dash_duo.find_element(".ck-wall-alerts [data-total]").get_attribute("data-total"))
            assert total == 12 and len(rows) == ALERT_ROWS
            assert int(more.get_attribute("data-more")) == total - ALERT_ROWS, "the rows not shown are counted"
            assert "city=620100" in more.get_attribute("href") and "/supervise?" in more.get_attribute("href")
            assert cut_alert_rows(dash_duo) == [], f"alert rows cut at {width}x{height} {lang}"
            words = [f"{t(key, lang)} 23:59:59" for key in ("common.as_of", "wall.stale", "wall.panel_failed")]
            assert crowded_titles(dash_duo, words) == [], f"{width}x{height} {lang}"
            dash_duo.driver.save_screenshot(str(ARTIFACTS / f"wall_620100_alerts_{lang}_{width}x{height}.png"))
    assert dash_duo.get_logs() == []
