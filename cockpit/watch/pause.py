"""Loading history pauses the watchpoints: rules judge the present, never a half-loaded past.

While a seed, an import or a backfill writes old events, the tables hold a state that never
existed (tickets created but not yet closed, callbacks before their closures), so a live
evaluation would open alerts for the past and resolve them again moments later. A loader wraps
its work in ``history_load(stores)``: a ``job_runs`` row ``watchpoints:paused:<id>`` whose
``last_done`` is an expiry a few minutes ahead, refreshed by a daemon thread; the worker's
``evaluate_all`` skips while any such row has not expired. A loader that dies stops refreshing,
so its pause ends by itself within ``TTL``. ``evaluate`` itself (tests, backtests) is not paused.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from cockpit.store import jobruns
from cockpit.timeutil import utcnow

log = logging.getLogger(__name__)

PREFIX = "watchpoints:paused:"
TTL = timedelta(minutes=5)
REFRESH_S = 60.0
RETRY_S = 5.0  # after a failed refresh (SQLite busy with the load's own writes): try again soon, not in a minute


def _mark(stores, name: str) -> None:
    with stores.session() as session:
        now = utcnow()
        jobruns.set_done(session, name, now + TTL)


@contextmanager
def history_load(stores, reason: str = "history") -> Iterator[None]:
    """Pause the live watchpoint evaluation while the block loads history."""
    name = (PREFIX + reason[:16] + ":" + uuid.uuid4().hex[:12])[:64]
    _mark(stores, name)
    stop = threading.Event()

    def refresh() -> None:
        wait = REFRESH_S
        while not stop.wait(wait):
            try:
                _mark(stores, name)
                wait = REFRESH_S
            except Exception:  # noqa: BLE001 - retried until the pause would expire
                log.warning("could not refresh the watchpoint pause %s; retrying in %.0f s", name, RETRY_S)
                wait = RETRY_S

    thread = threading.Thread(target=refresh, name="watch-pause", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        with stores.session() as session:
            jobruns.remove(session, name)


def paused(session) -> bool:
    """Whether a history load is under way (an unexpired pause row exists)."""
    return jobruns.count_after(session, PREFIX, now=utcnow()) > 0
