"""/supervise: alerts -> the tickets behind them (AG Grid, paged from SQL) -> one ticket.

Every filter lives in the URL query (city, district, category, rule, state, from, to, alert),
so a view can be shared and reopened. The page builder draws the frame from the query; the
data arrive through callbacks (``callbacks/supervise.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from cockpit.watch.evaluate import RULES
from layouts import ids
from layouts.categories import category_label
from layouts.i18n import register, t
from layouts.names import alert_title, english_or, place_name, term
from layouts.page import PageContext
from layouts.shell import header

register({
    "sup.title": {"zh": "督办监控", "en": "Supervision"},
    "sup.city": {"zh": "城市", "en": "City"},
    "sup.district": {"zh": "区县", "en": "District"},
    "sup.rule": {"zh": "监控点", "en": "Watchpoint"},
    "sup.state": {"zh": "状态", "en": "State"},
    "sup.from": {"zh": "开始日期", "en": "From"},
    "sup.to": {"zh": "结束日期", "en": "To"},
    "sup.alerts": {"zh": "预警列表", "en": "Alerts"},
    "sup.no_alerts": {"zh": "没有符合条件的预警", "en": "No alerts match"},
    "sup.tickets": {"zh": "相关工单", "en": "Tickets"},
    "sup.by_district": {"zh": "按区县（点击筛选）", "en": "By district (click to filter)"},
    "sup.by_category": {"zh": "按类别（点击筛选）", "en": "By category (click to filter)"},
    "sup.facet_unit": {"zh": "工单数（件）", "en": "Tickets (count)"},
    "sup.facet_window": {"zh": "{title} · 工单数（件），{window}", "en": "{title} · tickets (count), {window}"},
    "sup.window_default": {"zh": "近{n}天", "en": "last {n} days"},
    "sup.window_range": {"zh": "{start} 至 {end}", "en": "{start} to {end}"},
    "sup.export": {"zh": "导出 CSV", "en": "Export CSV"},
    "sup.export_xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "sup.clear": {"zh": "清除筛选", "en": "Clear filters"},
    "sup.selected": {"zh": "当前预警", "en": "Selected alert"},
    "sup.open_ticket": {"zh": "查看工单", "en": "Open ticket"},
    "sup.since": {"zh": "触发时间", "en": "Since"},
    "sup.severity": {"zh": "级别", "en": "Severity"},
    "sup.col.title": {"zh": "预警", "en": "Alert"},
    "sup.any": {"zh": "全部", "en": "All"},
    "state.open": {"zh": "未关闭", "en": "Open"},
    "state.all": {"zh": "全部", "en": "All"},
    "state.pending": {"zh": "待确认", "en": "Pending"},
    "state.firing": {"zh": "告警中", "en": "Firing"},
    "state.acknowledged": {"zh": "已签收", "en": "Acknowledged"},
    "state.escalated": {"zh": "已督办", "en": "Escalated"},
    "state.resolved": {"zh": "已解除", "en": "Resolved"},
    "severity.critical": {"zh": "紧急", "en": "Critical"},
    "severity.major": {"zh": "重要", "en": "Major"},
    "severity.minor": {"zh": "一般", "en": "Minor"},
    "rule.overdue": {"zh": "超期未办结", "en": "Overdue"},
    "rule.closed_late": {"zh": "超期办结", "en": "Closed late"},
    "rule.repeat_complaint": {"zh": "反复投诉", "en": "Repeated complaint"},
    "rule.transfer_chain": {"zh": "超长流转", "en": "Long transfer chain"},
    "rule.dissatisfied": {"zh": "回访不满意", "en": "Dissatisfied callback"},
    "rule.no_callback_misuse": {"zh": "无需回访滥用", "en": "No-callback misuse"},
    "rule.volume_anomaly": {"zh": "区域诉求激增", "en": "Volume anomaly (district)"},
    "rule.volume_anomaly_city": {"zh": "全市诉求激增", "en": "Volume anomaly (city)"},
    "rule.connection_drop": {"zh": "接通率下降", "en": "Connection-rate drop"},
    "rule.queue_surge": {"zh": "排队积压", "en": "Queue surge"},
    "rule.urgent_content": {"zh": "紧急/情绪诉求", "en": "Urgent content"},
    "rule.seat_shortage": {"zh": "坐席不足", "en": "Seat shortage"},
    "col.ticket_id": {"zh": "工单号", "en": "Ticket"},
    "col.created_at": {"zh": "受理时间", "en": "Created"},
    "col.district": {"zh": "区县", "en": "District"},
    "col.category": {"zh": "类别", "en": "Category"},
    "col.unit": {"zh": "承办单位", "en": "Unit"},
    "col.status": {"zh": "状态", "en": "Status"},
    "col.due_at": {"zh": "办理时限", "en": "Due"},
    "col.closed_at": {"zh": "办结时间", "en": "Closed"},
    "col.returns": {"zh": "退单", "en": "Returns"},
    "col.transfers": {"zh": "转办", "en": "Transfers"},
    "col.satisfaction": {"zh": "满意度", "en": "Satisfaction"},
    "col.address": {"zh": "地址", "en": "Address"},
    "crumb.province": {"zh": "全省", "en": "Province"},
})

STATES = ("open", "firing", "acknowledged", "escalated", "resolved", "all")
FILTER_KEYS = ("city", "district", "category", "rule", "state", "from", "to", "alert")
TEXT_COLUMNS = ("district", "category", "unit", "status", "satisfaction", "address")
NUMBER_COLUMNS = ("returns", "transfers")


def search_for(query: Mapping[str, str], **changes: str | None) -> str:
    """The URL query string after ``changes`` (None or '' removes a key); keeps ``lang``.

    Changing any filter but ``alert`` drops the selected alert, and changing the city drops
    the district, so the URL never holds a contradiction.
    """
    out = {k: v for k, v in query.items() if v and (k in FILTER_KEYS or k == "lang")}
    if "alert" not in changes and any(k in changes for k in FILTER_KEYS):
        out.pop("alert", None)
    if "city" in changes and changes["city"] != query.get("city"):
        out.pop("district", None)
    for key, value in changes.items():
        if value in (None, ""):
            out.pop(key, None)
        else:
            out[key] = str(value)
    ordered = {k: out[k] for k in (*FILTER_KEYS, "lang") if k in out}
    return "?" + urlencode(ordered) if ordered else ""


GRID_PAGE = 50
# The grid's own words in Chinese (AG Grid speaks English by default).
GRID_LOCALE_ZH = {
    "page": "页", "to": "至", "of": "共", "more": "更多", "next": "下一页", "last": "末页", "first": "首页",
    "previous": "上一页", "firstPage": "首页", "previousPage": "上一页", "nextPage": "下一页", "lastPage": "末页",
    "pageSizeSelectorLabel": "每页", "loadingOoo": "加载中…", "noRowsToShow": "没有工单",
    "filterOoo": "筛选…", "contains": "包含", "notContains": "不包含", "equals": "等于", "notEqual": "不等于",
    "startsWith": "开头是", "endsWith": "结尾是", "blank": "为空", "notBlank": "不为空", "lessThan": "小于",
    "greaterThan": "大于", "lessThanOrEqual": "小于等于", "greaterThanOrEqual": "大于等于", "inRange": "介于",
    "inRangeStart": "从", "inRangeEnd": "到", "andCondition": "且", "orCondition": "或", "applyFilter": "应用",
    "resetFilter": "重置", "clearFilter": "清除", "searchOoo": "搜索…",
}
# AG Grid 33+ themes through parameters (the legacy ag-theme-* classes no longer apply): the page's colours.
GRID_THEME = ("themeAlpine.withParams({backgroundColor: '#111a2e', foregroundColor: '#e6edf7', "
              "headerBackgroundColor: '#16223b', headerTextColor: '#9cc7ff', borderColor: '#22304d', "
              "oddRowBackgroundColor: '#0f1829', rowHoverColor: '#1a2a4a', accentColor: '#3fa7ff', "
              "browserColorScheme: 'dark', fontSize: 14})")


def _column_defs(lang: str) -> list[dict]:
    """Columns keep the stored field as ``colId`` (sorting and filtering run in SQL on it) and show
    a display field the callback fills in (district name, localised status and category)."""
    cols = [{"field": "ticket_link", "headerName": t("col.ticket_id", lang), "cellRenderer": "markdown",
             "sortable": False, "width": 270, "pinned": "left", "tooltipField": "ticket_id"},
            {"field": "created_at", "headerName": t("col.created_at", lang), "width": 150, "sort": "desc"}]
    for name in ("district", "category", "unit", "status", "due_at", "closed_at", "returns", "transfers",
                 "satisfaction", "address"):
        col = {"field": name, "headerName": t(f"col.{name}", lang)}
        if name in ("district", "category", "status", "satisfaction"):
            col.update(colId=name, field=f"{name}_label")
        if name in TEXT_COLUMNS:
            col["filter"] = "agTextColumnFilter"
        elif name in NUMBER_COLUMNS:
            col.update(filter="agNumberColumnFilter", width=90)
        cols.append(col)
    return cols


def grid_block(block: dict, lang: str, names: Mapping[str, str] | None = None) -> dict:
    """A block of grid rows (``drill.grid_rows``) with display fields in ``lang``: district names,
    statuses, categories and callback answers; the stored fields stay for sorting and filters."""
    rows = []
    for r in block.get("rowData") or []:
        rows.append({**r, "district_label": place_name(r.get("district"), lang, names) if r.get("district") else "",
                     "category_label": category_label(r.get("category"), lang) if r.get("category") else "",
                     "status_label": term("status", r.get("status"), lang),
                     "satisfaction_label": term("satisfaction", r.get("satisfaction"), lang)})
    return {**block, "rowData": rows}


def _dropdown(id_: str, label: str, value: str | None, options: list[dict], **kw) -> html.Label:
    return html.Label([html.Span(label, className="ck-sup-label"),
                       dcc.Dropdown(id=id_, value=value, options=options, className="ck-sup-dropdown", **kw)],
                      className="ck-sup-field")


def supervise_page(ctx: PageContext) -> html.Div:
    """The frame of /supervise for the URL query (data filled in by callbacks)."""
    lang, q = ctx.lang, ctx.query
    other = "en" if lang == "zh" else "zh"
    rule_opts = [{"label": t(f"rule.{r}", lang), "value": r} for r in RULES]
    state_opts = [{"label": t(f"state.{s}", lang), "value": s} for s in STATES]
    city, district = q.get("city"), q.get("district")
    filters = html.Div([
        _dropdown(ids.SUP_CITY, t("sup.city", lang), city, [{"label": city, "value": city}] if city else []),
        _dropdown(ids.SUP_DISTRICT, t("sup.district", lang), district,
                  [{"label": district, "value": district}] if district else []),
        _dropdown(ids.SUP_RULE, t("sup.rule", lang), q.get("rule"), rule_opts),
        _dropdown(ids.SUP_STATE, t("sup.state", lang), q.get("state") or "open", state_opts, clearable=False),
        html.Label([html.Span(t("sup.from", lang), className="ck-sup-label"),
                    dcc.Input(id=ids.SUP_FROM, type="date", value=q.get("from"), debounce=True)],
                   className="ck-sup-field"),
        html.Label([html.Span(t("sup.to", lang), className="ck-sup-label"),
                    dcc.Input(id=ids.SUP_TO, type="date", value=q.get("to"), debounce=True)],
                   className="ck-sup-field"),
        dcc.Link(t("sup.clear", lang), id=ids.SUP_CLEAR, href="/supervise" + search_for({"lang": q.get("lang", "")}),
                 className="ck-sup-clear"),
    ], className="ck-sup-filters")
    options = {"rowBuffer": 0, "cacheBlockSize": GRID_PAGE, "maxBlocksInCache": 20, "infiniteInitialRowCount": 1,
               "maxConcurrentDatasourceRequests": 1, "pagination": True, "paginationPageSize": GRID_PAGE,
               "paginationPageSizeSelector": False, "theme": {"function": GRID_THEME}, "tooltipShowDelay": 300}
    if lang == "zh":
        options["localeText"] = GRID_LOCALE_ZH
    grid = dag.AgGrid(
        id=ids.SUP_GRID, rowModelType="infinite", columnDefs=_column_defs(lang),
        defaultColDef={"sortable": True, "resizable": True, "minWidth": 80},
        dashGridOptions=options, style={"height": "560px", "width": "100%"},
    )
    return html.Div([
        header(t("sup.title", lang), lang, switch_href="/supervise" + search_for(q, lang=other)),
        html.Nav(id=ids.SUP_BREADCRUMB, className="ck-breadcrumb"),
        dcc.Store(id=ids.SUP_QUERY, data=dict(q)),
        filters,
        html.Div([
            html.Section([html.H3(t("sup.alerts", lang)), html.Div(id=ids.SUP_ALERTS)], className="ck-sup-alerts"),
            html.Section([html.Div(id=ids.SUP_SELECTED),
                          html.Div([html.H4(facet_title("sup.by_district", q, lang), className="ck-sup-facet-title"),
                                    dcc.Graph(id=ids.SUP_DISTRICT_BARS, config={"displayModeBar": False},
                                              className="ck-sup-bars"),
                                    html.H4(facet_title("sup.by_category", q, lang), className="ck-sup-facet-title"),
                                    dcc.Graph(id=ids.SUP_CATEGORY_BARS, config={"displayModeBar": False},
                                              className="ck-sup-bars")], className="ck-sup-facets")],
                         className="ck-sup-side"),
        ], className="ck-sup-top"),
        html.Div([html.H3(t("sup.tickets", lang)),
                  html.A(t("sup.export", lang), id=ids.SUP_EXPORT, href="/supervise/export.csv" + search_for(q),
                         className="ck-sup-export"),
                  html.A(t("sup.export_xlsx", lang), id=ids.SUP_EXPORT_XLSX,
                         href="/supervise/export.xlsx" + search_for(q), className="ck-sup-export")],
                 className="ck-sup-grid-head"),
        grid,
    ], className="ck-page ck-supervise")


def facet_title(key: str, query: Mapping[str, str], lang: str) -> str:
    """A facet chart's title: what it counts, the unit and the time window it covers."""
    from cockpit.views.drill import DEFAULT_WINDOW_DAYS

    if query.get("from") or query.get("to"):
        window = t("sup.window_range", lang).format(start=query.get("from") or "…", end=query.get("to") or "…")
    else:
        window = t("sup.window_default", lang).format(n=DEFAULT_WINDOW_DAYS)
    return t("sup.facet_window", lang).format(title=t(key, lang), window=window)


