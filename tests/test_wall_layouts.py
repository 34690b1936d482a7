"""Wall and province builders: pure functions from snapshots to components (no stores)."""

from __future__ import annotations

import base64
from zoneinfo import ZoneInfo

from dash import html, no_update

from layouts import province as province_layout
from layouts.i18n import MESSAGES
from layouts.choropleth import class_colors, class_index, classify
from layouts.playlist import playlist_urls
from layouts.screen import panel_meta
from layouts.svg import curve_svg, sparkline_svg
from layouts.wall import WALL_PANELS, wall_update

TZ = ZoneInfo("Asia/Shanghai")


def _section(**values):
    return {"as_of_ms": 1_000, "max_age_ms": 4_000, **values}


def _snapshot(**overrides):
    sections = {
        "volume": _section(offered=13, answered=9, abandoned=3, tickets=6, offered_last_week=10, offered_median=None,
                           tickets_last_week=None, tickets_median=None),
        "rates": _section(connection_rate=0.9, connection_status="amber", service_level=0.5, service_status="red",
                          sl_threshold_s=15, targets={"connection_rate": 0.95, "service_level": 0.8}),
        "queue": _section(waiting=2, longest_wait_s=75.0),
        "service": _section(days=30, response_rate=0.96, resolution_rate=0.9, on_time_closure_rate=0.99,
                            satisfaction_rate=0.84, status={"response_rate": "green", "satisfaction_rate": "red"},
                            targets={"response_rate": 0.95, "resolution_rate": 0.9, "on_time_closure_rate": 0.98,
                                     "satisfaction_rate": 0.9}),
        "curves": _section(minute=2, today={"offered": [0, 1, 3], "tickets": [0, 0, 1]},
                           last_week={"offered": [1.0] * 1440, "tickets": None}, median={"offered": None,
                                                                                          "tickets": None}),
        "seats": _section(by_state={"on_call": 2, "ready": 1}, logged_in=3, handling=2, busy_share=2 / 3,
                          utilisation_today=0.5),
        "staffing": _section(required=4, staffed=3, projected_service_level=0.7, next=[{"required": 5}]),
        "districts": _section(counts={"620102": 3}, population={"620102": 1_484_016}),
        "categories": _section(top=[{"name": "城乡建设", "today": 3, "normal": 1, "change": 2.0}]),
        "topics": _section(state="pending", topics=[]),
        "alerts": _section(items=[{"id": 7, "rule": "overdue", "severity": "critical", "title": "城关区 · 超期未办结 · 37 件",
                                   "district": "620102", "place": "城关区", "place_en": "Chengguan", "size": 37,
                                   "oldest_at": "2026-11-26T01:00:00+00:00",
                                   "since": "2026-11-29T01:00:00+00:00"}], total=41, by_severity={"critical": 41}),
    }
    snap = {"scope": "620100", "name": {"zh": "兰州市", "en": "Lanzhou"}, "sections": sections, "failed": []}
    snap.update(overrides)
    return snap


def _texts(component) -> str:
    out = []

    def walk(c):
        if isinstance(c, (str, int, float)):
            out.append(str(c))
            return
        if isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
            return
        if c is None or c is no_update:
            return
        walk(getattr(c, "children", None))

    walk(component)
    return " ".join(out)


def test_wall030_alert_panel_shows_what_fits_and_counts_the_rest():
    from layouts.wall import ALERT_ROWS, alerts_body

    items = [{"id": i, "rule": "overdue", "severity": "minor", "district": "620102", "size": 3}
             for i in range(8)]
    rows = alerts_body({"items": items, "total": 8, "by_severity": {"minor": 8}}, "en", TZ, "620100", supervise=True)
    assert len(rows) == 1 + ALERT_ROWS
    more = rows[0].children[-1]
    assert more.children == f"+{8 - ALERT_ROWS} more ›" and more.href == "/supervise?city=620100&state=open&lang=en"
    few = alerts_body({"items": items[:2], "total": 2, "by_severity": {"minor": 2}}, "en", TZ, "620100")
    assert len(few) == 3 and not any(getattr(c, "className", "") == "ck-wall-alert-more" for c in few[0].children)


