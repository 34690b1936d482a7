"""/reports in headless Chromium: the archive lists what the job wrote, and a scope narrows it."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app import create_app
from cockpit import periods
from cockpit.reports import write_report
from layouts import ids
from tests.login import browser_login
from tests.scenarios import seed_report_weeks

pytestmark = pytest.mark.browser


def test_rep101_archive_lists_reports_by_scope(dash_duo, sqlite_stores, tmp_path):
    seed_report_weeks(sqlite_stores)
    settings = sqlite_stores.settings.with_(reports_dir=str(tmp_path))
    stores = type(sqlite_stores).open(settings, redis_client=sqlite_stores.redis)
    for scope in ("620100", "620000"):
        write_report(stores, scope=scope, period=periods.period("week", date(2026, 11, 29)), with_pdf=False,
                     now=datetime(2026, 11, 30, 1))
    browser_login(dash_duo, create_app(settings, stores=stores), role="leader", scope="620100")
    dash_duo.driver.get(dash_duo.server_url + "/reports?lang=en")
    dash_duo.wait_for_element(f"#{ids.REP_LIST} .ck-rep-row", timeout=15)
    # a Lanzhou user sees Lanzhou's report, not the province's
    assert [r.get_attribute("data-scope") for r in dash_duo.find_elements(f"#{ids.REP_LIST} .ck-rep-row")] \
        == ["620100"]
    dash_duo.driver.get(dash_duo.server_url + "/reports?scope=620100")
    dash_duo.wait_for_element(f"#{ids.REP_LIST} .ck-rep-row[data-scope='620100']", timeout=15)
    rows = dash_duo.find_elements(f"#{ids.REP_LIST} .ck-rep-row")
    assert len(rows) == 1 and "周报" in rows[0].text
    href = rows[0].find_element("css selector", "a.ck-rep-file").get_attribute("href")
    dash_duo.driver.get(href)
    assert "Lanzhou received 9 requests" in dash_duo.driver.page_source  # English first in the links
    assert dash_duo.get_logs() == []
