"""A wall on its push stream in headless Chromium: the stream paints it and updates it with no Dash
refresh requests, and polling takes over at once when the stream stops or is refused (from the
first moment too), a Redis outage marks the wall failed at once and ends by itself, and screens
visited one after another in a tab each get a connection for their map."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from dash.testing.wait import until

from cockpit.ingest import ingest_batch
from cockpit.store.db import Stores
from cockpit.store.models import Base
from layouts import ids
from tests.conftest import open_wall_app
from tests.factories import Stream
from tests.killable_redis import AVAILABLE, KillableRedis
from tests.login import browser_login
from tests.timeofday import today_base

pytestmark = pytest.mark.browser

DELIVERING = ("var s = window.ckStreams && window.ckStreams.wall;"
              "return !!(s && s.last && Date.now() - s.last < 3000);")


@pytest.fixture
def fragile_wall_app(tmp_path, settings):
    """``wall_app`` on a Redis of the test's own (a free port), which the test may stop and start."""
    if not AVAILABLE:
        pytest.skip("needs redis-server")
    from sqlalchemy import create_engine

    server = KillableRedis(tmp_path / "redis")
    server.start()
    url = f"sqlite:///{tmp_path / 'cockpit.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    stores = Stores.open(settings.with_(database_url=url, redis_url=server.url))  # the production client
    try:
        for app, _stores in open_wall_app(stores):
            yield app, stores, server
    finally:
        stores.close()
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)


def _count_refreshes(app) -> list[int]:
    """A counter of the wall's refresh callback requests, in front of every hook of the app (the
    shared payload answers most refreshes before Dash sees them)."""
    seen = [0]
    inner = app.server.wsgi_app

    def counting(environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/_dash-update-component":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            environ["wsgi.input"] = io.BytesIO(body)
            if b'"wall-done"' in body:
                seen[0] += 1
        return inner(environ, start_response)

    app.server.wsgi_app = counting
    return seen


def _ingest_call(stores, n: int) -> None:
    s = Stream("620100", base=today_base(datetime.now(UTC), timedelta(seconds=5)), prefix=f"strb-{n}-")
    assert ingest_batch(stores, [s.event("call.offered", 0, call_id=f"strb-{n}")], source="test").accepted == 1


def _streaming_wall(dash_duo, app) -> list:
    """Lanzhou's wall open, painted and fed by its stream; returns the refresh request counter."""
    refreshes = _count_refreshes(app)
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    until(lambda: dash_duo.driver.execute_script(DELIVERING), timeout=10)
    return refreshes


def test_strb001_a_wall_updates_through_its_stream_with_no_refresh_requests(dash_duo, wall_app):
    app, stores = wall_app
    refreshes = _streaming_wall(dash_duo, app)
    before = refreshes[0]
    assert before == 0  # the first paint came through the stream: not one refresh request
    _ingest_call(stores, 1)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "14", timeout=3)
    until(lambda: dash_duo.find_element(".ck-wall-volume .ck-wall-as-of").text, timeout=3)
    dash_duo.driver.execute_script("window.ckT0 = Date.now();")
    until(lambda: dash_duo.driver.execute_script("return Date.now() - window.ckT0 > 4500;"), timeout=8)
    assert dash_duo.find_elements(".ck-wall-volume.ck-stale") == []  # fresh by the browser's clock
    assert refreshes[0] == before, "a refresh request while the stream delivered"
    assert dash_duo.get_logs() == []


def test_strb002_polling_takes_over_when_the_stream_stops_and_is_refused(dash_duo, wall_app):
    app, stores = wall_app
    refreshes = _streaming_wall(dash_duo, app)
    hub = app.server.config["COCKPIT_SCREEN_STREAMS"]
    hub.limit = 0  # the reconnect is refused (503): the screen polls
    hub.end_all()
    before = refreshes[0]
    _ingest_call(stores, 2)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "14", timeout=6)
    until(lambda: refreshes[0] >= before + 2, timeout=6)  # polling, every refresh interval
    assert not dash_duo.driver.execute_script(DELIVERING)
    assert dash_duo.find_elements(".ck-wall-volume.ck-stale") == []
    # The refused reconnect is the one console error (the browser logs the 503).
    assert all("screens/stream" in entry["message"] for entry in dash_duo.get_logs())


