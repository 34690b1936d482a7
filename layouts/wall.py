"""The city wall screen (大屏): a fixed 16:9 grid of panels, dark, large numerals, no scrolling.

The page is a static skeleton; ``wall_update`` turns a ``cockpit.wall.city_snapshot`` into the
panel bodies. Every panel has an "as of" label and turns stale in the browser (assets/wall.js)
when its data is older than its ``max_age_ms``. Charts are inline SVG images built here, so the
screen needs no plotting library (small first load, light on wall-screen hardware).
Shared screen pieces (panel frame, header, clock, SVG charts, meta) are used by layouts/province.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Sequence
from functools import lru_cache
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html, no_update

from cockpit.views.wall import wall_path
from layouts import ids
from layouts.choropleth import DEFAULT_COLORS, choropleth_map, stable_breaks
from layouts.i18n import MESSAGES, register, t
from layouts.page import PageContext

register({
    "wall.title": {"zh": "12345 热线数据大屏", "en": "12345 Hotline Wall"},
    "wall.volume": {"zh": "今日话务与工单", "en": "Today's calls and tickets"},
    "wall.offered": {"zh": "今日来电", "en": "Calls offered"},
    "wall.tickets": {"zh": "今日工单", "en": "Tickets"},
    "wall.vs_last_week": {"zh": "较上周同期", "en": "vs last week"},
    "wall.vs_median": {"zh": "较四周中位", "en": "vs 4-week median"},
    "wall.rates": {"zh": "接通与服务水平", "en": "Connection and service level"},
    "wall.connection_rate": {"zh": "接通率", "en": "Connection rate"},
    "wall.service_level": {"zh": "服务水平", "en": "Service level"},
    "wall.target": {"zh": "目标", "en": "target"},
    "wall.within_s": {"zh": "{s}秒内接通", "en": "answered within {s} s"},
    "wall.queue": {"zh": "排队情况", "en": "Queue"},
    "wall.waiting": {"zh": "排队中", "en": "Waiting now"},
    "wall.longest_wait": {"zh": "最长等待", "en": "Longest wait"},
    "wall.curves": {"zh": "今日累计来电", "en": "Calls offered today, cumulative"},
    "wall.curve_today": {"zh": "今日", "en": "Today"},
    "wall.curve_last_week": {"zh": "上周同日", "en": "Same day last week"},
    "wall.curve_median": {"zh": "近四周中位", "en": "4-week median"},
    "wall.seats": {"zh": "坐席状态", "en": "Seats"},
    "wall.logged_in": {"zh": "在线坐席", "en": "Logged in"},
    "wall.busy_share": {"zh": "当前忙碌占比", "en": "Busy now"},
    "wall.utilisation": {"zh": "今日工时利用率", "en": "Utilisation today"},
    "wall.staffing": {"zh": "坐席需求", "en": "Staffing"},
    "wall.required": {"zh": "需求坐席", "en": "Required"},
    "wall.staffed": {"zh": "在岗坐席", "en": "Staffed"},
    "wall.projected_sl": {"zh": "预计服务水平", "en": "Projected service level"},
    "wall.next_2h": {"zh": "未来两小时需求", "en": "Next two hours"},
    "wall.districts": {"zh": "今日工单区域分布", "en": "Today's tickets by district"},
    "wall.map_count": {"zh": "工单数", "en": "Tickets"},
    "wall.map_per100k": {"zh": "每十万人", "en": "Per 100k residents"},
    "wall.no_map": {"zh": "无边界数据", "en": "No boundaries"},
    "wall.categories": {"zh": "今日热点类别", "en": "Top categories today"},
    "wall.normal": {"zh": "常态", "en": "normal"},
    "wall.new": {"zh": "新增", "en": "new"},
    "wall.alerts": {"zh": "未处理告警", "en": "Open alerts"},
    "wall.no_alerts": {"zh": "暂无未处理告警", "en": "No open alerts"},
    "wall.no_data": {"zh": "暂无数据", "en": "No data yet"},
    "wall.stale": {"zh": "数据过期", "en": "stale"},
    "wall.failed": {"zh": "数据源故障", "en": "source failed"},
    "wall.ok": {"zh": "数据正常", "en": "live"},
    "wall.last_event": {"zh": "最新事件", "en": "Last event"},
    "wall.lang": {"zh": "English", "en": "中文"},
    "wall.sev.critical": {"zh": "严重", "en": "critical"},
    "wall.sev.major": {"zh": "重要", "en": "major"},
    "wall.sev.minor": {"zh": "一般", "en": "minor"},
    "wall.state.ready": {"zh": "空闲", "en": "Ready"},
    "wall.state.ringing": {"zh": "振铃", "en": "Ringing"},
    "wall.state.on_call": {"zh": "通话", "en": "On call"},
    "wall.state.hold": {"zh": "保持", "en": "Hold"},
    "wall.state.acw": {"zh": "话后处理", "en": "After-call work"},
    "wall.state.not_ready": {"zh": "示忙", "en": "Not ready"},
    "wall.state.break": {"zh": "小休", "en": "Break"},
    "wall.state.offline": {"zh": "离线", "en": "Offline"},
    "playlist.title": {"zh": "大屏轮播", "en": "Wall playlist"},
})

WALL_PANELS = ("volume", "rates", "queue", "curves", "seats", "staffing", "districts", "categories", "alerts")
STATE_ORDER = ("on_call", "ringing", "hold", "acw", "ready", "not_ready", "break", "offline")
STATE_COLORS = {"on_call": "#3fa7ff", "ringing": "#7fd1ff", "hold": "#a78bfa", "acw": "#f5a623",
                "ready": "#2ecc71", "not_ready": "#8fa3c4", "break": "#8fa3c4", "offline": "#3a4458"}
CURVE_COLORS = {"today": "#3fa7ff", "last_week": "#f5a623", "median": "#8fa3c4"}
MAP_MODES = ("count", "per100k")


# ---------------------------------------------------------------- formatting


def fmt_int(value: float | None) -> str:
    return "—" if value is None else f"{int(round(value)):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def fmt_wait(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def fmt_change(value: float | None) -> str:
    if value is None:
        return "—"
    arrow = "▲" if value > 0 else ("▼" if value < 0 else "")
    return f"{arrow}{abs(value) * 100:.0f}%"


def _rel(today: float | None, base: float | None) -> float | None:
    if today is None or not base:
        return None
    return (today - base) / base


def swap_lang_href(path: str, query: dict[str, str], lang: str) -> str:
    """The same page in the other language, other query parameters kept."""
    other = "en" if lang == "zh" else "zh"
    return f"{path}?{urlencode({**query, 'lang': other})}"


# ---------------------------------------------------------------- SVG charts (data URIs)


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _points(values: Sequence[float], top: float, width: float, height: float, step: int,
            x_span: int) -> str:
    pts = []
    last = len(values) - 1
    for i in list(range(0, last + 1, step)) + ([last] if last % step else []):
        x = width * i / max(x_span - 1, 1)
        y = height - (values[i] / top * height if top else 0.0)
        pts.append(f"{x:.1f},{y:.1f}")
    return " ".join(pts)


def curve_svg(today: Sequence[float] | None, last_week: Sequence[float] | None,
              median: Sequence[float] | None, *, width: int = 640, height: int = 300) -> str:
    """Cumulative day curves as an SVG data URI: x = local minute 0..1439, shared y scale.

    ``today`` may be shorter than a day (it fills in minute by minute); baselines are full days.
    Hour ticks every six hours; the top gridline is labelled with the y maximum.
    """
    pad_l, pad_b, pad_t = 56, 26, 10
    w, h = width - pad_l - 30, height - pad_b - pad_t
    top = max([c[-1] for c in (today, last_week, median) if c] + [1.0])
    top = _nice_ceiling(top)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'font-family="Noto Sans CJK SC, sans-serif" font-size="16">',
             f'<g transform="translate({pad_l},{pad_t})">']
    for k in range(5):
        y = h - h * k / 4
        parts.append(f'<line x1="0" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="#22304d" stroke-width="1"/>')
        parts.append(f'<text x="-8" y="{y + 5:.1f}" fill="#8fa3c4" text-anchor="end">{_short(top * k / 4)}</text>')
    for hour in (0, 6, 12, 18, 24):
        x = w * hour * 60 / 1439
        parts.append(f'<text x="{x:.1f}" y="{h + 20}" fill="#8fa3c4" text-anchor="middle">{hour:02d}:00</text>')
    for name, curve, dash in (("median", median, "6 5"), ("last_week", last_week, "2 0"), ("today", today, "")):
        if not curve:
            continue
        stroke = CURVE_COLORS[name]
        sw = 4 if name == "today" else 2.5
        dash_attr = f' stroke-dasharray="{dash}"' if dash and dash != "2 0" else ""
        parts.append(f'<polyline fill="none" stroke="{stroke}" stroke-width="{sw}"{dash_attr} '
                     f'stroke-linejoin="round" points="{_points(curve, top, w, h, 5, 1440)}"/>')
    parts.append("</g></svg>")
    return _svg_uri("".join(parts))


def sparkline_svg(values: Sequence[float], *, width: int = 160, height: int = 36, color: str = "#3fa7ff") -> str:
    """A small line of ``values`` (e.g. tickets per day) as an SVG data URI; last point dotted."""
    if not values:
        return _svg_uri(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"></svg>')
    top = max(max(values), 1)
    n = len(values)
    pts = [(2 + (width - 6) * i / max(n - 1, 1), height - 3 - (height - 6) * v / top) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    lx, ly = pts[-1]
    return _svg_uri(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
        f'<polyline fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" points="{line}"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="{color}"/></svg>')


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n that is >= x (a chart's y maximum)."""
    return float(min((b * 10**e for b in (1, 2, 2.5, 5) for e in range(0, 13) if b * 10**e >= x), default=x))


