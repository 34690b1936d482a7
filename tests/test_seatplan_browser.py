"""/supervise's planning panel in headless Chromium: today's calls against the forecast and the seats,
in Chinese and English, screenshotted; a short history says the forecast is not to be trusted yet."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from app import create_app
from cockpit import timeutil
from cockpit.http.planning import roster_document
from layouts import ids
from layouts.roster import current_week
from tests.browser import ARTIFACTS, full_hd
from tests.login import browser_login
from tests.metric_events import call, ingest, seat

pytestmark = pytest.mark.browser


def _history(now, days: int) -> list[dict]:
    """Calls around this time of day for ``days`` days back (a daily wave, 2-6 a quarter hour), today a
    little busier, and four seats logged in."""
    events, n = [], 0
    base = timeutil.floor_interval(now)
    for d in range(days, -1, -1):
        for q in range(-28, 12 if d else 0):  # 7 hours before to 3 hours after this time of day
            start = base - timedelta(days=d) + q * timeutil.INTERVAL
            per_q = round(4 + 2 * math.sin(q / 6)) + (1 if d == 0 else 0)
            for i in range(per_q):
                n += 1
                events += call(f"h{n}", queued=start + timedelta(seconds=60 + 150 * i), answer_after=6, talk=240)
    return events + [seat(f"P{k}", "ready", now - timedelta(minutes=20)) for k in range(4)]


def test_supplan001_panel_in_both_languages(dash_duo, sqlite_stores):
    stores = sqlite_stores
    now = timeutil.utcnow()
    ingest(stores, _history(now, 14))
    roster_document(stores, scope="620100", week=current_week(stores.settings.tz), now=now, by="排班员")
    app = create_app(stores.settings, stores=stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100", name="张科长")
    full_hd(dash_duo)
    ARTIFACTS.mkdir(exist_ok=True)
    for lang, title, offered in (("zh", "话务预测与坐席", "今日来电"), ("en", "Forecast and seats", "Calls today")):
        dash_duo.driver.get(dash_duo.server_url + "/supervise" + ("?lang=en" if lang == "en" else ""))
        dash_duo.wait_for_element(f"#{ids.SUP_PLAN} .ck-plan-table tbody tr", timeout=60)
        panel = dash_duo.find_element(f"#{ids.SUP_PLAN}")
        assert title in panel.text and offered in panel.text
        assert not dash_duo.find_elements(f"#{ids.SUP_PLAN} [data-note='insufficient']")
        assert len(dash_duo.find_elements(f"#{ids.SUP_PLAN} .ck-plan-table tbody tr")) == 5  # now .. +2 h, every 30 min
        logged = dash_duo.find_element(f"#{ids.SUP_PLAN} [data-stat='logged_in'] .ck-plan-value").text
        assert logged == "4"
        planned = dash_duo.find_element(f"#{ids.SUP_PLAN} [data-stat='planned'] .ck-plan-value").text
        assert planned.isdigit()  # the kept roster's seats now
        dash_duo.wait_for_element(f"#{ids.SUP_PLAN_CHART} g.trace.bars", timeout=20)
        if lang == "en":
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in panel.text)
        dash_duo.driver.save_screenshot(str(ARTIFACTS / f"supervise_plan_{lang}_1920x1080.png"))
    assert dash_duo.get_logs() == []


def test_supplan002_short_history_is_marked(dash_duo, sqlite_stores):
    stores = sqlite_stores
    ingest(stores, _history(timeutil.utcnow(), 2))
    app = create_app(stores.settings, stores=stores)
    browser_login(dash_duo, app, role="supervisor", scope="620100")
    dash_duo.driver.get(dash_duo.server_url + "/supervise")
    note = dash_duo.wait_for_element(f"#{ids.SUP_PLAN} [data-note='insufficient']", timeout=60)
    assert "预测数据不足" in note.text
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "supervise_plan_short_history_zh.png"))
    assert dash_duo.get_logs() == []
