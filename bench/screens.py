"""Benchmark: many wall screens and supervisors against gunicorn on PostgreSQL + Redis.

    python bench/screens.py --screens 200 --supervisors 20 --seconds 60 [--json]
        [--workers 3] [--threads 8] [--pg URL] [--redis URL] [--reuse] [--target http://127.0.0.1:PORT]
        [--worker-nice N] [--poll] [--streams N]

Starts (unless ``--target``) a database with a day of simulated traffic (the bulk path, all 14
cities), the worker (``cockpit worker``: panels, rollups, watchpoints) and gunicorn on loopback,
then opens N screens the way a browser does: the page, the renderer's ``/_dash-layout`` and
``/_dash-dependencies``, the routing callback, then the refresh
callback every 2 s carrying the state the page keeps (request counter, panel meta, map
signature). Screens are spread over the 14 city walls and the province page; 1 in 3 in English.
Then, as assets/wall.js does, each screen opens its push stream (``/screens/stream``, server-sent
events) at the tick after its first answered refresh and polls only while the stream does not
deliver (connecting over 1.5 s, refused, ended, silent for 3 s, or told to poll); ``--poll`` keeps
every screen polling (the behaviour before the stream), for before/after in one sitting.
Each payload received is a ``push`` sample: its lag from the payload's render (the ``at`` it
carries, the server's clock, same machine) to its receipt here. ``p50_ms``/``p95_ms``/``p99_ms``
count every request and every push delivery alike; ``requests_per_s`` counts requests only;
``stream`` is the time to the stream's response headers (a 503, refused at the cap, is no error:
that screen polls). gunicorn gets ``--threads`` plus ``--streams`` threads per worker.
M supervisors load /supervise for a city, page its grid (100-row blocks) and open a ticket every
third step, one action every 2 s. Every loop ends at the deadline; every request has a 10 s timeout.

Prints the machine, a baseline from the same run (one refresh of each kind on the idle server,
sequential), then p50/p95/p99 per request kind, errors, requests/s, and the server's CPU (gunicorn
+ worker, in cores and in ms per request, web and worker apart) and memory, the load generator's
own CPU (it shares the machine) and the load average before and after. ``--json`` prints one JSON
object instead (``p95_ms`` over all requests; ``steady_p95_ms`` over the requests after connecting).

Screens connect the way a wall does: each opens a kiosk link of its scope (``/kiosk/<id>.<secret>``,
created in the bench database), then carries the session cookie and sends ``X-CSRFToken`` like
Dash's renderer. Supervisors get a session of a supervisor user of their city (started directly
in the database, so the bench does not trip the login rate limit). ``--target`` needs the same
database (``--pg``) to create its links and sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CITIES = ["620100", "620200", "620300", "620400", "620500", "620600", "620700", "620800", "620900",
          "621000", "621100", "621200", "622900", "623000"]
PROVINCE = "620000"
TIMEOUT_S = 10.0


# --- a minimal HTTP/1.1 client with keep-alive (one connection per screen, as a browser tab) ------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept-Encoding: gzip\r\n"
                    f"Content-Length: {len(body or b'')}\r\n")
            if body is not None:
                head += "Content-Type: application/json\r\n"
                if "_csrf_token" in self.cookies:
                    head += f"X-CSRFToken: {self.cookies['_csrf_token']}\r\n"
            if self.cookies:
                head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
            self.writer.write(head.encode() + b"\r\n" + (body or b""))
            try:
                await self.writer.drain()
                status_line = await self.reader.readline()
            except (ConnectionError, OSError):
                status_line = b""
            if not status_line:  # the server closed a kept-alive connection: reconnect once
                await self.close()
                if attempt == 0:
                    continue
                raise ConnectionError("connection closed")
            break
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
            if key.strip().lower() == "set-cookie":
                name, _, rest = value.strip().partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).strip() or b"0", 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        if headers.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        return status, data


# --- Dash protocol: bodies built from /_dash-dependencies, as the renderer builds them --------------


def _parse_id(raw: str):
    return json.loads(raw) if raw.startswith("{") else raw


def _prop_key(cid, prop: str) -> str:
    return (json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else cid) + "." + prop


class Callback:
    def __init__(self, dep: dict) -> None:
        self.output = dep["output"]
        if self.output.startswith(".."):
            parts = self.output[2:-2].split("...")
            self.outputs = [dict(zip(("id", "property"), self._split(p))) for p in parts]
            self.multi = True
        else:
            self.outputs = [dict(zip(("id", "property"), self._split(self.output)))]
            self.multi = False
        self.inputs = [(_parse_id(i["id"]), i["property"]) for i in dep["inputs"]]
        self.state = [(_parse_id(s["id"]), s["property"]) for s in dep["state"]]

    @staticmethod
    def _split(part: str) -> tuple:
        part = part.split("@", 1)[0]
        cid, prop = part.rsplit(".", 1)
        return _parse_id(cid), prop

    def body(self, inputs: list, state: list, changed: int = 0) -> bytes:
        outs = self.outputs if self.multi else self.outputs[0]
        return json.dumps({
            "output": self.output, "outputs": outs,
            "inputs": [{"id": i, "property": p, "value": v} for (i, p), v in zip(self.inputs, inputs)],
            "changedPropIds": [_prop_key(*self.inputs[changed])],
            "state": [{"id": i, "property": p, "value": v} for (i, p), v in zip(self.state, state)],
        }, ensure_ascii=False).encode()


def find_prop(tree, cid, prop):
    """The value of ``prop`` of the component with id ``cid`` in a serialised layout (None if absent)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == cid and "type" in node:
                return props.get(prop)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


