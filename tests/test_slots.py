"""Request slots (cockpit/http/slots.py): at most a few requests of a process run the app's code at
once; a page's HTML, Dash's layout, its callback list and static files, answered from memory, take
no slot."""

from __future__ import annotations

import threading

from layouts import ids
from tests.login import client_for
from tests.test_access_scope import _call


def _in_thread(fn):
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("response", fn()), daemon=True)
    thread.start()
    return thread, out


def test_slots001_light_requests_pass_while_every_slot_is_held_and_a_callback_waits(wall_app):
    app, stores = wall_app
    client = client_for(app, role="supervisor", scope="620100", stores=stores)
    client.get("/_dash-layout")  # kept bytes built once, as a serving process has them
    other = client_for(app, role="supervisor", scope="620100", stores=stores)  # logging in takes a slot
    slots = app.server.config["COCKPIT_REQUEST_SLOTS"]
    held = 0
    while slots.semaphore.acquire(blocking=False):
        held += 1
    try:
        assert held == 8
        for path in ("/wall/620100", "/supervise?lang=en", "/_dash-layout", "/_dash-dependencies",
                     "/assets/wall.css"):
            thread, out = _in_thread(lambda p=path: client.get(p))
            thread.join(timeout=10)
            assert not thread.is_alive(), f"{path} waited for a slot"
            assert out["response"].status_code == 200, path
        values = {f"{ids.URL}.pathname": "/supervise", f"{ids.URL}.search": ""}
        waiting, answer = _in_thread(lambda: _call(other, app, ids.PAGE, values))
        waiting.join(timeout=1.0)
        assert waiting.is_alive(), "a callback ran without a slot"
    finally:
        for _ in range(held):
            slots.semaphore.release()
    waiting.join(timeout=30)
    assert not waiting.is_alive() and answer["response"].status_code in (200, 204)
