"""Benchmark: a city x month KPI from the 15-minute rollups vs the same figure from a raw scan.

Generates synthetic calls and tickets straight into PostgreSQL with INSERT ... SELECT
generate_series (deterministic: setseed), in a separate database (default ``cockpit_bench``),
over 12 months and 14 cities, builds the rollups with ``cockpit.rollups.rollup_range`` (the
product's job, timed), then times for one city and one month (medians of --repeat runs):

- telephony + tickets created from rollups (+ raw edges): ``queries.call_counts`` /
  ``queries.tickets_created`` with rollups, against the same two from a raw scan (the baseline);
- the whole ``kpi.kpi`` document (adds ticket cohort rates, seat times, queue, overdue),
  with and without rollups.

    python bench/kpi.py [--scale 1.0] [--repeat 7] [--reuse [--skip-rollup]] [--pg-url URL]

--scale 1.0 = 1,000,000 tickets and 3,000,000 calls; --scale 10 = 10M tickets / 30M calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cockpit.metrics import kpi, queries  # noqa: E402
from cockpit.metrics import rollups
from cockpit.store.models import Base  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import make_engine  # noqa: E402

CITIES = ["620100", "620200", "620300", "620400", "620500", "620600", "620700", "620800", "620900",
          "621000", "621100", "621200", "622900", "623000"]
YEAR_START = datetime(2025, 12, 1)
DAYS = 365
CITY = "620100"
MONTH = (datetime(2026, 6, 1, 0, 0) - timedelta(hours=8), datetime(2026, 7, 1) - timedelta(hours=8))  # local month
NOW = datetime(2026, 11, 29, 0, 0)
CHUNK = 1_000_000
# Not in cockpit/models.py (yet): measured with --proposed-indexes, then dropped again.
PROPOSED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_tickets_city_status_due ON tickets (city, status, due_at)",
    "CREATE INDEX IF NOT EXISTS ix_calls_city_ended ON calls (city, ended_at)",
)


def machine(conn) -> str:
    return describe(f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}")

def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


CITY_ARRAY = "ARRAY[" + ",".join(f"'{c}'" for c in CITIES) + "]"

CALLS_SQL = f"""
INSERT INTO calls (city, call_id, channel, offered_at, answered_at, abandoned_at, ended_at, queued_at,
                   seat_id, wait_s, talk_s, hold_s, acw_s)
SELECT city, 'c' || g, 'phone', q,
       CASE WHEN r < 0.86 THEN q + make_interval(secs => w) END,
       CASE WHEN r >= 0.86 THEN q + make_interval(secs => w) END,
       CASE WHEN r < 0.86 THEN q + make_interval(secs => w + talk) END,
       q,
       CASE WHEN r < 0.86 THEN city || '-S' || (g % 120) END,
       w,
       CASE WHEN r < 0.86 THEN talk END,
       CASE WHEN r < 0.86 THEN 0.0 END,
       CASE WHEN r < 0.86 THEN 20.0 END
FROM (
  SELECT g, ({CITY_ARRAY})[1 + (g % {len(CITIES)})] AS city,
         timestamp '{YEAR_START:%Y-%m-%d}' + make_interval(secs => floor((g - 1 + random()) * {DAYS * 86400}.0 / :total)) AS q,
         random() AS r, floor(random() * 60)::float AS w, floor(30 + random() * 400)::float AS talk
  FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g
) s
"""

TICKETS_SQL = f"""
INSERT INTO tickets (ticket_id, city, district, category, channel, urgency, status, unit, created_at, due_at,
                     first_dispatched_at, auto_dispatched, responded_at, closed_at, no_callback, returns,
                     transfers, reopens, callback_at, callback_resolved, satisfaction, updated_at)
SELECT 't' || g, city, substr(city, 1, 4) || lpad((1 + g % 8)::text, 2, '0'),
       (ARRAY['城建','环保','交通','社保','市场'])[1 + (g % 5)], 'phone', 'normal',
       CASE WHEN r1 < 0.93 THEN 'closed' WHEN r1 < 0.97 THEN 'responded' ELSE 'dispatched' END,
       'U' || (g % 300), c, c + interval '5 days', c + interval '10 minutes', r2 < 0.6,
       CASE WHEN r1 < 0.97 THEN c + make_interval(secs => floor(r3 * 172800)) END,
       CASE WHEN r1 < 0.93 THEN c + make_interval(secs => floor(r3 * 600000)) END,
       false, (r2 < 0.08)::int, (r4 < 0.1)::int, (r4 > 0.97)::int,
       CASE WHEN r1 < 0.93 THEN c + interval '8 days' END,
       CASE WHEN r1 < 0.93 THEN (CASE WHEN r4 < 0.85 THEN 'yes' ELSE 'no' END) END,
       CASE WHEN r1 < 0.93 THEN (ARRAY['very_satisfied','satisfied','basic','dissatisfied','unreachable'])
                                 [1 + floor(r3 * 5)::int] END,
       c
