"""/roster: scope or week -> the week's plan (kept, or planned now)."""

from __future__ import annotations

from dash import Dash, Input, Output, State

from cockpit.errors import ParamError
from cockpit.http.planning import roster_document
from cockpit.auth.web import require_region
from cockpit.store.db import Stores
from layouts import ids
from layouts.roster import roster_error, roster_view


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.ROSTER_BODY, "children"),
                  Input(ids.ROSTER_SCOPE, "value"), Input(ids.ROSTER_WEEK, "value"), State(ids.LANG_STORE, "data"))
    def refresh_roster(scope, week, lang):
        """Scope or week changed -> the roster view."""
        lang = lang or settings.language
        require_region(stores, scope)  # another region typed in the scope field: 403, never data
        try:
            doc = roster_document(stores, scope=scope, week=week or None)
        except ParamError as exc:
            return roster_error(f"{exc.field}: {exc.message}", lang)
        return roster_view(doc, lang)
