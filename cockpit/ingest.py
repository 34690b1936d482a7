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

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cockpit.batching import batches
from cockpit.store import deadletter
from cockpit.store import flags
from cockpit.store import history
from cockpit.store import jobruns
from cockpit.store import live
from cockpit.store import locks
from cockpit.store import regions
from cockpit.events import FieldError, TimeWindow, printable, to_json_dict, validate
from cockpit.store.db import Stores
from cockpit.timeutil import aware_utc

log = logging.getLogger(__name__)

LIVE_DIRTY = "live_dirty"  # job_runs row set when a batch reached SQL but not Redis
LIVE_EPOCH = "live_epoch"  # job_runs row: the live store has been built at least once
REBUILD_SOURCE = "rebuild"  # dead-letter source of stored events a rebuild had to skip
REBUILD_FLAG_TTL_S = 120  # the rebuilding flag outlives a crashed rebuild by at most this
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
        return printable(str(raw["event_id"]))
    return None


def transient(exc: BaseException) -> bool:
    """Whether a store error is an outage (retry later), not something wrong with the data."""
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def same_event(stored: dict, payload: dict) -> bool:
    """Two payloads of one ``event_id`` describe the same fact (the ``source`` label aside)."""
    return {k: v for k, v in stored.items() if k != "source"} == {k: v for k, v in payload.items() if k != "source"}


CONFLICT_MESSAGE = "conflict: this event_id is already stored with a different payload (the first is kept)"


def _conflict(index: int, event: Any, first: dict, row_ref: str, source: str) -> tuple[dict, dict]:
    errors = [{"field": "event_id", "message": CONFLICT_MESSAGE}]
    raw = {"conflict": event.event_id, "first": first, "second": to_json_dict(event)}
    return ({"index": index, "event_id": event.event_id, "errors": errors},
            {"source": source, "raw": raw, "errors": errors, "event_id": event.event_id, "row_ref": row_ref})


def _write(session, valid: list[Any], received: datetime) -> set[str]:
    new_ids = history.insert_events(session, valid, received_at=received)
    new = [e for e in valid if e.event_id in new_ids]
    history.upsert_calls(session, [e for e in new if e.type.startswith("call.")])
    history.upsert_seats(session, [e for e in new if e.type == "seat.state"])
    history.insert_ticket_steps(session, [e for e in new if e.type.startswith("ticket.")])
    flags.check(session, new)
    return new_ids


def _store(stores: Stores, valid: list[Any], dead: list[dict], received: datetime
           ) -> tuple[set[str], list[tuple[Any, str]]]:
    """Write ``valid`` events and ``dead`` letters in one transaction; returns (new ids, failures).

    When the database refuses the batch for something in its data, the batch is split in halves
    until the event at fault is alone: it fails, every other event is stored. Outages raise.
    """
    try:
        with stores.session() as session:
            deadletter.record_many(session, dead, received_at=received)
            return _write(session, valid, received), []
    except Exception as exc:  # noqa: BLE001 - classified below
        if transient(exc) or isinstance(exc, RecursionError):
            raise
        if len(valid) <= 1 and not dead:
            reason = f"refused by the database: {exc.__class__.__name__}: {printable(str(exc))[:200]}"
            return set(), [(valid[0], reason)] if valid else []
        if dead:  # dead letters are sanitised; keep them apart so they cannot sink the events
            with stores.session() as session:
                deadletter.record_many(session, dead, received_at=received)
            return _store(stores, valid, [], received)
        half = len(valid) // 2
        ids_a, fail_a = _store(stores, valid[:half], [], received)
        ids_b, fail_b = _store(stores, valid[half:], [], received)
        log.warning("batch split to isolate %d refused event(s): %s", len(fail_a) + len(fail_b), exc.__class__.__name__)
        return ids_a | ids_b, fail_a + fail_b


