"""All Redis: live counters derived from events. Nothing here is truth; `rebuild` recreates it from SQL.

Every key of a city carries the city as a hash tag (``ck:{620100}:...``) so that one city's keys
live in one Redis Cluster slot and the multi-key Lua scripts below stay legal there.

Buckets are keyed by the *local* date and minute (configured zone) of the moment the fact
belongs to: an answer or abandon belongs to the minute its call entered the queue
(``occurred_at - wait_s``), so a call's offer and outcome always land in the same bucket.
Sums are kept as integer milliseconds: integer addition is exact and order-free, so
incremental ingestion and a rebuild produce identical values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from redis.cluster import RedisCluster

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
    return moment.astimezone(tz).strftime("%Y%m%d")


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


# --- restarts and rebuilds: the epoch -----------------------------------------------------------


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
                                    "built_ms": _ms(datetime.now(UTC).timestamp())})


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


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    calls: int
    longest_wait_s: float | None


class Pending:
    """The value of a read queued on a ``Batch``: set by ``Batch.execute()``."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None


class Batch:
    """Several reads in one round trip: each read helper given ``batch=`` queues its commands on
    the batch's pipeline and returns a ``Pending``; ``execute()`` sends them all and fills every
    ``Pending.value``. Without ``batch`` a helper runs its own pipeline and returns the value."""

    def __init__(self, client: redis.Redis) -> None:
        self.pipeline = client.pipeline(transaction=False)
        self._parts: list[tuple[int, int, Callable[[list], Any], Pending]] = []

    def add(self, queue: Callable[[Any], None], parse: Callable[[list], Any]) -> Pending:
        start = len(self.pipeline)
        queue(self.pipeline)
        pending = Pending()
        self._parts.append((start, len(self.pipeline), parse, pending))
        return pending

    def execute(self) -> None:
        results = self.pipeline.execute() if len(self.pipeline) else []
        for start, stop, parse, pending in self._parts:
            pending.value = parse(results[start:stop])
        self._parts = []


def _read(client: redis.Redis, batch: Batch | None, queue: Callable[[Any], None], parse: Callable[[list], Any]):
    if batch is not None:
        return batch.add(queue, parse)
    own = Batch(client)
    pending = own.add(queue, parse)
    own.execute()
    return pending.value


def day_totals(client: redis.Redis, cities: Sequence[str], day: str, *, batch: Batch | None = None) -> dict[str, int]:
    """Sum of one local day's totals over ``cities`` (metrics and ``dist:``/``cat:`` fields)."""

    def queue(pipe) -> None:
        for city in cities:
            pipe.hgetall(key_day(city, day))

    def parse(results: list) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for result in results:
            for field, value in result.items():
                out[field] += int(value)
        return dict(out)

    return _read(client, batch, queue, parse)


def minute_series(client: redis.Redis, cities: Sequence[str], day: str, *,
                  batch: Batch | None = None) -> dict[str, list[int]]:
    """Per-minute counters of one local day, summed over ``cities``: metric -> 1,440 values."""

    def queue(pipe) -> None:
        for city in cities:
            pipe.hgetall(key_minutes(city, day))

    def parse(results: list) -> dict[str, list[int]]:
        series = {metric: [0] * 1440 for metric in MINUTE_METRICS}
        for result in results:
            for field, value in result.items():
                hhmm, metric = field.split(":", 1)
                series[metric][int(hhmm[:2]) * 60 + int(hhmm[2:])] += int(value)
        return series

    return _read(client, batch, queue, parse)


def seat_counts(client: redis.Redis, cities: Sequence[str], *, batch: Batch | None = None) -> dict[str, int]:
    """Seats by current state, summed over ``cities``."""

    def queue(pipe) -> None:
        for city in cities:
            pipe.hgetall(key_seat_counts(city))

    def parse(results: list) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for result in results:
            for state, value in result.items():
                if int(value) > 0:
                    out[state] += int(value)
        return dict(out)

    return _read(client, batch, queue, parse)


def waiting(client: redis.Redis, cities: Sequence[str], *, now: datetime | None = None,
            batch: Batch | None = None) -> Waiting:
    """Calls in queue now and the longest current wait; entries older than MAX_QUEUE_AGE are ignored."""
    now = now or datetime.now(UTC)
    floor = (now - MAX_QUEUE_AGE).timestamp()

    def queue(pipe) -> None:
        for city in cities:
            pipe.zcount(key_waiting(city), floor, "+inf")
            pipe.zrangebyscore(key_waiting(city), floor, "+inf", start=0, num=1, withscores=True)

    def parse(results: list) -> Waiting:
        calls, oldest = 0, None
        for i in range(0, len(results), 2):
            calls += results[i]
            if results[i + 1]:
                ts = results[i + 1][0][1]
                oldest = ts if oldest is None else min(oldest, ts)
        longest = None if oldest is None else max(0.0, now.timestamp() - oldest)
        return Waiting(calls, longest)

    return _read(client, batch, queue, parse)


def applied_at(client: redis.Redis, cities: Sequence[str], *, batch: Batch | None = None) -> datetime | None:
    """Wall-clock time of the most recent apply to any of ``cities`` (freshness of live data)."""

    def queue(pipe) -> None:
        for city in cities:
            pipe.hget(key_meta(city), "applied_ms")

    def parse(results: list) -> datetime | None:
        values = [int(v) for v in results if v]
        return datetime.fromtimestamp(max(values) / 1000, UTC) if values else None

    return _read(client, batch, queue, parse)


def has_data(client: redis.Redis) -> bool:
    """Whether any city has live data (an empty Redis is rebuilt from SQL before serving)."""
    return bool(client.exists(KEY_CITIES))


def known_cities(client: redis.Redis) -> list[str]:
    return sorted(client.smembers(KEY_CITIES))


def snapshot(client: redis.Redis, *, include_meta: bool = False) -> dict[str, Any]:
    """Every cockpit key and its value (for tests and for comparing a rebuild with ingestion).

    Freshness metadata and precomputed wall panels are left out unless ``include_meta``.
    """
    out: dict[str, Any] = {}
    for key in client.scan_iter(match=f"{PREFIX}:*", count=1000):
        if key in CONTROL_KEYS or (not include_meta and (key.endswith(":meta") or ":panel:" in key)):
            continue
        kind = client.type(key)
        if kind == "hash":
            out[key] = client.hgetall(key)
        elif kind == "zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            out[key] = sorted(client.smembers(key))
        else:
            out[key] = client.get(key)
    return out


def clear(client: redis.Redis) -> int:
    """Delete every cockpit key; returns how many."""
    keys = list(client.scan_iter(match=f"{PREFIX}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    return len(keys)
