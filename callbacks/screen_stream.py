"""The screens' push channel: one server-sent event stream per wall, fed with the shared payload.

``GET /screens/stream?page=wall&code=620100&lang=zh&mode=count&kiosk=1`` answers
``text/event-stream``. Every screen of one scope, language and mode shows the same figures, so the
stream sends the bytes ``callbacks/shared_payload.py`` renders once per tick (across web processes,
through Redis) as they change: one publisher thread per key per process renders or fetches each
tick and wakes every connection of that key; a connection only writes bytes it was handed.

Events:
- ``payload``: ``{"at": ms, "sig": ..., "o": [[id, property, value], ...]}``, the refresh
  callback's outputs except its answered-request counter; the map (and its signature) only when
  this connection has not sent that map yet. The browser applies it with ``set_props``
  (assets/wall.js).
- ``poll``: this tick's render was incomplete (a source failed or lacks data). Nothing of it is
  pushed; the screen goes back to its own refresh callback, which keeps its last good values and
  marks the panels, exactly as without the stream, until a complete payload comes again.
- ``failed``: ``{"at": ms, "o": [...]}``, Redis did not answer the publisher's probe (a quick
  client: ``PROBE_TIMEOUT_S``, no retries). The outputs of a refresh whose sources failed: the
  panel meta with the last good as-of times, every panel marked failed, and the failed status
  badge; the figures on screen stay. Sent every tick while it lasts (the screen does not poll
  meanwhile: a poll would wait out redis-py's retries for the same answer); the first complete
  payload after it replaces it whole. The probe also opens the Redis breaker
  (``cockpit.store.cache.Breaker``), so the session checks and a polling screen fail fast too.
- a comment every ``HEARTBEAT_S`` when nothing else was sent.

Guarantees kept: access is the guard's (a session or kiosk session, ``figures``, the scope the
URL names) and is checked again every ``RECHECK_S`` (logout, a revoked link, a disabled user end
the stream); at most ``settings.screen_streams`` streams per process (a refused stream answers
503 and the screen polls), none in a server without threads (``wsgi.multithread``); a stream lasts
``MAX_LIFE_S`` and the browser reconnects by itself; a gunicorn worker told to stop ends its
streams at once instead of waiting its graceful timeout for them.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import time
from dataclasses import dataclass, field

import redis
from dash import Dash, no_update
from flask import Response, g, jsonify, request, stream_with_context

from callbacks.shared_payload import Kind, SharedPayloads, TICK_S, config_key, with_viewer_links
from cockpit.auth.principal import AccessDenied
from cockpit.auth.web import recheck_principal, require_region
from cockpit.http.slots import CONFIG_KEY as SLOTS_KEY, Slots, release_early
from cockpit.store.cache import live_key
from cockpit.store.db import Stores, quick_twin
from cockpit.views.overview import screen_level
from layouts.serialise import component_json

log = logging.getLogger(__name__)

PATH = "/screens/stream"
RECHECK_S = 3.0  # the session (and its scope) are read again this often
HEARTBEAT_S = 10.0
MAX_LIFE_S = 600.0  # then the stream ends and the browser reconnects (spreads screens over processes)
RETRY_MS = 2000  # the browser's reconnect delay after a stream ends
IDLE_KEEP_S = 1.0  # a publisher without connections stops after this long
MIN_WAIT_S = 0.1  # a publisher waiting for another process's render checks this often
PROBE_TIMEOUT_S = 0.5  # the publisher's Redis reads: a healthy Redis answers in under a millisecond
CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


@dataclass
class Channel:
    """What the publisher of one key hands its connections: the latest message, numbered."""

    key: str
    kind: Kind
    config: dict
    mode: str
    cond: threading.Condition = field(default_factory=threading.Condition)
    seq: int = 0
    at_ms: int | None = None
    sig: str | None = None
    full: bytes = b""  # the message with the map
    lite: bytes = b""  # ... without it
    delta: bytes = b""  # ... only what changed since the message before (for connections that had it)
    outputs: list | None = None
    poll: bool = False
    failed: bool = False  # the sources are unreachable: ``failed_msg`` is the message
    failed_msg: bytes = b""
    listeners: int = 0
    idle_since: float = 0.0
    publisher: threading.Thread | None = None


def _message(kind: Kind, at: float, outputs: list, previous: list | None) -> tuple[str | None, bytes, bytes, bytes]:
    """(map signature, the event with the map, without it, with only what changed since ``previous``)
    from one tick's serialised outputs."""
    map_index, sig_index, _ = kind.indexes(kind.output_list())
    full, lite, delta = [], [], []
    for i, (cid, prop) in enumerate(kind.outputs[:-1]):  # the last is the answered request: the screen's own
        value = outputs[i]
        if value is None:
            continue
        item = f"[{json.dumps(cid, sort_keys=True, separators=(',', ':'))},{json.dumps(prop)},{value}]"
        full.append(item)
        if i not in (map_index, sig_index):
            lite.append(item)
        if previous is None or previous[i] != value:
            delta.append(item)
    sig = outputs[sig_index]
    head = f'event: payload\ndata: {{"at":{int(at * 1000)},"sig":{sig or "null"},"o":['
    return sig, *((head + ",".join(items) + "]}\n\n").encode() for items in (full, lite, delta))


