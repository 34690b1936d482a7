"""The one ingestion path: validate -> SQL (idempotent by event_id) -> Redis in one pipeline.

The HTTP API, ``cockpit ingest``, the importers, the simulator and the seeder all call
``ingest_batch``. SQL is committed first; Redis is applied after the commit, so a crash in
between leaves Redis short, never SQL. Such a batch marks the live store dirty and the
worker rebuilds it from SQL (``repair_live`` job).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.store import deadletter
from cockpit.store import history
from cockpit.store import live
from cockpit.store import regions
from cockpit.events import FieldError, validate
from cockpit.store.models import JobRun
from cockpit.store.db import Stores

log = logging.getLogger(__name__)

LIVE_DIRTY = "live_dirty"  # job_runs row set when a batch reached SQL but not Redis
REGION_CACHE_S = 60.0
_REGION_CODES = ("region_codes",)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    live_applied: bool = True

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}

    def add(self, other: "IngestResult", *, index_offset: int = 0) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend({**r, "index": r["index"] + index_offset} for r in other.rejected)
        self.live_applied = self.live_applied and other.live_applied


def _known_regions(stores: Stores) -> frozenset[str]:
    """Known region codes, re-read at most every REGION_CACHE_S (cached on ``stores.caches``); empty = no check."""

    def load() -> frozenset[str]:
        with stores.session() as session:
            return frozenset(regions.region_codes(session))

    return stores.caches.ttl.get(_REGION_CODES, REGION_CACHE_S, load)[0]


def forget_regions(stores: Stores) -> None:
    """Drop the cached region codes (after ``regions load``)."""
    stores.caches.ttl.forget(_REGION_CODES)


def _raw_event_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and raw.get("event_id") is not None:
        return str(raw["event_id"])
    return None


def ingest_batch(
    stores: Stores,
    raws: Sequence[Any],
    *,
    source: str,
    row_refs: Sequence[str] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest one batch of raw events (dicts as parsed from JSON).

    Idempotent by ``event_id``: a re-sent event is reported as a duplicate and changes nothing.
    Rejected events are answered with field and reason and kept in ``dead_letters`` (with
    ``row_refs[i]`` when given, e.g. a file's row number). Order within and across batches does
    not matter: state and counters are the same for any order of the same events.
    """
    result = IngestResult()
    received = now or datetime.now(UTC)
    valid, dead = validate_batch(stores, raws, source=source, row_refs=row_refs, result=result)

    with stores.session() as session:
        deadletter.record_many(session, dead, received_at=received)
        new_ids = history.insert_events(session, valid, received_at=received)
        new = [e for e in valid if e.event_id in new_ids]
        history.upsert_calls(session, [e for e in new if e.type.startswith("call.")])
        history.upsert_seats(session, [e for e in new if e.type == "seat.state"])
        history.insert_ticket_steps(session, [e for e in new if e.type.startswith("ticket.")])
    result.accepted = len(new)
    result.duplicates += len(valid) - len(new)

    try:
        live.apply(stores.redis, new, live.LiveConfig.from_settings(stores.settings))
    except Exception:  # noqa: BLE001 - SQL already holds the events; mark Redis for rebuild
        log.exception("live apply failed for %d events; marking the live store dirty", len(new))
        result.live_applied = False
        mark_live_dirty(stores)
    return result


def validate_batch(
    stores: Stores,
    raws: Sequence[Any],
    *,
    source: str,
    row_refs: Sequence[str] | None = None,
    result: IngestResult,
) -> tuple[list[Any], list[dict]]:
    """Validate raw events: returns the valid ones (first of each event_id) and dead-letter rows.

    Rejections go to ``result.rejected`` (index, event_id, errors); in-batch repeats count as
    duplicates. Shared by ``ingest_batch`` and the bulk path (``cockpit.bulk``).
    """
    known = _known_regions(stores)
    valid: list[Any] = []
    dead: list[dict] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        event, errors = validate(raw)
        if event is not None and known and event.city not in known:
            errors = [FieldError("city", f"unknown region code {event.city!r}")]
            event = None
        if event is None:
            reported = [e.as_dict() for e in errors]
            result.rejected.append({"index": index, "event_id": _raw_event_id(raw), "errors": reported})
            dead.append(
                {"source": source, "raw": raw, "errors": reported, "event_id": _raw_event_id(raw),
                 "row_ref": row_refs[index] if row_refs else str(index)}
            )
            continue
        if event.event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.event_id)
        valid.append(event)
    return valid, dead


def ingest_stream(stores: Stores, events: Iterable[Any], *, source: str, batch: int = 5000) -> IngestResult:
    """``ingest_batch`` over an iterable of raw events, ``batch`` at a time (for generated streams)."""
    total = IngestResult()
    pending: list[Any] = []
    offset = 0
    for event in events:
        pending.append(event)
        if len(pending) >= batch:
            total.add(ingest_batch(stores, pending, source=source), index_offset=offset)
            offset += len(pending)
            pending = []
    if pending:
        total.add(ingest_batch(stores, pending, source=source), index_offset=offset)
    return total


def mark_live_dirty(stores: Stores) -> None:
    with stores.session() as session:
        row = session.get(JobRun, LIVE_DIRTY) or JobRun(name=LIVE_DIRTY)
        row.updated_at = datetime.now(UTC).replace(tzinfo=None)
        session.merge(row)


def rebuild_live(stores: Stores, *, now: datetime | None = None) -> int:
    """Recompute every live counter from SQL: clear, then replay the stored events of the TTL
    window through the same ``live.apply`` and re-apply current seat states. Returns events replayed.

    Run it with ingestion paused (the worker does so by holding its own lock); the result is
    exactly what incremental ingestion of the same events gives.
    """
    now = now or datetime.now(UTC)
    cfg = live.LiveConfig.from_settings(stores.settings)
    since = now - timedelta(days=cfg.ttl_days + 1)
    live.clear(stores.redis)
    replayed = 0
    with stores.session() as session:
        for chunk in history.iter_events_since(session, since):
            events = [validate(p)[0] for p in chunk]
            live.apply(stores.redis, [e for e in events if e is not None], cfg, now=now)
            replayed += len(chunk)
        seats = [
            validate({"event_id": s.event_id, "type": "seat.state", "occurred_at": history.aware_utc(s.since)
                      .isoformat(), "city": s.city, "seat_id": s.seat_id, "state": s.state,
                      "reason": s.reason})[0]
            for s in history.current_seats(session)
        ]
        live.apply(stores.redis, [s for s in seats if s is not None], cfg, now=now)
        dirty = session.get(JobRun, LIVE_DIRTY)
        if dirty is not None:
            session.delete(dirty)
    return replayed
