"""Server-side sessions: the browser holds a random id; the row holds who, until when, and the CSRF token.

A user session ends after ``idle`` without a request or ``lifetime`` in total, at logout, or when
the user is disabled or their password reset. A kiosk session lasts as long as its link is not revoked.

Sessions found valid (kiosk screens and logged-in users) are kept in Redis for
``session_cache_seconds`` (a few seconds), so a wall refreshing every 2 s or a supervisor paging the
grid does not read the session, its link or its user from SQL on every request (issue 15). The
entry holds only what SQL rebuilds (the principal, its CSRF token, expiry and last-seen time), keyed
by the session id's hash. Logout, revoking a kiosk link, disabling a user and resetting a password
write a tombstone over the entries of the sessions they end (before the commit and again after it)
that no loader may overwrite, so they take effect on the very next request in every process; the
short life bounds anything done behind the app's back (SQL by hand). An entry is not used once the
session is due for its once-a-minute last-seen write, so the idle timeout (at least a minute) and
the last-seen time are checked in SQL as before.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cockpit.auth.audit import utcnow
from cockpit.auth.principal import ROLES, Principal
from cockpit.store import access, sessioncache
from cockpit.store.models import WebSession

TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most once a minute per session
CACHE_PREFIX, TOMBSTONE = sessioncache.PREFIX, sessioncache.TOMBSTONE  # the cache's Redis side: store.sessioncache


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    raw_id: str
    csrf: str
    at: datetime | None = None  # when it started


_SWEPT = [0.0]  # monotonic time of this process's last sweep of expired sessions
SWEEP_EVERY_S = 60.0


def start(session: Session, *, user_id: int | None = None, kiosk_id: int | None = None, lifetime: timedelta,
          ip: str | None = None, cache_as: Principal | None = None, cache_seconds: int = 0,
          failed=None) -> NewSession:
    """A new session row. With ``cache_as`` (who the session is: name, role, scope, id) and
    ``cache_seconds``, the session is put in the session cache once this transaction commits, so
    the first requests it makes (a kiosk screen's page, layout and routing right after its link's
    redirect) do not read it from SQL again."""
    if (user_id is None) == (kiosk_id is None):
        raise ValueError("a session belongs to exactly one user or kiosk link")
    raw, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
    row = WebSession(id_hash=_hash(raw), user_id=user_id, kiosk_id=kiosk_id, csrf=csrf, created_at=now,
                     last_seen_at=now, expires_at=now + lifetime, ip=(ip or "")[:64] or None)
    access.add_web_session(session, row)
    # Housekeeping: forget sessions that ended, at most once a minute per process (an expired
    # session is refused by ``load`` anyway; the sweep only keeps the table small).
    clock = time.monotonic()
    if clock - _SWEPT[0] >= SWEEP_EVERY_S:
        _SWEPT[0] = clock
        access.end_expired_sessions(session, now)
    if cache_as is not None and cache_seconds > 0:
        principal = replace(cache_as, session_hash=row.id_hash, csrf=csrf)
        sessioncache.write_after_commit(session, row.id_hash, _entry(row.expires_at, row.last_seen_at, principal),
                                        cache_seconds, failed)
    return NewSession(raw, csrf, now)


def end(session: Session, raw_id: str) -> None:
    id_hash = _hash(raw_id)
    forget(session, [id_hash])
    access.end_web_session(session, id_hash)


def forget(session: Session, id_hashes: list[str]) -> None:
    """Mark sessions this transaction ends as ended in the cache (before and after the commit)."""
    sessioncache.end(session, id_hashes)


def cached(client, raw_id: str, *, now: datetime | None = None, failed=None) -> Principal | None:
    """The principal of a session found valid a few seconds ago, or None (then ask ``load``): no
    entry, a tombstone, Redis unavailable, or the entry is due for its last-seen write or expired."""
    if client is None or not raw_id or len(raw_id) > 128:
        return None
    value = sessioncache.read(client, _hash(raw_id), failed)
    if not value or value == TOMBSTONE:
        return None
    try:
        entry = json.loads(value)
        now = now or utcnow()
        if datetime.fromisoformat(entry["expires_at"]) <= now or \
                now - datetime.fromisoformat(entry["last_seen_at"]) >= TOUCH_EVERY:
            return None
        kind = entry.get("kind", "kiosk")
        if kind == "kiosk":
            role = "kiosk"
        elif kind == "user" and entry.get("role") in ROLES:
            role = entry["role"]
        else:
            return None
        return Principal(kind=kind, name=entry["name"], role=role, scopes=(entry["scope"],),
                         id=entry["id"], session_hash=_hash(raw_id), csrf=entry["csrf"])
    except (ValueError, KeyError, TypeError):
        return None


def _entry(expires_at: datetime, last_seen_at: datetime, principal: Principal) -> str:
    entry = {"kind": principal.kind, "name": principal.name, "scope": principal.scope, "id": principal.id,
             "csrf": principal.csrf, "expires_at": expires_at.isoformat(), "last_seen_at": last_seen_at.isoformat()}
    if principal.kind == "user":
        entry["role"] = principal.role
    return json.dumps(entry)


def _remember(client, row: WebSession, principal: Principal, seconds: int, failed=None) -> None:
    sessioncache.write(client, row.id_hash, _entry(row.expires_at, row.last_seen_at, principal), seconds, failed)


def load(session: Session, raw_id: str, *, idle: timedelta, now: datetime | None = None,
         cache=None, cache_seconds: int = 0, failed=None) -> Principal | None:
    """The principal of a live session id, or None (unknown, expired, idle too long, disabled, revoked).

    With ``cache`` (a Redis client) and ``cache_seconds``, a valid session is kept there for
    ``cached`` to find."""
    if not raw_id or len(raw_id) > 128:
        return None
    now = now or utcnow()
    row = access.web_session(session, _hash(raw_id))
    if row is None:
        return None
    if row.expires_at <= now:
        access.drop_web_session(session, row)
        return None
    if row.user_id is not None:
        if row.last_seen_at + idle <= now:
            access.drop_web_session(session, row)
            return None
        user = access.user_by_id(session, row.user_id)
        if user is None or user.disabled_at is not None:
            access.drop_web_session(session, row)
            return None
        principal = Principal(kind="user", name=user.username, role=user.role, scopes=(user.scope,), id=user.id,
                              session_hash=row.id_hash, csrf=row.csrf)
    else:
        link = access.kiosk_link(session, row.kiosk_id)
        if link is None or link.revoked_at is not None:
            access.drop_web_session(session, row)
            return None
        principal = Principal(kind="kiosk", name=link.name, role="kiosk", scopes=(link.scope,), id=link.id,
                              session_hash=row.id_hash, csrf=row.csrf)
        if link.last_used_at is None or now - link.last_used_at >= TOUCH_EVERY:
            link.last_used_at = now
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    if cache is not None and cache_seconds > 0:
        _remember(cache, row, principal, cache_seconds, failed)
    return principal


def count_for_user(session: Session, user_id: int) -> int:
    return access.user_session_count(session, user_id)
