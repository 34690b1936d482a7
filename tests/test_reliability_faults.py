"""Issue 12, faults survived, each against real servers of the test's own:

- PostgreSQL stops mid-stream (a private cluster, ``pg_ctl stop -m immediate`` = a crash): the API
  answers 503 + Retry-After in JSON, /healthz fails, and after recovery, with client retries, the
  stored events equal the sent events exactly.
- The worker is killed during a rollup and restarted: it catches up the missed intervals and the
  rollups equal a fresh computation.
- Several workers started: exactly one runs the jobs (a lock); a standby takes over when it dies.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from app import create_app
from cockpit import jobs
from cockpit.ingest import ingest_batch
from cockpit.metrics import queries as metrics
from cockpit.store import tokens
from cockpit.store.db import Stores
from cockpit.store.models import Base, CallRollup, EventRecord, TicketRollup
from tests.conftest import REDIS_URL
from tests.factories import Stream, random_stream

ROOT = Path(__file__).parent.parent
PG_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))), None)
PG_PORT = 55441


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary directory owned by postgres."""

    def __init__(self, port: int = PG_PORT) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="cockpit-rel-pg-"))
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        _as_postgres(f"{PG_BIN}/initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-o", f"-p {self.port} -k {self.dir} -h 127.0.0.1",
                     "-l", str(self.dir / "log"), "-w", "start")

    def crash(self) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg():
    if PG_BIN is None:
        pytest.skip("needs PostgreSQL server binaries")
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


def test_rel060_postgresql_crash_mid_stream_503_then_every_event_stored_once(private_pg, settings, redis_client):
    engine = create_engine(private_pg.url)
    Base.metadata.create_all(engine)
    engine.dispose()
    stores = Stores.open(settings.with_(database_url=private_pg.url, db_lock_timeout_s=1.0), redis_client=redis_client)
    client = create_app(stores.settings, stores=stores).server.test_client()
    with stores.session() as session:
        token = tokens.create(session, "feed", ["620100"])
    auth = {"Authorization": f"Bearer {token}"}
    s = Stream(base=datetime.now(UTC) - timedelta(hours=2), prefix="pg-")
    batches = [[s.event("call.offered", b * 20 + i, call_id=f"c{b}-{i}") for i in range(20)] for b in range(30)]
    statuses: list[int] = []
    crashed_at, restarted = 10, False
    for number, batch in enumerate(batches):
        if number == crashed_at:
            private_pg.crash()
        attempts = 0
        while True:  # the client's retry loop, as docs/reliability.md tells senders to write it
            attempts += 1
            response = client.post("/api/v1/events", json=batch, headers=auth)
            statuses.append(response.status_code)
            if response.status_code == 200:
                break
            assert response.status_code == 503, response.data[:300]
            assert response.is_json and int(response.headers["Retry-After"]) > 0
            assert response.get_json()["retry_after_s"] > 0
            health = client.get("/healthz")
            assert health.status_code == 503 and health.get_json()["database"]["ok"] is False
            if attempts == 3 and not restarted:
                private_pg.start()
                restarted = True
            assert attempts < 50
            time.sleep(0.2)  # a real client waits Retry-After; the test keeps it short
    assert restarted and statuses.count(503) >= 3
    assert client.get("/healthz").status_code == 200
    with stores.session() as session:
        stored = set(session.scalars(select(EventRecord.event_id)))
    assert stored == {e["event_id"] for batch in batches for e in batch}
    stores.engine.dispose()


# --- the worker -------------------------------------------------------------------------------


def _rollup_rows(stores) -> dict:
    with stores.session() as session:
        calls = sorted(tuple(getattr(r, c.name) for c in CallRollup.__table__.columns)
                       for r in session.scalars(select(CallRollup)))
        tickets = sorted(tuple(getattr(r, c.name) for c in TicketRollup.__table__.columns)
                         for r in session.scalars(select(TicketRollup)))
    return {"calls": calls, "tickets": tickets}


def test_rel061_worker_killed_during_rollup_catches_up_and_equals_fresh(sqlite_stores, tmp_path):
    stores = sqlite_stores
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    events = random_stream(61, 3000, 600, base=start, cities=("620100", "620200"))
    events += random_stream(62, 3000, 600, base=start + timedelta(hours=5), cities=("620100", "620200"))
    for i in range(0, len(events), 2000):
        ingest_batch(stores, events[i : i + 2000], source="test")
    # The worker ran until 02:00, then was down; at 10:00 it restarts, is killed mid-rollup, restarts.
    jobs.rollup_recent(stores, now=start + timedelta(hours=2))
    later = start + timedelta(hours=10)
    code = ("import sys; from datetime import datetime; from cockpit import jobs; from cockpit.store.db import Stores;"
            "from cockpit.settings import Settings;"
            f"s = Stores.open(Settings(database_url={str(stores.engine.url)!r}, redis_url={REDIS_URL!r}));"
            "print('rolling', flush=True);"
            f"[jobs.rollup_recent(s, now=datetime.fromisoformat({later.isoformat()!r})) for _ in range(100)]")
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "rolling"
    time.sleep(1.0)  # let it get into the rollups; the kill lands mid-transaction or between them
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    jobs.rollup_recent(stores, now=later)  # the restarted worker
    with stores.session() as session:
        covered = metrics.rollup_coverage(session)
    # One contiguous range from the first run's lookback to the restart: the 5-hour gap was caught up.
    assert covered is not None and covered[0] <= start.replace(tzinfo=None) - timedelta(minutes=30)
    assert covered[1] >= later.replace(tzinfo=None) - timedelta(hours=1)
    caught_up = _rollup_rows(stores)
    with stores.session() as session:
        session.execute(text("DELETE FROM call_rollups_15m"))
        session.execute(text("DELETE FROM ticket_rollups_15m"))
    jobs.rollup_all(stores, covered[0].replace(tzinfo=UTC), later, now=later)  # a fresh computation
    assert _rollup_rows(stores) == caught_up
    assert len(caught_up["calls"]) > 0


def _worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from cockpit.cli import main; main()", "worker"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def _wait_for(path: Path, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not in {path}: {path.read_text()[-2000:]}")


def test_rel062_one_worker_runs_the_jobs_and_a_standby_takes_over(tmp_path, stores):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(COCKPIT_DATABASE_URL=str(stores.engine.url.render_as_string(hide_password=False)),
               COCKPIT_REDIS_URL=REDIS_URL, COCKPIT_VAR_DIR=str(tmp_path / "var"))
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    first = _worker(env, logs[0])
    try:
        _wait_for(logs[0], "worker started")
        second = _worker(env, logs[1])
        try:
            _wait_for(logs[1], "standing by")
            assert "worker started" not in logs[1].read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            _wait_for(logs[1], "worker started", timeout=30)
        finally:
            second.kill()
            second.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert json.dumps([p.read_text()[-200:] for p in logs])
    with stores.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 0
