"""/reports: page query -> the archive list."""

from __future__ import annotations

from dash import Dash, Input, Output

from cockpit.auth.scope import covers_code
from cockpit.auth.web import current_principal
from cockpit.reports import archive, reports_dir
from cockpit.store.db import Stores
from layouts import ids
from layouts.reports import reports_table


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.REP_LIST, "children"), Input(ids.REP_QUERY, "data"))
    def list_reports(query):
        """Page opened -> the reports of the archive inside the caller's scope (and ?scope=, if given)."""
        query = query or {}
        manifests = archive(reports_dir(settings))
        principal = current_principal()
        scope = (query.get("scope") or "").strip()
        with stores.read_session() as session:
            manifests = [m for m in manifests if covers_code(session, principal.scopes, m["scope"])
                         and (not scope or covers_code(session, [scope], m["scope"]))]
        return reports_table(manifests, query.get("lang") or settings.language, settings.tz)
