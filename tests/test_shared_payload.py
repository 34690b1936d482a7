"""Screens of one scope share one rendered refresh (callbacks/shared_payload.py) and see what the
screen's own callback would have answered."""

from __future__ import annotations

import json

import pytest

from bench.screens import App, find_prop
from callbacks import shared_payload
from tests.login import client_for, csrf_of


def _client(app):
    client = client_for(app)  # a logged-in screen (every route needs a session or a token)
    return client, App(client.get("/_dash-dependencies").get_json())


def _post(client, body: bytes) -> dict:
    resp = client.post("/_dash-update-component", data=body, content_type="application/json",
                       headers={"X-CSRFToken": csrf_of(client)})
    assert resp.status_code == 200
    return resp.get_json()


def _screen(client, api, page: str, code: str, lang: str):
    layout = _post(client, api.route.body([f"/{page}/{code}", f"?lang={lang}"], []))
    config = find_prop(layout, {"type": "wall-config", "index": page}, "data")
    mode = "count" if page == "wall" else find_prop(layout, "province-metric", "value")
    return (api.wall if page == "wall" else api.province), config, mode


def _without_shared(app):
    """Answer through the screen's own callback only (the hook steps aside)."""
    shared = app.server.config["COCKPIT_SHARED_PAYLOADS"]
    shared.kinds, saved = {}, shared.kinds
    return shared, saved


@pytest.mark.parametrize("page,code", [("wall", "620100"), ("province", "620000")])
def test_share001_shared_answer_equals_the_callbacks(wall_app, page, code, monkeypatch):
    app, stores = wall_app
    client, api = _client(app)
    # One snapshot for both paths: the curves and as-of times move with the clock between two renders.
    from cockpit.views import province, wall

    module, name = (wall, "city_snapshot") if page == "wall" else (province, "province_snapshot")
    frozen = getattr(module, name)(stores, code)
    monkeypatch.setattr(module, name, lambda *_a, **_k: frozen)
    for lang in ("zh", "en"):
        cb, config, mode = _screen(client, api, page, code, lang)
        first = _post(client, cb.body([{"n": 1, "at": 1}, mode], [config, None, None]))
        key = shared_payload.key_payload(code, page, lang, mode, False, True)  # the user may open /supervise
        assert stores.redis.hexists(key, "outputs"), "the first screen of the tick stored the payload"
        sig_key = "wall-map-sig" if page == "wall" else "province-map-sig"
        sig = first["response"][sig_key]["data"]
        meta = first["response"][json.dumps({"index": page, "type": "wall-meta"}, separators=(",", ":"))]["data"]
        # A second screen that already shows this map: same bytes but no map, its own request echoed.
        second = _post(client, cb.body([{"n": 7, "at": 2}, mode], [config, meta, sig]))
        shared, saved = _without_shared(app)
        try:
            own_first = _post(client, cb.body([{"n": 1, "at": 1}, mode], [config, None, None]))
            own_second = _post(client, cb.body([{"n": 7, "at": 2}, mode], [config, meta, sig]))
        finally:
            shared.kinds = saved
        assert first["response"].keys() == own_first["response"].keys()
        assert second["response"].keys() == own_second["response"].keys()
        assert sig_key not in second["response"]
        done = "wall-done" if page == "wall" else "province-done"
        assert second["response"][done]["data"] == {"n": 7, "at": 2}
        assert first == own_first and second == own_second


def test_share002_failed_snapshot_falls_through_to_the_screens_callback(wall_app, monkeypatch):
    app, stores = wall_app
    client, api = _client(app)
    cb, config, mode = _screen(client, api, "wall", "620100", "zh")
    ok = _post(client, cb.body([{"n": 1, "at": 1}, mode], [config, None, None]))
    meta = ok["response"]['{"index":"wall","type":"wall-meta"}']["data"]
    stores.redis.flushdb()
    shared = app.server.config["COCKPIT_SHARED_PAYLOADS"]
    shared.memory.clear()
    from cockpit.views import wall

    def broken(*_a, **_k):
        raise RuntimeError("snapshot down")

    monkeypatch.setattr(wall, "city_snapshot", broken)
    failed = _post(client, cb.body([{"n": 2, "at": 2}, mode], [config, meta, None]))
    out = failed["response"]
    # The callback kept the last good values: no panel body sent, every panel marked failed, as-of kept.
    assert not any("wall-body" in k for k in out)
    new_meta = out['{"index":"wall","type":"wall-meta"}']["data"]
    assert all(m["failed"] for m in new_meta.values())
    assert {k: m["as_of_ms"] for k, m in new_meta.items()} == {k: m["as_of_ms"] for k, m in meta.items()}
    assert not stores.redis.exists(shared_payload.key_payload("620100", "wall", "zh", mode, False, True))


def test_share010_the_map_is_built_once_while_its_signature_holds(wall_app, monkeypatch):
    app, stores = wall_app
    import layouts.wall as wall_layout

    built = []
    real = wall_layout.districts_body
    monkeypatch.setattr(wall_layout, "districts_body", lambda *a, **k: built.append(1) or real(*a, **k))
    shared = app.server.config["COCKPIT_SHARED_PAYLOADS"]
    kind = next(k for k in shared.kinds.values() if k.page == "wall")
    where = kind.indexes(kind.output_list())
    config = {"code": "620100", "lang": "zh", "kiosk": False}
    first = shared._render(kind, config, "count", where, "key")
    second = shared._render(kind, config, "count", where, "key")
    assert len(built) == 1  # the second render reused the map
    map_index, sig_index, _ = where
    assert second[map_index] == first[map_index] and second[sig_index] == first[sig_index]
    shared._render(kind, config, "per100k", where, "other key")
    assert len(built) == 2  # another key (mode) has its own map
