"""Shared fixtures: real Redis, real PostgreSQL and SQLite, headless Chromium. No fakes.

Isolation knobs (so parallel runs on one machine do not collide), see ``tests/services.py``:
- ``COCKPIT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``): flushed before and after each test.
- ``COCKPIT_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_test``).
- ``COCKPIT_TEST_DASH_PORT`` (default 8050): first port of the dash_duo servers.
Under ``pytest -n N`` (pytest-xdist) each worker derives its own Redis db, PostgreSQL database and
dash_duo ports from these. Set ``COCKPIT_TEST_SKIP_PG=1`` to run the SQLite half only (never in CI).
"""

from __future__ import annotations


import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from cockpit.store.models import Base
from cockpit.settings import Settings
from cockpit.store.db import Stores, make_engine

from tests.services import DASH_PORT, DATA, PG_URL, REDIS_URL, SKIP_PG, WORKER_INDEX, ensure_pg_database

__all__ = ["DATA", "PG_URL", "REDIS_URL"]  # older imports of these from tests.conftest keep working


def pytest_configure(config):
    """Per-worker resources: the dash_duo port block and, for workers after the first, a database."""
    try:
        from dash.testing.application_runners import BaseDashRunner
    except ImportError:  # dash[testing] not installed: no browser tests to place
        pass
    else:
        BaseDashRunner._next_port = DASH_PORT
    if WORKER_INDEX and not SKIP_PG:
        ensure_pg_database(PG_URL)


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
    if not SKIP_PG:
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=_backends())
def backend(request):
    return request.param


# Fixture streams start hours before now and carry ticket steps up to days later (a closure after a
# day, a callback after two) and some simulate fixed weeks that lie ahead: tests accept 60 days of
# future; the window itself is tested on its own (test_reliability_events).
TEST_MAX_FUTURE_S = 60 * 86400


@pytest.fixture
def settings(tmp_path) -> Settings:
    # development mode: a random per-process secret key, cookies without Secure (plain-HTTP test servers)
    return Settings(var_dir=tmp_path / "var", redis_url=REDIS_URL, mode="development",
                    events_max_future_s=TEST_MAX_FUTURE_S)


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


@pytest.fixture
def wall_app(sqlite_stores):
    """The app on SQLite with the default regions and two cities of traffic (tests.browser.seed_two_cities)."""
    yield from open_wall_app(sqlite_stores)


def open_wall_app(sqlite_stores):
    """``wall_app`` on the given stores (a fixture's generator body)."""
    from datetime import UTC, datetime

    from app import create_app
    from cockpit.ingest import forget_regions
    from cockpit.views import wall
    from geo.regions import load_default_regions
    from tests.browser import seed_two_cities
    from tests.timeofday import wait_for_room

    with sqlite_stores.session() as session:
        load_default_regions(session)
    forget_regions(sqlite_stores)
    wait_for_room()  # the screens look at today: not across local midnight
    seed_two_cities(sqlite_stores, datetime.now(UTC))
    wall.city_snapshot(sqlite_stores, "620100")  # loads the boundaries once, as a running server has
    app = create_app(sqlite_stores.settings, stores=sqlite_stores)
    yield app, sqlite_stores
    app.server.config["COCKPIT_SCREEN_STREAMS"].stop(join_s=10)  # no publisher of this app outlives the test
