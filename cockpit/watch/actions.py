"""What people do to alerts: acknowledge, assign, escalate (督办), resolve, and silence.

Lifecycle of an alert a person works: ``firing`` -> ``acknowledged`` (by whom, when) ->
``escalated`` (督办: to whom, note, due) -> ``resolved`` (with a note). A silence has an owner,
a comment and an expiry and hides the open alerts it matches until it ends. Every change is
also an ``AlertEvent`` row (the history). ``by`` is who acts: the HTTP layer and the screens pass
the logged-in user or the token's name, never a typed name.

Functions take a session first and never commit (the caller owns the transaction). Times may
be aware or naive UTC; they are stored naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from cockpit.errors import AlertError, AlertInputError, AlertStateError, UnknownAlert
from cockpit.store import alerts as store
from cockpit.store.models import Alert, AlertSilence
from cockpit.timeutil import utcnow
from cockpit.watch.inbox import as_dict, iso, naive, silence_dict


def alert_category(detail: dict | None) -> str | None:
    """The ticket category an alert is about (volume anomalies, per-ticket items), else None."""
    return (detail or {}).get("category") or None


def silence_matches(sil: AlertSilence, rule: str, city: str | None, district: str | None,
                    category: str | None = None) -> bool:
    """Whether silence ``sil`` covers an alert of ``rule`` in ``city``/``district`` about
    ``category`` (unset matchers match all; a category matcher never matches an alert without one)."""
    return ((sil.rule is None or sil.rule == rule) and (sil.city is None or sil.city == city)
            and (sil.district is None or sil.district == district)
            and (sil.category is None or sil.category == category))


def _get_open(session: Session, alert_id: int) -> Alert:
    alert = store.lock(session, alert_id)
    if alert is None:
        raise UnknownAlert(f"no alert {alert_id}")
    if alert.open_key is None:
        raise AlertStateError(f"alert {alert_id} is already resolved")
    return alert


def _who(by: str | None) -> str:
    by = (by or "").strip()
    if not by:
        raise AlertInputError("by", "who is acting ('by') is required")
    return by[:64]


def acknowledge(session: Session, alert_id: int, *, by: str, now: datetime | None = None) -> dict:
    """firing -> acknowledged (by whom, when). Returns the alert as a dict. Raises AlertError."""
    now = naive(now) or utcnow()
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if alert.state != "firing":
        raise AlertStateError(f"only a firing alert can be acknowledged (this one is {alert.state})")
    alert.state, alert.acknowledged_by, alert.acknowledged_at, alert.updated_at = "acknowledged", actor, now, now
    store.log(session, alert.id, "acknowledged", actor, now)
    return as_dict(alert)


def acknowledge_many(session: Session, alert_ids: Sequence[int], *, by: str,
                     now: datetime | None = None) -> dict[str, list[int]]:
    """Bulk acknowledge: every firing alert of ``alert_ids``; the others are listed as skipped."""
    done, skipped = [], []
    for alert_id in alert_ids:
        try:
            acknowledge(session, alert_id, by=by, now=now)
            done.append(int(alert_id))
        except AlertError:
            skipped.append(int(alert_id))
    return {"acknowledged": done, "skipped": skipped}


def assign(session: Session, alert_id: int, *, by: str, to: str, kind: str = "user",
           now: datetime | None = None) -> dict:
    """Give an open alert to a person (``kind`` 'user') or a handling unit ('unit'); in the history."""
    now = naive(now) or utcnow()
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if kind not in ("user", "unit"):
        raise AlertError("assignee kind must be 'user' or 'unit'")
    if not (to or "").strip():
        raise AlertError("assignee ('to') is required")
    alert.assignee, alert.assignee_kind, alert.updated_at = to.strip()[:128], kind, now
    store.log(session, alert.id, "assigned", actor, now, detail={"to": alert.assignee, "kind": kind})
    return as_dict(alert)


def escalate(session: Session, alert_id: int, *, by: str, to: str, note: str = "", due: datetime | None = None,
             now: datetime | None = None) -> dict:
    """firing/acknowledged/escalated -> escalated (督办): to whom, a note, a due time (UTC)."""
    now = naive(now) or utcnow()
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if not (to or "").strip():
        raise AlertError("escalation target ('to') is required")
    if alert.state == "pending":
        raise AlertStateError("a pending alert cannot be escalated before it fires")
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.state, alert.escalated_to, alert.escalation_note = "escalated", to.strip()[:128], (note or "").strip()
    alert.escalation_due, alert.updated_at = naive(due), now
    store.log(session, alert.id, "escalated", actor, now, note=alert.escalation_note,
              detail={"to": alert.escalated_to, "due": iso(alert.escalation_due)})
    return as_dict(alert)


def resolve(session: Session, alert_id: int, *, by: str, note: str, now: datetime | None = None) -> dict:
    """Any open state -> resolved by a person, with a note (required).

    The key stays muted until the rule no longer sees the condition, so it is not raised again
    at the next evaluation.
    """
    now = naive(now) or utcnow()
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if not (note or "").strip():
        raise AlertError("a resolution note is required")
    mute = store.open_key(alert.rule, alert.key)
    store.clear_mute(session, mute)
    alert.state, alert.resolved_at, alert.resolved_by = "resolved", now, actor
    alert.resolution_note, alert.open_key, alert.mute_key, alert.updated_at = note.strip(), None, mute, now
    store.log(session, alert.id, "resolved", actor, now, note=alert.resolution_note)
    return as_dict(alert)


# --- silences ------------------------------------------------------------------------------


def silence(session: Session, *, by: str, comment: str, ends_at: datetime, rule: str | None = None,
            city: str | None = None, district: str | None = None, category: str | None = None,
            starts_at: datetime | None = None, now: datetime | None = None) -> dict:
    """A silence with an owner (``by``), a comment and an expiry; applied to open alerts at once
    (each one a 'suppressed' event by the owner). Raises AlertInputError naming the bad field."""
    now = naive(now) or utcnow()
    actor = _who(by)
    if not (comment or "").strip():
        raise AlertInputError("comment", "a silence needs a comment (why)")
    if not (rule or city or district or category):
        raise AlertInputError("rule", "a silence needs at least one matcher (rule, city, district or category)")
    start, end = naive(starts_at) or now, naive(ends_at)
    if end is None or end <= start:
        raise AlertInputError("ends_at", "a silence must end after it starts ('ends_at')")
    sil = store.add_silence(session, rule=rule or None, city=city or None, district=district or None,
                            category=category or None, created_by=actor, comment=comment.strip(), starts_at=start, ends_at=end, created_at=now)
    if start <= now:
        by_silence = f"silence:{sil.id}"
        hidden = [r.id for r in store.open_unsuppressed(session, rule=sil.rule, city=sil.city, district=sil.district)
                  if silence_matches(sil, r.rule, r.city, r.district, r.category)]
        store.set_suppressed(session, [(i, by_silence) for i in hidden])
        store.insert_events(session, [{"alert_id": i, "at": now, "action": "suppressed", "actor": actor,
                                       "detail": {"by": by_silence}} for i in hidden])
    return silence_dict(sil)


def expire_silence(session: Session, silence_id: int, *, by: str, now: datetime | None = None) -> dict:
    """End a silence now: the alerts it hid are shown again at once (an 'unsuppressed' event by
    ``by`` each); an inhibition that also covers one is set again at the next evaluation."""
    now = naive(now) or utcnow()
    actor = _who(by)
    sil = store.get_silence(session, silence_id)
    if sil is None:
        raise UnknownAlert(f"no silence {silence_id}")
    sil.ends_at = min(sil.ends_at, now)
    released = store.release(session, f"silence:{sil.id}")
    store.insert_events(session, [{"alert_id": i, "at": now, "action": "unsuppressed", "actor": actor,
                                   "detail": {"by": f"silence:{sil.id}"}} for i in released])
    session.flush()
    return silence_dict(sil)


def silences(session: Session, *, now: datetime | None = None, active_only: bool = True) -> list[dict]:
    """Silences as dicts, latest end first (``active_only``: those not yet ended)."""
    now = naive(now) or utcnow()
    return [silence_dict(x) for x in store.list_silences(session, now=now, active_only=active_only)]
