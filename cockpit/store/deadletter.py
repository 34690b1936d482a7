"""The dead-letter table: every rejected event or import row, kept raw with its reasons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cockpit.events import Unparsed, printable
from cockpit.store.models import DeadLetter
from cockpit.timeutil import naive_utc, utcnow

RAW_LIMIT = 64 * 1024  # characters of the raw input kept per rejected item


def _raw_text(raw: Any) -> str:
    """The raw input as storable text: NUL and lone surrogates escaped (PostgreSQL refuses them)."""
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, Unparsed):
        text = raw.text
    else:
        try:
            text = json.dumps(raw, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            text = repr(raw)[:RAW_LIMIT]
    return printable(text[:RAW_LIMIT])


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def record_many(session: Session, items: Sequence[dict], *, received_at: datetime | None = None) -> None:
    """Keep rejected items in one statement.

    Each item: ``source``, ``raw``, ``errors`` (``{"field", "message"}`` dicts; the first names the
    reason) and optionally ``event_id`` and ``row_ref``.
    """
    if not items:
        return
    at = naive_utc(received_at) if received_at is not None else utcnow()
    session.execute(
        DeadLetter.__table__.insert(),
        [
            {
                "received_at": at,
                "source": item["source"][:64],
                "event_id": (printable(str(item.get("event_id")))[:128] if item.get("event_id") is not None else None),
                "row_ref": printable(str(item["row_ref"]))[:64] if item.get("row_ref") is not None else None,
                "raw": _raw_text(item["raw"]),
                "errors": _clean(list(item["errors"])),
                "reason": printable(item["errors"][0]["field"] if item["errors"] else "unknown")[:64],
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


def event_ids_of_source(session: Session, source: str, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` already have a dead letter from ``source`` (to dead-letter once)."""
    out: set[str] = set()
    ids = list(event_ids)
    for i in range(0, len(ids), 500):
        out.update(session.scalars(select(DeadLetter.event_id).where(
            DeadLetter.source == source, DeadLetter.event_id.in_(ids[i : i + 500]))))
    return out
