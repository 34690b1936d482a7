"""The core `cockpit` commands as a user runs them: schema, token, ingest, dead letters, rebuild."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cockpit.store import live
from cockpit.cli import main
from tests.services import REDIS_URL
from tests.factories import Stream


@pytest.fixture
def env(tmp_path, redis_client):
    return {
        "COCKPIT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "COCKPIT_REDIS_URL": REDIS_URL,
        "COCKPIT_VAR_DIR": str(tmp_path / "var"),
    }


def _run(env: dict, *args: str):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_cli001_upgrade_token_ingest_deadletter_rebuild(env, tmp_path, redis_client):
    _run(env, "db", "upgrade")
    _run(env, "db", "upgrade")  # idempotent
    token = _run(env, "tokens", "create", "feed", "--scope", "620100").output.strip()
    assert token.startswith("ck_")

    s = Stream(base=datetime.now(UTC) - timedelta(hours=1), prefix="cli-")
    events = s.answered_call("c1", 0, 9, 120) + s.abandoned_call("c2", 30, 2)
    path = tmp_path / "events.ndjson"
    lines = [json.dumps(e) for e in events] + ["{broken json", json.dumps({**events[0], "event_id": "x", "wait_s": 1})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    answer = json.loads(_run(env, "ingest", str(path)).output.strip().splitlines()[-1])
    assert answer["accepted"] == 5 and answer["duplicates"] == 0
    assert [(r["index"], r["errors"][0]["field"]) for r in answer["rejected"]] == [(5, "(event)"), (6, "wait_s")]
    assert "not JSON" in answer["rejected"][0]["errors"][0]["message"]

    again = json.loads(_run(env, "ingest", str(path)).output.strip().splitlines()[-1])
    assert again["accepted"] == 0 and again["duplicates"] == 5

    dead = [json.loads(line) for line in _run(env, "deadletter", "list").output.strip().splitlines()]
    assert len(dead) == 4  # two bad lines, twice
    assert {d["row"] for d in dead} == {"line 6", "line 7"}
    assert any(d["raw"] == "{broken json" for d in dead)

    before = live.snapshot(redis_client)
    redis_client.flushdb()
    replayed = json.loads(_run(env, "live", "rebuild").output.strip().splitlines()[-1])
    assert replayed == {"replayed_events": 5}
    assert live.snapshot(redis_client) == before
