"""/tickets/<id> callbacks: load the ticket; a supervisor's action on one of its alerts."""

from __future__ import annotations

from datetime import datetime, time

from dash import ALL, Dash, Input, Output, State, ctx, no_update

from cockpit.auth.web import current_principal
from cockpit.views import ticket as ticket_views
from cockpit.store.db import Stores
from layouts import ids
from layouts.i18n import t
from layouts.ticket import ACTION_PAST, action_error, check_action, ticket_body


def register(app: Dash, stores: Stores) -> None:
    settings = stores.settings

    @app.callback(Output(ids.TK_BODY, "children"), Input(ids.TK_ID, "data"), State(ids.TK_UNMASK, "data"),
                  State(ids.LANG_STORE, "data"))
    def show_ticket(ticket_id, unmask, lang):
        """Ticket page render -> timeline, clocks, map, related tickets, alerts; personal data masked
        unless the page asked to unmask (a permission, audited; cockpit.views.ticket.ticket_view)."""
        return ticket_body(ticket_views.ticket_view(stores, ticket_id, unmask=bool(unmask)), lang or settings.language,
                           settings.tz)

    @app.callback(Output(ids.TK_BODY, "children", allow_duplicate=True), Output(ids.TK_MESSAGE, "children"),
                  Output(ids.TK_NOTE, "value"),
                  Input({"type": ids.TK_ACTION, "action": ALL, "alert": ALL}, "n_clicks"),
                  State(ids.TK_ID, "data"), State(ids.TK_NOTE, "value"),
                  State(ids.TK_TO, "value"), State(ids.TK_DUE, "value"), State(ids.LANG_STORE, "data"),
                  prevent_initial_call=True)
    def act_on_ticket_alert(clicks, ticket_id, note, to, due, lang):
        """An action button (ack / escalate / resolve) -> the alert changes as the logged-in user (no typed
        name: the actor is who is logged in), the body is redrawn with the outcome beside that alert's
        buttons (in the page's language); the note is cleared once used."""
        trigger = ctx.triggered_id
        if not trigger or not any(clicks or []) or not ctx.triggered[0]["value"]:
            return no_update, no_update, no_update
        lang = lang or settings.language
        alert_id, action = int(trigger["alert"]), trigger["action"]
        principal = current_principal()
        problem = check_action(action, by=principal.label, note=note or "", to=to or "", lang=lang)
        if problem:
            view = ticket_views.ticket_view(stores, ticket_id)
            return ticket_body(view, lang, settings.tz, messages={alert_id: ("error", problem)}), "", no_update
        due_at = None
        if due:
            due_at = datetime.combine(datetime.fromisoformat(due).date(), time(23, 59)).replace(tzinfo=settings.tz)
        view, error = ticket_views.act_on_alert(stores, ticket_id, alert_id=alert_id, action=action,
                                         principal=principal, note=note or "", to=to or "", due=due_at)
        if error:
            message = ("error", action_error(error, lang))
            return ticket_body(view, lang, settings.tz, messages={alert_id: message}), "", no_update
        done = ("ok", t("tk.done", lang).format(action=t(ACTION_PAST[action], lang)))
        return ticket_body(view, lang, settings.tz, messages={alert_id: done}), "", ""