def _when(iso: str | None, tz) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%m-%d %H:%M")


def alert_table(view: dict, lang: str, tz) -> html.Div:
    rows = view["alerts"]
    if not rows:
        return html.P(t("sup.no_alerts", lang), className="ck-empty")
    q = view["query"] | ({"lang": lang} if lang != "zh" else {})
    selected = (view.get("selected") or {}).get("id")
    body = []
    for a in rows:
        place = place_name(a["district"] or a["city"], lang, view["names"])
        body.append(html.Tr([
            html.Td(html.Span(t(f"severity.{a['severity']}", lang), className=f"ck-sev ck-sev-{a['severity']}")),
            html.Td(t(f"rule.{a['rule']}", lang)),
            html.Td(html.Span(dcc.Link(alert_title(a, lang, view["names"]), href="/supervise" + search_for(q, alert=str(a["id"])),
                                       className="ck-alert-link"), **{"data-alert": str(a["id"])})),
            html.Td(place),
            html.Td(t(f"state.{a['state']}", lang)),
            html.Td(_when(a["fired_at"] or a["first_seen"], tz)),
        ], className="ck-alert-row" + (" ck-selected" if a["id"] == selected else "")))
    head = html.Thead(html.Tr([html.Th(t(k, lang)) for k in ("sup.severity", "sup.rule", "sup.col.title",
                                                               "sup.district", "sup.state", "sup.since")]))
    return html.Div(html.Table([head, html.Tbody(body)], className="ck-table ck-alert-table"),
                    className="ck-alert-scroll")


