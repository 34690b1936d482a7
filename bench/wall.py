"""Benchmark: the wall screen's server time per refresh, and the bytes a browser loads first.

1. Seeds PostgreSQL (+ Redis) with a simulated province history through the one ingestion path
   (``cockpit.simulation.seed_history``), rolls it up into the 15-minute rollups, then times
   the worker job ``cockpit.views.panels.precompute_panels`` (the slow SQL panels of every city and the
   province, stored in Redis) and ``cockpit.views.wall.city_snapshot`` / ``province.province_snapshot`` (the
   functions behind every 2-second refresh): steady state (panels precomputed; warm, and with the
   in-process caches cleared before each call, as a fresh web worker), steady state while the job
   runs back to back in another thread, and cold (panels missing: the refresh computes them
   inline, what a lone ``cockpit serve`` pays once per panel interval).
   Baselines measured in the same run: a Redis PING and an SQL ``SELECT 1`` round trip.
2. Starts the app on 127.0.0.1, opens /wall/<city> and /province/<code> in headless Chromium and
   sums ``transferSize`` over the Resource Timing entries (navigation + resources) once the
   page shows its data.

    python bench/wall.py [--days 29] [--scale 1.0] [--calls 200] [--reuse]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_wall]
        [--redis redis://127.0.0.1:6379/2]

With ``--reuse`` and an empty Redis database the live counters are rebuilt from SQL first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

import redis  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from cockpit.store import live  # noqa: E402
from cockpit.views import panels, province as province_view, wall  # noqa: E402
from cockpit.ingest import rebuild_live  # noqa: E402
from cockpit.store.models import Base, EventRecord, Ticket  # noqa: E402
from cockpit.metrics.rollups import rollup_range  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store.db import Stores, make_engine  # noqa: E402

CITY = "620100"
PROVINCE = "620000"


def machine() -> str:
    return describe()

def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(fn, n: int, before=None) -> list[float]:
    out = []
    for _ in range(n):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def open_stores(pg_url: str, redis_url: str, reuse: bool) -> Stores:
    engine = make_engine(pg_url)
    if not reuse:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            Base.metadata.create_all(conn)
    engine.dispose()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    if not reuse:
        client.flushdb()
    settings = Settings(var_dir=Path("var/bench"), database_url=pg_url, redis_url=redis_url)
    return Stores.open(settings, redis_client=client)


def seed(stores: Stores, days: int, scale: float) -> float:
    from cockpit.simulation import seed_history
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
    t = time.perf_counter()
    totals = seed_history(stores, days, seed=11, scale=scale, progress=False)
    took = time.perf_counter() - t
    print(f"seeded {days} days at scale {scale}: {totals['accepted']:,} events accepted in {took:.0f} s")
    with stores.session() as session:
        start = session.scalar(select(func.min(EventRecord.occurred_at)))
        t = time.perf_counter()
        rollup_range(session, start, datetime.now(UTC), settings=stores.settings)
    print(f"rolled up in {time.perf_counter() - t:.0f} s")
    return took


def worker_process(pg_url: str, redis_url: str) -> None:
    """Run the panel job back to back in its own process (as `cockpit worker` does), until terminated."""
    stores = open_stores(pg_url, redis_url, reuse=True)
    while True:
        panels.precompute_panels(stores)


def first_load_bytes(stores: Stores, paths: list[tuple[str, str]]) -> dict[str, dict]:
    """Bytes over the wire per page (Resource Timing transferSize, navigation + resources)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.support.ui import WebDriverWait
    from werkzeug.serving import make_server

    from app import create_app

    app = create_app(stores.settings, stores=stores)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-quic",
                 "--no-first-run", "--disable-sync", "--window-size=1920,1080"):
        options.add_argument(flag)
    out: dict[str, dict] = {}
    try:
        for path, ready in paths:
            driver = webdriver.Chrome(options=options)  # a fresh profile: an empty cache
            try:
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                    "width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})
                t = time.perf_counter()
                driver.get(f"http://127.0.0.1:{port}{path}")
                WebDriverWait(driver, 60).until(
                    lambda d: d.execute_script(f"return document.querySelectorAll({ready!r}).length > 0"))
                shown = time.perf_counter() - t
                sizes = driver.execute_script(
                    "const e = performance.getEntriesByType('navigation').concat("
                    "performance.getEntriesByType('resource'));"
                    "return [e.reduce((a, x) => a + (x.transferSize || 0), 0),"
                    " e.reduce((a, x) => a + (x.decodedBodySize || 0), 0), e.length,"
                    " e.filter(x => !x.name.startsWith('http://127.0.0.1')).map(x => x.name),"
                    " e.map(x => [x.transferSize || 0, x.name.split('/').pop().split('?')[0]])"
                    "  .sort((a, b) => b[0] - a[0]).slice(0, 6)];")
                out[path] = {"transfer": sizes[0], "decoded": sizes[1], "requests": sizes[2],
                             "external": sizes[3], "shown_s": shown, "largest": sizes[4]}
            finally:
                driver.quit()
    finally:
        server.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=29, help="days of simulated history")
    parser.add_argument("--scale", type=float, default=1.0, help="simulated volume scale (1.0 = 20k contacts/day)")
    parser.add_argument("--calls", type=int, default=200, help="timed calls of the warm snapshot")
    parser.add_argument("--cold-calls", type=int, default=20, help="timed calls with cleared caches")
    parser.add_argument("--reuse", action="store_true", help="keep the existing database (skip seeding)")
    parser.add_argument("--skip-browser", action="store_true", help="server times only (no first-load bytes)")
    parser.add_argument("--pg", default=os.environ.get(
        "COCKPIT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_wall"))
    parser.add_argument("--redis", default=os.environ.get("COCKPIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    args = parser.parse_args()

    print(machine())
    stores = open_stores(args.pg, args.redis, args.reuse)
    if not args.reuse:
        seed(stores, args.days, args.scale)
    elif not stores.redis.exists(live.KEY_CITIES):
        t = time.perf_counter()
        replayed = rebuild_live(stores)
        print(f"live counters rebuilt from SQL: {replayed:,} events in {time.perf_counter() - t:.0f} s")
    with stores.session() as session:
        n_events = session.scalar(select(func.count()).select_from(EventRecord))
        n_tickets = session.scalar(select(func.count()).select_from(Ticket))
        pg_version = session.scalar(text("SHOW server_version"))
    print(f"history: {n_events:,} events, {n_tickets:,} tickets (PostgreSQL {pg_version}, "
          f"Redis {stores.redis.info('server')['redis_version']})")

    def sql_ping():
        with stores.session() as session:
            session.execute(text("SELECT 1"))

    ping = percentiles(timed(stores.redis.ping, 200))
    sql = percentiles(timed(sql_ping, 200))
    panels.forget(stores)
    wall.city_snapshot(stores, CITY)  # load the boundaries once, as a running server has
    province_view.province_snapshot(stores, PROVINCE)

    job_runs = []
    for _ in range(3):
        t = time.perf_counter()
        per_scope = panels.precompute_panels(stores)
        job_runs.append((time.perf_counter() - t, per_scope))
    job_total = sorted(r[0] for r in job_runs)
    fastest = min(job_runs, key=lambda r: r[0])[1]
    city_scopes = [s for s in fastest if not s.endswith("0000")]

    def fresh_process():
        stores.caches.clear()  # in-process caches only: the panels stay in Redis

    city = lambda: wall.city_snapshot(stores, CITY)  # noqa: E731
    province = lambda: province_view.province_snapshot(stores, PROVINCE)  # noqa: E731
    warm = percentiles(timed(city, args.calls))
    warm_fresh = percentiles(timed(city, args.calls, before=fresh_process))
    prov = percentiles(timed(province, args.calls))
    prov_fresh = percentiles(timed(province, args.calls, before=fresh_process))

    # The job back to back (its worst case; it runs once a minute), in its own process as
    # `cockpit worker` runs it, then in a thread of this process as the demo runs it.
    proc = multiprocessing.get_context("spawn").Process(target=worker_process, args=(args.pg, args.redis),
                                                        daemon=True)
    proc.start()
    time.sleep(3)
    during = percentiles(timed(city, args.calls, before=lambda: time.sleep(0.01)))
    prov_during = percentiles(timed(province, args.calls, before=lambda: time.sleep(0.01)))
    proc.terminate()
    proc.join()
    stop = threading.Event()

    def worker_loop():
        while not stop.is_set():
            panels.precompute_panels(stores)

    busy = threading.Thread(target=worker_loop, daemon=True)
    busy.start()
    during_t = percentiles(timed(city, args.calls, before=lambda: time.sleep(0.01)))
    prov_during_t = percentiles(timed(province, args.calls, before=lambda: time.sleep(0.01)))
    stop.set()
    busy.join()

    cold = percentiles(timed(city, args.cold_calls, before=lambda: panels.forget(stores)))
    prov_cold = percentiles(timed(province, 5, before=lambda: panels.forget(stores)))
    print(f"baseline Redis PING                              p50 {ping[0]:7.2f} ms  p95 {ping[1]:7.2f} ms")
    print(f"baseline SQL SELECT 1                            p50 {sql[0]:7.2f} ms  p95 {sql[1]:7.2f} ms")
    print(f"worker job precompute_panels (3 runs, {len(fastest)} scopes)  min {job_total[0] * 1000:7.0f} ms  "
          f"median {job_total[1] * 1000:7.0f} ms  max {job_total[2] * 1000:7.0f} ms")
    print(f"   of which (fastest run): city {CITY} {fastest.get(CITY, 0) * 1000:.0f} ms, mean city "
          f"{statistics.mean(fastest[c] for c in city_scopes) * 1000:.0f} ms over {len(city_scopes)} cities, "
          f"province {PROVINCE} {fastest.get(PROVINCE, 0) * 1000:.0f} ms")
    print(f"city_snapshot steady, warm ({args.calls})              p50 {warm[0]:7.2f} ms  p95 {warm[1]:7.2f} ms")
    print(f"city_snapshot steady, fresh process ({args.calls})     p50 {warm_fresh[0]:7.2f} ms  "
          f"p95 {warm_fresh[1]:7.2f} ms")
    print(f"city_snapshot steady, job in a process ({args.calls})  p50 {during[0]:7.2f} ms  "
          f"p95 {during[1]:7.2f} ms")
    print(f"city_snapshot steady, job in a thread ({args.calls})   p50 {during_t[0]:7.2f} ms  "
          f"p95 {during_t[1]:7.2f} ms")
    print(f"city_snapshot cold, panels missing ({args.cold_calls})     p50 {cold[0]:7.2f} ms  p95 {cold[1]:7.2f} ms")
    print(f"province_snapshot steady, warm ({args.calls})          p50 {prov[0]:7.2f} ms  p95 {prov[1]:7.2f} ms")
    print(f"province_snapshot steady, fresh process ({args.calls}) p50 {prov_fresh[0]:7.2f} ms  "
          f"p95 {prov_fresh[1]:7.2f} ms")
    print(f"province_snapshot steady, job in a process ({args.calls}) p50 {prov_during[0]:7.2f} ms  "
          f"p95 {prov_during[1]:7.2f} ms")
    print(f"province_snapshot steady, job in a thread ({args.calls})  p50 {prov_during_t[0]:7.2f} ms  "
          f"p95 {prov_during_t[1]:7.2f} ms")
    print(f"province_snapshot cold, panels missing (5)       p50 {prov_cold[0]:7.2f} ms  p95 {prov_cold[1]:7.2f} ms")
    panels.precompute_panels(stores)
    if args.skip_browser:
        return

    loads = first_load_bytes(stores, [(f"/wall/{CITY}", ".ck-wall-districts path.leaflet-interactive"),
                                      (f"/province/{PROVINCE}", "tr[data-city] img.ck-spark")])
    for path, r in loads.items():
        print(f"first load {path}: {r['transfer'] / 1e6:.2f} MB transferred ({r['decoded'] / 1e6:.2f} MB decoded, "
              f"{r['requests']} requests, data shown after {r['shown_s']:.1f} s); external: {r['external'] or 'none'}")
        print("   largest: " + ", ".join(f"{name} {size / 1e3:.0f} kB" for size, name in r["largest"]))


if __name__ == "__main__":
    main()
