"""The bulk path for history: seed, importers, ``cockpit import``, a replay.

Same validation, dead letters and SQL state as ``ingest.ingest_batch``, built for volume:

- big chunks (``CHUNK`` events per transaction) instead of API-sized batches;
- events staged with PostgreSQL ``COPY`` into a temporary table, then moved into ``events`` with
  one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` (executemany on SQLite);
- calls, seats and ticket steps written by the same set-based statements as the per-event path
  (one statement per table per chunk), tickets folded once per chunk for the tickets it touches;
- rollups recomputed once at the end, in SQL, over the range the load touched;
- Redis: only events of the live window (today, local, by default) are applied, and current seat
  states once at the end, instead of every historical event being counted into Redis.

The final SQL state equals the per-event path's for the same events in any order, duplicates
included (tests/test_bulk.py proves it on SQLite and PostgreSQL); today's live counters too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit import events as ev
from cockpit import timeutil
from cockpit.ingest import IngestResult, mark_live_dirty, validate_batch
from cockpit.events import TimeWindow
from cockpit.metrics import rollups
from cockpit.store import bulk as bulk_sql
from cockpit.store import deadletter, history, live, locks
from cockpit.store.db import Stores

log = logging.getLogger(__name__)

CHUNK = 50_000  # events per transaction
SQLITE_PREPARED_ATTEMPTS = 2  # then the chunk is written the plain way, prepared under the write lock


def _chunks(raws: Iterable[Any], refs: Iterable[str] | None, size: int) -> Iterator[tuple[list, list | None]]:
    batch: list = []
    ref_batch: list | None = [] if refs is not None else None
    ref_iter = iter(refs) if refs is not None else None
    for raw in raws:
        batch.append(raw)
        if ref_iter is not None:
            ref_batch.append(next(ref_iter))
        if len(batch) >= size:
            yield batch, ref_batch
            batch = []
            ref_batch = [] if refs is not None else None
    if batch:
        yield batch, ref_batch


def _store_chunk(stores: Stores, valid: list[Any], dead: list[dict], *, received_at: datetime) -> list[Any]:
    """One transaction: dead letters, events, calls, seats, ticket steps and folds. Returns the new events."""
    if stores.dialect == "sqlite":
        for attempt in range(SQLITE_PREPARED_ATTEMPTS):
            # The rows and folds are computed before the write transaction, so another loader
            # process writes while this one works (SQLite has one writer at a time).
            with stores.session() as session:
                chunk = bulk_sql.prepare_sqlite(session, valid, received_at=received_at)
            try:
                with stores.session() as session:
                    deadletter.record_many(session, dead, received_at=received_at)
                    new_ids = bulk_sql.write_sqlite(session, chunk)
                return [e for e in valid if e.event_id in new_ids]
            except bulk_sql.Raced:
                log.info("a concurrent writer changed rows this chunk read; preparing it again (%d)", attempt + 1)
        # Still racing (a busy live writer on the same tickets): the whole chunk under the lock.
    for attempt in range(3):
        try:
            with stores.session() as session:
                deadletter.record_many(session, dead, received_at=received_at)
                new_ids = bulk_sql.insert_events(session, valid, received_at=received_at)
                new = [e for e in valid if e.event_id in new_ids]
                history.upsert_calls(session, [e for e in new if e.type.startswith("call.")])
                history.upsert_seats(session, [e for e in new if e.type == "seat.state"],
                                     append=bulk_sql.append_rows)
                history.insert_ticket_steps(session, [e for e in new if e.type.startswith("ticket.")],
                                            append=bulk_sql.append_rows, upsert=bulk_sql.upsert_rows)
            return new
        except bulk_sql.Raced:
            log.info("a concurrent writer stored some events of this chunk; retrying (%d)", attempt + 1)
    raise RuntimeError("bulk chunk kept racing with another writer")


def live_window_start(stores: Stores, now: datetime, days: int = 1) -> datetime:
    """Local midnight ``days - 1`` days before ``now``'s local day (days=1: today), as aware UTC."""
    tz = stores.settings.tz
    first = (now.astimezone(tz) - timedelta(days=days - 1)).date()
    return datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)


