"""/assessment: districts or handling units scored against the expected rates of their category mix.

The URL query holds scope, level, period and end; the frame is drawn from it and the table comes
from a callback (``callbacks/assessment.py``) calling ``cockpit.http.reports.assessment_document``.
"""

from __future__ import annotations

from dash import dcc, html

from cockpit.metrics.assessment import METRICS
from layouts import ids
from layouts.i18n import register, t
from layouts.page import PageContext
from layouts.shell import header

register({
    "ass.title": {"zh": "考核评价", "en": "Assessment"},
    "ass.scope": {"zh": "范围", "en": "Scope"},
    "ass.level": {"zh": "对象", "en": "Assess"},
    "ass.level.district": {"zh": "区县", "en": "Districts"},
    "ass.level.unit": {"zh": "承办单位", "en": "Handling units"},
    "ass.period": {"zh": "周期", "en": "Period"},
    "ass.period.week": {"zh": "周", "en": "Week"},
    "ass.period.month": {"zh": "月", "en": "Month"},
    "ass.period.year": {"zh": "年", "en": "Year"},
    "ass.end": {"zh": "截止日期", "en": "Last day"},
    "ass.rank": {"zh": "排名", "en": "Rank"},
    "ass.key": {"zh": "名称", "en": "Name"},
    "ass.tickets": {"zh": "工单量", "en": "Tickets"},
    "ass.score": {"zh": "综合得分", "en": "Score"},
    "ass.unadjusted": {"zh": "未调整得分（排名）", "en": "Unadjusted (rank)"},
    "ass.expected": {"zh": "期望", "en": "expected"},
    "ass.not_ranked": {"zh": "样本不足", "en": "too few"},
    "ass.empty": {"zh": "该周期没有工单", "en": "No tickets in this period"},
    "ass.note": {"zh": "得分 = 100 × 实际值 ÷ 按其诉求类别结构计算的期望值（100 = 与本范围同类诉求水平相当）；"
                       "综合得分为加权平均。",
                 "en": "Score = 100 × actual ÷ the rate expected for the unit's mix of categories (100 = as good "
                       "as the scope on the same categories); the composite is the weighted mean."},
    "ass.error": {"zh": "参数有误", "en": "Bad parameter"},
    "ass.metric.response_rate": {"zh": "响应率", "en": "Response"},
    "ass.metric.on_time_closure_rate": {"zh": "按时办结率", "en": "On-time closure"},
    "ass.metric.satisfaction_rate": {"zh": "满意率", "en": "Satisfaction"},
    "ass.metric.rework_rate": {"zh": "重办率", "en": "Rework"},
    "ass.metric.return_rate": {"zh": "退单率", "en": "Return"},
})

LEVELS = ("district", "unit")
PERIODS = ("week", "month", "year")


def _field(label: str, control) -> html.Label:
    return html.Label([html.Span(label, className="ck-ass-label"), control], className="ck-ass-field")


def assessment_page(ctx: PageContext) -> html.Div:
    """The frame of /assessment for the URL query."""
    lang, q = ctx.lang, ctx.query
    other = "en" if lang == "zh" else "zh"
    scope = q.get("scope") or ""  # empty: the caller's own scope (callbacks/assessment.py)
    controls = html.Div([
        _field(t("ass.scope", lang), dcc.Input(id=ids.ASS_SCOPE, value=scope, debounce=True, type="text")),
        _field(t("ass.level", lang), dcc.Dropdown(
            id=ids.ASS_LEVEL, value=q.get("level") if q.get("level") in LEVELS else "district", clearable=False,
            options=[{"label": t(f"ass.level.{v}", lang), "value": v} for v in LEVELS])),
        _field(t("ass.period", lang), dcc.Dropdown(
            id=ids.ASS_PERIOD, value=q.get("period") if q.get("period") in PERIODS else "month", clearable=False,
            options=[{"label": t(f"ass.period.{v}", lang), "value": v} for v in PERIODS])),
        _field(t("ass.end", lang), dcc.Input(id=ids.ASS_END, value=q.get("end") or "", debounce=True,
                                             type="text", placeholder="YYYY-MM-DD")),
    ], className="ck-ass-controls")
    return html.Div([
        header(t("ass.title", lang), lang, switch_href=f"{ctx.path}?lang={other}"),
        controls,
        html.P(t("ass.note", lang), className="ck-ass-note"),
        dcc.Loading(html.Div(id=ids.ASS_TABLE)),
    ], className="ck-page ck-assessment")


def _fmt_score(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fmt_rate(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def assessment_table(doc: dict, lang: str, names: dict[str, str] | None = None) -> html.Div:
    """The scored rows as a table: rank, name, tickets, per metric value (expected) and score."""
    names = names or {}
    if not doc["rows"]:
        return html.Div(t("ass.empty", lang), className="ck-empty")
    metrics = [m for m in METRICS if doc["weights"].get(m)]
    head = [html.Th(t("ass.rank", lang)), html.Th(t("ass.key", lang)), html.Th(t("ass.tickets", lang))]
    head += [html.Th(t(f"ass.metric.{m}", lang)) for m in metrics]
    head += [html.Th(t("ass.score", lang)), html.Th(t("ass.unadjusted", lang))]
    body = []
    for row in doc["rows"]:
        cells = [html.Td(str(row["rank"]) if row["rank"] else t("ass.not_ranked", lang)),
                 html.Td(names.get(row["key"]) or row["key"] or "-"), html.Td(str(row["tickets_created"]))]
        for m in metrics:
            cell = row["metrics"][m]
            cells.append(html.Td([
                html.Span(_fmt_rate(cell["value"])),
                html.Small(f" ({t('ass.expected', lang)} {_fmt_rate(_expected_value(m, cell))})",
                           className="ck-dim") if cell["expected"] is not None else None,
                html.Div(_fmt_score(cell["score"]), className="ck-ass-metric-score"),
            ]))
        unadj = _fmt_score(row["score_unadjusted"])
        if row.get("rank_unadjusted"):
            unadj += f" ({row['rank_unadjusted']})"
        cells += [html.Td(html.Strong(_fmt_score(row["score"]))), html.Td(unadj)]
        body.append(html.Tr(cells, className="ck-ass-row"))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="ck-table ck-ass-table")


def _expected_value(metric: str, cell: dict) -> float | None:
    """The expected rate in the metric's own direction (rework/return: 1 - expected good rate)."""
    if cell["expected"] is None:
        return None
    return 1.0 - cell["expected"] if METRICS[metric][2] == "lower" else cell["expected"]


def assessment_error(message: str, lang: str) -> html.Div:
    return html.Div(f"{t('ass.error', lang)}: {message}", className="ck-error")
