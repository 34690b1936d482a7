"""Benchmark: the history screens' queries at scale, each beside a raw scan of the same figure.

Generates simulated history (the province simulator, all 14 cities over many days) into a
PostgreSQL database through the bulk path (``seed_history``: COPY, groups of cities loaded in
``--workers`` processes, rollups at the end), and records what it generated in the table
``bench_scale_marker``; a later run with ``--reuse`` skips generation when the marker's targets
match. Then times, over ``--repeat`` runs each with random parameters, the product's own read
functions with p50/p95, and beside each a raw scan of the same figure (no rollups, no indexes):

- KPI city-month: ``metrics.kpi.kpi`` for a city and a local month (rollups + raw edges);
  raw: the same document with ``use_rollups=False`` and index scans off (every figure compared);
- league table: ``views.panels.compute_league``, the league panel of the province page (the
  worker's job: ``metrics.kpi.rankings`` by city, trends, history days), and ``page_read``: what the
  page waits for, ``views.panels.panel`` (the stored panel in Redis); raw: tickets created and calls
  offered (by queue time) per city of the window by one GROUP BY, index scans off (fewer figures than
  the panel; both compared);
- drill-down first page: ``views.drill.grid_rows`` of /supervise's grid (a city, a district or
  not, first 100 rows, newest first, with the capped count); raw: the same filter, index scans off;
- ticket timeline: ``views.ticket.ticket_view`` of the ticket page; raw: ``ticket_steps`` and
  ``tickets`` looked up with index scans off.

    python bench/scale.py --tickets 3000000 --calls 10000000 --db postgresql+psycopg://.../cockpit_scale
                          [--reuse] [--json] [--repeat 40] [--workers 2] [--days N]

``--tickets`` and ``--calls`` (call events: call.offered/answered/abandoned/ended) are targets: the
simulator's mix decides the ratio (about 2.3 call events per ticket), so the volume is scaled to
reach the larger of the two and the counts actually stored are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

from sqlalchemy import text  # noqa: E402

from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores, make_engine  # noqa: E402

MARKER = "bench_scale_marker"
# The simulated province at scale 1 (all 14 cities, a week of June 2026, counted 2026-11-30):
# tickets created and call events (call.*) per day. Only used to pick the scale; the counts
# actually stored are what the bench reports.
TICKETS_PER_DAY = 17_200
CALL_EVENTS_PER_DAY = 39_000
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight, 1 Nov 2026
MIN_DAYS = 2


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def plan(tickets: int, calls: int, days: int | None) -> tuple[int, float]:
    """Days of history and the simulator's scale that reach both targets (the larger one decides)."""
    volume = max(tickets / TICKETS_PER_DAY, calls / CALL_EVENTS_PER_DAY)  # province-days at scale 1
    if days is None:
        # Many months, but not below scale 1 per day (a real province's daily volume).
        days = max(MIN_DAYS, min(365, math.ceil(volume)))
    return days, volume / days


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def read_marker(url: str) -> dict | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(f"SELECT doc FROM {MARKER} ORDER BY id DESC LIMIT 1")).scalar()
        return json.loads(row) if row else None
    except Exception:  # noqa: BLE001 - no marker table: nothing generated yet
        return None
    finally:
        engine.dispose()


def fresh(url: str, settings: Settings) -> Stores:
    """Drop and recreate the database, migrate it, load the regions (the marker goes with it)."""
    from cockpit.store.migrate import upgrade
    from geo.regions import load_default_regions

    name = url.rsplit("/", 1)[1]
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade(settings)
    stores = Stores.open(settings)
    with stores.session() as session:
        load_default_regions(session)
    return stores


