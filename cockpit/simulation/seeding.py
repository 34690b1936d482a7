"""Write a simulated history into the stores through the bulk path (``cockpit.bulk``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.simulation.engine import Province, local_midnight
from cockpit.simulation.incidents import LOCAL_TZ

BATCH = 50_000  # events per bulk chunk (one transaction each)


def history_window(days: int, end: datetime | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of an N-day history: from the local midnight ``days`` days before ``end``.

    ``end`` defaults to now (UTC). Both results are aware UTC datetimes.
    """
    end = (end or datetime.now(UTC)).astimezone(UTC)
    first = (end.astimezone(LOCAL_TZ) - timedelta(days=days)).date()
    return local_midnight(first), end


def seed_history(
    stores: Any,
    days: int,
    *,
    seed: int = 1,
    end: datetime | None = None,
    progress: bool = True,
    cities: list[str] | None = None,
    scale: float = 1.0,
    batch: int = BATCH,
    rollup: bool = True,
    on_day=None,
) -> dict:
    """Simulate ``days`` days up to ``end`` and load them through the bulk path, ``batch`` events a chunk.

    Same validation and final state as ``ingest_batch``; only today's events reach the live
    counters, and the rollups of the window are recomputed at the end (``rollup``).

    The history starts at a local (China) midnight and is its own origin: no step of a ticket
    created before it is written. Idempotent: event ids are deterministic, so running it twice
    with the same seed and window only counts duplicates. Returns totals and the incidents.
    ``on_day(done, total)`` is called each time a simulated day has been handed to the loader, and
    with ``(total, total)`` once everything is written.
    """
    from cockpit.bulk import BulkLoader
    from cockpit.events import TimeWindow

    start, stop = history_window(days, end)
    prov = Province(seed=seed, cities=cities, scale=scale, origin=start)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "events": 0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=int((stop - start).total_seconds()),
            unit="s",
            unit_scale=True,
            desc="seeding (simulated seconds)",
        )
    # A seeded window may lie ahead of the clock (a simulated week to come): accept up to its end.
    configured = TimeWindow.from_settings(stores.settings)
    ahead = stop - datetime.now(UTC) + timedelta(minutes=1)
    loader = BulkLoader(stores, source="sim", window=replace(configured, max_future=max(configured.max_future, ahead)))
    pending: list[dict] = []
    last_ms = int(start.timestamp() * 1000)
    day_ms = 86_400_000
    total_days = max(1, -(-int((stop - start).total_seconds()) // 86_400))
    reported = 0

    def flush() -> None:
        result = loader.add(list(pending))
        totals["accepted"] += result.accepted
        totals["duplicates"] += result.duplicates
        totals["rejected"] += len(result.rejected)
        totals["events"] += len(pending)
        pending.clear()

    from cockpit.watch.pause import history_load

    with history_load(stores, "seed"):  # no live alerts for a half-loaded past
        for ms, _eid, ev in prov.keyed_events(start, stop):
            pending.append(ev)
            if len(pending) >= batch:
                flush()
                if bar is not None:
                    bar.update((ms - last_ms) // 1000)
                last_ms = ms
                done = (ms - int(start.timestamp() * 1000)) // day_ms
                if on_day is not None and done > reported:
                    reported = done
                    on_day(done, total_days)
        if pending:
            flush()
        loader.finish(rollup=rollup)
    if on_day is not None:
        on_day(total_days, total_days)
    if bar is not None:
        bar.update(max(0, int(stop.timestamp()) - last_ms // 1000))
        bar.close()
    totals["start"], totals["end"] = start.isoformat(), stop.isoformat()
    totals["incidents"] = [i.as_dict() for i in prov.incidents(start, stop)]
    return totals
