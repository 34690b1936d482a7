"""The dead-letter table: every rejected event or import row, kept raw with its reasons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cockpit.events import Unparsed
from cockpit.store.models import DeadLetter

RAW_LIMIT = 64 * 1024  # characters of the raw input kept per rejected item


def _raw_text(raw: Any) -> str:
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, Unparsed):
        text = raw.text
    else:
        try:
            text = json.dumps(raw, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(raw)
    return text[:RAW_LIMIT]


def record(
    session: Session,
    *,
    source: str,
    raw: Any,
    errors: Sequence[dict],
    event_id: str | None = None,
    row_ref: str | None = None,
    received_at: datetime | None = None,
) -> None:
    """Keep one rejected item. ``errors`` are ``{"field", "message"}`` dicts; the first names the reason."""
    record_many(session, [dict(source=source, raw=raw, errors=errors, event_id=event_id, row_ref=row_ref)],
                received_at=received_at)


def record_many(session: Session, items: Sequence[dict], *, received_at: datetime | None = None) -> None:
    """Keep several rejected items in one statement (same keys as ``record``)."""
    if not items:
        return
    at = (received_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    session.execute(
        DeadLetter.__table__.insert(),
        [
            {
                "received_at": at,
                "source": item["source"][:64],
                "event_id": (str(item.get("event_id"))[:128] if item.get("event_id") is not None else None),
                "row_ref": item.get("row_ref"),
                "raw": _raw_text(item["raw"]),
                "errors": list(item["errors"]),
                "reason": (item["errors"][0]["field"] if item["errors"] else "unknown")[:64],
            }
            for item in items
        ],
    )


def listing(session: Session, *, limit: int = 50, source: str | None = None) -> list[DeadLetter]:
    """Newest rejected items first."""
    stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if source:
        stmt = stmt.where(DeadLetter.source == source)
    return list(session.scalars(stmt))


def counts_by_reason(session: Session) -> dict[str, int]:
    rows = session.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)).all()
    return {reason: n for reason, n in rows}


def total(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DeadLetter)) or 0
