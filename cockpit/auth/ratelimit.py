"""Rate limits: sliding-window counters in Redis (shared by every web process), one INCR per hit.

The window is approximated from two fixed windows: the current count plus the previous window's
count weighted by how much of it still overlaps (no burst of twice the limit at a boundary).

``hit(redis, bucket, key, limit, window_s)`` counts and answers whether the caller is over the
limit. When Redis is unreachable the limit is not enforced (logged): a failing cache must not lock
every user out; login lockout also lives in SQL (cockpit.auth.users) and holds without Redis.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

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


def _key(bucket: str, key: str, window: int, now: float) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"ck:rl:{bucket}:{digest}:{int(now // window)}"


def hit(redis, bucket: str, key: str, *, limit: Limit | None = None, now: float | None = None) -> Verdict:
    limit = limit or LIMITS[bucket]
    now = time.time() if now is None else now
    window = limit.window_s
    name, previous = _key(bucket, key, window, now), _key(bucket, key, window, now - window)
    try:
        pipe = redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 2 * window + 1)
        pipe.get(previous)
        current, _, before = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - fail open, loudly
        log.warning("rate limit %s not enforced: Redis unavailable (%s)", bucket, exc.__class__.__name__)
        return Verdict(True, 0, 0)
    overlap = 1.0 - (now % window) / window
    count = int(current) + int(int(before or 0) * overlap)
    retry = int(window - (now % window)) + 1
    return Verdict(count <= limit.count, count, retry)


def peek(redis, bucket: str, key: str, *, limit: Limit | None = None, now: float | None = None) -> int:
    """The current (sliding) count without counting (0 when Redis is unreachable)."""
    limit = limit or LIMITS[bucket]
    now = time.time() if now is None else now
    window = limit.window_s
    try:
        current, before = redis.mget(_key(bucket, key, window, now), _key(bucket, key, window, now - window))
    except Exception:  # noqa: BLE001
        return 0
    return int(current or 0) + int(int(before or 0) * (1.0 - (now % window) / window))
