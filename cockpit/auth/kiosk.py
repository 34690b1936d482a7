"""Kiosk links: a wall screen runs for months on one URL, bound to one scope and to aggregate pages.

The URL is ``/kiosk/<id>.<secret>``: the secret is random (256 bits) and stored only as SHA-256,
so the link cannot be forged or guessed; revoking it deletes its sessions and marks them ended in
the session cache (cockpit.auth.sessions), so the screen's next refresh is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from cockpit.auth.audit import utcnow
from cockpit.store import access
from cockpit.store.models import KioskLink

PAGES = ("/wall/", "/province/", "/playlist")  # the only pages a kiosk may open (aggregates only)


class KioskError(ValueError):
    pass


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, *, scope: str, name: str | None = None, created_by: str | None = None) -> tuple[KioskLink, str]:
    """A new link for ``scope``; returns the row and the path ``/kiosk/<id>.<secret>`` (shown once)."""
    if not scope or scope == "*" or len(scope) > 32:
        raise KioskError("scope: one region code")
    secret = secrets.token_urlsafe(32)
    link = KioskLink(name=(name or f"kiosk-{scope}")[:64], scope=scope, secret_hash=_hash(secret),
                     created_at=utcnow(), created_by=created_by)
    access.add_kiosk_link(session, link)
    return link, f"/kiosk/{link.id}.{secret}"


def verify(session: Session, token: str) -> KioskLink | None:
    """The live link for a ``<id>.<secret>`` token, or None."""
    ident, _, secret = (token or "").partition(".")
    if not ident.isdigit() or not secret or len(secret) > 128:
        return None
    link = access.kiosk_link(session, int(ident))
    if link is None or link.revoked_at is not None:
        return None
    return link if hmac.compare_digest(link.secret_hash, _hash(secret)) else None


def revoke(session: Session, link_id: int) -> KioskLink:
    link = access.kiosk_link(session, link_id)
    if link is None:
        raise KioskError(f"no kiosk link {link_id}")
    link.revoked_at = link.revoked_at or utcnow()
    from cockpit.auth import sessions

    sessions.forget(session, access.kiosk_session_hashes(session, link_id))
    access.end_kiosk_sessions(session, link_id)
    return link


def listing(session: Session) -> list[KioskLink]:
    return access.kiosk_links(session)


def allows_path(path: str) -> bool:
    return path == "/playlist" or any(path.startswith(p) for p in PAGES if p.endswith("/"))
