"""COCKPIT_DATABASE_READ_URL against a real streaming replica: a private PostgreSQL primary and a
standby made with pg_basebackup, on loopback ports under a temporary directory (never the shared
server). Screens and reports read the standby; writes and the supervision page use the primary."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from cockpit.auth.principal import SYSTEM
from cockpit.http.kpi import kpi_document
from cockpit.ingest import ingest_batch
from cockpit.metrics import kpi
from cockpit.store.db import Stores
from cockpit.store.models import Alert, Base, EventRecord
from cockpit.views import drill, ticket
from geo.regions import load_default_regions
from tests.factories import Stream

PG_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))), None)


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=180)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrimaryAndStandby:
    """Two clusters of the test's own: a primary and its streaming standby (hot standby)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cockpit-replica-"))
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.primary, self.standby = self.dir / "primary", self.dir / "standby"
        self.primary_port, self.standby_port = _free_port(), _free_port()
        _as_postgres(f"{PG_BIN}/initdb", "-D", str(self.primary), "-A", "trust", "-U", "postgres")
        with (self.primary / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n")
        self._start(self.primary, self.primary_port)
        _as_postgres(f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                     "-D", str(self.standby), "-R", "-X", "stream", "-c", "fast")
        self._start(self.standby, self.standby_port)

    def _start(self, data: Path, port: int) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-o", f"-p {port} -k {self.dir} -h 127.0.0.1",
                     "-l", str(self.dir / f"{data.name}.log"), "-w", "start")

    def url(self, port: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def remove(self) -> None:
        for data in (self.standby, self.primary):
            _as_postgres(f"{PG_BIN}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def replica_pair():
    if PG_BIN is None:
        pytest.skip("needs PostgreSQL server binaries")
    pair = PrimaryAndStandby()
    yield pair
    pair.remove()


def _caught_up(stores: Stores, timeout_s: float = 30.0) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with stores.engine.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with stores.read_engine.connect() as conn:
            if conn.execute(text("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), CAST(:t AS pg_lsn)) >= 0"),
                            {"t": target}).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("standby did not catch up")


def _offered(doc: dict) -> int:
    return doc["calls"]["offered"] if "calls" in doc else doc["offered"]


def test_rep001_screens_read_the_replica_writes_and_supervision_use_the_primary(replica_pair, settings, redis_client):
    engine = create_engine(replica_pair.url(replica_pair.primary_port))
    Base.metadata.create_all(engine)
    engine.dispose()
    stores = Stores.open(settings.with_(database_url=replica_pair.url(replica_pair.primary_port),
                                        database_read_url=replica_pair.url(replica_pair.standby_port)),
                         redis_client=redis_client)
    try:
        with stores.session() as session:
            load_default_regions(session)
        now = datetime.now(UTC)
        s = Stream(base=now - timedelta(hours=2), prefix="rep-")
        first = s.answered_call("c1", 0, 5, 60) + s.abandoned_call("c2", 30, 20)
        assert ingest_batch(stores, first, source="t").accepted == len(first)  # written to the primary
        window = {"scope": "620100", "from_": (now - timedelta(hours=3)).isoformat(), "to": now.isoformat()}
        _caught_up(stores)
        figures = kpi_document(stores, **window)
        with stores.session() as session:
            on_primary = kpi.kpi(session, scope="620100", start=now - timedelta(hours=3), end=now,
                                 settings=stores.settings, now=now)
        assert _offered(figures) == _offered(on_primary) == 2

        # Pause the standby's replay: what the KPI API serves now comes from the standby alone.
        with stores.read_engine.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        more = s.answered_call("c3", 60, 3, 30) + s.answered_call("c4", 90, 4, 30)
        assert ingest_batch(stores, more, source="t").accepted == len(more)  # writes never wait for the replica
        with stores.session() as session:
            assert session.scalar(select(func.count()).select_from(EventRecord)) == len(first) + len(more)
        assert _offered(kpi_document(stores, **window)) == 2  # the replica's (paused) view

        # Read-your-writes: an alert action is seen at once by the supervision page (primary).
        with stores.session() as session:
            alert = Alert(rule="overdue", key="T-rep", city="620100", severity="major", state="firing",
                          title="overdue", detail={}, first_seen=now.replace(tzinfo=None),
                          updated_at=now.replace(tzinfo=None), open_key="overdue|T-rep")
            session.add(alert)
            session.flush()
            alert_id = alert.id
        assert ticket.act_on_alerts(stores, [alert_id], action="ack", principal=SYSTEM) == (1, None)
        view = drill.supervise_view(stores, {"alert": str(alert_id)}, now=now)
        assert view["selected"]["state"] == "acknowledged"
        with stores.read_session() as session:
            assert session.get(Alert, alert_id) is None  # the paused standby has not seen it yet

        # The read engine is read only: a write sent there fails instead of diverging.
        with pytest.raises(DBAPIError):
            with stores.read_session() as session:
                session.execute(text("CREATE TABLE stray (x int)"))

        with stores.read_engine.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        _caught_up(stores)
        assert _offered(kpi_document(stores, **window)) == 4
        assert stores.health()["read_database"] == {"ok": True}
    finally:
        stores.close()


def test_rep002_without_a_read_url_screens_read_the_primary(sqlite_stores):
    assert sqlite_stores.read_engine is None
    with sqlite_stores.read_session() as session:
        assert session.get_bind() is sqlite_stores.engine
    assert "read_database" not in sqlite_stores.health()


def test_rep003_a_read_url_needs_a_primary():
    from cockpit.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="database_read_url"):
        Settings.from_env({"COCKPIT_DATABASE_READ_URL": "postgresql://replica/cockpit"})
    settings = Settings.from_env({"COCKPIT_DATABASE_URL": "postgresql://primary/cockpit",
                                  "COCKPIT_DATABASE_READ_URL": "postgresql://replica/cockpit"})
    assert settings.database_read_url == "postgresql://replica/cockpit"
