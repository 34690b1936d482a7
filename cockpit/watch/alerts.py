"""Alerts: the lifecycle of what the watchpoints find (this module), the actions people take
(``cockpit.watch.actions``) and the reads every screen uses (``cockpit.watch.inbox``).

Lifecycle: ``pending`` -> ``firing`` (once the rule's hold time has passed) -> ``acknowledged``
(by whom, when) -> ``escalated`` (督办: to whom, note, due) -> ``resolved`` (by itself when the
condition clears, or by a person with a note). One open alert per rule and key: ``open_key`` is
UNIQUE and NULL once resolved. Every change is also an ``AlertEvent`` row (the history).

This module is the one name callers use: it re-exports the actions and the reads. The SQL is in
``cockpit.store.alerts``. Functions take a session first and never commit (the caller owns the
transaction). Times passed in may be aware or naive UTC; they are stored naive UTC and returned
aware UTC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cockpit.errors import AlertError, AlertStateError, UnknownAlert  # noqa: F401 - the module's errors
from cockpit.store import alerts as store
from cockpit.store.alerts import MAX_LIMIT, OPEN_STATES, RANKED, SEVERITIES, SHOWN_STATES, STATES, open_key  # noqa: F401
from cockpit.timeutil import utcnow
from cockpit.watch.actions import (  # noqa: F401 - re-exported: callers use cockpit.watch.alerts
    acknowledge,
    acknowledge_many,
    assign,
    escalate,
    expire_silence,
    resolve,
    alert_category,
    silence,
    silence_matches,
    silences,
)
from cockpit.watch.inbox import (  # noqa: F401 - re-exported: callers use cockpit.watch.alerts
    as_dict,
    count_open,
    events_of,
    facts,
    for_ticket,
    get,
    inbox,
    list_alerts,
    naive,
    open_alerts,
    silence_dict,
)

SYSTEM = "system"
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


def fingerprint(f: Finding) -> str:
    """A short digest of what an update would change (severity, title, detail, the item list).

    ``repr`` is deterministic here (rules build their details in a fixed key order) and several
    times cheaper than sorted JSON, which matters with tens of thousands of open alerts.
    """
    items = f.items if f.items is None or len(f.items) <= 1 else (
        len(f.items), hashlib.md5(" ".join(f.items).encode(), usedforsecurity=False).hexdigest())
    return hashlib.md5(repr((f.severity, f.title, f.detail, items, naive(f.since))).encode(),
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


# --- evaluation side ----------------------------------------------------------------------------


def reconcile(session: Session, rule: str, findings: Sequence[Finding], *, now: datetime) -> dict[str, int]:
    """Make the open alerts of ``rule`` match ``findings`` (what the rule sees at ``now``).

    New keys open an alert (``firing`` at once when the hold time is 0, else ``pending``);
    pending alerts whose hold time has passed fire; changed severity/detail is updated; open
    alerts whose key is no longer found resolve by themselves. A key a person resolved while
    its condition held stays muted until the condition clears once. Idempotent for the same
    findings and ``now``. Returns counts per action. Never commits.
    """
    now = naive(now)
    found = {f.key: f for f in findings}
    counts = {"findings": len(found), "opened": 0, "fired": 0, "updated": 0, "resolved": 0}
    open_rows = store.open_rows(session, rule)
    muted = store.muted_keys(session, rule)
    cleared = muted - found.keys()
    # A group a person resolved stays resolved while it holds the same tickets (or fewer), and
    # opens again once a ticket it did not hold joins it: resolving today's overdue backlog of a
    # district must not hide next week's.
    held = store.muted_items(session, rule, [k for k in muted & found.keys() if found[k].size is not None])
    grown = {k for k, items in held.items() if set(found[k].items or ()) - items}
    if cleared or grown:
        store.unmute(session, rule, cleared | grown)
        muted = muted - cleared - grown
    events: list[dict] = []

    new = [f for k, f in found.items() if k not in open_rows and k not in muted]
    active = store.active_silences(session, now=now) if new else []
    for chunk in _chunks(new, 2000):
        # A new alert an active silence covers opens silenced: no notification while it lasts.
        silenced = [next((f"silence:{x.id}" for x in active
                          if silence_matches(x, rule, f.city, f.district, alert_category(f.detail))), None)
                    for f in chunk]
        rows = [{"rule": rule, "key": f.key, "city": f.city, "district": f.district, "severity": f.severity,
                 "state": "firing" if f.hold_s <= 0 else "pending", "title": f.title[:256], "detail": f.detail,
                 "first_seen": now, "fired_at": now if f.hold_s <= 0 else None, "updated_at": now,
                 "open_key": open_key(rule, f.key), "fingerprint": fingerprint(f), "size": f.size,
                 "oldest_at": naive(f.since), "suppressed_by": by,
                 "notified_at": now if f.hold_s <= 0 and by is None else None} for f, by in zip(chunk, silenced)]
        created = store.insert_alerts(session, rows)
        store.write_items(session, [(alert_id, f.items) for (alert_id, _), f in zip(created, chunk, strict=True)
                                    if f.items], replace=False)
        for alert_id, state in created:
            events.append({"alert_id": alert_id, "at": now, "action": "opened", "actor": SYSTEM,
                           "detail": {"state": state}})
            if state == "firing":
                events.append({"alert_id": alert_id, "at": now, "action": "fired", "actor": SYSTEM})
        events += [{"alert_id": alert_id, "at": now, "action": "suppressed", "actor": SYSTEM, "detail": {"by": by}}
                   for (alert_id, _), by in zip(created, silenced) if by]
        counts["opened"] += len(created)

    fire_ids, fire_quiet, updates, renotify, new_items = [], [], [], [], []
    logged: set[int] = set()  # updates that go into the history
    for key, row in open_rows.items():
        f = found.get(key)
        if f is None:
            continue
        if row.state == "pending" and row.first_seen + timedelta(seconds=f.hold_s) <= now:
            (fire_quiet if row.suppressed_by else fire_ids).append(row.id)
        elif row.state == "firing" and not row.suppressed_by and (
                row.notified_at is None  # it fired or opened silenced: notify once it is shown
                or (f.repeat_s > 0 and row.notified_at + timedelta(seconds=f.repeat_s) <= now)
                or SEVERITIES.index(f.severity) < SEVERITIES.index(row.severity)):
            renotify.append(row.id)  # Alertmanager's repeat_interval, and at once when it grows worse
        fp = fingerprint(f)
        if row.fingerprint != fp:
            updates.append({"b_id": row.id, "b_severity": f.severity, "b_detail": f.detail, "b_fp": fp,
                            "b_title": f.title[:256], "b_size": f.size, "b_oldest": naive(f.since)})
            if f.size is None or f.severity != row.severity:
                logged.add(row.id)
            if f.items is not None:
                new_items.append((row.id, f.items))
    store.fire(session, fire_ids, now=now)
    store.fire(session, fire_quiet, now=now, notify=False)  # suppressed (silenced, inhibited): no notification
    events += [{"alert_id": i, "at": now, "action": "fired", "actor": SYSTEM} for i in fire_ids + fire_quiet]
    store.mark_notified(session, renotify, now=now)
    events += [{"alert_id": i, "at": now, "action": "renotified", "actor": SYSTEM} for i in renotify]
    store.update_findings(session, updates, now=now)
    # A group's ticket list changes with nearly every evaluation: its history records a change of
    # severity, not each ticket joining or leaving (the row holds the current size and list), so a
    # group open for months does not write an event a minute.
    events += [{"alert_id": u["b_id"], "at": now, "action": "updated", "actor": SYSTEM,
                "detail": _event_detail(u["b_detail"], u["b_severity"])} for u in updates if u["b_id"] in logged]
    if new_items:
        store.write_items(session, new_items, replace=True)
    gone = [row.id for key, row in open_rows.items() if key not in found]
    store.resolve_many(session, gone, now=now, by=SYSTEM, note=AUTO_RESOLVE_NOTE)
    events += [{"alert_id": i, "at": now, "action": "resolved", "actor": SYSTEM, "note": AUTO_RESOLVE_NOTE}
               for i in gone]
    store.insert_events(session, events)
    counts["fired"] = sum(1 for e in events if e["action"] == "fired")
    counts["updated"], counts["resolved"] = len(updates), len(gone)
    return counts


def _chunks(items: Sequence, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- suppression: inhibition and silences ----------------------------------------------------


def apply_suppression(session: Session, *, now: datetime,
                      inhibit_rules: Sequence[tuple[str, Sequence[str]]] = ()) -> dict[str, int]:
    """Set ``suppressed_by`` on every open alert: 'silence:<id>' when an active silence matches it,
    else 'alert:<id>' when a fired, unsuppressed alert of an inhibiting source rule is open in the
    same city (``inhibit_rules``: (source rule, target rules)), else NULL. Suppressed alerts stay
    open (they resolve by themselves as usual) but leave the inbox's and the wall's counts.
    Logs 'suppressed' / 'unsuppressed' events on change. Never commits."""
    now = naive(now)
    rows = store.open_places(session)
    active = store.active_silences(session, now=now)
    want: dict[int, str | None] = {}
    for r in rows:
        sil = next((x for x in active if silence_matches(x, r.rule, r.city, r.district, r.category)), None)
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
        store.set_suppressed(session, changed)
        store.insert_events(session, [
            {"alert_id": i, "at": now, "action": "suppressed" if w else "unsuppressed", "actor": SYSTEM,
             "detail": {"by": w} if w else None} for i, w in changed])
    return {"suppressed": sum(1 for w in want.values() if w), "changed": len(changed)}


# --- retention ------------------------------------------------------------------------------

RETENTION_DAYS = 90


def prune(session: Session, *, keep_days: int = RETENTION_DAYS, now: datetime | None = None,
          batch: int = 5000) -> dict[str, int]:
    """Delete alerts resolved more than ``keep_days`` ago, with their events and items, and
    silences that ended that long ago. Open alerts are never touched. Never commits."""
    now = naive(now) or utcnow()
    return store.prune(session, cutoff=now - timedelta(days=keep_days), batch=batch)