def _short(value: float) -> str:
    if value >= 10_000:
        return f"{value / 10_000:.1f}万".replace(".0万", "万")
    return f"{value:,.0f}"


# ---------------------------------------------------------------- the frame shared with the province


def panel(name: str, title: str, body: Any = None, *, extra: str = "") -> html.Section:
    """A panel: title, as-of label (filled in by assets/wall.js) and a body updated by callbacks."""
    return html.Section(
        [
            html.Div([html.H3(title, className="ck-wall-panel-title"),
                      html.Span(id={"type": ids.WALL_AS_OF, "index": name}, className="ck-wall-as-of")],
                     className="ck-wall-panel-head"),
            html.Div(body, id={"type": ids.WALL_BODY, "index": name}, className="ck-wall-panel-body"),
        ],
        id={"type": ids.WALL_PANEL, "index": name},
        className=f"ck-wall-panel ck-wall-{name} {extra}".strip(),
    )


def screen_config(ctx: PageContext, *, page: str, code: str) -> dict:
    """What the browser needs for the clock and the freshness badges (assets/wall.js)."""
    return {
        "page": page, "code": code, "lang": ctx.lang, "tz": ctx.settings.timezone, "kiosk": ctx.kiosk,
        "locale": "zh-CN" if ctx.lang == "zh" else "en-GB",
        "labels": {"as_of": t("common.as_of", ctx.lang), "stale": t("wall.stale", ctx.lang),
                   "failed": t("wall.failed", ctx.lang)},
    }


