"""Rate limits: sliding-window counters in Redis (shared by every web process), one INCR per hit.

The window is approximated from two fixed windows: the current count plus the previous window's
count weighted by how much of it still overlaps (no burst of twice the limit at a boundary).

``hit(redis, bucket, key, limit, window_s)`` counts and answers whether the caller is over the
limit. When Redis is unreachable the limit is not enforced (logged): a failing cache must not lock
every user out; login lockout also lives in SQL (cockpit.auth.users) and holds without Redis.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from cockpit.store import ratelimit as counters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int


# Per bucket: how many hits in how many seconds, per key (an IP address or a principal).
LIMITS: dict[str, Limit] = {
    "login_ip": Limit(20, 300),  # login attempts from one address
    "token_fail": Limit(20, 300),  # requests with a bad bearer token from one address
    "export": Limit(30, 300),  # CSV / Excel exports per principal
    "staffing": Limit(60, 60),  # staffing computations per principal
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int


def hit(redis, bucket: str, key: str, *, limit: Limit | None = None, now: float | None = None) -> Verdict:
    limit = limit or LIMITS[bucket]
    now = time.time() if now is None else now
    window = limit.window_s
    try:
        current, before = counters.count_hit(redis, bucket, key, window=window, now=now)
    except Exception as exc:  # noqa: BLE001 - fail open, loudly
        log.warning("rate limit %s not enforced: Redis unavailable (%s)", bucket, exc.__class__.__name__)
        return Verdict(True, 0, 0)
    overlap = 1.0 - (now % window) / window
    count = current + int(before * overlap)
    retry = int(window - (now % window)) + 1
    return Verdict(count <= limit.count, count, retry)


def peek(redis, bucket: str, key: str, *, limit: Limit | None = None, now: float | None = None) -> int:
    """The current (sliding) count without counting (0 when Redis is unreachable)."""
    limit = limit or LIMITS[bucket]
    now = time.time() if now is None else now
    window = limit.window_s
    try:
        current, before = counters.counts(redis, bucket, key, window=window, now=now)
    except Exception:  # noqa: BLE001
        return 0
    return current + int(before * (1.0 - (now % window) / window))