def generate(stores: Stores, *, tickets: int, calls: int, days: int | None, workers: int,
             quiet: bool) -> dict:
    """Simulated history through the bulk path; returns the marker document (counts, rate, time)."""
    from cockpit.simulation import seed_history

    days, scale = plan(tickets, calls, days)
    started = time.perf_counter()
    cpu = _cpu()
    last = [started]

    def on_day(done: int, total: int) -> None:
        if not quiet and (time.perf_counter() - last[0] > 30 or done == total):
            last[0] = time.perf_counter()
            print(f"  generated {done}/{total} days, {time.perf_counter() - started:.0f} s, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    if not quiet:
        print(f"generating {days} days at scale {scale:.3f} in {workers} process(es) ...", file=sys.stderr,
              flush=True)
    result = seed_history(stores, days, end=HISTORY_END, scale=scale, workers=workers, trusted=True,
                          progress=False, on_day=on_day, seed=1)
    seconds = time.perf_counter() - started
    with stores.session() as session:
        counts = counts_now(session)
    return {"tickets_target": tickets, "calls_target": calls, "days": days, "scale": scale,
            "start": result["start"], "end": result["end"], "events": result["events"],
            "accepted": result["accepted"], **counts, "seconds": seconds, "cpu_seconds": _cpu() - cpu,
            "events_per_s": result["events"] / seconds, "load": os.getloadavg()[0],
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}


def counts_now(session) -> dict:
    """Rows stored: tickets, call events, all events (reltuples would drift; these are exact)."""
    return {
        "tickets": session.execute(text("SELECT count(*) FROM tickets")).scalar(),
        "call_events": session.execute(text("SELECT count(*) FROM events WHERE type LIKE 'call.%'")).scalar(),
        "calls": session.execute(text("SELECT count(*) FROM calls")).scalar(),
        "ticket_steps": session.execute(text("SELECT count(*) FROM ticket_steps")).scalar(),
        "events_stored": session.execute(text("SELECT count(*) FROM events")).scalar(),
    }


def write_marker(stores: Stores, doc: dict) -> None:
    with stores.session() as session:
        session.execute(text(f"CREATE TABLE IF NOT EXISTS {MARKER} "
                             "(id serial PRIMARY KEY, doc text NOT NULL)"))
        session.execute(text(f"INSERT INTO {MARKER} (doc) VALUES (:d)"), {"d": json.dumps(doc)})


def prepare_partitions(stores: Stores, days: int) -> None:
    """The month partitions of the whole history window, before the load (else rows land in the
    default partitions and every query scans them)."""
    from cockpit.store.partitions import ensure_partitions

    first = HISTORY_END - timedelta(days=days + 1)
    months = (HISTORY_END.year - first.year) * 12 + HISTORY_END.month - first.month + 1
    with stores.session() as session:
        ensure_partitions(session.connection(), ahead=months + 3, now=first)


def load(args, settings: Settings, out: dict) -> Stores:
    """Generate (or reuse) the history; fills ``out["generation"]``."""
    ensure_database(args.db)
    marker = read_marker(args.db) if args.reuse else None
    if marker and marker["tickets_target"] == args.tickets and marker["calls_target"] == args.calls:
        out["generation"] = {**marker, "reused": True}
        out["upgrade"] = catch_up(settings, marker)
        return Stores.open(settings)
    stores = fresh(args.db, settings)
    days, _ = plan(args.tickets, args.calls, args.days)
    prepare_partitions(stores, days)
    doc = generate(stores, tickets=args.tickets, calls=args.calls, days=args.days, workers=args.workers,
                   quiet=args.json)
    # What autovacuum would do soon after a load: the upserts left a dead version of every ticket
    # per chunk that touched it, which index scans would otherwise wade through.
    with stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    write_marker(stores, doc)
    out["generation"] = {**doc, "reused": False}
    return stores


def catch_up(settings: Settings, marker: dict) -> dict:
    """A reused history generated by older code: migrate it to head, count the frozen ticket
    cohorts of its days when there are none yet and build the day rollups when they are not kept
    (what ``cockpit db upgrade`` then ``cockpit rollup`` or the worker do on a deployment); returns
    what it took."""
    from cockpit.metrics import cohorts
    from cockpit.store import days as day_rows
    from cockpit.store.migrate import upgrade

    done: dict = {}
    t0, cpu0 = time.perf_counter(), _cpu()
    upgrade(settings)
    done["migrate_s"] = round(time.perf_counter() - t0, 1)
    stores = Stores.open(settings)
    try:
        with stores.session() as session:
            frozen = session.execute(text("SELECT count(*) FROM ticket_cohort_days")).scalar()
        if not frozen:
            t1 = time.perf_counter()
            counted = cohorts.freeze_days(stores, datetime.fromisoformat(marker["start"]),
                                          datetime.fromisoformat(marker["end"]))
            with stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE tickets"))
                conn.execute(text("ANALYZE ticket_cohorts"))
                conn.execute(text("ANALYZE ticket_cohort_days"))
            done.update(counted, freeze_s=round(time.perf_counter() - t1, 1))
        t2 = time.perf_counter()
        with stores.session() as session:  # the day rollups (what the worker's first run does)
            rebuilt = day_rows.ensure(session, settings)
        if rebuilt:
            with stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE call_days"))
                conn.execute(text("ANALYZE ticket_days"))
            done["day_rollups_s"] = round(time.perf_counter() - t2, 1)
    finally:
        stores.close()
    done["cpu_s"] = round(_cpu() - cpu0, 1)
    done["load"] = round(os.getloadavg()[0], 1)
    return done


RAW_OPTIONS = "-c enable_indexscan=off -c enable_bitmapscan=off -c enable_indexonlyscan=off"
PROVINCE = "620000"


def raw_stores(stores: Stores) -> Stores:
    """The same stores with index scans off for every connection: the raw-scan baseline."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(stores.settings.sqlalchemy_url, connect_args={"options": RAW_OPTIONS}, pool_size=2)
    return Stores(settings=stores.settings, engine=engine, redis=stores.redis,
                  sessionmaker=sessionmaker(engine, expire_on_commit=False))


def percentiles(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2), "max_ms": round(ms[-1], 2),
            "runs": len(ms)}


def backend_cpu(url: str) -> float:
    """CPU seconds (user + sys) used so far by the PostgreSQL backends of ``url``'s database, read
    from /proc (server on this machine); 0 when they cannot be read. With the client's own CPU time
    this gives the work per call, which a loaded machine's wall time hides in queueing."""
    name = url.rsplit("/", 1)[1]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n AND pid <> "
                                     "pg_backend_pid()"), {"n": name}).scalars().all()
    finally:
        engine.dispose()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(fn, params: list, url: str | None = None) -> tuple[dict, list]:
    """Wall p50/p95 over ``params`` (one call each), and the mean CPU per call, client and server.

    One untimed call first: what a process pays once (the boundaries' GeoJSON, statements built
    once per shape, the pool's connections) is no part of a read's cost."""
    fn(params[0])
    values, results = [], []
    cpu, server = time.process_time(), backend_cpu(url) if url else 0.0
    for p in params:
        t0 = time.perf_counter()
        results.append(fn(p))
        values.append(time.perf_counter() - t0)
    out = percentiles(values)
    out["client_cpu_ms"] = round((time.process_time() - cpu) * 1000 / len(params), 2)
    if url:
        out["server_cpu_ms"] = round(max(0.0, backend_cpu(url) - server) * 1000 / len(params), 2)
    return out, results


