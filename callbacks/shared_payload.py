"""Screens cost per scope, not per screen: one rendered refresh per scope, language, mode and tick.

Every wall (or province page) of one scope shows the same figures, so the refresh of the first
screen in a tick takes the snapshot, builds the component tree and serialises every output; the
result goes to Redis (``ck:{SCOPE}:screen:...``, one hash: ``at`` in epoch ms and ``outputs``,
the serialised outputs) and to this process's memory. Every other screen of that scope and
language, in any web process, gets the same serialised outputs for ``TICK_S``; only what is the
screen's own is added per request: the answered request counter, and the map left out when the
screen already shows that map (same signature, what ``no_update`` did before).

Guarantees kept:
- freshness by the browser's clock: panel meta carries each section's own ``as_of_ms``; a shared
  payload is at most ``TICK_S`` old (``STALE_S`` while another process recomputes it);
- last good values on failure: a refresh whose snapshot failed or lacks a section depends on what
  that screen shows, so it is never shared: it falls through to the screen's own Dash callback,
  which keeps the last good values and marks the panels (as before). So does any error here;
- reconnect: unchanged (the browser's refresh gate and Dash's requests are the same).

The hook answers ``POST /_dash-update-component`` for the two refresh callbacks before Dash
parses it; everything else goes to Dash untouched.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash, no_update
from flask import Response, request

from cockpit.auth.principal import AccessDenied
from cockpit.auth.web import require_region
from cockpit.store.cache import live_key
from cockpit.store.db import Stores
from cockpit.views.province import PROVINCE_METRICS
from layouts import ids
from layouts.serialise import component_json
from layouts.wall import MAP_MODES

log = logging.getLogger(__name__)

# A shared payload is reused this long: the screens' refresh interval (Settings.refresh_ms, 2 s).
# The stream's publishers render each key once a tick, so this is also how often a screen's
# figures move; it was 1 s, twice the interval the screens ask at, and a wall render costs ~26 ms
# of CPU on this machine: 28 wall keys (14 cities x 2 languages) took ~0.7 of its 2 cores.
TICK_S = 2.0
LOCK_MS = 5000
# ... and this long while another process recomputes it (at most TICK_S + the render lock, 7 s)
STALE_S = 8.0
TTL_S = 60
PATH = "/_dash-update-component"


@dataclass(frozen=True)
class Kind:
    """One refresh callback: the ids of its map output, map signature, panel meta and answered request."""

    page: str
    done_id: str
    map_id: Any
    sig_id: str
    compute: Callable[[Stores, Any, str, dict, dict | None, str | None], tuple]
    default_mode: str
    outputs: tuple[tuple[Any, str], ...] = ()  # (id, property) of every output, in the callback's order
    modes: tuple[str, ...] = ()  # the map modes (metrics) a screen may ask for
    # (stores, mode, config, previous meta) -> the outputs of a refresh whose sources are unreachable
    # (values kept, every panel marked failed), built without reading any source
    failed: Callable[[Stores, str, dict, dict | None], tuple] | None = None

    def output_list(self) -> list[dict]:
        """The callback's outputs as a Dash request lists them (for a render outside a request)."""
        return [{"id": cid, "property": prop} for cid, prop in self.outputs]

    def indexes(self, outs: list[dict]) -> tuple[int, int, int]:
        """(map, signature, meta) positions among the callback's outputs, as the request lists them."""
        found = {json.dumps(o["id"], sort_keys=True): i for i, o in enumerate(outs)}
        meta = json.dumps({"index": self.page, "type": ids.WALL_META}, sort_keys=True)
        return (found[json.dumps(self.map_id, sort_keys=True)], found[json.dumps(self.sig_id)], found[meta])


def key_payload(scope: str, page: str, lang: str, mode: str, kiosk: bool, supervise: bool = False) -> str:
    """One rendered screen variant: viewers who may open /supervise get its links, others the same
    figures without them, so the two never share a payload."""
    return f"ck:{{{scope}}}:screen:{page}:{lang}:{mode}:{int(kiosk)}{':sup' if supervise else ''}"