def _failed_message(kind: Kind, at: float, outputs: tuple) -> bytes:
    """The ``failed`` event from a failed refresh's outputs (no_update ones left out)."""
    items = []
    for (cid, prop), value in zip(kind.outputs[:-1], outputs[:-1]):
        if value is no_update:
            continue
        items.append(f"[{json.dumps(cid, sort_keys=True, separators=(',', ':'))},{json.dumps(prop)},{component_json(value)}]")
    return f'event: failed\ndata: {{"at":{int(at * 1000)},"o":[{",".join(items)}]}}\n\n'.encode()


class _Events:
    """A stream's bytes with its clean-up run exactly once: when they end, fail, or are closed."""

    def __init__(self, gen, leave) -> None:
        self.gen, self.leave, self.left = gen, leave, False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            return next(self.gen)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.gen.close()
        finally:
            if not self.left:
                self.left = True
                self.leave()


class StreamHub:
    """The streams of one web process: channels by key, one publisher thread each."""

    def __init__(self, stores: Stores, shared: SharedPayloads, limit: int, slots: Slots | None = None) -> None:
        self.stores = stores
        self.slots = slots or Slots()
        self.shared = shared
        self.limit = limit
        self.lock = threading.Lock()
        self.channels: dict[str, Channel] = {}
        self.open = 0
        self.generation = 0  # end_all() ends every stream of an older generation
        self.stopped = False
        self._quick: tuple[object, redis.Redis] | None = None  # (the stores' client, its quick twin)

    def quick_redis(self) -> redis.Redis:
        """The stores' Redis client's quick twin (made again when the stores get another client)."""
        client = self.stores.redis
        with self.lock:
            if self._quick is None or self._quick[0] is not client:
                self._quick = (client, quick_twin(client, PROBE_TIMEOUT_S))
            return self._quick[1]

    def end_all(self) -> None:
        """End every open stream (what a process exit does; tests use it for a web restart)."""
        with self.lock:
            self.generation += 1
            channels = list(self.channels.values())
        for ch in channels:
            with ch.cond:
                ch.cond.notify_all()

    def stop(self, join_s: float = 0.0) -> None:
        """End every stream and publisher of this hub (an app going away: tests). ``join_s``: wait
        up to that long for the publishers to return, so none renders or writes after (a test's
        next app shares the Redis they write to)."""
        self.stopped = True
        self.end_all()
        if join_s > 0:
            deadline = time.monotonic() + join_s
            with self.lock:
                threads = [ch.publisher for ch in self.channels.values() if ch.publisher is not None]
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))

    def acquire(self) -> bool:
        with self.lock:
            if self.stopped or self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self.lock:
            self.open -= 1

    def subscribe(self, kind: Kind, config: dict, mode: str) -> Channel:
        key = config_key(config, kind.page, mode)
        with self.lock:
            ch = self.channels.get(key)
            if ch is None:
                ch = self.channels[key] = Channel(key=key, kind=kind, config=config, mode=mode)
            ch.listeners += 1
            if ch.publisher is None or not ch.publisher.is_alive():  # new, or its thread was killed
                ch.publisher = threading.Thread(target=self._publish, args=(ch,), name=f"screen-stream {key}",
                                                daemon=True)
                ch.publisher.start()
        return ch

    def unsubscribe(self, ch: Channel) -> None:
        with self.lock:
            ch.listeners -= 1
            if ch.listeners == 0:
                ch.idle_since = time.monotonic()

    def _publish(self, ch: Channel) -> None:
        """Each tick: the key's payload (rendered here or by another process) to every connection."""
        try:
            self._publish_loop(ch)
        except SystemExit:  # the process (or a test's server thread killer) is ending this thread
            return

    def _publish_loop(self, ch: Channel) -> None:
        where = ch.kind.indexes(ch.kind.output_list())
        while True:
            with self.lock:
                if self.stopped or (ch.listeners == 0 and time.monotonic() - ch.idle_since > IDLE_KEEP_S):
                    if self.channels.get(ch.key) is ch:
                        del self.channels[ch.key]
                    return
            wait = MIN_WAIT_S
            breaker, source = self.stores.caches.breaker, live_key(self.stores.redis)
            try:
                stored = self.quick_redis().hget(ch.key, "at")
            except redis.RedisError as exc:
                breaker.failure(source)  # the snapshots and session checks fail fast too, not after retries
                self._hand_out_failed(ch, exc)
                time.sleep(TICK_S)
                continue
            if breaker.is_open(source):
                breaker.success(source)  # Redis answers again: the next render reads it at once
            try:
                fresh = stored is not None and time.time() - int(stored) / 1000 < TICK_S
                if stored is None or int(stored) != ch.at_ms or not fresh:
                    with self.slots.held():  # a render is work like a request's: it waits its turn
                        found = self.shared.payload_at(ch.kind, ch.config, ch.mode, where)
                    self._hand_out(ch, found)
                if ch.poll:
                    wait = TICK_S  # an incomplete tick: try again next tick, not sooner
                elif ch.at_ms is not None:
                    wait = max(MIN_WAIT_S, ch.at_ms / 1000 + TICK_S - time.time())
            except redis.RedisError as exc:  # Redis went away during the render
                breaker.failure(source)
                self._hand_out_failed(ch, exc)
                wait = TICK_S
            except Exception:  # noqa: BLE001 - the screens poll meanwhile (their own callback answers)
                log.exception("screen stream publisher failed for %s", ch.key)
                self._hand_out(ch, None)
                wait = TICK_S
            time.sleep(wait)

    def _hand_out_failed(self, ch: Channel, exc: Exception) -> None:
        """Every tick while Redis is unreachable: the failed event (the screens keep their figures,
        mark every panel failed and do not poll), or a poll event for a kind without one."""
        if ch.kind.failed is None:
            self._hand_out(ch, None)
            return
        if not ch.failed:
            log.warning("screen stream %s: Redis unreachable, screens marked failed: %s", ch.key, exc)
        meta_index = ch.kind.indexes(ch.kind.output_list())[2]
        with ch.cond:
            meta = json.loads(ch.outputs[meta_index]) if ch.outputs and ch.outputs[meta_index] else None
            message = _failed_message(ch.kind, time.time(), ch.kind.failed(self.stores, ch.mode, ch.config, meta))
            ch.failed, ch.failed_msg, ch.poll, ch.seq = True, message, False, ch.seq + 1
            ch.cond.notify_all()

    def _hand_out(self, ch: Channel, found: tuple[float, list] | None) -> None:
        with ch.cond:
            if found is None:
                if not ch.poll:
                    ch.poll, ch.failed, ch.seq = True, False, ch.seq + 1
                    ch.cond.notify_all()
                return
            at, outputs = found
            if ch.at_ms is not None and int(at * 1000) <= ch.at_ms and not ch.failed:
                return  # no newer render (after a poll event too: only a new complete tick is pushed)
            previous = None if ch.poll or ch.failed else ch.outputs
            ch.sig, ch.full, ch.lite, ch.delta = _message(ch.kind, at, outputs, previous)
            ch.outputs = outputs
            ch.at_ms, ch.poll, ch.failed, ch.seq = max(int(at * 1000), ch.at_ms or 0), False, False, ch.seq + 1
            ch.cond.notify_all()

    def events(self, ch: Channel, principal_ok, shown_sig: str | None = None) -> _Events:
        """One connection's bytes: the current message at once, then each new one, until the session
        ends, the stream reaches its life, or the client goes away. ``shown_sig``: the signature of
        the map the screen already shows (left out until it changes). The connection's place is
        given back once, when the bytes end or the answer is closed (even before its first byte)."""
        return _Events(self._events(ch, principal_ok, shown_sig), lambda: self._leave(ch))

    def _leave(self, ch: Channel) -> None:
        self.unsubscribe(ch)
        self.release()

    def _events(self, ch: Channel, principal_ok, shown_sig: str | None):
        generation, started = self.generation, time.monotonic()
        checked = wrote = started
        seen, sent_sig, after_poll = 0, shown_sig, True  # seq 0: the channel has no message yet
        yield f"retry: {RETRY_MS}\n\n".encode()
        while True:
            with ch.cond:
                ch.cond.wait_for(lambda: ch.seq != seen or self.generation != generation, timeout=1.0)
                seq, poll, sig, full, lite, delta = ch.seq, ch.poll, ch.sig, ch.full, ch.lite, ch.delta
                failed, failed_msg = ch.failed, ch.failed_msg
            now = time.monotonic()
            if self.generation != generation or now - started > MAX_LIFE_S:
                return
            if now - checked >= RECHECK_S:
                checked = now
                if not principal_ok():
                    yield b"event: ended\ndata: {}\n\n"
                    return
            if seq != seen:
                follows, seen = seq == seen + 1 and not after_poll, seq
                if poll:
                    after_poll = True  # the screen's own callback answers until the next payload
                    yield b"event: poll\ndata: {}\n\n"
                elif failed:
                    after_poll = True  # the next payload is sent whole (it replaces the failed marks)
                    yield failed_msg
                else:
                    # the message before was this connection's: only what changed since
                    yield delta if follows else lite if sig is not None and sig == sent_sig else full
                    sent_sig, after_poll = sig, False
                wrote = now
            elif now - wrote >= HEARTBEAT_S:
                wrote = now
                yield b": heartbeat\n\n"


