"""Names of the live store's Redis keys: one template per kind, the control keys, the local day.

Every key of a city carries the city as a hash tag (``ck:{620100}:...``) so that one city's keys
live in one Redis Cluster slot and the multi-key Lua scripts of ``write.apply`` stay legal there.
Buckets are keyed by the *local* date and minute (configured zone).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PREFIX = "ck"
QUEUE_HORIZON = timedelta(hours=6)  # queue ops for older events are history, not "now"
MAX_QUEUE_AGE = timedelta(hours=2)  # a call "waiting" longer than this lost its outcome event
MINUTE_METRICS = ("off", "ans", "abn", "sab", "sl", "wait_ms", "end", "handle_ms", "tkt", "tclosed")


# --- key templates: one per kind --------------------------------------------------------------


def key_minutes(city: str, day: str, prefix: str = PREFIX) -> str:
    """Hash of per-minute counters for one local day: field ``HHMM:metric``."""
    return f"{prefix}:{{{city}}}:min:{day}"


def key_day(city: str, day: str, prefix: str = PREFIX) -> str:
    """Hash of one local day's totals: ``metric``, ``dist:<code>``, ``cat:<name>``."""
    return f"{prefix}:{{{city}}}:day:{day}"


def key_seats(city: str, prefix: str = PREFIX) -> str:
    """Hash seat_id -> ``state|epoch_ms|event_id`` (newest wins)."""
    return f"{prefix}:{{{city}}}:seats"


def key_seat_counts(city: str, prefix: str = PREFIX) -> str:
    """Hash state -> number of seats in it."""
    return f"{prefix}:{{{city}}}:seatcount"


def key_waiting(city: str, prefix: str = PREFIX) -> str:
    """Sorted set of calls waiting now: call_id scored by queue-entry epoch seconds."""
    return f"{prefix}:{{{city}}}:waiting"


def key_done(city: str, prefix: str = PREFIX) -> str:
    """Sorted set of recently finished calls, so a late ``call.offered`` is not queued."""
    return f"{prefix}:{{{city}}}:done"


def key_meta(city: str, prefix: str = PREFIX) -> str:
    """Hash with ``applied_ms`` (wall clock of the last apply) for freshness."""
    return f"{prefix}:{{{city}}}:meta"


def key_panel(scope: str, name: str) -> str:
    """Hash of a precomputed wall panel (``store.panels``): ``tag`` (local day), ``computed_at`` (epoch s),
    ``value`` (JSON)."""
    return f"{PREFIX}:{{{scope}}}:panel:{name}"


def key_panel_lock(scope: str, name: str) -> str:
    """String (SET NX EX): held while one process computes a missing or stale panel inline."""
    return f"{PREFIX}:{{{scope}}}:panel:{name}:lock"


KEY_CITIES = f"{PREFIX}:cities"  # set of cities that have live data
KEY_EPOCH = f"{PREFIX}:epoch"  # hash: run_id (of the Redis server it was built on), watermark, built_ms
KEY_REBUILDING = f"{PREFIX}:rebuilding"  # string with a TTL, present while a rebuild runs
REBUILD_PREFIX = "ckr"  # a rebuild writes here, then renames its keys over the live ones
CONTROL_KEYS = (KEY_EPOCH, KEY_REBUILDING)


def day_str(moment: datetime, tz: ZoneInfo) -> str:
    """The local day (``tz``) of an aware ``moment`` as the keys spell it: YYYYMMDD."""
    return moment.astimezone(tz).strftime("%Y%m%d")
