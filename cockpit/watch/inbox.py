"""The alert reads every screen and the API use: the supervisor's inbox, the wall's open alerts,
one alert with its history, the alerts of a ticket, as JSON-ready dicts (times ISO 8601 UTC).

The SQL is in ``cockpit.store.alerts``; this module turns rows into the dicts screens show.
Everything here is read-only. Times passed in may be aware or naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cockpit.store import alerts as store
from cockpit.store.models import Alert, AlertSilence
from cockpit.timeutil import aware_utc, naive_utc

MAX_LIMIT = store.MAX_LIMIT
_FACTS = ("words", "handoff", "category", "subcategory", "count", "median")


def naive(moment: datetime | None) -> datetime | None:
    """Aware or naive UTC -> naive UTC (None stays None)."""
    return None if moment is None else naive_utc(moment)


def iso(moment: datetime | None) -> str | None:
    """Naive UTC -> ISO 8601 with +00:00."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


def facts(detail: dict | None) -> dict:
    """The few detail fields a reason line shows (cockpit.watch.vocab.reason)."""
    return {k: detail[k] for k in _FACTS if detail and detail.get(k) not in (None, "", [])}


def as_dict(alert: Alert) -> dict[str, Any]:
    """JSON-ready alert (times ISO 8601 UTC)."""
    return {
        "id": alert.id, "rule": alert.rule, "key": alert.key, "city": alert.city, "district": alert.district,
        "severity": alert.severity, "state": alert.state, "title": alert.title, "detail": alert.detail,
        "first_seen": iso(alert.first_seen), "fired_at": iso(alert.fired_at),
        "acknowledged_by": alert.acknowledged_by, "acknowledged_at": iso(alert.acknowledged_at),
        "escalated_to": alert.escalated_to, "escalation_note": alert.escalation_note,
        "escalation_due": iso(alert.escalation_due), "resolved_at": iso(alert.resolved_at),
        "resolved_by": alert.resolved_by, "resolution_note": alert.resolution_note,
        "updated_at": iso(alert.updated_at), "size": alert.size, "oldest_at": iso(alert.oldest_at),
        "assignee": alert.assignee, "assignee_kind": alert.assignee_kind, "suppressed_by": alert.suppressed_by,
        "notified_at": iso(alert.notified_at), "facts": facts(alert.detail),
    }


def silence_dict(sil: AlertSilence) -> dict:
    return {"id": sil.id, "rule": sil.rule, "city": sil.city, "district": sil.district, "category": sil.category,
            "by": sil.created_by,
            "comment": sil.comment, "starts_at": iso(sil.starts_at), "ends_at": iso(sil.ends_at)}


def list_alerts(session: Session, *, scope: str | None = None, state: str | None = None,
                rule: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 200, offset: int = 0) -> list[Alert]:
    """Alerts filtered by scope (region code), state ('open' = any open state), rule and
    first-seen window ``[since, until)``; newest first. Raises AlertError on an unknown state."""
    return store.list_alerts(session, scope=scope, state=state, rule=rule, since=naive(since),
                             until=naive(until), limit=limit, offset=offset)


def open_alerts(session: Session, *, scope: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Open alerts past their hold time (firing, acknowledged, escalated) for the wall screen.

    Most severe first, then the bigger and older. Each dict: id, rule, severity, title (zh), key,
    city, district, since (aware UTC: when it fired), state, size, oldest_at, unit, facts.
    """
    return [
        {"id": a.id, "rule": a.rule, "severity": a.severity, "title": a.title, "key": a.key, "city": a.city,
         "district": a.district, "since": aware_utc(a.fired_at or a.first_seen), "state": a.state,
         "size": a.size, "oldest_at": aware_utc(a.oldest_at or a.first_seen), "unit": (a.detail or {}).get("unit"),
         "facts": facts(a.detail)}
        for a in store.shown(session, scope=scope, limit=limit)
    ]


def inbox(session: Session, *, scope: str | None = None, rule: str | None = None, state: str = "open",
          severity: str | None = None, suppressed: bool = False, limit: int = 50, offset: int = 0,
          since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """The supervisor's inbox: alerts ranked by severity, size, age (most urgent first), one page
    of them, the exact total, totals per rule and per area (city, or district inside a city),
    and how many are suppressed (inhibited or silenced). ``state`` 'open' (any open state),
    'all' or one state; ``suppressed`` True lists the suppressed ones instead."""
    out = store.inbox(session, scope=scope, rule=rule, state=state, severity=severity, suppressed=suppressed,
                      limit=limit, offset=offset, since=naive(since), until=naive(until))
    return {**out, "items": [as_dict(a) for a in out["items"]]}


count_open = store.count_open
get = store.get
for_ticket = store.for_ticket


def events_of(session: Session, alert_id: int) -> list[dict[str, Any]]:
    """The history of one alert, oldest first."""
    return [{"at": iso(e.at), "action": e.action, "actor": e.actor, "note": e.note, "detail": e.detail}
            for e in store.events_of(session, alert_id)]