class App:
    def __init__(self, deps: list[dict]) -> None:
        by_output = {d["output"]: Callback(d) for d in deps if not d.get("clientside_function")}

        def pick(fragment: str) -> Callback:
            return next(cb for out, cb in by_output.items() if fragment in out)

        self.route = pick("app-page.children")
        self.wall = pick('"type":"wall-body"}.children...{"index":"rates"')
        self.province = pick('{"index":"map","type":"wall-body"}')
        self.grid = pick("sup-grid.getRowsResponse")
        self.ticket = next(cb for out, cb in by_output.items() if out == "tk-body.children")


# --- the simulated users -------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: list[str] = []

    def add(self, kind: str, ms: float, ok: bool, why: str = "") -> None:
        self.times.setdefault(kind, []).append(ms)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: {why[:200]}")


_PARSED: dict[bytes, object] = {}  # answers seen before (the same layout, callbacks, routing): parsed once


def parse(data: bytes):
    """A JSON answer, parsed once per distinct body: 200 screens fetch the same app shell, callback
    list and screen layout, and a browser parses on its own CPU, not on the server's 2 cores this
    load generator shares (treat the result as read-only)."""
    if len(data) < 4096:
        return json.loads(data)
    key = hashlib.blake2b(data, digest_size=16).digest()
    if key not in _PARSED:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = json.loads(data)
    return _PARSED[key]


async def timed(stats: Stats, kind: str, coro, check=None):
    start = time.perf_counter()
    ms = None
    try:
        status, data = await asyncio.wait_for(coro, TIMEOUT_S)
        ms = (time.perf_counter() - start) * 1000  # the answer's latency: not this client's parsing
        ok = status == 200 or (kind == "kiosk" and status == 302)
        why = f"HTTP {status}"
        parsed = None
        if ok and check is not None:
            parsed = parse(data)
            ok = check(parsed)
            why = "unexpected body"
    except Exception as exc:  # noqa: BLE001 - every failure is an error of the run, counted
        ok, why, parsed = False, repr(exc), None
    stats.add(kind, ms if ms is not None else (time.perf_counter() - start) * 1000, ok, why)
    return parsed if ok else None


async def renderer_start(stats: Stats, conn: Conn) -> None:
    """What Dash's renderer asks once the page's scripts have run, before the routing callback: the
    app's layout and its callbacks (the scripts themselves are fingerprinted assets a kiosk browser
    keeps in its cache, so they are not fetched here)."""
    await timed(stats, "layout", conn.request("GET", "/_dash-layout"), check=lambda r: isinstance(r, dict))
    await timed(stats, "deps", conn.request("GET", "/_dash-dependencies"), check=lambda r: isinstance(r, list))


def _route_body(app: App, path: str, search: str) -> bytes:
    return app.route.body([path, search], [])


