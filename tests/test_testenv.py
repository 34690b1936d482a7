"""The test services per xdist worker (tests/services.py): distinct Redis dbs, databases and ports."""

from __future__ import annotations

from tests.services import worker_pg_url, worker_redis_url


def test_env001_each_worker_gets_its_own_redis_db_wrapping_within_16():
    assert worker_redis_url("redis://127.0.0.1:6379/2", 0) == "redis://127.0.0.1:6379/2"
    assert worker_redis_url("redis://127.0.0.1:6379/2", 1) == "redis://127.0.0.1:6379/3"
    assert worker_redis_url("redis://127.0.0.1:6379/15", 1) == "redis://127.0.0.1:6379/0"
    assert worker_redis_url("redis://127.0.0.1:6379", 3) == "redis://127.0.0.1:6379/3"
    assert worker_redis_url("redis://:pw@host:6380/14?protocol=3", 4) == "redis://:pw@host:6380/2?protocol=3"


def test_env002_each_worker_after_the_first_gets_its_own_database():
    base = "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_h2"
    assert worker_pg_url(base, 0) == base
    assert worker_pg_url(base, 1) == "postgresql+psycopg://postgres@127.0.0.1:5432/cockpit_h2_gw1"
    assert worker_pg_url("postgresql+psycopg://u:secret@db/x", 2) == "postgresql+psycopg://u:secret@db/x_gw2"
