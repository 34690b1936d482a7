"""Restarts and rebuilds of the live store: the epoch, the rebuilding flag, the swap of rebuilt keys.

The epoch says on which Redis server run the live keys were built complete (a restart gives a
new run id, so ``epoch_state`` tells a restarted Redis). A rebuild writes under ``REBUILD_PREFIX``
and ``swap_in`` renames its keys over the live ones; on a cluster every rename stays in its city's
slot (the ``{CITY}`` hash tag).
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from redis.cluster import RedisCluster

from cockpit.store.live.keys import CONTROL_KEYS, KEY_EPOCH, KEY_REBUILDING, PREFIX, REBUILD_PREFIX


def server_run_id(client: redis.Redis) -> str:
    """The Redis server's run id: a new one after every restart (persisted data or not). On a
    cluster, the run ids of all its primaries: a restart of any one of them changes it."""
    if isinstance(client, RedisCluster):
        infos = client.info("server", target_nodes=RedisCluster.PRIMARIES)
        return ",".join(sorted(str(info.get("run_id", "")) for info in infos.values()))
    return str(client.info("server").get("run_id", ""))


def epoch_state(client: redis.Redis) -> str:
    """``ok`` (built on this server run), ``missing`` (no epoch: restarted empty, or never built),
    ``stale`` (built on another run: restarted with persisted, possibly old data) or
    ``rebuilding`` (a rebuild is running)."""
    if isinstance(client, RedisCluster):  # INFO cannot be pipelined on a cluster
        run_id, rebuilding, current = client.hget(KEY_EPOCH, "run_id"), client.exists(KEY_REBUILDING), None
    else:
        pipe = client.pipeline(transaction=False)
        pipe.hget(KEY_EPOCH, "run_id")
        pipe.exists(KEY_REBUILDING)
        pipe.info("server")
        run_id, rebuilding, info = pipe.execute()
        current = str(info.get("run_id", ""))
    if rebuilding:
        return "rebuilding"
    if run_id is None:
        return "missing"
    if current is None:
        current = server_run_id(client)
    return "ok" if run_id == current else "stale"


def set_epoch(client: redis.Redis, *, watermark: int) -> None:
    """Declare the live keys complete on this server run, up to event row ``watermark``."""
    client.hset(KEY_EPOCH, mapping={"run_id": server_run_id(client), "watermark": watermark,
                                    "built_ms": int(round(datetime.now(UTC).timestamp() * 1000))})


def swap_in(client: redis.Redis, *, prefix: str = REBUILD_PREFIX) -> int:
    """Replace the live keys by the ones built under ``prefix``: rename each over its live twin and
    delete live keys the build did not produce (precomputed panels and control keys are kept).
    Returns the number of keys swapped in. Run it while ingestion is held off (``locks.LIVE``)."""
    built = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    built_live = {PREFIX + key[len(prefix):] for key in built}
    stale = [key for key in client.scan_iter(match=f"{PREFIX}:*", count=1000)
             if key not in built_live and key not in CONTROL_KEYS and ":panel:" not in key]
    if isinstance(client, RedisCluster):
        # No transaction across slots: each rename stays in its city's slot ({CITY} hash tag), and
        # ingestion is held off by the caller's lock, so nothing reads a half-swapped city for long.
        for i in range(0, len(stale), 500):
            client.delete(*stale[i : i + 500])
        for key in built:
            target = PREFIX + key[len(prefix):]
            if client.keyslot(key) == client.keyslot(target):
                client.rename(key, target)
            else:  # a key without a {CITY} tag (e.g. the city set) lives in another slot: copy it
                ttl = client.pttl(key)
                client.restore(target, max(ttl, 0), client.dump(key), replace=True)
                client.delete(key)
        return len(built)
    pipe = client.pipeline(transaction=True)
    for i in range(0, len(stale), 500):
        pipe.delete(*stale[i : i + 500])
    for key in built:
        pipe.rename(key, PREFIX + key[len(prefix):])
    pipe.execute()
    return len(built)


def clear_prefix(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (a rebuild's leftovers); returns how many."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    return len(keys)


def mark_rebuilding(client: redis.Redis, started: datetime, *, ttl_s: int) -> None:
    """Flag the live store ``rebuilding`` (screens say so) for ``ttl_s`` seconds: a rebuild that
    dies leaves no flag behind for long."""
    client.set(KEY_REBUILDING, started.isoformat(), ex=ttl_s)


def keep_rebuilding(client: redis.Redis, *, ttl_s: int) -> None:
    """Extend the ``rebuilding`` flag by ``ttl_s`` seconds (a rebuild still making progress)."""
    client.expire(KEY_REBUILDING, ttl_s)


def clear_rebuilding(client: redis.Redis) -> None:
    """Drop the ``rebuilding`` flag (the rebuild finished or failed)."""
    client.delete(KEY_REBUILDING)


def clear(client: redis.Redis) -> int:
    """Delete every cockpit key; returns how many."""
    keys = list(client.scan_iter(match=f"{PREFIX}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    return len(keys)
