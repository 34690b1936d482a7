"""Who may log in and their sessions: the rows of users, web sessions and kiosk links.

The rules (passwords, lockout, expiry, revocation) are in ``cockpit.auth``; here are only the
reads and writes. Functions take a session first and never commit. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cockpit.store.models import KioskLink, User, WebSession


# ---------------------------------------------------------------- users

def user_named(session: Session, username: str) -> User | None:
    """The user with this username, or None."""
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def add_user(session: Session, user: User) -> User:
    """Insert ``user`` and flush, so its id is known."""
    session.add(user)
    session.flush()
    return user


def users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


# ---------------------------------------------------------------- web sessions

def add_web_session(session: Session, row: WebSession) -> None:
    session.add(row)


def web_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def drop_web_session(session: Session, row: WebSession) -> None:
    session.delete(row)


def end_web_session(session: Session, id_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def end_expired_sessions(session: Session, now: datetime) -> None:
    """Delete the sessions that expired before ``now``."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))


def end_user_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def end_kiosk_sessions(session: Session, kiosk_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.kiosk_id == kiosk_id))


def kiosk_session_hashes(session: Session, kiosk_id: int) -> list[str]:
    """The id hashes of a kiosk link's sessions (to mark them ended in the session cache)."""
    return list(session.scalars(select(WebSession.id_hash).where(WebSession.kiosk_id == kiosk_id)))


def user_session_hashes(session: Session, user_id: int) -> list[str]:
    """The id hashes of a user's sessions (to mark them ended in the session cache)."""
    return list(session.scalars(select(WebSession.id_hash).where(WebSession.user_id == user_id)))


def user_session_count(session: Session, user_id: int) -> int:
    return len(session.scalars(select(WebSession.id_hash).where(WebSession.user_id == user_id)).all())


# ---------------------------------------------------------------- kiosk links

def add_kiosk_link(session: Session, link: KioskLink) -> KioskLink:
    """Insert ``link`` and flush, so its id is known."""
    session.add(link)
    session.flush()
    return link


def kiosk_link(session: Session, link_id: int) -> KioskLink | None:
    return session.get(KioskLink, link_id)


def kiosk_links(session: Session) -> list[KioskLink]:
    """Every kiosk link, oldest first."""
    return list(session.scalars(select(KioskLink).order_by(KioskLink.id)))
