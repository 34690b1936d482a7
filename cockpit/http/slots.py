"""Request slots: at most ``REQUEST_SLOTS`` requests of one web process run the app's code at once.

A web process holds one thread per open screen stream (callbacks/screen_stream.py) besides the
threads that answer requests, so gunicorn runs with ``--threads`` in the hundreds. Python runs one
thread at a time, and the database pool has 20 connections: if every thread could work at once, a
burst (every screen of a room connecting together) would be served all at once, each request
slowed by all the others, and exhaust the pool. The slots keep the work of a process to the few
requests the old ``--threads 8`` allowed; the rest wait their turn in order, holding nothing.
A stream holds a slot only while it is checked and opened, and its publisher while it renders.

Requests answered from bytes kept in memory take no slot (``is_light``): a page's HTML
(app._keep_index), Dash's layout and callback list (app._keep_dash_json) and static files. They
still pass the guard. In a 200-screen connect burst, request threads spent 86 % of their time
waiting for a slot while the processes used 0.6 of a core, and half of each screen's connect
requests were these: they queued behind the routing, kiosk and grid requests for a few hundred
microseconds of work each.
"""

from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from collections.abc import Iterator

from flask import Flask, g, request

REQUEST_SLOTS = 8  # like gunicorn's --threads 8 before the streams (docs/performance.md)
CONFIG_KEY = "COCKPIT_REQUEST_SLOTS"
LIGHT_PATHS = frozenset({"/_dash-layout", "/_dash-dependencies", "/_favicon.ico"})
LIGHT_PREFIXES = ("/assets/", "/_dash-component-suites/")
# Dash's page routes: every page GET answers the same index HTML, built once (app._keep_index)
LIGHT_ENDPOINTS = frozenset({"/", "/<path:path>"})


def is_light(method: str, path: str, endpoint: str | None = None) -> bool:
    """A GET answered from memory or a file: no slot."""
    return method in ("GET", "HEAD") and (path in LIGHT_PATHS or path.startswith(LIGHT_PREFIXES)
                                          or endpoint in LIGHT_ENDPOINTS)


class FairSemaphore:
    """A semaphore that serves its waiters in the order they came: a released slot is handed to
    the longest waiter, never taken by a thread that arrives meanwhile.

    ``threading.Semaphore`` lets a newcomer take a slot between its release and the woken waiter's
    return, and a waiter that loses that race waits again at the back of the line; with a hundred
    requests queued in a connect burst some lost it again and again (kiosk starts at 10 s while the
    median was 1 s). Here each waiter has its own lock, and ``release`` hands the slot over by
    releasing the first one."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._count = self._free = count
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            if not blocking:
                return False
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return True  # handed over by release()
        with self._lock:
            try:
                self._waiters.remove(waiter)  # timed out still waiting
                return False
            except ValueError:
                return True  # handed over just as the wait ended: the slot is ours

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            elif self._free < self._count:
                self._free += 1
            else:
                raise ValueError("semaphore released too many times")

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class Slots:
    def __init__(self, count: int = REQUEST_SLOTS) -> None:
        self.semaphore = FairSemaphore(count)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for work outside a request (a stream's publisher rendering, a session check)."""
        with self.semaphore:
            yield


def install(server: Flask, count: int = REQUEST_SLOTS) -> Slots:
    """Every request takes a slot before the first ``before_request`` hook and gives it back when
    its context ends, or earlier by ``release_early()`` (a stream, once it starts streaming).
    Install it before every other hook."""
    slots = Slots(count)
    server.config[CONFIG_KEY] = slots

    @server.before_request
    def _take_slot():
        if is_light(request.method, request.path, request.endpoint):
            return None
        slots.semaphore.acquire()
        g.request_slot = True
        return None

    @server.teardown_request
    def _give_slot(_exc=None):
        release_early(slots)

    return slots


def release_early(slots: Slots) -> None:
    """Give the request's slot back now (once; teardown then gives nothing)."""
    if g.pop("request_slot", False):
        slots.semaphore.release()