def test_wall020_update_builds_every_panel_and_meta():
    out = wall_update(_snapshot(), lang="zh", mode="count", previous_meta=None, previous_map_sig=None, tz=TZ,
                      request={"n": 3, "at": 0}, supervise=True)
    bodies, (sig, meta, status, title, answered) = out[:len(WALL_PANELS)], out[len(WALL_PANELS):]
    assert all(b is not no_update for b in bodies)
    assert "13" in _texts(bodies[WALL_PANELS.index("volume")])
    assert "▲30%" in _texts(bodies[WALL_PANELS.index("volume")])  # 13 against 10 last week
    assert "1:15" in _texts(bodies[WALL_PANELS.index("queue")])
    alerts_text = _texts(bodies[WALL_PANELS.index("alerts")])
    assert "城关区 · 超期未办结 · 37 件 · 最久 " in alerts_text  # reason first: area, rule, size, age
    assert "41" in alerts_text and "紧急 41" in alerts_text  # the total open, in the one severity vocabulary
    link = bodies[WALL_PANELS.index("alerts")][1]
    assert link.href == "/supervise?alert=7"  # one click to that alert
    more = [c for c in bodies[WALL_PANELS.index("alerts")][0].children if getattr(c, "className", "") == "ck-wall-alert-more"]
    assert [(m.children, m.href) for m in more] == [("另 40 条 ›", "/supervise?city=620100&state=open")]  # never cut silently
    assert set(meta) == set(WALL_PANELS) and not any(m["failed"] for m in meta.values())
    assert "数据正常" in _texts(status) and _texts(title) == "兰州市"
    assert answered == {"n": 3, "at": 0}  # the refresh gate may ask again
    again = wall_update(_snapshot(), lang="zh", mode="count", previous_meta=meta, previous_map_sig=sig, tz=TZ)
    assert again[WALL_PANELS.index("districts")] is no_update  # same values: the map is not redrawn
    per100k = wall_update(_snapshot(), lang="zh", mode="per100k", previous_meta=meta, previous_map_sig=sig, tz=TZ)
    assert per100k[WALL_PANELS.index("districts")] is not no_update


def test_wall021_failed_source_keeps_values_and_last_as_of():
    good = wall_update(_snapshot(), lang="zh", mode="count", previous_meta=None, previous_map_sig=None, tz=TZ)
    meta = good[len(WALL_PANELS) + 1]
    snap = _snapshot(failed=["live"])
    for name in ("volume", "rates", "queue", "curves", "seats", "districts", "categories"):
        del snap["sections"][name]
    out = wall_update(snap, lang="en", mode="count", previous_meta=meta, previous_map_sig=None, tz=TZ)
    assert out[WALL_PANELS.index("volume")] is no_update
    assert out[WALL_PANELS.index("staffing")] is not no_update
    new_meta = out[len(WALL_PANELS) + 1]
    assert new_meta["volume"] == {"as_of_ms": 1_000, "max_age_ms": 4_000, "failed": True}
    assert new_meta["staffing"]["failed"] is False
    assert "source failed" in _texts(out[len(WALL_PANELS) + 2])
    total = wall_update(None, lang="zh", mode="count", previous_meta=meta, previous_map_sig=None, tz=TZ)
    assert all(v is no_update for v in total[:len(WALL_PANELS)])
    assert all(m["failed"] for m in total[len(WALL_PANELS) + 1].values())


def test_wall022_panel_meta_without_history():
    meta = panel_meta({"volume": None}, None, {"volume"})
    assert meta == {"volume": {"as_of_ms": None, "max_age_ms": None, "failed": True}}


def test_wall023_svg_charts_are_inline_data():
    uri = curve_svg([0, 1, 3], [1.0] * 1440, None)
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.count("<polyline") == 2 and "24:00" in svg and "http://www.w3.org/2000/svg" in svg
    spark = base64.b64decode(sparkline_svg([1, 2, 3]).split(",", 1)[1]).decode()
    assert "<polyline" in spark and "<circle" in spark


def test_wall024_playlist_urls_and_catalogues():
    assert playlist_urls(["620100", "620000"], lang="zh") == [
        "/wall/620100?kiosk=1&lang=zh", "/province/620000?kiosk=1&lang=zh"]
    keys = [k for k in MESSAGES if k.startswith(("wall.", "province.", "playlist."))]
    assert len(keys) > 60
    assert all(MESSAGES[k].get("zh") and MESSAGES[k].get("en") for k in keys)