def config_key(config: dict, page: str, mode: str) -> str:
    return key_payload(config["code"], page, config["lang"], mode, bool(config.get("kiosk")),
                       bool(config.get("supervise")))


def with_viewer_links(stores: Stores, config: dict) -> dict:
    """``config`` with ``supervise`` decided for the requesting principal (the page rule of
    cockpit.auth.policy.check_page for /supervise: no kiosk session, no leader), never taken
    from the browser; the screens link their alerts and cities there only then."""
    from callbacks.routing import page_permission

    return {**config, "supervise": page_permission(stores)("/supervise", {})}


def _id_key(cid: Any) -> str:
    if isinstance(cid, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(cid[k])}" for k in sorted(cid)) + "}"
    return cid


def _complete(outputs: tuple, where: tuple[int, int, int]) -> bool:
    """Shareable: nothing left as no_update except the map (and its signature), every panel with data."""
    map_index, sig_index, meta_index = where
    for i, value in enumerate(outputs[:-1]):
        if value is no_update and i not in (map_index, sig_index):
            return False
    meta = outputs[meta_index]
    return isinstance(meta, dict) and all(
        (m or {}).get("as_of_ms") is not None and not (m or {}).get("failed") for m in meta.values())


class SharedPayloads:
    def __init__(self, stores: Stores, kinds: list[Kind]) -> None:
        self.stores = stores
        self.kinds = {k.done_id: k for k in kinds}
        self.memory: dict[str, tuple[float, list]] = {}
        self.maps: dict[str, tuple[str, str]] = {}  # key -> (signature, map) last rendered here, serialised
        self.lock = threading.Lock()

    # -- the payload of one scope -----------------------------------------------------------------

    def _render(self, kind: Kind, config: dict, mode: str, where: tuple[int, int, int],
                key: str | None = None) -> list | None:
        # The map (district choropleth, province map, hourly chart) is most of a render's cost
        # (geometry copied, measured and serialised: ~80 of 90 ms for the province) and changes only
        # with its signature, so the map this process rendered last for the key is reused while
        # the signature holds; the render then builds everything but the map.
        last = self.maps.get(key) if key else None
        outputs = kind.compute(self.stores, None, mode, config, None, json.loads(last[0]) if last else None)
        if not _complete(outputs, where):
            return None
        serialised = [None if v is no_update else component_json(v) for v in outputs[:-1]]
        map_index, sig_index, _ = where
        if serialised[sig_index] is None and last is not None:
            serialised[sig_index], serialised[map_index] = last
        if key and serialised[sig_index] is not None and serialised[map_index] is not None:
            with self.lock:
                if len(self.maps) > 512:
                    self.maps.clear()
                self.maps[key] = (serialised[sig_index], serialised[map_index])
        return serialised

    def payload(self, kind: Kind, config: dict, mode: str, where: tuple[int, int, int]) -> list | None:
        found = self.payload_at(kind, config, mode, where)
        return None if found is None else found[1]

    def payload_at(self, kind: Kind, config: dict, mode: str,
                   where: tuple[int, int, int]) -> tuple[float, list] | None:
        """(rendered at, epoch seconds; the serialised outputs) of this tick, rendered here when no
        process has yet; None when the render was incomplete (never shared)."""
        key = config_key(config, kind.page, mode)
        now = time.time()
        found = self.memory.get(key)
        if found and now - found[0] < TICK_S:
            return found
        client = self.stores.redis
        stored = client.hmget(key, "at", "outputs")
        if stored[0] is not None and now - int(stored[0]) / 1000 < TICK_S:
            at, outputs = int(stored[0]) / 1000, json.loads(stored[1])
            self._remember(key, at, outputs)
            return at, outputs
        token = uuid.uuid4().hex
        if not client.set(key + ":lock", token, nx=True, px=LOCK_MS):
            if stored[0] is not None and now - int(stored[0]) / 1000 < STALE_S:
                return int(stored[0]) / 1000, json.loads(stored[1])  # another process is rendering this tick
        outputs = self._render(kind, config, mode, where, key)
        result = None
        if outputs is not None:
            at = time.time()
            pipe = client.pipeline(transaction=False)
            pipe.hset(key, mapping={"at": int(at * 1000), "outputs": json.dumps(outputs)})
            pipe.expire(key, TTL_S)
            pipe.execute()
            self._remember(key, at, outputs)
            result = (at, outputs)
        if client.get(key + ":lock") == token:
            client.delete(key + ":lock")
        return result

    def _remember(self, key: str, at: float, outputs: list) -> None:
        with self.lock:
            if len(self.memory) > 512:
                self.memory.clear()
            self.memory[key] = (at, outputs)

    # -- one screen's answer ----------------------------------------------------------------------

    def answer(self, body: dict) -> Response | None:
        outs = body.get("outputs")
        if not isinstance(outs, list) or not outs:
            return None
        kind = self.kinds.get(outs[-1].get("id") if isinstance(outs[-1], dict) else None)
        if kind is None:
            return None
        inputs, state = body.get("inputs") or [], body.get("state") or []
        req = inputs[0].get("value") if inputs else None
        mode = (inputs[1].get("value") if len(inputs) > 1 else None) or kind.default_mode
        config = state[0].get("value") if state else None
        previous_sig = state[2].get("value") if len(state) > 2 else None
        if not isinstance(config, dict) or "code" not in config or "lang" not in config:
            return None
        require_region(self.stores, config["code"])  # another region's screen: 403 (cockpit.auth), never shared
        config = with_viewer_links(self.stores, config)
        if self.stores.caches.breaker.is_open(live_key(self.stores.redis)):
            return None  # Redis failed just now: the screen's own callback marks it failed, without waiting on it
        where = kind.indexes(outs)
        map_index, sig_index, _ = where
        outputs = self.payload(kind, config, mode, where)
        if outputs is None or len(outputs) != len(outs) - 1:
            return None
        same_map = outputs[sig_index] is not None and json.loads(outputs[sig_index]) == previous_sig
        parts = []
        for i, out in enumerate(outs):
            if i == len(outs) - 1:
                value = json.dumps(req)
            else:
                value = outputs[i]
                if value is None or (same_map and i in (map_index, sig_index)):
                    continue
            parts.append(f"{json.dumps(_id_key(out['id']))}:{{{json.dumps(out['property'])}:{value}}}")
        return Response('{"multi":true,"response":{' + ",".join(parts) + "}}", mimetype="application/json")


