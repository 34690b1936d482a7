"""/reports: the archive of written reports (newest first), each with its HTML and PDF per language.

The list comes from a callback (``callbacks/reports.py``) reading ``cockpit.reports.archive``;
``?scope=CODE`` narrows it to one region.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from dash import dcc, html

from layouts import ids
from layouts.i18n import register, t
from layouts.names import place_name
from layouts.page import PageContext
from layouts.shell import header

register({
    "rep.title": {"zh": "分析报告", "en": "Reports"},
    "rep.scope": {"zh": "范围", "en": "Scope"},
    "rep.period": {"zh": "周期", "en": "Period"},
    "rep.kind.week": {"zh": "周报", "en": "Weekly"},
    "rep.kind.month": {"zh": "月报", "en": "Monthly"},
    "rep.kind.year": {"zh": "年报", "en": "Annual"},
    "rep.tickets": {"zh": "受理诉求", "en": "Requests"},
    "rep.files": {"zh": "文件", "en": "Files"},
    "rep.generated": {"zh": "生成时间", "en": "Generated"},
    "rep.empty": {"zh": "尚无报告（由定时任务或 cockpit report 生成）",
                  "en": "No reports yet (written by the scheduled job or cockpit report)"},
})

FILE_ROUTE = "/reports/files"


def reports_page(ctx: PageContext) -> html.Div:
    """The frame of /reports (the list is filled by a callback)."""
    lang = ctx.lang
    other = "en" if lang == "zh" else "zh"
    return html.Div([
        header(t("rep.title", lang), lang, switch_href=f"{ctx.path}?lang={other}"),
        dcc.Store(id=ids.REP_QUERY, data={"scope": ctx.query.get("scope") or "", "lang": lang}),
        html.Div(id=ids.REP_LIST),
    ], className="ck-page ck-reports")


def file_href(folder: str, name: str) -> str:
    return f"{FILE_ROUTE}/{quote(folder)}/{quote(name)}"


def _generated(iso: str, tz: ZoneInfo | None) -> str:
    """A manifest's UTC stamp as local ``YYYY-MM-DD HH:MM`` in ``tz`` (UTC when None)."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso or "")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(tz or UTC).strftime("%Y-%m-%d %H:%M")


def reports_table(manifests: list[dict], lang: str, tz: ZoneInfo | None = None) -> html.Div:
    """One row per report: scope (named in ``lang``), period, headline count, links to its files, and
    when it was written (in ``tz``, the cockpit's zone)."""
    if not manifests:
        return html.Div(t("rep.empty", lang), className="ck-empty")
    head = html.Tr([html.Th(t("rep.scope", lang)), html.Th(t("rep.period", lang)),
                    html.Th(t("rep.tickets", lang)), html.Th(t("rep.files", lang)),
                    html.Th(t("rep.generated", lang))])
    rows = []
    for m in manifests:
        links = []
        for kind in ("html", "pdf"):
            for file_lang, path in sorted(m["files"].get(kind, {}).items()):
                name = path.rsplit("/", 1)[-1]
                links.append(html.A(f"{kind.upper()} {file_lang}", href=file_href(m["folder"], name),
                                    target="_blank", className="ck-rep-file"))
                links.append(" ")
        tickets = m["headline"].get("tickets_created")
        name = (m.get("scope_name") if lang == "zh" else None) or place_name(m["scope"], lang)
        rows.append(html.Tr([
            html.Td(f"{name} ({m['scope']})"),
            html.Td(f"{t('rep.kind.' + m['period']['kind'], lang)} {m['period']['label']}"),
            html.Td("-" if tickets is None else f"{tickets:,}"),
            html.Td(links),
            html.Td(_generated(m["generated_at"], tz)),
        ], className="ck-rep-row", **{"data-scope": m["scope"]}))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ck-table ck-rep-table")
