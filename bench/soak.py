"""Soak: ten times a big city's peak, for a long time, with wall screens polling. Not in CI.

A big city's hotline (Beijing 12345 scale) peaks near 6,000 calls an hour; with its answers, ends,
seat changes and tickets that is about 8 events a second. This script sends ten times that
(``--rate 80`` events/s, one batch a second over HTTP to ``POST /api/v1/events``) to the server as
production runs it (``--server gunicorn``: ``gunicorn app:server`` with ``--workers`` processes plus
one ``cockpit worker`` for panels, rollups and repair; ``--server dev`` is the single ``cockpit serve``
process), while ``--walls`` wall screens of the city poll over HTTP the way a browser does (kiosk
link, then the wall's refresh callback every 2 s with the state the page keeps). Every ``--every``
seconds it samples:

- resident memory (RSS, MB) of the web processes (gunicorn master + workers) and of the worker job,
- POST latency p50/p95 and wall refresh latency p50/p95 (ms) over the last interval,
- the Redis key count (DBSIZE), keys without a TTL, Redis used memory (MB),
- events sent, accepted by the API and stored in SQL (they must end equal: nothing lost, nothing
  doubled), and the 1-minute load average of the machine.

Flat curves are the pass mark: memory, latency and key count must not grow with time. The issue asks
for 30 minutes (``--minutes 30``). ``--out FILE.json`` keeps every sample and the summary;
``bench/soak_chart.py FILE.json`` draws them (SVG, no plotting library needed).

    python bench/soak.py [--minutes 30] [--rate 80] [--walls 8] [--every 30] [--out soak.json]
        [--server gunicorn|dev] [--workers 4] [--threads 1]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_soak] [--redis redis://127.0.0.1:6379/3]

The feeder keeps a fixed schedule (batch k is due k seconds after the start): a slow answer is caught
up by sending the next batch at once, so a shortfall in the sustained rate means the server could not
keep up, not that the client waited. The client's own CPU is reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from bench.machine import describe  # noqa: E402
from bench.screens import App, Conn, find_prop  # noqa: E402
from cockpit.settings import Settings  # noqa: E402
from cockpit.store import migrate, tokens  # noqa: E402
from cockpit.store.db import Stores, make_engine  # noqa: E402
from cockpit.store.models import EventRecord  # noqa: E402

CITY = "620100"
PEAK_EVENTS_PER_S = 8
WALL_INTERVAL_S = 2.0
REQUEST_TIMEOUT_S = 30.0


def _pct(samples: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``samples`` (seconds) in ms, None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _events(n0: int, count: int, now: datetime) -> list[dict]:
    """``count`` events of calls and tickets happening around ``now`` (ids from ``n0``)."""
    out = []
    rng = random.Random(n0)
    for i in range(n0, n0 + count):
        at = (now - timedelta(seconds=rng.uniform(0, 30))).isoformat()
        kind = i % 8
        if kind < 4:
            out.append({"event_id": f"soak-{i}", "type": "call.offered", "occurred_at": at, "city": CITY,
                        "call_id": f"c{i // 8}-{kind}"})
        elif kind < 6:
            out.append({"event_id": f"soak-{i}", "type": "call.answered", "occurred_at": at, "city": CITY,
                        "call_id": f"c{i // 8}-{kind - 4}", "seat_id": f"s{i % 300}", "wait_s": rng.uniform(0, 40)})
        elif kind == 6:
            out.append({"event_id": f"soak-{i}", "type": "seat.state", "occurred_at": at, "city": CITY,
                        "seat_id": f"s{i % 300}", "state": rng.choice(["ready", "on_call", "acw"])})
        else:
            out.append({"event_id": f"soak-{i}", "type": "ticket.created", "occurred_at": at, "city": CITY,
                        "ticket_id": f"T{i}", "district": "620102", "category": ["城乡建设", "供热"]})
    return out


def prepare(pg: str, redis_url: str, var_dir: Path) -> tuple[str, str]:
    """A fresh database (migrated, default regions) and an empty Redis db; returns (API token, kiosk path)."""
    from cockpit.auth import kiosk
    from geo.regions import load_default_regions

    admin = make_engine(pg.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    name = pg.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    redis.Redis.from_url(redis_url).flushdb()
    settings = Settings(database_url=pg, redis_url=redis_url, var_dir=var_dir)
    migrate.upgrade(settings)
    stores = Stores.open(settings)
    with stores.session() as session:
        load_default_regions(session)
    with stores.session() as session:
        token = tokens.create(session, "soak", ["*"])
        _, kiosk_path = kiosk.create(session, scope=CITY, name="soak wall", created_by="soak")
    stores.close()
    return token, kiosk_path


def start_server(kind: str, pg: str, redis_url: str, var_dir: Path, port: int, workers: int,
                 threads: int) -> list[subprocess.Popen]:
    env = {**os.environ, "COCKPIT_DATABASE_URL": pg, "COCKPIT_REDIS_URL": redis_url, "COCKPIT_PORT": str(port),
           "COCKPIT_VAR_DIR": str(var_dir),
           "COCKPIT_SECRET_KEY": os.environ.get("COCKPIT_SECRET_KEY") or secrets.token_urlsafe(32)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    cli = [sys.executable, "-c", "from cockpit.cli import main; main()"]
    if kind == "dev":
        procs = [subprocess.Popen([*cli, "serve"], cwd=ROOT, env={**env, "COCKPIT_MODE": "development"}, **quiet)]
    else:
        web = [sys.executable, "-m", "gunicorn", "app:server", "-b", f"127.0.0.1:{port}", "-w", str(workers),
               "--log-level", "warning", "--timeout", "60"]
        if threads > 1:
            web += ["-k", "gthread", "--threads", str(threads)]
        procs = [subprocess.Popen(web, cwd=ROOT, env=env),
                 subprocess.Popen([*cli, "worker"], cwd=ROOT, env=env, **quiet)]
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1"):
                    return procs
        except OSError:
            time.sleep(0.2)
    stop_server(procs)
    raise SystemExit("the server did not answer /healthz within 60 s")


def stop_server(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def rss_mb(procs: list[subprocess.Popen]) -> tuple[float, float, int]:
    """(web processes' RSS, worker job's RSS, number of web processes): the web root and its children
    (gunicorn master and workers) vs the other roots (the worker job)."""
    web = job = 0
    count = 0
    for i, p in enumerate(procs):
        try:
            root = psutil.Process(p.pid)
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for member in family:
            try:
                rss = member.memory_info().rss
            except psutil.Error:
                continue
            if i == 0:
                web += rss
                count += 1
            else:
                job += rss
    return round(web / 2**20, 1), round(job / 2**20, 1), count


class Feeder(threading.Thread):
    """One batch of ``rate`` events a second to the API on a kept-alive connection, on a fixed schedule."""

    def __init__(self, port: int, token: str, rate: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.batch, self.stop = port, token, max(1, int(rate)), stop
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.sent = self.accepted = self.duplicates = self.rejected = self.retries = 0
        self.errors: list[str] = []

    def _post(self, body: bytes) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            while not self.stop.is_set():
                try:
                    conn.request("POST", "/api/v1/events", body=body, headers={
                        "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
                    response = conn.getresponse()
                    data = response.read()
                    if response.status == 200:
                        return json.loads(data)
                    why = f"HTTP {response.status}: {data[:200]!r}"
                except (OSError, http.client.HTTPException) as exc:
                    why = repr(exc)
                    conn.close()
                with self.lock:  # retried like a well-behaved sender (503 with Retry-After, a reset)
                    self.retries += 1
                    if len(self.errors) < 5:
                        self.errors.append(why)
                time.sleep(1)
            return {}
        finally:
            conn.close()

    def run(self) -> None:
        n = 0
        t0 = time.monotonic()
        while not self.stop.is_set():
            started = time.monotonic()
            body = json.dumps(_events(n, self.batch, datetime.now(UTC))).encode()
            result = self._post(body)
            if not result:  # stopped while retrying
                break
            with self.lock:
                self.latencies.append(time.monotonic() - started)
                self.sent += self.batch
                self.accepted += result.get("accepted", 0)
                self.duplicates += result.get("duplicates", 0)
                self.rejected += len(result.get("rejected") or [])
                if result.get("rejected") and len(self.errors) < 5:
                    self.errors.append(json.dumps(result["rejected"][:2], ensure_ascii=False)[:300])
            n += self.batch
            due = t0 + n / self.batch  # batch k is due k seconds after the start; late ones go at once
            self.stop.wait(max(0.0, due - time.monotonic()))


class Walls(threading.Thread):
    """``count`` wall screens of the city on their own connections, refreshing every 2 s over HTTP."""

    def __init__(self, port: int, kiosk_path: str, count: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.kiosk_path, self.count, self.stop = port, kiosk_path, count, stop
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.refreshes = 0
        self.failed = 0
        self.errors: list[str] = []

    def _fail(self, why: str) -> None:
        with self.lock:
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(why[:300])

    async def _request(self, conn: Conn, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        return await asyncio.wait_for(conn.request(method, path, body), REQUEST_TIMEOUT_S)

    async def _screen(self, app: App, index: int) -> None:
        lang = "en" if index % 3 == 2 else "zh"
        path, search = f"/wall/{CITY}", f"?lang={lang}&kiosk=1"
        await asyncio.sleep(random.uniform(0, WALL_INTERVAL_S))
        while not self.stop.is_set():  # (re)connect: kiosk link, page, routing callback
            conn = Conn("127.0.0.1", self.port)
            try:
                await self._request(conn, "GET", self.kiosk_path)
                await self._request(conn, "GET", path + search)
                status, data = await self._request(conn, "POST", "/_dash-update-component",
                                                   app.route.body([path, search], []))
                if status != 200:
                    raise RuntimeError(f"route HTTP {status}")
                layout = json.loads(data)
            except Exception as exc:  # noqa: BLE001 - counted, then the screen reconnects
                self._fail(f"connect: {exc!r}")
                await conn.close()
                await asyncio.sleep(WALL_INTERVAL_S)
                continue
            config = find_prop(layout, {"type": "wall-config", "index": "wall"}, "data")
            meta_key = json.dumps({"index": "wall", "type": "wall-meta"}, separators=(",", ":"))
            meta = sig = None
            n = 0
            while not self.stop.is_set():
                started = time.monotonic()
                n += 1
                body = app.wall.body([{"n": n, "at": int(time.time() * 1000)}, "count"], [config, meta, sig])
                try:
                    status, data = await self._request(conn, "POST", "/_dash-update-component", body)
                    if status != 200:
                        raise RuntimeError(f"refresh HTTP {status}: {data[:200]!r}")
                    out = json.loads(data)["response"]
                except Exception as exc:  # noqa: BLE001 - counted, then the screen reconnects
                    self._fail(f"refresh: {exc!r}")
                    await conn.close()
                    break
                with self.lock:
                    self.latencies.append(time.monotonic() - started)
                    self.refreshes += 1
                meta = (out.get(meta_key) or {}).get("data", meta)
                sig = (out.get("wall-map-sig") or {}).get("data", sig)
                await asyncio.sleep(max(0.0, WALL_INTERVAL_S - (time.monotonic() - started)))
            await conn.close()

    async def _main(self) -> None:
        conn = Conn("127.0.0.1", self.port)
        await self._request(conn, "GET", self.kiosk_path)  # the dependencies answer behind a session
        _, deps = await self._request(conn, "GET", "/_dash-dependencies")
        await conn.close()
        app = App(json.loads(deps))
        await asyncio.gather(*(self._screen(app, i) for i in range(self.count)))

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - a wall set that cannot start is a failed run
            self._fail(f"walls: {exc!r}")


def redis_keys(client: redis.Redis) -> tuple[int, int]:
    """(DBSIZE, keys without a TTL)."""
    persistent = 0
    for key in client.scan_iter(count=1000):
        if client.ttl(key) == -1:
            persistent += 1
    return client.dbsize(), persistent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10 * PEAK_EVENTS_PER_S, help="events per second")
    parser.add_argument("--walls", type=int, default=8, help="wall screens refreshing every 2 s")
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--server", choices=("gunicorn", "dev"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (README: -w 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread if > 1)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_soak")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--out", type=Path, help="write every sample and the summary to this JSON file")
    args = parser.parse_args()

    var_dir = Path(tempfile.gettempdir()) / "cockpit-soak"
    token, kiosk_path = prepare(args.pg, args.redis, var_dir)
    client = redis.Redis.from_url(args.redis, decode_responses=True)
    engine = make_engine(args.pg)
    port = _free_port()
    procs = start_server(args.server, args.pg, args.redis, var_dir, port, args.workers, args.threads)
    server = ("dev server (cockpit serve)" if args.server == "dev" else
              f"gunicorn {args.workers} workers" + (f" x {args.threads} threads" if args.threads > 1 else "")
              + " + cockpit worker")
    me = psutil.Process()

    stop = threading.Event()
    feeder = Feeder(port, token, args.rate, stop)
    walls = Walls(port, kiosk_path, args.walls, stop)
    machine = describe()
    print(f"# soak {args.minutes:g} min, {args.rate:g} events/s, {args.walls} walls, {server}; {machine}", flush=True)
    print("minute\tweb_rss_mb\tjob_rss_mb\tpost_p50_ms\tpost_p95_ms\twall_p50_ms\twall_p95_ms\tredis_keys"
          "\tno_ttl\tredis_mb\tsent\tstored\trate\tload1", flush=True)
    samples: list[dict] = []
    feeder.start()
    walls.start()
    started = time.monotonic()
    end = started + args.minutes * 60
    cpu0 = sum(me.cpu_times()[:2])
    last_sent, last_t = 0, started
    try:
        while time.monotonic() < end:
            time.sleep(min(args.every, max(0.0, end - time.monotonic())))
            with feeder.lock:
                posts, sent = list(feeder.latencies), feeder.sent
                feeder.latencies.clear()
            with walls.lock:
                refreshes = list(walls.latencies)
                walls.latencies.clear()
            now = time.monotonic()
            web, job, nweb = rss_mb(procs)
            keys, no_ttl = redis_keys(client)
            with engine.connect() as conn:
                stored = conn.scalar(select(func.count()).select_from(EventRecord))
            sample = {
                "minute": round((now - started) / 60, 2), "web_rss_mb": web, "job_rss_mb": job, "web_procs": nweb,
                "post_p50_ms": _pct(posts, .5), "post_p95_ms": _pct(posts, .95), "posts": len(posts),
                "wall_p50_ms": _pct(refreshes, .5), "wall_p95_ms": _pct(refreshes, .95), "refreshes": len(refreshes),
                "redis_keys": keys, "redis_keys_no_ttl": no_ttl,
                "redis_mb": round(client.info("memory")["used_memory"] / 2**20, 2),
                "sent": sent, "stored": stored, "rate": round((sent - last_sent) / (now - last_t), 1),
                "load1": round(os.getloadavg()[0], 2),
            }
            last_sent, last_t = sent, now
            samples.append(sample)
            print("\t".join(str(sample[k]) for k in (
                "minute", "web_rss_mb", "job_rss_mb", "post_p50_ms", "post_p95_ms", "wall_p50_ms", "wall_p95_ms",
                "redis_keys", "redis_keys_no_ttl", "redis_mb", "sent", "stored", "rate", "load1")), flush=True)
    finally:
        stop.set()
        feeder.join(REQUEST_TIMEOUT_S + 5)
        walls.join(REQUEST_TIMEOUT_S + 5)
        elapsed = time.monotonic() - started
        client_cpu = (sum(me.cpu_times()[:2]) - cpu0) / elapsed
        stop_server(procs)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(EventRecord))
    engine.dispose()
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine, "server": server,
        "minutes": round(elapsed / 60, 2), "target_rate": args.rate, "walls": args.walls,
        "sustained_rate": round(feeder.sent / elapsed, 1), "sent": feeder.sent, "accepted": feeder.accepted,
        "duplicates": feeder.duplicates, "rejected": feeder.rejected, "stored": stored,
        "lost": feeder.sent - stored, "post_retries": feeder.retries, "wall_refreshes": walls.refreshes,
        "wall_failures": walls.failed, "client_cpu_cores": round(client_cpu, 2),
        "errors": feeder.errors + walls.errors,
    }
    print(f"# sent {feeder.sent} accepted {feeder.accepted} stored {stored} lost {feeder.sent - stored}; "
          f"sustained {summary['sustained_rate']} events/s of {args.rate:g}; post retries {feeder.retries}, "
          f"rejected {feeder.rejected}; wall refreshes {walls.refreshes}, failures {walls.failed}; "
          f"client CPU {client_cpu:.2f} cores", flush=True)
    for error in summary["errors"]:
        print(f"#   error sample: {error}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": summary, "samples": samples}, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
