"""A redis-server of the test's own, on a free port, that a fault test may stop and start again
(never the shared one at 6379). ``pause()`` makes it stop answering (SIGSTOP: a hung server, or
one behind a dead network: connections hang instead of being refused) until ``resume()``. Its
data survive a restart: ``stop()`` saves them first, as a Redis with persistence does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis as redis_lib

AVAILABLE = shutil.which("redis-server") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, timeout_s: float = 10.0) -> None:
    """Return once the redis-server on ``port`` answers a PING; RuntimeError after ``timeout_s``."""
    probe = redis_lib.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                probe.ping()
                return
            except redis_lib.ConnectionError:
                time.sleep(0.05)
    finally:
        probe.close()
    raise RuntimeError(f"the test's redis-server on port {port} did not start")


class KillableRedis:
    def __init__(self, directory: Path) -> None:
        self.directory, self.port, self.proc = directory, free_port(), None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_until_up(self.port)

    def stop(self) -> None:
        """Save the data, then kill the server by its pid (connections are refused from here on)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        client = redis_lib.Redis(port=self.port, socket_timeout=5)
        try:
            client.save()
        finally:
            client.close()
        self.proc.kill()
        self.proc.wait(10)

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
