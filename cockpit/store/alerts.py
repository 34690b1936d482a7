"""Every SQL statement on the alert tables: ``alerts``, ``alert_events``, ``alert_items``, ``alert_silences``.

The lifecycle (what to open, fire, resolve, suppress; who may act) lives in ``cockpit.watch``;
this module only reads and writes rows. Functions take a session first and never commit (the
caller owns the transaction). Times are naive UTC in and out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, false, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cockpit.batching import batches
from cockpit.errors import AlertError
from cockpit.store.models import Alert, AlertEvent, AlertItem, AlertSilence
from cockpit.store.regions import resolve_scope

STATES = ("pending", "firing", "acknowledged", "escalated", "resolved")
OPEN_STATES = ("pending", "firing", "acknowledged", "escalated")
SHOWN_STATES = ("firing", "acknowledged", "escalated")  # open and past the hold time
SEVERITIES = ("critical", "major", "minor")
MAX_LIMIT = 1000
_CHUNK = 500
ROUTINE_EVENTS = ("updated", "renotified", "suppressed", "unsuppressed")  # compacted after the retention

_SEVERITY_RANK = case({"critical": 0, "major": 1, "minor": 2}, value=Alert.severity, else_=3)
# Most urgent first: severity, then the bigger group, then the older one.
RANKED = (_SEVERITY_RANK, func.coalesce(Alert.size, 1).desc(), func.coalesce(Alert.oldest_at, Alert.first_seen),
          Alert.id)


def open_key(rule: str, key: str) -> str:
    """The value of the UNIQUE ``open_key`` (and ``mute_key``) column of an alert of ``rule``/``key``."""
    return f"{rule}|{key}"[:300]


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


# --- evaluation: the rows ``cockpit.watch.alerts.reconcile`` compares and writes ------------------


def open_rows(session: Session, rule: str) -> dict[str, Any]:
    """The open alerts of ``rule`` by key: id, key, state, first_seen, fingerprint, severity,
    notified_at, suppressed_by."""
    a = Alert.__table__.c
    return {r.key: r for r in session.execute(
        select(a.id, a.key, a.state, a.first_seen, a.fingerprint, a.severity, a.notified_at, a.suppressed_by)
        .where(a.rule == rule, a.open_key.is_not(None)))}


def open_keys(session: Session, rule: str) -> set[str]:
    """Keys of the rule's open alerts."""
    return set(session.scalars(select(Alert.key).where(Alert.rule == rule, Alert.open_key.is_not(None))))


def muted_keys(session: Session, rule: str) -> set[str]:
    """Keys a person resolved while their condition held (muted until it clears once)."""
    return set(session.scalars(select(Alert.key).where(Alert.rule == rule, Alert.mute_key.is_not(None))))


def muted_items(session: Session, rule: str, keys: Iterable[str]) -> dict[str, set[str]]:
    """The tickets each muted alert of ``rule`` held when a person resolved it, by key."""
    out: dict[str, set[str]] = {}
    i = AlertItem.__table__.c
    for chunk in batches(sorted(keys), _CHUNK):
        for key, ticket_id in session.execute(
                select(Alert.key, i.ticket_id).join(AlertItem.__table__, i.alert_id == Alert.id)
                .where(Alert.rule == rule, Alert.mute_key.is_not(None), Alert.key.in_(chunk))):
            out.setdefault(key, set()).add(ticket_id)
    return out


def unmute(session: Session, rule: str, keys: Iterable[str]) -> None:
    for chunk in batches(sorted(keys), _CHUNK):
        session.execute(update(Alert).where(Alert.rule == rule, Alert.key.in_(chunk)).values(mute_key=None))


def clear_mute(session: Session, mute: str) -> None:
    """Free a ``mute_key`` value (it is UNIQUE) before another alert takes it."""
    session.execute(update(Alert).where(Alert.mute_key == mute).values(mute_key=None))


def insert_alerts(session: Session, rows: list[dict]) -> list[tuple[int, str]]:
    """Insert alert rows (column dicts); returns (id, state) of each, in the order given."""
    a = Alert.__table__.c
    return [tuple(r) for r in session.execute(
        insert(Alert.__table__).returning(a.id, a.state, sort_by_parameter_order=True), rows).all()]


