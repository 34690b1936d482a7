"""/supervise callbacks: filters -> URL, URL -> alerts and facets, grid block requests -> rows."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, no_update

from cockpit.views import drill
from cockpit.store.db import Stores
from layouts import ids
from layouts.supervise import grid_block, search_for, view_parts

_CONTROLS = {ids.SUP_CITY: "city", ids.SUP_DISTRICT: "district", ids.SUP_RULE: "rule", ids.SUP_STATE: "state",
             ids.SUP_FROM: "from", ids.SUP_TO: "to"}


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.SUP_BREADCRUMB, "children"), Output(ids.SUP_ALERTS, "children"),
                  Output(ids.SUP_SELECTED, "children"), Output(ids.SUP_DISTRICT_BARS, "figure"),
                  Output(ids.SUP_CATEGORY_BARS, "figure"), Output(ids.SUP_CITY, "options"),
                  Output(ids.SUP_DISTRICT, "options"),
                  Input(ids.SUP_QUERY, "data"), State(ids.LANG_STORE, "data"))
    def show_supervise_view(query, lang):
        """URL query (page render) -> breadcrumb, alert list, facets, filter options."""
        view = drill.supervise_view(stores, query or {})
        return view_parts(view, lang or settings.language, settings.tz)

    @app.callback(Output(ids.URL, "search", allow_duplicate=True),
                  Input(ids.SUP_CITY, "value"), Input(ids.SUP_DISTRICT, "value"), Input(ids.SUP_RULE, "value"),
                  Input(ids.SUP_STATE, "value"), Input(ids.SUP_FROM, "value"), Input(ids.SUP_TO, "value"),
                  Input(ids.SUP_DISTRICT_BARS, "clickData"), Input(ids.SUP_CATEGORY_BARS, "clickData"),
                  State(ids.SUP_QUERY, "data"), prevent_initial_call=True)
    def filter_supervise(city, district, rule, state, from_, to, district_click, category_click, query):
        """A filter control or a bar click -> the URL query (which re-renders the page)."""
        query = query or {}
        trigger = ctx.triggered_id
        if trigger == ids.SUP_DISTRICT_BARS and district_click:
            changes = {"district": district_click["points"][0]["customdata"] or None}
        elif trigger == ids.SUP_CATEGORY_BARS and category_click:
            changes = {"category": category_click["points"][0]["customdata"] or None}
        elif trigger in _CONTROLS:
            values = {ids.SUP_CITY: city, ids.SUP_DISTRICT: district, ids.SUP_RULE: rule, ids.SUP_STATE: state,
                      ids.SUP_FROM: from_, ids.SUP_TO: to}
            key = _CONTROLS[trigger]
            current = query.get(key) or ("open" if key == "state" else None)
            if (values[trigger] or None) == current:
                return no_update  # a freshly drawn control reporting its initial value
            changes = {key: values[trigger]}
        else:
            return no_update
        search = search_for(query, **changes)
        current = search_for(query)
        return no_update if search == current else search

    @app.callback(Output(ids.SUP_GRID, "getRowsResponse"), Input(ids.SUP_GRID, "getRowsRequest"),
                  State(ids.SUP_QUERY, "data"), State(ids.LANG_STORE, "data"), prevent_initial_call=True)
    def page_supervise_grid(request, query, lang):
        """AG Grid asks for a block of rows -> that block from SQL (sorted, filtered, counted), shown in the page's language."""
        if not request:
            return no_update
        return grid_block(drill.grid_rows(stores, query or {}, request), lang or settings.language)
