"""Shared fixtures: real Redis, real PostgreSQL and SQLite, headless Chromium. No fakes.

Isolation knobs (so parallel runs on one machine do not collide):
- ``COCKPIT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``): flushed before and after each test.
- ``COCKPIT_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_test``).
Set ``COCKPIT_TEST_SKIP_PG=1`` to run the SQLite half only (never in CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from cockpit.store.models import Base
from cockpit.settings import Settings
from cockpit.store.db import Stores, make_engine

REDIS_URL = os.environ.get("COCKPIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = os.environ.get(
    "COCKPIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_test"
)
DATA = Path(__file__).parent / "data"


def pytest_setup_options():
    """Headless Debian Chromium for dash_duo (see TOOLCHAIN.md)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-quic",
        "--no-first-run", "--disable-sync", "--window-size=1920,1080",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture
def redis_client():
    client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


_pg_schema_ready = False


def _pg_engine():
    global _pg_schema_ready
    engine = make_engine(PG_URL)
    if not _pg_schema_ready:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            Base.metadata.create_all(conn)
        _pg_schema_ready = True
    return engine


def _truncate_pg(engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _backends():
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("COCKPIT_TEST_SKIP_PG") != "1":
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=_backends())
def backend(request):
    return request.param


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(var_dir=tmp_path / "var", redis_url=REDIS_URL)


@pytest.fixture
def stores(backend, tmp_path, redis_client, settings):
    """Stores on SQLite *and* PostgreSQL (the test runs once per backend), with real Redis."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cockpit.sqlite3'}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
    else:
        engine = _pg_engine()
        _truncate_pg(engine)
        engine.dispose()
        url = PG_URL
    s = Stores.open(settings.with_(database_url=url), redis_client=redis_client)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_stores(tmp_path, redis_client, settings):
    """Stores on SQLite only, for tests about something other than the SQL backend."""
    url = f"sqlite:///{tmp_path / 'cockpit.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    s = Stores.open(settings.with_(database_url=url), redis_client=redis_client)
    yield s
    s.engine.dispose()
