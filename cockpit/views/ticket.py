"""The read model of one ticket (/tickets/<id>) and the supervisor's actions on its alerts.

``ticket_view`` gathers the ticket (personal data masked unless unmasking is asked for, a
permission that is audited), its timeline, its clocks, related tickets and its alerts; the
queries are in ``cockpit.store.tickets``. Another region's ticket is 'not found'. Times are naive
UTC datetimes (the layout formats them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cockpit import timeutil
from cockpit.metrics import definitions
from cockpit.store import tickets
from cockpit.views.drill import alert_in_scope, breadcrumb, caller
from cockpit.watch import alerts
from cockpit.watch.evaluate import normalize_address

RELATED_DAYS = 90
RELATED_LIMIT = 20


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def mask_ticket(data: dict[str, Any]) -> dict[str, Any]:
    """A ticket's personal data masked for display: the caller (a number 138****1234, a name 张**),
    phone, ID and bank-card numbers inside the text and the address, and household numbers in both."""
    from cockpit.privacy import mask_address, mask_request_text, mask_text

    out = dict(data)
    caller = out.get("caller")
    if caller:
        digits = caller.replace(" ", "").replace("-", "")
        out["caller"] = mask_text(caller) if any(ch.isdigit() for ch in digits) and mask_text(caller) != caller \
            else (caller[0] + "*" * max(1, len(caller) - 1) if len(caller) > 1 else "*")
    for key in ("text", "resolution"):
        if isinstance(out.get(key), str):
            out[key] = mask_request_text(out[key])
    if isinstance(out.get("address"), str):
        out["address"] = mask_address(out["address"])
    return out


def related_tickets(session, ticket, *, principal=None) -> list[dict[str, Any]]:
    """Tickets of the same city with the same normalised address or the same (unmasked) caller,
    created within RELATED_DAYS of this one, inside the caller's scope; newest first, at most
    RELATED_LIMIT; ``reason`` says which matched."""
    from cockpit.auth.scope import restriction

    key = normalize_address(ticket.address) if ticket.address else None
    rows = tickets.related(session, ticket, normalized_address=key,
                           restrict=restriction(session, caller(principal)), days=RELATED_DAYS, limit=RELATED_LIMIT)
    out = []
    for t in rows:
        reason = []
        if ticket.address and normalize_address(t.address) == normalize_address(ticket.address):
            reason.append("address")
        if ticket.caller and t.caller == ticket.caller:
            reason.append("caller")
        out.append({"ticket_id": t.ticket_id, "created_at": t.created_at, "category": t.category,
                    "status": t.status, "reason": reason})
    return out


def ticket_view(stores, ticket_id: str, *, now: datetime | None = None, principal=None,
                unmask: bool = False) -> dict[str, Any] | None:
    """Everything /tickets/<id> shows, or None for an unknown ticket.

    ``steps``: each step in time order with ``since_prev_s`` and ``since_created_s``;
    ``clocks``: due time (remaining or overdue seconds), response deadline, time to close;
    ``related``: same address or caller; ``alerts``: this ticket's alerts with their history.
    Times are naive UTC datetimes (the layout formats them). Read-only.
    """
    from cockpit.auth import audit
    from cockpit.auth.scope import covers_place

    now_n = timeutil.naive_utc(now) if now is not None else timeutil.utcnow()
    principal = caller(principal)
    with stores.session() as session:
        ticket = tickets.get(session, ticket_id)
        if ticket is None or not covers_place(session, principal.scopes, ticket.city, ticket.district):
            return None  # another region's ticket is 'not found', like an unknown one
        if principal.role != "system":
            audit.record_for(session, principal, "unmask" if unmask else "ticket_view", target=ticket_id)
        timeline, prev = [], None
        for s in tickets.steps(session, ticket_id, first=ticket.first_step_at, last=ticket.updated_at):
            timeline.append({"type": s.type, "at": s.occurred_at, "unit": s.unit, "detail": s.detail,
                             "since_prev_s": _seconds(prev, s.occurred_at),
                             "since_created_s": _seconds(ticket.created_at, s.occurred_at)})
            prev = s.occurred_at
        response_due = (ticket.created_at + timedelta(seconds=definitions.response_deadline_s(stores.settings))
                        if ticket.created_at else None)
        open_ = ticket.status != "closed"
        clocks = {
            "due_at": ticket.due_at,
            "due_left_s": _seconds(now_n, ticket.due_at) if open_ and ticket.due_at else None,
            "closed_late_s": (_seconds(ticket.due_at, ticket.closed_at) if not open_ and ticket.due_at
                              and ticket.closed_at and ticket.closed_at > ticket.due_at else None),
            "response_due_at": response_due,
            "responded_in_s": _seconds(ticket.created_at, ticket.responded_at),
            "response_left_s": (_seconds(now_n, response_due) if ticket.responded_at is None and open_
                                and response_due else None),
            "open_for_s": _seconds(ticket.created_at, now_n) if open_ else None,
            "closed_in_s": _seconds(ticket.created_at, ticket.closed_at) if not open_ else None,
        }
        alert_rows = [a for a in alerts.for_ticket(session, ticket_id) if alert_in_scope(session, principal, a)]
        data = tickets.columns(ticket)
        if unmask:
            principal.require("unmask")
        else:
            data = mask_ticket(data)
        names = tickets.region_names(session, [ticket.city, ticket.district or ""])
        return {
            "ticket": data, "steps": timeline, "clocks": clocks,
            "related": related_tickets(session, ticket, principal=principal), "masked": not unmask,
            "alerts": [{**alerts.as_dict(a), "history": alerts.events_of(session, a.id)} for a in alert_rows],
            "names": names,
            "breadcrumb": breadcrumb(session, stores.settings, city=ticket.city, district=ticket.district,
                                     ticket_id=ticket_id),
            "now": now_n,
        }


def act_on_alert(stores, ticket_id: str, *, alert_id: int, action: str, principal, note: str = "", to: str = "",
                 due: datetime | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """A supervisor's action on one alert from a ticket page; returns (fresh ticket view, error).

    ``action`` is 'ack', 'escalate' or 'resolve'. The actor is ``principal`` (cockpit.auth), who
    needs the ``act`` permission over the alert's city and district. A refused action returns its
    reason as the error and changes nothing; it is audited either way.
    """
    from cockpit.auth import audit
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.scope import covers_place

    error = None
    by = principal.label
    try:
        with stores.session() as session:
            principal.require("act")
            alert = alerts.get(session, alert_id)
            if alert is None or not covers_place(session, principal.scopes, alert.city, alert.district):
                raise AccessDenied("not found", status=404)
            audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id))
            if action not in ("ack", "escalate", "resolve"):  # the ticket page offers these three
                raise alerts.AlertError(f"unknown action {action!r}")
            _apply(session, alert_id, action, by=by, to=to, note=note, due=due)
    except alerts.AlertError as exc:
        error = str(exc)
    except AccessDenied as exc:
        with stores.session() as session:
            audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id), outcome="denied")
        error = "无权操作此告警 / not allowed" if exc.status != 404 else "告警不存在 / no such alert"
    return ticket_view(stores, ticket_id), error


def _apply(session, alert_id: int, action: str, *, by: str, to: str = "", note: str = "",
           due: datetime | None = None, kind: str = "user") -> None:
    """One action on one alert, by the user ``by`` (the caller checked permission and scope)."""
    if action == "ack":
        alerts.acknowledge(session, alert_id, by=by)
    elif action == "assign":
        alerts.assign(session, alert_id, by=by, to=to, kind=kind)
    elif action == "escalate":
        alerts.escalate(session, alert_id, by=by, to=to, note=note, due=due)
    elif action == "resolve":
        alerts.resolve(session, alert_id, by=by, note=note)
    else:
        raise alerts.AlertError(f"unknown action {action!r}")


def act_on_alerts(stores, alert_ids: list[int], *, action: str, principal, note: str = "", to: str = "",
                  kind: str = "user", due: datetime | None = None) -> tuple[int, str | None]:
    """A supervisor's action from the inbox on one alert ('ack', 'assign', 'escalate', 'resolve')
    or several ('bulk_ack': the firing ones among them). The actor is ``principal`` (cockpit.auth),
    who needs the ``act`` permission over every alert's city and district; each action is audited.
    Returns (alerts changed, error)."""
    from cockpit.auth import audit
    from cockpit.auth.principal import AccessDenied
    from cockpit.auth.scope import covers_place

    by = principal.label
    try:
        with stores.session() as session:
            principal.require("act")
            for alert_id in alert_ids:
                alert = alerts.get(session, int(alert_id))
                if alert is None or not covers_place(session, principal.scopes, alert.city, alert.district):
                    raise AccessDenied("not found", status=404)
            for alert_id in alert_ids:
                audit.record_for(session, principal, f"alert_{action}"[:32], target=str(alert_id))
            if action == "bulk_ack":
                return len(alerts.acknowledge_many(session, alert_ids, by=by)["acknowledged"]), None
            if len(alert_ids) != 1:
                raise alerts.AlertError("select one alert")
            _apply(session, alert_ids[0], action, by=by, to=to, note=note, due=due, kind=kind)
    except alerts.AlertError as exc:
        return 0, str(exc)
    except AccessDenied:
        with stores.session() as session:
            audit.record_for(session, principal, f"alert_{action}"[:32], target=",".join(map(str, alert_ids))[:256],
                             outcome="denied")
        return 0, "alert not found"
    return 1, None
