"""The page frame: URL, language store and the page container."""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.i18n import t


def app_shell() -> html.Div:
    return html.Div(
        [dcc.Location(id=ids.URL, refresh=False), dcc.Store(id=ids.LANG_STORE), html.Div(id=ids.PAGE)],
        className="ck-root",
    )


def not_found(lang: str) -> html.Div:
    return html.Div(html.H2(t("common.not_found", lang)), className="ck-page ck-not-found")


def header(title: str, lang: str, *, switch_href: str) -> html.Header:
    return html.Header(
        [
            html.H1(title, className="ck-title"),
            html.A(t("common.lang_switch", lang), href=switch_href, className="ck-lang-switch"),
        ],
        className="ck-header",
    )
