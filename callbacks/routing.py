"""URL -> page."""

from __future__ import annotations

from urllib.parse import parse_qs

from dash import Dash, Input, Output

from cockpit.stores import Stores
from layouts import ids
from layouts.home import home_page
from layouts.i18n import pick_lang
from layouts.shell import not_found


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.PAGE, "children"), Output(ids.LANG_STORE, "data"),
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def render_page(pathname: str | None, search: str | None):
        """URL change -> the page's layout."""
        query = parse_qs((search or "").lstrip("?"))
        lang = pick_lang((query.get("lang") or [None])[0], settings.language)
        path = (pathname or "/").rstrip("/") or "/"
        if path == "/":
            return home_page(lang, settings.refresh_ms), lang
        return not_found(lang), lang
