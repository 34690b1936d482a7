"""How a snapshot reads its sources: a failed Redis or SQL read is recorded, not raised.

Each section of a snapshot carries ``as_of_ms`` (epoch milliseconds, UTC, when its data was read
or computed) and ``max_age_ms`` (``max_age_ms()``: twice its refresh period plus ``STALE_GRACE_S``;
older than this by the browser's clock the screen marks it stale). A source that fails is listed in ``failed`` with a one-line reason in ``errors``; the
circuit breaker on ``stores.caches`` then fails it fast for a few seconds instead of waiting on
its client's timeouts at every refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from cockpit.store import cache
from cockpit.store.db import Stores
from cockpit.timeutil import epoch_ms

log = logging.getLogger(__name__)

SOURCE_ERRORS = (redis.RedisError, SQLAlchemyError, OSError)


# Data that is flowing reaches a screen late by more than its refresh period: a shared payload is
# reused for a tick (2 s) and for up to 8 s while another process renders it (callbacks/shared_payload.py
# STALE_S), a loaded machine renders slowly, and the browser's clock is not the server's. A figure
# is stale when it is older than two refresh periods plus this grace: 14 s for the live panels.
STALE_GRACE_S = 10.0


def max_age_ms(period_s: float) -> int:
    """How old (ms, by the browser's clock) a section refreshed every ``period_s`` seconds may be
    before its screen marks it stale: two periods (one refresh may fail) plus ``STALE_GRACE_S``."""
    return int(round((2 * period_s + STALE_GRACE_S) * 1000))


def section(as_of: float, period_s: float, **values) -> dict:
    """A snapshot section: ``values`` with ``as_of_ms`` (from epoch seconds) and ``max_age_ms``
    (``max_age_ms(period_s)``, ``period_s`` the section's refresh period)."""
    return {"as_of_ms": epoch_ms(as_of), "max_age_ms": max_age_ms(period_s), **values}


def live_key(stores: Stores) -> tuple:
    """The breaker key of the Redis source."""
    return cache.live_key(stores.redis)


class Guard:
    """Runs one snapshot's reads, recording failed sources instead of raising."""

    def __init__(self, stores: Stores, scope: str) -> None:
        self.stores, self.scope = stores, scope
        self.breaker = stores.caches.breaker
        self.failed: list[str] = []
        self.errors: dict[str, str] = {}

    def run(self, source: str, key: tuple, fn: Callable[[], Any]) -> Any:
        """``fn()``, or None when ``source`` failed now or earlier in this snapshot."""
        if source in self.failed:
            return None
        if not self.breaker.allow(key):
            self.failed.append(source)
            self.errors[source] = "unavailable, retrying"
            return None
        try:
            value = fn()
        except SOURCE_ERRORS as exc:
            log.warning("wall %s: %s source failed: %s", self.scope, source, exc)
            self.breaker.failure(key)
            self.failed.append(source)
            self.errors[source] = type(exc).__name__
            return None
        self.breaker.success(key)
        return value

    def live(self, fn: Callable[[], Any]) -> Any:
        return self.run("live", live_key(self.stores), fn)

    def history(self, fn: Callable[[], Any]) -> Any:
        return self.run("history", ("history", id(self.stores.engine)), fn)
