"""Alerts over HTTP (a Flask blueprint): list them, and act on one (ack, escalate, resolve).

``GET /api/v1/alerts?scope=&state=&rule=&since=&until=&limit=&offset=`` lists alerts, newest
first (``state=open`` means any open state). ``GET /api/v1/alerts/<id>`` gives one with its
history. ``POST /api/v1/alerts/<id>/ack|escalate|resolve`` needs the ``act`` permission (a
supervisor's session with its CSRF header, or a bearer token) over the alert's city and district;
the body is JSON: ``{}``, ``{"to", "note", "due"}``, ``{"note"}``. The actor is always the caller
(the user or the token's name), never a typed name. Errors: ``{"error": ..., "field": ...}``.

Silences (``cockpit.views.silences``): ``GET /api/v1/silences?state=active|all&limit=`` lists those
inside the caller's scope; ``POST /api/v1/silences`` with ``{"rule", "city", "district", "category",
"comment", "ends_at"}`` sets one owned by the caller; ``DELETE /api/v1/silences/<id>`` ends one now. Writes need
the ``act`` permission (and the CSRF header with a session), and are audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from cockpit.watch import alerts
from cockpit.views import export, silences
from cockpit.errors import AlertError, AlertStateError, ParamError, UnknownAlert
from cockpit.http.kpi import parse_time
from cockpit.views.grid_request import MAX_ID, check_query
from cockpit.store.db import Stores
from cockpit.watch.evaluate import RULES

bp = Blueprint("cockpit_alerts", __name__)


def _stores() -> Stores:
    return current_app.config["COCKPIT_STORES"]


@bp.errorhandler(ParamError)
def _param_error(exc: ParamError):
    return jsonify(exc.as_dict()), 400


def status_for(exc: AlertError) -> int:
    """The HTTP status of a refused alert action: 404 unknown alert, 409 wrong state, else 400."""
    if isinstance(exc, UnknownAlert):
        return 404
    if isinstance(exc, AlertStateError):
        return 409
    return 400


@bp.errorhandler(AlertError)
def _alert_error(exc: AlertError):
    return jsonify({"error": str(exc)}), status_for(exc)


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(name, f"not an integer: {raw!r}") from None
    if not low <= value <= high:
        raise ParamError(name, f"must be between {low} and {high}")
    return value


def list_document(stores: Stores, args) -> dict:
    """The JSON of ``GET /api/v1/alerts`` for query arguments ``args`` (a mapping)."""
    state, rule = args.get("state") or None, args.get("rule") or None
    if state and state != "open" and state not in alerts.STATES:
        raise ParamError("state", f"expected open or one of {', '.join(alerts.STATES)}")
    if rule and rule not in RULES:
        raise ParamError("rule", f"expected one of {', '.join(RULES)}")
    tz = stores.settings.tz
    since = parse_time(args["since"], "since", tz) if args.get("since") else None
    until = parse_time(args["until"], "until", tz) if args.get("until") else None
    from cockpit.auth.scope import covers_place
    from cockpit.auth.web import current_principal

    principal = current_principal()
    scope = args.get("scope") or None
    if scope is None and principal.role != "system" and "*" not in principal.scopes and len(principal.scopes) == 1:
        scope = principal.scope  # one's own region (the guard refused a scope outside it)
    with stores.session() as session:
        rows = alerts.list_alerts(session, scope=scope, state=state, rule=rule, since=since,
                                  until=until, limit=_int("limit", 200, 1, alerts.MAX_LIMIT),
                                  offset=_int("offset", 0, 0, 10**9))
        return {"alerts": [alerts.as_dict(a) for a in rows
                           if covers_place(session, principal.scopes, a.city, a.district)]}


@bp.get("/api/v1/alerts")
def list_alerts():
    return jsonify(list_document(_stores(), request.args))


def _alert_id(alert_id: int) -> int:
    if not 1 <= alert_id <= MAX_ID:
        raise ParamError("alert_id", f"must be an alert id between 1 and {MAX_ID}")
    return alert_id


@bp.get("/api/v1/alerts/<int:alert_id>")
def get_alert(alert_id: int):
    from cockpit.auth.scope import covers_place
    from cockpit.auth.web import current_principal

    _alert_id(alert_id)
    with _stores().session() as session:
        alert = alerts.get(session, alert_id)
        if alert is None or not covers_place(session, current_principal().scopes, alert.city, alert.district):
            return jsonify({"error": f"no alert {alert_id}"}), 404
        return jsonify({**alerts.as_dict(alert), "history": alerts.events_of(session, alert_id)})


@bp.post("/api/v1/alerts/<int:alert_id>/<action>")
def act(alert_id: int, action: str):
    """Act on an alert as the caller: the actor recorded is the token's name or the logged-in user,
    never a name from the body (a ``by`` field is ignored)."""
    from cockpit.auth import audit
    from cockpit.auth.scope import covers_place
    from cockpit.auth.web import client_ip, current_principal

    _alert_id(alert_id)
    if action not in ("ack", "assign", "escalate", "resolve"):
        return jsonify({"error": f"unknown action {action!r}; expected ack, assign, escalate or resolve"}), 404
    principal = current_principal()
    principal.require("act")
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return jsonify({"error": "body must be a JSON object"}), 400
    stores = _stores()
    by = principal.label
    with stores.session() as session:
        alert = alerts.get(session, alert_id)
        if alert is None:
            return jsonify({"error": f"no alert {alert_id}"}), 404
        if not covers_place(session, principal.scopes, alert.city, alert.district):
            audit.record_for(session, principal, f"alert_{action}", target=str(alert_id), ip=client_ip(),
                             outcome="denied")
            return jsonify({"error": "alert outside your scope"}), 403
        if action == "ack":
            out = alerts.acknowledge(session, alert_id, by=by)
        elif action == "assign":
            out = alerts.assign(session, alert_id, by=by, to=str(body.get("to") or ""),
                                kind=str(body.get("kind") or "user"))
        elif action == "escalate":
            due: datetime | None = parse_time(str(body["due"]), "due", stores.settings.tz) if body.get("due") else None
            out = alerts.escalate(session, alert_id, by=by, to=str(body.get("to") or ""),
                                  note=str(body.get("note") or ""), due=due)
        else:
            out = alerts.resolve(session, alert_id, by=by, note=str(body.get("note") or ""))
        audit.record_for(session, principal, f"alert_{action}", target=str(alert_id), ip=client_ip())
    return jsonify(out)


@bp.get("/api/v1/silences")
def list_silences():
    from cockpit.auth.web import current_principal

    state = request.args.get("state") or "active"
    if state not in ("active", "all"):
        raise ParamError("state", "expected active or all")
    found = silences.listing(_stores(), current_principal(), active_only=state == "active",
                             limit=_int("limit", 200, 1, alerts.MAX_LIMIT))
    return jsonify({"silences": found})


@bp.post("/api/v1/silences")
def create_silence():
    """A silence owned by the caller (a ``by`` field is ignored), pinned inside the caller's scope."""
    from cockpit.auth.web import client_ip, current_principal

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ParamError("body", "must be a JSON object")
    stores = _stores()
    raw_end = body.get("ends_at")
    if raw_end is not None and not isinstance(raw_end, str):
        raise ParamError("ends_at", "must be an ISO 8601 date-time string")
    ends_at = parse_time(raw_end, "ends_at", stores.settings.tz) if raw_end else None
    out = silences.create(stores, current_principal(), comment=body.get("comment"), ends_at=ends_at,
                          rule=body.get("rule"), city=body.get("city"), district=body.get("district"),
                          category=body.get("category"),
                          ip=client_ip())
    return jsonify(out), 201


