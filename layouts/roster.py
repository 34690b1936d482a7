"""/roster: the week's shift plan, coverage against need per 15 minutes, projected service level.

The URL query holds scope and week (``YYYY-Www``); the frame is drawn from it and the plan comes
from a callback (``callbacks/roster.py``) calling ``cockpit.http.planning.roster_document``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.i18n import register, t
from layouts.page import PageContext
from layouts.shell import header

register({
    "ros.title": {"zh": "排班计划", "en": "Shift roster"},
    "ros.scope": {"zh": "范围", "en": "Scope"},
    "ros.week": {"zh": "周次", "en": "Week"},
    "ros.note": {"zh": "需求坐席 = 按预测话务量、近7天平均处理时长与放弃耐心，用 Erlang A 计算达到服务水平目标所需的最少坐席；"
                       "排班由整数规划求解，使带薪工时最少，休息错峰。",
                 "en": "Required seats = the fewest seats that reach the service-level target at the forecast "
                       "volume (Erlang A, AHT and caller patience of the last 7 days); the shifts come from an "
                       "integer program that minimises paid hours, with staggered breaks."},
    "ros.paid": {"zh": "带薪工时", "en": "Paid hours"},
    "ros.shifts": {"zh": "班次人次", "en": "People-shifts"},
    "ros.over": {"zh": "超配坐席·小时", "en": "Over-staffed seat-hours"},
    "ros.under": {"zh": "缺员坐席·小时", "en": "Under-staffed seat-hours"},
    "ros.below": {"zh": "未达标时段", "en": "Intervals below target"},
    "ros.calls": {"zh": "预测来电", "en": "Forecast calls"},
    "ros.target": {"zh": "服务水平目标", "en": "Service-level target"},
    "ros.day": {"zh": "日期", "en": "Day"},
    "ros.shift": {"zh": "班次", "en": "Shift"},
    "ros.time": {"zh": "时间", "en": "Hours"},
    "ros.people": {"zh": "人数", "en": "People"},
    "ros.breaks": {"zh": "休息安排", "en": "Breaks"},
    "ros.kind.break": {"zh": "小休", "en": "break"},
    "ros.kind.lunch": {"zh": "午餐", "en": "lunch"},
    "ros.required": {"zh": "需求坐席", "en": "Required seats"},
    "ros.planned": {"zh": "计划在席", "en": "Planned seats"},
    "ros.sl": {"zh": "预计服务水平", "en": "Projected service level"},
    "ros.forecast": {"zh": "预测来电/15分钟", "en": "Forecast calls / 15 min"},
    "ros.seats_axis": {"zh": "坐席", "en": "seats"},
    "ros.planned_at": {"zh": "计划生成于", "en": "Planned at"},
    "ros.saved_by": {"zh": "保存人", "en": "saved by"},
    "ros.what_if": {"zh": "试算（未保存）", "en": "what-if (not saved)"},
    "ros.solver": {"zh": "求解", "en": "Solver"},
    "ros.error": {"zh": "参数有误", "en": "Bad parameter"},
    "ros.none": {"zh": "当天无排班", "en": "No shift this day"},
})

WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _field(label: str, control) -> html.Label:
    return html.Label([html.Span(label, className="ck-ass-label"), control], className="ck-ass-field")


def current_week(tz: ZoneInfo, now: datetime | None = None) -> str:
    """This local ISO week as ``YYYY-Www``."""
    iso = (now or datetime.now(tz)).astimezone(tz).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def roster_page(ctx: PageContext) -> html.Div:
    """The frame of /roster for the URL query (scope defaults to the province, week to this week)."""
    lang, q = ctx.lang, ctx.query
    other = "en" if lang == "zh" else "zh"
    scope = q.get("scope") or ctx.settings.province
    week = q.get("week") or current_week(ctx.settings.tz)
    controls = html.Div([
        _field(t("ros.scope", lang), dcc.Input(id=ids.ROSTER_SCOPE, value=scope, debounce=True, type="text")),
        _field(t("ros.week", lang), dcc.Input(id=ids.ROSTER_WEEK, value=week, debounce=True, type="text",
                                              placeholder="YYYY-Www")),
    ], className="ck-ass-controls")
    return html.Div([
        header(t("ros.title", lang), lang, switch_href=f"{ctx.path}?scope={scope}&week={week}&lang={other}"),
        controls,
        html.P(t("ros.note", lang), className="ck-ass-note"),
        dcc.Loading(html.Div(id=ids.ROSTER_BODY)),
    ], className="ck-page ck-roster")


def _local(iso: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso).astimezone(tz)


def coverage_figure(doc: dict, lang: str) -> go.Figure:
    """Required and planned seats per interval (steps) and the projected service level (right axis)."""
    tz = ZoneInfo(doc["timezone"])
    x = [_local(r["start"], tz).replace(tzinfo=None) for r in doc["intervals"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[r["required"] for r in doc["intervals"]], name=t("ros.required", lang),
                             line={"shape": "hv", "color": "#f5a623", "width": 2}))
    fig.add_trace(go.Scatter(x=x, y=[r["planned"] for r in doc["intervals"]], name=t("ros.planned", lang),
                             line={"shape": "hv", "color": "#4aa3ff", "width": 2}, fill="tozeroy",
                             fillcolor="rgba(74,163,255,0.15)"))
    sl = [None if r["projected_service_level"] is None else r["projected_service_level"] * 100
          for r in doc["intervals"]]
    fig.add_trace(go.Scatter(x=x, y=sl, name=t("ros.sl", lang), yaxis="y2",
                             line={"color": "#3ecf8e", "width": 1}, hovertemplate="%{y:.1f}%<extra></extra>"))
    target = doc["service_level_target"] * 100
    fig.update_layout(
        margin={"l": 50, "r": 50, "t": 10, "b": 40}, height=360, hovermode="x unified",
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": "#e6edf7"},
        legend={"orientation": "h", "y": 1.08},
        # plotly names months in English whatever the page's language: spell the days out ourselves
        xaxis={"tickformat": "%-m月%-d日" if lang == "zh" else "%a %-d %b", "hoverformat": "%Y-%m-%d %H:%M"},
        yaxis={"title": t("ros.seats_axis", lang), "gridcolor": "#2a3340", "rangemode": "tozero"},
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 101], "ticksuffix": "%", "showgrid": False,
                "tickvals": [0, 20, 40, 60, 80, 100]},
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2", "y0": target, "y1": target,
                 "line": {"color": "#3ecf8e", "dash": "dot", "width": 1}}],
    )
    return fig


def _totals(doc: dict, lang: str) -> html.Div:
    tt = doc["totals"]
    items = [("ros.calls", f"{tt['forecast_calls']:,.0f}"), ("ros.shifts", f"{tt['people_shifts']:,}"),
             ("ros.paid", f"{tt['paid_hours']:,.1f}"), ("ros.over", f"{tt['over_staffed_seat_hours']:,.1f}"),
             ("ros.under", f"{tt['under_staffed_seat_hours']:,.1f}"), ("ros.below", f"{tt['intervals_below_target']}"),
             ("ros.target", f"{doc['service_level_target'] * 100:.0f}% / {doc['sl_threshold_s']:.0f}s")]
    return html.Div([html.Div([html.Div(t(k, lang), className="ck-dim"), html.Div(v, className="ck-roster-figure")],
                              className="ck-roster-total", id={"type": ids.ROSTER_TOTAL, "index": k.split(".")[1]})
                     for k, v in items], className="ck-roster-totals")


def _breaks(shift: dict, lang: str) -> str:
    return "，".join(f"{t('ros.kind.' + b['kind'], lang)} {b['start']}-{b['end']} ×{b['people']}"
                     for b in shift["breaks"]) if lang == "zh" else \
        ", ".join(f"{t('ros.kind.' + b['kind'], lang)} {b['start']}-{b['end']} x{b['people']}" for b in shift["breaks"])


def day_table(doc: dict, lang: str) -> html.Table:
    """One row per shift and day: hours, people and the staggered breaks."""
    head = html.Tr([html.Th(t("ros.day", lang)), html.Th(t("ros.shift", lang)), html.Th(t("ros.time", lang)),
                    html.Th(t("ros.people", lang)), html.Th(t("ros.breaks", lang))])
    rows = []
    for k, day in enumerate(doc["days"]):
        label = f"{day['date']} {'周' + WEEKDAYS['zh'][k] if lang == 'zh' else WEEKDAYS['en'][k]}"
        if not day["shifts"]:
            rows.append(html.Tr([html.Td(label), html.Td(t("ros.none", lang), colSpan=4)]))
        for j, s in enumerate(day["shifts"]):
            rows.append(html.Tr([html.Td(label if j == 0 else ""), html.Td(s["shift"]),
                                 html.Td(f"{s['start']}-{s['end']}"), html.Td(str(s["people"])),
                                 html.Td(_breaks(s, lang), className="ck-roster-breaks")],
                                className="ck-roster-row"))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ck-table ck-roster-table")


def roster_view(doc: dict, lang: str) -> html.Div:
    """Totals, the coverage chart and the plan per day."""
    tz = ZoneInfo(doc["timezone"])
    planned_at = _local(doc["planned_at"], tz).strftime("%Y-%m-%d %H:%M")
    solver = doc["solver"]
    saved = (f"{t('ros.saved_by', lang)} {doc['saved_by']}" if doc.get("saved_by")
             else t("ros.what_if", lang))
    return html.Div([
        _totals(doc, lang),
        dcc.Graph(id=ids.ROSTER_CHART, figure=coverage_figure(doc, lang), config={"displayModeBar": False}),
        day_table(doc, lang),
        html.P(f"{t('ros.planned_at', lang)} {planned_at} · {saved} · {t('ros.solver', lang)}: {solver['name']}, "
               f"{solver['status']}, {solver['seconds']:.1f}s · {doc['forecast_method']}", className="ck-dim"),
    ], id=ids.ROSTER_PLAN)


def roster_error(message: str, lang: str) -> html.Div:
    return html.Div(f"{t('ros.error', lang)}: {message}", className="ck-error")
