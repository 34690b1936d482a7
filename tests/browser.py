"""Helpers shared by the browser tests (dash_duo): artifacts, offline check, screen size, seed data."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cockpit.ingest import ingest_batch
from tests.factories import Stream
from tests.timeofday import today_base

ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots (ignored by git)


def external_requests(dash_duo) -> list[str]:
    """URLs the page loaded from anywhere but the local test server (Resource Timing API)."""
    urls = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    return [u for u in urls if not (u.startswith("http://127.0.0.1") or u.startswith("http://localhost")
                                    or u.startswith("data:"))]


def full_hd(dash_duo) -> None:
    """Emulate a 1920x1080 wall screen."""
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})


def seed_two_cities(stores, now: datetime) -> None:
    """Two cities, a few calls, tickets and seats in the last hour; last week's same hour for Lanzhou.

    Everything lies on today's local date at any hour (``tests.timeofday``): just after midnight
    the 50 minutes start at midnight and the waiting call is offered before ``now``. Callers that
    go on to look at a screen call ``wait_for_room()`` before taking ``now``."""
    base = today_base(now, timedelta(minutes=50))
    waiting_at = max(0, min(2990, int((now - base).total_seconds()) - 10))
    raws: list[dict] = []
    for city, n_calls, n_tickets in (("620100", 12, 6), ("620200", 4, 2)):
        s = Stream(city, base=base, prefix=f"wb-{city}-")
        for i in range(n_calls):
            if i % 4 == 3:
                raws += s.abandoned_call(f"{city}-c{i}", i * 120, 30 + i)
            else:
                raws += s.answered_call(f"{city}-c{i}", i * 120, 3 + i, 90, seat=f"s{i % 3}")
        for i in range(n_tickets):
            raws += s.ticket(f"{city}-T{i}", 60 + i * 300, district=("620102", "620103", "620104")[i % 3]
                             if city == "620100" else "620201",
                             category=(("城乡建设", "供热"), ("交通运输", "公交"), ("市场监管", "价格"))[i % 3],
                             close=False)
        for seat, state in ((0, "on_call"), (1, "ready"), (2, "acw")):
            raws.append(s.event("seat.state", 30, seat_id=f"s{seat}", state=state))
        raws.append(s.event("call.offered", waiting_at, call_id=f"{city}-waiting"))
    last = Stream("620100", base=base - timedelta(days=7), prefix="wb-lw-")
    for i in range(8):
        raws += last.answered_call(f"lw-c{i}", i * 200, 5, 60)
    result = ingest_batch(stores, raws, source="test")
    assert result.rejected == []


def on_fresh(dash_duo, selector: str, action, timeout: float = 15):
    """``action(element)`` on the element ``selector`` finds, found again when a refresh replaced it.

    Walls and the province page re-render their panels every tick; an element found just before a
    refresh goes stale. The action is retried on the new element (Selenium's wait, ignoring stale
    references), so the test still checks what the page shows, not when it last repainted.
    """
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    done: list = []

    def attempt(driver) -> bool:
        done.append(action(dash_duo.wait_for_element(selector, timeout=timeout)))
        return True

    WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.1,
                  ignored_exceptions=(StaleElementReferenceException,)).until(attempt)
    return done[-1]


def crowded_titles(dash_duo, words: list[str]) -> list[str]:
    """Panels whose title is cut (scrollWidth > clientWidth) or overlapped by its freshness badge
    when the badge reads each of ``words`` ("数据过期 23:59:59", ...); set and measured in one
    script, so no refresh interleaves, and put back after."""
    return dash_duo.driver.execute_script(
        "var words = arguments[0], out = [];"
        "document.querySelectorAll('.ck-wall-panel').forEach(function (p) {"
        " var title = p.querySelector('.ck-wall-panel-title'), badge = p.querySelector('.ck-wall-as-of');"
        " var name = p.className.split(' ')[1], before = badge.textContent;"
        " words.forEach(function (w) {"
        "  badge.textContent = w;"
        "  var t = title.getBoundingClientRect(), b = badge.getBoundingClientRect(), box = p.getBoundingClientRect();"
        "  if (title.scrollWidth > title.clientWidth + 0.5) { out.push(name + ' title cut beside ' + w); }"
        "  else if (b.right > box.right + 0.5 || (t.right > b.left + 0.5 && b.right > t.left + 0.5"
        "           && t.bottom > b.top + 0.5 && b.bottom > t.top + 0.5)) { out.push(name + ' badge crowds ' + w); }"
        " });"
        " badge.textContent = before;"
        "});"
        "return out;", words)


def cut_alert_rows(dash_duo) -> list[str]:
    """The wall alert panel's rows (head and items) that are not wholly inside its body and the
    window, or whose text is cut; empty when every row it shows can be read."""
    return dash_duo.driver.execute_script(
        "var b = document.querySelector('.ck-wall-alerts .ck-wall-panel-body'), box = b.getBoundingClientRect();"
        "return Array.from(b.children).filter(function (e) {"
        " var r = e.getBoundingClientRect(), title = e.querySelector('.ck-wall-alert-title');"
        " return r.height <= 0 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5"
        "  || r.bottom > window.innerHeight || (title && title.scrollWidth > title.clientWidth + 0.5);"
        "}).map(function (e) { return e.textContent; });")


def cut_figures(dash_duo) -> list[str]:
    """The wall's big figures (``.ck-wall-big-value``) not drawn whole: overlapped by their label
    or their notes (a crowded panel squeezes the column they share), cut at the side, or reaching
    out of their panel's body."""
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.ck-wall-big-value')).filter(function (e) {"
        " var r = e.getBoundingClientRect(); if (r.width <= 0 && r.height <= 0) { return false; }"
        " var big = e.closest('.ck-wall-big'), body = e.closest('.ck-wall-panel-body') || e;"
        " var box = body.getBoundingClientRect(), font = parseFloat(getComputedStyle(e).fontSize);"
        " var label = big && big.querySelector('.ck-wall-big-label'), notes = big && big.querySelector('.ck-wall-big-notes');"
        " var over = function (o, above) { if (!o || !o.textContent.trim()) { return false; }"
        "  var q = o.getBoundingClientRect(); return above ? q.bottom > r.top + 0.5 : q.top < r.bottom - 0.5; };"
        " return over(label, true) || over(notes, false) || r.height < 0.95 * font"
        "  || e.scrollWidth > e.clientWidth + 1 || r.bottom > box.bottom + 0.5 || r.top < box.top - 0.5;"
        "}).map(function (e) { return e.textContent; });")