def local_months(start: datetime, end: datetime, tz) -> list[tuple[datetime, datetime]]:
    """The whole local months inside ``[start, end)`` as naive UTC windows."""
    out = []
    local = start.astimezone(tz)
    month = datetime(local.year, local.month, 1, tzinfo=tz)
    if month < start:
        month = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz)
    while True:
        nxt = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=tz)
        if nxt > end:
            return out
        out.append((month.astimezone(UTC).replace(tzinfo=None), nxt.astimezone(UTC).replace(tzinfo=None)))
        month = nxt


LEAGUE_RAW_SQL = """
SELECT t.city, t.n, c.offered FROM
  (SELECT city, count(*) AS n FROM tickets WHERE created_at >= :lo AND created_at < :hi GROUP BY city) t
  FULL JOIN (SELECT city, count(*) AS offered FROM calls WHERE queued_at >= :lo AND queued_at < :hi
             AND (offered_at IS NOT NULL OR answered_at IS NOT NULL OR abandoned_at IS NOT NULL)
             GROUP BY city) c ON c.city = t.city
"""


def same_document(a: dict, b: dict) -> bool:
    """Every figure of two KPI documents equal (floats to 1e-9 relative: sums of the same seconds in
    another order), the path labels aside."""
    keys = (set(a) | set(b)) - {"calls_path"}
    for key in keys:
        x, y = a.get(key), b.get(key)
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif isinstance(x, dict) and isinstance(y, dict):
            if not same_document(x, y):
                return False
        elif x != y:
            return False
    return True


