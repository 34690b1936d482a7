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

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cockpit import events as ev
from cockpit import timeutil
from cockpit.ingest import IngestResult, mark_live_dirty, validate_batch
from cockpit.events import TimeWindow
from cockpit.store import deadletter, history, live, locks
from cockpit.store.db import Stores
from cockpit.store.models import Seat

log = logging.getLogger(__name__)

CHUNK = 50_000  # events per transaction
_STAGE = "ck_stage_events"
_EVENT_COLUMNS = ("event_id", "type", "city", "entity_id", "occurred_at", "received_at", "source", "payload")


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


_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite


def _driver(session: Session):
    return session.connection().connection.driver_connection


def _cell(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime):
        return value.strftime(_SQLITE_TS) if sqlite else value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def append_rows(session: Session, model, rows: list[dict]) -> None:
    """Append rows that cannot conflict (their event ids were just claimed in ``events``), bypassing
    the ORM's per-row parameter processing: COPY on PostgreSQL, the driver's executemany on SQLite."""
    if not rows:
        return
    names = list(rows[0])
    table = model.__table__.name
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        marks = ", ".join("?" for _ in names)
        _driver(session).executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
            [tuple(_cell(r[n], True) for n in names) for r in rows])
        return
    with _driver(session).cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(tuple(_cell(r[n], False) for n in names))


def _event_rows(events: list[Any], received: datetime, sqlite: bool) -> Iterator[tuple]:
    for e in events:
        at = e.occurred_at.replace(tzinfo=None)  # validated events are UTC already
        # The same JSON document as ``to_json_dict`` (field order, no nulls), serialised in Rust.
        payload = e.model_dump_json(exclude_none=True)
        if sqlite:
            yield (e.event_id, e.type, e.city, e.entity_id, at.strftime(_SQLITE_TS), received.strftime(_SQLITE_TS),
                   e.source, payload)
        else:
            yield (e.event_id, e.type, e.city, e.entity_id, at, received, e.source, payload)


class _Raced(Exception):
    """Another writer stored some of this chunk's events between our look-up and our insert."""


def _insert_events(session: Session, events: list[Any], *, received_at: datetime) -> set[str]:
    """Store new events once; returns the ids that were new.

    PostgreSQL: COPY into a temporary stage, then one ``INSERT ... SELECT ... ON CONFLICT DO
    NOTHING RETURNING``. SQLite: look the ids up, then one executemany of the unknown ones; if
    the row count shows a concurrent writer took some, the chunk is retried (``_Raced``).
    """
    if not events:
        return set()
    received = timeutil.naive_utc(received_at)
    cols = ", ".join(_EVENT_COLUMNS)
    if session.get_bind().dialect.name == "sqlite":
        known: set[str] = set()
        ids = [e.event_id for e in events]
        conn = _driver(session)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            known.update(r[0] for r in conn.execute(
                f"SELECT event_id FROM events WHERE event_id IN ({', '.join('?' for _ in part)})", part))
        fresh = [e for e in events if e.event_id not in known]
        if not fresh:
            return set()
        cur = conn.executemany(f"INSERT OR IGNORE INTO events ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               _event_rows(fresh, received, True))
        if cur.rowcount != len(fresh):
            raise _Raced()
        return {e.event_id for e in fresh}
    session.execute(text(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (event_id text, type text, city text, entity_id text, "
        "occurred_at timestamp, received_at timestamp, source text, payload text) ON COMMIT DELETE ROWS"))
    with _driver(session).cursor() as cur, cur.copy(f"COPY {_STAGE} ({cols}) FROM STDIN") as copy:
        for row in _event_rows(events, received, False):
            copy.write_row(row)
    select_cols = ", ".join(c if c != "payload" else "payload::json" for c in _EVENT_COLUMNS)
    new = session.execute(text(
        f"INSERT INTO events ({cols}) SELECT {select_cols} FROM {_STAGE} "
        "ON CONFLICT DO NOTHING RETURNING event_id")).scalars().all()  # known ids: the claim trigger
    session.execute(text(f"TRUNCATE {_STAGE}"))
    return set(new)


def _store_chunk(stores: Stores, valid: list[Any], dead: list[dict], *, received_at: datetime) -> list[Any]:
    """One transaction: dead letters, events, calls, seats, ticket steps and folds. Returns the new events."""
    for attempt in range(3):
        try:
            with stores.session() as session:
                deadletter.record_many(session, dead, received_at=received_at)
                new_ids = _insert_events(session, valid, received_at=received_at)
                new = [e for e in valid if e.event_id in new_ids]
                history.upsert_calls(session, [e for e in new if e.type.startswith("call.")])
                history.upsert_seats(session, [e for e in new if e.type == "seat.state"], append=append_rows)
                history.insert_ticket_steps(session, [e for e in new if e.type.startswith("ticket.")],
                                            append=append_rows)
            return new
        except _Raced:
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
                 window: TimeWindow | None = None) -> None:
        self.stores, self.source = stores, source
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
        valid, dead = validate_batch(self.stores, raws, source=self.source, row_refs=row_refs, result=result,
                                     window=self.window)
        # Held from the SQL write to the Redis apply, like ingest_batch: a live rebuild never
        # counts these events twice (cockpit.store.locks).
        with locks.held(self.stores, locks.LIVE, shared=True):
            return self._add(raws, valid, dead, result)

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
            from cockpit import jobs

            jobs.rollup_all(self.stores, self.lo, self.hi + timedelta(seconds=1))
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
    from sqlalchemy import select

    with stores.session() as session:
        seats = session.scalars(select(Seat).where(Seat.city.in_(sorted(cities)))).all()
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
