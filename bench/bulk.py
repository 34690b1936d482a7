"""Benchmark: simulated history into PostgreSQL and SQLite, the bulk path beside the old paths.

The real workload of ``cockpit seed`` and ``cockpit demo``: the province simulator's events of
``--days`` local days (all 14 cities at ``--scale``), loaded into a fresh, migrated database with
the regions loaded, rollups included. Each figure is events/s of wall time and of CPU time (this
process and its loader processes, user + sys), so a busy machine can still be compared by CPU.

    python bench/bulk.py [--days 1] [--scale 0.5] [--pg postgresql+psycopg://postgres@127.0.0.1/cockpit_bench_bulk]

Rows, in one run per backend:
- baseline: the simulator alone (generate the events, store nothing);
- baseline: the per-event path (``ingest_stream``, batches of 1,000, Redis included) + rollups;
- the bulk path before this work: every event validated, one process (``trusted=False, workers=1``);
- the bulk path now: the simulator's events trusted, one process, then two (``workers=2``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores, make_engine  # noqa: E402


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _fresh(url: str, tmp: Path, redis_url: str) -> Stores:
    """An empty, migrated database with the regions loaded, and an empty Redis db."""
    from cockpit.store.migrate import upgrade
    from geo.regions import load_default_regions

    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        admin = make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
        name = url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    settings = Settings(database_url=url, var_dir=tmp, redis_url=redis_url)
    upgrade(settings)
    stores = Stores.open(settings)
    with stores.session() as session:
        load_default_regions(session)
    stores.redis.flushdb()
    return stores


def _row(label: str, events: int, wall: float, cpu: float) -> None:
    print(f"  {label:<58} {events / wall:>9,.0f} events/s wall  {events / cpu:>9,.0f} events/s per CPU-second "
          f"({events:,} events, {wall:.1f} s wall, {cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_bulk")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--skip-per-event", action="store_true", help="leave out the slow per-event baseline")
    args = parser.parse_args()

    from cockpit import jobs
    from cockpit.ingest import ingest_stream
    from cockpit.simulation import Province, seed_history
    from cockpit.simulation.seeding import history_window

    today = datetime.now(UTC).astimezone(Settings().tz).date()
    end = datetime(today.year, today.month, today.day, tzinfo=Settings().tz).astimezone(UTC)  # history: before today
    start, _ = history_window(args.days, end)
    print(f"machine: {describe()}")
    print(f"history: {args.days} day(s) before {end.isoformat()}, 14 cities, scale {args.scale}")
    n = sum(1 for _ in Province(seed=1, scale=args.scale, origin=start).events(start, end))  # warms the geo pools
    t, c = time.perf_counter(), _cpu()
    assert n == sum(1 for _ in Province(seed=1, scale=args.scale, origin=start).events(start, end))
    _row("baseline: the simulator alone (no store)", n, time.perf_counter() - t, _cpu() - c)
    with tempfile.TemporaryDirectory() as tmp:
        for label, url in (("PostgreSQL", args.pg), ("SQLite", f"sqlite:///{tmp}/bench.sqlite3")):
            print(label, flush=True)
            runs = [("bulk, trusted, 2 processes (seed/demo now)", dict(trusted=True, workers=2)),
                    ("bulk, trusted, 1 process", dict(trusted=True, workers=1)),
                    ("bulk, validated, 1 process (the bulk path before)", dict(trusted=False, workers=1))]
            for name, kwargs in runs:
                stores = _fresh(url, Path(tmp), args.redis)
                t, c = time.perf_counter(), _cpu()
                result = seed_history(stores, args.days, end=end, scale=args.scale, progress=False, **kwargs)
                assert result["accepted"] == result["events"] == n and result["rejected"] == 0, result
                _row(name, n, time.perf_counter() - t, _cpu() - c)
                stores.close()
            if not args.skip_per_event:
                stores = _fresh(url, Path(tmp), args.redis)
                t, c = time.perf_counter(), _cpu()
                prov = Province(seed=1, scale=args.scale, origin=start)
                accepted = ingest_stream(stores, prov.events(start, end), source="sim", batch=1000).accepted
                jobs.rollup_all(stores, start, end)
                assert accepted == n
                _row("baseline: per-event path (ingest_batch of 1,000 + Redis)", n, time.perf_counter() - t,
                     _cpu() - c)
                stores.close()
    redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
