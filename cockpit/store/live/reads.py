"""Reads of the live counters, each taking an optional ``Batch`` so a screen refresh is one round trip.

Cross-city reads are pipelines of per-city commands (legal on Redis Cluster). ``snapshot`` lists
every key and value, for tests and for comparing a rebuild with ingestion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from cockpit.store.live.keys import (PREFIX, MAX_QUEUE_AGE, MINUTE_METRICS, key_minutes, key_day, key_seat_counts,
                                     key_waiting, key_meta, KEY_CITIES, CONTROL_KEYS)


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
