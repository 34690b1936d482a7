"""Benchmark: the wall screen's server time per refresh, and the bytes a browser loads first.

1. Seeds PostgreSQL (+ Redis) with a simulated province history through the one ingestion path
   (``cockpit.simulation.seed_history``), rolls it up into the 15-minute rollups, then times
   ``cockpit.wall.city_snapshot`` (the function behind every 2-second wall refresh):
   warm (its slow SQL parts cached, the steady state) and cold (caches cleared before each call,
   what a refresh pays when the caches expire), and ``province_snapshot`` warm.
   Baselines measured in the same run: a Redis PING and an SQL ``SELECT 1`` round trip.
2. Starts the app on 127.0.0.1, opens /wall/<city> and /province/<code> in headless Chromium and
   sums ``transferSize`` over the Resource Timing entries (navigation + resources) once the
   page shows its data.

    python bench/wall.py [--days 29] [--scale 1.0] [--calls 200] [--reuse]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_wall]
        [--redis redis://127.0.0.1:6379/10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from cockpit import wall  # noqa: E402
from cockpit.models import Base, EventRecord, Ticket  # noqa: E402
from cockpit.rollups import rollup_range  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.stores import Stores, make_engine  # noqa: E402

CITY = "620100"
PROVINCE = "620000"


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.node()} | {cpu} | {os.cpu_count()} cores | load {load:.1f} | "
            f"Python {platform.python_version()}")


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
    parser.add_argument("--pg", default=os.environ.get(
        "COCKPIT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_bench_wall"))
    parser.add_argument("--redis", default=os.environ.get("COCKPIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    args = parser.parse_args()

    print(machine())
    stores = open_stores(args.pg, args.redis, args.reuse)
    if not args.reuse:
        seed(stores, args.days, args.scale)
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
    wall.clear_cache()
    wall.city_snapshot(stores, CITY)  # load the boundaries once, as a running server has
    cold = percentiles(timed(lambda: wall.city_snapshot(stores, CITY), args.cold_calls, before=wall.clear_cache))
    wall.city_snapshot(stores, CITY)
    warm = percentiles(timed(lambda: wall.city_snapshot(stores, CITY), args.calls))
    wall.province_snapshot(stores, PROVINCE)
    prov = percentiles(timed(lambda: wall.province_snapshot(stores, PROVINCE), args.calls))
    wall.clear_cache()
    prov_cold = percentiles(timed(lambda: wall.province_snapshot(stores, PROVINCE), 5, before=wall.clear_cache))
    print(f"baseline Redis PING           p50 {ping[0]:7.2f} ms  p95 {ping[1]:7.2f} ms")
    print(f"baseline SQL SELECT 1         p50 {sql[0]:7.2f} ms  p95 {sql[1]:7.2f} ms")
    print(f"city_snapshot warm ({args.calls})     p50 {warm[0]:7.2f} ms  p95 {warm[1]:7.2f} ms")
    print(f"city_snapshot cold ({args.cold_calls})      p50 {cold[0]:7.2f} ms  p95 {cold[1]:7.2f} ms")
    print(f"province_snapshot warm ({args.calls}) p50 {prov[0]:7.2f} ms  p95 {prov[1]:7.2f} ms")
    print(f"province_snapshot cold (5)    p50 {prov_cold[0]:7.2f} ms  p95 {prov_cold[1]:7.2f} ms")

    loads = first_load_bytes(stores, [(f"/wall/{CITY}", ".ck-wall-districts path.leaflet-interactive"),
                                      (f"/province/{PROVINCE}", "tr[data-city] img.ck-spark")])
    for path, r in loads.items():
        print(f"first load {path}: {r['transfer'] / 1e6:.2f} MB transferred ({r['decoded'] / 1e6:.2f} MB decoded, "
              f"{r['requests']} requests, data shown after {r['shown_s']:.1f} s); external: {r['external'] or 'none'}")
        print("   largest: " + ", ".join(f"{name} {size / 1e3:.0f} kB" for size, name in r["largest"]))


if __name__ == "__main__":
    main()