def selected_panel(view: dict, lang: str, tz) -> html.Div | None:
    a = view.get("selected")
    if not a:
        return None
    items = [html.H3(t("sup.selected", lang)), html.P(alert_title(a, lang, view["names"]), className="ck-selected-title"),
             html.P(" · ".join([t("rule." + a["rule"], lang), t("state." + a["state"], lang),
                                 _when(a["fired_at"] or a["first_seen"], tz)]))]
    ticket_ids = ((a.get("detail") or {}).get("filter") or {}).get("ticket_ids") or []
    if len(ticket_ids) == 1:
        items.append(dcc.Link(t("sup.open_ticket", lang), href=f"/tickets/{ticket_ids[0]}", className="ck-open-ticket"))
    return html.Div(items, className="ck-selected")


def bars(pairs: list[tuple[str, int]], names: Mapping[str, str], *, selected: str | None, lang: str = "zh") -> go.Figure:
    """A horizontal bar chart of ticket counts; each bar carries its code in customdata (for
    click-to-filter). The count axis shows whole numbers only."""
    pairs = list(reversed(pairs))
    labels = [names.get(k, k) or "—" for k, _ in pairs]
    colors = ["#f5a623" if k == selected else "#3fa7ff" for k, _ in pairs]
    peak = max((n for _, n in pairs), default=0)
    fig = go.Figure(go.Bar(x=[n for _, n in pairs], y=labels, customdata=[k for k, _ in pairs], orientation="h",
                           marker_color=colors, hovertemplate="%{y}: %{x:,d}<extra></extra>"))
    xaxis = {"gridcolor": "#22304d", "tickformat": ",d", "rangemode": "tozero",
             "title": {"text": t("sup.facet_unit", lang), "font": {"size": 12, "color": "#8fa3c4"}}}
    if peak <= 10:
        xaxis["dtick"] = 1
    fig.update_layout(height=max(180, 24 * len(pairs) + 70), margin={"l": 8, "r": 8, "t": 8, "b": 8},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": "#e6edf7"},
                      yaxis={"automargin": True}, xaxis=xaxis)
    return fig