def screen_header(ctx: PageContext, title: str, *, status_id: str, title_id: str) -> html.Header:
    nav = [] if ctx.kiosk else [html.A(t("wall.lang", ctx.lang), href=swap_lang_href(ctx.path, ctx.query, ctx.lang),
                                       className="ck-wall-lang")]
    return html.Header(
        [
            html.Div([html.H1(title, id=title_id, className="ck-wall-title"),
                      html.Span(t("wall.title", ctx.lang), className="ck-wall-subtitle")], className="ck-wall-brand"),
            html.Div([html.Span(id=status_id, className="ck-wall-status"),
                      html.Span(id=ids.WALL_CLOCK, className="ck-wall-clock"), *nav], className="ck-wall-right"),
        ],
        className="ck-wall-header",
    )


def screen_root(ctx: PageContext, children: list, *, root_id: str, page: str) -> html.Div:
    classes = f"ck-wall-screen ck-{page}-screen" + (" ck-kiosk" if ctx.kiosk else "")
    return html.Div(children, id=root_id, className=classes, lang="zh-CN" if ctx.lang == "zh" else "en")


def panel_meta(sections: dict[str, dict | None], previous: dict | None, failed: set[str]) -> dict:
    """{panel: {as_of_ms, max_age_ms, failed}}: new as-of where a panel got data, else the last one."""
    out = dict(previous or {})
    for name, section in sections.items():
        old = out.get(name) or {}
        if section is not None:
            out[name] = {"as_of_ms": section["as_of_ms"], "max_age_ms": section["max_age_ms"],
                         "failed": name in failed}
        else:
            out[name] = {"as_of_ms": old.get("as_of_ms"), "max_age_ms": old.get("max_age_ms"),
                         "failed": name in failed or bool(old.get("failed"))}
    return out