def write_items(session: Session, alert_ids_items: list[tuple[int, list[str]]], *, replace: bool) -> None:
    """The tickets inside each alert (``alert_items``); ``replace``: the list becomes exactly
    ``items``, by deleting the tickets that left and inserting those that joined (a group of
    thousands that gained one ticket writes one row, not thousands)."""
    gone: list[tuple[int, str]] = []
    rows: list[dict] = []
    if replace:
        have: dict[int, set[str]] = {i: set() for i, _ in alert_ids_items}
        c = AlertItem.__table__.c
        for chunk in batches(list(have), _CHUNK):
            for alert_id, ticket_id in session.execute(select(c.alert_id, c.ticket_id).where(c.alert_id.in_(chunk))):
                have[alert_id].add(ticket_id)
        for i, items in alert_ids_items:
            want = set(items)
            gone += [(i, t) for t in have[i] - want]
            rows += [{"alert_id": i, "ticket_id": t} for t in dict.fromkeys(items) if t not in have[i]]
        by_alert: dict[int, list[str]] = {}
        for i, t in gone:
            by_alert.setdefault(i, []).append(t)
        for i, tickets in by_alert.items():
            for chunk in batches(tickets, _CHUNK):
                session.execute(AlertItem.__table__.delete().where(c.alert_id == i, c.ticket_id.in_(chunk)))
    else:
        rows = [{"alert_id": i, "ticket_id": t} for i, items in alert_ids_items for t in dict.fromkeys(items)]
    for chunk in batches(rows, 5000):
        session.execute(AlertItem.__table__.insert(), chunk)


def fire(session: Session, ids: Sequence[int], *, now: datetime, notify: bool = True) -> None:
    """pending -> firing (notified now, unless ``notify`` is False: a silenced alert)."""
    a = Alert.__table__.c
    for chunk in batches(ids, _CHUNK):
        session.execute(update(Alert).where(a.id.in_(chunk), a.state == "pending")
                        .values(state="firing", fired_at=now, updated_at=now, notified_at=now if notify else None))