class BulkLoader:
    """Feed chunks with ``add`` (each its own transaction, answered like ``ingest_batch``), then ``finish``.

    ``live_days`` local days up to ``now`` (1 = today) are applied to the live counters as they
    load; older events only reach SQL and the rollups (``cockpit live rebuild`` recreates the
    whole window when wanted). ``finish`` applies current seat states and recomputes the rollups
    of the range the load touched.
    """

    def __init__(self, stores: Stores, *, source: str, live_days: int = 1, now: datetime | None = None,
                 window: TimeWindow | None = None, trusted: bool = False) -> None:
        self.stores, self.source = stores, source
        # Events this process simulated itself skip validation outside the live window
        # (``events.trusted_event``: same stored state, tests/test_bulk.py); never for external input.
        self.trusted = trusted
        self.window = window  # None: the configured accepted time window (docs/events.md)
        self.now = now or datetime.now(UTC)
        self.cfg = live.LiveConfig.from_settings(stores.settings)
        # Today's counters, and the queue's horizon even when today began less than QUEUE_HORIZON ago.
        self.live_from = min(live_window_start(stores, self.now, live_days), self.now - live.QUEUE_HORIZON)
        self.total = IngestResult()
        self.lo: datetime | None = None
        self.hi: datetime | None = None
        self.seat_cities: set[str] = set()
        self._offset = 0

    def add(self, raws: list[Any], row_refs: list[str] | None = None) -> IngestResult:
        result = IngestResult()
        if self.trusted:
            valid, dead = self._trusted(raws, row_refs, result)
        else:
            valid, dead = validate_batch(self.stores, raws, source=self.source, row_refs=row_refs, result=result,
                                         window=self.window)
        # Held from the SQL write to the Redis apply, like ingest_batch: a live rebuild never
        # counts these events twice (cockpit.store.locks).
        with locks.held(self.stores, locks.LIVE, shared=True):
            return self._add(raws, valid, dead, result)

    def _trusted(self, raws: list[Any], row_refs: list[str] | None, result: IngestResult
                 ) -> tuple[list[Any], list[dict]]:
        """The simulator's events as ``TrustedEvent``s; those of the live window (they reach Redis)
        and anything unexpected go through ``validate_batch`` as usual."""
        valid: list[Any] = []
        checked: list[int] = []
        seen: set[str] = set()
        live_from = self.live_from
        for index, raw in enumerate(raws):
            try:
                event = ev.trusted_event(raw)
            except (KeyError, ValueError, TypeError):
                checked.append(index)
                continue
            if event.occurred_at >= live_from or event.event_id in seen:
                checked.append(index)
                continue
            seen.add(event.event_id)
            valid.append(event)
        if not checked:
            return valid, []
        sub = IngestResult()
        more, dead = validate_batch(self.stores, [raws[i] for i in checked], source=self.source,
                                    row_refs=[row_refs[i] for i in checked] if row_refs else
                                    [str(i) for i in checked], result=sub, window=self.window)
        result.duplicates += sub.duplicates
        for item in sub.rejected:
            result.rejected.append({**item, "index": checked[item["index"]]})
        for event in more:  # a repeat of a trusted event is a duplicate (the simulator never conflicts)
            if event.event_id in seen:
                result.duplicates += 1
            else:
                seen.add(event.event_id)
                valid.append(event)
        return valid, dead

    def _add(self, raws: list[Any], valid: list[Any], dead: list[dict], result: IngestResult) -> IngestResult:
        new = _store_chunk(self.stores, valid, dead, received_at=self.now)
        result.accepted = len(new)
        result.duplicates += len(valid) - len(new)
        recent = []
        lo, hi, live_from = self.lo, self.hi, self.live_from
        for e in new:
            at = e.occurred_at
            if lo is None or at < lo:
                lo = at
            if hi is None or at > hi:
                hi = at
            if e.type == "seat.state":
                self.seat_cities.add(e.city)
            elif at >= live_from:
                recent.append(e)
        self.lo, self.hi = lo, hi
        if recent:
            try:
                live.apply(self.stores.redis, recent, self.cfg, now=self.now)
            except Exception:  # noqa: BLE001 - SQL has the events; the worker rebuilds Redis
                log.exception("live apply failed during a bulk load; marking the live store dirty")
                result.live_applied = False
                mark_live_dirty(self.stores)
        self.total.add(result, index_offset=self._offset)
        self._offset += len(raws)
        return result

    def finish(self, *, rollup: bool = True) -> IngestResult:
        if self.seat_cities:
            _apply_current_seats(self.stores, self.seat_cities, self.cfg, self.now, self.total)
            self.seat_cities = set()
        if rollup and self.lo is not None:
            rollups.rollup_days(self.stores, self.lo, self.hi + timedelta(seconds=1))
        return self.total


def bulk_ingest(
    stores: Stores,
    raws: Iterable[Any],
    *,
    source: str,
    row_refs: Iterable[str] | None = None,
    chunk: int = CHUNK,
    live_days: int = 1,
    rollup: bool = True,
    progress: Any = None,
    now: datetime | None = None,
) -> IngestResult:
    """Load many raw events: the bulk twin of ``ingest_batch`` (same answers, same final state).

    See ``BulkLoader`` for the live window; ``progress`` is anything with ``update(n)`` (a tqdm
    bar), advanced per chunk.
    """
    loader = BulkLoader(stores, source=source, live_days=live_days, now=now)
    for raws_chunk, refs_chunk in _chunks(raws, row_refs, chunk):
        loader.add(raws_chunk, refs_chunk)
        if progress is not None:
            progress.update(len(raws_chunk))
    return loader.finish(rollup=rollup)


def _apply_current_seats(stores: Stores, cities: set[str], cfg: live.LiveConfig, now: datetime,
                         total: IngestResult) -> None:
    """Seat state is current state: the newest stored change per seat, applied once (newest wins in Redis)."""
    with stores.session() as session:
        seats = history.current_seats(session, cities=cities)
    events = [
        ev.SeatStateChanged(event_id=s.event_id, type="seat.state", occurred_at=timeutil.aware_utc(s.since),
                            city=s.city, seat_id=s.seat_id, state=s.state, reason=s.reason)
        for s in seats
    ]
    try:
        for i in range(0, len(events), 5000):
            live.apply(stores.redis, events[i : i + 5000], cfg, now=now)
    except Exception:  # noqa: BLE001
        log.exception("seat apply failed during a bulk load; marking the live store dirty")
        total.live_applied = False
        mark_live_dirty(stores)


def progress_bar(enabled: bool | None, *, total: int | None = None, desc: str = "loading", unit: str = "event",
                 unit_scale: bool = True):
    """A tqdm bar on stderr, or None when disabled; ``enabled=None`` means: only when stderr is a terminal.

    Only stderr: a command's JSON summary on stdout stays the one thing there.
    """
    import sys

    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit_scale, desc=desc, file=sys.stderr)
