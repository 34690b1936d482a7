"""Benchmark: events/s through the whole ingestion path (validate + SQL + Redis), batches of 1,000.

Prints, for SQLite and PostgreSQL, the throughput of a realistic event mix, and in the same run the
machine's Redis ceiling (`redis-benchmark -P 32 -t incr`) and a validation-only baseline, so the
figures can be compared across machines by ratio.

    python bench/ingest.py [--events 100000] [--workers 2] [--pg postgresql://postgres@127.0.0.1/cockpit_bench]
    python bench/ingest.py --bulk [--events 300000]     # the bulk path for history (cockpit.bulk)
    python bench/ingest.py --no-lock-ab                 # skip the runs without the LIVE lock
    python bench/ingest.py --days-ab                    # the cost of keeping the day rollups (store.days)

Every ingest batch holds the ``LIVE`` lock shared (``cockpit.store.locks``: a PostgreSQL advisory
lock, or a ``flock`` beside an SQLite file) from its SQL commit to its Redis apply. The default run
measures each path with and without it, runs interleaved (with, without, with, ...) so a change of
the machine's load hits both alike, and times the bare acquire + release per batch; the figures
without the lock are for comparison only (production always takes it).

``--bulk`` times ``cockpit.bulk.bulk_ingest`` (COPY on PostgreSQL, chunks of 50,000, rollups at the
end) on a history ten days old, beside the per-event path on the same events as the baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cockpit import ingest as ingest_module  # noqa: E402
from cockpit.events import TimeWindow, validate  # noqa: E402
from cockpit.ingest import ingest_batch  # noqa: E402
from cockpit.store import days, locks  # noqa: E402
from cockpit.store.models import Base  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores, make_engine  # noqa: E402
from tests.factories import random_stream  # noqa: E402

BATCH = 1000
# The stream starts 6 hours ago and its ticket steps run up to two days ahead (tests.factories): the
# bench accepts them, as the simulator does for the future it makes up, instead of the API's 10 minutes.
WINDOW = TimeWindow(max_future=timedelta(days=3))


def machine() -> str:
    return describe()

def redis_ceiling(url: str) -> float | None:
    """``redis-benchmark -P 32 -t incr`` against the Redis (server and db) of ``url``."""
    parts = redis.connection.parse_url(url)
    try:
        out = subprocess.run(
            ["redis-benchmark", "-h", str(parts.get("host", "127.0.0.1")), "-p", str(parts.get("port", 6379)),
             "--dbnum", str(parts.get("db", 0)), "-P", "32", "-t", "incr", "-n", "1000000", "-q"],
            capture_output=True, text=True, timeout=120,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"INCR: ([\d.]+) requests per second", out.replace(",", ""))
    return float(match.group(1)) if match else None


def make_events(n: int, *, age: timedelta = timedelta(hours=6)) -> list[dict]:
    base = datetime.now(UTC) - age
    events: list[dict] = []
    seed = 0
    while len(events) < n:
        for e in random_stream(seed, 2000, 600, base=base):
            for key in ("call_id", "ticket_id"):  # one call / ticket per id across seeds
                if key in e:
                    e[key] = f"s{seed}-{e[key]}"
            events.append(e)
        seed += 1
    return events[:n]


@contextlib.contextmanager
def without_live_lock():
    """Ingest as before the per-batch lock: ``cockpit.ingest`` sees a ``held`` that takes nothing."""
    real = ingest_module.locks

    class NoLocks:
        LIVE = locks.LIVE

        @staticmethod
        @contextlib.contextmanager
        def held(*_args, **_kwargs):
            yield

    ingest_module.locks = NoLocks
    try:
        yield
    finally:
        ingest_module.locks = real


def lock_cost_ms(stores: Stores, n: int = 300) -> float:
    """Median ms of one shared acquire + release of the LIVE lock, as each batch does it."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        with locks.held(stores, locks.LIVE, shared=True):
            pass
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _runs(rates: list[float]) -> str:
    return "(" + " / ".join(f"{r:,.0f}" for r in rates) + ")"


def run(stores: Stores, events: list[dict]) -> float:
    start = time.perf_counter()
    _ingest(stores, events)
    return len(events) / (time.perf_counter() - start)


def _ingest(stores: Stores, events: list[dict]) -> None:
    for i in range(0, len(events), BATCH):
        result = ingest_batch(stores, events[i : i + BATCH], source="bench", window=WINDOW)
        assert not result.rejected, result.rejected[:3]


def _worker(url: str, redis_url: str, var: str, events: list[dict]) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    _ingest(Stores.open(Settings(database_url=url, var_dir=Path(var)), redis_client=client), events)


def run_parallel(url: str, redis_url: str, var: str, events: list[dict], workers: int) -> float:
    """Several ingest processes at once (stateless writers, as in production), split by city."""
    shares: list[list[dict]] = [[] for _ in range(workers)]
    for e in events:
        shares[sum(map(ord, e["city"])) % workers].append(e)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(url, redis_url, var, share)) for share in shares]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return len(events) / (time.perf_counter() - start)