@bp.delete("/api/v1/silences/<int:silence_id>")
def expire_silence(silence_id: int):
    """End a silence now (audited); one outside the caller's scope is not found."""
    from cockpit.auth.web import client_ip, current_principal

    if not 1 <= silence_id <= MAX_ID:
        raise ParamError("silence_id", f"must be a silence id between 1 and {MAX_ID}")
    return jsonify(silences.expire(_stores(), current_principal(), silence_id, ip=client_ip()))


def _audit_export(kind: str, query: dict) -> None:
    from cockpit.auth import audit
    from cockpit.auth.web import client_ip, current_principal

    with _stores().session() as session:
        audit.record_for(session, current_principal(), "export", target=kind, ip=client_ip(), detail=query)


@bp.get("/supervise/export.csv")
def export_csv():
    """The /supervise grid's filtered ticket set as CSV, streamed (same query string as the page)."""
    query = check_query({k: v for k, v in request.args.items()})
    _audit_export("csv", query)
    body = stream_with_context(export.export_csv(_stores(), query))
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=tickets.csv"})


@bp.get("/supervise/export.xlsx")
def export_xlsx():
    """The same filtered set as an Excel workbook."""
    query = check_query({k: v for k, v in request.args.items()})
    _audit_export("xlsx", query)
    return Response(export.export_xlsx(_stores(), query),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=tickets.xlsx"})
