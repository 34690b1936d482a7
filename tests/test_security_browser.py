"""Access control in headless Chromium: the app works under its Content-Security-Policy with no console
error, logs in through the form, shows hostile ticket ids as text, and a kiosk link runs a wall."""

from __future__ import annotations

import pytest

from app import create_app
from cockpit.auth import kiosk
from cockpit.ingest import ingest_batch
from layouts import ids
from tests.factories import Stream
from tests.login import browser_login
from tests.test_supervise_browser import _seed

pytestmark = pytest.mark.browser

HOSTILE_ID = "PH-1](https://evil.example/login)"


def _csp_errors(dash_duo) -> list:
    return [e for e in dash_duo.get_logs() or [] if "Content Security Policy" in e.get("message", "")]


def test_acc101_every_screen_runs_under_the_csp_without_console_errors(dash_duo, sqlite_stores):
    """Probe 8 (no CSP) and probe 5 (an id became a link to another site)."""
    from geo.regions import load_default_regions

    with sqlite_stores.session() as session:
        load_default_regions(session)
    _seed(sqlite_stores)
    created = Stream(prefix="hostile-").ticket(HOSTILE_ID, 0, district="620102", close=False)
    assert ingest_batch(sqlite_stores, created, source="test").rejected == []
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100")
    dash_duo.wait_for_page(f"{dash_duo.server_url}/wall/620100")
    dash_duo.wait_for_element("[data-figure='offered']", timeout=15)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/supervise?city=620100&state=all")
    dash_duo.wait_for_contains_text(f"#{ids.SUP_GRID}", HOSTILE_ID, timeout=15)  # the id whole, as text
    hostile = [a for a in dash_duo.find_elements(f"#{ids.SUP_GRID} a.ck-ticket-link") if a.text == HOSTILE_ID]
    assert len(hostile) == 1
    assert hostile[0].get_attribute("href").startswith(dash_duo.server_url + "/tickets/")
    hosts = dash_duo.driver.execute_script(
        f"return Array.from(document.querySelectorAll('#{ids.SUP_GRID} a[href]')).map(a => a.host);")
    assert set(hosts) == {dash_duo.server_url.split("//", 1)[1]}  # no link leaves the app
    hostile[0].click()
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-step", timeout=15)
    assert HOSTILE_ID in dash_duo.find_element("h1").text
    hosts = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.host);")
    assert hosts and set(hosts) == {dash_duo.server_url.split("//", 1)[1]}  # every link stays in the app
    assert _csp_errors(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_acc102_kiosk_link_runs_a_wall_without_a_login_until_revoked(dash_duo, sqlite_stores):
    from geo.regions import load_default_regions

    with sqlite_stores.session() as session:
        load_default_regions(session)
        link, path = kiosk.create(session, scope="620100")
        link_id = link.id
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    dash_duo.start_server(app, navigate=False)
    dash_duo.driver.get(dash_duo.server.url + path)
    dash_duo.wait_for_element(f"#{ids.WALL_TITLE}", timeout=15)
    assert dash_duo.driver.current_url.endswith("/wall/620100?kiosk=1")
    assert "wall-root" in dash_duo.driver.page_source or dash_duo.find_elements(f"#{ids.WALL_TITLE}")
    assert dash_duo.get_logs() == []  # the wall ran on the link alone, without an error
    with sqlite_stores.session() as session:
        kiosk.revoke(session, link_id)
    dash_duo.driver.get(dash_duo.server.url + "/wall/620100?kiosk=1")
    dash_duo.wait_for_element("#username", timeout=10)  # back at the login page
    # a refresh the wall sent between the revocation and the navigation is refused (401), nothing else
    late = [e for e in dash_duo.get_logs() if "401 (UNAUTHORIZED)" not in e["message"]]
    assert late == []