def status_badge(failed: Sequence[str], lang: str, *, last_event_ms: int | None = None, tz=None) -> html.Span:
    """'live' or 'source failed', with the time of the newest event applied (local time)."""
    last = ""
    if last_event_ms and tz is not None:
        moment = datetime.fromtimestamp(last_event_ms / 1000, tz)
        last = f" · {t('wall.last_event', lang)} {moment:%H:%M:%S}"
    if failed:
        return html.Span(f"⚠ {t('wall.failed', lang)}{last}", className="ck-wall-badge ck-wall-badge-failed",
                         title=", ".join(failed))
    return html.Span(f"● {t('wall.ok', lang)}{last}", className="ck-wall-badge ck-wall-badge-ok")


def map_colors(breaks: list[float]) -> list[str]:
    """len(breaks)+1 colours from the palette, spread from low to high."""
    n = len(breaks) + 1
    if n >= len(DEFAULT_COLORS):
        return list(DEFAULT_COLORS[:n])
    if n == 1:
        return [DEFAULT_COLORS[1]]
    return [DEFAULT_COLORS[round(i * (len(DEFAULT_COLORS) - 1) / (n - 1))] for i in range(n)]


# Coordinate decimals sent to the browser: a wall pixel is ~300 m on a city map and ~2 km on a
# province map, so 4 (~10 m) and 3 (~100 m) decimals lose nothing visible and cut the bytes.
CITY_DECIMALS, PROVINCE_DECIMALS = 4, 3


def _round_coords(value: Any, decimals: int) -> Any:
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list):
        return [_round_coords(v, decimals) for v in value]
    return value


@lru_cache(maxsize=64)
def _screen_geojson(code: str, lang: str) -> str:
    from geo import boundaries

    shapes = boundaries.geojson(code)
    for feature in shapes["features"]:
        props = feature["properties"]
        if lang == "en" and props.get("name_en"):
            props["name"] = props["name_en"]
    decimals = PROVINCE_DECIMALS if code.endswith("0000") else CITY_DECIMALS
    for feature in shapes["features"]:
        geometry = feature["geometry"]
        geometry["coordinates"] = _round_coords(geometry["coordinates"], decimals)
    return json.dumps(shapes, ensure_ascii=False)


