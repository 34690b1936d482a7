"""Home page refresh."""

from __future__ import annotations

from dash import Dash, Input, Output, State

from cockpit.views.overview import cities_today
from cockpit.auth.web import visible_scope
from cockpit.store.db import Stores
from layouts import ids
from layouts.home import as_of, cities_table


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.HOME_TABLE, "children"), Output(ids.HOME_AS_OF, "children"),
                  Input(ids.HOME_REFRESH, "n_intervals"), State(ids.LANG_STORE, "data"))
    def refresh_home(_n, lang):
        """Interval tick -> cities table and its as-of time."""
        scope = visible_scope(stores, settings.province)  # a city user sees their city only
        rows, now = cities_today(stores, scope=scope) if scope else ([], None)
        if now is None:
            from datetime import UTC, datetime

            now = datetime.now(UTC)
        return cities_table(rows, lang or settings.language), as_of(now, settings.tz, lang or settings.language)