def _league_snapshot():
    return {
        "scope": "620000", "name": {"zh": "甘肃省", "en": "Gansu"}, "failed": [], "league_days": 30,
        "trend_days": ["d"] * 14,
        "sections": {"live": _section(), "league": _section()},
        "rows": [{"code": "620100", "name": {"zh": "兰州市", "en": "Lanzhou"}, "rank": 1, "offered_today": 13,
                  "tickets_today": 6, "connection_rate_today": 0.9, "connection_status": "amber",
                  "response_rate": 0.96, "resolution_rate": 0.8, "satisfaction_rate": None,
                  "on_time_closure_rate": 1.0, "connection_rate": 0.93, "score": 0.98, "tickets_per_100k": 1.5,
                  "status": {"response_rate": "green", "resolution_rate": "amber"}, "trend": [1, 2, 3]}],
    }


def test_province020_league_table_rows_and_links():
    map_out, totals, table, sig, meta, status, title, _answered = province_layout.province_update(
        _league_snapshot(), lang="zh", metric="tickets_today", kiosk=True, previous_meta=None, previous_map_sig=None,
        supervise=True)
    assert title == "甘肃省" and set(meta) == {"map", "totals", "table"}
    rows = [c for c in _walk(table) if isinstance(c, html.Tr) and getattr(c, "className", "") == "ck-row"]
    assert len(rows) == 1
    links = [c for c in _walk(rows[0]) if isinstance(c, html.A)]
    assert links[0].href == "/wall/620100?lang=zh&kiosk=1"
    assert links[1].href == "/supervise?city=620100&lang=zh"
    assert "98.0" in _texts(rows[0]) and "96.0%" in _texts(rows[0])


def test_wall031_staffing_is_not_green_over_nobody_needed_and_nobody_there():
    from layouts.wall import staffing_body

    def staffed_class(required, staffed):
        pair = staffing_body({"required": required, "staffed": staffed, "next": []}, "en")[0]
        return pair.children[1].className

    assert staffed_class(0, 0) == "ck-wall-big"  # night: no status, not a green zero
    assert staffed_class(None, 3) == "ck-wall-big"
    assert staffed_class(2, 3) == "ck-wall-big ck-status-green" and staffed_class(0, 2).endswith("green")
    assert staffed_class(4, 3) == "ck-wall-big ck-status-red"


def test_province021_league_not_coloured_against_targets_while_history_loads():
    row = {"code": "620100", "name": {"zh": "兰州市", "en": "Lanzhou"}, "rank": 1, "response_rate": 0.96,
           "connection_rate_today": 0.9, "connection_status": "amber", "status": {"response_rate": "green"}}
    snap = {"rows": [row], "league_days": 30, "trend_days": ["d"] * 14}

    def classes(backfill):
        return {c.className for c in _walk(province_layout.league_table(snap, "en", backfill=backfill))
                if isinstance(c, html.Td) and getattr(c, "className", None)}

    assert classes(None) == {"ck-status-amber", "ck-status-green"}
    assert classes((3, 28)) == {"ck-status-amber"}  # today's live rate keeps its colour; the window's wait
    note = province_layout.league_table(snap, "en", backfill=(3, 28))[1]
    assert note.className == "ck-league-note ck-pending" and "3/28" in note.children and "provisional" in note.children


def _walk(component):
    if isinstance(component, (list, tuple)):
        for c in component:
            yield from _walk(c)
        return
    if component is None or isinstance(component, (str, int, float)):
        return
    yield component
    yield from _walk(getattr(component, "children", None))


def test_wall025_map_colours_fit_the_breaks():
    for n in range(0, 5):
        assert len(class_colors(n + 1)) == n + 1
    assert class_colors(5, better="higher") == class_colors(5)[::-1]  # low is red where higher is better


def test_wall026_map_breaks_separate_zero_from_some():
    values = {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0, "f": 2, "g": 1}
    breaks = classify(values, integer=True)
    assert breaks and all(b == int(b) for b in breaks)
    assert class_index(0, breaks) == 0 and class_index(1, breaks) >= 1
    assert classify({"a": 0, "b": 0}) == []


def test_wall027_incomplete_history_says_so_instead_of_comparing():
    snap = _snapshot(history={"days": 12, "needed": 28})
    out = wall_update(snap, lang="zh", mode="count", previous_meta=None, previous_map_sig=None, tz=TZ)
    volume = _texts(out[WALL_PANELS.index("volume")])
    assert "基线积累中 12/28 天" in volume and "▲30%" not in volume
    curves = _texts(out[WALL_PANELS.index("curves")])
    assert "基线积累中 12/28 天" in curves and "上周同日" not in curves  # no half-built "normal" drawn
    assert "积累中" in _texts(out[WALL_PANELS.index("categories")])
    assert "12/28" in _texts(out[len(WALL_PANELS) + 2])  # the header says the history is loading
    done = wall_update(_snapshot(history={"days": 28, "needed": 28}), lang="zh", mode="count",
                       previous_meta=None, previous_map_sig=None, tz=TZ)
    assert "▲30%" in _texts(done[WALL_PANELS.index("volume")])