async def screen(app: App, host: str, port: int, stats: Stats, code: str, lang: str, deadline: float,
                 interval: float, access: dict, poll: bool = False) -> None:
    conn = Conn(host, port)
    page = "province" if code == PROVINCE else "wall"
    path, search = f"/{page}/{code}", f"?lang={lang}&kiosk=1"
    await asyncio.sleep(random.uniform(0, interval))
    await timed(stats, "kiosk", conn.request("GET", access["kiosk"][code]))  # 302 to the wall, with the session
    await timed(stats, "page", conn.request("GET", path + search))
    await renderer_start(stats, conn)
    layout = await timed(stats, "route", conn.request("POST", "/_dash-update-component",
                                                      _route_body(app, path, search)),
                         check=lambda r: "response" in r)
    if layout is None:
        await conn.close()
        return
    cb = app.province if page == "province" else app.wall
    config = find_prop(layout, {"type": "wall-config", "index": page}, "data")
    mode = "count" if page == "wall" else find_prop(layout, "province-metric", "value")
    meta, sig, n = None, None, 0
    meta_key = json.dumps({"index": page, "type": "wall-meta"}, separators=(",", ":"))
    sig_key = "wall-map-sig" if page == "wall" else "province-map-sig"
    push, reader, state = None, None, {}
    while time.monotonic() < deadline:
        started = time.monotonic()
        if push is None and not poll:
            # the gate's first tick opens the stream, which paints the screen (assets/wall.js)
            push = Push(host, port, dict(conn.cookies), stats, state)
            state["sig"] = sig
            reader = asyncio.create_task(push.run(f"/screens/stream?page={page}&code={code}&lang={lang}"
                                                  f"&mode={mode}&kiosk=1", deadline))
        if push is not None and push.delivering():
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
            continue
        if push is not None:  # what the stream last drew, as the page's stores hold it
            sig = state.get("sig", sig)
            meta = (state.get("outputs") or {}).get(meta_key, meta)
        n += 1
        request = {"n": n, "at": int(time.time() * 1000)}
        body = cb.body([request, mode], [config, meta, sig])
        resp = await timed(stats, page, conn.request("POST", "/_dash-update-component", body),
                           check=lambda r: "response" in r)
        if resp is not None:
            out = resp["response"]
            meta = (out.get(meta_key) or {}).get("data", meta)
            sig = (out.get(sig_key) or {}).get("data", sig)
            state["sig"] = sig
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    if reader is not None:
        reader.cancel()
        try:
            await reader
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the run is over
            pass
    await conn.close()


PUSH_HEAD = re.compile(r'\{"at":(\d+),"sig":(null|"(?:[^"\\]|\\.)*")')  # as screen_stream._message writes it
PUSH_META = re.compile(r'\[\{"index":"(wall|province)","type":"wall-meta"\},"data",')
DECODER = json.JSONDecoder()


