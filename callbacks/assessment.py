"""/assessment: controls -> the scored table."""

from __future__ import annotations

from dash import Dash, Input, Output, State
from sqlalchemy import select

from cockpit.auth.web import current_principal, require_region
from cockpit.errors import ParamError
from cockpit.http.reports import assessment_document
from cockpit.store.db import Stores
from cockpit.store.models import Region
from layouts import ids
from layouts.assessment import assessment_error, assessment_table


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.ASS_TABLE, "children"),
                  Input(ids.ASS_SCOPE, "value"), Input(ids.ASS_LEVEL, "value"), Input(ids.ASS_PERIOD, "value"),
                  Input(ids.ASS_END, "value"), State(ids.LANG_STORE, "data"))
    def refresh_assessment(scope, level, period, end, lang):
        """Scope, level, period or end changed -> the assessment table (inside the caller's scope only)."""
        lang = lang or settings.language
        principal = current_principal()
        scope = (scope or "").strip() or (settings.province if "*" in principal.scopes else principal.scope)
        require_region(stores, scope)  # another region typed in the scope field: 403, never data
        try:
            doc = assessment_document(stores, scope=scope, level=level, period=period, end=end or None)
        except ParamError as exc:
            return assessment_error(f"{exc.field}: {exc.message}", lang)
        names = {}
        if level == "district":
            keys = [r["key"] for r in doc["rows"] if r["key"]]
            with stores.read_session() as session:
                column = Region.name_en if lang == "en" else Region.name
                names = {c: n for c, n in session.execute(select(Region.code, column).where(Region.code.in_(keys)))
                         if n}
        return assessment_table(doc, lang, names)