def _end_streams_when_the_worker_stops(hub: StreamHub) -> None:
    """Under gunicorn, end every stream when the worker is told to stop (SIGTERM: a restart or a
    deploy): a stream never finishes by itself, so the worker would otherwise wait its whole
    graceful timeout (30 s) for them and then be killed. The screens reconnect to a new worker."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
        owner = getattr(previous, "__self__", None)
        if owner is None or not type(owner).__module__.startswith("gunicorn."):
            return  # not a gunicorn worker (cockpit serve, tests): nothing to chain

        def stop_streams_then(signum, frame):
            hub.stop()
            previous(signum, frame)

        signal.signal(signal.SIGTERM, stop_streams_then)
    except ValueError:  # not the main thread
        return


def register(app: Dash, stores: Stores, shared: SharedPayloads) -> StreamHub:
    slots = app.server.config.get(SLOTS_KEY)
    hub = StreamHub(stores, shared, stores.settings.screen_streams, slots)
    app.server.config["COCKPIT_SCREEN_STREAMS"] = hub
    _end_streams_when_the_worker_stops(hub)
    kinds = {k.page: k for k in shared.kinds.values()}

    def _refuse(status: int, message: str) -> Response:
        response = jsonify({"error": message})
        response.status_code = status
        if status == 503:
            response.headers["Retry-After"] = "30"
        return response

    def screen_stream():
        """A wall's or province page's push channel (the guard has checked the session and the scope)."""
        args = request.args
        kind = kinds.get(args.get("page", ""))
        code, lang = args.get("code", ""), args.get("lang", "")
        mode = args.get("mode") or (kind.default_mode if kind else "")
        if kind is None or not CODE.match(code) or lang not in ("zh", "en") or mode not in kind.modes:
            return _refuse(400, "page, code, lang and mode name one screen")
        require_region(stores, code)  # 403 for another region (the guard checked it too)
        if screen_level(stores, kind.page, code) is None:
            return _refuse(404, "no such screen")
        if not request.environ.get("wsgi.multithread"):
            return _refuse(503, "this server runs one request per process: screens poll")
        if not hub.acquire():
            return _refuse(503, "screen streams of this process are all in use: poll")
        try:
            ch = hub.subscribe(kind, with_viewer_links(stores, {"code": code, "lang": lang,
                                                                "kiosk": args.get("kiosk") in ("1", "true")}), mode)
        except Exception:
            hub.release()
            raise

        def principal_ok() -> bool:
            with hub.slots.held():
                return _principal_ok()

        def _principal_ok() -> bool:
            principal = recheck_principal()
            if principal is None:
                return False
            g.principal = principal
            try:
                require_region(stores, code)
            except AccessDenied:
                return False
            return True

        shown = args.get("sig")
        shown = json.dumps(shown) if shown and len(shown) <= 128 else None  # as the payload holds it
        response = Response(stream_with_context(hub.events(ch, principal_ok, shown)), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
        if slots is not None:
            release_early(slots)  # the stream's thread waits from here on; requests get the slot
        return response

    app.server.add_url_rule(PATH, "screen_stream", screen_stream, methods=["GET"])
    return hub