FROM (
  SELECT g, ({CITY_ARRAY})[1 + (g % {len(CITIES)})] AS city,
         timestamp '{YEAR_START:%Y-%m-%d}' + make_interval(secs => floor((g - 1 + random()) * {DAYS * 86400}.0 / :total)) AS c,
         random() AS r1, random() AS r2, random() AS r3, random() AS r4
  FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g
) s
"""


def generate(engine, n_calls: int, n_tickets: int) -> dict[str, float]:
    """Fresh schema, bulk rows with indexes built afterwards (as a real backfill would)."""
    timings: dict[str, float] = {}
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        Base.metadata.create_all(conn)
        for table in ("calls", "tickets"):
            for ix in Base.metadata.tables[table].indexes:
                conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}"))
        conn.execute(text("SELECT setseed(0.42)"))
    for name, sql, total in (("calls", CALLS_SQL, n_calls), ("tickets", TICKETS_SQL, n_tickets)):
        t0 = time.perf_counter()
        for lo in range(1, total + 1, CHUNK):
            with engine.begin() as conn:
                conn.execute(text(sql), {"lo": lo, "hi": min(lo + CHUNK - 1, total), "total": total})
            print(f"  {name}: {min(lo + CHUNK - 1, total):,} rows", flush=True)
        timings[f"insert {name}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE calls ADD CONSTRAINT pk_calls PRIMARY KEY (city, call_id)"))
        conn.execute(text("ALTER TABLE tickets ADD CONSTRAINT pk_tickets PRIMARY KEY (ticket_id)"))
        for table in ("calls", "tickets"):
            for ix in Base.metadata.tables[table].indexes:
                ix.create(conn)
    timings["primary keys + indexes"] = time.perf_counter() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE calls"))
        conn.execute(text("VACUUM ANALYZE tickets"))
    return timings


def timed(fn, repeat: int) -> tuple[float, float, object]:
    values, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        values.append(time.perf_counter() - t0)
    return statistics.median(values), min(values), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M tickets and 3M calls")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median reported)")
    parser.add_argument("--reuse", action="store_true", help="keep the generated data if the counts match")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="also time the whole document with two extra indexes (created, then dropped)")
    parser.add_argument("--skip-rollup", action="store_true", help="with --reuse: keep the existing rollups")
    parser.add_argument("--pg-url", default=os.environ.get("COCKPIT_BENCH_PG_URL",
                                                            "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench"))
    args = parser.parse_args()
    n_calls, n_tickets = int(3_000_000 * args.scale), int(1_000_000 * args.scale)
    ensure_database(args.pg_url)
    engine = make_engine(args.pg_url)
    settings = Settings(database_url=args.pg_url)
    with engine.connect() as conn:
        print(machine(conn))
        have = None
        if args.reuse:
            try:
                have = (conn.execute(text("SELECT count(*) FROM calls")).scalar(),
                        conn.execute(text("SELECT count(*) FROM tickets")).scalar())
            except Exception:  # noqa: BLE001 - no tables yet
                conn.rollback()
    timings: dict[str, float] = {}
    if have != (n_calls, n_tickets):
        print(f"generating {n_calls:,} calls and {n_tickets:,} tickets ...", flush=True)
        timings.update(generate(engine, n_calls, n_tickets))
    else:
        print(f"reusing {n_calls:,} calls and {n_tickets:,} tickets")
        t0 = time.perf_counter()
        with engine.begin() as conn:  # indexes added to cockpit/models.py since the data was generated
            for table in ("calls", "tickets"):
                for ix in Base.metadata.tables[table].indexes:
                    ix.create(conn, checkfirst=True)
            conn.execute(text("ANALYZE tickets"))
        timings["indexes added since generation"] = time.perf_counter() - t0
    if not args.skip_rollup:
        t0 = time.perf_counter()
        day = YEAR_START
        while day < YEAR_START + timedelta(days=DAYS):
            with engine.begin() as conn:
                with Session(bind=conn) as session:
                    rollups.rollup_range(session, day, day + timedelta(days=7), settings=settings, now=NOW)
                    session.flush()
            day += timedelta(days=7)
        timings["rollup_range, whole year, 7 days per transaction (the product's job)"] = time.perf_counter() - t0
    with engine.connect() as conn:
        sizes = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                 for t in ("calls", "tickets", "call_rollups_15m", "ticket_rollups_15m")}
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.1f} s")

    start, end = MONTH
    start, end = start + timedelta(minutes=7), end - timedelta(minutes=7)  # ragged edges: raw pieces too
    kw = {"cities": (CITY,), "start": start, "end": end}

    def telephony(use_rollups: bool):
        with Session(engine) as s:
            counts, path = queries.call_counts(s, **kw, sl_threshold_s=15.0, short_abandon_s=5,
                                               use_rollups=use_rollups)
            created = queries.tickets_created(s, **kw, use_rollups=use_rollups)
            return counts.figures(), created, path

    def document(use_rollups: bool):
        with Session(engine) as s:
            return kpi.kpi(s, scope=CITY, start=start, end=end, settings=settings, now=NOW,
                               use_rollups=use_rollups)

    fast = timed(lambda: telephony(True), args.repeat)
    slow = timed(lambda: telephony(False), args.repeat)
    assert fast[2][2] == "rollups+raw" and slow[2][2] == "raw"
    assert fast[2][0] == slow[2][0] and fast[2][1] == slow[2][1], "rollup and raw paths disagree"
    doc_fast = timed(lambda: document(True), max(3, args.repeat // 2))
    doc_slow = timed(lambda: document(False), max(3, args.repeat // 2))
    parts = {}
    with Session(engine) as s:
        for name, fn in (
            ("ticket cohort rates", lambda: queries.ticket_counts(s, cities=(CITY,), start=start, end=end, now=NOW,
                                                                  settings=settings)),
            ("seat times (handling = calls ended in the window)",
             lambda: queries.seat_times(s, cities=(CITY,), start=start, end=end, now=NOW)),
            ("overdue open now", lambda: queries.overdue_open_now(s, cities=(CITY,), now=NOW)),
        ):
            parts[name] = timed(fn, 3)[0]
    proposed = {}
    if args.proposed_indexes:
        with engine.begin() as conn:
            for ddl in PROPOSED_INDEXES:
                conn.execute(text(ddl))
            conn.execute(text("ANALYZE calls"))
            conn.execute(text("ANALYZE tickets"))
        proposed["document"] = timed(lambda: document(True), max(3, args.repeat // 2))[0]
        with Session(engine) as s:
            proposed["overdue"] = timed(lambda: queries.overdue_open_now(s, cities=(CITY,), now=NOW), 3)[0]
            proposed["seats"] = timed(lambda: queries.seat_times(s, cities=(CITY,), start=start, end=end, now=NOW),
                                      3)[0]
        with engine.begin() as conn:
            for ddl in PROPOSED_INDEXES:
                conn.execute(text("DROP INDEX IF EXISTS " + ddl.split()[5]))
    month_calls = fast[2][0]["offered"]
    print(f"city {CITY}, {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: {month_calls:,} calls offered, "
          f"{fast[2][1]:,} tickets created (identical on both paths)")
    print(f"telephony + tickets created, rollups + raw edges: median {fast[0] * 1000:.1f} ms (min {fast[1] * 1000:.1f})")
    print(f"telephony + tickets created, raw scan (baseline):  median {slow[0] * 1000:.1f} ms (min {slow[1] * 1000:.1f})"
          f"  -> ratio {slow[0] / fast[0]:.1f}x")
    print(f"whole KPI document with rollups:  median {doc_fast[0] * 1000:.1f} ms (min {doc_fast[1] * 1000:.1f})")
    print(f"whole KPI document, raw scan:     median {doc_slow[0] * 1000:.1f} ms (min {doc_slow[1] * 1000:.1f})")
    for name, seconds in parts.items():
        print(f"  of which {name}: median {seconds * 1000:.1f} ms")
    if proposed:
        print(f"with the proposed indexes ({'; '.join(d.split()[5] for d in PROPOSED_INDEXES)}): whole document "
              f"{proposed['document'] * 1000:.1f} ms, overdue open now {proposed['overdue'] * 1000:.1f} ms, "
              f"seat times {proposed['seats'] * 1000:.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
