"""Stateless web tier: two app processes on one Redis and one database serve the same figures and
accept the same sessions (nothing a screen needs lives in a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.screens import App, find_prop
from tests.services import DASH_PORT, REDIS_URL

ROOT = Path(__file__).resolve().parents[1]
PORTS = (DASH_PORT + 61, DASH_PORT + 62)


def _get(port, path, cookies, body=None):
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if body is not None:
        headers.update({"Content-Type": "application/json", "X-CSRFToken": cookies["_csrf_token"]})
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read()


def test_stateless001_two_processes_same_figures_and_sessions(sqlite_stores, tmp_path):
    from cockpit.auth import sessions, users
    from cockpit.ingest import forget_regions
    from geo.regions import load_default_regions
    from tests.browser import seed_two_cities
    from tests.timeofday import wait_for_room

    stores = sqlite_stores
    with stores.session() as session:
        load_default_regions(session)
    forget_regions(stores)
    wait_for_room()
    seed_two_cities(stores, datetime.now(UTC))
    with stores.session() as session:
        user = users.create(session, "sup_stateless", role="supervisor", scope="620100", password="x" * 16)
        session.flush()
        started = sessions.start(session, user_id=user.id, lifetime=timedelta(hours=1), ip="127.0.0.1")
    cookies = {"ck_session": started.raw_id, "_csrf_token": started.csrf}
    env = {**os.environ, "COCKPIT_DATABASE_URL": stores.settings.sqlalchemy_url, "COCKPIT_REDIS_URL": REDIS_URL,
           "COCKPIT_VAR_DIR": str(tmp_path / "var"), "COCKPIT_SECRET_KEY": "stateless-test-secret-0123456789"}
    procs = [subprocess.Popen(
        [sys.executable, "-c", f"from app import create_app; create_app().run(host='127.0.0.1', port={port})"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in PORTS]
    try:
        for port in PORTS:
            for _ in range(240):
                try:
                    _get(port, "/healthz", {})
                    break
                except OSError:
                    time.sleep(0.25)
        deps = [json.loads(_get(port, "/_dash-dependencies", cookies)[1]) for port in PORTS]
        assert deps[0] == deps[1]
        api = App(deps[0])
        route = api.route.body(["/wall/620100", "?lang=zh"], [])
        layouts = [json.loads(_get(port, "/_dash-update-component", cookies, route)[1]) for port in PORTS]
        config = find_prop(layouts[0], {"type": "wall-config", "index": "wall"}, "data")
        assert config == find_prop(layouts[1], {"type": "wall-config", "index": "wall"}, "data")
        body = api.wall.body([{"n": 1, "at": 1}, "count"], [config, None, None])
        answers = [json.loads(_get(port, "/_dash-update-component", cookies, body)[1])["response"] for port in PORTS]
        for panel in ("volume", "rates", "queue", "seats"):
            key = json.dumps({"index": panel, "type": "wall-body"}, separators=(",", ":"))
            assert answers[0][key] == answers[1][key], panel
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
