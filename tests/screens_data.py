"""Demo-like data for screen tests: the simulator's traffic (all 14 Gansu cities, reduced scale)
through the one ingestion path, the watchpoints evaluated, regions loaded. Deterministic (seed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from cockpit.ingest import forget_regions, ingest_batch
from cockpit.simulation import generate
from cockpit.watch import evaluate as watchpoints
from geo.regions import load_default_regions
from tests.timeofday import daytime_now, wait_for_room

DAYS = 3
SCALE = 0.2


def seed_demo_like(stores, *, days: int = DAYS, scale: float = SCALE) -> datetime:
    """Simulated traffic for the ``days`` days up to ``daytime_now(20)``; returns that moment (aware UTC).

    Before 20:00 local the simulated day runs on to 20:00, ahead of the clock (``tests.timeofday``),
    so the maps and topics have a working day of today's traffic whenever the suite runs (at 00:24
    a city map had three classes of counts; by 10:00 one still had)."""
    with stores.session() as session:
        load_default_regions(session)
    forget_regions(stores)
    wait_for_room(10)
    now = daytime_now(20)
    start = now - timedelta(days=days)
    batch: list[dict] = []
    for raw in generate(start, now - start, seed=7, scale=scale, origin=start):
        batch.append(raw)
        if len(batch) >= 5000:
            assert ingest_batch(stores, batch, source="sim").rejected == []
            batch = []
    if batch:
        assert ingest_batch(stores, batch, source="sim").rejected == []
    watchpoints.evaluate_all(stores)
    return now
