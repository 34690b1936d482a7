"""The /supervise inbox as a province supervisor uses it, in headless Chromium (issue 13):
ranked groups with totals per rule and area, paging past the first page, the grid and the export
following the selected alert and rule, and every action (assign to a unit, escalate with a due
date, resolve with a note, bulk acknowledge) recorded under the logged-in user; screenshots in
both languages (tests/artifacts/inbox_*.png)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from app import create_app
from cockpit.ingest import forget_regions, ingest_batch
from cockpit.simulation import catalog
from cockpit.store.models import Alert
from cockpit.views.drill import INBOX_PAGE
from cockpit.watch import alerts
from cockpit.watch import evaluate as watchpoints
from geo.regions import load_default_regions
from layouts import ids
from layouts.wall import ALERT_ROWS
from tests.browser import ARTIFACTS, cut_alert_rows, full_hd, on_fresh
from tests.factories import Stream
from tests.login import browser_login

pytestmark = pytest.mark.browser

DAY = 86400


def _districts(n: int) -> list[tuple[str, str]]:
    """``n`` (city, district) pairs across the province, Lanzhou's first."""
    out = [(c.code, d.code) for c in catalog.cities().values() for d in c.districts]
    return out[:n]


def _seed(stores) -> dict[str, list[str]]:
    """Overdue groups in more districts than one inbox page holds: most of them minor (overdue a
    few hours), 城关区 critical by size (50 tickets), 七里河区 major by age (due 4 days ago)."""
    with stores.session() as session:
        load_default_regions(session)
    forget_regions(stores)
    now = datetime.now(UTC)
    raws: list[dict] = []
    tickets: dict[str, list[str]] = {}
    for i, (city, district) in enumerate(_districts(INBOX_PAGE + 3)):
        if district == "620102":
            n, overdue_h = 50, 5
        elif district == "620103":
            n, overdue_h = 2, 96
        else:
            n, overdue_h = 1, 3
        s = Stream(city, base=now - timedelta(days=5, hours=overdue_h), prefix=f"ib-{district}-")
        for k in range(n):
            tid = f"T-{district}-{k}"
            raws += s.ticket(tid, k * 60, district=district, close=False)
            tickets.setdefault(district, []).append(tid)
    result = ingest_batch(stores, raws, source="test")
    assert result.rejected == []
    watchpoints.evaluate_all(stores, rules=["overdue"])
    return tickets


def _shot(dash_duo, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / f"inbox_{name}.png"))


def test_inbox001_ranked_groups_totals_and_paging_without_a_cap_in_both_languages(dash_duo, sqlite_stores):
    tickets = _seed(sqlite_stores)
    total = len(tickets)
    assert total > INBOX_PAGE
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620000", name="省督办")
    full_hd(dash_duo)
    dash_duo.driver.get(dash_duo.server_url + "/supervise")
    dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} .ck-sup-total[data-total='{total}']", timeout=20)
    rows = dash_duo.find_elements(f"#{ids.SUP_ALERTS} tr.ck-alert-row")
    assert len(rows) == INBOX_PAGE
    first, second = rows[0].text, rows[1].text
    # The inbox is the supervisor's first screen: its first rows show without scrolling at 1080p.
    assert dash_duo.driver.execute_script("return arguments[0].getBoundingClientRect().bottom", rows[4]) < 1080
    # Most severe first: the critical backlog (50 tickets), then the major one (oldest 4 days).
    assert first.startswith("紧急") and "城关区 · 超期未办结 · 50 件 · 最久 5 小时" in first
    assert second.startswith("重要") and "七里河区 · 超期未办结 · 2 件 · 最久 4 天" in second
    summary = dash_duo.find_element(f"#{ids.SUP_ALERTS} .ck-sup-summary").text
    assert "紧急 1" in summary and "重要 1" in summary and f"一般 {total - 2}" in summary
    assert f"超期未办结 {total}" in dash_duo.find_element(".ck-sup-rule-totals").text
    areas = {e.get_attribute("data-key"): e.text for e in dash_duo.find_elements(".ck-sup-area-totals [data-key]")}
    assert areas["620100"].endswith(" 8")  # per city on the province's inbox: Lanzhou's 8 districts
    assert "第 1 / 2 页" in dash_duo.find_element(".ck-pager").text
    _shot(dash_duo, "zh_page1")
    ids_page1 = {e.get_attribute("data-alert") for e in dash_duo.find_elements(f"#{ids.SUP_ALERTS} [data-alert]")}
    dash_duo.find_element(".ck-pager-next").click()
    dash_duo.wait_for_contains_text(".ck-pager", "第 2 / 2 页", timeout=15)
    ids_page2 = {e.get_attribute("data-alert") for e in dash_duo.find_elements(f"#{ids.SUP_ALERTS} [data-alert]")}
    assert len(ids_page2) == total - INBOX_PAGE and not ids_page1 & ids_page2
    with sqlite_stores.session() as session:
        every = {str(a) for a in session.scalars(select(Alert.id).where(Alert.open_key.is_not(None)))}
    assert ids_page1 | ids_page2 == every  # nothing left out, nothing twice
    # A rule chip filters the inbox, and the grid and both exports follow the rule.
    dash_duo.driver.get(dash_duo.server_url + "/supervise?rule=overdue&city=620100&lang=en")
    dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} .ck-sup-total[data-total='8']", timeout=20)
    assert dash_duo.find_element(f"#{ids.SUP_ALERTS} tr.ck-alert-row").text.startswith("Critical")
    assert "Overdue" in dash_duo.find_element(".ck-sup-rule-totals").text
    for export_id in (ids.SUP_EXPORT, ids.SUP_EXPORT_XLSX):
        href = dash_duo.find_element(f"#{export_id}").get_attribute("href")
        assert "rule=overdue" in href and "city=620100" in href
    dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-620102-49']", timeout=20)
    _shot(dash_duo, "en_rule_city")
    assert dash_duo.get_logs() == []


