"""The home page: every city's live counts today, refreshed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from layouts import ids
from layouts.i18n import register, t
from layouts.names import english_or, place_name
from layouts.page import PageContext
from layouts.shell import header

register({
    "home.screens": {"zh": "大屏与页面", "en": "Screens"},
    "home.province": {"zh": "{name}全省总览", "en": "{name} province overview"},
    "home.supervise": {"zh": "督办监控", "en": "Supervision"},
    "home.playlist": {"zh": "大屏轮播（省 + 各市）", "en": "Wall playlist (province + cities)"},
    "home.walls": {"zh": "城市大屏", "en": "City walls"},
})

COLUMNS = ("home.city", "home.offered", "home.answered", "home.abandoned", "home.waiting", "home.tickets")


def home_links(ctx: PageContext, cities: Sequence[str]) -> html.Nav:
    """Links to the screens the viewer may open: the province overview, supervision, the playlist and
    each city's wall (a city's leader is not shown the other cities or pages of another role)."""
    lang, province = ctx.lang, ctx.settings.province
    q = f"?lang={lang}" if lang != "zh" else ""
    playlist = [c for c in [province, *cities] if ctx.may("/playlist", {"scopes": c})]
    main = []
    if ctx.may(f"/province/{province}"):
        main.append(html.A(t("home.province", lang).format(name=place_name(province, lang)),
                           href=f"/province/{province}{q}", className="ck-home-link", **{"data-link": "province"}))
    if ctx.may("/supervise"):
        main.append(html.A(t("home.supervise", lang), href=f"/supervise{q}", className="ck-home-link",
                           **{"data-link": "supervise"}))
    if len(playlist) > 1:  # one screen is its wall, not a rotation
        main.append(html.A(t("home.playlist", lang),
                           href=f"/playlist?scopes={','.join(playlist)}&seconds=30&kiosk=1&lang={lang}",
                           className="ck-home-link", **{"data-link": "playlist"}))
    walls = [html.A(place_name(c, lang), href=f"/wall/{c}{q}", className="ck-home-city", **{"data-link": c})
             for c in cities if ctx.may(f"/wall/{c}")]
    return html.Nav([html.H2(t("home.screens", lang)), html.Div(main, className="ck-home-links"),
                     html.H3(t("home.walls", lang)), html.Div(walls, className="ck-home-cities")],
                    className="ck-home-nav")


def province_cities(province: str) -> list[str]:
    """The bundled cities of ``province`` (for the links; a deployment's own regions come from the table)."""
    from layouts.mapdata import screen_codes

    try:
        return list(screen_codes(province))
    except KeyError:
        return []


def home_page(ctx: PageContext) -> html.Div:
    lang, refresh_ms = ctx.lang, ctx.settings.refresh_ms
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            header(t("app.title", lang), lang, switch_href=f"/?lang={other}"),
            home_links(ctx, province_cities(ctx.settings.province)),
            html.H2(t("home.heading", lang)),
            html.Div(id=ids.HOME_AS_OF, className="ck-as-of"),
            html.Div(id=ids.HOME_TABLE),
            dcc.Interval(id=ids.HOME_REFRESH, interval=refresh_ms),
        ],
        className="ck-page ck-home", lang="zh-CN" if lang == "zh" else "en",
    )


def cities_table(rows: Sequence, lang: str) -> html.Table | html.P:
    if not rows:
        return html.P(t("home.empty", lang), className="ck-empty")
    head = html.Thead(html.Tr([html.Th(t(c, lang)) for c in COLUMNS]))
    body = html.Tbody([
        html.Tr([
            html.Td(html.A(english_or(r.name_en, r.code, lang) if lang == "en" else r.name,
                           href=f"/wall/{r.code}?lang={lang}")),
            html.Td(f"{r.offered:,}"), html.Td(f"{r.answered:,}"), html.Td(f"{r.abandoned:,}"),
            html.Td(f"{r.waiting:,}"), html.Td(f"{r.tickets:,}"),
        ], className="ck-row", **{"data-city": r.code})
        for r in rows
    ])
    return html.Table([head, body], className="ck-table")


def as_of(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    return f"{t('common.as_of', lang)} {moment.astimezone(tz):%Y-%m-%d %H:%M:%S}"
