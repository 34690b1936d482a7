"""Users: create, list, disable, reset a password, authenticate (with lockout after failures)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cockpit.auth import passwords, sessions
from cockpit.auth.audit import utcnow
from cockpit.auth.principal import ROLES
from cockpit.store import access
from cockpit.store.models import User

USERNAME = re.compile(r"^[\w.@-]{2,64}$")  # letters of any script (张科长), digits, _ . @ -
MAX_FAILURES = 5  # consecutive wrong passwords before the account locks
LOCKOUT = timedelta(minutes=15)


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str  # ok | unknown | wrong_password | locked | disabled


def validate(username: str, role: str, scope: str) -> None:
    if not USERNAME.match(username or ""):
        raise UserError("username: 2-64 letters, digits or _ . @ - (no spaces)")
    if role not in ROLES:
        raise UserError(f"role: one of {', '.join(ROLES)}")
    if not scope or scope == "*" or len(scope) > 32:
        raise UserError("scope: one region code (province, city or district)")


def create(session: Session, username: str, *, role: str, scope: str, password: str) -> User:
    validate(username, role, scope)
    if access.username_taken(session, username):
        raise UserError(f"user {username!r} exists")
    now = utcnow()
    user = User(username=username, password_hash=passwords.hash_password(password), role=role, scope=scope,
                created_at=now, failed_logins=0, password_changed_at=now)
    return access.add_user(session, user)


def get(session: Session, username: str) -> User | None:
    return access.user_named(session, username)


def listing(session: Session) -> list[User]:
    return access.users(session)


def _require(session: Session, username: str) -> User:
    user = get(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of a user (disabled, password reset): refused at the next request in every
    process, the session cache included (cockpit.auth.sessions)."""
    sessions.forget(session, access.user_session_hashes(session, user_id))
    access.end_user_sessions(session, user_id)


def disable(session: Session, username: str) -> User:
    user = _require(session, username)
    user.disabled_at = user.disabled_at or utcnow()
    end_sessions(session, user.id)
    return user


def enable(session: Session, username: str) -> User:
    user = _require(session, username)
    user.disabled_at = None
    user.failed_logins, user.locked_until = 0, None
    return user


def reset_password(session: Session, username: str, password: str) -> User:
    user = _require(session, username)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins, user.locked_until = 0, None
    end_sessions(session, user.id)
    return user


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> LoginResult:
    """Check a login. Wrong passwords count; MAX_FAILURES in a row lock the account for LOCKOUT.

    Every outcome costs one Argon2 verification, so timing does not tell whether a user exists.
    """
    now = now or utcnow()
    user = get(session, username) if USERNAME.match(username or "") else None
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None:
        return LoginResult(None, "unknown")
    if user.disabled_at is not None:
        return LoginResult(None, "disabled")
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, "locked")
    if not ok:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        return LoginResult(None, "wrong_password")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return LoginResult(user, "ok")


def as_dict(user: User) -> dict:
    def iso(value):
        return value.isoformat() + "Z" if value else None

    return {"username": user.username, "role": user.role, "scope": user.scope,
            "disabled": user.disabled_at is not None, "created_at": iso(user.created_at),
            "last_login_at": iso(user.last_login_at), "locked_until": iso(user.locked_until)}