class Push:
    """One screen's push stream, read as the browser's EventSource reads it (assets/wall.js)."""

    FRESH_S = 3.0  # the stream delivers: its last payload is newer than this
    CONNECT_S = 1.5  # a new stream's first payload is awaited this long before polling
    RETRY_S = 2.0  # reconnect after the stream ends (the stream's retry field)
    REFUSED_RETRY_S = 30.0  # ... after a refusal (503)

    def __init__(self, host: str, port: int, cookies: dict, stats: Stats, state: dict) -> None:
        self.host, self.port, self.cookies, self.stats, self.state = host, port, cookies, stats, state
        self.last = 0.0  # monotonic time of the last payload
        self.opened = time.monotonic()  # connecting from its creation, as the browser's EventSource
        self.connecting = True
        self.refused = 0

    def delivering(self) -> bool:
        now = time.monotonic()
        if self.last and now - self.last < self.FRESH_S:
            return True
        return self.connecting and now - self.opened < self.CONNECT_S

    async def run(self, path: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            wait = self.RETRY_S
            try:
                wait = await asyncio.wait_for(self._once(path), max(0.1, deadline - time.monotonic()))
            except (asyncio.TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError):
                pass
            except Exception as exc:  # noqa: BLE001 - counted, then the screen polls (as the browser does)
                self.stats.add("stream", 0.0, False, repr(exc))
            self.last, self.connecting = 0.0, False
            await asyncio.sleep(max(0.0, min(wait, deadline - time.monotonic())))

    async def _once(self, path: str) -> float:
        self.opened, self.connecting = time.monotonic(), True
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**24)
        try:
            sig = self.state.get("sig")
            target = path + (f"&sig={sig}" if sig else "")
            writer.write((f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: text/event-stream\r\n"
                          "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n\r\n").encode())
            await writer.drain()
            started = time.perf_counter()
            status = int((await reader.readline()).split()[1])
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            ms = (time.perf_counter() - started) * 1000
            if status != 200:
                self.refused += 1
                self.stats.add("stream", ms, status == 503, f"HTTP {status}")  # 503: refused, the screen polls
                return self.REFUSED_RETRY_S
            self.stats.add("stream", ms, True)
            chunked, name = True, None
            while True:
                line = await reader.readline()
                if not line:
                    return self.RETRY_S
                if chunked and line.strip() and all(c in b"0123456789abcdefABCDEF" for c in line.strip()) and \
                        not line.startswith((b"data", b"event", b"retry", b":")):
                    if line.strip() == b"0":
                        return self.RETRY_S
                    continue  # a chunk size line (gunicorn sends the stream chunked)
                text = line.decode().rstrip("\r\n")
                if text.startswith("event: "):
                    name = text[7:]
                elif text.startswith("data: ") and name == "payload":
                    # Read as little as the screen needs (a browser parses on its own CPU, this
                    # client on the server's): the render time, the map's signature and the panel
                    # meta a refresh sends when the screen falls back to polling.
                    head = PUSH_HEAD.match(text, 6)
                    self.stats.add("push", time.time() * 1000 - int(head.group(1)), True)
                    self.last, self.connecting = time.monotonic(), False
                    sig = json.loads(head.group(2))
                    if sig:
                        self.state["sig"] = sig
                    meta = PUSH_META.search(text, head.end())
                    if meta:
                        key = json.dumps({"index": meta.group(1), "type": "wall-meta"}, separators=(",", ":"))
                        self.state.setdefault("outputs", {})[key] = DECODER.raw_decode(text, meta.end())[0]
                elif text.startswith("data: ") and name in ("poll", "ended"):
                    self.last = 0.0
                    if name == "ended":
                        return self.REFUSED_RETRY_S
        finally:
            writer.close()


async def supervisor(app: App, host: str, port: int, stats: Stats, city: str, deadline: float,
                     interval: float, access: dict) -> None:
    conn = Conn(host, port)
    conn.cookies.update(access["supervisors"][city])
    path, search = "/supervise", f"?city={city}&lang=zh"
    await asyncio.sleep(random.uniform(0, interval))
    await timed(stats, "page", conn.request("GET", path + search))
    await renderer_start(stats, conn)
    layout = await timed(stats, "route", conn.request("POST", "/_dash-update-component",
                                                      _route_body(app, path, search)),
                         check=lambda r: "response" in r)
    if layout is None:
        await conn.close()
        return
    query = find_prop(layout, "sup-query", "data") or {"city": city}
    step, start_row, tickets = 0, 0, []
    while time.monotonic() < deadline:
        started = time.monotonic()
        step += 1
        if step % 3 == 0 and tickets:
            tid = random.choice(tickets)
            await timed(stats, "ticket", conn.request("POST", "/_dash-update-component",
                                                      app.ticket.body([tid], [tid if i == "tk-id" else "zh"
                                                                              if i == "app-lang" else None
                                                                              for i, _ in app.ticket.state])),
                        check=lambda r: "response" in r)
        else:
            req = {"startRow": start_row, "endRow": start_row + 100, "sortModel": [], "filterModel": {}}
            resp = await timed(stats, "grid", conn.request("POST", "/_dash-update-component",
                                                           app.grid.body([req], [query if i == "sup-query" else
                                                                                 "zh" if i == "app-lang" else None
                                                                                 for i, _ in app.grid.state])),
                               check=lambda r: "response" in r)
            rows = (((resp or {}).get("response") or {}).get("sup-grid") or {}).get("getRowsResponse") or {}
            tickets = [r["ticket_id"] for r in rows.get("rowData") or [] if r.get("ticket_id")] or tickets
            start_row = 0 if not rows.get("rowData") or start_row >= 400 else start_row + 100
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    await conn.close()