def register(app: Dash, stores: Stores, kinds: list[Kind]) -> SharedPayloads:
    shared = SharedPayloads(stores, kinds)
    app.server.config["COCKPIT_SHARED_PAYLOADS"] = shared

    @app.server.before_request
    def _shared_screen_payload():
        if request.method != "POST" or request.path != PATH:
            return None
        try:
            body = request.get_json(silent=True)
            return shared.answer(body) if isinstance(body, dict) else None
        except AccessDenied:
            raise  # answered 403 by the access error handler
        except Exception:  # noqa: BLE001 - the screen's own callback answers instead (last good values)
            log.exception("shared screen payload failed; answering through the callback")
            return None

    return shared


def wall_kind(compute, outputs=(), failed=None) -> Kind:
    return Kind(page="wall", done_id=ids.WALL_DONE, map_id={"type": ids.WALL_BODY, "index": "districts"},
                sig_id=ids.WALL_MAP_SIG, compute=compute, default_mode="count", outputs=tuple(outputs),
                modes=tuple(MAP_MODES), failed=failed)


def province_kind(compute, outputs=(), failed=None) -> Kind:
    return Kind(page="province", done_id=ids.PROVINCE_DONE, map_id={"type": ids.WALL_BODY, "index": "map"},
                sig_id=ids.PROVINCE_MAP_SIG, compute=compute, default_mode="tickets_today",
                outputs=tuple(outputs), modes=tuple(PROVINCE_METRICS), failed=failed)
