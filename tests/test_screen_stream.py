"""The screens' push stream (callbacks/screen_stream.py): who may open it, what it sends, when it ends.

Real Redis and SQLite (the ``wall_app`` fixture: two cities of traffic); the stream is read
through Flask's test client, which runs the stream's generator in the test's own thread.
"""

from __future__ import annotations

import json
import time

import pytest

from callbacks import screen_stream
from cockpit.auth import kiosk
from tests.login import client_for

STREAM = "/screens/stream?page={page}&code={code}&lang=zh&mode={mode}"
THREADED = {"wsgi.multithread": True}  # what gunicorn gthread and the threaded dev server say


def _open(client, page="wall", code="620100", mode="count", extra=""):
    return client.get(STREAM.format(page=page, code=code, mode=mode) + extra, buffered=False,
                      environ_overrides=THREADED)


def _events(resp, count: int, *, within_s: float = 15.0) -> list[tuple[str, str]]:
    """The next ``count`` events (name, data) of a streamed answer; comments and retry lines skipped."""
    out, buffer, deadline = [], b"", time.monotonic() + within_s
    chunks = iter(resp.response)
    while len(out) < count and time.monotonic() < deadline:
        try:
            buffer += next(chunks)
        except StopIteration:
            break
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            lines = block.decode().split("\n")
            name = next((line[7:] for line in lines if line.startswith("event: ")), None)
            data = next((line[6:] for line in lines if line.startswith("data: ")), "")
            if name:
                out.append((name, data))
    return out


def _kiosk_client(app, stores, scope="620100"):
    with stores.session() as session:
        link, path = kiosk.create(session, scope=scope, created_by="test")
        link_id = link.id
    client = app.server.test_client()
    assert client.get(path).status_code == 302
    return link_id, client


def test_str001_the_stream_needs_a_session_and_the_scope_it_names(wall_app):
    app, stores = wall_app
    anonymous = app.server.test_client()
    assert _open(anonymous).status_code == 401
    _, screen = _kiosk_client(app, stores, "620100")
    assert _open(screen, code="620200").status_code == 403  # another city's stream
    assert _open(screen, page="province", code="620000", mode="tickets_today").status_code == 403
    leader = client_for(app, role="leader", scope="620100")
    assert _open(leader, code="620200").status_code == 403
    assert _open(leader, code="620100", mode="nonsense").status_code == 400
    admin = client_for(app, role="admin", scope="620000")
    assert _open(admin, code="629999").status_code == 404  # no such region
    sync = admin.get(STREAM.format(page="wall", code="620100", mode="count"))  # a server without threads
    assert sync.status_code == 503


def test_str002_a_stream_sends_the_shared_payload_then_only_what_changed(wall_app):
    app, stores = wall_app
    _, screen = _kiosk_client(app, stores)
    resp = _open(screen, extra="&kiosk=1")
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    try:
        events = _events(resp, 2)
    finally:
        resp.close()
    assert [name for name, _ in events] == ["payload", "payload"]
    first, second = (json.loads(data) for _, data in events)
    assert second["at"] > first["at"]
    ids_first = [json.dumps(item[0], sort_keys=True) for item in first["o"]]
    map_id = json.dumps({"index": "districts", "type": "wall-body"}, sort_keys=True)
    assert map_id in ids_first and '"wall-map-sig"' in ids_first  # the map, once
    assert map_id not in [json.dumps(item[0], sort_keys=True) for item in second["o"]]  # unchanged: not again
    meta = next(item[2] for item in second["o"] if item[0] == {"index": "wall", "type": "wall-meta"})
    assert all(m["as_of_ms"] and not m["failed"] for m in meta.values())
    assert "wall-done" not in ids_first  # the answered request is each screen's own


def test_str003_a_screen_that_shows_the_map_does_not_get_it_again(wall_app):
    app, stores = wall_app
    _, screen = _kiosk_client(app, stores)
    resp = _open(screen)
    try:
        (_, data), = _events(resp, 1)
    finally:
        resp.close()
    sig = json.loads(data)["sig"]
    resp = _open(screen, extra=f"&sig={sig}")
    try:
        (_, data), = _events(resp, 1)
    finally:
        resp.close()
    assert "wall-map-sig" not in [item[0] for item in json.loads(data)["o"]]


def test_str004_revoking_the_kiosk_link_ends_its_stream_within_seconds(wall_app):
    app, stores = wall_app
    link_id, screen = _kiosk_client(app, stores)
    resp = _open(screen)
    try:
        assert _events(resp, 1)[0][0] == "payload"
        with stores.session() as session:
            kiosk.revoke(session, link_id)
        started = time.monotonic()
        names = [name for name, _ in _events(resp, 10, within_s=screen_stream.RECHECK_S + 5)]
        assert "ended" in names, names
        assert time.monotonic() - started < screen_stream.RECHECK_S + 3
        assert list(resp.response) == []  # and the answer ends there
    finally:
        resp.close()
    assert _open(screen).status_code == 401


