"""Write a simulated history into the stores through the bulk path (``cockpit.bulk``).

Cities are independent in the simulation (each city-day has its own random stream) and in the
stores (no call, seat or ticket spans two cities), so a history loads in several processes at
once, each simulating and loading a group of cities; the rollups are computed once at the end.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.simulation import catalog
from cockpit.simulation.engine import Province, local_midnight
from cockpit.simulation.incidents import LOCAL_TZ

log = logging.getLogger(__name__)

BATCH = 50_000  # events per bulk chunk (one transaction each)
PARALLEL_BATCH_SQLITE = 10_000  # SQLite has one writer: short transactions let the other process in
WORKER_LOCK_TIMEOUT_S = 300.0  # a worker waits this long for SQLite's write lock (the other worker holds it)
SQLITE_YIELD_S = 0.1  # after each chunk on SQLite: other writers (live traffic, jobs, the pause) get the lock
DAY_MS = 86_400_000


def history_window(days: int, end: datetime | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of an N-day history: from the local midnight ``days`` days before ``end``.

    ``end`` defaults to now (UTC). Both results are aware UTC datetimes.
    """
    end = (end or datetime.now(UTC)).astimezone(UTC)
    first = (end.astimezone(LOCAL_TZ) - timedelta(days=days)).date()
    return local_midnight(first), end


def default_workers() -> int:
    """Loader processes for a history: one per core, at most 4 (SQLite's single writer caps the gain)."""
    return max(1, min(4, os.cpu_count() or 1))


def city_groups(cities: list[str], n: int) -> list[list[str]]:
    """``cities`` in ``n`` groups of about equal volume (volume follows population), largest first."""
    table = catalog.cities()
    groups: list[list[str]] = [[] for _ in range(max(1, min(n, len(cities))))]
    load = [0] * len(groups)
    for code in sorted(cities, key=lambda c: -table[c].population):
        i = load.index(min(load))
        groups[i].append(code)
        load[i] += table[code].population
    return groups


