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

``--columnar`` instead measures the columnar path into PostgreSQL (``seed_history(columnar=True)``,
issue 15) with the PostgreSQL server's CPU counted (the backends of the bench database, read from
/proc), beside, in the same run: the COPY ceiling of the events' rows into a bare table and into a
table with the events' indexes, and the object simulator's bulk path (trusted, 1 and 2 processes):

    python bench/bulk.py --columnar --days 2 --scale 1 --pg postgresql+psycopg://postgres@127.0.0.1/cockpit_bulkpg_bench
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


class PgCpu:
    """CPU-seconds (user + sys) of the PostgreSQL backends connected to one database, polled from
    /proc every 0.1 s (a backend that exits between two polls loses at most its last 0.1 s), plus
    the server's background processes (WAL writer, checkpointer, ...: shared with other databases)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.db = url.rsplit("/", 1)[1]
        self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        self.own = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.tick = os.sysconf("SC_CLK_TCK")

    def _proc(self, pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick

    def _poll(self) -> None:
        rows = self.conn.execute("SELECT pid, datname, backend_type FROM pg_stat_activity").fetchall()
        for pid, datname, kind in rows:
            if pid == self.own:
                continue
            value = self._proc(pid)
            if value is None:
                continue
            group = "db" if datname == self.db else ("bg" if datname is None and kind != "client backend" else None)
            if group is None:
                continue
            self.first.setdefault(pid, (group, 0.0 if self.started else value))  # new backends: all theirs
            self.last[pid] = value

    def __enter__(self) -> "PgCpu":
        import threading

        self.first, self.last, self.started = {}, {}, False
        self._poll()
        self.started = True
        self.stop = threading.Event()

        def loop() -> None:
            while not self.stop.wait(0.1):
                self._poll()

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self._poll()

    def seconds(self, group: str = "db") -> float:
        return sum(self.last[pid] - base for pid, (g, base) in self.first.items() if g == group)


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
    parser.add_argument("--columnar", action="store_true", help="the columnar path into PostgreSQL (see above)")
    parser.add_argument("--only", default="", help="--columnar: only the rows whose label contains this")
    args = parser.parse_args()
    if args.columnar:
        columnar(args)
        return

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


def _pg_row(label: str, events: int, wall: float, client: float, pg: PgCpu) -> None:
    server, background = pg.seconds("db"), pg.seconds("bg")
    total = client + server
    print(f"  {label:<62} {events / wall:>9,.0f} events/s wall {events / total:>9,.0f} per CPU-second "
          f"({events:,} events, {wall:.1f} s wall, CPU {client:.1f} s client + {server:.1f} s PostgreSQL; "
          f"server background {background:.1f} s not counted; load {os.getloadavg()[0]:.1f})", flush=True)


SECONDARY = ("events", "ticket_steps", "seat_state_changes", "tickets", "calls")


def _drop_secondary_indexes(url: str) -> list[str]:
    """Drop the indexes of the history tables that back no constraint; returns their CREATE statements
    (on the partitioned parents, which create them on every partition again)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)", (list(SECONDARY),)).fetchall()
        for name, _ddl in rows:
            conn.execute(f'DROP INDEX "{name}"')
    return [ddl.replace(" ON ONLY ", " ON ") for _name, ddl in rows]


