"""The Redis panel store: slow wall figures precomputed by the worker, read by every web process.

A panel is the hash ``live.key_panel(scope, name)``: ``tag`` (the local day, ISO, the value
belongs to), ``computed_at`` (epoch seconds) and ``value`` (JSON). It is kept PANEL_KEEP_S, so it
outlives a stopped worker and is shown stale rather than missing. One process at a time computes
a missing panel inline, under ``live.key_panel_lock`` (SET NX EX, PANEL_LOCK_S).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime
from typing import Any

import redis

from cockpit.store import live
from cockpit.store.cache import Memo

PANEL_KEEP_S = 3600  # Redis TTL of a precomputed panel: it outlives a stopped worker, to be shown stale
PANEL_LOCK_S = 30  # an inline computation of a missing panel holds its lock at most this long

_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON-ready: {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples -> lists, datetimes -> ISO), so inline == stored."""
    return json.loads(json.dumps(value, default=_json_default))


def store_panel(client: redis.Redis, scope: str, name: str, tag: str, value: Any, *,
                computed_at: float | None = None) -> float:
    """Write a panel to the hash ``live.key_panel(scope, name)`` for PANEL_KEEP_S; returns computed_at (epoch s).

    Fields: ``tag`` (the local day, ISO, the value belongs to), ``computed_at`` (epoch seconds) and
    ``value`` (JSON). Idempotent (the last write wins).
    """
    computed_at = time.time() if computed_at is None else computed_at
    key = live.key_panel(scope, name)
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping={"tag": tag, "computed_at": repr(computed_at),
                            "value": json.dumps(value, default=_json_default)})
    pipe.expire(key, PANEL_KEEP_S)
    pipe.execute()
    return computed_at


def read_panel(client: redis.Redis, scope: str, name: str, *, memo: Memo | None = None) -> dict[str, Any] | None:
    """The stored panel ``{"tag", "computed_at", "value"}``, or None.

    With ``memo`` (``stores.caches.decoded``) the JSON value is fetched and decoded only when its
    ``computed_at`` changed since this process last read it (the baselines are ~70 kB).
    """
    key = live.key_panel(scope, name)
    tag, stamp = client.hmget(key, "tag", "computed_at")
    if tag is None or stamp is None:
        return None
    computed_at = float(stamp)
    memo_key = (id(client), key, tag)
    if memo is not None:
        hit, value = memo.get(memo_key, computed_at)
        if hit:
            return {"tag": tag, "computed_at": computed_at, "value": value}
    raw = client.hget(key, "value")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if memo is not None:
        memo.put(memo_key, computed_at, value)
    return {"tag": tag, "computed_at": computed_at, "value": value}


def take_lock(client: redis.Redis, scope: str, name: str) -> str | None:
    """The token of the panel's compute lock when this caller took it (held PANEL_LOCK_S at most), else None."""
    token = uuid.uuid4().hex
    return token if client.set(live.key_panel_lock(scope, name), token, nx=True, ex=PANEL_LOCK_S) else None


def release_lock(client: redis.Redis, scope: str, name: str, token: str) -> None:
    """Release the panel's compute lock if ``token`` still holds it (a lock that expired is left alone)."""
    client.eval(_RELEASE_LOCK, 1, live.key_panel_lock(scope, name), token)


def clear_panels(client: redis.Redis) -> int:
    """Delete every stored panel (and lock); returns how many keys."""
    keys = list(client.scan_iter(match=f"{live.PREFIX}:*:panel:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)
