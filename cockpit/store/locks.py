"""Cross-process locks on the SQL store: PostgreSQL advisory locks, or ``flock`` next to an SQLite file.

Two uses:

- ``LIVE``: every ingest holds it *shared* from its SQL commit until its Redis apply is done; a live
  rebuild takes it *exclusive* for two short moments (fixing its watermark, then swapping its new keys
  in), so no event is ever both in the rebuilt counters and applied again on top of them.
- ``WORKER``: held exclusive, non-blocking, for the life of a worker process, so that when several
  workers are started exactly one runs the scheduled jobs (the others wait as hot standbys).

Advisory locks live in the database the URL names (other databases on the server do not collide);
``flock`` locks live in files next to the SQLite database, so every process on the host agrees.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

LIVE = 0x12346
WORKER = 0x12347
_NAMES = {LIVE: "live", WORKER: "worker"}


def _sqlite_lock_path(stores, key: int) -> Path | None:
    database = stores.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.{_NAMES[key]}.lock")


@contextmanager
def held(stores, key: int, *, shared: bool = False) -> Iterator[None]:
    """Block until the lock ``key`` is held (shared or exclusive); release it on exit."""
    if stores.dialect == "postgresql":
        with stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            fn = "pg_advisory_lock_shared" if shared else "pg_advisory_lock"
            conn.execute(text(f"SELECT {fn}(:k)"), {"k": key})
            try:
                yield
            finally:
                unlock = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
                conn.execute(text(f"SELECT {unlock}(:k)"), {"k": key})
        return
    path = _sqlite_lock_path(stores, key)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


class Leadership:
    """A lock held until ``release`` (or process exit): ``acquired`` says whether this process got it."""

    def __init__(self, stores, key: int) -> None:
        self._conn: Connection | None = None
        self._fd: int | None = None
        self.acquired = False
        if stores.dialect == "postgresql":
            conn = stores.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.acquired = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            if self.acquired:
                self._conn = conn
            else:
                conn.close()
            return
        path = _sqlite_lock_path(stores, key)
        if path is None:
            self.acquired = True
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        self._fd, self.acquired = fd, True

    def alive(self) -> bool:
        """Whether the lock is still ours (a PostgreSQL restart drops the session that held it)."""
        if self._conn is None:
            return self.acquired
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a lost connection means a lost lock
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.acquired = False
