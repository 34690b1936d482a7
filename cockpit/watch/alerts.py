"""Alerts: the lifecycle of what the watchpoints find, and the reads every screen uses.

Lifecycle: ``pending`` -> ``firing`` (once the rule's hold time has passed) -> ``acknowledged``
(by whom, when) -> ``escalated`` (督办: to whom, note, due) -> ``resolved`` (by itself when the
condition clears, or by a person with a note). One open alert per rule and key: ``open_key`` is
UNIQUE and NULL once resolved. Every change is also an ``AlertEvent`` row (the history).

Functions take a session first and never commit (the caller owns the transaction). Times
passed in may be aware or naive UTC; they are stored naive UTC and returned aware UTC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from cockpit.errors import AlertError, AlertStateError, UnknownAlert  # noqa: F401 - AlertError: the module's error
from cockpit.store.models import Alert, AlertEvent, AlertItem, AlertSilence
from cockpit.store.regions import resolve_scope

STATES = ("pending", "firing", "acknowledged", "escalated", "resolved")
OPEN_STATES = ("pending", "firing", "acknowledged", "escalated")
SHOWN_STATES = ("firing", "acknowledged", "escalated")  # open and past the hold time
SEVERITIES = ("critical", "major", "minor")
SYSTEM = "system"
MAX_LIMIT = 1000
AUTO_RESOLVE_NOTE = "条件已消除"


@dataclass
class Finding:
    """One condition a rule sees now. ``key`` is stable while the condition lasts."""

    rule: str
    key: str
    city: str
    district: str | None
    severity: str
    title: str
    detail: dict[str, Any] = field(default_factory=dict)
    hold_s: float = 0.0
    items: list[str] | None = None  # the tickets inside (alert_items rows); None = none recorded
    since: datetime | None = None  # naive UTC: when the oldest item's clock started (overdue: due time)
    size: int | None = None  # grouped alerts: how many tickets
    repeat_s: float = 0.0  # re-notify a firing, unacknowledged alert this often (0 = never)


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def open_key(rule: str, key: str) -> str:
    return f"{rule}|{key}"[:300]


def fingerprint(f: Finding) -> str:
    """A short digest of what an update would change (severity, title, detail, the item list).

    ``repr`` is deterministic here (rules build their details in a fixed key order) and several
    times cheaper than sorted JSON, which matters with tens of thousands of open alerts.
    """
    items = f.items if f.items is None or len(f.items) <= 1 else (
        len(f.items), hashlib.md5(" ".join(f.items).encode(), usedforsecurity=False).hexdigest())
    return hashlib.md5(repr((f.severity, f.title, f.detail, items, _naive(f.since))).encode(),
                       usedforsecurity=False).hexdigest()


_LIST_KEYS = ("ticket_ids", "members", "filter", "baseline")


def _event_detail(detail: dict | None, severity: str | None = None) -> dict | None:
    """What an 'updated' event keeps of a detail: the figures, not the lists (history stays small)."""
    if detail is None:
        return None
    out = {k: v for k, v in detail.items() if k not in _LIST_KEYS}
    if severity is not None:
        out["severity"] = severity
    return out


def _write_items(session: Session, alert_ids_items: list[tuple[int, list[str]]], *, replace: bool) -> None:
    if replace:
        for chunk in _chunks([i for i, _ in alert_ids_items]):
            session.execute(AlertItem.__table__.delete().where(AlertItem.alert_id.in_(chunk)))
    rows = [{"alert_id": i, "ticket_id": t} for i, items in alert_ids_items for t in dict.fromkeys(items)]
    for chunk in _chunks(rows, 5000):
        session.execute(AlertItem.__table__.insert(), chunk)


# --- evaluation side ----------------------------------------------------------------------------


def reconcile(session: Session, rule: str, findings: Sequence[Finding], *, now: datetime) -> dict[str, int]:
    """Make the open alerts of ``rule`` match ``findings`` (what the rule sees at ``now``).

    New keys open an alert (``firing`` at once when the hold time is 0, else ``pending``);
    pending alerts whose hold time has passed fire; changed severity/detail is updated; open
    alerts whose key is no longer found resolve by themselves. A key a person resolved while
    its condition held stays muted until the condition clears once. Idempotent for the same
    findings and ``now``. Returns counts per action. Never commits.
    """
    now = _naive(now)
    found = {f.key: f for f in findings}
    counts = {"findings": len(found), "opened": 0, "fired": 0, "updated": 0, "resolved": 0}
    a = Alert.__table__.c
    open_rows = {
        r.key: r for r in session.execute(
            select(a.id, a.key, a.state, a.first_seen, a.fingerprint, a.severity, a.notified_at)
            .where(a.rule == rule, a.open_key.is_not(None)))
    }
    muted = set(session.scalars(select(a.key).where(a.rule == rule, a.mute_key.is_not(None))))
    cleared = muted - found.keys()
    if cleared:
        for chunk in _chunks(sorted(cleared)):
            session.execute(update(Alert).where(a.rule == rule, a.key.in_(chunk)).values(mute_key=None))
    events: list[dict] = []

    new = [f for k, f in found.items() if k not in open_rows and k not in muted]
    for chunk in _chunks(new, 2000):
        rows = [{"rule": rule, "key": f.key, "city": f.city, "district": f.district, "severity": f.severity,
                 "state": "firing" if f.hold_s <= 0 else "pending", "title": f.title[:256], "detail": f.detail,
                 "first_seen": now, "fired_at": now if f.hold_s <= 0 else None, "updated_at": now,
                 "open_key": open_key(rule, f.key), "fingerprint": fingerprint(f), "size": f.size,
                 "oldest_at": _naive(f.since), "notified_at": now if f.hold_s <= 0 else None} for f in chunk]
        created = session.execute(
            insert(Alert.__table__).returning(a.id, a.state, sort_by_parameter_order=True), rows).all()
        _write_items(session, [(alert_id, f.items) for (alert_id, _), f in zip(created, chunk, strict=True)
                               if f.items], replace=False)
        for alert_id, state in created:
            events.append({"alert_id": alert_id, "at": now, "action": "opened", "actor": SYSTEM,
                           "detail": {"state": state}})
            if state == "firing":
                events.append({"alert_id": alert_id, "at": now, "action": "fired", "actor": SYSTEM})
        counts["opened"] += len(created)

    fire_ids, updates, renotify, new_items = [], [], [], []
    for key, row in open_rows.items():
        f = found.get(key)
        if f is None:
            continue
        if row.state == "pending" and row.first_seen + timedelta(seconds=f.hold_s) <= now:
            fire_ids.append(row.id)
        elif row.state == "firing" and (
                (f.repeat_s > 0 and row.notified_at is not None and row.notified_at + timedelta(seconds=f.repeat_s) <= now)
                or SEVERITIES.index(f.severity) < SEVERITIES.index(row.severity)):
            renotify.append(row.id)  # Alertmanager's repeat_interval, and at once when it grows worse
        fp = fingerprint(f)
        if row.fingerprint != fp:
            updates.append({"b_id": row.id, "b_severity": f.severity, "b_detail": f.detail, "b_fp": fp,
                            "b_title": f.title[:256], "b_size": f.size, "b_oldest": _naive(f.since)})
            if f.items is not None:
                new_items.append((row.id, f.items))
    for chunk in _chunks(fire_ids):
        session.execute(update(Alert).where(a.id.in_(chunk), a.state == "pending")
                        .values(state="firing", fired_at=now, updated_at=now, notified_at=now))
        events += [{"alert_id": i, "at": now, "action": "fired", "actor": SYSTEM} for i in chunk]
    for chunk in _chunks(renotify):
        session.execute(update(Alert).where(a.id.in_(chunk)).values(notified_at=now))
        events += [{"alert_id": i, "at": now, "action": "renotified", "actor": SYSTEM} for i in chunk]
    if updates:
        session.execute(
            update(Alert.__table__).where(a.id == bindparam("b_id"))
            .values(severity=bindparam("b_severity"), detail=bindparam("b_detail"), fingerprint=bindparam("b_fp"),
                    title=bindparam("b_title"), size=bindparam("b_size"), oldest_at=bindparam("b_oldest"),
                    updated_at=now),
            updates,
        )
        events += [{"alert_id": u["b_id"], "at": now, "action": "updated", "actor": SYSTEM,
                    "detail": _event_detail(u["b_detail"], u["b_severity"])} for u in updates]
    if new_items:
        _write_items(session, new_items, replace=True)
    gone = [row.id for key, row in open_rows.items() if key not in found]
    for chunk in _chunks(gone):
        session.execute(
            update(Alert).where(a.id.in_(chunk), a.open_key.is_not(None))
            .values(state="resolved", resolved_at=now, resolved_by=SYSTEM, resolution_note=AUTO_RESOLVE_NOTE,
                    open_key=None, updated_at=now))
        events += [{"alert_id": i, "at": now, "action": "resolved", "actor": SYSTEM, "note": AUTO_RESOLVE_NOTE}
                   for i in chunk]
    if events:
        session.execute(AlertEvent.__table__.insert(), [
            {"alert_id": e["alert_id"], "at": e["at"], "action": e["action"], "actor": e.get("actor"),
             "note": e.get("note"), "detail": e.get("detail")} for e in events])
    counts["fired"] = sum(1 for e in events if e["action"] == "fired")
    counts["updated"], counts["resolved"] = len(updates), len(gone)
    return counts


def _chunks(items: Sequence, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- suppression: inhibition and silences ----------------------------------------------------


def _silence_matches(sil, rule: str, city: str | None, district: str | None) -> bool:
    return ((sil.rule is None or sil.rule == rule) and (sil.city is None or sil.city == city)
            and (sil.district is None or sil.district == district))


def apply_suppression(session: Session, *, now: datetime,
                      inhibit_rules: Sequence[tuple[str, Sequence[str]]] = ()) -> dict[str, int]:
    """Set ``suppressed_by`` on every open alert: 'silence:<id>' when an active silence matches it,
    else 'alert:<id>' when a fired, unsuppressed alert of an inhibiting source rule is open in the
    same city (``inhibit_rules``: (source rule, target rules)), else NULL. Suppressed alerts stay
    open (they resolve by themselves as usual) but leave the inbox's and the wall's counts.
    Logs 'suppressed' / 'unsuppressed' events on change. Never commits."""
    now = _naive(now)
    a = Alert.__table__.c
    rows = session.execute(select(a.id, a.rule, a.city, a.district, a.state, a.suppressed_by)
                           .where(a.open_key.is_not(None))).all()
    silences = list(session.scalars(select(AlertSilence).where(AlertSilence.starts_at <= now,
                                                               AlertSilence.ends_at > now)))
    want: dict[int, str | None] = {}
    for r in rows:
        sil = next((x for x in silences if _silence_matches(x, r.rule, r.city, r.district)), None)
        want[r.id] = f"silence:{sil.id}" if sil is not None else None
    sources: dict[tuple[str, str], int] = {}
    for r in rows:
        if want[r.id] is None and r.state in SHOWN_STATES:
            for src, targets in inhibit_rules:
                if r.rule == src:
                    for target in targets:
                        sources.setdefault((target, r.city), r.id)
    for r in rows:
        if want[r.id] is None and (r.rule, r.city) in sources and sources[(r.rule, r.city)] != r.id:
            want[r.id] = f"alert:{sources[(r.rule, r.city)]}"
    changed = [(r.id, want[r.id]) for r in rows if (r.suppressed_by or None) != want[r.id]]
    if changed:
        session.execute(update(Alert.__table__).where(a.id == bindparam("b_id"))
                        .values(suppressed_by=bindparam("b_by")), [{"b_id": i, "b_by": w} for i, w in changed])
        session.execute(AlertEvent.__table__.insert(), [
            {"alert_id": i, "at": now, "action": "suppressed" if w else "unsuppressed", "actor": SYSTEM,
             "note": None, "detail": {"by": w} if w else None} for i, w in changed])
    return {"suppressed": sum(1 for w in want.values() if w), "changed": len(changed)}


def silence(session: Session, *, by: str, comment: str, ends_at: datetime, rule: str | None = None,
            city: str | None = None, district: str | None = None, starts_at: datetime | None = None,
            now: datetime | None = None) -> dict:
    """A silence with an owner (``by``), a comment and an expiry; applied to open alerts at once."""
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    actor = _who(by)
    if not (comment or "").strip():
        raise AlertError("a silence needs a comment (why)")
    if not (rule or city or district):
        raise AlertError("a silence needs at least one matcher (rule, city or district)")
    start, end = _naive(starts_at) or now, _naive(ends_at)
    if end is None or end <= start:
        raise AlertError("a silence must end after it starts ('ends_at')")
    sil = AlertSilence(rule=rule or None, city=city or None, district=district or None, created_by=actor,
                       comment=comment.strip(), starts_at=start, ends_at=end, created_at=now)
    session.add(sil)
    session.flush()
    if start <= now:
        matched = [al for al in session.scalars(select(Alert).where(Alert.open_key.is_not(None),
                                                                    Alert.suppressed_by.is_(None)))
                   if _silence_matches(sil, al.rule, al.city, al.district)]
        for al in matched:
            al.suppressed_by = f"silence:{sil.id}"
            _log(session, al, "suppressed", actor, now, detail={"by": al.suppressed_by})
    session.flush()
    return silence_dict(sil)


def expire_silence(session: Session, silence_id: int, *, by: str, now: datetime | None = None) -> dict:
    """End a silence now; the next evaluation shows what it hid."""
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    _who(by)
    sil = session.get(AlertSilence, int(silence_id))
    if sil is None:
        raise UnknownAlert(f"no silence {silence_id}")
    sil.ends_at = min(sil.ends_at, now)
    session.execute(update(Alert).where(Alert.suppressed_by == f"silence:{sil.id}").values(suppressed_by=None))
    session.flush()
    return silence_dict(sil)


def silences(session: Session, *, now: datetime | None = None, active_only: bool = True) -> list[dict]:
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    stmt = select(AlertSilence).order_by(AlertSilence.ends_at.desc())
    if active_only:
        stmt = stmt.where(AlertSilence.ends_at > now)
    return [silence_dict(x) for x in session.scalars(stmt.limit(MAX_LIMIT))]


def silence_dict(sil: AlertSilence) -> dict:
    return {"id": sil.id, "rule": sil.rule, "city": sil.city, "district": sil.district, "by": sil.created_by,
            "comment": sil.comment, "starts_at": _iso(sil.starts_at), "ends_at": _iso(sil.ends_at)}


# --- people's actions ------------------------------------------------------------------------


def _get_open(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, int(alert_id), with_for_update=session.get_bind().dialect.name == "postgresql")
    if alert is None:
        raise UnknownAlert(f"no alert {alert_id}")
    if alert.open_key is None:
        raise AlertStateError(f"alert {alert_id} is already resolved")
    return alert


def _who(by: str | None) -> str:
    by = (by or "").strip()
    if not by:
        raise AlertError("who is acting ('by') is required")
    return by[:64]


def _log(session: Session, alert: Alert, action: str, actor: str, now: datetime, note: str | None = None,
         detail: dict | None = None) -> None:
    session.add(AlertEvent(alert_id=alert.id, at=now, action=action, actor=actor, note=note, detail=detail))


def acknowledge(session: Session, alert_id: int, *, by: str, now: datetime | None = None) -> dict:
    """firing -> acknowledged (by whom, when). Returns the alert as a dict. Raises AlertError."""
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if alert.state != "firing":
        raise AlertStateError(f"only a firing alert can be acknowledged (this one is {alert.state})")
    alert.state, alert.acknowledged_by, alert.acknowledged_at, alert.updated_at = "acknowledged", actor, now, now
    _log(session, alert, "acknowledged", actor, now)
    session.flush()
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
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if kind not in ("user", "unit"):
        raise AlertError("assignee kind must be 'user' or 'unit'")
    if not (to or "").strip():
        raise AlertError("assignee ('to') is required")
    alert.assignee, alert.assignee_kind, alert.updated_at = to.strip()[:128], kind, now
    _log(session, alert, "assigned", actor, now, detail={"to": alert.assignee, "kind": kind})
    session.flush()
    return as_dict(alert)


def escalate(session: Session, alert_id: int, *, by: str, to: str, note: str = "", due: datetime | None = None,
             now: datetime | None = None) -> dict:
    """firing/acknowledged/escalated -> escalated (督办): to whom, a note, a due time (UTC)."""
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if not (to or "").strip():
        raise AlertError("escalation target ('to') is required")
    if alert.state == "pending":
        raise AlertStateError("a pending alert cannot be escalated before it fires")
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.state, alert.escalated_to, alert.escalation_note = "escalated", to.strip()[:128], (note or "").strip()
    alert.escalation_due, alert.updated_at = _naive(due), now
    _log(session, alert, "escalated", actor, now, note=alert.escalation_note,
         detail={"to": alert.escalated_to, "due": _iso(alert.escalation_due)})
    session.flush()
    return as_dict(alert)


def resolve(session: Session, alert_id: int, *, by: str, note: str, now: datetime | None = None) -> dict:
    """Any open state -> resolved by a person, with a note (required).

    The key stays muted until the rule no longer sees the condition, so it is not raised again
    at the next evaluation.
    """
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    alert = _get_open(session, alert_id)
    actor = _who(by)
    if not (note or "").strip():
        raise AlertError("a resolution note is required")
    mute = open_key(alert.rule, alert.key)
    session.execute(update(Alert).where(Alert.mute_key == mute).values(mute_key=None))
    alert.state, alert.resolved_at, alert.resolved_by = "resolved", now, actor
    alert.resolution_note, alert.open_key, alert.mute_key, alert.updated_at = note.strip(), None, mute, now
    _log(session, alert, "resolved", actor, now, note=alert.resolution_note)
    session.flush()
    return as_dict(alert)


# --- reads --------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


def as_dict(alert: Alert) -> dict[str, Any]:
    """JSON-ready alert (times ISO 8601 UTC)."""
    return {
        "id": alert.id, "rule": alert.rule, "key": alert.key, "city": alert.city, "district": alert.district,
        "severity": alert.severity, "state": alert.state, "title": alert.title, "detail": alert.detail,
        "first_seen": _iso(alert.first_seen), "fired_at": _iso(alert.fired_at),
        "acknowledged_by": alert.acknowledged_by, "acknowledged_at": _iso(alert.acknowledged_at),
        "escalated_to": alert.escalated_to, "escalation_note": alert.escalation_note,
        "escalation_due": _iso(alert.escalation_due), "resolved_at": _iso(alert.resolved_at),
        "resolved_by": alert.resolved_by, "resolution_note": alert.resolution_note,
        "updated_at": _iso(alert.updated_at), "size": alert.size, "oldest_at": _iso(alert.oldest_at),
        "assignee": alert.assignee, "assignee_kind": alert.assignee_kind, "suppressed_by": alert.suppressed_by,
        "notified_at": _iso(alert.notified_at), "facts": facts(alert.detail),
    }


def _scope_conditions(session: Session, scope: str | None) -> list:
    if not scope:
        return []
    resolved = resolve_scope(session, scope)
    conds = [Alert.city.in_(list(resolved.city_codes))] if resolved.city_codes else [Alert.city.is_(None)]
    if resolved.district_codes:
        conds.append(Alert.district.in_(list(resolved.district_codes)))
    return conds


_SEVERITY_RANK = case({"critical": 0, "major": 1, "minor": 2}, value=Alert.severity, else_=3)
# Most urgent first: severity, then the bigger group, then the older one.
RANKED = (_SEVERITY_RANK, func.coalesce(Alert.size, 1).desc(), func.coalesce(Alert.oldest_at, Alert.first_seen),
          Alert.id)


def list_alerts(session: Session, *, scope: str | None = None, state: str | None = None,
                rule: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 200, offset: int = 0) -> list[Alert]:
    """Alerts filtered by scope (region code), state ('open' = any open state), rule and
    first-seen window ``[since, until)``; newest first. Read-only."""
    conds = _scope_conditions(session, scope)
    if state == "open":
        conds.append(Alert.open_key.is_not(None))
    elif state:
        if state not in STATES:
            raise AlertError(f"unknown state {state!r}; expected open or one of {', '.join(STATES)}")
        conds.append(Alert.state == state)
    if rule:
        conds.append(Alert.rule == rule)
    if since is not None:
        conds.append(Alert.first_seen >= _naive(since))
    if until is not None:
        conds.append(Alert.first_seen < _naive(until))
    stmt = (select(Alert).where(*conds).order_by(Alert.first_seen.desc(), Alert.id.desc())
            .limit(max(1, min(int(limit), MAX_LIMIT))).offset(max(0, int(offset))))
    return list(session.scalars(stmt))


def open_alerts(session: Session, *, scope: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Open alerts past their hold time (firing, acknowledged, escalated) for the wall screen.

    Most severe first, then newest. Each dict: id, rule, severity, title (zh), key, city,
    district, since (aware UTC: when it fired), state. Read-only.
    """
    conds = _scope_conditions(session, scope) + [Alert.state.in_(SHOWN_STATES), Alert.suppressed_by.is_(None)]
    stmt = select(Alert).where(*conds).order_by(*RANKED).limit(max(1, min(int(limit), MAX_LIMIT)))
    return [
        {"id": a.id, "rule": a.rule, "severity": a.severity, "title": a.title, "key": a.key, "city": a.city,
         "district": a.district, "since": _aware(a.fired_at or a.first_seen), "state": a.state,
         "size": a.size, "oldest_at": _aware(a.oldest_at or a.first_seen), "unit": (a.detail or {}).get("unit"),
         "facts": facts(a.detail)}
        for a in session.scalars(stmt)
    ]