async def load(base: str, screens: int, supervisors: int, seconds: float, interval: float,
               access: dict, poll: bool = False) -> tuple[Stats, float]:
    parts = urlsplit(base)
    host, port = parts.hostname, parts.port
    conn = Conn(host, port)
    conn.cookies.update(next(iter(access["supervisors"].values())))
    _, deps = await conn.request("GET", "/_dash-dependencies")
    await conn.close()
    app = App(json.loads(deps))
    stats = Stats()
    deadline = time.monotonic() + seconds
    rng = random.Random(15)
    scopes = CITIES + [PROVINCE]
    tasks = [screen(app, host, port, stats, scopes[i % len(scopes)], "en" if i % 3 == 2 else "zh", deadline,
                    interval, access, poll) for i in range(screens)]
    tasks += [supervisor(app, host, port, stats, rng.choice(CITIES), deadline, interval, access)
              for _ in range(supervisors)]
    started = time.monotonic()
    await asyncio.gather(*tasks)
    return stats, time.monotonic() - started


async def baseline(base: str, access: dict) -> dict[str, float]:
    """Each request kind on the idle server (after a warm-up of every kind), 3 users: p50 ms."""
    await load(base, 15, 3, 4.0, 1.0, access)  # warm-up: every worker process sees every page once
    stats, _ = await load(base, 2, 1, 6.0, 1.0, access)
    return {k: round(statistics.median(v), 1) for k, v in stats.times.items()}


# --- the server under test -----------------------------------------------------------------------


