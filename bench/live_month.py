"""Benchmark: a month's ticket counts while its last days are live, on a ``bench/scale.py`` database.

``bench/scale.py`` reads a history whose "now" lies after every ticket settled, so nearly all of a
month is frozen (``metrics.cohorts``). In a live month the last ~8 days are not (open tickets,
callbacks awaited). This unfreezes a city's last ``--days`` days of a month in a transaction that is
rolled back at the end, checks that the frozen cohorts' read, the day rollups' read
(``store.days``) and the row-by-row read give the same counts, and times the first two:

    python bench/live_month.py --db postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_reads_large \\
        [--city 620100] [--month 2026-10] [--days 8] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from cockpit.metrics.queries import counts  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores  # noqa: E402
from cockpit.timeutil import local_midnight, naive_utc  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="PostgreSQL URL of a bench/scale.py database")
    parser.add_argument("--city", default="620100", help="city code")
    parser.add_argument("--month", default="2026-10", help="local month, YYYY-MM")
    parser.add_argument("--days", type=int, default=8, help="last days of the month made live (unfrozen)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per read")
    args = parser.parse_args()
    settings = Settings(database_url=args.db, mode="development")
    stores = Stores.open(settings)
    tz = settings.tz
    first = date.fromisoformat(args.month + "-01")
    following = (first + timedelta(days=32)).replace(day=1)
    lo, hi = naive_utc(local_midnight(first, tz)), naive_utc(local_midnight(following, tz))
    cut = naive_utc(local_midnight(following - timedelta(days=args.days), tz))
    now = hi + timedelta(days=1)
    window = {"c": cut, "h": hi, "city": args.city}
    with stores.sessionmaker() as session, session.begin():
        live = session.execute(text("UPDATE tickets SET cohort_frozen = false WHERE city = :city AND created_at >= :c "
                                    "AND created_at < :h AND cohort_frozen"), window).rowcount
        for table in ("ticket_cohorts", "ticket_cohort_days"):
            session.execute(text(f"DELETE FROM {table} WHERE city = :city AND day_start >= :c AND day_start < :h"),
                            window)
        print(f"{args.city} {args.month}: {live:,} tickets of its last {args.days} days unfrozen "
              f"(rolled back at the end); load {os.getloadavg()[0]:.1f}")
        kw = {"cities": [args.city], "districts": None, "start": lo, "end": hi, "now": now, "settings": settings,
              "group_by": None}
        raw = counts.ticket_counts(session, cities=[args.city], start=lo, end=hi, now=now, settings=settings,
                                   use_cohorts=False)
        reads = (("frozen cohorts", counts.ticket_counts_cohorts), ("day rollups", counts.ticket_counts_days))
        for name, read in reads:
            assert read(session, **kw) == raw, name
        for name, read in reads * 2:
            wall, cpu = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                read(session, **kw)
                wall.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            wall.sort()
            print(f"  {name:15s} p50 {statistics.median(wall):6.2f} ms  p95 {wall[int(0.95 * len(wall)) - 1]:6.2f} ms  "
                  f"client CPU {statistics.mean(cpu):.2f} ms  (same counts as row by row)")
        session.rollback()
    stores.close()


if __name__ == "__main__":
    main()
