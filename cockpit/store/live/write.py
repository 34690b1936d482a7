"""The write path of the live counters: ``apply`` a batch of validated events to Redis in one pipeline.

Nothing here is truth; a rebuild recreates it from SQL (``cockpit.ingest.rebuild_live``). Buckets
are keyed by the *local* date and minute of the moment the fact belongs to: an answer or abandon
belongs to the minute its call entered the queue (``occurred_at - wait_s``), so a call's offer and
outcome always land in the same bucket. Sums are kept as integer milliseconds: integer addition
is exact and order-free, so incremental ingestion and a rebuild produce identical values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from redis.cluster import RedisCluster

from cockpit.store.live.keys import (PREFIX, QUEUE_HORIZON, key_minutes, key_day, key_seats, key_seat_counts,
                                     key_waiting, key_done, key_meta, KEY_CITIES)

# The scripts take many items per call (one call per key per batch, not one per event): the
# per-command cost of packing and parsing dominated applying a batch.

# KEYS: seats hash, counts hash. ARGV: (seat_id, state, epoch_ms, event_id) repeated; newest wins.
_SEATS_SCRIPT = """
local applied = 0
for i = 1, #ARGV, 4 do
  local seat, state, nms, neid = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[1], seat)
  local newer = true
  if cur then
    local s, ms, eid = string.match(cur, '^([^|]*)|([^|]*)|(.*)$')
    local cms = tonumber(ms)
    if nms < cms or (nms == cms and neid <= eid) then
      newer = false
    elseif redis.call('HINCRBY', KEYS[2], s, -1) <= 0 then
      redis.call('HDEL', KEYS[2], s)
    end
  end
  if newer then
    redis.call('HSET', KEYS[1], seat, state .. '|' .. ARGV[i + 2] .. '|' .. neid)
    redis.call('HINCRBY', KEYS[2], state, 1)
    applied = applied + 1
  end
end
return applied
"""

# KEYS: waiting zset, done zset. ARGV: (call_id, queued_epoch_s) repeated; finished calls are not queued.
_OFFERS_SCRIPT = """
local added = 0
for i = 1, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    added = added + 1
  end
