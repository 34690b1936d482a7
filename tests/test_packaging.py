"""The built wheel runs the whole product from a fresh virtualenv outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app.py", "assets", "callbacks", "cockpit", "geo", "layouts")  # what the wheel must carry whole
# Build output and local state of a checkout that must not leak into the wheel.
IGNORED = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".git", "var", "artifacts",
                                 ".hypothesis", ".benchmarks", ".pytest_cache", "*.sqlite3", "*.rdb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list, *, env: dict, cwd: Path, timeout: int = 300) -> str:
    proc = subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _get(url: str, *, data: bytes | None = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_pkg001_wheel_installs_and_serves_the_wall(tmp_path, settings, redis_client):
    # 1. Build the wheel from a clean copy of the source (a stale build/ must not mask a missing file).
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=IGNORED)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",) and not k.startswith("COCKPIT_")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w",
          tmp_path / "dist", src], env=env, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("hotline_cockpit-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        shipped = set(zf.namelist())
    files = [p for top in PRODUCT for p in ([src / top] if (src / top).is_file() else (src / top).rglob("*"))]
    product = [p.relative_to(src).as_posix() for p in files if p.is_file()]
    assert "assets/wall.js" in product and "app.py" in product
    assert [p for p in product if p not in shipped] == []  # every code, data, template and asset file

    # 2. A fresh virtualenv outside the checkout; dependencies come from the system site (no downloads).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], env=env, cwd=tmp_path)
    bin_ = venv / "bin"
    _run([bin_ / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel], env=env, cwd=tmp_path)
    probe = "import json, app, cockpit; print(json.dumps([app.__file__, cockpit.__file__, str(app.ASSETS)]))"
    where = json.loads(_run([bin_ / "python", "-c", probe], env=env, cwd=tmp_path))
    site = str(venv / "lib")
    assert all(path.startswith(site) for path in where), where  # the installed copy, not the checkout
    assert (Path(where[2]) / "wall.js").is_file()

    # 3. The installed command: schema, regions, then the web app on SQLite + the test Redis.
    run_env = dict(env, COCKPIT_DATABASE_URL=f"sqlite:///{tmp_path / 'cockpit.sqlite3'}",
                   COCKPIT_REDIS_URL=settings.redis_url, COCKPIT_VAR_DIR=str(tmp_path / "var"),
                   COCKPIT_SECRET_KEY="k" * 48)  # production mode: refuses to start without a key
    _run([bin_ / "cockpit", "db", "upgrade"], env=run_env, cwd=tmp_path)
    _run([bin_ / "cockpit", "regions", "load-defaults"], env=run_env, cwd=tmp_path)
    token = _run([bin_ / "cockpit", "tokens", "create", "pkg", "--scope", "620100"], env=run_env, cwd=tmp_path).strip()
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([str(bin_ / "cockpit"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=run_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"{base}/healthz")
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "cockpit serve did not answer within 60 s"
                time.sleep(0.25)
        assert status == 200, body

        status, js = _get(f"{base}/assets/wall.js")
        assert status == 200 and len(js) > 100
        status, page = _get(f"{base}/wall/620100", token=token)
        assert status == 200 and b"/assets/wall.js" in page and b"/assets/cockpit.css" in page

        # The wall's layout, as the browser asks for it (the URL -> page callback).
        request = {"output": "..app-page.children...app-lang.data..",
                   "outputs": [{"id": "app-page", "property": "children"}, {"id": "app-lang", "property": "data"}],
                   "inputs": [{"id": "app-url", "property": "pathname", "value": "/wall/620100"},
                              {"id": "app-url", "property": "search", "value": ""}],
                   "changedPropIds": ["app-url.pathname"], "state": []}
        status, body = _get(f"{base}/_dash-update-component", data=json.dumps(request).encode(), token=token)
        assert status == 200, body[:2000]
        text = json.dumps(json.loads(body), ensure_ascii=False)
        assert "ck-wall-volume" in text and "接通与服务水平" in text  # panels and the zh catalogue, installed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
