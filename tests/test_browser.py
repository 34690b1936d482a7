"""Pages in real headless Chromium (dash_duo): load with no console errors, nothing leaves 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from cockpit.ingest import ingest_batch
from layouts import ids
from tests.factories import Stream

pytestmark = pytest.mark.browser


def _external_requests(dash_duo) -> list[str]:
    """URLs the page loaded from anywhere but the local test server (Resource Timing API)."""
    urls = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    return [u for u in urls if not (u.startswith("http://127.0.0.1") or u.startswith("http://localhost")
                                    or u.startswith("data:"))]


def test_web001_home_page_loads_with_live_numbers(dash_duo, sqlite_stores):
    s = Stream(base=datetime.now(UTC) - timedelta(minutes=30), prefix="web-")
    ingest_batch(sqlite_stores, s.answered_call("c1", 0, 5, 60) + s.abandoned_call("c2", 30, 40), source="test")
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{ids.HOME_TABLE} tr[data-city='620100']", timeout=10)
    row = dash_duo.find_element(f"#{ids.HOME_TABLE} tr[data-city='620100']").text
    assert row.split()[1:4] == ["2", "1", "1"]  # offered, answered, abandoned
    assert "12345" in dash_duo.driver.title
    assert _external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []
