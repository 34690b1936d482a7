"""The page frame: URL, language store and the page container; the not-found page."""

from __future__ import annotations

import html as html_text
from collections.abc import Sequence

from dash import dcc, html

from layouts import ids
from layouts.i18n import register, t

register({
    "nf.unknown_region": {"zh": "没有编码为 {code} 的{what}", "en": "There is no {what} with code {code}"},
    "nf.what.wall": {"zh": "城市大屏", "en": "city wall"},
    "nf.what.province": {"zh": "省级总览", "en": "province overview"},
    "nf.screens": {"zh": "可以打开的页面", "en": "Screens you can open"},
    "nf.home": {"zh": "首页", "en": "Home"},
    "nf.supervise": {"zh": "督办监控", "en": "Supervision"},
    "nf.province": {"zh": "{name} 全省总览", "en": "{name} province overview"},
    "nf.city": {"zh": "{name} 大屏", "en": "{name} wall"},
})


def app_shell() -> html.Div:
    return html.Div(
        [dcc.Location(id=ids.URL, refresh=False), dcc.Store(id=ids.LANG_STORE),
         dcc.Store(id=ids.TITLES, data={lang: t("app.title", lang) for lang in ("zh", "en")}), html.Div(id=ids.PAGE)],
        className="ck-root",
    )


def screen_links(screens: Sequence[dict], lang: str) -> list[tuple[str, str]]:
    """(label, href) for home, each known screen (``views.overview.known_screens``) and supervise."""
    q = "?lang=en" if lang == "en" else ""
    out = [(t("nf.home", lang), "/" + q)]
    for s in screens:
        name = s["name_en"] if lang == "en" else s["name"]
        if s["level"] == "province":
            out.append((t("nf.province", lang).format(name=name), f"/province/{s['code']}{q}"))
        else:
            out.append((t("nf.city", lang).format(name=name), f"/wall/{s['code']}{q}"))
    out.append((t("nf.supervise", lang), "/supervise" + q))
    return out


def not_found(lang: str, *, message: str | None = None, links: Sequence[tuple[str, str]] = ()) -> html.Div:
    """The not-found page: what was not found and where one can go instead."""
    return html.Div([
        html.H2(t("common.not_found", lang)),
        html.P(message, className="ck-nf-message") if message else None,
        html.H3(t("nf.screens", lang)) if links else None,
        html.Ul([html.Li(dcc.Link(label, href=href)) for label, href in links], className="ck-nf-links"),
    ], className="ck-page ck-not-found", lang="zh-CN" if lang == "zh" else "en")


def not_found_html(lang: str, *, message: str, links: Sequence[tuple[str, str]]) -> str:
    """The not-found page as a whole HTML document (the HTTP 404 body of a first request)."""
    e = html_text.escape
    items = "".join(f'<li><a href="{e(href)}">{e(label)}</a></li>' for label, href in links)
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<title>{e(t("common.not_found", lang))}</title>'
            '<link rel="stylesheet" href="/assets/cockpit.css"></head>'
            f'<body><div class="ck-page ck-not-found"><h2>{e(t("common.not_found", lang))}</h2>'
            f'<p class="ck-nf-message">{e(message)}</p><h3>{e(t("nf.screens", lang))}</h3>'
            f'<ul class="ck-nf-links">{items}</ul></div></body></html>')


def header(title: str, lang: str, *, switch_href: str) -> html.Header:
    """A signed-in page's title with home, logout (a full page load: /logout is the server's) and the
    language switch."""
    return html.Header(
        [
            html.H1(title, className="ck-title"),
            html.Nav([
                html.A(t("common.home", lang), href="/" if lang == "zh" else "/?lang=en", className="ck-nav-home"),
                html.A(t("common.logout", lang), href=f"/logout?lang={lang}", className="ck-logout"),
                html.A(t("common.lang_switch", lang), href=switch_href, className="ck-lang-switch"),
            ], className="ck-header-nav"),
        ],
        className="ck-header",
    )