def test_inbox002_actions_as_the_logged_in_user_assign_unit_escalate_due_resolve_bulk(dash_duo, sqlite_stores):
    tickets = _seed(sqlite_stores)
    with sqlite_stores.session() as session:
        group = session.scalar(select(Alert).where(Alert.key == "620100:620102"))
        group_id = group.id
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="赵督办")
    full_hd(dash_duo)
    dash_duo.driver.get(dash_duo.server_url + f"/supervise?alert={group_id}")
    dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-selected-title", timeout=20)
    # The grid holds exactly the group's tickets, and the exports are the group's.
    dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-620102-49']", timeout=20)
    assert f"alert={group_id}" in dash_duo.find_element(f"#{ids.SUP_EXPORT}").get_attribute("href")

    def act(action: str, expect: str, **fields) -> None:
        for id_, value in fields.items():
            box = dash_duo.find_element(f"#{id_}")
            box.send_keys(Keys.CONTROL, "a")  # as a person replaces a field's text (React sees each key)
            box.send_keys(Keys.DELETE)
            box.send_keys(value)
        dash_duo.find_element(f".ck-btn-{action}").click()
        dash_duo.wait_for_element(f"#{ids.SUP_SELECTED} .ck-sup-history [data-action='{expect}']", timeout=15)

    # Assign to a handling unit.
    dash_duo.find_element(f"#{ids.SUP_ACT_KIND} input[value='unit']").click()
    act("assign", "assigned", **{ids.SUP_ACT_TO: "城关区住建局"})
    # Escalate (督办) with a target and a due date: both shown in the history.
    due = (datetime.now(UTC) + timedelta(days=3)).date()
    dash_duo.driver.execute_script(
        "const el = arguments[0]; const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
        "set.call(el, arguments[1]); el.dispatchEvent(new Event('input', {bubbles: true}));"
        "el.dispatchEvent(new Event('change', {bubbles: true})); el.dispatchEvent(new Event('blur', {bubbles: true}));",
        dash_duo.find_element(f"#{ids.SUP_ACT_DUE}"), due.isoformat())
    act("escalate", "escalated", **{ids.SUP_ACT_TO: "区政府督查室", ids.SUP_ACT_NOTE: "三日内办结"})
    history = dash_duo.find_element(f"#{ids.SUP_SELECTED} .ck-sup-history").text
    assert "指派 赵督办 → 城关区住建局" in history
    assert f"督办 赵督办 → 区政府督查室 ({due.strftime('%m-%d')} 23:59) 三日内办结" in history
    _shot(dash_duo, "zh_escalated")
    # Resolve needs a note; with one, it is resolved under the user's name.
    act("resolve", "resolved", **{ids.SUP_ACT_NOTE: "已约谈承办单位"})
    with sqlite_stores.session() as session:
        a = alerts.get(session, group_id)
        assert (a.state, a.resolved_by, a.resolution_note) == ("resolved", "赵督办", "已约谈承办单位")
        assert (a.assignee, a.assignee_kind, a.escalated_to) == ("城关区住建局", "unit", "区政府督查室")
    # Bulk acknowledge: every firing alert on the inbox page, as the user.
    dash_duo.driver.get(dash_duo.server_url + "/supervise")
    dash_duo.wait_for_element(f"#{ids.SUP_ALERTS} .ck-sup-total[data-total='7']", timeout=20)
    dash_duo.find_element(".ck-btn-bulk_ack").click()
    dash_duo.wait_for_contains_text(f"#{ids.SUP_ACT_MSG}", "已完成：7 条", timeout=15)
    with sqlite_stores.session() as session:
        lanzhou = list(session.scalars(select(Alert).where(Alert.city == "620100", Alert.open_key.is_not(None))))
    assert len(lanzhou) == 7 and {(a.state, a.acknowledged_by) for a in lanzhou} == {("acknowledged", "赵督办")}
    assert len(tickets) > 8
    assert dash_duo.get_logs() == []