def test_wall040_assessed_rates_over_a_partial_window_are_not_judged():
    """While history loads, the 30-day ticket rates cover only the days loaded: they say so and
    carry no green/red against their targets (a demo showed 100.0% in green over 4 of 28 days)."""
    def service(history, lang="zh"):
        out = wall_update(_snapshot(history=history), lang=lang, mode="count", previous_meta=None,
                          previous_map_sig=None, tz=TZ)
        return out[WALL_PANELS.index("service")]

    loading = service({"days": 4, "needed": 28})
    assert "历史数据回填中 4/28 天" in _texts(loading) and "目标" not in _texts(loading)
    assert not [c for c in _walk(loading) if "ck-status-" in (getattr(c, "className", "") or "")]
    assert "96.0%" in _texts(loading)  # the figure itself is still shown
    assert "Loading history 4/28 days" in _texts(service({"days": 4, "needed": 28}, lang="en"))
    done = service({"days": 28, "needed": 28})
    assert "目标 95%" in _texts(done) and "历史数据回填中" not in _texts(done)
    assert [c for c in _walk(done) if "ck-status-green" in (getattr(c, "className", "") or "")]


def test_province030_assessed_totals_over_a_partial_window_are_not_judged():
    def totals(history):
        snap = {"scope": "620000", "name": {"zh": "甘肃省", "en": "Gansu"}, "failed": [], "league_days": 30,
                "trend_days": [], "history": history,
                "sections": {"live": _section(), "league": _section()},
                "totals": {"offered_today": 10, "tickets_today": 4, "connection_rate_today": 0.97,
                           "response_rate": 0.99, "resolution_rate": 0.5, "satisfaction_rate": 0.9,
                           "targets": {"connection_rate": 0.95, "response_rate": 0.95, "resolution_rate": 0.9},
                           "status": {"connection_rate_today": "green", "response_rate": "green",
                                      "resolution_rate": "red"}},
                "rows": []}
        return province_layout.province_update(snap, lang="zh", metric="tickets_today", kiosk=True,
                                               previous_meta=None, previous_map_sig=None)[1]

    loading = totals({"days": 4, "needed": 28})
    statuses = [c.className for c in _walk(loading) if "ck-status-" in (getattr(c, "className", "") or "")]
    assert len(statuses) == 1  # only today's connection rate, which is live, keeps its judgement
    assert "历史数据回填中 4/28 天" in _texts(loading) and "回填中 4/28 天 ·" not in _texts(loading)
    done = totals({"days": 28, "needed": 28})
    assert len([c for c in _walk(done) if "ck-status-" in (getattr(c, "className", "") or "")]) == 3
    assert "历史数据回填中" not in _texts(done)


def test_wall028_green_badge_only_with_fresh_data():
    def badge(**kw):
        snap = _snapshot(**kw)
        status = wall_update(snap, lang="zh", mode="count", previous_meta=None, previous_map_sig=None,
                             tz=TZ)[len(WALL_PANELS) + 2]
        return status.__dict__.get("data-state") or next(
            c.__dict__.get("data-state") for c in status.children if c.__dict__.get("data-state"))

    now_ms = 1_800_000_000_000
    fresh = _snapshot(now_ms=now_ms)
    fresh["sections"]["volume"]["last_event_ms"] = now_ms - 10_000
    assert badge(now_ms=now_ms, sections=fresh["sections"]) == "ok"
    old = _snapshot(now_ms=now_ms)
    old["sections"]["volume"]["last_event_ms"] = now_ms - 20 * 60_000
    assert badge(now_ms=now_ms, sections=old["sections"]) == "old"
    empty = _snapshot(now_ms=now_ms)
    empty["sections"]["volume"].update(offered=0, tickets=0, last_event_ms=None)
    assert badge(now_ms=now_ms, sections=empty["sections"]) == "no-data"
    assert badge(failed=["live"]) == "failed"


