"""Every page in both languages at 1080p and 4K on demo-like data, screenshotted for people to look
at (tests/artifacts/screens/), English pages free of Chinese, unknown regions a not-found page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from cockpit.views import panels
from cockpit.store.models import Ticket
from layouts import ids
from layouts.i18n import t
from tests.screens_data import seed_demo_like
from tests.browser import (ARTIFACTS, crowded_titles, cut_alert_rows, cut_chart_labels, cut_figures, external_requests,
                           smallest_text)
from tests.login import browser_login

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "screens"
SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
CJK = re.compile(r"[\u3400-\u9fff]")
LANG_SWITCH = "中文"  # the one Chinese word an English page may show: the way back to Chinese


@pytest.fixture
def demo_app(sqlite_stores):
    now = seed_demo_like(sqlite_stores)
    # the worker's hot topics, so both languages show real ones (of the seeded day, at any hour)
    panels.precompute_topics(sqlite_stores, now=now)
    with sqlite_stores.session() as session:  # a ticket with a history: dispatched, handled, closed
        ticket = session.scalars(select(Ticket.ticket_id).where(Ticket.city == "620100", Ticket.closed_at.is_not(None))
                                 .order_by(Ticket.ticket_id).limit(1)).first()
    return create_app(sqlite_stores.settings, stores=sqlite_stores), ticket


def _size(dash_duo, name: str) -> None:
    width, height = SIZES[name]
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _pages(ticket: str | None) -> list[tuple[str, str, str]]:
    """(name, path, CSS selector that says the page has its data)."""
    pages = [
        ("home", "/", f"#{ids.HOME_TABLE} tr[data-city]"),
        ("wall-620100", "/wall/620100", ".ck-wall-districts path.leaflet-interactive"),
        ("wall-620200", "/wall/620200", ".ck-wall-hourly img"),
        ("province-620000", "/province/620000", "tr[data-city='620100'] img.ck-spark"),
        ("supervise", "/supervise?city=620100", f"#{ids.SUP_GRID} .ag-row"),
        ("roster", "/roster?scope=620100", f"#{ids.ROSTER_PLAN} .ck-roster-row"),
    ]
    if ticket:
        pages.append(("ticket", f"/tickets/{ticket}", f"#{ids.TK_BODY} .ck-step"))
    return pages


def _visible_text(dash_duo) -> str:
    return dash_duo.driver.execute_script("return document.body.innerText;")


def _interface_text(dash_duo) -> str:
    """The visible text without what citizens and officers recorded (complaint, address, notes):
    those are shown as written and marked ``lang="zh-CN"`` / ``.ck-recorded``; everything else on an
    English page is the interface and must be English."""
    return dash_duo.driver.execute_script(
        "var hidden = Array.from(document.querySelectorAll('.ck-recorded, [lang=zh-CN]'));"
        "var before = hidden.map(function (e) { var v = e.style.display; e.style.display = 'none'; return v; });"
        "var text = document.body.innerText;"
        "hidden.forEach(function (e, i) { e.style.display = before[i]; });"
        "return text;")


def _settled_text(dash_duo, selector: str, pattern: str, timeout: float = 15) -> str:
    """The element's whitespace-normalised text once it matches ``pattern``, or its last text."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    seen = [""]

    def settled(driver) -> bool:
        seen[0] = " ".join(dash_duo.wait_for_element(selector, timeout=10).text.split())
        return re.match(pattern, seen[0]) is not None

    try:
        WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.2,
                      ignored_exceptions=(StaleElementReferenceException,)).until(settled)
    except TimeoutException:
        pass  # the caller's assertion shows the text that never settled
    return seen[0]


