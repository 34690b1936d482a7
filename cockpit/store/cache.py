"""In-process caches that hang off ``Stores``: a TTL cache and a circuit breaker.

They live on the stores object (``stores.caches``), never in module globals, so two apps in one
process (tests) never share cached figures or a failed source.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RETRY_S = 5.0  # a failed source is retried after this many seconds
TTL_MAX_ENTRIES = 2048
MEMO_MAX_ENTRIES = 4096


class TTLCache:
    """Values by key, each valid for its own TTL (monotonic seconds); thread-safe."""

    def __init__(self) -> None:
        self._data: dict[tuple, tuple[float, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, ttl_s: float, compute: Callable[[], Any]) -> tuple[Any, float]:
        """(value, computed_at epoch seconds); computes outside the lock on a miss."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[2], hit[1]
        value = compute()
        stamp = time.time()
        with self._lock:
            self._data[key] = (time.monotonic(), stamp, value)
            if len(self._data) > TTL_MAX_ENTRIES:
                self._data.clear()
        return value, stamp

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class Breaker:
    """After a source fails, report it failed at once for RETRY_S seconds instead of waiting on it.

    A down Redis or database makes each call wait for its client's timeouts and retries (about
    4 s with redis-py's defaults), so every 2-second refresh would hang that long before marking
    the screen. While open, one caller per RETRY_S probes the source; the others fail fast.
    """

    def __init__(self) -> None:
        self._until: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple) -> bool:
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return True
            now = time.monotonic()
            if now >= until:
                self._until[key] = now + RETRY_S
                return True
            return False

    def is_open(self, key: tuple) -> bool:
        """Whether ``key`` failed less than RETRY_S ago (no side effect, unlike ``allow``)."""
        with self._lock:
            until = self._until.get(key)
        return until is not None and time.monotonic() < until

    def success(self, key: tuple) -> None:
        with self._lock:
            self._until.pop(key, None)

    def failure(self, key: tuple) -> None:
        with self._lock:
            self._until[key] = time.monotonic() + RETRY_S

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


class Memo:
    """Decoded values by key, kept with the stamp they were decoded at (thread-safe enough for a dict)."""

    def __init__(self) -> None:
        self._data: dict[tuple, tuple[float, Any]] = {}

    def get(self, key: tuple, stamp: float) -> tuple[bool, Any]:
        """(hit, value): a hit only when the value was memoised at this very ``stamp``."""
        hit = self._data.get(key)
        if hit is not None and hit[0] == stamp:
            return True, hit[1]
        return False, None

    def put(self, key: tuple, stamp: float, value: Any) -> None:
        if len(self._data) > MEMO_MAX_ENTRIES:
            self._data.clear()
        self._data[key] = (stamp, value)

    def clear(self) -> None:
        self._data.clear()


def live_key(redis_client) -> tuple:
    """The breaker key of the Redis source (the live store) behind ``redis_client``."""
    return ("live", id(redis_client))


@dataclass
class Caches:
    """Everything one ``Stores`` caches in process: figures by TTL, failed sources, decoded panels."""

    ttl: TTLCache = field(default_factory=TTLCache)
    breaker: Breaker = field(default_factory=Breaker)
    decoded: Memo = field(default_factory=Memo)

    def clear(self) -> None:
        """Forget every cached figure, failed source and decoded panel."""
        self.ttl.clear()
        self.breaker.clear()
        self.decoded.clear()
