"""The city wall screen (大屏): a fixed 16:9 grid of panels, dark, large numerals, no scrolling.

The page is a static skeleton; ``wall_update`` turns a ``cockpit.views.wall.city_snapshot`` into
the panel bodies. The frame (panels, header, badge, meta) is layouts/screen.py, shared with the
province page; charts are inline SVG (layouts/svg.py); maps go through layouts/mapdata.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html, no_update

from cockpit.watch.vocab import SEVERITY_LABELS, label, reason
from layouts import ids
from layouts.categories import category_label
from layouts.fmt import fmt_change, fmt_int, fmt_pct, fmt_wait, rel
from layouts.i18n import MESSAGES, register, t
from layouts.mapdata import screen_codes, screen_feature_count, screen_map
from layouts.names import display_alert, place_name
from layouts.page import PageContext
from layouts.screen import panel, panel_meta, screen_config, screen_header, screen_root, signature, status_badge
from layouts.svg import CURVE_COLORS, curve_svg, hour_bars_svg
from layouts.topics import topics_body

register({
    "wall.volume": {"zh": "今日话务与工单", "en": "Today's calls and tickets"},
    "wall.offered": {"zh": "今日来电", "en": "Calls offered"},
    "wall.tickets": {"zh": "今日工单", "en": "Tickets"},
    "wall.vs_last_week": {"zh": "较上周同期", "en": "vs last week"},
    "wall.vs_median": {"zh": "较四周中位", "en": "vs 4-week median"},
    "wall.rates": {"zh": "接通与服务水平", "en": "Connection & service"},
    "wall.connection_rate": {"zh": "接通率", "en": "Connection rate"},
    "wall.service_level": {"zh": "服务水平", "en": "Service level"},
    "wall.target": {"zh": "目标", "en": "target"},
    "wall.within_s": {"zh": "{s}秒内接通", "en": "answered within {s} s"},
    "wall.queue": {"zh": "排队情况", "en": "Queue"},
    "wall.service": {"zh": "办理质量", "en": "Ticket handling"},
    "wall.service_window": {"zh": "近{n}天 · 与省考核同口径", "en": "last {n} days, province method"},
    "wall.rate.response_rate": {"zh": "响应率", "en": "Response"},
    "wall.rate.resolution_rate": {"zh": "解决率", "en": "Resolution"},
    "wall.rate.on_time_closure_rate": {"zh": "按时办结率", "en": "Closed on time"},
    "wall.rate.satisfaction_rate": {"zh": "满意率", "en": "Satisfaction"},
    "wall.no_forecast": {"zh": "预测数据积累中", "en": "forecast needs history"},
    "wall.waiting": {"zh": "排队中", "en": "Waiting now"},
    "wall.longest_wait": {"zh": "最长等待", "en": "Longest wait"},
    "wall.curves": {"zh": "今日累计来电", "en": "Calls offered today, cumulative"},
    "wall.curve_today": {"zh": "今日", "en": "Today"},
    "wall.curve_last_week": {"zh": "上周同日", "en": "Same day last week"},
    "wall.curve_median": {"zh": "近四周中位", "en": "4-week median"},
    "wall.seats": {"zh": "坐席状态", "en": "Seats"},
    "wall.logged_in": {"zh": "在线坐席", "en": "Logged in"},
    "wall.busy_share": {"zh": "当前忙碌占比", "en": "Busy"},
    "wall.utilisation": {"zh": "今日工时利用率", "en": "Util. today"},
    "wall.staffing": {"zh": "坐席需求", "en": "Staffing"},
    "wall.required": {"zh": "需求坐席", "en": "Required"},
    "wall.staffed": {"zh": "在岗坐席", "en": "Staffed"},
    "wall.projected_sl": {"zh": "预计服务水平", "en": "Projected service level"},
    "wall.next_2h": {"zh": "未来两小时需求", "en": "Next two hours"},
    "wall.planned": {"zh": "排班 当前/峰值", "en": "Planned now / peak"},
    "wall.adherence": {"zh": "排班遵从率", "en": "Adherence"},
    "wall.districts": {"zh": "今日工单区域分布", "en": "Today's tickets by district"},
    "wall.map_count": {"zh": "工单数", "en": "Tickets"},
    "wall.map_per100k": {"zh": "每十万人", "en": "Per 100k residents"},
    "wall.map_count_unit": {"zh": "今日工单数（件）", "en": "Tickets today (count)"},
    "wall.map_per100k_unit": {"zh": "今日每十万人工单（件/10万人）", "en": "Tickets today per 100k residents"},
    "wall.no_map": {"zh": "无边界数据", "en": "No boundaries"},
    "wall.hourly": {"zh": "今日每小时工单", "en": "Today's tickets by hour"},
    "wall.hourly_unit": {"zh": "工单数（件）", "en": "Tickets (count)"},
    "wall.categories": {"zh": "今日热点类别", "en": "Top categories today"},
    "wall.normal": {"zh": "常态", "en": "normal"},
    "wall.new": {"zh": "新增", "en": "New"},
    "wall.baseline_pending": {"zh": "基线积累中 {n}/{total} 天", "en": "baseline loading {n}/{total} days"},
    "wall.baseline_short": {"zh": "积累中", "en": "loading"},
    "wall.compare_pending": {"zh": "同比 {text}", "en": "Comparison: {text}"},
    "wall.alerts": {"zh": "未处理告警", "en": "Open alerts"},
    "wall.no_alerts": {"zh": "暂无未处理告警", "en": "No open alerts"},
    "wall.alerts_open": {"zh": "条未处理", "en": "open"},
    "wall.alerts_more": {"zh": "另 {n} 条 ›", "en": "+{n} more ›"},
    "wall.alerts_more_plain": {"zh": "另 {n} 条", "en": "+{n} more"},
    "wall.alerts_more_title": {"zh": "在督办页查看全部 {total} 条", "en": "All {total} in Supervision"},
    "wall.no_data": {"zh": "暂无数据", "en": "No data yet"},
    "wall.state.ready": {"zh": "空闲", "en": "Ready"},
    "wall.state.ringing": {"zh": "振铃", "en": "Ringing"},
    "wall.state.on_call": {"zh": "通话", "en": "On call"},
    "wall.state.hold": {"zh": "保持", "en": "Hold"},
    "wall.state.acw": {"zh": "话后处理", "en": "Wrap-up"},
    "wall.state.not_ready": {"zh": "示忙", "en": "Not ready"},
    "wall.state.break": {"zh": "小休", "en": "Break"},
    "wall.state.offline": {"zh": "离线", "en": "Offline"},
})

WALL_PANELS = ("volume", "rates", "service", "queue", "curves", "seats", "staffing", "districts", "categories",
               "topics", "alerts")
SERVICE_RATES = ("response_rate", "resolution_rate", "on_time_closure_rate", "satisfaction_rate")
STATE_ORDER = ("on_call", "ringing", "hold", "acw", "ready", "not_ready", "break", "offline")
STATE_COLORS = {"on_call": "#3fa7ff", "ringing": "#7fd1ff", "hold": "#a78bfa", "acw": "#f5a623",
                "ready": "#2ecc71", "not_ready": "#8fa3c4", "break": "#8fa3c4", "offline": "#3a4458"}
MAP_MODES = ("count", "per100k")
ALERT_ROWS = 5  # alert rows that fit the panel at 16:9; the rest are counted ("+12 more"), never cut


# ---------------------------------------------------------------- the city wall page


def wall_page(ctx: PageContext, code: str) -> html.Div:
    """The wall skeleton for a city code; panels fill in on the first refresh."""
    lang = ctx.lang
    mode = "per100k" if ctx.query.get("per100k") in ("1", "true") else "count"
    single = single_region(code)
    map_title = html.Div([
        html.Span(t("wall.hourly" if single else "wall.districts", lang)),
        dcc.RadioItems(id=ids.WALL_MAP_MODE, value=mode, inline=True, className="ck-wall-toggle",
                       options=[{"label": t(f"wall.map_{m}", lang), "value": m} for m in MAP_MODES],
                       style={"display": "none"} if single else None),
    ], className="ck-wall-map-title")
    return screen_root(ctx, [
        screen_header(ctx, place_name(code, lang), status_id=ids.WALL_STATUS, title_id=ids.WALL_TITLE),
        html.Main([
            panel("volume", t("wall.volume", lang)),
            panel("rates", t("wall.rates", lang)),
            panel("service", html.Span([t("wall.service", lang), html.Small(
                " " + t("wall.service_window", lang).format(n=30), className="ck-wall-panel-sub")])),
            panel("queue", t("wall.queue", lang)),
            panel("curves", t("wall.curves", lang)),
            panel("districts", map_title),
            panel("categories", t("wall.categories", lang)),
            panel("topics", t("wall.topics", lang)),
            panel("seats", t("wall.seats", lang)),
            panel("staffing", t("wall.staffing", lang)),
            panel("alerts", t("wall.alerts", lang)),
        ], className="ck-wall-grid"),
        dcc.Interval(id=ids.WALL_REFRESH, interval=ctx.settings.refresh_ms),
        dcc.Store(id=ids.WALL_REQUEST),
        dcc.Store(id=ids.WALL_DONE),
        dcc.Store(id=ids.WALL_KICK),
        dcc.Interval(id=ids.WALL_TICK, interval=1000),
        dcc.Store(id={"type": ids.WALL_META, "index": "wall"}, data={}),
        dcc.Store(id={"type": ids.WALL_CONFIG, "index": "wall"}, data=screen_config(ctx, page="wall", code=code)),
        dcc.Store(id=ids.WALL_MAP_SIG),
        dcc.Store(id=ids.WALL_DRILL),
    ], root_id=ids.WALL_ROOT, page="wall")


def _big(label: str, value: str, *, status: str | None = None, notes: Sequence[Any] = (), name: str = "") -> html.Div:
    cls = "ck-wall-big" + (f" ck-status-{status}" if status else "")
    return html.Div([html.Div(label, className="ck-wall-big-label"),
                     html.Div(value, className="ck-wall-big-value", **({"data-figure": name} if name else {})),
                     html.Div(list(notes), className="ck-wall-big-notes")], className=cls)


def _note(label: str, value: float | None, *, pending: str | None = None) -> html.Span:
    """A comparison note ('vs last week ▲12%'); ``pending`` replaces the figure while its baseline
    is still loading ('基线积累中 12/28 天'), because a comparison with half a baseline is wrong."""
    if pending:
        return html.Span([f"{label} ", html.B(pending)], className="ck-wall-note ck-pending")
    cls = "ck-wall-note" + ("" if value is None else (" ck-up" if value > 0 else " ck-down"))
    return html.Span([f"{label} ", html.B(fmt_change(value))], className=cls)


def pending_text(history: dict | None, lang: str) -> str | None:
    """'基线积累中 12/28 天' while fewer days of history exist than the baselines need, else None."""
    if not history or history.get("days") is None or history["days"] >= history["needed"]:
        return None
    return t("wall.baseline_pending", lang).format(n=history["days"], total=history["needed"])


def volume_body(s: dict, lang: str, history: dict | None = None) -> list:
    pending = pending_text(history, lang)

    def notes(key: str) -> list:
        if pending:  # one line instead of two comparisons that cannot be made yet
            return [html.Span(t("wall.compare_pending", lang).format(text=pending), className="ck-wall-note ck-pending")]
        return [_note(t("wall.vs_last_week", lang), rel(s[key], s.get(f"{key}_last_week"))),
                _note(t("wall.vs_median", lang), rel(s[key], s.get(f"{key}_median")))]

    return [
        _big(t("wall.offered", lang), fmt_int(s["offered"]), name="offered", notes=notes("offered")),
        _big(t("wall.tickets", lang), fmt_int(s["tickets"]), name="tickets", notes=notes("tickets")),
    ]


def rates_body(s: dict, lang: str) -> list:
    targets = s.get("targets") or {}
    return [
        _big(t("wall.connection_rate", lang), fmt_pct(s["connection_rate"]), status=s.get("connection_status"),
             name="connection_rate",
             notes=[html.Span(f"{t('wall.target', lang)} {fmt_pct(targets.get('connection_rate'), 0)}",
                              className="ck-wall-note")]),
        _big(t("wall.service_level", lang), fmt_pct(s["service_level"]), status=s.get("service_status"),
             name="service_level",
             notes=[html.Span(t("wall.within_s", lang).format(s=s.get("sl_threshold_s")), className="ck-wall-note"),
                    html.Span(f" {t('wall.target', lang)} {fmt_pct(targets.get('service_level'), 0)}",
                              className="ck-wall-note")]),
    ]


def service_body(s: dict, lang: str, history: dict | None = None) -> list:
    """The assessed ticket rates over the league window, each against its target.

    While history is still loading the window holds only part of its days: the rates are shown
    with that said ('历史数据回填中 4/28 天') and no green/amber/red against the target, which a
    rate over a partial window cannot be judged by."""
    targets, status = s.get("targets") or {}, s.get("status") or {}
    progress = baseline_progress({"history": history})
    if progress is not None:
        pending = t("wall.backfill", lang).format(n=progress[0], total=progress[1])
        return [_big(t(f"wall.rate.{key}", lang), fmt_pct(s.get(key)), name=key,
                     notes=[html.Span(pending, className="ck-wall-note ck-pending")])
                for key in SERVICE_RATES]
    return [
        _big(t(f"wall.rate.{key}", lang), fmt_pct(s.get(key)), status=status.get(key), name=key,
             notes=[html.Span(f"{t('wall.target', lang)} {fmt_pct(targets.get(key), 0)}", className="ck-wall-note")]
             if targets.get(key) is not None else [])
        for key in SERVICE_RATES
    ]


def queue_body(s: dict, lang: str) -> list:
    waiting = s["waiting"]
    longest = s.get("longest_wait_s")
    return [
        _big(t("wall.waiting", lang), fmt_int(waiting), name="waiting",
             status="red" if waiting and longest and longest > 60 else None),
        _big(t("wall.longest_wait", lang), fmt_wait(longest), name="longest_wait",
             status=None if longest is None else ("green" if longest <= 15 else "amber" if longest <= 60 else "red")),
    ]


def curves_body(s: dict, lang: str, history: dict | None = None) -> list:
    today, last, med = s["today"]["offered"], s["last_week"]["offered"], s["median"]["offered"]
    pending = pending_text(history, lang)
    if pending:  # baselines from a partial history would draw a wrong "normal"; today alone is honest
        last, med = None, None
    legend = html.Div([
        *[html.Span([html.I(className="ck-swatch", style={"background": CURVE_COLORS[k]}), t(label, lang)],
                    className="ck-wall-legend-item")
          for k, label, curve in (("today", "wall.curve_today", today), ("last_week", "wall.curve_last_week", last),
                                  ("median", "wall.curve_median", med)) if curve],
        *([html.Span(pending, className="ck-wall-legend-item ck-pending")] if pending else []),
    ], className="ck-wall-legend")
    return [legend, html.Img(src=curve_svg(today, last, med, lang=lang), className="ck-wall-curve", alt="")]


def seats_body(s: dict, lang: str) -> list:
    by_state = s.get("by_state") or {}
    total = max(sum(by_state.values()), 1)
    states = [st for st in STATE_ORDER if by_state.get(st)] + sorted(k for k in by_state if k not in STATE_ORDER)
    bar = html.Div([
        html.Div(className="ck-wall-seatbar-part", title=f"{st} {by_state[st]}",
                 style={"width": f"{by_state[st] * 100 / total:.2f}%", "background": STATE_COLORS.get(st, "#5b6b88")})
        for st in states
    ], className="ck-wall-seatbar")
    rows = html.Div([
        html.Div([html.I(className="ck-swatch", style={"background": STATE_COLORS.get(st, "#5b6b88")}),
                  html.Span(state_label(st, lang), className="ck-wall-state"),
                  html.B(fmt_int(by_state[st]))], className="ck-wall-state-row", **{"data-state": st})
        for st in states
    ], className="ck-wall-states")
    figures = html.Div([
        html.Div([html.Span(t("wall.logged_in", lang)), html.B(fmt_int(s.get("logged_in")), **{"data-figure": "logged_in"})]),
        html.Div([html.Span(t("wall.busy_share", lang)), html.B(fmt_pct(s.get("busy_share"), 0))]),
        html.Div([html.Span(t("wall.utilisation", lang)), html.B(fmt_pct(s.get("utilisation_today"), 0))]),
    ], className="ck-wall-figures")
    return [figures, bar, rows]


def state_label(state: str, lang: str) -> str:
    key = f"wall.state.{state}"
    return t(key, lang) if key in MESSAGES else state


def staffing_body(s: dict, lang: str) -> list:
    required, staffed = s.get("required"), s.get("staffed")
    gap = None if required is None or staffed is None else staffed - required
    # green says "enough seats": not over nobody needed and nobody there (night, or no forecast yet)
    status = None if gap is None or not (required or staffed) else ("green" if gap >= 0 else "red")
    nxt = s.get("next") or []
    peak = max((r["required"] for r in nxt if r.get("required") is not None), default=None)
    return [
        html.Div([
            _big(t("wall.required", lang), fmt_int(required), name="required"),
            _big(t("wall.staffed", lang), fmt_int(staffed), status=status, name="staffed"),
        ], className="ck-wall-pair"),
        html.Div([html.Span(t("wall.projected_sl", lang)), html.B(fmt_pct(s.get("projected_service_level"), 0))],
                 className="ck-wall-line"),
        html.Div([html.Span(t("wall.next_2h", lang)), html.B(fmt_int(peak))], className="ck-wall-line"),
        *plan_lines(s, lang),
        *([html.Div(t("wall.no_forecast", lang), className="ck-wall-line ck-pending")]
          if s.get("forecast_ready") is False else []),
    ]


def plan_lines(s: dict, lang: str) -> list:
    """Planned seats now and at the peak of the next two hours, and adherence (staffed / planned)."""
    nxt = s.get("next") or []
    planned_peak = max((r["planned"] for r in nxt if r.get("planned") is not None), default=None)
    adh = s.get("adherence")
    status = None if adh is None else ("green" if adh >= 0.95 else "amber" if adh >= 0.85 else "red")
    return [
        html.Div([html.Span(t("wall.planned", lang)),
                  html.B(f"{fmt_int(s.get('planned'))} / {fmt_int(planned_peak)}")],
                 className="ck-wall-line", id={"type": ids.WALL_PLAN, "index": "planned"}),
        html.Div([html.Span(t("wall.adherence", lang)), html.B(fmt_pct(adh, 0))],
                 className=f"ck-wall-line ck-status-{status}" if status else "ck-wall-line",
                 id={"type": ids.WALL_PLAN, "index": "adherence"}),
    ]


def single_region(code: str) -> bool:
    """Whether a city's map would be one shape (Jiayuguan has no county-level division): such a
    wall shows today's tickets by hour in the map's place instead of a one-colour map."""
    try:
        return screen_feature_count(code) < 2
    except KeyError:
        return False


def hourly_counts(cumulative: Sequence[float] | None) -> list[int]:
    """Counts per local hour so far from a cumulative per-minute curve (minute 0 = local midnight)."""
    if not cumulative:
        return []
    out, before = [], 0.0
    for end in range(59, len(cumulative) + 59, 60):
        at = cumulative[min(end, len(cumulative) - 1)]
        out.append(int(round(at - before)))
        before = at
    return out


def hourly_body(curves: dict, lang: str) -> Any:
    counts = hourly_counts((curves.get("today") or {}).get("tickets"))
    legend = html.Div(html.Span(t("wall.hourly_unit", lang), className="ck-wall-legend-item"), className="ck-wall-legend")
    return html.Div([legend, html.Img(src=hour_bars_svg(counts, lang=lang), className="ck-wall-curve", alt="")],
                    className="ck-wall-hourly")


def districts_body(s: dict, code: str, mode: str, lang: str, tile_url: str = "") -> Any:
    try:
        codes = screen_codes(code)
    except KeyError:
        return html.Div(t("wall.no_map", lang), className="ck-wall-empty")
    counts = s.get("counts") or {}
    pops = s.get("population") or {}
    if mode == "per100k":
        values = {c: (counts.get(c, 0) * 100_000 / pops[c]) if pops.get(c) else None for c in codes}
        label = t("wall.map_per100k_unit", lang)
    else:
        values = {c: counts.get(c, 0) for c in codes}
        label = t("wall.map_count_unit", lang)
    return screen_map(code, lang, values, id=ids.WALL_MAP_GEO, label=label, better="lower",
                      integer=mode == "count", tile_url=tile_url)


def categories_body(s: dict, lang: str, history: dict | None = None) -> Any:
    top = s.get("top") or []
    if not top:
        return html.Div(t("wall.no_data", lang), className="ck-wall-empty")
    peak = max(r["today"] for r in top) or 1
    pending = pending_text(history, lang)
    rows = []
    for r in top:
        ch = r.get("change")
        if pending:
            change_text, cls = t("wall.baseline_short", lang), "ck-wall-note ck-pending"
        elif ch is None:
            change_text, cls = (t("wall.new", lang) if not r.get("normal") else "—"), "ck-wall-note"
        else:
            change_text = fmt_change(ch)
            cls = "ck-wall-note " + ("ck-hot" if ch >= 0.5 else "ck-up" if ch > 0 else "ck-down")
        rows.append(html.Div([
            html.Span(category_label(r["name"], lang), className="ck-wall-cat-name", title=category_label(r["name"], lang)),
            html.Div(html.Div(className="ck-wall-cat-fill", style={"width": f"{r['today'] * 100 / peak:.1f}%"}),
                     className="ck-wall-cat-bar"),
            html.B(fmt_int(r["today"]), className="ck-wall-cat-count"),
            html.Span(change_text, className=cls,
                      title=pending or f"{t('wall.normal', lang)} {fmt_int(r.get('normal'))}"),
        ], className="ck-wall-cat-row"))
    return rows


def alerts_body(s: dict, lang: str, tz, code: str | None = None, *, supervise: bool = False) -> Any:
    """The alert panel: the total open, then the ALERT_ROWS most urgent, each reason first
    ("城关区 · 超期未办结 · 37 件 · 最久 3 天") and a link to that alert in /supervise. When more
    are open than shown, the head says how many more ("另 12 条") and links to all of them.
    ``supervise``: whether the viewer may open /supervise; without it the same rows and count
    are shown without links (a kiosk screen, a leader), never a link that answers 'forbidden'."""
    items = s.get("items") or []
    if not items:
        return html.Div(t("wall.no_alerts", lang), className="ck-wall-empty ck-wall-ok")
    now = datetime.now(UTC)
    total = max(s.get("total") or 0, len(items))
    shown = items[:ALERT_ROWS]
    by_sev = s.get("by_severity") or {}
    suffix = "&lang=en" if lang == "en" else ""
    more = total - len(shown)
    query = {**({"city": code} if code else {}), "state": "open", **({"lang": "en"} if lang == "en" else {})}
    head = html.Div([
        html.B(fmt_int(total), className="ck-wall-alert-total", **{"data-total": str(total)}),
        html.Span(t("wall.alerts_open", lang)),
        *[html.Span(f"{label(SEVERITY_LABELS, sev, lang)} {fmt_int(by_sev[sev])}",
                    className=f"ck-wall-sev-count ck-sev-{sev}")
          for sev in ("critical", "major", "minor") if by_sev.get(sev)],
        *([html.A(t("wall.alerts_more", lang).format(n=fmt_int(more)), className="ck-wall-alert-more",
                  href=f"/supervise?{urlencode(query)}", title=t("wall.alerts_more_title", lang).format(total=total),
                  **{"data-more": str(more)})] if more > 0 and supervise else []),
        *([html.Span(t("wall.alerts_more_plain", lang).format(n=fmt_int(more)), className="ck-wall-alert-more",
                     **{"data-more": str(more)})] if more > 0 and not supervise else []),
    ], className="ck-wall-alert-head")
    rows = [head]
    for a in shown:
        a = display_alert(a, lang)
        sev = str(a.get("severity") or "minor")
        place = a.get("unit") or place_name(a.get("district") or a.get("city"), lang,
                                            {a["district"]: a["district_name"]} if a.get("district_name") else None)
        content = [
            html.Span(label(SEVERITY_LABELS, sev, lang), className=f"ck-wall-sev ck-sev-{sev}"),
            html.Span(reason(a, place, lang, now), className="ck-wall-alert-title", title=a.get("title") or ""),
        ]
        if supervise:
            rows.append(html.A(content, href=f"/supervise?alert={a['id']}{suffix}", className="ck-wall-alert",
                               **{"data-alert": str(a["id"])}))
        else:
            rows.append(html.Div(content, className="ck-wall-alert", **{"data-alert": str(a["id"])}))
    return rows


def baseline_progress(snapshot: dict) -> tuple[int, int] | None:
    """(days of history loaded, days the baselines need) while the history is incomplete, else None."""
    history = snapshot.get("history") or {}
    if history.get("days") is None or history["days"] >= history["needed"]:
        return None
    return int(history["days"]), int(history["needed"])


def wall_update(snapshot: dict | None, *, lang: str, mode: str, previous_meta: dict | None,
                previous_map_sig: str | None, tz, tile_url: str = "", request: Any = None,
                supervise: bool = False) -> tuple:
    """All outputs of one wall refresh (panel bodies in WALL_PANELS order, map signature, meta,
    status, title, the answered ``request``); no_update where a source failed. ``supervise``:
    whether the viewer may open /supervise (the alert rows link there only then).

    ``snapshot`` None means the snapshot call itself failed: every value is kept and every
    panel is marked failed.
    """
    if snapshot is None:
        failed = set(WALL_PANELS)
        meta = panel_meta({p: None for p in WALL_PANELS}, previous_meta, failed)
        return (*(no_update for _ in WALL_PANELS), no_update, meta, status_badge(["wall"], lang), no_update,
                request)
    sections = snapshot["sections"]
    code = snapshot["scope"]
    history = snapshot.get("history")
    builders = {
        "volume": lambda s: volume_body(s, lang, history),
        "rates": lambda s: rates_body(s, lang),
        "service": lambda s: service_body(s, lang, history),
        "queue": lambda s: queue_body(s, lang),
        "curves": lambda s: curves_body(s, lang, history),
        "seats": lambda s: seats_body(s, lang),
        "staffing": lambda s: staffing_body(s, lang),
        "categories": lambda s: categories_body(s, lang, history),
        "topics": lambda s: topics_body(s, lang),
        "alerts": lambda s: alerts_body(s, lang, tz, code, supervise=supervise),
    }
    failed_sources = set(snapshot.get("failed") or [])
    live_panels = {"volume", "rates", "queue", "curves", "seats", "districts", "categories", "topics"}
    failed_panels: set[str] = set()
    if "live" in failed_sources:
        failed_panels |= live_panels
    if "history" in failed_sources:
        failed_panels |= {"staffing", "categories", "service"}
    if "alerts" in failed_sources:
        failed_panels.add("alerts")
    bodies = []
    for name in WALL_PANELS:
        if name == "districts":
            continue
        section = sections.get(name)
        bodies.append(builders[name](section) if section is not None else no_update)
    districts = sections.get("districts")
    map_out, sig = no_update, no_update
    if single_region(code):
        curves = sections.get("curves")
        if curves is not None:
            hourly = hourly_counts((curves.get("today") or {}).get("tickets"))
            new_sig = signature(code, "hourly", lang, hourly)
            if new_sig != previous_map_sig:
                map_out, sig = hourly_body(curves, lang), new_sig
    elif districts is not None:
        new_sig = signature(code, mode, lang, districts.get("counts"))
        if new_sig != previous_map_sig:
            map_out, sig = districts_body(districts, code, mode, lang, tile_url), new_sig
    meta = panel_meta({p: sections.get(p) for p in WALL_PANELS}, previous_meta, failed_panels)
    name = snapshot["name"].get(lang) or code
    bodies.insert(WALL_PANELS.index("districts"), map_out)
    title = html.Span(name, className="ck-wall-city")
    volume = sections.get("volume") or {}
    has_data = bool(volume.get("offered") or volume.get("tickets") or volume.get("last_event_ms"))
    status = status_badge(sorted(failed_sources), lang, last_event_ms=volume.get("last_event_ms"), tz=tz,
                          now_ms=snapshot.get("now_ms"), has_data=has_data, backfill=baseline_progress(snapshot),
                          live_state=snapshot.get("live_state", "ok"))
    return (*bodies, sig, meta, status, title, request)
