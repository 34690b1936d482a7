"""API bearer tokens: created once (shown once), stored as SHA-256, scoped to region codes.

A token may expire (``expires_at``); ``last_used_at`` is kept (written at most once a minute).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit.store.models import ApiToken, Region

TOKEN_PREFIX = "ck_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def create(session: Session, name: str, scopes: Sequence[str], *, expires_at: datetime | None = None) -> str:
    """Create a token for ``scopes`` (region codes) and return its plain text (not stored)."""
    if not scopes:
        raise ValueError("a token needs at least one scope")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ValueError(f"a token named {name!r} exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token), scopes=list(scopes), created_at=_now(),
                         expires_at=expires_at))
    session.flush()
    return token


def verify(session: Session, token: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live (not revoked, not expired) token matching ``token``, or None. Notes its last use."""
    if not token or len(token) > 256:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    now = now or _now()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= timedelta(seconds=60):
        row.last_used_at = now
    return row


def listing(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke(session: Session, name: str) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise ValueError(f"no token named {name!r}")
    row.revoked_at = row.revoked_at or _now()
    return row


def as_dict(row: ApiToken) -> dict:
    def iso(value):
        return value.isoformat() + "Z" if value else None

    return {"name": row.name, "scopes": list(row.scopes), "created_at": iso(row.created_at),
            "expires_at": iso(row.expires_at), "last_used_at": iso(row.last_used_at),
            "revoked_at": iso(row.revoked_at)}


def ancestors(session: Session, code: str) -> list[str]:
    """``code`` and every region above it, nearest first (region table; adcode rule as fallback)."""
    chain, seen = [code], {code}
    parents = dict(session.execute(select(Region.code, Region.parent)).all())
    current = code
    while parents.get(current) and parents[current] not in seen:
        current = parents[current]
        chain.append(current)
        seen.add(current)
    if len(chain) == 1 and code.isdigit() and len(code) == 6:
        # Chinese adcodes nest by prefix: 620102 -> 620100 -> 620000.
        for parent in (code[:4] + "00", code[:2] + "0000"):
            if parent not in seen:
                chain.append(parent)
                seen.add(parent)
    return chain


def covers(session: Session, scopes: Iterable[str], codes: Iterable[str]) -> set[str]:
    """The subset of ``codes`` that none of ``scopes`` covers (empty = all allowed)."""
    allowed = set(scopes)
    if "*" in allowed:
        return set()
    return {code for code in set(codes) if not allowed.intersection(ancestors(session, code))}
