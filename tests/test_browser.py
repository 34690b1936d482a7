"""Pages in real headless Chromium (dash_duo): load with no console errors, nothing leaves 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from cockpit.ingest import ingest_batch
from layouts import ids
from tests.browser import external_requests
from tests.factories import Stream
from tests.login import browser_login
from tests.timeofday import today_base, wait_for_room

pytestmark = pytest.mark.browser


def test_web001_home_page_loads_with_live_numbers(dash_duo, sqlite_stores):
    wait_for_room()
    s = Stream(base=today_base(datetime.now(UTC), timedelta(minutes=30)), prefix="web-")
    ingest_batch(sqlite_stores, s.answered_call("c1", 0, 5, 60) + s.abandoned_call("c2", 30, 40), source="test")
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app)
    dash_duo.wait_for_element(f"#{ids.HOME_TABLE} tr[data-city='620100']", timeout=10)
    row = dash_duo.find_element(f"#{ids.HOME_TABLE} tr[data-city='620100']").text
    assert row.split()[1:4] == ["2", "1", "1"]  # offered, answered, abandoned
    assert "12345" in dash_duo.driver.title
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_web010_tab_title_in_the_pages_language(dash_duo, sqlite_stores):
    """An English page (?lang=en) kept the Chinese tab title of the configured language."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser_login(dash_duo, create_app(sqlite_stores.settings, stores=sqlite_stores))
    dash_duo.driver.get(dash_duo.server_url + "/?lang=en")
    dash_duo.wait_for_element(f"#{ids.HOME_TABLE}", timeout=10)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.title == "12345 Hotline Data Cockpit", dash_duo.driver.title)
    dash_duo.driver.get(dash_duo.server_url + "/")
    dash_duo.wait_for_element(f"#{ids.HOME_TABLE}", timeout=10)
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.title == "12345 热线数据驾驶舱", dash_duo.driver.title)
    assert dash_duo.get_logs() == []
