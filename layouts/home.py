"""The home page: every city's live counts today, refreshed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from layouts import ids
from layouts.i18n import t
from layouts.page import PageContext
from layouts.shell import header

COLUMNS = ("home.city", "home.offered", "home.answered", "home.abandoned", "home.waiting", "home.tickets")


def home_page(ctx: PageContext) -> html.Div:
    lang, refresh_ms = ctx.lang, ctx.settings.refresh_ms
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            header(t("app.title", lang), lang, switch_href=f"/?lang={other}"),
            html.H2(t("home.heading", lang)),
            html.Div(id=ids.HOME_AS_OF, className="ck-as-of"),
            html.Div(id=ids.HOME_TABLE),
            dcc.Interval(id=ids.HOME_REFRESH, interval=refresh_ms),
        ],
        className="ck-page ck-home",
    )


def cities_table(rows: Sequence, lang: str) -> html.Table | html.P:
    if not rows:
        return html.P(t("home.empty", lang), className="ck-empty")
    head = html.Thead(html.Tr([html.Th(t(c, lang)) for c in COLUMNS]))
    body = html.Tbody([
        html.Tr([
            html.Td(html.A(r.name, href=f"/wall/{r.code}?lang={lang}")),
            html.Td(f"{r.offered:,}"), html.Td(f"{r.answered:,}"), html.Td(f"{r.abandoned:,}"),
            html.Td(f"{r.waiting:,}"), html.Td(f"{r.tickets:,}"),
        ], className="ck-row", **{"data-city": r.code})
        for r in rows
    ])
    return html.Table([head, body], className="ck-table")


def as_of(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    return f"{t('common.as_of', lang)} {moment.astimezone(tz):%Y-%m-%d %H:%M:%S}"