def test_str005_streams_beyond_the_cap_are_refused_so_the_screen_polls(wall_app):
    app, stores = wall_app
    hub = app.server.config["COCKPIT_SCREEN_STREAMS"]
    hub.limit = 1
    _, screen = _kiosk_client(app, stores)
    first = _open(screen)
    try:
        assert _events(first, 1)[0][0] == "payload"
        refused = _open(screen)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
    finally:
        first.close()
    again = _open(screen)  # the first one's place is free again
    try:
        assert again.status_code == 200
    finally:
        again.close()


def test_str006_an_incomplete_tick_is_never_pushed_the_screen_is_told_to_poll(wall_app, monkeypatch):
    app, stores = wall_app
    from cockpit.views import wall

    _, screen = _kiosk_client(app, stores)
    resp = _open(screen)
    try:
        assert _events(resp, 1)[0][0] == "payload"

        def failing(*_a, **_k):
            raise RuntimeError("live store down")

        monkeypatch.setattr(wall, "city_snapshot", failing)
        names = [name for name, _ in _events(resp, 3, within_s=6)]
        assert "poll" in names, names
        assert names[names.index("poll"):] == ["poll"], names  # nothing pushed after it
    finally:
        resp.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_str007_the_province_page_streams_too(wall_app, lang):
    app, _ = wall_app
    admin = client_for(app, role="admin", scope="620000")
    resp = admin.get(f"/screens/stream?page=province&code=620000&lang={lang}", buffered=False,
                     environ_overrides=THREADED)
    try:
        assert resp.status_code == 200
        (name, data), = _events(resp, 1)
    finally:
        resp.close()
    ids_sent = [item[0] for item in json.loads(data)["o"]]
    assert {"index": "province", "type": "wall-meta"} in ids_sent and "province-map-sig" in ids_sent


def test_str008_a_gunicorn_worker_told_to_stop_ends_its_streams_at_once(wall_app):
    """A restart must not wait gunicorn's graceful timeout (30 s) for streams that never finish."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from tests.services import DASH_PORT

    app, stores = wall_app
    _, screen = _kiosk_client(app, stores)  # a kiosk session in the test database
    cookie = "; ".join(f"{name}={screen.get_cookie(name).value}" for name in ("ck_session", "_csrf_token"))
    port = DASH_PORT + 50
    env = {**os.environ, "COCKPIT_DATABASE_URL": stores.settings.database_url,
           "COCKPIT_REDIS_URL": stores.settings.redis_url, "COCKPIT_MODE": "development",
           "COCKPIT_SECRET_KEY": "k" * 40, "COCKPIT_VAR_DIR": str(stores.settings.var_dir)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:server", "-b", f"127.0.0.1:{port}", "-w", "1",
                               "-k", "gthread", "--threads", "4", "--log-level", "warning"],
                              cwd=Path(__file__).resolve().parents[1], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        req = urllib.request.Request(f"http://127.0.0.1:{port}" + STREAM.format(page="wall", code="620100", mode="count"),
                                     headers={"Cookie": cookie})
        stream = urllib.request.urlopen(req, timeout=30)
        assert stream.status == 200 and stream.readline().startswith(b"retry:")
        while not stream.readline().startswith(b"event: payload"):
            pass
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        assert time.monotonic() - started < 10  # gunicorn's graceful timeout is 30 s
        stream.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_str009_a_stream_closed_before_its_first_byte_gives_its_place_back(wall_app):
    app, stores = wall_app
    hub = app.server.config["COCKPIT_SCREEN_STREAMS"]
    hub.limit = 1
    _, screen = _kiosk_client(app, stores)
    for _ in range(3):  # the client goes away at once, three times: the one place is free each time
        resp = _open(screen)
        assert resp.status_code == 200
        resp.close()
    assert hub.open == 0


def test_str010_the_publishers_quick_redis_serves_many_publishers_at_once(stores):
    """Every channel of a web process has its own publisher thread, and each reads Redis through
    the hub's quick twin. Its pool held 4 connections and refused a fifth at once ("Too many
    connections", a redis ConnectionError): on a loaded machine, where publishers are slow to give
    their connection back, screens of a healthy Redis were marked failed and the breaker opened
    (seen in bench/screens.py at 200 screens). Twelve publishers reading at once all get answers."""
    import threading

    import redis as redis_lib

    from cockpit.store.db import quick_twin

    twin = quick_twin(stores.redis, 2.0)
    start, errors = threading.Barrier(12), []

    def publisher(i: int) -> None:
        start.wait()
        try:
            twin.blpop([f"ck:test:str010:{i}"], timeout=0.3)  # holds its connection 0.3 s, as a slow thread does
        except redis_lib.RedisError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    twin.connection_pool.disconnect()
    assert errors == []
