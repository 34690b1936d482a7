"""/supervise callbacks: filters -> URL, URL -> alerts and facets, grid block requests -> rows."""

from __future__ import annotations

from datetime import datetime, time

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from callbacks.routing import viewer_home_city
from cockpit.auth.principal import AccessDenied
from cockpit.auth.web import current_principal
from cockpit.errors import CockpitError
from cockpit.views import drill, seatplan, silences
from cockpit.views import ticket as ticket_views
from cockpit.store.db import Stores
from layouts import ids
from layouts.i18n import t
from layouts.seatplan import plan_panel
from layouts.supervise import SILENCE_HOURS, grid_block, search_for, view_parts
from layouts.ticket import action_error, check_action



_CONTROLS = {ids.SUP_CITY: "city", ids.SUP_DISTRICT: "district", ids.SUP_RULE: "rule", ids.SUP_STATE: "state",
             ids.SUP_FROM: "from", ids.SUP_TO: "to"}


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.SUP_BREADCRUMB, "children"), Output(ids.SUP_ALERTS, "children"),
                  Output(ids.SUP_SELECTED, "children"), Output(ids.SUP_DISTRICT_BARS, "figure"),
                  Output(ids.SUP_CATEGORY_BARS, "figure"), Output(ids.SUP_CITY, "options"),
                  Output(ids.SUP_DISTRICT, "options"), Output(ids.SUP_PAGE_IDS, "data"),
                  Input(ids.SUP_QUERY, "data"), State(ids.LANG_STORE, "data"))
    def show_supervise_view(query, lang):
        """URL query (page render, or after an action) -> breadcrumb, inbox, facets, filter options,
        and the ids of the alerts on the page (for the bulk acknowledge)."""
        view = drill.supervise_view(stores, query or {})
        return (*view_parts(view, lang or settings.language, settings.tz), [a["id"] for a in view["alerts"]])

    @app.callback(Output(ids.SUP_PLAN, "children"), Input(ids.SUP_QUERY, "data"), Input(ids.SUP_PLAN_TICK, "n_intervals"),
                  State(ids.LANG_STORE, "data"))
    def show_supervise_plan(query, _tick, lang):
        """URL query or the minute tick -> today's calls against the forecast, seats now and next 2 h."""
        return plan_panel(seatplan.supervise_plan(stores, query or {}), lang or settings.language)

    @app.callback(Output(ids.SUP_QUERY, "data", allow_duplicate=True), Output(ids.SUP_ACT_MSG, "children"),
                  Input({"type": ids.SUP_ACTION, "action": ALL}, "n_clicks"),
                  State(ids.SUP_QUERY, "data"), State(ids.SUP_PAGE_IDS, "data"),
                  State(ids.SUP_ACT_TO, "value"), State(ids.SUP_ACT_KIND, "value"), State(ids.SUP_ACT_NOTE, "value"),
                  State(ids.SUP_ACT_DUE, "value"), State(ids.SUP_ACT_HOURS, "value"), State(ids.LANG_STORE, "data"),
                  prevent_initial_call=True)
    def act_in_inbox(clicks, query, page_ids, to, kind, note, due, hours, lang):
        """An inbox action -> the alert store as the logged-in user (never a typed name; each alert
        must be in the user's scope), then the inbox is redrawn (a new query dict) with the outcome."""
        trigger = ctx.triggered_id
        if not trigger or not ctx.triggered[0]["value"]:
            return no_update, no_update
        lang = lang or settings.language
        query = dict(query or {})
        action = trigger["action"]
        principal = current_principal()
        actor = principal.label
        if action == "bulk_ack":
            targets = list(page_ids or [])
        elif str(query.get("alert") or "").isdigit():
            targets = [int(query["alert"])]
        else:
            return no_update, html.Span(t("sup.act.pick", lang), className="ck-error")
        if action == "silence":
            return _silence(query, targets[0], principal, hours, note, lang)
        problem = check_action("ack" if action in ("bulk_ack", "assign") else action, by=actor, note=note or "",
                               to=to or "", lang=lang)
        if action == "assign" and not problem and not (to or "").strip():
            problem = t("tk.err.to", lang)
        if problem:
            return no_update, html.Span(problem, className="ck-error")
        due_at = None
        if due:
            due_at = datetime.combine(datetime.fromisoformat(due).date(), time(23, 59)).replace(tzinfo=settings.tz)
        n, error = ticket_views.act_on_alerts(stores, targets, action=action, principal=principal, note=note or "",
                                       to=to or "", kind=kind or "user", due=due_at)
        if error:
            return no_update, html.Span(action_error(error, lang), className="ck-error")
        query["_done"] = int(query.get("_done") or 0) + 1  # a new dict redraws the inbox
        return query, html.Span(t("sup.act.done", lang).format(n=n), className="ck-ok")

    def _silence(query, alert_id, principal, hours, note, lang):
        """静默 / Silence: the selected alert's rule in its area, for ``hours``, owned by the user."""
        if not (note or "").strip():
            return no_update, html.Span(t("sup.act.silence_note", lang), className="ck-error")
        try:
            sil = silences.silence_alert(stores, principal, alert_id, hours=hours or SILENCE_HOURS[1],
                                         comment=note)
        except (CockpitError, AccessDenied) as exc:
            return no_update, html.Span(action_error(str(exc), lang), className="ck-error")
        until = datetime.fromisoformat(sil["ends_at"]).astimezone(settings.tz).strftime("%m-%d %H:%M")
        query["_done"] = int(query.get("_done") or 0) + 1
        return query, html.Span(t("sup.act.silenced", lang).format(until=until, by=sil["by"]), className="ck-ok")

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
            if key == "city" and not current:  # a city user's page shows their city chosen: not a change
                current = viewer_home_city(stores)
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