def ingest_batch(
    stores: Stores,
    raws: Sequence[Any],
    *,
    source: str,
    row_refs: Sequence[str] | None = None,
    now: datetime | None = None,
    window: TimeWindow | None = None,
) -> IngestResult:
    """Ingest one batch of raw events (dicts as parsed from JSON).

    Idempotent by ``event_id``: a re-sent event is reported as a duplicate and changes nothing;
    a re-used id with a different payload is a conflict (rejected, both payloads dead-lettered,
    the first kept). Rejected events are answered with field and reason and kept in
    ``dead_letters`` (with ``row_refs[i]`` when given, e.g. a file's line number). One bad event
    never fails the others. Order within and across batches does not matter: state and counters
    are the same for any order of the same events. Raises only when a store is down (``transient``).
    ``window`` replaces the configured accepted time window (a simulator seeding a future it made up).
    """
    result = IngestResult()
    received = now or datetime.now(UTC)
    index_of: dict[str, int] = {}
    valid, dead = validate_batch(stores, raws, source=source, row_refs=row_refs, result=result, window=window,
                                 now=received, index_of=index_of)
    payload_of = {e.event_id: to_json_dict(e) for e in valid}

    def ref(index: int) -> str:
        return row_refs[index] if row_refs else str(index)

    with locks.held(stores, locks.LIVE, shared=True):
        new_ids, failures = _store(stores, valid, dead, received)
        failed_ids = {event.event_id for event, _ in failures}
        repeated = [e for e in valid if e.event_id not in new_ids and e.event_id not in failed_ids]
        late_dead: list[dict] = []
        for event, reason in failures:
            errors = [{"field": "(event)", "message": reason}]
            result.rejected.append({"index": index_of[event.event_id], "event_id": event.event_id, "errors": errors})
            late_dead.append({"source": source, "raw": payload_of[event.event_id], "errors": errors,
                              "event_id": event.event_id, "row_ref": ref(index_of[event.event_id])})
        if repeated:
            with stores.session() as session:
                stored = history.stored_payloads(session, [e.event_id for e in repeated])
            for event in repeated:
                earlier = stored.get(event.event_id)
                if earlier is None or same_event(earlier, payload_of[event.event_id]):
                    result.duplicates += 1
                else:
                    answer, letter = _conflict(index_of[event.event_id], event, earlier,
                                               ref(index_of[event.event_id]), source)
                    result.rejected.append(answer)
                    late_dead.append(letter)
        if late_dead:
            with stores.session() as session:
                deadletter.record_many(session, late_dead, received_at=received)
        result.rejected.sort(key=lambda r: r["index"])
        new = [e for e in valid if e.event_id in new_ids]
        result.accepted = len(new)
        try:
            live.apply(stores.redis, new, live.LiveConfig.from_settings(stores.settings))
            _check_epoch(stores)
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
    window: TimeWindow | None = None,
    now: datetime | None = None,
    index_of: dict[str, int] | None = None,
) -> tuple[list[Any], list[dict]]:
    """Validate raw events: returns the valid ones (first of each event_id) and dead-letter rows.

    Rejections go to ``result.rejected`` (index, event_id, errors); in-batch repeats of the same
    payload count as duplicates, of another payload as conflicts (rejected, both payloads
    dead-lettered). ``window`` defaults to the configured accepted time window, checked against
    ``now``. ``index_of`` (when given) receives event_id -> index of each valid event. Shared by
    ``ingest_batch`` and the bulk path (``cockpit.bulk``).
    """
    window = window or TimeWindow.from_settings(stores.settings)
    now = now or datetime.now(UTC)
    known = _known_regions(stores)
    valid: list[Any] = []
    dead: list[dict] = []
    first: dict[str, dict] = {}
    index_of = {} if index_of is None else index_of

    def ref(index: int) -> str:
        return row_refs[index] if row_refs else str(index)

    for index, raw in enumerate(raws):
        event, errors = validate(raw, window=window, now=now)
        if event is not None and known and event.city not in known:
            errors = [FieldError("city", f"unknown region code {printable(event.city)!r}")]
            event = None
        if event is None:
            reported = [e.as_dict() for e in errors]
            result.rejected.append({"index": index, "event_id": _raw_event_id(raw), "errors": reported})
            dead.append({"source": source, "raw": raw, "errors": reported, "event_id": _raw_event_id(raw),
                         "row_ref": ref(index)})
            continue
        payload = to_json_dict(event)
        if event.event_id in first:
            if same_event(first[event.event_id], payload):
                result.duplicates += 1
            else:
                answer, letter = _conflict(index, event, first[event.event_id], ref(index), source)
                result.rejected.append(answer)
                dead.append(letter)
            continue
        first[event.event_id] = payload
        index_of[event.event_id] = index
        valid.append(event)
    return valid, dead


def _check_epoch(stores: Stores) -> None:
    """After an apply: a Redis that lost its epoch restarted (mark for rebuild); a never-built one
    (first ingest of a deployment) gets its first epoch here."""
    state = live.epoch_state(stores.redis)
    if state in ("ok", "rebuilding"):
        return
    with stores.session() as session:
        built_before = jobruns.exists(session, LIVE_EPOCH)
    if state == "missing" and not built_before:
        with stores.session() as session:
            watermark = history.max_event_row(session)
            jobruns.touch(session, LIVE_EPOCH)
        live.set_epoch(stores.redis, watermark=watermark)
        return
    log.warning("live store %s (Redis restarted?): marking it for rebuild", state)
    mark_live_dirty(stores)


def ingest_stream(stores: Stores, events: Iterable[Any], *, source: str, batch: int = 5000,
                  refs: bool = False) -> IngestResult:
    """``ingest_batch`` over an iterable of raw events, ``batch`` at a time (streams, files).

    With ``refs`` the items are (raw event, row reference) pairs, the reference kept with a
    rejected event in the dead letters (e.g. 'line 12'). Rejected indexes count from the stream's start.
    """
    total = IngestResult()
    offset = 0
    for chunk in batches(events, batch):
        if refs:
            raws, row_refs = [raw for raw, _ in chunk], [ref for _, ref in chunk]
        else:
            raws, row_refs = chunk, None
        total.add(ingest_batch(stores, raws, source=source, row_refs=row_refs), index_offset=offset)
        offset += len(chunk)
    return total


def mark_live_dirty(stores: Stores) -> None:
    with stores.session() as session:
        jobruns.touch(session, LIVE_DIRTY)


