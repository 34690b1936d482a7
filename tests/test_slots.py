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


def _queue_up(sem, n: int, served: list) -> list[threading.Thread]:
    """n threads waiting for ``sem`` one after the other (each in the queue before the next starts)."""
    import time

    threads = []
    for i in range(n):
        def wait(i=i):
            sem.acquire()
            served.append(i)
        thread = threading.Thread(target=wait, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while len(sem._waiters) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(sem._waiters) == i + 1
        threads.append(thread)
    return threads


def test_slots002_waiters_are_served_in_the_order_they_came_and_none_is_overtaken():
    """A released slot goes to the longest waiter, not to a thread that arrives meanwhile: with
    threading.Semaphore a newcomer took it and the woken waiter queued again at the back, so in a
    connect burst some kiosk starts waited 10 s while the median waited 1 s."""
    import time

    from cockpit.http.slots import Slots

    sem = Slots(2).semaphore
    assert sem.acquire() and sem.acquire(blocking=False)
    assert not sem.acquire(blocking=False)
    served: list[int] = []
    threads = _queue_up(sem, 5, served)
    sem.release()  # handed to waiter 0 ...
    assert not sem.acquire(blocking=False), "a newcomer took the slot released for the longest waiter"
    assert not sem.acquire(timeout=0.05)
    for expected in range(1, 5):
        deadline = time.monotonic() + 5
        while len(served) < expected and time.monotonic() < deadline:
            time.sleep(0.001)
        sem.release()  # each waiter served gives its slot back in turn, here by the test
    for thread in threads:
        thread.join(5)
    assert served == [0, 1, 2, 3, 4]
    sem.release()
    sem.release()  # both slots free again, no waiter
    assert sem.acquire(blocking=False) and sem.acquire(blocking=False)
    sem.release()
    sem.release()
    try:
        sem.release()
    except ValueError:
        pass
    else:
        raise AssertionError("a slot released more often than taken")