def mark_notified(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    for chunk in batches(ids, _CHUNK):
        session.execute(update(Alert).where(Alert.id.in_(chunk)).values(notified_at=now))


def update_findings(session: Session, updates: list[dict], *, now: datetime) -> None:
    """New severity, detail, fingerprint, title, size and oldest item per alert: dicts with keys
    b_id, b_severity, b_detail, b_fp, b_title, b_size, b_oldest (one executemany)."""
    if not updates:
        return
    a = Alert.__table__.c
    session.execute(
        update(Alert.__table__).where(a.id == bindparam("b_id"))
        .values(severity=bindparam("b_severity"), detail=bindparam("b_detail"), fingerprint=bindparam("b_fp"),
                title=bindparam("b_title"), size=bindparam("b_size"), oldest_at=bindparam("b_oldest"),
                updated_at=now),
        updates,
    )


def resolve_many(session: Session, ids: Sequence[int], *, now: datetime, by: str, note: str) -> None:
    """Open alerts -> resolved (``open_key`` freed)."""
    a = Alert.__table__.c
    for chunk in batches(ids, _CHUNK):
        session.execute(
            update(Alert).where(a.id.in_(chunk), a.open_key.is_not(None))
            .values(state="resolved", resolved_at=now, resolved_by=by, resolution_note=note,
                    open_key=None, updated_at=now))


def insert_events(session: Session, events: list[dict]) -> None:
    """History rows: dicts with alert_id, at, action and optionally actor, note, detail."""
    if events:
        session.execute(AlertEvent.__table__.insert(), [
            {"alert_id": e["alert_id"], "at": e["at"], "action": e["action"], "actor": e.get("actor"),
             "note": e.get("note"), "detail": e.get("detail")} for e in events])


# --- suppression and silences -----------------------------------------------------------------


def open_places(session: Session) -> list[Any]:
    """Every open alert: id, rule, city, district, state, suppressed_by, category (the detail's)."""
    a = Alert.__table__.c
    return session.execute(select(a.id, a.rule, a.city, a.district, a.state, a.suppressed_by,
                                  a.detail["category"].as_string().label("category"))
                           .where(a.open_key.is_not(None))).all()


def open_unsuppressed(session: Session, *, rule: str | None = None, city: str | None = None,
                      district: str | None = None) -> list[Any]:
    """Open, unsuppressed alerts (of ``rule``, in ``city`` / ``district`` when given): id, rule,
    city, district, category (the detail's)."""
    a = Alert.__table__.c
    conds = [a.open_key.is_not(None), a.suppressed_by.is_(None)]
    conds += [col == value for col, value in ((a.rule, rule), (a.city, city), (a.district, district)) if value]
    return session.execute(select(a.id, a.rule, a.city, a.district,
                                  a.detail["category"].as_string().label("category")).where(*conds)).all()


def set_suppressed(session: Session, changed: list[tuple[int, str | None]]) -> None:
    """Set ``suppressed_by`` ('silence:<id>', 'alert:<id>' or None) per alert id."""
    if changed:
        a = Alert.__table__.c
        session.execute(update(Alert.__table__).where(a.id == bindparam("b_id"))
                        .values(suppressed_by=bindparam("b_by")), [{"b_id": i, "b_by": w} for i, w in changed])


def release(session: Session, suppressed_by: str) -> list[int]:
    """Clear ``suppressed_by`` wherever it is this value; returns the ids of the open alerts released."""
    ids = list(session.scalars(select(Alert.id).where(Alert.suppressed_by == suppressed_by,
                                                      Alert.open_key.is_not(None))))
    session.execute(update(Alert).where(Alert.suppressed_by == suppressed_by).values(suppressed_by=None))
    return ids


def active_silences(session: Session, *, now: datetime) -> list[AlertSilence]:
    """Silences in force at ``now``, oldest first (the first that matches an alert names it)."""
    return list(session.scalars(select(AlertSilence).where(AlertSilence.starts_at <= now, AlertSilence.ends_at > now)
                                .order_by(AlertSilence.id)))


def add_silence(session: Session, **columns: Any) -> AlertSilence:
    """Insert a silence row (flushed: it has its id)."""
    sil = AlertSilence(**columns)
    session.add(sil)
    session.flush()
    return sil


def get_silence(session: Session, silence_id: int) -> AlertSilence | None:
    return session.get(AlertSilence, int(silence_id))


def list_silences(session: Session, *, now: datetime, active_only: bool = True, limit: int = MAX_LIMIT,
                  cities: Sequence[str] | None = None, districts: Sequence[str] | None = None,
                  everywhere: bool = True) -> list[AlertSilence]:
    """Silences, latest end first; ``active_only`` keeps those not yet ended.

    Scope, in SQL: with ``cities`` and/or ``districts`` given, only silences pinned to one of those
    cities or districts are listed, plus (``everywhere``) those without a place (province-wide).
    """
    stmt = select(AlertSilence).order_by(AlertSilence.ends_at.desc(), AlertSilence.id.desc())
    if active_only:
        stmt = stmt.where(AlertSilence.ends_at > now)
    if cities is not None or districts is not None:
        places = []
        if cities:
            # A silence of a city, or of a district that names this city.
            places.append(AlertSilence.city.in_(list(cities)))
        if districts:
            places.append(AlertSilence.district.in_(list(districts)))
        if everywhere:
            places.append(and_(AlertSilence.city.is_(None), AlertSilence.district.is_(None)))
        stmt = stmt.where(or_(*places) if places else false())
    return list(session.scalars(stmt.limit(_limit(limit))))


# --- people's actions ------------------------------------------------------------------------


def lock(session: Session, alert_id: int) -> Alert | None:
    """The alert, locked for update on PostgreSQL (two people acting at once are serialised)."""
    return session.get(Alert, int(alert_id), with_for_update=session.get_bind().dialect.name == "postgresql")


def log(session: Session, alert_id: int, action: str, actor: str, now: datetime, note: str | None = None,
        detail: dict | None = None) -> None:
    """One history row, and flush the alert's pending changes with it."""
    session.add(AlertEvent(alert_id=alert_id, at=now, action=action, actor=actor, note=note, detail=detail))
    session.flush()


# --- reads --------------------------------------------------------------------------------


def scope_conditions(session: Session, scope: str | None) -> list:
    """SQL conditions keeping the alerts of region ``scope`` (none when no scope)."""
    if not scope:
        return []
    resolved = resolve_scope(session, scope)
    conds = [Alert.city.in_(list(resolved.city_codes))] if resolved.city_codes else [Alert.city.is_(None)]
    if resolved.district_codes:
        conds.append(Alert.district.in_(list(resolved.district_codes)))
    return conds


def _state_condition(state: str | None, *, allow_all: bool) -> list:
    if state == "open":
        return [Alert.open_key.is_not(None)]
    if not state or (allow_all and state == "all"):
        return []
    if state not in STATES:
        names = "open, all" if allow_all else "open"
        raise AlertError(f"unknown state {state!r}; expected {names} or one of {', '.join(STATES)}")
    return [Alert.state == state]


def list_alerts(session: Session, *, scope: str | None = None, state: str | None = None,
                rule: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 200, offset: int = 0) -> list[Alert]:
    """Alerts filtered by scope (region code), state ('open' = any open state), rule and
    first-seen window ``[since, until)`` (naive UTC); newest first. Read-only."""
    conds = scope_conditions(session, scope) + _state_condition(state, allow_all=False)
    if rule:
        conds.append(Alert.rule == rule)
    if since is not None:
        conds.append(Alert.first_seen >= since)
    if until is not None:
        conds.append(Alert.first_seen < until)
    stmt = (select(Alert).where(*conds).order_by(Alert.first_seen.desc(), Alert.id.desc())
            .limit(_limit(limit)).offset(max(0, int(offset))))
    return list(session.scalars(stmt))


def shown(session: Session, *, scope: str | None = None, limit: int = 20) -> list[Alert]:
    """Open, unsuppressed alerts past their hold time, most urgent first (``RANKED``)."""
    conds = scope_conditions(session, scope) + [Alert.state.in_(SHOWN_STATES), Alert.suppressed_by.is_(None)]
    return list(session.scalars(select(Alert).where(*conds).order_by(*RANKED).limit(_limit(limit))))


def inbox(session: Session, *, scope: str | None = None, rule: str | None = None, state: str = "open",
          severity: str | None = None, suppressed: bool = False, limit: int = 50, offset: int = 0,
          since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """One ranked page of alerts (``items``: Alert rows) with the exact total, totals per rule,
    per area (city, or district inside a city; ``area`` names which), per severity, and the suppressed count."""
    conds = scope_conditions(session, scope) + _state_condition(state, allow_all=True)
    if severity:
        conds.append(Alert.severity == severity)
    if since is not None:
        conds.append(Alert.first_seen >= since)
    if until is not None:
        conds.append(Alert.first_seen < until)
    hidden = Alert.suppressed_by.is_not(None)
    n_suppressed = int(session.scalar(select(func.count()).select_from(Alert).where(
        *conds, *([Alert.rule == rule] if rule else []), hidden)) or 0)
    conds.append(hidden if suppressed else Alert.suppressed_by.is_(None))
    by_rule = {r: int(n) for r, n in session.execute(
        select(Alert.rule, func.count()).where(*conds).group_by(Alert.rule))}
    if rule:
        conds.append(Alert.rule == rule)
    by_district = bool(scope and len(scope) == 6 and not scope.endswith("0000"))
    area = Alert.district if by_district else Alert.city
    by_area = {str(k or ""): int(n) for k, n in session.execute(
        select(area, func.count()).where(*conds).group_by(area).order_by(func.count().desc()))}
    by_severity = {k: int(n) for k, n in session.execute(
        select(Alert.severity, func.count()).where(*conds).group_by(Alert.severity))}
    rows = list(session.scalars(select(Alert).where(*conds).order_by(*RANKED)
                                .limit(_limit(limit)).offset(max(0, int(offset)))))
    return {"total": sum(by_severity.values()), "by_rule": by_rule, "by_area": by_area,
            "area": "district" if by_district else "city", "by_severity": by_severity, "suppressed": n_suppressed, "items": rows,
            "offset": max(0, int(offset)), "limit": _limit(limit)}


def count_open(session: Session, *, scope: str | None = None) -> dict[str, int]:
    """Open alerts past their hold time per severity (suppressed ones not counted)."""
    conds = scope_conditions(session, scope) + [Alert.state.in_(SHOWN_STATES), Alert.suppressed_by.is_(None)]
    rows = session.execute(select(Alert.severity, func.count()).where(*conds).group_by(Alert.severity))
    return {sev: int(n) for sev, n in rows}


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, int(alert_id))


def events_of(session: Session, alert_id: int) -> list[AlertEvent]:
    """The history rows of one alert, oldest first."""
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == int(alert_id))
                                .order_by(AlertEvent.at, AlertEvent.id)))


