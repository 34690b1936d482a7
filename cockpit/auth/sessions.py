"""Server-side sessions: the browser holds a random id; the row holds who, until when, and the CSRF token.

A user session ends after ``idle`` without a request or ``lifetime`` in total, at logout, or when
the user is disabled or their password reset. A kiosk session lasts as long as its link is not revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cockpit.auth.audit import utcnow
from cockpit.auth.principal import Principal
from cockpit.store import access
from cockpit.store.models import WebSession

TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most once a minute per session


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    raw_id: str
    csrf: str


def start(session: Session, *, user_id: int | None = None, kiosk_id: int | None = None, lifetime: timedelta,
          ip: str | None = None) -> NewSession:
    if (user_id is None) == (kiosk_id is None):
        raise ValueError("a session belongs to exactly one user or kiosk link")
    raw, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
    access.add_web_session(session, WebSession(id_hash=_hash(raw), user_id=user_id, kiosk_id=kiosk_id, csrf=csrf,
                                               created_at=now, last_seen_at=now, expires_at=now + lifetime,
                                               ip=(ip or "")[:64] or None))
    # Housekeeping: forget sessions that ended (cheap, indexed by primary key scan on small tables).
    access.end_expired_sessions(session, now)
    return NewSession(raw, csrf)


def end(session: Session, raw_id: str) -> None:
    access.end_web_session(session, _hash(raw_id))


def load(session: Session, raw_id: str, *, idle: timedelta, now: datetime | None = None) -> Principal | None:
    """The principal of a live session id, or None (unknown, expired, idle too long, disabled, revoked)."""
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
    return principal


def count_for_user(session: Session, user_id: int) -> int:
    return access.user_session_count(session, user_id)
