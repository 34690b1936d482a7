"""/supervise planning panel: today's calls against the forecast (80 % interval) and seats
required / planned / logged in now and for the next two hours. Takes the dict of
``cockpit.views.seatplan.supervise_plan``; draws nothing it was not given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import dcc, html

from layouts import ids
from layouts.fmt import fmt_int, fmt_pct
from layouts.i18n import register, t
from layouts.names import place_name

register({
    "plan.title": {"zh": "话务预测与坐席", "en": "Forecast and seats"},
    "plan.offered_today": {"zh": "今日来电", "en": "Calls today"},
    "plan.forecast_so_far": {"zh": "同期预测", "en": "Forecast so far"},
    "plan.vs_forecast": {"zh": "较预测", "en": "Against forecast"},
    "plan.next_2h": {"zh": "未来2小时预测", "en": "Forecast, next 2 h"},
    "plan.required": {"zh": "需求坐席", "en": "Required seats"},
    "plan.planned": {"zh": "计划坐席", "en": "Planned seats"},
    "plan.logged_in": {"zh": "在岗坐席", "en": "Logged-in seats"},
    "plan.adherence": {"zh": "排班遵从率", "en": "Adherence"},
    "plan.now": {"zh": "当前", "en": "now"},
    "plan.peak": {"zh": "2小时峰值", "en": "peak in 2 h"},
    "plan.time": {"zh": "时段", "en": "Interval"},
    "plan.forecast": {"zh": "预测来电", "en": "Forecast calls"},
    "plan.range": {"zh": "80%区间", "en": "80% range"},
    "plan.actual": {"zh": "实际来电/15分钟", "en": "Calls offered / 15 min"},
    "plan.fc_line": {"zh": "预测", "en": "Forecast"},
    "plan.band": {"zh": "预测80%区间", "en": "Forecast 80% range"},
    "plan.calls_axis": {"zh": "来电（通）", "en": "calls"},
    "plan.insufficient": {"zh": "预测数据不足：历史来电不足7天，暂按最近来电速率估算，仅供参考",
                          "en": "Too little history for the forecast: under 7 days of calls, so the recent "
                                "call rate stands in; treat the figures as rough"},
    "plan.district": {"zh": "来电按城市统计，区县没有话务预测；请选择城市查看",
                      "en": "Calls are counted per city; a district has no call forecast. Choose a city"},
    "plan.intraday": {"zh": "未来2小时预测已按今日来电水平调整（×{r}）",
                      "en": "The next 2 hours are adjusted to today's call level (×{r})"},
    "plan.no_plan": {"zh": "无排班", "en": "no roster"},
    "plan.note": {"zh": "需求坐席：按预测来电以 Erlang A 计算达到服务水平目标的最少坐席；计划坐席来自本周排班。",
                  "en": "Required seats: the fewest seats that reach the service-level target at the forecast "
                        "volume (Erlang A); planned seats come from this week's roster."},
})


def _hm(iso: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M")


def _stat(label: str, value: str, name: str, sub: str | None = None) -> html.Div:
    return html.Div([html.Span(label, className="ck-plan-label"), html.B(value, className="ck-plan-value"),
                     *([html.Span(sub, className="ck-plan-sub")] if sub else [])],
                    className="ck-plan-stat", **{"data-stat": name})


def plan_figure(data: dict, lang: str) -> go.Figure:
    """Calls offered per 15 minutes today (bars) against the forecast (line) and its 80 % band, on to
    the next two hours."""
    tz = ZoneInfo(data["timezone"])
    today, ahead = data["today"], data["ahead"]
    rows = today + [r for r in ahead if r["start"] not in {x["start"] for x in today}]
    x = [datetime.fromisoformat(r["start"]).astimezone(tz).replace(tzinfo=None) for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[r["upper"] for r in rows], mode="lines", line={"width": 0},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=x, y=[r["lower"] for r in rows], mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor="rgba(63,167,255,0.16)", name=t("plan.band", lang), hoverinfo="skip"))
    fig.add_trace(go.Bar(x=x[: len(today)], y=[r["offered"] for r in today], name=t("plan.actual", lang),
                         marker_color="#f5a623"))
    fig.add_trace(go.Scatter(x=x, y=[r["forecast"] for r in rows], mode="lines", name=t("plan.fc_line", lang),
                             line={"color": "#3fa7ff", "width": 2}))
    fig.update_layout(template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      margin={"l": 40, "r": 8, "t": 8, "b": 28}, height=200, bargap=0.1,
                      legend={"orientation": "h", "y": 1.12, "x": 0, "font": {"size": 11}},
                      yaxis={"title": {"text": t("plan.calls_axis", lang), "font": {"size": 11}}, "rangemode": "tozero"},
                      xaxis={"tickformat": "%H:%M"})
    return fig


def _seat_table(data: dict, lang: str, tz: ZoneInfo) -> html.Table:
    """Every 30 minutes from now to two hours ahead: forecast (80 % range), required, planned, logged in."""
    seats = data["seats"]
    rows = []
    for k, r in enumerate(data["ahead"]):
        if k % 2:
            continue
        first = k == 0
        when = t("plan.now", lang) if first else _hm(r["start"], tz)
        rows.append(html.Tr([
            html.Td(when), html.Td(f"{r['forecast']:.0f}"), html.Td(f"{r['lower']:.0f}–{r['upper']:.0f}"),
            html.Td(fmt_int(r.get("required"))),
            html.Td(fmt_int(r.get("planned")) if r.get("planned") is not None else t("plan.no_plan", lang)),
            html.Td(fmt_int(seats.get("logged_in")) if first else "–"),
        ], **{"data-start": r["start"]}))
    head = html.Tr([html.Th(t(k, lang)) for k in ("plan.time", "plan.forecast", "plan.range", "plan.required",
                                                   "plan.planned", "plan.logged_in")])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ck-plan-table")


def plan_panel(data: dict, lang: str) -> list:
    """The panel's children for a ``supervise_plan`` dict."""
    title = html.H3(f"{t('plan.title', lang)} · {place_name(data.get('scope'), lang)}"
                    if data.get("scope") else t("plan.title", lang))
    if not data.get("available"):
        return [title, html.P(t("plan.district", lang), className="ck-plan-note", **{"data-note": "district"})]
    tz = ZoneInfo(data["timezone"])
    tot, seats = data["totals"], data["seats"]
    ratio = tot.get("ratio")
    notes = []
    if not data.get("forecast_ready"):
        notes.append(html.P(t("plan.insufficient", lang), className="ck-plan-note ck-pending",
                            **{"data-note": "insufficient"}))
    intraday = data.get("intraday") or {}
    if data.get("forecast_ready") and intraday.get("ratio") not in (None, 1.0):
        notes.append(html.P(t("plan.intraday", lang).format(r=f"{intraday['ratio']:.2f}"),
                            className="ck-plan-note ck-dim", **{"data-note": "intraday"}))
    adherence = seats.get("adherence")
    stats = html.Div([
        _stat(t("plan.offered_today", lang), fmt_int(tot.get("offered_so_far")), "offered"),
        _stat(t("plan.forecast_so_far", lang), fmt_int(tot.get("forecast_so_far")), "forecast",
              f"{t('plan.vs_forecast', lang)} {fmt_pct(ratio, 0)}" if ratio is not None else None),
        _stat(t("plan.next_2h", lang), fmt_int(tot.get("forecast_next")), "next"),
        _stat(t("plan.required", lang), fmt_int(seats.get("required")), "required",
              f"{t('plan.peak', lang)} {fmt_int(seats.get('peak_required'))}"),
        _stat(t("plan.planned", lang), fmt_int(seats.get("planned")) if seats.get("planned") is not None
              else t("plan.no_plan", lang), "planned"),
        _stat(t("plan.logged_in", lang), fmt_int(seats.get("logged_in")), "logged_in",
              f"{t('plan.adherence', lang)} {fmt_pct(adherence, 0)}" if adherence is not None else None),
    ], className="ck-plan-stats")
    return [title, *notes, stats,
            html.Div([dcc.Graph(id=ids.SUP_PLAN_CHART, figure=plan_figure(data, lang),
                                config={"displayModeBar": False}, className="ck-plan-chart"),
                      _seat_table(data, lang, tz)], className="ck-plan-body"),
            html.P(t("plan.note", lang), className="ck-plan-foot ck-dim")]
