"""Redis counters of the rate limits: one counter per (bucket, key, fixed window).

Keys: ``ck:rl:BUCKET:DIGEST:WINDOW_NO`` (the key, an IP address or a principal, hashed; the window
number is epoch seconds // window). A counter expires two windows after its own. The sliding
arithmetic and the limits are ``cockpit.auth.ratelimit``'s; errors of Redis propagate.
"""

from __future__ import annotations

import hashlib

import redis


def key_window(bucket: str, key: str, window: int, now: float) -> str:
    """The counter of ``key`` in ``bucket`` for the ``window``-second window holding ``now`` (epoch s)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"ck:rl:{bucket}:{digest}:{int(now // window)}"


def count_hit(client: redis.Redis, bucket: str, key: str, *, window: int, now: float) -> tuple[int, int]:
    """Count one hit in the current window; (current window's count, previous window's count).
    One round trip."""
    name, previous = key_window(bucket, key, window, now), key_window(bucket, key, window, now - window)
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, 2 * window + 1)
    pipe.get(previous)
    current, _, before = pipe.execute()
    return int(current), int(before or 0)


def counts(client: redis.Redis, bucket: str, key: str, *, window: int, now: float) -> tuple[int, int]:
    """(current window's count, previous window's count) without counting."""
    current, before = client.mget(key_window(bucket, key, window, now), key_window(bucket, key, window, now - window))
    return int(current or 0), int(before or 0)