def smallest_text(dash_duo) -> list:
    """[size, text] of the smallest visible text on the page, in screen pixels (font size times the
    CSS zoom it is drawn at); SVG and canvas text (charts, drawn images) are not counted."""
    return dash_duo.driver.execute_script(
        "var best = [1e9, ''];"
        "var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
        "while (walker.nextNode()) {"
        " var n = walker.currentNode, e = n.parentElement;"
        " if (!n.textContent.trim() || !e || e.closest('svg')) { continue; }"
        " var r = e.getBoundingClientRect();"
        " if (r.width <= 0 || r.height <= 0 || r.bottom < 0 || r.top > window.innerHeight) { continue; }"
        " var s = getComputedStyle(e); if (s.visibility === 'hidden' || s.opacity === '0') { continue; }"
        " var px = parseFloat(s.fontSize) * (e.currentCSSZoom || 1);"
        " if (px < best[0]) { best = [px, n.textContent.trim().slice(0, 40)]; }"
        "}"
        "return best;")


def cut_chart_labels(dash_duo) -> list[str]:
    """The tick and legend labels of the page's Plotly charts that are not drawn whole inside their
    chart (placed for a wrong measure of their size, they are pushed out and clipped), or that
    overlap another label of the same axis."""
    return dash_duo.driver.execute_script(
        "var out = [];"
        "document.querySelectorAll('.js-plotly-plot').forEach(function (gd) {"
        " var svg = gd.querySelector('.main-svg'); if (!svg) { return; }"
        " var box = svg.getBoundingClientRect();"
        " ['.xtick text', '.ytick text', '.y2tick text', '.legendtext'].forEach(function (sel) {"
        "  var seen = [];"
        "  gd.querySelectorAll(sel).forEach(function (t) {"
        "   var r = t.getBoundingClientRect(); if (r.width <= 0 || !t.textContent.trim()) { return; }"
        "   if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {"
        "    out.push(gd.id + ' ' + sel + ' out: ' + t.textContent); }"
        "   seen.forEach(function (o) {"
        "    if (r.left < o.right - 1 && o.left < r.right - 1 && r.top < o.bottom - 1 && o.top < r.bottom - 1) {"
        "     out.push(gd.id + ' ' + sel + ' overlap: ' + t.textContent); }"
        "   });"
        "   seen.push(r);"
        "  });"
        " });"
        "});"
        "return out;")


UNREADABLE_CONTROLS_JS = """
function rgba(s) { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : m.concat([1]); }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); }
function background(el) {
  for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0.5) return c; }
  return [255, 255, 255, 1];
}
const out = [];
for (const el of document.querySelectorAll('.dash-input-element, .dash-dropdown-value, .dash-dropdown-placeholder')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const a = lum(rgba(getComputedStyle(el).color)), b = lum(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) out.push((el.id || el.className) + ' ' + ratio.toFixed(2));
}
return out;
"""


def unreadable_controls(dash_duo) -> list[str]:
    """Visible text inputs and dropdown values whose text contrasts with their background below 4.5:1
    (WCAG AA), as 'id-or-class ratio'."""
    return dash_duo.driver.execute_script(UNREADABLE_CONTROLS_JS)
