"""What monthly partitions cost ingestion: the same stream loaded into an unpartitioned database
(schema at revision 0005) and a partitioned one (head), by the per-event path and the bulk path.

Each run creates two databases of its own on the server of ``--pg`` and drops them afterwards, and
flushes the Redis db of ``--redis``: never the db a test run is using.
Prints one line per path and schema with events/s, and the load average.

With ``--convert N`` it instead times migration 0006 itself: N events, N/2 ticket steps and N/5 seat
changes over a year (inserted with SQL at revision 0005), then ``upgrade`` to 0006.

Usage: python bench/partitions.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
       [--calls 20000] [--tickets 4000] [--redis redis://127.0.0.1:6379/11] [--convert N]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

import redis
from sqlalchemy import text

from cockpit.bulk import bulk_ingest
from cockpit.ingest import ingest_batch
from cockpit.settings import Settings
from cockpit.store.db import Stores, make_engine
from cockpit.store.migrate import upgrade
from tests.factories import random_stream

BATCH = 1000  # events per API-sized batch on the per-event path


def run(base: str, revision: str, stream: list[dict], redis_url: str, path: str) -> float:
    name = f"cockpit_bench_part_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    try:
        settings = Settings(database_url=base.rsplit("/", 1)[0] + "/" + name, redis_url=redis_url,
                            mode="development", events_max_future_s=60 * 86400)
        upgrade(settings, revision)
        stores = Stores.open(settings, redis_client=client)
        started = time.perf_counter()
        if path == "bulk":
            bulk_ingest(stores, stream, source="bench", rollup=False)
        else:
            for i in range(0, len(stream), BATCH):
                ingest_batch(stores, stream[i:i + BATCH], source="bench")
        elapsed = time.perf_counter() - started
        stores.close()
        return elapsed
    finally:
        client.flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


FILL = {
    "events": "INSERT INTO events (event_id, type, city, entity_id, occurred_at, received_at, source, payload) "
              "SELECT 'e' || g, 'call.offered', '620100', 'c' || g, t, t, 'bench', '{\"call_id\": \"c\"}' "
              "FROM generate_series(1, :n) g, LATERAL (SELECT timestamp '2025-12-01' "
              "+ (g::float8 / :n * 365) * interval '1 day' AS t) x",
    "ticket_steps": "INSERT INTO ticket_steps (ticket_id, event_id, city, type, occurred_at, unit, detail) "
                    "SELECT 'T' || (g / 4), 's' || g, '620100', 'ticket.created', t, NULL, '{}' "
                    "FROM generate_series(1, :n / 2) g, LATERAL (SELECT timestamp '2025-12-01' "
                    "+ (g::float8 / (:n / 2) * 365) * interval '1 day' AS t) x",
    "seat_state_changes": "INSERT INTO seat_state_changes (event_id, city, seat_id, state, occurred_at) "
                          "SELECT 'z' || g, '620100', 's' || (g % 50), 'ready', t "
                          "FROM generate_series(1, :n / 5) g, LATERAL (SELECT timestamp '2025-12-01' "
                          "+ (g::float8 / (:n / 5) * 365) * interval '1 day' AS t) x",
}


def convert(base: str, n: int) -> None:
    name = f"cockpit_bench_part_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        settings = Settings(database_url=base.rsplit("/", 1)[0] + "/" + name, mode="development")
        upgrade(settings, "0005")
        engine = make_engine(settings.database_url)
        with engine.begin() as conn:
            for statement in FILL.values():
                conn.execute(text(statement), {"n": n})
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                                     "WHERE relname IN ('events', 'ticket_steps', 'seat_state_changes')")).scalar()
        engine.dispose()
        started = time.perf_counter()
        upgrade(settings, "0006")
        elapsed = time.perf_counter() - started
        rows = n + n // 2 + n // 5
        print(f"migration 0006: {rows:,} rows ({size}) converted in {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s, "
              f"load {os.getloadavg()[0]:.2f}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=4_000)
    parser.add_argument("--convert", type=int, default=0, help="time migration 0006 on this many events")
    args = parser.parse_args()
    if args.convert:
        convert(args.pg, args.convert)
        return
    stream = random_stream(1, args.calls, args.tickets)
    print(f"{len(stream)} events; load average before {os.getloadavg()[0]:.2f}")
    for path in ("per-event", "bulk"):
        for label, revision in (("unpartitioned (0005)", "0005"), ("partitioned (head)", "head")):
            elapsed = run(args.pg, revision, stream, args.redis, path)
            print(f"{path:9s} {label:22s} {elapsed:6.2f} s  {len(stream) / elapsed:8,.0f} events/s  "
                  f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