def breadcrumb(crumbs: list[dict], lang: str, base: str = "/supervise") -> list:
    out = []
    suffix = "&lang=en" if lang != "zh" else ""
    for i, c in enumerate(crumbs):
        name = t("crumb.province", lang) if c["level"] == "province" and c["name"] == c["code"] else c["name"]
        if c["level"] in ("province", "city", "district"):
            name = english_or(name, c["code"], lang)
        if i:
            out.append(html.Span(" › ", className="ck-crumb-sep"))
        if c["query"] is None or i == len(crumbs) - 1:
            out.append(html.Span(name, className="ck-crumb ck-crumb-current", **{"data-level": c["level"]}))
        else:
            query = c["query"] + suffix
            out.append(html.Span(dcc.Link(name, href=base + ("?" + query.lstrip("&") if query else ""),
                                          className="ck-crumb"), **{"data-level": c["level"]}))
    return out


def view_parts(view: dict, lang: str, tz) -> tuple:
    """(breadcrumb, alerts, selected panel, district bars, category bars, city options,
    district options) for the supervise view model ``view`` (cockpit.drill.supervise_view)."""
    names, q = view["names"], view["query"]
    shown = {c: place_name(c, lang, names) for c in [*view["cities"], *view["districts"],
                                                      *(k for k, _ in view["facets"]["district"])]}
    city_opts = [{"label": shown[c], "value": c} for c in view["cities"]]
    district_opts = [{"label": shown[d], "value": d} for d in view["districts"]]
    categories = {k: category_label(k, lang) for k, _ in view["facets"]["category"]}
    return (
        breadcrumb(view["breadcrumb"], lang),
        alert_table(view, lang, tz),
        selected_panel(view, lang, tz),
        bars(view["facets"]["district"], shown, selected=q.get("district"), lang=lang),
        bars(view["facets"]["category"], categories, selected=q.get("category"), lang=lang),
        city_opts, district_opts,
    )