end
return added
"""

# KEYS: one hash. ARGV: (field, amount) repeated.
_HINCRBY_SCRIPT = """
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
"""


@dataclass(frozen=True)
class LiveConfig:
    tz: ZoneInfo
    sl_threshold_s: float = 15
    short_abandon_s: float = 5
    ttl_days: int = 8

    @classmethod
    def from_settings(cls, settings) -> "LiveConfig":
        return cls(settings.tz, settings.sl_threshold_s, settings.short_abandon_s, settings.live_ttl_days)


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _bucket(moment: datetime, tz: ZoneInfo) -> tuple[str, str]:
    local = moment.astimezone(tz)
    return local.strftime("%Y%m%d"), local.strftime("%H%M")


class _Buckets(dict):
    """(local day, HHMM) per epoch minute, computed once per minute seen in a batch."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def of(self, moment: datetime) -> tuple[str, str]:
        minute = int(moment.timestamp() // 60)
        found = self.get(minute)
        if found is None:
            found = self[minute] = _bucket(moment, self.tz)
        return found


def _poison(e: Any, buckets: "_Buckets") -> str | None:
    """Why an event cannot be applied (a time no zone can show), or None. Validation keeps such
    events out; this guards a rebuild against rows stored before it did."""
    try:
        at = e.occurred_at
        buckets.of(at)
        at.timestamp()
        wait = getattr(e, "wait_s", None)
        if wait is not None:
            buckets.of(at - timedelta(seconds=wait))
    except (OverflowError, ValueError, TypeError, AttributeError) as exc:
        return f"occurred_at: cannot be bucketed ({exc.__class__.__name__}: {exc})"
    return None


def apply(client: redis.Redis, events: Sequence[Any], cfg: LiveConfig, *, now: datetime | None = None,
          prefix: str = PREFIX) -> list[tuple[Any, str]]:
    """Apply validated, *new* events to the live counters in one pipeline round trip.

    Commutative: any order of the same events gives the same keys and values. Events older
    than ``ttl_days`` only touch seat state; queue membership only follows events from the
    last ``QUEUE_HORIZON``. An event that cannot be bucketed is skipped, never applied in part:
    returns the skipped ``(event, reason)`` pairs (empty for validated input). ``prefix`` names
    the key space (a rebuild builds under ``REBUILD_PREFIX``).
    """
    if not events:
        return []
    now = now or datetime.now(UTC)
    oldest_day = (now.astimezone(cfg.tz) - timedelta(days=cfg.ttl_days)).strftime("%Y%m%d")
    incr: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    expire_days: dict[str, str] = {}
    seat_ops: dict[str, list] = defaultdict(list)
    offers: dict[str, list] = defaultdict(list)
    finishes: dict[str, dict[str, float]] = defaultdict(dict)
    cities: set[str] = set()
    buckets = _Buckets(cfg.tz)
    skipped: list[tuple[Any, str]] = []

    def count(city: str, moment: datetime, metric: str, amount: int = 1) -> None:
        day, hhmm = buckets.of(moment)
        if day < oldest_day:
            return
        incr[key_minutes(city, day, prefix)][f"{hhmm}:{metric}"] += amount
        incr[key_day(city, day, prefix)][metric] += amount
        expire_days[key_minutes(city, day, prefix)] = day
        expire_days[key_day(city, day, prefix)] = day

    def count_day(city: str, moment: datetime, field: str) -> None:
        day, _ = buckets.of(moment)
        if day >= oldest_day:
            incr[key_day(city, day, prefix)][field] += 1
            expire_days[key_day(city, day, prefix)] = day

    for e in events:
        reason = _poison(e, buckets)
        if reason is not None:
            skipped.append((e, reason))
            continue
        city, at, kind = e.city, e.occurred_at, e.type
        cities.add(city)
        recent = now - at <= QUEUE_HORIZON
        if kind == "call.offered":
            count(city, at, "off")
            if recent:
                offers[city] += (e.call_id, at.timestamp())
        elif kind in ("call.answered", "call.abandoned"):
            queued = at - timedelta(seconds=e.wait_s)
            if kind == "call.answered":
                count(city, queued, "ans")
                count(city, queued, "wait_ms", _ms(e.wait_s))
                if e.wait_s <= cfg.sl_threshold_s:
                    count(city, queued, "sl")
            else:
                count(city, queued, "abn")
                if e.wait_s <= cfg.short_abandon_s:
                    count(city, queued, "sab")
            if recent:
                finishes[city][e.call_id] = at.timestamp()
        elif kind == "call.ended":
            count(city, at, "end")
            count(city, at, "handle_ms", _ms(e.talk_s) + _ms(e.hold_s) + _ms(e.acw_s))
        elif kind == "seat.state":
            seat_ops[city] += (e.seat_id, e.state, _ms(at.timestamp()), e.event_id)
        elif kind == "ticket.created":
            count(city, at, "tkt")
            count_day(city, at, f"dist:{e.district or ''}")
            count_day(city, at, f"cat:{e.category[0]}")
        elif kind == "ticket.closed":
            count(city, at, "tclosed")
    if not cities:
        return skipped

    # On Redis Cluster a pipeline cannot carry scripts: they run one call per key (each city's keys
    # share one slot), and the pipeline is sent between them so the order below still holds.
    cluster = isinstance(client, RedisCluster)
    pipe = client.pipeline(transaction=False)
    target = client if cluster else pipe
    hincrby = client.register_script(_HINCRBY_SCRIPT)
    for key, fields in incr.items():
        hincrby(keys=[key], args=[x for pair in fields.items() for x in pair], client=target)
    for key, day in expire_days.items():
        end_of_day = datetime.strptime(day, "%Y%m%d").replace(tzinfo=cfg.tz) + timedelta(days=1)
        pipe.expireat(key, int((end_of_day + timedelta(days=cfg.ttl_days)).timestamp()))
    seats_script = client.register_script(_SEATS_SCRIPT)
    for city, args in seat_ops.items():
        seats_script(keys=[key_seats(city, prefix), key_seat_counts(city, prefix)], args=args, client=target)
    # Finishes before offers: an offer that arrives with (or after) its outcome is never queued.
    for city, done in finishes.items():
        pipe.zrem(key_waiting(city, prefix), *done)
        pipe.zadd(key_done(city, prefix), done)
    if cluster:
        pipe.execute()
    offers_script = client.register_script(_OFFERS_SCRIPT)
    for city, args in offers.items():
        offers_script(keys=[key_waiting(city, prefix), key_done(city, prefix)], args=args, client=target)
    horizon = (now - QUEUE_HORIZON).timestamp()
    applied_ms = _ms(datetime.now(UTC).timestamp())
    horizon_s = int(QUEUE_HORIZON.total_seconds())
    for city in cities:
        # Queue keys hold only the last QUEUE_HORIZON: older entries go at every apply, and a city
        # that stops sending events loses both keys once nothing in them can matter any more.
        for key in (key_waiting(city, prefix), key_done(city, prefix)):
            pipe.zremrangebyscore(key, "-inf", horizon)
            pipe.expire(key, horizon_s)
        pipe.hset(key_meta(city, prefix), "applied_ms", applied_ms)
    pipe.sadd(KEY_CITIES.replace(PREFIX, prefix, 1), *sorted(cities))
    pipe.execute()
    return skipped
