"""/supervise: alerts -> the tickets behind them (AG Grid, paged from SQL) -> one ticket.

Every filter lives in the URL query (city, district, category, rule, state, from, to, alert),
so a view can be shared and reopened. The page builder draws the frame from the query; the
data arrive through callbacks (``callbacks/supervise.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

import dash_ag_grid as dag
import plotly.graph_objects as go
from dash import dcc, html

from cockpit.watch.evaluate import RULES
from cockpit.watch.vocab import RULE_LABELS, SEVERITY_LABELS, label, reason
from geo.names import has_cjk
from layouts import ids
from layouts.categories import category_label
from layouts.i18n import register, t
from layouts.names import alert_title, display_alert, english_or, place_name, term, unit_label
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
    "sup.col.reason": {"zh": "预警（区域 · 监控点 · 件数 · 时长）", "en": "Alert (area · watchpoint · size · age)"},
    "sup.col.assignee": {"zh": "承办", "en": "Assignee"},
    "sup.total": {"zh": "共 {n} 条", "en": "{n} alerts"},
    "sup.suppressed": {"zh": "已抑制 {n} 条", "en": "{n} suppressed"},
    "sup.show_suppressed": {"zh": "查看已抑制", "en": "show suppressed"},
    "sup.show_active": {"zh": "返回未抑制", "en": "back to active"},
    "sup.by_rule_totals": {"zh": "按监控点", "en": "By watchpoint"},
    "sup.by_area_totals": {"zh": "按区域", "en": "By area"},
    "sup.area_whole.district": {"zh": "全市", "en": "City-wide"},
    "sup.area_whole.city": {"zh": "全省", "en": "Province-wide"},
    "sup.page": {"zh": "第 {p} / {n} 页", "en": "Page {p} of {n}"},
    "sup.prev": {"zh": "上一页", "en": "Previous"},
    "sup.next": {"zh": "下一页", "en": "Next"},
    "sup.act_to": {"zh": "指派/督办对象", "en": "Assign / escalate to"},
    "sup.act_kind": {"zh": "对象类型", "en": "Assignee type"},
    "sup.kind.user": {"zh": "人员", "en": "Person"},
    "sup.kind.unit": {"zh": "承办单位", "en": "Handling unit"},
    "sup.act_note": {"zh": "说明", "en": "Note"},
    "sup.act_due": {"zh": "督办期限", "en": "Due date"},
    "sup.act.ack": {"zh": "签收", "en": "Acknowledge"},
    "sup.act.assign": {"zh": "指派", "en": "Assign"},
    "sup.act.escalate": {"zh": "督办", "en": "Escalate"},
    "sup.act.resolve": {"zh": "解除", "en": "Resolve"},
    "sup.act.silence": {"zh": "静默", "en": "Silence"},
    "sup.act_hours": {"zh": "静默时长", "en": "Silence for"},
    "sup.hours": {"zh": "{n} 小时", "en": "{n} h"},
    "sup.act.silence_note": {"zh": "静默需填写说明（原因）", "en": "A silence needs a note (why)"},
    "sup.act.silenced": {"zh": "已静默至 {until}（{by}）", "en": "Silenced until {until} (by {by})"},
    "sup.act.bulk_ack": {"zh": "本页全部签收", "en": "Acknowledge this page"},
    "sup.act.done": {"zh": "已完成：{n} 条", "en": "Done: {n}"},
    "sup.act.pick": {"zh": "请先在列表中选择一条预警", "en": "Select an alert in the list first"},
    "sup.history": {"zh": "处理记录", "en": "History"},
    "sup.tickets_of_alert": {"zh": "该预警的工单", "en": "Tickets of this alert"},
    "event.opened": {"zh": "产生", "en": "opened"},
    "event.fired": {"zh": "告警", "en": "fired"},
    "event.updated": {"zh": "更新", "en": "updated"},
    "event.renotified": {"zh": "再次提醒", "en": "re-notified"},
    "event.acknowledged": {"zh": "签收", "en": "acknowledged"},
    "event.assigned": {"zh": "指派", "en": "assigned"},
    "event.escalated": {"zh": "督办", "en": "escalated"},
    "event.resolved": {"zh": "解除", "en": "resolved"},
    "event.suppressed": {"zh": "抑制", "en": "suppressed"},
    "event.unsuppressed": {"zh": "取消抑制", "en": "unsuppressed"},
    "sup.any": {"zh": "全部", "en": "All"},
    "state.open": {"zh": "未关闭", "en": "Open"},
    "state.all": {"zh": "全部", "en": "All"},
    "state.pending": {"zh": "待确认", "en": "Pending"},
    "state.firing": {"zh": "告警中", "en": "Firing"},
    "state.acknowledged": {"zh": "已签收", "en": "Acknowledged"},
    "state.escalated": {"zh": "已督办", "en": "Escalated"},
    "state.resolved": {"zh": "已解除", "en": "Resolved"},
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

# One vocabulary for every screen (cockpit.watch.vocab): rule.* and severity.* messages.
register({f"rule.{k}": dict(v) for k, v in RULE_LABELS.items()}
         | {f"severity.{k}": dict(v) for k, v in SEVERITY_LABELS.items()})

STATES = ("open", "firing", "acknowledged", "escalated", "resolved", "all")
FILTER_KEYS = ("city", "district", "category", "rule", "state", "from", "to", "alert", "page", "suppressed")
ACTIONS = ("ack", "assign", "escalate", "resolve", "silence", "bulk_ack")
SILENCE_HOURS = (1, 4, 8, 24, 72)
TEXT_COLUMNS = ("district", "category", "unit", "status", "satisfaction", "address")
NUMBER_COLUMNS = ("returns", "transfers")
PLAN_REFRESH_MS = 60_000  # the planning panel follows the 15-minute intervals; a minute is plenty


def search_for(query: Mapping[str, str], **changes: str | None) -> str:
    """The URL query string after ``changes`` (None or '' removes a key); keeps ``lang``.

    Changing any filter but ``alert`` drops the selected alert, and changing the city drops
    the district, so the URL never holds a contradiction.
    """
    out = {k: v for k, v in query.items() if v and (k in FILTER_KEYS or k == "lang")}
    if "alert" not in changes and any(k in changes for k in FILTER_KEYS if k != "page"):
        out.pop("alert", None)
    if "page" not in changes and any(k in changes for k in FILTER_KEYS if k != "alert"):
        out.pop("page", None)  # a new filter starts at the first page
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
    a display field the callback fills in (district name, localised status and category).
    The id is drawn as text inside a local link by assets/grid_renderers.js (never markdown: an id
    like "X](https://evil)" must not become a link elsewhere)."""
    cols = [{"field": "ticket_id", "headerName": t("col.ticket_id", lang), "cellRenderer": "TicketLink",
             "sortable": False, "width": 270, "pinned": "left", "tooltipField": "ticket_id"},
            {"field": "created_at", "headerName": t("col.created_at", lang), "width": 175, "sort": "desc"}]
    for name in ("district", "category", "unit", "status", "due_at", "closed_at", "returns", "transfers",
                 "satisfaction", "address"):
        col = {"field": name, "headerName": t(f"col.{name}", lang)}
        if name in ("district", "category", "status", "satisfaction", "unit"):
            col.update(colId=name, field=f"{name}_label")
        if name == "address":  # as the citizen gave it; marked so an English page shows it is the record's
            col["cellClass"] = "ck-recorded"
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
                     "unit_label": unit_label(r.get("unit"), lang),
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
    city, district = q.get("city") or ctx.home_city, q.get("district")  # a city user's own city, chosen
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
            html.Section([html.Div(id=ids.SUP_SELECTED), action_bar(lang), dcc.Store(id=ids.SUP_PAGE_IDS),
                          html.Div([html.H4(facet_title("sup.by_district", q, lang), className="ck-sup-facet-title"),
                                    dcc.Graph(id=ids.SUP_DISTRICT_BARS, config={"displayModeBar": False},
                                              className="ck-sup-bars"),
                                    html.H4(facet_title("sup.by_category", q, lang), className="ck-sup-facet-title"),
                                    dcc.Graph(id=ids.SUP_CATEGORY_BARS, config={"displayModeBar": False},
                                              className="ck-sup-bars")], className="ck-sup-facets")],
                         className="ck-sup-side"),
        ], className="ck-sup-top"),
        # The inbox leads (a supervisor's first screen at 1080p); calls and seats follow it.
        html.Section(id=ids.SUP_PLAN, className="ck-sup-plan"),
        dcc.Interval(id=ids.SUP_PLAN_TICK, interval=PLAN_REFRESH_MS),
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


