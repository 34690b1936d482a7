"""Seat planning's SQL and Redis: saved rosters, their Redis copy, and the spans of known incidents.

A roster is saved in SQL (``rosters``: every save a row, the newest of a scope and week in force,
with who saved it and when); Redis keeps a copy of the plan in force under ``ROSTER_KEY`` for the
wall, which a reader rebuilds from SQL when it is missing (flushed, expired, a new Redis). Functions
take a session or a Redis client first and never commit.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit.store.models import Alert, Roster

ROSTER_KEY = "planning:roster:{scope}:{week}"


def iso_week(monday: date) -> str:
    """``YYYY-Www`` of the ISO week holding ``monday``."""
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def roster_key(scope: str, monday: date) -> str:
    """The Redis key of the roster copy of ``scope`` and the ISO week of ``monday``."""
    return ROSTER_KEY.format(scope=scope, week=iso_week(monday))


def save_roster(session: Session, *, scope: str, monday: date, document: dict[str, Any], saved_at: datetime,
                saved_by: str) -> int:
    """Save a roster (a new row; the newest of its scope and week is in force). ``saved_at`` naive UTC.
    Returns the row id."""
    row = Roster(scope=scope, week=iso_week(monday), monday=monday, saved_at=saved_at, saved_by=saved_by,
                 document=document)
    session.add(row)
    session.flush()
    return row.id


def saved_roster(session: Session, *, scope: str, monday: date) -> dict[str, Any] | None:
    """The roster in force for ``scope`` and the ISO week of ``monday``: the newest saved document, or None."""
    return session.scalars(
        select(Roster.document).where(Roster.scope == scope, Roster.week == iso_week(monday))
        .order_by(Roster.id.desc()).limit(1)
    ).first()


def roster_saves(session: Session, *, scope: str, monday: date) -> list[dict[str, Any]]:
    """Every save of the scope and week, newest first: id, saved_at (naive UTC), saved_by."""
    rows = session.execute(
        select(Roster.id, Roster.saved_at, Roster.saved_by)
        .where(Roster.scope == scope, Roster.week == iso_week(monday)).order_by(Roster.id.desc())
    ).all()
    return [{"id": i, "saved_at": at, "saved_by": by} for i, at, by in rows]


def cached_roster(redis, scope: str, monday: date) -> dict[str, Any] | None:
    """The Redis copy of the roster in force, or None (absent). Raises RedisError."""
    raw = redis.get(roster_key(scope, monday))
    return json.loads(raw) if raw else None


def cache_roster(redis, scope: str, monday: date, document: dict[str, Any], *, ttl_s: int) -> None:
    """Put the Redis copy of the roster in force (expires after ``ttl_s``). Raises RedisError."""
    redis.set(roster_key(scope, monday), json.dumps(document, ensure_ascii=False), ex=max(int(ttl_s), 1))


def incident_spans(session: Session, *, rules, cities, before: datetime) -> list[tuple[datetime, datetime | None]]:
    """(first_seen, resolved_at) of the alerts of ``rules`` that fired for ``cities`` and began
    before ``before`` (naive UTC); resolved_at None while one is still open."""
    cities = list(cities)
    city_match = Alert.city == cities[0] if len(cities) == 1 else Alert.city.in_(cities)
    return [tuple(r) for r in session.execute(
        select(Alert.first_seen, Alert.resolved_at)
        .where(Alert.rule.in_(list(rules)), Alert.fired_at.is_not(None), city_match, Alert.first_seen < before)
    ).all()]
