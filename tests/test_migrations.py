"""Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from sqlalchemy import text

from cockpit.store.migrate import alembic_config, upgrade
from cockpit.settings import Settings
from cockpit.store.db import make_engine
from tests.services import PG_URL


def _check(settings: Settings) -> None:
    upgrade(settings)
    upgrade(settings)  # idempotent
    command.check(alembic_config(settings))  # raises when the models and the migrations differ


def test_mig001_sqlite_upgrade_matches_models(tmp_path):
    _check(Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}"))


@pytest.mark.skipif(os.environ.get("COCKPIT_TEST_SKIP_PG") == "1", reason="PostgreSQL half switched off")
def test_mig002_postgresql_upgrade_matches_models(tmp_path):
    name = f"cockpit_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check(Settings(var_dir=tmp_path, database_url=PG_URL.rsplit("/", 1)[0] + "/" + name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
