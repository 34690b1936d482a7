"""/reports: page query -> the archive list."""

from __future__ import annotations

from dash import Dash, Input, Output

from cockpit.reports import archive, reports_dir
from cockpit.store import tokens
from cockpit.auth.scope import covers_code
from cockpit.auth.web import current_principal
from cockpit.store.db import Stores
from layouts import ids
from layouts.reports import reports_table


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.REP_LIST, "children"), Input(ids.REP_QUERY, "data"))
    def list_reports(query):
        """Page opened -> the reports in the archive (narrowed to ?scope= and what it covers)."""
        query = query or {}
        manifests = archive(reports_dir(settings))
        scope = (query.get("scope") or "").strip()
        principal = current_principal()
        with stores.session() as session:
            if scope:
                manifests = [m for m in manifests if not tokens.covers(session, [scope], [m["scope"]])]
            # only the reports of regions inside the caller's scope (cockpit.auth)
            manifests = [m for m in manifests if covers_code(session, principal.scopes, m["scope"])]
        return reports_table(manifests, query.get("lang") or settings.language)