def test_strb003_a_wall_whose_stream_is_refused_from_the_start_is_painted_by_polling_at_once(dash_duo, wall_app):
    app, _stores = wall_app
    app.server.config["COCKPIT_SCREEN_STREAMS"].limit = 0  # every stream refused (503)
    refreshes = _count_refreshes(app)
    browser_login(dash_duo, app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "13", timeout=10)
    assert refreshes[0] >= 1  # painted by the refresh callback
    assert not dash_duo.driver.execute_script(DELIVERING)
    # the refused stream asked the gate for a refresh at once, not at its next tick
    assert dash_duo.driver.execute_script("return window.ckStreams.wall.kicked === true;")
    assert dash_duo.find_elements(".ck-wall-volume.ck-stale") == []
    assert all("screens/stream" in entry["message"] for entry in dash_duo.get_logs())


def test_strb004_a_redis_outage_marks_the_streaming_wall_failed_at_once_and_it_recovers(dash_duo, fragile_wall_app):
    """Redis stops answering (hung: connections wait, nothing is refused): the publisher's probe
    gives up after PROBE_TIMEOUT_S without retries, so every panel says failed within seconds over
    its last good figures, without the screen polling; when Redis answers again the wall is live."""
    app, stores, server = fragile_wall_app
    refreshes = _streaming_wall(dash_duo, app)
    dash_duo.wait_for_element(".ck-wall-volume:not(.ck-failed)", timeout=5)
    server.pause()
    dash_duo.wait_for_element(".ck-wall-volume.ck-failed", timeout=4)  # was > 20 s: timeouts, retries, polling
    for panel in ("rates", "queue", "seats", "districts", "alerts"):
        dash_duo.wait_for_element(f".ck-wall-{panel}.ck-failed", timeout=1)
    assert dash_duo.find_element("[data-figure='offered']").text == "13"  # the last good value stays
    assert dash_duo.find_element(".ck-wall-volume .ck-wall-as-of").text.startswith("数据源故障 ")  # with its time
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据源故障", timeout=2)
    assert "数据正常" not in dash_duo.find_element(f"#{ids.WALL_STATUS}").text
    before = refreshes[0]
    dash_duo.driver.execute_script("window.ckT0 = Date.now();")
    until(lambda: dash_duo.driver.execute_script("return Date.now() - window.ckT0 > 4000;"), timeout=8)
    assert refreshes[0] == before, "the screen polled while its stream said the source failed"
    assert dash_duo.find_elements(".ck-wall-volume.ck-failed")
    server.resume()
    dash_duo.wait_for_element(".ck-wall-volume:not(.ck-stale):not(.ck-failed)", timeout=8)
    dash_duo.wait_for_contains_text(f"#{ids.WALL_STATUS}", "数据正常", timeout=3)
    assert dash_duo.find_elements(".ck-wall-panel.ck-failed") == []
    _ingest_call(stores, 3)
    dash_duo.wait_for_text_to_equal("[data-figure='offered']", "14", timeout=3)
    assert dash_duo.driver.execute_script(DELIVERING)
    assert dash_duo.get_logs() == []


MAP_DRAWN = ("var p = document.querySelector('.ck-wall-map, .ck-wall-districts');"
             "return !!p && p.querySelectorAll('path.leaflet-interactive').length > 0"
             " && (p.innerText || '').indexOf('Loading...') < 0;")


def test_strb005_screens_visited_one_after_another_each_draw_their_map(dash_duo, wall_app):
    """Eight screens opened one after another in one tab each draw their map, and one shown again
    from the back/forward cache is fed by a new stream. Chrome kept each page left in that cache
    with its stream open: over HTTP/1.1 (six connections to a host) the sixth screen's map sat at
    "Loading..." (its lazy GeoJSON chunk waited for a connection) until pages left the cache."""
    app, _stores = wall_app
    browser_login(dash_duo, app)
    screens = [("/province/620000", "province"), ("/wall/620100", "wall")]
    for n in range(8):
        path, page = screens[n % 2]
        dash_duo.driver.get(f"{dash_duo.server_url}{path}?lang={('zh', 'en')[n // 2 % 2]}")
        until(lambda: dash_duo.driver.execute_script(MAP_DRAWN), timeout=10,
              msg=f"screen {n + 1} ({path}): no map drawn")
    dash_duo.driver.back()  # the province page, from the back/forward cache: a new stream feeds it
    until(lambda: dash_duo.driver.execute_script(
        "var s = window.ckStreams && window.ckStreams.province;"
        "return !!(s && s.last && Date.now() - s.last < 3000);"), timeout=10)
    assert dash_duo.driver.execute_script(MAP_DRAWN)
    assert dash_duo.get_logs() == []