_FACTS = ("words", "handoff", "category", "subcategory", "count", "median")


def facts(detail: dict | None) -> dict:
    """The few detail fields a reason line shows (cockpit.watch.vocab.reason)."""
    return {k: detail[k] for k in _FACTS if detail and detail.get(k) not in (None, "", [])}


def inbox(session: Session, *, scope: str | None = None, rule: str | None = None, state: str = "open",
          severity: str | None = None, suppressed: bool = False, limit: int = 50, offset: int = 0,
          since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """The supervisor's inbox: alerts ranked by severity, size, age (most urgent first), one page
    of them, the exact total, totals per rule and per area (city, or district inside a city),
    and how many are suppressed (inhibited or silenced). ``state`` 'open' (any open state),
    'all' or one state; ``suppressed`` True lists the suppressed ones instead. Read-only."""
    conds = _scope_conditions(session, scope)
    if state == "open":
        conds.append(Alert.open_key.is_not(None))
    elif state and state != "all":
        if state not in STATES:
            raise AlertError(f"unknown state {state!r}; expected open, all or one of {', '.join(STATES)}")
        conds.append(Alert.state == state)
    if severity:
        conds.append(Alert.severity == severity)
    if since is not None:
        conds.append(Alert.first_seen >= _naive(since))
    if until is not None:
        conds.append(Alert.first_seen < _naive(until))
    hidden = Alert.suppressed_by.is_not(None)
    n_suppressed = int(session.scalar(select(func.count()).select_from(Alert).where(
        *conds, *([Alert.rule == rule] if rule else []), hidden)) or 0)
    conds.append(hidden if suppressed else Alert.suppressed_by.is_(None))
    by_rule = {r: int(n) for r, n in session.execute(
        select(Alert.rule, func.count()).where(*conds).group_by(Alert.rule))}
    if rule:
        conds.append(Alert.rule == rule)
    area = Alert.district if scope and len(scope) == 6 and not scope.endswith("0000") else Alert.city
    by_area = {str(k or ""): int(n) for k, n in session.execute(
        select(area, func.count()).where(*conds).group_by(area).order_by(func.count().desc()))}
    by_severity = {k: int(n) for k, n in session.execute(
        select(Alert.severity, func.count()).where(*conds).group_by(Alert.severity))}
    total = sum(by_severity.values())
    rows = session.scalars(select(Alert).where(*conds).order_by(*RANKED)
                           .limit(max(1, min(int(limit), MAX_LIMIT))).offset(max(0, int(offset))))
    return {"total": total, "by_rule": by_rule, "by_area": by_area, "by_severity": by_severity,
            "suppressed": n_suppressed, "items": [as_dict(a) for a in rows], "offset": max(0, int(offset)),
            "limit": max(1, min(int(limit), MAX_LIMIT))}


def count_open(session: Session, *, scope: str | None = None) -> dict[str, int]:
    """Open alerts past their hold time per severity (suppressed ones not counted)."""
    conds = _scope_conditions(session, scope) + [Alert.state.in_(SHOWN_STATES), Alert.suppressed_by.is_(None)]
    rows = session.execute(select(Alert.severity, func.count()).where(*conds).group_by(Alert.severity))
    return {sev: int(n) for sev, n in rows}


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, int(alert_id))