def prepare(pg: str, redis_url: str, reuse: bool, scale: float) -> None:
    from sqlalchemy import func, select, text

    from cockpit.settings import Settings
    from cockpit.store import migrate
    from cockpit.store.db import Stores, make_engine
    from cockpit.store.models import EventRecord

    admin = make_engine(pg.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    name = pg.rsplit("/", 1)[1]
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    settings = Settings(database_url=pg, redis_url=redis_url, var_dir=Path(tempfile.gettempdir()) / "bench_screens")
    migrate.upgrade(settings)
    stores = Stores.open(settings)
    from geo.regions import load_default_regions

    with stores.session() as session:
        load_default_regions(session)
        have = session.scalar(select(func.count()).select_from(EventRecord))
    if not (reuse and have):
        from cockpit.simulation import seed_history

        t = time.perf_counter()
        totals = seed_history(stores, 1, seed=15, scale=scale, progress=False)
        print(f"seeded a day: {totals['accepted']:,} events in {time.perf_counter() - t:.0f} s (bulk path)",
              file=sys.stderr)
    from cockpit.ingest import rebuild_live
    from cockpit.views.panels import precompute_panels

    rebuild_live(stores)
    precompute_panels(stores)
    stores.close()


def make_access(pg: str, redis_url: str) -> dict:
    """Kiosk links of every scope and a session of a supervisor of every city, in the bench database."""
    from datetime import timedelta

    from cockpit.auth import kiosk, sessions, users
    from cockpit.settings import Settings
    from cockpit.store.db import Stores

    stores = Stores.open(Settings(database_url=pg, redis_url=redis_url,
                                  var_dir=Path(tempfile.gettempdir()) / "bench_screens"))
    out: dict = {"kiosk": {}, "supervisors": {}}
    with stores.session() as session:
        for code in CITIES + [PROVINCE]:
            _, path = kiosk.create(session, scope=code, name=f"bench {code}", created_by="bench")
            out["kiosk"][code] = path
        for city in CITIES:
            name = f"bench_sup_{city}"
            user = users.get(session, name) or users.create(session, name, role="supervisor", scope=city,
                                                            password=secrets.token_urlsafe(16))
            session.flush()
            started = sessions.start(session, user_id=user.id, lifetime=timedelta(hours=3), ip="127.0.0.1")
            out["supervisors"][city] = {"ck_session": started.raw_id, "_csrf_token": started.csrf}
    stores.close()
    return out


def start_server(pg: str, redis_url: str, port: int, workers: int, threads: int,
                 worker_nice: int | None = None, streams: int = 0) -> list[subprocess.Popen]:
    """gunicorn (``threads`` for requests plus one per allowed push stream) and ``cockpit worker``."""
    env = {**os.environ, "COCKPIT_DATABASE_URL": pg, "COCKPIT_REDIS_URL": redis_url,
           "COCKPIT_SCREEN_STREAMS": str(streams),
           "COCKPIT_VAR_DIR": str(Path(tempfile.gettempdir()) / "bench_screens"),
           "COCKPIT_SECRET_KEY": os.environ.get("COCKPIT_SECRET_KEY") or secrets.token_urlsafe(32)}
    if worker_nice is not None:
        env["COCKPIT_WORKER_NICE"] = str(worker_nice)
    gunicorn = [sys.executable, "-m", "gunicorn", "app:server", "-b", f"127.0.0.1:{port}", "-w", str(workers),
                "--log-level", "warning", "--timeout", "60"]
    if threads > 1:
        gunicorn += ["-k", "gthread", "--threads", str(threads + streams)]
    procs = [subprocess.Popen(gunicorn, cwd=ROOT, env=env),
             subprocess.Popen([sys.executable, "-c", "from cockpit.cli import main; main()", "worker"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return procs
        except OSError:
            time.sleep(0.5)
    stop_server(procs)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop_server(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


class Usage:
    """CPU seconds and resident memory of the server processes (gunicorn master, workers, the worker job)."""

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        import psutil

        self.roots = [psutil.Process(p.pid) for p in procs]

    def _all(self, roots=None):
        out = []
        for root in self.roots if roots is None else roots:
            out.append(root)
            out.extend(root.children(recursive=True))
        return out

    def cpu_split(self) -> tuple[float, float]:
        """(web, worker) CPU seconds: gunicorn's processes, then ``cockpit worker``'s."""
        return self.cpu(self.roots[:1]), self.cpu(self.roots[1:])

    def cpu(self, roots=None) -> float:
        total = 0.0
        for p in self._all(roots):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:  # noqa: BLE001 - a process that just ended
                pass
        return total

    def rss_mb(self) -> float:
        total = 0
        for p in self._all():
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001
                pass
        return total / 2**20


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, default=60)
    parser.add_argument("--supervisors", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a screen's refreshes")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread); 1 = sync workers")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/cockpit_bench_screens")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--port", type=int, default=8760)
    parser.add_argument("--scale", type=float, default=1.0, help="simulated volume of the seeded day")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database of an earlier run")
    parser.add_argument("--target", help="an already running server (no setup, no CPU figures)")
    parser.add_argument("--worker-nice", type=int, default=None,
                        help="COCKPIT_WORKER_NICE for the worker (default: the setting's default, 10)")
    parser.add_argument("--poll", action="store_true",
                        help="screens poll every --interval without the push stream (the behaviour before it)")
    parser.add_argument("--streams", type=int, default=150,
                        help="COCKPIT_SCREEN_STREAMS per web process; gunicorn gets this many threads more")
    args = parser.parse_args()
    streams = 0 if args.poll else args.streams

    procs: list[subprocess.Popen] = []
    base = args.target
    if not base:
        prepare(args.pg, args.redis, args.reuse, args.scale)
        procs = start_server(args.pg, args.redis, args.port, args.workers, args.threads, args.worker_nice, streams)
        base = f"http://127.0.0.1:{args.port}"
    access = make_access(args.pg, args.redis)
    try:
        base_ms = asyncio.run(baseline(base, access))
        usage = Usage(procs) if procs else None
        split0 = usage.cpu_split() if usage else (0.0, 0.0)
        load_before = os.getloadavg()[0]
        own0 = os.times()
        stats, elapsed = asyncio.run(load(base, args.screens, args.supervisors, args.seconds, args.interval,
                                          access, args.poll))
        own1 = os.times()
        load_after = os.getloadavg()[0]
        split1 = usage.cpu_split() if usage else (0.0, 0.0)
        web_cpu, worker_cpu = ((split1[0] - split0[0]) / elapsed, (split1[1] - split0[1]) / elapsed)
        cpu = web_cpu + worker_cpu if usage else None
        loadgen_cpu = (own1.user + own1.system - own0.user - own0.system) / elapsed
        rss = usage.rss_mb() if usage else None
    finally:
        if procs:
            stop_server(procs)
    # Every sample counts in the percentiles: each request's latency and each push delivery's lag
    # (the payload's render to its receipt here); requests_per_s counts requests only.
    every = [ms for v in stats.times.values() for ms in v]
    pushes = stats.times.get("push", [])
    requests = [ms for k, v in stats.times.items() if k != "push" for ms in v]
    errors = sum(stats.errors.values())
    refresh = [ms for k in ("wall", "province", "grid", "ticket", "push") for ms in stats.times.get(k, [])]
    per_request = (lambda cores: None if cores is None or not requests else
                   round(cores * elapsed * 1000 / len(requests), 2))
    out = {
        "machine": describe(),
        "screens": args.screens, "supervisors": args.supervisors, "seconds": round(elapsed, 1),
        "server": f"gunicorn {args.workers} workers" + (f" x {args.threads} threads" if args.threads > 1 else "")
                  + (f" + {streams} stream threads" if streams and args.threads > 1 else ""),
        "screens_use": "polling" if args.poll else "push stream (polling while it does not deliver)",
        "requests": len(requests), "push_deliveries": len(pushes), "errors": errors,
        "requests_per_s": round(len(requests) / elapsed, 1),
        "screen_updates_per_s": round((len(pushes) + sum(len(stats.times.get(k, [])) for k in ("wall", "province")))
                                      / elapsed, 1),
        "p50_ms": round(pct(every, 0.50), 1), "p95_ms": round(pct(every, 0.95), 1),
        "p99_ms": round(pct(every, 0.99), 1),
        # the HTTP requests alone (no push deliveries): with the stream, mostly the connects
        "requests_p95_ms": round(pct(requests, 0.95), 1) if requests else None,
        "kinds": {k: {"n": len(v), "p50_ms": round(pct(v, 0.5), 1), "p95_ms": round(pct(v, 0.95), 1),
                      "p99_ms": round(pct(v, 0.99), 1), "errors": stats.errors.get(k, 0)}
                  for k, v in sorted(stats.times.items())},
        "steady_p95_ms": round(pct(refresh, 0.95), 1),
        "baseline_idle_p50_ms": base_ms,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "server_cpu_cores": None if cpu is None else round(cpu, 2),
        "web_cpu_cores": None if cpu is None else round(web_cpu, 2),
        "worker_cpu_cores": None if cpu is None else round(worker_cpu, 2),
        "server_cpu_ms_per_request": per_request(cpu),
        "server_cpu_ms_per_sample": None if cpu is None or not every else round(cpu * elapsed * 1000 / len(every), 2),
        "web_cpu_ms_per_request": per_request(None if cpu is None else web_cpu),
        "loadgen_cpu_cores": round(loadgen_cpu, 2),
        "loadgen_cpu_ms_per_request": per_request(loadgen_cpu),
        "worker_nice": args.worker_nice,
        "server_rss_mb": None if rss is None else round(rss),
        "error_samples": stats.samples,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"machine: {out['machine']}")
    print(f"load average (1 min) before / after the run: {load_before:.2f} / {load_after:.2f}")
    print(f"server: {out['server']} + cockpit worker, PostgreSQL + Redis, loopback")
    print(f"baseline (idle server, sequential) p50 ms: {base_ms}")
    print(f"screens use: {out['screens_use']}")
    print(f"{args.screens} screens + {args.supervisors} supervisors for {elapsed:.0f} s: {len(requests):,} requests, "
          f"{out['requests_per_s']} req/s, {len(pushes):,} push deliveries, {errors} errors; all requests and "
          f"deliveries p50 {out['p50_ms']} / p95 {out['p95_ms']} / p99 {out['p99_ms']} ms")
    for kind, k in out["kinds"].items():
        print(f"  {kind:9s} n={k['n']:6d}  p50 {k['p50_ms']:8.1f}  p95 {k['p95_ms']:8.1f}  p99 {k['p99_ms']:8.1f} ms"
              f"  errors {k['errors']}")
    print(f"  after connecting (refreshes, push deliveries, grid, ticket): p95 {out['steady_p95_ms']} ms")
    print(f"  HTTP requests alone (no push deliveries): p95 {out['requests_p95_ms']} ms")
    if cpu is not None:
        print(f"server CPU {cpu:.2f} cores = {out['server_cpu_ms_per_request']} ms per request (web "
              f"{web_cpu:.2f} cores = {out['web_cpu_ms_per_request']} ms per request, worker {worker_cpu:.2f}), "
              f"memory {rss:.0f} MB (gunicorn + worker)")
    print(f"load generator CPU {loadgen_cpu:.2f} cores = {out['loadgen_cpu_ms_per_request']} ms per request")
    for sample in stats.samples:
        print(f"  error sample: {sample}")


if __name__ == "__main__":
    main()