def _load_part(stores: Any, *, seed: int, cities: list[str] | None, scale: float, start: datetime,
               stop: datetime, origin: datetime, batch: int, window: Any, now: datetime, trusted: bool,
               on_day=None, columnar: bool = False, seat_detail: bool = False) -> dict:
    """Simulate ``[start, stop)`` for ``cities`` and load it through one ``BulkLoader`` (no rollups).

    ``on_day(done)`` is called once the events of the first ``done`` simulated days are written.
    Returns the totals and the loaded range (``lo``/``hi``, ISO, or None when nothing was new).
    """
    if columnar:
        from cockpit.bulk_columnar import load_part

        return load_part(stores, seed=seed, cities=cities, scale=scale, start=start, stop=stop, origin=origin,
                         batch=batch, window=window, now=now, trusted=trusted, on_day=on_day,
                         seat_detail=seat_detail)
    from cockpit.bulk import BulkLoader

    prov = Province(seed=seed, cities=cities, scale=scale, origin=origin, seat_detail=seat_detail)
    loader = BulkLoader(stores, source="sim", window=window, now=now, trusted=trusted)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "events": 0}
    pending: list[dict] = []
    start_ms = int(start.timestamp() * 1000)
    next_day_ms = start_ms + DAY_MS

    def flush() -> None:
        if not pending:
            return
        result = loader.add(pending[:])
        totals["accepted"] += result.accepted
        totals["duplicates"] += result.duplicates
        totals["rejected"] += len(result.rejected)
        totals["events"] += len(pending)
        pending.clear()
        if sqlite:  # SQLite's busy handler polls up to every 100 ms: leave it a window to win the lock
            time.sleep(SQLITE_YIELD_S)

    sqlite = stores.dialect == "sqlite"
    for ms, _eid, ev in prov.keyed_events(start, stop):
        if ms >= next_day_ms:
            flush()
            if on_day is not None:
                on_day((ms - start_ms) // DAY_MS)
            next_day_ms = start_ms + ((ms - start_ms) // DAY_MS + 1) * DAY_MS
        pending.append(ev)
        if len(pending) >= batch:
            flush()
    flush()
    loader.finish(rollup=False)
    totals["lo"] = loader.lo.isoformat() if loader.lo else None
    totals["hi"] = loader.hi.isoformat() if loader.hi else None
    return totals


def _part_process(settings: Any, redis_url: str, index: int, kwargs: dict, report: Any) -> None:
    """A loader process: its own stores, its group of cities; reports ("day", index, done) and
    ("done", index, totals) or ("error", index, traceback) on ``report``."""
    from cockpit.store.db import Stores

    from cockpit.store.bulk import tune_sqlite_for_load

    stores = Stores.open(settings.with_(redis_url=redis_url,
                                        db_lock_timeout_s=max(settings.db_lock_timeout_s, WORKER_LOCK_TIMEOUT_S)))
    tune_sqlite_for_load(stores.engine)
    try:
        totals = _load_part(stores, on_day=lambda done: report.put(("day", index, done)), **kwargs)
        report.put(("done", index, totals))
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises
        report.put(("error", index, traceback.format_exc()))
    finally:
        stores.close()


def _redis_url(stores: Any) -> str:
    """A URL another process can reach this process's Redis by (the embedded one by its socket)."""
    if stores.settings.redis_url:
        return stores.settings.redis_url
    return "unix://" + stores.redis.connection_pool.connection_kwargs["path"]


def _load_parallel(stores: Any, groups: list[list[str]], kwargs: dict, on_day) -> list[dict]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # never fork a process holding connections and threads
    report = ctx.Queue()
    url = _redis_url(stores)
    procs = [ctx.Process(target=_part_process, args=(stores.settings, url, i, {**kwargs, "cities": group}, report),
                         name=f"seed-{i}", daemon=True)
             for i, group in enumerate(groups)]
    for p in procs:
        p.start()
    days = [0] * len(procs)
    results: dict[int, dict] = {}
    try:
        while len(results) < len(procs):
            try:
                kind, index, value = report.get(timeout=5.0)
            except queue_mod.Empty:
                dead = [p.name for i, p in enumerate(procs) if i not in results and not p.is_alive()]
                if dead:
                    raise RuntimeError(f"history loader {', '.join(dead)} died without a report") from None
                continue
            if kind == "error":
                raise RuntimeError(f"history loader {index} failed:\n{value}")
            if kind == "day":
                days[index] = value
                if on_day is not None:
                    on_day(min(days))
            else:
                results[index] = value
    finally:
        for p in procs:
            if p.is_alive() and len(results) < len(procs):
                p.terminate()
            p.join(timeout=30)
    return [results[i] for i in range(len(procs))]


def seed_history(
    stores: Any,
    days: int,
    *,
    seed: int = 1,
    end: datetime | None = None,
    progress: bool | None = None,
    cities: list[str] | None = None,
    scale: float = 1.0,
    batch: int = BATCH,
    rollup: bool = True,
    on_day=None,
    workers: int = 1,
    trusted: bool = True,
    origin: datetime | None = None,
    columnar: bool = False,
    seat_detail: bool = False,
) -> dict:
    """Simulate ``days`` days up to ``end`` and load them through the bulk path, ``batch`` events a chunk.

    Same validation and final state as ``ingest_batch``; only today's events reach the live
    counters, and the rollups of the window are recomputed at the end (``rollup``).

    The history starts at a local (China) midnight and is its own origin: no step of a ticket
    created before it is written. Idempotent: event ids are deterministic, so running it twice
    with the same seed and window only counts duplicates. Returns totals and the incidents.
    ``on_day(done, total)`` is called each time a simulated day has been handed to the loader, and
    with ``(total, total)`` once everything is written. ``workers`` > 1 loads groups of cities in
    that many processes at once (same final state). ``progress``: a bar of simulated days on
    stderr (None: only when stderr is a terminal). ``trusted``: the simulator's own events skip
    validation (``events.trusted_event``; the same stored state, tests/test_bulk.py). ``origin``
    (default: the window's start) is where the simulated history began: steps of tickets created
    between it and the window's start are loaded too (``days=0``: today so far of a longer history).
    ``columnar``: simulate with ``cockpit.simulation.columnar`` (the same model drawn in numpy columns,
    not the same draws) and load through ``cockpit.bulk_columnar`` (PostgreSQL: COPY of columns,
    set-based moves and ticket folds in SQL; SQLite: the bulk path as raw events).
    ``seat_detail``: every answered call's seat states too (``on_call``, ``acw``, ``ready``), as the
    live simulators emit them; for a window that live traffic continues (its ids are the same).
    """
    from cockpit.bulk import progress_bar
    from cockpit.events import TimeWindow

    start, stop = history_window(days, end)
    origin = origin or start
    prov = Province(seed=seed, cities=cities, scale=scale, origin=origin)
    total_days = max(1, -(-int((stop - start).total_seconds()) // 86_400))
    bar = progress_bar(progress, total=total_days, desc="seeding", unit="day", unit_scale=False)
    # A seeded window may lie ahead of the clock (a simulated week to come): accept up to its end.
    configured = TimeWindow.from_settings(stores.settings)
    ahead = stop - datetime.now(UTC) + timedelta(minutes=1)
    window = replace(configured, max_future=max(configured.max_future, ahead))
    groups = city_groups(prov.cities, workers)
    if len(groups) > 1 and stores.dialect == "sqlite":
        batch = min(batch, PARALLEL_BATCH_SQLITE)
    kwargs = dict(seed=seed, scale=scale, start=start, stop=stop, origin=origin, batch=batch, window=window,
                  now=datetime.now(UTC), trusted=trusted, columnar=columnar, seat_detail=seat_detail)
    reported = 0

    def day_done(done: int) -> None:
        nonlocal reported
        if done > reported:
            if bar is not None:
                bar.update(done - reported)
            reported = done
            if on_day is not None:
                on_day(done, total_days)

    from cockpit.watch.pause import history_load

    with history_load(stores, "seed"):  # no live alerts for a half-loaded past
        if len(groups) > 1:
            parts = _load_parallel(stores, groups, kwargs, day_done)
        else:
            parts = [_load_part(stores, cities=cities, on_day=day_done, **kwargs)]
        los = [p["lo"] for p in parts if p["lo"]]
        if rollup and los:
            from cockpit import jobs

            lo = min(datetime.fromisoformat(x) for x in los)
            hi = max(datetime.fromisoformat(p["hi"]) for p in parts if p["hi"])
            jobs.rollup_all(stores, lo, hi + timedelta(seconds=1))
    day_done(total_days)
    if bar is not None:
        bar.close()
    totals = {key: sum(p[key] for p in parts) for key in ("accepted", "duplicates", "rejected", "events")}
    totals["start"], totals["end"] = start.isoformat(), stop.isoformat()
    totals["incidents"] = [i.as_dict() for i in prov.incidents(start, stop)]
    return totals
