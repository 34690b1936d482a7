"""Builders of /supervise and /tickets/<id>: pure functions of a view model (no database)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cockpit.settings import Settings
from layouts import ids
from layouts.i18n import MESSAGES
from layouts.page import PageContext
from layouts.supervise import bars, supervise_page, view_parts
from layouts.ticket import duration, ticket_body, ticket_page

TZ = ZoneInfo("Asia/Shanghai")


def _find(component, id_):
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = _find(child, id_)
            if found is not None:
                return found
    return None


def test_sup010_page_frame_takes_its_filters_from_the_url():
    ctx = PageContext(lang="en", settings=Settings(), query={"city": "620100", "rule": "overdue", "lang": "en"},
                      path="/supervise")
    page = supervise_page(ctx)
    assert _find(page, ids.SUP_QUERY).data == {"city": "620100", "rule": "overdue", "lang": "en"}
    assert _find(page, ids.SUP_RULE).value == "overdue" and _find(page, ids.SUP_STATE).value == "open"
    grid = _find(page, ids.SUP_GRID)
    assert grid.rowModelType == "infinite" and not getattr(grid, "rowData", None)  # rows come page by page
    assert _find(page, ids.SUP_EXPORT).href == "/supervise/export.csv?city=620100&rule=overdue&lang=en"


def test_sup011_view_parts_and_ticket_body_render_in_both_languages():
    alert = {"id": 3, "rule": "overdue", "key": "T1", "city": "620100", "district": "620102", "severity": "major",
             "state": "firing", "title": "工单T1超期未办结", "detail": {"filter": {"ticket_ids": ["T1"]}},
             "first_seen": "2026-11-28T02:00:00+00:00", "fired_at": "2026-11-28T02:00:00+00:00"}
    view = {"query": {"alert": "3"}, "alerts": [alert], "selected": alert, "facets": {
        "district": [("620102", 3)], "category": [("供热", 2)]}, "names": {"620102": "城关区"}, "cities": ["620100"],
        "districts": ["620102"], "breadcrumb": [{"level": "province", "code": "620000", "name": "甘肃省", "query": ""}],
        "rules": {}, "state": "open"}
    for lang in ("zh", "en"):
        crumbs, table, selected, d_fig, c_fig, city_opts, district_opts = view_parts(view, lang, TZ)
        # names in the page's language (issue 14: English pages showed Chinese district names)
        assert district_opts == [{"label": {"zh": "城关区", "en": "Chengguan"}[lang], "value": "620102"}]
        assert d_fig.data[0].customdata == ("620102",)
    step = {"type": "ticket.created", "at": datetime(2026, 11, 20, 2), "unit": None, "detail": {},
            "since_prev_s": None, "since_created_s": 0.0}
    tv = {"ticket": {"status": "dispatched", "unit": "U", "category_path": ["城乡建设", "供热"], "category": "城乡建设",
                     "address": None, "caller": None, "text": "暖气不热", "lat": None, "lon": None, "district": None},
          "steps": [step], "clocks": {"due_at": None, "due_left_s": -60.0, "closed_late_s": None,
                                      "response_due_at": None, "responded_in_s": None, "response_left_s": None,
                                      "open_for_s": 90000.0, "closed_in_s": None},
          "related": [], "alerts": [{**alert, "history": []}], "breadcrumb": [], "names": {}}
    assert ticket_body(tv, "en", TZ) is not None and ticket_body(None, "zh", TZ).children == "工单不存在"
    assert _find(ticket_page(PageContext(lang="zh", settings=Settings()), "T1"), ids.TK_ID).data == "T1"
    assert bars([], {}, selected=None).data[0].x == ()


def test_sup012_durations_and_catalogues():
    assert duration(90061, "zh") == "1天1小时" and duration(90061, "en") == "1d 1h"
    assert duration(59, "zh") == "0分钟" and duration(None, "en") == ""
    for key in ("sup.title", "tk.timeline", "rule.urgent_content", "step.ticket.reopened"):
        assert MESSAGES[key]["zh"] and MESSAGES[key]["en"]


def test_sup013_alerts_without_a_district_are_counted_city_wide_not_as_a_dash():
    from layouts.supervise import inbox_summary

    view = {"query": {"city": "620100"}, "names": {"620102": "城关区"},
            "inbox": {"total": 3, "by_severity": {"minor": 3}, "by_rule": {"dissatisfied": 3},
                      "by_area": {"620102": 2, "": 1}}}
    for lang, whole in (("zh", "全市 1"), ("en", "City-wide 1")):
        chips = inbox_summary(view, lang).children[2].children[1:]
        assert [c.children.children for c in chips] == [("城关区" if lang == "zh" else "Chengguan") + " 2", whole]


def test_sup014_ticket_without_text_or_deadlines_says_so():
    tv = {"ticket": {"status": "closed", "unit": None, "category_path": [], "category": None, "address": None,
                     "caller": None, "text": None, "lat": None, "lon": None, "district": None},
          "steps": [], "clocks": {"due_at": None, "due_left_s": None, "closed_late_s": None, "response_due_at": None,
                                  "responded_in_s": None, "response_left_s": None, "open_for_s": None,
                                  "closed_in_s": None},
          "related": [], "alerts": [], "breadcrumb": [], "names": {}}
    text = str(ticket_body(tv, "en", TZ))
    assert "No text recorded" in text and text.count("Not set") == 2


def test_sup015_a_city_users_inbox_chips_name_districts_and_link_them_as_districts():
    """A Lanzhou supervisor's /supervise (no city in the URL) groups the inbox by district: the chips must
    filter by district (not ?city=<district code>) and the alerts without a district are city-wide."""
    from layouts.supervise import inbox_summary

    view = {"query": {}, "names": {"620121": "永登县"},
            "inbox": {"total": 6, "by_severity": {"major": 6}, "by_rule": {"overdue": 6},
                      "by_area": {"620121": 5, "": 1}, "area": "district"}}
    chips = inbox_summary(view, "zh").children[2].children[1:]
    assert [c.children.children for c in chips] == ["永登县 5", "全市 1"]
    assert [c.children.href for c in chips] == ["/supervise?district=620121", "/supervise"]


def test_sup016_every_signed_in_page_offers_home_and_logout():
    """Only the admin page linked /logout: a leader or supervisor had no way to log out (or home) but
    typing the URL. Every page under the common header now has both, in the page's language."""
    from layouts.assessment import assessment_page
    from layouts.home import home_page
    from layouts.reports import reports_page
    from layouts.roster import roster_page

    def links(component) -> dict[str, str]:
        out = {}

        def walk(c):
            if isinstance(c, (list, tuple)):
                for x in c:
                    walk(x)
            elif c is not None and not isinstance(c, (str, int, float)):
                if getattr(c, "href", None):
                    out[c.href] = c.children
                walk(getattr(c, "children", None))
        walk(component)
        return out

    for lang, logout, home in (("zh", "退出登录", "首页"), ("en", "Log out", "Home")):
        for build in (home_page, supervise_page, assessment_page, reports_page, roster_page,
                      lambda ctx: ticket_page(ctx, "T1")):
            found = links(build(PageContext(lang=lang, settings=Settings(), query={"lang": lang})))
            assert found.get(f"/logout?lang={lang}") == logout, build
            assert found.get("/" if lang == "zh" else "/?lang=en") == home, build


def test_sup017_every_safety_word_has_an_english_label():
    """An English inbox read 'Urgent content · Ranqiwei → 119': 燃气味 (smell of gas) and the other words
    added to the watchpoint's list later had no English label and fell back to pinyin."""
    from cockpit.watch.config import SAFETY_WORDS
    from geo.names import has_cjk
    from layouts.names import SAFETY_WORDS_EN

    assert [w for w in SAFETY_WORDS if has_cjk(w) and w not in SAFETY_WORDS_EN] == []