def _settled(dash_duo, read, ok, timeout: float = 5.0):
    """``read()`` once ``ok`` holds for it, or its value after ``timeout`` s (for the assertion)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.25).until(
            lambda _driver: (lambda value: value if ok(value) else None)(read()))
    except TimeoutException:
        return read()


def test_scr030_every_page_both_languages_1080p_and_4k(dash_duo, demo_app):
    app, ticket = demo_app
    browser_login(dash_duo, app)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        _size(dash_duo, size)
        for name, path, ready in _pages(ticket):
            for lang in ("zh", "en"):
                sep = "&" if "?" in path else "?"
                dash_duo.driver.get(f"{dash_duo.server_url}{path}{sep}lang={lang}")
                dash_duo.wait_for_element(ready, timeout=20)
                if name == "supervise":  # exact counts: "1 to 50 of 1,234", never "of more"
                    # the grid says "1 to ? of more" while its first block is in flight; the exact count
                    # must replace it once the block arrives
                    pattern = r"^1 to 50 of [\d,]+$" if lang == "en" else r"^1 至 50 共 [\d,]+$"
                    summary = _settled_text(dash_duo, ".ag-paging-row-summary-panel", pattern)
                    assert re.match(pattern, summary), summary
                if name.startswith(("wall", "province")):
                    dash_duo.wait_for_element(".ck-wall-badge", timeout=10)
                    # every panel painted and dated (the screenshot shows the page as it stays)
                    dash_duo.wait_for_element(".ck-wall-panel .ck-wall-as-of:not(:empty)", timeout=10)
                    _settled(dash_duo, lambda: dash_duo.driver.execute_script(
                        "return document.querySelectorAll('.ck-wall-panel .ck-wall-as-of:empty').length;"),
                        lambda empty: empty == 0)
                    if name.startswith("province"):  # its map's shapes drawn, not "Loading..." (strb005)
                        dash_duo.wait_for_element(".ck-wall-map path.leaflet-interactive", timeout=10)
                    scroll = dash_duo.driver.execute_script(
                        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
                    assert scroll == list(SIZES[size]), f"{name} {lang} {size} scrolls: {scroll}"
                    words = [f"{t(k, lang)} 23:59:59" for k in ("common.as_of", "wall.stale", "wall.panel_failed")]
                    assert crowded_titles(dash_duo, words) == [], f"{name} {lang} {size}"
                    assert cut_figures(dash_duo) == [], f"figures cut on {name} {lang} {size}"
                if name.startswith("wall"):  # every open alert is shown whole or counted in "+N more"
                    assert cut_alert_rows(dash_duo) == [], f"alert rows cut on {name} {lang} {size}"
                    shown, more, total = dash_duo.driver.execute_script(
                        "var p = document.querySelector('.ck-wall-alerts'), m = p.querySelector('[data-more]'),"
                        " t = p.querySelector('[data-total]');"
                        "return [p.querySelectorAll('.ck-wall-alert').length, m ? +m.dataset.more : 0,"
                        " t ? +t.dataset.total : 0];")
                    assert shown + more == total, (name, lang, size, shown, more, total)
                if name == "wall-620100":  # the worker's topics, by size while the baseline loads
                    dash_duo.wait_for_element(".ck-wall-topics .ck-wall-topic[data-rank='1']", timeout=10)
                    for panel in ("topics", "categories"):  # every row of the side panels fits, none cut off
                        cut = dash_duo.driver.execute_script(
                            f"var b = document.querySelector('.ck-wall-{panel} .ck-wall-panel-body');"
                            "var box = b.getBoundingClientRect();"
                            "return Array.from(b.querySelectorAll('*')).filter(function (e) {"
                            " var r = e.getBoundingClientRect(); return r.height > 0 &&"
                            " (r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5); }).length;")
                        assert cut == 0, f"{panel} rows cut off on {name} {lang} {size}"
                    assert dash_duo.find_element(".ck-wall-topic-head").size["height"] > 0
                if name in ("supervise", "roster"):  # Plotly charts: every label whole, none on another
                    chart = f"#{ids.ROSTER_CHART}" if name == "roster" else f"#{ids.SUP_CATEGORY_BARS}"
                    dash_duo.wait_for_element(f"{chart} .main-svg .ytick text", timeout=15)
                    labels = _settled(dash_duo, lambda: cut_chart_labels(dash_duo), lambda found: found == [])
                    assert labels == [], f"{name} {lang} {size}: {labels[:5]}"
                # readable text: 12 px at 1080p, twice that at 4K (every page is drawn at 2x there)
                least = 24 if size == "4k" else 12
                # measured once the map's labels have their size (container units follow the panel's
                # layout, which can still be 1080p's for a moment after the page's data arrives)
                small = _settled(dash_duo, lambda: smallest_text(dash_duo), lambda found: found[0] >= least)
                assert small[0] >= least, f"{name} {lang} {size}: text of {small[0]} px: {small[1]}"
                text = _interface_text(dash_duo)
                if lang == "en":
                    leaks = sorted({m for m in CJK.findall(text.replace(LANG_SWITCH, ""))})
                    assert not leaks, f"{name} at {size} shows Chinese in English: {''.join(leaks)}"
                dash_duo.driver.save_screenshot(str(SHOTS / f"{name}-{lang}-{size}.png"))
    assert external_requests(dash_duo) == []
    assert dash_duo.get_logs() == []


def test_scr031_unknown_region_is_a_not_found_page_with_ways_out(dash_duo, demo_app):
    app, _ticket = demo_app
    browser_login(dash_duo, app)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        _size(dash_duo, size)
        for lang in ("zh", "en"):
            dash_duo.driver.get(f"{dash_duo.server_url}/wall/999999?lang={lang}")
            dash_duo.wait_for_element(".ck-nf-links a", timeout=10)
            text = _visible_text(dash_duo)
            assert "999999" in text and "数据正常" not in text and "Data live" not in text
            if lang == "en":
                assert not CJK.search(text.replace(LANG_SWITCH, ""))
            dash_duo.driver.save_screenshot(str(SHOTS / f"not-found-{lang}-{size}.png"))
    links = [a.get_attribute("href") for a in dash_duo.driver.find_elements("css selector", ".ck-nf-links a")]
    assert any(h.endswith("/province/620000?lang=en") for h in links)
    assert any(h.endswith("/wall/620100?lang=en") for h in links)
    # No get_logs() check: the browser rightly logs the 404 answer that this page is.


def test_scr032_ticket_action_errors_beside_the_button_and_note_cleared(dash_duo, sqlite_stores):
    from datetime import UTC, datetime, timedelta

    from cockpit.ingest import ingest_batch
    from cockpit.watch import evaluate as watchpoints
    from tests.factories import Stream

    s = Stream(base=datetime.now(UTC) - timedelta(days=8), prefix="scr32-")
    ingest_batch(sqlite_stores, s.ticket("T-LATE", 0, close=False), source="test")  # overdue now
    watchpoints.evaluate_all(sqlite_stores)
    browser_login(dash_duo, create_app(sqlite_stores.settings, stores=sqlite_stores))
    dash_duo.driver.get(dash_duo.server_url + "/tickets/T-LATE")
    card = f"#{ids.TK_BODY} .ck-alert-card[data-state='firing']"
    dash_duo.wait_for_element(card, timeout=15)
    resolve = f"{card} .ck-alert-actions button:last-of-type"
    dash_duo.find_element(resolve).click()  # resolving without a note
    error = dash_duo.wait_for_element(f"{card} .ck-tk-action-msg.ck-tk-error", timeout=10)
    assert error.text == "解除预警需要填写说明"  # beside the button, in the page's language
    assert dash_duo.find_element(f"#{ids.TK_MESSAGE}").text == ""
    SHOTS.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})
    dash_duo.driver.save_screenshot(str(SHOTS / "ticket-action-refused-zh-1080p.png"))
    dash_duo.find_element(f"#{ids.TK_NOTE}").send_keys("已电话联系承办单位")
    dash_duo.find_element(resolve).click()
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-alert-card[data-state='resolved']", timeout=10)
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-tk-action-msg.ck-tk-ok", timeout=5)
    assert dash_duo.find_element(f"#{ids.TK_NOTE}").get_attribute("value") == ""  # the note is not reused
    colors = dash_duo.driver.execute_script(
        f"var s = getComputedStyle(document.getElementById('{ids.TK_NOTE}')); return [s.color, s.backgroundColor];")
    assert colors == ["rgb(230, 237, 247)", "rgb(11, 18, 32)"]  # light text on the dark field, readable
    assert dash_duo.get_logs() == []