def screen_geojson(code: str, lang: str = "zh") -> dict:
    """The children of ``code`` for a screen map: names in ``lang``, coordinates rounded.

    A fresh dict each call; KeyError for an unknown code.
    """
    return json.loads(_screen_geojson(code, lang))


def map_breaks(values: dict[str, float | None], *, integer: bool = False) -> list[float]:
    """Class breaks for a screen map: ``stable_breaks``, or, when most regions are zero (early in
    the day), breaks over the non-zero values so that a region with tickets never looks like one
    without; a single non-zero value gets one break (zero vs. some). For counts (``integer``)
    breaks are rounded up to whole numbers, which keeps every count in the same class."""
    breaks = stable_breaks(values)
    if not breaks:
        positive = {k: v for k, v in values.items() if v}
        breaks = stable_breaks(positive)
        if not breaks and positive and any(v == 0 for v in values.values()):
            breaks = [min(positive.values())]
    if integer:
        breaks = sorted({float(math.ceil(b)) for b in breaks})
    return breaks


def signature(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- the city wall page


def wall_page(ctx: PageContext, code: str) -> html.Div:
    """The wall skeleton for a city code; panels fill in on the first refresh."""
    lang = ctx.lang
    mode = "per100k" if ctx.query.get("per100k") in ("1", "true") else "count"
    map_title = html.Div([
        html.Span(t("wall.districts", lang)),
        dcc.RadioItems(id=ids.WALL_MAP_MODE, value=mode, inline=True, className="ck-wall-toggle",
                       options=[{"label": t(f"wall.map_{m}", lang), "value": m} for m in MAP_MODES]),
    ], className="ck-wall-map-title")
    return screen_root(ctx, [
        screen_header(ctx, code, status_id=ids.WALL_STATUS, title_id=ids.WALL_TITLE),
        html.Main([
            panel("volume", t("wall.volume", lang)),
            panel("rates", t("wall.rates", lang)),
            panel("queue", t("wall.queue", lang)),
            panel("curves", t("wall.curves", lang)),
            panel("districts", map_title),
            panel("categories", t("wall.categories", lang)),
            panel("seats", t("wall.seats", lang)),
            panel("staffing", t("wall.staffing", lang)),
            panel("alerts", t("wall.alerts", lang)),
        ], className="ck-wall-grid"),
        dcc.Interval(id=ids.WALL_REFRESH, interval=ctx.settings.refresh_ms),
        dcc.Store(id=ids.WALL_REQUEST),
        dcc.Store(id=ids.WALL_DONE),
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


def _note(label: str, value: float | None) -> html.Span:
    cls = "ck-wall-note" + ("" if value is None else (" ck-up" if value > 0 else " ck-down"))
    return html.Span([f"{label} ", html.B(fmt_change(value))], className=cls)


def volume_body(s: dict, lang: str) -> list:
    return [
        _big(t("wall.offered", lang), fmt_int(s["offered"]), name="offered", notes=[
            _note(t("wall.vs_last_week", lang), _rel(s["offered"], s.get("offered_last_week"))),
            _note(t("wall.vs_median", lang), _rel(s["offered"], s.get("offered_median")))]),
        _big(t("wall.tickets", lang), fmt_int(s["tickets"]), name="tickets", notes=[
            _note(t("wall.vs_last_week", lang), _rel(s["tickets"], s.get("tickets_last_week"))),
            _note(t("wall.vs_median", lang), _rel(s["tickets"], s.get("tickets_median")))]),
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


def queue_body(s: dict, lang: str) -> list:
    waiting = s["waiting"]
    longest = s.get("longest_wait_s")
    return [
        _big(t("wall.waiting", lang), fmt_int(waiting), name="waiting",
             status="red" if waiting and longest and longest > 60 else None),
        _big(t("wall.longest_wait", lang), fmt_wait(longest), name="longest_wait",
             status=None if longest is None else ("green" if longest <= 15 else "amber" if longest <= 60 else "red")),
    ]


def curves_body(s: dict, lang: str) -> list:
    today, last, med = s["today"]["offered"], s["last_week"]["offered"], s["median"]["offered"]
    legend = html.Div([
        html.Span([html.I(className="ck-swatch", style={"background": CURVE_COLORS[k]}), t(label, lang)],
                  className="ck-wall-legend-item")
        for k, label, curve in (("today", "wall.curve_today", today), ("last_week", "wall.curve_last_week", last),
                                ("median", "wall.curve_median", med)) if curve
    ], className="ck-wall-legend")
    return [legend, html.Img(src=curve_svg(today, last, med), className="ck-wall-curve", alt="")]


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
    status = None if gap is None else ("green" if gap >= 0 else "red")
    nxt = s.get("next") or []
    peak = max((r["required"] for r in nxt), default=None)
    return [
        html.Div([
            _big(t("wall.required", lang), fmt_int(required), name="required"),
            _big(t("wall.staffed", lang), fmt_int(staffed), status=status, name="staffed"),
        ], className="ck-wall-pair"),
        html.Div([html.Span(t("wall.projected_sl", lang)), html.B(fmt_pct(s.get("projected_service_level"), 0))],
                 className="ck-wall-line"),
        html.Div([html.Span(t("wall.next_2h", lang)), html.B(fmt_int(peak))], className="ck-wall-line"),
    ]


def districts_body(s: dict, code: str, mode: str, lang: str, tile_url: str = "") -> Any:
    try:
        shapes = screen_geojson(code, lang)
    except KeyError:
        return html.Div(t("wall.no_map", lang), className="ck-wall-empty")
    counts = s.get("counts") or {}
    pops = s.get("population") or {}
    codes = [f["properties"]["code"] for f in shapes["features"]]
    if mode == "per100k":
        values = {c: (counts.get(c, 0) * 100_000 / pops[c]) if pops.get(c) else None for c in codes}
        label = t("wall.map_per100k", lang)
    else:
        values = {c: counts.get(c, 0) for c in codes}
        label = t("wall.map_count", lang)
    breaks = map_breaks(values, integer=mode == "count")
    return html.Div(choropleth_map(shapes, values, id=ids.WALL_MAP_GEO, metric_label=label, breaks=breaks,
                                   colors=map_colors(breaks), tile_url=tile_url, lang=lang),
                    className="ck-wall-mapbox")


def categories_body(s: dict, lang: str) -> Any:
    top = s.get("top") or []
    if not top:
        return html.Div(t("wall.no_data", lang), className="ck-wall-empty")
    peak = max(r["today"] for r in top) or 1
    rows = []
    for r in top:
        ch = r.get("change")
        if ch is None:
            change_text, cls = (t("wall.new", lang) if not r.get("normal") else "—"), "ck-wall-note"
        else:
            change_text = fmt_change(ch)
            cls = "ck-wall-note " + ("ck-hot" if ch >= 0.5 else "ck-up" if ch > 0 else "ck-down")
        rows.append(html.Div([
            html.Span(r["name"] or "—", className="ck-wall-cat-name"),
            html.Div(html.Div(className="ck-wall-cat-fill", style={"width": f"{r['today'] * 100 / peak:.1f}%"}),
                     className="ck-wall-cat-bar"),
            html.B(fmt_int(r["today"]), className="ck-wall-cat-count"),
            html.Span(change_text, className=cls, title=f"{t('wall.normal', lang)} {fmt_int(r.get('normal'))}"),
        ], className="ck-wall-cat-row"))
    return rows


def alerts_body(s: dict, lang: str, tz) -> Any:
    items = s.get("items") or []
    if not items:
        return html.Div(t("wall.no_alerts", lang), className="ck-wall-empty ck-wall-ok")
    rows = []
    for a in items[:8]:
        sev = str(a.get("severity") or "minor")
        since = a.get("since")
        try:
            since_text = datetime.fromisoformat(str(since)).astimezone(tz).strftime("%H:%M") if since else ""
        except ValueError:
            since_text = str(since)
        rows.append(html.Div([
            html.Span(t(f"wall.sev.{sev}", lang) if f"wall.sev.{sev}" in MESSAGES else sev,
                      className=f"ck-wall-sev ck-sev-{sev}"),
            html.Span(a.get("title") or "", className="ck-wall-alert-title"),
            html.Span(a.get("district_name") or a.get("district") or "", className="ck-wall-alert-district"),
            html.Span(since_text, className="ck-wall-alert-since"),
        ], className="ck-wall-alert"))
    return rows


def wall_update(snapshot: dict | None, *, lang: str, mode: str, previous_meta: dict | None,
                previous_map_sig: str | None, tz, tile_url: str = "", request: Any = None) -> tuple:
    """All outputs of one wall refresh (panel bodies in WALL_PANELS order, map signature, meta,
    status, title, the answered ``request``); no_update where a source failed.

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
    builders = {
        "volume": lambda s: volume_body(s, lang),
        "rates": lambda s: rates_body(s, lang),
        "queue": lambda s: queue_body(s, lang),
        "curves": lambda s: curves_body(s, lang),
        "seats": lambda s: seats_body(s, lang),
        "staffing": lambda s: staffing_body(s, lang),
        "categories": lambda s: categories_body(s, lang),
        "alerts": lambda s: alerts_body(s, lang, tz),
    }
    failed_sources = set(snapshot.get("failed") or [])
    live_panels = {"volume", "rates", "queue", "curves", "seats", "districts", "categories"}
    failed_panels: set[str] = set()
    if "live" in failed_sources:
        failed_panels |= live_panels
    if "history" in failed_sources:
        failed_panels |= {"staffing", "categories"}
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
    if districts is not None:
        new_sig = signature(code, mode, lang, districts.get("counts"))
        if new_sig != previous_map_sig:
            map_out, sig = districts_body(districts, code, mode, lang, tile_url), new_sig
    meta = panel_meta({p: sections.get(p) for p in WALL_PANELS}, previous_meta, failed_panels)
    name = snapshot["name"].get(lang) or code
    bodies.insert(WALL_PANELS.index("districts"), map_out)
    title = html.Span(name, className="ck-wall-city")
    last_event = (sections.get("volume") or {}).get("last_event_ms")
    status = status_badge(sorted(failed_sources), lang, last_event_ms=last_event, tz=tz)
    return (*bodies, sig, meta, status, title, request)


# ---------------------------------------------------------------- playlist


def playlist_urls(scopes: Sequence[str], *, lang: str) -> list[str]:
    """Kiosk URLs for the scopes in order: provinces (xx0000) get /province, others /wall."""
    return [f"{wall_path(code)}?{urlencode({'kiosk': '1', 'lang': lang})}" for code in scopes]


def playlist_page(ctx: PageContext) -> html.Div:
    """A full-screen frame that shows each scope for ``seconds`` in turn (rotation in assets/wall.js)."""
    scopes = [s.strip() for s in ctx.query.get("scopes", "").split(",") if s.strip()] or [ctx.settings.province]
    try:
        seconds = max(2, int(ctx.query.get("seconds", "30")))
    except ValueError:
        seconds = 30
    urls = playlist_urls(scopes, lang=ctx.lang)
    return html.Div([
        html.Iframe(id=ids.PLAYLIST_FRAME, src=urls[0], className="ck-playlist-frame", title=t("playlist.title", ctx.lang)),
        dcc.Store(id=ids.PLAYLIST_CONFIG, data={"urls": urls, "seconds": seconds}),
        dcc.Interval(id=ids.PLAYLIST_TICK, interval=seconds * 1000),
    ], className="ck-playlist ck-kiosk")
