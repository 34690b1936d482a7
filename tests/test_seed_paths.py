"""Seeding in big batches leaves exactly the state that event-by-event ingestion leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.store import live
from cockpit.store.models import Base
from cockpit.simulation import seed_history
from tests.factories import stored_state


def _wipe(stores) -> None:
    with stores.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    stores.redis.flushdb()


def test_seed001_bulk_batches_equal_one_event_at_a_time(stores):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    kwargs = dict(seed=5, end=end, progress=False, cities=["620300"], scale=0.05)
    bulk = seed_history(stores, 1, batch=5000, **kwargs)
    state, counters = stored_state(stores), live.snapshot(stores.redis)
    assert bulk["accepted"] > 100 and state["tickets"] and state["calls"]

    _wipe(stores)
    single = seed_history(stores, 1, batch=1, **kwargs)
    assert single["accepted"] == bulk["accepted"]
    assert stored_state(stores) == state
    assert live.snapshot(stores.redis) == counters
