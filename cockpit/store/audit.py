"""The audit log's rows: append one, read the newest. The rules of what is audited are in ``cockpit.auth.audit``.

Functions take a session first and never commit. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cockpit.store.models import AuditEntry


def add_entry(session: Session, entry: AuditEntry) -> None:
    session.add(entry)


def entries(session: Session, *, limit: int, actor: str | None = None, action: str | None = None,
            since: datetime | None = None) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first, optionally of one actor, one action, since a time."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    return list(session.scalars(stmt))