def test_inbox003_wall_panel_in_english_leads_with_the_reason_most_severe_first_two_clicks_to_a_ticket(
        dash_duo, sqlite_stores):
    _seed(sqlite_stores)
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="wall-en")
    full_hd(dash_duo)
    dash_duo.driver.get(dash_duo.server_url + "/wall/620100?lang=en")
    selector = ".ck-wall-alerts a.ck-wall-alert[data-alert]"
    dash_duo.wait_for_element(selector, timeout=30)
    dash_duo.wait_for_element(".ck-wall-alert-total[data-total='8']", timeout=15)
    head = on_fresh(dash_duo, ".ck-wall-alert-head", lambda e: e.text)
    assert "Critical 1" in head and "Major 1" in head and "Minor 6" in head
    # The rows that fit at 1080p, every one shown; the rest counted in the head ("+3 more").
    texts = on_fresh(dash_duo, ".ck-wall-alerts", lambda e: [
        " ".join(a.get_attribute("textContent").split()) for a in e.find_elements("css selector", "a.ck-wall-alert")])
    shown = on_fresh(dash_duo, ".ck-wall-alerts", lambda e: [a.text for a in e.find_elements(
        "css selector", "a.ck-wall-alert") if a.is_displayed() and a.text])
    assert len(texts) == len(shown) == ALERT_ROWS
    assert "+3 more" in head and cut_alert_rows(dash_duo) == []
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "inbox_wall_en.png"))
    # Most severe first; the reason is in English (no Chinese on an English wall's alert lines).
    assert texts[0].startswith("Critical") and "Chengguan · Overdue · 50 tickets · oldest 5 h" in texts[0]
    assert texts[1].startswith("Major") and "Qilihe · Overdue · 2 tickets · oldest 4 d" in texts[1]
    assert all(t.startswith("Minor") for t in texts[2:]), texts
    assert not any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t), texts
    with sqlite_stores.session() as session:
        qilihe = session.scalar(select(Alert.id).where(Alert.key == "620100:620103"))
    on_fresh(dash_duo, f"{selector}[data-alert='{qilihe}']", lambda a: a.click())  # click 1: that alert
    dash_duo.wait_for_contains_text(f"#{ids.SUP_SELECTED} .ck-selected-title", "Qilihe · Overdue · 2 tickets",
                                    timeout=20)
    assert f"alert={qilihe}" in dash_duo.driver.current_url and "lang=en" in dash_duo.driver.current_url
    ticket = dash_duo.wait_for_element(f"#{ids.SUP_GRID} a[href='/tickets/T-620103-1']", timeout=20)
    assert len(dash_duo.find_elements(f"#{ids.SUP_GRID} a[href^='/tickets/']")) == 2
    ticket.click()  # click 2: the ticket
    dash_duo.wait_for_element(f"#{ids.TK_BODY} .ck-step[data-step='ticket.created']", timeout=20)
    assert dash_duo.driver.current_url.split("?")[0].endswith("/tickets/T-620103-1")
    assert dash_duo.get_logs() == []