def for_ticket(session: Session, ticket_id: str) -> list[Alert]:
    """Alerts about this ticket: per-ticket alerts (key) and the groups it is an item of; open
    first, newest first."""
    in_items = select(AlertItem.alert_id).where(AlertItem.ticket_id == ticket_id)
    return list(session.scalars(
        select(Alert).where((Alert.key == ticket_id) | Alert.id.in_(in_items))
        .order_by(Alert.open_key.is_(None), Alert.first_seen.desc(), Alert.id.desc()).limit(50)))


# --- retention ------------------------------------------------------------------------------


def prune(session: Session, *, cutoff: datetime, batch: int = 5000) -> dict[str, int]:
    """Delete alerts resolved before ``cutoff``, with their events and items, and silences that
    ended before it; of the alerts still open, the routine events (``ROUTINE_EVENTS``) before it.
    Open alerts themselves are never deleted. Returns the rows deleted per table."""
    counts = {"alerts": 0, "events": 0, "items": 0, "silences": 0, "compacted": 0}
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
    # Compaction: an alert open for longer than the retention keeps its lifecycle (opened, fired,
    # the people's actions) but not the system's routine steps before the cutoff.
    counts["compacted"] = session.execute(AlertEvent.__table__.delete().where(
        AlertEvent.action.in_(ROUTINE_EVENTS), AlertEvent.at < cutoff)).rowcount
    return counts
