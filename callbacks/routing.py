"""URL -> page. Every page is one entry of ROUTES: a path pattern and a layout builder.

A builder is called as ``builder(ctx, **groups)`` with the pattern's named groups, where ``ctx`` is a
``PageContext`` (language, settings, query string); it returns the page's component tree.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from dash import Dash, Input, Output

from cockpit.store.db import Stores
from layouts import home, ids, playlist, province, supervise, ticket, wall
from layouts.i18n import pick_lang
from layouts.page import PageContext
from layouts.shell import not_found

ROUTES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^/$"), home.home_page),
    (re.compile(r"^/wall/(?P<code>[A-Za-z0-9_-]+)$"), wall.wall_page),
    (re.compile(r"^/province/(?P<code>[A-Za-z0-9_-]+)$"), province.province_page),
    (re.compile(r"^/playlist$"), playlist.playlist_page),
    (re.compile(r"^/supervise$"), supervise.supervise_page),
    (re.compile(r"^/tickets/(?P<ticket_id>[^/\s]+)$"), ticket.ticket_page),
]


def resolve(path: str):
    for pattern, builder in ROUTES:
        match = pattern.match(path)
        if match:
            return builder, match.groupdict()
    return None, {}


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.PAGE, "children"), Output(ids.LANG_STORE, "data"),
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def render_page(pathname: str | None, search: str | None):
        """URL change -> the page's layout."""
        query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
        lang = pick_lang(query.get("lang"), settings.language)
        path = (pathname or "/").rstrip("/") or "/"
        builder, groups = resolve(path)
        if builder is None:
            return not_found(lang), lang
        return builder(PageContext(lang=lang, settings=settings, query=query, path=path), **groups), lang
