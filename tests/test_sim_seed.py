"""Seeding a simulated history through the real ingestion path (SQLite and PostgreSQL, real Redis)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cockpit.store.models import Call, EventRecord, Ticket
from cockpit.simulation import seed_history
from cockpit.simulation.seeding import history_window

END = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # 10:00 in Gansu


def test_sim020_history_window_starts_at_local_midnight():
    start, end = history_window(2, END)
    assert end == END
    assert start == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 2026-12-06 00:00 +08:00


def test_sim021_seed_history_ingests_everything_once(stores):
    first = seed_history(stores, 1, seed=4, end=END, progress=False, cities=["620200"], scale=0.5)
    assert first["events"] > 300
    assert first["rejected"] == 0 and first["duplicates"] == 0
    assert first["accepted"] == first["events"]
    with stores.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRecord)) == first["events"]
        calls = s.scalar(select(func.count()).select_from(Call))
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        orphans = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_at.is_(None)))
    assert calls > 50 and tickets > 50
    assert orphans == 0  # the history is its own origin: no step of an earlier ticket
    again = seed_history(stores, 1, seed=4, end=END, progress=False, cities=["620200"], scale=0.5)
    assert again["accepted"] == 0 and again["duplicates"] == first["events"]


def test_sim025_columnar_seed_ingests_everything_once(stores):
    """``columnar=True``: the numpy simulator, COPY and SQL moves on PostgreSQL; same guarantees."""
    past = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # history: before the clock, so not via Redis
    first = seed_history(stores, 2, seed=4, end=past, progress=False, cities=["620200", "620300"], scale=0.5,
                         columnar=True, workers=2)
    assert first["events"] > 600 and first["rejected"] == 0 and first["accepted"] == first["events"]
    with stores.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRecord)) == first["events"]
        assert s.scalar(select(func.count()).select_from(Call)) > 50
        assert s.scalar(select(func.count()).select_from(Ticket)) > 50
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_at.is_(None))) == 0
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.ticket_id.like("T4-6202%-x%"))) > 0
    again = seed_history(stores, 2, seed=4, end=past, progress=False, cities=["620200", "620300"], scale=0.5,
                         columnar=True)
    assert again["accepted"] == 0 and again["duplicates"] == first["events"]


@pytest.mark.parametrize("columnar", [False, True])
def test_sim022_cli_seed_creates_the_schema_and_reports(tmp_path, redis_client, columnar):
    import json

    from click.testing import CliRunner

    from cockpit.cli import main
    from tests.services import REDIS_URL

    env = {
        "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'seed.sqlite3'}",
        "COCKPIT_REDIS_URL": REDIS_URL,
        "COCKPIT_VAR_DIR": str(tmp_path / "var"),
    }
    args = [
        "seed",
        "--days",
        "1",
        "--seed",
        "2",
        "--end",
        END.isoformat(),
        "--cities",
        "620200",
        "--scale",
        "0.3",
        "--no-progress",
    ] + (["--columnar"] if columnar else [])
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])
    assert summary["accepted"] == summary["events"] > 100 and summary["rejected"] == 0
    assert summary["start"] == "2026-12-06T16:00:00+00:00"


def test_sim023_progress_bar_only_on_stderr_and_only_when_asked(tmp_path, redis_client):
    """Not a terminal: no bar unless --progress; with it, the bar is on stderr and stdout is one JSON line."""
    import json

    from click.testing import CliRunner

    from cockpit.cli import main
    from tests.services import REDIS_URL

    env = {
        "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'seed.sqlite3'}",
        "COCKPIT_REDIS_URL": REDIS_URL,
        "COCKPIT_VAR_DIR": str(tmp_path / "var"),
    }
    args = ["seed", "--days", "1", "--seed", "2", "--end", END.isoformat(), "--cities", "620200", "--scale", "0.1",
            "--workers", "1"]
    quiet = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "seeding" not in quiet.stderr  # stderr is not a terminal: no bar by default
    (line,) = quiet.stdout.strip().splitlines()
    assert json.loads(line)["accepted"] > 0

    shown = CliRunner().invoke(main, [*args, "--progress"], env=env, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "seeding" in shown.stderr and "2/2" in shown.stderr  # one step per simulated day
    (line,) = shown.stdout.strip().splitlines()
    assert json.loads(line)["duplicates"] == json.loads(quiet.stdout)["accepted"]


def test_sim024_city_groups_cover_every_city_once_with_similar_volume():
    from cockpit.simulation import catalog
    from cockpit.simulation.seeding import city_groups

    table = catalog.cities()
    groups = city_groups(list(table), 2)
    assert sorted(c for g in groups for c in g) == sorted(table)
    loads = [sum(table[c].population for c in g) for g in groups]
    assert max(loads) / min(loads) < 1.1
    assert city_groups(["620200"], 4) == [["620200"]]  # never an empty group