@dataclass
class RebuildReport:
    replayed: int = 0
    caught_up: int = 0
    skipped: list[dict] = field(default_factory=list)
    watermark: int = 0

    def as_dict(self) -> dict:
        return {"replayed_events": self.replayed, "caught_up_events": self.caught_up,
                "skipped": self.skipped, "watermark": self.watermark}


def rebuild_live(stores: Stores, *, now: datetime | None = None) -> int:
    """``rebuild_live_report`` returning the number of events replayed from SQL."""
    return rebuild_live_report(stores, now=now).replayed


def _replay(stores: Stores, payloads: Iterable[dict], cfg: live.LiveConfig, window: TimeWindow, now: datetime,
            report: RebuildReport, poisoned: list[dict]) -> int:
    events = []
    for payload in payloads:
        event, errors = validate(payload, window=window, now=now)
        if event is None:
            poisoned.append({"raw": payload, "errors": [e.as_dict() for e in errors]})
        else:
            events.append(event)
    for event, reason in live.apply(stores.redis, events, cfg, now=now, prefix=live.REBUILD_PREFIX):
        poisoned.append({"raw": to_json_dict(event), "errors": [{"field": "occurred_at", "message": reason}]})
    return len(events)


def rebuild_live_report(stores: Stores, *, now: datetime | None = None) -> RebuildReport:
    """Recompute every live counter from SQL without stopping ingestion, and never crash on stored data.

    1. Under the exclusive LIVE lock (in-flight ingests finish first): fix the watermark (the last
       event row) and flag the live store ``rebuilding`` (screens say so).
    2. Replay the stored events of the TTL window up to the watermark into new keys
       (``REBUILD_PREFIX``) through the same ``live.apply``, then the current seat states.
       Ingestion goes on meanwhile into the old keys.
    3. Under the exclusive lock again: apply the events stored after the watermark to the new keys,
       rename them over the old ones, write the new epoch. No event is missed or counted twice.

    A stored event that no longer validates or cannot be bucketed (e.g. year 9999 from before the
    time window existed) is skipped, reported and dead-lettered once (source ``rebuild``).
    """
    now = now or datetime.now(UTC)
    cfg = live.LiveConfig.from_settings(stores.settings)
    window = TimeWindow.from_settings(stores.settings)
    since = now - timedelta(days=cfg.ttl_days + 1)
    report = RebuildReport()
    poisoned: list[dict] = []
    client = stores.redis
    live.clear_prefix(client, live.REBUILD_PREFIX)
    with locks.held(stores, locks.LIVE):
        with stores.session() as session:
            watermark = history.max_event_row(session)
        live.mark_rebuilding(client, now, ttl_s=REBUILD_FLAG_TTL_S)
    try:
        with stores.session() as session:
            for chunk in history.iter_events_since(session, since, until_id=watermark):
                report.replayed += _replay(stores, chunk, cfg, window, now, report, poisoned)
                live.keep_rebuilding(client, ttl_s=REBUILD_FLAG_TTL_S)
            seats = [
                {"event_id": s.event_id, "type": "seat.state", "occurred_at": aware_utc(s.since).isoformat(),
                 "city": s.city, "seat_id": s.seat_id, "state": s.state, "reason": s.reason}
                for s in history.current_seats(session)
            ]
        _replay(stores, seats, cfg, None, now, report, poisoned)  # type: ignore[arg-type]
        with locks.held(stores, locks.LIVE):
            with stores.session() as session:
                last = watermark
                for chunk in history.iter_events_after(session, watermark):
                    report.caught_up += _replay(stores, [p for _, p in chunk], cfg, window, now, report, poisoned)
                    last = chunk[-1][0]
            live.swap_in(client)
            live.set_epoch(client, watermark=last)
            live.clear_rebuilding(client)
            report.watermark = last
            with stores.session() as session:
                jobruns.remove(session, LIVE_DIRTY)
                jobruns.touch(session, LIVE_EPOCH)
    except BaseException:
        live.clear_rebuilding(client)
        live.clear_prefix(client, live.REBUILD_PREFIX)
        raise
    if poisoned:
        _dead_letter_poison(stores, poisoned, report)
    return report


def _dead_letter_poison(stores: Stores, poisoned: list[dict], report: RebuildReport) -> None:
    ids = [p["raw"].get("event_id") if isinstance(p["raw"], dict) else None for p in poisoned]
    with stores.session() as session:
        already = deadletter.event_ids_of_source(session, REBUILD_SOURCE, [i for i in ids if i])
        fresh = [
            {"source": REBUILD_SOURCE, "raw": p["raw"], "errors": p["errors"], "event_id": i,
             "row_ref": f"event {i}"}
            for p, i in zip(poisoned, ids) if i not in already
        ]
        deadletter.record_many(session, fresh)
    for p, i in zip(poisoned, ids):
        report.skipped.append({"event_id": i, "errors": p["errors"]})
    log.warning("rebuild skipped %d stored event(s) it cannot apply (dead-lettered, source %r)",
                len(poisoned), REBUILD_SOURCE)