def time_queries(stores: Stores, settings: Settings, gen: dict, *, repeat: int, quiet: bool) -> dict:
    """p50/p95 of the four history reads over ``repeat`` random parameters, each beside a raw scan."""
    from cockpit.metrics import kpi
    from cockpit.store import live
    from cockpit.views import drill, panels, ticket

    rng = random.Random(15)
    raw = raw_stores(stores)
    url = settings.database_url
    raw_repeat = max(3, repeat // 4)
    tz = settings.tz
    start, end = datetime.fromisoformat(gen["start"]), datetime.fromisoformat(gen["end"])
    with stores.session() as session:
        cities = list(session.execute(text("SELECT code FROM regions WHERE level = 'city' AND parent = :p "
                                           "ORDER BY code"), {"p": PROVINCE}).scalars())
        districts = {c: list(session.execute(text("SELECT code FROM regions WHERE parent = :c"),
                                             {"c": c}).scalars()) for c in cities}
        ids = list(session.execute(text("SELECT ticket_id FROM tickets TABLESAMPLE SYSTEM (5) LIMIT 2000"))
                   .scalars())
        if len(ids) < 50:
            ids = list(session.execute(text("SELECT ticket_id FROM tickets LIMIT 2000")).scalars())
    months = local_months(start, end, tz) or [(start.replace(tzinfo=None), end.replace(tzinfo=None))]
    # "now" of the history screens: a moment of the history's last 30 days (the league's window is
    # the 30 days before it; nothing of the history lies after the history's end).
    nows = [end - timedelta(days=rng.uniform(0, min(30.0, (end - start).days / 2))) for _ in range(repeat)]
    out: dict = {}

    def report(name: str, figure: dict) -> None:
        out[name] = figure
        if not quiet:
            fast, slow = figure["product"], figure["raw_scan"]
            verdict = "met" if figure["goal_met"] else "NOT met"
            print(f"  {name:<24} p50 {fast['p50_ms']:>8.1f} ms  p95 {fast['p95_ms']:>8.1f} ms   raw scan p50 "
                  f"{slow['p50_ms']:>9.1f} ms  p95 {slow['p95_ms']:>9.1f} ms   "
                  f"goal p95 <= {figure['goal_p95_ms']} ms: {verdict}  (load {os.getloadavg()[0]:.1f})",
                  flush=True)
            print(f"  {'':<24} CPU per call (client + server): {fast['client_cpu_ms']:.1f} + "
                  f"{fast.get('server_cpu_ms', 0):.1f} ms; raw scan {slow['client_cpu_ms']:.1f} + "
                  f"{slow.get('server_cpu_ms', 0):.1f} ms", flush=True)

    def figure(product: dict, raw_scan: dict, goal: float, **extra) -> dict:
        return {"product": product, "raw_scan": raw_scan, "goal_p95_ms": goal,
                "goal_met": product["p95_ms"] <= goal, **extra}

    # KPI city-month: the API's and the wall's metrics.kpi document.
    kpi_params = [(rng.choice(cities), rng.choice(months), rng.choice(nows)) for _ in range(repeat)]

    def kpi_doc(p, s=stores, rollups=True):
        city, (lo, hi), now = p
        with s.read_session() as session:
            return kpi.kpi(session, scope=city, start=lo, end=hi, settings=settings, now=now,
                           use_rollups=rollups)

    fast, docs = timed(kpi_doc, kpi_params, url)
    slow, raw_docs = timed(lambda p: kpi_doc(p, raw, False), kpi_params[:raw_repeat], url)
    agree = all(same_document(a, b) for a, b in zip(docs, raw_docs))
    paths = Counter(d["calls_path"] for d in docs)
    report("kpi_city_month", figure(fast, slow, 50, agree=agree, calls_paths=dict(paths),
                                    offered_median=statistics.median(d["offered"] or 0 for d in docs)))

    # League table of the province page: the worker's league panel (rankings of the cities).
    def league(now, s=stores):
        return panels.compute_league(s, PROVINCE, now)

    def league_raw(now):
        lo = panels.local_midnight(now.astimezone(tz).date() - timedelta(days=panels.LEAGUE_DAYS), tz)
        with raw.read_session() as session:
            return session.execute(text(LEAGUE_RAW_SQL), {
                "lo": lo.astimezone(UTC).replace(tzinfo=None),
                "hi": now.astimezone(UTC).replace(tzinfo=None)}).all()

    fast, tables = timed(league, nows, url)
    slow, raw_rows = timed(league_raw, nows[:raw_repeat], url)
    agree = all({c: r.get("tickets_created") or 0 for c, r in t["rows"].items() if r.get("tickets_created")}
                == {c: n for c, n, _ in rows if n}
                and {c: r.get("offered") or 0 for c, r in t["rows"].items() if r.get("offered")}
                == {c: o for c, _, o in rows if o} for t, rows in zip(tables, raw_rows))
    # What the province page waits for: the panel the worker stored in Redis (computed inline once
    # when missing), read for one "now" (a stored panel is of its local day).
    stores.redis.delete(live.key_panel(PROVINCE, "league"))
    read, _ = timed(lambda now: panels.panel(stores, PROVINCE, (), "league", now), [end] * repeat)
    report("league_table", figure(fast, slow, 50, agree=agree, page_read=read))

    # Drill-down first page of /supervise's grid: a city, half the time one of its districts, a
    # third of the time open tickets only; newest first, rows 0-100 and the capped count.
    drill_params = []
    for _ in range(repeat):
        city = rng.choice(cities)
        query = {"city": city}
        if rng.random() < 0.5 and districts.get(city):
            query["district"] = rng.choice(districts[city])
        if rng.random() < 0.33:
            query["status"] = "open"
        drill_params.append(query)
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    fast, pages = timed(lambda q: drill.grid_rows(stores, q, request), drill_params, url)
    slow, raw_pages = timed(lambda q: drill.grid_rows(raw, q, request), drill_params[:raw_repeat], url)
    agree = all([r["ticket_id"] for r in a["rowData"]] == [r["ticket_id"] for r in b["rowData"]]
                for a, b in zip(pages, raw_pages))
    report("drill_first_page", figure(fast, slow, 150, agree=agree,
                                      rows_median=statistics.median(len(p["rowData"]) for p in pages)))

    # Ticket timeline of the ticket page.
    picks = [rng.choice(ids) for _ in range(repeat)]
    now = end
    fast, views = timed(lambda i: ticket.ticket_view(stores, i, now=now), picks, url)
    slow, raw_views = timed(lambda i: ticket.ticket_view(raw, i, now=now), picks[:raw_repeat], url)
    agree = all(len(a["steps"]) == len(b["steps"]) for a, b in zip(views, raw_views))
    report("ticket_timeline", figure(fast, slow, 20, agree=agree,
                                     steps_median=statistics.median(len(v["steps"]) for v in views)))
    raw.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, required=True, help="tickets to generate (target)")
    parser.add_argument("--calls", type=int, required=True, help="call events to generate (target)")
    parser.add_argument("--db", required=True,
                        help="PostgreSQL URL of the bench database (recreated unless --reuse matches)")
    parser.add_argument("--redis", default=os.environ.get("COCKPIT_BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/5"),
                        help="Redis for the load's live window and the watchpoint pause")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the generated history when its targets match")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per query (random parameters)")
    parser.add_argument("--workers", type=int, default=2, help="loader processes for the generation")
    parser.add_argument("--days", type=int, default=None, help="days of history (default: from the size)")
    parser.add_argument("--generate-only", action="store_true", help="stop after generating")
    args = parser.parse_args()
    settings = Settings(database_url=args.db, redis_url=args.redis, mode="development")
    out: dict = {}
    stores = load(args, settings, out)
    with stores.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    out["machine"] = describe(f"PostgreSQL {version}")
    out["loadavg"] = list(os.getloadavg())
    gen = out["generation"]
    if not args.json:
        print(f"machine: {out['machine']}")
        how = "reused" if gen["reused"] else "generated"
        print(f"history ({how}): {gen['days']} days at scale {gen['scale']:.3f}: {gen['tickets']:,} tickets, "
              f"{gen['call_events']:,} call events, {gen['events_stored']:,} events; "
              f"{gen['events_per_s']:,.0f} events/s ({gen['seconds']:.0f} s wall, "
              f"{gen['cpu_seconds']:.0f} s CPU, "
              f"load {gen['load']:.1f})", flush=True)
    if gen["reused"] and not args.json:
        print(f"reused history brought to head: {out['upgrade']}", flush=True)
    if not args.generate_only:
        out["queries"] = time_queries(stores, settings, gen, repeat=args.repeat, quiet=args.json)
    stores.close()
    if args.json:
        print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