def test_wall029_service_rates_and_staffing_without_forecast():
    out = wall_update(_snapshot(), lang="zh", mode="count", previous_meta=None, previous_map_sig=None, tz=TZ)
    service = _texts(out[WALL_PANELS.index("service")])
    assert "响应率" in service and "96.0%" in service and "满意率" in service and "目标 90%" in service
    snap = _snapshot()
    snap["sections"]["staffing"] = _section(required=None, staffed=5, projected_service_level=None,
                                            forecast_ready=False, next=[{"required": None}])
    staffing = _texts(wall_update(snap, lang="zh", mode="count", previous_meta=None, previous_map_sig=None,
                                  tz=TZ)[WALL_PANELS.index("staffing")])
    assert "—" in staffing and "预测数据积累中" in staffing and " 0 " not in f" {staffing} "


def _topics_section(state="ok", **overrides):
    rows = [
        {"rank": 1, "label": "幸福里小区 电梯 故障", "count": 5, "growth": 6.0, "emerging": True,
         "baseline_per_period": 0.0, "district": "620102", "district_name": {"zh": "城关区", "en": "Chengguan"},
         "category": "城乡建设"},
        {"rank": 2, "label": "广场舞 噪音", "count": 3, "growth": 1.0, "emerging": False, "baseline_per_period": 3.0,
         "district": "620103", "district_name": {"zh": "七里河区", "en": "Qilihe"}, "category": "环境保护"},
    ]
    values = {"state": state, "tickets": 12, "texts": 12, "baseline": {"days": 4, "needed": 4}, "topics": rows}
    values.update(overrides)
    return _section(**values)


def test_wall040_topics_panel_in_both_languages():
    from geo.names import has_cjk
    from layouts.topics import topics_body

    zh = _texts(topics_body(_topics_section(), "zh"))
    assert "今日 12 条诉求" in zh and "幸福里小区 电梯 故障" in zh and "城关区" in zh
    assert "新 ×6.0" in zh and "×1.0" in zh
    en = _texts(topics_body(_topics_section(), "en"))
    assert not has_cjk(en), en
    assert "12 requests today" in en and "Xingfuli" in en and "Dianti" in en and "Chengguan" in en
    assert "new ×6.0" in en
    rows = topics_body(_topics_section(), "zh")[1:]
    assert [r.className for r in rows] == ["ck-wall-topic ck-wall-topic-emerging", "ck-wall-topic"]
    # the wall refresh puts it in its place among the panels
    out = wall_update(_snapshot(sections={**_snapshot()["sections"], "topics": _topics_section()}), lang="en",
                      mode="count", previous_meta=None, previous_map_sig=None, tz=TZ, request=None)
    assert "Qilihe" in _texts(out[WALL_PANELS.index("topics")])


def test_wall041_topics_panel_says_what_it_is_waiting_for():
    from layouts.topics import topics_body

    for lang in ("zh", "en"):
        loading = _texts(topics_body(_topics_section("baseline_loading", baseline={"days": 2, "needed": 4}), lang))
        assert ("基线积累中 2/4 天" if lang == "zh" else "Baseline loading 2/4 days") in loading
        assert ("积累中" if lang == "zh" else "loading") in loading and "×" not in loading
        pending = topics_body(_section(state="pending", topics=[]), lang)
        assert pending.children == MESSAGES["wall.topics_pending"][lang]
        no_text = topics_body(_topics_section("no_text", texts=0, topics=[]), lang)
        assert "12" in no_text.children and no_text.className == "ck-wall-empty"
        none = _texts(topics_body(_topics_section(topics=[]), lang))
        assert MESSAGES["wall.topics_none"][lang] in none
    failed = wall_update(_snapshot(failed=["live"]), lang="zh", mode="count", previous_meta=None,
                         previous_map_sig=None, tz=TZ, request=None)
    assert failed[len(WALL_PANELS) + 1]["topics"]["failed"]


def _hrefs(component) -> list[str]:
    return [c.href for c in _walk(component) if isinstance(c, html.A)]