def events_of(session: Session, alert_id: int) -> list[dict[str, Any]]:
    """The history of one alert, oldest first."""
    rows = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == int(alert_id))
                           .order_by(AlertEvent.at, AlertEvent.id))
    return [{"at": _iso(e.at), "action": e.action, "actor": e.actor, "note": e.note, "detail": e.detail}
            for e in rows]


def for_ticket(session: Session, ticket_id: str) -> list[Alert]:
    """Alerts about this ticket: per-ticket alerts (key) and the groups it is an item of; open
    first, newest first."""
    in_items = select(AlertItem.alert_id).where(AlertItem.ticket_id == ticket_id)
    return list(session.scalars(
        select(Alert).where((Alert.key == ticket_id) | Alert.id.in_(in_items))
        .order_by(Alert.open_key.is_(None), Alert.first_seen.desc(), Alert.id.desc()).limit(50)))


# --- retention ------------------------------------------------------------------------------

RETENTION_DAYS = 90


def prune(session: Session, *, keep_days: int = RETENTION_DAYS, now: datetime | None = None,
          batch: int = 5000) -> dict[str, int]:
    """Delete alerts resolved more than ``keep_days`` ago, with their events and items, and
    silences that ended that long ago. Open alerts are never touched. Never commits."""
    now = _naive(now) or datetime.now(UTC).replace(tzinfo=None)
    cutoff = now - timedelta(days=keep_days)
    counts = {"alerts": 0, "events": 0, "items": 0, "silences": 0}
    while True:
        ids = list(session.scalars(select(Alert.id).where(Alert.open_key.is_(None), Alert.resolved_at < cutoff)
                                   .limit(batch)))
        if not ids:
            break
        counts["events"] += session.execute(AlertEvent.__table__.delete().where(AlertEvent.alert_id.in_(ids))).rowcount
        counts["items"] += session.execute(AlertItem.__table__.delete().where(AlertItem.alert_id.in_(ids))).rowcount
        counts["alerts"] += session.execute(Alert.__table__.delete().where(Alert.id.in_(ids))).rowcount
    counts["silences"] = session.execute(
        AlertSilence.__table__.delete().where(AlertSilence.ends_at < cutoff)).rowcount
    return counts