def bulk_figures(args, client) -> None:
    """The bulk path against the per-event path on the same ten-day-old history."""
    from cockpit.bulk import bulk_ingest

    events = make_events(args.events, age=timedelta(days=10))
    with tempfile.TemporaryDirectory() as tmp:
        for label, url in (("postgresql", args.pg), ("sqlite", f"sqlite:///{tmp}/bench.sqlite3")):
            for path in ("bulk", "per-event"):
                rates = []
                for _ in range(1 if path == "per-event" else 3):
                    client.flushdb()
                    stores = Stores.open(Settings(database_url=url, var_dir=Path(tmp)), redis_client=client)
                    Base.metadata.drop_all(stores.engine)
                    Base.metadata.create_all(stores.engine)
                    start = time.perf_counter()
                    if path == "bulk":
                        result = bulk_ingest(stores, events, source="bench")
                        assert not result.rejected and result.accepted == len(events)
                    else:
                        _ingest(stores, events)
                        from cockpit import jobs

                        jobs.rollup_all(stores, datetime.now(UTC) - timedelta(days=11), datetime.now(UTC))
                    rates.append(len(events) / (time.perf_counter() - start))
                    stores.engine.dispose()
                note = "median of 3" if len(rates) > 1 else "1 run"
                print(f"{label} {path}: {statistics.median(rates):,.0f} events/s ({note}, {len(events):,} events "
                      f"10 days old, validate + SQL + rollups{'' if path == 'bulk' else ' + Redis'})", flush=True)
    client.flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cockpit_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--workers", type=int, default=2, help="also measure N ingest processes on PostgreSQL")
    parser.add_argument("--bulk", action="store_true", help="measure the bulk path for history instead")
    parser.add_argument("--no-lock-ab", action="store_true", help="only the runs with the LIVE lock")
    parser.add_argument("--days-ab", action="store_true",
                        help="compare the runs keeping the day rollups (store.days, as a deployment does) with "
                             "runs that keep none, instead of the lock comparison")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    if args.bulk:
        client = redis.Redis.from_url(args.redis, decode_responses=True)
        events = make_events(min(args.events, 100_000))
        t = time.perf_counter()
        for e in events:
            validate(e)
        print(f"baseline validate only: {len(events) / (time.perf_counter() - t):,.0f} events/s")
        bulk_figures(args, client)
        return
    events = make_events(args.events)
    t = time.perf_counter()
    for e in events:
        validate(e)
    print(f"baseline validate only: {len(events) / (time.perf_counter() - t):,.0f} events/s")
    ceiling = redis_ceiling(args.redis)
    print(f"baseline redis-benchmark -P 32 -t incr: {ceiling:,.0f} ops/s" if ceiling else "redis-benchmark: n/a")

    client = redis.Redis.from_url(args.redis, decode_responses=True)
    admin = make_engine(args.pg.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    db_name = args.pg.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": db_name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    variants = ("with lock",) if args.no_lock_ab else ("with lock", "without lock")
    if args.days_ab:  # both with the lock
        variants = ("with day rollups", "without day rollups")

    def fresh(url: str, tmp: str, variant: str = "with lock") -> Stores:
        client.flushdb()
        stores = Stores.open(Settings(database_url=url, var_dir=Path(tmp)), redis_client=client)
        Base.metadata.drop_all(stores.engine)
        Base.metadata.create_all(stores.engine)
        if variant != "without day rollups":  # what the worker does on a deployment: every write keeps them
            with stores.session() as session:
                days.ensure(session, stores.settings)
        return stores

    with tempfile.TemporaryDirectory() as tmp:
        for label, url in (("sqlite", f"sqlite:///{tmp}/bench.sqlite3"), ("postgresql", args.pg)):
            stores = fresh(url, tmp)
            print(f"{label}: LIVE lock acquire + release (shared), once per batch: "
                  f"{lock_cost_ms(stores):.2f} ms median", flush=True)
            stores.engine.dispose()
            rates: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(3):
                for variant in variants:
                    stores = fresh(url, tmp, variant)
                    with contextlib.nullcontext() if variant != "without lock" else without_live_lock():
                        rates[variant].append(run(stores, events))
                    stores.engine.dispose()
            for variant in variants:
                rate = statistics.median(rates[variant])
                ratio = f" ({rate / ceiling:.3f} of the Redis INCR ceiling)" if ceiling else ""
                print(f"{label}+redis {variant}: {rate:,.0f} events/s median of 3 {_runs(rates[variant])}, "
                      f"{len(events):,} events, batches of {BATCH}, 1 process{ratio}; load {os.getloadavg()[0]:.2f}",
                      flush=True)
            if label == "postgresql" and args.workers > 1:
                rates = {v: [] for v in variants}
                for _ in range(3):
                    for variant in variants:
                        fresh(url, tmp, variant).engine.dispose()
                        with contextlib.nullcontext() if variant != "without lock" else without_live_lock():
                            rates[variant].append(run_parallel(url, args.redis, tmp, events, args.workers))
                for variant in variants:
                    print(f"{label}+redis {variant}: {statistics.median(rates[variant]):,.0f} events/s median of 3 "
                          f"{_runs(rates[variant])}, {len(events):,} events, batches of {BATCH}, {args.workers} "
                          f"processes; load {os.getloadavg()[0]:.2f}", flush=True)
    client.flushdb()


if __name__ == "__main__":
    main()