def test_wall032_no_supervise_link_for_a_viewer_who_may_not_open_it():
    """A kiosk screen or a leader (``supervise=False``) sees the same alert rows, count and league
    table, without links to /supervise (they would answer 'forbidden'); the district click of the
    map drills only with ``supervise`` in the screen's config."""
    from layouts.page import PageContext
    from layouts.screen import screen_config
    from layouts.wall import alerts_body
    from cockpit.settings import Settings

    out = wall_update(_snapshot(), lang="zh", mode="count", previous_meta=None, previous_map_sig=None, tz=TZ,
                      supervise=False)
    alerts = out[WALL_PANELS.index("alerts")]
    assert "城关区 · 超期未办结 · 37 件 · 最久 " in _texts(alerts) and "另 40 条" in _texts(alerts)
    assert not any("/supervise" in h for b in out[:len(WALL_PANELS)] if b is not no_update for h in _hrefs(b))
    items = [{"id": i, "rule": "overdue", "severity": "minor", "district": "620102", "size": 3} for i in range(8)]
    assert _hrefs(alerts_body({"items": items, "total": 8}, "en", TZ, "620100")) == []
    table = province_layout.province_update(_league_snapshot(), lang="en", metric="tickets_today", kiosk=True,
                                            previous_meta=None, previous_map_sig=None, supervise=False)[2]
    assert _hrefs(table) == ["/wall/620100?lang=en&kiosk=1"]
    settings = Settings()
    ctx = PageContext(lang="zh", settings=settings, may_open=lambda path, query: path != "/supervise")
    assert screen_config(ctx, page="wall", code="620100")["supervise"] is False
    assert screen_config(PageContext(lang="zh", settings=settings), page="wall", code="620100")["supervise"] is True


def test_wall033_screen_links_follow_the_viewer_not_the_browser():
    """The screens' refreshes decide ``supervise`` for the requesting principal (the page rule of
    /supervise): a kiosk session and a leader get none, a supervisor gets it, whatever the browser's
    config says; the two variants never share a rendered payload."""
    from contextlib import nullcontext

    from flask import Flask, g

    from callbacks.shared_payload import config_key, with_viewer_links
    from cockpit.auth.principal import Principal

    class _Stores:
        def session(self):
            return nullcontext(None)

    viewers = {"kiosk": Principal(kind="kiosk", name="k", role="kiosk", scopes=("620100",)),
               "leader": Principal(kind="user", name="l", role="leader", scopes=("620100",)),
               "supervisor": Principal(kind="user", name="s", role="supervisor", scopes=("620100",))}
    got = {}
    app = Flask(__name__)
    for name, principal in viewers.items():
        with app.test_request_context("/_dash-update-component"):
            g.principal = principal
            got[name] = with_viewer_links(_Stores(), {"code": "620100", "lang": "zh", "supervise": True})["supervise"]
    assert got == {"kiosk": False, "leader": False, "supervisor": True}
    config = {"code": "620100", "lang": "zh", "kiosk": False}
    assert config_key({**config, "supervise": True}, "wall", "count") != config_key(config, "wall", "count")


def test_wall034_english_topics_in_english_where_the_tables_translate_and_say_pinyin_otherwise():
    """The English wall's hot topics: a word the vocabulary tables know (cockpit.names_en) is in
    English; otherwise the words are in pinyin and the row says so, with the topic's category in
    English; Chinese pages keep the citizens' words; no Chinese on the English rows."""
    from layouts.topics import topics_body

    rows = [{"rank": 1, "label": "供热", "count": 9, "growth": 3.0, "baseline_per_period": 1.0,
             "category": "城乡建设", "district": "620102"},
            {"rank": 2, "label": "电梯 停运", "count": 5, "growth": 6.0, "baseline_per_period": 1.0,
             "category": "物业服务", "district": "620102"},
            {"rank": 3, "label": "物业服务 电梯", "count": 4, "growth": 2.0, "baseline_per_period": 1.0,
             "category": None, "district": None}]
    section = {"state": "ok", "texts": 30, "baseline": {"days": 4, "needed": 4}, "topics": rows}

    def shown(lang):
        body = topics_body(section, lang)
        labels = [c for c in _walk(body) if getattr(c, "className", "") == "ck-wall-topic-label"]
        subs = [c for c in _walk(body) if getattr(c, "className", "") == "ck-wall-topic-sub"]
        return [(lb.children, sb.children, lb.title) for lb, sb in zip(labels, subs)], body

    en, body = shown("en")
    assert en[0][:2] == ("Heating", "Chengguan")  # translated: nothing to say
    assert en[1][0] == "Dianti Tingyun" and en[1][1] == "Chengguan · Property management · words in pinyin"
    assert "no English translation" in en[1][2]
    assert en[2][:2] == ("Property management Dianti", "words in pinyin")
    assert not any("\u3400" <= ch <= "\u9fff" for ch in _texts(body))
    zh, _ = shown("zh")
    assert [(label, sub) for label, sub, _title in zh] == [("供热", "城关区"), ("电梯 停运", "城关区"), ("物业服务 电梯", "")]
