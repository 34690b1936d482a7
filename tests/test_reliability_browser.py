"""Issue 12 faults seen by a wall screen in headless Chromium: the web process restarts, Redis restarts.

- Web restart: the screen keeps its figures, says they are stale while the server is gone, and
  recovers by itself when a server answers on the same address (no reload, no click).
- Redis emptied (a restart without persistence): the badge says "rebuilding" at the next refresh,
  and "live" again once the worker's repair has rebuilt the counters.
"""

from __future__ import annotations

import pytest

from cockpit import jobs
from layouts import ids
from tests.login import browser_login

pytestmark = pytest.mark.browser


def test_rel080_wall_reconnects_by_itself_after_a_web_restart(dash_duo, wall_app):
    app, _stores = wall_app
    browser_login(dash_duo, app)
    url = f"{dash_duo.server_url}/wall/620100"
    dash_duo.wait_for_page(url)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    dash_duo.server.stop()
    # No get_logs() check: the browser rightly logs the refused refreshes while the server is gone.
    # says so while it waits: once its figures are two refreshes + the grace old (14 s, docs/architecture.md)
    dash_duo.wait_for_element(".ck-wall-volume.ck-stale", timeout=20)
    dash_duo.start_server(app, navigate=False, port=int(url.split(":")[2].split("/")[0]))  # no reload
    dash_duo.wait_for_element(".ck-wall-volume:not(.ck-stale):not(.ck-failed)", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据正常", timeout=10)
    assert dash_duo.find_element("[data-figure='offered']").text == "13"


def test_rel081_wall_says_rebuilding_after_redis_restarts_and_recovers(dash_duo, wall_app):
    app, stores = wall_app
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据正常", timeout=10)
    stores.redis.flushdb()  # what a restarted Redis without persistence holds
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "实时数据重建中", timeout=10)
    assert jobs.repair_live(stores) is True
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据正常", timeout=10)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    assert dash_duo.get_logs() == []
