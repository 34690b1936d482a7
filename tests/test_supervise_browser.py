"""/supervise in headless Chromium: click an alert, reach its ticket, see the timeline, act on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from app import create_app
from cockpit.watch import evaluate as watchpoints
from cockpit.ingest import ingest_batch
from layouts import ids
from tests.browser import on_fresh
from tests.factories import Stream
from tests.login import browser_login

pytestmark = pytest.mark.browser


def _seed(stores) -> None:
    s = Stream(base=datetime.now(UTC) - timedelta(days=8), prefix="sup-")
    raws = s.ticket("T-OVERDUE", 0, close=False)  # due after 5 days: overdue now
    raws[0].update(lat=36.0611, lon=103.8343)  # a point in Chengguan district: the ticket page draws a map
    raws += [s.event("ticket.returned", 900, ticket_id="T-OVERDUE", unit="城关区人民政府", reason="不属本单位")]
    for i in range(5):
        raws += s.ticket(f"T-OK{i}", 3600 * (i + 1), district="620103", category=("交通运输", "道路"))
    ingest_batch(stores, raws, source="test")
    watchpoints.evaluate_all(stores)


def test_sup001_alert_to_ticket_timeline_and_acknowledge(dash_duo, sqlite_stores):
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="张科长")
    dash_duo.driver.get(dash_duo.server_url + "/supervise?rule=overdue")
    link = dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} [data-alert] a", timeout=15)
    assert "超期未办结 · 1 件" in link.text  # the district's overdue group, holding T-OVERDUE
    link.click()
    dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-selected-title", timeout=10)
    assert "alert=" in dash_duo.driver.current_url  # the selection lives in the URL
    # The grid now holds only the alert's ticket, fetched as a block from SQL.
    ticket_link = dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OVERDUE']", timeout=15)
    assert len(dash_duo.find_elements(f"#{ids.SUP_GRID} a[href^='/tickets/']")) == 1
    ticket_link.click()
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-step[data-step='ticket.returned']", timeout=15)
    steps = [e.get_attribute("data-step") for e in dash_duo.find_elements(f"#{ids.TK_BODY} .ck-step")]
    assert steps == ["ticket.created", "ticket.dispatched", "ticket.returned", "ticket.responded"]
    assert dash_duo.find_elements(f"#{ids.TK_BODY} .ck-overdue .ck-late")  # the due clock shows it overdue
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .leaflet-container path.leaflet-interactive", timeout=10)
    crumbs = [e.get_attribute("data-level") for e in dash_duo.find_elements(f"#{ids.TK_BODY} [data-level]")]
    assert crumbs == ["province", "city", "district", "ticket"]
    # A supervisor acknowledges the alert from the ticket page: the history names who is logged in.
    dash_duo.find_element(f"#{ids.TK_BODY} .ck-alert-card[data-state='firing'] .ck-alert-actions button").click()
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-alert-card[data-state='acknowledged']", timeout=10)
    assert "张科长" in dash_duo.find_element(f"#{ids.TK_BODY} .ck-alert-history").text
    assert dash_duo.get_logs() == []


def test_sup002_filters_live_in_the_url_and_reopen(dash_duo, sqlite_stores):
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app)
    dash_duo.driver.get(dash_duo.server_url + "/supervise?city=620100&district=620103&state=all")
    dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OK0']", timeout=15)
    shown = {e.get_attribute("href").rsplit("/", 1)[1]
             for e in dash_duo.find_elements(f"#{ids.SUP_GRID} a[href^='/tickets/']")}
    assert shown == {f"T-OK{i}" for i in range(5)}  # the district filter from the URL applies
    levels = [e.get_attribute("data-level") for e in dash_duo.find_elements(f"#{ids.SUP_BREADCRUMB} [data-level]")]
    assert levels == ["province", "city", "district"]
    export = dash_duo.find_element(f"#{ids.SUP_EXPORT}").get_attribute("href")
    assert "district=620103" in export and "/supervise/export.csv" in export
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
def test_sup003_clicking_a_district_bar_filters_the_table(dash_duo, sqlite_stores, size):
    """At 4K the page is drawn at 2x (CSS zoom): a click still lands on the bar it is drawn on."""
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app)
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False})
    dash_duo.driver.get(dash_duo.server_url + "/supervise?city=620100&state=all")
    dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OVERDUE']", timeout=15)
    bars = dash_duo.wait_for_element(f"#{ids.SUP_DISTRICT_BARS} g.point path", timeout=10)
    points = dash_duo.find_elements(f"#{ids.SUP_DISTRICT_BARS} g.point path")
    assert len(points) == 2 and bars is not None
    # Bars are drawn smallest first: the second is 620103 (5 tickets). Plotly's drag layer lies on
    # top of the bars and turns a click at the bar's place into its click event.
    ActionChains(dash_duo.driver).move_to_element(points[1]).click().perform()
    dash_duo.wait_for_contains_text(f"#{ids.SUP_BREADCRUMB}", "620103", timeout=10)
    assert "district=620103" in dash_duo.driver.current_url
    dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OK0']", timeout=15)
    shown = {e.get_attribute("href").rsplit("/", 1)[1]
             for e in dash_duo.find_elements(f"#{ids.SUP_GRID} a[href^='/tickets/']")}
    assert shown == {f"T-OK{i}" for i in range(5)}
    assert dash_duo.get_logs() == []


def test_sup004_wall_alert_to_ticket_in_two_clicks_then_acknowledge_in_the_inbox(dash_duo, sqlite_stores):
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="王督办")
    dash_duo.driver.get(dash_duo.server_url + "/wall/620100")
    # The wall's panel leads with the reason and totals the open alerts.
    selector = ".ck-wall-alerts a.ck-wall-alert[data-alert]"
    dash_duo.wait_for_element(selector, timeout=20)
    text, alert_id = on_fresh(dash_duo, selector, lambda a: (a.text, a.get_attribute("data-alert")))
    assert "超期未办结 · 1 件 · 最久 " in text
    assert on_fresh(dash_duo, ".ck-wall-alert-total", lambda e: e.get_attribute("data-total")) == "1"
    on_fresh(dash_duo, f"{selector}[data-alert='{alert_id}']", lambda a: a.click())  # click 1: that alert
    dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-selected-title", timeout=15)
    assert f"alert={alert_id}" in dash_duo.driver.current_url
    assert dash_duo.find_element(f"#{ids.SUP_ALERTS} .ck-sup-total").get_attribute("data-total") == "1"
    ticket = dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OVERDUE']", timeout=15)
    assert len(dash_duo.find_elements(f"#{ids.SUP_GRID} a[href^='/tickets/']")) == 1
    # The inbox acts on the selected alert as the logged-in user, and the history shows it.
    dash_duo.find_element(".ck-btn-ack").click()
    dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-sup-history [data-action='acknowledged']", timeout=10)
    assert "王督办" in dash_duo.find_element(f"#{ids.SUP_SELECTED} .ck-sup-history").text
    ticket = dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-OVERDUE']", timeout=15)
    ticket.click()  # click 2: the ticket
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-step[data-step='ticket.returned']", timeout=15)
    assert dash_duo.get_logs() == []


def test_sup005_silence_the_selected_group_for_hours_as_the_logged_in_user(dash_duo, sqlite_stores):
    from sqlalchemy import select

    from cockpit.store.models import Alert
    from cockpit.watch import alerts

    _seed(sqlite_stores)
    with sqlite_stores.session() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.rule == "overdue"))
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="李静默")
    dash_duo.driver.get(dash_duo.server_url + f"/supervise?alert={alert_id}")
    dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-selected-title", timeout=15)
    dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} .ck-sup-total[data-total='1']", timeout=15)
    dash_duo.find_element(".ck-btn-silence").click()  # without a note: refused, nothing silenced
    dash_duo.wait_for_contains_text(f"#{ids.SUP_ACT_MSG}", "静默需填写说明", timeout=10)
    dash_duo.find_element(f"#{ids.SUP_ACT_NOTE}").send_keys("系统切换，已知")
    dash_duo.find_element(".ck-btn-silence").click()
    dash_duo.wait_for_contains_text(f"#{ids.SUP_ACT_MSG}", "已静默至", timeout=10)
    # The inbox is redrawn without the silenced group; the silence is the user's, for the default 4 h.
    dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} .ck-sup-total[data-total='0']", timeout=15)
    with sqlite_stores.session() as session:
        (sil,) = alerts.silences(session)
        assert session.get(Alert, alert_id).suppressed_by == f"silence:{sil['id']}"
    assert sil["by"] == "李静默" and (sil["rule"], sil["city"]) == ("overdue", "620100")
    left = datetime.fromisoformat(sil["ends_at"]) - datetime.now(UTC)
    assert timedelta(hours=3, minutes=55) < left <= timedelta(hours=4)
    assert dash_duo.get_logs() == []
