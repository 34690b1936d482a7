"""The session cache in Redis (kiosk and user sessions): reads and writes only (the rules are in ``cockpit.auth.sessions``).

``ck:session:<id hash>`` holds a session found valid in SQL, as JSON, for a few seconds, or
the tombstone ``ended`` written when a transaction ends the session. Only single-key commands
(Redis Cluster safe). Every function swallows Redis errors: the caller reads SQL instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis as redis_lib
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PREFIX = "ck:session:"  # + the session id's SHA-256
TOMBSTONE = "ended"  # written over an entry at logout and revocation; loaders never overwrite it
TOMBSTONE_S = 300  # longer than any cache entry plus the transaction that ends the session
# Set the entry unless a tombstone holds the key.
_SET_UNLESS_ENDED = """
if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def read(client, id_hash: str, failed: Callable[[], None] | None = None) -> str | None:
    """The entry of a session (JSON), the tombstone, or None (absent or Redis unavailable; then
    ``failed`` is called, e.g. to open the screens' breaker so the next requests skip Redis)."""
    try:
        return client.get(PREFIX + id_hash)
    except redis_lib.RedisError:
        if failed is not None:
            failed()
        return None


def write(client, id_hash: str, value: str, seconds: int, failed: Callable[[], None] | None = None) -> bool:
    """Keep ``value`` for ``seconds`` unless the session was ended (tombstone); False when not kept."""
    try:
        return bool(client.eval(_SET_UNLESS_ENDED, 1, PREFIX + id_hash, value, seconds, TOMBSTONE))
    except redis_lib.RedisError:
        log.debug("session cache unavailable", exc_info=True)
        if failed is not None:
            failed()
        return False


def write_after_commit(session: Session, id_hash: str, value: str, seconds: int,
                       failed: Callable[[], None] | None = None) -> None:
    """``write`` once this transaction commits (nothing when it rolls back), with the Redis client
    ``Stores.session()`` puts in ``session.info``; without one nothing is cached."""
    client = session.info.get("cockpit_redis")
    if client is None:
        return

    def keep(_session) -> None:
        write(client, id_hash, value, seconds, failed)

    event.listen(session, "after_commit", keep, once=True)


def end(session: Session, id_hashes: list[str]) -> None:
    """Tombstone the entries of sessions this transaction ends: now (a loader that read SQL before
    the commit cannot cache what it read) and again after the commit. Uses the Redis client
    ``Stores.session()`` puts in ``session.info``; without one nothing was cached there."""
    client = session.info.get("cockpit_redis")
    if client is None or not id_hashes:
        return

    def tombstone(*_args) -> None:
        try:
            pipe = client.pipeline(transaction=False)
            for id_hash in id_hashes:
                pipe.set(PREFIX + id_hash, TOMBSTONE, ex=TOMBSTONE_S)
            pipe.execute()
        except redis_lib.RedisError:
            # SQL still ends the session; an entry left by a Redis outage lives session_cache_seconds
            log.warning("could not mark %d ended session(s) in Redis", len(id_hashes), exc_info=True)

    tombstone()
    event.listen(session, "after_commit", tombstone, once=True)
