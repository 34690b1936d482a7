"""The kiosk playlist: one full-screen frame that shows each scope's screen in turn."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from dash import dcc, html

from cockpit.views.wall import wall_path
from layouts import ids
from layouts.i18n import register, t
from layouts.page import PageContext

register({"playlist.title": {"zh": "大屏轮播", "en": "Wall playlist"}})


def playlist_urls(scopes: Sequence[str], *, lang: str) -> list[str]:
    """Kiosk URLs for the scopes in order: provinces (xx0000) get /province, others /wall."""
    return [f"{wall_path(code)}?{urlencode({'kiosk': '1', 'lang': lang})}" for code in scopes]


def playlist_page(ctx: PageContext) -> html.Div:
    """A full-screen frame that shows each scope for ``seconds`` in turn (rotation in assets/wall.js)."""
    scopes = [s.strip() for s in ctx.query.get("scopes", "").split(",") if s.strip()] or [ctx.settings.province]
    try:
        seconds = max(2, int(ctx.query.get("seconds", "30")))
    except ValueError:
        seconds = 30
    urls = playlist_urls(scopes, lang=ctx.lang)
    return html.Div([
        html.Iframe(id=ids.PLAYLIST_FRAME, src=urls[0], className="ck-playlist-frame", title=t("playlist.title", ctx.lang)),
        dcc.Store(id=ids.PLAYLIST_CONFIG, data={"urls": urls, "seconds": seconds}),
        dcc.Interval(id=ids.PLAYLIST_TICK, interval=seconds * 1000),
    ], className="ck-playlist ck-kiosk")