def _place(a: Mapping, lang: str, names: Mapping[str, str]) -> str:
    unit = (a.get("detail") or {}).get("unit") if (a.get("detail") or {}).get("group_by") == "unit" else None
    return unit or place_name(a.get("district") or a.get("city"), lang, names)


def _chips(counts: Mapping[str, int], label_of, href_of, selected: str | None) -> list:
    return [html.Span(dcc.Link(f"{label_of(k)} {n}", href=href_of(k),
                               className="ck-chip" + (" ck-chip-on" if k == selected else "")), **{"data-key": k})
            for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def inbox_summary(view: dict, lang: str) -> html.Div:
    """Totals: all open alerts of the filter per severity, per watchpoint and per area (chips that filter)."""
    box, q = view["inbox"], view["query"] | ({"lang": lang} if lang != "zh" else {})
    names = view["names"]
    sev = [html.Span(f"{label(SEVERITY_LABELS, k, lang)} {box['by_severity'][k]}", className=f"ck-sev ck-sev-{k}")
           for k in ("critical", "major", "minor") if box["by_severity"].get(k)]
    suppressed = box.get("suppressed") or 0
    toggle = []
    if q.get("suppressed") == "1":
        toggle = [dcc.Link(t("sup.show_active", lang), href="/supervise" + search_for(q, suppressed=None))]
    elif suppressed:
        toggle = [dcc.Link(t("sup.suppressed", lang).format(n=suppressed),
                           href="/supervise" + search_for(q, suppressed="1"), className="ck-sup-suppressed")]
    # the store grouped by district inside a city scope: the URL's city or the user's own (no city in the URL)
    area_key = box.get("area") or ("district" if q.get("city") else "city")
    return html.Div([
        html.Div([html.B(t("sup.total", lang).format(n=box["total"]), className="ck-sup-total",
                         **{"data-total": str(box["total"])}), *sev, *toggle], className="ck-sup-totals"),
        html.Div([html.Span(t("sup.by_rule_totals", lang), className="ck-sup-label"),
                  *_chips(box["by_rule"], lambda r: label(RULE_LABELS, r, lang),
                          lambda r: "/supervise" + search_for(q, rule=None if r == q.get("rule") else r),
                          q.get("rule"))], className="ck-chips ck-sup-rule-totals"),
        html.Div([html.Span(t("sup.by_area_totals", lang), className="ck-sup-label"),
                  *_chips(box["by_area"], lambda c: place_name(c, lang, names) if c else t(f"sup.area_whole.{area_key}", lang),
                          lambda c: "/supervise" + search_for(q, **{area_key: c or None}),
                          q.get(area_key))], className="ck-chips ck-sup-area-totals"),
    ], className="ck-sup-summary")


def alert_table(view: dict, lang: str, tz) -> html.Div:
    """The inbox: alerts ranked by severity, size and age, reason first, one page at a time."""
    rows = view["alerts"]
    summary = inbox_summary(view, lang) if "inbox" in view else None
    if not rows:
        return html.Div([summary, html.P(t("sup.no_alerts", lang), className="ck-empty")])
    q = view["query"] | ({"lang": lang} if lang != "zh" else {})
    selected = (view.get("selected") or {}).get("id")
    now = datetime.now(UTC)
    body = []
    for a in rows:
        a = display_alert(a, lang)
        place = _place(a, lang, view["names"])
        assignee = a.get("assignee") or ""
        body.append(html.Tr([
            html.Td(html.Span(label(SEVERITY_LABELS, a["severity"], lang), className=f"ck-sev ck-sev-{a['severity']}")),
            html.Td(html.Span(dcc.Link(reason(a, place, lang, now), href="/supervise" + search_for(q, alert=str(a["id"])),
                                       className="ck-alert-link", title=alert_title(a, lang, view["names"])),
                              **{"data-alert": str(a["id"])})),
            html.Td(t(f"state.{a['state']}", lang)),
            html.Td(html.Span(assignee, lang="zh-CN", className="ck-recorded") if has_cjk(assignee) else assignee),
            html.Td(_when(a["fired_at"] or a["first_seen"], tz)),
        ], className="ck-alert-row" + (" ck-selected" if a["id"] == selected else "")))
    head = html.Thead(html.Tr([html.Th(t(k, lang)) for k in ("sup.severity", "sup.col.reason", "sup.state",
                                                               "sup.col.assignee", "sup.since")]))
    box = view.get("inbox") or {"page": 0, "pages": 1}
    page, pages = box["page"], box["pages"]
    pager = html.Div([
        dcc.Link(t("sup.prev", lang), href="/supervise" + search_for(q, page=str(page - 1) if page > 1 else None),
                 className="ck-pager-prev") if page > 0 else html.Span(),
        html.Span(t("sup.page", lang).format(p=page + 1, n=pages), className="ck-pager-where"),
        dcc.Link(t("sup.next", lang), href="/supervise" + search_for(q, page=str(page + 1)),
                 className="ck-pager-next") if page + 1 < pages else html.Span(),
    ], className="ck-pager")
    return html.Div([summary, html.Div(html.Table([head, html.Tbody(body)], className="ck-table ck-alert-table"),
                                       className="ck-alert-scroll"), pager])


def selected_panel(view: dict, lang: str, tz) -> html.Div | None:
    a = view.get("selected")
    if not a:
        return None
    a = display_alert(a, lang)
    place = _place(a, lang, view["names"])
    items = [html.H3(t("sup.selected", lang)),
             html.P(reason(a, place, lang), className="ck-selected-title"),
             html.P(" · ".join(x for x in [label(SEVERITY_LABELS, a["severity"], lang), t("state." + a["state"], lang),
                                           _when(a["fired_at"] or a["first_seen"], tz),
                                           a.get("assignee") or "",
                                           f"→ {a['escalated_to']}" if a.get("escalated_to") else ""] if x))]
    ticket_ids = ((a.get("detail") or {}).get("filter") or {}).get("ticket_ids") or []
    if len(ticket_ids) == 1:
        items.append(dcc.Link(t("sup.open_ticket", lang), href=f"/tickets/{ticket_ids[0]}", className="ck-open-ticket"))
    history = view.get("history") or []
    if history:
        rows = []
        for e in history[-12:]:
            extra = e.get("note") or ""
            d = e.get("detail") or {}
            if e["action"] in ("escalated", "assigned") and d.get("to"):
                extra = " ".join(x for x in (f"→ {d['to']}", f"({_when(d.get('due'), tz)})" if d.get("due") else "",
                                            extra) if x)
            rows.append(html.Li(f"{_when(e['at'], tz)} {term('event', e['action'], lang)} {e.get('actor') or ''} {extra}".strip(),
                                **{"data-action": e["action"]}))
        items += [html.H4(t("sup.history", lang)), html.Ul(rows, className="ck-sup-history")]
    return html.Div(items, className="ck-selected")


def action_bar(lang: str) -> html.Div:
    """Inbox actions on the selected alert (ack, assign, escalate with due date, resolve with a note,
    silence its rule in its area for a few hours with a note) and a bulk acknowledge of the page. The actor is the logged-in user (cockpit.auth), never typed."""
    def field(id_, key, **kw):
        return html.Label([html.Span(t(key, lang), className="ck-sup-label"), dcc.Input(id=id_, **kw)],
                          className="ck-sup-field")

    return html.Div([
        field(ids.SUP_ACT_TO, "sup.act_to", type="text"),
        html.Label([html.Span(t("sup.act_kind", lang), className="ck-sup-label"),
                    dcc.RadioItems(id=ids.SUP_ACT_KIND, value="user", inline=True,
                                   options=[{"label": t(f"sup.kind.{k}", lang), "value": k} for k in ("user", "unit")])],
                   className="ck-sup-field"),
        field(ids.SUP_ACT_NOTE, "sup.act_note", type="text"),
        field(ids.SUP_ACT_DUE, "sup.act_due", type="date"),
        html.Label([html.Span(t("sup.act_hours", lang), className="ck-sup-label"),
                    dcc.Dropdown(id=ids.SUP_ACT_HOURS, value=SILENCE_HOURS[1], clearable=False, searchable=False,
                                 options=[{"label": t("sup.hours", lang).format(n=h), "value": h}
                                          for h in SILENCE_HOURS])],
                   className="ck-sup-field"),
        html.Div([html.Button(t(f"sup.act.{k}", lang), id={"type": ids.SUP_ACTION, "action": k},
                              className=f"ck-btn ck-btn-{k}", n_clicks=0) for k in ACTIONS], className="ck-sup-buttons"),
        html.Div(id=ids.SUP_ACT_MSG, className="ck-sup-act-msg"),
    ], className="ck-sup-actions")


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
    district options) for the supervise view model ``view`` (cockpit.views.drill.supervise_view)."""
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
