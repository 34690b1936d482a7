"""API bearer tokens: created once (shown once), stored as SHA-256, scoped to region codes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit.store.models import ApiToken, Region

TOKEN_PREFIX = "ck_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, name: str, scopes: Sequence[str]) -> str:
    """Create a token for ``scopes`` (region codes) and return its plain text (not stored)."""
    if not scopes:
        raise ValueError("a token needs at least one scope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token), scopes=list(scopes),
                         created_at=datetime.now(UTC).replace(tzinfo=None)))
    session.flush()
    return token


def verify(session: Session, token: str) -> ApiToken | None:
    """The live token matching ``token``, or None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    return row if row is not None and row.revoked_at is None else None


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
