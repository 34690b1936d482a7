"""Where the tests find their services: one Redis db, one PostgreSQL database and one block of
dash_duo ports per pytest-xdist worker, so ``pytest -n N`` runs never share state.

Knobs (the base values; worker ``gwK`` derives its own from them):
- ``COCKPIT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``): worker K uses db
  ``(base db + K) % 16``, so a run with N workers uses N consecutive db numbers from the base,
  wrapping after 15. Reserve that range for the run; every test flushes its db.
- ``COCKPIT_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_test``):
  worker 0 (and a run without xdist) uses it as is; worker K > 0 uses ``<database>_gwK`` on the
  same server, created at the start of the session when missing.
- ``COCKPIT_TEST_DASH_PORT`` (default 8050): dash_duo servers of worker K start at base + 100 * K.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REDIS_DBS = 16  # Redis' default number of databases

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest -n; "" otherwise
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0
DATA = Path(__file__).parent / "data"


def worker_redis_url(base: str, index: int = WORKER_INDEX) -> str:
    """``base`` with its db number moved ``index`` up, wrapping within 0-15."""
    parts = urlsplit(base)
    path = parts.path.strip("/")
    db = int(path) if path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{(db + index) % REDIS_DBS}"))


def worker_pg_url(base: str, index: int = WORKER_INDEX) -> str:
    """``base`` for worker 0, else the same server with database ``<name>_gw<index>``."""
    if index == 0:
        return base
    from sqlalchemy.engine import make_url

    url = make_url(base)
    return url.set(database=f"{url.database}_gw{index}").render_as_string(hide_password=False)


def ensure_pg_database(url: str) -> None:
    """Create the database of ``url`` if the server does not have it yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": target.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


REDIS_URL = worker_redis_url(os.environ.get("COCKPIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
PG_URL = worker_pg_url(os.environ.get("COCKPIT_TEST_PG_URL",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_test"))
SKIP_PG = os.environ.get("COCKPIT_TEST_SKIP_PG") == "1"
DASH_PORT = int(os.environ.get("COCKPIT_TEST_DASH_PORT", "8050")) + 100 * WORKER_INDEX