def columnar(args) -> None:
    """The columnar path into PostgreSQL, the PostgreSQL server's CPU counted, baselines in the same run."""
    import psycopg

    from cockpit.bulk_columnar import buffers
    from cockpit.simulation import catalog, seed_history
    from cockpit.simulation.columnar import CityDayGen
    from cockpit.simulation.incidents import LOCAL_TZ
    from cockpit.simulation.seeding import history_window

    tz = Settings().tz
    today = datetime.now(UTC).astimezone(tz).date()
    end = datetime(today.year, today.month, today.day, tzinfo=tz).astimezone(UTC)  # history: before today
    start, _ = history_window(args.days, end)
    print(f"machine: {describe()}")
    with psycopg.connect(args.pg.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0] + "/postgres") as c:
        print("server:", c.execute("SELECT version()").fetchone()[0].split(" on ")[0], "|",
              ", ".join(f"{k}={c.execute(f'SHOW {k}').fetchone()[0]}" for k in
                        ("shared_buffers", "synchronous_commit", "wal_level", "max_wal_size")))
    print(f"history: {args.days} day(s) before {end.isoformat()}, 14 cities, scale {args.scale}")
    lo, hi = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
    first, last = start.astimezone(LOCAL_TZ).date(), (end - timedelta(milliseconds=1)).astimezone(LOCAL_TZ).date()
    gen = CityDayGen(1, scale=args.scale)
    gen.city_day("620100", first - timedelta(days=1))  # samples the district point pools (once per process)
    out = {k: [] for k in ("ids", "events", "calls", "seat_changes", "steps")}
    t, c = time.perf_counter(), _cpu()
    n = 0
    day = first
    while day <= last:
        for city in catalog.cities():
            n += buffers(gen.city_day(city, day).clip(lo, hi), out, "2026-11-30 00:00:00")[0]
        day += timedelta(days=1)
    events = "".join(out["events"])
    _row("client alone: columnar simulator + COPY text of every table", n, time.perf_counter() - t, _cpu() - c)
    del out
    with tempfile.TemporaryDirectory() as tmp:
        stores = _fresh(args.pg, Path(tmp), args.redis)
        stores.close()
        raw_url = args.pg.replace("postgresql+psycopg", "postgresql")
        for label, ddl in (("ceiling: COPY of the events' rows into a bare table", "(LIKE events)"),
                           ("ceiling: same, table with the events' 3 indexes", "(LIKE events INCLUDING INDEXES)")):
            if args.only not in label:
                continue
            with psycopg.connect(raw_url) as conn:
                conn.execute(f"CREATE TABLE bench_events {ddl}")
                conn.execute("ALTER TABLE bench_events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
                conn.commit()
                with PgCpu(args.pg) as pg:
                    t, c = time.perf_counter(), _cpu()
                    with conn.cursor() as cur, cur.copy(
                            "COPY bench_events (event_id, type, city, entity_id, occurred_at, payload, received_at, "
                            "source) FROM STDIN") as copy:
                        copy.write(events)
                    conn.commit()
                    wall, client = time.perf_counter() - t, _cpu() - c
                _pg_row(label, n, wall, client, pg)
                conn.execute("DROP TABLE bench_events")
                conn.commit()
        runs = [("columnar path, 1 process (seed_history(columnar=True))", dict(columnar=True, workers=1)),
                ("columnar path, 1 process, secondary indexes dropped, rebuilt after", dict(columnar=True, workers=1)),
                ("columnar path, 2 processes", dict(columnar=True, workers=2)),
                ("baseline: bulk path before, trusted, 1 process", dict(trusted=True, workers=1)),
                ("baseline: bulk path before, trusted, 2 processes", dict(trusted=True, workers=2))]
        for name, kwargs in runs:
            if args.only not in name:
                continue
            stores = _fresh(args.pg, Path(tmp), args.redis)
            deferred = "dropped" in name
            with PgCpu(args.pg) as pg:
                t, c = time.perf_counter(), _cpu()
                if deferred:
                    indexes = _drop_secondary_indexes(raw_url)
                result = seed_history(stores, args.days, end=end, scale=args.scale, progress=False, **kwargs)
                if deferred:
                    with psycopg.connect(raw_url, autocommit=True) as conn:
                        for ddl in indexes:
                            conn.execute(ddl)
                wall, client = time.perf_counter() - t, _cpu() - c
            assert result["accepted"] == result["events"] and result["rejected"] == 0, result
            _pg_row(name, result["events"], wall, client, pg)
            stores.close()
    redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
